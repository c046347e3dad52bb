//! ATLAS dgemm: GFLOP/s of `cblas_dgemm` at n = 256 ... 2048 for the
//! native build, the unikernels on every tender, and single-thread
//! OpenBLAS natively. The result hash of every run is kept: all ATLAS
//! builds must compute the same bits.

use std::path::PathBuf;

use super::{field, output_tail, Artifacts, Candidate, Case, Sample, TenderRun};
use crate::measure;

/// Matrix sizes measured (and the quick subset).
pub const SIZES: [usize; 4] = [256, 512, 1024, 2048];
pub const QUICK_SIZES: [usize; 2] = [256, 1024];

/// Label of the native ATLAS build: the denominator of every ratio.
pub const NATIVE: &str = "native (ATLAS)";
pub const OPENBLAS: &str = "native OpenBLAS (1 thread)";

/// Guest memory for every unikernel run: three 2048² matrices are 96 MiB.
const MEM_MIB: u32 = 512;

/// One build of the benchmark: a label and the process to run
/// (corten-bench's [`measure::Run`]).
struct Dgemm {
    label: String,
    run: measure::Run,
}

impl Dgemm {
    fn new(label: String, program: PathBuf, args: Vec<String>, env: &[(String, String)]) -> Dgemm {
        let mut run = measure::Run::new(program).envs(env);
        run.args = args.into_iter().map(Into::into).collect();
        Dgemm { label, run }
    }
}

impl Candidate for Dgemm {
    fn label(&self) -> String {
        self.label.clone()
    }

    fn command(&self) -> String {
        self.run.display()
    }

    fn sample(&mut self) -> Result<Sample, String> {
        let mut cmd = self.run.command();
        // OPENBLAS_CORETYPE and friends in the caller's environment would
        // pin native OpenBLAS to other kernels than it picks itself (and
        // than a unikernel, which has no environment, picks).
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("OPENBLAS_")
                && !self
                    .run
                    .env
                    .iter()
                    .any(|(e, _)| k.as_os_str() == e.as_str())
            {
                cmd.env_remove(k);
            }
        }
        let out = cmd
            .output()
            .map_err(|e| format!("cannot start {}: {e}", self.run.program.display()))?;
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
            _ => Err(format!("{}: {}", out.status, output_tail(&text, 4))),
        }
    }
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
            Box::new(Dgemm::new(
                NATIVE.to_owned(),
                a.native.join("atlas-native"),
                args.clone(),
                &[],
            )),
            Box::new(Dgemm::new(
                OPENBLAS.to_owned(),
                a.native.join("openblas-native"),
                args.clone(),
                // What a user gets by default: one thread, the kernels
                // OpenBLAS picks for this CPU (the environment's
                // OPENBLAS_* overrides are cleared, see `Run::sample`).
                &[("OPENBLAS_NUM_THREADS".to_owned(), "1".to_owned())],
            )),
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
                c.push(Box::new(Dgemm::new(
                    format!("{prefix}{}", t.label),
                    t.program.clone(),
                    targs,
                    &t.env,
                )));
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
