//! `cargo xtask`: project automation, std only so it runs first on a fresh
//! machine.
//!
//! ```text
//! cargo xtask demo
//! cargo xtask test
//! cargo xtask fuzz [--seconds N] [TARGET...]
//! cargo xtask build [--debug] [--host-only | --guests-only]
//!                   [--tender spt|hvt]... [--arch x86_64|aarch64]
//!                   [--hvt-float hard|soft]
//! cargo xtask test-guest
//! cargo xtask cross aarch64 [--run]
//! ```

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod apps;
mod bench;
mod coverage;
mod cross;
mod demo;
mod deps;
mod fuzz;
mod guest;
mod host;
mod install;
mod kvm;
mod sanitize;
mod test;
mod toolchain;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use guest::{Arch, HvtFloat, Target};

const USAGE: &str = "\
usage: cargo xtask <command> [options]

commands:
  demo      build everything and run the hello unikernel under corten-spt
            and, where /dev/kvm works, corten-hvt
  test      install what the suites need, build, and run every test suite
            (set CORTEN_REQUIRE_KVM=1 to fail instead of skipping hvt tests;
            CI does on machines with /dev/kvm)
  fuzz [--seconds N] [TARGET...]
            bounded cargo-fuzz run of every fuzz target (default 60 s each)
  build     build the host workspace (tenders, elftool) in release mode and
            every test unikernel into target/unikernels/NAME.{spt,hvt}
            (target/unikernels/ARCH/ for another architecture than the host's),
            and the experiment applications (native builds in target/apps/,
            unikernels atlas, libc_test, mothur in target/unikernels/)

  coverage  the host test suite once more with every crate instrumented
            for coverage; per-crate line coverage into docs/coverage.md

  install [--prefix P] [--upstream-names]
            build and install the shipped tenders and elftool (stripped,
            static where they can be) into P/bin (default /usr/local), their
            debug info into P/bin/.debug; --upstream-names installs them as
            solo5-spt, solo5-hvt, solo5-elftool

  cross aarch64 [--run]
            build corten-spt, corten-hvt, corten-elftool (static, stripped)
            into target/aarch64/bin and every test unikernel into
            target/aarch64/unikernels; --run then boots Debian's arm64
            kernel under qemu with them and runs the spt and hvt cases
            there (docs/cross.md)

  test-guest
            run the unit tests of the guest runtime (corten-rt) on this host

  bench [--quick] [--only spt|hvt] [--experiments-only | --no-experiments]
            build, then run every benchmark side by side with upstream Solo5
            when present (SOLO5_UPSTREAM_BIN, SOLO5_UPSTREAM_TESTS), and the
            experiments of docs/experiments.md (ATLAS, mothur); writes
            docs/benchmarks/ (--quick: a few minutes, for smoke tests)

build options:
  --debug               debug profile instead of release
  --host-only           only the host workspace
  --guests-only         only the unikernels
  --tender spt|hvt      only unikernels for this tender (repeatable)
  --arch x86_64|aarch64 unikernel architecture (default: the host's)
  --sanitize address    the tenders and elftool built with AddressSanitizer
                        (nightly) into target/sanitize/address/bin, then
                        the tender suites run against them
  --hvt-float hard|soft hvt floating point on x86_64 (default hard: SSE2 like
                        spt; soft: no SSE/x87 instruction, for tenders that
                        run CPL-0 guest code on an emulator without SSE, e.g.
                        upstream solo5-hvt on KVM-PVM hosts)
";

/// The repository root (xtask lives in ROOT/xtask).
fn root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

struct BuildOptions {
    release: bool,
    host: bool,
    guests: bool,
    tenders: Vec<Target>,
    arch: Arch,
    hvt_float: HvtFloat,
    sanitize: Option<String>,
}

fn parse_build(args: &[String]) -> Result<BuildOptions, String> {
    let mut o = BuildOptions {
        release: true,
        host: true,
        guests: true,
        tenders: Vec::new(),
        arch: Arch::host(),
        hvt_float: HvtFloat::Hard,
        sanitize: None,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match a.as_str() {
            "--debug" => o.release = false,
            "--release" => o.release = true,
            "--host-only" => o.guests = false,
            "--guests-only" => o.host = false,
            "--tender" => {
                let v = value("--tender")?;
                o.tenders.push(
                    Target::parse(&v)
                        .ok_or_else(|| format!("unknown tender '{v}', expected spt or hvt"))?,
                );
            }
            "--arch" => {
                let v = value("--arch")?;
                o.arch = Arch::parse(&v).ok_or_else(|| {
                    format!("unknown architecture '{v}', expected x86_64 or aarch64")
                })?;
            }
            "--hvt-float" => {
                let v = value("--hvt-float")?;
                o.hvt_float = match v.as_str() {
                    "soft" => HvtFloat::Soft,
                    "hard" => HvtFloat::Hard,
                    _ => return Err(format!("unknown --hvt-float '{v}', expected soft or hard")),
                };
            }
            "--sanitize" => o.sanitize = Some(value("--sanitize")?),
            other => return Err(format!("unknown build option '{other}'")),
        }
    }
    if !o.host && !o.guests {
        return Err("--host-only and --guests-only exclude each other".into());
    }
    if o.tenders.is_empty() {
        o.tenders = Target::ALL.to_vec();
    }
    Ok(o)
}

fn build(args: &[String]) -> Result<(), String> {
    let o = parse_build(args)?;
    let root = root();
    if let Some(s) = &o.sanitize {
        // The instrumented tenders, checked by the suites on the
        // unikernels of a normal build.
        guest::build_unikernels(&root, Arch::host(), &Target::ALL, true)
            .map_err(|e| e.to_string())?;
        return sanitize::build(&root, s);
    }
    if o.host {
        host::build(&root, o.release)?;
    }
    if o.guests {
        // The experiment applications, for the host's architecture
        // (their C libraries are the host's Debian archives).
        if o.arch == Arch::host() && o.release {
            apps::build(&root)?;
        }
        let written =
            guest::build_unikernels_with(&root, o.arch, &o.tenders, o.release, o.hvt_float)
                .map_err(|e| e.to_string())?;
        eprintln!(
            "xtask: {} {} unikernels in {}",
            written.len(),
            o.arch.name(),
            guest::output_dir(&root, o.arch).display()
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("build") => build(args.get(1..).unwrap_or_default()),
        Some("demo") => demo::run(&root()),
        Some("test") => test::run(&root()),
        Some("bench") => bench::run(&root(), args.get(1..).unwrap_or_default()),
        Some("fuzz") => fuzz::run(&root(), args.get(1..).unwrap_or_default()),
        Some("coverage") => coverage::run_coverage(&root()),
        Some("install") => install::run(&root(), args.get(1..).unwrap_or_default()),
        Some("cross") => cross::run(&root(), args.get(1..).unwrap_or_default()),
        Some("test-guest") => guest::test_runtime(&root()).map_err(|e| e.to_string()),
        Some("help" | "--help" | "-h") | None => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Some(other) => Err(format!("unknown command '{other}'\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn build_defaults() {
        let o = parse_build(&[]).unwrap();
        assert!(o.release && o.host && o.guests);
        assert_eq!(o.tenders, Target::ALL.to_vec());
        assert_eq!(o.hvt_float, HvtFloat::Hard);
    }

    #[test]
    fn build_options() {
        let o = parse_build(&s(&[
            "--debug",
            "--guests-only",
            "--tender",
            "hvt",
            "--hvt-float",
            "soft",
        ]))
        .unwrap();
        assert!(!o.release && !o.host && o.guests);
        assert_eq!(o.tenders, vec![Target::Hvt]);
        assert_eq!(o.hvt_float, HvtFloat::Soft);
        assert!(parse_build(&s(&["--tender"])).is_err());
        assert!(parse_build(&s(&["--tender", "virtio"])).is_err());
        assert!(parse_build(&s(&["--host-only", "--guests-only"])).is_err());
        assert!(parse_build(&s(&["--frobnicate"])).is_err());
    }
}
