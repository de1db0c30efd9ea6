//! `portcullis client add | list | rotate-secret | remove`: service accounts of the
//! client-credentials grant. A secret is printed once, when made; only its hash is kept.

use anyhow::bail;
use clap::Subcommand;
use portcullis_server::config::Config;
use portcullis_server::services::ServiceError;
use portcullis_server::services::clients;

#[derive(Subcommand, Debug)]
pub enum ClientCommand {
    /// Create a service account; prints its id and secret (shown only this once).
    Add {
        /// Unique name.
        #[arg(long)]
        name: String,
        /// Scope the client may request; repeat for several.
        #[arg(long = "scope")]
        scopes: Vec<String>,
    },
    /// List service accounts (id, name, status, scopes).
    List,
    /// Replace a client's secret; prints the new one (shown only this once).
    RotateSecret {
        /// Client id.
        id: String,
    },
    /// Remove a client; its tokens stop introspecting as active.
    Remove {
        /// Client id.
        id: String,
    },
}

fn err(e: ServiceError) -> anyhow::Error {
    match e {
        ServiceError::NotFound => anyhow::anyhow!("no such client"),
        other => anyhow::Error::new(other),
    }
}

pub async fn run(config: Config, cmd: ClientCommand) -> anyhow::Result<()> {
    let state = portcullis_server::command_state(config).await?;
    match cmd {
        ClientCommand::Add { name, scopes } => {
            if scopes.is_empty() {
                bail!("give at least one --scope");
            }
            let created = clients::create(&state, &name, scopes, "cli")
                .await
                .map_err(err)?;
            println!("client_id: {}", created.record.id);
            println!("client_secret: {}", created.secret.expose());
            eprintln!("Store the secret now: it is not shown again.");
        }
        ClientCommand::List => {
            for c in state.store().clients.list().await? {
                println!(
                    "{}\t{}\t{}\t{}",
                    c.id,
                    c.name,
                    c.status.as_str(),
                    c.scopes.join(" ")
                );
            }
        }
        ClientCommand::RotateSecret { id } => {
            let secret = clients::rotate_secret(&state, &id, "cli")
                .await
                .map_err(err)?;
            println!("client_id: {id}");
            println!("client_secret: {}", secret.expose());
            eprintln!("Store the secret now: it is not shown again.");
        }
        ClientCommand::Remove { id } => {
            clients::remove(&state, &id, "cli").await.map_err(err)?;
            println!("removed {id}");
        }
    }
    Ok(())
}
