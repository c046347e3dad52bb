//! Building the host side: the tenders and elftool, and installing the
//! binaries users run into `target/bin/`.
//!
//! `corten-spt` ships as a musl static-pie: glibc's dynamic loader (or
//! glibc's static start-up, which probes the CPU with `cpuid`, a VM exit on
//! virtual machines) would cost more than the whole of spt's own start-up
//! (see crates/spt/README.md). `corten-hvt` ships dynamically linked: static
//! start-up code makes system calls that urunc's seccomp allow-list traps
//! (see crates/hvt/README.md). `corten-elftool` and `corten-oci` have no such
//! constraint.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::deps::{self, Tool};
use crate::toolchain::{self, cargo, musl_triple, run};

/// The binaries users run, as installed into `target/bin`.
pub const BINARIES: [&str; 4] = ["corten-spt", "corten-hvt", "corten-elftool", "corten-oci"];

/// Where [`build`] installs the binaries.
pub fn bin_dir(root: &Path) -> PathBuf {
    root.join("target/bin")
}

/// Builds the host workspace (`release` or debug profile) and, for
/// release builds, installs the three binaries into [`bin_dir`].
pub fn build(root: &Path, release: bool) -> Result<(), String> {
    deps::ensure_tools(&[deps::PROTOC])?;
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
    toolchain::ensure_rust_target(musl)?;
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
    deps::ensure_tools(&[OBJCOPY])?;
    let bin = bin_dir(root);
    let debug = bin.join(DEBUG_DIR);
    fs::create_dir_all(&debug).map_err(|e| format!("{}: {e}", debug.display()))?;
    for name in BINARIES {
        let from = if name == "corten-spt" {
            root.join("target").join(musl).join("release").join(name)
        } else {
            root.join("target/release").join(name)
        };
        ship(OBJCOPY.command, &from, &bin, name)?;
    }
    eprintln!(
        "xtask: tenders and elftool in {} (debug info in {})",
        bin.display(),
        debug.display()
    );
    Ok(())
}

/// Where, beside the shipped binaries, their debug info is: the
/// `.debug` directory gdb searches next to an executable for the file its
/// `.gnu_debuglink` names.
pub const DEBUG_DIR: &str = ".debug";

/// The debug-info file of binary `name`, relative to its directory.
pub fn debug_file(name: &str) -> String {
    format!("{DEBUG_DIR}/{name}.debug")
}

const OBJCOPY: Tool = Tool {
    command: "objcopy",
    package: "binutils",
    why: "the shipped binaries are stripped, their debug info kept beside them",
};

/// Installs `from` into `bin/name` stripped of everything but what runs,
/// its debug info (and symbols) into `bin/.debug/name.debug`, linked by
/// `.gnu_debuglink` so gdb (and cores of the tender) still resolve it.
/// Written under temporary names and renamed, so a running tender is never
/// overwritten in place. `objcopy` is the command that knows `from`'s
/// architecture.
pub fn ship(objcopy: &str, from: &Path, bin: &Path, name: &str) -> Result<(), String> {
    let debug = bin.join(debug_file(name));
    let debug_tmp = bin.join(format!("{DEBUG_DIR}/.{name}.debug.new"));
    let tmp = bin.join(format!(".{name}.new"));
    let dir = bin.join(DEBUG_DIR);
    fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    run(
        Command::new(objcopy)
            .arg("--only-keep-debug")
            .arg(from)
            .arg(&debug_tmp),
        &format!("{objcopy} --only-keep-debug {}", from.display()),
    )?;
    fs::rename(&debug_tmp, &debug).map_err(|e| format!("{}: {e}", debug.display()))?;
    // The link records the file name only; gdb looks for it in .debug/.
    run(
        Command::new(objcopy)
            .arg("--strip-all")
            .arg(format!("--add-gnu-debuglink={}", debug.display()))
            .arg(from)
            .arg(&tmp),
        &format!("{objcopy} --strip-all {}", from.display()),
    )?;
    let to = bin.join(name);
    fs::rename(&tmp, &to).map_err(|e| format!("{}: {e}", to.display()))
}
