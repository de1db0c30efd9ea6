//! `portcullis ledger`: prove the node's ledgers untampered, print their signed heads and
//! the public keys that check them.
//!
//! These commands only read: each ledger is opened without a writer, with the verifier of its
//! key file in the data directory, so they can run beside a live server (SQLite's WAL lets a
//! reader in; PostgreSQL serves both). `load` is hidden: the crash test's appender.

#[cfg(feature = "evm")]
mod evm;
mod load;

use anyhow::Context as _;
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use portcullis_ledger::note::NoteVerifier;
use portcullis_ledger::verify::verify;
use portcullis_ledger::{Ledger, LedgerName, keys};
use portcullis_server::config::Config;
use portcullis_server::ledgers;

#[derive(Subcommand, Debug)]
pub enum LedgerCommand {
    /// Re-derive every entry, stored node and signed checkpoint; name the first thing wrong.
    Verify {
        /// Only this ledger (auth, req or audit); all three by default.
        #[arg(long)]
        ledger: Option<LedgerName>,
    },
    /// Print a ledger's latest signed checkpoint (a C2SP signed note), exactly as stored.
    Checkpoint {
        /// The ledger: auth, req or audit.
        name: LedgerName,
    },
    /// Print each ledger's verifier key (C2SP signed-note vkey), one line per ledger.
    Keys {
        /// Print only this ledger's vkey, alone on its line.
        #[arg(long)]
        name: Option<LedgerName>,
    },
    /// Deploy the auth and req ERC-721 contracts from the issuer key in the data directory
    /// (made there if missing; it must hold gas), and print the `[ledger]` lines that use
    /// them.
    #[cfg(feature = "evm")]
    Deploy,
    /// Append mints and burns of unique tokens until killed, printing each acknowledged
    /// receipt (the crash test's load).
    #[command(hide = true)]
    Load(load::LoadArgs),
}

pub async fn run(config: Config, cmd: LedgerCommand) -> anyhow::Result<()> {
    match cmd {
        LedgerCommand::Verify { ledger } => {
            let names = ledger.map_or(LedgerName::ALL.to_vec(), |name| vec![name]);
            let mut broken = Vec::new();
            for name in names {
                if let Err(e) = verify_one(&config, name).await {
                    eprintln!("{name}: TAMPERED: {e:#}");
                    broken.push(format!("{name}: {e:#}"));
                }
            }
            if broken.is_empty() {
                Ok(())
            } else {
                anyhow::bail!("ledger verification failed: {}", broken.join("; "))
            }
        }
        LedgerCommand::Checkpoint { name } => {
            let ledger = open_read_only(&config, name).await?;
            let head = ledger.head().await?;
            print!("{}", head.checkpoint);
            ledger.close().await;
            Ok(())
        }
        LedgerCommand::Keys { name } => {
            match name {
                Some(name) => println!("{}", verifier(&config, name)?.vkey()),
                None => {
                    for name in LedgerName::ALL {
                        println!("{name} {}", verifier(&config, name)?.vkey());
                    }
                }
            }
            Ok(())
        }
        #[cfg(feature = "evm")]
        LedgerCommand::Deploy => evm::deploy(&config).await,
        LedgerCommand::Load(args) => load::run(config, args).await,
    }
}

/// The public half of `name`'s key file; the key file is never created here.
fn verifier(config: &Config, name: LedgerName) -> anyhow::Result<NoteVerifier> {
    let signer = keys::load(&config.data_dir, name).with_context(|| {
        format!(
            "the {name} ledger's key (has a server run on data directory {}?)",
            config.data_dir.display()
        )
    })?;
    Ok(signer.verifier())
}

/// Opens `name` for reading, after its key is found (so that a wrong data directory is
/// reported as such rather than by creating an empty ledger there).
async fn open_read_only(config: &Config, name: LedgerName) -> anyhow::Result<Ledger> {
    let verifier = verifier(config, name)?;
    Ledger::open_read_only(name, &ledgers::location(config), verifier)
        .await
        .with_context(|| format!("opening the {name} ledger"))
}

/// Verifies one ledger, printing its summary; the error names the first break.
async fn verify_one(config: &Config, name: LedgerName) -> anyhow::Result<()> {
    let ledger = open_read_only(config, name).await?;
    #[cfg(feature = "evm")]
    if config.ledger.backend == portcullis_server::config::LedgerBackend::Evm && name.holds_tokens()
    {
        // The tokens are on the chain: the embedded ledger is checked (it should be
        // empty), and so is the index against the contract's events.
        let checked = evm::verify(config, name, &ledger).await;
        if checked.is_err() {
            ledger.close().await;
        }
        checked?;
    }
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{prefix:>6} [{bar:40}] {pos}/{len} entries ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_prefix(name.as_str());
    let outcome = verify(&ledger, |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    })
    .await;
    bar.finish_and_clear();
    ledger.close().await;
    let report = outcome
        .with_context(|| format!("reading the {name} ledger"))?
        .map_err(anyhow::Error::new)?;
    println!(
        "{name}: {} entries, {} checkpoints verified, root {}",
        report.entries,
        report.checkpoints,
        hex::encode(report.root)
    );
    Ok(())
}
