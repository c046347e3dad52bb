//! System calls a signal may interrupt (a stop and continue does, for
//! one): the tender makes such a call again, wherever it makes it.

use std::io;

/// Makes the system call in `call` (which returns a count, or -1 with
/// `errno` set) until no signal interrupts it; the count, or the error.
pub(crate) fn retry(mut call: impl FnMut() -> isize) -> io::Result<usize> {
    loop {
        if let Ok(n) = usize::try_from(call()) {
            return Ok(n);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// A non-blocking tap cannot take or give a frame now (its queue is full or
/// empty): EAGAIN, or ENOBUFS from a full transmit queue.
pub(crate) fn would_block(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EAGAIN) | Some(libc::ENOBUFS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_only_interrupted_calls() {
        let mut calls = 0;
        let n = retry(|| {
            calls += 1;
            if calls < 3 {
                // SAFETY: sets this thread's errno, which retry reads.
                unsafe { *libc::__errno_location() = libc::EINTR };
                -1
            } else {
                7
            }
        });
        assert_eq!((n.unwrap(), calls), (7, 3));
        let e = retry(|| {
            // SAFETY: as above.
            unsafe { *libc::__errno_location() = libc::EBADF };
            -1
        })
        .unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EBADF));
        assert!(would_block(&io::Error::from_raw_os_error(libc::ENOBUFS)));
        assert!(!would_block(&e));
    }
}
