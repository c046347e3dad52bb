//! `stdout`, `stderr` and the printf family, writing to the Solo5 console.
//!
//! A unikernel has one console, so both streams write there; `stdout` is
//! line buffered (one host call per line, as glibc on a terminal), `stderr`
//! unbuffered (one host call per C call). There is no `fopen`: a unikernel
//! has no file system; data comes from block devices.
//!
//! The `__*_chk` variants are what glibc's headers call with
//! `_FORTIFY_SOURCE` (Debian builds its libraries that way); they check
//! their buffer sizes and abort on overflow as glibc does.

use core::ffi::c_char;

use super::format::{self, Out};
use super::va::{variadic, VaList, VaListTag};
use crate::cell::Exclusive;

/// A C stream. Opaque to C code; the two streams are told apart by
/// address (the field only gives them distinct ones).
#[repr(C)]
pub struct File {
    _fd: i32,
}

static STDOUT_FILE: File = File { _fd: 1 };
static STDERR_FILE: File = File { _fd: 2 };

/// C's `FILE *stdout` and `FILE *stderr` (variables, as in glibc).
#[no_mangle]
#[allow(non_upper_case_globals)]
pub static mut stdout: *const File = &STDOUT_FILE;
#[no_mangle]
#[allow(non_upper_case_globals)]
pub static mut stderr: *const File = &STDERR_FILE;

const LINE: usize = 512;

/// stdout's line buffer: bytes and length.
static LINE_BUF: Exclusive<([u8; LINE], usize)> = Exclusive::new(([0; LINE], 0));

/// Writes out stdout's buffer (also called by `exit`).
pub(crate) fn flush_stdout() {
    LINE_BUF.with(|(buf, len)| {
        crate::console::write(buf.get(..*len).unwrap_or_default());
        *len = 0;
    });
}

fn is_buffered(f: *const File) -> bool {
    // Only the address is compared: C can only hold our two streams
    // (there is no fopen), and anything else is never dereferenced.
    core::ptr::eq(f, &STDOUT_FILE)
}

/// A sink for one C call: buffered streams collect into the line buffer
/// and write whole lines; unbuffered ones collect and write at the end.
struct Stream {
    buffered: bool,
    pending: alloc::vec::Vec<u8>,
}

impl Stream {
    fn new(f: *const File) -> Stream {
        Stream {
            buffered: is_buffered(f),
            pending: alloc::vec::Vec::new(),
        }
    }

    fn finish(self) {
        if !self.buffered {
            // Keep the console in program order: stdout's pending line first.
            flush_stdout();
            crate::console::write(&self.pending);
        }
    }
}

impl Out for Stream {
    fn put(&mut self, bytes: &[u8]) {
        if !self.buffered {
            self.pending.extend_from_slice(bytes);
            return;
        }
        LINE_BUF.with(|(buf, len)| {
            for &b in bytes {
                if let Some(slot) = buf.get_mut(*len) {
                    *slot = b;
                    *len += 1;
                }
                if b == b'\n' || *len == LINE {
                    crate::console::write(buf.get(..*len).unwrap_or_default());
                    *len = 0;
                }
            }
        });
    }
}

/// A sink into a caller's buffer of `cap` bytes (room for the NUL
/// included); counts everything, stores what fits.
struct Buffer {
    at: *mut u8,
    cap: usize,
    len: usize,
}

impl Out for Buffer {
    fn put(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if self.len + 1 < self.cap {
                // SAFETY: len + 1 < cap: inside the caller's buffer.
                unsafe { self.at.add(self.len).write(b) };
            }
            self.len += 1;
        }
    }
}

impl Buffer {
    fn terminate(&self) {
        if self.cap > 0 {
            // SAFETY: min(len, cap - 1) < cap.
            unsafe { self.at.add(self.len.min(self.cap - 1)).write(0) };
        }
    }
}

/// The bytes of the C string at `p`, at most `max`.
///
/// # Safety
/// `p` is a valid C string (or valid for `max` bytes).
unsafe fn c_bytes(p: u64, max: Option<usize>) -> &'static [u8] {
    let p = p as usize as *const u8;
    let mut n = 0;
    // SAFETY: caller's contract: readable up to the NUL or `max`.
    while max.is_none_or(|m| n < m) && unsafe { p.add(n).read() } != 0 {
        n += 1;
    }
    // SAFETY: the n bytes just read.
    unsafe { core::slice::from_raw_parts(p, n) }
}

