//! SplitMix64 (Steele, Lea & Flood, 2014): the small, portable generator behind every random draw
//! the core makes (Hopfield update orders, reservoir state noise). Not cryptographic; chosen
//! because it is a few lines that any language can reproduce exactly (the Python tests do), so a
//! seed means the same draws everywhere, whatever the thread count or batch grouping: each
//! probe or sequence has its own stream.

/// Increment of the SplitMix64 state (the golden ratio in 64-bit fixed point).
const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;
/// Multiplier separating the streams of different probes drawn from one seed.
const STREAM: u64 = 0xD1B5_4A32_D192_ED03;

/// A SplitMix64 generator.
#[derive(Clone, Debug)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// The generator of stream `stream` (one per probe) under `seed`.
    pub fn new(seed: u64, stream: u64) -> Self {
        Self {
            state: seed ^ stream.wrapping_mul(STREAM),
        }
    }

    /// The generator whose state is `state` (a stream derived by hand).
    pub fn from_state(state: u64) -> Self {
        Self { state }
    }

    /// The next 64 random bits.
    #[inline(always)]
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GAMMA);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..bound` by Lemire's multiply-shift (bias below `bound / 2^64`, negligible
    /// for unit counts, and no rejection loop, so the stream stays trivially reproducible).
    #[inline(always)]
    pub fn below(&mut self, bound: usize) -> usize {
        ((u128::from(self.next_u64()) * bound as u128) >> 64) as usize
    }

    /// A number uniform in `[-1, 1)`, from the top 53 bits.
    #[inline(always)]
    pub fn symmetric_unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (2.0 / (1u64 << 53) as f64) - 1.0
    }

    /// Fisher–Yates shuffle of `items` in place (from the last position down).
    #[inline(always)]
    pub fn shuffle<V>(&mut self, items: &mut [V]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}
