//! The last steps before the guest runs: hand the fatal signals back to the
//! kernel's default action, and jump.

/// Signals a guest fault raises. With the default action the kernel kills
/// the process with that signal (a null dereference ends with status 139,
/// as upstream's tests expect). A handler would instead run tender code
/// under the guest's seccomp filter and turn the fault into SIGSYS.
const FAULT_SIGNALS: [libc::c_int; 4] = [libc::SIGSEGV, libc::SIGBUS, libc::SIGILL, libc::SIGFPE];

/// Resets the fault signals to SIG_DFL and unblocks them, and disables any
/// alternate signal stack (it would point into tender memory).
pub fn reset_fault_signals() -> std::io::Result<()> {
    for sig in FAULT_SIGNALS {
        // SAFETY: installs the default disposition; no handler code runs.
        if unsafe { libc::signal(sig, libc::SIG_DFL) } == libc::SIG_ERR {
            return Err(std::io::Error::last_os_error());
        }
    }
    // SAFETY: an all-zero sigset_t is a valid value to initialise.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid sigset_t for these calls.
    unsafe {
        libc::sigemptyset(&mut set);
        for sig in FAULT_SIGNALS {
            libc::sigaddset(&mut set, sig);
        }
    }
    // SAFETY: unblocks the signals in `set` for this thread.
    let rc = unsafe { libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut()) };
    if rc != 0 {
        return Err(std::io::Error::from_raw_os_error(rc));
    }
    let ss = libc::stack_t {
        ss_sp: std::ptr::null_mut(),
        ss_flags: libc::SS_DISABLE,
        ss_size: 0,
    };
    // SAFETY: disables the alternate stack; `ss` is valid for the call.
    if unsafe { libc::sigaltstack(&ss, std::ptr::null_mut()) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Initial stack pointer for guest memory of `mem_size` bytes, as upstream
/// sets it: on x86_64 the top minus 8 (the guest entry sees the stack as
/// right after a `call`), on aarch64 the top minus 16 (sp stays 16-aligned).
pub const fn initial_sp(mem_size: u64) -> u64 {
    #[cfg(target_arch = "x86_64")]
    return mem_size - 8;
    #[cfg(target_arch = "aarch64")]
    return mem_size - 16;
}

/// Switches to the guest stack and jumps to `entry` with `arg` (the boot
/// info address) as the first argument. Every other general-purpose and
/// vector register is zeroed and the thread pointer is cleared, so no
/// tender address reaches the guest. Never returns: no destructor,
/// allocation or system call of the tender runs after it.
///
/// # Safety
///
/// `entry` must be guest code, mapped executable; `sp` must be inside
/// writable guest memory; the seccomp filter must already be installed
/// (it allows the one `arch_prctl(ARCH_SET_FS, 0)` issued here on x86_64).
pub unsafe fn jump(entry: u64, sp: u64, arg: u64) -> ! {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the caller guarantees entry/sp; the asm never returns.
    unsafe {
        core::arch::asm!(
            // arch_prctl(ARCH_SET_FS, 0): the guest must not find the
            // tender's thread block through %fs (syscall clobbers rcx, r11).
            "mov eax, 158",
            "mov edi, 0x1002",
            "xor esi, esi",
            "syscall",
            "mov rsp, r13",
            "mov rdi, r14",
            "xor eax, eax",
            "xor ebx, ebx",
            "xor ecx, ecx",
            "xor edx, edx",
            "xor esi, esi",
            "xor ebp, ebp",
            "xor r8d, r8d",
            "xor r9d, r9d",
            "xor r10d, r10d",
            "xor r11d, r11d",
            "xor r13d, r13d",
            "xor r14d, r14d",
            "xor r15d, r15d",
            "pxor xmm0, xmm0",
            "pxor xmm1, xmm1",
            "pxor xmm2, xmm2",
            "pxor xmm3, xmm3",
            "pxor xmm4, xmm4",
            "pxor xmm5, xmm5",
            "pxor xmm6, xmm6",
            "pxor xmm7, xmm7",
            "pxor xmm8, xmm8",
            "pxor xmm9, xmm9",
            "pxor xmm10, xmm10",
            "pxor xmm11, xmm11",
            "pxor xmm12, xmm12",
            "pxor xmm13, xmm13",
            "pxor xmm14, xmm14",
            "pxor xmm15, xmm15",
            "cld",
            // r12 keeps the entry point: a guest address the guest knows.
            "jmp r12",
            in("r12") entry,
            in("r13") sp,
            in("r14") arg,
            options(noreturn)
        )
    }
    #[cfg(target_arch = "aarch64")]
    // SAFETY: the caller guarantees entry/sp; the asm never returns.
    unsafe {
        core::arch::asm!(
            "msr tpidr_el0, xzr",
            "mov sp, x17",
            "mov x0, x15",
            "mov x1, xzr", "mov x2, xzr", "mov x3, xzr", "mov x4, xzr",
            "mov x5, xzr", "mov x6, xzr", "mov x7, xzr", "mov x8, xzr",
            "mov x9, xzr", "mov x10, xzr", "mov x11, xzr", "mov x12, xzr",
            "mov x13, xzr", "mov x14, xzr", "mov x15, xzr", "mov x17, xzr",
            "mov x18, xzr", "mov x19, xzr", "mov x20, xzr", "mov x21, xzr",
            "mov x22, xzr", "mov x23, xzr", "mov x24, xzr", "mov x25, xzr",
            "mov x26, xzr", "mov x27, xzr", "mov x28, xzr", "mov x29, xzr",
            "mov x30, xzr",
            "movi v0.2d, #0", "movi v1.2d, #0", "movi v2.2d, #0", "movi v3.2d, #0",
            "movi v4.2d, #0", "movi v5.2d, #0", "movi v6.2d, #0", "movi v7.2d, #0",
            "movi v8.2d, #0", "movi v9.2d, #0", "movi v10.2d, #0", "movi v11.2d, #0",
            "movi v12.2d, #0", "movi v13.2d, #0", "movi v14.2d, #0", "movi v15.2d, #0",
            "movi v16.2d, #0", "movi v17.2d, #0", "movi v18.2d, #0", "movi v19.2d, #0",
            "movi v20.2d, #0", "movi v21.2d, #0", "movi v22.2d, #0", "movi v23.2d, #0",
            "movi v24.2d, #0", "movi v25.2d, #0", "movi v26.2d, #0", "movi v27.2d, #0",
            "movi v28.2d, #0", "movi v29.2d, #0", "movi v30.2d, #0", "movi v31.2d, #0",
            // x16 keeps the entry point: a guest address the guest knows.
            "br x16",
            in("x16") entry,
            in("x17") sp,
            in("x15") arg,
            options(noreturn)
        )
    }
}
