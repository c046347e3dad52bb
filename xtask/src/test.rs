//! `cargo xtask test`: every test suite, on a fresh machine. Installs what
//! the suites need, builds the release tenders and the test unikernels,
//! then runs the host workspace's tests (unit and integration: the spt and
//! hvt suites run real tenders on real unikernels), the guest runtime's
//! unit tests, corten-oci under a private containerd, and the tender and
//! corten-oci suites once more against the shipped
//! binaries in target/bin (musl static corten-spt, release corten-hvt).
//! It also cross-builds the aarch64 binaries and unikernels (`cargo xtask
//! cross aarch64`; running them under qemu is `--run`, not part of this).

use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;

use crate::deps::{self, Tool};
use crate::{apps, cross, guest, host, install, kvm, toolchain};

/// Host tools the suites use.
const TOOLS: [Tool; 12] = [
    deps::PROTOC,
    Tool {
        command: "/usr/lib/cni/loopback",
        package: "containernetworking-plugins",
        why: "containerd's CRI plugin runs CNI's loopback in every pod",
    },
    Tool {
        command: "podman",
        package: "podman",
        why: "corten-oci's tests run unikernels with podman --runtime",
    },
    Tool {
        command: "containerd",
        package: "containerd",
        why: "corten-oci's tests drive a private containerd",
    },
    Tool {
        command: "ctr",
        package: "containerd",
        why: "corten-oci's tests run containers with ctr",
    },
    Tool {
        command: "runc",
        package: "runc",
        why: "corten-oci hands bundles that are not unikernels to runc",
    },
    Tool {
        command: "umoci",
        package: "umoci",
        why: "corten-oci's tests build unikernel images",
    },
    Tool {
        command: "skopeo",
        package: "skopeo",
        why: "corten-oci's tests turn images into archives ctr imports",
    },
    Tool {
        command: "script",
        package: "bsdutils",
        why: "corten-oci's TTY test gives ctr a terminal",
    },
    Tool {
        command: "ip",
        package: "iproute2",
        why: "network tests create taps inside their own network namespace",
    },
    Tool {
        command: "gdb",
        package: "gdb",
        why: "the hvt --gdb and --dumpcore tests drive a real gdb",
    },
    Tool {
        command: "unshare",
        package: "util-linux",
        why: "tests run tenders in private namespaces",
    },
];

fn cargo_test(root: &Path, args: &[&str], env: &[(&str, &OsStr)]) -> Result<(), String> {
    let mut cmd = Command::new(toolchain::cargo());
    cmd.current_dir(root).arg("test").args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let what = format!("cargo test {}", args.join(" "));
    eprintln!("xtask: {what}");
    toolchain::run(&mut cmd, &what)
}

/// Installs what the suites need.
pub fn ensure_tools() -> Result<(), String> {
    deps::ensure_tools(&TOOLS)
}

pub fn run(root: &Path) -> Result<(), String> {
    ensure_tools()?;
    // In CI a machine with KVM must run the hvt suite, not skip it.
    let mut env: Vec<(&str, &OsStr)> = Vec::new();
    match kvm::usable() {
        Ok(()) => {
            if std::env::var("CI").is_ok_and(|v| v == "true")
                && std::env::var_os("CORTEN_REQUIRE_KVM").is_none()
            {
                env.push(("CORTEN_REQUIRE_KVM", OsStr::new("1")));
            }
        }
        Err(why) => eprintln!("xtask: hvt tests will skip: {why}"),
    }
    host::build(root, true)?;
    let arch = guest::Arch::host();
    guest::build_unikernels(root, arch, &guest::Target::ALL, true).map_err(|e| e.to_string())?;
    apps::build(root)?;
    // apps::build installed mothur and the 16S data: the suites comparing
    // with them must run, not skip.
    env.push(("CORTEN_REQUIRE_APPS", OsStr::new("1")));
    // The engines are installed (TOOLS): their tests must run.
    env.push(("CORTEN_REQUIRE_ENGINES", OsStr::new("1")));

    let mut failures = Vec::new();
    let mut step = |r: Result<(), String>| {
        if let Err(e) = r {
            eprintln!("xtask: FAILED: {e}");
            failures.push(e);
        }
    };
    step(cross::build_aarch64(root));
    step(cargo_test(root, &["--workspace", "--no-fail-fast"], &env));
    step(guest::test_runtime(root).map_err(|e| e.to_string()));
    step(install::check(root));
    let bin = host::bin_dir(root);
    let (spt, hvt) = (bin.join("corten-spt"), bin.join("corten-hvt"));
    step(cargo_test(
        root,
        &[
            "--package",
            "corten-spt",
            "--test",
            "suite_corten",
            "--test",
            "hostile",
            "--test",
            "hostile_corten",
            "--test",
            "cli",
            "--test",
            "launcher",
        ],
        &[env.as_slice(), &[("CORTEN_SPT", spt.as_os_str())]].concat(),
    ));
    step(cargo_test(
        root,
        &[
            "--package",
            "corten-hvt",
            "--test",
            "suite_corten",
            "--test",
            "hostile_corten",
            "--test",
            "urunc",
            "--test",
            "launcher",
        ],
        &[env.as_slice(), &[("CORTEN_HVT_TENDER", hvt.as_os_str())]].concat(),
    ));
    let oci = bin.join("corten-oci");
    step(cargo_test(
        root,
        &[
            "--package",
            "corten-oci",
            "--test",
            "cli",
            "--test",
            "run",
            "--test",
            "ctr",
            "--test",
            "podman",
        ],
        &[env.as_slice(), &[("CORTEN_OCI", oci.as_os_str())]].concat(),
    ));
    if failures.is_empty() {
        eprintln!("xtask: all test suites passed");
        Ok(())
    } else {
        Err(format!(
            "{} test step(s) failed:\n  {}",
            failures.len(),
            failures.join("\n  ")
        ))
    }
}
