//! The one error type of the service layer.
//!
//! Services say *what* went wrong in domain terms (a refused credential, a missing resource, a
//! rule the input broke) and never *how* to answer it: nothing here knows HTTP. The API maps a
//! [`ServiceError`] to problem+json once (`crate::error`), and the pages map it to a page once
//! (`crate::web::failure`), so neither side matches on strings.
//!
//! Failures on our side that no caller can act on (a database down, a corrupt row, a keyring
//! that cannot open a key) are [`Unexpected`]: they keep their cause chain for the log, and the
//! answer stays generic.

use std::borrow::Cow;
use std::error::Error as StdError;
use std::fmt;

use portcullis_core::contact::ContactError;
use portcullis_core::login::ChallengeError;
use portcullis_core::password::{PasswordError, PasswordRejection};
use portcullis_core::token::TokenError;
use portcullis_store::StoreError;
use portcullis_store::keyring::KeyringError;

/// Result alias for services.
pub type ServiceResult<T> = Result<T, ServiceError>;

/// Everything a service can refuse or fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceError {
    /// The input broke a rule; `what` names the rule, `detail` explains it to a human.
    #[error("{detail}")]
    Invalid {
        /// Which rule.
        what: Invalid,
        /// The explanation shown to the caller.
        detail: Cow<'static, str>,
    },
    /// A password the policy refused.
    #[error("{0}")]
    WeakPassword(PasswordRejection),
    /// Credentials wrong or account unknown (indistinguishable on purpose).
    #[error("invalid credentials")]
    InvalidCredentials,
    /// The caller's token or session is not (or no longer) valid.
    #[error("{0}")]
    Unauthenticated(&'static str),
    /// The session's authentication is too old or too weak for this action (RFC 9470).
    #[error("{detail}")]
    StepUpRequired {
        /// Explanation.
        detail: &'static str,
        /// The least assurance (`acr`) the session must reach, when the refusal demands one.
        acr: Option<&'static str>,
        /// The largest acceptable authentication age, in seconds.
        max_age: i64,
    },
    /// A sender-constrained (DPoP) token presented without a good proof, or a bearer token
    /// presented as one (RFC 9449).
    #[error("{detail}")]
    Dpop {
        /// What is wrong with the proof.
        detail: String,
        /// Whether the proof only lacks a current server nonce (`use_dpop_nonce`).
        use_nonce: bool,
        /// A fresh server nonce for the next proof (`DPoP-Nonce`).
        nonce: String,
    },
    /// Authenticated, but this caller may not do this.
    #[error("{0}")]
    Forbidden(&'static str),
    /// The application's API key (`X-API-Key`) is missing, not valid, or not good for this
    /// request.
    #[error("{0}")]
    ApiKey(ApiKeyRefusal),
    /// A custodial wallet operation refused (password, limits, funds, the chain).
    #[error("{0}")]
    Custody(CustodyRefusal),
    /// No such resource (for this caller).
    #[error("not found")]
    NotFound,
    /// A conflicting change, concurrent or already made.
    #[error("{0}")]
    Conflict(&'static str),
    /// A login challenge can no longer be answered, or refused an answer.
    #[error("{0}")]
    Challenge(#[from] ChallengeError),
    /// Too many attempts.
    #[error("too many requests")]
    RateLimited {
        /// Seconds until a retry may succeed.
        retry_after: u64,
    },
    /// A provider we depend on (an SMS gateway) failed.
    #[error("{0}")]
    Upstream(&'static str),
    /// Something failed on our side; see [`Unexpected`].
    #[error(transparent)]
    Unexpected(#[from] Unexpected),
}

/// The rule an input broke, a stable name each layer maps for itself (the API to a problem
/// `type`, the pages to a message beside the right field).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Invalid {
    /// Not an e-mail address.
    Email,
    /// Not a phone number in E.164 form.
    Phone,
    /// A display name out of bounds.
    DisplayName,
    /// A link token (verification, reset) unknown, used or expired.
    Token,
    /// A one-time code wrong, expired or used up.
    Code,
    /// A factor label out of bounds.
    Label,
    /// A client name out of bounds.
    ClientName,
    /// A scope with characters scopes may not have.
    Scope,
    /// A negative `max_age`.
    MaxAge,
    /// A code was asked for a factor whose codes are not sent.
    NotASentCode,
    /// A WebAuthn ceremony the authenticator or browser got wrong.
    WebauthnRefused,
    /// An account that cannot take this role in a DualConfirm pair.
    NotEligible,
    /// An account id that names no account.
    UnknownAccount,
    /// A webhook URL that is not an absolute http(s) URL.
    WebhookUrl,
    /// A name that is no webhook event type.
    WebhookEvent,
    /// An image passcode refused: undecodable, too few bytes or pixels.
    Image,
    /// An image passcode larger than 5 MiB.
    ImageTooLarge,
    /// An image passcode that is no PNG, JPEG or WebP by its content.
    ImageType,
    /// A gesture passcode malformed, out of length bounds or too weak.
    Gesture,
    /// A ledger proof or page asked for an index or size the ledger does not have.
    LedgerRange,
    /// Not an Ethereum address (`0x` and 40 hex digits, EIP-55 when mixed case).
    WalletAddress,
    /// A wallet's signed message refused: its form, domain, URI, chain, nonce, times or
    /// signer (the detail says which).
    WalletSignature,
    /// A session key that is not a public ES256K or EdDSA JWK.
    SessionKey,
    /// An API key's allowed origin that is not `scheme://host[:port]`.
    Origin,
    /// A rate per minute out of bounds.
    Rate,
    /// An amount that is not a decimal number of wei.
    Amount,
    /// Call data that is not `0x`-hex, or too long.
    CallData,
    /// A message to sign that is empty or too long.
    Message,
}

/// Why a custodial wallet operation was refused. Nothing was sent in any of these cases.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CustodyRefusal {
    /// The password does not open the wallet (or is not the account's, at creation).
    WrongPassword,
    /// A spending limit would be passed.
    Limit(portcullis_core::custody::LimitExceeded),
    /// The value and the most the fee may cost are more than the balance.
    InsufficientFunds,
    /// No chain is configured, or its node cannot be reached.
    ChainUnavailable,
    /// The node refused the transaction (its message).
    ChainRejected(String),
    /// The account has as many wallets as it may.
    TooManyWallets,
}

impl fmt::Display for CustodyRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CustodyRefusal::WrongPassword => f.write_str("the password is not right"),
            CustodyRefusal::Limit(e) => write!(f, "{e}"),
            CustodyRefusal::InsufficientFunds => f.write_str(
                "the value plus the most the fee may cost is more than the wallet's balance",
            ),
            CustodyRefusal::ChainUnavailable => {
                f.write_str("the chain cannot be reached now; nothing was sent")
            }
            CustodyRefusal::ChainRejected(why) => {
                write!(f, "the chain refused the transaction: {why}")
            }
            CustodyRefusal::TooManyWallets => f.write_str("the account has its most wallets"),
        }
    }
}

