//! ATLAS dgemm: GFLOP/s of `cblas_dgemm` at n = 256 ... 2048 for the
//! native build, the unikernels on every tender, and single-thread
//! OpenBLAS natively. The result hash of every run is kept: all ATLAS
//! builds must compute the same bits.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use super::{field, Artifacts, Candidate, Case, Sample, TenderRun};

/// Matrix sizes measured (and the quick subset).
pub const SIZES: [usize; 4] = [256, 512, 1024, 2048];
pub const QUICK_SIZES: [usize; 2] = [256, 1024];

/// Label of the native ATLAS build: the denominator of every ratio.
pub const NATIVE: &str = "native (ATLAS)";
pub const OPENBLAS: &str = "native OpenBLAS (1 thread)";

/// Guest memory for every unikernel run: three 2048² matrices are 96 MiB.
const MEM_MIB: u32 = 512;

struct Run {
    label: String,
    program: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
}

impl Candidate for Run {
    fn label(&self) -> String {
        self.label.clone()
    }

    fn command(&self) -> String {
        format!("{} {}", self.program.display(), self.args.join(" "))
    }

    fn sample(&mut self) -> Result<Sample, String> {
        let mut cmd = Command::new(&self.program);
        // OPENBLAS_CORETYPE and friends in the caller's environment would
        // pin native OpenBLAS to other kernels than it picks itself (and
        // than a unikernel, which has no environment, picks).
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("OPENBLAS_") {
                cmd.env_remove(k);
            }
        }
        let out = cmd
            .args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot start {}: {e}", self.program.display()))?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        let parsed = field(&text, "dgemm ", "gflops")
            .and_then(|g| g.parse::<f64>().ok())
            .zip(field(&text, "dgemm ", "hash"));
        match (out.status.success(), parsed) {
            (true, Some((gflops, hash))) => Ok(Sample {
                value: gflops,
                identity: hash.to_owned(),
            }),
            _ => Err(format!("{}: {}", out.status, last_lines(&text, 4))),
        }
    }
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines
        .get(lines.len().saturating_sub(n)..)
        .unwrap_or_default()
        .join(" / ")
}

/// Calls per run (the run reports the fastest): about a quarter of a
/// second of dgemm at 20 GFLOP/s, at least two (the first also pays for
/// faulting in C and the BLAS's workspace).
pub fn reps(n: usize) -> u32 {
    let flops = 2.0 * (n as f64).powi(3);
    ((0.25 * 20e9 / flops).ceil() as u32).clamp(2, 50)
}

/// Measures every size; `rounds` runs of each candidate per size.
pub fn measure(a: &Artifacts, tenders: &[TenderRun], sizes: &[usize], rounds: usize) -> Vec<Case> {
    let mut cases = Vec::new();
    for &n in sizes {
        let args = vec![
            format!("n={n}"),
            format!("reps={}", reps(n)),
            "seed=1".to_owned(),
        ];
        let mut c: Vec<Box<dyn Candidate>> = vec![
            Box::new(Run {
                label: NATIVE.to_owned(),
                program: a.native.join("atlas-native"),
                args: args.clone(),
                env: Vec::new(),
            }),
            Box::new(Run {
                label: OPENBLAS.to_owned(),
                program: a.native.join("openblas-native"),
                args: args.clone(),
                // What a user gets by default: one thread, the kernels
                // OpenBLAS picks for this CPU (the environment's
                // OPENBLAS_* overrides are cleared, see `Run::sample`).
                env: vec![("OPENBLAS_NUM_THREADS".to_owned(), "1".to_owned())],
            }),
        ];
        for (kernel, prefix) in [("atlas", ""), ("openblas", "OpenBLAS on ")] {
            for t in tenders {
                // OpenBLAS as a unikernel: on the plain tenders only.
                if !prefix.is_empty() && !t.options.is_empty() {
                    continue;
                }
                let mut targs = vec![format!("--mem={MEM_MIB}")];
                targs.extend(t.options.iter().cloned());
                targs.push("--".to_owned());
                targs.push(
                    a.unikernels
                        .join(format!("{kernel}.{}", t.kind.ext()))
                        .display()
                        .to_string(),
                );
                targs.push("--solo5:quiet".to_owned());
                targs.extend(args.iter().cloned());
                c.push(Box::new(Run {
                    label: format!("{prefix}{}", t.label),
                    program: t.program.clone(),
                    args: targs,
                    env: t.env.clone(),
                }));
            }
        }
        cases.push(super::measure_case(
            &format!("dgemm n={n}"),
            "GFLOP/s",
            true,
            &mut c,
            rounds,
        ));
    }
    cases
}

#[cfg(test)]
mod tests {
    #[test]
    fn reps_shrink_with_size() {
        assert_eq!(super::reps(256), 50);
        assert_eq!(super::reps(512), 19);
        assert_eq!(super::reps(1024), 3);
        assert_eq!(super::reps(2048), 2);
    }
}
