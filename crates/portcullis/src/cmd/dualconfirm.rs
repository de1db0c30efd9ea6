//! `portcullis dualconfirm pair add | list | remove`: who verifies whom on calls, managed
//! offline by an operator (the same rules as the administrators' API).

use clap::Subcommand;
use portcullis_core::dualconfirm::words::Language;
use portcullis_server::config::Config;
use portcullis_server::services::ServiceError;
use portcullis_server::services::dualconfirm::{pairs, relay};

use crate::cmd::user::find;

#[derive(Subcommand, Debug)]
pub enum DualConfirmCommand {
    /// Advisor–client pairs.
    #[command(subcommand)]
    Pair(PairCommand),
}

#[derive(Subcommand, Debug)]
pub enum PairCommand {
    /// Pair an advisor (role `advisor`) with a client (role `client`); prints the pair id.
    Add {
        /// The advisor's e-mail address or account id.
        #[arg(long)]
        advisor: String,
        /// The client's e-mail address or account id.
        #[arg(long)]
        client: String,
        /// Word language: `en` or `fr`.
        #[arg(long, default_value = "en")]
        language: String,
        /// The advisor's name as the client is shown it (default: the advisor's e-mail).
        #[arg(long)]
        advisor_name: Option<String>,
        /// The client's name as the advisor is shown it (default: the client's e-mail).
        #[arg(long)]
        client_name: Option<String>,
    },
    /// Name the sides of a pair: the verified identity each side is shown of the other
    /// (an empty name goes back to the e-mail address).
    Name {
        /// Pair id.
        id: String,
        /// The advisor's name as the client is shown it.
        #[arg(long)]
        advisor_name: Option<String>,
        /// The client's name as the advisor is shown it.
        #[arg(long)]
        client_name: Option<String>,
    },
    /// List pairs (id, status, language, advisor, client).
    List,
    /// Remove a pair; its words stop at once, on running nodes too.
    Remove {
        /// Pair id.
        id: String,
    },
}

fn err(e: ServiceError) -> anyhow::Error {
    match e {
        ServiceError::NotFound => anyhow::anyhow!("no such pair"),
        other => anyhow::Error::new(other),
    }
}

pub async fn run(config: Config, cmd: DualConfirmCommand) -> anyhow::Result<()> {
    let state = portcullis_server::command_state(config).await?;
    let DualConfirmCommand::Pair(cmd) = cmd;
    match cmd {
        PairCommand::Add {
            advisor,
            client,
            language,
            advisor_name,
            client_name,
        } => {
            let language: Language = language
                .parse()
                .map_err(|_| anyhow::anyhow!("--language must be en or fr"))?;
            let advisor = find(&state, &advisor).await?;
            let client = find(&state, &client).await?;
            let pair = pairs::create(&state, advisor.id, client.id, language, "cli".into(), None)
                .await
                .map_err(err)?;
            if advisor_name.is_some() || client_name.is_some() {
                let names = pairs::PairNames {
                    advisor: advisor_name,
                    client: client_name,
                };
                pairs::set_names(&state, &pair.id, &names, "cli".into(), None)
                    .await
                    .map_err(err)?;
            }
            println!("{}", pair.id);
        }
        PairCommand::Name {
            id,
            advisor_name,
            client_name,
        } => {
            let names = pairs::PairNames {
                advisor: advisor_name,
                client: client_name,
            };
            pairs::set_names(&state, &id, &names, "cli".into(), None)
                .await
                .map_err(err)?;
            println!("named {id}");
        }
        PairCommand::List => {
            for p in state.store().pairs.list().await? {
                let view = pairs::view(&state, &p).await.map_err(err)?;
                println!(
                    "{}\t{}\t{}\tadvisor {} <{}>\tclient {} <{}>",
                    view.id,
                    view.status,
                    view.language,
                    view.advisor.id,
                    view.advisor.name,
                    view.client.id,
                    view.client.name
                );
            }
        }
        PairCommand::Remove { id } => {
            pairs::remove(&state, &id, "cli".into(), None)
                .await
                .map_err(err)?;
            // Running nodes end the pair's live session: at once when Redis carries the
            // removal, else at their next look at the store (within a second or so).
            if let Err(e) = relay::publish_queued(&state).await {
                tracing::warn!(error = %e, "running nodes were not told; they notice the removal by polling");
            }
            println!("removed {id}");
        }
    }
    Ok(())
}
