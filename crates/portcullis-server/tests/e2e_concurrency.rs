//! End-to-end: concurrent requests on both backends: no server errors, single-use tokens stay
//! single-use, a taken address stays taken, and the audit chain stays intact.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::{Backend, Reply, TestApp, link_token, mails_to, strong_password, unique_email};

async fn all_at_once<F: Future<Output = Reply> + Send + 'static>(futures: Vec<F>) -> Vec<Reply> {
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.expect("request task"));
    }
    out
}

fn no_server_errors(replies: &[Reply], what: &str) {
    for r in replies {
        assert!(r.status.as_u16() < 500, "{what}: {} {}", r.status, r.text);
    }
}

async fn concurrent_traffic(backend: Backend) {
    let app = std::sync::Arc::new(
        TestApp::builder()
            .backend(backend)
            .configure(|c| {
                c.rate_limit.auth_per_ip_per_minute = 10_000;
                c.rate_limit.per_account_per_minute = 10_000;
            })
            .spawn()
            .await,
    );

    // Several accounts log in at once, some with wrong passwords.
    let mut accounts = Vec::new();
    for i in 0..3 {
        let email = unique_email(&format!("busy{i}"));
        let password = strong_password();
        app.register_verified(&email, &password).await;
        accounts.push((email, password));
    }
    let mut logins = Vec::new();
    for round in 0..4 {
        for (email, password) in &accounts {
            let (app, email) = (app.clone(), email.clone());
            let password = if round == 3 {
                strong_password()
            } else {
                password.clone()
            };
            logins.push(async move { app.try_login(&email, &password).await });
        }
    }
    let replies = all_at_once(logins).await;
    no_server_errors(&replies, "concurrent logins");
    let ok = replies.iter().filter(|r| r.status.as_u16() == 201).count();
    let refused = replies.iter().filter(|r| r.status.as_u16() == 401).count();
    assert_eq!((ok, refused), (9, 3), "{replies:#?}");

    // One refresh token presented many times at once: at most one rotation, and the reuse
    // ends the session.
    let (email, password) = &accounts[0];
    let tokens = app.login(email, password).await;
    let refreshes: Vec<_> = (0..6)
        .map(|_| {
            let (app, token) = (app.clone(), tokens.refresh.clone());
            async move { app.refresh(&token).await }
        })
        .collect();
    let replies = all_at_once(refreshes).await;
    no_server_errors(&replies, "concurrent refreshes");
    let rotated: Vec<&Reply> = replies
        .iter()
        .filter(|r| r.status.as_u16() == 200)
        .collect();
    assert!(
        rotated.len() <= 1,
        "one refresh token rotated twice: {replies:#?}"
    );
    for r in rotated {
        let newest = support::Tokens::from_json(&r.json());
        app.refresh(&newest.refresh).await.problem(401, None);
        app.get("/v1/me", Some(&newest.access))
            .await
            .problem(401, None);
    }
    app.get("/v1/me", Some(&tokens.access))
        .await
        .problem(401, None);

    // One address registered many times at once: one account. The registrations that find
    // it pending mail a fresh verification link (so a lost first link does not strand it), up
    // to the per-recipient cooldown of that kind of mail: every mail is a verification link,
    // and there are as many as the cooldown allows, not one per request.
    let cap = usize::try_from(
        portcullis_server::config::Config::default()
            .mail
            .recipient_max_sends,
    )
    .expect("a small positive bound");
    let contested = unique_email("contested");
    let registrations: Vec<_> = (0..6)
        .map(|_| {
            let (app, email) = (app.clone(), contested.clone());
            async move { app.register(&email, &strong_password()).await }
        })
        .collect();
    let replies = all_at_once(registrations).await;
    no_server_errors(&replies, "concurrent registrations");
    for r in &replies {
        assert_eq!(r.status.as_u16(), 201, "{}", r.text);
    }
    let start = std::time::Instant::now();
    while mails_to(&contested).len() < cap && start.elapsed().as_secs() < 15 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // Any mail beyond the cap would be queued by now; give the outbox a moment to show it.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let mails = mails_to(&contested);
    let links: Vec<String> = mails
        .iter()
        .filter_map(|m| link_token(&m.body, &app.base, "verify-email"))
        .collect();
    assert_eq!(
        (mails.len(), links.len()),
        (cap, cap),
        "subjects: {:?}",
        mails.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );
    // Each mailed link was stored when it was sent and a later one replaces it, so the link
    // sent last works: one account, verified by one of the links.
    let mut verified = 0;
    for token in &links {
        let reply = app
            .post(
                "/v1/accounts/verify",
                None,
                &serde_json::json!({ "token": token }),
            )
            .await;
        if reply.status.as_u16() == 204 {
            verified += 1;
        }
    }
    assert!(verified >= 1, "no mailed link verifies the account");

    // Sessions of one account ended all at once.
    let sessions: Vec<_> = {
        let mut v = Vec::new();
        for _ in 0..4 {
            v.push(app.login(email, password).await);
        }
        v
    };
    let keeper = app.login(email, password).await;
    let revocations: Vec<_> = sessions
        .iter()
        .map(|s| {
            let (app, access, id) = (app.clone(), keeper.access.clone(), s.session_id.clone());
            async move {
                app.delete(&format!("/v1/sessions/{id}"), Some(&access), None)
                    .await
            }
        })
        .collect();
    let replies = all_at_once(revocations).await;
    no_server_errors(&replies, "concurrent revocations");
    for (r, s) in replies.iter().zip(&sessions) {
        assert_eq!(r.status.as_u16(), 204, "{}", r.text);
        app.get("/v1/me", Some(&s.access)).await.problem(401, None);
    }
    app.get("/v1/me", Some(&keeper.access)).await.expect(200);

    // The audit ledger survived the contention: every leaf and signed head re-derives.
    let audit = app.server().state.ledgers().audit.ledger();
    let report = portcullis_ledger::verify::verify(audit, |_, _| {})
        .await
        .expect("read the audit ledger")
        .unwrap_or_else(|e| panic!("audit ledger broken: {e}"));
    let n = report.entries;
    assert!(n >= 30, "only {n} audit entries");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_traffic_on_sqlite() {
    concurrent_traffic(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_traffic_on_postgres() {
    concurrent_traffic(Backend::Postgres).await;
}
