//! `memcpy`, `memmove`, `memset`, `memcmp` and `bcmp`: the compiler emits
//! calls to these, and on the `*-linux-gnu` target the prebuilt
//! compiler-builtins leaves them to the C library, which a unikernel does
//! not have. Built on the arch module's primitives, which are assembly so
//! the optimiser cannot turn them back into calls to these very functions.

#![cfg(not(test))]

use crate::arch::mem;

/// # Safety
/// C `memcpy` contract: both ranges valid, not overlapping.
#[no_mangle]
pub unsafe extern "C" fn memcpy(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    // SAFETY: C contract; a forward copy is right for non-overlapping ranges.
    unsafe { mem::copy_forward(dst, src, n) };
    dst
}

/// # Safety
/// C `memmove` contract: both ranges valid, may overlap.
#[no_mangle]
pub unsafe extern "C" fn memmove(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    // Copy backwards only when the destination starts inside the source.
    if (dst as usize).wrapping_sub(src as usize) < n {
        // SAFETY: C contract; backwards is right for dst above src.
        unsafe { mem::copy_backward(dst, src, n) };
    } else {
        // SAFETY: C contract; forwards is right for dst below or apart.
        unsafe { mem::copy_forward(dst, src, n) };
    }
    dst
}

/// # Safety
/// C `memset` contract: the range is valid.
#[no_mangle]
pub unsafe extern "C" fn memset(dst: *mut u8, c: i32, n: usize) -> *mut u8 {
    // SAFETY: C contract.
    unsafe { mem::fill(dst, c as u8, n) };
    dst
}

/// # Safety
/// C `memcmp` contract: both ranges valid.
#[no_mangle]
pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    // SAFETY: C contract.
    unsafe { mem::compare(a, b, n) }
}

/// # Safety
/// C `bcmp` contract: both ranges valid.
#[no_mangle]
pub unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    // SAFETY: C contract.
    unsafe { mem::compare(a, b, n) }
}

/// The prebuilt `core` for this target carries unwind tables that name a
/// personality routine. With `panic = "abort"` nothing ever unwinds, so the
/// routine is never called; it only has to exist for the link.
#[no_mangle]
pub extern "C" fn rust_eh_personality() {}

/// Landing pads in the prebuilt `alloc` (built for unwinding) end in a call
/// to this. With `panic = "abort"` nothing unwinds, so it is unreachable;
/// if it ever ran, stopping loudly is the only sound thing to do.
#[no_mangle]
pub extern "C" fn _Unwind_Resume() -> ! {
    crate::panic::fatal("_Unwind_Resume called, but nothing unwinds in a unikernel")
}
