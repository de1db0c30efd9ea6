//! `portcullis keys rotate | rotate-master`.

use clap::Subcommand;
use portcullis_core::audit::AuditEvent;
use portcullis_server::config::{Config, DurationExt as _};
use portcullis_server::keyfiles;
use portcullis_store::keyring::Keyring;
use portcullis_store::pii;
use secrecy::ExposeSecret as _;
use serde_json::json;

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Start signing with a new key; older keys stay published until their tokens expire.
    Rotate,
    /// Add a new keyring master key and re-wrap every account's data key under it.
    RotateMaster,
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

async fn audit(config: &Config, event: &str, detail: serde_json::Value) -> anyhow::Result<()> {
    let store = portcullis_store::open(config.database_url().expose_secret(), true).await?;
    let ledger = portcullis_server::ledgers::open_audit(
        config,
        &store,
        std::sync::Arc::new(portcullis_server::clock::SystemClock),
    )
    .await?;
    ledger
        .append(
            now(),
            AuditEvent {
                event: event.into(),
                actor: Some("cli".into()),
                subject: None,
                ip: None,
                detail,
            },
        )
        .await?;
    Ok(())
}

pub async fn run(config: Config, cmd: KeysCommand) -> anyhow::Result<()> {
    match cmd {
        KeysCommand::Rotate => {
            let path = keyfiles::signing_keys_path(&config.data_dir);
            let mut keys = keyfiles::load(&path)?;
            let mut seed = [0u8; 32];
            getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
            let old = keys.active_kid().to_owned();
            keys.rotate(seed, now())?;
            let pruned = keys.prune(
                now(),
                (config.tokens.access_ttl + config.tokens.leeway).as_secs_i64(),
            );
            keyfiles::save(&path, &keys)?;
            audit(
                &config,
                "keys.rotated",
                json!({"old_kid": old, "new_kid": keys.active_kid(), "pruned": pruned}),
            )
            .await?;
            println!(
                "signing key rotated: {old} -> {} ({pruned} expired key(s) removed)",
                keys.active_kid()
            );
            Ok(())
        }
        KeysCommand::RotateMaster => {
            let path = keyfiles::keyring_path(&config.data_dir);
            let mut keyring = Keyring::load(&path)?;
            let version = keyring.add_master(now())?;
            // The new master must be on disk before any data key depends on it.
            keyring.save(&path)?;
            let store = portcullis_store::open(config.database_url().expose_secret(), true).await?;
            let keys = store.accounts.all_data_keys().await?;
            let mut rewrapped = 0;
            for (id, wrapped) in keys {
                if wrapped.master_version == version {
                    continue;
                }
                let fresh = keyring.rewrap(&wrapped, &pii::key_aad(id))?;
                store.accounts.replace_data_key(id, &fresh).await?;
                rewrapped += 1;
            }
            let wallets = portcullis_server::services::custody::rewrap_keys(&store, &keyring)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            audit(
                &config,
                "keys.master_rotated",
                json!({"version": version, "rewrapped": rewrapped, "wallets_rewrapped": wallets}),
            )
            .await?;
            println!(
                "keyring master key v{version} is current; {rewrapped} data key(s) and {wallets} wallet key(s) re-wrapped"
            );
            Ok(())
        }
    }
}
