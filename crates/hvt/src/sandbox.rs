//! The tender's own seccomp filter, and knowing when not to install it.
//!
//! After set-up the tender only needs a handful of system calls, each
//! pinned to the descriptors it owns (see [`Policy::rules`]). The filter is
//! installed just before the first KVM_RUN.
//!
//! Orchestrators may already confine the tender: urunc launches solo5-hvt
//! under its own allow-list that traps every other system call with SIGSYS,
//! and that list contains neither `seccomp` nor `prctl`, after a pivot_root
//! without /proc. Installing a filter there would be the fatal call. So
//! before installing, the tender reads its seccomp mode from
//! /proc/self/status (open/read are on urunc's list):
//! - `Seccomp: 0`: not confined, install our filter;
//! - `Seccomp: 2` (or 1): already confined; say so and run under the
//!   outer filter, whose allow-list the run loop fits (see README);
//! - /proc unreadable: the state is unknown and the only way to learn it
//!   (`prctl(PR_GET_SECCOMP)`) may itself be forbidden, so assume a
//!   confining launcher, say so, and run.

use std::os::fd::RawFd;

use corten_sandbox::seccompiler::BpfProgram;
pub use corten_sandbox::Confinement;
use corten_sandbox::{
    bits_clear, compile_with, int_eq, u64_eq, u64_le, OnViolation, Rules, SandboxError, Threads,
};

use crate::vm::{kvm_ioctl, IoctlDir};

/// The tender's seccomp state: from /proc; without /proc, from
/// `prctl(PR_GET_SECCOMP)` probed under a SIGSYS handler, so that a
/// launcher's trapping filter (urunc's) is recognised and an unconfined
/// tender still installs its own filter (it must never run unfiltered
/// just because /proc is missing).
pub fn detect() -> Confinement {
    match corten_sandbox::confinement() {
        Confinement::Unknown { reason } => from_probe(reason),
        known => known,
    }
}

fn from_probe(proc_reason: String) -> Confinement {
    match corten_sandbox::seccomp_mode() {
        Ok(r) if r.mode == corten_sandbox::SeccompMode::Disabled => Confinement::Unconfined,
        // Filtered (the probe returned 2, or a filter trapped or refused
        // it): a launcher confines the tender.
        Ok(r) => Confinement::Confined(corten_sandbox::ProcStatus {
            mode: r.mode,
            filters: None,
        }),
        Err(e) => Confinement::Unknown {
            reason: format!("{proc_reason}; and probing with prctl failed: {e}"),
        },
    }
}

/// The descriptors the run loop uses, which the filter pins.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    pub vcpu_fd: RawFd,
    /// (fd, block size, capacity) per block device.
    pub block: Vec<(RawFd, u64, u64)>,
    /// Tap descriptors.
    pub net: Vec<RawFd>,
    pub epoll_fd: RawFd,
    pub timer_fd: RawFd,
    /// The network ring's kick eventfd, when its I/O thread runs: that
    /// thread reads it (and the taps), the vCPU thread writes it once at
    /// the end. The filter is then installed on all threads (TSYNC).
    pub net_ring_kick_fd: Option<RawFd>,
}

/// `KVM_RUN`
pub const KVM_RUN: u64 = kvm_ioctl(IoctlDir::None, 0x80, 0);
#[cfg(target_arch = "x86_64")]
const VCPU_STATE_IOCTLS: [u64; 4] = {
    use kvm_bindings::{kvm_regs, kvm_sregs};
    use std::mem::size_of;
    [
        kvm_ioctl(IoctlDir::Read, 0x81, size_of::<kvm_regs>()), // KVM_GET_REGS
        kvm_ioctl(IoctlDir::Write, 0x82, size_of::<kvm_regs>()), // KVM_SET_REGS
        kvm_ioctl(IoctlDir::Read, 0x83, size_of::<kvm_sregs>()), // KVM_GET_SREGS
        kvm_ioctl(IoctlDir::Write, 0x84, size_of::<kvm_sregs>()), // KVM_SET_SREGS
    ]
};
#[cfg(target_arch = "aarch64")]
const VCPU_STATE_IOCTLS: [u64; 1] = [kvm_ioctl(
    IoctlDir::Write,
    0xab,
    std::mem::size_of::<kvm_bindings::kvm_one_reg>(),
)]; // KVM_GET_ONE_REG

