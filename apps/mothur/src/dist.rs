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
//! The fast path ([`Calculator::distance_packed`]) gives the same result
//! with less work:
//! * `diff` never decreases and `len` never increases, so while `len > 0`
//!   the ratio never decreases (IEEE division is monotonic): mothur's early
//!   exit fired iff the ratio of the final state is above the cutoff. We
//!   look at the ratio only every 64 columns (to stop early) and at the
//!   end; if `len` ends at or below 0 (where `diff/0 = inf` and negative
//!   ratios matter), or the cutoff is negative, the literal scan
//!   ([`Calculator::reference`]) decides;
//! * columns that are `-` in every sequence of the data set only shrink
//!   `len`; they are removed once ([`Columns`]) and counted back in bulk;
//! * each column pair is classified by a 64-entry table over 3-bit codes;
//!   onegap's gap-run state is "the kind of the last gap/base event";
//! * eight equal columns at once (shared gap runs) by comparing `u64`s.
//!
//! Tests compare the fast path with the literal scan on random alignments.

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

use alloc::vec::Vec;

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
    table: [u8; 64],
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

/// Per-column codes of packed sequences (3 bits): the table index of a
/// pair of columns is `code_a * 8 + code_b`.
const CODE_DOT: u8 = 0;
const CODE_DASH: u8 = 1;
const CODE_OTHER: u8 = 7;

fn code(c: u8) -> u8 {
    match c {
        DOT => CODE_DOT,
        DASH => CODE_DASH,
        b'A' => 2,
        b'C' => 3,
        b'G' => 4,
        b'T' => 5,
        b'N' => 6,
        _ => CODE_OTHER,
    }
}

const UNCODE: [u8; 7] = [DOT, DASH, b'A', b'C', b'G', b'T', b'N'];

// Column class bits.
const K_MASK: u8 = 3; // onegap event: 0 none, 1 gap in A, 2 gap in B, 3 both bases
const MISMATCH: u8 = 4; // a difference (both-bases kind, or any calc but onegap)
const SHRINK: u8 = 8; // len shrinks (kind 0)
const BREAK: u8 = 16; // the scan stops before this column

/// The class of one column pair for a (calc, countends) pair: what mothur's
/// loop body does with it, apart from the gap-run state of onegap.
fn classify(calc: Calc, countends: bool, x: u8, y: u8) -> u8 {
    match (calc, countends) {
        (Calc::OneGap, true) => {
            if gap_pair(x, y) {
                SHRINK
            } else if x == DOT && y == DOT {
                BREAK
            } else if is_gap(x) {
                1
            } else if is_gap(y) {
                2
            } else if x != y {
                3 | MISMATCH
            } else {
                3
            }
        }
        (Calc::OneGap, false) => {
            if x == DASH && y == DASH {
                SHRINK
            } else if x == DASH {
                1
            } else if y == DASH {
                2
            } else if x != y {
                3 | MISMATCH
            } else {
                3
            }
        }
        (Calc::EachGap, true) => {
            if x == DOT && y == DOT {
                BREAK
            } else if gap_pair(x, y) {
                SHRINK
            } else if x != y {
                MISMATCH
            } else {
                0
            }
        }
        (Calc::EachGap, false) => {
            if x == DOT || y == DOT {
                BREAK
            } else if x == DASH && y == DASH {
                SHRINK
            } else if x != y {
                MISMATCH
            } else {
                0
            }
        }
        (Calc::NoGaps, _) => {
            if x == DOT || y == DOT {
                BREAK
            } else if x != DASH && y != DASH {
                if x != y {
                    MISMATCH
                } else {
                    0
                }
            } else {
                SHRINK
            }
        }
    }
}

#[inline]
fn load(s: &[u8], i: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&s[i..i + 8]);
    u64::from_le_bytes(w)
}

