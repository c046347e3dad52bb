//! Block device attach: open the backing file or device read-write, learn
//! its capacity, and check it against the sector size.

use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Sector size when `--block-sector-size` is not given.
pub const DEFAULT_SECTOR_SIZE: u16 = 512;

/// A block device problem.
#[derive(Debug, thiserror::Error)]
pub enum BlockError {
    #[error("Could not open block device: {}: {source}; check the path and that it is readable and writable", path.display())]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: Could not determine capacity: {source}", path.display())]
    Capacity {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{name}: Backing storage size must be block aligned ({block_size} bytes): {} is \
         {capacity} bytes, {rem} bytes past the last whole block; resize it to a multiple \
         of {block_size}",
        path.display(), rem = capacity % u64::from(*block_size)
    )]
    Misaligned {
        name: String,
        path: PathBuf,
        capacity: u64,
        block_size: u16,
    },
    #[error(
        "{name}: Backing storage must be at least 1 block ({block_size} bytes) in size: {} \
         is {capacity} bytes",
        path.display()
    )]
    TooSmall {
        name: String,
        path: PathBuf,
        capacity: u64,
        block_size: u16,
    },
    #[error(
        "Could not attach block device: {} is in use{}: another process holds its lock \
         (two unikernels writing one disk would corrupt it); stop the other or give another image",
        path.display(),
        holder.as_ref().map(|h| format!(" by {h}")).unwrap_or_default()
    )]
    InUse {
        path: PathBuf,
        holder: Option<String>,
    },
    #[error("{}: {source}", path.display())]
    Lock {
        path: PathBuf,
        source: corten_sandbox::SandboxError,
    },
}

/// Device and inode of a file: what makes two paths the same disk.
pub fn identity(file: &File) -> Option<(u64, u64)> {
    // SAFETY: an all-zero `struct stat` is valid; fstat fills it in.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is a valid out-pointer and the descriptor is open.
    (unsafe { libc::fstat(file.as_raw_fd(), &mut st) } == 0).then_some((st.st_dev, st.st_ino))
}

/// Takes an exclusive advisory lock on the backing file (as QEMU locks its
/// images), so that a second tender on the same disk is refused. When the
/// lock cannot even be tried (a launcher's filter forbids `flock`, a file
/// system without locks) the device is still attached: the returned
/// warning says so.
pub fn lock(b: &BlockBacking) -> Result<Option<String>, BlockError> {
    use corten_sandbox::FlockOutcome;
    match corten_sandbox::flock_exclusive(b.file.as_raw_fd()).map_err(|source| {
        BlockError::Lock {
            path: b.path.clone(),
            source,
        }
    })? {
        FlockOutcome::Locked => Ok(None),
        FlockOutcome::Busy => Err(BlockError::InUse {
            path: b.path.clone(),
            holder: identity(&b.file).and_then(lock_holder),
        }),
        FlockOutcome::Unavailable(why) => Ok(Some(format!(
            "{}: not locked against use by another tender ({why}); attaching it anyway",
            b.path.display()
        ))),
    }
}

/// "process PID (NAME)" holding a lock on the file (device, inode), from
/// /proc/locks, when /proc can tell.
fn lock_holder(file: (u64, u64)) -> Option<String> {
    let locks = std::fs::read_to_string("/proc/locks").ok()?;
    let pid = holder_pid(&locks, file, |pid| holds_open(pid, file))?;
    Some(match std::fs::read_to_string(format!("/proc/{pid}/comm")) {
        Ok(comm) => format!("process {pid} ({})", comm.trim()),
        Err(_) => format!("process {pid}"),
    })
}

/// The pid of the /proc/locks line about the file (device, inode). Lines
/// read like "1: FLOCK  ADVISORY  WRITE 4242 fd:01:1311845 0 EOF": the
/// device as hex major:minor, the inode in decimal (waiters carry a "->"
/// and are skipped). The kernel prints the super block's device and inode,
/// which are not always what stat(2) reports (btrfs subvolumes, overlay
/// set-ups), so failing an exact match a line counts when `confirm` finds
/// the file open in that process: first lines with the same inode, then
/// any exclusive flock (at most [`CANDIDATES`] of them are looked at).
fn holder_pid(
    locks: &str,
    (dev, ino): (u64, u64),
    confirm: impl Fn(&str) -> bool,
) -> Option<String> {
    let exact = format!("{:02x}:{:02x}:{ino}", libc::major(dev), libc::minor(dev));
    let inode = format!(":{ino}");
    let lines: Vec<(&str, &str)> = locks
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let lock = f.get(1..4)? == ["FLOCK", "ADVISORY", "WRITE"];
            lock.then(|| Some((*f.get(4)?, *f.get(5)?)))?
        })
        .collect();
    let found = lines.iter().find(|(_, id)| *id == exact);
    let found = found
        .or_else(|| {
            lines
                .iter()
                .filter(|(_, id)| id.ends_with(&inode))
                .take(CANDIDATES)
                .find(|(pid, _)| confirm(pid))
        })
        .or_else(|| lines.iter().take(CANDIDATES).find(|(pid, _)| confirm(pid)));
    found.map(|(pid, _)| pid.to_string())
}

