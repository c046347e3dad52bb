//! `cargo xtask coverage`: the whole host test suite run once more with
//! every crate instrumented for coverage, and a per-crate report of the
//! lines it covered written to docs/coverage.md.
//!
//! The tenders confine themselves with seccomp, after which the profile
//! runtime could not write its file at exit; LLVM's continuous mode
//! (`%c` in LLVM_PROFILE_FILE, with runtime counter relocation) maps the
//! file before `main` and updates it in place, so confined tenders — and
//! guests' faults that kill them — still leave their counts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::toolchain::{self, run};
use crate::{apps, guest, host, test};

fn llvm_tool(name: &str) -> Result<PathBuf, String> {
    let sysroot = Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .map_err(|e| format!("rustc --print sysroot: {e}"))?;
    let sysroot = String::from_utf8_lossy(&sysroot.stdout).trim().to_owned();
    let triple = toolchain::host_triple();
    let p = Path::new(&sysroot)
        .join("lib/rustlib")
        .join(triple)
        .join("bin")
        .join(name);
    if p.is_file() {
        return Ok(p);
    }
    run(
        Command::new("rustup").args(["component", "add", "llvm-tools"]),
        "rustup component add llvm-tools",
    )?;
    p.is_file()
        .then_some(p.clone())
        .ok_or_else(|| format!("{} is missing after installing llvm-tools", p.display()))
}

const FLAGS: &str = "-Cinstrument-coverage\x1f-Cllvm-args=-runtime-counter-relocation";

pub fn run_coverage(root: &Path) -> Result<(), String> {
    let started = Instant::now();
    let profdata = llvm_tool("llvm-profdata")?;
    let llvm_cov = llvm_tool("llvm-cov")?;
    // What the suites use besides the instrumented builds: the shipped
    // binaries, the unikernels, the apps.
    test::ensure_tools()?;
    host::build(root, true)?;
    guest::build_unikernels(root, guest::Arch::host(), &guest::Target::ALL, true)
        .map_err(|e| e.to_string())?;
    apps::build(root)?;

    let target = root.join("target/coverage");
    let prof = target.join("prof");
    let _ = std::fs::remove_dir_all(&prof);
    std::fs::create_dir_all(&prof).map_err(|e| format!("{}: {e}", prof.display()))?;
    let cargo_test = |extra: &[&str]| {
        let mut cmd = Command::new(toolchain::cargo());
        cmd.current_dir(root)
            .args(["test", "--workspace", "--target-dir"])
            .arg(&target)
            .args(extra)
            .env("CARGO_ENCODED_RUSTFLAGS", FLAGS)
            .env_remove("RUSTFLAGS")
            .env("LLVM_PROFILE_FILE", prof.join("%c%m-%p.profraw"));
        cmd
    };
    // The suites' outcome is reported, not required: the coverage of what
    // ran is the point here (`cargo xtask test` is the gate).
    // Not the cases that run tenders under urunc's own filter: it traps the
    // profile runtime's start-up calls (it maps its file before main).
    let passed = cargo_test(&[
        "--no-fail-fast",
        "--",
        "--skip",
        "urunc_filter",
        "--skip",
        "the_filter_is_enforced",
    ])
    .status()
    .map_err(|e| format!("cargo test: {e}"))?
    .success();
    let objects = executables(&mut cargo_test(&["--no-run", "--message-format=json"]))?;

    let merged = target.join("merged.profdata");
    let mut merge = Command::new(&profdata);
    merge.args(["merge", "-sparse", "-o"]).arg(&merged);
    for f in std::fs::read_dir(&prof)
        .map_err(|e| e.to_string())?
        .flatten()
    {
        merge.arg(f.path());
    }
    run(&mut merge, "llvm-profdata merge")?;
    let mut export = Command::new(&llvm_cov);
    export
        .args([
            "export",
            "-summary-only",
            "--ignore-filename-regex=/.cargo/|/rustc/|/target/",
        ])
        .arg(format!("--instr-profile={}", merged.display()));
    let mut first = true;
    for o in &objects {
        if first {
            export.arg(o);
            first = false;
        } else {
            export.arg("--object").arg(o);
        }
    }
    let out = export.output().map_err(|e| format!("llvm-cov: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "llvm-cov export: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let json: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("llvm-cov export: {e}"))?;
    let per_crate = by_crate(root, &json);
    let report = markdown(&per_crate, passed, started.elapsed().as_secs());
    let path = root.join("docs/coverage.md");
    std::fs::write(&path, report).map_err(|e| format!("{}: {e}", path.display()))?;
    eprintln!("xtask: coverage report in {}", path.display());
    Ok(())
}

/// The test executables and binaries cargo built (JSON messages).
fn executables(cmd: &mut Command) -> Result<Vec<PathBuf>, String> {
    let out = cmd
        .output()
        .map_err(|e| format!("cargo test --no-run: {e}"))?;
    let mut v: Vec<PathBuf> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|m| m.get("executable")?.as_str().map(PathBuf::from))
        .collect();
    v.sort();
    v.dedup();
    Ok(v)
}

