//! `portcullis user add | list | show | disable | enable | roles`.

use anyhow::{Context as _, bail};
use clap::Subcommand;
use portcullis_core::contact::{DisplayName, Email};
use portcullis_core::ids::AccountId;
use portcullis_core::password::Password;
use portcullis_server::config::Config;
use portcullis_server::services::accounts;
use portcullis_server::state::AppState;
use portcullis_store::model::{AccountRecord, AccountStatus};
use portcullis_store::pii;
use serde_json::json;
use std::io::Read as _;

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create an active (already verified) account.
    Add {
        /// E-mail address.
        #[arg(long)]
        email: String,
        /// Role to grant; repeat for several.
        #[arg(long = "role")]
        roles: Vec<String>,
        /// Display name.
        #[arg(long)]
        display_name: Option<String>,
        /// Read the password from standard input (otherwise from PORTCULLIS_USER_PASSWORD).
        #[arg(long)]
        password_stdin: bool,
    },
    /// List accounts.
    List {
        /// How many.
        #[arg(long, default_value_t = 100)]
        limit: i64,
        /// Skip this many.
        #[arg(long, default_value_t = 0)]
        offset: i64,
    },
    /// Show one account (by id or e-mail).
    Show {
        /// Account id or e-mail.
        who: String,
    },
    /// Disable an account and end its sessions.
    Disable {
        /// Account id or e-mail.
        who: String,
    },
    /// Enable a disabled account.
    Enable {
        /// Account id or e-mail.
        who: String,
    },
    /// Replace an account's roles.
    Roles {
        /// Account id or e-mail.
        who: String,
        /// The new roles, comma separated (empty for none).
        #[arg(long, value_delimiter = ',')]
        set: Vec<String>,
    },
}

pub(crate) async fn find(state: &AppState, who: &str) -> anyhow::Result<AccountRecord> {
    let found = if let Ok(id) = who.parse::<AccountId>() {
        state.store().accounts.get(id).await?
    } else {
        let email = Email::parse(who)?;
        state
            .store()
            .accounts
            .find_by_email_index(&pii::email_index(&state.keyring(), email.as_str()))
            .await?
    };
    match found {
        Some(a) if a.status != AccountStatus::Deleted => Ok(a),
        _ => bail!("no account {who:?}"),
    }
}

fn read_password(from_stdin: bool) -> anyhow::Result<Password> {
    let text = if from_stdin {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("reading the password from stdin")?;
        s.trim_end_matches(['\n', '\r']).to_owned()
    } else {
        std::env::var("PORTCULLIS_USER_PASSWORD").context(
            "give the password on stdin with --password-stdin or in PORTCULLIS_USER_PASSWORD",
        )?
    };
    Ok(Password::new(text))
}

pub async fn run(config: Config, cmd: UserCommand) -> anyhow::Result<()> {
    let state = portcullis_server::command_state(config).await?;
    let err = anyhow::Error::new::<portcullis_server::services::ServiceError>;
    match cmd {
        UserCommand::Add {
            email,
            roles,
            display_name,
            password_stdin,
        } => {
            let email = Email::parse(&email)?;
            let display_name = display_name
                .as_deref()
                .map(DisplayName::parse)
                .transpose()?;
            let password = read_password(password_stdin)?;
            let id = accounts::create_active(
                &state,
                &email,
                display_name.as_ref(),
                password,
                roles,
                "cli".into(),
            )
            .await
            .map_err(err)?;
            println!("{id}");
        }
        UserCommand::List { limit, offset } => {
            for a in state.store().accounts.list(limit, offset).await? {
                if a.status == AccountStatus::Deleted {
                    continue;
                }
                let p = accounts::profile(&state, &a).await.map_err(err)?;
                println!("{}\t{}\t{}\t{}", p.id, p.email, p.status, p.roles.join(","));
            }
        }
        UserCommand::Show { who } => {
            let a = find(&state, &who).await?;
            let p = accounts::profile(&state, &a).await.map_err(err)?;
            let sessions = state.store().sessions.list_live(a.id, state.now()).await?;
            println!(
                "{}",
                serde_json::to_string_pretty(
                    &json!({"account": p, "live_sessions": sessions.len()})
                )?
            );
        }
        UserCommand::Disable { who } => {
            let a = find(&state, &who).await?;
            let n = accounts::disable(&state, &a, "cli".into())
                .await
                .map_err(err)?;
            println!("disabled {} ({n} session(s) ended)", a.id);
        }
        UserCommand::Enable { who } => {
            let a = find(&state, &who).await?;
            if a.status != AccountStatus::Disabled {
                bail!("account {} is {}, not disabled", a.id, a.status);
            }
            accounts::enable(&state, &a, "cli".into())
                .await
                .map_err(err)?;
            println!("enabled {}", a.id);
        }
        UserCommand::Roles { who, set } => {
            let a = find(&state, &who).await?;
            let roles: Vec<String> = set
                .into_iter()
                .map(|r| r.trim().to_owned())
                .filter(|r| !r.is_empty())
                .collect();
            if let Some(bad) = roles.iter().find(|r| {
                !r.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            }) {
                bail!("invalid role name {bad:?} (letters, digits, '-' and '_' only)");
            }
            let shown = roles.join(", ");
            accounts::set_roles(&state, &a, roles, "cli".into())
                .await
                .map_err(err)?;
            println!("{}: roles = [{shown}]", a.id);
        }
    }
    Ok(())
}
