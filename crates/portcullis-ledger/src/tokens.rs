//! [`TokenLedger`]: the `auth` and `req` ledgers, where tokens are minted, transferred and
//! burned.

use serde_json::{Map, Value};

use crate::LedgerError;
use crate::entry::Payload;
use crate::ledger::Ledger;
use crate::lifecycle::{TokenOp, TokenState};
use crate::writer::Receipt;

/// A ledger of tokens. Every operation is checked against the token's state (from the index,
/// which the same commit updates) before it is appended, and answered once durable.
#[derive(Clone, Debug)]
pub struct TokenLedger {
    ledger: Ledger,
}

impl TokenLedger {
    /// The token ledger over `ledger`.
    ///
    /// # Errors
    /// [`LedgerError::WrongKind`] for the audit ledger.
    pub fn new(ledger: Ledger) -> Result<Self, LedgerError> {
        if ledger.name().holds_tokens() {
            Ok(Self { ledger })
        } else {
            Err(LedgerError::WrongKind)
        }
    }

    /// The ledger underneath (head, proofs, entries).
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// Creates `token` owned by `owner`.
    ///
    /// # Errors
    /// [`LedgerError::Refused`] if the id was ever minted or a name is invalid.
    pub async fn mint(
        &self,
        at: i64,
        token: &str,
        owner: &str,
        attributes: Map<String, Value>,
    ) -> Result<Receipt, LedgerError> {
        self.apply(
            at,
            TokenOp::Mint {
                token: token.to_owned(),
                owner: owner.to_owned(),
                attributes,
            },
        )
        .await
    }

    /// Hands `token` from its owner `from` to `to`.
    ///
    /// # Errors
    /// [`LedgerError::Refused`] unless the token is live and owned by `from`.
    pub async fn transfer(
        &self,
        at: i64,
        token: &str,
        from: &str,
        to: &str,
    ) -> Result<Receipt, LedgerError> {
        self.apply(
            at,
            TokenOp::Transfer {
                token: token.to_owned(),
                from: from.to_owned(),
                to: to.to_owned(),
            },
        )
        .await
    }

    /// Ends `token` for good.
    ///
    /// # Errors
    /// [`LedgerError::Refused`] unless the token is live.
    pub async fn burn(&self, at: i64, token: &str) -> Result<Receipt, LedgerError> {
        self.apply(
            at,
            TokenOp::Burn {
                token: token.to_owned(),
            },
        )
        .await
    }

    /// Appends any operation.
    ///
    /// # Errors
    /// As the operation's method.
    pub async fn apply(&self, at: i64, op: TokenOp) -> Result<Receipt, LedgerError> {
        crate::lifecycle::check_shape(&op)?;
        self.ledger.append(at, Payload::Token(op)).await
    }

    /// The token's state now, if it was ever minted.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn state(&self, token: &str) -> Result<Option<TokenState>, LedgerError> {
        Ok(self
            .ledger
            .storage()
            .token_states(&[token])
            .await?
            .remove(token))
    }
}
