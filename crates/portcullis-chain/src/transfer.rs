//! EIP-1559 transactions signed by a custodial key.
//!
//! Signing is separate from sending: the caller first takes a nonce from its nonce manager,
//! signs with it, keeps the signed bytes (they are public once broadcast, and keeping them
//! lets a transfer whose broadcast was in doubt be sent again unchanged), then broadcasts.

use crate::key::{CustodialKey, KeyError};
use crate::node::Fees;
use alloy::consensus::{SignableTransaction as _, TxEip1559, TxEnvelope};
use alloy::eips::eip2718::Encodable2718 as _;
use alloy::network::TxSignerSync as _;
use alloy::primitives::{Address, Bytes, TxHash, TxKind, U256};

/// What the user asked to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransferOrder {
    /// Recipient.
    pub to: Address,
    /// Amount in wei.
    pub value: U256,
    /// Call data (empty for a plain transfer of ETH).
    pub data: Bytes,
}

/// What the chain needs besides the order: where in the account's sequence, and what it
/// may cost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxParams {
    /// EIP-155 chain id.
    pub chain_id: u64,
    /// The account's nonce this transaction takes.
    pub nonce: u64,
    /// Gas limit.
    pub gas_limit: u64,
    /// EIP-1559 fee caps.
    pub fees: Fees,
}

/// A signed transaction, ready for `eth_sendRawTransaction`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedTransfer {
    /// Its hash (what the node answers and receipts are keyed by).
    pub hash: TxHash,
    /// The EIP-2718 encoding (type 2).
    pub raw: Vec<u8>,
}

/// Signs `order` as an EIP-1559 transaction from `key`.
pub fn sign_transfer(
    key: &CustodialKey,
    order: &TransferOrder,
    params: TxParams,
) -> Result<SignedTransfer, KeyError> {
    let mut tx = TxEip1559 {
        chain_id: params.chain_id,
        nonce: params.nonce,
        gas_limit: params.gas_limit,
        max_fee_per_gas: params.fees.max_fee_per_gas,
        max_priority_fee_per_gas: params.fees.max_priority_fee_per_gas,
        to: TxKind::Call(order.to),
        value: order.value,
        access_list: Default::default(),
        input: order.data.clone(),
    };
    let signature = key
        .signer()
        .sign_transaction_sync(&mut tx)
        .map_err(|_| KeyError::Signing)?;
    let envelope = TxEnvelope::from(tx.into_signed(signature));
    Ok(SignedTransfer {
        hash: *envelope.tx_hash(),
        raw: envelope.encoded_2718(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::consensus::Transaction as _;
    use alloy::eips::eip2718::Decodable2718 as _;

    #[test]
    fn signed_transfer_decodes_to_what_was_ordered_and_recovers_the_sender() {
        let key = CustodialKey::generate().unwrap_or_else(|_| unreachable!());
        let order = TransferOrder {
            to: Address::repeat_byte(0x11),
            value: U256::from(123_456_789u64),
            data: Bytes::from_static(b"\x01\x02"),
        };
        let params = TxParams {
            chain_id: 31337,
            nonce: 7,
            gas_limit: 21_000 + 32,
            fees: Fees {
                max_fee_per_gas: 2_000_000_000,
                max_priority_fee_per_gas: 1_000_000_000,
            },
        };
        let signed = sign_transfer(&key, &order, params).unwrap_or_else(|_| unreachable!());
        assert_eq!(signed.raw[0], 2, "an EIP-1559 (type 2) envelope");
        let decoded =
            TxEnvelope::decode_2718(&mut signed.raw.as_slice()).unwrap_or_else(|_| unreachable!());
        assert_eq!(*decoded.tx_hash(), signed.hash);
        assert_eq!(decoded.to(), Some(order.to));
        assert_eq!(decoded.value(), order.value);
        assert_eq!(decoded.nonce(), 7);
        assert_eq!(decoded.chain_id(), Some(31337));
        assert_eq!(decoded.input(), &order.data);
        let signed_1559 = decoded.as_eip1559().unwrap_or_else(|| unreachable!());
        let sender = signed_1559
            .signature()
            .recover_address_from_prehash(&signed_1559.tx().signature_hash())
            .unwrap_or_else(|_| unreachable!());
        assert_eq!(sender, key.address());
    }
}
