//! Pattern OTP: a one-time sequence of distinct dots on an n×n grid, sent by e-mail or SMS as
//! numbers and drawn back in order on a pattern pad.
//!
//! Dots are numbered 1 to n² row by row, left to right from the top-left corner (on the
//! default 4×4 grid: 1–4 is the top row, 13–16 the bottom one). The server draws `k` distinct
//! dots uniformly (rejection sampling, no modulo bias) from the [`Entropy`] it is given; a
//! grid whose sequence space `n²·(n²−1)·…·(n²−k+1)` is below [`MIN_SEQUENCES`] (a six-digit
//! code's million), or with fewer than [`MIN_DOTS`] dots, is refused by [`PatternGrid::new`],
//! so the configuration cannot make a pattern weaker than a code. Like a code, a pattern is
//! only ever stored as a keyed hash of its [`Pattern::canonical`] form; single use, expiry and
//! the attempt bound live with the sent codes in the store.

use std::fmt;
use zeroize::Zeroizing;

use crate::entropy::Entropy;

/// Fewest dots a pattern may have.
pub const MIN_DOTS: u8 = 4;
/// Most dots a pattern may have (a message stays short; a pad stays drawable).
pub const MAX_DOTS: u8 = 16;
/// Smallest and largest side of the grid.
pub const SIZES: std::ops::RangeInclusive<u8> = 3..=8;
/// Fewest distinct sequences a grid must allow: as many as six-digit codes.
pub const MIN_SEQUENCES: u64 = 1_000_000;

/// The shape of the patterns sent: an n×n grid and k dots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PatternGrid {
    size: u8,
    dots: u8,
}

/// Why a grid is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WeakGrid {
    /// The side is outside [`SIZES`].
    #[error("the grid side must be between 3 and 8")]
    Size,
    /// Fewer than [`MIN_DOTS`] dots, more than [`MAX_DOTS`], or more than the grid holds.
    #[error("a pattern needs 4 to 16 dots, and no more than the grid has")]
    Dots,
    /// Fewer than [`MIN_SEQUENCES`] possible patterns.
    #[error("the grid and dot count allow fewer than 1,000,000 patterns")]
    Space,
}

impl Default for PatternGrid {
    /// 4×4 and 6 dots: 16·15·14·13·12·11 = 5,765,760 sequences.
    fn default() -> Self {
        Self { size: 4, dots: 6 }
    }
}

impl PatternGrid {
    /// A grid of `size`×`size` dots whose patterns have `dots` dots.
    ///
    /// # Errors
    /// [`WeakGrid`] when the shape is out of bounds or allows too few patterns.
    pub fn new(size: u8, dots: u8) -> Result<Self, WeakGrid> {
        if !SIZES.contains(&size) {
            return Err(WeakGrid::Size);
        }
        let grid = Self { size, dots };
        if !(MIN_DOTS..=MAX_DOTS).contains(&dots) || dots > grid.cells() {
            return Err(WeakGrid::Dots);
        }
        if grid.sequences() < MIN_SEQUENCES {
            return Err(WeakGrid::Space);
        }
        Ok(grid)
    }

    /// The side (n).
    pub const fn size(self) -> u8 {
        self.size
    }

    /// Dots per pattern (k).
    pub const fn dots(self) -> u8 {
        self.dots
    }

    /// Dots on the grid (n²), numbered 1 to n².
    pub const fn cells(self) -> u8 {
        self.size * self.size
    }

    /// How many distinct patterns there are: n²!/(n²−k)! (saturating).
    pub fn sequences(self) -> u64 {
        (0..u64::from(self.dots)).fold(1u64, |acc, i| {
            acc.saturating_mul(u64::from(self.cells()).saturating_sub(i))
        })
    }
}

/// A pattern: distinct dot numbers in the order they are drawn. Never printed by `Debug`.
pub struct Pattern(Zeroizing<Vec<u8>>);

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pattern(<redacted>)")
    }
}

