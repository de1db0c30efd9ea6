//! Loading, validation and the printed configuration's round trip.
#![allow(clippy::unwrap_used, clippy::result_large_err)]

use super::*;
use portcullis_core::login::FactorKind;
use secrecy::ExposeSecret;
use std::path::Path;
use std::time::Duration;

#[test]
fn defaults_are_valid() {
    figment::Jail::expect_with(|_| {
        let c = Config::load(None).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert!(c.database_url().expose_secret().starts_with("sqlite://"));
        Ok(())
    });
}

#[test]
fn env_overrides_and_unknown_keys_are_named() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("PORTCULLIS_LISTEN", "127.0.0.1:9999");
        jail.set_env("PORTCULLIS_TOKENS__ACCESS_TTL_SECS", "60");
        let c = Config::load(None).unwrap();
        assert_eq!(c.listen.port(), 9999);
        assert_eq!(c.tokens.access_ttl, Duration::from_secs(60));
        jail.set_env("PORTCULLIS_TOKENS__ACCES_TTL", "60");
        let err = Config::load(None).unwrap_err().to_string();
        assert!(err.contains("acces_ttl"), "{err}");
        Ok(())
    });
}

#[test]
fn cli_and_test_variables_are_not_config_keys() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("PORTCULLIS_USER_PASSWORD", "x");
        jail.set_env("PORTCULLIS_TEST_PG_URL", "postgres://x");
        jail.set_env("PORTCULLIS_CONFIG", "none.toml");
        jail.set_env("PORTCULLIS_FUZZ_SECONDS", "5");
        jail.set_env("PORTCULLIS_FUZZ_SANITIZER", "address");
        jail.set_env("PORTCULLIS_SCHEMATHESIS_EXAMPLES", "150");
        jail.set_env("PORTCULLIS_SCHEMATHESIS_SEED", "42");
        jail.set_env("PORTCULLIS_TEST_SKIP_LINT", "1");
        assert!(Config::load(None).is_ok());
        Ok(())
    });
}

#[test]
fn bad_values_name_the_key() {
    figment::Jail::expect_with(|jail| {
        jail.create_file("p.toml", "[tokens]\naccess_ttl_secs = \"soon\"\n")?;
        let err = Config::load(Some(Path::new("p.toml")))
            .unwrap_err()
            .to_string();
        assert!(err.contains("tokens.access_ttl_secs"), "{err}");
        jail.create_file("q.toml", "[tokens]\naccess_ttl_secs = -5\n")?;
        let err = Config::load(Some(Path::new("q.toml")))
            .unwrap_err()
            .to_string();
        assert!(err.contains("tokens.access_ttl_secs"), "{err}");
        Ok(())
    });
}

