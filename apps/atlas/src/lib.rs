//! `corten-atlas`: a dgemm benchmark over a real BLAS (Debian's ATLAS, or
//! OpenBLAS), one source for three builds: a native Linux program
//! (`native`, std) and Corten spt / hvt unikernels (`guest/apps/atlas`).
//! The platform seam is small: a monotonic clock and a text sink.
//!
//! Command line (the same words for every build):
//!
//! ```text
//! n=N [reps=R] [seed=S] [check]
//! ```
//!
//! It fills A and B (N×N, row-major) with seeded values in [-1, 1), runs
//! `C = A·B` with `cblas_dgemm` R times (default 1), and prints one line
//!
//! ```text
//! dgemm n=N reps=R seed=S ns=NANOSECONDS gflops=G hash=0xFNV64
//! ```
//!
//! where `ns` is the best of the R runs, `gflops` is 2N³ / ns and `hash` is
//! FNV-1a over the bytes of C (equal hashes: bit-identical results).
//! `check` also computes C with a naive triple loop and prints
//!
//! ```text
//! check n=N max_rel_err=E bound=B ok|FAILED
//! ```
//!
//! with E = max over (i, j) of |C_ij − R_ij| / Σ_k |A_ik·B_kj| (the
//! normwise error of a dot product) and B = 2·N·2⁻⁵³ (two dot products'
//! worst-case rounding, γ_N each); it exits with status 1 when E > B.
#![no_std]

extern crate alloc;

#[cfg(feature = "native")]
pub mod native;

mod matrix;

use alloc::string::String;
use core::fmt::Write;

pub use matrix::Matrix;

/// What the benchmark needs from its platform.
pub trait Platform {
    /// Monotonic time in nanoseconds.
    fn now_ns(&self) -> u64;
}

/// The parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub n: usize,
    pub reps: u32,
    pub seed: u64,
    pub check: bool,
}

/// Largest N accepted: 3 matrices of 8·N² bytes must fit a unikernel's
/// memory (N = 8192: 1.5 GiB).
pub const MAX_N: usize = 8192;

/// Parses `n=N [reps=R] [seed=S] [check]`.
pub fn parse<'a>(words: impl Iterator<Item = &'a str>) -> Result<Options, String> {
    let mut o = Options {
        n: 0,
        reps: 1,
        seed: 1,
        check: false,
    };
    for w in words {
        let (key, value) = w.split_once('=').unwrap_or((w, ""));
        let bad = |what: &str| alloc::format!("bad value '{value}' for {key}: expected {what}");
        match key {
            "n" => {
                o.n = value.parse().map_err(|_| bad("a matrix size"))?;
                if o.n == 0 || o.n > MAX_N {
                    return Err(alloc::format!("n={value}: expected 1 to {MAX_N}"));
                }
            }
            "reps" => {
                o.reps = value.parse().map_err(|_| bad("a number of runs"))?;
                if o.reps == 0 {
                    return Err(String::from("reps=0: expected at least 1 run"));
                }
            }
            "seed" => o.seed = value.parse().map_err(|_| bad("an unsigned integer"))?,
            "check" if value.is_empty() => o.check = true,
            _ => {
                return Err(alloc::format!(
                    "unknown argument '{w}' (usage: n=N [reps=R] [seed=S] [check])"
                ))
            }
        }
    }
    if o.n == 0 {
        return Err(String::from(
            "missing n=N (usage: n=N [reps=R] [seed=S] [check])",
        ));
    }
    Ok(o)
}

/// splitmix64: a seeded, platform-independent stream.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A double in [-1, 1) with 53 random bits (exact arithmetic only).
    fn unit(&mut self) -> f64 {
        let k = (self.next() >> 11) as f64; // < 2^53, exact
        k * (1.0 / (1u64 << 52) as f64) - 1.0
    }
}

/// Fills `m` from the stream.
fn fill(m: &mut Matrix, rng: &mut SplitMix) {
    for x in m.as_mut_slice() {
        *x = rng.unit();
    }
}

