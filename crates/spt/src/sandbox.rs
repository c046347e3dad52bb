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

use corten_sandbox::seccompiler::BpfProgram;
use corten_sandbox::{compile_with, int_eq, u64_eq, u64_le, OnViolation, Rules, Threads};
use corten_tender::devices::{BlockDevice, NetDevice};

pub use corten_sandbox::SandboxError as FilterError;

/// `ARCH_SET_FS` from `<asm/prctl.h>`.
#[cfg(target_arch = "x86_64")]
pub const ARCH_SET_FS: u64 = 0x1002;

/// What the guest is given.
#[derive(Clone, Debug)]
pub struct Policy {
    pub epollfd: i32,
    pub timerfd: i32,
    pub blocks: Vec<BlockDevice>,
    pub nets: Vec<NetDevice>,
}

/// The allow-list.
pub fn rules(p: &Policy) -> Result<Rules, FilterError> {
    let mut r = Rules::new();
    let taps: Vec<i64> = p.nets.iter().map(|n| i64::from(n.fd)).collect();
    r.allow_when_in(libc::SYS_write, 0, &[1])?
        .allow_when_in(libc::SYS_write, 0, &taps)?
        .allow_when_in(libc::SYS_read, 0, &taps)?;
    for b in &p.blocks {
        let max_offset = b.capacity.saturating_sub(b.block_size);
        for nr in [libc::SYS_pread64, libc::SYS_pwrite64] {
            r.allow_when(
                nr,
                vec![
                    int_eq(0, i64::from(b.fd))?,
                    u64_eq(2, b.block_size)?,
                    u64_le(3, max_offset)?,
                ],
            )?;
        }
    }
    r.allow_when_in(
        libc::SYS_clock_gettime,
        0,
        &[
            i64::from(libc::CLOCK_MONOTONIC),
            i64::from(libc::CLOCK_REALTIME),
        ],
    )?
    .allow_when_in(libc::SYS_epoll_pwait, 0, &[i64::from(p.epollfd)])?
    .allow_when_in(libc::SYS_timerfd_settime, 0, &[i64::from(p.timerfd)])?;
    #[cfg(target_arch = "x86_64")]
    r.allow_when_in(libc::SYS_arch_prctl, 0, &[ARCH_SET_FS as i64])?;
    r.allow(libc::SYS_exit_group);
    Ok(r)
}

/// Compiles the policy to BPF: allowed calls return ALLOW, everything else
/// (including another architecture's calling convention) KILL_PROCESS.
pub fn build(p: &Policy) -> Result<BpfProgram, FilterError> {
    compile_with(rules(p)?, OnViolation::Kill)
}

/// Sets `no_new_privs` and installs `prog` on the calling thread, without
/// probing (start-up time matters). Nothing but the allow-listed calls
/// work afterwards.
pub fn install(prog: &BpfProgram) -> Result<(), FilterError> {
    corten_sandbox::apply(prog, Threads::Calling)
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
                    name: format!("disk{i}"),
                    fd: 900 + i as i32,
                    capacity: 4096,
                    block_size: 512,
                })
                .collect(),
            nets: vec![NetDevice {
                handle: 64,
                name: "service".into(),
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
        assert_eq!(r.calls().collect::<Vec<_>>(), expected);
        assert_eq!(r.alternatives(libc::SYS_write), Some(2));
        assert_eq!(r.alternatives(libc::SYS_clock_gettime), Some(2));
        assert_eq!(r.alternatives(libc::SYS_exit_group), Some(0));
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
