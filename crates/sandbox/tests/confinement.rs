//! Installing filters for real. Each test re-runs this test binary as a
//! child process (only that test, selected by name and by the
//! CORTEN_SANDBOX_TEST_CHILD variable): filters cannot be removed, and the
//! interesting outcomes kill the process.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Output};

use corten_sandbox::seccompiler::{SeccompAction, SeccompFilter, SeccompRule};
use corten_sandbox::{
    apply, arg_in, compile, compile_with, host_arch, install, read_proc_status, report_violations,
    seccomp_mode, Blocked, Installed, ModeSource, OnViolation, Refusal, Rules, SeccompMode,
    Threads,
};

const CHILD_ENV: &str = "CORTEN_SANDBOX_TEST_CHILD";

/// In the child, runs `body` and exits 0; in the parent, runs the child and
/// returns its output.
fn child(name: &str, body: fn()) -> Output {
    if std::env::var(CHILD_ENV).as_deref() == Ok(name) {
        body();
        // SAFETY: ends the child at once, without running any cleanup that
        // the filters under test might forbid.
        unsafe { libc::_exit(0) }
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, name)
        .output()
        .unwrap();
    eprintln!(
        "child {name}: {:?}\n--- stdout\n{}--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Our allow-list for the children: print, exit, and nothing else.
fn our_program(extra: &[i64]) -> corten_sandbox::seccompiler::BpfProgram {
    let mut rules = BTreeMap::new();
    rules.insert(libc::SYS_write, arg_in(0, &[1, 2]).unwrap());
    rules.insert(libc::SYS_exit_group, vec![]);
    rules.insert(libc::SYS_exit, vec![]);
    for &nr in extra {
        rules.insert(nr, vec![]);
    }
    compile(rules).unwrap()
}

/// A filter "someone else" installs: `refused` calls get `action`,
/// everything else is allowed.
fn install_foreign(refused: &[i64], action: SeccompAction) {
    let rules: BTreeMap<i64, Vec<SeccompRule>> = refused.iter().map(|&nr| (nr, vec![])).collect();
    let filter = SeccompFilter::new(rules, SeccompAction::Allow, action, host_arch()).unwrap();
    let program: corten_sandbox::seccompiler::BpfProgram = filter.try_into().unwrap();
    corten_sandbox::seccompiler::apply_filter(&program).unwrap();
}

fn getpid() -> libc::c_long {
    // SAFETY: getpid has no arguments and no effects.
    unsafe { libc::syscall(libc::SYS_getpid) }
}

fn is_sigsys(out: &Output) -> bool {
    out.status.signal() == Some(libc::SIGSYS)
}

#[test]
fn our_filter_kills_a_forbidden_call() {
    let out = child("our_filter_kills_a_forbidden_call", || {
        let before = seccomp_mode().unwrap();
        let installed = install(&our_program(&[])).unwrap();
        println!(
            "installed {installed:?} (stacked expected: {})",
            before.mode == SeccompMode::Filter
        );
        getpid();
        println!("survived getpid");
    });
    let text = stdout(&out);
    assert!(is_sigsys(&out), "child must die of SIGSYS");
    assert!(
        text.contains("installed Ours { stacked: false } (stacked expected: false)")
            || text.contains("installed Ours { stacked: true } (stacked expected: true)"),
        "{text}"
    );
    assert!(!text.contains("survived"));
}

/// The cheap path of the tenders: `apply` on all threads with a trapping
/// filter and the reporter: a forbidden call in another thread ends the
/// process with status 1 and a message naming the call.
#[test]
fn trapped_violations_are_reported_from_any_thread() {
    use std::sync::atomic::{AtomicBool, Ordering};
    static READY: AtomicBool = AtomicBool::new(false);
    static GO: AtomicBool = AtomicBool::new(false);
    let out = child("trapped_violations_are_reported_from_any_thread", || {
        // The worker finishes its start-up (which makes system calls and
        // allocates) before the filter; then it only spins, then calls.
        let worker = std::thread::spawn(|| {
            READY.store(true, Ordering::SeqCst);
            while !GO.load(Ordering::SeqCst) {
                std::hint::spin_loop();
            }
            getpid();
            println!("survived getpid");
        });
        while !READY.load(Ordering::SeqCst) {
            std::hint::spin_loop();
        }
        let mut rules = Rules::new();
        rules
            .allow(libc::SYS_exit_group)
            .allow(libc::SYS_exit)
            .allow(libc::SYS_futex)
            .allow(libc::SYS_rt_sigreturn)
            .allow_when_in(libc::SYS_write, 0, &[1, 2])
            .unwrap();
        let program = compile_with(rules, OnViolation::Trap).unwrap();
        report_violations("sandbox-test").unwrap();
        apply(&program, Threads::All).unwrap();
        GO.store(true, Ordering::SeqCst);
        let _ = worker.join();
    });
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "sandbox-test: internal error: the seccomp filter blocked system call {}",
            libc::SYS_getpid
        )),
        "{stderr}"
    );
    assert!(!stdout(&out).contains("survived"));
}

