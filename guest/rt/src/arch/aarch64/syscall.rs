//! Linux aarch64 system calls, the spt tender's guest interface (see the
//! x86_64 module for the policy). aarch64 has no `arch_prctl`: the thread
//! pointer is a register the guest sets itself.

/// System call numbers (aarch64, the generic table).
pub(crate) mod nr {
    pub(crate) const EPOLL_PWAIT: usize = 22;
    pub(crate) const READ: usize = 63;
    pub(crate) const WRITE: usize = 64;
    pub(crate) const PREAD64: usize = 67;
    pub(crate) const PWRITE64: usize = 68;
    pub(crate) const TIMERFD_SETTIME: usize = 86;
    pub(crate) const EXIT_GROUP: usize = 94;
    pub(crate) const CLOCK_GETTIME: usize = 113;
}

/// Makes system call `nr` with up to six arguments and returns the kernel's
/// raw result (negative errno on failure).
///
/// # Safety
/// The arguments must be valid for the call.
#[inline(always)]
pub(crate) unsafe fn syscall6(nr: usize, a: [usize; 6]) -> isize {
    let ret: isize;
    // SAFETY: the Linux aarch64 syscall ABI: number in x8, arguments and
    // result in x0..x5; no `nomem`, the kernel may access the buffers.
    unsafe {
        core::arch::asm!(
            "svc 0",
            in("x8") nr,
            inlateout("x0") a[0] as isize => ret,
            in("x1") a[1],
            in("x2") a[2],
            in("x3") a[3],
            in("x4") a[4],
            in("x5") a[5],
            options(nostack)
        );
    }
    ret
}

/// Sets TPIDR_EL0 directly (user mode may); always succeeds.
pub(crate) fn set_thread_pointer(base: u64) -> bool {
    super::set_thread_pointer(base);
    true
}

/// `exit_group(status)`; never returns.
pub(crate) fn exit_group(status: i32) -> ! {
    // SAFETY: exit_group takes no pointers and ends the process.
    unsafe {
        core::arch::asm!("svc 0", in("x8") nr::EXIT_GROUP, in("x0") status as isize, options(noreturn, nostack));
    }
}

/// `struct epoll_event`: not packed on aarch64 (16 bytes).
#[repr(C)]
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

const _: () = assert!(core::mem::size_of::<EpollEvent>() == 16);