impl Policy {
    /// The allow-list.
    pub fn rules(&self) -> Result<Rules, SandboxError> {
        let mut r = Rules::new();
        let vcpu = i64::from(self.vcpu_fd);

        // ioctl(vcpu, KVM_RUN) and register access for dumps and ring-3
        // switching; nothing on the VM or /dev/kvm descriptors.
        for nr in std::iter::once(KVM_RUN).chain(VCPU_STATE_IOCTLS) {
            r.allow_when(
                libc::SYS_ioctl,
                vec![int_eq(0, vcpu)?, int_eq(1, nr as i64)?],
            )?;
        }

        // Console and diagnostics; tap I/O; the ring's kick eventfd (read
        // by its I/O thread, written once at the end).
        let mut writes = vec![1, 2];
        let mut reads = Vec::new();
        for fd in self.net.iter().copied().chain(self.net_ring_kick_fd) {
            writes.push(i64::from(fd));
            reads.push(i64::from(fd));
        }
        r.allow_when_in(libc::SYS_write, 0, &writes)?;
        r.allow_when_in(libc::SYS_read, 0, &reads)?;

        // Block I/O: exactly one block, never past the end.
        for &(fd, block_size, capacity) in &self.block {
            let last = capacity.saturating_sub(block_size);
            for nr in [libc::SYS_pread64, libc::SYS_pwrite64] {
                r.allow_when(
                    nr,
                    vec![
                        int_eq(0, i64::from(fd))?,
                        u64_eq(2, block_size)?,
                        u64_le(3, last)?,
                    ],
                )?;
            }
        }

        // The poll hypercall.
        r.allow_when_in(libc::SYS_epoll_pwait, 0, &[i64::from(self.epoll_fd)])?;
        r.allow_when_in(libc::SYS_timerfd_settime, 0, &[i64::from(self.timer_fd)])?;

        // Time (normally served by the vDSO without a system call).
        r.allow(libc::SYS_clock_gettime);

        // Memory for error messages (never executable).
        r.allow(libc::SYS_brk).allow(libc::SYS_munmap);
        r.allow_when(libc::SYS_mmap, vec![bits_clear(2, libc::PROT_EXEC as u32)?])?;

        // Leaving, and returning from the signal handlers.
        r.allow(libc::SYS_exit_group)
            .allow(libc::SYS_exit)
            .allow(libc::SYS_rt_sigreturn);
        Ok(r)
    }

    /// The compiled BPF program: violations raise SIGSYS, which
    /// [`install`](Self::install)'s handler reports.
    pub fn compile(&self) -> Result<BpfProgram, SandboxError> {
        compile_with(self.rules()?, OnViolation::Trap)
    }

    /// Installs the filter on the calling thread, and on the ring's I/O
    /// thread if there is one. A violation traps to a handler that names
    /// the system call and exits with status 1. Call only when
    /// [`detect`] says the tender is not confined.
    pub fn install(&self) -> Result<(), SandboxError> {
        let prog = self.compile()?;
        corten_sandbox::report_violations(crate::diag::prog()).map_err(SandboxError::SigAction)?;
        let threads = if self.net_ring_kick_fd.is_some() {
            Threads::All
        } else {
            Threads::Calling
        };
        corten_sandbox::apply(&prog, threads)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_readable() {
        // The test harness itself runs unconfined or confined, but /proc
        // exists on every machine the tests run on.
        assert!(!matches!(detect(), Confinement::Unknown { .. }));
    }

    #[test]
    fn kvm_ioctl_numbers() {
        assert_eq!(KVM_RUN, 0xae80);
        #[cfg(target_arch = "x86_64")]
        assert_eq!(VCPU_STATE_IOCTLS[0], 0x8090_ae81);
        #[cfg(target_arch = "x86_64")]
        assert_eq!(VCPU_STATE_IOCTLS[3], 0x4138_ae84);
    }

    #[test]
    fn policy_compiles() {
        let p = Policy {
            vcpu_fd: 7,
            block: vec![(8, 512, 1 << 20)],
            net: vec![9, 10],
            epoll_fd: 11,
            timer_fd: 12,
            net_ring_kick_fd: Some(13),
        };
        let prog = p.compile().unwrap();
        assert!(prog.len() > 20);
        let rules = p.rules().unwrap();
        assert!(rules.contains(libc::SYS_pread64));
        assert!(!rules.contains(libc::SYS_openat));
        assert!(!rules.contains(libc::SYS_seccomp));
        // fd 1, 2, both taps and the kick eventfd.
        assert_eq!(rules.alternatives(libc::SYS_write), Some(5));
        assert_eq!(rules.alternatives(libc::SYS_read), Some(3));
        assert_eq!(rules.alternatives(libc::SYS_clock_gettime), Some(0));
    }
}
