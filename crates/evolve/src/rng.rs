//! A small seeded random number generator for reproducible searches.
//!
//! [`Rng`] is xoshiro256** seeded through SplitMix64. It does not aim at cryptographic quality, and it does not
//! read any entropy source: the same seed always gives the same stream on every platform. [`Rng::normal`] avoids
//! transcendental functions (whose last bit may differ between C libraries) so that searches stay bit-reproducible.

/// A deterministic pseudo-random generator (xoshiro256**).
#[derive(Clone, Debug)]
pub struct Rng {
    state: [u64; 4],
}

/// One SplitMix64 step: a good mixer for seeds and for hashing a few integers together.
pub fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    /// A generator seeded from `seed`.
    pub fn new(seed: u64) -> Rng {
        let mut sm = seed;
        Rng { state: [splitmix64(&mut sm), splitmix64(&mut sm), splitmix64(&mut sm), splitmix64(&mut sm)] }
    }

    /// The generator's state, to save it (a search checkpoint).
    pub fn state(&self) -> [u64; 4] {
        self.state
    }

    /// A generator that continues from a saved [`Rng::state`]. An all-zero state (which xoshiro never reaches)
    /// is replaced by the state of `Rng::new(0)`.
    pub fn from_state(state: [u64; 4]) -> Rng {
        if state == [0; 4] { Rng::new(0) } else { Rng { state } }
    }

    /// A generator for one independent stream, derived from a seed and a list of indices (for example the shape
    /// number and the restart number), so that work can be split among threads without changing the result.
    pub fn derive(seed: u64, indices: &[u64]) -> Rng {
        let mut sm = seed;
        let mut mixed = splitmix64(&mut sm);
        for &index in indices {
            let mut s = mixed ^ index.wrapping_mul(0xD6E8_FEB8_6659_FD93);
            mixed = splitmix64(&mut s);
        }
        Rng::new(mixed)
    }

    /// The next 64 random bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.state;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// A uniform integer in `0..n`; `n == 0` gives 0.
    #[inline]
    pub fn below(&mut self, n: u32) -> u32 {
        // Lemire's multiply-shift: the bias is below 2^-32, irrelevant for a search.
        (((self.next_u64() >> 32) * u64::from(n)) >> 32) as u32
    }

    /// A uniform integer in `lo..=hi` (`hi >= lo`).
    #[inline]
    pub fn range(&mut self, lo: i32, hi: i32) -> i32 {
        // The span fits in u32 because both ends are i32.
        let span = (i64::from(hi) - i64::from(lo) + 1) as u32;
        (i64::from(lo) + i64::from(self.below(span))) as i32
    }

    /// An approximately standard-normal number: the sum of four uniforms (Irwin–Hall), centred and scaled to unit
    /// variance. Only additions and one multiplication, so it is bit-reproducible everywhere.
    #[inline]
    pub fn normal(&mut self) -> f64 {
        let bits = self.next_u64();
        let sum: u64 = (0..4).map(|k| (bits >> (16 * k)) & 0xFFFF).sum();
        // Each 16-bit part is uniform on 0..65536 with variance 65536^2/12; the sum of four has variance
        // 65536^2/3, so multiplying by sqrt(3)/65536 gives unit variance.
        (sum as f64 - 2.0 * 65535.0) * (1.732_050_807_568_877_2 / 65536.0)
    }

    /// True with probability one half.
    #[inline]
    pub fn coin(&mut self) -> bool {
        self.next_u64() >> 63 == 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        assert_ne!(Rng::derive(7, &[1, 2]).next_u64(), Rng::derive(7, &[2, 1]).next_u64());
    }

    #[test]
    fn ranges_are_respected_and_normal_is_centred() {
        let mut rng = Rng::new(1);
        let mut sum = 0.0;
        let mut sum_sq = 0.0;
        for _ in 0..20_000 {
            let v = rng.range(-3, 5);
            assert!((-3..=5).contains(&v));
            assert!(rng.below(10) < 10);
            let z = rng.normal();
            sum += z;
            sum_sq += z * z;
        }
        let mean = sum / 20_000.0;
        let var = sum_sq / 20_000.0 - mean * mean;
        assert!(mean.abs() < 0.05, "mean {mean}");
        assert!((var - 1.0).abs() < 0.05, "variance {var}");
    }
}
