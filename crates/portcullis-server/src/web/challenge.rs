//! The forms that answer a login or step-up challenge, one per factor it still waits for,
//! and the mapping of a posted form back to a [`login::Answer`](crate::services::login::Answer).
//!
//! A form names its factor by the kind's own name ([`FactorKind::as_str`]), the same as the
//! API's `factor` field.

use portcullis_core::factor::pattern::{PatternGrid, read_dots};
use portcullis_core::login::FactorKind;
use portcullis_core::password::Password;

use crate::services::login::Answer;
use crate::web::layout::escape;
use crate::web::passcodes;
use crate::web::pattern;

/// The sent-secret factor a form names (`sms`, `email_otp`, `pattern_otp`).
pub(crate) fn sent_factor(factor: &str) -> Option<FactorKind> {
    factor
        .parse::<FactorKind>()
        .ok()
        .filter(|kind| kind.is_sent())
}

/// What the forms say once a code (or pattern) for `kind` was sent.
pub(crate) fn sent_text(kind: FactorKind) -> &'static str {
    match kind {
        FactorKind::Sms => "We texted you a code; it works for 5 minutes.",
        FactorKind::PatternOtp => "We sent you a pattern; it works for 5 minutes.",
        _ => "We e-mailed you a code; it works for 5 minutes.",
    }
}

/// The answer a form posted, or `None` for a factor the pages do not offer.
pub(crate) fn answer(factor: &str, code: String) -> Option<Answer> {
    match factor.parse::<FactorKind>().ok()? {
        FactorKind::Totp => Some(Answer::Totp(code.trim().to_owned())),
        FactorKind::RecoveryCode => Some(Answer::RecoveryCode(code.trim().to_owned())),
        FactorKind::Password => Some(Answer::Password(Password::new(code))),
        FactorKind::Sms => Some(Answer::Sms(code.trim().to_owned())),
        FactorKind::EmailOtp => Some(Answer::EmailOtp(code.trim().to_owned())),
        // Unreadable dots are a wrong pattern, counted like one.
        FactorKind::PatternOtp => Some(Answer::PatternOtp(read_dots(&code).unwrap_or_default())),
        // A passkey answers with an assertion, through its own script and route.
        FactorKind::Passkey => None,
        // A wallet signs a Sign-In with Ethereum message through its own script and route.
        FactorKind::Wallet => None,
        // An image passcode is a file: its form posts multipart to its own route.
        FactorKind::Image => None,
        // The gesture pad fills the form's `code` with the canonical form.
        FactorKind::Gesture => Some(Answer::Gesture(code)),
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
    /// Where "Send me a code" posts (for SMS and e-mail codes, and patterns).
    pub send: &'a str,
    /// The grid a pattern OTP's pad shows.
    pub pattern: PatternGrid,
    /// Where the image passcode's upload posts (multipart).
    pub image: &'a str,
}

struct Spec {
    factor: FactorKind,
    legend: &'static str,
    label: &'static str,
    input: &'static str,
}

const CODE_INPUT: &str = r#"type="text" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" maxlength="6""#;

fn spec(kind: FactorKind) -> Option<Spec> {
    match kind {
        FactorKind::Totp => Some(Spec {
            factor: kind,
            legend: "Authenticator app",
            label: "6-digit code from your authenticator app",
            input: CODE_INPUT,
        }),
        FactorKind::Sms => Some(Spec {
            factor: kind,
            legend: "Text message",
            label: "6-digit code we texted you",
            input: CODE_INPUT,
        }),
        FactorKind::EmailOtp => Some(Spec {
            factor: kind,
            legend: "E-mail code",
            label: "6-digit code we e-mailed you",
            input: CODE_INPUT,
        }),
        FactorKind::RecoveryCode => Some(Spec {
            factor: kind,
            legend: "Recovery code",
            label: "One of your recovery codes (xxxxx-xxxxx)",
            input: r#"type="text" autocomplete="off" spellcheck="false" maxlength="32""#,
        }),
        FactorKind::Password => Some(Spec {
            factor: kind,
            legend: "Password",
            label: "Your password",
            input: r#"type="password" autocomplete="current-password""#,
        }),
        FactorKind::PatternOtp => Some(Spec {
            factor: kind,
            legend: "Pattern",
            label: "The dots we sent you, in order",
            input: pattern::INPUT,
        }),
        // Passkeys and the passcodes have forms of their own.
        FactorKind::Passkey | FactorKind::Image | FactorKind::Gesture | FactorKind::Wallet => None,
    }
}

/// What the forms show beside one factor's field: a refusal (an alert) or that a code was
/// sent (a status), with the factor's form value.
#[derive(Clone, Copy)]
pub(crate) enum Remark<'a> {
    /// The last answer (or send) for this factor was refused, and why.
    Failed(&'a str, &'a str),
    /// A code for this factor was just sent; what to say.
    Sent(&'a str, &'a str),
}

