//! Password hashing on a small pool of dedicated threads.
//!
//! argon2 is CPU-bound and deliberately slow, so it must not run on the async workers. A
//! fixed pool (one thread per core by default) takes jobs from one queue: when a hash ends,
//! the same thread starts the next waiting one at once, without a round trip through the
//! async scheduler, and each thread reuses its argon2 working memory. The bounded queue is
//! the back-pressure: requests wait their turn instead of piling up threads.

use portcullis_core::password::{
    Argon2Params, Password, PasswordError, PasswordHash, PasswordHasher, Verification,
};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};
use zeroize::Zeroizing;

use crate::services::ServiceError;
use crate::state::AppState;

type Job = Box<dyn FnOnce(&PasswordHasher) + Send>;

/// The hashing threads and the queue that feeds them.
pub struct HashPool {
    jobs: mpsc::Sender<Job>,
}

impl HashPool {
    /// Starts `threads` hashing threads (at least one).
    ///
    /// # Errors
    /// A thread could not be spawned.
    pub fn start(hasher: PasswordHasher, threads: usize) -> std::io::Result<Self> {
        let (jobs, queue) = mpsc::channel::<Job>(1024);
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..threads.max(1) {
            let queue = queue.clone();
            let hasher = hasher.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || {
                    loop {
                        let job = match queue.lock() {
                            Ok(mut q) => q.blocking_recv(),
                            Err(_) => None,
                        };
                        match job {
                            Some(job) => job(&hasher),
                            None => break,
                        }
                    }
                })?;
        }
        Ok(Self { jobs })
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&PasswordHasher) -> T + Send + 'static,
    ) -> Result<T, ServiceError> {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |hasher| {
            let _ = tx.send(work(hasher));
        });
        self.jobs
            .send(job)
            .await
            .map_err(|_| ServiceError::unexpected("the hashing pool has stopped"))?;
        rx.await
            .map_err(|_| ServiceError::unexpected("a hashing job was dropped"))
    }
}

/// Hashes with a fresh salt.
///
/// # Errors
/// Hashing failure.
#[tracing::instrument(skip_all)]
pub async fn hash(state: &AppState, password: Password) -> Result<PasswordHash, ServiceError> {
    let salt = state.random::<16>();
    state
        .hash_pool
        .run(move |hasher| hasher.hash(&password, salt))
        .await?
        .map_err(ServiceError::from)
}

/// Derives a 256-bit key from `password` with argon2id (`params`, or the configured cost
/// when `None`), on the hashing threads; returns the key and the cost used.
///
/// # Errors
/// Parameters argon2 refuses; hashing failure.
#[tracing::instrument(skip_all)]
pub async fn derive_key(
    state: &AppState,
    password: Password,
    salt: [u8; 16],
    params: Option<Argon2Params>,
) -> Result<(Zeroizing<[u8; 32]>, Argon2Params), ServiceError> {
    state
        .hash_pool
        .run(move |hasher| {
            let params = params.unwrap_or_else(|| hasher.params());
            PasswordHasher::derive_key(&password, &salt, params).map(|k| (k, params))
        })
        .await?
        .map_err(ServiceError::from)
}

/// Hashes a secret that is not a typed password (a passcode's digest or canonical form),
/// produced on the hashing thread by `secret` (so that digesting a large input does not run
/// on an async worker either), with a fresh salt and the password's cost.
///
/// # Errors
/// Hashing failure.
#[tracing::instrument(skip_all)]
pub async fn hash_secret(
    state: &AppState,
    secret: impl FnOnce() -> Zeroizing<Vec<u8>> + Send + 'static,
) -> Result<PasswordHash, ServiceError> {
    let salt = state.random::<16>();
    state
        .hash_pool
        .run(move |hasher| hasher.hash_secret(&secret(), salt))
        .await?
        .map_err(ServiceError::from)
}

/// Whether the secret `secret` produces (on the hashing thread) matches any of `stored`,
/// each checked as [`verify`] checks a password.
///
/// # Errors
/// Hashing failure or a malformed stored hash.
#[tracing::instrument(skip_all)]
pub async fn verify_secret(
    state: &AppState,
    secret: impl FnOnce() -> Zeroizing<Vec<u8>> + Send + 'static,
    stored: Vec<PasswordHash>,
) -> Result<bool, ServiceError> {
    state
        .hash_pool
        .run(move |hasher| -> Result<bool, PasswordError> {
            let secret = secret();
            for hash in &stored {
                if let Verification::Match { .. } = hasher.verify_secret(&secret, hash)? {
                    return Ok(true);
                }
            }
            Ok(false)
        })
        .await?
        .map_err(ServiceError::from)
}

/// Verifies against `stored`, or against a dummy hash when there is no account, so both cost
/// the same. Returns `None` for the dummy case.
///
/// # Errors
/// Hashing failure or a malformed stored hash.
#[tracing::instrument(skip_all)]
pub async fn verify(
    state: &AppState,
    password: Password,
    stored: Option<PasswordHash>,
) -> Result<Option<Verification>, ServiceError> {
    state
        .hash_pool
        .run(move |hasher| match stored {
            Some(h) if !h.as_phc().is_empty() => hasher.verify(&password, &h).map(Some),
            _ => {
                hasher.dummy_verify(&password);
                Ok(None)
            }
        })
        .await?
        .map_err(ServiceError::from)
}
