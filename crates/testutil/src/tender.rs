//! The tender under test, as the shared suite ([`crate::suite`]) sees it:
//! which kind it is, where its binary is, and how to run it.

use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use corten_abi::note::AbiTarget;

use crate::{kvm_or_skip, wait_with_timeout, Outcome, Source};

/// Which of Corten's two tenders.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Spt,
    Hvt,
}

impl Kind {
    /// The ABI target of its unikernels.
    pub fn target(self) -> AbiTarget {
        match self {
            Kind::Spt => AbiTarget::Spt,
            Kind::Hvt => AbiTarget::Hvt,
        }
    }

    /// The file extension of its unikernels: the target's name ("spt").
    pub fn ext(self) -> &'static str {
        self.target().name()
    }

    /// The `--mem` upstream's tests.bats runs it with.
    pub fn suite_mem(self) -> &'static str {
        match self {
            Kind::Spt => "--mem=2",
            Kind::Hvt => "--mem=4096",
        }
    }
}

/// A tender binary of one [`Kind`]. The test crates define theirs as a
/// constant (`common::TENDER`), so every test names the same binary.
#[derive(Clone, Copy, Debug)]
pub struct Tender {
    pub kind: Kind,
    /// The binary cargo built for the test crate
    /// (`env!("CARGO_BIN_EXE_corten-spt")`).
    pub built: &'static str,
    /// An environment variable that, when set, names the binary to test
    /// instead (xtask: the release build; or another tender of the kind,
    /// for comparison).
    pub override_var: &'static str,
}

impl Tender {
    /// The binary under test.
    pub fn program(&self) -> PathBuf {
        std::env::var_os(self.override_var)
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(self.built))
    }

    /// Whether [`override_var`](Self::override_var) chose the binary (then
    /// it may be another project's tender, without Corten's extras).
    pub fn is_overridden(&self) -> bool {
        std::env::var_os(self.override_var).is_some()
    }

    /// The name its messages start with: its file name ("corten-spt").
    pub fn name(&self) -> String {
        let program = self.program();
        program
            .file_name()
            .unwrap_or(program.as_os_str())
            .to_string_lossy()
            .into_owned()
    }

    /// Whether it can run guests here. hvt needs KVM: without it, this
    /// says why `what` skips, or fails under CORTEN_REQUIRE_KVM=1.
    pub fn can_run(&self, what: &str) -> bool {
        match self.kind {
            Kind::Spt => true,
            Kind::Hvt => kvm_or_skip(what),
        }
    }

    /// The unikernel `name` of `source` built for this kind (see
    /// [`crate::unikernels::unikernel`]).
    pub fn unikernel(&self, source: Source, name: &str) -> Option<PathBuf> {
        crate::unikernels::unikernel(source, name, self.kind.ext())
    }

    /// The unikernel `name` of `source`, if the tender can run it here:
    /// `None` after saying why not ([`can_run`](Self::can_run), and no
    /// upstream build configured).
    pub fn runnable(&self, source: Source, name: &str) -> Option<PathBuf> {
        if !self.can_run(name) {
            return None;
        }
        self.unikernel(source, name)
    }

    /// A command running the tender with `args`, standard input empty,
    /// output captured.
    pub fn command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut c = Command::new(self.program());
        c.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    }

    /// Runs [`command`](Self::command) to the end (60 s limit, as
    /// upstream's suite); its tender errors must start with its name.
    pub fn run<I, S>(&self, args: I) -> Outcome
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let child = self
            .command(args)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", self.program().display()));
        self.outcome(child, Duration::from_secs(60))
    }

    /// Waits for `child`, a run of this tender, at most `timeout`.
    pub fn outcome(&self, child: std::process::Child, timeout: Duration) -> Outcome {
        let mut o = wait_with_timeout(child, timeout);
        o.prog = Some(self.name());
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_are_the_abi_target_names() {
        assert_eq!(Kind::Spt.ext(), "spt");
        assert_eq!(Kind::Hvt.ext(), "hvt");
    }

    #[test]
    fn the_built_binary_names_the_messages() {
        let t = Tender {
            kind: Kind::Spt,
            built: "/some/dir/corten-spt",
            override_var: "CORTEN_TESTUTIL_UNSET",
        };
        assert!(!t.is_overridden());
        assert_eq!(t.program(), PathBuf::from("/some/dir/corten-spt"));
        assert_eq!(t.name(), "corten-spt");
    }
}
