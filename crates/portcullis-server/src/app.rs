//! The router with its middleware stack.

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use utoipa_swagger_ui::SwaggerUi;

use crate::error::ApiError;
use crate::routes;
use crate::services::ServiceError;
use crate::services::error::Unexpected;
use crate::state::AppState;
use crate::telemetry;
use crate::tls::ClientAddr;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Builds the whole application.
pub fn router(state: AppState) -> Router {
    let (api, api_doc) = routes::api().split_for_parts();
    let (proxy, proxy_doc) = routes::proxy().split_for_parts();
    let openapi = routes::openapi::document(api_doc, proxy_doc);
    let config = &state.config;
    let hsts = config.tls.is_some() || config.public_url().starts_with("https://");
    let mut app = api
        .merge(SwaggerUi::new("/docs").url("/openapi.json", openapi))
        .merge(routes::pages::router())
        .merge(crate::web::router(state.clone()))
        .route(
            "/v1/dualconfirm/live",
            axum::routing::get(routes::dualconfirm_ws::live),
        )
        .route(
            "/v1/sessions/current/presence",
            axum::routing::get(routes::presence_ws::presence),
        )
        .fallback(|| async { ApiError::from(ServiceError::NotFound) })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(middleware::from_fn_with_state(state.clone(), rate_limit))
        .layer(middleware::from_fn(telemetry::track_requests))
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::from(Unexpected::msg("a handler panicked")).into_response()
        }));
    if !config.cors.allowed_origins.is_empty() {
        let origins: Vec<HeaderValue> = config
            .cors
            .allowed_origins
            .iter()
            .filter_map(|o| o.parse().ok())
            .collect();
        app = app.layer(
            CorsLayer::new()
                .allow_origin(AllowOrigin::list(origins))
                .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
                // `X-API-Key`: front-end applications send their key beside the user's token.
                .allow_headers([
                    header::AUTHORIZATION,
                    header::CONTENT_TYPE,
                    crate::auth::api_key::API_KEY_HEADER,
                ])
                .max_age(std::time::Duration::from_secs(600)),
        );
    }
    app = app
        .layer(header_layer(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(header_layer(header::X_FRAME_OPTIONS, "DENY"))
        .layer(header_layer(header::REFERRER_POLICY, "no-referrer"))
        .layer(header_layer(
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        ))
        .layer(header_layer(header::CACHE_CONTROL, "no-store"));
    if hsts {
        app = app.layer(header_layer(
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        ));
    }
    let app = app.layer(
        TraceLayer::new_for_http().make_span_with(|req: &Request<Body>| {
            let id = req
                .headers()
                .get(&REQUEST_ID)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
        })
        .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
    )
    .layer(PropagateRequestIdLayer::new(REQUEST_ID))
    .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid));
    proxy_layers(proxy).merge(app).with_state(state)
}

/// The middleware of the proxy routes ([`routes::proxy`]). A reverse proxy calls them once for
/// every request of every user of the services behind it, so they carry only what that caller
/// needs:
///
/// - no per-IP rate limit: one proxy address carries every user's traffic, so the limit would
///   throttle the whole site, and these routes do no hashing worth limiting;
/// - no span and log line per request (one per upstream request would drown the log);
///   refusals are logged at debug level by the handler;
/// - request metrics under the same names and labels as every other route;
/// - `Cache-Control: no-store` and `X-Content-Type-Options: nosniff` (Traefik hands a refusal's
///   body to the browser), the proxy's request id echoed, and panics caught.
fn proxy_layers(routes: Router<AppState>) -> Router<AppState> {
    routes
        .layer(middleware::from_fn(telemetry::track_requests))
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::from(Unexpected::msg("a handler panicked")).into_response()
        }))
        .layer(header_layer(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(header_layer(header::CACHE_CONTROL, "no-store"))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
}

fn header_layer(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
}

async fn rate_limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let ip = req
        .extensions()
        .get::<ConnectInfo<ClientAddr>>()
        .map(|c| c.0.0.ip());
    if let Some(ip) = ip
        && let Err(e) = state.limits.check_any(ip).await
    {
        return ApiError::from(e).into_response();
    }
    next.run(req).await
}
