//! mothur's tie breaking: `SparseDistanceMatrix::getSmallestCell` collects
//! all cells whose distance "equals" the smallest one and calls
//! `util.mothurRandomShuffle(mins)`, i.e. `std::shuffle` with the
//! `mt19937_64` engine of the matrix's own `Utils` member, seeded with
//! mothur's default seed 19760620 when the matrix is built. With GCC 12's
//! libstdc++ that is deterministic, so we reproduce it exactly:
//! `mt19937_64`, `uniform_int_distribution` (Lemire's method with 128-bit
//! products, since the engine's range is the full 64 bits) and `shuffle`'s
//! two-swaps-per-draw loop (`__gen_two_uniform_ints`).

/// mothur's default random seed.
pub const MOTHUR_SEED: u64 = 19_760_620;

const NN: usize = 312;
const MM: usize = 156;
const UPPER: u64 = 0xFFFF_FFFF_8000_0000;
const LOWER: u64 = 0x7FFF_FFFF;
const MATRIX_A: u64 = 0xB502_6F5A_A966_19E9;

/// The 64-bit Mersenne Twister (`std::mt19937_64`).
#[derive(Clone)]
pub struct Mt64 {
    mt: [u64; NN],
    idx: usize,
}

impl Mt64 {
    /// `std::mt19937_64(seed)`.
    pub fn new(seed: u64) -> Self {
        let mut mt = [0u64; NN];
        mt[0] = seed;
        for i in 1..NN {
            let prev = mt[i - 1];
            mt[i] = 6_364_136_223_846_793_005u64
                .wrapping_mul(prev ^ (prev >> 62))
                .wrapping_add(i as u64);
        }
        Mt64 { mt, idx: NN }
    }

    fn twist(&mut self) {
        for i in 0..NN {
            let x = (self.mt[i] & UPPER) | (self.mt[(i + 1) % NN] & LOWER);
            let mut xa = x >> 1;
            if x & 1 != 0 {
                xa ^= MATRIX_A;
            }
            self.mt[i] = self.mt[(i + MM) % NN] ^ xa;
        }
        self.idx = 0;
    }

    /// The next 64-bit output.
    pub fn next_u64(&mut self) -> u64 {
        if self.idx >= NN {
            self.twist();
        }
        let mut x = self.mt[self.idx];
        self.idx += 1;
        x ^= (x >> 29) & 0x5555_5555_5555_5555;
        x ^= (x << 17) & 0x71D6_7FFF_EDA6_0000;
        x ^= (x << 37) & 0xFFF7_EEE0_0000_0000;
        x ^= x >> 43;
        x
    }

    /// `uniform_int_distribution<u64>{0, range-1}` for `range >= 1`.
    fn below(&mut self, range: u64) -> u64 {
        let mut product = u128::from(self.next_u64()) * u128::from(range);
        let mut low = product as u64;
        if low < range {
            let threshold = range.wrapping_neg() % range;
            while low < threshold {
                product = u128::from(self.next_u64()) * u128::from(range);
                low = product as u64;
            }
        }
        (product >> 64) as u64
    }

    /// `std::shuffle(v.begin(), v.end(), *this)` as libstdc++ 12 does it.
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        let n = v.len() as u64;
        if n == 0 {
            return;
        }
        // urngrange / urange >= urange always holds for slices we see
        // (n < 2^32); the other branch would draw one number per element.
        if u64::MAX / n < n {
            for i in 1..v.len() {
                let j = self.below(i as u64 + 1) as usize;
                v.swap(i, j);
            }
            return;
        }
        let mut i = 1usize;
        if n.is_multiple_of(2) {
            let j = self.below(2) as usize;
            v.swap(i, j);
            i += 1;
        }
        while i < v.len() {
            let r = i as u64 + 1;
            let x = self.below(r * (r + 1));
            v.swap(i, (x / (r + 1)) as usize);
            i += 1;
            v.swap(i, (x % (r + 1)) as usize);
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mt19937_64_reference_value() {
        // The C++ standard: the 10000th output of a default-constructed
        // mt19937_64 (seed 5489) is 9981545732273789042.
        let mut g = Mt64::new(5489);
        let mut x = 0;
        for _ in 0..10000 {
            x = g.next_u64();
        }
        assert_eq!(x, 9_981_545_732_273_789_042);
    }

    /// GCC 12: one `mt19937_64(19760620)` shuffling `0..n` for n = 1..=40
    /// in turn; FNV-1a over all results.
    #[test]
    fn shuffle_like_libstdcxx() {
        let mut g = Mt64::new(MOTHUR_SEED);
        let mut h: u64 = 1469598103934665603;
        for n in 1..=40usize {
            let mut v: alloc::vec::Vec<usize> = (0..n).collect();
            g.shuffle(&mut v);
            for x in v {
                h = (h ^ x as u64).wrapping_mul(1099511628211);
            }
        }
        assert_eq!(h, 2950345901777590477);
    }

    #[test]
    fn shuffle_is_a_permutation() {
        let mut g = Mt64::new(MOTHUR_SEED);
        for n in 0..20usize {
            let mut v: alloc::vec::Vec<usize> = (0..n).collect();
            g.shuffle(&mut v);
            let mut w = v.clone();
            w.sort();
            assert_eq!(w, (0..n).collect::<alloc::vec::Vec<_>>());
        }
    }
}
