//! Portcullis server: the axum application, its middleware and background workers.
//!
//! [`start`] opens the store, loads or generates the keys, and serves; the CLI and the
//! end-to-end tests both go through it.

#![warn(missing_docs)]

pub mod app;
pub mod auth;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod datadir;
pub mod error;
pub mod extract;
pub mod keyfiles;
pub mod ledgers;
pub mod qr;
pub mod ratelimit;
pub mod routes;
mod serve;
pub mod services;
pub mod sms;
pub mod state;
pub mod telemetry;
pub mod tls;
pub mod upload;
pub mod verified;
pub mod web;

/// What the fuzz targets of `fuzz/` drive: the parsers of outside input (login bodies,
/// DualConfirm messages, the configuration, forward-auth headers) and the pure checks behind
/// them, under one path so the harness names nothing else. Not an API.
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::config::{Config, ConfigError, ForwardAuthConfig, REDACTED, Rule};
    pub use crate::extract::bearer_or_cookie;
    pub use crate::routes::sessions::{ChallengeAnswer, LoginRequest, LoginStart};
    pub use crate::services::ServiceError;
    pub use crate::services::dualconfirm::hub::wire::{Feed, FromConsole, Relay};
    pub use crate::services::dualconfirm::hub::{
        AuditNote, Hub, Membership, PairKey, Push, SOCKET_QUEUE,
    };
    pub use crate::services::forward_auth::decide::{Denial, Original, judge};
    pub use crate::services::login::Answer;
}

use anyhow::Context as _;
use portcullis_core::password::PasswordHasher;
use portcullis_store::keyring::Keyring;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, oneshot};
use tokio::task::JoinHandle;

use crate::clock::{Clock, OsEntropy, SystemClock};
use crate::cluster::Cluster;
use crate::cluster::redis_link::RedisLink;
use crate::config::Config;
use crate::ratelimit::RateLimits;
use crate::services::mail::{self, Transport};
use crate::services::passwords::HashPool;
use crate::state::{AppState, Inner};
use crate::verified::VerifiedSessions;
use secrecy::ExposeSecret as _;

/// What a state is built for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Purpose {
    /// A serving node: the process-wide metrics recorder and its upkeep thread, a hashing
    /// thread per core.
    Serve,
    /// One administrative command run beside the servers on the same database: the same
    /// store, keys and services, but nothing running in the background.
    Command,
}

/// Builds the application state of a serving node: opens (and migrates) the database, loads
/// or generates the signing keys and the keyring in the data directory.
///
/// # Errors
/// Unreachable database, unreadable key files.
pub async fn build_state(config: Config) -> anyhow::Result<AppState> {
    build(config, Purpose::Serve).await
}

/// Builds the state of one administrative command (`portcullis user|client|dualconfirm …`):
/// the server's store, keys and services, without background work. Metrics go to a private
/// recorder nobody scrapes (no process-wide recorder, no upkeep thread) and passwords are
/// hashed on a single thread; no worker is started, so what the command queues for other
/// nodes (a DualConfirm pair removal over Redis) is published by the command itself.
///
/// # Errors
/// As [`build_state`].
pub async fn command_state(config: Config) -> anyhow::Result<AppState> {
    build(config, Purpose::Command).await
}

