//! The mixed write load: tasks that register, log in, rotate refresh tokens, change factors
//! and check DualConfirm words as fast as the server answers, writing down each
//! acknowledgement in the [`Ledger`], until the server dies under them.

use futures_util::StreamExt as _;
use reqwest::Client;
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

use super::ledger::{Factors, Ledger, Registered};
use super::server::{Cast, Env, PASSWORD};
use super::{Answer, Rng, send, totp_code, totp_code_ahead, unique_email};

/// What lasts across cycles: the accounts and the sessions that do not rotate.
pub struct Fixture {
    /// Accounts whose tasks log in and refresh.
    pub session_accounts: Vec<String>,
    /// Access tokens of the factor accounts' sessions (fresh enough for factor changes for
    /// the whole test, and still valid after a restart: the keys and sessions are durable).
    pub factor_access: Vec<String>,
    pub advisor_access: String,
    pub client_access: String,
    pub pair: String,
}

async fn login(http: &Client, base: &str, email: &str) -> Value {
    login_status(http, base, email, 201).await
}

/// A password login of `email` that must answer `status` (201 tokens, 202 a challenge).
async fn login_status(http: &Client, base: &str, email: &str, status: u16) -> Value {
    let r = http
        .post(format!("{base}/v1/sessions"))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), status, "login of {email}");
    r.json().await.expect("json")
}

/// Enrols and confirms a first authenticator app for `email` from a password session, then
/// logs in with the password and that app: an AAL2 session, which changing the factors of an
/// account that has a second factor needs. Its access token and the factor's id.
async fn two_factor_session(http: &Client, base: &str, email: &str) -> (String, String) {
    let password_only = access(&login_status(http, base, email, 201).await);
    let enrolled: Value = http
        .post(format!("{base}/v1/me/factors/totp"))
        .bearer_auth(&password_only)
        .json(&json!({}))
        .send()
        .await
        .expect("enrol")
        .json()
        .await
        .expect("json");
    let id = enrolled["id"].as_str().expect("factor id").to_owned();
    let secret = enrolled["secret"].as_str().expect("secret");
    let r = http
        .post(format!("{base}/v1/me/factors/{id}/confirm"))
        .bearer_auth(&password_only)
        .json(&json!({"code": totp_code(secret)}))
        .send()
        .await
        .expect("confirm");
    assert_eq!(r.status(), 200, "confirming the first factor of {email}");
    let challenge = login_status(http, base, email, 202).await;
    let challenge_id = challenge["challenge_id"].as_str().expect("challenge_id");
    // The confirmation spent this step's code; the next step's is accepted (one step of drift).
    let r = http
        .post(format!("{base}/v1/sessions/challenges/{challenge_id}"))
        .json(&json!({"factor": "totp", "code": totp_code_ahead(secret, 1)}))
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), 201, "the second factor of {email}");
    let tokens: Value = r.json().await.expect("json");
    (access(&tokens), id)
}

