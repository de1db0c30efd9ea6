//! The rules of a token's life on a ledger: minted once, transferred by its owner, burned
//! once, and never anything after.
//!
//! Pure: [`apply`] takes the token's current state (from the index) and an operation, and
//! either returns the state after it or says which rule it breaks. The writer applies it to
//! every operation before anything is appended, so the ledger never holds an entry that breaks
//! a rule, and a replayed index agrees with the entries.

use serde::{Deserialize, Serialize};

/// Longest token id or owner accepted.
pub const MAX_NAME_LEN: usize = 128;

/// Attributes of a minted token: a flat JSON object (what the token is for, its session,
/// its expiry), at most this many bytes once encoded.
pub const MAX_ATTRIBUTES_LEN: usize = 2048;

/// One operation on a token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum TokenOp {
    /// Creates `token`, owned by `owner`.
    Mint {
        /// The token's id, unique on its ledger forever.
        token: String,
        /// Its first owner.
        owner: String,
        /// What the token carries.
        attributes: serde_json::Map<String, serde_json::Value>,
    },
    /// Hands `token` from its owner `from` to `to`.
    Transfer {
        /// The token.
        token: String,
        /// Its owner now; the transfer is refused if it is anyone else.
        from: String,
        /// Its owner after.
        to: String,
    },
    /// Ends `token` for good.
    Burn {
        /// The token.
        token: String,
    },
}

impl TokenOp {
    /// The token the operation is about.
    pub fn token(&self) -> &str {
        match self {
            TokenOp::Mint { token, .. }
            | TokenOp::Transfer { token, .. }
            | TokenOp::Burn { token } => token,
        }
    }

    /// The operation's name, as the entry's kind.
    pub fn kind(&self) -> &'static str {
        match self {
            TokenOp::Mint { .. } => "mint",
            TokenOp::Transfer { .. } => "transfer",
            TokenOp::Burn { .. } => "burn",
        }
    }
}

/// A token as the index keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenState {
    /// Its owner (the last owner, once burned).
    pub owner: String,
    /// Whether it was burned: a burned token is never live again.
    pub burned: bool,
    /// What it was minted with.
    pub attributes: serde_json::Map<String, serde_json::Value>,
}

/// Why an operation was refused before it reached the ledger.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LifecycleError {
    /// An id or owner is empty, too long, or holds characters other than letters, digits and
    /// `.` `_` `-` `:`.
    #[error("{what} is not a valid name (1 to 128 of A-Z a-z 0-9 . _ - :)")]
    BadName {
        /// Which field.
        what: &'static str,
    },
    /// The attributes are too large.
    #[error("the attributes are larger than {MAX_ATTRIBUTES_LEN} bytes")]
    AttributesTooLarge,
    /// A mint of an id that exists, live or burned: ids are never reused.
    #[error("the token was minted before")]
    AlreadyMinted,
    /// A transfer or burn of an id never minted.
    #[error("no such token")]
    Unknown,
    /// A transfer or burn of a burned token.
    #[error("the token is burned")]
    Burned,
    /// A transfer whose `from` is not the owner.
    #[error("the token is not owned by the sender")]
    NotOwner,
    /// A transfer to its own owner.
    #[error("the token is already owned by the recipient")]
    SameOwner,
}

fn check_name(what: &'static str, s: &str) -> Result<(), LifecycleError> {
    let fine = !s.is_empty()
        && s.len() <= MAX_NAME_LEN
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b':'));
    if fine {
        Ok(())
    } else {
        Err(LifecycleError::BadName { what })
    }
}

/// Checks an operation's own fields, before any state is looked at.
///
/// # Errors
/// [`LifecycleError::BadName`] or [`LifecycleError::AttributesTooLarge`].
pub fn check_shape(op: &TokenOp) -> Result<(), LifecycleError> {
    check_name("token", op.token())?;
    match op {
        TokenOp::Mint {
            owner, attributes, ..
        } => {
            check_name("owner", owner)?;
            let len = serde_json::to_vec(attributes).map_or(usize::MAX, |v| v.len());
            if len > MAX_ATTRIBUTES_LEN {
                return Err(LifecycleError::AttributesTooLarge);
            }
        }
        TokenOp::Transfer { from, to, .. } => {
            check_name("from", from)?;
            check_name("to", to)?;
        }
        TokenOp::Burn { .. } => {}
    }
    Ok(())
}

