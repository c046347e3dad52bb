//! Helpers for corten-spt's integration tests: locating the tender and the
//! test unikernels, and the shared test suite (run once on Corten-built
//! unikernels and, optionally, once on upstream-built ones). Running with a
//! timeout, temporary files and network plumbing are `corten-testutil`,
//! shared with corten-hvt's tests.
#![allow(dead_code)]

pub mod suite;

use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

#[allow(unused_imports)] // not every test file uses all of them
pub use corten_testutil::{
    is_root_or_skip, net, wait_with_timeout, workspace, Outcome, Source, TempDir,
};

/// The corten-spt binary under test: `CORTEN_SPT` if set (e.g. the
/// static release build), else the one cargo built for these tests.
pub fn tender() -> PathBuf {
    std::env::var_os("CORTEN_SPT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_corten-spt")))
}

/// The unikernel `name` of `source` (see `corten_testutil::unikernels`).
pub fn unikernel(source: Source, name: &str) -> Option<PathBuf> {
    corten_testutil::unikernels::unikernel(source, name, "spt")
}

/// Runs the tender with `args` (60 s limit, as upstream's suite).
pub fn spt<I, S>(args: I) -> Outcome
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let child = Command::new(tender())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn corten-spt");
    let mut o = wait_with_timeout(child, Duration::from_secs(60));
    o.prog = Some("corten-spt".into());
    o
}
