//! What a protected resource demands of a valid access token: roles, an assurance level
//! (`acr`) and a recent authentication (`max_age` against `auth_time`), and the RFC 9470
//! challenge that asks the client to step up.
//!
//! The guard (in front of Rust services) and forward-auth (in front of anything behind a
//! proxy) both decide with [`check`], so a token passes or fails the same demand the same
//! way wherever it is presented.

use super::claims::AccessClaims;

/// Why verified claims fall short of a demand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shortfall {
    /// A demanded role is missing; no step-up can grant it (403).
    MissingRole,
    /// The authentication is weaker than the demanded `acr` (401, step up).
    WeakAcr,
    /// The authentication is older than the demanded `max_age` (401, step up).
    TooOld,
}

/// A demand: roles the token must all hold, a least `acr`, a largest authentication age.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Requirement {
    roles: Vec<String>,
    acr: Option<String>,
    max_age: Option<i64>,
}

impl Requirement {
    /// Any valid token will do.
    pub fn authenticated() -> Self {
        Self::default()
    }

    /// Also demands `role`.
    #[must_use]
    pub fn role(mut self, role: impl Into<String>) -> Self {
        self.roles.push(role.into());
        self
    }

    /// Also demands at least `acr`.
    #[must_use]
    pub fn acr(mut self, acr: impl Into<String>) -> Self {
        self.acr = Some(acr.into());
        self
    }

    /// Also demands an authentication at most `secs` seconds old.
    #[must_use]
    pub fn max_age(mut self, secs: i64) -> Self {
        self.max_age = Some(secs);
        self
    }

    /// Roles the token must all hold.
    pub fn required_roles(&self) -> &[String] {
        &self.roles
    }

    /// Least authentication context class, e.g. `"aal2"`, if demanded.
    pub fn required_acr(&self) -> Option<&str> {
        self.acr.as_deref()
    }

    /// Largest acceptable authentication age in seconds, if demanded.
    pub fn required_max_age(&self) -> Option<i64> {
        self.max_age
    }

    /// Whether `claims` meet this demand at `now` (see [`check`]).
    ///
    /// # Errors
    /// The first [`Shortfall`].
    pub fn check(&self, claims: &AccessClaims, now: i64) -> Result<(), Shortfall> {
        check(claims, &self.roles, self.acr.as_deref(), self.max_age, now)
    }
}

/// Whether `claims` meet a demand at `now`: roles first (a step-up cannot grant a role), then
/// `acr`, then `max_age` against `auth_time`. Takes the demand's parts borrowed, so a caller
/// that keeps them elsewhere (forward-auth's configured rules) checks without copying.
///
/// # Errors
/// The first [`Shortfall`].
pub fn check(
    claims: &AccessClaims,
    roles: &[String],
    acr: Option<&str>,
    max_age: Option<i64>,
    now: i64,
) -> Result<(), Shortfall> {
    if !roles
        .iter()
        .all(|role| claims.roles.iter().any(|r| r == role))
    {
        return Err(Shortfall::MissingRole);
    }
    if acr.is_some_and(|want| !acr_satisfies(&claims.acr, want)) {
        return Err(Shortfall::WeakAcr);
    }
    if max_age.is_some_and(|max| now.saturating_sub(claims.auth_time) > max) {
        return Err(Shortfall::TooOld);
    }
    Ok(())
}

/// Whether an authentication of class `have` satisfies a demand for `want`: the same class,
/// or a higher NIST level (`aal2` satisfies `aal1`). Classes we do not know satisfy only
/// themselves.
pub fn acr_satisfies(have: &str, want: &str) -> bool {
    if have == want {
        return true;
    }
    match (aal_level(have), aal_level(want)) {
        (Some(h), Some(w)) => h >= w,
        _ => false,
    }
}

/// The level of an `aalN` class: one to three digits, no sign, no leading zero.
fn aal_level(acr: &str) -> Option<u16> {
    let digits = acr.strip_prefix("aal")?;
    let canonical = (1..=3).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0');
    canonical.then(|| digits.parse().ok()).flatten()
}

