//! The seccomp mechanics of `corten-elftool`, `corten-spt` and
//! `corten-hvt`; each keeps its own allow-list (that is policy).
//!
//! - [`Rules`] builds an allow-list (with [`int_eq`], [`u64_le`], … for
//!   arguments); [`compile_with`] turns it into a BPF program whose
//!   default action kills the process ([`OnViolation::Kill`]) or raises
//!   SIGSYS ([`OnViolation::Trap`], with [`report_violations`] naming the
//!   call and exiting 1). [`compile`] takes a raw rule map and kills.
//! - [`apply`]: the cheap install (`PR_SET_NO_NEW_PRIVS`, `seccomp`, on the
//!   calling thread or all threads), no probing: spt's path, whose start-up
//!   time matters, and hvt's once it knows it is not confined.
//! - [`confinement`]: is someone else's filter already in force, from
//!   `/proc` alone (no `/proc`: unknown). hvt installs nothing unless
//!   unconfined, because under urunc `prctl`/`seccomp` are the fatal calls.
//! - [`install`]: the careful install for programs that may run under any
//!   launcher (elftool): it checks the current state, probing with
//!   SIGSYS caught where `/proc` is missing, and tells apart "installed"
//!   ([`Installed::Ours`]), "someone else's filter already confines this
//!   process and forbids installing ours" ([`Installed::Foreign`]) and a
//!   real failure ([`SandboxError`]).
//! - [`seccomp_mode`] reads the process's own seccomp mode.
//!
//! # Already confined by someone else
//!
//! An orchestrator may start a tender under its own filter. urunc, for
//! example, runs `solo5-hvt` after `pivot_root` with no `/proc`, under a
//! filter whose default action is `SECCOMP_RET_TRAP` and which allows
//! neither `prctl` nor `seccomp`. Calling either there would raise SIGSYS
//! and end the process. So:
//!
//! 1. The mode comes from `/proc/thread-self/status` (filters are per
//!    thread) or `/proc/self/status` when they can be read: no
//!    system call beyond `openat`/`read`/`close` is needed.
//! 2. Without `/proc`, `prctl(PR_GET_SECCOMP)` is the only source. It runs
//!    under a temporary SIGSYS handler (`rt_sigaction`, which urunc
//!    allows): a trap or an errno means "a foreign filter forbids prctl".
//! 3. When a foreign filter is present, `prctl(PR_GET_NO_NEW_PRIVS)` and
//!    `seccomp(SECCOMP_GET_ACTION_AVAIL)` are probed the same way before
//!    the real calls; if either is refused, nothing else is attempted and
//!    [`install`] returns [`Installed::Foreign`].
//!
//! What cannot be handled: a foreign filter that *kills* on `prctl` in a
//! process without `/proc` (there is no way to ask without calling it), or
//! one that allows the harmless probes but refuses the real calls by
//! trapping. Both would kill the process; neither is known to be used by
//! an orchestrator. These functions are meant for the single-threaded start
//! of a program, with SIGSYS not blocked.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod probe;
mod report;
mod rules;
mod status;

use std::collections::BTreeMap;
use std::fmt;
use std::io;

use probe::Outcome;
pub use report::report_violations;
pub use rules::{arg_in, bits_clear, int_eq, u64_eq, u64_le, Rules};
pub use seccompiler;
use seccompiler::{BpfProgram, SeccompAction, SeccompFilter, SeccompRule, TargetArch};
pub use status::{
    confinement, parse_proc_status, read_proc_status, Confinement, ProcStatus, SeccompMode,
};
use thiserror::Error;

/// A sandbox that could not be set up.
#[derive(Debug, Error)]
pub enum SandboxError {
    #[error("cannot build the seccomp filter: {0}")]
    Compile(#[from] seccompiler::BackendError),
    #[error("cannot install an empty seccomp filter")]
    EmptyFilter,
    #[error("cannot set up a SIGSYS handler to probe the seccomp state: {0}")]
    SigAction(io::Error),
    #[error("prctl(PR_SET_NO_NEW_PRIVS) failed: {0}")]
    NoNewPrivs(io::Error),
    #[error("installing the seccomp filter failed: {0}; the kernel needs CONFIG_SECCOMP_FILTER")]
    Install(io::Error),
    #[error("installing the seccomp filter failed: thread {0} could not be synchronised")]
    ThreadSync(libc::c_long),
    #[error(
        "internal error: system call {0} was given an empty condition list, which would allow \
         any arguments"
    )]
    NoConditions(i64),
}

