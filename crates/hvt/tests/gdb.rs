//! `--gdb`: a real gdb (when installed) connects, sets a breakpoint,
//! single-steps, reads registers and lets the guest run to its end.

#![cfg(target_arch = "x86_64")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{kvm_or_skip, tender, unikernel, Source};

fn gdb_available() -> bool {
    let ok = Command::new("gdb")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok();
    if !ok {
        eprintln!("SKIP: gdb test: gdb is not installed");
    }
    ok
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn debug_session(src: Source, symbol: &str) {
    if !kvm_or_skip("gdb") || !gdb_available() {
        return;
    }
    let Some(k) = unikernel(src, "hello") else {
        return;
    };
    let port = free_port();
    let mut child = Command::new(tender())
        .arg("--gdb")
        .arg(format!("--gdb-port={port}"))
        .arg(&k)
        .arg("Hello_Solo5")
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
    let target = format!("target remote localhost:{port}");
    let brk = format!("break {symbol}");
    let out = Command::new("timeout")
        .args(["60", "gdb", "-batch", "-nx"])
        .args(["-ex", &target, "-ex", "info registers rip", "-ex", "stepi"])
        .args(["-ex", "info registers rip", "-ex", &brk, "-ex", "continue"])
        .args(["-ex", "info registers rip", "-ex", "continue"])
        .arg(&k)
        .output()
        .expect("run gdb");
    let gdb =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let status = child.wait().expect("wait");
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let stderr = rest.join().unwrap();
    assert!(
        gdb.contains("Breakpoint 1"),
        "no breakpoint hit:\n{gdb}\n{stderr}"
    );
    assert!(
        gdb.contains("exited normally"),
        "guest did not finish:\n{gdb}\n{stderr}"
    );
    assert!(status.success(), "tender: {status:?}\n{stderr}");
    assert!(stdout.contains("SUCCESS"), "{stdout}");
    // stepi moved the instruction pointer from the entry point.
    let rips: Vec<&str> = gdb
        .split("rip ")
        .skip(1)
        .filter_map(|s| s.split_whitespace().next())
        .collect();
    assert!(rips.len() >= 3 && rips[0] != rips[1], "{rips:?}\n{gdb}");
}

#[test]
fn upstream_hello_under_gdb() {
    debug_session(Source::Upstream, "solo5_app_main");
}

#[test]
fn corten_hello_under_gdb() {
    // corten-rt's entry into the application.
    debug_session(Source::Corten, "__corten_app_main");
}