async fn build(config: Config, purpose: Purpose) -> anyhow::Result<AppState> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let now = clock.now();
    datadir::create(&config.data_dir)
        .with_context(|| format!("cannot create data directory {}", config.data_dir.display()))?;
    if config.database_url.is_none() {
        let db = config.data_dir.join("portcullis.db");
        datadir::create_private_file(&db)
            .with_context(|| format!("cannot create database file {}", db.display()))?;
    }
    let keyring_path = keyfiles::keyring_path(&config.data_dir);
    let (keyring, created_ring) =
        Keyring::load_or_generate(&keyring_path, now).context("keyring")?;
    let keys_path = keyfiles::signing_keys_path(&config.data_dir);
    let (keys, created_keys) =
        keyfiles::load_or_generate(&keys_path, &OsEntropy, now).context("signing keys")?;
    if created_ring || created_keys {
        tracing::warn!(
            dir = %config.data_dir.display(),
            "generated DEVELOPMENT keys (keyring.json, signing-keys.json, mode 0600): fine for trying Portcullis, \
             but production keys belong in a secret store"
        );
    }
    let store = portcullis_store::open(config.database_url().expose_secret(), true)
        .await
        .context("database")?;
    let ledgers = ledgers::open(&config, &store, clock.clone()).await?;
    datadir::warn_if_open(&config.data_dir);
    let hasher = PasswordHasher::new(config.password.argon2)?;
    let permits = match purpose {
        Purpose::Command => 1,
        Purpose::Serve => config.password.max_concurrent_hashes.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
        }),
    };
    let public_url = config.public_url();
    let redis = match &config.redis_url {
        Some(url) => Some(Arc::new(
            RedisLink::connect(
                url.expose_secret(),
                &config.cluster.redis_prefix,
                config.cluster.redis_timeout,
            )
            .await
            .context("redis")?,
        )),
        None => None,
    };
    let (dualconfirm_audit, dualconfirm_notes) = tokio::sync::mpsc::unbounded_channel();
    // Other nodes hear of this node's DualConfirm parties only through Redis.
    let (relay_tx, relay_rx) = match redis {
        Some(_) => {
            let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
            (Some(tx), Some(rx))
        }
        None => (None, None),
    };
    Ok(AppState::new(Inner {
        dualconfirm: services::dualconfirm::hub::Hub::new(
            config.dualconfirm.clone(),
            dualconfirm_audit,
            relay_tx,
        ),
        dualconfirm_audit: std::sync::Mutex::new(Some(dualconfirm_notes)),
        dualconfirm_relay: std::sync::Mutex::new(relay_rx),
        limits: RateLimits::new(&config.rate_limit, redis.clone()),
        cluster: Cluster::new(redis, now),
        verified: VerifiedSessions::new(verified::CAPACITY),
        dpop: auth::dpop::DpopState::default(),
        store,
        ledgers,
        keyring: RwLock::new(Arc::new(keyring)),
        keyring_path,
        keys: RwLock::new(Arc::new(keys)),
        keys_path,
        hash_pool: HashPool::start(hasher, permits)?,
        clock,
        entropy: Arc::new(OsEntropy),
        mail_notify: Notify::new(),
        sms: sms::SmsSender::from_config(&config.sms, &config.data_dir)?,
        chain: config
            .chain
            .endpoint()
            .map(|(url, chain_id)| portcullis_chain::Chain::connect(url, chain_id)),
        webauthn: services::passkeys::relying_party(&config)?,
        metrics: match purpose {
            Purpose::Serve => telemetry::metrics_handle(),
            Purpose::Command => telemetry::private_metrics_handle(),
        },
        issuer: public_url.clone(),
        public_url,
        config,
    }))
}

/// A running server.
pub struct Server {
    /// The bound address.
    pub addr: SocketAddr,
    /// Its state (tests reach the store through it).
    pub state: AppState,
    shutdown: Option<oneshot::Sender<()>>,
    handle: JoinHandle<std::io::Result<()>>,
    workers: Vec<JoinHandle<()>>,
}

impl Server {
    /// Base URL of the bound address, e.g. `http://127.0.0.1:41234` (`https://…` with TLS).
    pub fn url(&self) -> String {
        let scheme = if self.state.config.tls.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", self.addr)
    }

