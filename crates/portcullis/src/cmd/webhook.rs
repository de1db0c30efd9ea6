//! `portcullis webhook add | list | remove | rotate-secret`: the subscriptions through which
//! services learn of accounts (Standard Webhooks). A secret is printed once, when made or
//! rotated; only its sealed form is kept, and `list` never shows it.

use clap::Subcommand;
use portcullis_server::config::Config;
use portcullis_server::services::ServiceError;
use portcullis_server::services::webhooks::{self, WithSecret};

#[derive(Subcommand, Debug)]
pub enum WebhookCommand {
    /// Subscribe a URL to account events; prints its id and secret (shown only this once).
    Add {
        /// Where deliveries are POSTed (http:// or https://).
        #[arg(long)]
        url: String,
        /// Event type to deliver (account.created, account.verified, account.updated,
        /// account.disabled, account.deleted); repeat for several; none means all.
        #[arg(long = "event")]
        events: Vec<String>,
        /// A note for operators.
        #[arg(long)]
        description: Option<String>,
    },
    /// List subscriptions (id, URL, events, pending/delivered/failed deliveries).
    List,
    /// Remove a subscription and its pending deliveries.
    Remove {
        /// Subscription id.
        id: String,
    },
    /// Give a subscription a new secret; the old one keeps signing beside it for
    /// `[webhooks] rotation_grace_secs`. Prints the new secret (shown only this once).
    RotateSecret {
        /// Subscription id.
        id: String,
    },
}

fn err(e: ServiceError) -> anyhow::Error {
    match e {
        ServiceError::NotFound => anyhow::anyhow!("no such webhook"),
        other => anyhow::Error::new(other),
    }
}

fn print_secret(created: &WithSecret) {
    println!("id: {}", created.subscription.id);
    println!("secret: {}", created.secret);
    eprintln!("Store the secret now: it is not shown again.");
}

pub async fn run(config: Config, cmd: WebhookCommand) -> anyhow::Result<()> {
    let state = portcullis_server::command_state(config).await?;
    match cmd {
        WebhookCommand::Add {
            url,
            events,
            description,
        } => {
            let created = webhooks::add(&state, &url, &events, description, "cli".into(), None)
                .await
                .map_err(err)?;
            print_secret(&created);
        }
        WebhookCommand::List => {
            for w in webhooks::list(&state).await.map_err(err)? {
                println!(
                    "{}\t{}\t{}\tpending={} delivered={} failed={}",
                    w.id,
                    w.url,
                    w.events.join(","),
                    w.pending,
                    w.delivered,
                    w.failed
                );
            }
        }
        WebhookCommand::Remove { id } => {
            webhooks::remove(&state, &id, "cli".into(), None)
                .await
                .map_err(err)?;
            println!("removed {id}");
        }
        WebhookCommand::RotateSecret { id } => {
            let rotated = webhooks::rotate_secret(&state, &id, "cli".into(), None)
                .await
                .map_err(err)?;
            print_secret(&rotated);
        }
    }
    Ok(())
}
