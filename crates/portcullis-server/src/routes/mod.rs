//! HTTP routes. Handlers are thin: extract, call a service, map the result.

pub mod accounts;
pub mod api_keys;
pub mod custody;
pub mod dualconfirm;
pub mod dualconfirm_ws;
pub mod enrolment;
pub mod factors;
pub mod forward_auth;
pub mod ledgers;
pub mod me;
pub mod oauth;
pub mod openapi;
pub mod ops;
pub mod pages;
pub mod passcodes;
pub mod password;
pub mod presence_ws;
pub mod revocations;
pub mod sessions;
pub mod tokens;
pub mod wallets;
pub mod webhooks;

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "Portcullis", description = "Authentication server for microservices."),
    modifiers(&BearerAuth),
    tags((name = "accounts"), (name = "me"), (name = "factors"), (name = "sessions"), (name = "tokens"), (name = "oauth"), (name = "password"), (name = "operations"), (name = "forward-auth"), (name = "dualconfirm"), (name = "webhooks"), (name = "ledgers"), (name = "wallets"), (name = "api-keys"))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        // The restricted token of a login waiting for enrolment: opaque, not an access token.
        components.add_security_scheme(
            "enrolment",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("opaque")
                    .description(Some(
                        "The restricted token of a login in the `enrolment_required` state",
                    ))
                    .build(),
            ),
        );
        // A front-end application's key (`/v1/api-keys/current`, the custodial wallets).
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-API-Key",
                "A front-end application's key (`pk_live_…`), made by an administrator",
            ))),
        );
    }
}

/// Every API route with its OpenAPI description, except the proxy routes of [`proxy`].
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(accounts::router())
        .merge(me::router())
        .merge(factors::router())
        .merge(passcodes::router())
        .merge(wallets::router())
        .merge(custody::router())
        .merge(sessions::router())
        .merge(enrolment::router())
        .merge(tokens::router())
        .merge(oauth::router())
        .merge(revocations::router())
        .merge(password::router())
        .merge(ops::router())
        .merge(dualconfirm::router())
        .merge(webhooks::router())
        .merge(ledgers::router())
        .merge(api_keys::router())
}

/// The routes a reverse proxy calls on every request of the services behind it
/// (`/v1/forward-auth`), with their OpenAPI description. The application serves them behind a
/// lighter middleware stack than [`api`] (see `app::proxy_layers`).
pub fn proxy() -> OpenApiRouter<AppState> {
    forward_auth::router()
}
