//! Shared application state, built once at start-up and handed to every handler.

use metrics_exporter_prometheus::PrometheusHandle;
use portcullis_core::entropy::Entropy;
use portcullis_core::token::TokenKeys;
use portcullis_store::Store;
use portcullis_store::keyring::Keyring;
use std::ops::Deref;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use tokio::sync::Notify;

use crate::clock::Clock;
use crate::config::Config;
use crate::ratelimit::RateLimits;
use crate::services::passwords::HashPool;

/// Cheap-to-clone handle on the application.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

/// What the handle points to. Its fields are the server's own: other crates (the CLI, the
/// benches, the tests) go through [`AppState`]'s methods, so the parts can change shape freely.
pub struct Inner {
    /// Effective configuration.
    pub(crate) config: Config,
    /// Repositories.
    pub(crate) store: Store,
    /// The `auth`, `req` and `audit` ledgers.
    pub(crate) ledgers: crate::ledgers::Ledgers,
    /// Envelope encryption; replaced whole when the keyring file changes (master rotation).
    pub(crate) keyring: RwLock<Arc<Keyring>>,
    /// Where the keyring lives.
    pub(crate) keyring_path: PathBuf,
    /// Signing keys; replaced whole when the key file changes.
    pub(crate) keys: RwLock<Arc<TokenKeys>>,
    /// Where the signing keys live.
    pub(crate) keys_path: PathBuf,
    /// argon2id with the configured parameters, on its own threads.
    pub(crate) hash_pool: HashPool,
    /// The one clock.
    pub(crate) clock: Arc<dyn Clock>,
    /// The one randomness source.
    pub(crate) entropy: Arc<dyn Entropy>,
    /// Request rate limiters.
    pub(crate) limits: RateLimits,
    /// What this node knows of the others: recent revocations, Redis.
    pub(crate) cluster: crate::cluster::Cluster,
    /// DualConfirm presence, sessions and words on this node.
    pub(crate) dualconfirm: crate::services::dualconfirm::hub::Hub,
    /// Taken once by the DualConfirm audit worker.
    pub(crate) dualconfirm_audit: std::sync::Mutex<
        Option<tokio::sync::mpsc::UnboundedReceiver<crate::services::dualconfirm::hub::AuditNote>>,
    >,
    /// Taken once by the worker that publishes the hub's relay messages (Redis only).
    pub(crate) dualconfirm_relay: std::sync::Mutex<
        Option<tokio::sync::mpsc::UnboundedReceiver<crate::services::dualconfirm::hub::Relay>>,
    >,
    /// Sessions verified recently on the forward-auth path.
    pub(crate) verified: crate::verified::VerifiedSessions,
    /// DPoP proofs seen recently (replay detection).
    pub(crate) dpop: crate::auth::dpop::DpopState,
    /// WebAuthn relying party.
    pub(crate) webauthn: webauthn_rs::Webauthn,
    /// Sends SMS.
    pub(crate) sms: crate::sms::SmsSender,
    /// The Ethereum node of custodial wallets (`[chain]`), when one is configured.
    pub(crate) chain: Option<portcullis_chain::Chain>,
    /// Wakes the mail worker when a message is queued.
    pub(crate) mail_notify: Notify,
    /// Renders `/metrics`.
    pub(crate) metrics: PrometheusHandle,
    /// `iss` of our tokens.
    pub(crate) issuer: String,
    /// Base URL for links in mail.
    pub(crate) public_url: String,
}

impl AppState {
    /// Wraps the parts.
    pub(crate) fn new(inner: Inner) -> Self {
        Self(Arc::new(inner))
    }

    /// Current signing keys.
    pub fn keys(&self) -> Arc<TokenKeys> {
        match self.keys.read() {
            Ok(k) => k.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Current keyring.
    pub fn keyring(&self) -> Arc<Keyring> {
        match self.keyring.read() {
            Ok(k) => k.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Replaces the keyring.
    pub fn set_keyring(&self, keyring: Keyring) {
        let mut guard = match self.keyring.write() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        *guard = Arc::new(keyring);
    }

    /// Replaces the signing keys.
    pub fn set_keys(&self, keys: TokenKeys) {
        let mut guard = match self.keys.write() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        *guard = Arc::new(keys);
    }

    /// The repositories.
    pub fn store(&self) -> &Store {
        &self.0.store
    }

    /// The node's ledgers.
    pub fn ledgers(&self) -> &crate::ledgers::Ledgers {
        &self.0.ledgers
    }

    /// The effective configuration.
    pub fn config(&self) -> &Config {
        &self.0.config
    }

    /// The one clock.
    pub fn clock(&self) -> &dyn Clock {
        self.0.clock.as_ref()
    }

    /// This node's DualConfirm hub.
    pub fn dualconfirm(&self) -> &crate::services::dualconfirm::hub::Hub {
        &self.0.dualconfirm
    }

    /// The `iss` of our tokens.
    pub fn issuer(&self) -> &str {
        &self.0.issuer
    }

    /// Unix seconds now.
    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// `N` random bytes.
    pub fn random<const N: usize>(&self) -> [u8; N] {
        let mut out = [0u8; N];
        self.entropy.fill(&mut out);
        out
    }
}

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}