/// How many bytes of `w` equal `c` (exact SWAR zero-byte count).
#[inline]
fn count_byte(w: u64, c: u8) -> i32 {
    const LO7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let x = w ^ (u64::from(c) * 0x0101_0101_0101_0101);
    let zero_hi = !(((x & LO7).wrapping_add(LO7)) | x | LO7);
    zero_hi.count_ones() as i32
}

/// How a fast scan ended.
enum Scan {
    /// The ratio was above the cutoff at a column mothur checks: 1.0.
    Over,
    /// `(diff, shrink, end)`: totals over the scanned kept columns and the
    /// original position where the scan stopped.
    Done(i32, i32, usize),
}

/// Scans the kept columns of original range `start..stop`.
///
/// `diff` only grows and `len` only shrinks, so while `len > 0` mothur's
/// ratio `diff/len` never decreases (IEEE division is monotonic): it was
/// above the cutoff at some column iff it is at the last one. We therefore
/// only look at the ratio every 64 columns (for speed) and at the end.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn scan<const ONEGAP: bool>(
    table: &[u8; 64],
    dots_break: bool,
    a: &[u8],
    b: &[u8],
    cols: &Columns,
    start: usize,
    stop: usize,
    len0: i32,
    cutoff: f64,
) -> Scan {
    let rem = |p: usize| cols.removed.get(p).copied().unwrap_or(0) as i32;
    let orig = |k: usize| cols.orig.get(k).copied().unwrap_or(0) as usize;
    let rem_start = rem(start);
    let first = cols.kept.get(start).copied().unwrap_or(0) as usize;
    let end = (cols.kept.get(stop).copied().unwrap_or(0) as usize)
        .min(a.len())
        .min(b.len());
    let (mut diff, mut shrink, mut last) = (0i32, 0i32, 0u8);
    let mut k = first;
    let mut next_check = first + 64;
    while k < end {
        if k + 8 <= end {
            let wa = load(a, k);
            if wa == load(b, k) && !(dots_break && count_byte(wa, CODE_DOT) != 0) {
                // eight equal columns: `-/-` shrink, equal bases (or `./.`
                // where it does not break) close the gap runs.
                let dashes = count_byte(wa, CODE_DASH);
                shrink += dashes;
                if dashes < 8 {
                    last = 3;
                }
                k += 8;
                if k >= next_check {
                    next_check = k + 64;
                    let len = len0 - shrink - (rem(orig(k - 1)) - rem_start);
                    if len > 0 && f64::from(diff) / f64::from(len) > cutoff {
                        return Scan::Over;
                    }
                }
                continue;
            }
        }
        let (x, y) = (a[k], b[k]);
        let e = table[usize::from((x & 7) * 8 + (y & 7))];
        if e & BREAK != 0 {
            return Scan::Done(diff, shrink, orig(k));
        }
        if ONEGAP {
            // A gap against a base is a difference when it opens a gap run
            // in that sequence, i.e. when the last event was not the same.
            let kind = e & K_MASK;
            let same = kind == last;
            let gap_side = kind == 1 || kind == 2;
            diff += i32::from((gap_side && !same) || (e & MISMATCH != 0));
            shrink += i32::from((gap_side && same) || (e & SHRINK != 0));
            if kind != 0 {
                last = kind;
            }
        } else {
            diff += i32::from(e & MISMATCH != 0);
            shrink += i32::from(e & SHRINK != 0);
        }
        k += 1;
        if k >= next_check {
            next_check = k + 64;
            let len = len0 - shrink - (rem(orig(k - 1)) - rem_start);
            if len > 0 && f64::from(diff) / f64::from(len) > cutoff {
                return Scan::Over;
            }
        }
    }
    Scan::Done(diff, shrink, stop)
}

/// Which columns of a data set are `-` in every sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Columns {
    /// `removed[p]`: all-`-` columns before position `p` (length L+1).
    removed: Vec<u32>,
    /// `kept[p]`: other columns before position `p` (length L+1).
    kept: Vec<u32>,
    /// Original position of each kept column.
    orig: Vec<u32>,
}

