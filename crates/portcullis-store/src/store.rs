//! [`Store`], every repository of one database, and [`open`], which picks the backend from the
//! URL and applies the migrations.

use std::sync::Arc;

use crate::error::StoreError;
use crate::repo::{AccountChangeRepo, ApiKeyRepo, CustodyRepo, WebhookRepo};
use crate::repo::{
    AccountRepo, AuditRepo, ChallengeRepo, ClientRepo, CooldownRepo, EmailTokenRepo, FactorRepo,
    HealthRepo, InvitationRepo, OtpRepo, OutboxRepo, PairRepo, SessionRepo, ThrottleRepo,
    WordCheckRepo,
};

/// Every repository of one database, shared by the server.
#[derive(Clone)]
pub struct Store {
    /// Accounts.
    pub accounts: Arc<dyn AccountRepo>,
    /// E-mail tokens.
    pub email_tokens: Arc<dyn EmailTokenRepo>,
    /// Sessions.
    pub sessions: Arc<dyn SessionRepo>,
    /// Login challenges.
    pub challenges: Arc<dyn ChallengeRepo>,
    /// Second factors.
    pub factors: Arc<dyn FactorRepo>,
    /// One-time codes.
    pub otp: Arc<dyn OtpRepo>,
    /// Login throttle.
    pub throttle: Arc<dyn ThrottleRepo>,
    /// Mail queue.
    pub outbox: Arc<dyn OutboxRepo>,
    /// Messages per recipient, for the send cooldown.
    pub cooldown: Arc<dyn CooldownRepo>,
    /// The audit log before the audit ledger: read once to move it there.
    pub legacy_audit: Arc<dyn AuditRepo>,
    /// Health.
    pub health: Arc<dyn HealthRepo>,
    /// Service accounts.
    pub clients: Arc<dyn ClientRepo>,
    /// DualConfirm pairs.
    pub pairs: Arc<dyn PairRepo>,
    /// Checks of heard DualConfirm words, per window.
    pub word_checks: Arc<dyn WordCheckRepo>,
    /// DualConfirm invitations.
    pub invitations: Arc<dyn InvitationRepo>,
    /// Webhook subscriptions and deliveries.
    pub webhooks: Arc<dyn WebhookRepo>,
    /// Account changes written with their webhook event.
    pub account_changes: Arc<dyn AccountChangeRepo>,
    /// Custodial wallets and their sends.
    pub custody: Arc<dyn CustodyRepo>,
    /// API keys of front-end applications.
    pub api_keys: Arc<dyn ApiKeyRepo>,
}

impl Store {
    fn from_backend<B>(backend: B) -> Self
    where
        B: AccountRepo
            + EmailTokenRepo
            + SessionRepo
            + ChallengeRepo
            + FactorRepo
            + OtpRepo
            + ThrottleRepo
            + OutboxRepo
            + CooldownRepo
            + AuditRepo
            + HealthRepo
            + ClientRepo
            + PairRepo
            + WordCheckRepo
            + InvitationRepo
            + WebhookRepo
            + AccountChangeRepo
            + CustodyRepo
            + ApiKeyRepo
            + 'static,
    {
        let b = Arc::new(backend);
        Store {
            accounts: b.clone(),
            email_tokens: b.clone(),
            sessions: b.clone(),
            challenges: b.clone(),
            factors: b.clone(),
            otp: b.clone(),
            throttle: b.clone(),
            outbox: b.clone(),
            cooldown: b.clone(),
            legacy_audit: b.clone(),
            clients: b.clone(),
            pairs: b.clone(),
            word_checks: b.clone(),
            invitations: b.clone(),
            webhooks: b.clone(),
            account_changes: b.clone(),
            custody: b.clone(),
            api_keys: b.clone(),
            health: b,
        }
    }
}

/// Opens the database at `url` (`sqlite://path` or `postgres://…`) and, when `migrate` is
/// set, applies pending migrations.
///
/// # Errors
/// Unsupported URL, connection or migration failure.
pub async fn open(url: &str, migrate: bool) -> Result<Store, StoreError> {
    use crate::sql::{postgres, sqlite};
    if url.starts_with("sqlite:") {
        let backend = sqlite::connect(url).await?;
        if migrate {
            sqlite::migrate(&backend).await?;
        }
        Ok(Store::from_backend(backend))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        let backend = postgres::connect(url).await?;
        if migrate {
            postgres::migrate(&backend).await?;
        }
        Ok(Store::from_backend(backend))
    } else {
        Err(StoreError::UnsupportedUrl)
    }
}

/// Applies pending migrations only (for `portcullis migrate`); returns the backend name.
///
/// # Errors
/// As [`open`].
pub async fn migrate(url: &str) -> Result<&'static str, StoreError> {
    let store = open(url, true).await?;
    Ok(store.health.backend())
}
