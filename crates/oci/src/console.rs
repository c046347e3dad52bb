//! `process.terminal`: a pseudo-terminal whose master goes to the caller
//! over `--console-socket` (SCM_RIGHTS, with the slave's name as the
//! message, as runc sends it) and whose slave becomes the init's
//! controlling terminal and standard streams.

use std::ffi::CStr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

use crate::error::OciError;

pub struct Pty {
    pub slave: OwnedFd,
}

impl Pty {
    /// Opens a pty, sends its master to the socket at `socket`, keeps the
    /// slave.
    pub fn open_and_send(socket: &Path) -> Result<Pty, OciError> {
        // SAFETY: posix_openpt takes flags; the result is checked.
        let master = unsafe { libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC) };
        if master < 0 {
            return Err(OciError::last_os("posix_openpt"));
        }
        // SAFETY: a fresh descriptor we own.
        let master = unsafe { OwnedFd::from_raw_fd(master) };
        let mut name = [0 as libc::c_char; 128];
        // SAFETY: grantpt/unlockpt take the master; ptsname_r writes at
        // most `name.len()` bytes, NUL included.
        let ok = unsafe {
            libc::grantpt(master.as_raw_fd()) == 0
                && libc::unlockpt(master.as_raw_fd()) == 0
                && libc::ptsname_r(master.as_raw_fd(), name.as_mut_ptr(), name.len()) == 0
        };
        if !ok {
            return Err(OciError::last_os("setting up the pty"));
        }
        // SAFETY: ptsname_r wrote a NUL-terminated name.
        let name = unsafe { CStr::from_ptr(name.as_ptr()) };
        // SAFETY: open of a NUL-terminated path; checked.
        let slave = unsafe {
            libc::open(
                name.as_ptr(),
                libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
            )
        };
        if slave < 0 {
            return Err(OciError::last_os(format!(
                "opening {}",
                name.to_string_lossy()
            )));
        }
        // SAFETY: a fresh descriptor we own.
        let slave = unsafe { OwnedFd::from_raw_fd(slave) };
        let stream = UnixStream::connect(socket).map_err(|e| OciError::io(socket, e))?;
        send_fd(&stream, name.to_bytes(), &master).map_err(|e| OciError::io(socket, e))?;
        Ok(Pty { slave })
    }
}

/// Sends `fd` with the payload `data` over `stream`.
fn send_fd(stream: &UnixStream, data: &[u8], fd: &OwnedFd) -> std::io::Result<()> {
    let mut iov = libc::iovec {
        iov_base: data.as_ptr() as *mut libc::c_void,
        iov_len: data.len(),
    };
    // SAFETY: CMSG_SPACE is a pure size computation.
    let space = unsafe { libc::CMSG_SPACE(std::mem::size_of::<libc::c_int>() as u32) } as usize;
    let mut control = vec![0u8; space];
    // SAFETY: msghdr is plain data; the fields set below make it valid.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = space as _;
    // SAFETY: `control` has room for one header with one int, so
    // CMSG_FIRSTHDR is non-null and CMSG_DATA points inside `control`.
    unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<libc::c_int>() as u32) as _;
        std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<libc::c_int>(), fd.as_raw_fd());
    }
    // SAFETY: `msg` points at live buffers for the duration of the call.
    if unsafe { libc::sendmsg(stream.as_raw_fd(), &msg, 0) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// In the init (already a session leader): the slave becomes its
/// controlling terminal and its stdin, stdout and stderr.
pub fn make_controlling(slave: &OwnedFd) -> Result<(), OciError> {
    let fd = slave.as_raw_fd();
    // SAFETY: ioctl TIOCSCTTY and dup2 on descriptors we own; checked.
    unsafe {
        if libc::ioctl(fd, libc::TIOCSCTTY, 0) != 0 {
            return Err(OciError::last_os("TIOCSCTTY"));
        }
        for target in 0..3 {
            if libc::dup2(fd, target) < 0 {
                return Err(OciError::last_os("dup2 of the console"));
            }
        }
    }
    Ok(())
}