/// FNV-1a 64 over the little-endian bytes of every element.
pub fn hash(values: &[f64]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for v in values {
        for b in v.to_bits().to_le_bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// Maximum normwise relative error of `c` against the naive product of
/// `a` and `b` (see the crate docs).
pub fn max_rel_err(n: usize, a: &[f64], b: &[f64], c: &[f64]) -> f64 {
    let mut worst: f64 = 0.0;
    for i in 0..n {
        for j in 0..n {
            let mut exact = 0.0;
            let mut scale = 0.0;
            for k in 0..n {
                let p = a.get(i * n + k).copied().unwrap_or(0.0)
                    * b.get(k * n + j).copied().unwrap_or(0.0);
                exact += p;
                scale += if p < 0.0 { -p } else { p };
            }
            let got = c.get(i * n + j).copied().unwrap_or(f64::NAN);
            let diff = got - exact;
            let diff = if diff < 0.0 { -diff } else { diff };
            let e = if scale > 0.0 { diff / scale } else { diff };
            // NaN must count as a failure, hence no f64::max.
            if e.is_nan() || e > worst {
                worst = e;
            }
        }
    }
    worst
}

/// The bound for [`max_rel_err`]: 2·N·u, u = 2⁻⁵³.
pub fn error_bound(n: usize) -> f64 {
    2.0 * n as f64 / (1u64 << 53) as f64
}

extern "C" {
    /// CBLAS (`cblas.h`): C = alpha·op(A)·op(B) + beta·C.
    fn cblas_dgemm(
        order: i32,
        trans_a: i32,
        trans_b: i32,
        m: i32,
        n: i32,
        k: i32,
        alpha: f64,
        a: *const f64,
        lda: i32,
        b: *const f64,
        ldb: i32,
        beta: f64,
        c: *mut f64,
        ldc: i32,
    );
}

const CBLAS_ROW_MAJOR: i32 = 101;
const CBLAS_NO_TRANS: i32 = 111;

/// C = A·B through the linked BLAS.
fn dgemm(n: usize, a: &Matrix, b: &Matrix, c: &mut Matrix) {
    let ni = i32::try_from(n).unwrap_or(i32::MAX);
    // SAFETY: the three matrices hold n×n doubles (Matrix::new(n)), row
    // major with leading dimension n; n ≤ MAX_N fits an i32. The BLAS only
    // reads A and B and writes C within those bounds.
    unsafe {
        cblas_dgemm(
            CBLAS_ROW_MAJOR,
            CBLAS_NO_TRANS,
            CBLAS_NO_TRANS,
            ni,
            ni,
            ni,
            1.0,
            a.as_ptr(),
            ni,
            b.as_ptr(),
            ni,
            0.0,
            c.as_mut_ptr(),
            ni,
        )
    };
}

/// Runs the benchmark; `Ok(true)` when everything (the check, if asked
/// for) passed.
pub fn run(o: &Options, p: &dyn Platform, out: &mut dyn Write) -> Result<bool, String> {
    let n = o.n;
    let (Some(mut a), Some(mut b), Some(mut c)) = (Matrix::new(n), Matrix::new(n), Matrix::new(n))
    else {
        return Err(alloc::format!(
            "out of memory for three {n}x{n} matrices ({} MiB); give the unikernel more memory",
            (3 * 8 * n * n) >> 20
        ));
    };
    let mut rng = SplitMix(o.seed);
    fill(&mut a, &mut rng);
    fill(&mut b, &mut rng);
    let mut best = u64::MAX;
    for _ in 0..o.reps {
        let t0 = p.now_ns();
        dgemm(n, &a, &b, &mut c);
        best = best.min(p.now_ns().saturating_sub(t0).max(1));
    }
    let flops = 2.0 * (n as f64) * (n as f64) * (n as f64);
    let gflops = flops / best as f64;
    let _ = writeln!(
        out,
        "dgemm n={n} reps={} seed={} ns={best} gflops={gflops:.3} hash={:#018x}",
        o.reps,
        o.seed,
        hash(c.as_slice())
    );
    if !o.check {
        return Ok(true);
    }
    let e = max_rel_err(n, a.as_slice(), b.as_slice(), c.as_slice());
    let bound = error_bound(n);
    let ok = e <= bound;
    let _ = writeln!(
        out,
        "check n={n} max_rel_err={e:.3e} bound={bound:.3e} {}",
        if ok { "ok" } else { "FAILED" }
    );
    Ok(ok)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    extern crate std;
    use super::*;
    use alloc::vec;

    #[test]
    fn parses_the_command_line() {
        let o = parse("n=256 reps=3 seed=7 check".split(' ')).unwrap();
        assert_eq!(
            o,
            Options {
                n: 256,
                reps: 3,
                seed: 7,
                check: true
            }
        );
        assert_eq!(parse("n=8".split(' ')).unwrap().reps, 1);
        for bad in [
            "",
            "n=0",
            "n=x",
            "n=9000",
            "n=4 reps=0",
            "n=4 bogus",
            "n=4 check=1",
            "reps=2",
        ] {
            assert!(
                parse(bad.split(' ').filter(|w| !w.is_empty())).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn inputs_are_seeded_and_in_range() {
        let mut r = SplitMix(1);
        let v: alloc::vec::Vec<f64> = (0..1000).map(|_| r.unit()).collect();
        assert!(v.iter().all(|x| (-1.0..1.0).contains(x)));
        let mut r2 = SplitMix(1);
        assert_eq!(v[0], r2.unit());
        assert_ne!(SplitMix(2).unit(), v[0]);
    }

    #[test]
    fn hash_sees_every_bit() {
        assert_ne!(hash(&[1.0, 2.0]), hash(&[2.0, 1.0]));
        assert_ne!(hash(&[0.0]), hash(&[-0.0]));
        assert_eq!(hash(&[]), 0xcbf2_9ce4_8422_2325);
    }

    #[test]
    fn error_measure_catches_wrong_products() {
        let a = vec![1.0, 2.0, 3.0, 4.0];
        let b = vec![5.0, 6.0, 7.0, 8.0];
        let c = vec![19.0, 22.0, 43.0, 50.0];
        assert_eq!(max_rel_err(2, &a, &b, &c), 0.0);
        let wrong = vec![19.0, 22.0, 43.0, 50.5];
        assert!(max_rel_err(2, &a, &b, &wrong) > error_bound(2));
        let nan = vec![19.0, f64::NAN, 43.0, 50.0];
        assert!(max_rel_err(2, &a, &b, &nan).is_nan());
    }
}
