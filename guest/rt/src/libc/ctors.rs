//! Static constructors and destructors of linked C code (`.init_array`,
//! `.fini_array`, collected by the linker script): constructors run once
//! before the application's `main`, in link order; destructors at exit,
//! in reverse, after the `atexit` handlers, as glibc does. OpenBLAS, for
//! one, initialises itself in a constructor.

use core::ffi::c_char;

type Init = unsafe extern "C" fn(i32, *const *const c_char, *const *const c_char);
type Fini = unsafe extern "C" fn();

extern "C" {
    static __corten_init_array_start: Init;
    static __corten_init_array_end: Init;
    static __corten_fini_array_start: Fini;
    static __corten_fini_array_end: Fini;
}

/// The functions between two linker-script symbols.
///
/// # Safety
/// `start..end` must bound an array of function pointers.
unsafe fn table<T>(start: *const T, end: *const T) -> &'static [T] {
    let n = (end as usize).saturating_sub(start as usize) / core::mem::size_of::<T>();
    // SAFETY: caller's contract.
    unsafe { core::slice::from_raw_parts(start, n) }
}

/// Runs every constructor with C's `(argc, argv, envp)`: no arguments and
/// an empty environment, each a NULL-terminated empty vector.
pub(crate) fn run_constructors() {
    static EMPTY: [usize; 1] = [0];
    let argv = EMPTY.as_ptr().cast::<*const c_char>();
    // SAFETY: the linker script defines both symbols around .init_array,
    // which holds only function pointers.
    let inits = unsafe {
        table(
            core::ptr::addr_of!(__corten_init_array_start),
            core::ptr::addr_of!(__corten_init_array_end),
        )
    };
    for f in inits {
        // SAFETY: a constructor of linked C code, called once, as a C
        // start-up would.
        unsafe { f(0, argv, argv) };
    }
}

/// Runs every destructor, last first.
pub(crate) fn run_destructors() {
    // SAFETY: as above, for .fini_array.
    let finis = unsafe {
        table(
            core::ptr::addr_of!(__corten_fini_array_start),
            core::ptr::addr_of!(__corten_fini_array_end),
        )
    };
    for f in finis.iter().rev() {
        // SAFETY: a destructor of linked C code, called once at exit.
        unsafe { f() };
    }
}
