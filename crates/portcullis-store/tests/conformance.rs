//! Conformance suite: every repository behaviour the rest of Portcullis relies on, written once
//! and run against both backends (`sqlite::*` and `postgres::*`). Each test gets a fresh,
//! migrated database. The PostgreSQL half needs `PORTCULLIS_TEST_PG_URL` (`scripts/test` sets
//! it) and fails without it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use portcullis_core::audit::{self, AuditEvent, AuditRecord};
use portcullis_core::ids::{AccountId, ChallengeId, SessionId};
use portcullis_core::login::{Challenge, ChallengeLimits, FactorKind};
use portcullis_core::secret::TokenHash;
use portcullis_store::keyring::WrappedKey;
use portcullis_store::model::{AccountRecord, AccountStatus, RefreshOutcome, SessionRecord};
use portcullis_store::{Store, StoreError};
use support::TestDb;

conformance! {
    store: [
        accounts_create_get_and_find,
        accounts_duplicate_email_index_conflicts,
        accounts_list_oldest_first_with_limit_and_offset,
        accounts_update_pii,
        accounts_password_status_roles,
        accounts_mark_verified_only_from_pending,
        accounts_shred,
        accounts_data_keys,
        email_tokens_single_use,
        email_tokens_invalidate,
        sessions_create_get_list_live,
        sessions_touch,
        sessions_revoke_and_revoke_all,
        refresh_rotation_and_reuse,
        refresh_invalid_tokens,
        refresh_concurrent_presentation_rotates_once,
        challenges_versioned_updates,
        challenges_purge_expired,
        throttle_counts_failures,
        outbox_claims_and_retries,
        audit_chain,
        audit_concurrent_appends,
    ],
    with_db: [
        outbox_erases_payloads,
        health,
    ],
}

/// A fixed "now" (unix seconds); checks move time by adding to it.
const T0: i64 = 1_700_000_000;

// ------------------------------------------------------------------ fixtures ----

/// A time-ordered account id: a larger `n` is a younger account.
fn account_id(n: u8) -> AccountId {
    AccountId::new(T0 as u64 * 1000 + u64::from(n) * 1000, [n; 10])
}

fn email_index(n: u8) -> Vec<u8> {
    vec![n; 32]
}

/// A pending account `n` created at `T0 + n`, with e-mail index `email_index(n)`.
fn account(n: u8) -> AccountRecord {
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

fn wrapped(n: u8) -> WrappedKey {
    WrappedKey {
        master_version: 1,
        bytes: vec![n; 60],
    }
}

fn same_key(a: &WrappedKey, b: &WrappedKey) -> bool {
    a.master_version == b.master_version && a.bytes == b.bytes
}

async fn create_account(store: &Store, n: u8) -> AccountRecord {
    let a = account(n);
    store.accounts.create(&a, &wrapped(n)).await.unwrap();
    a
}

fn token(n: u8) -> TokenHash {
    TokenHash::from_bytes([n; 32])
}

/// Session `n` of `account`, created at `created`, with the given idle and absolute lifetimes.
fn session(account: AccountId, n: u8, created: i64, idle: i64, absolute: i64) -> SessionRecord {
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
    }
}

/// Creates `s` with refresh token `token(n)` valid for a day.
async fn create_session(store: &Store, s: &SessionRecord, n: u8) {
    store
        .sessions
        .create(s, &token(n), s.created_at + 86_400)
        .await
        .unwrap();
}

