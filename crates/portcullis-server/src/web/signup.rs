//! `/signup`: the registration form over [`accounts::register`]. A refused field is named
//! beside the field it concerns (`aria-invalid` and `aria-describedby`), with the problem's
//! detail as text; the password is never sent back into the form.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use portcullis_core::password::Password;
use serde::Deserialize;

use crate::extract::ClientInfo;
use crate::services::ServiceError;
use crate::services::accounts::{self, Registration};
use crate::services::error::Invalid;
use crate::state::AppState;
use crate::web::csrf::VisitorForm;
use crate::web::layout::{self, Nav, escape};

#[derive(Deserialize)]
pub(crate) struct SignupForm {
    email: String,
    password: String,
    #[serde(default)]
    display_name: String,
}

/// Which field a refusal belongs to.
#[derive(Default)]
struct Errors {
    email: Option<String>,
    password: Option<String>,
    display_name: Option<String>,
    general: Option<String>,
}

impl Errors {
    fn of(e: &ServiceError) -> Self {
        let text = Some(layout::error_text(e));
        match e {
            ServiceError::WeakPassword(_) => Errors {
                password: text,
                ..Errors::default()
            },
            ServiceError::Invalid {
                what: Invalid::Email,
                ..
            } => Errors {
                email: text,
                ..Errors::default()
            },
            ServiceError::Invalid {
                what: Invalid::DisplayName,
                ..
            } => Errors {
                display_name: text,
                ..Errors::default()
            },
            _ => Errors {
                general: text,
                ..Errors::default()
            },
        }
    }
}

/// A labelled input with its hint and error, wired for assistive technology.
struct Field<'a> {
    id: &'a str,
    label: &'a str,
    kind: &'a str,
    value: &'a str,
    autocomplete: &'a str,
    required: bool,
    hint: Option<&'a str>,
    error: Option<&'a str>,
}

impl Field<'_> {
    fn html(&self) -> String {
        let mut described = Vec::new();
        let hint = self.hint.map_or(String::new(), |h| {
            described.push(format!("{}-hint", self.id));
            format!(r#"<p class="hint" id="{}-hint">{}</p>"#, self.id, escape(h))
        });
        let error = self.error.map_or(String::new(), |e| {
            described.push(format!("{}-error", self.id));
            format!(
                r#"<p class="error" id="{}-error">{}</p>"#,
                self.id,
                escape(e)
            )
        });
        let aria = if described.is_empty() {
            String::new()
        } else {
            format!(r#" aria-describedby="{}""#, described.join(" "))
        };
        let invalid = if self.error.is_some() {
            r#" aria-invalid="true""#
        } else {
            ""
        };
        let required = if self.required { " required" } else { "" };
        format!(
            r#"<label for="{id}">{label}</label>
<input type="{kind}" id="{id}" name="{id}" value="{value}" autocomplete="{ac}"{required}{invalid}{aria}>
{hint}{error}"#,
            id = self.id,
            label = escape(self.label),
            kind = self.kind,
            value = escape(self.value),
            ac = self.autocomplete,
        )
    }
}

fn form(status: StatusCode, email: &str, display_name: &str, errors: &Errors) -> Response {
    let fields = [
        Field {
            id: "email",
            label: "E-mail address",
            kind: "email",
            value: email,
            autocomplete: "email",
            required: true,
            hint: None,
            error: errors.email.as_deref(),
        },
        Field {
            id: "password",
            label: "Password",
            kind: "password",
            value: "",
            autocomplete: "new-password",
            required: true,
            hint: Some("At least 8 characters; a few unrelated words make a strong one."),
            error: errors.password.as_deref(),
        },
        Field {
            id: "display_name",
            label: "Display name (optional)",
            kind: "text",
            value: display_name,
            autocomplete: "nickname",
            required: false,
            hint: None,
            error: errors.display_name.as_deref(),
        },
    ];
    let fields: Vec<String> = fields.iter().map(Field::html).collect();
    let body = format!(
        r#"{alert}<form method="post" action="/signup" novalidate>
{fields}
<button type="submit">Create account</button>
</form>
<p>Already have an account? <a href="/signin">Sign in</a>.</p>"#,
        alert = layout::alert(errors.general.as_deref()),
        fields = fields.join("\n"),
    );
    layout::page(status, "Create an account", &Nav::Visitor, &body)
}

/// `GET /signup`.
pub(crate) async fn show() -> Response {
    form(StatusCode::OK, "", "", &Errors::default())
}

/// `POST /signup`.
pub(crate) async fn submit(
    State(state): State<AppState>,
    client: ClientInfo,
    VisitorForm(f): VisitorForm<SignupForm>,
) -> Response {
    let display_name = Some(f.display_name.trim().to_owned()).filter(|d| !d.is_empty());
    let registration = Registration {
        email: f.email.trim().to_owned(),
        password: Password::new(f.password),
        display_name,
        phone: None,
    };
    match accounts::register(&state, registration, &client).await {
        Ok(_) => layout::page(
            StatusCode::OK,
            "Check your mail",
            &Nav::Visitor,
            &format!(
                r#"<p role="status">We sent a link to <strong>{}</strong>. Open it to confirm the address, then <a href="/signin">sign in</a>.</p>
<p class="hint">No mail after a few minutes? Look in the spam folder. The link works for 24 hours.</p>"#,
                escape(f.email.trim())
            ),
        ),
        Err(e) => form(
            layout::status_of(&e),
            &f.email,
            &f.display_name,
            &Errors::of(&e),
        ),
    }
}
