//! The one pseudo-random generator of the generators: SplitMix64 (Vigna),
//! small, fast, well mixed and reproducible on every platform, so that the
//! same seed always writes the same bytes. No dependency is needed for it.

/// SplitMix64 state. Construct it directly from a seed: `SplitMix64(seed)`.
#[derive(Debug, Clone)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A value in `0..bound`, or 0 when `bound` is 0. The modulo bias is
    /// irrelevant for test data.
    pub fn below(&mut self, bound: u64) -> u64 {
        if bound == 0 {
            0
        } else {
            self.next_u64() % bound
        }
    }

    /// A random byte (the top bits, the best mixed).
    pub fn byte(&mut self) -> u8 {
        (self.next_u64() >> 56) as u8
    }
}
