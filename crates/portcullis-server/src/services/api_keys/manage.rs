//! Managing API keys (an administrator's acts, from the API or the CLI): making a key with
//! its scopes, origins and rate, shown once; listing keys; revoking one. Each change is
//! audited with its actor.

use portcullis_core::api_key::{ApiKeySecret, ApiScope, Origin};
use portcullis_core::ids::ApiKeyId;
use portcullis_store::model::ApiKeyRecord;
use serde_json::json;

use super::KeyView;
use crate::extract::ClientInfo;
use crate::services::audit;
use crate::services::error::{Invalid, ServiceError};
use crate::state::AppState;

/// Longest name, in characters.
const MAX_NAME: usize = 100;
/// Most origins one key may list.
const MAX_ORIGINS: usize = 50;
/// Highest rate a key may be given (per minute).
const MAX_RATE: u32 = 1_000_000;

/// What an administrator asks for.
#[derive(Debug, Clone, Default)]
pub struct NewKey {
    /// The application's name (1 to 100 characters).
    pub name: String,
    /// Scope names; at least one, each one of [`ApiScope`].
    pub scopes: Vec<String>,
    /// Allowed origins; empty: any.
    pub origins: Vec<String>,
    /// Requests per minute; `None`: the configured default.
    pub rate_per_minute: Option<u32>,
}

/// A new key with its text, which is shown this once.
#[derive(Debug)]
pub struct Created {
    /// The key as listed.
    pub view: KeyView,
    /// The key itself.
    pub key: ApiKeySecret,
}

fn check_name(name: &str) -> Result<String, ServiceError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(ServiceError::invalid(
            Invalid::ClientName,
            "an API key's name has 1 to 100 characters, without control characters",
        ));
    }
    Ok(name.to_owned())
}

fn parse_scopes(names: &[String]) -> Result<Vec<ApiScope>, ServiceError> {
    let scopes = ApiScope::parse_all(names).map_err(|e| {
        ServiceError::invalid(
            Invalid::Scope,
            format!("{e}; the scopes are {}", ApiScope::names()),
        )
    })?;
    if scopes.is_empty() {
        return Err(ServiceError::invalid(
            Invalid::Scope,
            format!("give at least one scope of {}", ApiScope::names()),
        ));
    }
    Ok(scopes)
}

fn parse_origins(texts: &[String]) -> Result<Vec<String>, ServiceError> {
    if texts.len() > MAX_ORIGINS {
        return Err(ServiceError::invalid(
            Invalid::Origin,
            "an API key lists at most 50 origins",
        ));
    }
    let mut out: Vec<String> = Vec::new();
    for text in texts {
        let origin = Origin::parse(text.trim()).map_err(|e| {
            let shown: String = text.chars().take(100).collect();
            ServiceError::invalid(Invalid::Origin, format!("{shown:?}: {e}"))
        })?;
        if !out.iter().any(|o| o == origin.as_str()) {
            out.push(origin.as_str().to_owned());
        }
    }
    Ok(out)
}

fn check_rate(rate: Option<u32>) -> Result<Option<i64>, ServiceError> {
    match rate {
        None => Ok(None),
        Some(r) if (1..=MAX_RATE).contains(&r) => Ok(Some(i64::from(r))),
        Some(_) => Err(ServiceError::invalid(
            Invalid::Rate,
            "rate_per_minute is from 1 to 1000000",
        )),
    }
}

/// Makes a key; audited with `actor`.
///
/// # Errors
/// A bad name, scope, origin or rate; storage failure.
#[tracing::instrument(skip_all)]
pub async fn create(
    state: &AppState,
    new: NewKey,
    actor: String,
    client: Option<&ClientInfo>,
) -> Result<Created, ServiceError> {
    let name = check_name(&new.name)?;
    let scopes = parse_scopes(&new.scopes)?;
    let origins = parse_origins(&new.origins)?;
    let rate_per_minute = check_rate(new.rate_per_minute)?;
    let key = ApiKeySecret::generate(state.entropy.as_ref());
    let now = state.now();
    let record = ApiKeyRecord {
        id: ApiKeyId::new(state.clock.now_millis(), state.random::<10>()),
        name,
        key_hash: key.hash(),
        prefix: key.public_prefix(),
        scopes: scopes.iter().map(|s| s.as_str().to_owned()).collect(),
        origins,
        rate_per_minute,
        created_at: now,
        revoked_at: None,
        last_used_at: None,
    };
    state.store.api_keys.create(&record).await?;
    audit::record(
        state,
        "admin.api_key_added",
        Some(actor),
        Some(record.id.to_string()),
        client,
        json!({
            "name": record.name,
            "prefix": record.prefix,
            "scopes": record.scopes,
            "origins": record.origins,
            "rate_per_minute": record.rate_per_minute,
        }),
    )
    .await?;
    tracing::info!(api_key.id = %record.id, "API key created");
    Ok(Created {
        view: KeyView::from(&record),
        key,
    })
}

