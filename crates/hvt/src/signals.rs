//! SIGINT and SIGTERM end the tender with status 1, as upstream
//! ("Exiting on signal N"). The handler only formats into a stack buffer,
//! writes and exits, so it is async-signal-safe and fits the seccomp
//! filter.

use std::fmt::Write as _;

extern "C" fn on_signal(sig: libc::c_int) {
    let mut buf = crate::diag::StackBuf::<64>::new();
    let _ = writeln!(buf, "{}: Exiting on signal {sig}", crate::diag::prog());
    crate::diag::write_fd(2, buf.as_bytes());
    crate::diag::exit(corten_tender::diag::EXIT_TENDER_ERROR);
}

/// Installs the handlers. All signals are blocked while one runs.
pub fn install() -> std::io::Result<()> {
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: a zeroed sigaction is valid; we set handler and mask.
        let mut sa: libc::sigaction = unsafe { std::mem::zeroed() };
        sa.sa_sigaction = on_signal as *const () as usize;
        // SAFETY: `sa.sa_mask` is a valid sigset_t to fill.
        unsafe { libc::sigfillset(&mut sa.sa_mask) };
        // SAFETY: installs a handler that only writes and exits.
        if unsafe { libc::sigaction(sig, &sa, std::ptr::null_mut()) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}
