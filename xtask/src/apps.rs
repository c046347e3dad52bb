//! The experiment applications (docs/experiments.md): each is one source
//! built natively and as spt and hvt unikernels.
//!
//! - ATLAS dgemm (`apps/atlas`, `guest/apps/atlas`): `target/apps/atlas-native`,
//!   `target/apps/openblas-native`, `target/unikernels/atlas.{spt,hvt}` and
//!   `target/unikernels/openblas.{spt,hvt}` (the same benchmark over OpenBLAS);
//! - the C runtime test (`guest/apps/libc-test`): `target/apps/libc-test-native`
//!   (gcc + glibc) and `target/unikernels/libc_test.{spt,hvt}`;
//! - the mothur-exact sequence analysis (`apps/mothur`, `guest/apps/mothur`):
//!   `target/apps/corten-mothur`, `target/unikernels/mothur.{spt,hvt}`.
//!
//! They need Debian's BLAS archives, gcc, and (for the tests and the
//! bench) the real mothur and 16S data, which [`TOOLS`] installs.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::deps::{self, Tool};
use crate::guest::{self, Arch, HvtFloat, Target};
use crate::toolchain;

#[cfg(target_arch = "x86_64")]
const LIB: &str = "/usr/lib/x86_64-linux-gnu";
#[cfg(target_arch = "aarch64")]
const LIB: &str = "/usr/lib/aarch64-linux-gnu";

/// The real 16S rRNA sequences the mothur tests and bench use.
pub const SILVA_GOLD: &str =
    "/usr/share/microbiomeutil-data/RESOURCES/rRNA16S.gold.NAST_ALIGNED.fasta";

/// What the applications, their tests and the bench need.
pub fn tools() -> Vec<Tool> {
    let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    vec![
        Tool {
            command: "gcc",
            package: "gcc",
            why: "compiles the C runtime test (natively and for the unikernel)",
        },
        Tool {
            command: leak(format!("{LIB}/libatlas.a")),
            package: "libatlas-base-dev",
            why: "Debian's static ATLAS archives (libcblas.a, libatlas.a), linked into every ATLAS build",
        },
        Tool {
            command: leak(format!("{LIB}/openblas-serial/libopenblas.a")),
            package: "libopenblas-serial-dev",
            why: "single-thread OpenBLAS, the native reference point of the ATLAS bench",
        },
        Tool {
            command: "mothur",
            package: "mothur",
            why: "the real mothur, whose output the mothur app must reproduce byte for byte",
        },
        Tool {
            command: SILVA_GOLD,
            package: "microbiomeutil-data",
            why: "real 16S rRNA sequences (NAST-aligned) for the mothur tests and bench",
        },
    ]
}

/// Where the native application binaries go.
pub fn native_dir(root: &Path) -> PathBuf {
    root.join("target/apps")
}

/// Guest packages and the binaries each builds (installed as
/// `BIN.spt/.hvt`).
const GUEST_APPS: [(&str, &[&str]); 3] = [
    ("corten-atlas-uk", &["atlas", "openblas"]),
    ("corten-libc-test", &["libc_test"]),
    ("corten-mothur-uk", &["mothur"]),
];

fn copy(from: &Path, to: &Path) -> Result<(), String> {
    let tmp = to.with_extension("new");
    fs::copy(from, &tmp).map_err(|e| format!("{}: {e}", from.display()))?;
    fs::rename(&tmp, to).map_err(|e| format!("{}: {e}", to.display()))
}

/// Builds the native binaries into [`native_dir`].
fn build_native(root: &Path) -> Result<(), String> {
    toolchain::run(
        Command::new(toolchain::cargo()).current_dir(root).args([
            "build",
            "--release",
            "--package",
            "corten-atlas",
            "--features",
            "native",
            "--package",
            "corten-mothur",
        ]),
        "cargo build of the native applications",
    )?;
    let out = native_dir(root);
    fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    for bin in ["atlas-native", "openblas-native", "corten-mothur"] {
        copy(&root.join("target/release").join(bin), &out.join(bin))?;
    }
    // The C runtime test against glibc, compiled with the same flags the
    // unikernel's build.rs uses (plus the native main).
    let csrc = root.join("guest/apps/libc-test/csrc");
    toolchain::run(
        Command::new("gcc")
            .args([
                "-O2",
                "-D_FORTIFY_SOURCE=2",
                "-fstack-protector-strong",
                "-Wall",
                "-Wno-format-truncation",
                "-o",
            ])
            .arg(out.join("libc-test-native"))
            .arg(csrc.join("libc_test.c"))
            .arg(csrc.join("native_main.c")),
        "gcc of the native C runtime test",
    )
}

/// Builds the application unikernels for `targets` into the unikernel
/// directory.
fn build_guests(root: &Path, targets: &[Target]) -> Result<(), String> {
    let arch = Arch::host();
    let triple = guest::rust_target(arch, Target::Spt, HvtFloat::Hard);
    toolchain::ensure_rust_target(triple)?;
    let target_dir = root.join("target/guest");
    let encoded = guest::rustflags(root).join("\x1f");
    let out = guest::output_dir(root, arch);
    fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    for &t in targets {
        let mut cmd = Command::new(toolchain::cargo());
        cmd.current_dir(root.join("guest"))
            .args(["build", "--release", "--target", triple])
            .arg("--target-dir")
            .arg(&target_dir)
            .env("CARGO_ENCODED_RUSTFLAGS", &encoded)
            .env_remove("RUSTFLAGS");
        let mut features = Vec::new();
        for (package, _) in GUEST_APPS {
            cmd.args(["--package", package]);
            features.push(format!("{package}/{}", t.name()));
        }
        cmd.args(["--features", &features.join(",")]);
        toolchain::run(
            &mut cmd,
            &format!("cargo build of the {} application unikernels", t.name()),
        )?;
        for bin in GUEST_APPS.iter().flat_map(|(_, bins)| bins.iter()) {
            let from = target_dir.join(triple).join("release").join(bin);
            copy(&from, &out.join(format!("{bin}.{}", t.name())))?;
        }
    }
    Ok(())
}

/// Installs what the applications need, then builds them all.
pub fn build(root: &Path) -> Result<(), String> {
    deps::ensure_tools(&tools())?;
    build_native(root)?;
    build_guests(root, &Target::ALL)?;
    eprintln!(
        "xtask: applications in {} and {}",
        native_dir(root).display(),
        guest::output_dir(root, Arch::host()).display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tools_are_absolute_paths_or_commands() {
        for t in tools() {
            assert!(
                !t.command.contains('/') || Path::new(t.command).is_absolute(),
                "{}",
                t.command
            );
        }
    }
}