#[test]
fn typed_values_are_checked_where_they_are_read() {
    figment::Jail::expect_with(|jail| {
        for (file, key) in [
            ("[tokens]\naccess_ttl_secs = 0\n", "tokens.access_ttl_secs"),
            ("public_url = \"ftp://example.com\"\n", "public_url"),
            ("public_url = \"not a url\"\n", "public_url"),
            (
                "[webauthn]\norigins = [\"example.com\"]\n",
                "webauthn.origins",
            ),
            (
                "[cluster]\nredis_timeout_ms = 0\n",
                "cluster.redis_timeout_ms",
            ),
            ("[dualconfirm]\ngrace_secs = 60\n", "dualconfirm.grace_secs"),
            // 16·15·14·13·12 patterns are fewer than a six-digit code's 10^6.
            ("[pattern_otp]\ndots = 5\n", "pattern_otp.dots"),
            ("[pattern_otp]\ndots = 3\n", "pattern_otp.dots"),
            ("[pattern_otp]\ngrid_size = 9\n", "pattern_otp.grid_size"),
            (
                "[connections]\nheader_read_timeout_secs = 0\n",
                "connections.header_read_timeout_secs",
            ),
            (
                "[connections]\nidle_timeout_secs = 0\n",
                "connections.idle_timeout_secs",
            ),
            (
                "[connections]\nbody_read_timeout_secs = 0\n",
                "connections.body_read_timeout_secs",
            ),
            ("[connections]\nmax_total = 0\n", "connections.max_total"),
            (
                "[connections]\nmax_per_ip = 5000\nmax_total = 100\n",
                "connections.max_per_ip",
            ),
            (
                "[[forward_auth.rules]]\npath_prefix = \"api\"\naudience = \"a\"\n",
                "forward_auth.rules[0].path_prefix",
            ),
            (
                "[[forward_auth.rules]]\naudience = \"ledger\"\n\
                 [[forward_auth.rules]]\naudience = \"portcullis\"\n",
                "forward_auth.rules[1].audience",
            ),
            (
                "audience = \"auth\"\n[[forward_auth.rules]]\naudience = \"auth\"\n",
                "forward_auth.rules[0].audience",
            ),
        ] {
            jail.create_file("c.toml", file)?;
            let err = Config::load(Some(Path::new("c.toml")))
                .unwrap_err()
                .to_string();
            assert!(err.contains(key), "{file}: {err}");
        }
        jail.create_file("ok.toml", "[cluster]\nrevocation_poll_ms = 20\n")?;
        let c = Config::load(Some(Path::new("ok.toml"))).unwrap();
        assert_eq!(c.cluster.revocation_poll, Duration::from_millis(20));
        Ok(())
    });
}

#[test]
fn connection_limits_have_defaults_and_come_from_the_file_and_environment() {
    figment::Jail::expect_with(|jail| {
        let c = Config::load(None).unwrap();
        assert_eq!(c.connections.header_read_timeout, Duration::from_secs(10));
        assert_eq!(c.connections.idle_timeout, Duration::from_secs(60));
        assert_eq!(c.connections.body_read_timeout, Duration::from_secs(30));
        assert_eq!(
            (c.connections.max_per_ip, c.connections.max_total),
            (256, 16_384)
        );
        jail.create_file(
            "c.toml",
            "[connections]\nheader_read_timeout_secs = 5\nidle_timeout_secs = 75\n\
             max_per_ip = 4096\n",
        )?;
        jail.set_env("PORTCULLIS_CONNECTIONS__MAX_TOTAL", "8192");
        jail.set_env("PORTCULLIS_CONNECTIONS__BODY_READ_TIMEOUT_SECS", "20");
        let c = Config::load(Some(Path::new("c.toml"))).unwrap();
        assert_eq!(c.connections.header_read_timeout, Duration::from_secs(5));
        assert_eq!(c.connections.idle_timeout, Duration::from_secs(75));
        assert_eq!(c.connections.body_read_timeout, Duration::from_secs(20));
        assert_eq!(
            (c.connections.max_per_ip, c.connections.max_total),
            (4096, 8192)
        );
        jail.set_env("PORTCULLIS_CONNECTIONS__MAX_PER_IP", "-1");
        let err = Config::load(None).unwrap_err().to_string();
        assert!(err.contains("connections.max_per_ip"), "{err}");
        Ok(())
    });
}

#[test]
fn secrets_are_redacted() {
    let mut c = Config::default();
    c.mail.smtp_password = Some(Secret::from("hunter2-secret"));
    c.redis_url = Some(SecretUrl::from("redis://:sesame-open@cache:6379/"));
    let shown = c.to_redacted_toml().unwrap();
    assert!(!shown.contains("hunter2"));
    assert!(!shown.contains("sesame"), "{shown}");
    assert_eq!(shown.matches("<redacted>").count(), 2, "{shown}");
    assert!(
        !format!("{c:?}").contains("sesame"),
        "Debug shows the Redis password"
    );
}

