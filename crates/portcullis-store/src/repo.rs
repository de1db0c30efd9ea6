//! Repository traits, sized by role: each service asks only for the repositories it uses, and
//! a test can stand in for one of them. [`Store`] holds one of each; [`open`] picks the
//! backend from the URL (both live in `store.rs` and are re-exported here).

use async_trait::async_trait;
use portcullis_core::audit::{AuditEvent, AuditRecord};
use portcullis_core::factor::FactorKind;
use portcullis_core::ids::{AccountId, ChallengeId, SessionId};
use portcullis_core::login::Challenge;
use portcullis_core::secret::TokenHash;

use crate::error::StoreError;
use crate::keyring::WrappedKey;
use crate::model::{
    AccountRecord, AccountStatus, ClientRecord, ClientStatus, FactorRecord, OtpOutcome, OutboxItem,
    RefreshOutcome, SessionRecord,
};

pub use crate::store::{Store, migrate, open};

/// Accounts and their data keys.
#[async_trait]
pub trait AccountRepo: Send + Sync {
    /// Inserts an account with its wrapped data key, atomically.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the e-mail index is taken.
    async fn create(&self, account: &AccountRecord, key: &WrappedKey) -> Result<(), StoreError>;
    /// Reads one account.
    async fn get(&self, id: AccountId) -> Result<Option<AccountRecord>, StoreError>;
    /// Finds an account by the blind index of its e-mail.
    async fn find_by_email_index(&self, index: &[u8]) -> Result<Option<AccountRecord>, StoreError>;
    /// Lists accounts, oldest first.
    async fn list(&self, limit: i64, offset: i64) -> Result<Vec<AccountRecord>, StoreError>;
    /// Replaces the encrypted personal fields (and the e-mail index).
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when a new e-mail is taken.
    async fn update_pii(&self, account: &AccountRecord, now: i64) -> Result<(), StoreError>;
    /// Sets a new password hash.
    async fn set_password_hash(
        &self,
        id: AccountId,
        hash: &str,
        now: i64,
    ) -> Result<(), StoreError>;
    /// Sets the status; returns whether a row changed.
    async fn set_status(
        &self,
        id: AccountId,
        status: AccountStatus,
        now: i64,
    ) -> Result<bool, StoreError>;
    /// Sets the roles.
    async fn set_roles(
        &self,
        id: AccountId,
        roles: &[String],
        now: i64,
    ) -> Result<bool, StoreError>;
    /// Moves a pending account to active; returns false when it was not pending.
    async fn mark_verified(&self, id: AccountId, now: i64) -> Result<bool, StoreError>;
    /// Deletes the account's data key and leaves a tombstone without an e-mail index:
    /// the ciphertexts that remain can no longer be decrypted. Atomically, its sessions are
    /// revoked and its mail tokens spent (both kept), and its factors, recovery codes,
    /// one-time codes and DualConfirm pairs are deleted with the key; audit records stay.
    async fn shred(&self, id: AccountId, now: i64) -> Result<(), StoreError>;
    /// The account's wrapped data key.
    async fn data_key(&self, id: AccountId) -> Result<Option<WrappedKey>, StoreError>;
    /// Every wrapped data key (for master-key rotation).
    async fn all_data_keys(&self) -> Result<Vec<(AccountId, WrappedKey)>, StoreError>;
    /// Replaces a wrapped data key (after re-wrapping under a new master).
    async fn replace_data_key(&self, id: AccountId, key: &WrappedKey) -> Result<(), StoreError>;
}

