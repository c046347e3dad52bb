//! The hostile test unikernels (`guest/tests/src/hostile.rs`): run with the
//! argument `list`, each prints its cases and how a correct tender ends
//! each one, then exits with status 2.

use crate::Outcome;

/// The (case, expectation) pairs of a `list` run, e.g. `("openat",
/// "Sigsys")`. Fails the test unless the run ended with status 2 and
/// listed more than five cases.
pub fn cases(listing: &Outcome) -> Vec<(String, String)> {
    listing.expect_status(2);
    let list: Vec<(String, String)> = listing
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("usage:"))
        .skip(1)
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let name = w.next()?;
            let expect = w.next()?.trim_end_matches(':');
            Some((name.to_owned(), expect.to_owned()))
        })
        // The runtime's own lines ("Solo5: exit(2)").
        .filter(|(n, _)| !n.starts_with("Solo5"))
        .collect();
    assert!(list.len() > 5, "no cases listed:\n{}", listing.output());
    list
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_listing() {
        let mut stdout = String::from("banner\nusage: hostile CASE; cases:\n");
        for i in 0..6 {
            stdout += &format!("case{i:<20} Sigsys: what it does\n");
        }
        stdout += "Solo5: exit(2)\n";
        let o = Outcome {
            status: 2,
            stdout,
            stderr: String::new(),
            prog: None,
        };
        let c = cases(&o);
        assert_eq!(c.len(), 6);
        assert_eq!(c[0], ("case0".to_owned(), "Sigsys".to_owned()));
    }
}
