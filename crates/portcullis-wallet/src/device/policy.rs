//! Which texts the wallet signs for which request.
//!
//! SignDelegation and SignPresence exist so that a host can ask for those two signatures
//! often and without the user reading each one (a firmware may sign presence without a
//! button press). That is safe only if those requests cannot carry anything else, so each
//! checks its text is exactly a delegation (core's strict [`Delegation::parse`], for this
//! wallet's own address) or a presence answer (core's [`presence::parse`]). The
//! other way round, SignMessage (meant for SIWE, and shown on a firmware's screen before the
//! user confirms) refuses texts that start with either title, so the two kinds are only
//! ever signed through their own requests.

use portcullis_core::eth::delegation::{self, Delegation};
use portcullis_core::eth::{Address, presence};

/// Whether `text` is a delegation of this wallet (`address`) to a session key.
pub fn is_delegation(text: &str, address: Address) -> bool {
    Delegation::parse(text).is_ok_and(|d| d.wallet == address)
}

/// Whether `text` is a presence answer, exactly as [`presence::message`] renders one.
pub fn is_presence(text: &str) -> bool {
    presence::parse(text).is_some()
}

/// Whether SignMessage may sign `text`: anything but the two kinds above (a SIWE message).
pub fn is_plain_message(text: &str) -> bool {
    !text.starts_with(delegation::TITLE) && !text.starts_with(presence::TITLE)
}
