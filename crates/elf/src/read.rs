//! Positioned reads from a unikernel image.
//!
//! The loader never streams or maps the whole file: it reads the ELF header,
//! the program header table, the PT_NOTE segments and then each PT_LOAD's
//! bytes straight into guest memory, each at its own offset (pread-style).

use std::fs::File;
use std::io::{self, Seek, SeekFrom};
use std::os::unix::fs::FileExt;

/// A source of bytes that can be read at any offset without a cursor.
pub trait ReadAt {
    /// Size of the source in bytes. Every read the loader makes is checked
    /// against this first.
    fn size(&self) -> u64;

    /// Fills `buf` with the bytes at `offset`; fails if fewer are available.
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;
}

impl ReadAt for File {
    /// The file's length (its end offset, from `lseek`), or 0 if that fails
    /// (the loader then reports the file as too short for an ELF header).
    /// Not `metadata()`: std implements it with `statx`, which urunc's
    /// seccomp allow-list for solo5-hvt traps with SIGSYS; `lseek` is on
    /// it. Reads are positioned, so moving the file offset is harmless.
    fn size(&self) -> u64 {
        let mut file: &File = self;
        file.seek(SeekFrom::End(0)).unwrap_or(0)
    }

    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        FileExt::read_exact_at(self, buf, offset)
    }
}

impl ReadAt for [u8] {
    fn size(&self) -> u64 {
        self.len() as u64
    }

    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let src = usize::try_from(offset)
            .ok()
            .and_then(|start| Some(start..start.checked_add(buf.len())?))
            .and_then(|range| self.get(range))
            .ok_or_else(|| io::Error::from(io::ErrorKind::UnexpectedEof))?;
        buf.copy_from_slice(src);
        Ok(())
    }
}

impl ReadAt for Vec<u8> {
    fn size(&self) -> u64 {
        self.as_slice().size()
    }

    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.as_slice().read_exact_at(buf, offset)
    }
}

impl<T: ReadAt + ?Sized> ReadAt for &T {
    fn size(&self) -> u64 {
        (**self).size()
    }

    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        (**self).read_exact_at(buf, offset)
    }
}

/// A length already bounded far below 4 GiB (the program header table,
/// the note budget) as `usize`.
pub(crate) fn bounded_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(0)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn slice_reads_inside_and_refuses_outside() {
        let data: &[u8] = b"0123456789";
        let mut buf = [0u8; 4];
        data.read_exact_at(&mut buf, 3).unwrap();
        assert_eq!(&buf, b"3456");
        data.read_exact_at(&mut buf, 6).unwrap();
        assert_eq!(&buf, b"6789");
        assert_eq!(
            data.read_exact_at(&mut buf, 7).unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
        assert!(data.read_exact_at(&mut buf, u64::MAX).is_err());
        assert!(data.read_exact_at(&mut [], 10).is_ok());
        assert!(data.read_exact_at(&mut [0], 10).is_err());
        assert_eq!(data.size(), 10);
    }

    #[test]
    fn file_reads_at_offsets() {
        let mut f = tempfile_with(b"hello, world");
        f.flush().unwrap();
        assert_eq!(ReadAt::size(&f), 12);
        let mut buf = [0u8; 5];
        ReadAt::read_exact_at(&f, &mut buf, 7).unwrap();
        assert_eq!(&buf, b"world");
        assert!(ReadAt::read_exact_at(&f, &mut buf, 8).is_err());
    }

    fn tempfile_with(bytes: &[u8]) -> File {
        let path = std::env::temp_dir().join(format!(
            "corten-elf-read-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let mut f = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        std::fs::remove_file(&path).unwrap();
        f.write_all(bytes).unwrap();
        f
    }
}