/// (lines, covered) per crate directory (`crates/elf`, `xtask`, ...).
fn by_crate(root: &Path, json: &serde_json::Value) -> BTreeMap<String, (u64, u64)> {
    let root = format!("{}/", root.display());
    let mut m: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let files = json
        .pointer("/data/0/files")
        .and_then(|f| f.as_array())
        .cloned()
        .unwrap_or_default();
    for f in files {
        let Some(name) = f.get("filename").and_then(|n| n.as_str()) else {
            continue;
        };
        let rel = name.strip_prefix(&root).unwrap_or(name);
        let parts: Vec<&str> = rel.split('/').collect();
        let krate = match parts.as_slice() {
            ["crates" | "apps", c, ..] => format!("{}/{c}", parts[0]),
            [top, ..] => (*top).to_owned(),
            [] => continue,
        };
        let lines = f
            .pointer("/summary/lines/count")
            .and_then(|v| v.as_u64())
            .unwrap_or(0);
        let covered = f
            .pointer("/summary/lines/covered")
            .and_then(|v| v.as_u64())
            .unwrap_or(0);
        let e = m.entry(krate).or_default();
        e.0 += lines;
        e.1 += covered;
    }
    m
}

fn markdown(per_crate: &BTreeMap<String, (u64, u64)>, passed: bool, secs: u64) -> String {
    let pct = |(l, c): (u64, u64)| {
        if l == 0 {
            0.0
        } else {
            c as f64 * 100.0 / l as f64
        }
    };
    let total = per_crate
        .values()
        .fold((0, 0), |(l, c), &(l2, c2)| (l + l2, c + c2));
    let mut s = String::from(
        "# Line coverage of the host test suite\n\n\
         Written by `cargo xtask coverage` (every host crate instrumented with\n\
         `-Cinstrument-coverage`, LLVM continuous-mode profiles so that\n\
         confined tenders count too; `cargo test --workspace` once). Do not\n\
         edit by hand. Guest code (the unikernels) is not instrumented; the\n\
         cases that run a tender under urunc's seccomp filter are skipped (it\n\
         traps the profile runtime's start-up calls).\n\n",
    );
    s.push_str(&format!(
        "Run: {}, {secs} s; the suites {}.\n\n| crate | lines | covered | % |\n| --- | ---: | ---: | ---: |\n",
        today(),
        if passed { "all passed" } else { "had failures (see the run's output)" }
    ));
    for (k, &v) in per_crate {
        s.push_str(&format!("| {k} | {} | {} | {:.1} |\n", v.0, v.1, pct(v)));
    }
    s.push_str(&format!(
        "| **total** | {} | {} | **{:.1}** |\n",
        total.0,
        total.1,
        pct(total)
    ));
    s
}

/// Today's date (UTC), as `date` says it.
fn today() -> String {
    Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}
