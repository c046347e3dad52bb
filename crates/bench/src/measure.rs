//! The one measuring loop: every candidate ("probe") gives one sample per
//! call, and the loop interleaves them round by round, rotating which
//! goes first, so drift and bursts of load on a shared machine hit all of
//! them alike. Ratios are then taken between series of the same rounds.

use std::ffi::OsString;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

/// Why a candidate could not be measured.
#[derive(Debug, thiserror::Error)]
pub enum MeasureError {
    #[error("could not start {program}: {source}; is it built (cargo xtask build)?")]
    Spawn {
        program: PathBuf,
        source: std::io::Error,
    },
    #[error("`{command}` exited with {status}, expected status {expected}; its output:\n{output}")]
    Status {
        command: String,
        status: String,
        expected: i32,
        output: String,
    },
    #[error("{what}: {reason}")]
    Failed { what: String, reason: String },
}

/// One process run: program, arguments, extra environment, and the exit
/// status that means it worked.
#[derive(Clone, Debug)]
pub struct Run {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    pub env: Vec<(String, String)>,
    pub expect_status: i32,
}

impl Run {
    pub fn new(program: impl Into<PathBuf>) -> Run {
        Run {
            program: program.into(),
            args: Vec::new(),
            env: Vec::new(),
            expect_status: 0,
        }
    }

    pub fn arg(mut self, a: impl Into<OsString>) -> Run {
        self.args.push(a.into());
        self
    }

    pub fn envs(mut self, env: &[(String, String)]) -> Run {
        self.env.extend_from_slice(env);
        self
    }

    /// The command line, for messages and the report.
    pub fn display(&self) -> String {
        let mut s = self.program.display().to_string();
        for a in &self.args {
            s.push(' ');
            s.push_str(&a.to_string_lossy());
        }
        s
    }

    pub fn command(&self) -> Command {
        let mut c = Command::new(&self.program);
        c.args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null());
        c
    }

    /// Runs it once with all output discarded and returns the wall-clock
    /// time from spawn to reaped exit, in microseconds.
    pub fn time_us(&self) -> Result<f64, MeasureError> {
        let mut cmd = self.command();
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        let start = Instant::now();
        let status = cmd.status().map_err(|source| MeasureError::Spawn {
            program: self.program.clone(),
            source,
        })?;
        let us = start.elapsed().as_secs_f64() * 1e6;
        if status.code() == Some(self.expect_status) {
            Ok(us)
        } else {
            Err(self.failure(&status.to_string()))
        }
    }

    /// The error for a run that ended with `status`: runs it once more
    /// with its output captured so the message shows what went wrong.
    pub fn failure(&self, status: &str) -> MeasureError {
        let output = match self.command().output() {
            Ok(o) => {
                let mut text = String::from_utf8_lossy(&o.stdout).into_owned();
                text.push_str(&String::from_utf8_lossy(&o.stderr));
                last_lines(&text, 15)
            }
            Err(e) => format!("(could not run it again: {e})"),
        };
        MeasureError::Status {
            command: self.display(),
            status: status.to_owned(),
            expected: self.expect_status,
            output,
        }
    }
}

/// The last `n` lines of `text`.
pub(crate) fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines
        .get(lines.len().saturating_sub(n)..)
        .unwrap_or_default()
        .join("\n")
}

/// A candidate: produces one sample (in its metric's unit) per call. A
/// non-finite sample is a lost one (e.g. a ping without reply); it counts
/// in the report but not in the statistics.
pub trait Probe {
    fn sample(&mut self) -> Result<f64, MeasureError>;
}

/// Wall-clock time of one process run, in microseconds.
pub struct ProcessTime(pub Run);

impl Probe for ProcessTime {
    fn sample(&mut self) -> Result<f64, MeasureError> {
        self.0.time_us()
    }
}

/// Cost of one operation a guest repeats: a run doing `count` operations
/// and one doing none, back to back; the sample is the difference
/// divided by `count`, in nanoseconds. Boot and exit cancel out.
pub struct PerOperation {
    pub none: Run,
    pub many: Run,
    pub count: u64,
}

impl Probe for PerOperation {
    fn sample(&mut self) -> Result<f64, MeasureError> {
        let base = self.none.time_us()?;
        let with = self.many.time_us()?;
        Ok((with - base) * 1e3 / self.count.max(1) as f64)
    }
}

