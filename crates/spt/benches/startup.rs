//! Start-up benchmark of corten-spt: process start to exit of a hello
//! unikernel, against a static C hello-world process (the floor) and, when
//! present, upstream's solo5-spt, measured side by side in one run.
//!
//! Run: `cargo bench -p corten-spt --bench startup` (builds a static-pie
//! corten-spt first if CORTEN_SPT is not set; see crates/spt/README.md).
//! Environment:
//!   CORTEN_SPT          tender to measure (default: static-pie builds made
//!                       here into target/spt-static: musl, the release
//!                       build, and glibc +crt-static for comparison)
//!   CORTEN_HELLO        unikernel (default: target/unikernels/hello.spt, else
//!                       $SOLO5_UPSTREAM_TESTS/test_hello/test_hello.spt)
//!   SOLO5_UPSTREAM_BIN  directory holding upstream solo5-spt (optional)
//!   BENCH_ROUNDS        rounds (default 2000); each round runs every candidate once
//!
//! The measuring code is the `startup` module below, self-contained so that
//! `cargo xtask bench` can reuse it.

mod startup {
    use std::path::{Path, PathBuf};
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    /// One program to time.
    #[derive(Clone, Debug)]
    pub struct Candidate {
        pub name: String,
        pub argv: Vec<String>,
    }

    /// Wall-clock times of one candidate.
    #[derive(Clone, Debug)]
    pub struct Stats {
        pub name: String,
        pub samples: Vec<Duration>,
    }

    impl Stats {
        fn sorted(&self) -> Vec<Duration> {
            let mut s = self.samples.clone();
            s.sort();
            s
        }
        pub fn median(&self) -> Duration {
            let s = self.sorted();
            s.get(s.len() / 2).copied().unwrap_or_default()
        }
        pub fn percentile(&self, p: usize) -> Duration {
            let s = self.sorted();
            let i = (s.len().saturating_sub(1) * p) / 100;
            s.get(i).copied().unwrap_or_default()
        }
        pub fn mean(&self) -> Duration {
            let n = self.samples.len().max(1) as u32;
            self.samples.iter().sum::<Duration>() / n
        }
    }

    /// Runs one process to completion (output discarded) and returns the
    /// time from spawn to reaped exit; fails if it does not exit 0.
    pub fn time_once(argv: &[String]) -> Result<Duration, String> {
        let (prog, args) = argv.split_first().ok_or("empty argv")?;
        let mut cmd = Command::new(prog);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let t0 = Instant::now();
        let status = cmd.status().map_err(|e| format!("{prog}: {e}"))?;
        let dt = t0.elapsed();
        if !status.success() {
            return Err(format!("{argv:?} exited with {status}"));
        }
        Ok(dt)
    }

    /// Interleaves the candidates round by round (so drift and noise hit
    /// all of them alike), after `warmup` untimed rounds.
    pub fn measure(
        cands: &[Candidate],
        rounds: usize,
        warmup: usize,
    ) -> Result<Vec<Stats>, String> {
        let mut stats: Vec<Stats> = cands
            .iter()
            .map(|c| Stats {
                name: c.name.clone(),
                samples: Vec::with_capacity(rounds),
            })
            .collect();
        for r in 0..warmup + rounds {
            for (c, s) in cands.iter().zip(stats.iter_mut()) {
                let dt = time_once(&c.argv)?;
                if r >= warmup {
                    s.samples.push(dt);
                }
            }
        }
        Ok(stats)
    }

