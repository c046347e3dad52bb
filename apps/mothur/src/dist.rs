//! The pairwise distance calculators of mothur 1.48 (source/calculators/):
//!
//! | calc      | countends=T            | countends=F                          |
//! |-----------|------------------------|--------------------------------------|
//! | `onegap`  | `oneGapDist`           | `oneGapIgnoreTermGapDist`            |
//! | `eachgap` | `eachGapDist`          | `eachGapIgnoreTermGapDist`           |
//! | `nogaps`  | `ignoreGaps`           | `ignoreGaps` (countends is ignored)  |
//!
//! Each scans the alignment column by column, keeping `diff` (differences)
//! and `len` (the comparable length, decremented for ignored columns); the
//! distance is `diff as f64 / len as f64`. After every column mothur checks
//! `diff / len > cutoff` and, if so, returns exactly `1.0` at once ("early
//! exit"). `cutoff` is the user's value stored in a C `float` and widened to
//! `double`, so `cutoff=0.03` really compares against 0.029999999329...;
//! for `lt`/`square` output mothur builds the calculator with cutoff 1.0.
//!
//! [`distance`] reproduces the per-column check exactly but only divides
//! when the result can change: while `diff` is fixed and `len > 0` shrinks,
//! `diff/len` only grows, so checking at the end of such a run (or when
//! `diff` next grows, or `len` reaches 0) sees the same maximum. That holds
//! for `cutoff >= 0`; for a negative cutoff the literal scan is used.

/// Distance calculator choice (`calc=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Calc {
    /// `onegap`: a run of gaps counts as one difference.
    OneGap,
    /// `eachgap`: every gapped column counts.
    EachGap,
    /// `nogaps`: gapped columns are ignored.
    NoGaps,
}

impl Calc {
    /// mothur's name for the calculator.
    pub fn name(self) -> &'static str {
        match self {
            Calc::OneGap => "onegap",
            Calc::EachGap => "eachgap",
            Calc::NoGaps => "nogaps",
        }
    }
}

const DOT: u8 = b'.';
const DASH: u8 = b'-';

fn is_gap(c: u8) -> bool {
    c == DOT || c == DASH
}

/// `-/-`, `./-` or `-/.`: two gaps, not both terminal.
fn gap_pair(x: u8, y: u8) -> bool {
    is_gap(x) && is_gap(y) && (x == DASH || y == DASH)
}

/// The calculator for one (calc, countends) pair with its cutoff.
#[derive(Debug, Clone, Copy)]
pub struct Calculator {
    calc: Calc,
    countends: bool,
    cutoff: f64,
}

/// The early-exit check state: `check` is called where mothur's check could
/// first see a larger value.
struct Exit {
    cutoff: f64,
    pending: bool,
}

impl Exit {
    #[inline]
    fn over(&self, diff: i32, len: i32) -> bool {
        f64::from(diff) / f64::from(len) > self.cutoff
    }
    /// After `diff` grew.
    #[inline]
    fn on_diff(&mut self, diff: i32, len: i32) -> bool {
        self.pending = false;
        self.over(diff, len)
    }
    /// After `len` shrank.
    #[inline]
    fn on_len(&mut self, diff: i32, len: i32) -> bool {
        if diff == 0 {
            // 0/len is 0 or NaN: never above a non-negative cutoff.
            return false;
        }
        if len <= 0 {
            self.pending = false;
            return self.over(diff, len);
        }
        self.pending = true;
        false
    }
    /// At the end of the scan.
    #[inline]
    fn at_end(&self, diff: i32, len: i32) -> bool {
        self.pending && self.over(diff, len)
    }
}

fn finish(diff: i32, len: i32) -> f64 {
    if len == 0 {
        1.0
    } else {
        f64::from(diff) / f64::from(len)
    }
}

/// First/last column where one of the two is not `.` (`DistCalc::setStart`/`setEnd`).
fn span_either(a: &[u8], b: &[u8]) -> (usize, usize) {
    let n = a.len().min(b.len());
    let start = (0..n).find(|&i| a[i] != DOT || b[i] != DOT).unwrap_or(0);
    let end = (0..n)
        .rev()
        .find(|&i| a[i] != DOT || b[i] != DOT)
        .unwrap_or(0);
    (start, end)
}

/// First/last column where both are bases (`setStartIgnoreTermGap`/`setEndIgnoreTermGap`);
/// `None` when the sequences do not overlap.
fn span_both(a: &[u8], b: &[u8]) -> Option<(usize, usize)> {
    let n = a.len().min(b.len());
    let start = (0..n).find(|&i| !is_gap(a[i]) && !is_gap(b[i]))?;
    let end = (0..n).rev().find(|&i| !is_gap(a[i]) && !is_gap(b[i]))?;
    Some((start, end))
}