fn access(body: &Value) -> String {
    body["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned()
}

impl Fixture {
    pub async fn new(http: &Client, base: &str, cast: &Cast, ledger: &Ledger) -> Self {
        let mut factor_access = Vec::new();
        for email in &cast.factors {
            let (token, first) = two_factor_session(http, base, email).await;
            factor_access.push(token);
            let mut factors = Factors::default();
            factors.present.insert(first);
            ledger.lock().factors.push(factors);
        }
        Self {
            session_accounts: cast.sessions.clone(),
            factor_access,
            advisor_access: access(&login(http, base, &cast.advisor).await),
            client_access: access(&login(http, base, &cast.client).await),
            pair: cast.pair.clone(),
        }
    }
}

/// The load of one cycle.
pub struct Running {
    stop: Arc<AtomicBool>,
    tasks: Vec<JoinHandle<()>>,
    consoles: Vec<JoinHandle<()>>,
}

impl Running {
    /// Waits for every task (the server is gone, so each ends at its next request); a task
    /// that saw a wrong answer fails the test here.
    pub async fn finish(self) {
        self.stop.store(true, Ordering::Relaxed);
        for task in self.tasks {
            task.await.expect("a load task failed");
        }
        for console in self.consoles {
            console.abort();
        }
    }
}

/// Starts the load on the server at `base`: the DualConfirm consoles first (the checks
/// need both parties present), then the tasks.
pub async fn start(
    http: &Client,
    base: &str,
    env: &Env,
    fixture: &Fixture,
    ledger: &Arc<Ledger>,
    seed: u64,
) -> Running {
    let consoles = vec![
        console(base, &fixture.advisor_access, false).await,
        console(base, &fixture.client_access, true).await,
    ];
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    let mut rng = Rng::new(seed);
    let base = base.to_owned();
    for _ in 0..2 {
        let (http, base, ledger, stop) = (http.clone(), base.clone(), ledger.clone(), stop.clone());
        let mail = env.mail_dir();
        tasks.push(tokio::spawn(async move {
            registrar(&http, &base, &mail, &ledger, &stop).await;
        }));
    }
    for email in &fixture.session_accounts {
        let (http, base, ledger, stop) = (http.clone(), base.clone(), ledger.clone(), stop.clone());
        let (email, seed) = (email.clone(), rng.next());
        tasks.push(tokio::spawn(async move {
            sessions(&http, &base, &email, &ledger, &stop, Rng::new(seed)).await;
        }));
    }
    for (i, token) in fixture.factor_access.iter().enumerate() {
        let (http, base, ledger, stop) = (http.clone(), base.clone(), ledger.clone(), stop.clone());
        let token = token.clone();
        tasks.push(tokio::spawn(async move {
            factors(&http, &base, &token, i, &ledger, &stop).await;
        }));
    }
    let (http, ledger, stop2) = (http.clone(), ledger.clone(), stop.clone());
    let (token, pair, seed) = (
        fixture.client_access.clone(),
        fixture.pair.clone(),
        rng.next(),
    );
    tasks.push(tokio::spawn(async move {
        checks(&http, &base, &token, &pair, &ledger, &stop2, Rng::new(seed)).await;
    }));
    Running {
        stop,
        tasks,
        consoles,
    }
}

/// Opens a DualConfirm console and keeps reading it; with `wait_for_words`, returns only
/// once the session is live (both parties present).
async fn console(base: &str, token: &str, wait_for_words: bool) -> JoinHandle<()> {
    let url = format!("{base}/v1/dualconfirm/live").replacen("http", "ws", 1);
    let mut req = url.into_client_request().expect("request");
    req.headers_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("header"),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(req)
        .await
        .expect("the console opens");
    if wait_for_words {
        tokio::time::timeout(Duration::from_secs(10), async {
            while let Some(Ok(msg)) = socket.next().await {
                if let Message::Text(text) = msg
                    && serde_json::from_str::<Value>(text.as_str()).expect("json")["type"]
                        == "words"
                {
                    return;
                }
            }
            panic!("the console closed before any words");
        })
        .await
        .expect("words within 10 s");
    }
    tokio::spawn(async move { while let Some(Ok(_)) = socket.next().await {} })
}

/// The verification token in the development mail to `email`, if it was written yet.
fn verification_token(dir: &Path, email: &str) -> Option<String> {
    const LINK: &str = "/verify-email?token=";
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let Ok(text) = std::fs::read_to_string(entry.path()) else {
            continue;
        };
        if !text.contains(email) {
            continue;
        }
        let Some(at) = text.find(LINK) else { continue };
        let token: String = text[at + LINK.len()..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        // The file may still be being written; a token is 43 characters.
        if token.len() >= 43 {
            return Some(token);
        }
    }
    None
}

/// Registers, verifies with the mailed link, logs in; again and again.
async fn registrar(http: &Client, base: &str, mail: &Path, ledger: &Ledger, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        let email = unique_email("reg");
        let password = format!("Kv{}#q", uuid::Uuid::now_v7().simple());
        let req = http
            .post(format!("{base}/v1/accounts"))
            .json(&json!({"email": email, "password": password}));
        let Some(body) = ledger.acked(send(req, 201, "registration").await) else {
            return;
        };
        let index = {
            let mut book = ledger.lock();
            book.totals.registrations += 1;
            book.registered.push(Registered {
                email: email.clone(),
                password: password.clone(),
                id: body["id"].as_str().expect("id").to_owned(),
                verified: false,
                proven: false,
            });
            book.registered.len() - 1
        };
        let mut token = None;
        for _ in 0..150 {
            token = verification_token(mail, &email);
            if token.is_some() || stop.load(Ordering::Relaxed) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let Some(token) = token else { continue };
        let req = http
            .post(format!("{base}/v1/accounts/verify"))
            .json(&json!({"token": token}));
        if ledger.acked(send(req, 204, "verification").await).is_none() {
            return;
        }
        {
            let mut book = ledger.lock();
            book.totals.verifications += 1;
            book.registered[index].verified = true;
        }
        let req = http
            .post(format!("{base}/v1/sessions"))
            .json(&json!({"email": email, "password": password}));
        let Some(body) = ledger.acked(send(req, 201, "login of a new account").await) else {
            return;
        };
        ledger.opened(body["refresh_token"].as_str().expect("refresh").to_owned());
    }
}

/// Logs in now and then, and otherwise rotates the refresh token of one of its sessions.
async fn sessions(
    http: &Client,
    base: &str,
    email: &str,
    ledger: &Ledger,
    stop: &AtomicBool,
    mut rng: Rng,
) {
    let mut mine: Vec<usize> = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        if mine.is_empty() || rng.below(5) == 0 {
            let req = http
                .post(format!("{base}/v1/sessions"))
                .json(&json!({"email": email, "password": PASSWORD}));
            let Some(body) = ledger.acked(send(req, 201, "login").await) else {
                return;
            };
            mine.push(ledger.opened(body["refresh_token"].as_str().expect("refresh").to_owned()));
            continue;
        }
        let family = mine[usize::try_from(rng.below(mine.len() as u64)).unwrap()];
        let old = {
            let mut book = ledger.lock();
            book.families[family].in_flight = true;
            book.families[family].current.clone()
        };
        let req = http
            .post(format!("{base}/v1/tokens/refresh"))
            .json(&json!({"refresh_token": old}));
        let answer = send(req, 200, "refresh").await;
        if matches!(answer, Answer::Unsent) {
            // Never sent: `current` is as unspent as it was.
            ledger.lock().families[family].in_flight = false;
        }
        let Some(body) = ledger.acked(answer) else {
            return;
        };
        let new = body["refresh_token"].as_str().expect("refresh").to_owned();
        let mut book = ledger.lock();
        book.totals.refreshes += 1;
        let f = &mut book.families[family];
        f.spent.push(std::mem::replace(&mut f.current, new));
        f.in_flight = false;
    }
}