impl Columns {
    /// Finds the all-`-` columns of equally long sequences.
    pub fn of(seqs: &[&[u8]]) -> Columns {
        let len = seqs.iter().map(|s| s.len()).min().unwrap_or(0);
        let mut removed = Vec::with_capacity(len + 1);
        let mut kept = Vec::with_capacity(len + 1);
        let mut orig = Vec::new();
        let (mut r, mut k) = (0u32, 0u32);
        for p in 0..len {
            removed.push(r);
            kept.push(k);
            if !seqs.is_empty() && seqs.iter().all(|s| s[p] == DASH) {
                r += 1;
            } else {
                orig.push(p as u32);
                k += 1;
            }
        }
        removed.push(r);
        kept.push(k);
        Columns {
            removed,
            kept,
            orig,
        }
    }

    /// A sequence's kept columns, with its [`Ends`].
    pub fn pack(&self, s: &[u8]) -> Packed {
        Packed {
            cols: self
                .orig
                .iter()
                .filter_map(|&p| s.get(p as usize).map(|&c| code(c)))
                .collect(),
            ends: Ends::of(s),
            plain: s.iter().all(|&c| code(c) != CODE_OTHER),
        }
    }
}

/// A sequence prepared for [`Calculator::distance_packed`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packed {
    cols: Vec<u8>,
    ends: Ends,
    /// Only `.-ACGTN` (as after FASTA cleaning); otherwise the literal scan is used.
    plain: bool,
}

impl Calculator {
    /// A calculator; `cutoff` is the widened C `float` (or 1.0).
    pub fn new(calc: Calc, countends: bool, cutoff: f64) -> Self {
        let mut table = [BREAK; 64];
        for (i, &x) in UNCODE.iter().enumerate() {
            for (j, &y) in UNCODE.iter().enumerate() {
                table[i * 8 + j] = classify(calc, countends, x, y);
            }
        }
        Calculator {
            calc,
            countends,
            cutoff,
            table,
        }
    }

    /// The distance between two aligned sequences of equal length.
    pub fn distance(&self, a: &[u8], b: &[u8]) -> f64 {
        let cols = Columns::of(&[a, b]);
        self.distance_packed(a, &cols.pack(a), b, &cols.pack(b), &cols)
    }

