//! corten-bench: Corten's benchmarks, side by side with upstream Solo5.
//! Run it through `cargo xtask bench [--quick]`, which builds the tenders
//! and unikernels first; see docs/benchmarks/README.md for the results
//! and the method.
//!
//! ```text
//! corten-bench [--quick] [--root DIR] [--out DIR] [--only spt|hvt]...
//!              [--workload LABEL=KERNEL[:ARG]]...
//! ```

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod affinity;
mod baseline;
mod containers;
mod exits;
mod experiments;
mod inventory;
mod machine;
mod measure;
mod net;
mod report;
mod results;
mod stats;
mod suites;
mod svg;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use inventory::{Inventory, Kind, Skip};
use results::Results;
use suites::{Operation, Settings, Workload};

const USAGE: &str = "\
usage: corten-bench [--quick] [--root DIR] [--out DIR] [--only spt|hvt]...
                    [--workload LABEL=KERNEL[:ARG]]...
                    [--experiments-only | --no-experiments]

  --quick        fewer rounds (about a minute), for smoke tests
  --root DIR     the Corten repository (default: the current directory);
                 tenders from DIR/target/release, unikernels from
                 DIR/target/unikernels
  --out DIR      where results.json, README.md and ratios.svg go
                 (default: DIR/docs/benchmarks)
  --only KIND    measure only spt or only hvt (repeatable)
  --workload LABEL=KERNEL[:ARG]
                 also time the start-up / boot of KERNEL (.spt or .hvt) on
                 every tender of its kind, next to hello (repeatable)
  --experiments-only
                 only the experiments (ATLAS dgemm, mothur app; see
                 docs/experiments.md), written to experiments.{json,md},
                 atlas.svg and mothur.svg
  --no-experiments
                 only the tender benchmarks

environment:
  SOLO5_UPSTREAM_BIN    directory holding upstream solo5-spt / solo5-hvt
                        (else they are looked up on PATH)
  SOLO5_UPSTREAM_TESTS  upstream's tests directory (test_NAME/test_NAME.*)
";

#[derive(Debug, thiserror::Error)]
enum MainError {
    #[error("{0}\n\n{USAGE}")]
    Usage(String),
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("nothing could be measured (see the SKIP lines above)")]
    NothingMeasured,
    #[error("experiments: {0}")]
    Experiments(String),
}

#[derive(Debug, PartialEq)]
struct Options {
    quick: bool,
    root: PathBuf,
    out: Option<PathBuf>,
    kinds: Vec<Kind>,
    workloads: Vec<(Kind, Workload)>,
    /// Run the tender benchmarks / the experiments.
    tenders: bool,
    experiments: bool,
}

fn parse(args: &[String]) -> Result<Options, MainError> {
    let mut o = Options {
        quick: false,
        root: PathBuf::from("."),
        out: None,
        kinds: Vec::new(),
        workloads: Vec::new(),
        tenders: true,
        experiments: true,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| MainError::Usage(format!("{name} needs a value")))
        };
        match a.as_str() {
            "--quick" => o.quick = true,
            "--experiments-only" => o.tenders = false,
            "--no-experiments" => o.experiments = false,
            "--root" => o.root = value("--root")?.into(),
            "--out" => o.out = Some(value("--out")?.into()),
            "--only" => match value("--only")?.as_str() {
                "spt" => o.kinds.push(Kind::Spt),
                "hvt" => o.kinds.push(Kind::Hvt),
                other => {
                    return Err(MainError::Usage(format!(
                        "unknown --only '{other}', expected spt or hvt"
                    )))
                }
            },
            "--workload" => o
                .workloads
                .push(Workload::parse(&value("--workload")?).map_err(MainError::Usage)?),
            other => return Err(MainError::Usage(format!("unknown option '{other}'"))),
        }
    }
    if !o.tenders && !o.experiments {
        return Err(MainError::Usage(
            "--experiments-only and --no-experiments exclude each other".to_owned(),
        ));
    }
    if o.kinds.is_empty() {
        o.kinds = vec![Kind::Spt, Kind::Hvt];
    }
    Ok(o)
}