#[test]
fn the_database_password_is_neither_printed_nor_debugged() {
    let c = Config {
        database_url: Some(SecretUrl::from(
            "postgres://app:Pg-pass-77@db.example:5432/portcullis",
        )),
        ..Config::default()
    };
    let shown = c.to_redacted_toml().unwrap();
    assert!(!shown.contains("Pg-pass-77"), "{shown}");
    assert!(
        shown.contains("database_url = \"postgres://app:<redacted>@db.example:5432/portcullis\""),
        "{shown}"
    );
    let debug = format!("{c:?}");
    assert!(!debug.contains("Pg-pass-77"), "{debug}");
    assert!(!format!("{:?}", c.database_url()).contains("Pg-pass-77"));
}

#[test]
fn redis_comes_from_portcullis_redis_url_and_is_checked() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("PORTCULLIS_REDIS_URL", "redis://127.0.0.1:6379/");
        jail.set_env("PORTCULLIS_CLUSTER__REVOCATION_POLL_MS", "250");
        let c = Config::load(None).unwrap();
        assert_eq!(
            c.redis_url.as_ref().map(|u| u.expose_secret().to_owned()),
            Some("redis://127.0.0.1:6379/".to_owned())
        );
        assert_eq!(c.cluster.revocation_poll, Duration::from_millis(250));
        jail.set_env("PORTCULLIS_REDIS_URL", "http://127.0.0.1:6379/");
        let err = Config::load(None).unwrap_err().to_string();
        assert!(err.contains("redis_url"), "{err}");
        jail.set_env("PORTCULLIS_REDIS_URL", "redis://127.0.0.1:6379/");
        jail.set_env("PORTCULLIS_CLUSTER__REVOCATION_POLL_MS", "0");
        let err = Config::load(None).unwrap_err().to_string();
        assert!(err.contains("cluster.revocation_poll_ms"), "{err}");
        Ok(())
    });
}

