//! The ERC-721 contract that holds a token ledger on a chain: its bindings, its compiled
//! bytecode (built from `contracts/PortcullisToken.sol` by `tests/chain/compile.js`, checked
//! against the source by `scripts/test`) and its deployment.

use alloy::network::TransactionBuilder as _;
use alloy::primitives::{Address, B256, Bytes, U256, keccak256};
use alloy::providers::{DynProvider, Provider as _};
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::SolValue as _;

use super::EvmError;

alloy::sol! {
    /// The calls and events of `contracts/PortcullisToken.sol` that Portcullis uses.
    #[sol(rpc)]
    contract PortcullisToken {
        event Transfer(address indexed from, address indexed to, uint256 indexed tokenId);
        event Minted(uint256 indexed tokenId, address indexed owner, string token, string attributes);

        error NotIssuer(address caller);
        error AlreadyMinted(uint256 tokenId);

        function issuer() external view returns (address);
        function idOf(string calldata token) external pure returns (uint256);
        function wasMinted(uint256 tokenId) external view returns (bool);
        function ownerOf(uint256 tokenId) external view returns (address);
        function mint(address to, string calldata token, string calldata attributes) external returns (uint256 tokenId);
        function moveToken(address from, address to, uint256 tokenId) external;
        function burn(uint256 tokenId) external;
    }
}

/// The compiler's output for the contract (`{ abi, bytecode }`), as committed.
pub const ARTIFACT: &str = include_str!("../../../../contracts/build/PortcullisToken.json");

/// The contract's creation bytecode, from [`ARTIFACT`].
///
/// # Errors
/// [`EvmError::Artifact`] if the embedded file is not what `compile.js` writes.
pub fn creation_code() -> Result<Bytes, EvmError> {
    #[derive(serde::Deserialize)]
    struct Artifact {
        bytecode: String,
    }
    let artifact: Artifact = serde_json::from_str(ARTIFACT)
        .map_err(|e| EvmError::Artifact(format!("contracts/build: {e}")))?;
    artifact
        .bytecode
        .parse::<Bytes>()
        .map_err(|e| EvmError::Artifact(format!("contracts/build bytecode: {e}")))
}

/// The ERC-721 id of the ledger's token id `token`: keccak256 of its bytes, as the contract's
/// `idOf` computes it.
pub fn token_id(token: &str) -> B256 {
    keccak256(token.as_bytes())
}

/// [`token_id`] as the contract's `uint256`.
pub fn token_uint(token: &str) -> U256 {
    U256::from_be_bytes(token_id(token).0)
}

/// Deploys one contract named `name` (`symbol`) from the provider's wallet (which becomes
/// its issuer) and waits for it to be mined. Returns its address and the block it was mined
/// in (where a follower starts reading its events).
///
/// # Errors
/// The node refused or did not mine the deployment.
pub async fn deploy(
    sender: &DynProvider,
    name: &str,
    symbol: &str,
) -> Result<(Address, u64), EvmError> {
    let mut code = creation_code()?.to_vec();
    code.extend((name.to_owned(), symbol.to_owned()).abi_encode_params());
    let request = TransactionRequest::default().with_deploy_code(code);
    let pending = sender
        .send_transaction(request)
        .await
        .map_err(|e| EvmError::Send(e.to_string()))?;
    let receipt = super::bounded(super::RECEIPT_TIMEOUT, pending.get_receipt())
        .await?
        .map_err(|e| EvmError::Send(e.to_string()))?;
    if !receipt.status() {
        return Err(EvmError::Reverted("the deployment reverted".into()));
    }
    let address = receipt
        .contract_address
        .ok_or_else(|| EvmError::Send("the deployment's receipt names no contract".into()))?;
    Ok((address, receipt.block_number.unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use alloy::sol_types::{SolCall as _, SolEvent as _};

    /// The bindings above are written by hand: every selector and event topic they use must
    /// be in the compiled ABI, or a call would hit the fallback and revert.
    #[test]
    fn the_bindings_match_the_compiled_abi() {
        let artifact: serde_json::Value = serde_json::from_str(ARTIFACT).unwrap();
        let abi: alloy::json_abi::JsonAbi =
            serde_json::from_value(artifact["abi"].clone()).unwrap();
        let selectors: Vec<[u8; 4]> = abi.functions().map(|f| f.selector().0).collect();
        for s in [
            PortcullisToken::issuerCall::SELECTOR,
            PortcullisToken::idOfCall::SELECTOR,
            PortcullisToken::wasMintedCall::SELECTOR,
            PortcullisToken::ownerOfCall::SELECTOR,
            PortcullisToken::mintCall::SELECTOR,
            PortcullisToken::moveTokenCall::SELECTOR,
            PortcullisToken::burnCall::SELECTOR,
        ] {
            assert!(selectors.contains(&s), "{s:?} not in the ABI");
        }
        let topics: Vec<B256> = abi.events().map(|e| e.selector()).collect();
        assert!(topics.contains(&PortcullisToken::Transfer::SIGNATURE_HASH));
        assert!(topics.contains(&PortcullisToken::Minted::SIGNATURE_HASH));
        assert!(!creation_code().unwrap().is_empty());
    }
}
