//! Proof that elftool really runs under its seccomp filter: with
//! CORTEN_ELFTOOL_SELFTEST=forbidden-syscall it reports its own seccomp
//! state from inside the sandbox and then calls getpid, which the filter
//! must punish with SIGSYS.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Output};

use support::*;

fn selftest(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("CORTEN_ELFTOOL_SELFTEST", "forbidden-syscall")
        .output()
        .unwrap()
}

fn assert_killed_in_sandbox(out: &Output) {
    let stdout = text(&out.stdout);
    eprintln!("status {:?}\n{stdout}{}", out.status, text(&out.stderr));
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGSYS),
        "elftool must be killed by SIGSYS"
    );
    assert!(stdout.contains("selftest: sandbox Ours {"), "{stdout}");
    assert!(stdout.contains("selftest: Seccomp:\t2\n"), "{stdout}");
    assert!(stdout.contains("selftest: calling getpid"), "{stdout}");
    assert!(!stdout.contains("getpid was allowed"), "{stdout}");
}

#[test]
fn every_command_runs_in_the_sandbox() {
    let dir = scratch("sandbox_selftest");
    let note = gen_note("net3.json");
    let image = write_file(
        &dir,
        "k.hvt",
        &unikernel(host_machine(), &abi1_note(1, 2), &note),
    );
    let source = golden("net3.json").to_string_lossy().into_owned();
    let output = dir.join("out.c").to_string_lossy().into_owned();
    for args in [
        &["query-abi", &image][..],
        &["query-manifest", &image],
        &["validate", &image],
        &["gen-manifest", &source, &output],
        &["gen-manifest", "--rust", &source, "-"],
    ] {
        assert_killed_in_sandbox(&selftest(args));
    }
}

#[test]
fn commands_succeed_inside_the_sandbox() {
    // Without the self-test, the same commands finish normally: the
    // allow-list holds everything they need (exit status 0, no SIGSYS).
    let dir = scratch("sandbox_normal");
    let out = elftool(&[
        "gen-manifest",
        "--note",
        &golden("net3.json").to_string_lossy(),
        "-",
    ]);
    assert!(out.status.success());
    let image = write_file(
        &dir,
        "k.hvt",
        &unikernel(host_machine(), &abi1_note(1, 2), &out.stdout),
    );
    let output = dir.join("out.c").to_string_lossy().into_owned();
    for args in [
        &["query-abi", &image][..],
        &["query-manifest", &image],
        &["validate", &image],
        &[
            "gen-manifest",
            &golden("net3.json").to_string_lossy(),
            &output,
        ],
    ] {
        let out = elftool(args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {:?} {}",
            out.status,
            text(&out.stderr)
        );
    }
    // Large inputs make the allocator grow and shrink the heap (brk, mmap,
    // mremap, munmap) inside the sandbox.
    let mut big = String::from("{\"type\": \"solo5.manifest\", \"version\": 1, \"devices\": [");
    big.push_str(&" ".repeat(900_000));
    big.push_str("]}");
    let out = elftool_stdin(&["gen-manifest", "-", "-"], big.as_bytes());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{:?} {}",
        out.status,
        text(&out.stderr)
    );
    let too_big = " ".repeat(2 << 20);
    let out = elftool_stdin(&["gen-manifest", "-", "-"], too_big.as_bytes());
    assert_eq!(out.status.code(), Some(1), "{:?}", out.status);
    assert!(text(&out.stderr).contains("larger than"));
}

#[test]
fn unknown_selftest_value_is_an_error() {
    let out = Command::new(BIN)
        .args(["query-abi", "/nonexistent"])
        .env("CORTEN_ELFTOOL_SELFTEST", "nope")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("CORTEN_ELFTOOL_SELFTEST: unknown value"));
}
