//! `cargo xtask bench [--quick] [--only spt|hvt] [--workload LABEL=KERNEL[:ARG]]...
//! [--experiments-only | --no-experiments]`:
//! the one benchmark entry point. Installs what the benchmarks need,
//! builds what they measure (the release tenders and unikernels `cargo
//! xtask build` makes, plus the musl static-pie corten-spt), then runs
//! `corten-bench` in release mode, which writes
//! docs/benchmarks/{results.json,README.md,ratios.svg}.
//!
//! Nothing here needs root: parts that do (tap devices, tracing) are
//! skipped by corten-bench with the reason recorded in the report.

use std::path::Path;
use std::process::Command;

use crate::deps::{self, Tool};
use crate::guest::{self, Arch, Target};
use crate::{apps, host};

/// The static C library, checked by path: `have_command` joins the name
/// to each PATH directory, and joining an absolute path yields the path
/// itself.
#[cfg(target_arch = "x86_64")]
const LIBC_A: &str = "/usr/lib/x86_64-linux-gnu/libc.a";
#[cfg(target_arch = "aarch64")]
const LIBC_A: &str = "/usr/lib/aarch64-linux-gnu/libc.a";

const C_BASELINE: [Tool; 2] = [
    Tool {
        command: "gcc",
        package: "gcc",
        why: "compiles the static C hello-world that spt start-up is compared with",
    },
    Tool {
        command: LIBC_A,
        package: "libc6-dev",
        why: "the static C library for `gcc -static`",
    },
];

const NETWORK: [Tool; 1] = [Tool {
    command: "ip",
    package: "iproute2",
    why: "creates the tap device of the ping measurement (root only)",
}];

/// Options of `cargo xtask bench`.
#[derive(Debug, Default, PartialEq, Eq)]
struct BenchOptions {
    /// Arguments passed on to corten-bench.
    pass: Vec<String>,
}

fn parse(args: &[String]) -> Result<BenchOptions, String> {
    let mut o = BenchOptions::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quick" | "--experiments-only" | "--no-experiments" => o.pass.push(a.clone()),
            "--only" => {
                let v = it.next().ok_or("--only needs a value (spt or hvt)")?;
                if v != "spt" && v != "hvt" {
                    return Err(format!("unknown --only '{v}', expected spt or hvt"));
                }
                o.pass.extend([a.clone(), v.clone()]);
            }
            "--workload" => {
                let v = it
                    .next()
                    .ok_or("--workload needs a value (LABEL=KERNEL[:ARG])")?;
                o.pass.extend([a.clone(), v.clone()]);
            }
            other => return Err(format!("unknown bench option '{other}'")),
        }
    }
    Ok(o)
}

/// Installs missing tools; a failure only loses the measurement that
/// needs them (corten-bench says which), so it is reported, not fatal.
fn install(tools: &[Tool], lost: &str) {
    if let Err(e) = deps::ensure_tools(tools) {
        eprintln!("xtask: {e}\nxtask: without them: {lost}");
    }
}

pub fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let o = parse(args)?;
    install(&C_BASELINE, "no static C baseline for spt start-up");
    install(&NETWORK, "no ping measurement");

    // What `cargo xtask build` makes: the release host workspace (tenders,
    // corten-bench itself, the musl static-pie corten-spt) and every test
    // unikernel.
    host::build(root, true)?;
    guest::build_unikernels(root, Arch::host(), &Target::ALL, true).map_err(|e| e.to_string())?;
    // The experiments' applications (docs/experiments.md).
    apps::build(root)?;
    // The soft-float hvt builds: the same file runs on every hvt tender,
    // upstream's on PVM hosts included (see corten-bench's inventory).
    guest::build_unikernels_into(
        root,
        Arch::host(),
        &[Target::Hvt],
        true,
        guest::HvtFloat::Soft,
        &guest::output_dir(root, Arch::host()).join("hvt-soft"),
    )
    .map_err(|e| e.to_string())?;

    let bench = root.join("target/release/corten-bench");
    let status = Command::new(&bench)
        .arg("--root")
        .arg(root)
        .args(&o.pass)
        .status()
        .map_err(|e| format!("could not run {}: {e}", bench.display()))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("corten-bench failed ({status})"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn options_pass_through() {
        assert_eq!(parse(&[]).unwrap().pass, Vec::<String>::new());
        assert_eq!(
            parse(&s(&["--quick", "--only", "spt"])).unwrap().pass,
            s(&["--quick", "--only", "spt"])
        );
        assert!(parse(&s(&["--only"])).is_err());
        assert!(parse(&s(&["--only", "xen"])).is_err());
        assert!(parse(&s(&["--slow"])).is_err());
        assert_eq!(
            parse(&s(&["--workload", "big=/k.hvt"])).unwrap().pass,
            s(&["--workload", "big=/k.hvt"])
        );
        assert!(parse(&s(&["--workload"])).is_err());
        assert_eq!(
            parse(&s(&["--experiments-only"])).unwrap().pass,
            s(&["--experiments-only"])
        );
    }

    #[test]
    fn libc_check_is_an_absolute_path() {
        // have_command must see the file itself, not PATH/…/libc.a.
        assert!(Path::new(LIBC_A).is_absolute());
        assert_eq!(
            Path::new("/usr/bin").join(LIBC_A),
            Path::new(LIBC_A),
            "Path::join replaces the base with an absolute path"
        );
        assert_eq!(deps::have_command(LIBC_A), Path::new(LIBC_A).is_file());
    }
}
