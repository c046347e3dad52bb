//! `--gdb`: a real gdb (when installed) drives the tender, on Corten-built
//! (hard-float) and upstream-built unikernels, with ring-3 execution as the
//! host chooses it (on PVM hosts the guest runs at CPL 3, where the tender
//! implements breakpoints and single steps itself).

#![cfg(target_arch = "x86_64")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{kvm_or_skip, tender, unikernel, Source, TempDir};

/// The tender's scratch pages of ring-3 execution (`arch/x86_64/ring3.rs`).
const SCRATCH: std::ops::Range<u64> = 0x2_0000..0x2_7000;

fn gdb_available() -> bool {
    let ok = Command::new("gdb")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok();
    if !ok {
        corten_testutil::skip_note(
            "gdb",
            "gdb tests: gdb is not installed (Debian package gdb)",
        );
    }
    ok
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// The unikernel `name` of `src`, or None (after printing why) when KVM,
/// gdb or the upstream build is missing.
fn kernel(src: Source, name: &str) -> Option<PathBuf> {
    if !kvm_or_skip("gdb") || !gdb_available() {
        return None;
    }
    unikernel(src, name)
}

struct Run {
    gdb: String,
    status: std::process::ExitStatus,
    stdout: String,
    stderr: String,
}

/// Runs `kernel` under `--gdb` and gdb with `script` (gdb commands, after
/// `target remote`).
fn debug(kernel: &Path, guest_args: &[&str], script: &[&str]) -> Run {
    let port = free_port();
    let mut child = Command::new(tender())
        .arg("--gdb")
        .arg(format!("--gdb-port={port}"))
        .arg(kernel)
        .args(guest_args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // Wait until the tender listens.
    let mut err = child.stderr.take().unwrap();
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !String::from_utf8_lossy(&seen).contains("Waiting for a debugger") {
        assert!(
            Instant::now() < deadline,
            "tender never listened: {}",
            String::from_utf8_lossy(&seen)
        );
        let mut b = [0u8; 256];
        let n = err.read(&mut b).expect("read stderr");
        assert!(n > 0, "tender exited: {}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&b[..n]);
    }
    let rest = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    // Each command is one -ex (an error does not stop the later ones);
    // multi-line commands go through a sourced file.
    let tmp = TempDir::new("gdb");
    let mut cmd = Command::new("timeout");
    cmd.args(["120", "gdb", "-batch", "-nx", "-ex", "set pagination off"])
        .args(["-ex", &format!("target remote localhost:{port}")]);
    for (i, c) in script.iter().enumerate() {
        if c.contains('\n') {
            let file = tmp.path().join(format!("{i}.gdb"));
            std::fs::write(&file, c).unwrap();
            cmd.arg("-ex").arg(format!("source {}", file.display()));
        } else {
            cmd.args(["-ex", c]);
        }
    }
    let out = cmd.arg(kernel).output().expect("run gdb");
    let gdb =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    // gdb -batch detaches at its end; the guest then runs to its end.
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait") {
            break st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("tender did not end after gdb:\n{gdb}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    Run {
        gdb,
        status,
        stdout,
        stderr: rest.join().unwrap(),
    }
}

/// Every value gdb printed for `info registers NAME` (as numbers; the
/// line may follow other output without a newline).
fn register_values(gdb: &str, name: &str) -> Vec<u64> {
    gdb.lines()
        .filter_map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            let at = words.iter().position(|w| *w == name)?;
            let v = words.get(at + 1)?;
            u64::from_str_radix(v.strip_prefix("0x")?, 16).ok()
        })
        .collect()
}

/// The address of the first `rdtsc` in `function` of `kernel` (gdb's own
/// disassembler, no target needed).
fn first_rdtsc(kernel: &Path, function: &str) -> u64 {
    let out = Command::new("gdb")
        .args(["-batch", "-nx", "-ex", &format!("x/400i {function}")])
        .arg(kernel)
        .output()
        .expect("run gdb");
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.contains("rdtsc"))
        .unwrap_or_else(|| panic!("no rdtsc in {function}:\n{text}"));
    let addr = line
        .split_whitespace()
        .find(|w| w.starts_with("0x"))
        .unwrap_or_else(|| panic!("no address in `{line}`"));
    u64::from_str_radix(addr.trim_start_matches("0x").trim_end_matches(':'), 16).unwrap()
}

fn expect_success(r: &Run) {
    assert!(r.status.success(), "tender: {:?}\n{}", r.status, r.stderr);
    assert!(r.stdout.contains("SUCCESS"), "{}\n{}", r.stdout, r.gdb);
}