/// One form per factor of `remaining` the pages can answer (none when there is none),
/// with `remark` beside its factor's field (which then has the focus).
pub(crate) fn forms(
    target: &Target<'_>,
    remaining: &[FactorKind],
    remark: Option<Remark<'_>>,
) -> Vec<String> {
    let named = match remark {
        Some(Remark::Failed(f, _) | Remark::Sent(f, _)) => Some(f),
        None => None,
    };
    let shown: Vec<FactorKind> = remaining
        .iter()
        .copied()
        .filter(|k| spec(*k).is_some() || passcodes::has_form(*k))
        .collect();
    let focus = shown
        .iter()
        .position(|k| Some(k.as_str()) == named)
        .unwrap_or(0);
    shown
        .iter()
        .enumerate()
        .filter_map(|(i, k)| {
            let remark = remark.filter(|_| Some(k.as_str()) == named);
            let error = match remark {
                Some(Remark::Failed(_, e)) => Some(e),
                _ => None,
            };
            match spec(*k) {
                Some(s) => Some(form(target, &s, remark, i == focus)),
                None => passcodes::challenge_form(*k, target, error, i == focus),
            }
        })
        .collect()
}

fn form(target: &Target<'_>, s: &Spec, remark: Option<Remark<'_>>, first: bool) -> String {
    let factor = s.factor.as_str();
    let error = match remark {
        Some(Remark::Failed(_, e)) => Some(e),
        _ => None,
    };
    let sent = match remark {
        Some(Remark::Sent(_, text)) => format!(
            r#"<p class="notice" role="status">{}</p>
"#,
            escape(text)
        ),
        _ => String::new(),
    };
    // The code field is required for "Continue", not for "Send me a code".
    // A code sent on request has a "Send me a code" button.
    let send = if s.factor.is_sent() {
        let what = if s.factor == FactorKind::PatternOtp {
            "pattern"
        } else {
            "code"
        };
        format!(
            r#"<button type="submit" class="secondary" formaction="{}" formnovalidate>Send me a {what}</button>
"#,
            target.send
        )
    } else {
        String::new()
    };
    let pad = if s.factor == FactorKind::PatternOtp {
        pattern::pad(&format!("{factor}-code"), target.pattern)
    } else {
        String::new()
    };
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
{pad}{error}{sent}<button type="submit">Continue</button>
{send}</fieldset>
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
            send: "/signin/factor/send",
            pattern: PatternGrid::default(),
            image: "/signin/factor/image",
        };
        let forms = forms(
            &target,
            &[
                FactorKind::Totp,
                FactorKind::Passkey,
                FactorKind::RecoveryCode,
            ],
            Some(Remark::Failed("recovery_code", "wrong")),
        );
        assert_eq!(forms.len(), 2);
        assert!(forms[0].contains(r#"value="c&quot;1""#));
        assert!(forms[1].contains("autofocus") && !forms[0].contains("autofocus"));
        assert!(forms[1].contains(r#"aria-describedby="recovery_code-error""#));
        assert!(!forms[0].contains("aria-invalid"));
        assert!(!forms[0].contains("Send me a code"));
    }

    #[test]
    fn sent_codes_have_a_send_button_and_say_when_one_went_out() {
        let target = Target {
            action: "/signin/factor",
            challenge: "c1",
            hidden: "",
            send: "/signin/factor/send",
            pattern: PatternGrid::default(),
            image: "/signin/factor/image",
        };
        let forms = forms(
            &target,
            &[FactorKind::Totp, FactorKind::Sms],
            Some(Remark::Sent("sms", "A code is on its way.")),
        );
        assert_eq!(forms.len(), 2);
        assert!(forms[1].contains(r#"formaction="/signin/factor/send" formnovalidate"#));
        assert!(forms[1].contains("A code is on its way.") && forms[1].contains("autofocus"));
        assert!(!forms[0].contains("autofocus"));
    }
}
