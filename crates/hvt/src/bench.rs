//! Side-by-side measurements of hvt tenders: boot time (process start to
//! exit), cost of one hypercall, and VM exits per boot. Runs are
//! interleaved (tender A, B, C, A, B, C, ...) so that noise on a shared
//! machine hits every tender alike; compare ratios from one run, not
//! absolute numbers across runs.
//!
//! Used by `examples/bench.rs` (`cargo run --release -p corten-hvt
//! --example bench -- --help`) and meant to back `cargo xtask bench`.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("could not start {program}: {source}")]
    Spawn {
        program: PathBuf,
        source: std::io::Error,
    },
    #[error("{tender} on {workload} exited with {status} (expected {expected}):\n{stderr}")]
    Status {
        tender: String,
        workload: String,
        status: String,
        expected: i32,
        stderr: String,
    },
    #[error("benchmark file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// A tender to measure.
#[derive(Debug, Clone)]
pub struct Tender {
    pub label: String,
    pub program: PathBuf,
    pub env: Vec<(String, String)>,
}

impl Tender {
    pub fn new(label: &str, program: impl Into<PathBuf>) -> Tender {
        Tender {
            label: label.to_owned(),
            program: program.into(),
            env: Vec::new(),
        }
    }

    /// The same tender with an extra environment variable.
    pub fn with_env(mut self, key: &str, value: &str) -> Tender {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    fn command(&self, workload: &Workload) -> Command {
        let mut c = Command::new(&self.program);
        c.arg(format!("--mem={}", workload.mem_mib))
            .arg(&workload.kernel)
            .args(&workload.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        c
    }
}

/// A unikernel run: `TENDER --mem=M KERNEL ARGS...`, expected to exit with
/// `expect_status`.
#[derive(Debug, Clone)]
pub struct Workload {
    pub label: String,
    pub kernel: PathBuf,
    pub args: Vec<OsString>,
    pub mem_mib: u64,
    pub expect_status: i32,
}

impl Workload {
    pub fn new(label: &str, kernel: impl Into<PathBuf>) -> Workload {
        Workload {
            label: label.to_owned(),
            kernel: kernel.into(),
            args: Vec::new(),
            mem_mib: 512,
            expect_status: 0,
        }
    }

    pub fn arg(mut self, a: &str) -> Workload {
        self.args.push(a.into());
        self
    }
}

/// Wall-clock samples in milliseconds.
#[derive(Debug, Clone, Default)]
pub struct Samples(pub Vec<f64>);

impl Samples {
    fn sorted(&self) -> Vec<f64> {
        let mut v = self.0.clone();
        v.sort_by(f64::total_cmp);
        v
    }
    fn quantile(&self, q: f64) -> f64 {
        let v = self.sorted();
        if v.is_empty() {
            return f64::NAN;
        }
        let i = ((v.len() - 1) as f64 * q).round() as usize;
        v.get(i).copied().unwrap_or(f64::NAN)
    }
    pub fn median(&self) -> f64 {
        self.quantile(0.5)
    }
    pub fn min(&self) -> f64 {
        self.quantile(0.0)
    }
    pub fn p90(&self) -> f64 {
        self.quantile(0.9)
    }
}

/// Runs `workload` `runs` times on each tender, interleaved; returns the
/// samples per tender, in the order of `tenders`.
pub fn time_runs(
    tenders: &[Tender],
    workload: &Workload,
    runs: usize,
) -> Result<Vec<Samples>, BenchError> {
    let mut out = vec![Samples::default(); tenders.len()];
    for _ in 0..runs {
        for (t, samples) in tenders.iter().zip(out.iter_mut()) {
            let start = Instant::now();
            let child = t
                .command(workload)
                .spawn()
                .map_err(|source| BenchError::Spawn {
                    program: t.program.clone(),
                    source,
                })?;
            let result = child
                .wait_with_output()
                .map_err(|source| BenchError::Spawn {
                    program: t.program.clone(),
                    source,
                })?;
            samples.0.push(start.elapsed().as_secs_f64() * 1e3);
            if result.status.code() != Some(workload.expect_status) {
                return Err(BenchError::Status {
                    tender: t.label.clone(),
                    workload: workload.label.clone(),
                    status: format!("{:?}", result.status),
                    expected: workload.expect_status,
                    stderr: String::from_utf8_lossy(&result.stderr).into_owned(),
                });
            }
        }
    }
    Ok(out)
}

/// Unikernels for the hypercall benchmark: boot like a Solo5 guest, then
/// make `n` WALLTIME hypercalls (the cheapest: clock_gettime in the vDSO)
/// in a loop, then halt with status 0.
#[cfg(target_arch = "x86_64")]
fn hypercall_loop(dir: &Path, n: u32) -> Result<PathBuf, BenchError> {
    use crate::testkit::{booted, build, Code, Devices, SCRATCH};
    let mut body = Code::new().raw(&[0xb9]).raw(&n.to_le_bytes()); // mov ecx, n
    if n > 0 {
        let call = Code::new().hypercall(1, SCRATCH + 0x100).0;
        body = body.raw(&call).raw(&[0xff, 0xc9]); // dec ecx
        let back = -(call.len() as i32 + 2 + 6); // jnz rel32 back to the call
        body = body.raw(&[0x0f, 0x85]).raw(&back.to_le_bytes());
    }
    let code = booted(body).halt(0, 0);
    build(dir, &format!("hypercalls-{n}"), &code, Devices::None).map_err(|source| BenchError::Io {
        path: dir.to_owned(),
        source,
    })
}

/// Cost of one hypercall per tender, in microseconds: the median run time
/// of a guest making `iterations` hypercalls minus that of one making
/// none, divided by `iterations`. The loop around each hypercall is three
/// instructions, so a tender that executes guest code slowly pays for
/// that too, as a real guest would.
#[cfg(target_arch = "x86_64")]
pub fn hypercall_cost(
    tenders: &[Tender],
    dir: &Path,
    iterations: u32,
    runs: usize,
) -> Result<Vec<f64>, BenchError> {
    let none = Workload::new("0 hypercalls", hypercall_loop(dir, 0)?);
    let many = Workload::new("N hypercalls", hypercall_loop(dir, iterations)?);
    let base = time_runs(tenders, &none, runs)?;
    let with = time_runs(tenders, &many, runs)?;
    Ok(base
        .iter()
        .zip(with.iter())
        .map(|(b, w)| (w.median() - b.median()) * 1e3 / f64::from(iterations))
        .collect())
}

/// VM exits to user space during one run, counted with the
/// `kvm:kvm_userspace_exit` tracepoint (needs root and tracefs); `None` if
/// tracing is unavailable.
pub fn exits(tender: &Tender, workload: &Workload) -> Option<u64> {
    let tracing = Path::new("/sys/kernel/tracing");
    let enable = tracing.join("events/kvm/kvm_userspace_exit/enable");
    let pid_filter = tracing.join("set_event_pid");
    std::fs::write(tracing.join("trace"), b"").ok()?;
    let mut cmd = tender.command(workload);
    cmd.stderr(Stdio::null());
    let child = cmd.spawn().ok()?;
    // The child is already running; exits before the filter is set are
    // few (none: the VM is not created that early) and counted anyway
    // because the event is enabled only after the filter.
    let _ = std::fs::write(&pid_filter, child.id().to_string());
    let _ = std::fs::write(&enable, b"1");
    let _ = child.wait_with_output();
    let _ = std::fs::write(&enable, b"0");
    let _ = std::fs::write(&pid_filter, b"");
    let trace = std::fs::read_to_string(tracing.join("trace")).ok()?;
    Some(
        trace
            .lines()
            .filter(|l| l.contains("kvm_userspace_exit"))
            .count() as u64,
    )
}

/// Everything one benchmark run measured.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub tenders: Vec<String>,
    /// (workload label, samples per tender)
    pub boot: Vec<(String, Vec<Samples>)>,
    /// Microseconds per hypercall, per tender (empty if not measured).
    pub hypercall_us: Vec<f64>,
    /// VM exits of the first workload, per tender.
    pub exits: Vec<Option<u64>>,
}

impl Report {
    /// A Markdown summary; ratios are against the first tender.
    pub fn markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "| workload | tender | median ms | min ms | p90 ms | vs first |"
        );
        let _ = writeln!(s, "| --- | --- | ---: | ---: | ---: | ---: |");
        for (w, per) in &self.boot {
            let first = per.first().map_or(f64::NAN, Samples::median);
            for (t, smp) in self.tenders.iter().zip(per) {
                let _ = writeln!(
                    s,
                    "| {w} | {t} | {:.2} | {:.2} | {:.2} | {:.0} % |",
                    smp.median(),
                    smp.min(),
                    smp.p90(),
                    100.0 * smp.median() / first
                );
            }
        }
        if !self.hypercall_us.is_empty() || !self.exits.is_empty() {
            let _ = writeln!(
                s,
                "\n| tender | µs per hypercall | VM exits (first workload) |"
            );
            let _ = writeln!(s, "| --- | ---: | ---: |");
            for (i, t) in self.tenders.iter().enumerate() {
                let hc = self
                    .hypercall_us
                    .get(i)
                    .map_or("-".to_owned(), |v| format!("{v:.1}"));
                let ex = self
                    .exits
                    .get(i)
                    .copied()
                    .flatten()
                    .map_or("-".to_owned(), |v| v.to_string());
                let _ = writeln!(s, "| {t} | {hc} | {ex} |");
            }
        }
        s
    }

    /// The same as JSON (no dependencies: the structure is flat).
    pub fn json(&self) -> String {
        let q = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
        let num = |v: f64| {
            if v.is_finite() {
                format!("{v:.4}")
            } else {
                "null".to_owned()
            }
        };
        let mut s = String::from("{\"tenders\":[");
        s.push_str(
            &self
                .tenders
                .iter()
                .map(|t| q(t))
                .collect::<Vec<_>>()
                .join(","),
        );
        s.push_str("],\"boot\":[");
        let boots: Vec<String> = self
            .boot
            .iter()
            .map(|(w, per)| {
                let rows: Vec<String> = per
                    .iter()
                    .map(|smp| {
                        format!(
                            "{{\"median_ms\":{},\"min_ms\":{},\"p90_ms\":{},\"samples_ms\":[{}]}}",
                            num(smp.median()),
                            num(smp.min()),
                            num(smp.p90()),
                            smp.0.iter().map(|v| num(*v)).collect::<Vec<_>>().join(",")
                        )
                    })
                    .collect();
                format!(
                    "{{\"workload\":{},\"per_tender\":[{}]}}",
                    q(w),
                    rows.join(",")
                )
            })
            .collect();
        s.push_str(&boots.join(","));
        s.push_str("],\"hypercall_us\":[");
        s.push_str(
            &self
                .hypercall_us
                .iter()
                .map(|v| num(*v))
                .collect::<Vec<_>>()
                .join(","),
        );
        s.push_str("],\"exits\":[");
        s.push_str(
            &self
                .exits
                .iter()
                .map(|e| e.map_or("null".to_owned(), |v| v.to_string()))
                .collect::<Vec<_>>()
                .join(","),
        );
        s.push_str("]}");
        s
    }
}