/// How a foreign filter refused a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The call raised SIGSYS (`SECCOMP_RET_TRAP`).
    Trapped,
    /// The call failed with this errno (`SECCOMP_RET_ERRNO`).
    Errno(i32),
    /// The process is in strict mode: nothing can be installed.
    StrictMode,
}

/// A system call an existing seccomp filter refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Blocked {
    pub syscall: &'static str,
    pub how: Refusal,
}

impl fmt::Display for Blocked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.how {
            Refusal::Trapped => write!(
                f,
                "{} was trapped (SIGSYS) by a seccomp filter installed by someone else",
                self.syscall
            ),
            Refusal::Errno(errno) => write!(
                f,
                "{} was refused ({}) by a seccomp filter installed by someone else",
                self.syscall,
                io::Error::from_raw_os_error(errno)
            ),
            Refusal::StrictMode => f.write_str("the process is in seccomp strict mode"),
        }
    }
}

/// Where [`seccomp_mode`] learnt the mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModeSource {
    /// `/proc/self/status`, with its filter count when the kernel gives it.
    ProcStatus { filters: Option<u32> },
    /// `prctl(PR_GET_SECCOMP)` (no `/proc`).
    Prctl,
    /// No `/proc`, and a filter refused `prctl(PR_GET_SECCOMP)`: the mode
    /// is [`SeccompMode::Filter`] and that filter forbids `prctl`.
    PrctlBlocked(Blocked),
}

/// The process's seccomp mode and how it was learnt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModeReport {
    pub mode: SeccompMode,
    pub source: ModeSource,
}

/// The calling thread's seccomp mode, without ever dying of asking (see
/// the crate documentation for the one exception).
pub fn seccomp_mode() -> Result<ModeReport, SandboxError> {
    if let Some(status) = read_proc_status() {
        return Ok(ModeReport {
            mode: status.mode,
            source: ModeSource::ProcStatus {
                filters: status.filters,
            },
        });
    }
    let blocked = |how| ModeReport {
        mode: SeccompMode::Filter,
        source: ModeSource::PrctlBlocked(Blocked {
            syscall: "prctl",
            how,
        }),
    };
    Ok(
        match probe::prctl_get_seccomp().map_err(SandboxError::SigAction)? {
            Outcome::Returned(raw) => ModeReport {
                mode: u32::try_from(raw)
                    .ok()
                    .and_then(SeccompMode::from_raw)
                    .unwrap_or(SeccompMode::Filter),
                source: ModeSource::Prctl,
            },
            // A kernel without CONFIG_SECCOMP: nothing confines us.
            Outcome::Failed(libc::EINVAL) => ModeReport {
                mode: SeccompMode::Disabled,
                source: ModeSource::Prctl,
            },
            Outcome::Failed(errno) => blocked(Refusal::Errno(errno)),
            Outcome::Trapped => blocked(Refusal::Trapped),
        },
    )
}

/// The architecture seccomp filters are built for: the host's.
pub const fn host_arch() -> TargetArch {
    #[cfg(target_arch = "aarch64")]
    {
        TargetArch::aarch64
    }
    #[cfg(not(target_arch = "aarch64"))]
    {
        TargetArch::x86_64
    }
}

/// What a filter does to a system call that is not on its list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnViolation {
    /// `SECCOMP_RET_KILL_PROCESS`: the process dies of SIGSYS.
    Kill,
    /// `SECCOMP_RET_TRAP`: a SIGSYS the process can catch (see
    /// [`report_violations`]).
    Trap,
}

/// Compiles `rules` for the host architecture: a listed call is allowed
/// (with any arguments or when one of its rules holds); anything else,
/// another architecture's calling convention included, gets `on_violation`.
pub fn compile_with(rules: Rules, on_violation: OnViolation) -> Result<BpfProgram, SandboxError> {
    let action = match on_violation {
        OnViolation::Kill => SeccompAction::KillProcess,
        OnViolation::Trap => SeccompAction::Trap,
    };
    let filter = SeccompFilter::new(rules.into_map(), action, SeccompAction::Allow, host_arch())?;
    Ok(filter.try_into()?)
}