/// Runs the engine; an unsupported conversion aborts with its name.
///
/// # Safety
/// printf's contract: `fmt` a C string, `va` matching it.
unsafe fn run(fmt: *const c_char, va: *mut VaListTag, out: &mut dyn Out) -> i32 {
    // SAFETY: fmt is a C string.
    let fmt = unsafe { c_bytes(fmt as u64, None) };
    let mut args = VaList(va);
    // SAFETY: `%s` arguments are C strings (printf's contract).
    let mut cstr = |p: u64, max: Option<usize>| unsafe { c_bytes(p, max) };
    match format::format(fmt, &mut args, out, &mut cstr) {
        Ok(n) => i32::try_from(n).unwrap_or(i32::MAX),
        Err(format::Unsupported(c)) => {
            let mut msg = *b"printf: conversion %? is not supported by the Corten C runtime";
            if let Some(slot) = msg.get_mut(20) {
                *slot = c;
            }
            crate::panic::fatal(
                core::str::from_utf8(&msg).unwrap_or("printf: unsupported conversion"),
            )
        }
    }
}

/// # Safety
/// C `vfprintf` contract.
#[no_mangle]
pub unsafe extern "C" fn vfprintf(f: *const File, fmt: *const c_char, va: *mut VaListTag) -> i32 {
    let mut s = Stream::new(f);
    // SAFETY: C contract.
    let n = unsafe { run(fmt, va, &mut s) };
    s.finish();
    n
}

/// # Safety
/// C `vprintf` contract.
#[no_mangle]
pub unsafe extern "C" fn vprintf(fmt: *const c_char, va: *mut VaListTag) -> i32 {
    // SAFETY: C contract.
    unsafe { vfprintf(&STDOUT_FILE, fmt, va) }
}

/// # Safety
/// C `vsnprintf` contract: `s` valid for `n` bytes.
#[no_mangle]
pub unsafe extern "C" fn vsnprintf(
    s: *mut u8,
    n: usize,
    fmt: *const c_char,
    va: *mut VaListTag,
) -> i32 {
    let mut b = Buffer {
        at: s,
        cap: n,
        len: 0,
    };
    // SAFETY: C contract.
    let r = unsafe { run(fmt, va, &mut b) };
    b.terminate();
    r
}

/// # Safety
/// C `vsprintf` contract: `s` large enough.
#[no_mangle]
pub unsafe extern "C" fn vsprintf(s: *mut u8, fmt: *const c_char, va: *mut VaListTag) -> i32 {
    // SAFETY: C contract (unbounded, as C's vsprintf).
    unsafe { vsnprintf(s, usize::MAX, fmt, va) }
}

/// glibc's fortified forms: `flag` (the fortify level) changes nothing here.
///
/// # Safety
/// C `vfprintf` contract.
#[no_mangle]
pub unsafe extern "C" fn __vfprintf_chk(
    f: *const File,
    _flag: i32,
    fmt: *const c_char,
    va: *mut VaListTag,
) -> i32 {
    // SAFETY: C contract.
    unsafe { vfprintf(f, fmt, va) }
}

/// # Safety
/// C `vprintf` contract.
#[no_mangle]
pub unsafe extern "C" fn __vprintf_chk(_flag: i32, fmt: *const c_char, va: *mut VaListTag) -> i32 {
    // SAFETY: C contract.
    unsafe { vfprintf(&STDOUT_FILE, fmt, va) }
}

/// # Safety
/// C `vsnprintf` contract, and `maxlen <= slen` (else glibc's
/// "buffer overflow detected").
#[no_mangle]
pub unsafe extern "C" fn __vsnprintf_chk(
    s: *mut u8,
    maxlen: usize,
    _flag: i32,
    slen: usize,
    fmt: *const c_char,
    va: *mut VaListTag,
) -> i32 {
    if maxlen > slen {
        super::process::chk_fail();
    }
    // SAFETY: C contract.
    unsafe { vsnprintf(s, maxlen, fmt, va) }
}

/// # Safety
/// C `vsprintf` contract within `slen` bytes.
#[no_mangle]
pub unsafe extern "C" fn __vsprintf_chk(
    s: *mut u8,
    _flag: i32,
    slen: usize,
    fmt: *const c_char,
    va: *mut VaListTag,
) -> i32 {
    // SAFETY: C contract; writes stay inside slen bytes.
    let n = unsafe { vsnprintf(s, slen, fmt, va) };
    if usize::try_from(n).is_ok_and(|n| n >= slen) {
        super::process::chk_fail();
    }
    n
}

/// Entry points of the variadic trampolines (the named arguments, then
/// the va_list).
mod entries {
    use super::*;

