//! `forward_auth`: the inputs of `GET /v1/forward-auth`. [`ForwardAuthInput`] is built by the
//! fuzzer (`arbitrary`): a set of `[forward_auth]` rules (kept only when they validate, as
//! the server refuses to start otherwise), the proxy's headers (`X-Forwarded-*`,
//! `X-Original-*`, `Authorization`, `Cookie`) as raw bytes, and what the token proved, if
//! anything: the claims of a session. Texts are drawn from small vocabularies of the values
//! that matter (hosts with wildcards and ports, paths with dot segments and escapes, methods
//! in both cases) or given raw.
//!
//! The route's own steps run as it runs them: `Original::from_headers`, the rule look-up
//! (`ForwardAuthConfig::find`), the token's look-up (`bearer_or_cookie`) and the verdict
//! (`judge`). Asserted: nothing panics; no rule that is not public lets a request through
//! without a session, or with one that lacks a role, a strong enough `acr` or a fresh enough
//! `auth_time`; a request through a rule with an identity goes to that rule's audience; a
//! request with neither `Authorization` nor `Cookie` has no token; the first covering rule
//! governs (no earlier rule covers the request); hosts and methods match whatever their case,
//! the query never matters, and a path with a `.` or `..` segment matches nothing.

use std::time::Duration;

use arbitrary::Arbitrary;
use http::{HeaderMap, HeaderName, HeaderValue};
use portcullis_core::token::AccessClaims;
use portcullis_core::token::requirement;
use portcullis_server::fuzzing::{
    Denial, ForwardAuthConfig, Original, Rule, ServiceError, bearer_or_cookie, judge,
};

/// The clock of the verdict, unix seconds.
const NOW: i64 = 1_800_000_000;
/// The access cookie's name on HTTPS (`__Host-`) and on plain HTTP.
const ACCESS_COOKIES: [&str; 2] = ["__Host-portcullis_at", "portcullis_at"];

const HOSTS: &[&str] = &[
    "example.com",
    "*.example.com",
    "api.example.com",
    "a.b.example.com",
    "EXAMPLE.com",
    "example.com:8443",
    "api.example.com.",
    "[::1]",
    "[::1]:443",
    "xexample.com",
    ".example.com",
    "",
];
const PATHS: &[&str] = &[
    "/",
    "/api",
    "/api/",
    "/api/v1",
    "/apix",
    "/public",
    "/admin",
    "/%61pi",
    "/api/../admin",
    "/public/%2e%2e/admin",
    "/api//v1",
    "/a%2Fb",
    "/api?x=/admin",
    "/api#/admin",
    "https://example.com/admin",
    "/api%00",
    "/api\\admin",
    "/%zz",
    "/caf%C3%A9",
    "",
];
const METHODS: &[&str] = &["GET", "get", "POST", "DELETE", "OPTIONS", ""];
const ROLES: &[&str] = &["admin", "user", "ops", ""];
const ACRS: &[&str] = &["aal1", "aal2", "aal3", "aal0", "aal01", "x"];
const AUTHORIZATIONS: &[&str] = &[
    "Bearer tok",
    "bearer  tok ",
    "BEARER tok",
    "Basic dXNlcjpwdw==",
    "Bearer",
    "Bearer ",
    "Bearertok",
];
const COOKIES: &[&str] = &[
    "portcullis_at=tok",
    "__Host-portcullis_at=tok",
    "a=b; portcullis_at=\"tok\"",
    "portcullis_at=",
    "portcullis_at",
    "portcullis_rt=tok",
];

/// A text from a vocabulary (by index, wrapping) or raw.
#[derive(Arbitrary, Debug)]
pub enum Text {
    /// `vocabulary[index % len]`.
    Known(u8),
    /// As given.
    Raw(String),
}

impl Text {
    fn get(&self, vocabulary: &[&str]) -> String {
        match self {
            Text::Known(i) => vocabulary[usize::from(*i) % vocabulary.len()].to_owned(),
            Text::Raw(s) => s.clone(),
        }
    }
}

/// One `[[forward_auth.rules]]` entry.
#[derive(Arbitrary, Debug)]
pub struct RuleInput {
    host: Option<Text>,
    path_prefix: Text,
    methods: Vec<Text>,
    audience: Option<Text>,
    roles: Vec<Text>,
    acr: Option<Text>,
    max_age: Option<i64>,
    public: bool,
}

/// The headers the proxy can send.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Slot {
    /// `X-Forwarded-Method`.
    ForwardedMethod,
    /// `X-Original-Method`.
    OriginalMethod,
    /// `X-Forwarded-Host`.
    ForwardedHost,
    /// `X-Forwarded-Uri`.
    ForwardedUri,
    /// `X-Original-URI`.
    OriginalUri,
    /// `Authorization`.
    Authorization,
    /// `Cookie`.
    Cookie,
}

impl Slot {
    fn name(self) -> &'static str {
        match self {
            Slot::ForwardedMethod => "x-forwarded-method",
            Slot::OriginalMethod => "x-original-method",
            Slot::ForwardedHost => "x-forwarded-host",
            Slot::ForwardedUri => "x-forwarded-uri",
            Slot::OriginalUri => "x-original-uri",
            Slot::Authorization => "authorization",
            Slot::Cookie => "cookie",
        }
    }

    fn vocabulary(self) -> &'static [&'static str] {
        match self {
            Slot::ForwardedMethod | Slot::OriginalMethod => METHODS,
            Slot::ForwardedHost => HOSTS,
            Slot::ForwardedUri | Slot::OriginalUri => PATHS,
            Slot::Authorization => AUTHORIZATIONS,
            Slot::Cookie => COOKIES,
        }
    }
}