/// Single-use tokens sent by mail, stored hashed.
#[async_trait]
pub trait EmailTokenRepo: Send + Sync {
    /// Stores a token hash.
    async fn insert(
        &self,
        hash: &TokenHash,
        account: AccountId,
        purpose: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError>;
    /// Spends a live token; returns its account when it was live (exactly once).
    async fn consume(
        &self,
        hash: &TokenHash,
        purpose: &str,
        now: i64,
    ) -> Result<Option<AccountId>, StoreError>;
    /// The account of a live token, without spending it.
    async fn peek(
        &self,
        hash: &TokenHash,
        purpose: &str,
        now: i64,
    ) -> Result<Option<AccountId>, StoreError>;
    /// Spends every outstanding token of an account for a purpose.
    async fn invalidate(
        &self,
        account: AccountId,
        purpose: &str,
        now: i64,
    ) -> Result<(), StoreError>;
}

/// Sessions and their refresh-token families.
#[async_trait]
pub trait SessionRepo: Send + Sync {
    /// Creates a session with its first refresh token.
    async fn create(
        &self,
        session: &SessionRecord,
        refresh: &TokenHash,
        refresh_expires_at: i64,
    ) -> Result<(), StoreError>;
    /// Reads one session.
    async fn get(&self, id: SessionId) -> Result<Option<SessionRecord>, StoreError>;
    /// Live sessions of an account, newest first.
    async fn list_live(
        &self,
        account: AccountId,
        now: i64,
    ) -> Result<Vec<SessionRecord>, StoreError>;
    /// Records activity: moves the idle expiry (never past the absolute one).
    async fn touch(&self, id: SessionId, now: i64, idle_secs: i64) -> Result<(), StoreError>;
    /// Revokes one session; returns whether it was live.
    async fn revoke(&self, id: SessionId, reason: &str, now: i64) -> Result<bool, StoreError>;
    /// Revokes every session of an account but `except`; returns how many.
    async fn revoke_all(
        &self,
        account: AccountId,
        except: Option<SessionId>,
        reason: &str,
        now: i64,
    ) -> Result<u64, StoreError>;
    /// Sessions revoked at or after `since` (unix seconds), oldest first, at most `limit`:
    /// the revocation feed that guards poll.
    async fn revoked_since(
        &self,
        since: i64,
        limit: i64,
    ) -> Result<Vec<(SessionId, i64)>, StoreError>;
    /// Records a step-up on a live session: new assurance, methods and authentication time.
    /// Returns false when the session is no longer live.
    async fn elevate(
        &self,
        id: SessionId,
        acr: &str,
        amr: &[String],
        now: i64,
    ) -> Result<bool, StoreError>;
    /// Spends `old` and stores `new` in its family. Of two concurrent calls with the same
    /// token exactly one rotates; a spent token revokes the family.
    async fn rotate_refresh(
        &self,
        old: &TokenHash,
        new: &TokenHash,
        now: i64,
        idle_secs: i64,
        new_expires_at: i64,
    ) -> Result<RefreshOutcome, StoreError>;
}

/// Second factors and recovery codes.
#[async_trait]
pub trait FactorRepo: Send + Sync {
    /// Stores a new (unconfirmed) factor.
    async fn insert(&self, factor: &FactorRecord) -> Result<(), StoreError>;
    /// Factors of an account, oldest first.
    async fn list(&self, account: AccountId) -> Result<Vec<FactorRecord>, StoreError>;
    /// Confirms an unconfirmed factor of `account`, recording the step of its first code.
    async fn confirm(
        &self,
        id: &str,
        account: AccountId,
        step: i64,
        now: i64,
    ) -> Result<bool, StoreError>;
    /// Confirms an unconfirmed factor of `account`, replacing its sealed secret (a passkey's
    /// credential replaces its registration state).
    async fn confirm_with_secret(
        &self,
        id: &str,
        account: AccountId,
        secret_ct: &[u8],
        now: i64,
    ) -> Result<bool, StoreError>;
    /// Replaces a confirmed factor's sealed secret after a use (a passkey's signature counter).
    async fn update_secret(&self, id: &str, secret_ct: &[u8], now: i64)
    -> Result<bool, StoreError>;
    /// Accepts `step` for a confirmed factor only if it is later than the last accepted one:
    /// of two concurrent uses of one code exactly one succeeds.
    async fn advance_step(&self, id: &str, step: i64, now: i64) -> Result<bool, StoreError>;
    /// Removes a factor of `account`.
    async fn delete(&self, id: &str, account: AccountId) -> Result<bool, StoreError>;
    /// Removes unconfirmed factors of `kind` older than `before`.
    async fn delete_unconfirmed(
        &self,
        account: AccountId,
        kind: FactorKind,
        before: i64,
    ) -> Result<u64, StoreError>;
    /// Replaces the account's recovery codes with these hashes.
    async fn replace_recovery_codes(
        &self,
        account: AccountId,
        hashes: &[Vec<u8>],
        now: i64,
    ) -> Result<(), StoreError>;
    /// Spends a recovery code; true exactly once per code.
    async fn use_recovery_code(
        &self,
        account: AccountId,
        hash: &[u8],
        now: i64,
    ) -> Result<bool, StoreError>;
    /// Unused recovery codes left.
    async fn recovery_codes_left(&self, account: AccountId) -> Result<i64, StoreError>;
}

/// One-time codes sent by e-mail or SMS.
#[async_trait]
pub trait OtpRepo: Send + Sync {
    /// Stores a new code for (`account`, `channel`, `target`), replacing any live one.
    #[expect(clippy::too_many_arguments, reason = "one argument per column")]
    async fn issue(
        &self,
        id: &str,
        account: AccountId,
        channel: &str,
        target: &str,
        code_hash: &[u8],
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError>;
    /// Codes sent to `account` on `channel` since `since` (the resend bound).
    async fn sent_since(
        &self,
        account: AccountId,
        channel: &str,
        since: i64,
    ) -> Result<i64, StoreError>;
    /// Checks a code against the live one. Every check first takes one of the code's
    /// `max_attempts` atomically, so concurrent checks compare at most `max_attempts` codes in
    /// all; a code whose attempts are taken is dead. A match spends the code (once).
    async fn check(
        &self,
        account: AccountId,
        channel: &str,
        target: &str,
        code_hash: &[u8],
        now: i64,
        max_attempts: i64,
    ) -> Result<OtpOutcome, StoreError>;
}

/// Pending login challenges.
#[async_trait]
pub trait ChallengeRepo: Send + Sync {
    /// Stores a new challenge.
    async fn insert(&self, challenge: &Challenge) -> Result<(), StoreError>;
    /// Reads a challenge with its version. Its `failures` are the attempts taken so far
    /// (see [`ChallengeRepo::reserve_attempt`]), whatever its last write said.
    async fn get(&self, id: ChallengeId) -> Result<Option<(Challenge, i64)>, StoreError>;
    /// Takes one attempt before an answer is checked, atomically: the attempts taken,
    /// this one included, or `None` when `max` are taken already (or the challenge is gone),
    /// in which case the answer must not be checked. Of any number of concurrent callers at
    /// most `max` in all get one.
    async fn reserve_attempt(&self, id: ChallengeId, max: u32) -> Result<Option<u32>, StoreError>;
    /// Gives back an attempt whose answer was verified: only failures stay counted.
    async fn release_attempt(&self, id: ChallengeId) -> Result<(), StoreError>;
    /// Writes a challenge if nobody changed it since `version` was read (its attempts are
    /// left as they are).
    ///
    /// # Errors
    /// [`StoreError::Concurrent`] when it was changed.
    async fn update(&self, challenge: &Challenge, version: i64) -> Result<(), StoreError>;
    /// Removes a challenge (completed or abandoned).
    async fn delete(&self, id: ChallengeId) -> Result<(), StoreError>;
    /// Removes expired challenges; returns how many.
    async fn purge_expired(&self, now: i64) -> Result<u64, StoreError>;
}

/// Consecutive login failures per key (the blind index of the e-mail tried).
#[async_trait]
pub trait ThrottleRepo: Send + Sync {
    /// Failures so far and when the last one happened.
    async fn get(&self, key: &[u8]) -> Result<Option<(i64, i64)>, StoreError>;
    /// Counts one more failure; returns the new count.
    async fn record_failure(&self, key: &[u8], now: i64) -> Result<i64, StoreError>;
    /// Forgets the failures (after a success).
    async fn clear(&self, key: &[u8]) -> Result<(), StoreError>;
}

/// Messages sent per recipient and kind: the cooldown that keeps anyone from flooding an
/// address or phone number through us, shared by every node.
#[async_trait]
pub trait CooldownRepo: Send + Sync {
    /// Counts one more message of `kind` to `recipient` (a keyed hash, never an address) at
    /// `now`, and returns how many its window now holds, this one included. A window is
    /// `window` seconds from the first message counted in it; once it has passed, the next
    /// message starts a new one. Concurrent calls are counted one by one.
    async fn count_send(
        &self,
        recipient: &[u8],
        kind: &str,
        now: i64,
        window: i64,
    ) -> Result<i64, StoreError>;
    /// Forgets the windows that started at or before `before` (ended ones); returns how many.
    async fn purge_started_before(&self, before: i64) -> Result<u64, StoreError>;
}

/// The durable mail queue.
#[async_trait]
pub trait OutboxRepo: Send + Sync {
    /// Queues a sealed message.
    async fn enqueue(&self, id: &str, payload: &[u8], now: i64) -> Result<(), StoreError>;
    /// Leases up to `limit` due messages until `lease_until`.
    async fn claim_due(
        &self,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> Result<Vec<OutboxItem>, StoreError>;
    /// Marks a message sent and erases its payload.
    async fn mark_sent(&self, id: &str, now: i64) -> Result<(), StoreError>;
    /// Records a failed attempt; `dead` gives up for good (payload erased).
    async fn mark_failed(
        &self,
        id: &str,
        next_attempt_at: i64,
        error: &str,
        dead: bool,
    ) -> Result<(), StoreError>;
    /// Messages not yet sent and not given up.
    async fn backlog(&self) -> Result<i64, StoreError>;
}

/// The hash-chained audit log of the main database, as it was before the audit ledger
/// (`portcullis-ledger`): read once at start to move it onto the ledger, then emptied.
#[async_trait]
pub trait AuditRepo: Send + Sync {
    /// Appends an event at the end of the chain (serialised across writers).
    async fn append(&self, at: i64, event: AuditEvent) -> Result<AuditRecord, StoreError>;
    /// Entries with `seq > after`, in order, at most `limit`.
    async fn page(&self, after: i64, limit: i64) -> Result<Vec<AuditRecord>, StoreError>;
    /// The latest entries whose actor is `actor`, oldest first (for data export).
    async fn by_actor(&self, actor: &str, limit: i64) -> Result<Vec<AuditRecord>, StoreError>;
    /// The recorded chain head (last seq and hash), `None` when empty.
    async fn head(&self) -> Result<Option<(i64, [u8; 32])>, StoreError>;
    /// Empties the log and its head, once its entries are on the audit ledger.
    async fn clear_after_migration(&self) -> Result<(), StoreError>;
}

/// Service accounts (OAuth 2.0 clients), and the one look-up RFC 7009 revocation by a client
/// needs.
#[async_trait]
pub trait ClientRepo: Send + Sync {
    /// Inserts a client.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the id or name is taken.
    async fn create(&self, client: &ClientRecord) -> Result<(), StoreError>;
    /// Reads one client.
    async fn get(&self, id: &str) -> Result<Option<ClientRecord>, StoreError>;
    /// Every client, oldest first.
    async fn list(&self) -> Result<Vec<ClientRecord>, StoreError>;
    /// Replaces the secret hash; returns whether the client exists.
    async fn set_secret(&self, id: &str, hash: &TokenHash, now: i64) -> Result<bool, StoreError>;
    /// Sets the status; returns whether the client exists.
    async fn set_status(
        &self,
        id: &str,
        status: ClientStatus,
        now: i64,
    ) -> Result<bool, StoreError>;
    /// Removes a client; returns whether it existed.
    async fn delete(&self, id: &str) -> Result<bool, StoreError>;
    /// The session a refresh token belongs to, spent or not.
    async fn session_of_refresh(&self, hash: &TokenHash) -> Result<Option<SessionId>, StoreError>;
}

mod api_keys;
pub use api_keys::ApiKeyRepo;
mod pairs;
pub use pairs::{PairRepo, WordCheckRepo};
mod invitations;
pub use invitations::{InvitationBounds, InvitationCounts, InvitationRepo};
mod webhooks;
pub use webhooks::{AccountChangeRepo, WebhookRepo};
mod custody;
pub use custody::{CustodyRepo, SendLease};

/// Database health, for `/health/detailed`.
#[async_trait]
pub trait HealthRepo: Send + Sync {
    /// Runs a trivial query.
    async fn ping(&self) -> Result<(), StoreError>;
    /// Backend name.
    fn backend(&self) -> &'static str;
}
