//! `/v1/ledgers/…`: the ledgers' signed heads (C2SP checkpoints), keys, inclusion and
//! consistency proofs, and entries. Public and read-only, except the audit ledger's entries
//! (`/v1/admin/ledgers/audit/entries`).
//!
//! Hashes are standard base64, as in the checkpoint itself, so a client can compare a
//! proof's root with the checkpoint's third line directly.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use portcullis_ledger::LedgerName;
use portcullis_ledger::entry::Encoded;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiResult, Problem};
use crate::extract::{AdminSession, ApiQuery};
use crate::services::ledgers;
use crate::state::AppState;

/// The routes of this file, with their OpenAPI descriptions.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(checkpoint))
        .routes(routes!(inclusion))
        .routes(routes!(consistency))
        .routes(routes!(entries))
        .routes(routes!(audit_entries))
}

/// One ledger: what to verify its checkpoints with.
#[derive(Serialize, ToSchema)]
pub struct LedgerView {
    /// `auth`, `req` or `audit`.
    name: String,
    /// The checkpoint origin (the key's name).
    origin: String,
    /// The verifier key, in C2SP signed-note form (`<name>+<id>+<base64 key>`).
    vkey: String,
    /// Entries in the latest signed head.
    size: u64,
}

/// Every ledger with its key and size.
#[utoipa::path(get, path = "/v1/ledgers", tag = "ledgers",
    responses((status = 200, body = Vec<LedgerView>)))]
async fn list(State(state): State<AppState>) -> ApiResult<Json<Vec<LedgerView>>> {
    let mut views = Vec::new();
    for name in LedgerName::ALL {
        let ledger = state.ledgers().get(name);
        let head = ledgers::head(ledger).await?;
        views.push(LedgerView {
            name: name.to_string(),
            origin: ledger.verifier().name().to_owned(),
            vkey: ledger.verifier().vkey(),
            size: head.size,
        });
    }
    Ok(Json(views))
}

/// The latest signed tree head: a C2SP `tlog-checkpoint` in C2SP `signed-note` form.
#[utoipa::path(get, path = "/v1/ledgers/{name}/checkpoint", tag = "ledgers",
    params(("name" = String, Path, description = "auth, req or audit")),
    responses((status = 200, content_type = "text/plain; charset=utf-8", body = String),
        (status = 404, body = Problem)))]
async fn checkpoint(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let head = ledgers::head(ledgers::ledger(&state, &name)?).await?;
    Ok((
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        head.checkpoint,
    ))
}

/// Which leaf, in which tree.
#[derive(Deserialize)]
pub struct InclusionQuery {
    /// The leaf's index, from 0.
    index: u64,
    /// The tree's size (default: the latest signed head's).
    size: Option<u64>,
}

/// An RFC 9162 audit path.
#[derive(Serialize, ToSchema)]
pub struct InclusionView {
    /// The leaf's index.
    index: u64,
    /// The tree's size.
    size: u64,
    /// The leaf hash, SHA-256(0x00 ‖ entry), base64.
    leaf_hash: String,
    /// The path, deepest sibling first, base64.
    path: Vec<String>,
}

/// The inclusion proof of one entry.
#[utoipa::path(get, path = "/v1/ledgers/{name}/proof/inclusion", tag = "ledgers",
    params(("name" = String, Path, description = "auth, req or audit"),
        ("index" = u64, Query, description = "the leaf's index, from 0"),
        ("size" = Option<u64>, Query, description = "the tree's size (default: the latest signed head's)")),
    responses((status = 200, body = InclusionView), (status = 400, body = Problem),
        (status = 404, body = Problem)))]
async fn inclusion(
    State(state): State<AppState>,
    Path(name): Path<String>,
    ApiQuery(q): ApiQuery<InclusionQuery>,
) -> ApiResult<Json<InclusionView>> {
    let ledger = ledgers::ledger(&state, &name)?;
    let proof = ledgers::inclusion(ledger, q.index, q.size).await?;
    Ok(Json(InclusionView {
        index: proof.index,
        size: proof.size,
        leaf_hash: STANDARD.encode(proof.leaf),
        path: proof.path.iter().map(|h| STANDARD.encode(h)).collect(),
    }))
}

