//! Block device attach: open the backing file or device read-write, learn
//! its capacity, and check it against the sector size.

use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom};
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
