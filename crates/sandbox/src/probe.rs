//! Calling a system call that someone else's seccomp filter may forbid,
//! without dying of it.
//!
//! A foreign filter can refuse a call three ways: with an errno (Docker,
//! systemd's default), with `SECCOMP_RET_TRAP` (a SIGSYS signal, urunc's
//! choice for solo5-hvt), or by killing the process. The first two are
//! survivable: while a probe runs, a SIGSYS handler records the trap
//! instead of letting the default action end the process. The third is not
//! and cannot be detected beforehand; such a filter would kill any attempt
//! to install ours anyway.
//!
//! The handler is process-wide, so probes run one at a time, and they are
//! meant for the single-threaded start of a program. SIGSYS must not be
//! blocked (the kernel resets a blocked trap signal to its default action).

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// Set by the handler when the probed call was trapped.
static TRAPPED: AtomicBool = AtomicBool::new(false);
/// One probe at a time (the handler and flag are process-wide).
static PROBE_LOCK: Mutex<()> = Mutex::new(());

extern "C" fn on_sigsys(_sig: libc::c_int, _info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    // Only an atomic store: async-signal-safe.
    TRAPPED.store(true, Ordering::SeqCst);
}

/// What a probed system call did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// It returned this value (>= 0).
    Returned(libc::c_long),
    /// It failed with this errno.
    Failed(i32),
    /// A seccomp filter trapped it (SIGSYS).
    Trapped,
}

/// Runs `call` (one raw system call returning -1/errno on failure) with a
/// SIGSYS handler in place, and restores the previous disposition.
pub(crate) fn guarded(call: impl FnOnce() -> libc::c_long) -> io::Result<Outcome> {
    let _lock = PROBE_LOCK
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    TRAPPED.store(false, Ordering::SeqCst);

    // SAFETY: an all-zero sigaction is a valid value (empty mask, no flags).
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = on_sigsys as *const () as usize;
    action.sa_flags = libc::SA_SIGINFO;
    // SAFETY: as above; filled in by the kernel below.
    let mut previous: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are to live, initialised sigaction values, and
    // the handler only stores to an atomic.
    if unsafe { libc::sigaction(libc::SIGSYS, &action, &mut previous) } != 0 {
        return Err(io::Error::last_os_error());
    }

    let rc = call();
    let errno = io::Error::last_os_error().raw_os_error().unwrap_or(0);
    let trapped = TRAPPED.load(Ordering::SeqCst);

    // SAFETY: restores the disposition saved above.
    let restored = unsafe { libc::sigaction(libc::SIGSYS, &previous, std::ptr::null_mut()) };
    if restored != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(if trapped {
        Outcome::Trapped
    } else if rc < 0 {
        Outcome::Failed(errno)
    } else {
        Outcome::Returned(rc)
    })
}

/// `prctl(PR_GET_SECCOMP)`: the calling thread's seccomp mode.
pub(crate) fn prctl_get_seccomp() -> io::Result<Outcome> {
    guarded(|| {
        // SAFETY: PR_GET_SECCOMP takes no pointers and changes nothing.
        unsafe { libc::syscall(libc::SYS_prctl, libc::PR_GET_SECCOMP, 0, 0, 0, 0) }
    })
}

/// `prctl(PR_GET_NO_NEW_PRIVS)`: harmless, and tells whether `prctl` is
/// allowed before we call `prctl(PR_SET_NO_NEW_PRIVS)`.
pub(crate) fn prctl_get_no_new_privs() -> io::Result<Outcome> {
    guarded(|| {
        // SAFETY: PR_GET_NO_NEW_PRIVS takes no pointers and changes nothing.
        unsafe { libc::syscall(libc::SYS_prctl, libc::PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) }
    })
}

/// `seccomp(SECCOMP_GET_ACTION_AVAIL, 0, &KILL_PROCESS)`: harmless, and
/// tells whether the `seccomp` system call is allowed.
pub(crate) fn seccomp_action_avail() -> io::Result<Outcome> {
    let action: u32 = libc::SECCOMP_RET_KILL_PROCESS;
    guarded(|| {
        // SAFETY: the kernel reads a u32 from a pointer to a live local.
        unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_GET_ACTION_AVAIL,
                0,
                &action as *const u32,
            )
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_return_when_nothing_forbids_them() {
        // Test processes may themselves run under a permissive filter
        // (mode 2), never strict mode.
        let mode = prctl_get_seccomp().unwrap();
        assert!(matches!(mode, Outcome::Returned(0 | 2)), "{mode:?}");
        assert!(matches!(
            prctl_get_no_new_privs().unwrap(),
            Outcome::Returned(0 | 1)
        ));
        assert_eq!(seccomp_action_avail().unwrap(), Outcome::Returned(0));
    }

    #[test]
    fn failed_calls_report_errno() {
        let outcome = guarded(|| {
            // SAFETY: closing an fd that cannot be open has no effect.
            unsafe { libc::syscall(libc::SYS_close, -1) }
        })
        .unwrap();
        assert_eq!(outcome, Outcome::Failed(libc::EBADF));
    }
}
