//! Helpers for corten-hvt's integration tests: the tender binary and the
//! test unikernels; the rest (running with a timeout, temporary files,
//! KVM and root checks, network plumbing) is `corten-testutil`, shared with
//! corten-spt's tests.
#![allow(dead_code)]

pub mod suite;
#[cfg(target_arch = "x86_64")]
pub mod urunc;

use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

#[allow(unused_imports)] // not every test file uses all of them
pub use corten_testutil::{
    inherit_fd, is_root_or_skip, kvm_or_skip, net, socket_pair, wait_with_timeout, workspace,
    Outcome, Source, TempDir,
};

/// The corten-hvt binary under test (CORTEN_HVT_TENDER overrides it, to
/// run the same suite on another hvt tender for comparison).
pub fn tender() -> PathBuf {
    std::env::var_os("CORTEN_HVT_TENDER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_corten-hvt")))
}

/// The unikernel `name` of `source` (see `corten_testutil::unikernels`).
pub fn unikernel(source: Source, name: &str) -> Option<PathBuf> {
    corten_testutil::unikernels::unikernel(source, name, "hvt")
}

/// A `Command` for the tender with `args`, output captured.
pub fn command<I, S>(args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut c = Command::new(tender());
    c.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// Runs the tender with `args` (60 s limit, as upstream's suite).
pub fn hvt<I, S>(args: I) -> Outcome
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let child = command(args).spawn().expect("spawn corten-hvt");
    wait_with_timeout(child, Duration::from_secs(60))
}
