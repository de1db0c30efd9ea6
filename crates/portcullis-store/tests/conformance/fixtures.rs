//! Builders of the records the checks store; a small `n` picks distinct ids, indexes and hashes.

use portcullis_core::audit::AuditEvent;
use portcullis_core::ids::{AccountId, ChallengeId, SessionId};
use portcullis_core::login::{Challenge, ChallengeLimits, FactorKind};
use portcullis_core::secret::TokenHash;
use portcullis_store::Store;
use portcullis_store::keyring::WrappedKey;
use portcullis_store::model::{AccountRecord, AccountStatus, SessionRecord};
use std::future::Future;
use std::sync::Arc;
use tokio::sync::Barrier;

/// A fixed "now" (unix seconds); checks move time by adding to it.
pub const T0: i64 = 1_700_000_000;

/// A time-ordered account id: a larger `n` is a younger account.
pub fn account_id(n: u8) -> AccountId {
    AccountId::new(T0 as u64 * 1000 + u64::from(n) * 1000, [n; 10])
}

pub fn email_index(n: u8) -> Vec<u8> {
    vec![n; 32]
}

/// A pending account `n` created at `T0 + n`, with e-mail index `email_index(n)`.
pub fn account(n: u8) -> AccountRecord {
    AccountRecord {
        id: account_id(n),
        email_index: Some(email_index(n)),
        email_ct: vec![0xE0, n],
        phone_ct: None,
        display_name_ct: Some(vec![0xD0, n]),
        password_hash: format!("$argon2id$v=19$m=19456,t=2,p=1$salt{n}$hash{n}"),
        status: AccountStatus::Pending,
        roles: vec!["user".to_owned()],
        created_at: T0 + i64::from(n),
        updated_at: T0 + i64::from(n),
        verified_at: None,
    }
}

pub fn wrapped(n: u8) -> WrappedKey {
    WrappedKey {
        master_version: 1,
        bytes: vec![n; 60],
    }
}

pub fn same_key(a: &WrappedKey, b: &WrappedKey) -> bool {
    a.master_version == b.master_version && a.bytes == b.bytes
}

pub async fn create_account(store: &Store, n: u8) -> AccountRecord {
    let a = account(n);
    store.accounts.create(&a, &wrapped(n)).await.unwrap();
    a
}

pub fn token(n: u8) -> TokenHash {
    TokenHash::from_bytes([n; 32])
}

/// Session `n` of `account`, created at `created`, with the given idle and absolute lifetimes.
pub fn session(account: AccountId, n: u8, created: i64, idle: i64, absolute: i64) -> SessionRecord {
    SessionRecord {
        id: SessionId::new(created as u64 * 1000, [n; 10]),
        account_id: account,
        acr: "aal1".to_owned(),
        amr: vec!["pwd".to_owned()],
        auth_time: created,
        created_at: created,
        last_seen_at: created,
        idle_expires_at: created + idle,
        absolute_expires_at: created + absolute,
        revoked_at: None,
        user_agent: Some(format!("agent {n}")),
        ip: Some("192.0.2.1".to_owned()),
        wallet: None,
    }
}

/// Creates `s` with refresh token `token(n)` valid for a day.
pub async fn create_session(store: &Store, s: &SessionRecord, n: u8) {
    store
        .sessions
        .create(s, &token(n), s.created_at + 86_400)
        .await
        .unwrap();
}

pub fn challenge(n: u8, now: i64, lifetime_secs: i64) -> Challenge {
    Challenge::start(
        ChallengeId::new(now as u64 * 1000, [n; 10]),
        Some(account_id(n)),
        vec![FactorKind::Password],
        1,
        ChallengeLimits {
            lifetime_secs,
            max_failures: 5,
        },
        now,
    )
}

pub fn event(name: &str, n: i64) -> AuditEvent {
    AuditEvent {
        event: name.to_owned(),
        actor: Some(account_id(1).to_string()),
        subject: (n % 2 == 0).then(|| format!("subject-{n}")),
        ip: Some("198.51.100.7".to_owned()),
        detail: serde_json::json!({ "n": n, "note": "conformance" }),
    }
}

/// Runs `n` copies of `task(i)` on the runtime's workers, released together by a barrier, and
/// returns their results in task order.
pub async fn race<T, Fut>(n: usize, task: impl Fn(usize) -> Fut) -> Vec<T>
where
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let barrier = Arc::new(Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let (barrier, work) = (barrier.clone(), task(i));
            tokio::spawn(async move {
                barrier.wait().await;
                work.await
            })
        })
        .collect();
    let mut results = Vec::with_capacity(n);
    for handle in handles {
        results.push(handle.await.expect("a racing task panicked"));
    }
    results
}
