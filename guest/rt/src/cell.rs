//! Interior mutability for the runtime's globals.
//!
//! A Solo5 unikernel has exactly one CPU, never enables interrupts, and
//! installs no signal handlers (spt) and only fatal exception handlers (hvt)
//! that never return. So no code can run concurrently with, or in the middle
//! of, any other code: a global that is only ever borrowed for the duration
//! of a function that does not call back into the application cannot be
//! aliased. [`BootCell`] is for state written once during boot, before the
//! application runs, and read-only afterwards.

use core::cell::UnsafeCell;

/// State set once during boot and read-only afterwards.
pub(crate) struct BootCell<T: Copy>(UnsafeCell<T>);

// SAFETY: single CPU, no interrupts, no signal handlers (see module docs):
// no two accesses can ever overlap in time.
unsafe impl<T: Copy> Sync for BootCell<T> {}

impl<T: Copy> BootCell<T> {
    pub(crate) const fn new(value: T) -> Self {
        BootCell(UnsafeCell::new(value))
    }

    /// A copy of the value.
    pub(crate) fn get(&self) -> T {
        // SAFETY: no reference into the cell is ever handed out, and no
        // concurrent writer can exist (module docs), so this read does not
        // race with a write.
        unsafe { *self.0.get() }
    }

    /// Replaces the value. Only boot code calls this.
    pub(crate) fn set(&self, value: T) {
        // SAFETY: as in `get`: no outstanding reference, no concurrency.
        unsafe { *self.0.get() = value }
    }
}

/// State changed at run time by code that never calls back into the
/// application while it holds it (the C runtime's buffers).
#[cfg(feature = "libc")]
pub(crate) struct Exclusive<T>(UnsafeCell<T>);

// SAFETY: single CPU, no interrupts, no signal handlers (module docs), and
// `with` hands out its borrow only to a closure that must not re-enter: no
// two borrows can overlap.
#[cfg(feature = "libc")]
unsafe impl<T> Sync for Exclusive<T> {}

#[cfg(feature = "libc")]
impl<T> Exclusive<T> {
    pub(crate) const fn new(value: T) -> Self {
        Exclusive(UnsafeCell::new(value))
    }

    /// Runs `f` on the value. `f` must not call `with` on the same cell.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        // SAFETY: see the Sync impl: this is the only borrow for as long
        // as `f` runs.
        f(unsafe { &mut *self.0.get() })
    }
}