/// Which two trees.
#[derive(Deserialize)]
pub struct ConsistencyQuery {
    /// The older tree's size.
    old: u64,
    /// The newer tree's size (default: the latest signed head's).
    new: Option<u64>,
}

/// An RFC 9162 consistency proof.
#[derive(Serialize, ToSchema)]
pub struct ConsistencyView {
    /// The older size.
    old: u64,
    /// The newer size.
    new: u64,
    /// The proof's hashes, base64.
    path: Vec<String>,
}

/// The consistency proof between two sizes: the newer tree extends the older.
#[utoipa::path(get, path = "/v1/ledgers/{name}/proof/consistency", tag = "ledgers",
    params(("name" = String, Path, description = "auth, req or audit"),
        ("old" = u64, Query, description = "the older tree's size"),
        ("new" = Option<u64>, Query, description = "the newer tree's size (default: the latest signed head's)")),
    responses((status = 200, body = ConsistencyView), (status = 400, body = Problem),
        (status = 404, body = Problem)))]
async fn consistency(
    State(state): State<AppState>,
    Path(name): Path<String>,
    ApiQuery(q): ApiQuery<ConsistencyQuery>,
) -> ApiResult<Json<ConsistencyView>> {
    let ledger = ledgers::ledger(&state, &name)?;
    let (new, path) = ledgers::consistency(ledger, q.old, q.new).await?;
    Ok(Json(ConsistencyView {
        old: q.old,
        new,
        path: path.iter().map(|h| STANDARD.encode(h)).collect(),
    }))
}

/// Where a page starts.
#[derive(Deserialize)]
pub struct EntriesQuery {
    /// The first leaf index (default 0).
    from: Option<u64>,
    /// At most this many, 1 to 1000 (default 100).
    limit: Option<i64>,
}

/// One entry.
#[derive(Serialize, ToSchema)]
pub struct EntryView {
    /// Its leaf index.
    index: u64,
    /// Unix seconds.
    at: i64,
    /// The operation or event.
    kind: String,
    /// The entry's exact bytes, base64: SHA-256(0x00 ‖ these) is the leaf hash.
    body: String,
    /// The leaf hash, base64.
    leaf_hash: String,
    /// The same bytes, read as JSON.
    entry: serde_json::Value,
}

fn view(entries: Vec<Encoded>) -> Vec<EntryView> {
    entries
        .into_iter()
        .map(|e| EntryView {
            index: e.index,
            at: e.at,
            entry: serde_json::from_slice(&e.body).unwrap_or(serde_json::Value::Null),
            body: STANDARD.encode(&e.body),
            leaf_hash: STANDARD.encode(e.leaf),
            kind: e.kind,
        })
        .collect()
}

/// A page of a token ledger's entries (`auth`, `req`).
#[utoipa::path(get, path = "/v1/ledgers/{name}/entries", tag = "ledgers",
    params(("name" = String, Path, description = "auth or req (audit: see /v1/admin/ledgers/audit/entries)"),
        ("from" = Option<u64>, Query, description = "the first leaf index (default 0)"),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 1000, description = "at most this many, 1 to 1000 (default 100)")),
    responses((status = 200, body = Vec<EntryView>), (status = 400, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn entries(
    State(state): State<AppState>,
    Path(name): Path<String>,
    ApiQuery(q): ApiQuery<EntriesQuery>,
) -> ApiResult<Json<Vec<EntryView>>> {
    let ledger = ledgers::ledger(&state, &name)?;
    let page = ledgers::entries(ledger, q.from.unwrap_or(0), q.limit.unwrap_or(100)).await?;
    Ok(Json(view(page)))
}

/// A page of the audit ledger's entries (administrators).
#[utoipa::path(get, path = "/v1/admin/ledgers/audit/entries", tag = "ledgers",
    security(("bearer" = [])),
    params(("from" = Option<u64>, Query, description = "the first leaf index (default 0)"),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 1000, description = "at most this many, 1 to 1000 (default 100)")),
    responses((status = 200, body = Vec<EntryView>), (status = 400, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn audit_entries(
    State(state): State<AppState>,
    _admin: AdminSession,
    ApiQuery(q): ApiQuery<EntriesQuery>,
) -> ApiResult<Json<Vec<EntryView>>> {
    let page = ledgers::audit_entries(&state, q.from.unwrap_or(0), q.limit.unwrap_or(100)).await?;
    Ok(Json(view(page)))
}