/// The first column where both are bases, for `ignoreGaps`: there it is
/// "neither is `.`".
fn span_no_dot(a: &[u8], b: &[u8]) -> Option<(usize, usize)> {
    let n = a.len().min(b.len());
    let start = (0..n).find(|&i| a[i] != DOT && b[i] != DOT)?;
    let end = (0..n).rev().find(|&i| a[i] != DOT && b[i] != DOT)?;
    Some((start, end))
}

/// Where a sequence's non-`.` and base (non-gap) characters begin and end,
/// so a pair's scan limits are found without walking the terminal gaps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ends {
    non_dot: Option<(usize, usize)>,
    base: Option<(usize, usize)>,
}

impl Ends {
    /// Scans one sequence.
    pub fn of(s: &[u8]) -> Ends {
        let first_last = |f: &dyn Fn(u8) -> bool| {
            let first = s.iter().position(|&c| f(c))?;
            let last = s.iter().rposition(|&c| f(c))?;
            Some((first, last))
        };
        Ends {
            non_dot: first_last(&|c| c != DOT),
            base: first_last(&|c| !is_gap(c)),
        }
    }
}

/// [`span_either`]: the first column where either is not `.` is the
/// smaller of the two first non-`.` columns.
fn span_either_fast(ea: &Ends, eb: &Ends) -> (usize, usize) {
    match (ea.non_dot, eb.non_dot) {
        (None, None) => (0, 0),
        (Some(x), None) | (None, Some(x)) => x,
        (Some((f1, l1)), Some((f2, l2))) => (f1.min(f2), l1.max(l2)),
    }
}

/// Searches `[lo, hi]` from both sides for a column satisfying `both`.
fn search(lo: usize, hi: usize, both: impl Fn(usize) -> bool) -> Option<(usize, usize)> {
    if lo > hi {
        return None;
    }
    let start = (lo..=hi).find(|&i| both(i))?;
    let end = (start..=hi).rev().find(|&i| both(i))?;
    Some((start, end))
}

/// [`span_both`]: no column before both sequences' first base can qualify.
fn span_both_fast(a: &[u8], b: &[u8], ea: &Ends, eb: &Ends) -> Option<(usize, usize)> {
    let ((f1, l1), (f2, l2)) = (ea.base?, eb.base?);
    let hi = l1.min(l2).min(a.len().min(b.len()).checked_sub(1)?);
    search(f1.max(f2), hi, |i| !is_gap(a[i]) && !is_gap(b[i]))
}

/// [`span_no_dot`] likewise with non-`.` columns.
fn span_no_dot_fast(a: &[u8], b: &[u8], ea: &Ends, eb: &Ends) -> Option<(usize, usize)> {
    let ((f1, l1), (f2, l2)) = (ea.non_dot?, eb.non_dot?);
    let hi = l1.min(l2).min(a.len().min(b.len()).checked_sub(1)?);
    search(f1.max(f2), hi, |i| a[i] != DOT && b[i] != DOT)
}

fn as_i32(x: usize) -> i32 {
    i32::try_from(x).unwrap_or(i32::MAX)
}

impl Calculator {
    /// A calculator; `cutoff` is the widened C `float` (or 1.0).
    pub fn new(calc: Calc, countends: bool, cutoff: f64) -> Self {
        Calculator {
            calc,
            countends,
            cutoff,
        }
    }

    /// The distance between two aligned sequences of equal length.
    pub fn distance(&self, a: &[u8], b: &[u8]) -> f64 {
        self.distance_ends(a, &Ends::of(a), b, &Ends::of(b))
    }

