//! Byte-copy primitives with `rep movsb` / `rep stosb` / `repe cmpsb`.
//!
//! They back the `memcpy` family the compiler emits calls to. Written in
//! assembly so the optimiser cannot recognise a copy loop and turn it into
//! a call to `memcpy` itself. `rep movsb` is fast on every CPU with ERMSB
//! (Ivy Bridge and later, Zen) for all but the shortest copies.

/// Copies `n` bytes forwards from `src` to `dst`.
///
/// # Safety
/// `src..src+n` readable, `dst..dst+n` writable; if the ranges overlap,
/// `dst` must not lie after `src`.
#[inline(always)]
pub(crate) unsafe fn copy_forward(dst: *mut u8, src: *const u8, n: usize) {
    // SAFETY: the caller guarantees both ranges; DF is clear per the SysV
    // ABI at every call boundary.
    unsafe {
        core::arch::asm!(
            "rep movsb",
            inout("rcx") n => _,
            inout("rdi") dst => _,
            inout("rsi") src => _,
            options(nostack, preserves_flags)
        );
    }
}

/// Copies `n` bytes backwards (highest address first) from `src` to `dst`,
/// for overlapping moves to a higher address.
///
/// # Safety
/// `src..src+n` readable and `dst..dst+n` writable.
#[inline(always)]
pub(crate) unsafe fn copy_backward(dst: *mut u8, src: *const u8, n: usize) {
    if n == 0 {
        return;
    }
    // SAFETY: the caller guarantees both ranges; we point rsi/rdi at the
    // last byte, copy with DF set and clear DF again as the ABI requires.
    unsafe {
        core::arch::asm!(
            "std",
            "rep movsb",
            "cld",
            inout("rcx") n => _,
            inout("rdi") dst.add(n - 1) => _,
            inout("rsi") src.add(n - 1) => _,
            options(nostack)
        );
    }
}

/// Fills `n` bytes at `dst` with `value`.
///
/// # Safety
/// `dst..dst+n` writable.
#[inline(always)]
pub(crate) unsafe fn fill(dst: *mut u8, value: u8, n: usize) {
    // SAFETY: the caller guarantees the range; DF is clear.
    unsafe {
        core::arch::asm!(
            "rep stosb",
            inout("rcx") n => _,
            inout("rdi") dst => _,
            in("al") value,
            options(nostack, preserves_flags)
        );
    }
}

/// Compares `n` bytes; returns the difference of the first differing bytes
/// (as unsigned values), or 0.
///
/// # Safety
/// Both ranges readable.
#[inline(always)]
pub(crate) unsafe fn compare(a: *const u8, b: *const u8, n: usize) -> i32 {
    if n == 0 {
        return 0;
    }
    let left: *const u8;
    let right: *const u8;
    // SAFETY: the caller guarantees both ranges are readable; DF is clear.
    // After `repe cmpsb`, rsi/rdi point one past the last compared bytes.
    unsafe {
        core::arch::asm!(
            "repe cmpsb",
            inout("rcx") n => _,
            inout("rsi") a => left,
            inout("rdi") b => right,
            options(nostack, readonly)
        );
    }
    // SAFETY: at least one byte was compared, so the last compared pair is
    // at left-1 / right-1, inside the ranges.
    let (x, y) = unsafe { (*left.sub(1), *right.sub(1)) };
    i32::from(x) - i32::from(y)
}
