//! Building the Rust unikernels of the guest workspace (`guest/`).
//!
//! Each test unikernel (a binary of `guest/tests`) is built once per tender
//! and copied to `target/unikernels/NAME.spt` / `NAME.hvt`. The guest
//! workspace is a separate cargo workspace built for bare-metal use, with
//! the flags below; see `docs/guest-runtime.md` for why these targets.

use std::ffi::OsString;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::toolchain;

/// CPU architecture of the unikernels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arch {
    X86_64,
    Aarch64,
}

impl Arch {
    /// The architecture xtask itself runs on.
    pub fn host() -> Arch {
        if cfg!(target_arch = "aarch64") {
            Arch::Aarch64
        } else {
            Arch::X86_64
        }
    }

    pub fn parse(s: &str) -> Option<Arch> {
        match s {
            "x86_64" => Some(Arch::X86_64),
            "aarch64" => Some(Arch::Aarch64),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
        }
    }
}

/// The tender a unikernel is built for (its ABI1 note).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Spt,
    Hvt,
}

impl Target {
    pub const ALL: [Target; 2] = [Target::Spt, Target::Hvt];

    pub fn parse(s: &str) -> Option<Target> {
        match s {
            "spt" => Some(Target::Spt),
            "hvt" => Some(Target::Hvt),
            _ => None,
        }
    }

    /// Cargo feature of `corten-rt` / `corten-tests`, and file extension.
    pub fn name(self) -> &'static str {
        match self {
            Target::Spt => "spt",
            Target::Hvt => "hvt",
        }
    }
}

/// How floating point is compiled for hvt unikernels on x86_64.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HvtFloat {
    /// `x86_64-unknown-none`: no SSE/x87 instruction anywhere, for tenders
    /// whose CPL-0 guest code runs on an emulator without SSE (upstream
    /// solo5-hvt on KVM-PVM hosts).
    Soft,
    /// The default: `x86_64-unknown-linux-gnu` used freestanding, SSE2
    /// hardware floats like spt. Runs on corten-hvt everywhere (ring-3
    /// execution on PVM hosts) and on any tender whose host runs CPL-0
    /// guest code natively (VMX/SVM).
    Hard,
}

/// The rustc target triple for a unikernel.
pub fn rust_target(arch: Arch, target: Target, hvt_float: HvtFloat) -> &'static str {
    match (arch, target, hvt_float) {
        (Arch::X86_64, Target::Hvt, HvtFloat::Soft) => "x86_64-unknown-none",
        (Arch::X86_64, _, _) => "x86_64-unknown-linux-gnu",
        (Arch::Aarch64, _, _) => "aarch64-unknown-none",
    }
}

/// Why building the unikernels failed.
#[derive(Debug)]
pub enum GuestError {
    /// A command could not be started.
    Spawn { what: String, error: std::io::Error },
    /// A command failed.
    Failed { what: String, status: String },
    /// A file or directory operation failed.
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    /// The rust target could not be installed.
    Toolchain(String),
}

impl fmt::Display for GuestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GuestError::Spawn { what, error } => {
                write!(
                    f,
                    "could not run {what}: {error}; is it installed and on PATH?"
                )
            }
            GuestError::Failed { what, status } => write!(f, "{what} failed ({status})"),
            GuestError::Io { path, error } => write!(f, "{}: {error}", path.display()),
            GuestError::Toolchain(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for GuestError {}

type Result<T> = std::result::Result<T, GuestError>;

fn run(cmd: &mut Command, what: &str) -> Result<()> {
    let status = cmd.status().map_err(|error| GuestError::Spawn {
        what: what.to_string(),
        error,
    })?;
    if status.success() {
        Ok(())
    } else {
        Err(GuestError::Failed {
            what: what.to_string(),
            status: status.to_string(),
        })
    }
}

/// Names of the test unikernels: the binaries in `guest/tests/src/bin`.
pub fn unikernel_names(root: &Path) -> Result<Vec<String>> {
    let dir = root.join("guest/tests/src/bin");
    let entries = fs::read_dir(&dir).map_err(|error| GuestError::Io {
        path: dir.clone(),
        error,
    })?;
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|error| GuestError::Io {
            path: dir.clone(),
            error,
        })?;
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "rs") {
            if let Some(stem) = path.file_stem().and_then(|s| s.to_str()) {
                names.push(stem.to_string());
            }
        }
    }
    names.sort();
    Ok(names)
}

