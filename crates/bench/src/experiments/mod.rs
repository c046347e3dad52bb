//! The experiments of docs/experiments.md: do real scientific
//! applications run faster as unikernels? Two applications, each one
//! source built natively and as spt and hvt unikernels, run side by side
//! with the programs a user would otherwise run:
//!
//! - [`atlas`]: `cblas_dgemm` from Debian's ATLAS archives, n = 256 ...
//!   2048, in GFLOP/s (higher is better), next to single-thread OpenBLAS
//!   and the machine's theoretical peak ([`peak`]);
//! - [`mothur`]: `dist.seqs` and `cluster` with mothur's semantics on real
//!   16S sequences, wall time in seconds (lower is better), next to the
//!   real mothur.
//!
//! Every candidate runs once per round, rounds interleaved with a rotating
//! order ([`measure_case`]); a candidate that fails is reported with its
//! message and dropped, never silently. Results: experiments.json,
//! experiments.md and one SVG per application under docs/benchmarks/.

pub mod atlas;
pub mod mothur;
pub mod peak;
pub mod plot;
pub mod report;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::inventory::{Inventory, Kind, Origin, Tender};
use crate::stats::{self, Ratio, Summary};

/// One sample: the measured value and what the run computed (a hash of
/// its results), so that runs can be checked against each other.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub value: f64,
    pub identity: String,
}

/// Something that can be run once per round.
pub trait Candidate {
    /// Label in tables and plots.
    fn label(&self) -> String;
    /// The command line, for the report.
    fn command(&self) -> String;
    fn sample(&mut self) -> Result<Sample, String>;
}

/// All samples of one candidate in one case.
#[derive(Debug, Clone)]
pub struct Series {
    pub label: String,
    pub command: String,
    pub values: Vec<f64>,
    /// Distinct identities seen (one, when every run computed the same).
    pub identities: BTreeSet<String>,
    /// Why it stopped being measured, if it failed.
    pub error: Option<String>,
}

impl Series {
    pub fn summary(&self) -> Summary {
        Summary::of(&self.values)
    }
}

/// One measured case (e.g. "dgemm n=1024").
#[derive(Debug, Clone)]
pub struct Case {
    pub name: String,
    pub unit: &'static str,
    pub higher_is_better: bool,
    pub series: Vec<Series>,
    /// The identity every candidate must reproduce; None: the baseline's.
    pub reference: Option<String>,
}

impl Case {
    pub fn find(&self, label: &str) -> Option<&Series> {
        self.series
            .iter()
            .find(|s| s.label == label && !s.values.is_empty())
    }

    /// Ratio of medians `num / den` with its bootstrap interval (rounds
    /// paired), or None when either is missing.
    pub fn ratio(&self, num: &str, den: &str) -> Option<Ratio> {
        let (a, b) = (self.find(num)?, self.find(den)?);
        Some(stats::ratio(&a.values, &b.values, 2000))
    }
}