    /// [`Calculator::distance`] with each sequence's [`Ends`] computed once.
    pub fn distance_ends(&self, a: &[u8], ea: &Ends, b: &[u8], eb: &Ends) -> f64 {
        if self.cutoff.is_nan() || self.cutoff < 0.0 {
            return self.reference(a, b);
        }
        let mut ex = Exit {
            cutoff: self.cutoff,
            pending: false,
        };
        let n = a.len().min(b.len());
        match (self.calc, self.countends) {
            (Calc::OneGap, true) => {
                let (start, end) = span_either_fast(ea, eb);
                let mut len = as_i32(end) - as_i32(start) + 1;
                let mut diff = 0i32;
                let (mut open_a, mut open_b) = (false, false);
                for i in start..n {
                    let (x, y) = (a[i], b[i]);
                    if gap_pair(x, y) {
                        len -= 1;
                        if ex.on_len(diff, len) {
                            return 1.0;
                        }
                    } else if x == DOT && y == DOT {
                        break;
                    } else if is_gap(x) {
                        // y is a base
                        if !open_a {
                            diff += 1;
                            open_a = true;
                            open_b = false;
                            if ex.on_diff(diff, len) {
                                return 1.0;
                            }
                        } else {
                            len -= 1;
                            if ex.on_len(diff, len) {
                                return 1.0;
                            }
                        }
                    } else if is_gap(y) {
                        if !open_b {
                            diff += 1;
                            open_a = false;
                            open_b = true;
                            if ex.on_diff(diff, len) {
                                return 1.0;
                            }
                        } else {
                            len -= 1;
                            if ex.on_len(diff, len) {
                                return 1.0;
                            }
                        }
                    } else {
                        open_a = false;
                        open_b = false;
                        if x != y {
                            diff += 1;
                            if ex.on_diff(diff, len) {
                                return 1.0;
                            }
                        }
                    }
                }
                if ex.at_end(diff, len) {
                    return 1.0;
                }
                finish(diff, len)
            }
            (Calc::OneGap, false) => {
                let Some((start, end)) = span_both_fast(a, b, ea, eb) else {
                    return 1.0;
                };
                let mut len = as_i32(end) - as_i32(start);
                let mut diff = 0i32;
                let (mut open_a, mut open_b) = (false, false);
                for i in start..=end.min(n.saturating_sub(1)) {
                    let (x, y) = (a[i], b[i]);
                    if x == DASH && y == DASH {
                        len -= 1;
                        if ex.on_len(diff, len) {
                            return 1.0;
                        }
                    } else if x == DASH {
                        if !open_a {
                            diff += 1;
                            open_a = true;
                            open_b = false;
                            if ex.on_diff(diff, len) {
                                return 1.0;
                            }
                        } else {
                            len -= 1;
                            if ex.on_len(diff, len) {
                                return 1.0;
                            }
                        }
                    } else if y == DASH {
                        if !open_b {
                            diff += 1;
                            open_a = false;
                            open_b = true;
                            if ex.on_diff(diff, len) {
                                return 1.0;
                            }
                        } else {
                            len -= 1;
                            if ex.on_len(diff, len) {
                                return 1.0;
                            }
                        }
                    } else {
                        // '.' counts as a base here.
                        open_a = false;
                        open_b = false;
                        if x != y {
                            diff += 1;
                            if ex.on_diff(diff, len) {
                                return 1.0;
                            }
                        } else if len == 0 && diff > 0 {
                            // mothur checks every column; diff/0 is +inf.
                            return 1.0;
                        }
                    }
                }
                if ex.at_end(diff, len) {
                    return 1.0;
                }
                finish(diff, len)
            }
            (Calc::EachGap, true) => {
                let (start, end) = span_either_fast(ea, eb);
                let mut len = as_i32(end) - as_i32(start) + 1;
                let mut diff = 0i32;
                for i in start..n {
                    let (x, y) = (a[i], b[i]);
                    if x == DOT && y == DOT {
                        break;
                    } else if is_gap(x) && is_gap(y) {
                        len -= 1;
                        if ex.on_len(diff, len) {
                            return 1.0;
                        }
                    } else if x != y {
                        diff += 1;
                        if ex.on_diff(diff, len) {
                            return 1.0;
                        }
                    }
                }
                if ex.at_end(diff, len) {
                    return 1.0;
                }
                finish(diff, len)
            }
            (Calc::EachGap, false) => {
                let Some((start, end)) = span_both_fast(a, b, ea, eb) else {
                    return 1.0;
                };
                let mut len = as_i32(end) - as_i32(start) + 1;
                let mut diff = 0i32;
                for i in start..n {
                    let (x, y) = (a[i], b[i]);
                    if x == DOT || y == DOT {
                        break;
                    } else if x == DASH && y == DASH {
                        len -= 1;
                        if ex.on_len(diff, len) {
                            return 1.0;
                        }
                    } else if x != y {
                        diff += 1;
                        if ex.on_diff(diff, len) {
                            return 1.0;
                        }
                    }
                }
                if ex.at_end(diff, len) {
                    return 1.0;
                }
                finish(diff, len)
            }
            (Calc::NoGaps, _) => {
                let Some((start, end)) = span_no_dot_fast(a, b, ea, eb) else {
                    return 1.0;
                };
                let mut len = as_i32(end) - as_i32(start) + 1;
                let mut diff = 0i32;
                for i in start..n {
                    let (x, y) = (a[i], b[i]);
                    if x == DOT || y == DOT {
                        break;
                    } else if x != DASH && y != DASH {
                        if x != y {
                            diff += 1;
                            if ex.on_diff(diff, len) {
                                return 1.0;
                            }
                        }
                    } else {
                        len -= 1;
                        if ex.on_len(diff, len) {
                            return 1.0;
                        }
                    }
                }
                if ex.at_end(diff, len) {
                    return 1.0;
                }
                finish(diff, len)
            }
        }
    }

