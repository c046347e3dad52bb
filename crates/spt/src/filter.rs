//! The seccomp policy: after the jump the guest may make exactly these
//! system calls, with these arguments, and any other call kills the
//! process (SIGSYS). Descriptor and clock arguments are C `int`s that the
//! kernel truncates to 32 bits, so they are compared on their low 32 bits;
//! lengths and offsets are compared on all 64.
//!
//! | call | allowed when |
//! | --- | --- |
//! | `write` | fd == 1 (console), or fd == a tap |
//! | `read` | fd == a tap |
//! | `pread64`, `pwrite64` | fd == a block device, len == its block size, offset <= capacity - block size |
//! | `clock_gettime` | clock == CLOCK_MONOTONIC or CLOCK_REALTIME |
//! | `epoll_pwait` | fd == the epoll set |
//! | `timerfd_settime` | fd == the internal timerfd |
//! | `arch_prctl` (x86_64) | code == ARCH_SET_FS |
//! | `exit_group` | always |

use std::collections::BTreeMap;

use corten_tender::devices::{BlockDevice, NetDevice};
use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};

/// `ARCH_SET_FS` from `<asm/prctl.h>`.
#[cfg(target_arch = "x86_64")]
pub const ARCH_SET_FS: u64 = 0x1002;

/// A filter construction or installation problem.
#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    #[error("could not build the seccomp filter: {0}")]
    Build(seccompiler::BackendError),
    #[error("could not install the seccomp filter: {0}")]
    Install(seccompiler::Error),
}

/// What the guest is given.
#[derive(Clone, Debug)]
pub struct Policy {
    pub epollfd: i32,
    pub timerfd: i32,
    pub blocks: Vec<BlockDevice>,
    pub nets: Vec<NetDevice>,
}

fn cond(
    arg: u8,
    len: SeccompCmpArgLen,
    op: SeccompCmpOp,
    value: u64,
) -> Result<SeccompCondition, FilterError> {
    SeccompCondition::new(arg, len, op, value).map_err(FilterError::Build)
}

/// `int` argument `arg` equals `value`.
fn int_eq(arg: u8, value: i64) -> Result<SeccompCondition, FilterError> {
    // Only the low 32 bits matter to the kernel for an int argument.
    cond(
        arg,
        SeccompCmpArgLen::Dword,
        SeccompCmpOp::Eq,
        value as u32 as u64,
    )
}

fn rule(conds: Vec<SeccompCondition>) -> Result<SeccompRule, FilterError> {
    SeccompRule::new(conds).map_err(FilterError::Build)
}

/// The allow-list as seccompiler rules (syscall number → alternatives).
pub fn rules(p: &Policy) -> Result<BTreeMap<i64, Vec<SeccompRule>>, FilterError> {
    let mut r: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    let mut allow = |nr: libc::c_long, rl: SeccompRule| r.entry(nr).or_default().push(rl);

    allow(libc::SYS_write, rule(vec![int_eq(0, 1)?])?);
    for n in &p.nets {
        allow(libc::SYS_read, rule(vec![int_eq(0, n.fd.into())?])?);
        allow(libc::SYS_write, rule(vec![int_eq(0, n.fd.into())?])?);
    }
    for b in &p.blocks {
        let max_offset = b.capacity.saturating_sub(u64::from(b.block_size));
        for nr in [libc::SYS_pread64, libc::SYS_pwrite64] {
            allow(
                nr,
                rule(vec![
                    int_eq(0, b.fd.into())?,
                    cond(
                        2,
                        SeccompCmpArgLen::Qword,
                        SeccompCmpOp::Eq,
                        b.block_size.into(),
                    )?,
                    cond(3, SeccompCmpArgLen::Qword, SeccompCmpOp::Le, max_offset)?,
                ])?,
            );
        }
    }
    allow(
        libc::SYS_clock_gettime,
        rule(vec![int_eq(0, libc::CLOCK_MONOTONIC.into())?])?,
    );
    allow(
        libc::SYS_clock_gettime,
        rule(vec![int_eq(0, libc::CLOCK_REALTIME.into())?])?,
    );
    allow(
        libc::SYS_epoll_pwait,
        rule(vec![int_eq(0, p.epollfd.into())?])?,
    );
    allow(
        libc::SYS_timerfd_settime,
        rule(vec![int_eq(0, p.timerfd.into())?])?,
    );
    #[cfg(target_arch = "x86_64")]
    allow(
        libc::SYS_arch_prctl,
        rule(vec![int_eq(0, ARCH_SET_FS as i64)?])?,
    );
    // An empty rule list means "always" to seccompiler.
    r.insert(libc::SYS_exit_group, Vec::new());
    Ok(r)
}

/// The host architecture as seccompiler names it.
pub fn target_arch() -> TargetArch {
    #[cfg(target_arch = "x86_64")]
    return TargetArch::x86_64;
    #[cfg(target_arch = "aarch64")]
    return TargetArch::aarch64;
}

/// Compiles the policy to BPF: allowed calls return ALLOW, everything else
/// (including another architecture's calling convention) KILL_PROCESS.
pub fn build(p: &Policy) -> Result<BpfProgram, FilterError> {
    let filter = SeccompFilter::new(
        rules(p)?,
        SeccompAction::KillProcess,
        SeccompAction::Allow,
        target_arch(),
    )
    .map_err(FilterError::Build)?;
    filter.try_into().map_err(|e| match e {
        seccompiler::BackendError::FilterTooLarge(_) => FilterError::Build(e),
        other => FilterError::Build(other),
    })
}

