//! The C runtime surface (corten-rt feature `libc`): one C file, compiled
//! as Debian compiles libraries, built against glibc and into spt and hvt
//! unikernels. Where glibc's behaviour is defined, the unikernels must
//! print exactly what glibc prints and exit the same way.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{run, Build, Outcome};

const T: Duration = Duration::from_secs(60);

fn case(build: Build, name: &str) -> Outcome {
    run(
        build,
        "libc-test-native",
        "libc_test",
        &["--mem=64"],
        &[name],
        T,
    )
}

/// What glibc prints, both streams on one pipe as on the unikernel's one
/// console (every case flushes stdout before it writes to stderr).
fn native(name: &str) -> (i32, String) {
    let prog = corten_testutil::workspace().join("target/apps/libc-test-native");
    let child = std::process::Command::new("sh")
        .args(["-c", "exec \"$0\" \"$1\" 2>&1"])
        .arg(prog)
        .arg(name)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let o = corten_testutil::wait_with_timeout(child, T);
    (o.status, o.output())
}

#[test]
fn same_output_and_status_as_glibc() {
    for name in ["printf", "malloc", "stdlib", "canary", "exit", "bogus"] {
        let (status, text) = native(name);
        assert!(!text.is_empty(), "{name}: native printed nothing");
        for b in [Build::Spt, Build::Hvt] {
            if !b.available() {
                continue;
            }
            let o = case(b, name);
            assert_eq!(o.status, status, "{name} on {b:?}: {}", o.output());
            assert_eq!(o.output(), text, "{name} on {b:?} differs from glibc");
        }
    }
}

#[test]
fn printf_case_covers_what_it_claims() {
    // Guards against an empty comparison: the printf case really prints
    // floats, stack-passed arguments and long doubles.
    let (_, text) = native("printf");
    for needle in [
        "floats: 3.141593 -2.50      0.333",
        "many: 1 2 3 4 5 6 7 8 9 10 | 1.5 2.5 3.5 4.5 5.5 6.5 7.5 8.5 9.5 10.5",
        "long double: 2.500000 2.500e+03 0.833333",
        "truncated: 14 [trunc]",
    ] {
        assert!(text.contains(needle), "missing `{needle}` in:\n{text}");
    }
}

#[test]
fn stdlib_case_covers_what_it_claims() {
    let (_, text) = native("stdlib");
    for needle in [
        "strtol(\"99999999999999999999\", 10) = 9223372036854775807 end+20 errno 1",
        "strtol(\"0x1F\", 0) = 31 end+4 errno 0",
        "constructor ran: 42",
        "mmap ok aligned 1 nonzero 0",
        "munmap 0",
        "perror says: Cannot allocate memory",
        "destructor ran at exit",
    ] {
        assert!(text.contains(needle), "missing `{needle}` in:\n{text}");
    }
}

#[test]
fn stack_smashing_and_overflows_abort() {
    // glibc: SIGABRT (134) with its message. Unikernel: exit 255 with the
    // runtime's message.
    for (name, glibc, ours) in [
        (
            "smash",
            "*** stack smashing detected ***",
            "stack smashing detected",
        ),
        (
            "fortify",
            "*** buffer overflow detected ***",
            "buffer overflow detected",
        ),
        (
            "assert",
            "Assertion `which[0] == 'x'' failed.",
            "Assertion `which[0] == 'x'' failed.",
        ),
    ] {
        let n = case(Build::Native, name);
        assert_eq!(n.status, 134, "{name} natively: {}", n.output());
        assert!(
            n.output().contains(glibc),
            "{name} natively: {}",
            n.output()
        );
        for b in [Build::Spt, Build::Hvt] {
            if !b.available() {
                continue;
            }
            let o = case(b, name);
            assert_eq!(o.status, 255, "{name} on {b:?}: {}", o.output());
            assert!(o.output().contains(ours), "{name} on {b:?}: {}", o.output());
        }
    }
}

#[test]
fn canary_is_random_per_boot() {
    for b in [Build::Spt, Build::Hvt] {
        if !b.available() {
            continue;
        }
        let values: Vec<String> = (0..3)
            .map(|_| {
                let o = case(b, "canary-value");
                o.expect_status(0);
                o.stdout.lines().next().unwrap_or("").trim().to_string()
            })
            .collect();
        assert!(
            values
                .iter()
                .all(|v| u64::from_str_radix(v, 16).is_ok_and(|c| c != 0 && c & 0xff == 0)),
            "{b:?}: {values:?}"
        );
        assert!(
            values[0] != values[1] || values[1] != values[2],
            "{b:?}: {values:?}"
        );
    }
}
