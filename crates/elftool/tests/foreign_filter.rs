//! elftool started under someone else's seccomp filter, as urunc starts a
//! tender: prctl and seccomp raise SIGSYS, and (when root) there is no
//! /proc. elftool must notice it cannot install its own filter, keep the
//! foreign one, and do its work instead of dying.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, Output};

use corten_sandbox::host_arch;
use corten_sandbox::seccompiler::{self, BpfProgram, SeccompAction, SeccompFilter};
use support::*;

/// Traps prctl and seccomp, allows everything else (urunc's filter is an
/// allow-list that traps all else; what matters here is the trap on these).
fn urunc_like_filter() -> BpfProgram {
    let rules = BTreeMap::from([(libc::SYS_prctl, vec![]), (libc::SYS_seccomp, vec![])]);
    SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Trap,
        host_arch(),
    )
    .unwrap()
    .try_into()
    .unwrap()
}

/// Runs elftool under the filter; with `hide_proc`, also in a private mount
/// namespace without /proc. None (after saying why) if that needs root.
fn run_confined(args: &[&str], selftest: bool, hide_proc: bool) -> Option<Output> {
    let program = urunc_like_filter();
    let mut cmd = Command::new(BIN);
    cmd.args(args);
    if selftest {
        cmd.env("CORTEN_ELFTOOL_SELFTEST", "forbidden-syscall");
    }
    // SAFETY: the closure runs between fork and exec and makes only raw
    // system calls (unshare, mount, umount2, prctl, seccomp) on data
    // prepared before the fork; it allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            if hide_proc
                && (libc::unshare(libc::CLONE_NEWNS) != 0
                    || libc::mount(
                        std::ptr::null(),
                        c"/".as_ptr(),
                        std::ptr::null(),
                        libc::MS_REC | libc::MS_PRIVATE,
                        std::ptr::null(),
                    ) != 0
                    || libc::umount2(c"/proc".as_ptr(), libc::MNT_DETACH) != 0)
            {
                return Err(std::io::Error::last_os_error());
            }
            seccompiler::apply_filter(&program).map_err(std::io::Error::other)
        });
    }
    match cmd.output() {
        Ok(out) => Some(out),
        Err(e) if hide_proc && e.raw_os_error() == Some(libc::EPERM) => {
            eprintln!("SKIPPED: hiding /proc needs a private mount namespace (root): {e}");
            None
        }
        Err(e) => panic!("cannot start elftool: {e}"),
    }
}

fn image(test: &str) -> String {
    let dir = scratch(test);
    write_file(
        &dir,
        "k.hvt",
        &unikernel(host_machine(), &abi1_note(1, 2), &gen_note("net3.json")),
    )
}

#[test]
fn works_under_a_trapping_foreign_filter() {
    let image = image("foreign_trap");
    let out = run_confined(&["query-manifest", &image], false, false).unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{:?} {}",
        out.status,
        text(&out.stderr)
    );
    assert_eq!(text(&out.stdout), golden_text("net3.query.json"));
}

#[test]
fn selftest_shows_the_foreign_filter_kept() {
    let image = image("foreign_selftest");
    let out = run_confined(&["query-abi", &image], true, false).unwrap();
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("selftest: sandbox Foreign(Blocked { syscall: \"prctl\", how: Trapped })"),
        "{stdout}"
    );
    assert!(stdout.contains("selftest: Seccomp:\t2\n"), "{stdout}");
    // Only the foreign filter is in force, and it allows getpid.
    assert!(stdout.contains("getpid was allowed"), "{stdout}");
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(out.status.signal(), None);
}

#[test]
fn works_under_a_trapping_foreign_filter_without_proc() {
    let image = image("foreign_noproc");
    let Some(out) = run_confined(&["validate", &image], false, true) else {
        return;
    };
    assert_eq!(
        out.status.code(),
        Some(0),
        "{:?} {}",
        out.status,
        text(&out.stderr)
    );
    assert!(text(&out.stdout).contains(": OK: hvt unikernel"));
}