/// A uniform draw in `0..bound` (`1 ≤ bound ≤ 255`) from random bytes, redrawing the biased
/// tail.
fn below(entropy: &dyn Entropy, bound: u8) -> u8 {
    let limit = 256 - (256 % u16::from(bound));
    loop {
        let mut b = [0u8; 1];
        entropy.fill(&mut b);
        if u16::from(b[0]) < limit {
            return b[0] % bound;
        }
    }
}

impl Pattern {
    /// Draws a fresh pattern of `grid.dots()` distinct dots, every sequence equally likely
    /// (a partial Fisher–Yates shuffle of the grid's dots).
    pub fn generate(grid: PatternGrid, entropy: &dyn Entropy) -> Self {
        let mut pool: Vec<u8> = (1..=grid.cells()).collect();
        let mut out = Vec::with_capacity(usize::from(grid.dots()));
        for i in 0..grid.dots() {
            let left = grid.cells() - i;
            let pick = usize::from(below(entropy, left));
            out.push(pool.swap_remove(pick));
        }
        pool.fill(0);
        Self(Zeroizing::new(out))
    }

    /// The pattern a person drew, as dot numbers in order.
    ///
    /// # Errors
    /// `None` unless it has exactly `grid.dots()` distinct dots, each from 1 to n².
    pub fn from_dots(grid: PatternGrid, dots: &[u32]) -> Option<Self> {
        if dots.len() != usize::from(grid.dots()) {
            return None;
        }
        let mut out = Vec::with_capacity(dots.len());
        for &d in dots {
            let d = u8::try_from(d).ok()?;
            if d == 0 || d > grid.cells() || out.contains(&d) {
                return None;
            }
            out.push(d);
        }
        Some(Self(Zeroizing::new(out)))
    }

    /// The canonical form hashed and sent: the numbers joined by `-`, e.g. `3-7-12-1-5-9`.
    pub fn canonical(&self) -> Zeroizing<String> {
        let parts: Vec<String> = self.0.iter().map(u8::to_string).collect();
        Zeroizing::new(parts.join("-"))
    }

    /// The dot numbers in order.
    pub fn dots(&self) -> &[u8] {
        &self.0
    }
}

