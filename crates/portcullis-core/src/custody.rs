//! The rules of a custodial wallet's sends, without I/O: what an order must look like, how
//! recent and strong the session's authentication must be, and the spending limits.

use crate::token::AccessClaims;
use alloy_primitives::U256;

/// `amr` values of the factors that may authorise a send: a one-time code (TOTP) or a
/// possession key (passkey, hardware wallet).
pub const SEND_FACTORS: [&str; 2] = ["otp", "hwk"];

/// Why the session may not send now: the step-up it needs (RFC 9470's `acr_values` and
/// `max_age`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StepUpDemand {
    /// Least `acr`.
    pub acr: &'static str,
    /// Largest authentication age in seconds.
    pub max_age: i64,
}

/// Whether a session may send: its last authentication, at most `max_age` seconds old, was
/// multi-factor (`aal2` or more) and used one of [`SEND_FACTORS`].
///
/// # Errors
/// The [`StepUpDemand`] a fresh step-up meets.
pub fn send_authorised(claims: &AccessClaims, max_age: i64, now: i64) -> Result<(), StepUpDemand> {
    let demand = StepUpDemand {
        acr: "aal2",
        max_age,
    };
    let strong = crate::token::requirement::acr_satisfies(&claims.acr, demand.acr)
        && claims
            .amr
            .iter()
            .any(|m| SEND_FACTORS.contains(&m.as_str()));
    let recent = now.saturating_sub(claims.auth_time) <= max_age;
    if strong && recent {
        Ok(())
    } else {
        Err(demand)
    }
}

/// Spending limits, in wei.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpendLimits {
    /// Largest value of one transaction.
    pub per_transaction: U256,
    /// Largest total one wallet sends in 24 hours.
    pub per_wallet_daily: U256,
    /// Largest total an account sends, all its wallets together, in 24 hours.
    pub per_account_daily: U256,
}

/// The limit a send would break.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LimitExceeded {
    /// More than one transaction may move.
    #[error("the value is above the limit of {0} wei per transaction")]
    PerTransaction(U256),
    /// The wallet's 24-hour total would pass its limit.
    #[error("the wallet's sends in the last 24 hours would pass its limit of {0} wei")]
    PerWalletDaily(U256),
    /// The account's 24-hour total would pass its limit.
    #[error("the account's sends in the last 24 hours would pass its limit of {0} wei")]
    PerAccountDaily(U256),
}

/// Checks `value` against `limits`, given what the wallet and the account (all wallets)
/// sent in the last 24 hours. Sums saturate: an overflowing total is over any limit.
///
/// # Errors
/// The first limit broken.
pub fn check_limits(
    limits: &SpendLimits,
    value: U256,
    wallet_spent: U256,
    account_spent: U256,
) -> Result<(), LimitExceeded> {
    if value > limits.per_transaction {
        return Err(LimitExceeded::PerTransaction(limits.per_transaction));
    }
    if wallet_spent.saturating_add(value) > limits.per_wallet_daily {
        return Err(LimitExceeded::PerWalletDaily(limits.per_wallet_daily));
    }
    if account_spent.saturating_add(value) > limits.per_account_daily {
        return Err(LimitExceeded::PerAccountDaily(limits.per_account_daily));
    }
    Ok(())
}

/// An amount of wei from its decimal form (what the API takes: amounts do not fit a JSON
/// number). Digits only, no sign, no exponent, at most 78 digits.
pub fn parse_wei(s: &str) -> Option<U256> {
    if s.is_empty() || s.len() > 78 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    U256::from_str_radix(s, 10).ok()
}

/// An amount of ether as people write it (`1`, `0.25`, at most 18 decimals) in wei.
pub fn parse_ether(s: &str) -> Option<U256> {
    let (whole, fraction) = s.split_once('.').unwrap_or((s, ""));
    if whole.is_empty() && fraction.is_empty() || fraction.len() > 18 {
        return None;
    }
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !digits(fraction) || whole.len() > 59 {
        return None;
    }
    let whole = if whole.is_empty() {
        U256::ZERO
    } else {
        parse_wei(whole)?
    };
    let padded = format!("{fraction:0<18}");
    let fraction = parse_wei(&padded)?;
    whole
        .checked_mul(U256::from(10u64).pow(U256::from(18u64)))?
        .checked_add(fraction)
}

