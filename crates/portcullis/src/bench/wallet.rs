//! `portcullis bench wallet`: the hardware-wallet login against a password-only login in
//! the same run, and the per-request cost of a DPoP-bound token against a bearer token.
//!
//! Logins run over HTTP against an in-process server (default argon2, limits lifted), one
//! account per client. A wallet login is the password, the wallet message, two secp256k1
//! signatures made here (as the wallet would) and the answer, which spends the AuthNFT and
//! mints the ReqNFT on durable ledgers; its latency is that sequence. A wallet is signed in
//! on one session at a time, so each client logs out (a DPoP request, which burns the
//! ReqNFT and mints the next AuthNFT) before its next login: the logins per second count
//! those logouts in, the latency does not.
//!
//! The per-request figure is pure CPU on one thread: verifying an access token, against
//! verifying a bound one and its proof (signature, method, URI, `ath`, nonce, `jkt`, and
//! the `jti` remembered), for an EdDSA and an ES256K session key.

use anyhow::{Context as _, anyhow, bail};
use k256::ecdsa::SigningKey;
use portcullis_core::eth;
use portcullis_core::token::dpop::{self, ProofClaims, SessionSigner};
use portcullis_server::clock::{Clock as _, SystemClock};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Barrier;

mod per_request;

use super::proc::{cpu, machine};
use super::server::{PASSWORD, bench_config, create_account_as, start_ready};
use super::{Phase, ms, percentile, print_rows, target};

/// Options of `portcullis bench wallet`.
#[derive(clap::Args, Debug)]
pub struct WalletArgs {
    /// Concurrent HTTP clients (each with its own account).
    #[arg(long, default_value_t = 4)]
    pub clients: usize,
    /// Seconds per login measurement.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Print machine-readable results (JSON) after the table.
    #[arg(long)]
    pub json: bool,
}

/// One login load.
struct LoginLoad {
    phase: Phase,
    p50: Duration,
    p99: Duration,
}

/// Runs the measurements and prints the table.
///
/// # Errors
/// The server would not start, or a login, enrolment or verification did not succeed.
pub(super) async fn run(args: WalletArgs) -> anyhow::Result<()> {
    if args.clients == 0 || args.seconds == 0 {
        bail!("--clients and --seconds must be at least 1");
    }
    let window = Duration::from_secs(args.seconds);
    let machine = machine()?;
    let dir = tempfile::tempdir().context("temporary data directory")?;
    let http = reqwest::Client::new();
    let (server, _) = start_ready(bench_config(dir.path()), &http).await?;
    let base = server.url();
    let mut password_accounts = Vec::new();
    let mut wallet_accounts = Vec::new();
    for i in 0..args.clients {
        let email = format!("bench-password-{i}@example.com");
        create_account_as(&server, &http, &email).await?;
        password_accounts.push(email);
        let email = format!("bench-wallet-{i}@example.com");
        create_account_as(&server, &http, &email).await?;
        let key = wallet_key(i)?;
        enrol(&http, &base, &email, &key).await?;
        wallet_accounts.push((email, key));
    }
    let password = load(window, password_accounts, {
        let base = base.clone();
        move |email| password_worker(base.clone(), email)
    })
    .await?;
    let wallet = load(window, wallet_accounts, {
        let base = base.clone();
        move |(email, key)| wallet_worker(base.clone(), email, key)
    })
    .await?;
    server.stop().await?;
    let per_request =
        tokio::task::spawn_blocking(move || per_request::dpop_costs(window / 2)).await??;

    let slower = ms(wallet.p50) / ms(password.p50);
    let rate = wallet.phase.per_sec() / password.phase.per_sec();
    let none = String::new;
    let mut rows = vec![
        ("measurement", "result".to_owned(), none()),
        (
            "password logins over HTTP",
            format!("{:.1}/s", password.phase.per_sec()),
            none(),
        ),
        (
            "  latency p50 / p99",
            format!("{:.0} / {:.0} ms", ms(password.p50), ms(password.p99)),
            none(),
        ),
        (
            "  CPU user + sys | other processes",
            password.phase.cpu_summary(),
            none(),
        ),
        (
            "wallet logins (+ logout) over HTTP",
            format!("{:.1}/s", wallet.phase.per_sec()),
            none(),
        ),
        (
            "  latency p50 / p99",
            format!("{:.0} / {:.0} ms", ms(wallet.p50), ms(wallet.p99)),
            none(),
        ),
        (
            "  CPU user + sys | other processes",
            wallet.phase.cpu_summary(),
            none(),
        ),
        (
            "  wallet / password latency p50",
            format!("{slower:.2}x"),
            none(),
        ),
        (
            "  wallet / password logins per second",
            format!("{rate:.2}x"),
            none(),
        ),
        (
            "bearer token verify, 1 thread",
            format!("{:.1} µs", per_request.bearer_us),
            none(),
        ),
    ];
    for (alg, us) in [
        ("EdDSA", per_request.eddsa_us),
        ("ES256K", per_request.es256k_us),
    ] {
        let ratio = us / per_request.bearer_us;
        rows.push((
            "DPoP token + proof verify",
            format!("{alg} {us:.1} µs"),
            none(),
        ));
        rows.push((
            "  / bearer verify",
            format!("{ratio:.2}x"),
            target("<= 2.2x", ratio <= 2.2),
        ));
    }
    println!("Portcullis bench wallet");
    println!(
        "machine:  {} cores, {}, {} MiB RAM",
        machine.cores, machine.cpu, machine.memory_mib
    );
    println!(
        "load:     {} HTTP clients, one account each, keep-alive\n",
        args.clients
    );
    print_rows(&rows);
    if args.json {
        let json = json!({
            "clients": args.clients,
            "password": load_json(&password),
            "wallet": load_json(&wallet),
            "wallet_over_password_latency_p50": slower,
            "wallet_over_password_rate": rate,
            "bearer_verify_us": per_request.bearer_us,
            "dpop_eddsa_verify_us": per_request.eddsa_us,
            "dpop_es256k_verify_us": per_request.es256k_us,
        });
        println!("{}", serde_json::to_string_pretty(&json)?);
    }
    Ok(())
}

