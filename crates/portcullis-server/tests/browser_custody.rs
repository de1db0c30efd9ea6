//! Custodial wallets on the pages in a real headless Chromium (`tests/browser/custody.js`),
//! against a real Ethereum node (anvil): the wallet list with a funded wallet's balance, a
//! wallet created with the password, refused sends explained beside the form, and a send of
//! 0.5 ETH shown mined with the balance and history it changed. Screenshots go to
//! `<target>/browser-screenshots/custody/`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use portcullis_chain::Address;
use reqwest::Method;
use serde_json::json;
use support::browser::{run_script, screenshot_dir};
use support::chain::{anvil, chain_of, eth, funded, pay};
use support::custody::builder;
use support::factors::enrol_totp;
use support::{Backend, strong_password, unique_email};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wallets_are_created_read_and_sent_from_on_the_pages_in_chromium() {
    let node = anvil();
    let app = builder(Backend::Sqlite, &node).spawn().await;
    let (email, password) = (unique_email("browser-custody"), strong_password());
    app.register_active(&email, &password).await;
    let token = app.login(&email, &password).await.access;
    let (_, totp) = enrol_totp(&app, &token).await;

    // A wallet made through the API by a front-end, funded from outside.
    let (admin_email, admin_pw) = (unique_email("browser-custody-admin"), strong_password());
    let admin_id = app.register_active(&admin_email, &admin_pw).await;
    app.make_admin(&admin_id).await;
    let admin = app.login(&admin_email, &admin_pw).await.access;
    let key = app
        .post(
            "/v1/admin/api-keys",
            Some(&admin),
            &json!({"name": "front", "scopes": ["wallets:create"]}),
        )
        .await
        .expect(201)
        .json()["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let req = app
        .request(Method::POST, "/v1/wallets", Some(&token))
        .header("x-api-key", &key)
        .json(&json!({"password": password, "label": "Savings"}));
    let wallet = app.send(req).await.expect(201).json();
    let address = wallet["address"].as_str().unwrap();
    pay(&chain_of(&node), &funded(&node, 0), address, eth(5)).await;

    let recipient = Address::repeat_byte(0x24).to_string();
    run_script(
        &app,
        "custody.js",
        &screenshot_dir("custody"),
        &[&email, &password, &totp.to_base32(), &recipient],
        &["41-wallet-list", "42-new-wallet", "43-wallet-after-send"],
    )
    .await;
    let balance = chain_of(&node)
        .balance(recipient.parse().unwrap())
        .await
        .unwrap()
        .wei;
    assert_eq!(balance, eth(1) / portcullis_chain::U256::from(2u64));
}
