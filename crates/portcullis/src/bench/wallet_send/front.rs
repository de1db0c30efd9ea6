//! The front-end of `bench wallet-send`: an account stepped up with TOTP over HTTP, an API
//! key with the wallet scopes, and one custodial wallet.

use anyhow::{anyhow, bail};
use portcullis_core::factor::totp::{STEP_SECS, TotpSecret};
use serde_json::{Value, json};

use super::super::server::{PASSWORD, create_account_as};
use super::EMAIL;

/// The front-end's credentials: an API key, the user's TOTP-stepped token, the wallet.
pub(super) struct Front {
    pub(super) key: String,
    pub(super) token: String,
    pub(super) wallet: String,
    pub(super) address: String,
}

impl Front {
    pub(super) async fn new(
        server: &portcullis_server::Server,
        http: &reqwest::Client,
        base: &str,
    ) -> anyhow::Result<Self> {
        create_account_as(server, http, EMAIL).await?;
        let login: Value = post(
            http,
            base,
            "/v1/sessions",
            None,
            &json!({"email": EMAIL, "password": PASSWORD}),
            201,
        )
        .await?;
        let token = login["access_token"]
            .as_str()
            .ok_or_else(|| anyhow!("no token: {login}"))?
            .to_owned();
        let enrol = post(
            http,
            base,
            "/v1/me/factors/totp",
            Some(&token),
            &json!({}),
            201,
        )
        .await?;
        let secret = TotpSecret::from_base32(enrol["secret"].as_str().unwrap_or_default())?;
        let factor = enrol["id"].as_str().unwrap_or_default();
        let now = server.state.now();
        post(
            http,
            base,
            &format!("/v1/me/factors/{factor}/confirm"),
            Some(&token),
            &json!({"code": secret.code_at(now)?}),
            200,
        )
        .await?;
        let step = post(
            http,
            base,
            "/v1/sessions/current/step-up",
            Some(&token),
            &json!({}),
            202,
        )
        .await?;
        let challenge = step["challenge_id"].as_str().unwrap_or_default();
        let code = secret.code_at(now + STEP_SECS)?;
        let stepped = post(
            http,
            base,
            &format!("/v1/sessions/current/step-up/{challenge}"),
            Some(&token),
            &json!({"factor": "totp", "code": code}),
            200,
        )
        .await?;
        let token = stepped["access_token"]
            .as_str()
            .ok_or_else(|| anyhow!("no token: {stepped}"))?
            .to_owned();

        let created = portcullis_server::services::api_keys::create(
            &server.state,
            portcullis_server::services::api_keys::NewKey {
                name: "bench".into(),
                scopes: vec![
                    "wallets:create".into(),
                    "wallets:read".into(),
                    "wallets:send".into(),
                ],
                origins: vec![],
                rate_per_minute: Some(1_000_000),
            },
            "bench".into(),
            None,
        )
        .await?;
        let key = created.key.expose().to_owned();
        let mut front = Front {
            key,
            token,
            wallet: String::new(),
            address: String::new(),
        };
        let wallet = front
            .post(
                http,
                base,
                "/v1/wallets",
                &json!({"password": PASSWORD}),
                201,
            )
            .await?;
        front.wallet = wallet["id"].as_str().unwrap_or_default().to_owned();
        front.address = wallet["address"].as_str().unwrap_or_default().to_owned();
        Ok(front)
    }

    async fn post(
        &self,
        http: &reqwest::Client,
        base: &str,
        path: &str,
        body: &Value,
        status: u16,
    ) -> anyhow::Result<Value> {
        let r = http
            .post(format!("{base}{path}"))
            .bearer_auth(&self.token)
            .header("x-api-key", &self.key)
            .json(body)
            .send()
            .await?;
        expect(r, status).await
    }
}

async fn post(
    http: &reqwest::Client,
    base: &str,
    path: &str,
    token: Option<&str>,
    body: &Value,
    status: u16,
) -> anyhow::Result<Value> {
    let mut req = http.post(format!("{base}{path}")).json(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    expect(req.send().await?, status).await
}

async fn expect(r: reqwest::Response, status: u16) -> anyhow::Result<Value> {
    let got = r.status().as_u16();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    if got != status {
        bail!("expected {status}, got {got}: {body}");
    }
    Ok(body)
}
