//! `cargo xtask cross aarch64`: the shipped binaries and every test
//! unikernel, built for aarch64 on any host.
//!
//! All three binaries are musl static-pie executables linked by the
//! bundled `rust-lld` (Rust ships musl's C runtime objects for the target,
//! so no aarch64 C toolchain is involved). Unlike the host's dynamically
//! linked corten-hvt (urunc's allow-list, crates/hvt/README.md), the
//! aarch64 one is static too: it must run in a bare initramfs without a C
//! library.
//!
//! Why static-pie by hand: rustc builds a static-pie for
//! x86_64-unknown-linux-musl but not for aarch64-unknown-linux-musl (its
//! target has no `static-position-independent-executables`), and a
//! static non-PIE corten-spt sits at a low fixed address, inside the range
//! spt guests use (guest addresses are host addresses): `--mem=64`
//! overlapped it. So [`static_pie_flags`] links as rustc would for a
//! static-pie: musl's self-relocating `rcrt1.o` instead of `crt1.o`,
//! `-pie --no-dynamic-linker`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::deps::{self, Tool};
use crate::guest::{self, Arch, HvtFloat, Target};
use crate::host;
use crate::toolchain::{self, cargo, run};

/// The Rust target of the aarch64 binaries.
pub const TRIPLE: &str = "aarch64-unknown-linux-musl";

/// The binaries built for aarch64 (corten-oci stays a host tool).
pub const BINARIES: [&str; 3] = ["corten-spt", "corten-hvt", "corten-elftool"];

/// The host's binutils know only x86 objects; Debian's cross binutils
/// strip and split aarch64 ones.
const OBJCOPY: Tool = Tool {
    command: "aarch64-linux-gnu-objcopy",
    package: "binutils-aarch64-linux-gnu",
    why: "the aarch64 binaries are stripped, their debug info kept beside them",
};

/// `target/aarch64`: everything `cross aarch64` makes.
pub fn out_dir(root: &Path) -> PathBuf {
    root.join("target").join(Arch::Aarch64.name())
}

/// Where the stripped aarch64 binaries go.
pub fn bin_dir(root: &Path) -> PathBuf {
    out_dir(root).join("bin")
}

/// Where the aarch64 test unikernels go (`NAME.spt`, `NAME.hvt`).
pub fn unikernel_dir(root: &Path) -> PathBuf {
    out_dir(root).join("unikernels")
}

/// Builds the binaries into [`bin_dir`] and the unikernels into
/// [`unikernel_dir`], installing the rust targets and tools it needs.
pub fn build(root: &Path) -> Result<(), String> {
    deps::ensure_tools(&[OBJCOPY])?;
    toolchain::ensure_rust_target(TRIPLE)?;
    let mut cmd = cargo_aarch64(root, "build")?;
    for name in BINARIES {
        cmd.args(["--package", name]);
    }
    run(&mut cmd, "cargo build of the aarch64 tenders and elftool")?;
    let built = root.join("target").join(TRIPLE).join("release");
    let bin = bin_dir(root);
    for name in BINARIES {
        host::ship(OBJCOPY.command, &built.join(name), &bin, name)?;
    }
    let written = guest::build_unikernels_into(
        root,
        Arch::Aarch64,
        &Target::ALL,
        true,
        HvtFloat::Hard,
        &unikernel_dir(root),
    )
    .map_err(|e| e.to_string())?;
    eprintln!(
        "xtask: aarch64 tenders and elftool in {}, {} unikernels in {}",
        bin.display(),
        written.len(),
        unikernel_dir(root).display()
    );
    Ok(())
}

/// `cargo COMMAND --release --target TRIPLE`, linked as [`static_pie_flags`].
fn cargo_aarch64(root: &Path, command: &str) -> Result<Command, String> {
    let mut cmd = Command::new(cargo());
    cmd.current_dir(root)
        .args([command, "--release", "--target", TRIPLE])
        .env(target_var(TRIPLE, "LINKER"), "rust-lld")
        .env(
            target_var(TRIPLE, "RUSTFLAGS"),
            static_pie_flags(&self_contained_dir()?).join(" "),
        );
    Ok(cmd)
}

/// The host crates with aarch64 code (or code that differs by
/// architecture: system call numbers, seccomp audit arch, ELF machine),
/// whose unit tests the emulated machine runs.
pub const UNIT_TESTED: [&str; 6] = [
    "corten-abi",
    "corten-elf",
    "corten-sandbox",
    "corten-tender",
    "corten-spt",
    "corten-hvt",
];

/// Where the aarch64 unit-test executables go (`CRATE-lib`, `CRATE-bin`).
pub fn unit_test_dir(root: &Path) -> PathBuf {
    out_dir(root).join("unit-tests")
}