fn load_json(l: &LoginLoad) -> Value {
    json!({"per_sec": l.phase.per_sec(), "p50_ms": ms(l.p50), "p99_ms": ms(l.p99), "phase": l.phase.json()})
}

/// A client's wallet key (fixed seeds: a bench is reproducible).
fn wallet_key(i: usize) -> anyhow::Result<SigningKey> {
    let seed = [u8::try_from(i % 250).unwrap_or(0) + 1; 32];
    SigningKey::from_slice(&seed).map_err(|e| anyhow!("wallet key: {e}"))
}

fn personal_sign(key: &SigningKey, text: &str) -> anyhow::Result<String> {
    Ok(eth::sign(key, text.as_bytes())?.to_string())
}

async fn post(
    http: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    body: &Value,
) -> anyhow::Result<(u16, Value)> {
    let mut request = http.post(url).json(body);
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    Ok((status, response.json().await.unwrap_or(Value::Null)))
}

/// Binds `key`'s wallet to the account `email`.
async fn enrol(
    http: &reqwest::Client,
    base: &str,
    email: &str,
    key: &SigningKey,
) -> anyhow::Result<()> {
    let creds = json!({"email": email, "password": PASSWORD});
    let (status, tokens) = post(http, &format!("{base}/v1/sessions"), None, &creds).await?;
    let access = tokens["access_token"]
        .as_str()
        .ok_or_else(|| anyhow!("login {status}: {tokens}"))?;
    let address = eth::checksummed(&eth::address_of(key.verifying_key()));
    let (_, started) = post(
        http,
        &format!("{base}/v1/me/factors/wallet"),
        Some(access),
        &json!({"address": address}),
    )
    .await?;
    let message = started["message"]
        .as_str()
        .ok_or_else(|| anyhow!("enrolment: {started}"))?;
    let id = started["factor"]["id"].as_str().unwrap_or_default();
    let code = personal_sign(key, message)?;
    let (status, body) = post(
        http,
        &format!("{base}/v1/me/factors/{id}/confirm"),
        Some(access),
        &json!({"code": code}),
    )
    .await?;
    if status != 200 {
        bail!("wallet confirmation answered {status}: {body}");
    }
    Ok(())
}

/// `clients` workers, one per item of `accounts`, for `window` after a warm-up each.
async fn load<A, F, Fut>(window: Duration, accounts: Vec<A>, worker: F) -> anyhow::Result<LoginLoad>
where
    F: Fn(A) -> Fut,
    Fut: AsyncLogin,
{
    let barrier = Arc::new(Barrier::new(accounts.len() + 1));
    let tasks: Vec<_> = accounts
        .into_iter()
        .map(|a| {
            let mut login = worker(a);
            let barrier = Arc::clone(&barrier);
            tokio::spawn(async move {
                let warm_up = login.once().await;
                barrier.wait().await;
                warm_up?;
                let deadline = Instant::now() + window;
                let mut latencies = Vec::new();
                while Instant::now() < deadline {
                    latencies.push(login.once().await?);
                }
                anyhow::Ok(latencies)
            })
        })
        .collect();
    barrier.wait().await;
    let (t0, cpu0) = (Instant::now(), cpu()?);
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await??);
    }
    let phase = Phase {
        ops: latencies.len() as u64,
        elapsed: t0.elapsed(),
        cpu: cpu()?.since(cpu0),
    };
    latencies.sort_unstable();
    Ok(LoginLoad {
        phase,
        p50: percentile(&latencies, 0.50),
        p99: percentile(&latencies, 0.99),
    })
}

