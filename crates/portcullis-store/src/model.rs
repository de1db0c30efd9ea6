//! Records as stored. Personal data appears here only as ciphertext; see [`crate::pii`].

use portcullis_core::audit::AuditRecord;
use portcullis_core::factor::FactorKind;
use portcullis_core::ids::{AccountId, SessionId};
use std::fmt;
use std::str::FromStr;

/// Life-cycle state of an account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountStatus {
    /// Registered, e-mail not yet verified.
    Pending,
    /// Verified and allowed to log in.
    Active,
    /// Disabled by an administrator.
    Disabled,
    /// Deleted; its data key is destroyed.
    Deleted,
}

impl AccountStatus {
    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Pending => "pending",
            AccountStatus::Active => "active",
            AccountStatus::Disabled => "disabled",
            AccountStatus::Deleted => "deleted",
        }
    }
}

impl fmt::Display for AccountStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AccountStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "pending" => AccountStatus::Pending,
            "active" => AccountStatus::Active,
            "disabled" => AccountStatus::Disabled,
            "deleted" => AccountStatus::Deleted,
            other => return Err(format!("unknown account status {other:?}")),
        })
    }
}

/// An account row.
#[derive(Clone, PartialEq, Eq)]
pub struct AccountRecord {
    /// Id.
    pub id: AccountId,
    /// Keyed blind index of the normalised e-mail (absent once deleted).
    pub email_index: Option<Vec<u8>>,
    /// Encrypted e-mail.
    pub email_ct: Vec<u8>,
    /// Encrypted phone number.
    pub phone_ct: Option<Vec<u8>>,
    /// Encrypted display name.
    pub display_name_ct: Option<Vec<u8>>,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Status.
    pub status: AccountStatus,
    /// Role names.
    pub roles: Vec<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub updated_at: i64,
    /// When the e-mail was verified.
    pub verified_at: Option<i64>,
}

impl fmt::Debug for AccountRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountRecord")
            .field("id", &self.id)
            .field("status", &self.status)
            .field("roles", &self.roles)
            .finish_non_exhaustive()
    }
}

/// An enrolled (or enrolling) second factor.
#[derive(Clone, PartialEq, Eq)]
pub struct FactorRecord {
    /// Id.
    pub id: String,
    /// Owner.
    pub account_id: AccountId,
    /// What kind of factor (stored by its name; an unknown name is [`StoreError::Corrupt`](crate::StoreError::Corrupt)).
    pub kind: FactorKind,
    /// Name the user gave it.
    pub label: String,
    /// Secret sealed with the account's data key.
    pub secret_ct: Option<Vec<u8>>,
    /// Last accepted TOTP step (replay guard).
    pub last_step: Option<i64>,
    /// Unix seconds.
    pub created_at: i64,
    /// Set once the user proved a first code.
    pub confirmed_at: Option<i64>,
    /// Last successful use.
    pub last_used_at: Option<i64>,
}

impl fmt::Debug for FactorRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FactorRecord")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("confirmed_at", &self.confirmed_at)
            .finish_non_exhaustive()
    }
}

/// What checking a one-time code found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OtpOutcome {
    /// The code matched and is now spent.
    Accepted,
    /// Wrong code; one attempt counted.
    Wrong,
    /// No live code: none sent, expired, spent, or out of attempts.
    NoLiveCode,
}

/// A server-side session row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRecord {
    /// Id (the `sid` claim).
    pub id: SessionId,
    /// Owner.
    pub account_id: AccountId,
    /// Assurance reached.
    pub acr: String,
    /// Methods used.
    pub amr: Vec<String>,
    /// When the user last authenticated (unix seconds).
    pub auth_time: i64,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub last_seen_at: i64,
    /// Expires when idle past this instant.
    pub idle_expires_at: i64,
    /// Expires at this instant whatever the activity.
    pub absolute_expires_at: i64,
    /// Set once revoked.
    pub revoked_at: Option<i64>,
    /// Client's user agent, as given.
    pub user_agent: Option<String>,
    /// Client address.
    pub ip: Option<String>,
    /// Set for a session logged in with a hardware wallet: its tokens are bound to a session
    /// key and it lives only while its ReqNFT does.
    pub wallet: Option<WalletBinding>,
}

/// What a wallet session is bound to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalletBinding {
    /// RFC 7638 thumbprint of the session key the wallet delegated to, when the session's
    /// tokens are bound to it (`cnf.jkt`, DPoP); `None` for a browser's session, whose
    /// tokens stay in its HTTP-only cookies.
    pub jkt: Option<String>,
    /// The wallet's EIP-55 address.
    pub address: String,
    /// The id of the session's ReqNFT on the `req` ledger.
    pub req_token: String,
}