/// The token's state after `op`, given its state before (`None`: never minted).
///
/// # Errors
/// The rule `op` breaks; the state is then unchanged.
pub fn apply(current: Option<&TokenState>, op: &TokenOp) -> Result<TokenState, LifecycleError> {
    check_shape(op)?;
    match (current, op) {
        (Some(_), TokenOp::Mint { .. }) => Err(LifecycleError::AlreadyMinted),
        (
            None,
            TokenOp::Mint {
                owner, attributes, ..
            },
        ) => Ok(TokenState {
            owner: owner.clone(),
            burned: false,
            attributes: attributes.clone(),
        }),
        (None, _) => Err(LifecycleError::Unknown),
        (Some(state), _) if state.burned => Err(LifecycleError::Burned),
        (Some(state), TokenOp::Transfer { from, to, .. }) => {
            if &state.owner != from {
                return Err(LifecycleError::NotOwner);
            }
            if from == to {
                return Err(LifecycleError::SameOwner);
            }
            Ok(TokenState {
                owner: to.clone(),
                ..state.clone()
            })
        }
        (Some(state), TokenOp::Burn { .. }) => Ok(TokenState {
            burned: true,
            ..state.clone()
        }),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn mint(token: &str, owner: &str) -> TokenOp {
        TokenOp::Mint {
            token: token.into(),
            owner: owner.into(),
            attributes: serde_json::Map::new(),
        }
    }

    fn transfer(token: &str, from: &str, to: &str) -> TokenOp {
        TokenOp::Transfer {
            token: token.into(),
            from: from.into(),
            to: to.into(),
        }
    }

    fn burn(token: &str) -> TokenOp {
        TokenOp::Burn {
            token: token.into(),
        }
    }

    #[test]
    fn a_token_lives_once_mint_transfer_burn() {
        let live = apply(None, &mint("t1", "0xabc")).unwrap();
        assert_eq!(live.owner, "0xabc");
        let moved = apply(Some(&live), &transfer("t1", "0xabc", "issuer")).unwrap();
        assert_eq!(moved.owner, "issuer");
        let gone = apply(Some(&moved), &burn("t1")).unwrap();
        assert!(gone.burned);
        assert_eq!(gone.owner, "issuer");
    }

    #[test]
    fn a_burned_token_is_never_transferred_reminted_or_burned_again() {
        let gone = TokenState {
            owner: "issuer".into(),
            burned: true,
            attributes: serde_json::Map::new(),
        };
        assert_eq!(
            apply(Some(&gone), &transfer("t1", "issuer", "0xabc")),
            Err(LifecycleError::Burned)
        );
        assert_eq!(
            apply(Some(&gone), &mint("t1", "0xabc")),
            Err(LifecycleError::AlreadyMinted)
        );
        assert_eq!(apply(Some(&gone), &burn("t1")), Err(LifecycleError::Burned));
    }

    #[test]
    fn only_the_owner_transfers_and_only_minted_tokens_move() {
        let live = apply(None, &mint("t1", "0xabc")).unwrap();
        assert_eq!(
            apply(Some(&live), &transfer("t1", "0xdef", "issuer")),
            Err(LifecycleError::NotOwner)
        );
        assert_eq!(
            apply(Some(&live), &transfer("t1", "0xabc", "0xabc")),
            Err(LifecycleError::SameOwner)
        );
        assert_eq!(
            apply(Some(&live), &mint("t1", "0xdef")),
            Err(LifecycleError::AlreadyMinted)
        );
        assert_eq!(apply(None, &burn("t9")), Err(LifecycleError::Unknown));
        assert_eq!(
            apply(None, &transfer("t9", "a", "b")),
            Err(LifecycleError::Unknown)
        );
    }

    #[test]
    fn names_and_attributes_are_bounded() {
        for bad in ["", "a b", "a\nb", "é", &"x".repeat(129)] {
            assert!(matches!(
                apply(None, &mint(bad, "o")),
                Err(LifecycleError::BadName { what: "token" })
            ));
            assert!(matches!(
                apply(None, &mint("t", bad)),
                Err(LifecycleError::BadName { what: "owner" })
            ));
        }
        let mut attributes = serde_json::Map::new();
        attributes.insert("pad".into(), "x".repeat(MAX_ATTRIBUTES_LEN).into());
        let big = TokenOp::Mint {
            token: "t".into(),
            owner: "o".into(),
            attributes,
        };
        assert_eq!(apply(None, &big), Err(LifecycleError::AttributesTooLarge));
    }
}
