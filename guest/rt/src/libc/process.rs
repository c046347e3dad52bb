//! `exit`, `abort`, `atexit`, `errno`, `__assert_fail` and the fortify
//! failure, on the runtime's exit path.

use core::ffi::c_char;

use crate::cell::Exclusive;

pub const EINVAL: i32 = 22;
pub const ENOMEM: i32 = 12;

static ERRNO: Exclusive<i32> = Exclusive::new(0);

pub(crate) fn set_errno(e: i32) {
    ERRNO.with(|v| *v = e);
}

/// glibc's `errno` is `*__errno_location()`.
#[no_mangle]
pub extern "C" fn __errno_location() -> *mut i32 {
    ERRNO.with(|v| v as *mut i32)
}

const ATEXIT_MAX: usize = 32;
static ATEXIT: Exclusive<([Option<extern "C" fn()>; ATEXIT_MAX], usize)> =
    Exclusive::new(([None; ATEXIT_MAX], 0));

/// Registers `f` to run at `exit` (at most 32, as POSIX's minimum).
#[no_mangle]
pub extern "C" fn atexit(f: extern "C" fn()) -> i32 {
    ATEXIT.with(|(fs, n)| match fs.get_mut(*n) {
        Some(slot) => {
            *slot = Some(f);
            *n += 1;
            0
        }
        None => -1,
    })
}

/// Runs the `atexit` handlers (last registered first) and flushes stdout:
/// what C's `exit` does before the process ends. Called by
/// [`crate::exit`] too, so returning from a Rust `main` that called C
/// behaves the same.
pub(crate) fn at_exit() {
    loop {
        // Take one handler out before calling it: it may call atexit.
        let next = ATEXIT.with(|(fs, n)| {
            if *n == 0 {
                return None;
            }
            *n -= 1;
            fs.get_mut(*n).and_then(Option::take)
        });
        match next {
            Some(f) => f(),
            None => break,
        }
    }
    super::stdio::flush_stdout();
}

#[no_mangle]
pub extern "C" fn exit(status: i32) -> ! {
    crate::exit(status)
}

#[no_mangle]
pub extern "C" fn _exit(status: i32) -> ! {
    crate::platform::halt(status, 0)
}

#[no_mangle]
pub extern "C" fn abort() -> ! {
    super::stdio::flush_stdout();
    crate::abort()
}

/// What glibc's fortified functions call on a detected overflow.
pub(crate) fn chk_fail() -> ! {
    super::stdio::flush_stdout();
    crate::panic::fatal("*** buffer overflow detected ***: terminated")
}

#[no_mangle]
pub extern "C" fn __chk_fail() -> ! {
    chk_fail()
}

/// # Safety
/// C strings from the `assert` macro.
#[no_mangle]
pub unsafe extern "C" fn __assert_fail(
    expr: *const c_char,
    file: *const c_char,
    line: u32,
    func: *const c_char,
) -> ! {
    super::stdio::flush_stdout();
    let text = |p: *const c_char| {
        if p.is_null() {
            "?"
        } else {
            // SAFETY: the assert macro passes C string literals.
            unsafe { core::ffi::CStr::from_ptr(p) }
                .to_str()
                .unwrap_or("?")
        }
    };
    crate::log::error!(
        "{}:{}: {}: Assertion `{}' failed.\n",
        text(file),
        line,
        text(func),
        text(expr)
    );
    crate::abort()
}
