//! The container init's file system: a small read-only tmpfs that becomes
//! its root, holding only what the tender needs:
//!
//! ```text
//! /.corten/corten-spt|corten-hvt   the tender (bind, read-only)
//! /rootfs                          the bundle's rootfs (+ its bind volumes)
//! /proc                            a proc of the container's pid namespace
//! /dev/null, /dev/kvm (hvt)        bound from the host
//! /usr, /lib, /lib64               read-only, only for a dynamically linked tender
//! ```
//!
//! All of it is set up in the init's own mount namespace (the host never
//! sees these mounts) before `start`; `enter` pivots into it after.

use std::ffi::CString;
use std::fs::File;
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use crate::error::OciError;
use crate::spec::Mount;

fn cstr(p: &Path) -> Result<CString, OciError> {
    CString::new(p.as_os_str().as_bytes())
        .map_err(|_| OciError::Init(format!("{}: path holds a NUL byte", p.display())))
}

fn mount(
    source: Option<&Path>,
    target: &Path,
    fstype: Option<&str>,
    flags: libc::c_ulong,
    data: Option<&str>,
) -> Result<(), OciError> {
    let src = source.map(cstr).transpose()?;
    let tgt = cstr(target)?;
    let fs = fstype.map(|t| CString::new(t).unwrap_or_default());
    let data = data.map(|d| CString::new(d).unwrap_or_default());
    let ptr = |c: &Option<CString>| c.as_ref().map_or(std::ptr::null(), |c| c.as_ptr());
    // SAFETY: every pointer is null or a NUL-terminated string alive for
    // the call; the result is checked.
    let r = unsafe { libc::mount(ptr(&src), tgt.as_ptr(), ptr(&fs), flags, ptr(&data).cast()) };
    if r != 0 {
        return Err(OciError::last_os(format!(
            "mount {} on {}",
            source.map_or_else(
                || fstype.unwrap_or("").to_owned(),
                |s| s.display().to_string()
            ),
            target.display()
        )));
    }
    Ok(())
}

/// Bind-mounts `source` on `target` (read-only when asked).
fn bind(source: &Path, target: &Path, read_only: bool) -> Result<(), OciError> {
    mount(
        Some(source),
        target,
        None,
        libc::MS_BIND | libc::MS_REC,
        None,
    )?;
    if read_only {
        mount(
            None,
            target,
            None,
            libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY | libc::MS_REC,
            None,
        )?;
    }
    Ok(())
}

fn mkdir(p: &Path) -> Result<(), OciError> {
    std::fs::create_dir_all(p).map_err(|e| OciError::io(p, e))
}

fn touch(p: &Path) -> Result<(), OciError> {
    if let Some(parent) = p.parent() {
        mkdir(parent)?;
    }
    File::create(p).map(drop).map_err(|e| OciError::io(p, e))
}

/// Whether the ELF `path` names a program interpreter (is dynamically
/// linked), read from its program headers.
fn has_interp(path: &Path) -> Result<bool, OciError> {
    let mut f = File::open(path).map_err(|e| OciError::io(path, e))?;
    let mut head = vec![0u8; 64 << 10];
    let n = f.read(&mut head).map_err(|e| OciError::io(path, e))?;
    head.truncate(n);
    let u16_at = |o: usize| head.get(o..o + 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
    let phoff = head
        .get(32..40)
        .map(|b| u64::from_le_bytes(b.try_into().unwrap_or_default()) as usize);
    let (Some(phoff), Some(phentsize), Some(phnum)) = (phoff, u16_at(54), u16_at(56)) else {
        return Ok(false);
    };
    Ok((0..phnum as usize).any(|i| {
        let at = phoff + i * phentsize as usize;
        head.get(at..at + 4) == Some(&3u32.to_le_bytes()[..]) // PT_INTERP
    }))
}

/// Walks `dest` below `root` component by component, creating what is
/// missing (directories, then a file or a directory last) and refusing
/// symlinks, so a mount point can never be steered outside the rootfs.
fn mount_point(root: &Path, dest: &str, dir: bool) -> Result<PathBuf, OciError> {
    let mut at = root.to_owned();
    let parts: Vec<_> = Path::new(dest).components().collect();
    for (i, c) in parts.iter().enumerate() {
        let Component::Normal(name) = c else {
            if matches!(c, Component::RootDir | Component::CurDir) {
                continue;
            }
            return Err(OciError::Init(format!(
                "mount destination {dest:?} leaves the rootfs"
            )));
        };
        at.push(name);
        let last = i + 1 == parts.len();
        match std::fs::symlink_metadata(&at) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(OciError::Init(format!(
                    "mount destination {dest:?}: {} is a symlink",
                    at.display()
                )))
            }
            Ok(_) => {}
            Err(_) if last && !dir => touch(&at)?,
            Err(_) => std::fs::create_dir(&at).map_err(|e| OciError::io(&at, e))?,
        }
    }
    Ok(at)
}