fn git_describe(root: &Path) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["describe", "--always", "--dirty"])
        .output()
        .ok()?;
    let s = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    (out.status.success() && !s.is_empty()).then_some(s)
}

fn write(path: &Path, text: &str) -> Result<(), MainError> {
    std::fs::write(path, text).map_err(|source| MainError::Write {
        path: path.to_owned(),
        source,
    })
}

fn run(o: &Options) -> Result<(), MainError> {
    let out = o
        .out
        .clone()
        .unwrap_or_else(|| o.root.join("docs/benchmarks"));
    let mut command = String::from("cargo xtask bench");
    if o.quick {
        command.push_str(" --quick");
    }
    if !o.tenders {
        command.push_str(" --experiments-only");
    }
    let command = command.as_str();
    if o.tenders {
        run_tenders(o, &out, command)?;
    }
    if o.experiments {
        // Discovery prints what it skips (upstream tenders missing, ...).
        let inv = Inventory::discover(&o.root, &mut Vec::new());
        experiments::run(
            &experiments::Settings {
                root: &o.root,
                out: &out,
                quick: o.quick,
                command,
                commit: git_describe(&o.root),
            },
            &inv,
        )
        .map_err(MainError::Experiments)?;
    }
    Ok(())
}

fn run_tenders(o: &Options, out: &Path, command: &str) -> Result<(), MainError> {
    let started = Instant::now();
    let machine = machine::Machine::probe();
    eprintln!(
        "corten-bench: {} ({} CPUs), KVM {}, load {:?}",
        machine.cpu_model,
        machine.logical_cpus,
        machine.kvm_backend(),
        machine.load_at_start.unwrap_or_default()
    );
    let settings = Settings::new(o.quick);
    let mut skips: Vec<Skip> = Vec::new();
    let inv = Inventory::discover(&o.root, &mut skips);
    let mut metrics = Vec::new();
    let mut absolute = Vec::new();
    let mut exits = Vec::new();

    let extra = |kind: Kind| -> Vec<Workload> {
        o.workloads
            .iter()
            .filter(|(k, _)| *k == kind)
            .map(|(_, w)| w.clone())
            .collect()
    };
    let scratch = std::env::temp_dir().join(format!("corten-bench-{}", std::process::id()));
    if o.kinds.contains(&Kind::Spt) {
        let c_hello = std::fs::create_dir_all(&scratch)
            .map_err(|e| e.to_string())
            .and_then(|()| baseline::build_c_hello(&scratch).map_err(|e| e.to_string()));
        let c_hello = match c_hello {
            Ok(p) => Some(p),
            Err(e) => {
                skips.push(Skip::new("static C hello baseline", e));
                None
            }
        };
        metrics.extend(suites::spt_startup(
            &inv,
            c_hello.as_deref(),
            &extra(Kind::Spt),
            &settings,
            &mut skips,
        ));
        for op in [Operation::Hypercall, Operation::Yield] {
            metrics.extend(suites::per_operation(
                &inv,
                Kind::Spt,
                op,
                &settings,
                &mut skips,
                &mut absolute,
            ));
        }
        metrics.extend(suites::ping(&inv, Kind::Spt, &settings, &mut skips));
    }
    if o.kinds.contains(&Kind::Hvt) && inv.kvm_unusable.is_none() {
        metrics.extend(suites::hvt_boot(
            &inv,
            &extra(Kind::Hvt),
            &settings,
            &mut skips,
            &mut absolute,
        ));
        for op in [Operation::Hypercall, Operation::Yield] {
            metrics.extend(suites::per_operation(
                &inv,
                Kind::Hvt,
                op,
                &settings,
                &mut skips,
                &mut absolute,
            ));
        }
        suites::hvt_yield_goals(&metrics, &mut absolute);
        metrics.extend(suites::ping(&inv, Kind::Hvt, &settings, &mut skips));
        exits = suites::vm_exits(&inv, &settings, &mut skips);
    }
    if o.kinds.contains(&Kind::Spt) {
        metrics.extend(containers::ctr_start(&o.root, o.quick, &mut skips));
        containers::cri_scale(&o.root, &mut skips, &mut absolute);
    }
    let _ = std::fs::remove_dir_all(&scratch);
    if metrics.is_empty() && exits.is_empty() {
        return Err(MainError::NothingMeasured);
    }

    let results = Results {
        root: o.root.clone(),
        machine,
        load_at_end: machine::load_average(),
        quick: o.quick,
        commit: git_describe(&o.root),
        tenders: inv.tenders.clone(),
        metrics,
        exits,
        absolute_goals: absolute,
        skips,
        seconds: started.elapsed().as_secs_f64(),
    };
    std::fs::create_dir_all(out).map_err(|source| MainError::Write {
        path: out.to_owned(),
        source,
    })?;
    write(
        &out.join("results.json"),
        &results::pretty(&results.to_json()),
    )?;
    write(&out.join("README.md"), &report::markdown(&results, command))?;
    if let Some(svg) = svg::ratios(&results) {
        write(&out.join("ratios.svg"), &svg)?;
    }
    print_summary(&results);
    eprintln!(
        "corten-bench: wrote {}/{{results.json,README.md,ratios.svg}} in {:.0} s",
        out.display(),
        results.seconds
    );
    Ok(())
}