/// The RFC 9470 `WWW-Authenticate` challenge asking for a stronger or more recent
/// authentication, with the demand's `acr_values` and `max_age` when it has them.
pub fn step_up_challenge(description: &str, acr: Option<&str>, max_age: Option<i64>) -> String {
    let mut challenge = format!(
        "Bearer error=\"insufficient_user_authentication\", error_description=\"{}\"",
        quotable(description)
    );
    if let Some(acr) = acr {
        challenge.push_str(&format!(", acr_values=\"{}\"", quotable(acr)));
    }
    if let Some(max_age) = max_age {
        challenge.push_str(&format!(", max_age={max_age}"));
    }
    challenge
}

/// Keeps only the characters RFC 6750 §3 allows inside a quoted auth-param
/// (`%x20-21 / %x23-5B / %x5D-7E`), so configuration cannot break the header.
pub fn quotable(text: &str) -> String {
    text.chars()
        .filter(|c| matches!(*c, ' '..='!' | '#'..='[' | ']'..='~'))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(acr: &str, roles: &[&str], auth_time: i64) -> AccessClaims {
        AccessClaims {
            iss: "https://auth.test".into(),
            sub: "s".into(),
            aud: "portcullis".into(),
            exp: 10_000,
            iat: 0,
            nbf: 0,
            jti: "j".into(),
            sid: "x".into(),
            acr: acr.into(),
            amr: vec!["pwd".into()],
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            auth_time,
            scope: None,
            cnf: None,
        }
    }

    #[test]
    fn roles_then_assurance_then_age() {
        let demand = Requirement::authenticated()
            .role("ledger")
            .acr("aal2")
            .max_age(300);
        #[rustfmt::skip]
        let table = [
            ("everything met",          claims("aal2", &["ledger"], 900), Ok(())),
            ("role missing beats all",  claims("aal1", &[], 0),           Err(Shortfall::MissingRole)),
            ("too weak",                claims("aal1", &["ledger"], 900), Err(Shortfall::WeakAcr)),
            ("too old",                 claims("aal2", &["ledger"], 699), Err(Shortfall::TooOld)),
            ("exactly max_age old",     claims("aal2", &["ledger"], 700), Ok(())),
            ("unknown class",           claims("gold", &["ledger"], 900), Err(Shortfall::WeakAcr)),
        ];
        for (name, c, expected) in table {
            assert_eq!(demand.check(&c, 1000), expected, "{name}");
        }
        assert_eq!(
            Requirement::authenticated().check(&claims("x", &[], 0), 1000),
            Ok(())
        );
    }

    #[test]
    fn acr_levels_order_and_unknown_classes_match_only_themselves() {
        assert!(acr_satisfies("aal2", "aal1"));
        assert!(acr_satisfies("aal2", "aal2"));
        assert!(!acr_satisfies("aal1", "aal2"));
        assert!(!acr_satisfies("gold", "aal1"));
        assert!(acr_satisfies("gold", "gold"));
        assert!(!acr_satisfies("aal", "aal1"));
        for odd in ["aal+2", "aal02", "aal 2", "aal2x", "aal1000"] {
            assert!(!acr_satisfies(odd, "aal1"), "{odd}");
        }
        assert!(acr_satisfies("aal3", "aal2"));
    }

    #[test]
    fn the_challenge_has_the_rfc_9470_shape_and_cannot_be_broken_by_quotes() {
        assert_eq!(
            step_up_challenge(
                "A stronger authentication is required",
                Some("aal2"),
                Some(300)
            ),
            "Bearer error=\"insufficient_user_authentication\", error_description=\"A stronger authentication is required\", acr_values=\"aal2\", max_age=300"
        );
        assert_eq!(
            step_up_challenge("x", Some("a\"l\\2"), None),
            "Bearer error=\"insufficient_user_authentication\", error_description=\"x\", acr_values=\"al2\""
        );
    }
}
