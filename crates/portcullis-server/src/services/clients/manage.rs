//! Managing service accounts (an administrator's acts, from the CLI): creating a client with
//! its scopes and a secret shown once, rotating the secret, removing the client. Each act is
//! audited with its actor.

use portcullis_core::secret::OpaqueToken;
use portcullis_store::StoreError;
use portcullis_store::model::{ClientRecord, ClientStatus};
use serde_json::json;

use crate::services::audit;
use crate::services::error::{Invalid, ServiceError};
use crate::state::AppState;

/// A new client with its secret, which is shown this once.
pub struct NewClient {
    /// The stored record.
    pub record: ClientRecord,
    /// The plain secret.
    pub secret: OpaqueToken,
}

fn check_scopes(scopes: &[String]) -> Result<(), ServiceError> {
    let ok = |s: &String| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
    };
    if scopes.iter().all(ok) {
        Ok(())
    } else {
        Err(ServiceError::invalid(
            Invalid::Scope,
            "a scope is printable ASCII without spaces, quotes or backslashes",
        ))
    }
}

/// Creates a client allowed `scopes`; audited with `actor`.
///
/// # Errors
/// [`ServiceError::Conflict`] when the name is taken; a bad scope name; storage failure.
#[tracing::instrument(skip_all, fields(client.name = %name))]
pub async fn create(
    state: &AppState,
    name: &str,
    scopes: Vec<String>,
    actor: &str,
) -> Result<NewClient, ServiceError> {
    let name = name.trim();
    if name.is_empty() || name.len() > 100 {
        return Err(ServiceError::invalid(
            Invalid::ClientName,
            "a client name has 1 to 100 characters",
        ));
    }
    check_scopes(&scopes)?;
    let mut unique: Vec<String> = Vec::new();
    for s in scopes {
        if !unique.contains(&s) {
            unique.push(s);
        }
    }
    let now = state.now();
    let secret = OpaqueToken::generate(state.entropy.as_ref());
    let record = ClientRecord {
        id: uuid::Uuid::from_bytes(state.random::<16>())
            .simple()
            .to_string(),
        name: name.to_owned(),
        secret_hash: secret.hash(),
        scopes: unique,
        status: ClientStatus::Active,
        created_at: now,
        updated_at: now,
    };
    match state.store.clients.create(&record).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => {
            return Err(ServiceError::Conflict(
                "a client with this name already exists",
            ));
        }
        Err(e) => return Err(e.into()),
    }
    audit::record(
        state,
        "admin.client_added",
        Some(actor.to_owned()),
        Some(record.id.clone()),
        None,
        json!({"name": record.name, "scopes": record.scopes}),
    )
    .await?;
    Ok(NewClient { record, secret })
}

/// Replaces a client's secret; the old one stops working at once.
///
/// # Errors
/// [`ServiceError::NotFound`] for an unknown client; storage failure.
#[tracing::instrument(skip_all, fields(client.id = %id))]
pub async fn rotate_secret(
    state: &AppState,
    id: &str,
    actor: &str,
) -> Result<OpaqueToken, ServiceError> {
    let secret = OpaqueToken::generate(state.entropy.as_ref());
    if !state
        .store
        .clients
        .set_secret(id, &secret.hash(), state.now())
        .await?
    {
        return Err(ServiceError::NotFound);
    }
    audit::record(
        state,
        "admin.client_secret_rotated",
        Some(actor.to_owned()),
        Some(id.to_owned()),
        None,
        json!({}),
    )
    .await?;
    Ok(secret)
}

/// Removes a client; its tokens introspect as inactive from now on.
///
/// # Errors
/// [`ServiceError::NotFound`] for an unknown client; storage failure.
#[tracing::instrument(skip_all, fields(client.id = %id))]
pub async fn remove(state: &AppState, id: &str, actor: &str) -> Result<(), ServiceError> {
    if !state.store.clients.delete(id).await? {
        return Err(ServiceError::NotFound);
    }
    audit::record(
        state,
        "admin.client_removed",
        Some(actor.to_owned()),
        Some(id.to_owned()),
        None,
        json!({}),
    )
    .await
}
