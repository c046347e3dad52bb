//! Messages to the user on stderr, and the process exit.
//!
//! Once the seccomp filter is in place the tender may only `write(2)` to
//! fds 1 and 2 and `exit_group`, so nothing here allocates, takes a lock or
//! calls into stdio: messages are formatted into a stack buffer and written
//! with one `write(2)` each.

use std::fmt::{self, Write as _};
use std::sync::OnceLock;

use corten_tender::diag::EXIT_TENDER_ERROR;

static PROG: OnceLock<String> = OnceLock::new();

/// Sets the program name messages are prefixed with (the basename of
/// argv[0], so that a tender installed as `solo5-hvt` speaks as such).
pub fn set_prog(name: &str) {
    let _ = PROG.set(name.to_owned());
}

/// The program name (`corten-hvt` until [`set_prog`] is called).
pub fn prog() -> &'static str {
    PROG.get().map_or("corten-hvt", String::as_str)
}

/// A fixed-capacity text buffer that truncates instead of failing.
pub struct StackBuf<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> StackBuf<N> {
    pub const fn new() -> Self {
        StackBuf {
            buf: [0; N],
            len: 0,
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }
}

impl<const N: usize> Default for StackBuf<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> fmt::Write for StackBuf<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = N - self.len;
        let take = s.len().min(room);
        if let (Some(dst), Some(src)) = (
            self.buf.get_mut(self.len..self.len + take),
            s.as_bytes().get(..take),
        ) {
            dst.copy_from_slice(src);
            self.len += take;
        }
        Ok(())
    }
}

/// Writes all of `bytes` to `fd`, retrying on EINTR and short writes.
/// Errors are ignored: there is nobody left to tell.
pub fn write_fd(fd: i32, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        let len = bytes.len();
        // SAFETY: the pointer and length come from a live slice.
        match crate::sys::retry(|| unsafe { libc::write(fd, bytes.as_ptr().cast(), len) }) {
            Ok(n) if n > 0 => bytes = bytes.get(n..).unwrap_or(&[]),
            _ => return,
        }
    }
}

/// Prints `corten-hvt: <message>` and a newline on stderr.
pub fn print(args: fmt::Arguments<'_>) {
    let mut buf = StackBuf::<2048>::new();
    let _ = write!(buf, "{}: ", prog());
    let _ = buf.write_fmt(args);
    let _ = buf.write_char('\n');
    write_fd(2, buf.as_bytes());
}

/// Prints a block of lines (a register dump, a trap frame) on stderr, each
/// prefixed like [`print`].
pub fn print_block(text: &str) {
    for line in text.lines() {
        print(format_args!("{line}"));
    }
}

/// Ends the process with `status` at once (no destructors, no atexit
/// handlers: only `exit_group`, which every sandbox allows).
pub fn exit(status: i32) -> ! {
    // SAFETY: _exit never returns and has no preconditions.
    unsafe { libc::_exit(status) }
}

/// Prints the message and exits with status 1.
pub fn fatal(args: fmt::Arguments<'_>) -> ! {
    print(args);
    exit(EXIT_TENDER_ERROR)
}

/// `note!(...)`: print a message on stderr.
#[macro_export]
macro_rules! note {
    ($($arg:tt)*) => { $crate::diag::print(format_args!($($arg)*)) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stack_buf_truncates() {
        let mut b = StackBuf::<8>::new();
        let _ = write!(b, "hello world");
        assert_eq!(b.as_bytes(), b"hello wo");
        let _ = write!(b, "more");
        assert_eq!(b.as_bytes(), b"hello wo");
    }

    #[test]
    fn stack_buf_formats() {
        let mut b = StackBuf::<64>::new();
        let (n, c) = (255, 'x');
        let _ = write!(b, "{n:#x} {c}");
        assert_eq!(b.as_bytes(), b"0xff x");
    }
}
