//! Who may change an account's authenticators (NIST SP 800-63B §6.1.2, authenticator
//! binding and management): the rule, pure, so that every change (enrolling, confirming,
//! removing a factor, new recovery codes) is decided the same way and the rule reads in one
//! place.
//!
//! A change needs an authentication at the account's own level. Once the account has a second
//! factor, a session that proved only the password (for instance the one in which the first
//! authenticator was just enrolled) is one factor short: were it allowed to remove that
//! authenticator, bind another or mint recovery codes, whoever holds the password alone would
//! hold the account. An account without a second factor has only the password to show, so
//! enrolling its first second factor from a password session stays possible. Every change but
//! a confirmation also needs a recent authentication; a confirmation finishes an enrolment
//! that passed this check moments ago, and is checked again only for the level, in case a
//! second factor appeared in between.
//!
//! A refusal says what would satisfy it (a [`Demand`]), which the server sends as an RFC 9470
//! step-up challenge; the step-up it leads to asks for one of the account's second factors
//! when it has one (`policy::step_up_plan`), so a demand can always be met.

use crate::login::Assurance;
use crate::login::policy::is_fresh;

/// A change to the authenticators of an account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FactorChange {
    /// Starting the enrolment of a factor (a new authenticator app, phone number, e-mail
    /// codes or passkey; a second one of a kind replaces nothing but adds a way in).
    Enrol,
    /// Confirming a pending factor with its first proof (a code, an attestation).
    Confirm,
    /// Removing a factor.
    Remove,
    /// Replacing the recovery codes with a new set.
    RegenerateRecoveryCodes,
}

/// How the session asking for a change authenticated: its `acr` claim and `auth_time`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionAuth<'a> {
    /// The session's `acr` (an unknown value counts as one factor).
    pub acr: &'a str,
    /// When it last authenticated (unix seconds).
    pub auth_time: i64,
}

/// What a refused change demands: at least `acr`, at most `max_age` seconds ago. The RFC 9470
/// challenge's `acr_values` and `max_age`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Demand {
    /// The assurance the session must reach.
    pub acr: Assurance,
    /// The largest acceptable authentication age, in seconds.
    pub max_age: i64,
}

/// The level a change on an account needs: two factors once it has a second factor (one its
/// roles may use at login), else one.
pub fn required_level(account_has_second_factor: bool) -> Assurance {
    if account_has_second_factor {
        Assurance::Aal2
    } else {
        Assurance::Aal1
    }
}

/// Whether `session` may make `change` at `now` on an account that has (or not) a second
/// factor, when changes need an authentication at most `fresh_auth_secs` old.
///
/// # Errors
/// The [`Demand`] a step-up must meet first.
pub fn authorise(
    change: FactorChange,
    account_has_second_factor: bool,
    session: SessionAuth<'_>,
    fresh_auth_secs: i64,
    now: i64,
) -> Result<(), Demand> {
    let demand = Demand {
        acr: required_level(account_has_second_factor),
        max_age: fresh_auth_secs,
    };
    let level = Assurance::from_acr(session.acr).unwrap_or(Assurance::Aal1);
    let fresh_enough = match change {
        FactorChange::Confirm => true,
        FactorChange::Enrol | FactorChange::Remove | FactorChange::RegenerateRecoveryCodes => {
            is_fresh(session.auth_time, fresh_auth_secs, now)
        }
    };
    if level >= demand.acr && fresh_enough {
        Ok(())
    } else {
        Err(demand)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use FactorChange::{Confirm, Enrol, RegenerateRecoveryCodes, Remove};

    const NOW: i64 = 1_800_000_000;
    const FRESH: i64 = 300;

    #[test]
    fn changes_need_the_accounts_level_and_a_recent_authentication() {
        // (change, account has a second factor, session acr, seconds since auth, allowed)
        type Row = (FactorChange, bool, &'static str, i64, bool);
        let table: &[Row] = &[
            // Without a second factor, a recent password session may enrol the first one,
            // and manage recovery codes or remove leftovers.
            (Enrol, false, "aal1", 10, true),
            (Confirm, false, "aal1", 10, true),
            (Remove, false, "aal1", 10, true),
            (RegenerateRecoveryCodes, false, "aal1", 10, true),
            // …but not once the authentication is stale (confirming aside).
            (Enrol, false, "aal1", FRESH + 1, false),
            (Remove, false, "aal1", FRESH + 1, false),
            (RegenerateRecoveryCodes, false, "aal1", FRESH + 1, false),
            (Confirm, false, "aal1", FRESH + 1, true),
            // The edge of the window still counts as recent.
            (Remove, false, "aal1", FRESH, true),
            // With a second factor, a password-only session may change nothing, however
            // recent: not remove it, not bind another, not mint recovery codes, not confirm.
            (Enrol, true, "aal1", 0, false),
            (Confirm, true, "aal1", 0, false),
            (Remove, true, "aal1", 0, false),
            (RegenerateRecoveryCodes, true, "aal1", 0, false),
            // A session that proved a second factor recently may.
            (Enrol, true, "aal2", 10, true),
            (Confirm, true, "aal2", 10, true),
            (Remove, true, "aal2", 10, true),
            (RegenerateRecoveryCodes, true, "aal2", 10, true),
            // …until its authentication is stale.
            (Remove, true, "aal2", FRESH + 1, false),
            (RegenerateRecoveryCodes, true, "aal2", FRESH + 1, false),
            (Confirm, true, "aal2", FRESH + 1, true),
            // A higher level than needed is fine; an unknown one counts as one factor.
            (Remove, false, "aal2", 10, true),
            (Remove, true, "aal3", 10, false),
            (Remove, true, "", 10, false),
            (Remove, false, "whatever", 10, true),
        ];
        for &(change, has_second, acr, age, allowed) in table {
            let session = SessionAuth {
                acr,
                auth_time: NOW - age,
            };
            let got = authorise(change, has_second, session, FRESH, NOW);
            assert_eq!(
                got.is_ok(),
                allowed,
                "{change:?}, second factor {has_second}, {acr} {age}s ago: {got:?}"
            );
        }
    }

    #[test]
    fn a_refusal_demands_the_accounts_level_and_the_window() {
        let stale = SessionAuth {
            acr: "aal1",
            auth_time: NOW - 1000,
        };
        assert_eq!(
            authorise(Remove, true, stale, FRESH, NOW),
            Err(Demand {
                acr: Assurance::Aal2,
                max_age: FRESH
            })
        );
        assert_eq!(
            authorise(Enrol, false, stale, FRESH, NOW),
            Err(Demand {
                acr: Assurance::Aal1,
                max_age: FRESH
            })
        );
        // The level a step-up reaches with one second factor meets the demand.
        let stepped = SessionAuth {
            acr: Assurance::for_methods(["pwd", "otp"]).acr(),
            auth_time: NOW,
        };
        assert_eq!(authorise(Remove, true, stepped, FRESH, NOW), Ok(()));
    }

    #[test]
    fn level_follows_the_second_factor() {
        assert_eq!(required_level(false), Assurance::Aal1);
        assert_eq!(required_level(true), Assurance::Aal2);
    }
}
