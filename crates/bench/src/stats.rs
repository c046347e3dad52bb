//! Statistics of one series of samples, and ratios between two series
//! measured in the same interleaved rounds, with a bootstrap confidence
//! interval. Medians, not means: a shared machine adds rare, large delays.

/// Order statistics and moments of a series.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    pub n: usize,
    pub median: f64,
    pub mean: f64,
    pub min: f64,
    pub p10: f64,
    pub p90: f64,
    pub max: f64,
    pub stddev: f64,
}

/// The `q` quantile (0..=1) of sorted `v` by linear interpolation; NaN
/// when empty.
fn quantile_sorted(v: &[f64], q: f64) -> f64 {
    let Some(last) = v.len().checked_sub(1) else {
        return f64::NAN;
    };
    let pos = q.clamp(0.0, 1.0) * last as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    match (v.get(lo), v.get(hi)) {
        (Some(a), Some(b)) => a + (b - a) * (pos - lo as f64),
        _ => f64::NAN,
    }
}

fn sorted(values: &[f64]) -> Vec<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    v
}

/// The median of `values` (NaN when there is none).
pub fn median(values: &[f64]) -> f64 {
    quantile_sorted(&sorted(values), 0.5)
}

impl Summary {
    /// Summarises the finite values of `values`.
    pub fn of(values: &[f64]) -> Summary {
        let v = sorted(values);
        let n = v.len();
        let mean = if n == 0 {
            f64::NAN
        } else {
            v.iter().sum::<f64>() / n as f64
        };
        let var = if n < 2 {
            0.0
        } else {
            v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1) as f64
        };
        Summary {
            n,
            median: quantile_sorted(&v, 0.5),
            mean,
            min: quantile_sorted(&v, 0.0),
            p10: quantile_sorted(&v, 0.1),
            p90: quantile_sorted(&v, 0.9),
            max: quantile_sorted(&v, 1.0),
            stddev: var.sqrt(),
        }
    }
}

/// `median(a) / median(b)` with a 95 % confidence interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ratio {
    pub value: f64,
    pub low: f64,
    pub high: f64,
}

/// A small deterministic generator (xorshift64*): the intervals are
/// reproducible from the samples alone.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        // n is far below 2^32, so the modulo bias is negligible.
        (self.next() % n as u64) as usize
    }
}

/// Ratio of the medians of `a` and `b` with a 95 % percentile-bootstrap
/// interval over `resamples` resamplings. When both series have the same
/// length they were measured round by round, so rounds are resampled as
/// pairs (noise that hit one round hits both sides); otherwise each
/// series is resampled on its own.
pub fn ratio(a: &[f64], b: &[f64], resamples: usize) -> Ratio {
    let value = median(a) / median(b);
    if a.is_empty() || b.is_empty() || resamples == 0 {
        return Ratio {
            value,
            low: f64::NAN,
            high: f64::NAN,
        };
    }
    let paired = a.len() == b.len();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut ra = vec![0.0; a.len()];
    let mut rb = vec![0.0; b.len()];
    let mut ratios = Vec::with_capacity(resamples);
    for _ in 0..resamples {
        for (i, slot) in ra.iter_mut().enumerate() {
            let j = rng.below(a.len());
            *slot = a.get(j).copied().unwrap_or(f64::NAN);
            if paired {
                if let Some(s) = rb.get_mut(i) {
                    *s = b.get(j).copied().unwrap_or(f64::NAN);
                }
            }
        }
        if !paired {
            for slot in rb.iter_mut() {
                *slot = b.get(rng.below(b.len())).copied().unwrap_or(f64::NAN);
            }
        }
        let r = median(&ra) / median(&rb);
        if r.is_finite() {
            ratios.push(r);
        }
    }
    ratios.sort_by(f64::total_cmp);
    Ratio {
        value,
        low: quantile_sorted(&ratios, 0.025),
        high: quantile_sorted(&ratios, 0.975),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_of_known_values() {
        let s = Summary::of(&[5.0, 1.0, 3.0, 2.0, 4.0]);
        assert_eq!(s.n, 5);
        assert_eq!(s.median, 3.0);
        assert_eq!(s.mean, 3.0);
        assert_eq!(s.min, 1.0);
        assert_eq!(s.max, 5.0);
        assert!((s.p10 - 1.4).abs() < 1e-12, "{}", s.p10);
        assert!((s.p90 - 4.6).abs() < 1e-12, "{}", s.p90);
        assert!((s.stddev - 2.5f64.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn even_count_median_interpolates_and_nan_is_ignored() {
        assert_eq!(median(&[1.0, 2.0, 3.0, 10.0]), 2.5);
        assert_eq!(median(&[f64::NAN, 4.0]), 4.0);
        assert!(median(&[]).is_nan());
        assert_eq!(Summary::of(&[]).n, 0);
    }

    #[test]
    fn paired_ratio_sees_through_shared_noise() {
        // b = 2 * a, with round-to-round noise common to both.
        let a: Vec<f64> = (0..200).map(|i| 100.0 + f64::from(i % 37) * 3.0).collect();
        let b: Vec<f64> = a.iter().map(|x| 2.0 * x).collect();
        let r = ratio(&a, &b, 500);
        assert!((r.value - 0.5).abs() < 1e-12);
        assert!(r.low <= 0.5 && r.high >= 0.5, "{r:?}");
        assert!(r.high - r.low < 0.05, "{r:?}");
    }

    #[test]
    fn interval_brackets_the_ratio_and_is_reproducible() {
        let a: Vec<f64> = (0..101).map(|i| f64::from(i * 7 % 101)).collect();
        let b: Vec<f64> = (0..57).map(|i| 10.0 + f64::from(i * 5 % 57)).collect();
        let r = ratio(&a, &b, 400);
        assert!(r.low < r.value && r.value < r.high, "{r:?}");
        assert_eq!(r, ratio(&a, &b, 400));
        assert!(ratio(&[], &b, 10).low.is_nan());
    }
}