/// Runs every candidate once per round for `rounds` rounds, rotating the
/// order, and collects the series. A failure ends that candidate's series
/// (its message kept); the others go on.
pub fn measure_case(
    name: &str,
    unit: &'static str,
    higher_is_better: bool,
    candidates: &mut [Box<dyn Candidate + '_>],
    rounds: usize,
) -> Case {
    let mut series: Vec<Series> = candidates
        .iter()
        .map(|c| Series {
            label: c.label(),
            command: c.command(),
            values: Vec::new(),
            identities: BTreeSet::new(),
            error: None,
        })
        .collect();
    let n = candidates.len();
    for round in 0..rounds {
        eprint!("\rcorten-bench: {name}: round {}/{rounds} ", round + 1);
        for k in 0..n {
            let i = (k + round) % n;
            let (Some(c), Some(s)) = (candidates.get_mut(i), series.get_mut(i)) else {
                continue;
            };
            if s.error.is_some() {
                continue;
            }
            match c.sample() {
                Ok(sample) => {
                    s.values.push(sample.value);
                    s.identities.insert(sample.identity);
                }
                Err(e) => {
                    eprintln!("\ncorten-bench: {name}: {} cannot run it: {e}", s.label);
                    s.error = Some(e);
                }
            }
        }
    }
    eprintln!();
    Case {
        name: name.to_owned(),
        unit,
        higher_is_better,
        series,
        reference: None,
    }
}

/// A tender to run application unikernels on, with the options it gets.
#[derive(Debug, Clone)]
pub struct TenderRun {
    pub label: String,
    pub program: PathBuf,
    pub kind: Kind,
    pub options: Vec<String>,
    pub env: Vec<(String, String)>,
}

/// The tenders of the inventory (variants left out), Corten's twice:
/// as shipped and with `--x-hugepages`.
pub fn tenders(inv: &Inventory) -> Vec<TenderRun> {
    let mut out = Vec::new();
    let plain = |t: &Tender| TenderRun {
        label: match t.origin {
            Origin::Corten => format!("corten-{}", t.kind.ext()),
            Origin::Upstream => format!("upstream solo5-{}", t.kind.ext()),
        },
        program: t.program.clone(),
        kind: t.kind,
        options: Vec::new(),
        env: t.env.clone(),
    };
    for kind in [Kind::Spt, Kind::Hvt] {
        for t in inv.tenders(kind).into_iter().filter(|t| !t.variant) {
            let base = plain(t);
            if t.origin == Origin::Corten {
                let mut huge = base.clone();
                huge.label.push_str(" +hugepages");
                huge.options.push("--x-hugepages".to_owned());
                out.push(base);
                out.push(huge);
            } else {
                out.push(base);
            }
        }
    }
    out
}

/// Where the experiment artifacts are.
pub struct Artifacts {
    /// target/apps (native builds).
    pub native: PathBuf,
    /// target/unikernels.
    pub unikernels: PathBuf,
}

impl Artifacts {
    pub fn new(root: &Path) -> Artifacts {
        Artifacts {
            native: root.join("target/apps"),
            unikernels: root.join("target/unikernels"),
        }
    }
}

/// The last `n` non-empty lines of a failed run's output, on one line (for
/// a table cell).
pub fn output_tail(text: &str, n: usize) -> String {
    let kept: String = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    crate::measure::last_lines(&kept, n).replace('\n', " / ")
}

/// The value of `key=` in a line of `text` that starts with `prefix`.
pub fn field<'a>(text: &'a str, prefix: &str, key: &str) -> Option<&'a str> {
    text.lines()
        .filter(|l| l.starts_with(prefix))
        .flat_map(|l| l.split_whitespace())
        .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
}

/// What `run` needs from the caller.
pub struct Settings<'a> {
    pub root: &'a Path,
    pub out: &'a Path,
    pub quick: bool,
    pub command: &'a str,
    pub commit: Option<String>,
}