#[test]
fn trapping_foreign_filter_is_reported_not_tripped() {
    // Like urunc's filter for solo5-hvt: prctl and seccomp raise SIGSYS.
    let out = child("trapping_foreign_filter_is_reported_not_tripped", || {
        install_foreign(&[libc::SYS_prctl, libc::SYS_seccomp], SeccompAction::Trap);
        let installed = install(&our_program(&[])).unwrap();
        println!("installed {installed:?}");
        // Our filter is not in force: getpid works...
        println!("getpid ok: {}", getpid() > 0);
        // ...and the probe put SIGSYS back to its default: this kills.
        // SAFETY: PR_GET_SECCOMP has no pointers and no effects.
        unsafe { libc::prctl(libc::PR_GET_SECCOMP) };
        println!("survived prctl");
    });
    let text = stdout(&out);
    assert!(
        text.contains("installed Foreign(Blocked { syscall: \"prctl\", how: Trapped })"),
        "{text}"
    );
    assert!(text.contains("getpid ok: true"));
    assert!(is_sigsys(&out), "SIGSYS disposition must be restored");
    assert!(!text.contains("survived"));
}

#[test]
fn errno_foreign_filter_is_reported() {
    // Like Docker's profile when it forbids a call: EPERM.
    let out = child("errno_foreign_filter_is_reported", || {
        install_foreign(
            &[libc::SYS_seccomp],
            SeccompAction::Errno(libc::EPERM as u32),
        );
        let installed = install(&our_program(&[])).unwrap();
        println!("installed {installed:?}");
    });
    assert!(out.status.success());
    let expected = Installed::Foreign(Blocked {
        syscall: "seccomp",
        how: Refusal::Errno(libc::EPERM),
    });
    assert!(
        stdout(&out).contains(&format!("installed {expected:?}")),
        "{}",
        stdout(&out)
    );
}

#[test]
fn stacks_on_a_permissive_foreign_filter() {
    let out = child("stacks_on_a_permissive_foreign_filter", || {
        install_foreign(
            &[libc::SYS_getppid],
            SeccompAction::Errno(libc::EPERM as u32),
        );
        let installed = install(&our_program(&[libc::SYS_getppid])).unwrap();
        println!("installed {installed:?}");
        // SAFETY: getppid has no arguments and no effects.
        let ppid = unsafe { libc::syscall(libc::SYS_getppid) };
        println!("getppid still refused: {}", ppid == -1);
        getpid();
        println!("survived getpid");
    });
    let text = stdout(&out);
    assert!(text.contains("installed Ours { stacked: true }"), "{text}");
    assert!(text.contains("getppid still refused: true"));
    assert!(is_sigsys(&out));
    assert!(!text.contains("survived"));
}

/// Makes `/proc` disappear for this process (private mount namespace).
/// Returns false, after saying why, when that needs privileges we lack.
fn hide_proc() -> bool {
    // SAFETY: unshare with a flag constant; affects only this process.
    if unsafe { libc::unshare(libc::CLONE_NEWNS) } != 0 {
        println!(
            "SKIP: cannot create a mount namespace ({}); needs root",
            std::io::Error::last_os_error()
        );
        return false;
    }
    // SAFETY: null source/type/data are allowed for a propagation change;
    // the target is a NUL-terminated literal.
    let private = unsafe {
        libc::mount(
            std::ptr::null(),
            c"/".as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_PRIVATE,
            std::ptr::null(),
        )
    };
    // SAFETY: NUL-terminated literal path.
    let unmounted = unsafe { libc::umount2(c"/proc".as_ptr(), libc::MNT_DETACH) };
    assert_eq!(
        (private, unmounted),
        (0, 0),
        "{}",
        std::io::Error::last_os_error()
    );
    assert_eq!(read_proc_status(), None, "/proc must be gone");
    true
}

fn skipped(out: &Output) -> bool {
    let text = stdout(out);
    if text.contains("SKIP:") {
        eprintln!(
            "skipped: {}",
            text.lines().find(|l| l.contains("SKIP:")).unwrap_or("")
        );
        true
    } else {
        false
    }
}

#[test]
fn without_proc_mode_comes_from_prctl() {
    let expected = read_proc_status().unwrap().mode;
    let out = child("without_proc_mode_comes_from_prctl", || {
        if hide_proc() {
            println!("report {:?}", seccomp_mode().unwrap());
        }
    });
    assert!(out.status.success());
    if skipped(&out) {
        return;
    }
    let text = stdout(&out);
    assert!(
        text.contains(&format!(
            "report ModeReport {{ mode: {expected:?}, source: Prctl }}"
        )),
        "{text}"
    );
}

#[test]
fn without_proc_a_trapping_filter_is_detected() {
    // urunc's situation: no /proc, prctl and seccomp trapped.
    let out = child("without_proc_a_trapping_filter_is_detected", || {
        if !hide_proc() {
            return;
        }
        install_foreign(&[libc::SYS_prctl, libc::SYS_seccomp], SeccompAction::Trap);
        let report = seccomp_mode().unwrap();
        println!("report {report:?}");
        println!("installed {:?}", install(&our_program(&[])).unwrap());
    });
    assert!(out.status.success(), "the probes must survive the trap");
    if skipped(&out) {
        return;
    }
    let text = stdout(&out);
    let blocked = Blocked {
        syscall: "prctl",
        how: Refusal::Trapped,
    };
    assert!(
        text.contains(&format!(
            "report ModeReport {{ mode: Filter, source: {:?} }}",
            ModeSource::PrctlBlocked(blocked)
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("installed {:?}", Installed::Foreign(blocked))),
        "{text}"
    );
}