    /// Stops accepting, finishes in-flight requests, stops the workers.
    ///
    /// # Errors
    /// The server task failed.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        for w in &self.workers {
            w.abort();
        }
        self.handle.await??;
        // Closed last, so every answered request's audit entry is in; closing checkpoints
        // and removes the ledgers' SQLite write-ahead logs now rather than at some later drop.
        self.state.ledgers().close().await;
        Ok(())
    }

    /// Serves until the process receives Ctrl-C or SIGTERM.
    ///
    /// # Errors
    /// The server task failed.
    pub async fn run_until_signal(self) -> anyhow::Result<()> {
        shutdown_signal().await;
        tracing::info!("shutting down");
        self.stop().await
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// Binds `config.listen` (port 0 picks a free port), starts the workers and serves.
///
/// # Errors
/// Bad configuration, database or bind failure.
pub async fn start(config: Config) -> anyhow::Result<Server> {
    let started = Instant::now();
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener.local_addr()?;
    let mut config = config;
    let tls = match &config.tls {
        Some(t) => Some(tls::load_config(&t.cert_file, &t.key_file)?),
        None => None,
    };
    if config.public_url.is_none() {
        let scheme = if tls.is_some() { "https" } else { "http" };
        let url = format!("{scheme}://{addr}");
        config.public_url = Some(url.parse().with_context(|| format!("public URL {url}"))?);
    }
    let transport = Transport::from_config(&config.mail, &config.data_dir)?;
    let state = build_state(config).await?;
    cluster::sync_revocations(&state)
        .await
        .context("reading recent revocations")?;
    let workers = vec![
        tokio::spawn(mail::run_worker(state.clone(), transport)),
        tokio::spawn(services::webhooks::delivery::run_worker(state.clone())),
        tokio::spawn(housekeeping(state.clone())),
        tokio::spawn(services::custody::run_follower(state.clone())),
        tokio::spawn(cluster::follow_revocations(state.clone())),
        tokio::spawn(cluster::follow_announcements(state.clone())),
        tokio::spawn(services::dualconfirm::run_ticker(state.clone())),
        tokio::spawn(services::dualconfirm::run_pair_watch(state.clone())),
    ];
    let notes = state
        .dualconfirm_audit
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take();
    let mut workers = workers;
    if let Some(notes) = notes {
        workers.push(tokio::spawn(services::dualconfirm::run_audit_worker(
            state.clone(),
            notes,
        )));
    }
    let relays = state
        .dualconfirm_relay
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take();
    if let Some(relays) = relays {
        let node = uuid::Uuid::from_bytes(state.random::<16>())
            .simple()
            .to_string();
        workers.push(tokio::spawn(services::dualconfirm::relay::run_outbound(
            state.clone(),
            node.clone(),
            relays,
        )));
        workers.push(tokio::spawn(services::dualconfirm::relay::run_inbound(
            state.clone(),
            node,
        )));
    }
    let app = app::router(state.clone());
    let (tx, rx) = oneshot::channel::<()>();
    let shutdown = async {
        let _ = rx.await;
    };
    let limits = state.config.connections.clone();
    let handle =
        tokio::spawn(async move { serve::serve(listener, tls, app, &limits, shutdown).await });
    tracing::info!(url = %state.public_url, ready_ms = started.elapsed().as_millis() as u64, "Portcullis is listening");
    Ok(Server {
        addr,
        state,
        shutdown: Some(tx),
        handle,
        workers,
    })
}

/// Periodic chores: reload the signing keys when the CLI rotated them, forget idle rate-limit
/// keys, purge expired challenges, DualConfirm check counts and ended send-cooldown windows.
async fn housekeeping(state: AppState) {
    let mut seen = keyfiles::modified(&state.keys_path);
    let mut seen_ring = keyfiles::modified(&state.keyring_path);
    let mut ticks: u64 = 0;
    loop {
        tokio::time::sleep(Duration::from_secs(2)).await;
        ticks += 1;
        let current = keyfiles::modified(&state.keys_path);
        if current != seen {
            match keyfiles::load(&state.keys_path) {
                Ok(keys) => {
                    tracing::info!(kid = keys.active_kid(), "signing keys reloaded");
                    state.set_keys(keys);
                    seen = current;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "signing key file changed but could not be loaded")
                }
            }
        }
        let ring = keyfiles::modified(&state.keyring_path);
        if ring != seen_ring {
            match Keyring::load(&state.keyring_path) {
                Ok(k) => {
                    tracing::info!(master = k.current_version(), "keyring reloaded");
                    state.set_keyring(k);
                    seen_ring = ring;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "keyring file changed but could not be loaded")
                }
            }
        }
        if ticks.is_multiple_of(30) {
            state.limits.shrink();
            state.verified.prune(state.now());
            if let Err(e) = state.store.challenges.purge_expired(state.now()).await {
                tracing::warn!(error = %e, "purging expired challenges failed");
            }
            if let Err(e) = state.store.word_checks.purge_expired(state.now()).await {
                tracing::warn!(error = %e, "purging DualConfirm check counts failed");
            }
            if let Err(e) = services::cooldown::purge(&state).await {
                tracing::warn!(error = %e, "purging ended send-cooldown windows failed");
            }
        }
    }
}