/// `wei` as ether for people: up to 18 decimals, trailing zeros dropped.
pub fn format_ether(wei: U256) -> String {
    let unit = U256::from(10u64).pow(U256::from(18u64));
    let (whole, fraction) = (wei / unit, wei % unit);
    if fraction.is_zero() {
        return whole.to_string();
    }
    let fraction = format!("{fraction:0>18}");
    format!("{whole}.{}", fraction.trim_end_matches('0'))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn claims(acr: &str, amr: &[&str], auth_time: i64) -> AccessClaims {
        AccessClaims {
            iss: "https://auth.example".into(),
            sub: "acct_1".into(),
            aud: "https://api.example".into(),
            exp: auth_time + 600,
            iat: auth_time,
            nbf: auth_time,
            jti: "tok_1".into(),
            sid: "sess_1".into(),
            acr: acr.into(),
            amr: amr.iter().map(|s| (*s).to_owned()).collect(),
            roles: vec![],
            auth_time,
            scope: None,
            cnf: None,
        }
    }

    #[test]
    fn a_send_needs_a_recent_totp_or_possession_factor() {
        let now = 10_000;
        assert!(send_authorised(&claims("aal2", &["pwd", "otp"], now - 10), 300, now).is_ok());
        assert!(send_authorised(&claims("aal2", &["pwd", "hwk"], now - 300), 300, now).is_ok());
        assert!(send_authorised(&claims("aal3", &["hwk"], now), 300, now).is_ok());
        let demand = send_authorised(&claims("aal2", &["pwd", "otp"], now - 301), 300, now);
        assert_eq!(
            demand,
            Err(StepUpDemand {
                acr: "aal2",
                max_age: 300
            })
        );
        assert!(send_authorised(&claims("aal1", &["pwd"], now), 300, now).is_err());
        // A second knowledge factor (a gesture) is not a send factor.
        assert!(send_authorised(&claims("aal2", &["pwd", "kba"], now), 300, now).is_err());
        // amr without the level is not enough either.
        assert!(send_authorised(&claims("aal1", &["otp"], now), 300, now).is_err());
    }

    #[test]
    fn limits_count_the_value_with_what_was_sent_today() {
        let limits = SpendLimits {
            per_transaction: U256::from(100u64),
            per_wallet_daily: U256::from(250u64),
            per_account_daily: U256::from(400u64),
        };
        let u = |n: u64| U256::from(n);
        assert_eq!(check_limits(&limits, u(100), u(150), u(300)), Ok(()));
        assert_eq!(
            check_limits(&limits, u(101), u(0), u(0)),
            Err(LimitExceeded::PerTransaction(u(100)))
        );
        assert_eq!(
            check_limits(&limits, u(100), u(151), u(151)),
            Err(LimitExceeded::PerWalletDaily(u(250)))
        );
        assert_eq!(
            check_limits(&limits, u(100), u(0), u(301)),
            Err(LimitExceeded::PerAccountDaily(u(400)))
        );
        assert!(check_limits(&limits, u(1), U256::MAX, u(0)).is_err());
    }

    #[test]
    fn ether_amounts_read_and_print_as_people_write_them() {
        let wei = |s: &str| parse_wei(s).unwrap();
        assert_eq!(parse_ether("1"), Some(wei("1000000000000000000")));
        assert_eq!(parse_ether("0.25"), Some(wei("250000000000000000")));
        assert_eq!(parse_ether(".5"), Some(wei("500000000000000000")));
        assert_eq!(parse_ether("0.000000000000000001"), Some(wei("1")));
        for bad in [
            "",
            ".",
            "1.0000000000000000001",
            "1e3",
            "-1",
            "1,5",
            "0x1",
            "1.2.3",
        ] {
            assert_eq!(parse_ether(bad), None, "{bad}");
        }
        assert_eq!(format_ether(wei("1000000000000000000")), "1");
        assert_eq!(format_ether(wei("1500000000000000000")), "1.5");
        assert_eq!(format_ether(wei("1")), "0.000000000000000001");
        assert_eq!(format_ether(U256::ZERO), "0");
        assert_eq!(
            parse_ether(&format_ether(wei("123456789012345678901"))),
            Some(wei("123456789012345678901"))
        );
    }

    #[test]
    fn wei_amounts_are_plain_decimal() {
        assert_eq!(parse_wei("0"), Some(U256::ZERO));
        assert_eq!(
            parse_wei("1000000000000000000"),
            Some(U256::from(10u64).pow(U256::from(18u64)))
        );
        for bad in ["", "-1", "1e18", "0x10", " 1", "1.5", &"9".repeat(79)] {
            assert_eq!(parse_wei(bad), None, "{bad}");
        }
        // 2^256 does not fit.
        assert_eq!(
            parse_wei(
                "115792089237316195423570985008687907853269984665640564039457584007913129639936"
            ),
            None
        );
    }
}
