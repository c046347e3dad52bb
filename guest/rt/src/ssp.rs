//! Stack smashing protection, by hand.
//!
//! Stable Rust cannot make the compiler insert stack canaries
//! (`-Z stack-protector` is nightly-only), and safe Rust cannot overflow a
//! stack buffer anyway. What the runtime offers instead:
//!
//! - a random guard value, set at boot from the cycle counter with a zero
//!   byte so string copies stop at it, exported as `__stack_chk_guard`
//!   together with `__stack_chk_fail`, so C code compiled with
//!   `-fstack-protector* -mstack-protector-guard=global` and linked into the
//!   unikernel is protected as upstream Solo5's C code is;
//! - [`Canary`], a value to put next to a buffer that `unsafe` code (or
//!   foreign code) writes into, and [`Canary::check`] (also run on drop)
//!   that aborts with exit status 255 if it was overwritten.

use core::sync::atomic::{AtomicUsize, Ordering};

/// The guard value (C's `__stack_chk_guard`).
#[cfg_attr(not(test), no_mangle)]
#[allow(non_upper_case_globals)]
pub static __stack_chk_guard: AtomicUsize = AtomicUsize::new(0x00de_adbe_ef0d_0a00);

/// Derives the guard from a boot-time seed (the cycle counter).
pub(crate) fn init(seed: u64) {
    // splitmix64, then clear the low byte: a NUL in the guard stops
    // string-copy overflows from reproducing it.
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    __stack_chk_guard.store((z as usize) & !0xff, Ordering::Relaxed);
}

pub(crate) fn guard() -> usize {
    __stack_chk_guard.load(Ordering::Relaxed)
}

/// Reports a smashed stack and aborts (exit status 255).
pub fn smashed() -> ! {
    crate::panic::fatal("stack smashing detected: a stack canary was overwritten")
}

/// Called by C code compiled with a stack protector.
#[cfg(not(test))]
#[no_mangle]
pub extern "C" fn __stack_chk_fail() -> ! {
    smashed()
}

/// A copy of the guard value, to place next to a buffer on the stack.
#[repr(transparent)]
#[derive(Debug)]
pub struct Canary(usize);

impl Canary {
    /// A canary holding the current guard value.
    #[inline(always)]
    #[allow(clippy::new_without_default)]
    pub fn new() -> Canary {
        Canary(guard())
    }

    /// Aborts if the canary no longer holds the guard value.
    #[inline(always)]
    pub fn check(&self) {
        // Volatile: the compiler must not assume the value is unchanged,
        // since unsafe code may have written over it.
        // SAFETY: reading our own field.
        let v = unsafe { core::ptr::read_volatile(&self.0) };
        if v != guard() {
            smashed();
        }
    }
}

impl Drop for Canary {
    fn drop(&mut self) {
        self.check();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guard_has_zero_low_byte_and_varies() {
        init(1);
        let a = guard();
        init(2);
        let b = guard();
        assert_ne!(a, b);
        assert_eq!(a & 0xff, 0);
        assert_eq!(b & 0xff, 0);
        let c = Canary::new();
        c.check();
    }
}
