//! The forms that answer a login or step-up challenge, one per factor it still waits for,
//! and the mapping of a posted form back to a [`login::Answer`](crate::services::login::Answer).

use portcullis_core::login::FactorKind;
use portcullis_core::password::Password;

use crate::services::login::Answer;
use crate::web::layout::escape;

/// The factors these pages can answer, as form values.
const TOTP: &str = "totp";
const RECOVERY: &str = "recovery_code";
const PASSWORD: &str = "password";

/// The answer a form posted, or `None` for a factor the pages do not offer.
pub(crate) fn answer(factor: &str, code: String) -> Option<Answer> {
    match factor {
        TOTP => Some(Answer::Totp(code.trim().to_owned())),
        RECOVERY => Some(Answer::RecoveryCode(code.trim().to_owned())),
        PASSWORD => Some(Answer::Password(Password::new(code))),
        _ => None,
    }
}

/// Where the forms post and what they carry besides the answer.
pub(crate) struct Target<'a> {
    /// The form's `action`.
    pub action: &'a str,
    /// The challenge id.
    pub challenge: &'a str,
    /// Further hidden fields, already HTML (the CSRF token of a session).
    pub hidden: &'a str,
}

struct Spec {
    factor: &'static str,
    legend: &'static str,
    label: &'static str,
    input: &'static str,
}

fn spec(kind: FactorKind) -> Option<Spec> {
    match kind {
        FactorKind::Totp => Some(Spec {
            factor: TOTP,
            legend: "Authenticator app",
            label: "6-digit code from your authenticator app",
            input: r#"type="text" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" maxlength="6""#,
        }),
        FactorKind::RecoveryCode => Some(Spec {
            factor: RECOVERY,
            legend: "Recovery code",
            label: "One of your recovery codes (xxxxx-xxxxx)",
            input: r#"type="text" autocomplete="off" spellcheck="false" maxlength="32""#,
        }),
        FactorKind::Password => Some(Spec {
            factor: PASSWORD,
            legend: "Password",
            label: "Your password",
            input: r#"type="password" autocomplete="current-password""#,
        }),
        _ => None,
    }
}

/// One form per factor of `remaining` the pages can answer (none when there is none);
/// `failed` names the factor whose last answer was refused, and why.
pub(crate) fn forms(
    target: &Target<'_>,
    remaining: &[FactorKind],
    failed: Option<(&str, &str)>,
) -> Vec<String> {
    let mut first = true;
    remaining
        .iter()
        .filter_map(|k| spec(*k))
        .map(|s| {
            let error = failed.filter(|(f, _)| *f == s.factor).map(|(_, e)| e);
            let html = form(target, &s, error, first);
            first = false;
            html
        })
        .collect()
}

fn form(target: &Target<'_>, s: &Spec, error: Option<&str>, first: bool) -> String {
    let factor = s.factor;
    let (invalid, error) = match error {
        Some(e) => (
            format!(r#" aria-invalid="true" aria-describedby="{factor}-error""#),
            format!(
                r#"<p class="error" role="alert" id="{factor}-error">{}</p>"#,
                escape(e)
            ),
        ),
        None => (String::new(), String::new()),
    };
    let autofocus = if first { " autofocus" } else { "" };
    format!(
        r#"<form method="post" action="{action}">
<fieldset><legend>{legend}</legend>
{hidden}<input type="hidden" name="challenge" value="{challenge}">
<input type="hidden" name="factor" value="{factor}">
<label for="{factor}-code">{label}</label>
<input {input} id="{factor}-code" name="code" class="code" required{autofocus}{invalid}>
{error}<button type="submit">Continue</button>
</fieldset>
</form>"#,
        action = target.action,
        legend = s.legend,
        hidden = target.hidden,
        challenge = escape(target.challenge),
        label = s.label,
        input = s.input,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_form_per_offered_factor_with_the_error_beside_its_field() {
        let target = Target {
            action: "/signin/factor",
            challenge: "c\"1",
            hidden: "",
        };
        let forms = forms(
            &target,
            &[FactorKind::Totp, FactorKind::Sms, FactorKind::RecoveryCode],
            Some(("recovery_code", "wrong")),
        );
        assert_eq!(forms.len(), 2);
        assert!(forms[0].contains(r#"value="c&quot;1""#));
        assert!(forms[0].contains("autofocus") && !forms[1].contains("autofocus"));
        assert!(forms[1].contains(r#"aria-describedby="recovery_code-error""#));
        assert!(!forms[0].contains("aria-invalid"));
    }
}