/// The ratios on stdout, for whoever ran the command.
fn print_summary(r: &Results) {
    println!("ratios of medians measured side by side [95 % CI]:");
    for m in &r.metrics {
        for c in &m.comparisons {
            let goal = match (c.met(), &c.goal) {
                (Some(met), Some(g)) => format!(
                    "  goal <= {}: {}",
                    g.max_ratio,
                    if met { "met" } else { "NOT met" }
                ),
                _ => String::new(),
            };
            println!(
                "  {}: {} / {} = {:.3} [{:.3}-{:.3}]{goal}",
                m.id, c.numerator, c.denominator, c.ratio.value, c.ratio.low, c.ratio.high
            );
        }
    }
    for g in &r.absolute_goals {
        println!(
            "  {}: {:.0} {} ({})",
            g.text,
            g.measured,
            g.unit,
            if g.measured <= g.max {
                "met"
            } else {
                "NOT met"
            }
        );
    }
    for e in &r.exits {
        println!(
            "  VM exits {} · {}: {:?}",
            e.tender, e.unikernel, e.userspace_exits
        );
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        print!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let parsed = parse(&args).map(|mut o| {
        // Absolute, so that paths under it can be shown relative to it.
        o.root = std::fs::canonicalize(&o.root).unwrap_or(o.root);
        o
    });
    match parsed.and_then(|o| run(&o)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("corten-bench: {e}");
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
    fn options() {
        let o = parse(&[]).unwrap();
        assert!(!o.quick);
        assert_eq!(o.kinds, vec![Kind::Spt, Kind::Hvt]);
        let o = parse(&s(&[
            "--quick", "--root", "/r", "--only", "hvt", "--out", "/o",
        ]))
        .unwrap();
        assert!(o.quick);
        assert_eq!(o.root, PathBuf::from("/r"));
        assert_eq!(o.out, Some(PathBuf::from("/o")));
        assert_eq!(o.kinds, vec![Kind::Hvt]);
        assert!(parse(&s(&["--only", "xen"])).is_err());
        assert!(parse(&s(&["--root"])).is_err());
        assert!(parse(&s(&["--fast"])).is_err());
        let o = parse(&s(&[
            "--workload",
            "big=/k/big.hvt:x",
            "--workload",
            "s=/k/s.spt",
        ]))
        .unwrap();
        assert_eq!(o.workloads.len(), 2);
        assert_eq!(o.workloads[0].0, Kind::Hvt);
        assert_eq!(o.workloads[1].0, Kind::Spt);
        assert!(parse(&s(&["--workload", "bad"])).is_err());
    }
}
