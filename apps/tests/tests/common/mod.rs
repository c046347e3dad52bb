//! Running one build of an application: native, or a unikernel on a
//! shipped tender.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

pub use corten_testutil::Outcome;
use corten_testutil::{kvm_or_skip, wait_with_timeout, workspace};

/// A way to run an application.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Build {
    Native,
    Spt,
    Hvt,
}

impl Build {
    pub const ALL: [Build; 3] = [Build::Native, Build::Spt, Build::Hvt];

    /// False (after saying why) for hvt without KVM.
    pub fn available(self) -> bool {
        self != Build::Hvt || kvm_or_skip("application unikernels on corten-hvt")
    }
}

fn artifact(p: PathBuf) -> PathBuf {
    assert!(
        p.exists(),
        "{} is missing: run `cargo xtask build` first",
        p.display()
    );
    p
}

/// Runs `native` (a file in target/apps) or `unikernel`.{spt,hvt} with
/// `args`, the tender given `tender_opts` first.
pub fn run(
    build: Build,
    native: &str,
    unikernel: &str,
    tender_opts: &[&str],
    args: &[&str],
    timeout: Duration,
) -> Outcome {
    let root = workspace();
    let mut cmd = match build {
        Build::Native => Command::new(artifact(root.join("target/apps").join(native))),
        Build::Spt | Build::Hvt => {
            let ext = if build == Build::Spt { "spt" } else { "hvt" };
            let mut c = Command::new(artifact(root.join(format!("target/bin/corten-{ext}"))));
            c.args(tender_opts)
                .arg("--")
                .arg(artifact(
                    root.join(format!("target/unikernels/{unikernel}.{ext}")),
                ))
                .arg("--solo5:quiet");
            c
        }
    };
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    wait_with_timeout(cmd.spawn().expect("spawn"), timeout)
}