/// Breakpoint, single step, registers, and the guest runs to its end.
fn breakpoint_and_step(src: Source, symbol: &str) {
    let Some(k) = kernel(src, "hello") else {
        return;
    };
    let brk = format!("break {symbol}");
    let r = debug(
        &k,
        &["Hello_Solo5"],
        &[
            "info registers rip",
            "stepi",
            "info registers rip",
            &brk,
            "continue",
            "info registers rip",
            "info registers cs",
            "info registers ss",
            "continue",
        ],
    );
    assert!(
        r.gdb.contains("Breakpoint 1,"),
        "no breakpoint hit:\n{}",
        r.gdb
    );
    assert!(
        r.gdb.contains("exited normally"),
        "guest did not finish:\n{}",
        r.gdb
    );
    expect_success(&r);
    // stepi moved the instruction pointer from the entry point.
    let rips = register_values(&r.gdb, "rip");
    assert!(rips.len() >= 3 && rips[0] != rips[1], "{rips:?}\n{}", r.gdb);
    // The guest's own selectors (RPL 0), not ring-3 execution's.
    for seg in ["cs", "ss"] {
        let v = register_values(&r.gdb, seg);
        assert!(v.len() == 1 && v[0] & 3 == 0, "{seg} {v:?}\n{}", r.gdb);
    }
}

#[test]
fn upstream_breakpoint_and_step() {
    breakpoint_and_step(Source::Upstream, "solo5_app_main");
}

#[test]
fn corten_breakpoint_and_step() {
    // corten-rt's entry into the application.
    breakpoint_and_step(Source::Corten, "__corten_app_main");
}

/// 300 single steps from the application's entry (through console
/// hypercalls): none of them shows the tender's scratch code, and the guest
/// still finishes.
fn steps_never_show_the_tender(src: Source, symbol: &str) {
    let Some(k) = kernel(src, "hello") else {
        return;
    };
    let brk = format!("break {symbol}");
    let steps = format!(
        "set $n = 0\nset $bad = 0\nwhile $n < 300\n  stepi\n  \
         if $pc >= {:#x} && $pc < {:#x}\n    set $bad = $bad + 1\n  end\n  \
         set $n = $n + 1\nend\nprintf \"STEPS %d IN-TENDER %d\\n\", $n, $bad\n",
        SCRATCH.start, SCRATCH.end
    );
    let r = debug(
        &k,
        &["Hello_Solo5"],
        &[&brk, "continue", "delete", &steps, "continue"],
    );
    assert!(
        r.gdb.contains("STEPS 300 IN-TENDER 0"),
        "steps showed the tender's code:\n{}",
        r.gdb
    );
    expect_success(&r);
}

#[test]
fn upstream_steps_never_show_the_tender() {
    steps_never_show_the_tender(Source::Upstream, "solo5_app_main");
}

#[test]
fn corten_steps_never_show_the_tender() {
    steps_never_show_the_tender(Source::Corten, "__corten_app_main");
}

/// Stepping an `rdtsc` (which the tender's #GP shim emulates at CPL 3)
/// stops right after it, like on a CPU that runs it natively.
fn step_over_rdtsc(src: Source, name: &str, function: &str) {
    let Some(k) = kernel(src, name) else {
        return;
    };
    let at = first_rdtsc(&k, function);
    let brk = format!("break *{at:#x}");
    let r = debug(
        &k,
        &[],
        &[
            &brk,
            "continue",
            "info registers rip",
            "stepi",
            "info registers rip",
            "delete",
            "continue",
        ],
    );
    let rips = register_values(&r.gdb, "rip");
    assert_eq!(rips, vec![at, at + 2], "{}", r.gdb);
    expect_success(&r);
}

#[test]
fn upstream_step_over_rdtsc() {
    step_over_rdtsc(Source::Upstream, "time", "tscclock_monotonic");
}

#[test]
fn corten_step_over_rdtsc() {
    step_over_rdtsc(Source::Corten, "time", "__corten_app_main");
}

/// Hard-float code: a breakpoint on the application and steps through its
/// SSE arithmetic (Corten's fpu test, upstream's test_fpu).
fn sse_under_gdb(src: Source, symbol: &str) {
    let Some(k) = kernel(src, "fpu") else {
        return;
    };
    let brk = format!("break {symbol}");
    let r = debug(
        &k,
        &[],
        &[
            &brk,
            "continue",
            "stepi 200",
            "info registers rip",
            "continue",
        ],
    );
    assert!(r.gdb.contains("Breakpoint 1,"), "{}", r.gdb);
    expect_success(&r);
}

#[test]
fn upstream_sse_under_gdb() {
    sse_under_gdb(Source::Upstream, "solo5_app_main");
}

#[test]
fn corten_sse_under_gdb() {
    sse_under_gdb(Source::Corten, "__corten_app_main");
}

/// gdb cannot put breakpoints into, or write, the tender's own pages below
/// the image (page tables, boot info, ring-3 shims).
#[test]
fn tender_pages_refuse_breakpoints_and_writes() {
    let Some(k) = kernel(Source::Corten, "hello") else {
        return;
    };
    let brk = format!("break *{:#x}", SCRATCH.start + 0x2000);
    let write = format!("set {{char}}{:#x} = 0", SCRATCH.start);
    let r = debug(
        &k,
        &["Hello_Solo5"],
        &[&write, &brk, "continue", "delete", "continue"],
    );
    assert!(
        r.gdb.contains("Cannot insert breakpoint"),
        "breakpoint accepted:\n{}",
        r.gdb
    );
    assert!(
        r.gdb.contains("Cannot access memory"),
        "write accepted:\n{}",
        r.gdb
    );
}
