//! The container's pid 1 when corten-oci made it a new pid namespace.
//!
//! A pid 1 only receives the signals it has handlers for: exec'd there, an
//! spt unikernel's tender would ignore the SIGTERM that `podman stop`,
//! `ctr task kill` and Kubernetes' StopContainer send first, and every stop
//! would wait out the grace period. So the init stays pid 1, runs the
//! tender as its child, forwards every signal it gets to it, and exits as
//! the tender did (its status, or 128 + the signal that killed it, which is
//! what containerd reports for a killed init anyway). Without a new pid
//! namespace the tender is exec'd directly.

use std::ffi::CString;
use std::io::Write;

use crate::error::OciError;

pub fn all_signals() -> libc::sigset_t {
    // SAFETY: sigset_t is plain data; sigfillset initialises it.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid sigset_t.
    unsafe { libc::sigfillset(&mut set) };
    set
}

/// Execs `argv` (with `envp`) as a child and supervises it; never returns
/// unless the fork fails.
pub fn run(
    argv: &[*const libc::c_char],
    envp: &[*const libc::c_char],
    name: &CString,
) -> Result<(), OciError> {
    let all = all_signals();
    let mut old = all_signals();
    // SAFETY: blocks every signal for this (single-threaded) process, so
    // none is lost between the fork and sigwaitinfo; `old` receives the
    // previous mask.
    unsafe { libc::sigprocmask(libc::SIG_BLOCK, &all, &mut old) };
    // SAFETY: fork of a single-threaded process.
    let child = unsafe { libc::fork() };
    if child < 0 {
        return Err(OciError::last_os("fork of the tender"));
    }
    if child == 0 {
        // SAFETY: the tender starts with the mask the init had, then
        // replaces this process; argv/envp are NULL-terminated arrays of
        // live C strings.
        unsafe {
            libc::sigprocmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
            libc::execve(argv[0], argv.as_ptr(), envp.as_ptr());
        }
        let e = std::io::Error::last_os_error();
        let _ = writeln!(
            std::io::stderr(),
            "corten-oci: container init: exec {}: {e}",
            name.to_string_lossy()
        );
        // SAFETY: ends the child without unwinding.
        unsafe { libc::_exit(127) };
    }
    let code = supervise(child, &all);
    // SAFETY: the tender is gone: so is the container.
    unsafe { libc::_exit(code) }
}

/// Forwards every signal in `signals` (blocked by the caller) to `child`
/// until it exits; its exit status, or 128 + the signal that killed it.
/// Other children that exit meanwhile are reaped (a pid 1 inherits
/// orphans).
pub fn supervise(child: libc::pid_t, signals: &libc::sigset_t) -> i32 {
    loop {
        // A SIGCHLD that came before the caller blocked it was not queued:
        // look before waiting.
        let mut status = 0;
        loop {
            // SAFETY: reaps any exited child, without blocking.
            let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
            if pid == child {
                return if libc::WIFEXITED(status) {
                    libc::WEXITSTATUS(status)
                } else {
                    128 + libc::WTERMSIG(status)
                };
            }
            if pid <= 0 {
                break;
            }
        }
        // SAFETY: `info` is plain data sigwaitinfo fills in.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: waits for one of the blocked signals.
        let sig = unsafe { libc::sigwaitinfo(signals, &mut info) };
        if sig > 0 && sig != libc::SIGCHLD {
            // SAFETY: forwards the signal to the child.
            unsafe { libc::kill(child, sig) };
        }
    }
}