/// How many processes [`holder_pid`] looks into at most.
const CANDIDATES: usize = 64;

/// Whether process `pid` has the file (device, inode) open, as far as
/// /proc/PID/fd lets this process look.
fn holds_open(pid: &str, file: (u64, u64)) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.flatten()
        .any(|fd| std::fs::metadata(fd.path()).is_ok_and(|m| (m.dev(), m.ino()) == file))
}

/// An opened backing file or device.
#[derive(Debug)]
pub struct BlockBacking {
    pub path: PathBuf,
    pub file: File,
    /// Size in bytes.
    pub capacity: u64,
}

/// Opens `path` read-write and measures it (works for regular files and
/// block devices alike: both report their size at `SEEK_END`).
pub fn open(path: &Path) -> Result<BlockBacking, BlockError> {
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_CLOEXEC)
        .open(path)
        .map_err(|source| BlockError::Open {
            path: path.to_owned(),
            source,
        })?;
    let capacity = file
        .seek(SeekFrom::End(0))
        .map_err(|source| BlockError::Capacity {
            path: path.to_owned(),
            source,
        })?;
    Ok(BlockBacking {
        path: path.to_owned(),
        file,
        capacity,
    })
}

/// Checks that the device holds a whole number of sectors, at least one.
/// `block_size` must be a power of two (the command line guarantees it).
pub fn check_geometry(
    name: &str,
    path: &Path,
    capacity: u64,
    block_size: u16,
) -> Result<(), BlockError> {
    let bs = u64::from(block_size);
    if bs == 0 || !capacity.is_multiple_of(bs) {
        return Err(BlockError::Misaligned {
            name: name.to_owned(),
            path: path.to_owned(),
            capacity,
            block_size,
        });
    }
    if capacity < bs {
        return Err(BlockError::TooSmall {
            name: name.to_owned(),
            path: path.to_owned(),
            capacity,
            block_size,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_holder_matches_device_and_inode_or_a_confirmed_inode() {
        let dev = libc::makedev(0xfe, 1);
        let locks = "1: POSIX  ADVISORY  WRITE 7 fe:01:1234 0 EOF\n\
                     2: FLOCK  ADVISORY  WRITE 42 fe:01:1234 0 EOF\n\
                     2: -> FLOCK  ADVISORY  WRITE 43 fe:01:1234 0 EOF\n\
                     3: FLOCK  ADVISORY  WRITE 44 00:2a:99 0 EOF\n";
        let never = |_: &str| false;
        assert_eq!(holder_pid(locks, (dev, 1234), never).as_deref(), Some("42"));
        // Another device number for the same inode (a btrfs subvolume):
        // only when the process is seen holding the file.
        let other = libc::makedev(0, 0x31);
        assert_eq!(holder_pid(locks, (other, 1234), never), None);
        assert_eq!(
            holder_pid(locks, (other, 1234), |p| p == "42").as_deref(),
            Some("42")
        );
        // Neither matches (an overlay's own inode numbers): any exclusive
        // flock whose process holds the file; POSIX locks and waiters are
        // not flock holders.
        assert_eq!(
            holder_pid(locks, (other, 5), |p| p == "44").as_deref(),
            Some("44")
        );
        assert_eq!(
            holder_pid(locks, (other, 5), |p| p == "7" || p == "43"),
            None
        );
        assert_eq!(holder_pid("garbage\n\n", (dev, 1234), |_| true), None);
    }

    #[test]
    fn geometry_rules() {
        let p = Path::new("/x.img");
        assert!(check_geometry("s", p, 4 << 20, 512).is_ok());
        assert!(check_geometry("s", p, 4096, 4096).is_ok());
        let e = check_geometry("storage", p, 6144, 4096).unwrap_err();
        let m = e.to_string();
        assert!(
            m.contains("storage: Backing storage size must be block aligned"),
            "{m}"
        );
        assert!(m.contains("6144 bytes, 2048 bytes past"), "{m}");
        let e = check_geometry("storage", p, 0, 512).unwrap_err();
        assert!(e
            .to_string()
            .contains("Backing storage must be at least 1 block (512 bytes)"));
    }

    #[test]
    fn open_measures_a_file() {
        let dir = std::env::temp_dir().join(format!("corten-tender-block-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("disk.img");
        std::fs::write(&f, vec![0u8; 3 * 512]).unwrap();
        let b = open(&f).unwrap();
        assert_eq!(b.capacity, 1536);
        let e = open(&dir.join("missing.img")).unwrap_err();
        assert!(e.to_string().starts_with("Could not open block device: "));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