/// What the init needs in its root.
pub struct Layout<'a> {
    pub newroot: &'a Path,
    pub rootfs: &'a Path,
    pub tender: &'a Path,
    pub tender_name: &'a str,
    pub kvm: bool,
    pub mounts: &'a [Mount],
}

/// Destinations that belong to a Linux container's own userland, which a
/// unikernel does not have: not mounted.
fn for_linux_userland(dest: &str) -> bool {
    ["/proc", "/sys", "/dev", "/run"]
        .iter()
        .any(|p| dest == *p || dest.starts_with(&format!("{p}/")))
}

/// Builds the root described in the module comment at `l.newroot`.
pub fn prepare(l: &Layout<'_>) -> Result<(), OciError> {
    // Nothing done here may propagate back to the host.
    mount(
        None,
        Path::new("/"),
        None,
        libc::MS_REC | libc::MS_PRIVATE,
        None,
    )?;
    mkdir(l.newroot)?;
    mount(
        Some(Path::new("tmpfs")),
        l.newroot,
        Some("tmpfs"),
        libc::MS_NOSUID | libc::MS_NODEV,
        Some("mode=755,size=1m"),
    )?;
    let rootfs = l.newroot.join("rootfs");
    mkdir(&rootfs)?;
    bind(l.rootfs, &rootfs, false)?;
    for m in l.mounts {
        let is_bind = m.kind == "bind" || m.options.iter().any(|o| o == "bind" || o == "rbind");
        if !is_bind || for_linux_userland(&m.destination) {
            continue;
        }
        let Some(source) = m.source.as_deref() else {
            continue;
        };
        let source = Path::new(source);
        let is_dir = std::fs::metadata(source)
            .map_err(|e| OciError::io(source, e))?
            .is_dir();
        let target = mount_point(&rootfs, &m.destination, is_dir)?;
        bind(source, &target, m.options.iter().any(|o| o == "ro"))?;
    }
    let tender = l.newroot.join(".corten").join(l.tender_name);
    touch(&tender)?;
    bind(l.tender, &tender, true)?;
    if has_interp(l.tender)? {
        // A dynamically linked tender needs the host's loader and libc.
        for d in ["/usr", "/lib", "/lib64", "/lib32"] {
            let host = Path::new(d);
            let Ok(meta) = std::fs::symlink_metadata(host) else {
                continue;
            };
            let inside = l.newroot.join(d.trim_start_matches('/'));
            if meta.file_type().is_symlink() {
                let to = std::fs::read_link(host).map_err(|e| OciError::io(host, e))?;
                std::os::unix::fs::symlink(to, &inside).map_err(|e| OciError::io(&inside, e))?;
            } else {
                mkdir(&inside)?;
                bind(host, &inside, true)?;
            }
        }
    }
    let mut devices = vec!["null"];
    if l.kvm {
        if !Path::new("/dev/kvm").exists() {
            return Err(OciError::Image(
                "an hvt unikernel needs /dev/kvm, which this host does not have (build the \
                 unikernel for spt, or run it on a host with KVM)"
                    .into(),
            ));
        }
        devices.push("kvm");
    }
    for d in devices {
        let host = Path::new("/dev").join(d);
        let inside = l.newroot.join("dev").join(d);
        touch(&inside)?;
        bind(&host, &inside, false)?;
    }
    mkdir(&l.newroot.join("proc"))?;
    mkdir(&l.newroot.join(".oldroot"))?;
    Ok(())
}

