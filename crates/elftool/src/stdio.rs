//! Whether the launcher started elftool with standard output closed.
//!
//! Rust's runtime reopens closed standard descriptors on /dev/null before
//! `main`, so by then a closed stdout looks like an intentional
//! `>/dev/null`, and a query "succeeds" having written nowhere. A
//! constructor, which the C start-up runs before Rust's runtime, records
//! the truth first.

use std::sync::atomic::{AtomicBool, Ordering};

static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

extern "C" fn record() {
    // fstat, not fcntl: launchers' allow-lists (urunc's) have only fstat.
    // SAFETY: an all-zero `struct stat` is valid; fstat fills it in.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is a valid out-pointer for the whole call.
    let closed = unsafe { libc::fstat(libc::STDOUT_FILENO, &mut st) } == -1
        && std::io::Error::last_os_error().raw_os_error() == Some(libc::EBADF);
    STDOUT_CLOSED.store(closed, Ordering::Relaxed);
}

#[used]
#[link_section = ".init_array"]
static RECORD: extern "C" fn() = record;

/// True when descriptor 1 was closed when the process started.
pub fn stdout_was_closed() -> bool {
    STDOUT_CLOSED.load(Ordering::Relaxed)
}