/// Every key, revoked ones included, oldest first.
///
/// # Errors
/// Storage failure.
pub async fn list(state: &AppState) -> Result<Vec<KeyView>, ServiceError> {
    let keys = state.store.api_keys.list().await?;
    Ok(keys.iter().map(KeyView::from).collect())
}

/// Revokes a key: every node refuses it from the next request. Revoking a revoked key
/// changes nothing.
///
/// # Errors
/// [`ServiceError::NotFound`] for an unknown id; storage failure.
#[tracing::instrument(skip_all, fields(api_key.id = id))]
pub async fn revoke(
    state: &AppState,
    id: &str,
    actor: String,
    client: Option<&ClientInfo>,
) -> Result<(), ServiceError> {
    let id: ApiKeyId = id.parse().map_err(|_| ServiceError::NotFound)?;
    if !state.store.api_keys.revoke(id, state.now()).await? {
        return match state.store.api_keys.get(id).await? {
            Some(_) => Ok(()),
            None => Err(ServiceError::NotFound),
        };
    }
    audit::record(
        state,
        "admin.api_key_revoked",
        Some(actor),
        Some(id.to_string()),
        client,
        json!({}),
    )
    .await?;
    tracing::info!(api_key.id = %id, "API key revoked");
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn slug(e: ServiceError) -> Invalid {
        match e {
            ServiceError::Invalid { what, .. } => what,
            other => panic!("not an input refusal: {other:?}"),
        }
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(check_name("  Shop front  ").unwrap(), "Shop front");
        for bad in ["", "   ", "a\nb", &"x".repeat(101)] {
            assert_eq!(slug(check_name(bad).unwrap_err()), Invalid::ClientName);
        }
        assert!(check_name(&"é".repeat(100)).is_ok());
    }

    #[test]
    fn scopes_must_be_known_and_at_least_one() {
        let names = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            parse_scopes(&names(&["wallets:send", "wallets:read"])).unwrap(),
            vec![ApiScope::WalletsRead, ApiScope::WalletsSend]
        );
        assert_eq!(slug(parse_scopes(&[]).unwrap_err()), Invalid::Scope);
        let unknown = parse_scopes(&names(&["wallets:read", "admin"])).unwrap_err();
        assert!(unknown.to_string().contains("\"admin\""), "{unknown}");
        assert_eq!(slug(unknown), Invalid::Scope);
    }

    #[test]
    fn origins_are_normalised_deduplicated_and_bounded() {
        let given = vec![
            "https://App.Example.com".to_owned(),
            "https://app.example.com:443".to_owned(),
            "http://localhost:3000".to_owned(),
        ];
        assert_eq!(
            parse_origins(&given).unwrap(),
            vec!["https://app.example.com", "http://localhost:3000"]
        );
        assert_eq!(
            slug(parse_origins(&["https://app.example.com/".to_owned()]).unwrap_err()),
            Invalid::Origin
        );
        let many: Vec<String> = (0..51).map(|i| format!("https://a{i}.test")).collect();
        assert_eq!(slug(parse_origins(&many).unwrap_err()), Invalid::Origin);
        assert!(parse_origins(&[]).unwrap().is_empty());
    }

    #[test]
    fn rates_are_positive_and_bounded() {
        assert_eq!(check_rate(None).unwrap(), None);
        assert_eq!(check_rate(Some(2)).unwrap(), Some(2));
        assert_eq!(slug(check_rate(Some(0)).unwrap_err()), Invalid::Rate);
        assert_eq!(
            slug(check_rate(Some(MAX_RATE + 1)).unwrap_err()),
            Invalid::Rate
        );
    }
}
