//! `portcullis audit verify`: walks the hash chain and names the first broken entry.

use clap::Subcommand;
use portcullis_core::audit::{AuditRecord, verify_chain};
use portcullis_server::config::Config;
use secrecy::ExposeSecret as _;

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Check that no audit entry was edited, deleted or reordered.
    Verify,
}

pub async fn run(config: Config, cmd: AuditCommand) -> anyhow::Result<()> {
    match cmd {
        AuditCommand::Verify => {
            let store =
                portcullis_store::open(config.database_url().expose_secret(), false).await?;
            let mut records: Vec<AuditRecord> = Vec::new();
            let mut after = 0;
            loop {
                let page = store.audit.page(after, 5_000).await?;
                let Some(last) = page.last() else { break };
                after = last.seq;
                records.extend(page);
            }
            let head = store.audit.head().await?;
            match verify_chain(&records, head) {
                Ok(n) => {
                    println!("audit log intact: {n} entries verified");
                    Ok(())
                }
                Err(e) => anyhow::bail!("audit log TAMPERED: {e}"),
            }
        }
    }
}
