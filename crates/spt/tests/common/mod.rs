//! corten-spt as the shared suite (`corten_testutil::suite`) sees it, and
//! the cases only spt has ([`suite`]). Running with a timeout, temporary
//! files and network plumbing are `corten-testutil`, shared with
//! corten-hvt's tests.
#![allow(dead_code)]

pub mod suite;

use std::ffi::OsStr;

use corten_testutil::{Kind, Tender};
#[allow(unused_imports)] // not every test file uses all of them
pub use corten_testutil::{Outcome, TempDir};

/// The corten-spt binary under test: `CORTEN_SPT` if set (e.g. the
/// static release build), else the one cargo built for these tests.
pub const TENDER: Tender = Tender {
    kind: Kind::Spt,
    built: env!("CARGO_BIN_EXE_corten-spt"),
    override_var: "CORTEN_SPT",
};

/// Runs the tender with `args` (60 s limit, as upstream's suite).
pub fn spt<I, S>(args: I) -> Outcome
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    TENDER.run(args)
}