/// Reads dot numbers written as text (`3-7-12`, `3, 7, 12`, `3 7 12`), as a form or a
/// message carries them. Checking them against a grid is [`Pattern::from_dots`]'s job.
///
/// # Errors
/// `None` for anything but 1 to 64 numbers below 2³².
pub fn read_dots(text: &str) -> Option<Vec<u32>> {
    let dots: Vec<u32> = text
        .split(|c: char| c == '-' || c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<u32>().ok())
        .collect::<Option<_>>()?;
    (1..=64).contains(&dots.len()).then_some(dots)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::entropy::CountingEntropy;
    use std::sync::Mutex;

    /// Entropy that replays given bytes.
    struct Replay(Mutex<Vec<u8>>);
    impl Entropy for Replay {
        fn fill(&self, buf: &mut [u8]) {
            for b in buf {
                *b = self.0.lock().unwrap().remove(0);
            }
        }
    }

    #[test]
    fn the_default_grid_is_4x4_with_6_dots_and_5_7_million_patterns() {
        let g = PatternGrid::default();
        assert_eq!((g.size(), g.dots(), g.cells()), (4, 6, 16));
        assert_eq!(g.sequences(), 16 * 15 * 14 * 13 * 12 * 11);
        assert_eq!(PatternGrid::new(4, 6), Ok(g));
    }

    #[test]
    fn weak_or_odd_grids_are_refused() {
        assert_eq!(PatternGrid::new(2, 4), Err(WeakGrid::Size));
        assert_eq!(PatternGrid::new(9, 6), Err(WeakGrid::Size));
        assert_eq!(PatternGrid::new(5, 3), Err(WeakGrid::Dots));
        assert_eq!(PatternGrid::new(8, 17), Err(WeakGrid::Dots));
        // 16·15·14·13·12 = 524,160 < 10^6; 3×3 never reaches it (9! = 362,880).
        assert_eq!(PatternGrid::new(4, 5), Err(WeakGrid::Space));
        assert_eq!(PatternGrid::new(3, 9), Err(WeakGrid::Space));
        // 25·24·23·22 = 303,600 < 10^6, but five dots on 5×5 are 6,375,600.
        assert_eq!(PatternGrid::new(5, 4), Err(WeakGrid::Space));
        assert!(PatternGrid::new(5, 5).is_ok());
        assert!(PatternGrid::new(8, 16).is_ok());
    }

    #[test]
    fn generated_patterns_are_distinct_dots_on_the_grid_and_round_trip() {
        let e = CountingEntropy::default();
        for grid in [PatternGrid::default(), PatternGrid::new(6, 8).unwrap()] {
            for _ in 0..50 {
                let p = Pattern::generate(grid, &e);
                assert_eq!(p.dots().len(), usize::from(grid.dots()));
                let mut seen = p.dots().to_vec();
                seen.sort_unstable();
                seen.dedup();
                assert_eq!(seen.len(), p.dots().len(), "distinct");
                assert!(p.dots().iter().all(|d| (1..=grid.cells()).contains(d)));
                let back = Pattern::from_dots(grid, &read_dots(&p.canonical()).unwrap()).unwrap();
                assert_eq!(back.dots(), p.dots());
            }
        }
    }

    /// The pool shrinks by one per dot; bytes in the biased tail of 256 are redrawn.
    #[test]
    fn draws_are_unbiased_picks_from_the_remaining_dots() {
        // 16 divides 256: no tail. 15: 256 % 15 = 1, so 255 is redrawn.
        let e = Replay(Mutex::new(vec![0, 255, 0, 0, 0, 0, 0]));
        let p = Pattern::generate(PatternGrid::default(), &e);
        // pool [1..16]: pick 0 → 1 (16 moves to 0); 255 redrawn; pick 0 → 16; …
        assert_eq!(p.dots(), &[1, 16, 15, 14, 13, 12]);
    }

    #[test]
    fn drawn_answers_must_be_the_grids_shape() {
        let g = PatternGrid::default();
        assert!(Pattern::from_dots(g, &[3, 7, 12, 1, 5, 9]).is_some());
        for bad in [
            &[3, 7, 12, 1, 5][..],
            &[3, 7, 12, 1, 5, 9, 2],
            &[3, 7, 12, 1, 5, 5],
            &[0, 7, 12, 1, 5, 9],
            &[17, 7, 12, 1, 5, 9],
            &[259, 7, 12, 1, 5, 9],
        ] {
            assert!(Pattern::from_dots(g, bad).is_none(), "{bad:?}");
        }
        assert_eq!(read_dots("3-7-12"), Some(vec![3, 7, 12]));
        assert_eq!(read_dots(" 3, 7 ,12 "), Some(vec![3, 7, 12]));
        assert_eq!(read_dots(""), None);
        assert_eq!(read_dots("3-x"), None);
        assert_eq!(read_dots("-3"), Some(vec![3]));
        assert!(read_dots(&"1-".repeat(65)).is_none());
    }

    #[test]
    fn order_matters_and_debug_hides_the_dots() {
        let g = PatternGrid::default();
        let a = Pattern::from_dots(g, &[3, 7, 12, 1, 5, 9]).unwrap();
        let b = Pattern::from_dots(g, &[7, 3, 12, 1, 5, 9]).unwrap();
        assert_eq!(a.canonical().as_str(), "3-7-12-1-5-9");
        assert_ne!(a.canonical(), b.canonical());
        assert_eq!(format!("{a:?}"), "Pattern(<redacted>)");
    }
}
