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

use std::collections::BTreeMap;
use std::os::fd::RawFd;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("could not build the seccomp filter: {0}")]
    Build(seccompiler::BackendError),
    #[error("could not compile the seccomp filter: {0}")]
    Compile(seccompiler::BackendError),
    #[error("could not install the seccomp filter: {0}")]
    Install(seccompiler::Error),
    #[error("could not install the SIGSYS handler: {0}")]
    Handler(std::io::Error),
}

/// What the tender knows about an outer seccomp filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confinement {
    /// /proc/self/status says `Seccomp: 0`.
    Unconfined,
    /// /proc/self/status says seccomp mode `mode` (1 strict, 2 filter).
    Confined { mode: u32 },
    /// /proc/self/status could not be read (no /proc after pivot_root).
    Unknown { reason: String },
}

/// Reads the seccomp mode from /proc/self/status with open/read/close
/// only: std's `fs::read` would call `statx`, and dropping a `File` in a
/// debug build calls `fcntl`; urunc's allow-list has neither.
pub fn detect() -> Confinement {
    // SAFETY: a NUL-terminated path literal; the result is checked.
    let fd = unsafe {
        libc::open(
            c"/proc/self/status".as_ptr(),
            libc::O_RDONLY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Confinement::Unknown {
            reason: format!("/proc/self/status: {}", std::io::Error::last_os_error()),
        };
    }
    let mut buf = [0u8; 8192];
    let mut len = 0;
    let mut error = None;
    while len < buf.len() {
        let room = buf.get_mut(len..).unwrap_or(&mut []);
        // SAFETY: reads at most `room.len()` bytes into `room`.
        let n = unsafe { libc::read(fd, room.as_mut_ptr().cast(), room.len()) };
        match n {
            0 => break,
            n if n > 0 => len += n as usize,
            _ => {
                let e = std::io::Error::last_os_error();
                if e.kind() != std::io::ErrorKind::Interrupted {
                    error = Some(e);
                    break;
                }
            }
        }
    }
    // SAFETY: closes the descriptor opened above, used nowhere else.
    unsafe { libc::close(fd) };
    if let Some(e) = error {
        return Confinement::Unknown {
            reason: format!("/proc/self/status: {e}"),
        };
    }
    parse_status(buf.get(..len).unwrap_or(&[]))
}

fn parse_status(status: &[u8]) -> Confinement {
    let text = String::from_utf8_lossy(status);
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("Seccomp:") {
            return match v.trim().parse::<u32>() {
                Ok(0) => Confinement::Unconfined,
                Ok(mode) => Confinement::Confined { mode },
                Err(_) => Confinement::Unknown {
                    reason: format!("unreadable Seccomp line '{line}'"),
                },
            };
        }
    }
    Confinement::Unknown {
        reason: "no Seccomp line in /proc/self/status".into(),
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
    pub ring_kick_fd: Option<RawFd>,
}

const KVMIO: u64 = 0xae;
const fn ioc(dir: u64, nr: u64, size: usize) -> u64 {
    (dir << 30) | ((size as u64) << 16) | (KVMIO << 8) | nr
}
const IOC_WRITE: u64 = 1;
#[cfg_attr(target_arch = "aarch64", allow(dead_code))]
const IOC_READ: u64 = 2;
/// `KVM_RUN`
pub const KVM_RUN: u64 = ioc(0, 0x80, 0);
#[cfg(target_arch = "x86_64")]
const VCPU_STATE_IOCTLS: [u64; 4] = [
    ioc(
        IOC_READ,
        0x81,
        std::mem::size_of::<kvm_bindings::kvm_regs>(),
    ), // KVM_GET_REGS
    ioc(
        IOC_WRITE,
        0x82,
        std::mem::size_of::<kvm_bindings::kvm_regs>(),
    ), // KVM_SET_REGS
    ioc(
        IOC_READ,
        0x83,
        std::mem::size_of::<kvm_bindings::kvm_sregs>(),
    ), // KVM_GET_SREGS
    ioc(
        IOC_WRITE,
        0x84,
        std::mem::size_of::<kvm_bindings::kvm_sregs>(),
    ), // KVM_SET_SREGS
];
#[cfg(target_arch = "aarch64")]
const VCPU_STATE_IOCTLS: [u64; 1] = [
    ioc(
        IOC_WRITE,
        0xab,
        std::mem::size_of::<kvm_bindings::kvm_one_reg>(),
    ), // KVM_GET_ONE_REG
];

fn cond(arg: u8, op: SeccompCmpOp, value: u64) -> Result<SeccompCondition, SandboxError> {
    SeccompCondition::new(arg, SeccompCmpArgLen::Qword, op, value).map_err(SandboxError::Build)
}
/// An ioctl request number: the kernel reads it as a 32-bit `unsigned
/// int`, and C libraries whose `ioctl` takes an `int` (musl) sign-extend
/// it, so only the low 32 bits are compared.
fn request_is(nr: u64) -> Result<SeccompCondition, SandboxError> {
    SeccompCondition::new(
        1,
        SeccompCmpArgLen::Dword,
        SeccompCmpOp::Eq,
        nr & 0xffff_ffff,
    )
    .map_err(SandboxError::Build)
}
fn fd_is(fd: RawFd) -> Result<SeccompCondition, SandboxError> {
    // File descriptors are C ints: compare the low 32 bits only.
    SeccompCondition::new(
        0,
        SeccompCmpArgLen::Dword,
        SeccompCmpOp::Eq,
        fd as u32 as u64,
    )
    .map_err(SandboxError::Build)
}
fn rule(conds: Vec<SeccompCondition>) -> Result<SeccompRule, SandboxError> {
    SeccompRule::new(conds).map_err(SandboxError::Build)
}

impl Policy {
    /// The allow-list: system call number to the argument patterns allowed
    /// (an empty list allows any arguments).
    pub fn rules(&self) -> Result<BTreeMap<i64, Vec<SeccompRule>>, SandboxError> {
        let mut rules: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
        let vcpu = self.vcpu_fd;

        // ioctl(vcpu, KVM_RUN) and register access for dumps and ring-3
        // switching; nothing on the VM or /dev/kvm descriptors.
        let mut ioctls = vec![rule(vec![fd_is(vcpu)?, request_is(KVM_RUN)?])?];
        for nr in VCPU_STATE_IOCTLS {
            ioctls.push(rule(vec![fd_is(vcpu)?, request_is(nr)?])?);
        }
        rules.insert(libc::SYS_ioctl, ioctls);

        // Console and diagnostics, tap output.
        let mut writes = vec![rule(vec![fd_is(1)?])?, rule(vec![fd_is(2)?])?];
        let mut reads = Vec::new();
        if let Some(fd) = self.ring_kick_fd {
            writes.push(rule(vec![fd_is(fd)?])?);
            reads.push(rule(vec![fd_is(fd)?])?);
        }
        for &fd in &self.net {
            writes.push(rule(vec![fd_is(fd)?])?);
            reads.push(rule(vec![fd_is(fd)?])?);
        }
        rules.insert(libc::SYS_write, writes);
        if !reads.is_empty() {
            rules.insert(libc::SYS_read, reads);
        }

        // Block I/O: exactly one block, never past the end.
        let mut pread = Vec::new();
        let mut pwrite = Vec::new();
        for &(fd, block_size, capacity) in &self.block {
            let last = capacity.saturating_sub(block_size);
            for list in [&mut pread, &mut pwrite] {
                list.push(rule(vec![
                    fd_is(fd)?,
                    cond(2, SeccompCmpOp::Eq, block_size)?,
                    cond(3, SeccompCmpOp::Le, last)?,
                ])?);
            }
        }
        if !pread.is_empty() {
            rules.insert(libc::SYS_pread64, pread);
            rules.insert(libc::SYS_pwrite64, pwrite);
        }

        // The poll hypercall.
        rules.insert(
            libc::SYS_epoll_pwait,
            vec![rule(vec![fd_is(self.epoll_fd)?])?],
        );
        rules.insert(
            libc::SYS_timerfd_settime,
            vec![rule(vec![fd_is(self.timer_fd)?])?],
        );

        // Time (normally served by the vDSO without a system call).
        rules.insert(libc::SYS_clock_gettime, vec![]);

        // Memory for error messages (never executable).
        rules.insert(libc::SYS_brk, vec![]);
        rules.insert(
            libc::SYS_mmap,
            vec![rule(vec![cond(
                2,
                SeccompCmpOp::MaskedEq(libc::PROT_EXEC as u64),
                0,
            )?])?],
        );
        rules.insert(libc::SYS_munmap, vec![]);

        // Leaving, and returning from the signal handlers.
        rules.insert(libc::SYS_exit_group, vec![]);
        rules.insert(libc::SYS_exit, vec![]);
        rules.insert(libc::SYS_rt_sigreturn, vec![]);
        Ok(rules)
    }

    /// The compiled BPF program.
    pub fn compile(&self) -> Result<BpfProgram, SandboxError> {
        let arch = if cfg!(target_arch = "aarch64") {
            TargetArch::aarch64
        } else {
            TargetArch::x86_64
        };
        let filter = SeccompFilter::new(
            self.rules()?,
            SeccompAction::Trap,
            SeccompAction::Allow,
            arch,
        )
        .map_err(SandboxError::Build)?;
        filter.try_into().map_err(SandboxError::Compile)
    }

    /// Installs the filter on the calling thread, and on the ring's I/O
    /// thread if there is one. A violation traps to a handler that names
    /// the system call and exits with status 1.
    pub fn install(&self) -> Result<(), SandboxError> {
        let prog = self.compile()?;
        install_sigsys_handler()?;
        if self.ring_kick_fd.is_some() {
            seccompiler::apply_filter_all_threads(&prog).map_err(SandboxError::Install)
        } else {
            seccompiler::apply_filter(&prog).map_err(SandboxError::Install)
        }
    }
}

extern "C" fn on_sigsys(_sig: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    // siginfo_t for SIGSYS: si_call_addr (ptr) at offset 16, si_syscall
    // (int) right after it.
    let nr = if info.is_null() {
        -1
    } else {
        // SAFETY: the kernel passes a valid siginfo_t for SA_SIGINFO
        // handlers; the field offset is fixed by the Linux ABI.
        unsafe { std::ptr::read_unaligned(info.cast::<u8>().add(24).cast::<i32>()) }
    };
    let mut buf = crate::diag::StackBuf::<160>::new();
    let _ = std::fmt::Write::write_fmt(
        &mut buf,
        format_args!(
            "{}: internal error: the tender's seccomp filter blocked system call {nr}; \
             please report this bug\n",
            crate::diag::prog()
        ),
    );
    crate::diag::write_fd(2, buf.as_bytes());
    crate::diag::exit(1);
}

fn install_sigsys_handler() -> Result<(), SandboxError> {
    // SAFETY: zeroed sigaction is a valid starting point; we fill in the
    // handler and flags before passing it to the kernel.
    let mut sa: libc::sigaction = unsafe { std::mem::zeroed() };
    sa.sa_sigaction = on_sigsys as *const () as usize;
    sa.sa_flags = libc::SA_SIGINFO;
    // SAFETY: installing a handler that only writes and exits.
    let rc = unsafe { libc::sigaction(libc::SIGSYS, &sa, std::ptr::null_mut()) };
    if rc != 0 {
        return Err(SandboxError::Handler(std::io::Error::last_os_error()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_seccomp_mode() {
        assert_eq!(
            parse_status(b"Name:\tx\nSeccomp:\t0\nSeccomp_filters:\t0\n"),
            Confinement::Unconfined
        );
        assert_eq!(
            parse_status(b"Name:\tx\nSeccomp:\t2\nSeccomp_filters:\t1\n"),
            Confinement::Confined { mode: 2 }
        );
        assert!(matches!(
            parse_status(b"Name:\tx\n"),
            Confinement::Unknown { .. }
        ));
    }

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
            ring_kick_fd: Some(13),
        };
        let prog = p.compile().unwrap();
        assert!(prog.len() > 20);
        let rules = p.rules().unwrap();
        assert!(rules.contains_key(&libc::SYS_pread64));
        assert!(!rules.contains_key(&libc::SYS_openat));
        assert!(!rules.contains_key(&libc::SYS_seccomp));
    }
}