/// Why an application's API key was refused. Every way a key can fail to be one of ours
/// (absent aside) is the one [`ApiKeyRefusal::Invalid`], so the answer tells nothing about
/// which keys exist.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApiKeyRefusal {
    /// No `X-API-Key` header.
    Missing,
    /// Malformed, unknown or revoked.
    Invalid,
    /// A live key that was not granted this scope.
    Scope(portcullis_core::api_key::ApiScope),
    /// A live key used from a browser origin it does not allow.
    Origin,
}

impl fmt::Display for ApiKeyRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiKeyRefusal::Missing => f.write_str("an API key is required (`X-API-Key`)"),
            ApiKeyRefusal::Invalid => f.write_str("the API key is not valid"),
            ApiKeyRefusal::Scope(scope) => {
                write!(f, "the API key is not allowed the scope {scope}")
            }
            ApiKeyRefusal::Origin => f.write_str("the API key may not be used from this origin"),
        }
    }
}

impl ServiceError {
    /// An input that broke `what`, explained by `detail`.
    pub fn invalid(what: Invalid, detail: impl Into<Cow<'static, str>>) -> Self {
        ServiceError::Invalid {
            what,
            detail: detail.into(),
        }
    }

    /// A failure on our side described by `context` alone.
    pub fn unexpected(context: impl Into<Cow<'static, str>>) -> Self {
        ServiceError::Unexpected(Unexpected::msg(context))
    }

