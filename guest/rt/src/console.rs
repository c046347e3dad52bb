//! The console: the tender's standard output.
//!
//! Every [`write`] is one host operation (a `write(1, ..)` on spt, a PUTS
//! hypercall, that is one VM exit, on hvt), so [`print!`](crate::print) and
//! [`println!`](crate::println) format into a buffer first and write it in
//! as few pieces as possible.

use core::fmt;

use crate::platform;

/// Writes `bytes` to the console as they are.
pub fn write(bytes: &[u8]) {
    if !bytes.is_empty() {
        platform::console_write(bytes);
    }
}

/// Writes a string to the console.
pub fn write_str(s: &str) {
    write(s.as_bytes());
}

/// Size of the formatting buffer; a line longer than this is written in
/// several pieces.
const BUF_SIZE: usize = 512;

/// A [`fmt::Write`] sink that collects output and writes it to the console
/// when full and when dropped.
pub struct Console {
    buf: [u8; BUF_SIZE],
    len: usize,
}

impl Console {
    /// An empty buffer.
    pub const fn new() -> Self {
        Console {
            buf: [0; BUF_SIZE],
            len: 0,
        }
    }

    /// Writes out what is buffered.
    pub fn flush(&mut self) {
        write(self.buf.get(..self.len).unwrap_or_default());
        self.len = 0;
    }
}

impl Default for Console {
    fn default() -> Self {
        Console::new()
    }
}

impl fmt::Write for Console {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut bytes = s.as_bytes();
        while !bytes.is_empty() {
            if self.len == BUF_SIZE {
                self.flush();
            }
            let free = BUF_SIZE - self.len;
            let n = free.min(bytes.len());
            let (now, later) = bytes.split_at(n);
            if let Some(dst) = self.buf.get_mut(self.len..self.len + n) {
                dst.copy_from_slice(now);
            }
            self.len += n;
            bytes = later;
        }
        Ok(())
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Formats `args` and writes the result to the console.
pub fn print_fmt(args: fmt::Arguments<'_>) {
    // A plain string needs no buffer.
    if let Some(s) = args.as_str() {
        write_str(s);
        return;
    }
    let mut c = Console::new();
    // Console::write_str never fails; an error can only come from a Display
    // impl, and then printing what was formatted so far is the best we can do.
    let _ = fmt::write(&mut c, args);
}

/// Prints to the console.
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => { $crate::console::print_fmt(format_args!($($arg)*)) };
}

/// Prints to the console, with a newline.
#[macro_export]
macro_rules! println {
    () => { $crate::console::write_str("\n") };
    ($($arg:tt)*) => { $crate::console::print_fmt(format_args!("{}\n", format_args!($($arg)*))) };
}
