//! Sign-In with Ethereum (EIP-4361): the challenge text a wallet signs, and its strict check.
//!
//! The parser is the `siwe` crate's; on top of it the text must be exactly what that parser
//! renders back (so what was signed is what was checked: no trailing lines, no second
//! spelling of a field), its domain, URI and chain id must be this server's, its nonce the
//! one the server issued, its times must hold at `now`, and the signature must recover to
//! the address the text names. The caller spends the nonce; a second use is its refusal.

use std::str::FromStr;

use subtle::ConstantTimeEq;

use super::{Address, EthError, WalletSignature};

/// The longest text accepted (a real one is ~400 bytes; this bounds parsing work).
pub const MAX_MESSAGE_BYTES: usize = 4096;

/// What this server demands of every SIWE message, from its configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiweRules {
    /// The authority the wallet shows the user (`host[:port]`), e.g. `auth.example.com`.
    pub domain: String,
    /// This server's origin, e.g. `https://auth.example.com`; the message's URI must be it
    /// or a path under it.
    pub uri: String,
    /// The chain id wallets must sign for (EIP-155).
    pub chain_id: u64,
    /// Seconds a signed message stays good after its `Issued At`.
    pub max_age: i64,
    /// Seconds a wallet's clock may run ahead of ours.
    pub skew: i64,
}

/// The fields of a challenge the server builds for a wallet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiweChallenge {
    /// The wallet asked to sign.
    pub address: Address,
    /// The human sentence shown above the fields (one line, no newline).
    pub statement: String,
    /// The server's single-use nonce (8 or more alphanumeric characters).
    pub nonce: String,
    /// Unix seconds.
    pub issued_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
}

/// A message that passed every check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedIn {
    /// The wallet that signed.
    pub address: Address,
    /// The message's nonce (equal to the one expected).
    pub nonce: String,
    /// When the message stops being good, unix seconds.
    pub expires_at: i64,
}

/// Why a SIWE message was refused. Each is a distinct problem type on the wire.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SiweError {
    /// Not an EIP-4361 message (or longer than [`MAX_MESSAGE_BYTES`]).
    #[error("not a Sign-In with Ethereum message: {0}")]
    Malformed(String),
    /// Parsed, but not in the one canonical spelling.
    #[error("the message is not in canonical EIP-4361 form")]
    NotCanonical,
    /// Its domain is another site's.
    #[error("the message is for another domain")]
    Domain,
    /// Its URI is not under this server's origin.
    #[error("the message's URI is not this server")]
    Uri,
    /// Signed for another chain.
    #[error("the message is for chain {0}")]
    ChainId(u64),
    /// Not the nonce this server issued for this step.
    #[error("the message's nonce was not issued for this request")]
    Nonce,
    /// Its expiration time passed, or it is older than the server accepts.
    #[error("the message has expired")]
    Expired,
    /// Issued in the future, or not valid before a time still to come.
    #[error("the message is not valid yet")]
    NotYetValid,
    /// The signature is malformed, or made by another key than the message's address.
    #[error(transparent)]
    Signature(#[from] EthError),
}

/// The text of `challenge` under `rules`, exactly as a wallet will sign it.
///
/// # Errors
/// [`SiweError::Malformed`] if a field cannot be written (a statement with a newline, a
/// domain or URI that does not parse, a time out of range).
pub fn challenge_message(
    rules: &SiweRules,
    challenge: &SiweChallenge,
) -> Result<String, SiweError> {
    if challenge.statement.contains('\n') {
        return Err(SiweError::Malformed("the statement has a newline".into()));
    }
    let message = siwe::Message {
        domain: rules.domain.parse().map_err(malformed)?,
        address: challenge.address.into_array(),
        statement: (!challenge.statement.is_empty()).then(|| challenge.statement.clone()),
        uri: rules.uri.parse().map_err(malformed)?,
        version: siwe::Version::V1,
        chain_id: rules.chain_id,
        nonce: challenge.nonce.clone(),
        issued_at: timestamp(challenge.issued_at)?,
        expiration_time: Some(timestamp(challenge.expires_at)?),
        not_before: None,
        request_id: None,
        resources: Vec::new(),
    };
    Ok(message.to_string())
}

/// Checks `text` and `signature` against `rules`, the nonce the server issued and `now`
/// (unix seconds); returns who signed in.
///
/// # Errors
/// The first [`SiweError`] found, in the order: form, domain, URI, chain, nonce, times,
/// signature.
pub fn verify(
    rules: &SiweRules,
    text: &str,
    signature: &WalletSignature,
    expected_nonce: &str,
    now: i64,
) -> Result<SignedIn, SiweError> {
    if text.len() > MAX_MESSAGE_BYTES {
        return Err(SiweError::Malformed("longer than 4096 bytes".into()));
    }
    let message = siwe::Message::from_str(text).map_err(malformed)?;
    if message.to_string() != text {
        return Err(SiweError::NotCanonical);
    }
    if !message.domain.as_str().eq_ignore_ascii_case(&rules.domain) {
        return Err(SiweError::Domain);
    }
    if !under_origin(message.uri.as_str(), &rules.uri) {
        return Err(SiweError::Uri);
    }
    if message.chain_id != rules.chain_id {
        return Err(SiweError::ChainId(message.chain_id));
    }
    let nonce_matches: bool = message
        .nonce
        .as_bytes()
        .ct_eq(expected_nonce.as_bytes())
        .into();
    if !nonce_matches {
        return Err(SiweError::Nonce);
    }
    let issued_at = message.issued_at.as_ref().unix_timestamp();
    if issued_at > now + rules.skew {
        return Err(SiweError::NotYetValid);
    }
    if let Some(not_before) = &message.not_before
        && not_before.as_ref().unix_timestamp() > now + rules.skew
    {
        return Err(SiweError::NotYetValid);
    }
    let oldest_good = issued_at.saturating_add(rules.max_age);
    let expires_at = match &message.expiration_time {
        Some(exp) => exp.as_ref().unix_timestamp().min(oldest_good),
        None => oldest_good,
    };
    if now >= expires_at {
        return Err(SiweError::Expired);
    }
    let address = Address::from(message.address);
    signature.verify(text.as_bytes(), address)?;
    Ok(SignedIn {
        address,
        nonce: message.nonce,
        expires_at,
    })
}

/// Whether `uri` is `origin` itself or a path under it (`origin` has no trailing slash).
fn under_origin(uri: &str, origin: &str) -> bool {
    let origin = origin.trim_end_matches('/');
    uri == origin
        || uri
            .strip_prefix(origin)
            .is_some_and(|rest| rest.starts_with('/') || rest.starts_with('?'))
}

/// The instant as an RFC 3339 stamp (years 1970–9999, which RFC 3339 can write).
fn timestamp(unix: i64) -> Result<siwe::TimeStamp, SiweError> {
    super::rfc3339(unix)
        .ok_or_else(|| SiweError::Malformed("a time out of range".into()))?
        .parse()
        .map_err(malformed)
}

fn malformed(e: impl std::fmt::Display) -> SiweError {
    SiweError::Malformed(e.to_string())
}