/// Mounts the container's proc (once in its pid namespace), makes the
/// tmpfs read-only and pivots into it.
pub fn enter(newroot: &Path) -> Result<(), OciError> {
    mount(
        Some(Path::new("proc")),
        &newroot.join("proc"),
        Some("proc"),
        libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
        None,
    )?;
    mount(
        None,
        newroot,
        None,
        libc::MS_REMOUNT | libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV,
        Some("mode=755,size=1m"),
    )?;
    let new = cstr(newroot)?;
    let old = cstr(&newroot.join(".oldroot"))?;
    // SAFETY: pivot_root reads two NUL-terminated paths; checked.
    if unsafe { libc::syscall(libc::SYS_pivot_root, new.as_ptr(), old.as_ptr()) } != 0 {
        return Err(OciError::last_os(format!(
            "pivot_root to {}",
            newroot.display()
        )));
    }
    std::env::set_current_dir("/").map_err(|e| OciError::io("/", e))?;
    let old = cstr(Path::new("/.oldroot"))?;
    // SAFETY: umount2 of a NUL-terminated path; checked.
    if unsafe { libc::umount2(old.as_ptr(), libc::MNT_DETACH) } != 0 {
        return Err(OciError::last_os("unmounting the host's root"));
    }
    Ok(())
}

/// `path` of a descriptor the tender inherits, as it opens it.
pub fn fd_path(fd: &File) -> String {
    format!("/proc/self/fd/{}", fd.as_raw_fd())
}

/// Clears close-on-exec on `f`, so the tender inherits it.
pub fn inherit(f: &File) -> Result<(), OciError> {
    // SAFETY: fcntl on a descriptor we own; checked.
    if unsafe { libc::fcntl(f.as_raw_fd(), libc::F_SETFD, 0) } != 0 {
        return Err(OciError::last_os("fcntl(F_SETFD)"));
    }
    Ok(())
}

/// Opens `path` without following it into another mount (for the fifo).
pub fn open_fifo_for_write(path: &Path) -> Result<File, OciError> {
    let c = cstr(path)?;
    // SAFETY: plain open; blocks until `start` opens the other end.
    let fd = unsafe { libc::open(c.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(OciError::io(path, std::io::Error::last_os_error()));
    }
    // SAFETY: a fresh descriptor we own.
    Ok(unsafe { File::from_raw_fd(fd) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userland_paths_are_skipped() {
        assert!(for_linux_userland("/proc"));
        assert!(for_linux_userland("/dev/shm"));
        assert!(!for_linux_userland("/data"));
        assert!(!for_linux_userland("/devices"));
    }

    #[test]
    fn mount_points_refuse_symlinks_and_dotdot() {
        let base = std::env::temp_dir().join(format!("corten-oci-mp-{}", std::process::id()));
        let root = base.join("r");
        std::fs::create_dir_all(&root).unwrap();
        std::os::unix::fs::symlink("/etc", root.join("link")).unwrap();
        assert_eq!(
            mount_point(&root, "/a/b/file", false).unwrap(),
            root.join("a/b/file")
        );
        assert!(root.join("a/b/file").is_file());
        assert!(mount_point(&root, "/d/e", true).unwrap().is_dir());
        assert!(mount_point(&root, "/link/x", false).is_err());
        assert!(mount_point(&root, "/../x", false).is_err());
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn interp_is_seen() {
        // This test binary is dynamically linked; /bin/sh too on Debian.
        assert!(has_interp(Path::new("/bin/sh")).unwrap());
    }
}
