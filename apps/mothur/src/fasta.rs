//! Reading aligned FASTA the way mothur 1.48's `Sequence(ifstream&)` and
//! `SequenceDB` do (source/datastructures/sequence.cpp, sequencedb.cpp):
//!
//! * the name is the first white-space delimited word of the header with
//!   its first character (`>`) removed; `:` in names becomes `_`
//!   (`Utils::checkName`); the rest of the header line is a comment and is
//!   ignored;
//! * sequence lines run until a line starting with `>`; leading white space
//!   and blank lines are skipped, trailing white space (`\r` too) is cut;
//! * every character is upper-cased, and anything other than
//!   `. - A C G T N` (ambiguity codes, `U`, inner spaces) becomes `N`;
//! * if the aligned sequence starts with `-`, its leading run of `-` and its
//!   trailing run of `-` become `.` (missing data); a sequence that does not
//!   start with `-` keeps its trailing `-`;
//! * a record whose name is empty (header `> x`) is dropped, as mothur does.

use crate::{err, Error};
use alloc::string::String;
use alloc::vec::Vec;

/// One aligned sequence as mothur stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seq {
    /// Name (first word of the header without `>`).
    pub name: String,
    /// Cleaned, upper-cased aligned characters.
    pub aligned: Vec<u8>,
}

fn is_space(b: u8) -> bool {
    // C isspace in the "C" locale.
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// Parses a whole FASTA file.
pub fn parse(data: &[u8]) -> Result<Vec<Seq>, Error> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    let n = data.len();
    let skip_ws = |p: &mut usize| {
        while *p < n && is_space(data[*p]) {
            *p += 1;
        }
    };
    loop {
        skip_ws(&mut pos);
        if pos >= n {
            break;
        }
        if data[pos] != b'>' {
            return err!(
                "Error in reading your fastafile, at position {}: expected '>' to start a sequence name.",
                pos
            );
        }
        // The name word.
        let start = pos;
        while pos < n && !is_space(data[pos]) {
            pos += 1;
        }
        let word = &data[start + 1..pos];
        if word.first() == Some(&b'#') {
            return err!("[ERROR]: commented-out sequences ('>#...') are not supported.");
        }
        let mut name = match core::str::from_utf8(word) {
            Ok(s) => String::from(s),
            Err(_) => {
                return err!(
                    "[ERROR]: sequence name at position {} is not valid UTF-8.",
                    start
                )
            }
        };
        if name.contains(':') {
            name = name.replace(':', "_");
        }
        // Rest of the header line is the comment.
        while pos < n && data[pos] != b'\n' && data[pos] != b'\r' {
            pos += 1;
        }
        skip_ws(&mut pos);
        // Sequence lines.
        let mut aligned = Vec::new();
        while pos < n && data[pos] != b'>' {
            let ls = pos;
            while pos < n && data[pos] != b'\n' {
                pos += 1;
            }
            let mut line = &data[ls..pos];
            while let Some((&last, rest)) = line.split_last() {
                if is_space(last) {
                    line = rest;
                } else {
                    break;
                }
            }
            aligned.extend(line.iter().map(|&c| clean(c)));
            skip_ws(&mut pos);
        }
        terminal_dots(&mut aligned);
        if !name.is_empty() {
            out.push(Seq { name, aligned });
        }
    }
    Ok(out)
}

/// Upper-cases and maps non-`.-ACGTN` characters to `N`.
pub fn clean(c: u8) -> u8 {
    let u = c.to_ascii_uppercase();
    match u {
        b'.' | b'-' | b'A' | b'T' | b'G' | b'C' | b'N' => u,
        _ => b'N',
    }
}

/// mothur's `setAligned`: only when the first column is `-`, the leading
/// and trailing runs of `-` become `.`.
pub fn terminal_dots(s: &mut [u8]) {
    if s.first() != Some(&b'-') {
        return;
    }
    for c in s.iter_mut() {
        if *c == b'-' {
            *c = b'.';
        } else {
            break;
        }
    }
    for c in s.iter_mut().rev() {
        if *c == b'-' {
            *c = b'.';
        } else {
            break;
        }
    }
}

/// The checks dist.seqs makes before computing anything.
pub fn check_for_distances(seqs: &[Seq]) -> Result<(), Error> {
    if let Some(first) = seqs.first() {
        let len = first.aligned.len();
        if seqs.iter().any(|s| s.aligned.len() != len) {
            return err!("[ERROR]: your sequences are not the same length, aborting.");
        }
    }
    if seqs.len() < 2 {
        return err!(
            "[ERROR]: you must have at least 2 sequences to calculate the distances, aborting."
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_names_and_cleans() {
        let s = parse(b">a:b some comment\nac-gu\n  ry..\r\n\n>c\n----AC--\n").unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].name, "a_b");
        assert_eq!(s[0].aligned, b"AC-GNNN..");
        assert_eq!(s[1].aligned, b"....AC..");
    }

    #[test]
    fn trailing_dash_kept_without_leading_dash() {
        let s = parse(b">x\nAC--\n").unwrap();
        assert_eq!(s[0].aligned, b"AC--");
        let s = parse(b">x\n.AC--\n").unwrap();
        assert_eq!(s[0].aligned, b".AC--");
    }

    #[test]
    fn inner_space_is_n_and_empty_name_dropped() {
        let s = parse(b">x\nA C\n> y\nAAA\n").unwrap();
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].aligned, b"ANC");
    }

    #[test]
    fn errors() {
        assert!(parse(b"ACGT\n").is_err());
        let s = parse(b">a\nAC\n>b\nACG\n").unwrap();
        assert!(check_for_distances(&s).is_err());
        let s = parse(b">a\nAC\n").unwrap();
        assert!(check_for_distances(&s).is_err());
        assert!(parse(b">\xff\nAC\n").is_err());
    }
}
