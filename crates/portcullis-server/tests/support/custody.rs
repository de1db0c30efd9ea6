//! A front-end application's view of custodial wallets, for the tests that need one ready:
//! an API key, a user whose session stepped up with TOTP, and a funded wallet.

use alloy::node_bindings::AnvilInstance;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

use super::chain::{CHAIN_ID, chain_of, eth, funded, pay};
use super::factors::{enrol_totp, step_up_with_totp};
use super::{Builder, Reply, TestApp, strong_password, unique_email};

/// A server builder for the chain `node`, with a fast follower and no per-IP limits in the
/// way of load.
pub fn builder(backend: super::Backend, node: &AnvilInstance) -> Builder {
    builder_at(backend, node.endpoint())
}

/// [`builder`] with the server's chain at `url` (a proxy in front of the node, say).
pub fn builder_at(backend: super::Backend, url: String) -> Builder {
    TestApp::builder()
        .backend(backend)
        .file_mail()
        .configure(move |c| {
            c.chain.rpc_url = Some(url.into());
            c.chain.chain_id = Some(CHAIN_ID);
            c.custody.follow_interval = Duration::from_millis(100);
            c.rate_limit.per_ip_per_minute = 100_000;
            c.rate_limit.per_account_per_minute = 100_000;
        })
}

/// What a front-end holds: its API key, the user's stepped-up token and password, and the
/// user's wallet (funded with 5 ETH from anvil's account #0).
pub struct Front {
    /// `X-API-Key`.
    pub key: String,
    /// The user's access token (TOTP step-up just made).
    pub token: String,
    /// The user's password.
    pub password: String,
    /// The wallet's id.
    pub wallet: String,
    /// The wallet's address.
    pub address: String,
}

impl Front {
    /// Makes the key (all wallet scopes), the user, the step-up and the funded wallet.
    pub async fn new(app: &TestApp, node: &AnvilInstance) -> Self {
        let (admin_email, admin_pw) = (unique_email("front-admin"), strong_password());
        let admin_id = app.register_active(&admin_email, &admin_pw).await;
        app.make_admin(&admin_id).await;
        let admin = app.login(&admin_email, &admin_pw).await.access;
        let scopes = [
            "wallets:read",
            "wallets:create",
            "wallets:send",
            "wallets:sign",
        ];
        let created = app
            .post(
                "/v1/admin/api-keys",
                Some(&admin),
                &json!({"name": "front", "scopes": scopes, "rate_per_minute": 100000}),
            )
            .await
            .expect(201)
            .json();
        let key = created["key"].as_str().unwrap().to_owned();
        let (email, password) = (unique_email("front"), strong_password());
        app.register_active(&email, &password).await;
        let token = app.login(&email, &password).await.access;
        let (_, totp) = enrol_totp(app, &token).await;
        let token = step_up_with_totp(app, &token, &totp).await;
        let mut front = Front {
            key,
            token,
            password,
            wallet: String::new(),
            address: String::new(),
        };
        let body = json!({"password": front.password});
        let wallet = front
            .call(app, Method::POST, "/v1/wallets", Some(&body))
            .await
            .expect(201)
            .json();
        front.wallet = wallet["id"].as_str().unwrap().to_owned();
        front.address = wallet["address"].as_str().unwrap().to_owned();
        pay(&chain_of(node), &funded(node, 0), &front.address, eth(5)).await;
        front
    }

    /// A call with the key and the token.
    pub async fn call(
        &self,
        app: &TestApp,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Reply {
        let mut req = app
            .request(method, path, Some(&self.token))
            .header("x-api-key", &self.key);
        if let Some(b) = body {
            req = req.json(b);
        }
        app.send(req).await
    }

    /// The body of a send of `value` wei to `to`.
    pub fn order(&self, to: &str, value: &str) -> Value {
        json!({"to": to, "value": value, "password": self.password})
    }

    /// `/v1/wallets/{id}` + `rest`.
    pub fn path(&self, rest: &str) -> String {
        format!("/v1/wallets/{}{rest}", self.wallet)
    }

    /// Waits (up to 15 s) until every one of the wallet's sends is settled; returns them.
    pub async fn settled_sends(&self, app: &TestApp) -> Vec<Value> {
        for _ in 0..300 {
            let listed = self
                .call(
                    app,
                    Method::GET,
                    &self.path("/transactions?limit=200"),
                    None,
                )
                .await
                .expect(200)
                .json();
            let all = listed.as_array().unwrap().clone();
            if all
                .iter()
                .all(|s| !matches!(s["status"].as_str(), Some("pending" | "unconfirmed")))
            {
                return all;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the wallet's sends did not settle within 15 s");
    }
}