/// Sets `no_new_privs` and installs `prog` on the calling thread. Nothing
/// but the allow-listed calls work afterwards.
pub fn install(prog: &BpfProgram) -> Result<(), FilterError> {
    seccompiler::apply_filter(prog).map_err(FilterError::Install)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(blocks: usize) -> Policy {
        Policy {
            epollfd: 3,
            timerfd: 4,
            blocks: (0..blocks)
                .map(|i| BlockDevice {
                    handle: i as u64 + 1,
                    fd: 900 + i as i32,
                    capacity: 4096,
                    block_size: 512,
                })
                .collect(),
            nets: vec![NetDevice {
                handle: 64,
                fd: 100,
                mac: [2, 0, 0, 0, 0, 1],
                mtu: 1500,
            }],
        }
    }

    #[test]
    fn allow_list_has_exactly_the_expected_calls() {
        let r = rules(&policy(1)).unwrap();
        let mut expected = vec![
            libc::SYS_write,
            libc::SYS_read,
            libc::SYS_pread64,
            libc::SYS_pwrite64,
            libc::SYS_clock_gettime,
            libc::SYS_epoll_pwait,
            libc::SYS_timerfd_settime,
            libc::SYS_exit_group,
        ];
        #[cfg(target_arch = "x86_64")]
        expected.push(libc::SYS_arch_prctl);
        expected.sort();
        assert_eq!(r.keys().copied().collect::<Vec<_>>(), expected);
        assert_eq!(r[&libc::SYS_write].len(), 2);
        assert_eq!(r[&libc::SYS_clock_gettime].len(), 2);
        assert!(r[&libc::SYS_exit_group].is_empty());
    }

    #[test]
    fn sixty_three_block_devices_fit() {
        let prog = build(&policy(63)).unwrap();
        assert!(prog.len() < 4096, "{} instructions", prog.len());
    }

    /// Runs `body` in a forked child under the filter of `policy(1)` and
    /// returns how the child ended.
    fn in_child(body: fn() -> i32) -> (Option<i32>, Option<i32>) {
        let prog = build(&policy(1)).unwrap();
        // SAFETY: the child only makes raw syscalls and _exit()s; it does
        // not touch locks or allocate after fork.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0);
        if pid == 0 {
            if install(&prog).is_err() {
                // SAFETY: _exit is async-signal-safe.
                unsafe { libc::_exit(99) };
            }
            let code = body();
            // SAFETY: _exit is async-signal-safe.
            unsafe { libc::_exit(code) };
        }
        let mut status = 0;
        // SAFETY: waits for the child forked above.
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        if libc::WIFEXITED(status) {
            (Some(libc::WEXITSTATUS(status)), None)
        } else {
            (None, Some(libc::WTERMSIG(status)))
        }
    }

    #[test]
    fn allowed_calls_pass_and_others_kill() {
        // clock_gettime(MONOTONIC) is allowed; the arguments reach the kernel.
        assert_eq!(
            in_child(|| {
                let mut ts = libc::timespec {
                    tv_sec: 0,
                    tv_nsec: 0,
                };
                // SAFETY: raw syscall with a valid out-pointer.
                let rc = unsafe {
                    libc::syscall(libc::SYS_clock_gettime, libc::CLOCK_MONOTONIC, &mut ts)
                };
                rc as i32 + 7
            }),
            (Some(7), None)
        );
        // CLOCK_BOOTTIME is not.
        let r = in_child(|| {
            let mut ts = libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            // SAFETY: raw syscall with a valid out-pointer.
            unsafe { libc::syscall(libc::SYS_clock_gettime, libc::CLOCK_BOOTTIME, &mut ts) };
            0
        });
        assert_eq!(r, (None, Some(libc::SIGSYS)));
        // getpid is not on the list at all.
        let r = in_child(|| {
            // SAFETY: raw syscall without arguments.
            unsafe { libc::syscall(libc::SYS_getpid) };
            0
        });
        assert_eq!(r, (None, Some(libc::SIGSYS)));
    }

    #[test]
    fn block_rules_pin_length_and_offset() {
        // fd 900 is not open in the child, so an allowed call fails with EBADF
        // (exit 0) while a forbidden one is killed.
        fn pread(len: usize, off: i64) -> i32 {
            let mut buf = [0u8; 1024];
            // SAFETY: raw syscall reading at most `len` <= 1024 bytes into `buf`.
            let rc = unsafe { libc::syscall(libc::SYS_pread64, 900, buf.as_mut_ptr(), len, off) };
            if rc < 0 {
                0
            } else {
                1
            }
        }
        assert_eq!(in_child(|| pread(512, 0)), (Some(0), None));
        assert_eq!(in_child(|| pread(512, 3584)), (Some(0), None));
        assert_eq!(in_child(|| pread(512, 3585)), (None, Some(libc::SIGSYS)));
        assert_eq!(in_child(|| pread(512, -512)), (None, Some(libc::SIGSYS)));
        assert_eq!(in_child(|| pread(1024, 0)), (None, Some(libc::SIGSYS)));
        assert_eq!(in_child(|| pread(511, 0)), (None, Some(libc::SIGSYS)));
    }
}
