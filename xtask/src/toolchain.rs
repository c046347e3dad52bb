//! The tools every build step runs: cargo, rustup targets, and running a
//! command with a clear error. A leaf module: it imports no other xtask
//! module, so host, guest and apps builds can all use it.

use std::ffi::OsString;
use std::process::Command;

/// The cargo running xtask (`CARGO`), else the one on PATH.
pub fn cargo() -> OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// Runs `cmd` (described as `what` in errors) and fails unless it succeeds.
pub fn run(cmd: &mut Command, what: &str) -> Result<(), String> {
    let status = cmd
        .status()
        .map_err(|e| format!("could not run {what}: {e}; is it installed and on PATH?"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({status})"))
    }
}

/// The Linux GNU target of the machine xtask runs on.
pub fn host_triple() -> &'static str {
    if cfg!(target_arch = "aarch64") {
        "aarch64-unknown-linux-gnu"
    } else {
        "x86_64-unknown-linux-gnu"
    }
}

/// The musl target of the host architecture (for the static spt tender).
pub fn musl_triple() -> &'static str {
    if cfg!(target_arch = "aarch64") {
        "aarch64-unknown-linux-musl"
    } else {
        "x86_64-unknown-linux-musl"
    }
}

/// Makes sure the standard library for `triple` is installed, adding it
/// with rustup if not.
pub fn ensure_rust_target(triple: &str) -> Result<(), String> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output();
    match installed {
        Ok(out) if out.status.success() => {
            if String::from_utf8_lossy(&out.stdout)
                .lines()
                .any(|l| l.trim() == triple)
            {
                return Ok(());
            }
            eprintln!("xtask: adding rust target {triple}");
            run(
                Command::new("rustup").args(["target", "add", triple]),
                &format!("rustup target add {triple}"),
            )
        }
        // No rustup: trust the toolchain (the build fails clearly if the
        // target is missing), except we can tell the host target is there.
        _ if triple == host_triple() => Ok(()),
        _ => Err(format!(
            "the rust target {triple} is not installed and rustup is not available to add it; \
             install it with your toolchain manager"
        )),
    }
}