/// What [`run`] measures.
#[derive(Debug, Clone)]
pub struct Config {
    pub tenders: Vec<Tender>,
    pub workloads: Vec<Workload>,
    pub runs: usize,
    /// Hypercalls per run in the hypercall benchmark (0: skip it).
    pub hypercalls: u32,
    /// Where generated unikernels go.
    pub scratch: PathBuf,
}

/// Runs every measurement of `cfg`.
pub fn run(cfg: &Config) -> Result<Report, BenchError> {
    let mut report = Report {
        tenders: cfg.tenders.iter().map(|t| t.label.clone()).collect(),
        ..Report::default()
    };
    for w in &cfg.workloads {
        report
            .boot
            .push((w.label.clone(), time_runs(&cfg.tenders, w, cfg.runs)?));
    }
    #[cfg(target_arch = "x86_64")]
    if cfg.hypercalls > 0 {
        report.hypercall_us = hypercall_cost(&cfg.tenders, &cfg.scratch, cfg.hypercalls, cfg.runs)?;
    }
    if let Some(w) = cfg.workloads.first() {
        report.exits = cfg.tenders.iter().map(|t| exits(t, w)).collect();
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles() {
        let s = Samples(vec![5.0, 1.0, 3.0, 2.0, 4.0]);
        assert_eq!(s.median(), 3.0);
        assert_eq!(s.min(), 1.0);
        assert_eq!(s.p90(), 5.0);
        assert!(Samples::default().median().is_nan());
    }

    #[test]
    fn report_renders() {
        let r = Report {
            tenders: vec!["a".into(), "b".into()],
            boot: vec![(
                "hello".into(),
                vec![Samples(vec![10.0]), Samples(vec![4.0])],
            )],
            hypercall_us: vec![30.0, 12.5],
            exits: vec![Some(17), None],
        };
        let md = r.markdown();
        assert!(
            md.contains("| hello | b | 4.00 | 4.00 | 4.00 | 40 % |"),
            "{md}"
        );
        assert!(md.contains("| b | 12.5 | - |"), "{md}");
        let js = r.json();
        assert!(js.starts_with("{\"tenders\":[\"a\",\"b\"]"), "{js}");
        assert!(js.contains("\"exits\":[17,null]"), "{js}");
    }
}
