//! Forward authentication for reverse proxies (nginx `auth_request`, Traefik ForwardAuth):
//! which rule governs an original request, whether a verified session satisfies it, and the
//! short-lived internal token handed to the upstream.
//!
//! Rules are matched in order and the first match wins; a request no rule matches is refused
//! (deny by default). Paths are normalised before matching (percent-decoded, repeated slashes
//! collapsed) and a path with `.`/`..` segments matches nothing, so `/public/../admin` cannot
//! borrow a public rule. The rules here are pure, as they run on every proxied request;
//! [`decide`] adds the one I/O, the session look-up (through the verified-session cache), and
//! the route mints the internal token.

pub mod decide;

use portcullis_core::token::AccessClaims;
use portcullis_core::token::requirement::{self, Shortfall};

pub use crate::config::{ForwardAuthConfig, Rule};

impl ForwardAuthConfig {
    /// The first rule covering `method host uri`, or `None` (deny).
    pub fn find(&self, method: Option<&str>, host: &str, uri: &str) -> Option<&Rule> {
        let path = normalize_path(uri)?;
        let host = strip_port(host).to_ascii_lowercase();
        self.rules
            .iter()
            .find(|r| r.covers_host(&host) && r.covers_path(&path) && r.covers_method(method))
    }
}

impl Rule {
    fn covers_host(&self, host: &str) -> bool {
        let Some(want) = &self.host else { return true };
        let want = want.to_ascii_lowercase();
        match want.strip_prefix("*.") {
            Some(domain) => host
                .strip_suffix(domain)
                .is_some_and(|sub| sub.len() > 1 && sub.ends_with('.')),
            None => host == want,
        }
    }

    fn covers_path(&self, path: &str) -> bool {
        let prefix = &self.path_prefix;
        match path.strip_prefix(prefix.as_str()) {
            Some(rest) => prefix.ends_with('/') || rest.is_empty() || rest.starts_with('/'),
            None => false,
        }
    }

    fn covers_method(&self, method: Option<&str>) -> bool {
        self.methods.is_empty()
            || method.is_some_and(|m| self.methods.iter().any(|w| w.eq_ignore_ascii_case(m)))
    }

    /// Whether `claims` (of a live session) satisfy the rule at `now`.
    ///
    /// # Errors
    /// [`Refusal::MissingRole`] before [`Refusal::StepUp`]: a step-up cannot grant a role.
    pub fn check(&self, claims: &AccessClaims, now: i64) -> Result<(), Refusal> {
        match requirement::check(claims, &self.roles, self.acr.as_deref(), self.max_age, now) {
            Ok(()) => Ok(()),
            Err(Shortfall::MissingRole) => Err(Refusal::MissingRole),
            Err(Shortfall::WeakAcr | Shortfall::TooOld) => Err(Refusal::StepUp {
                acr: self.acr.clone(),
                max_age: self.max_age,
            }),
        }
    }
}

/// Why a verified session does not pass a rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// A required role is missing (403).
    MissingRole,
    /// The authentication is too weak or too old (401, RFC 9470).
    StepUp {
        /// Least acceptable `acr`.
        acr: Option<String>,
        /// Largest acceptable authentication age.
        max_age: Option<i64>,
    },
}

impl Refusal {
    /// The RFC 9470 `WWW-Authenticate` challenge of a step-up refusal.
    pub fn challenge(&self) -> Option<String> {
        let Refusal::StepUp { acr, max_age } = self else {
            return None;
        };
        Some(requirement::step_up_challenge(
            "A stronger or fresher authentication is required",
            acr.as_deref(),
            *max_age,
        ))
    }
}

/// The internal token for the upstream: the session's identity with the rule's audience and
/// a short lifetime (never beyond the presented token's own expiry).
pub fn internal_claims(
    claims: &AccessClaims,
    audience: &str,
    ttl_secs: i64,
    now: i64,
    jti: String,
) -> AccessClaims {
    AccessClaims {
        aud: audience.to_owned(),
        exp: claims.exp.min(now + ttl_secs),
        iat: now,
        nbf: now,
        jti,
        ..claims.clone()
    }
}

fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        // [v6]:port
        return host
            .split_once(']')
            .map_or(host, |(h, _)| &host[..=h.len()]);
    }
    host.rsplit_once(':').map_or(host, |(h, _)| h)
}

/// The path of `uri` (query and fragment dropped), percent-decoded, with repeated slashes
/// collapsed; `None` for dot segments, backslashes, NULs or bad encoding.
fn normalize_path(uri: &str) -> Option<String> {
    let raw = uri.split(['?', '#']).next().unwrap_or_default();
    // An absolute-form request target: keep only its path.
    let raw = match raw.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => raw,
    };
    if !raw.starts_with('/') {
        return None;
    }
    let decoded = percent_decode(raw)?;
    if decoded.contains(['\\', '\0']) {
        return None;
    }
    let mut out = String::with_capacity(decoded.len());
    for segment in decoded.split('/').filter(|s| !s.is_empty()) {
        if segment == "." || segment == ".." {
            return None;
        }
        out.push('/');
        out.push_str(segment);
    }
    if out.is_empty() || decoded.ends_with('/') {
        out.push('/');
    }
    Some(out)
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failure is a test failure")]
mod tests {
    use super::*;
    use figment::providers::Format as _;

    fn rule(host: Option<&str>, prefix: &str) -> Rule {
        Rule {
            host: host.map(str::to_owned),
            path_prefix: prefix.to_owned(),
            methods: Vec::new(),
            audience: Some("svc".to_owned()),
            roles: Vec::new(),
            acr: None,
            max_age: None,
            public: false,
        }
    }

