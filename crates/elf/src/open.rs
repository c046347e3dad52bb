//! Opening a unikernel image: the one place the tenders and elftool open
//! the file they are given, so that a path naming something other than a
//! regular file gets a clear error instead of a hang or a misreading.
//!
//! `open(2)` of a FIFO for reading waits for a writer, forever if there is
//! none; a device or socket would be read as if it were an ELF file. So the
//! image is opened with `O_NONBLOCK` (which makes opening a FIFO return at
//! once and changes nothing for regular files, where reads never block)
//! and must then be a regular file.

use std::ffi::OsStr;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;

/// What a non-regular file is, for the message.
fn kind(mode: libc::mode_t) -> &'static str {
    match mode & libc::S_IFMT {
        libc::S_IFIFO => "a FIFO (named pipe)",
        libc::S_IFSOCK => "a socket",
        libc::S_IFCHR => "a character device",
        libc::S_IFBLK => "a block device",
        _ => "not a regular file",
    }
}

/// The file's mode, by fstat(2): std's `metadata()` uses statx(2), which
/// launchers that confine the tender before it starts (urunc) forbid.
fn mode(file: &File) -> io::Result<libc::mode_t> {
    // SAFETY: an all-zero `struct stat` is valid; fstat fills it in.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is a valid out-pointer and the descriptor is open.
    if unsafe { libc::fstat(file.as_raw_fd(), &mut st) } == 0 {
        Ok(st.st_mode)
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Opens `path` read-only, without blocking, and checks it is a regular
/// file. The error for anything else says what it is, e.g. "it is a FIFO
/// (named pipe), not a regular file: give the unikernel's ELF file".
pub fn open_image(path: &OsStr) -> io::Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)?;
    let mode = mode(&file)?;
    match mode & libc::S_IFMT {
        libc::S_IFREG => Ok(file),
        // The system's own words, as upstream's tools report it.
        libc::S_IFDIR => Err(io::Error::from_raw_os_error(libc::EISDIR)),
        _ => Err(io::Error::other(format!(
            "it is {}, not a regular file: give the unikernel's ELF file",
            kind(mode)
        ))),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_is_not_a_regular_file_without_blocking() {
        let dir = std::env::temp_dir().join(format!("corten-open-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let fifo = dir.join("f");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: mkfifo on a NUL-terminated path we own.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = open_image(fifo.as_os_str()).unwrap_err();
        assert!(e.to_string().contains("FIFO"), "{e}");
        let e = open_image(dir.as_os_str()).unwrap_err();
        assert!(e.to_string().contains("Is a directory"), "{e}");
        let e = open_image(OsStr::new("/dev/null")).unwrap_err();
        assert!(e.to_string().contains("character device"), "{e}");
        let file = dir.join("k");
        std::fs::write(&file, b"x").unwrap();
        assert!(open_image(file.as_os_str()).is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
