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
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};

/// `O_NONBLOCK` on Linux (every architecture Corten supports).
const O_NONBLOCK: i32 = 0o4000;
/// `O_CLOEXEC` on Linux: the image is never handed to a child.
const O_CLOEXEC: i32 = 0o2000000;

/// What a non-regular file is, for the message.
fn kind(t: std::fs::FileType) -> &'static str {
    if t.is_fifo() {
        "a FIFO (named pipe)"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else {
        "not a regular file"
    }
}

/// Opens `path` read-only, without blocking, and checks it is a regular
/// file. The error for anything else says what it is, e.g. "it is a FIFO
/// (named pipe), not a regular file: give the unikernel's ELF file".
pub fn open_image(path: &OsStr) -> io::Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(O_NONBLOCK | O_CLOEXEC)
        .open(path)?;
    let t = file.metadata()?.file_type();
    if t.is_file() {
        Ok(file)
    } else if t.is_dir() {
        // The system's own words, as upstream's tools report it.
        Err(io::Error::from_raw_os_error(21 /* EISDIR */))
    } else {
        Err(io::Error::other(format!(
            "it is {}, not a regular file: give the unikernel's ELF file",
            kind(t)
        )))
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
        assert_eq!(unsafe { mkfifo(c.as_ptr(), 0o600) }, 0);
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

    extern "C" {
        fn mkfifo(path: *const std::ffi::c_char, mode: u32) -> i32;
    }
}
