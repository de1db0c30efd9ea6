//! `portcullis apikey add | list | revoke`: API keys of front-end applications. A key is
//! printed once, when made; only its hash is kept, and `list` shows its public prefix.

use clap::Subcommand;
use portcullis_server::config::Config;
use portcullis_server::services::ServiceError;
use portcullis_server::services::api_keys::{self, NewKey};

#[derive(Subcommand, Debug)]
pub enum ApiKeyCommand {
    /// Make a key for a front-end application; prints its id and the key (shown only this
    /// once).
    Add {
        /// The application's name.
        #[arg(long)]
        name: String,
        /// Scope to grant (wallets:read, wallets:create, wallets:send, wallets:sign); repeat
        /// for several; at least one.
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// Origin a browser may use the key from (scheme://host[:port]); repeat for several;
        /// none means any.
        #[arg(long = "origin")]
        origins: Vec<String>,
        /// Requests per minute; default: `[api_keys] default_rate_per_minute`.
        #[arg(long)]
        rate: Option<u32>,
    },
    /// List keys (id, prefix, name, status, scopes, origins, rate).
    List,
    /// Revoke a key: every node refuses it from the next request.
    Revoke {
        /// Key id.
        id: String,
    },
}

fn err(e: ServiceError) -> anyhow::Error {
    match e {
        ServiceError::NotFound => anyhow::anyhow!("no such API key"),
        other => anyhow::Error::new(other),
    }
}

pub async fn run(config: Config, cmd: ApiKeyCommand) -> anyhow::Result<()> {
    let state = portcullis_server::command_state(config).await?;
    match cmd {
        ApiKeyCommand::Add {
            name,
            scopes,
            origins,
            rate,
        } => {
            let new = NewKey {
                name,
                scopes,
                origins,
                rate_per_minute: rate,
            };
            let created = api_keys::create(&state, new, "cli".into(), None)
                .await
                .map_err(err)?;
            println!("id: {}", created.view.id);
            println!("key: {}", created.key.expose());
            eprintln!("Store the key now: it is not shown again.");
        }
        ApiKeyCommand::List => {
            for k in api_keys::list(&state).await.map_err(err)? {
                let status = if k.revoked_at.is_some() {
                    "revoked"
                } else {
                    "active"
                };
                let origins = if k.origins.is_empty() {
                    "*".to_owned()
                } else {
                    k.origins.join(",")
                };
                let rate = k
                    .rate_per_minute
                    .map_or_else(|| "default".to_owned(), |r| format!("{r}/min"));
                println!(
                    "{}\t{}\t{}\t{status}\t{}\t{origins}\t{rate}",
                    k.id,
                    k.prefix,
                    k.name,
                    k.scopes.join(" ")
                );
            }
        }
        ApiKeyCommand::Revoke { id } => {
            api_keys::revoke(&state, &id, "cli".into(), None)
                .await
                .map_err(err)?;
            println!("revoked {id}");
        }
    }
    Ok(())
}
