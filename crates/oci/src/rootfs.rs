//! Files of the container, opened the way the container would see them:
//! every path is resolved inside the rootfs (`openat2` with
//! `RESOLVE_IN_ROOT`), so an image whose `/unikernel/app.spt` is a symlink
//! to `/etc/shadow` or `../../host` opens a file of the image, never one of
//! the host.

use std::ffi::CString;
use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::error::OciError;

/// Opens `path` (absolute or relative, as seen inside the container)
/// below the directory `root`, read-only or read-write, never following
/// a link out of it.
pub fn open_in(root: &File, path: &str, write: bool) -> Result<File, std::io::Error> {
    let c = CString::new(path.trim_start_matches('/'))
        .map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))?;
    let mut how: libc::open_how =
        // SAFETY: open_how is plain data; all-zero is a valid value.
        unsafe { std::mem::zeroed() };
    let access = if write { libc::O_RDWR } else { libc::O_RDONLY };
    how.flags = (access | libc::O_CLOEXEC | libc::O_NOCTTY | libc::O_NONBLOCK) as u64;
    how.resolve = libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS;
    // SAFETY: openat2 reads `how` (its size given) and the NUL-terminated
    // path; the result is checked.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            root.as_raw_fd(),
            c.as_ptr(),
            &how as *const libc::open_how,
            std::mem::size_of::<libc::open_how>(),
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor we own.
    Ok(unsafe { File::from_raw_fd(fd as i32) })
}

/// Opens the rootfs directory itself.
pub fn open_root(rootfs: &Path) -> Result<File, OciError> {
    let c = CString::new(rootfs.as_os_str().as_bytes())
        .map_err(|_| OciError::Image(format!("{}: path holds a NUL byte", rootfs.display())))?;
    // SAFETY: plain open of a NUL-terminated path; the result is checked.
    let fd = unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(OciError::io(rootfs, std::io::Error::last_os_error()));
    }
    // SAFETY: a fresh descriptor we own.
    Ok(unsafe { File::from_raw_fd(fd) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_cannot_leave_the_root() {
        let base = std::env::temp_dir().join(format!("corten-oci-rootfs-{}", std::process::id()));
        let root = base.join("root");
        std::fs::create_dir_all(root.join("u")).unwrap();
        std::fs::write(base.join("secret"), b"host").unwrap();
        std::fs::write(root.join("secret"), b"image").unwrap();
        std::os::unix::fs::symlink("../../secret", root.join("u/up")).unwrap();
        std::os::unix::fs::symlink("/secret", root.join("u/abs")).unwrap();
        let dir = open_root(&root).unwrap();
        for p in ["/u/up", "u/abs", "/secret", "../secret"] {
            let f = open_in(&dir, p, false).unwrap();
            let mut s = String::new();
            std::io::Read::read_to_string(&mut &f, &mut s).unwrap();
            assert_eq!(s, "image", "{p}");
        }
        assert!(open_in(&dir, "/missing", false).is_err());
        std::fs::remove_dir_all(&base).unwrap();
    }
}