/// Enrols and confirms authenticator apps, and removes the oldest when it has two.
async fn factors(
    http: &Client,
    base: &str,
    token: &str,
    me: usize,
    ledger: &Ledger,
    stop: &AtomicBool,
) {
    while !stop.load(Ordering::Relaxed) {
        let oldest = {
            let book = ledger.lock();
            let f = &book.factors[me];
            (f.present.len() >= 2)
                .then(|| f.present.first().cloned())
                .flatten()
        };
        if let Some(id) = oldest {
            ledger.lock().factors[me].uncertain = Some(id.clone());
            let req = http
                .delete(format!("{base}/v1/me/factors/{id}"))
                .bearer_auth(token);
            let answer = send(req, 204, "factor removal").await;
            if matches!(answer, Answer::Unsent) {
                ledger.lock().factors[me].uncertain = None;
            }
            if ledger.acked(answer).is_none() {
                return;
            }
            let mut book = ledger.lock();
            book.totals.removals += 1;
            let f = &mut book.factors[me];
            f.present.remove(&id);
            f.removed.insert(id);
            f.uncertain = None;
            continue;
        }
        let req = http
            .post(format!("{base}/v1/me/factors/totp"))
            .bearer_auth(token)
            .json(&json!({}));
        let Some(enrolled) = ledger.acked(send(req, 201, "TOTP enrolment").await) else {
            return;
        };
        let id = enrolled["id"].as_str().expect("id").to_owned();
        let code = totp_code(enrolled["secret"].as_str().expect("secret"));
        ledger.lock().factors[me].uncertain = Some(id.clone());
        let req = http
            .post(format!("{base}/v1/me/factors/{id}/confirm"))
            .bearer_auth(token)
            .json(&json!({"code": code}));
        let answer = send(req, 200, "TOTP confirmation").await;
        if matches!(answer, Answer::Unsent) {
            ledger.lock().factors[me].uncertain = None;
        }
        let Some(view) = ledger.acked(answer) else {
            return;
        };
        assert_eq!(view["confirmed"], true, "{view}");
        let mut book = ledger.lock();
        book.totals.confirmations += 1;
        let f = &mut book.factors[me];
        f.present.insert(id);
        f.uncertain = None;
    }
}

/// The client checks words it heard: the advisor's (read from the words endpoint) or a
/// wrong one, which alerts the advisor.
async fn checks(
    http: &Client,
    base: &str,
    token: &str,
    pair: &str,
    ledger: &Ledger,
    stop: &AtomicBool,
    mut rng: Rng,
) {
    while !stop.load(Ordering::Relaxed) {
        let word = if rng.below(2) == 0 {
            let req = http
                .get(format!("{base}/v1/dualconfirm/pairs/{pair}/words"))
                .bearer_auth(token);
            let Some(words) = ledger.acked(send(req, 200, "words").await) else {
                return;
            };
            words["expect"].as_str().expect("expect").to_owned()
        } else {
            "surely-not-the-word".to_owned()
        };
        let req = http
            .post(format!("{base}/v1/dualconfirm/pairs/{pair}/check"))
            .bearer_auth(token)
            .json(&json!({"word": word}));
        if ledger
            .acked(send(req, 200, "DualConfirm check").await)
            .is_none()
        {
            return;
        }
        ledger.lock().totals.checks += 1;
    }
}
