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
    // SAFETY: F_GETFD only reads descriptor 1's flags.
    let closed = unsafe { libc::fcntl(libc::STDOUT_FILENO, libc::F_GETFD) } == -1;
    STDOUT_CLOSED.store(closed, Ordering::Relaxed);
}

#[used]
#[link_section = ".init_array"]
static RECORD: extern "C" fn() = record;

/// True when descriptor 1 was closed when the process started.
pub fn stdout_was_closed() -> bool {
    STDOUT_CLOSED.load(Ordering::Relaxed)
}
