//! aarch64: the virtual counter, TLS layout, and the per-tender low-level
//! pieces (Linux system calls for spt, MMIO hypercalls and exception
//! vectors for hvt).
//!
//! Built with `aarch64-unknown-none`, a hard-float target whose prebuilt
//! `compiler_builtins` also provides `memcpy` and friends. Not yet run on a
//! tender: see docs/guest-runtime.md.

#[cfg(feature = "hvt")]
pub(crate) mod hvt;
#[cfg(feature = "spt")]
pub(crate) mod syscall;

/// Reads the virtual counter (CNTVCT_EL0).
#[inline]
pub(crate) fn cycles() -> u64 {
    let v: u64;
    // SAFETY: reading CNTVCT_EL0 is allowed at EL0 and EL1 (Linux and the
    // hvt tender leave CNTKCTL_EL1 permitting it) and has no side effect.
    unsafe {
        core::arch::asm!("isb", "mrs {}, cntvct_el0", out(reg) v, options(nomem, nostack, preserves_flags))
    };
    v
}

/// aarch64 uses TLS "variant I": the thread pointer points at a 16-byte
/// control block, and the TLS data follows it.
pub(crate) const TLS_VARIANT_II: bool = false;
/// Bytes of the thread control block.
pub(crate) const TLS_TCB_SIZE: usize = 16;

/// Sets TPIDR_EL0, the thread pointer.
#[inline]
pub(crate) fn set_thread_pointer(base: u64) {
    // SAFETY: only changes where thread-local accesses go; the runtime
    // itself never uses TPIDR_EL0.
    unsafe {
        core::arch::asm!("msr tpidr_el0, {}", in(reg) base, options(nomem, nostack, preserves_flags))
    };
}
