//! The resource server the targets attack: issuer keys, a real guard that fetched them as
//! JWKS, a fixed clock, and base tokens of every kind.

use super::*;

/// What every check runs against; built once per process by [`fixture`].
pub struct Fixture {
    /// The issuer's key set: the retired key, still published, and the active key.
    pub keys: TokenKeys,
    pub(crate) guard: Guard,
    pub(crate) rt: tokio::runtime::Runtime,
    /// Published keys by `kid`, for the independent signature check.
    pub(crate) published: HashMap<String, VerifyingKey>,
    pub(crate) active: SigningKey,
    pub(crate) retired: SigningKey,
    pub(crate) foreign: SigningKey,
    pub(crate) active_kid: String,
    pub(crate) retired_kid: String,
    pub(crate) foreign_kid: String,
    /// The active key's JWK `x` (base64url), what an HMAC key-confusion attack would use.
    pub(crate) active_x: String,
    /// Base tokens of every kind, by name; `token_mutate` edits one of them.
    pub bases: Vec<(&'static str, String)>,
}

/// The process-wide fixture.
///
/// # Panics
/// If it cannot be built (no loopback socket, the guard cannot fetch the key set): that is
/// a broken harness, not a finding.
pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(build_fixture)
}

pub(crate) fn claims() -> AccessClaims {
    AccessClaims {
        iss: ISS.to_owned(),
        sub: "acct_1".to_owned(),
        aud: AUD.to_owned(),
        exp: NOW + 300,
        iat: NOW,
        nbf: NOW,
        jti: "tok_1".to_owned(),
        sid: "sess_1".to_owned(),
        acr: "aal2".to_owned(),
        amr: vec!["pwd".to_owned(), "otp".to_owned()],
        roles: vec!["client".to_owned()],
        auth_time: NOW - 10,
        scope: None,
        cnf: None,
    }
}

pub(crate) fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub(crate) fn header_json(alg: &str, kid: &str) -> String {
    format!(r#"{{"typ":"at+jwt","alg":"{alg}","kid":"{kid}"}}"#)
}

pub(crate) fn signing_input(header: &str, claims: &AccessClaims) -> String {
    let payload = serde_json::to_vec(claims).expect("claims serialize");
    format!("{}.{}", b64(header), b64(payload))
}

pub(crate) fn ed25519_token(key: &SigningKey, header: &str, claims: &AccessClaims) -> String {
    let input = signing_input(header, claims);
    let sig = key.sign(input.as_bytes()).to_bytes();
    format!("{input}.{}", b64(sig))
}

pub(crate) fn hmac_sha256(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(msg);
    mac.finalize().into_bytes().to_vec()
}

/// Serves `body` as `application/json` to every HTTP request on a loopback port, from a
/// detached thread; returns the URL.
pub(crate) fn serve_jwks(body: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let addr = listener.local_addr().expect("local address");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(match stream.try_clone() {
                Ok(s) => s,
                Err(_) => continue,
            });
            let mut line = String::new();
            // Read the request head, up to the blank line.
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
                if line == "\r\n" || line == "\n" {
                    break;
                }
                line.clear();
            }
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://{addr}/.well-known/jwks.json")
}

