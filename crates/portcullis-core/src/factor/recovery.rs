//! Recovery codes: ten single-use codes shown once, for when the authenticator is lost.
//!
//! A code is 10 characters from a 32-letter alphabet without look-alikes (50 bits), shown as
//! `xxxxx-xxxxx`. What the user types is normalised (case, spaces, dashes, and the usual
//! confusions `o`→`0`, `i`/`l`→`1`) before the store compares its keyed hash.

use std::fmt;
use zeroize::Zeroizing;

use crate::entropy::Entropy;

/// How many codes a set holds.
pub const CODES_PER_SET: usize = 10;
/// Characters per code, without the dash.
pub const CODE_LEN: usize = 10;
/// Crockford's base32 alphabet, lowercase: no i, l, o, u.
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// One recovery code, normalised (no dash). Never printed by `Debug`.
pub struct RecoveryCode(Zeroizing<String>);

impl fmt::Debug for RecoveryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecoveryCode(<redacted>)")
    }
}

impl RecoveryCode {
    /// The normalised form the store hashes.
    pub fn normalised(&self) -> &str {
        &self.0
    }

    /// The form shown to the user: `xxxxx-xxxxx`.
    pub fn display(&self) -> String {
        format!("{}-{}", &self.0[..5], &self.0[5..])
    }

    /// Accepts what a user typed.
    ///
    /// # Errors
    /// `None` when it cannot be a recovery code.
    pub fn parse(input: &str) -> Option<Self> {
        let mut out = String::with_capacity(CODE_LEN);
        for c in input.chars() {
            let c = match c.to_ascii_lowercase() {
                ' ' | '-' | '\t' => continue,
                'o' => '0',
                'i' | 'l' => '1',
                c => c,
            };
            if !c.is_ascii() || !ALPHABET.contains(&(c as u8)) {
                return None;
            }
            out.push(c);
            if out.len() > CODE_LEN {
                return None;
            }
        }
        (out.len() == CODE_LEN).then(|| Self(Zeroizing::new(out)))
    }
}

/// Draws a fresh set of distinct codes.
pub fn generate_set(entropy: &dyn Entropy) -> Vec<RecoveryCode> {
    let mut codes: Vec<RecoveryCode> = Vec::with_capacity(CODES_PER_SET);
    while codes.len() < CODES_PER_SET {
        let mut raw = Zeroizing::new([0u8; CODE_LEN]);
        entropy.fill(raw.as_mut());
        // 256 is a multiple of 32, so `% 32` is unbiased.
        let code: String = raw
            .iter()
            .map(|b| ALPHABET[usize::from(b % 32)] as char)
            .collect();
        if codes.iter().all(|c| *c.0 != code) {
            codes.push(RecoveryCode(Zeroizing::new(code)));
        }
    }
    codes
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::entropy::CountingEntropy;

    #[test]
    fn a_set_is_ten_distinct_well_formed_codes() {
        let codes = generate_set(&CountingEntropy::default());
        assert_eq!(codes.len(), CODES_PER_SET);
        for (i, c) in codes.iter().enumerate() {
            assert_eq!(c.normalised().len(), CODE_LEN);
            assert!(c.normalised().bytes().all(|b| ALPHABET.contains(&b)));
            assert_eq!(c.display().len(), CODE_LEN + 1);
            for other in &codes[i + 1..] {
                assert_ne!(c.normalised(), other.normalised());
            }
        }
    }

    #[test]
    fn typing_variations_normalise_to_the_code() {
        let code = RecoveryCode::parse("ab1cd-ef0gh").unwrap();
        for typed in ["AB1CD-EF0GH", "ab1cd ef0gh", " abicd-efogh ", "ABLCDEFOGH"] {
            assert_eq!(
                RecoveryCode::parse(typed).unwrap().normalised(),
                code.normalised(),
                "{typed}"
            );
        }
    }

    #[test]
    fn wrong_shapes_are_refused() {
        for bad in [
            "",
            "abcde",
            "abcde-fghjkm",
            "abcde-fghj!",
            "abcde-fghjü",
            "uuuuu-uuuuu",
        ] {
            assert!(RecoveryCode::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn debug_is_redacted() {
        let code = RecoveryCode::parse("ab1cd-ef0gh").unwrap();
        assert!(!format!("{code:?}").contains("ab1cd"));
    }
}
