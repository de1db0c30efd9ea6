//! Interoperability: a third-party resource server (PyJWT, through
//! `tests/interop/verify_jwt.py`) verifies our access tokens against our JWKS, and refuses
//! tampered ones.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use support::{TestApp, require_env, strong_password, unique_email};

/// Runs `verify_jwt.py`; returns the exit code, stdout and stderr.
async fn pyjwt_verify(app: &TestApp, token: &str, audience: &str) -> (i32, String, String) {
    let python = require_env("PORTCULLIS_TEST_PYTHON");
    let script = format!(
        "{}/verify_jwt.py",
        require_env("PORTCULLIS_TEST_INTEROP_DIR")
    );
    let out = tokio::process::Command::new(&python)
        .arg(&script)
        .args(["--jwks-url", &app.url("/.well-known/jwks.json")])
        .args(["--token", token])
        .args(["--issuer", &app.base])
        .args(["--audience", audience])
        .args(["--require", "sub", "--require", "iat", "--require", "jti"])
        .args(["--expect-typ", "at+jwt"])
        .env("NO_PROXY", "*")
        .env("no_proxy", "*")
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run {python} {script}: {e}"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `token` with its payload replaced by `edit(payload)`, the signature kept.
fn with_payload(token: &str, edit: impl FnOnce(&mut Value)) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "not a JWS compact token: {token}");
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).expect("base64url payload"))
            .expect("JSON payload");
    edit(&mut claims);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
    format!("{}.{payload}.{}", parts[0], parts[2])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pyjwt_verifies_our_access_tokens() {
    let app = TestApp::spawn().await;
    let email = unique_email("interop");
    let password = strong_password();
    let id = app.register_verified(&email, &password).await;
    let tokens = app.login(&email, &password).await;

    let (code, stdout, stderr) = pyjwt_verify(&app, &tokens.access, "portcullis").await;
    assert_eq!(code, 0, "PyJWT refused our token:\n{stderr}\n{stdout}");
    let claims: Value = serde_json::from_str(stdout.trim()).expect("claims JSON");
    assert_eq!(claims["sub"], id.as_str(), "{claims}");
    assert_eq!(claims["sid"], tokens.session_id.as_str(), "{claims}");
    assert_eq!(claims["iss"], app.base.as_str(), "{claims}");
    assert_eq!(claims["aud"], "portcullis", "{claims}");
    assert!(
        !stdout.contains(&email),
        "the token carries the e-mail: {stdout}"
    );

    // Wrong audience: refused.
    let (code, _, stderr) = pyjwt_verify(&app, &tokens.access, "someone-else").await;
    assert_eq!(
        code, 1,
        "a token for another audience was accepted: {stderr}"
    );

    // Tampered claims with the original signature: refused.
    let escalated = with_payload(&tokens.access, |c| {
        c["roles"] = serde_json::json!(["admin"]);
    });
    let (code, _, stderr) = pyjwt_verify(&app, &escalated, "portcullis").await;
    assert_eq!(code, 1, "a tampered token was accepted: {stderr}");
    let other_user = with_payload(&tokens.access, |c| {
        c["sub"] = Value::String("acc_somebody_else".into());
    });
    let (code, _, _) = pyjwt_verify(&app, &other_user, "portcullis").await;
    assert_eq!(code, 1, "a token with a changed subject was accepted");
    // A flipped signature byte: refused.
    let mut sig = URL_SAFE_NO_PAD
        .decode(tokens.access.rsplit('.').next().unwrap())
        .expect("signature");
    sig[0] ^= 0x01;
    let (head, _) = tokens.access.rsplit_once('.').unwrap();
    let forged = format!("{head}.{}", URL_SAFE_NO_PAD.encode(sig));
    let (code, _, _) = pyjwt_verify(&app, &forged, "portcullis").await;
    assert_eq!(code, 1, "a token with a broken signature was accepted");

    // Our own server refuses the tampered tokens too.
    for bad in [&escalated, &forged] {
        app.get("/v1/me", Some(bad)).await.problem(401, None);
    }
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let inner: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
    let outer: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
    let ih = Sha256::new()
        .chain_update(&inner)
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(&outer)
        .chain_update(ih)
        .finalize()
        .to_vec()
}

/// Classic JWT forgeries: `alg: none`, and HS256 keyed with our public key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_algorithms_are_refused() {
    let app = TestApp::spawn().await;
    let email = unique_email("forger");
    let password = strong_password();
    app.register_verified(&email, &password).await;
    let tokens = app.login(&email, &password).await;
    let (head, rest) = tokens.access.split_once('.').unwrap();
    let payload = rest.split('.').next().unwrap();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(head).unwrap()).unwrap();
    assert_eq!(header["alg"], "EdDSA", "{header}");
    assert_eq!(header["typ"], "at+jwt", "{header}");
    let kid = header["kid"].as_str().expect("kid").to_owned();

    let jwks = app
        .get("/.well-known/jwks.json", None)
        .await
        .expect(200)
        .json();
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .expect("the token's key in the JWKS")
        .clone();
    let public = URL_SAFE_NO_PAD.decode(jwk["x"].as_str().unwrap()).unwrap();

    let encode = |v: Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(&v).unwrap());
    let none = format!(
        "{}.{payload}.",
        encode(serde_json::json!({ "alg": "none", "typ": "at+jwt", "kid": kid }))
    );
    let mut forged = vec![none];
    for key in [
        public.clone(),
        jwk["x"].as_str().unwrap().as_bytes().to_vec(),
        serde_json::to_vec(&jwk).unwrap(),
    ] {
        let h = encode(serde_json::json!({ "alg": "HS256", "typ": "at+jwt", "kid": kid }));
        let signing_input = format!("{h}.{payload}");
        let sig = URL_SAFE_NO_PAD.encode(hmac_sha256(&key, signing_input.as_bytes()));
        forged.push(format!("{signing_input}.{sig}"));
    }
    // An unsigned token with our claims, and a JWS with the signature of another message.
    let other = app.login(&email, &password).await;
    let other_sig = other.access.rsplit('.').next().unwrap();
    let service = app.service_caller().await;
    forged.push(format!("{head}.{payload}.{other_sig}"));

    for token in &forged {
        app.get("/v1/me", Some(token)).await.problem(401, None);
        let info = app.introspect(Some(&service), token).await;
        assert_eq!(
            info.expect(200).json(),
            serde_json::json!({ "active": false })
        );
        let (code, _, _) = pyjwt_verify(&app, token, "portcullis").await;
        assert_eq!(code, 1, "PyJWT accepted a forgery: {token}");
    }
}