    /// A failure on our side: `context` says what we were doing, `source` why it failed.
    pub fn unexpected_from(
        context: impl Into<Cow<'static, str>>,
        source: impl StdError + Send + Sync + 'static,
    ) -> Self {
        ServiceError::Unexpected(Unexpected::new(context, source))
    }
}

/// A failure on our side: what we were doing, and the error chain that stopped it.
///
/// It prints only its context; [`Unexpected::chain`] prints the causes too, for the log.
#[derive(Debug)]
pub struct Unexpected {
    context: Cow<'static, str>,
    source: Option<Box<dyn StdError + Send + Sync>>,
}

impl Unexpected {
    /// `context` caused by `source`.
    pub fn new(
        context: impl Into<Cow<'static, str>>,
        source: impl StdError + Send + Sync + 'static,
    ) -> Self {
        Unexpected {
            context: context.into(),
            source: Some(Box::new(source)),
        }
    }

    /// `context` with no underlying error.
    pub fn msg(context: impl Into<Cow<'static, str>>) -> Self {
        Unexpected {
            context: context.into(),
            source: None,
        }
    }

    /// The context and every cause, `context: cause: cause…`, for the log.
    pub fn chain(&self) -> Chain<'_> {
        Chain(self)
    }
}

impl fmt::Display for Unexpected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.context)
    }
}

impl StdError for Unexpected {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

/// Displays an [`Unexpected`] with its causes.
pub struct Chain<'a>(&'a Unexpected);

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = StdError::source(self.0);
        while let Some(e) = cause {
            write!(f, ": {e}")?;
            cause = e.source();
        }
        Ok(())
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Concurrent => {
                ServiceError::Conflict("the resource was changed concurrently; retry")
            }
            other => ServiceError::unexpected_from("store", other),
        }
    }
}

impl From<portcullis_ledger::LedgerError> for ServiceError {
    fn from(e: portcullis_ledger::LedgerError) -> Self {
        use portcullis_ledger::LedgerError;
        match e {
            LedgerError::Proof(e) => ServiceError::invalid(Invalid::LedgerRange, e.to_string()),
            LedgerError::Refused(_) | LedgerError::WrongKind => {
                ServiceError::Conflict("the ledger refused the operation")
            }
            other => ServiceError::unexpected_from("ledger", other),
        }
    }
}

impl From<KeyringError> for ServiceError {
    fn from(e: KeyringError) -> Self {
        ServiceError::unexpected_from("keyring", e)
    }
}

impl From<PasswordError> for ServiceError {
    fn from(e: PasswordError) -> Self {
        ServiceError::unexpected_from("password hashing", e)
    }
}

impl From<TokenError> for ServiceError {
    fn from(e: TokenError) -> Self {
        ServiceError::unexpected_from("token", e)
    }
}

impl From<serde_json::Error> for ServiceError {
    fn from(e: serde_json::Error) -> Self {
        ServiceError::unexpected_from("json", e)
    }
}

impl From<PasswordRejection> for ServiceError {
    fn from(e: PasswordRejection) -> Self {
        ServiceError::WeakPassword(e)
    }
}

impl From<ContactError> for ServiceError {
    fn from(e: ContactError) -> Self {
        let what = match e {
            ContactError::InvalidEmail(_) => Invalid::Email,
            ContactError::InvalidPhone(_) => Invalid::Phone,
            ContactError::InvalidDisplayName(_) => Invalid::DisplayName,
        };
        ServiceError::invalid(what, e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("disk on fire")]
    struct Root;

    #[derive(Debug, thiserror::Error)]
    #[error("query failed")]
    struct Middle(#[source] Root);

    #[test]
    fn unexpected_keeps_its_cause_chain_for_the_log_and_shows_only_its_context() {
        let e = Unexpected::new("loading sessions", Middle(Root));
        assert_eq!(e.to_string(), "loading sessions");
        assert_eq!(
            e.chain().to_string(),
            "loading sessions: query failed: disk on fire"
        );
        assert_eq!(Unexpected::msg("alone").chain().to_string(), "alone");
    }

    #[test]
    fn a_concurrent_store_change_is_a_conflict_and_other_store_errors_are_unexpected() {
        assert!(matches!(
            ServiceError::from(StoreError::Concurrent),
            ServiceError::Conflict(_)
        ));
        assert!(matches!(
            ServiceError::from(StoreError::Corrupt("x".into())),
            ServiceError::Unexpected(_)
        ));
    }
}
