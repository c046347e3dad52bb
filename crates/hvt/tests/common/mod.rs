//! corten-hvt as the shared suite (`corten_testutil::suite`) sees it, and
//! the cases only hvt has ([`suite`]); the rest (running with a timeout,
//! temporary files, KVM and root checks, network plumbing) is
//! `corten-testutil`, shared with corten-spt's tests.
#![allow(dead_code)]

pub mod suite;
#[cfg(target_arch = "x86_64")]
pub mod urunc;

use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::Command;

#[allow(unused_imports)] // not every test file uses all of them
pub use corten_testutil::{
    inherit_fd, is_root_or_skip, kvm_or_skip, socket_pair, wait_with_timeout, Outcome, Source,
    TempDir,
};
use corten_testutil::{Kind, Tender};

/// The corten-hvt binary under test (CORTEN_HVT_TENDER overrides it, to
/// run the same suite on another hvt tender for comparison).
pub const TENDER: Tender = Tender {
    kind: Kind::Hvt,
    built: env!("CARGO_BIN_EXE_corten-hvt"),
    override_var: "CORTEN_HVT_TENDER",
};

/// The binary under test.
pub fn tender() -> PathBuf {
    TENDER.program()
}

/// The unikernel `name` of `source` (see `corten_testutil::unikernels`).
pub fn unikernel(source: Source, name: &str) -> Option<PathBuf> {
    TENDER.unikernel(source, name)
}

/// A `Command` for the tender with `args`, output captured.
pub fn command<I, S>(args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    TENDER.command(args)
}

/// One `#[test]` per case at CPL 0 (`cpl0::CASE`) and one with ring-3
/// execution forced on (`ring3::CASE`): `CASE(r)` with `r` the value of
/// CORTEN_HVT_RING3 to run the tender with, "0" or "1".
#[allow(unused_macros)] // only the testkit suites use it
macro_rules! at_both_cpls {
    ($($name:ident),* $(,)?) => {
        mod cpl0 { $( #[test] fn $name() { super::$name("0"); } )* }
        mod ring3 { $( #[test] fn $name() { super::$name("1"); } )* }
    };
}
#[allow(unused_imports)] // only the testkit suites use it
pub(crate) use at_both_cpls;