    /// [`Calculator::distance`] on sequences packed with the [`Columns`] of
    /// their data set (`a`, `b` are the full aligned sequences).
    pub fn distance_packed(
        &self,
        a: &[u8],
        pa: &Packed,
        b: &[u8],
        pb: &Packed,
        cols: &Columns,
    ) -> f64 {
        if self.cutoff.is_nan() || self.cutoff < 0.0 || !pa.plain || !pb.plain {
            return self.reference(a, b);
        }
        let (ea, eb) = (&pa.ends, &pb.ends);
        let n = a.len().min(b.len());
        let (start, stop, len) = match (self.calc, self.countends) {
            (Calc::OneGap, true) | (Calc::EachGap, true) => {
                let (s, e) = span_either_fast(ea, eb);
                (s, n, as_i32(e) - as_i32(s) + 1)
            }
            (Calc::OneGap, false) => match span_both_fast(a, b, ea, eb) {
                Some((s, e)) => (s, (e + 1).min(n), as_i32(e) - as_i32(s)),
                None => return 1.0,
            },
            (Calc::EachGap, false) => match span_both_fast(a, b, ea, eb) {
                Some((s, e)) => (s, n, as_i32(e) - as_i32(s) + 1),
                None => return 1.0,
            },
            (Calc::NoGaps, _) => match span_no_dot_fast(a, b, ea, eb) {
                Some((s, e)) => (s, n, as_i32(e) - as_i32(s) + 1),
                None => return 1.0,
            },
        };
        let (x, y) = (&pa.cols[..], &pb.cols[..]);
        let onegap = self.calc == Calc::OneGap;
        // only onegap with countends=F treats `.` as a base instead of stopping
        let dots_break = !onegap || self.countends;
        let t = &self.table;
        let outcome = if onegap {
            scan::<true>(t, dots_break, x, y, cols, start, stop, len, self.cutoff)
        } else {
            scan::<false>(t, dots_break, x, y, cols, start, stop, len, self.cutoff)
        };
        match outcome {
            Scan::Over => 1.0,
            Scan::Done(diff, shrink, end) => {
                let removed = cols.removed.get(end).copied().unwrap_or(0) as i32
                    - cols.removed.get(start).copied().unwrap_or(0) as i32;
                let len = len - shrink - removed;
                if len <= 0 {
                    // len reached 0 or below: mothur's per-column checks
                    // (diff/0 = inf, negative ratios) decide; rare.
                    return self.reference(a, b);
                }
                let d = f64::from(diff) / f64::from(len);
                if d > self.cutoff {
                    1.0
                } else {
                    d
                }
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

    #[test]
    fn swar_count() {
        assert_eq!(count_byte(u64::from_le_bytes(*b"--A-.-C-"), b'-'), 5);
        assert_eq!(count_byte(u64::from_le_bytes(*b"--A-.-C-"), b'.'), 1);
        assert_eq!(count_byte(u64::from_le_bytes(*b"........"), b'.'), 8);
        assert_eq!(count_byte(u64::from_le_bytes(*b"ACGTNACG"), b'-'), 0);
        // bytes just above/below the target must not count
        assert_eq!(
            count_byte(
                u64::from_le_bytes([0x2c, 0x2e, 0xad, 0x2d, 0, 0xff, 0x2d, 1]),
                b'-'
            ),
            2
        );
    }

    /// Longer alignments sharing gap runs, so the eight-column path runs.
    #[test]
    fn fast_matches_reference_structured() {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..2000 {
            let len = (next() % 300) as usize + 1;
            let mut base: alloc::vec::Vec<u8> = alloc::vec::Vec::with_capacity(len);
            while base.len() < len {
                let run = (next() % 24) as usize + 1;
                let c = match next() % 3 {
                    0 => b'-',
                    _ => b'A',
                };
                for _ in 0..run {
                    base.push(if c == b'-' {
                        b'-'
                    } else {
                        b"ACGT"[(next() % 4) as usize]
                    });
                }
            }
            base.truncate(len);
            let mut mk = |rate: u64| -> alloc::vec::Vec<u8> {
                let mut v = base.clone();
                let lead = (next() % (len as u64 / 3 + 1)) as usize;
                let trail = (next() % (len as u64 / 3 + 1)) as usize;
                for c in v.iter_mut().take(lead) {
                    *c = b'-';
                }
                for c in v.iter_mut().rev().take(trail) {
                    *c = b'-';
                }
                for c in v.iter_mut() {
                    if next() % 100 < rate {
                        *c = b".-ACGTN"[(next() % 7) as usize];
                    }
                }
                crate::fasta::terminal_dots(&mut v);
                v
            };
            let x = mk(2);
            let y = mk(6);
            for calc in [Calc::OneGap, Calc::EachGap, Calc::NoGaps] {
                for ends in [true, false] {
                    for cut in [0.0f32, 0.01, 0.03, 0.1, 0.3, 1.0] {
                        let c = Calculator::new(calc, ends, f64::from(cut));
                        let r = c.reference(&x, &y).to_bits();
                        // pair-wise removal of shared all-gap columns
                        assert_eq!(
                            c.distance(&x, &y).to_bits(),
                            r,
                            "{:?} {} {}",
                            calc,
                            ends,
                            cut
                        );
                        // no removal (a third sequence has bases everywhere)
                        let full = alloc::vec![b'A'; x.len()];
                        let cols = Columns::of(&[&x, &y, &full]);
                        let p = c.distance_packed(&x, &cols.pack(&x), &y, &cols.pack(&y), &cols);
                        assert_eq!(p.to_bits(), r, "{:?} {} {} unpacked", calc, ends, cut);
                    }
                }
            }
        }
    }
}
