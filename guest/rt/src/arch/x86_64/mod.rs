//! x86_64: cycle counter, TLS layout, memory primitives, and the per-tender
//! low-level pieces (Linux system calls for spt, port-I/O hypercalls and
//! CPU tables for hvt).

#[cfg(feature = "hvt")]
pub(crate) mod hvt;
pub(crate) mod mem;
#[cfg(feature = "spt")]
pub(crate) mod syscall;

/// Reads the time-stamp counter.
#[inline]
pub(crate) fn cycles() -> u64 {
    let lo: u32;
    let hi: u32;
    // SAFETY: rdtsc only reads the TSC into edx:eax; CR4.TSD is clear on
    // both tenders (spt: Linux user mode allows it; hvt: the tender leaves
    // it clear), so it cannot fault.
    unsafe {
        core::arch::asm!("rdtsc", out("eax") lo, out("edx") hi, options(nomem, nostack, preserves_flags));
    }
    (u64::from(hi) << 32) | u64::from(lo)
}

/// x86_64 uses TLS "variant II": the thread pointer points just past the
/// TLS data, at a control block whose first word points to itself.
pub(crate) const TLS_VARIANT_II: bool = true;
/// Bytes of the thread control block: glibc's layout up to its canary at
/// 0x28 (`tls::CANARY_OFFSET`), rounded to the TLS alignment.
pub(crate) const TLS_TCB_SIZE: usize = 64;
