//! `portcullis audit verify`: re-derives the audit ledger from its entries and checks every
//! signed checkpoint against the ledger's key, naming the first entry that was edited,
//! deleted or cut off the end.

use clap::Subcommand;
use portcullis_ledger::verify::verify;
use portcullis_ledger::{AuditLedger, LedgerName, keys};
use portcullis_server::config::Config;
use secrecy::ExposeSecret as _;

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Check that no audit entry was edited, deleted, reordered or cut off the end.
    Verify,
}

pub async fn run(config: Config, cmd: AuditCommand) -> anyhow::Result<()> {
    match cmd {
        AuditCommand::Verify => {
            let store =
                portcullis_store::open(config.database_url().expose_secret(), false).await?;
            // An old hash-chained log not yet moved (no server has started since the upgrade)
            // is checked as it is.
            if let Some(head) = store.legacy_audit.head().await? {
                let mut records = Vec::new();
                loop {
                    let after = records
                        .last()
                        .map_or(0, |r: &portcullis_core::audit::AuditRecord| r.seq);
                    let page = store.legacy_audit.page(after, 5_000).await?;
                    if page.is_empty() {
                        break;
                    }
                    records.extend(page);
                }
                if let Err(e) = portcullis_core::audit::verify_chain(&records, Some(head)) {
                    anyhow::bail!("audit log (not yet moved to the ledger) TAMPERED: {e}");
                }
                println!(
                    "audit log (not yet moved to the ledger) intact: {} entries verified",
                    records.len()
                );
            }
            let verifier = keys::load(&config.data_dir, LedgerName::Audit)?.verifier();
            let ledger = portcullis_ledger::Ledger::open_read_only(
                LedgerName::Audit,
                &portcullis_server::ledgers::location(&config),
                verifier,
            )
            .await?;
            let audit = AuditLedger::new(ledger)?;
            match verify(audit.ledger(), |_, _| {}).await? {
                Ok(report) => {
                    println!(
                        "audit log intact: {} entries verified against {} signed checkpoints",
                        report.entries, report.checkpoints
                    );
                    Ok(())
                }
                Err(e) => anyhow::bail!("audit log TAMPERED: {e}"),
            }
        }
    }
}
