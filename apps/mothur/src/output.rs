//! The three dist.seqs output formats (source/commands/distancecommand.cpp,
//! `driverColumn`, `driverLt`, `driverSquare`), for `processors=1` order:
//!
//! * `column`: for i = 1..n, j = 0..i: `nameI nameJ dist\n` when
//!   `dist <= cutoff`, the distance as `toString(double)` (`%g`, 6 digits);
//! * `lt`: the count `n`, then per row the name left-justified to 10
//!   characters (longer names are not cut) and, for j < i, `\t` + distance;
//! * `square`: the count, then per row the padded name, `\t`, and for every
//!   j (0 on the diagonal) the distance followed by `\t`.
//!
//! `lt`/`square` distances use `setprecision(4)` in the general float field
//! (`%.4g`) and are computed with cutoff 1.0 whatever the user's cutoff.

use crate::dist::{Calculator, Columns, Packed};
use crate::fasta::Seq;
use crate::numfmt::push_g;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

/// Output format (`output=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Three-column sparse list.
    Column,
    /// Phylip lower triangle.
    Lt,
    /// Phylip square matrix.
    Square,
}

/// Packs every sequence once with the data set's all-gap columns.
fn pack_all(seqs: &[Seq]) -> (Vec<Packed>, Columns) {
    let refs: Vec<&[u8]> = seqs.iter().map(|s| s.aligned.as_slice()).collect();
    let cols = Columns::of(&refs);
    (seqs.iter().map(|s| cols.pack(&s.aligned)).collect(), cols)
}

fn push_padded_name(out: &mut String, name: &str) {
    out.push_str(name);
    for _ in name.len()..10 {
        out.push(' ');
    }
}

/// Column format; returns the text and how many distances were written.
pub fn column(seqs: &[Seq], calc: &Calculator, cutoff: f64) -> (String, usize) {
    let mut out = String::new();
    let mut count = 0;
    let (ends, cols) = pack_all(seqs);
    for (i, (si, ei)) in seqs.iter().zip(&ends).enumerate() {
        for (sj, ej) in seqs[..i].iter().zip(&ends) {
            let d = calc.distance_packed(&si.aligned, ei, &sj.aligned, ej, &cols);
            if d <= cutoff {
                out.push_str(&si.name);
                out.push(' ');
                out.push_str(&sj.name);
                out.push(' ');
                push_g(&mut out, d, 6);
                out.push('\n');
                count += 1;
            }
        }
    }
    (out, count)
}

/// Phylip lower triangle.
pub fn lower_triangle(seqs: &[Seq], calc: &Calculator) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", seqs.len());
    let (ends, cols) = pack_all(seqs);
    for (i, (si, ei)) in seqs.iter().zip(&ends).enumerate() {
        push_padded_name(&mut out, &si.name);
        for (sj, ej) in seqs[..i].iter().zip(&ends) {
            out.push('\t');
            push_g(
                &mut out,
                calc.distance_packed(&si.aligned, ei, &sj.aligned, ej, &cols),
                4,
            );
        }
        out.push('\n');
    }
    out
}

/// Phylip square matrix.
pub fn square(seqs: &[Seq], calc: &Calculator) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", seqs.len());
    let (ends, cols) = pack_all(seqs);
    for (i, (si, ei)) in seqs.iter().zip(&ends).enumerate() {
        push_padded_name(&mut out, &si.name);
        out.push('\t');
        for (j, (sj, ej)) in seqs.iter().zip(&ends).enumerate() {
            let d = if i == j {
                0.0
            } else {
                calc.distance_packed(&si.aligned, ei, &sj.aligned, ej, &cols)
            };
            push_g(&mut out, d, 4);
            out.push('\t');
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::Calc;

    fn seqs() -> alloc::vec::Vec<Seq> {
        crate::fasta::parse(b">a\nACGT\n>bb\nACGA\n>c\nACGT\n").unwrap()
    }

    #[test]
    fn formats() {
        let s = seqs();
        let c = Calculator::new(Calc::OneGap, true, 1.0);
        let (col, n) = column(&s, &c, f64::from(0.3f32));
        assert_eq!(col, "bb a 0.25\nc a 0\nc bb 0.25\n");
        assert_eq!(n, 3);
        assert_eq!(
            lower_triangle(&s, &c),
            "3\na         \nbb        \t0.25\nc         \t0\t0.25\n"
        );
        assert_eq!(
            square(&s, &c),
            "3\na         \t0\t0.25\t0\t\nbb        \t0.25\t0\t0.25\t\nc         \t0\t0.25\t0\t\n"
        );
    }
}