/// Compiles a raw allow-list map (an empty rule list means "any
/// arguments"); anything else kills the process.
pub fn compile(rules: BTreeMap<i64, Vec<SeccompRule>>) -> Result<BpfProgram, SandboxError> {
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::KillProcess,
        SeccompAction::Allow,
        host_arch(),
    )?;
    Ok(filter.try_into()?)
}

/// Which threads [`apply`] confines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Threads {
    /// The calling thread (and threads it creates later).
    Calling,
    /// Every thread of the process (`SECCOMP_FILTER_FLAG_TSYNC`).
    All,
}

/// Installs `program` with no checks and no probing: `PR_SET_NO_NEW_PRIVS`
/// then `seccomp(SECCOMP_SET_MODE_FILTER)`. For callers that know nothing
/// forbids these two calls (not confined, see [`confinement`]).
pub fn apply(program: &BpfProgram, threads: Threads) -> Result<(), SandboxError> {
    let result = match threads {
        Threads::Calling => seccompiler::apply_filter(program),
        Threads::All => seccompiler::apply_filter_all_threads(program),
    };
    result.map_err(from_apply_error)
}

fn from_apply_error(e: seccompiler::Error) -> SandboxError {
    match e {
        seccompiler::Error::Prctl(err) => SandboxError::NoNewPrivs(err),
        seccompiler::Error::Seccomp(err) => SandboxError::Install(err),
        seccompiler::Error::EmptyFilter => SandboxError::EmptyFilter,
        seccompiler::Error::Backend(err) => SandboxError::Compile(err),
        seccompiler::Error::ThreadSync(tid) => SandboxError::ThreadSync(tid),
    }
}

/// What [`install`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Installed {
    /// Our filter is in force. `stacked`: a filter installed by someone
    /// else was already there and stays in force too.
    Ours { stacked: bool },
    /// A filter installed by someone else confines the process and forbids
    /// installing ours; it alone stays in force. Whether that is
    /// acceptable is the caller's decision.
    Foreign(Blocked),
}

/// Installs `program` on the calling thread (`PR_SET_NO_NEW_PRIVS`, then
/// `seccomp(SECCOMP_SET_MODE_FILTER)`), after checking the current state so
/// that a foreign filter that forbids it is reported, not tripped over.
pub fn install(program: &BpfProgram) -> Result<Installed, SandboxError> {
    if program.is_empty() {
        return Err(SandboxError::EmptyFilter);
    }
    let report = seccomp_mode()?;
    let stacked = match (report.mode, report.source) {
        (SeccompMode::Strict, _) => {
            return Ok(Installed::Foreign(Blocked {
                syscall: "seccomp",
                how: Refusal::StrictMode,
            }))
        }
        (_, ModeSource::PrctlBlocked(blocked)) => return Ok(Installed::Foreign(blocked)),
        (SeccompMode::Disabled, _) => false,
        (SeccompMode::Filter, _) => {
            if let Some(blocked) = probe_foreign()? {
                return Ok(Installed::Foreign(blocked));
            }
            true
        }
    };
    match apply(program, Threads::Calling) {
        Ok(()) => Ok(Installed::Ours { stacked }),
        Err(e) => {
            let (syscall, error) = match e {
                SandboxError::NoNewPrivs(err) => ("prctl", err),
                SandboxError::Install(err) => ("seccomp", err),
                other => return Err(other),
            };
            match error.raw_os_error() {
                Some(errno @ (libc::EPERM | libc::EACCES)) if stacked => {
                    Ok(Installed::Foreign(Blocked {
                        syscall,
                        how: Refusal::Errno(errno),
                    }))
                }
                _ if syscall == "prctl" => Err(SandboxError::NoNewPrivs(error)),
                _ => Err(SandboxError::Install(error)),
            }
        }
    }
}