    fn config(rules: Vec<Rule>) -> ForwardAuthConfig {
        ForwardAuthConfig {
            token_ttl: std::time::Duration::from_secs(60),
            rules,
        }
    }

    fn claims(acr: &str, roles: &[&str], auth_time: i64) -> AccessClaims {
        AccessClaims {
            iss: "http://issuer".into(),
            sub: "acc".into(),
            aud: "portcullis".into(),
            exp: 2_000,
            iat: 1_000,
            nbf: 1_000,
            jti: "j".into(),
            sid: "s".into(),
            acr: acr.into(),
            amr: vec!["pwd".into()],
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            auth_time,
            scope: None,
            cnf: None,
        }
    }

    #[test]
    fn first_match_wins_and_nothing_matches_by_default() {
        let mut admin = rule(Some("app.example.com"), "/admin");
        admin.audience = Some("admin".into());
        let c = config(vec![admin, rule(Some("app.example.com"), "/")]);
        let aud = |uri: &str| {
            c.find(None, "app.example.com", uri)
                .map(|r| r.audience.clone())
        };
        assert_eq!(aud("/admin/x?y=1"), Some(Some("admin".into())));
        assert_eq!(aud("/admin"), Some(Some("admin".into())));
        assert_eq!(aud("/adminx"), Some(Some("svc".into())));
        assert!(c.find(None, "other.example.com", "/admin").is_none());
        assert!(config(vec![]).find(None, "app.example.com", "/").is_none());
    }

    #[test]
    fn hosts_ignore_case_and_port_and_support_one_wildcard() {
        let c = config(vec![rule(Some("*.example.com"), "/")]);
        assert!(c.find(None, "A.Example.com:8443", "/").is_some());
        assert!(c.find(None, "example.com", "/").is_none());
        assert!(c.find(None, "badexample.com", "/").is_none());
        let c = config(vec![rule(Some("[::1]"), "/")]);
        assert!(c.find(None, "[::1]:80", "/").is_some());
    }

    #[test]
    fn paths_are_normalised_and_dot_segments_match_nothing() {
        let mut public = rule(None, "/public");
        public.public = true;
        let c = config(vec![public]);
        assert!(c.find(None, "h", "/public/a").is_some());
        assert!(c.find(None, "h", "//public//a").is_some());
        assert!(c.find(None, "h", "/%70ublic/a").is_some());
        assert!(c.find(None, "h", "/public/../admin").is_none());
        assert!(c.find(None, "h", "/public/%2e%2e/admin").is_none());
        assert!(c.find(None, "h", "/public\\..\\admin").is_none());
        assert!(c.find(None, "h", "/public/%zz").is_none());
        assert!(c.find(None, "h", "http://h/public/a").is_some());
        assert_eq!(normalize_path("/a/b/").as_deref(), Some("/a/b/"));
        assert_eq!(normalize_path("").as_deref(), None);
    }

    #[test]
    fn methods_restrict_a_rule() {
        let mut r = rule(None, "/");
        r.methods = vec!["GET".into()];
        let c = config(vec![r]);
        assert!(c.find(Some("get"), "h", "/").is_some());
        assert!(c.find(Some("POST"), "h", "/").is_none());
        assert!(c.find(None, "h", "/").is_none());
    }

    #[test]
    fn roles_then_assurance_then_age() {
        let mut r = rule(None, "/");
        r.roles = vec!["ledger".into()];
        r.acr = Some("aal2".into());
        r.max_age = Some(300);
        assert_eq!(
            r.check(&claims("aal2", &[], 1_000), 1_000),
            Err(Refusal::MissingRole)
        );
        let step_up = r
            .check(&claims("aal1", &["ledger"], 1_000), 1_000)
            .unwrap_err();
        assert_eq!(
            step_up.challenge().unwrap(),
            "Bearer error=\"insufficient_user_authentication\", error_description=\"A stronger \
             or fresher authentication is required\", acr_values=\"aal2\", max_age=300"
        );
        assert!(r.check(&claims("aal2", &["ledger"], 1_000), 1_300).is_ok());
        assert!(r.check(&claims("aal2", &["ledger"], 1_000), 1_301).is_err());
        assert!(
            r.check(&claims("weird", &["ledger"], 1_000), 1_000)
                .is_err()
        );
    }

    #[test]
    fn internal_token_takes_the_rule_audience_and_a_short_life() {
        let c = claims("aal1", &["a"], 900);
        let t = internal_claims(&c, "ledger", 60, 1_500, "n".into());
        assert_eq!(
            (t.aud.as_str(), t.exp, t.iat, t.sub.as_str()),
            ("ledger", 1_560, 1_500, "acc")
        );
        assert_eq!(
            internal_claims(&c, "ledger", 60, 1_990, "n".into()).exp,
            2_000
        );
    }

    #[test]
    fn validation_requires_an_audience_for_protected_rules() {
        let mut r = rule(None, "/");
        r.audience = None;
        assert!(config(vec![r.clone()]).validate().is_err());
        r.public = true;
        assert!(config(vec![r.clone()]).validate().is_ok());
        r.acr = Some("aal3".into());
        assert!(config(vec![r]).validate().is_err());
        let toml = r#"
            [[rules]]
            host = "app.example.com"
            path_prefix = "/api"
            audience = "api"
            roles = ["reader"]
            acr = "aal2"
            max_age = 600
        "#;
        let parsed: ForwardAuthConfig = figment::Figment::new()
            .merge(figment::providers::Toml::string(toml))
            .extract()
            .unwrap();
        assert_eq!(parsed.rules[0].roles, ["reader"]);
        assert_eq!(parsed.token_ttl, std::time::Duration::from_secs(60));
        assert!(parsed.validate().is_ok());
    }
}
