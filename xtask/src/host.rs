//! Building the host side: the tenders and elftool, and installing the
//! binaries users run into `target/bin/`.
//!
//! `corten-spt` ships as a musl static-pie: glibc's dynamic loader (or
//! glibc's static start-up, which probes the CPU with `cpuid`, a VM exit on
//! virtual machines) would cost more than the whole of spt's own start-up
//! (see crates/spt/README.md). `corten-hvt` ships dynamically linked: static
//! start-up code makes system calls that urunc's seccomp allow-list traps
//! (see crates/hvt/README.md). `corten-elftool` has no such constraint.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::guest;

/// The binaries users run, as installed into `target/bin`.
pub const BINARIES: [&str; 3] = ["corten-spt", "corten-hvt", "corten-elftool"];

/// Where [`build`] installs the binaries.
pub fn bin_dir(root: &Path) -> PathBuf {
    root.join("target/bin")
}

/// The musl target of the host architecture (for the static spt tender).
fn musl_triple() -> &'static str {
    if cfg!(target_arch = "aarch64") {
        "aarch64-unknown-linux-musl"
    } else {
        "x86_64-unknown-linux-musl"
    }
}

/// The cargo running xtask (`CARGO`), else the one on PATH.
pub(crate) fn cargo() -> std::ffi::OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// Runs `cmd` (described as `what` in errors) and fails unless it succeeds.
pub(crate) fn run(cmd: &mut Command, what: &str) -> Result<(), String> {
    let status = cmd
        .status()
        .map_err(|e| format!("could not run {what}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({status})"))
    }
}

/// Builds the host workspace (`release` or debug profile) and, for
/// release builds, installs the three binaries into [`bin_dir`].
pub fn build(root: &Path, release: bool) -> Result<(), String> {
    let mut cmd = Command::new(cargo());
    cmd.current_dir(root).args(["build", "--workspace"]);
    if release {
        cmd.arg("--release");
    }
    run(&mut cmd, "cargo build of the host workspace")?;
    if !release {
        return Ok(());
    }
    let musl = musl_triple();
    guest::ensure_rust_target(musl).map_err(|e| e.to_string())?;
    run(
        Command::new(cargo()).current_dir(root).args([
            "build",
            "--release",
            "--package",
            "corten-spt",
            "--target",
            musl,
        ]),
        "cargo build of the static corten-spt",
    )?;
    let bin = bin_dir(root);
    fs::create_dir_all(&bin).map_err(|e| format!("{}: {e}", bin.display()))?;
    for name in BINARIES {
        let from = if name == "corten-spt" {
            root.join("target").join(musl).join("release").join(name)
        } else {
            root.join("target/release").join(name)
        };
        let to = bin.join(name);
        // Copy to a temporary name and rename, so a running tender is never
        // overwritten in place.
        let tmp = bin.join(format!(".{name}.new"));
        fs::copy(&from, &tmp).map_err(|e| format!("{}: {e}", from.display()))?;
        fs::rename(&tmp, &to).map_err(|e| format!("{}: {e}", to.display()))?;
    }
    eprintln!("xtask: tenders and elftool in {}", bin.display());
    Ok(())
}
