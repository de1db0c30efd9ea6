//! `portcullis ledger deploy` and the chain half of `portcullis ledger verify`, for
//! `[ledger] backend = "evm"` (feature `evm`).

use anyhow::Context as _;
use portcullis_ledger::evm::{IssuerKey, contract, issuer_provider};
use portcullis_ledger::{Ledger, LedgerName, TokenLedger};
use portcullis_server::config::Config;
use portcullis_server::ledgers::evm as server_evm;

/// Deploys the auth and req contracts from the issuer key (made in the data directory if
/// there is none) and prints the configuration that uses them.
///
/// # Errors
/// No `[chain]`, an unreachable node, an issuer without the gas to pay.
pub async fn deploy(config: &Config) -> anyhow::Result<()> {
    let chain = server_evm::chain(config).await?;
    let path = server_evm::issuer_key_path(config);
    let issuer = IssuerKey::load_or_create(&path)
        .with_context(|| format!("the issuer key {}", path.display()))?;
    eprintln!(
        "issuer {} (key {}): it pays for the deployment and every mint, transfer and burn",
        issuer.address(),
        path.display()
    );
    let sender = issuer_provider(&chain, &issuer);
    let (auth, block) = contract::deploy(&sender, "Portcullis AuthNFT", "PCAUTH")
        .await
        .context("deploying the auth contract (is the issuer funded?)")?;
    let (req, _) = contract::deploy(&sender, "Portcullis ReqNFT", "PCREQ")
        .await
        .context("deploying the req contract")?;
    println!("[ledger]\nbackend = \"evm\"\n");
    println!(
        "[ledger.evm]\nauth_contract = \"{auth}\"\nreq_contract = \"{req}\"\nstart_block = {block}"
    );
    Ok(())
}

/// Checks the contract of token ledger `name` against its index (`ledger` gives the index's
/// storage); prints a summary, and an error names every difference.
///
/// # Errors
/// The chain or storage failed, or the index differs from the events.
pub async fn verify(config: &Config, name: LedgerName, ledger: &Ledger) -> anyhow::Result<()> {
    let chain = server_evm::chain(config).await?;
    let tokens = TokenLedger::new(ledger.clone())?;
    let evm = server_evm::open_one(config, &chain, name, &tokens).await?;
    let report = evm
        .verify()
        .await
        .with_context(|| format!("reading the {name} contract"))?;
    if report.differences.is_empty() {
        println!(
            "{name}: contract {} matches the index: {} tokens, {} events to block {}",
            report.contract, report.tokens, report.events, report.block
        );
        Ok(())
    } else {
        for d in &report.differences {
            eprintln!("{name}: {d}");
        }
        anyhow::bail!(
            "the {name} index differs from contract {} in {} place(s)",
            report.contract,
            report.differences.len()
        )
    }
}
