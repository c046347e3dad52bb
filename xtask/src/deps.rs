//! Installing what a fresh machine lacks: rustup targets and Debian
//! packages. Every `cargo xtask` command that needs something calls this
//! first, so the README's two commands work on a new machine and CI
//! installs the same things a developer would.

use std::process::Command;

/// A host command some step needs, and the Debian package that provides it.
#[derive(Clone, Copy, Debug)]
pub struct Tool {
    pub command: &'static str,
    pub package: &'static str,
    /// Why it is needed (printed when it cannot be installed).
    pub why: &'static str,
}

/// protoc: the CRI client (corten-testutil, corten-bench) is generated
/// from the CRI protobuf when the host workspace builds.
pub const PROTOC: Tool = Tool {
    command: "protoc",
    package: "protobuf-compiler",
    why: "the CRI client of corten-bench and the tests is generated from the CRI protobuf",
};

/// True when `command` is found on PATH (or, given as a path, exists).
pub fn have_command(command: &str) -> bool {
    if command.contains('/') {
        return std::path::Path::new(command).is_file();
    }
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(command).is_file()))
        .unwrap_or(false)
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc_geteuid() == 0 }
}

extern "C" {
    #[link_name = "geteuid"]
    fn libc_geteuid() -> u32;
}

/// Installs the Debian packages of every tool in `tools` whose command is
/// missing. Without root or apt-get, says what is missing and fails.
pub fn ensure_tools(tools: &[Tool]) -> Result<(), String> {
    let missing: Vec<&Tool> = tools.iter().filter(|t| !have_command(t.command)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    let mut packages: Vec<&str> = missing.iter().map(|t| t.package).collect();
    packages.sort_unstable();
    packages.dedup();
    let list = missing
        .iter()
        .map(|t| format!("  {} (package {}): {}", t.command, t.package, t.why))
        .collect::<Vec<_>>()
        .join("\n");
    if !is_root() || !have_command("apt-get") {
        return Err(format!(
            "missing tools, install them (e.g. `sudo apt-get install {}`):\n{list}",
            packages.join(" ")
        ));
    }
    eprintln!("xtask: installing Debian packages: {}", packages.join(" "));
    if apt_install(&packages).is_err() {
        // A fresh machine may have no package lists yet.
        run_apt(&["update", "-q"])?;
        apt_install(&packages)?;
    }
    let still: Vec<&str> = missing
        .iter()
        .filter(|t| !have_command(t.command))
        .map(|t| t.command)
        .collect();
    if still.is_empty() {
        Ok(())
    } else {
        Err(format!("still missing after apt-get: {}", still.join(" ")))
    }
}

fn apt_install(packages: &[&str]) -> Result<(), String> {
    let mut args = vec!["install", "-y", "-q", "--no-install-recommends"];
    args.extend_from_slice(packages);
    run_apt(&args)
}

fn run_apt(args: &[&str]) -> Result<(), String> {
    let status = Command::new("apt-get")
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .map_err(|e| format!("cannot run apt-get: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`apt-get {}` failed", args.join(" ")))
    }
}