    /// The literal column-by-column scan with the check after every
    /// column, as mothur writes it. Used for negative cutoffs and as the
    /// oracle in tests.
    pub fn reference(&self, a: &[u8], b: &[u8]) -> f64 {
        let n = a.len().min(b.len());
        let cut = self.cutoff;
        let over = |d: i32, l: i32| f64::from(d) / f64::from(l) > cut;
        match (self.calc, self.countends) {
            (Calc::OneGap, true) => {
                let (start, end) = span_either(a, b);
                let mut len = as_i32(end) - as_i32(start) + 1;
                let mut diff = 0;
                let (mut oa, mut ob) = (false, false);
                for i in start..n {
                    let (x, y) = (a[i], b[i]);
                    if gap_pair(x, y) {
                        len -= 1;
                    } else if x == DOT && y == DOT {
                        break;
                    } else if y != DASH && (x == DASH || x == DOT) {
                        if !oa {
                            diff += 1;
                            oa = true;
                            ob = false;
                        } else {
                            len -= 1;
                        }
                    } else if x != DASH && (y == DASH || y == DOT) {
                        if !ob {
                            diff += 1;
                            oa = false;
                            ob = true;
                        } else {
                            len -= 1;
                        }
                    } else if x != DASH && y != DASH {
                        oa = false;
                        ob = false;
                        if x != y {
                            diff += 1;
                        }
                    }
                    if over(diff, len) {
                        return 1.0;
                    }
                }
                finish(diff, len)
            }
            (Calc::OneGap, false) => {
                let Some((start, end)) = span_both(a, b) else {
                    return 1.0;
                };
                let mut len = as_i32(end) - as_i32(start);
                let mut diff = 0;
                let (mut oa, mut ob) = (false, false);
                for i in start..=end.min(n.saturating_sub(1)) {
                    let (x, y) = (a[i], b[i]);
                    if x == DASH && y == DASH {
                        len -= 1;
                    } else if y != DASH && x == DASH {
                        if !oa {
                            diff += 1;
                            oa = true;
                            ob = false;
                        } else {
                            len -= 1;
                        }
                    } else if x != DASH && y == DASH {
                        if !ob {
                            diff += 1;
                            oa = false;
                            ob = true;
                        } else {
                            len -= 1;
                        }
                    } else if x != DASH && y != DASH {
                        oa = false;
                        ob = false;
                        if x != y {
                            diff += 1;
                        }
                    }
                    if over(diff, len) {
                        return 1.0;
                    }
                }
                finish(diff, len)
            }
            (Calc::EachGap, true) => {
                let (start, end) = span_either(a, b);
                let mut len = as_i32(end) - as_i32(start) + 1;
                let mut diff = 0;
                for i in start..n {
                    let (x, y) = (a[i], b[i]);
                    if x == DOT && y == DOT {
                        break;
                    } else if gap_pair(x, y) {
                        len -= 1;
                    } else if x != y {
                        diff += 1;
                    }
                    if over(diff, len) {
                        return 1.0;
                    }
                }
                finish(diff, len)
            }
            (Calc::EachGap, false) => {
                let Some((start, end)) = span_both(a, b) else {
                    return 1.0;
                };
                let mut len = as_i32(end) - as_i32(start) + 1;
                let mut diff = 0;
                for i in start..n {
                    let (x, y) = (a[i], b[i]);
                    if x == DOT || y == DOT {
                        break;
                    } else if x == DASH && y == DASH {
                        len -= 1;
                    } else if x != y {
                        diff += 1;
                    }
                    if over(diff, len) {
                        return 1.0;
                    }
                }
                finish(diff, len)
            }
            (Calc::NoGaps, _) => {
                let Some((start, end)) = span_no_dot(a, b) else {
                    return 1.0;
                };
                let mut len = as_i32(end) - as_i32(start) + 1;
                let mut diff = 0;
                for i in start..n {
                    let (x, y) = (a[i], b[i]);
                    if x == DOT || y == DOT {
                        break;
                    } else if x != DASH && y != DASH {
                        if x != y {
                            diff += 1;
                        }
                    } else {
                        len -= 1;
                    }
                    if over(diff, len) {
                        return 1.0;
                    }
                }
                finish(diff, len)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(calc: Calc, ends: bool, a: &str, b: &str) -> f64 {
        let c = Calculator::new(calc, ends, 1.0);
        let r = c.reference(a.as_bytes(), b.as_bytes());
        assert_eq!(
            c.distance(a.as_bytes(), b.as_bytes()).to_bits(),
            r.to_bits()
        );
        r
    }

    #[test]
    fn onegap_counts_a_gap_run_once() {
        // 4 comparable columns: A=A, C/-, -(open, ignored), G=G -> 1 diff / 3
        assert_eq!(d(Calc::OneGap, true, "ACTG", "A--G"), 1.0 / 3.0);
        assert_eq!(d(Calc::EachGap, true, "ACTG", "A--G"), 2.0 / 4.0);
        assert_eq!(d(Calc::NoGaps, true, "ACTG", "A--G"), 0.0);
    }

    #[test]
    fn terminal_gaps() {
        // countends=T: leading dots of one sequence count (as one gap for onegap).
        assert_eq!(d(Calc::OneGap, true, "..GGAA", "CCGGAA"), 1.0 / 5.0);
        assert_eq!(d(Calc::EachGap, true, "..GGAA", "CCGGAA"), 2.0 / 6.0);
        // countends=F: only the overlap counts.
        assert_eq!(d(Calc::OneGap, false, "..GGAA", "CCGGAT"), 1.0 / 3.0);
        assert_eq!(d(Calc::EachGap, false, "..GGAA", "CCGGAT"), 1.0 / 4.0);
        // both-dot columns end the scan
        assert_eq!(d(Calc::OneGap, true, "AC..", "AG.."), 1.0 / 2.0);
    }

    #[test]
    fn no_overlap_is_one() {
        assert_eq!(d(Calc::OneGap, false, "AA..", "..AA"), 1.0);
        assert_eq!(d(Calc::EachGap, false, "AA..", "..AA"), 1.0);
        assert_eq!(d(Calc::NoGaps, false, "AA..", "..AA"), 1.0);
    }

    #[test]
    fn ambiguity_n_is_a_mismatch_and_identical_is_zero() {
        assert_eq!(d(Calc::OneGap, true, "ACGN", "ACGT"), 0.25);
        assert_eq!(d(Calc::OneGap, true, "ACGT", "ACGT"), 0.0);
    }

    #[test]
    fn early_exit_uses_float_cutoff() {
        // 3 differences in 100 columns is exactly 0.03 as a double, which is
        // above the float 0.03 (0.0299999993...): mothur returns 1.0.
        let a = "A".repeat(100);
        let mut b = "A".repeat(97);
        b.push_str("CCC");
        let c = Calculator::new(Calc::OneGap, true, f64::from(0.03f32));
        assert_eq!(c.distance(a.as_bytes(), b.as_bytes()), 1.0);
        let c = Calculator::new(Calc::OneGap, true, f64::from(0.031f32));
        assert_eq!(c.distance(a.as_bytes(), b.as_bytes()), 0.03);
    }

    /// The fast scan agrees with the literal one on pseudo-random
    /// alignments over every calculator and several cutoffs.
    #[test]
    fn fast_matches_reference() {
        let mut state = 0x1234_5678_u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let alphabet = b".-ACGTN";
        for _ in 0..3000 {
            let len = (next() % 40) as usize + 1;
            let mut mk = || -> alloc::vec::Vec<u8> {
                let mut v: alloc::vec::Vec<u8> = (0..len)
                    .map(|_| {
                        let r = next() % 10;
                        match r {
                            0..=3 => alphabet[(next() % 7) as usize],
                            4..=5 => b'-',
                            _ => b"ACGT"[(next() % 4) as usize],
                        }
                    })
                    .collect();
                crate::fasta::terminal_dots(&mut v);
                v
            };
            let a = mk();
            let b = mk();
            for calc in [Calc::OneGap, Calc::EachGap, Calc::NoGaps] {
                for ends in [true, false] {
                    for cut in [0.0f32, 0.03, 0.1, 0.25, 0.5, 1.0] {
                        let c = Calculator::new(calc, ends, f64::from(cut));
                        let f = c.distance(&a, &b);
                        let r = c.reference(&a, &b);
                        assert_eq!(
                            f.to_bits(),
                            r.to_bits(),
                            "{:?} {} {} {:?} {:?}",
                            calc,
                            ends,
                            cut,
                            core::str::from_utf8(&a),
                            core::str::from_utf8(&b)
                        );
                    }
                }
            }
        }
    }
}
