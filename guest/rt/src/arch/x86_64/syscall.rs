//! Linux x86_64 system calls, the spt tender's guest interface. The seccomp
//! filter the tender installs allows only the calls (and arguments) the
//! runtime makes; anything else kills the unikernel with SIGSYS.

/// System call numbers (x86_64).
pub(crate) mod nr {
    pub(crate) const READ: usize = 0;
    pub(crate) const WRITE: usize = 1;
    pub(crate) const PREAD64: usize = 17;
    pub(crate) const PWRITE64: usize = 18;
    pub(crate) const ARCH_PRCTL: usize = 158;
    pub(crate) const CLOCK_GETTIME: usize = 228;
    pub(crate) const EXIT_GROUP: usize = 231;
    pub(crate) const EPOLL_PWAIT: usize = 281;
    pub(crate) const TIMERFD_SETTIME: usize = 286;
}

/// `arch_prctl` code that sets the %fs base.
pub(crate) const ARCH_SET_FS: usize = 0x1002;

/// Makes system call `nr` with up to six arguments and returns the kernel's
/// raw result (negative errno on failure).
///
/// # Safety
/// The arguments must be valid for the call: pointers must point to memory
/// the kernel may read or write as the call defines.
#[inline(always)]
pub(crate) unsafe fn syscall6(nr: usize, a: [usize; 6]) -> isize {
    let ret: isize;
    // SAFETY: the Linux syscall ABI: number in rax, arguments in rdi, rsi,
    // rdx, r10, r8, r9; the kernel clobbers rcx and r11 and may read or
    // write memory through the pointer arguments (no `nomem`).
    unsafe {
        core::arch::asm!(
            "syscall",
            inlateout("rax") nr as isize => ret,
            in("rdi") a[0],
            in("rsi") a[1],
            in("rdx") a[2],
            in("r10") a[3],
            in("r8") a[4],
            in("r9") a[5],
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack)
        );
    }
    ret
}

/// Sets the %fs base with `arch_prctl(ARCH_SET_FS)`; false if refused.
pub(crate) fn set_thread_pointer(base: u64) -> bool {
    // SAFETY: arch_prctl(ARCH_SET_FS) only changes the %fs base; the
    // runtime never uses %fs itself.
    unsafe { syscall6(nr::ARCH_PRCTL, [ARCH_SET_FS, base as usize, 0, 0, 0, 0]) == 0 }
}

/// `exit_group(status)`; never returns.
pub(crate) fn exit_group(status: i32) -> ! {
    // SAFETY: exit_group takes no pointers and ends the process.
    unsafe {
        core::arch::asm!(
            "syscall",
            in("rax") nr::EXIT_GROUP,
            in("rdi") status as isize,
            options(noreturn, nostack)
        );
    }
}

/// `struct epoll_event`, which the x86_64 kernel ABI packs (12 bytes).
#[repr(C, packed)]
#[derive(Clone, Copy)]
pub(crate) struct EpollEvent {
    _events: u32,
    data: u64,
}

impl EpollEvent {
    pub(crate) const ZERO: EpollEvent = EpollEvent {
        _events: 0,
        data: 0,
    };

    /// The user data registered with the fd (the device handle).
    pub(crate) fn data(&self) -> u64 {
        self.data
    }
}

const _: () = assert!(core::mem::size_of::<EpollEvent>() == 12);