/// The rustc flags every unikernel is built with.
pub fn rustflags(root: &Path) -> Vec<String> {
    let script = root.join("guest/rt/link/solo5.ld");
    let mut flags: Vec<String> = [
        // The bundled lld, driven directly: no C toolchain involved.
        "-Clinker=rust-lld",
        "-Clinker-flavor=ld.lld",
        // Absolute addresses, no PIE: the tenders load segments at their
        // link addresses and apply no relocations.
        "-Crelocation-model=static",
        "-Clink-arg=-static",
        "-Clink-arg=--no-pie",
        "-Clink-arg=--gc-sections",
        "-Clink-arg=-zmax-page-size=4096",
        // Any section the script does not place is a build error, so the
        // program headers are always exactly the ones the script declares.
        "-Clink-arg=--orphan-handling=error",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    flags.push(format!("-Clink-arg=-T{}", script.display()));
    flags
}

/// Where the unikernels of `arch` go: `target/unikernels` for the host's
/// architecture, `target/unikernels/ARCH` for another.
pub fn output_dir(root: &Path, arch: Arch) -> PathBuf {
    let dir = root.join("target/unikernels");
    if arch == Arch::host() {
        dir
    } else {
        dir.join(arch.name())
    }
}

/// Builds every test unikernel for `arch` and each of `targets` and copies
/// them to `NAME.{spt,hvt}` in [`output_dir`]. Returns the paths written.
/// hvt unikernels are built hard-float (see [`HvtFloat`]).
#[allow(dead_code)] // the entry point for other xtask commands (test, bench)
pub fn build_unikernels(
    root: &Path,
    arch: Arch,
    targets: &[Target],
    release: bool,
) -> Result<Vec<PathBuf>> {
    build_unikernels_with(root, arch, targets, release, HvtFloat::Hard)
}

/// [`build_unikernels`] with a choice of floating point for hvt.
pub fn build_unikernels_with(
    root: &Path,
    arch: Arch,
    targets: &[Target],
    release: bool,
    hvt_float: HvtFloat,
) -> Result<Vec<PathBuf>> {
    build_unikernels_into(
        root,
        arch,
        targets,
        release,
        hvt_float,
        &output_dir(root, arch),
    )
}

/// [`build_unikernels_with`] into `out_dir` instead of [`output_dir`].
pub fn build_unikernels_into(
    root: &Path,
    arch: Arch,
    targets: &[Target],
    release: bool,
    hvt_float: HvtFloat,
    out_dir: &Path,
) -> Result<Vec<PathBuf>> {
    let out_dir = out_dir.to_path_buf();
    let names = unikernel_names(root)?;
    let target_dir = root.join("target/guest");
    fs::create_dir_all(&out_dir).map_err(|error| GuestError::Io {
        path: out_dir.clone(),
        error,
    })?;
    let encoded: OsString = rustflags(root).join("\x1f").into();
    let profile = if release { "release" } else { "debug" };
    let cargo = toolchain::cargo();

    let mut written = Vec::new();
    for &target in targets {
        let triple = rust_target(arch, target, hvt_float);
        toolchain::ensure_rust_target(triple).map_err(GuestError::Toolchain)?;
        let mut cmd = Command::new(&cargo);
        cmd.current_dir(root.join("guest"))
            .args(["build", "--package", "corten-tests", "--bins"])
            .args(["--features", target.name()])
            .args(["--target", triple])
            .arg("--target-dir")
            .arg(&target_dir)
            .env("CARGO_ENCODED_RUSTFLAGS", &encoded)
            .env_remove("RUSTFLAGS");
        if release {
            cmd.arg("--release");
        }
        run(
            &mut cmd,
            &format!(
                "cargo build of the {} unikernels for {triple}",
                target.name()
            ),
        )?;
        let built = target_dir.join(triple).join(profile);
        for name in &names {
            let from = built.join(name);
            let to = out_dir.join(format!("{name}.{}", target.name()));
            fs::copy(&from, &to).map_err(|error| GuestError::Io {
                path: from.clone(),
                error,
            })?;
            written.push(to);
        }
    }
    Ok(written)
}

/// Runs the unit tests of `corten-rt` on the build host, once per tender
/// feature (they test the runtime's logic, not the boot path).
pub fn test_runtime(root: &Path) -> Result<()> {
    let cargo = toolchain::cargo();
    for target in Target::ALL {
        let mut cmd = Command::new(&cargo);
        cmd.current_dir(root.join("guest"))
            .args([
                "test",
                "--package",
                "corten-rt",
                "--features",
                target.name(),
            ])
            .arg("--target-dir")
            .arg(root.join("target/guest-test"))
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS");
        run(
            &mut cmd,
            &format!("cargo test of corten-rt with feature {}", target.name()),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_per_arch_and_float() {
        assert_eq!(
            rust_target(Arch::X86_64, Target::Spt, HvtFloat::Soft),
            "x86_64-unknown-linux-gnu"
        );
        assert_eq!(
            rust_target(Arch::X86_64, Target::Hvt, HvtFloat::Soft),
            "x86_64-unknown-none"
        );
        assert_eq!(
            rust_target(Arch::X86_64, Target::Hvt, HvtFloat::Hard),
            "x86_64-unknown-linux-gnu"
        );
        assert_eq!(
            rust_target(Arch::Aarch64, Target::Spt, HvtFloat::Soft),
            "aarch64-unknown-none"
        );
    }

    #[test]
    fn finds_the_test_unikernels() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let names = unikernel_names(&root).unwrap();
        assert!(names.iter().any(|n| n == "hello"), "{names:?}");
    }

    #[test]
    fn flags_name_the_linker_script() {
        let flags = rustflags(Path::new("/r"));
        assert!(flags.contains(&"-Clink-arg=-T/r/guest/rt/link/solo5.ld".to_string()));
        assert!(flags.iter().all(|f| !f.contains('\x1f')));
    }
}
