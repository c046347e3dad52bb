//! `cargo xtask build --sanitize address`: the tenders and elftool built
//! with AddressSanitizer (nightly rustc, `-Zsanitizer=address`, and
//! `--cfg corten_sanitize`, which lets their seccomp filters allow the
//! sanitizer runtime's own calls: corten-sandbox's rules.rs), into
//! `target/sanitize/address/bin`, then the tender suites run against them.
//! Instrumented binaries are for testing only: never ship them.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::toolchain::{self, run};

/// The sanitizers `--sanitize` takes.
pub const SANITIZERS: [&str; 1] = ["address"];

const TRIPLE: &str = "x86_64-unknown-linux-gnu";
const BINARIES: [&str; 3] = ["corten-spt", "corten-hvt", "corten-elftool"];

fn ensure_nightly() -> Result<(), String> {
    let ok = Command::new("rustup")
        .args(["run", "nightly", "rustc", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return Ok(());
    }
    run(
        Command::new("rustup").args(["toolchain", "install", "nightly", "--profile", "minimal"]),
        "rustup toolchain install nightly",
    )
}

/// Where the instrumented binaries of `sanitizer` land.
pub fn bin_dir(root: &Path, sanitizer: &str) -> PathBuf {
    root.join("target/sanitize").join(sanitizer).join("bin")
}

pub fn build(root: &Path, sanitizer: &str) -> Result<(), String> {
    if !SANITIZERS.contains(&sanitizer) {
        return Err(format!(
            "unknown sanitizer '{sanitizer}', expected one of {SANITIZERS:?}"
        ));
    }
    if !cfg!(target_arch = "x86_64") {
        return Err("--sanitize builds for x86_64 hosts only".into());
    }
    ensure_nightly()?;
    let target_dir = root.join("target/sanitize").join(sanitizer);
    let flags = [
        format!("-Zsanitizer={sanitizer}"),
        "--cfg".into(),
        "corten_sanitize".into(),
    ];
    let mut cmd = Command::new("rustup");
    cmd.current_dir(root)
        .args([
            "run",
            "nightly",
            "cargo",
            "build",
            "--release",
            "--target",
            TRIPLE,
        ])
        .arg("--target-dir")
        .arg(&target_dir)
        .env("CARGO_ENCODED_RUSTFLAGS", flags.join("\x1f"))
        .env_remove("RUSTFLAGS");
    for b in BINARIES {
        cmd.args(["--package", b]);
    }
    run(
        &mut cmd,
        &format!("cargo build with -Zsanitizer={sanitizer}"),
    )?;
    let bin = bin_dir(root, sanitizer);
    std::fs::create_dir_all(&bin).map_err(|e| format!("{}: {e}", bin.display()))?;
    for b in BINARIES {
        let from = target_dir.join(TRIPLE).join("release").join(b);
        std::fs::copy(&from, bin.join(b)).map_err(|e| format!("{}: {e}", from.display()))?;
    }
    eprintln!(
        "xtask: {sanitizer}-sanitized tenders and elftool in {}",
        bin.display()
    );
    suites(root, &bin)
}

/// The tender suites against the instrumented binaries (a sanitizer
/// report fails the case: the tender's output or status changes).
fn suites(root: &Path, bin: &Path) -> Result<(), String> {
    let spt = bin.join("corten-spt");
    let hvt = bin.join("corten-hvt");
    let runs: [(&str, &[&str], (&str, &Path)); 2] = [
        // Not spt's hostile suites: an spt guest runs under the tender's
        // own filter, which the instrumented build widens for the
        // sanitizer runtime, so "this call is killed" cannot hold there.
        (
            "corten-spt",
            &["suite_corten", "launcher"],
            ("CORTEN_SPT", &spt),
        ),
        (
            "corten-hvt",
            &["suite_corten", "hostile_corten", "launcher"],
            ("CORTEN_HVT_TENDER", &hvt),
        ),
    ];
    for (package, tests, (var, path)) in runs {
        let mut cmd = Command::new(toolchain::cargo());
        cmd.current_dir(root).args(["test", "--package", package]);
        for t in tests {
            cmd.args(["--test", t]);
        }
        // LeakSanitizer stops the world with ptrace: not under seccomp.
        cmd.env(var, path)
            .env("ASAN_OPTIONS", "detect_leaks=0:abort_on_error=1");
        run(
            &mut cmd,
            &format!("the {package} suites on the sanitized build"),
        )?;
    }
    eprintln!("xtask: the tender suites pass on the sanitized build");
    Ok(())
}