impl SessionRecord {
    /// Whether tokens of this session may still be honoured at `now`.
    pub fn is_live(&self, now: i64) -> bool {
        self.revoked_at.is_none() && now < self.idle_expires_at && now < self.absolute_expires_at
    }
}

/// Result of presenting a refresh token.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(
    clippy::large_enum_variant,
    reason = "one per refresh, moved once: boxing would only add an allocation"
)]
pub enum RefreshOutcome {
    /// The token was live; the new one replaces it.
    Rotated(SessionRecord),
    /// The token had been spent already: the whole family (session) is now revoked.
    Reused(SessionId),
    /// Unknown, expired, or its session is no longer live.
    Invalid,
}

/// A queued message, payload still sealed.
#[derive(Clone, PartialEq, Eq)]
pub struct OutboxItem {
    /// Id.
    pub id: String,
    /// Sealed payload.
    pub payload: Vec<u8>,
    /// Delivery attempts so far.
    pub attempts: i64,
}

impl fmt::Debug for OutboxItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutboxItem")
            .field("id", &self.id)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

/// The audit chain as read back, with its head.
pub type AuditPage = Vec<AuditRecord>;

/// Life-cycle state of a service account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientStatus {
    /// May obtain tokens.
    Active,
    /// Refused at the token endpoint; its tokens introspect as inactive.
    Disabled,
}

impl ClientStatus {
    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            ClientStatus::Active => "active",
            ClientStatus::Disabled => "disabled",
        }
    }
}

impl FromStr for ClientStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "active" => Ok(ClientStatus::Active),
            "disabled" => Ok(ClientStatus::Disabled),
            other => Err(format!("unknown client status {other:?}")),
        }
    }
}

/// A service account (an OAuth 2.0 client of the client-credentials grant).
#[derive(Clone, PartialEq, Eq)]
pub struct ClientRecord {
    /// Id, also the `client_id` of HTTP Basic authentication.
    pub id: String,
    /// Unique human name.
    pub name: String,
    /// SHA-256 of the secret.
    pub secret_hash: portcullis_core::secret::TokenHash,
    /// Scopes the client may request.
    pub scopes: Vec<String>,
    /// Status.
    pub status: ClientStatus,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds (the last secret rotation or status change).
    pub updated_at: i64,
}

impl fmt::Debug for ClientRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientRecord")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("scopes", &self.scopes)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// Where a DualConfirm pair stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PairStatus {
    /// Invited by the advisor; the client has not accepted yet.
    Invited,
    /// Both sides see words when both are present.
    Active,
}

impl PairStatus {
    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            PairStatus::Invited => "invited",
            PairStatus::Active => "active",
        }
    }
}

impl FromStr for PairStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "invited" => Ok(PairStatus::Invited),
            "active" => Ok(PairStatus::Active),
            other => Err(format!("unknown pair status {other:?}")),
        }
    }
}

/// A DualConfirm pair: an advisor and a client with a shared secret.
#[derive(Clone, PartialEq, Eq)]
pub struct PairRecord {
    /// Id.
    pub id: String,
    /// The advisor's account.
    pub advisor: AccountId,
    /// The client's account.
    pub client: AccountId,
    /// The 32-byte secret, sealed with the keyring.
    pub secret_sealed: Vec<u8>,
    /// Status.
    pub status: PairStatus,
    /// Word-list language (`en`, `fr`), the same for both sides.
    pub language: String,
    /// Who created it (`admin:<id>`, `advisor:<id>`, `cli`).
    pub created_by: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds (the last status change).
    pub updated_at: i64,
    /// A name an administrator set for the advisor, sealed with the keyring (associated data:
    /// the pair id and the side); `None`: the advisor is shown by e-mail address.
    pub advisor_name_sealed: Option<Vec<u8>>,
    /// The same for the client.
    pub client_name_sealed: Option<Vec<u8>>,
}

impl fmt::Debug for PairRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PairRecord")
            .field("id", &self.id)
            .field("advisor", &self.advisor)
            .field("client", &self.client)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

mod invitation;
pub use invitation::{InvitationRecord, InvitationStatus, PairStanding, PartyStanding};

mod webhook;
pub use webhook::{AccountEvent, Delivery, DeliveryCounts, DeliveryStatus, WebhookRecord};

mod custody;
pub use custody::{CustodialWalletRecord, SendRecord, SendSettlement, SendStatus};

mod api_key;
pub use api_key::ApiKeyRecord;
