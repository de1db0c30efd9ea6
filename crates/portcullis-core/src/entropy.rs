//! Randomness is a parameter: core never reaches for the operating system's generator itself.

/// A source of random bytes. The server passes the operating system's generator; tests pass a
/// deterministic one.
pub trait Entropy: Send + Sync {
    /// Fills `buf` with random bytes.
    fn fill(&self, buf: &mut [u8]);

    /// Returns `N` random bytes.
    fn bytes<const N: usize>(&self) -> [u8; N]
    where
        Self: Sized,
    {
        let mut out = [0u8; N];
        self.fill(&mut out);
        out
    }
}

/// A deterministic source for tests: a counter mixed into each byte. Never use it for secrets.
#[derive(Debug, Default)]
pub struct CountingEntropy {
    counter: std::sync::atomic::AtomicU64,
}

impl Entropy for CountingEntropy {
    fn fill(&self, buf: &mut [u8]) {
        let n = self
            .counter
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        for (i, b) in buf.iter_mut().enumerate() {
            *b = (n as u8).wrapping_mul(31).wrapping_add(i as u8);
        }
    }
}
