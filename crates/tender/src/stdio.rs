//! Standard descriptors 0, 1 and 2, made safe before anything is opened.
//!
//! Both tenders start from C `main`, so Rust's runtime does not do what it
//! does for ordinary programs: reopen a closed standard descriptor on
//! `/dev/null`. Without that, a launcher that closes stdout (`>&-`) makes
//! the next file the tender opens — the kernel image, or a block device —
//! descriptor 1, and the guest's console output is written into it.
//! [`reserve`] closes that hole: every closed standard descriptor is
//! opened on `/dev/null` (console output is then discarded, as the
//! launcher asked), before the tender opens anything.

use std::ffi::CStr;

const DEV_NULL: &CStr = c"/dev/null";

/// Opens `/dev/null` on each of descriptors 0, 1 and 2 that is closed.
/// Fails (and the tender must stop) when `/dev/null` cannot be opened or
/// does not land on the descriptor it must fill.
pub fn reserve() -> Result<(), std::io::Error> {
    for fd in 0..=2 {
        // fstat, not fcntl: launchers that confine the tender before it
        // starts (urunc) allow fstat and forbid fcntl.
        // SAFETY: an all-zero `struct stat` is valid; fstat fills it in.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: `st` is a valid out-pointer for the whole call.
        let closed = unsafe { libc::fstat(fd, &mut st) } == -1
            && std::io::Error::last_os_error().raw_os_error() == Some(libc::EBADF);
        if !closed {
            continue;
        }
        // SAFETY: a plain open of a NUL-terminated path; the result is
        // checked. Lower descriptors are open (the loop goes upwards), so
        // the kernel hands out `fd` itself.
        let got = unsafe { libc::open(DEV_NULL.as_ptr(), libc::O_RDWR) };
        if got == -1 {
            return Err(std::io::Error::last_os_error());
        }
        if got != fd {
            // SAFETY: closing the descriptor just opened.
            unsafe { libc::close(got) };
            return Err(std::io::Error::other(format!(
                "/dev/null opened as descriptor {got}, not {fd}"
            )));
        }
    }
    Ok(())
}

/// For C `main`: [`reserve`], or end the process with status 1 (there may
/// be no stderr to say why).
pub fn reserve_or_exit() {
    if let Err(e) = reserve() {
        // Best effort: stderr may be the descriptor that is missing.
        let msg = format!("cannot open /dev/null for a closed standard descriptor: {e}\n");
        // SAFETY: writing a buffer we own to fd 2; the result is ignored
        // on purpose (there is nothing else to tell).
        unsafe { libc::write(2, msg.as_ptr().cast(), msg.len()) };
        // SAFETY: ending the process; nothing was set up yet.
        unsafe { libc::_exit(1) };
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn open_descriptors_are_left_alone() {
        // In the test harness 0, 1 and 2 are open: nothing changes.
        super::reserve().unwrap();
    }
}
