//! The tenders' integration tests (a dev-dependency of corten-spt and
//! corten-hvt; never part of a tender): the test suite both tenders run
//! ([`suite`], on the [`Tender`] each crate describes), the container
//! engines corten-oci's tests and corten-bench drive ([`engines`]), and the helpers
//! under it: running a program with a timeout and checking how it ended
//! ([`process`]), network plumbing in a private namespace ([`net`]),
//! finding the test unikernels ([`unikernels`]), reading the hostile ones'
//! case lists ([`hostile`]) and starting tenders as hostile launchers do
//! ([`launcher`]).
//!
//! Test code: it panics (fails the test) on anything unexpected.

#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod cri;
pub mod engines;
pub mod hostile;
pub mod launcher;
pub mod net;
pub mod process;
pub mod suite;
pub mod tender;
pub mod unikernels;

pub use process::{
    inherit_fd, is_root_or_skip, kvm_or_skip, socket_pair, wait_with_timeout, Outcome, TempDir,
};
pub use tender::{Kind, Tender};
pub use unikernels::{workspace, Source};

/// Says on the real standard error why a test skipped, so the reason shows
/// even when libtest captures the test's output (which it does for
/// `eprintln!`). A `group` is reported once per test binary: the first
/// skip in it prints, the rest stay quiet.
pub fn skip_note(group: &str, why: &str) {
    use std::collections::HashSet;
    use std::io::Write;
    use std::sync::Mutex;
    static SEEN: Mutex<Option<HashSet<String>>> = Mutex::new(None);
    let first = {
        let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
        seen.get_or_insert_with(HashSet::new)
            .insert(group.to_owned())
    };
    if first {
        let _ = writeln!(std::io::stderr(), "SKIP: {why}");
    }
}
