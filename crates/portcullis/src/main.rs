//! The `portcullis` command line: serve, migrate, inspect configuration, manage users and
//! keys, verify the audit log, benchmark.

mod bench;
mod cmd;

use clap::{Parser, Subcommand};
use portcullis_server::config::Config;
use secrecy::ExposeSecret as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

/// Portcullis: an authentication server for microservices.
#[derive(Parser, Debug)]
#[command(name = "portcullis", version, about)]
struct Cli {
    /// TOML configuration file (environment variables `PORTCULLIS_*` override it).
    #[arg(long, global = true, env = "PORTCULLIS_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory (database, keys, development mail); overrides `data_dir`.
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the server.
    Serve {
        /// Address to listen on, e.g. 127.0.0.1:8080; overrides `listen`.
        #[arg(long)]
        listen: Option<SocketAddr>,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the effective configuration, secrets redacted.
    Config,
    /// Manage accounts.
    #[command(subcommand)]
    User(cmd::user::UserCommand),
    /// Manage service accounts (OAuth client-credentials clients).
    #[command(subcommand)]
    Client(cmd::client::ClientCommand),
    /// Manage API keys of front-end applications (`X-API-Key`).
    #[command(subcommand)]
    Apikey(cmd::apikey::ApiKeyCommand),
    /// Manage DualConfirm advisor–client pairs.
    #[command(subcommand)]
    Dualconfirm(cmd::dualconfirm::DualConfirmCommand),
    /// Manage webhook subscriptions (services learn of accounts).
    #[command(subcommand)]
    Webhook(cmd::webhook::WebhookCommand),
    /// Manage signing keys and the keyring.
    #[command(subcommand)]
    Keys(cmd::keys::KeysCommand),
    /// Inspect the audit log.
    #[command(subcommand)]
    Audit(cmd::audit::AuditCommand),
    /// Verify the auth, req and audit ledgers; print their signed heads and keys.
    #[command(subcommand)]
    Ledger(cmd::ledger::LedgerCommand),
    /// Measure throughput on this machine.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

fn load_config(cli: &Cli) -> anyhow::Result<Config> {
    let mut config = Config::load(cli.config.as_deref())?;
    if let Some(dir) = &cli.data_dir {
        config.data_dir = dir.clone();
    }
    Ok(config)
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = load_config(&cli)?;
    // A benchmark measures the server, not its access log.
    let filter = match cli.command {
        Command::Bench(_) | Command::Ledger(_) => "warn",
        _ => "info,sqlx=warn",
    };
    portcullis_server::telemetry::init_logging(config.log_format, filter);
    match cli.command {
        Command::Serve { listen } => {
            let mut config = config;
            if let Some(addr) = listen {
                config.listen = addr;
            }
            let server = portcullis_server::start(config).await?;
            println!("Portcullis listening on {}", server.url());
            server.run_until_signal().await
        }
        Command::Migrate => {
            let backend =
                portcullis_store::repo::migrate(config.database_url().expose_secret()).await?;
            println!("migrations applied ({backend})");
            Ok(())
        }
        Command::Config => {
            print!("{}", config.to_redacted_toml()?);
            Ok(())
        }
        Command::User(c) => cmd::user::run(config, c).await,
        Command::Client(c) => cmd::client::run(config, c).await,
        Command::Apikey(c) => cmd::apikey::run(config, c).await,
        Command::Dualconfirm(c) => cmd::dualconfirm::run(config, c).await,
        Command::Webhook(c) => cmd::webhook::run(config, c).await,
        Command::Keys(c) => cmd::keys::run(config, c).await,
        Command::Audit(c) => cmd::audit::run(config, c).await,
        Command::Ledger(c) => cmd::ledger::run(config, c).await,
        Command::Bench(c) => bench::run(c).await,
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