/// Builds the unit tests of [`UNIT_TESTED`] for aarch64 and copies the
/// executables, without debug info, into [`unit_test_dir`]. Returns
/// their file names.
pub fn build_unit_tests(root: &Path) -> Result<Vec<String>, String> {
    let mut cmd = cargo_aarch64(root, "test")?;
    // Libraries, and corten-spt's binary (it has no library); corten-hvt's
    // binary is `#![no_main]`, without a test harness.
    cmd.args([
        "--no-run",
        "--lib",
        "--bin",
        "corten-spt",
        "--message-format=json",
    ]);
    for name in UNIT_TESTED {
        cmd.args(["--package", name]);
    }
    cmd.stderr(std::process::Stdio::inherit());
    let out = cmd
        .output()
        .map_err(|e| format!("could not run cargo test --no-run: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo test --no-run of the aarch64 unit tests failed ({})",
            out.status
        ));
    }
    let dir = unit_test_dir(root);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut names = Vec::new();
    for (name, exe) in String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(test_executable)
    {
        run(
            Command::new(OBJCOPY.command)
                .arg("--strip-debug")
                .arg(&exe)
                .arg(dir.join(&name)),
            &format!("{} --strip-debug {exe}", OBJCOPY.command),
        )?;
        names.push(name);
    }
    if names.len() < UNIT_TESTED.len() {
        return Err(format!(
            "cargo built {} aarch64 unit-test executables, expected at least {}",
            names.len(),
            UNIT_TESTED.len()
        ));
    }
    Ok(names)
}

/// From one line of cargo's JSON messages, a test executable:
/// (`CRATE-KIND`, its path).
fn test_executable(line: &str) -> Option<(String, String)> {
    let field = |key: &str| {
        let rest = line.split_once(&format!("\"{key}\":\""))?.1;
        Some(rest.split_once('"')?.0.to_owned())
    };
    let exe = field("executable")?;
    let target = line.split_once("\"target\":{")?.1;
    let kind = target
        .split_once("\"kind\":[\"")?
        .1
        .split_once('"')?
        .0
        .to_owned();
    let name = target
        .split_once("\"name\":\"")?
        .1
        .split_once('"')?
        .0
        .to_owned();
    Some((format!("{name}-{kind}"), exe))
}

/// Cargo's per-target variable `what`, e.g.
/// `CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER`.
fn target_var(triple: &str, what: &str) -> String {
    format!(
        "CARGO_TARGET_{}_{what}",
        triple.to_uppercase().replace('-', "_")
    )
}

/// The musl objects and libraries Rust ships for [`TRIPLE`].
fn self_contained_dir() -> Result<PathBuf, String> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let out = Command::new(rustc)
        .args(["--print", "sysroot"])
        .output()
        .map_err(|e| format!("cannot run rustc --print sysroot: {e}"))?;
    let sysroot = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let dir = Path::new(&sysroot).join(format!("lib/rustlib/{TRIPLE}/lib/self-contained"));
    if dir.join("rcrt1.o").is_file() {
        Ok(dir)
    } else {
        Err(format!(
            "{} holds no rcrt1.o; is the rust target {TRIPLE} installed?",
            dir.display()
        ))
    }
}

/// rustc flags for a static-pie from musl's objects in `dir` (no path in
/// it may hold a space: cargo splits these flags on spaces).
fn static_pie_flags(dir: &Path) -> Vec<String> {
    let mut flags: Vec<String> = [
        // Our own start files instead of rustc's static non-PIE ones.
        "-Clink-self-contained=no",
        "-Clink-arg=-pie",
        "-Clink-arg=--no-dynamic-linker",
        "-Clink-arg=-znow",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    flags.push(format!("-Clink-arg=-L{}", dir.display()));
    // rcrt1.o relocates the executable before musl's start-up; crti/crtn
    // bracket .init, which no other object here contributes to.
    for obj in ["rcrt1.o", "crti.o", "crtbeginS.o", "crtendS.o", "crtn.o"] {
        flags.push(format!("-Clink-arg={}", dir.join(obj).display()));
    }
    flags
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_test_executables_from_cargos_messages() {
        let line = r#"{"reason":"compiler-artifact","package_id":"x","target":{"kind":["lib"],"crate_types":["lib"],"name":"corten_hvt","src_path":"/s"},"profile":{},"executable":"/t/deps/corten_hvt-1234","fresh":true}"#;
        assert_eq!(
            test_executable(line),
            Some(("corten_hvt-lib".into(), "/t/deps/corten_hvt-1234".into()))
        );
        let library = r#"{"reason":"compiler-artifact","target":{"kind":["lib"],"name":"x"},"executable":null}"#;
        assert_eq!(test_executable(library), None);
    }

    #[test]
    fn names_cargos_target_variables() {
        assert_eq!(
            target_var(TRIPLE, "LINKER"),
            "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER"
        );
    }

    #[test]
    fn links_with_the_self_relocating_start_file() {
        let flags = static_pie_flags(Path::new("/sc"));
        assert!(flags.contains(&"-Clink-arg=/sc/rcrt1.o".to_string()));
        assert!(flags.iter().all(|f| !f.contains("/crt1.o")));
        assert!(flags.contains(&"-Clink-arg=-pie".to_string()));
    }

    #[test]
    fn everything_lands_under_target_aarch64() {
        let root = Path::new("/r");
        assert_eq!(bin_dir(root), Path::new("/r/target/aarch64/bin"));
        assert_eq!(
            unikernel_dir(root),
            Path::new("/r/target/aarch64/unikernels")
        );
    }
}
