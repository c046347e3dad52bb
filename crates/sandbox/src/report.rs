//! Naming the system call a filter refused ([`OnViolation::Trap`]): a SIGSYS
//! handler that writes "PROG: internal error: the seccomp filter blocked
//! system call N; please report this bug" and exits with status 1. It
//! formats on the stack and uses only `write` and `exit_group`, so it runs
//! under the filter it reports on and is async-signal-safe.
//!
//! [`OnViolation::Trap`]: crate::OnViolation::Trap

use std::io;
use std::sync::OnceLock;

/// The program name the handler prints.
static PROG: OnceLock<&'static str> = OnceLock::new();

/// Offset of `si_syscall` in the SIGSYS `siginfo_t` (after `si_call_addr`).
const SI_SYSCALL: usize = 24;

extern "C" fn on_sigsys(_sig: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    let nr = if info.is_null() {
        -1
    } else {
        // SAFETY: the kernel passes a valid siginfo_t to SA_SIGINFO
        // handlers; the field offset is fixed by the Linux ABI.
        unsafe { std::ptr::read_unaligned(info.cast::<u8>().add(SI_SYSCALL).cast::<i32>()) }
    };
    let mut buf = [0u8; 256];
    let mut len = 0;
    let prog = PROG.get().copied().unwrap_or("corten");
    for part in [
        prog.as_bytes(),
        b": internal error: the seccomp filter blocked system call ",
        decimal(nr, &mut [0u8; 12]),
        b"; please report this bug\n",
    ] {
        for &b in part {
            if let Some(slot) = buf.get_mut(len) {
                *slot = b;
                len += 1;
            }
        }
    }
    // SAFETY: writes `len` initialised bytes of `buf` to stderr, then ends
    // the process; both are async-signal-safe.
    unsafe {
        libc::write(2, buf.as_ptr().cast(), len);
        libc::syscall(libc::SYS_exit_group, 1);
    }
}

/// `n` in decimal, in `out`.
fn decimal(n: i32, out: &mut [u8; 12]) -> &[u8] {
    let mut v = i64::from(n).unsigned_abs();
    let mut at = out.len();
    loop {
        at -= 1;
        out[at] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if n < 0 {
        at -= 1;
        out[at] = b'-';
    }
    &out[at..]
}

/// Installs the handler for SIGSYS, naming `prog` in its message. Call
/// before installing a filter compiled with [`OnViolation::Trap`].
///
/// [`OnViolation::Trap`]: crate::OnViolation::Trap
pub fn report_violations(prog: &'static str) -> io::Result<()> {
    let _ = PROG.set(prog);
    // SAFETY: a zeroed sigaction is a valid starting point; handler and
    // flags are filled in before it is passed to the kernel.
    let mut sa: libc::sigaction = unsafe { std::mem::zeroed() };
    sa.sa_sigaction = on_sigsys as *const () as usize;
    sa.sa_flags = libc::SA_SIGINFO;
    // SAFETY: installs a handler that only writes and exits.
    if unsafe { libc::sigaction(libc::SIGSYS, &sa, std::ptr::null_mut()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals() {
        assert_eq!(decimal(0, &mut [0; 12]), b"0");
        assert_eq!(decimal(231, &mut [0; 12]), b"231");
        assert_eq!(decimal(-1, &mut [0; 12]), b"-1");
        assert_eq!(decimal(i32::MIN, &mut [0; 12]), b"-2147483648");
    }
}