/// A `redis_url` that is not a URL was accepted (it starts with `redis://`), then printed
/// as `<redacted>`, which does not load. Found by the `config` fuzz target.
#[test]
fn a_redis_url_must_be_a_url_and_a_printed_one_loads_back() {
    let err = Config::from_toml(r#"redis_url = "redis://:hunter2@cache:637crape-me""#)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("redis_url") && !err.contains("hunter2"),
        "{err}"
    );
    let config = Config::from_toml(r#"redis_url = "redis://:hunter2@cache:6379/0""#).unwrap();
    let printed = config.to_redacted_toml().unwrap();
    assert!(!printed.contains("hunter2"), "{printed}");
    let loaded = Config::from_toml(&printed).unwrap();
    assert_eq!(loaded.to_redacted_toml().unwrap(), printed);
}

/// A configuration using every kind of value: quoted keys, lists of tables, optional
/// sections, URLs, durations in seconds and milliseconds.
fn everything() -> Config {
    let mut c = Config {
        database_url: Some(SecretUrl::from("postgres://app@db.example/portcullis")),
        redis_url: Some(SecretUrl::from("redis://127.0.0.1:6379/")),
        public_url: Some("https://auth.example.com/".parse().unwrap()),
        log_format: LogFormat::Json,
        ..Config::default()
    };
    c.tokens.access_ttl = Duration::from_secs(123);
    c.login.required_factors.insert("*".into(), 2);
    c.login.required_factors.insert("ops team".into(), 3);
    c.login
        .mfa_factors
        .insert("admin".into(), vec![FactorKind::Passkey, FactorKind::Totp]);
    c.tls = Some(TlsConfig {
        cert_file: "/etc/portcullis/cert.pem".into(),
        key_file: "/etc/portcullis/key.pem".into(),
    });
    c.cors.allowed_origins = vec!["https://app.example.com".into()];
    c.webauthn.origins = vec!["https://app.example.com".parse().unwrap()];
    c.sms.provider = SmsProvider::Webhook;
    c.sms.webhook_url = Some("https://hooks.example.com/sms".parse().unwrap());
    c.forward_auth.rules = vec![
        Rule {
            host: Some("*.example.com".into()),
            path_prefix: "/api".into(),
            methods: vec!["GET".into(), "POST".into()],
            audience: Some("api".into()),
            roles: vec!["reader".into()],
            acr: Some("aal2".into()),
            max_age: Some(600),
            public: false,
        },
        Rule {
            host: None,
            path_prefix: "/".into(),
            methods: Vec::new(),
            audience: None,
            roles: Vec::new(),
            acr: None,
            max_age: None,
            public: true,
        },
    ];
    c.cluster.revocation_poll = Duration::from_millis(750);
    c.connections.idle_timeout = Duration::from_secs(90);
    c.connections.max_per_ip = 4096;
    c.chain = ChainConfig {
        rpc_url: Some("http://127.0.0.1:8545/".into()),
        chain_id: Some(31337),
    };
    c.ledger.backend = LedgerBackend::Evm;
    c.ledger.evm.auth_contract = Some("0x5FbDB2315678afecb367f032d93F642f64180aa3".into());
    c.ledger.evm.req_contract = Some("0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512".into());
    c.ledger.evm.start_block = 7;
    c
}

#[test]
fn the_evm_ledger_backend_needs_a_chain_and_both_contracts() {
    figment::Jail::expect_with(|jail| {
        jail.create_file("e.toml", "[ledger]\nbackend = \"evm\"\n")?;
        let err = Config::load(Some(Path::new("e.toml")))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("ledger.backend") && err.contains("[chain]"),
            "{err}"
        );
        jail.create_file(
            "f.toml",
            "[chain]\nrpc_url = \"http://127.0.0.1:8545\"\nchain_id = 31337\n\
             [ledger]\nbackend = \"evm\"\n[ledger.evm]\nauth_contract = \"0x12\"\n",
        )?;
        let err = Config::load(Some(Path::new("f.toml")))
            .unwrap_err()
            .to_string();
        assert!(err.contains("ledger.evm.auth_contract"), "{err}");
        jail.set_env(
            "PORTCULLIS_LEDGER__EVM__AUTH_CONTRACT",
            "0x5FbDB2315678afecb367f032d93F642f64180aa3",
        );
        let err = Config::load(Some(Path::new("f.toml")))
            .unwrap_err()
            .to_string();
        assert!(err.contains("ledger.evm.req_contract"), "{err}");
        jail.set_env(
            "PORTCULLIS_LEDGER__EVM__REQ_CONTRACT",
            "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
        );
        let c = Config::load(Some(Path::new("f.toml"))).unwrap();
        assert_eq!(c.ledger.backend, LedgerBackend::Evm);
        assert_eq!(c.chain.chain_id, Some(31337));
        // The default backend needs neither.
        assert_eq!(Config::default().ledger.backend, LedgerBackend::Embedded);
        Ok(())
    });
}

#[test]
fn the_printed_configuration_loads_back_unchanged() {
    for config in [Config::default(), everything()] {
        let printed = config.to_redacted_toml().unwrap();
        figment::Jail::expect_with(|jail| {
            jail.create_file("printed.toml", &printed)?;
            let loaded = Config::load(Some(Path::new("printed.toml")))
                .map_err(|e| format!("{e}\n{printed}"))?;
            assert_eq!(loaded, config, "{printed}");
            Ok(())
        });
    }
}

#[test]
fn a_printed_configuration_with_secrets_still_loads() {
    let mut config = everything();
    config.mail.smtp_password = Some(Secret::from("hunter2"));
    config.database_url = Some(SecretUrl::from("postgres://app:pw@db/portcullis"));
    let printed = config.to_redacted_toml().unwrap();
    figment::Jail::expect_with(|jail| {
        jail.create_file("printed.toml", &printed)?;
        let loaded = Config::load(Some(Path::new("printed.toml"))).unwrap();
        assert_eq!(loaded.mail.smtp_password, Some(Secret::from(REDACTED)));
        assert_eq!(loaded.forward_auth, config.forward_auth);
        Ok(())
    });
}
