//! `cargo xtask fuzz`: a bounded run of every cargo-fuzz target (fuzz/),
//! as CI does. fuzz/run.sh installs the nightly toolchain and cargo-fuzz
//! when missing; libFuzzer needs a C++ compiler.

use std::path::Path;
use std::process::Command;

use crate::deps::{self, Tool};

/// The fuzz targets (fuzz/fuzz_targets/*.rs).
pub const TARGETS: [&str; 3] = ["elf_parse", "manifest_note", "tender_cli"];

pub fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let mut seconds = 60u32;
    let mut targets: Vec<String> = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--seconds" => {
                seconds = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|&s| s > 0)
                    .ok_or("--seconds needs a positive number")?;
            }
            t if TARGETS.contains(&t) => targets.push(t.to_string()),
            other => {
                return Err(format!(
                    "unknown fuzz argument '{other}' (targets: {})",
                    TARGETS.join(", ")
                ))
            }
        }
    }
    if targets.is_empty() {
        targets = TARGETS.iter().map(|t| t.to_string()).collect();
    }
    deps::ensure_tools(&[Tool {
        command: "g++",
        package: "g++",
        why: "libFuzzer (cargo-fuzz) is C++",
    }])?;
    for t in &targets {
        eprintln!("xtask: fuzzing {t} for {seconds} s");
        let status = Command::new("sh")
            .arg(root.join("fuzz/run.sh"))
            .arg(t)
            .arg(seconds.to_string())
            .status()
            .map_err(|e| format!("could not run fuzz/run.sh: {e}"))?;
        if !status.success() {
            return Err(format!(
                "fuzzing {t} failed ({status}); see the output above (a crashing input, \
                 if one was found, is in fuzz/artifacts/{t}/)"
            ));
        }
    }
    Ok(())
}
