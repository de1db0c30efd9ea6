//! Serving HTTPS with rustls: a real TLS client connects with our certificate as its root, and
//! the responses carry HSTS.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use portcullis_server::config::{Config, TlsConfig};

#[tokio::test]
async fn serves_https_with_hsts() {
    let dir = tempfile::tempdir().unwrap();
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert_pem = certified.cert.pem();
    let cert_file = dir.path().join("cert.pem");
    let key_file = dir.path().join("key.pem");
    std::fs::write(&cert_file, &cert_pem).unwrap();
    std::fs::write(&key_file, certified.signing_key.serialize_pem()).unwrap();

    let config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().join("data"),
        tls: Some(TlsConfig {
            cert_file,
            key_file,
        }),
        ..Config::default()
    };
    let server = portcullis_server::start(config).await.unwrap();
    assert!(server.url().starts_with("https://"));

    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert_pem.as_bytes()).unwrap())
        .resolve("localhost", server.addr)
        .build()
        .unwrap();
    let url = format!("https://localhost:{}/health", server.addr.port());
    let response = client.get(&url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let hsts = response.headers().get("strict-transport-security").unwrap();
    assert!(hsts.to_str().unwrap().contains("max-age="));

    // The issuer in tokens and JWKS is the https URL.
    let jwks: serde_json::Value = client
        .get(format!(
            "https://localhost:{}/.well-known/jwks.json",
            server.addr.port()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks["keys"][0]["alg"], "EdDSA");

    // Plain HTTP on the TLS port gets no HTTP answer.
    let plain = reqwest::Client::new()
        .get(format!("http://{}/health", server.addr))
        .timeout(std::time::Duration::from_secs(5))
        .send()
        .await;
    assert!(plain.is_err() || plain.unwrap().status() != 200);

    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_missing_certificate_fails_at_start_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().join("data"),
        tls: Some(TlsConfig {
            cert_file: dir.path().join("absent.pem"),
            key_file: dir.path().join("absent-key.pem"),
        }),
        ..Config::default()
    };
    let err = portcullis_server::start(config).await.err().unwrap();
    assert!(format!("{err:#}").contains("tls.cert_file"), "{err:#}");
}