/// How many rounds, and how many untimed rounds first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rounds {
    pub timed: usize,
    pub warmup: usize,
}

/// Samples of each probe (in the order given), or the error that stopped
/// it; a failing probe drops out and the others go on.
pub type Outcome = Result<Vec<f64>, MeasureError>;

/// Runs `rounds.warmup + rounds.timed` rounds; in each, every probe still
/// working gives one sample, starting with a different probe each round.
/// Prints progress on stderr under `title`.
pub fn interleave(title: &str, probes: &mut [Box<dyn Probe + '_>], rounds: Rounds) -> Vec<Outcome> {
    let k = probes.len();
    let mut out: Vec<Outcome> = (0..k)
        .map(|_| Ok(Vec::with_capacity(rounds.timed)))
        .collect();
    let total = rounds.warmup + rounds.timed;
    let mut shown = 0;
    eprint!("corten-bench: {title} ");
    for r in 0..total {
        for i in 0..k {
            let idx = (r + i) % k;
            let (Some(probe), Some(slot)) = (probes.get_mut(idx), out.get_mut(idx)) else {
                continue;
            };
            let Ok(samples) = slot else { continue };
            match probe.sample() {
                Ok(v) if r >= rounds.warmup => samples.push(v),
                Ok(_) => {}
                Err(e) => *slot = Err(e),
            }
        }
        // Ten dots per measurement.
        while shown * total < (r + 1) * 10 {
            eprint!(".");
            let _ = std::io::stderr().flush();
            shown += 1;
        }
    }
    eprintln!();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::rc::Rc;

    struct Fake {
        id: usize,
        next: f64,
        fail_at: Option<usize>,
        calls: usize,
        log: Rc<RefCell<Vec<usize>>>,
    }

    impl Probe for Fake {
        fn sample(&mut self) -> Result<f64, MeasureError> {
            self.log.borrow_mut().push(self.id);
            self.calls += 1;
            if Some(self.calls) == self.fail_at {
                return Err(MeasureError::Failed {
                    what: "fake".into(),
                    reason: "broke".into(),
                });
            }
            self.next += 1.0;
            Ok(self.next)
        }
    }

    #[test]
    fn rounds_rotate_warmup_is_dropped_and_failures_isolated() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let mk = |id, fail_at| {
            Box::new(Fake {
                id,
                next: 0.0,
                fail_at,
                calls: 0,
                log: log.clone(),
            }) as Box<dyn Probe>
        };
        let mut probes = vec![mk(0, None), mk(1, Some(3)), mk(2, None)];
        let out = interleave(
            "test",
            &mut probes,
            Rounds {
                timed: 3,
                warmup: 1,
            },
        );
        assert_eq!(out[0].as_ref().unwrap(), &vec![2.0, 3.0, 4.0]);
        assert!(out[1].is_err());
        assert_eq!(out[2].as_ref().unwrap(), &vec![2.0, 3.0, 4.0]);
        // Round r starts with probe r % 3; probe 1 stops after its third call.
        assert_eq!(*log.borrow(), vec![0, 1, 2, 1, 2, 0, 2, 0, 1, 0, 2]);
    }

    #[test]
    fn process_time_checks_the_status() {
        let ok = Run::new("/bin/true");
        assert!(ok.time_us().unwrap() > 0.0);
        let mut bad = Run::new("/bin/sh").arg("-c").arg("echo oops; exit 3");
        let e = bad.time_us().unwrap_err().to_string();
        assert!(e.contains("expected status 0") && e.contains("oops"), "{e}");
        bad.expect_status = 3;
        assert!(bad.time_us().is_ok());
        let missing = Run::new("/nonexistent/tender").time_us().unwrap_err();
        assert!(matches!(missing, MeasureError::Spawn { .. }));
    }

    #[test]
    fn per_operation_divides_the_difference() {
        let mut p = PerOperation {
            none: Run::new("/bin/true"),
            many: Run::new("/bin/sleep").arg("0.05"),
            count: 1000,
        };
        // 50 ms over 1000 operations: about 50 µs = 50 000 ns each.
        let ns = p.sample().unwrap();
        assert!(ns > 40_000.0 && ns < 500_000.0, "{ns}");
    }
}