    /// How a static corten-spt is linked.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Libc {
        /// `<arch>-unknown-linux-musl`: static-pie by default, no start-up
        /// CPU probing (the release build).
        Musl,
        /// `<arch>-unknown-linux-gnu` with `+crt-static` for this binary
        /// only (glibc's static start-up probes the CPU with `cpuid`,
        /// which is slow under virtualisation).
        GlibcStatic,
    }

    /// Builds corten-spt as a static PIE into `target_dir` and returns its
    /// path, checked to be a static PIE.
    pub fn build_static_spt(
        workspace: &Path,
        target_dir: &Path,
        libc: Libc,
    ) -> Result<PathBuf, String> {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.current_dir(workspace).arg("--quiet");
        let bin = match libc {
            Libc::Musl => {
                let triple = format!("{}-unknown-linux-musl", std::env::consts::ARCH);
                cmd.args([
                    "build",
                    "--release",
                    "-p",
                    "corten-spt",
                    "--bin",
                    "corten-spt",
                ])
                .args(["--target", &triple, "--target-dir"])
                .arg(target_dir);
                target_dir.join(triple).join("release/corten-spt")
            }
            Libc::GlibcStatic => {
                cmd.args([
                    "rustc",
                    "--release",
                    "-p",
                    "corten-spt",
                    "--bin",
                    "corten-spt",
                ])
                .arg("--target-dir")
                .arg(target_dir)
                .args(["--", "-C", "target-feature=+crt-static"]);
                target_dir.join("release/corten-spt")
            }
        };
        let st = cmd.status().map_err(|e| format!("cargo: {e}"))?;
        if !st.success() {
            return Err(format!("building the {libc:?} static corten-spt failed"));
        }
        check_static_pie(&bin)?;
        Ok(bin)
    }

    /// Checks that `bin` is position-independent (ET_DYN, so the kernel
    /// loads it far above the fixed spt guest range) and has no PT_INTERP
    /// (statically linked).
    pub fn check_static_pie(bin: &Path) -> Result<(), String> {
        let b = std::fs::read(bin).map_err(|e| format!("{}: {e}", bin.display()))?;
        let u16_at = |o: usize| b.get(o..o + 2).map(|x| u16::from_le_bytes([x[0], x[1]]));
        let u64_at = |o: usize| {
            b.get(o..o + 8)
                .and_then(|x| x.try_into().ok())
                .map(u64::from_le_bytes)
        };
        if u16_at(16) != Some(3) {
            return Err(format!("{} is not a PIE (e_type != ET_DYN)", bin.display()));
        }
        let phoff = u64_at(32).ok_or("short ELF")? as usize;
        let phnum = u16_at(56).ok_or("short ELF")? as usize;
        for i in 0..phnum {
            let p_type = b.get(phoff + i * 56..phoff + i * 56 + 4);
            if p_type == Some(&3u32.to_le_bytes()[..]) {
                return Err(format!(
                    "{} has PT_INTERP: not statically linked",
                    bin.display()
                ));
            }
        }
        Ok(())
    }

    /// Compiles the static C hello-world baseline with `cc -static -O2`.
    pub fn build_c_hello(dir: &Path) -> Result<PathBuf, String> {
        let src = dir.join("hello.c");
        let bin = dir.join("hello-static");
        std::fs::write(
            &src,
            "#include <stdio.h>\nint main(void) { puts(\"Hello, World\"); return 0; }\n",
        )
        .map_err(|e| e.to_string())?;
        let st = Command::new("cc")
            .args(["-static", "-O2", "-o"])
            .arg(&bin)
            .arg(&src)
            .status()
            .map_err(|e| format!("cc: {e}"))?;
        if !st.success() {
            return Err("cc -static failed (is the static libc installed?)".into());
        }
        Ok(bin)
    }

    /// A Markdown table of the results, ratios relative to `baseline`.
    pub fn report(stats: &[Stats], baseline: &str) -> String {
        let base = stats
            .iter()
            .find(|s| s.name == baseline)
            .map(|s| s.median().as_secs_f64())
            .unwrap_or(f64::NAN);
        let mut out = String::from(
            "| program | median (µs) | mean (µs) | p10 (µs) | p90 (µs) | median / baseline |\n\
             | --- | ---: | ---: | ---: | ---: | ---: |\n",
        );
        for s in stats {
            let us = |d: Duration| d.as_secs_f64() * 1e6;
            out.push_str(&format!(
                "| {} | {:.0} | {:.0} | {:.0} | {:.0} | {:.3} |\n",
                s.name,
                us(s.median()),
                us(s.mean()),
                us(s.percentile(10)),
                us(s.percentile(90)),
                s.median().as_secs_f64() / base
            ));
        }
        out
    }
}