    pub(super) unsafe extern "C" fn printf(fmt: *const c_char, va: *mut VaListTag) -> i32 {
        // SAFETY: C contract.
        unsafe { vfprintf(&STDOUT_FILE, fmt, va) }
    }
    pub(super) unsafe extern "C" fn fprintf(
        f: *const File,
        fmt: *const c_char,
        va: *mut VaListTag,
    ) -> i32 {
        // SAFETY: C contract.
        unsafe { vfprintf(f, fmt, va) }
    }
    pub(super) unsafe extern "C" fn sprintf(
        s: *mut u8,
        fmt: *const c_char,
        va: *mut VaListTag,
    ) -> i32 {
        // SAFETY: C contract.
        unsafe { vsprintf(s, fmt, va) }
    }
    pub(super) unsafe extern "C" fn snprintf(
        s: *mut u8,
        n: usize,
        fmt: *const c_char,
        va: *mut VaListTag,
    ) -> i32 {
        // SAFETY: C contract.
        unsafe { vsnprintf(s, n, fmt, va) }
    }
    pub(super) unsafe extern "C" fn printf_chk(
        flag: i32,
        fmt: *const c_char,
        va: *mut VaListTag,
    ) -> i32 {
        // SAFETY: C contract.
        unsafe { __vprintf_chk(flag, fmt, va) }
    }
    pub(super) unsafe extern "C" fn fprintf_chk(
        f: *const File,
        flag: i32,
        fmt: *const c_char,
        va: *mut VaListTag,
    ) -> i32 {
        // SAFETY: C contract.
        unsafe { __vfprintf_chk(f, flag, fmt, va) }
    }
    pub(super) unsafe extern "C" fn sprintf_chk(
        s: *mut u8,
        flag: i32,
        slen: usize,
        fmt: *const c_char,
        va: *mut VaListTag,
    ) -> i32 {
        // SAFETY: C contract.
        unsafe { __vsprintf_chk(s, flag, slen, fmt, va) }
    }
    pub(super) unsafe extern "C" fn snprintf_chk(
        s: *mut u8,
        maxlen: usize,
        flag: i32,
        slen: usize,
        fmt: *const c_char,
        va: *mut VaListTag,
    ) -> i32 {
        // SAFETY: C contract.
        unsafe { __vsnprintf_chk(s, maxlen, flag, slen, fmt, va) }
    }
}

variadic!("printf", 1, "rsi", entries::printf);
variadic!("fprintf", 2, "rdx", entries::fprintf);
variadic!("sprintf", 2, "rdx", entries::sprintf);
variadic!("snprintf", 3, "rcx", entries::snprintf);
variadic!("__printf_chk", 2, "rdx", entries::printf_chk);
variadic!("__fprintf_chk", 3, "rcx", entries::fprintf_chk);
variadic!("__sprintf_chk", 4, "r8", entries::sprintf_chk);
variadic!("__snprintf_chk", 5, "r9", entries::snprintf_chk);

/// Writes `bytes` to stderr (for `perror`).
pub(crate) fn write_stderr(bytes: &[u8]) {
    put(&STDERR_FILE, bytes);
}

/// Writes `bytes` to the stream `f`.
fn put(f: *const File, bytes: &[u8]) {
    let mut s = Stream::new(f);
    s.put(bytes);
    s.finish();
}

/// # Safety
/// C `fwrite` contract: `p` valid for `size * n` bytes.
#[no_mangle]
pub unsafe extern "C" fn fwrite(p: *const u8, size: usize, n: usize, f: *const File) -> usize {
    let Some(total) = size.checked_mul(n) else {
        return 0;
    };
    if total == 0 {
        return 0;
    }
    // SAFETY: C contract.
    put(f, unsafe { core::slice::from_raw_parts(p, total) });
    n
}

/// # Safety
/// C `fputs` contract.
#[no_mangle]
pub unsafe extern "C" fn fputs(s: *const c_char, f: *const File) -> i32 {
    // SAFETY: C contract: s is a C string.
    put(f, unsafe { c_bytes(s as u64, None) });
    0
}

/// # Safety
/// C `puts` contract.
#[no_mangle]
pub unsafe extern "C" fn puts(s: *const c_char) -> i32 {
    let mut st = Stream::new(&STDOUT_FILE);
    // SAFETY: C contract: s is a C string.
    st.put(unsafe { c_bytes(s as u64, None) });
    st.put(b"\n");
    st.finish();
    0
}

#[no_mangle]
pub extern "C" fn fputc(c: i32, f: *const File) -> i32 {
    put(f, &[c as u8]);
    c & 0xff
}

#[no_mangle]
pub extern "C" fn putc(c: i32, f: *const File) -> i32 {
    fputc(c, f)
}

#[no_mangle]
pub extern "C" fn putchar(c: i32) -> i32 {
    fputc(c, &STDOUT_FILE)
}

#[no_mangle]
pub extern "C" fn fflush(_f: *const File) -> i32 {
    flush_stdout();
    0
}