/// What a token that verified proved.
#[derive(Arbitrary, Debug)]
pub struct SessionInput {
    roles: Vec<Text>,
    acr: Text,
    /// Seconds since the authentication (negative: a clock ahead).
    auth_age: i64,
}

/// One proxied request and the rules that judge it.
#[derive(Arbitrary, Debug)]
pub struct ForwardAuthInput {
    rules: Vec<RuleInput>,
    headers: Vec<(Slot, Text)>,
    /// Whether the server is on HTTPS (the cookie's `__Host-` name).
    https: bool,
    /// The token verified, as this session (else it did not, or there was none).
    session: Option<SessionInput>,
}

fn rule(input: &RuleInput) -> Rule {
    let all = |texts: &[Text], vocabulary| texts.iter().map(|t| t.get(vocabulary)).collect();
    Rule {
        host: input.host.as_ref().map(|t| t.get(HOSTS)),
        path_prefix: input.path_prefix.get(PATHS),
        methods: all(&input.methods, METHODS),
        audience: input
            .audience
            .as_ref()
            .map(|t| t.get(&["svc", "ledger", ""])),
        roles: all(&input.roles, ROLES),
        acr: input.acr.as_ref().map(|t| t.get(ACRS)),
        max_age: input.max_age,
        public: input.public,
    }
}

fn claims(session: &SessionInput) -> AccessClaims {
    AccessClaims {
        iss: "https://auth.example".into(),
        sub: "account".into(),
        aud: "portcullis".into(),
        exp: NOW + 300,
        iat: NOW,
        nbf: NOW,
        jti: "jti".into(),
        sid: "session".into(),
        acr: session.acr.get(ACRS),
        amr: vec!["pwd".into()],
        roles: session.roles.iter().map(|t| t.get(ROLES)).collect(),
        auth_time: NOW.saturating_sub(session.auth_age),
        scope: None,
        cnf: None,
    }
}

/// Runs one request through the route's steps and checks the verdict.
pub fn check(input: &ForwardAuthInput) {
    let config = ForwardAuthConfig {
        token_ttl: Duration::from_secs(60),
        rules: input.rules.iter().take(8).map(rule).collect(),
    };
    if config.validate().is_err() {
        return;
    }
    let mut headers = HeaderMap::new();
    for (slot, text) in input.headers.iter().take(16) {
        if let Ok(value) = HeaderValue::from_bytes(text.get(slot.vocabulary()).as_bytes()) {
            headers.append(HeaderName::from_static(slot.name()), value);
        }
    }
    let original = Original::from_headers(&headers);
    let found = config.find(original.method, original.host, original.uri);
    check_matching(&config, original, found);
    let token = bearer_or_cookie(&headers, ACCESS_COOKIES[usize::from(!input.https)]);
    if !headers.contains_key("authorization") && !headers.contains_key("cookie") {
        assert_eq!(token, None, "a token out of nowhere");
    }
    let Some(rule) = found else {
        return;
    };
    let session = match (&token, &input.session) {
        (Some(_), Some(session)) => Some(claims(session)),
        // A token that does not verify: the route refuses it on a rule that is not public.
        (Some(_), None) if !rule.public => return,
        _ => None,
    };
    check_verdict(rule, session.as_ref());
}

fn check_verdict(rule: &Rule, claims: Option<&AccessClaims>) {
    let verdict = judge(rule, claims, NOW);
    let meets = claims.map(|c| {
        requirement::check(c, &rule.roles, rule.acr.as_deref(), rule.max_age, NOW).is_ok()
    });
    match verdict {
        Ok(Some(audience)) => {
            assert_eq!(
                meets,
                Some(true),
                "an identity for a session that fails the rule"
            );
            assert_eq!(rule.audience.as_deref(), Some(audience));
        }
        Ok(None) => assert!(
            rule.public,
            "a protected rule let a request through anonymously"
        ),
        Err(Denial::Refused(ServiceError::Unauthenticated(_))) => {
            assert!(!rule.public && claims.is_none());
        }
        Err(denial) => {
            assert!(!rule.public, "a public rule refused: {denial:?}");
            assert_eq!(
                meets,
                Some(false),
                "a session that meets the rule was refused"
            );
        }
    }
    if claims.is_none() && !rule.public {
        assert!(judge(rule, None, NOW).is_err());
    }
}

/// First match wins; case, port-less spelling and the query do not change the match; dot
/// segments match nothing.
fn check_matching(config: &ForwardAuthConfig, original: Original<'_>, found: Option<&Rule>) {
    let Original {
        method, host, uri, ..
    } = original;
    let index = found.map(|r| {
        config
            .rules
            .iter()
            .position(|c| std::ptr::eq(c, r))
            .expect("the rule found is one of the rules")
    });
    if let Some(i) = index {
        let earlier = ForwardAuthConfig {
            token_ttl: config.token_ttl,
            rules: config.rules[..i].to_vec(),
        };
        assert!(
            earlier.find(method, host, uri).is_none(),
            "an earlier rule covers the request, yet rule {i} governs it"
        );
    }
    let same = |method: Option<&str>, host: &str, uri: &str| {
        let other = config.find(method, host, uri);
        let at = other.and_then(|r| config.rules.iter().position(|c| std::ptr::eq(c, r)));
        assert_eq!(at, index, "{method:?} {host:?} {uri:?} matched otherwise");
    };
    same(method, &host.to_ascii_uppercase(), uri);
    same(method.map(str::to_ascii_lowercase).as_deref(), host, uri);
    same(method, host, &format!("{uri}?q=/admin/../x"));
    let path = uri.split(['?', '#']).next().unwrap_or_default();
    if path.starts_with('/') && path.split('/').any(|s| s == "." || s == "..") {
        assert_eq!(index, None, "a path with dot segments matched a rule");
    }
}