pub(crate) fn build_fixture() -> Fixture {
    let mut keys = TokenKeys::generate(RETIRED_SEED, NOW - 3600).expect("retired key");
    let retired_kid = keys.active_kid().to_owned();
    keys.rotate(ACTIVE_SEED, NOW - 600).expect("rotate");
    let active_kid = keys.active_kid().to_owned();
    let foreign_kid = TokenKeys::generate(FOREIGN_SEED, NOW)
        .expect("foreign key")
        .active_kid()
        .to_owned();
    let jwks = keys.jwks();
    assert_eq!(jwks.keys.len(), 2, "retired and active keys are published");

    let published: HashMap<String, VerifyingKey> = jwks
        .keys
        .iter()
        .map(|jwk| {
            let x: [u8; 32] = URL_SAFE_NO_PAD
                .decode(&jwk.x)
                .expect("x is base64url")
                .try_into()
                .expect("x is 32 bytes");
            let key = VerifyingKey::from_bytes(&x).expect("x is a point");
            (jwk.kid.clone(), key)
        })
        .collect();
    let active_x = jwks
        .keys
        .iter()
        .find(|k| k.kid == active_kid)
        .expect("active key published")
        .x
        .clone();

    let url = serve_jwks(serde_json::to_string(&jwks).expect("JWKS serializes"));
    // The key set is fetched once below; unknown kids and age never trigger another fetch.
    let config = GuardConfig::builder(ISS, AUD, url)
        .leeway(Duration::from_secs(LEEWAY.unsigned_abs()))
        .min_refresh_interval(Duration::from_secs(365 * 24 * 3600))
        .refresh_interval(Duration::from_secs(365 * 24 * 3600))
        .cache_capacity(512)
        .build();
    let guard = Guard::new(config).expect("guard").with_clock(|| NOW);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(guard.jwks().refresh())
        .expect("the guard fetches the JWKS from the loopback server");
    let mut held = guard.jwks().kids();
    held.sort();
    let mut want: Vec<String> = published.keys().cloned().collect();
    want.sort();
    assert_eq!(held, want, "the guard holds exactly the published keys");

    let active = SigningKey::from_bytes(&ACTIVE_SEED);
    let retired = SigningKey::from_bytes(&RETIRED_SEED);
    let foreign = SigningKey::from_bytes(&FOREIGN_SEED);
    let good = |c: AccessClaims| keys.sign(&c).expect("sign");
    let active_header = header_json("EdDSA", &active_kid);
    let none_header = header_json("none", &active_kid);
    let hs_header = header_json("HS256", &active_kid);
    let hs_input = signing_input(&hs_header, &claims());
    let bases = vec![
        ("valid", good(claims())),
        (
            "valid_retired_key",
            ed25519_token(&retired, &header_json("EdDSA", &retired_kid), &claims()),
        ),
        (
            "expired",
            good(AccessClaims {
                exp: NOW - LEEWAY - 1,
                ..claims()
            }),
        ),
        (
            "not_yet_valid",
            good(AccessClaims {
                nbf: NOW + LEEWAY + 1,
                ..claims()
            }),
        ),
        (
            "wrong_audience",
            good(AccessClaims {
                aud: "https://other.example".to_owned(),
                ..claims()
            }),
        ),
        (
            "wrong_issuer",
            good(AccessClaims {
                iss: "https://evil.example".to_owned(),
                ..claims()
            }),
        ),
        (
            "foreign_key",
            ed25519_token(&foreign, &header_json("EdDSA", &foreign_kid), &claims()),
        ),
        (
            "bad_signature",
            ed25519_token(&foreign, &active_header, &claims()),
        ),
        (
            "alg_none",
            format!("{}.", signing_input(&none_header, &claims())),
        ),
        (
            "hs256_public_key",
            format!(
                "{hs_input}.{}",
                b64(hmac_sha256(active_x.as_bytes(), hs_input.as_bytes()))
            ),
        ),
        (
            "service_account",
            good(AccessClaims {
                roles: vec![],
                amr: vec![],
                scope: Some("ledger:read ledger:write".to_owned()),
                ..claims()
            }),
        ),
        (
            "extreme_window",
            good(AccessClaims {
                exp: i64::MAX,
                nbf: i64::MIN,
                iat: i64::MIN,
                auth_time: i64::MAX,
                ..claims()
            }),
        ),
    ];

    Fixture {
        keys,
        guard,
        rt,
        published,
        active,
        retired,
        foreign,
        active_kid,
        retired_kid,
        foreign_kid,
        active_x,
        bases,
    }
}