/// Measures both applications and writes experiments.json,
/// experiments.md, atlas.svg and mothur.svg into `s.out`.
pub fn run(s: &Settings<'_>, inv: &Inventory) -> Result<(), String> {
    let started = std::time::Instant::now();
    let machine = crate::machine::Machine::probe();
    let peak = peak::from_cpuinfo(
        &std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default(),
        peak::measured_mhz(),
    );
    let rounds = if s.quick { 3 } else { 10 };
    let art = Artifacts::new(s.root);
    let tenders = tenders(inv);
    let scratch = std::env::temp_dir().join(format!("corten-experiments-{}", std::process::id()));

    let atlas_sizes: &[usize] = if s.quick {
        &atlas::QUICK_SIZES
    } else {
        &atlas::SIZES
    };
    let atlas = report::App {
        name: "ATLAS dgemm",
        baseline: atlas::NATIVE,
        cases: atlas::measure(&art, &tenders, atlas_sizes, rounds),
        families: vec![("OpenBLAS", atlas::OPENBLAS)],
        error: None,
        notes: vec![
            "GFLOP/s of `cblas_dgemm` (C = A·B, row-major, seeded inputs in [-1, 1)), the \
             fastest of several calls inside each run (50 at n=256 down to 2 at n=2048); the ATLAS builds link the same Debian archives \
             (libcblas.a + libatlas.a) and must compute the same bits (\"same result\": the \
             FNV-1a hash of C equals the native build's). OpenBLAS sums in another order, so \
             its hash differs from ATLAS's; the OpenBLAS unikernels must reproduce native \
             OpenBLAS's hash."
                .to_owned(),
        ],
    };
    let mothur_sizes: &[usize] = if s.quick {
        &mothur::QUICK_SIZES
    } else {
        &mothur::SIZES
    };
    let (cases, error) = match mothur::measure(&art, &tenders, mothur_sizes, rounds, &scratch) {
        Ok(cases) => (cases, None),
        Err(e) => {
            eprintln!("corten-bench: the mothur experiment could not run: {e}");
            (Vec::new(), Some(e))
        }
    };
    let _ = std::fs::remove_dir_all(&scratch);
    let mothur = report::App {
        name: "mothur",
        baseline: mothur::NATIVE,
        cases,
        families: Vec::new(),
        error,
        notes: vec![
            "Wall time of one process run, from spawn to exit (unikernels: boot and all block \
             I/O included), of `dist.seqs(calc=onegap, countends=F, cutoff=0.03)` and of \
             `cluster(method=average, cutoff=0.10)` over mothur's own distances (cutoff 0.10), on the first \
             N sequences of Debian's rRNA16S.gold.NAST_ALIGNED.fasta. \"same result\": every \
             output file is byte-identical to what the real mothur wrote."
                .to_owned(),
        ],
    };
    let apps = vec![atlas, mothur];
    let e = report::Experiments {
        machine,
        peak,
        rounds,
        command: s.command.to_owned(),
        commit: s.commit.clone(),
        seconds: started.elapsed().as_secs_f64(),
        apps,
    };
    // Paths under the checkout and the scratch directory are noise in a
    // committed report.
    let rel = |text: String| {
        text.replace(&format!("{}/", s.root.display()), "")
            .replace(&scratch.display().to_string(), "$SCRATCH")
    };
    std::fs::create_dir_all(s.out).map_err(|e| format!("{}: {e}", s.out.display()))?;
    let write = |name: &str, text: String| {
        let p = s.out.join(name);
        std::fs::write(&p, rel(text)).map_err(|e| format!("{}: {e}", p.display()))
    };
    write("experiments.json", crate::results::pretty(&e.to_json()))?;
    write("experiments.md", e.markdown())?;
    let title = |what: &str| format!("{what} ({}, {})", e.machine.cpu_model, e.machine.date);
    if let Some(a) = e.apps.first() {
        let marker = e
            .peak
            .as_ref()
            .map(|p| (p.gflops, "theoretical peak of one core"));
        if let Some(svg) = plot::app(a, &title("ATLAS dgemm, GFLOP/s (higher is better)"), marker) {
            write("atlas.svg", svg)?;
        }
    }
    if let Some(m) = e.apps.get(1) {
        if let Some(svg) = plot::app(
            m,
            &title("mothur app, wall time in s (lower is better)"),
            None,
        ) {
            write("mothur.svg", svg)?;
        }
    }
    eprintln!(
        "corten-bench: wrote {}/experiments.{{json,md}}, atlas.svg, mothur.svg in {:.0} s",
        s.out.display(),
        e.seconds
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fake {
        label: &'static str,
        left: usize,
        value: f64,
    }

    impl Candidate for Fake {
        fn label(&self) -> String {
            self.label.to_owned()
        }
        fn command(&self) -> String {
            format!("fake {}", self.label)
        }
        fn sample(&mut self) -> Result<Sample, String> {
            if self.left == 0 {
                return Err("broke".to_owned());
            }
            self.left -= 1;
            Ok(Sample {
                value: self.value,
                identity: "h".to_owned(),
            })
        }
    }

    #[test]
    fn failures_are_kept_and_others_go_on() {
        let mut c: Vec<Box<dyn Candidate>> = vec![
            Box::new(Fake {
                label: "a",
                left: 100,
                value: 2.0,
            }),
            Box::new(Fake {
                label: "b",
                left: 2,
                value: 1.0,
            }),
        ];
        let case = measure_case("t", "s", false, &mut c, 5);
        assert_eq!(case.series[0].values.len(), 5);
        assert_eq!(case.series[1].values.len(), 2);
        assert_eq!(case.series[1].error.as_deref(), Some("broke"));
        assert!(case.find("b").is_some());
        let r = case.ratio("a", "b").unwrap();
        assert!((r.value - 2.0).abs() < 1e-9);
    }

    #[test]
    fn output_tails_skip_blank_lines() {
        assert_eq!(output_tail("a\n\nb\nc\n\n", 2), "b / c");
        assert_eq!(output_tail("", 3), "");
    }

    #[test]
    fn fields_are_found() {
        let t = "Solo5: x\ndgemm n=4 gflops=1.5 hash=0xab\n";
        assert_eq!(field(t, "dgemm ", "gflops"), Some("1.5"));
        assert_eq!(field(t, "dgemm ", "hash"), Some("0xab"));
        assert_eq!(field(t, "dgemm ", "nope"), None);
        assert_eq!(field(t, "check ", "hash"), None);
    }
}