/// A client that logs in again and again; `once` returns the login's latency.
trait AsyncLogin: Send + 'static {
    fn once(&mut self) -> impl Future<Output = anyhow::Result<Duration>> + Send;
}

struct PasswordLogin {
    http: reqwest::Client,
    base: String,
    email: String,
}

fn password_worker(base: String, email: String) -> PasswordLogin {
    PasswordLogin {
        http: reqwest::Client::new(),
        base,
        email,
    }
}

impl AsyncLogin for PasswordLogin {
    async fn once(&mut self) -> anyhow::Result<Duration> {
        let t = Instant::now();
        let body = json!({"email": self.email, "password": PASSWORD});
        let (status, answer) = post(
            &self.http,
            &format!("{}/v1/sessions", self.base),
            None,
            &body,
        )
        .await?;
        if status != 201 {
            bail!("password login answered {status}: {answer}");
        }
        Ok(t.elapsed())
    }
}

struct WalletLogin {
    http: reqwest::Client,
    base: String,
    email: String,
    key: SigningKey,
    n: u64,
}

fn wallet_worker(base: String, email: String, key: SigningKey) -> WalletLogin {
    WalletLogin {
        http: reqwest::Client::new(),
        base,
        email,
        key,
        n: 0,
    }
}

impl AsyncLogin for WalletLogin {
    async fn once(&mut self) -> anyhow::Result<Duration> {
        self.n += 1;
        let mut seed = [0u8; 32];
        seed[..8].copy_from_slice(&self.n.to_le_bytes());
        seed[8..16].copy_from_slice(&(self.email.len() as u64).to_le_bytes());
        seed[16] = self.key.to_bytes()[0];
        let session = SessionSigner::ed25519_from_bytes(&seed);
        let base = &self.base;
        let t = Instant::now();
        let body = json!({"email": self.email, "password": PASSWORD});
        let (status, pending) =
            post(&self.http, &format!("{base}/v1/sessions"), None, &body).await?;
        let id = pending["challenge_id"]
            .as_str()
            .ok_or_else(|| anyhow!("login answered {status}: {pending}"))?
            .to_owned();
        let (_, texts) = post(
            &self.http,
            &format!("{base}/v1/sessions/challenges/{id}/wallet-message"),
            None,
            &json!({"session_key": session.public().to_jwk()}),
        )
        .await?;
        let message = texts["message"]
            .as_str()
            .ok_or_else(|| anyhow!("wallet message: {texts}"))?;
        let delegation = texts["delegation"].as_str().unwrap_or_default();
        let answer = json!({
            "factor": "wallet",
            "signature": personal_sign(&self.key, message)?,
            "delegation_signature": personal_sign(&self.key, delegation)?,
        });
        let (status, tokens) = post(
            &self.http,
            &format!("{base}/v1/sessions/challenges/{id}"),
            None,
            &answer,
        )
        .await?;
        if status != 201 {
            bail!("wallet answer answered {status}: {tokens}");
        }
        let latency = t.elapsed();
        let access = tokens["access_token"].as_str().unwrap_or_default();
        logout(&self.http, base, &session, access).await?;
        Ok(latency)
    }
}

/// `DELETE /v1/sessions/current` with a proof (the first answer brings the nonce).
async fn logout(
    http: &reqwest::Client,
    base: &str,
    key: &SessionSigner,
    access: &str,
) -> anyhow::Result<()> {
    let url = format!("{base}/v1/sessions/current");
    let mut nonce = None;
    for n in 0..2 {
        let proof = key.proof(&ProofClaims {
            jti: format!("logout-{n}"),
            htm: "DELETE".into(),
            htu: url.clone(),
            iat: SystemClock.now(),
            nonce: nonce.clone(),
            ath: Some(dpop::ath(access)),
        });
        let response = http
            .delete(&url)
            .header("authorization", format!("DPoP {access}"))
            .header("dpop", proof)
            .send()
            .await?;
        if response.status() == reqwest::StatusCode::NO_CONTENT {
            return Ok(());
        }
        nonce = response
            .headers()
            .get("dpop-nonce")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
    }
    bail!("logout was refused")
}