use std::path::PathBuf;

fn fail(what: &str, e: String) -> ! {
    eprintln!("startup bench: {what}: {e}");
    std::process::exit(1)
}

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn main() {
    // `cargo bench` passes --bench; nothing else to parse.
    let ws = workspace();
    // The tenders to time: CORTEN_SPT alone if given, else the musl
    // static-pie (release build) and, for comparison, glibc static-pie.
    let tenders: Vec<(String, PathBuf)> = match std::env::var_os("CORTEN_SPT") {
        Some(p) => vec![("corten-spt".into(), PathBuf::from(p))],
        None => {
            let dir = ws.join("target/spt-static");
            let mut v = Vec::new();
            match startup::build_static_spt(&ws, &dir, startup::Libc::Musl) {
                Ok(p) => v.push(("corten-spt (musl static-pie)".into(), p)),
                Err(e) => eprintln!(
                    "startup bench: {e}; `rustup target add {}-unknown-linux-musl` to measure the release build",
                    std::env::consts::ARCH
                ),
            }
            let p = startup::build_static_spt(&ws, &dir, startup::Libc::GlibcStatic)
                .unwrap_or_else(|e| fail("static corten-spt", e));
            v.push(("corten-spt (glibc static-pie)".into(), p));
            v
        }
    };
    let hello = std::env::var_os("CORTEN_HELLO")
        .map(PathBuf::from)
        .or_else(|| {
            let p = ws.join("target/unikernels/hello.spt");
            p.exists().then_some(p)
        })
        .or_else(|| {
            std::env::var_os("SOLO5_UPSTREAM_TESTS")
                .map(|d| PathBuf::from(d).join("test_hello/test_hello.spt"))
        });
    let Some(hello) = hello else {
        eprintln!("startup bench: no hello unikernel: run `cargo xtask build`, or set CORTEN_HELLO or SOLO5_UPSTREAM_TESTS");
        std::process::exit(1);
    };
    for (_, t) in &tenders {
        if !t.exists() {
            fail("tender", format!("{} missing", t.display()));
        }
    }
    let rounds = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000);
    let tmp = std::env::temp_dir().join(format!("corten-startup-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap_or_else(|e| fail("temp dir", e.to_string()));
    let c_hello = startup::build_c_hello(&tmp).unwrap_or_else(|e| fail("C baseline", e));

    let s = |p: &std::path::Path| p.display().to_string();
    let mut cands = vec![startup::Candidate {
        name: "static C hello".into(),
        argv: vec![s(&c_hello)],
    }];
    for (name, t) in &tenders {
        cands.push(startup::Candidate {
            name: format!("{name} hello"),
            argv: vec![s(t), s(&hello)],
        });
    }
    if let Some(dir) = std::env::var_os("SOLO5_UPSTREAM_BIN") {
        let up = PathBuf::from(dir).join("solo5-spt");
        if up.exists() {
            cands.push(startup::Candidate {
                name: "upstream solo5-spt hello".into(),
                argv: vec![s(&up), s(&hello)],
            });
        }
    }
    let stats =
        startup::measure(&cands, rounds, rounds / 10 + 10).unwrap_or_else(|e| fail("measure", e));
    println!("unikernel: {}", hello.display());
    println!("rounds: {rounds} (interleaved)\n");
    print!("{}", startup::report(&stats, "static C hello"));
    let _ = std::fs::remove_dir_all(&tmp);
}