fn challenge(n: u8, now: i64, lifetime_secs: i64) -> Challenge {
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

fn event(name: &str, n: i64) -> AuditEvent {
    AuditEvent {
        event: name.to_owned(),
        actor: Some(account_id(1).to_string()),
        subject: (n % 2 == 0).then(|| format!("subject-{n}")),
        ip: Some("198.51.100.7".to_owned()),
        detail: serde_json::json!({ "n": n, "note": "conformance" }),
    }
}

// ------------------------------------------------------------------ accounts ----

async fn accounts_create_get_and_find(store: Store) {
    let mut a = account(1);
    a.phone_ct = Some(vec![0xF0, 1]);
    a.roles = vec!["user".to_owned(), "admin".to_owned()];
    store.accounts.create(&a, &wrapped(1)).await.unwrap();

    assert_eq!(store.accounts.get(a.id).await.unwrap(), Some(a.clone()));
    let found = store
        .accounts
        .find_by_email_index(&email_index(1))
        .await
        .unwrap();
    assert_eq!(found, Some(a.clone()));
    let got = store.accounts.get(a.id).await.unwrap().unwrap();
    assert_eq!(got.email_ct, a.email_ct);
    assert_eq!(got.phone_ct, a.phone_ct);
    assert_eq!(got.display_name_ct, a.display_name_ct);
    assert_eq!(got.password_hash, a.password_hash);
    assert_eq!(got.verified_at, None);

    assert_eq!(store.accounts.get(account_id(2)).await.unwrap(), None);
    let unknown = store.accounts.find_by_email_index(&email_index(2)).await;
    assert_eq!(unknown.unwrap(), None);
    let key = store.accounts.data_key(a.id).await.unwrap().unwrap();
    assert!(same_key(&key, &wrapped(1)));
}

async fn accounts_duplicate_email_index_conflicts(store: Store) {
    let a = create_account(&store, 1).await;
    let mut b = account(2);
    b.email_index = a.email_index.clone();
    let err = store.accounts.create(&b, &wrapped(2)).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    // Nothing of the refused account was written, not even its key.
    assert_eq!(store.accounts.get(b.id).await.unwrap(), None);
    assert!(store.accounts.data_key(b.id).await.unwrap().is_none());
    assert_eq!(store.accounts.all_data_keys().await.unwrap().len(), 1);
    let found = store.accounts.find_by_email_index(&email_index(1)).await;
    assert_eq!(found.unwrap().map(|r| r.id), Some(a.id));
}

async fn accounts_list_oldest_first_with_limit_and_offset(store: Store) {
    for n in [3, 1, 5, 2, 4] {
        create_account(&store, n).await;
    }
    let ids = |v: Vec<AccountRecord>| v.into_iter().map(|a| a.id).collect::<Vec<_>>();
    let all = ids(store.accounts.list(100, 0).await.unwrap());
    assert_eq!(all, (1..=5).map(account_id).collect::<Vec<_>>());
    let page = ids(store.accounts.list(2, 0).await.unwrap());
    assert_eq!(page, vec![account_id(1), account_id(2)]);
    let page = ids(store.accounts.list(2, 2).await.unwrap());
    assert_eq!(page, vec![account_id(3), account_id(4)]);
    assert_eq!(
        ids(store.accounts.list(2, 4).await.unwrap()),
        vec![account_id(5)]
    );
    assert!(store.accounts.list(2, 5).await.unwrap().is_empty());
}

async fn accounts_update_pii(store: Store) {
    let a = create_account(&store, 1).await;
    let other = create_account(&store, 2).await;
    let mut changed = a.clone();
    changed.email_index = Some(email_index(9));
    changed.email_ct = vec![0xE9];
    changed.phone_ct = Some(vec![0xF9]);
    changed.display_name_ct = None;
    // Fields that are not personal data are left alone even if the record differs.
    changed.password_hash = "not-this".to_owned();
    changed.status = AccountStatus::Disabled;
    changed.roles = vec!["admin".to_owned()];
    store.accounts.update_pii(&changed, T0 + 100).await.unwrap();

    let got = store.accounts.get(a.id).await.unwrap().unwrap();
    assert_eq!(got.email_index, Some(email_index(9)));
    assert_eq!(got.email_ct, vec![0xE9]);
    assert_eq!(got.phone_ct, Some(vec![0xF9]));
    assert_eq!(got.display_name_ct, None);
    assert_eq!(got.updated_at, T0 + 100);
    assert_eq!(got.password_hash, a.password_hash);
    assert_eq!(got.status, AccountStatus::Pending);
    assert_eq!(got.roles, a.roles);
    assert_eq!(got.created_at, a.created_at);
    let old = store.accounts.find_by_email_index(&email_index(1)).await;
    assert_eq!(old.unwrap(), None);
    let new = store.accounts.find_by_email_index(&email_index(9)).await;
    assert_eq!(new.unwrap().map(|r| r.id), Some(a.id));

    // Taking another account's e-mail is refused and changes nothing.
    let mut stolen = got.clone();
    stolen.email_index = other.email_index.clone();
    stolen.email_ct = vec![0xEE];
    let err = store
        .accounts
        .update_pii(&stolen, T0 + 200)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(store.accounts.get(a.id).await.unwrap(), Some(got));
}

async fn accounts_password_status_roles(store: Store) {
    let a = create_account(&store, 1).await;
    let ghost = account_id(9);

    store
        .accounts
        .set_password_hash(a.id, "$argon2id$new", T0 + 10)
        .await
        .unwrap();
    let got = store.accounts.get(a.id).await.unwrap().unwrap();
    assert_eq!(
        (got.password_hash.as_str(), got.updated_at),
        ("$argon2id$new", T0 + 10)
    );

    assert!(
        store
            .accounts
            .set_status(a.id, AccountStatus::Disabled, T0 + 20)
            .await
            .unwrap()
    );
    let got = store.accounts.get(a.id).await.unwrap().unwrap();
    assert_eq!(
        (got.status, got.updated_at),
        (AccountStatus::Disabled, T0 + 20)
    );
    assert!(
        store
            .accounts
            .set_status(a.id, AccountStatus::Active, T0 + 21)
            .await
            .unwrap()
    );
    assert!(
        !store
            .accounts
            .set_status(ghost, AccountStatus::Active, T0 + 22)
            .await
            .unwrap()
    );

    let roles = vec!["admin".to_owned(), "auditor".to_owned()];
    assert!(
        store
            .accounts
            .set_roles(a.id, &roles, T0 + 30)
            .await
            .unwrap()
    );
    let got = store.accounts.get(a.id).await.unwrap().unwrap();
    assert_eq!((got.roles, got.updated_at), (roles.clone(), T0 + 30));
    assert!(store.accounts.set_roles(a.id, &[], T0 + 31).await.unwrap());
    assert!(
        store
            .accounts
            .get(a.id)
            .await
            .unwrap()
            .unwrap()
            .roles
            .is_empty()
    );
    assert!(
        !store
            .accounts
            .set_roles(ghost, &roles, T0 + 32)
            .await
            .unwrap()
    );

    // A deleted account stays deleted: neither its status nor its roles can be set.
    store.accounts.shred(a.id, T0 + 40).await.unwrap();
    assert!(
        !store
            .accounts
            .set_status(a.id, AccountStatus::Active, T0 + 41)
            .await
            .unwrap()
    );
    assert!(
        !store
            .accounts
            .set_roles(a.id, &roles, T0 + 42)
            .await
            .unwrap()
    );
    let got = store.accounts.get(a.id).await.unwrap().unwrap();
    assert_eq!(got.status, AccountStatus::Deleted);
    assert!(got.roles.is_empty());
}

async fn accounts_mark_verified_only_from_pending(store: Store) {
    let a = create_account(&store, 1).await;
    assert!(store.accounts.mark_verified(a.id, T0 + 10).await.unwrap());
    let got = store.accounts.get(a.id).await.unwrap().unwrap();
    assert_eq!(got.status, AccountStatus::Active);
    assert_eq!(got.verified_at, Some(T0 + 10));
    assert_eq!(got.updated_at, T0 + 10);

    assert!(!store.accounts.mark_verified(a.id, T0 + 20).await.unwrap());
    let again = store.accounts.get(a.id).await.unwrap().unwrap();
    assert_eq!(
        (again.verified_at, again.updated_at),
        (Some(T0 + 10), T0 + 10)
    );

    let b = create_account(&store, 2).await;
    store
        .accounts
        .set_status(b.id, AccountStatus::Disabled, T0 + 30)
        .await
        .unwrap();
    assert!(!store.accounts.mark_verified(b.id, T0 + 31).await.unwrap());
    let got = store.accounts.get(b.id).await.unwrap().unwrap();
    assert_eq!(
        (got.status, got.verified_at),
        (AccountStatus::Disabled, None)
    );
    assert!(
        !store
            .accounts
            .mark_verified(account_id(9), T0 + 32)
            .await
            .unwrap()
    );
}

async fn accounts_shred(store: Store) {
    let a = create_account(&store, 1).await;
    let keep = create_account(&store, 2).await;
    let s1 = session(a.id, 1, T0, 600, 3600);
    let s2 = session(a.id, 2, T0 + 1, 600, 3600);
    let s3 = session(keep.id, 3, T0 + 2, 600, 3600);
    for (s, n) in [(&s1, 1), (&s2, 2), (&s3, 3)] {
        create_session(&store, s, n).await;
    }

    store.accounts.shred(a.id, T0 + 100).await.unwrap();

    assert!(store.accounts.data_key(a.id).await.unwrap().is_none());
    let tomb = store.accounts.get(a.id).await.unwrap().unwrap();
    assert_eq!(tomb.status, AccountStatus::Deleted);
    assert_eq!(tomb.email_index, None);
    assert_eq!(tomb.updated_at, T0 + 100);
    assert!(tomb.password_hash.is_empty(), "the password hash is wiped");
    let gone = store.accounts.find_by_email_index(&email_index(1)).await;
    assert_eq!(gone.unwrap(), None);
    for s in [&s1, &s2] {
        let got = store.sessions.get(s.id).await.unwrap().unwrap();
        assert_eq!(got.revoked_at, Some(T0 + 100));
    }
    assert!(
        store
            .sessions
            .list_live(a.id, T0 + 101)
            .await
            .unwrap()
            .is_empty()
    );
    let outcome = store
        .sessions
        .rotate_refresh(&token(1), &token(11), T0 + 102, 600, T0 + 9999)
        .await;
    assert_eq!(outcome.unwrap(), RefreshOutcome::Invalid);

    // The other account is untouched.
    assert!(store.accounts.data_key(keep.id).await.unwrap().is_some());
    assert_eq!(
        store.sessions.get(s3.id).await.unwrap().unwrap().revoked_at,
        None
    );
    let keys = store.accounts.all_data_keys().await.unwrap();
    assert_eq!(
        keys.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
        vec![keep.id]
    );

    // The same e-mail can register again.
    let mut again = account(3);
    again.email_index = Some(email_index(1));
    store.accounts.create(&again, &wrapped(3)).await.unwrap();
    let found = store.accounts.find_by_email_index(&email_index(1)).await;
    assert_eq!(found.unwrap().map(|r| r.id), Some(again.id));
    // A second tombstone (two NULL indexes) is fine too.
    store.accounts.shred(keep.id, T0 + 200).await.unwrap();
    assert_eq!(
        store
            .accounts
            .get(keep.id)
            .await
            .unwrap()
            .unwrap()
            .email_index,
        None
    );
}

async fn accounts_data_keys(store: Store) {
    for n in [2, 1, 3] {
        create_account(&store, n).await;
    }
    let mut keys = store.accounts.all_data_keys().await.unwrap();
    keys.sort_by_key(|(id, _)| *id);
    assert_eq!(keys.len(), 3);
    for ((id, key), n) in keys.iter().zip(1..) {
        assert_eq!(*id, account_id(n));
        assert!(same_key(key, &wrapped(n)), "key of account {n}");
    }

    let rewrapped = WrappedKey {
        master_version: 2,
        bytes: vec![0xAB; 60],
    };
    store
        .accounts
        .replace_data_key(account_id(2), &rewrapped)
        .await
        .unwrap();
    let got = store
        .accounts
        .data_key(account_id(2))
        .await
        .unwrap()
        .unwrap();
    assert!(same_key(&got, &rewrapped));
    let mut keys = store.accounts.all_data_keys().await.unwrap();
    keys.sort_by_key(|(id, _)| *id);
    let versions: Vec<u32> = keys.iter().map(|(_, k)| k.master_version).collect();
    assert_eq!(versions, vec![1, 2, 1]);
    assert!(same_key(&keys[0].1, &wrapped(1)));
    assert!(same_key(&keys[2].1, &wrapped(3)));
}

// -------------------------------------------------------------- e-mail tokens ----

async fn email_tokens_single_use(store: Store) {
    let a = create_account(&store, 1).await;
    let tokens = &store.email_tokens;
    tokens
        .insert(&token(1), a.id, "verify", T0, T0 + 100)
        .await
        .unwrap();

    assert_eq!(
        tokens.consume(&token(1), "reset", T0 + 1).await.unwrap(),
        None
    );
    assert_eq!(
        tokens.consume(&token(9), "verify", T0 + 1).await.unwrap(),
        None
    );
    assert_eq!(
        tokens.consume(&token(1), "verify", T0 + 2).await.unwrap(),
        Some(a.id)
    );
    assert_eq!(
        tokens.consume(&token(1), "verify", T0 + 3).await.unwrap(),
        None
    );

    // Expired: at its expiry instant and after.
    tokens
        .insert(&token(2), a.id, "verify", T0, T0 + 10)
        .await
        .unwrap();
    assert_eq!(
        tokens.consume(&token(2), "verify", T0 + 10).await.unwrap(),
        None
    );
    assert_eq!(
        tokens.consume(&token(2), "verify", T0 + 11).await.unwrap(),
        None
    );
    tokens
        .insert(&token(3), a.id, "verify", T0, T0 + 10)
        .await
        .unwrap();
    assert_eq!(
        tokens.consume(&token(3), "verify", T0 + 9).await.unwrap(),
        Some(a.id)
    );
}

async fn email_tokens_invalidate(store: Store) {
    let a = create_account(&store, 1).await;
    let b = create_account(&store, 2).await;
    let tokens = &store.email_tokens;
    for (n, account, purpose) in [
        (1, a.id, "verify"),
        (2, a.id, "verify"),
        (3, a.id, "reset"),
        (4, b.id, "verify"),
    ] {
        tokens
            .insert(&token(n), account, purpose, T0, T0 + 100)
            .await
            .unwrap();
    }
    tokens.invalidate(a.id, "verify", T0 + 1).await.unwrap();
    assert_eq!(
        tokens.consume(&token(1), "verify", T0 + 2).await.unwrap(),
        None
    );
    assert_eq!(
        tokens.consume(&token(2), "verify", T0 + 2).await.unwrap(),
        None
    );
    assert_eq!(
        tokens.consume(&token(3), "reset", T0 + 2).await.unwrap(),
        Some(a.id)
    );
    assert_eq!(
        tokens.consume(&token(4), "verify", T0 + 2).await.unwrap(),
        Some(b.id)
    );
}

// ------------------------------------------------------------------ sessions ----

async fn sessions_create_get_list_live(store: Store) {
    let a = create_account(&store, 1).await;
    let b = create_account(&store, 2).await;
    let now = T0 + 1000;
    let s1 = session(a.id, 1, T0 + 100, 3600, 7200);
    let s2 = session(a.id, 2, T0 + 200, 3600, 7200);
    let s3 = session(a.id, 3, T0 + 300, 3600, 7200);
    let revoked = session(a.id, 4, T0 + 400, 3600, 7200);
    let idle_expired = session(a.id, 5, T0 + 500, 500, 7200); // idle until exactly `now`
    let absolute_expired = session(a.id, 6, T0, 3600, 1000); // absolute until exactly `now`
    let other = session(b.id, 7, T0 + 600, 3600, 7200);
    let mut with_nones = session(a.id, 8, T0 + 50, 3600, 7200);
    with_nones.user_agent = None;
    with_nones.ip = None;
    with_nones.amr = vec!["pwd".to_owned(), "otp".to_owned()];
    with_nones.acr = "aal2".to_owned();
    let all = [
        &s1,
        &s2,
        &s3,
        &revoked,
        &idle_expired,
        &absolute_expired,
        &other,
        &with_nones,
    ];
    for (s, n) in all.into_iter().zip(1..) {
        create_session(&store, s, n).await;
    }
    for s in all {
        assert_eq!(store.sessions.get(s.id).await.unwrap().as_ref(), Some(s));
    }
    assert_eq!(
        store
            .sessions
            .get(SessionId::new(1, [0; 10]))
            .await
            .unwrap(),
        None
    );
    assert!(
        store
            .sessions
            .revoke(revoked.id, "logout", T0 + 450)
            .await
            .unwrap()
    );

    let live = store.sessions.list_live(a.id, now).await.unwrap();
    assert_eq!(live, vec![s3.clone(), s2, s1, with_nones]);
    assert_eq!(
        store.sessions.list_live(b.id, now).await.unwrap(),
        vec![other]
    );
    assert!(
        store
            .sessions
            .list_live(account_id(9), now)
            .await
            .unwrap()
            .is_empty()
    );
    let earlier = store.sessions.list_live(a.id, now - 1).await.unwrap();
    assert_eq!(
        earlier.len(),
        6,
        "both expired sessions were still live a second earlier"
    );
}

async fn sessions_touch(store: Store) {
    let a = create_account(&store, 1).await;
    let s = session(a.id, 1, T0, 300, 3600); // idle T0+300, absolute T0+3600
    create_session(&store, &s, 1).await;

    store.sessions.touch(s.id, T0 + 100, 300).await.unwrap();
    let got = store.sessions.get(s.id).await.unwrap().unwrap();
    assert_eq!(
        (got.last_seen_at, got.idle_expires_at),
        (T0 + 100, T0 + 400)
    );
    assert_eq!(got.absolute_expires_at, T0 + 3600);

    store.sessions.touch(s.id, T0 + 350, 300).await.unwrap();
    let got = store.sessions.get(s.id).await.unwrap().unwrap();
    assert_eq!(got.idle_expires_at, T0 + 650);

    // Never past the absolute expiry.
    store.sessions.touch(s.id, T0 + 3500, 300).await.unwrap();
    let got = store.sessions.get(s.id).await.unwrap().unwrap();
    assert_eq!(
        (got.last_seen_at, got.idle_expires_at),
        (T0 + 3500, T0 + 3600)
    );
    assert_eq!(got.absolute_expires_at, T0 + 3600);

    // A revoked session is not touched.
    let r = session(a.id, 2, T0, 300, 3600);
    create_session(&store, &r, 2).await;
    store
        .sessions
        .revoke(r.id, "logout", T0 + 10)
        .await
        .unwrap();
    store.sessions.touch(r.id, T0 + 20, 300).await.unwrap();
    let got = store.sessions.get(r.id).await.unwrap().unwrap();
    assert_eq!((got.last_seen_at, got.idle_expires_at), (T0, T0 + 300));
}

async fn sessions_revoke_and_revoke_all(store: Store) {
    let a = create_account(&store, 1).await;
    let b = create_account(&store, 2).await;
    let s1 = session(a.id, 1, T0, 3600, 7200);
    let s2 = session(a.id, 2, T0 + 1, 3600, 7200);
    let s3 = session(a.id, 3, T0 + 2, 3600, 7200);
    let s4 = session(a.id, 4, T0 + 3, 3600, 7200);
    let sb = session(b.id, 5, T0 + 4, 3600, 7200);
    for (s, n) in [&s1, &s2, &s3, &s4, &sb].into_iter().zip(1..) {
        create_session(&store, s, n).await;
    }

    assert!(
        store
            .sessions
            .revoke(s1.id, "logout", T0 + 10)
            .await
            .unwrap()
    );
    assert!(
        !store
            .sessions
            .revoke(s1.id, "logout", T0 + 11)
            .await
            .unwrap()
    );
    assert_eq!(
        store.sessions.get(s1.id).await.unwrap().unwrap().revoked_at,
        Some(T0 + 10)
    );
    let unknown = SessionId::new(1, [0; 10]);
    assert!(
        !store
            .sessions
            .revoke(unknown, "logout", T0 + 12)
            .await
            .unwrap()
    );

    let n = store
        .sessions
        .revoke_all(a.id, Some(s3.id), "password_changed", T0 + 20)
        .await;
    assert_eq!(
        n.unwrap(),
        2,
        "s2 and s4; s1 was already revoked, s3 is kept"
    );
    let live = store.sessions.list_live(a.id, T0 + 21).await.unwrap();
    assert_eq!(live.iter().map(|s| s.id).collect::<Vec<_>>(), vec![s3.id]);
    assert_eq!(
        store.sessions.get(s1.id).await.unwrap().unwrap().revoked_at,
        Some(T0 + 10)
    );
    assert_eq!(
        store.sessions.get(s2.id).await.unwrap().unwrap().revoked_at,
        Some(T0 + 20)
    );

    assert_eq!(
        store
            .sessions
            .revoke_all(a.id, None, "admin", T0 + 30)
            .await
            .unwrap(),
        1
    );
    assert!(
        store
            .sessions
            .list_live(a.id, T0 + 31)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .sessions
            .revoke_all(a.id, None, "admin", T0 + 32)
            .await
            .unwrap(),
        0
    );
    // Another account's session is never touched.
    assert_eq!(
        store.sessions.get(sb.id).await.unwrap().unwrap().revoked_at,
        None
    );
}

// ----------------------------------------------------------- refresh tokens ----

async fn refresh_rotation_and_reuse(store: Store) {
    let a = create_account(&store, 1).await;
    let s = session(a.id, 1, T0, 300, 3600);
    create_session(&store, &s, 1).await;
    let sessions = &store.sessions;

    let outcome = sessions
        .rotate_refresh(&token(1), &token(2), T0 + 100, 3000, T0 + 86_400)
        .await;
    let expected = SessionRecord {
        last_seen_at: T0 + 100,
        idle_expires_at: T0 + 3100,
        ..s.clone()
    };
    assert_eq!(outcome.unwrap(), RefreshOutcome::Rotated(expected.clone()));
    assert_eq!(sessions.get(s.id).await.unwrap(), Some(expected));

    // The idle expiry never passes the absolute one (T0 + 3600).
    let outcome = sessions
        .rotate_refresh(&token(2), &token(3), T0 + 3050, 1000, T0 + 86_400)
        .await;
    let RefreshOutcome::Rotated(rotated) = outcome.unwrap() else {
        panic!("second rotation should succeed");
    };
    assert_eq!(
        (rotated.last_seen_at, rotated.idle_expires_at),
        (T0 + 3050, T0 + 3600)
    );

    // Presenting a spent token again revokes the family.
    let outcome = sessions
        .rotate_refresh(&token(1), &token(4), T0 + 3060, 300, T0 + 86_400)
        .await;
    assert_eq!(outcome.unwrap(), RefreshOutcome::Reused(s.id));
    assert_eq!(
        sessions.get(s.id).await.unwrap().unwrap().revoked_at,
        Some(T0 + 3060)
    );
    assert!(
        sessions
            .list_live(a.id, T0 + 3061)
            .await
            .unwrap()
            .is_empty()
    );
    // The newest token of the family is dead too, and so is the one the thief tried to plant.
    let outcome = sessions
        .rotate_refresh(&token(3), &token(5), T0 + 3070, 300, T0 + 86_400)
        .await;
    assert_eq!(outcome.unwrap(), RefreshOutcome::Invalid);
    let outcome = sessions
        .rotate_refresh(&token(4), &token(6), T0 + 3080, 300, T0 + 86_400)
        .await;
    assert_eq!(outcome.unwrap(), RefreshOutcome::Invalid);
    assert_eq!(
        sessions.get(s.id).await.unwrap().unwrap().revoked_at,
        Some(T0 + 3060)
    );
}

async fn refresh_invalid_tokens(store: Store) {
    let a = create_account(&store, 1).await;
    let sessions = &store.sessions;
    let far = T0 + 86_400;

    let unknown = sessions
        .rotate_refresh(&token(99), &token(98), T0, 300, far)
        .await;
    assert_eq!(unknown.unwrap(), RefreshOutcome::Invalid);

    // An expired token is invalid (at its expiry instant) and is not mistaken for reuse.
    let s = session(a.id, 1, T0, 3600, 7200);
    sessions.create(&s, &token(1), T0 + 500).await.unwrap();
    let expired = sessions
        .rotate_refresh(&token(1), &token(2), T0 + 500, 300, far)
        .await;
    assert_eq!(expired.unwrap(), RefreshOutcome::Invalid);
    let again = sessions
        .rotate_refresh(&token(1), &token(3), T0 + 501, 300, far)
        .await;
    assert_eq!(again.unwrap(), RefreshOutcome::Invalid);
    assert_eq!(sessions.get(s.id).await.unwrap().unwrap().revoked_at, None);
    let dead_new = sessions
        .rotate_refresh(&token(2), &token(4), T0 + 502, 300, far)
        .await;
    assert_eq!(
        dead_new.unwrap(),
        RefreshOutcome::Invalid,
        "no token was stored for it"
    );

    // A live token of a session that is no longer live is invalid.
    let idle = session(a.id, 2, T0, 300, 7200);
    create_session(&store, &idle, 10).await;
    let outcome = sessions
        .rotate_refresh(&token(10), &token(11), T0 + 300, 300, far)
        .await;
    assert_eq!(outcome.unwrap(), RefreshOutcome::Invalid);
    let revoked = session(a.id, 3, T0, 3600, 7200);
    create_session(&store, &revoked, 20).await;
    sessions.revoke(revoked.id, "logout", T0 + 1).await.unwrap();
    let outcome = sessions
        .rotate_refresh(&token(20), &token(21), T0 + 2, 300, far)
        .await;
    assert_eq!(outcome.unwrap(), RefreshOutcome::Invalid);
    let outcome = sessions
        .rotate_refresh(&token(21), &token(22), T0 + 3, 300, far)
        .await;
    assert_eq!(
        outcome.unwrap(),
        RefreshOutcome::Invalid,
        "no token was stored for it"
    );
}

async fn refresh_concurrent_presentation_rotates_once(store: Store) {
    let a = create_account(&store, 1).await;
    let s = session(a.id, 1, T0, 300, 3600);
    create_session(&store, &s, 1).await;

    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(8));
    let tasks: Vec<_> = (0..8u8)
        .map(|i| {
            let store = store.clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                store
                    .sessions
                    .rotate_refresh(&token(1), &token(100 + i), T0 + 10, 300, T0 + 86_400)
                    .await
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(
            task.await
                .unwrap()
                .expect("no presentation may fail with an error"),
        );
    }

    let rotated = outcomes
        .iter()
        .filter(|o| matches!(o, RefreshOutcome::Rotated(_)))
        .count();
    assert_eq!(rotated, 1, "exactly one presentation rotates: {outcomes:?}");
    let reused = outcomes
        .iter()
        .filter(|o| **o == RefreshOutcome::Reused(s.id))
        .count();
    let invalid = outcomes
        .iter()
        .filter(|o| **o == RefreshOutcome::Invalid)
        .count();
    assert_eq!(rotated + reused + invalid, 8, "{outcomes:?}");
    if reused > 0 {
        let got = store.sessions.get(s.id).await.unwrap().unwrap();
        assert_eq!(got.revoked_at, Some(T0 + 10), "a reuse revokes the family");
    }
}

// ---------------------------------------------------------------- challenges ----

async fn challenges_versioned_updates(store: Store) {
    let c = challenge(1, T0, 300);
    store.challenges.insert(&c).await.unwrap();
    assert_eq!(
        store.challenges.get(c.id).await.unwrap(),
        Some((c.clone(), 0))
    );
    let dup = store.challenges.insert(&c).await.unwrap_err();
    assert!(matches!(dup, StoreError::Conflict(_)), "{dup:?}");

    let mut first = c.clone();
    first
        .record(FactorKind::Password, false, T0 + 1)
        .unwrap_err();
    store.challenges.update(&first, 0).await.unwrap();
    assert_eq!(
        store.challenges.get(c.id).await.unwrap(),
        Some((first.clone(), 1))
    );

    // A writer that read version 0 lost the race.
    let mut stale = c.clone();
    stale.record(FactorKind::Password, true, T0 + 2).unwrap();
    let err = store.challenges.update(&stale, 0).await.unwrap_err();
    assert!(matches!(err, StoreError::Concurrent), "{err:?}");
    assert_eq!(
        store.challenges.get(c.id).await.unwrap(),
        Some((first.clone(), 1))
    );

    let mut second = first.clone();
    second.record(FactorKind::Password, true, T0 + 3).unwrap();
    store.challenges.update(&second, 1).await.unwrap();
    assert_eq!(store.challenges.get(c.id).await.unwrap(), Some((second, 2)));

    let missing = challenge(2, T0, 300);
    let err = store.challenges.update(&missing, 0).await.unwrap_err();
    assert!(matches!(err, StoreError::Concurrent), "{err:?}");

    store.challenges.delete(c.id).await.unwrap();
    assert_eq!(store.challenges.get(c.id).await.unwrap(), None);
    store.challenges.delete(c.id).await.unwrap();
}

async fn challenges_purge_expired(store: Store) {
    let soon = challenge(1, T0, 100);
    let later = challenge(2, T0, 500);
    let also_soon = challenge(3, T0 + 50, 50);
    for c in [&soon, &later, &also_soon] {
        store.challenges.insert(c).await.unwrap();
    }
    assert_eq!(store.challenges.purge_expired(T0 + 99).await.unwrap(), 0);
    assert_eq!(store.challenges.purge_expired(T0 + 100).await.unwrap(), 2);
    assert_eq!(store.challenges.get(soon.id).await.unwrap(), None);
    assert_eq!(store.challenges.get(also_soon.id).await.unwrap(), None);
    assert_eq!(
        store.challenges.get(later.id).await.unwrap(),
        Some((later.clone(), 0))
    );
    assert_eq!(store.challenges.purge_expired(T0 + 100).await.unwrap(), 0);
}

// ------------------------------------------------------------------ throttle ----

async fn throttle_counts_failures(store: Store) {
    let (k, other) = (b"index-of-alice".as_slice(), b"index-of-bob".as_slice());
    assert_eq!(store.throttle.get(k).await.unwrap(), None);
    for (i, expected) in [1, 2, 3].into_iter().enumerate() {
        let n = store
            .throttle
            .record_failure(k, T0 + i as i64)
            .await
            .unwrap();
        assert_eq!(n, expected);
    }
    assert_eq!(store.throttle.get(k).await.unwrap(), Some((3, T0 + 2)));
    assert_eq!(store.throttle.get(other).await.unwrap(), None);
    assert_eq!(
        store.throttle.record_failure(other, T0 + 5).await.unwrap(),
        1
    );

    store.throttle.clear(k).await.unwrap();
    assert_eq!(store.throttle.get(k).await.unwrap(), None);
    assert_eq!(store.throttle.get(other).await.unwrap(), Some((1, T0 + 5)));
    assert_eq!(store.throttle.record_failure(k, T0 + 10).await.unwrap(), 1);
    store.throttle.clear(b"never-seen").await.unwrap();
}

// -------------------------------------------------------------------- outbox ----

async fn outbox_claims_and_retries(store: Store) {
    let outbox = &store.outbox;
    outbox.enqueue("m1", b"sealed-1", T0).await.unwrap();
    outbox.enqueue("m2", b"sealed-2", T0 + 1).await.unwrap();
    outbox
        .enqueue("later", b"sealed-3", T0 + 1000)
        .await
        .unwrap();
    assert_eq!(outbox.backlog().await.unwrap(), 3);
    assert!(
        outbox
            .claim_due(T0 - 1, T0 + 59, 10)
            .await
            .unwrap()
            .is_empty()
    );

    let claimed = outbox.claim_due(T0 + 1, T0 + 61, 10).await.unwrap();
    let mut seen: Vec<_> = claimed
        .iter()
        .map(|m| (m.id.as_str(), m.payload.as_slice(), m.attempts))
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        vec![
            ("m1", b"sealed-1".as_slice(), 1),
            ("m2", b"sealed-2".as_slice(), 1)
        ]
    );
    // Leased: nobody else gets them before the lease ends.
    assert!(
        outbox
            .claim_due(T0 + 2, T0 + 62, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        outbox
            .claim_due(T0 + 60, T0 + 120, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // m1 failed and waits until T0 + 300; m2's lease runs out at T0 + 61.
    outbox
        .mark_failed("m1", T0 + 300, "smtp 451", false)
        .await
        .unwrap();
    assert_eq!(outbox.backlog().await.unwrap(), 3);
    let claimed = outbox.claim_due(T0 + 61, T0 + 121, 10).await.unwrap();
    assert_eq!(ids_attempts(&claimed), vec![("m2".to_owned(), 2)]);
    assert_eq!(claimed[0].payload, b"sealed-2");
    // m2 is given up: never claimed again, not in the backlog.
    outbox
        .mark_failed("m2", T0 + 62, "smtp 550", true)
        .await
        .unwrap();
    assert_eq!(outbox.backlog().await.unwrap(), 2);

    assert!(
        outbox
            .claim_due(T0 + 299, T0 + 359, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let claimed = outbox.claim_due(T0 + 300, T0 + 360, 10).await.unwrap();
    assert_eq!(ids_attempts(&claimed), vec![("m1".to_owned(), 2)]);
    assert_eq!(claimed[0].payload, b"sealed-1");
    // m1 is sent: the backlog shrinks.
    outbox.mark_sent("m1", T0 + 310).await.unwrap();
    assert_eq!(outbox.backlog().await.unwrap(), 1);

    // Far later only the message that was never due before is claimed, and a limit holds.
    let claimed = outbox
        .claim_due(T0 + 100_000, T0 + 100_060, 10)
        .await
        .unwrap();
    assert_eq!(ids_attempts(&claimed), vec![("later".to_owned(), 1)]);
    outbox
        .enqueue("m4", b"sealed-4", T0 + 100_001)
        .await
        .unwrap();
    outbox
        .enqueue("m5", b"sealed-5", T0 + 100_002)
        .await
        .unwrap();
    let claimed = outbox
        .claim_due(T0 + 100_010, T0 + 100_070, 1)
        .await
        .unwrap();
    assert_eq!(
        ids_attempts(&claimed),
        vec![("m4".to_owned(), 1)],
        "oldest due first"
    );
}

fn ids_attempts(items: &[portcullis_store::model::OutboxItem]) -> Vec<(String, i64)> {
    items.iter().map(|m| (m.id.clone(), m.attempts)).collect()
}

async fn outbox_erases_payloads(store: Store, db: &TestDb) {
    const PAYLOAD: &str = "SELECT payload FROM outbox WHERE id = $1";
    store
        .outbox
        .enqueue("sent", b"sealed-sent", T0)
        .await
        .unwrap();
    store
        .outbox
        .enqueue("dead", b"sealed-dead", T0)
        .await
        .unwrap();
    store
        .outbox
        .enqueue("retry", b"sealed-retry", T0)
        .await
        .unwrap();
    assert_eq!(
        db.raw_bytes(PAYLOAD, "sent").await,
        Some(b"sealed-sent".to_vec())
    );

    store.outbox.mark_sent("sent", T0 + 1).await.unwrap();
    store
        .outbox
        .mark_failed("dead", T0 + 2, "smtp 550", true)
        .await
        .unwrap();
    store
        .outbox
        .mark_failed("retry", T0 + 3, "smtp 451", false)
        .await
        .unwrap();
    assert_eq!(db.raw_bytes(PAYLOAD, "sent").await, Some(Vec::new()));
    assert_eq!(db.raw_bytes(PAYLOAD, "dead").await, Some(Vec::new()));
    assert_eq!(
        db.raw_bytes(PAYLOAD, "retry").await,
        Some(b"sealed-retry".to_vec())
    );
    assert_eq!(store.outbox.backlog().await.unwrap(), 1);
}

// --------------------------------------------------------------------- audit ----

async fn audit_chain(store: Store) {
    assert_eq!(store.audit.head().await.unwrap(), None);
    let empty = store.audit.page(0, 100).await.unwrap();
    assert!(empty.is_empty());
    assert_eq!(audit::verify_chain(&empty, None), Ok(0));

    let mut appended = Vec::new();
    for i in 0..3 {
        appended.push(
            store
                .audit
                .append(T0 + i, event("login.succeeded", i))
                .await
                .unwrap(),
        );
    }
    assert_eq!(
        appended.iter().map(|r| r.seq).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert_eq!(appended[0].prev_hash, audit::GENESIS);
    assert_eq!(appended[1].prev_hash, appended[0].hash);
    assert_eq!(appended[2].prev_hash, appended[1].hash);

    let records = store.audit.page(0, 100).await.unwrap();
    assert_eq!(records, appended, "read back exactly as appended");
    let head = store.audit.head().await.unwrap();
    assert_eq!(head, Some((3, appended[2].hash)));
    assert_eq!(audit::verify_chain(&records, head), Ok(3));

    assert_eq!(
        store.audit.page(1, 1).await.unwrap(),
        vec![appended[1].clone()]
    );
    assert_eq!(
        store.audit.page(1, 100).await.unwrap(),
        appended[1..].to_vec()
    );
    assert!(store.audit.page(3, 100).await.unwrap().is_empty());
}

async fn audit_concurrent_appends(store: Store) {
    for i in 0..3 {
        store.audit.append(T0 + i, event("setup", i)).await.unwrap();
    }
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(20));
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let store = store.clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                store
                    .audit
                    .append(T0 + 100, event("session.refreshed", i))
                    .await
            })
        })
        .collect();
    let mut seqs = Vec::new();
    for task in tasks {
        let record: AuditRecord = task.await.unwrap().expect("no append may fail");
        seqs.push(record.seq);
    }
    seqs.sort_unstable();
    assert_eq!(
        seqs,
        (4..=23).collect::<Vec<_>>(),
        "every append got its own place"
    );

    let records = store.audit.page(0, 1000).await.unwrap();
    assert_eq!(records.len(), 23);
    assert_eq!(
        records.iter().map(|r| r.seq).collect::<Vec<_>>(),
        (1..=23).collect::<Vec<_>>()
    );
    let head = store.audit.head().await.unwrap();
    assert_eq!(head.map(|(seq, _)| seq), Some(23));
    assert_eq!(audit::verify_chain(&records, head), Ok(23));
}

// -------------------------------------------------------------------- health ----

async fn health(store: Store, db: &TestDb) {
    store.health.ping().await.unwrap();
    assert_eq!(store.health.backend(), db.backend);
}
