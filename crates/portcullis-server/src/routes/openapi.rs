//! The responses that the OpenAPI document shares between operations, and the finishing pass
//! that gives them to every operation they apply to.
//!
//! Each path's `#[utoipa::path]` lists what its handler and service can answer. Two kinds of
//! answer come from elsewhere and are documented here, once:
//!
//! - the per-IP rate limit of `app::rate_limit`, in front of every route of [`super::api`]:
//!   any of those operations can answer 429, so [`document`] adds the shared `RateLimited`
//!   response to each (the proxy routes of [`super::proxy`] have no such limit);
//! - the rejections of the body extractors (`ApiJson`, `ApiForm`): an operation that reads a
//!   body through them lists [`BodyRejection`] among its responses.
//!
//! Every problem is written by `ApiError::into_response` as `application/problem+json`, so
//! [`document`] also gives each response whose schema is [`Problem`] that media type: an
//! annotation names the body (`body = Problem`) and the document cannot disagree with the
//! server about its type.
//!
//! [`LINKS`] says where the id in one answer is used next (OpenAPI links): clients read the
//! flow from it, and Schemathesis' stateful phase follows it to reach the operations that
//! need a live challenge, factor or pair.

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::link::LinkBuilder;
use utoipa::openapi::path::Operation;
use utoipa::openapi::{
    ContentBuilder, OpenApi, Ref, RefOr, Response, ResponseBuilder, Schema, Type,
};
use utoipa::{IntoResponses, PartialSchema as _, ToSchema};

use crate::error::Problem;

/// The media type of every problem answer (RFC 9457).
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Name of the shared 429 response in `components.responses`.
const RATE_LIMITED: &str = "RateLimited";

/// `(operation, status, field, targets)`: the field of that answer's body is the `id` path
/// parameter of each target operation.
const LINKS: &[(&str, &str, &str, &[&str])] = &[
    (
        "login_start",
        "202",
        "challenge_id",
        &["answer_challenge", "send_code", "passkey_options"],
    ),
    (
        "answer_challenge",
        "202",
        "challenge_id",
        &["answer_challenge", "send_code", "passkey_options"],
    ),
    (
        "step_up",
        "202",
        "challenge_id",
        &[
            "answer_step_up",
            "send_step_up_code",
            "step_up_passkey_options",
        ],
    ),
    ("enrol_totp", "201", "id", &["confirm", "remove"]),
    ("enrol_sms", "201", "id", &["confirm", "remove"]),
    ("enrol_email", "201", "id", &["confirm", "remove"]),
    ("enrol_passkey", "201", "id", &["finish_passkey", "remove"]),
    ("enrol_image", "201", "id", &["remove"]),
    ("enrol_gesture", "201", "id", &["remove"]),
    (
        "create_pair",
        "201",
        "id",
        &["update_pair", "remove_pair", "accept", "words", "check"],
    ),
    (
        "invite",
        "202",
        "id",
        &["accept_invitation", "cancel_invitation"],
    ),
    (
        "create_webhook",
        "201",
        "id",
        &["remove_webhook", "rotate_webhook_secret"],
    ),
    ("create_api_key", "201", "id", &["revoke_api_key"]),
];

/// What the body extractors answer when they cannot read a request body. Listed in the
/// `responses(...)` of each operation that reads one with `ApiJson` or `ApiForm`; never
/// constructed.
#[derive(IntoResponses)]
pub enum BodyRejection {
    /// The body is not valid JSON (`malformed-json`) or does not match the request schema
    /// (`invalid-body`), or the operation's own input rules refused it.
    #[response(status = 400, content_type = "application/problem+json")]
    Invalid(Problem),
    /// The body is larger than `max_body_bytes` (`payload-too-large`).
    #[response(status = 413, content_type = "application/problem+json")]
    TooLarge(Problem),
    /// The `Content-Type` is not the one the operation reads (`unsupported-media-type`).
    #[response(status = 415, content_type = "application/problem+json")]
    UnsupportedMediaType(Problem),
}

/// The finished document: `api` (the routes behind the rate limit) with the shared responses
/// added, then `proxy` (the forward-auth routes), every problem typed as problem+json.
pub fn document(mut api: OpenApi, proxy: OpenApi) -> OpenApi {
    for operation in operations(&mut api) {
        operation
            .responses
            .responses
            .entry("429".to_owned())
            .or_insert_with(|| RefOr::Ref(Ref::from_response_name(RATE_LIMITED)));
    }
    api.merge(proxy);
    let components = api.components.get_or_insert_with(Default::default);
    components
        .responses
        .insert(RATE_LIMITED.to_owned(), RefOr::T(rate_limited()));
    components
        .schemas
        .entry(Problem::name().into_owned())
        .or_insert_with(Problem::schema);
    for operation in operations(&mut api) {
        add_links(operation);
        for response in operation.responses.responses.values_mut() {
            if let RefOr::T(response) = response {
                type_problems(response);
            }
        }
    }
    api
}

/// The [`LINKS`] from `operation`'s answers.
fn add_links(operation: &mut Operation) {
    let id = operation.operation_id.clone().unwrap_or_default();
    for (_, status, field, targets) in LINKS.iter().filter(|(from, ..)| *from == id) {
        if let Some(RefOr::T(response)) = operation.responses.responses.get_mut(*status) {
            for target in *targets {
                let link = LinkBuilder::new()
                    .operation_id(*target)
                    .parameter("id", format!("$response.body#/{field}"))
                    .build();
                response.links.insert((*target).to_owned(), RefOr::T(link));
            }
        }
    }
}

/// Every operation of the document.
fn operations(doc: &mut OpenApi) -> impl Iterator<Item = &mut Operation> {
    doc.paths.paths.values_mut().flat_map(|item| {
        [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
        ]
        .into_iter()
        .filter_map(Option::as_mut)
    })
}

/// The answer of the per-IP limit (and of the login and code limits that reuse it).
fn rate_limited() -> Response {
    ResponseBuilder::new()
        .description("Too many requests from this client or for this account (`rate-limited`); wait `Retry-After` seconds.")
        .header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(Some(Schema::from(
                    utoipa::openapi::ObjectBuilder::new().schema_type(Type::Integer),
                )))
                .description(Some("Seconds to wait before trying again."))
                .build(),
        )
        .content(
            PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name(Problem::name())))
                .build(),
        )
        .build()
}

/// Moves a [`Problem`] body documented as `application/json` to problem+json.
fn type_problems(response: &mut Response) {
    let problem_ref = Ref::from_schema_name(Problem::name()).ref_location;
    let is_problem = |content: &RefOr<utoipa::openapi::Content>| {
        matches!(content, RefOr::T(c)
            if matches!(&c.schema, Some(RefOr::Ref(r)) if r.ref_location == problem_ref))
    };
    if let Some(index) = response.content.get_index_of("application/json")
        && response
            .content
            .get_index(index)
            .is_some_and(|(_, c)| is_problem(c))
        && let Some((_, content)) = response.content.shift_remove_index(index)
    {
        response
            .content
            .shift_insert(index, PROBLEM_JSON.to_owned(), content);
    }
}

#[cfg(test)]
mod tests;