/// Under a foreign filter: may we call prctl and seccomp?
fn probe_foreign() -> Result<Option<Blocked>, SandboxError> {
    let refused = |syscall, outcome| match outcome {
        Outcome::Trapped => Some(Blocked {
            syscall,
            how: Refusal::Trapped,
        }),
        Outcome::Failed(errno) => Some(Blocked {
            syscall,
            how: Refusal::Errno(errno),
        }),
        Outcome::Returned(_) => None,
    };
    let prctl = probe::prctl_get_no_new_privs().map_err(SandboxError::SigAction)?;
    if let Some(blocked) = refused("prctl", prctl) {
        return Ok(Some(blocked));
    }
    let seccomp = probe::seccomp_action_avail().map_err(SandboxError::SigAction)?;
    Ok(match seccomp {
        // Older kernels: no GET_ACTION_AVAIL (EINVAL) or no KILL_PROCESS
        // (EOPNOTSUPP). The call itself was allowed.
        Outcome::Failed(libc::EINVAL | libc::EOPNOTSUPP) => None,
        other => refused("seccomp", other),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compile_builds_a_program() {
        let mut rules = BTreeMap::new();
        rules.insert(libc::SYS_write, arg_in(0, &[1, 2]).unwrap());
        rules.insert(libc::SYS_exit_group, vec![]);
        let program = compile(rules).unwrap();
        assert!(!program.is_empty());
    }

    #[test]
    fn compile_with_both_actions() {
        let mut rules = Rules::new();
        rules
            .allow(libc::SYS_exit_group)
            .allow_when_in(libc::SYS_write, 0, &[1, 2])
            .unwrap();
        for action in [OnViolation::Kill, OnViolation::Trap] {
            assert!(!compile_with(rules.clone(), action).unwrap().is_empty());
        }
    }

    #[test]
    fn mode_sources_agree() {
        let report = seccomp_mode().unwrap();
        assert!(matches!(report.source, ModeSource::ProcStatus { .. }));
        let via_prctl = probe::prctl_get_seccomp().unwrap();
        assert_eq!(
            via_prctl,
            Outcome::Returned(libc::c_long::from(report.mode.as_raw()))
        );
    }

    #[test]
    fn blocked_messages() {
        let b = Blocked {
            syscall: "prctl",
            how: Refusal::Errno(libc::EPERM),
        };
        assert!(b
            .to_string()
            .starts_with("prctl was refused (Operation not permitted"));
        let t = Blocked {
            syscall: "seccomp",
            how: Refusal::Trapped,
        };
        assert_eq!(
            t.to_string(),
            "seccomp was trapped (SIGSYS) by a seccomp filter installed by someone else"
        );
    }
}

/// What an exclusive, non-blocking `flock(2)` on a descriptor did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FlockOutcome {
    /// The lock is ours.
    Locked,
    /// Another open file (another process, typically) holds a lock.
    Busy,
    /// The lock could not be tried, and why (a launcher's seccomp filter
    /// trapped or refused the call, or the file system has no locks).
    Unavailable(String),
}

/// Tries `flock(fd, LOCK_EX | LOCK_NB)` under the SIGSYS guard, so that a
/// launcher whose filter traps `flock` (urunc's list lacks it) does not end
/// the process: that case is reported as [`FlockOutcome::Unavailable`].
pub fn flock_exclusive(fd: std::os::fd::RawFd) -> Result<FlockOutcome, SandboxError> {
    let outcome = probe::guarded(|| {
        // SAFETY: flock on a descriptor the caller owns; no memory is
        // passed.
        libc::c_long::from(unsafe { libc::flock(fd, libc::LOCK_EX | libc::LOCK_NB) })
    })
    .map_err(SandboxError::SigAction)?;
    Ok(match outcome {
        Outcome::Returned(_) => FlockOutcome::Locked,
        Outcome::Failed(libc::EWOULDBLOCK) => FlockOutcome::Busy,
        Outcome::Failed(e) => {
            FlockOutcome::Unavailable(format!("flock failed: {}", io::Error::from_raw_os_error(e)))
        }
        Outcome::Trapped => FlockOutcome::Unavailable(
            "the launcher's seccomp filter does not allow flock(2)".to_owned(),
        ),
    })
}

#[cfg(test)]
mod flock_tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn second_lock_on_another_open_file_is_busy() {
        let p = std::env::temp_dir().join(format!("corten-flock-{}", std::process::id()));
        std::fs::write(&p, b"x").unwrap();
        let a = std::fs::File::open(&p).unwrap();
        let b = std::fs::File::open(&p).unwrap();
        assert_eq!(
            flock_exclusive(a.as_raw_fd()).unwrap(),
            FlockOutcome::Locked
        );
        assert_eq!(flock_exclusive(b.as_raw_fd()).unwrap(), FlockOutcome::Busy);
        assert!(matches!(
            flock_exclusive(987_654).unwrap(),
            FlockOutcome::Unavailable(_)
        ));
        std::fs::remove_file(&p).unwrap();
    }
}
