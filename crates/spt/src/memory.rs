//! Guest memory. On spt a guest address *is* a host address: guest memory
//! is one anonymous mapping at [`SPT_HOST_MEM_BASE`, mem_size) of the
//! tender's own address space (the page at 0 and the rest below 64 KiB stay
//! unmapped, as `vm.mmap_min_addr` demands). The tender is a PIE loaded far
//! above 4 GiB, so the range is free unless `--mem` is enormous; the mapping
//! uses `MAP_FIXED_NOREPLACE` so a collision is an error, never a silent
//! overwrite of the tender.

use corten_abi::spt::SPT_HOST_MEM_BASE;
use corten_elf::{Elf, ReadAt};

/// A guest memory problem.
#[derive(Debug, thiserror::Error)]
pub enum MemoryError {
    #[error(
        "guest memory of {mem_size:#x} bytes is too small: it must exceed {SPT_HOST_MEM_BASE:#x}"
    )]
    TooSmall { mem_size: u64 },
    #[error(
        "Error allocating guest memory: [{SPT_HOST_MEM_BASE:#x}, {mem_size:#x}) overlaps the \
         tender's own mappings (spt guest addresses equal host addresses); use a smaller --mem"
    )]
    Collides { mem_size: u64 },
    #[error(
        "Error allocating guest memory: the kernel placed it at {got:#x} instead of \
         {SPT_HOST_MEM_BASE:#x} (a kernel older than 4.17 without MAP_FIXED_NOREPLACE?)"
    )]
    Misplaced { got: u64 },
    #[error("Error allocating guest memory ({mib} MiB): {source}; use a smaller --mem")]
    Map { mib: u64, source: std::io::Error },
    #[error(
        "could not mark guest memory for transparent huge pages: {source}; is THP disabled \
         (/sys/kernel/mm/transparent_hugepage/enabled)?"
    )]
    HugePages { source: std::io::Error },
    #[error("guest range [{addr:#x}, +{len:#x}) is outside guest memory [{SPT_HOST_MEM_BASE:#x}, {mem_size:#x})")]
    OutOfRange { addr: u64, len: u64, mem_size: u64 },
    #[error("mprotect of guest range [{start:#x}, {end:#x}) failed: {source}")]
    Protect {
        start: u64,
        end: u64,
        source: std::io::Error,
    },
    #[error("{file}: program header {index} (PT_LOAD): reading {len:#x} bytes at file offset {offset:#x} failed: {source}")]
    SegmentRead {
        file: String,
        index: usize,
        offset: u64,
        len: u64,
        source: std::io::Error,
    },
}

/// The guest's memory: host addresses [`SPT_HOST_MEM_BASE`, `mem_size`).
/// Never unmapped: the guest runs in it until the process ends.
#[derive(Debug)]
pub struct GuestMemory {
    mem_size: u64,
}

impl GuestMemory {
    /// Maps guest memory read-write (read-write-execute with
    /// `exec_heap`), all zero.
    pub fn map(mem_size: u64, exec_heap: bool) -> Result<GuestMemory, MemoryError> {
        if mem_size <= SPT_HOST_MEM_BASE {
            return Err(MemoryError::TooSmall { mem_size });
        }
        let len = usize::try_from(mem_size - SPT_HOST_MEM_BASE)
            .map_err(|_| MemoryError::Collides { mem_size })?;
        let mut prot = libc::PROT_READ | libc::PROT_WRITE;
        if exec_heap {
            prot |= libc::PROT_EXEC;
        }
        let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED_NOREPLACE;
        // SAFETY: MAP_FIXED_NOREPLACE never replaces an existing mapping, so
        // this cannot clobber any memory the tender uses; the result is
        // checked below.
        let p = unsafe {
            libc::mmap(
                SPT_HOST_MEM_BASE as usize as *mut libc::c_void,
                len,
                prot,
                flags,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            let e = std::io::Error::last_os_error();
            return Err(match e.raw_os_error() {
                Some(libc::EEXIST) => MemoryError::Collides { mem_size },
                _ => MemoryError::Map {
                    mib: mem_size >> 20,
                    source: e,
                },
            });
        }
        if p as usize as u64 != SPT_HOST_MEM_BASE {
            // SAFETY: unmapping the region the call above just created.
            unsafe { libc::munmap(p, len) };
            return Err(MemoryError::Misplaced {
                got: p as usize as u64,
            });
        }
        Ok(GuestMemory { mem_size })
    }

    /// Asks the kernel to back guest memory with transparent huge pages
    /// (`MADV_HUGEPAGE`; THP in `madvise` mode otherwise gives 4 KiB
    /// pages). The 2 MiB-aligned part benefits; the ends stay small.
    pub fn advise_huge_pages(&self) -> Result<(), MemoryError> {
        let len = usize::try_from(self.mem_size - SPT_HOST_MEM_BASE).map_err(|_| {
            MemoryError::Collides {
                mem_size: self.mem_size,
            }
        })?;
        // SAFETY: advice on exactly the guest mapping made by `map`; it
        // changes how the kernel backs it, not its contents.
        let r = unsafe {
            libc::madvise(
                SPT_HOST_MEM_BASE as usize as *mut libc::c_void,
                len,
                libc::MADV_HUGEPAGE,
            )
        };
        if r == 0 {
            Ok(())
        } else {
            Err(MemoryError::HugePages {
                source: std::io::Error::last_os_error(),
            })
        }
    }

    /// Guest memory size (the `--mem` value in bytes).
    pub fn mem_size(&self) -> u64 {
        self.mem_size
    }

    fn check(&self, addr: u64, len: u64) -> Result<(), MemoryError> {
        let ok = addr >= SPT_HOST_MEM_BASE
            && addr
                .checked_add(len)
                .is_some_and(|end| end <= self.mem_size);
        if ok {
            Ok(())
        } else {
            Err(MemoryError::OutOfRange {
                addr,
                len,
                mem_size: self.mem_size,
            })
        }
    }

    /// The guest bytes [addr, addr + len), bounds-checked. Only for pages
    /// that are still writable (before [`Self::protect`] runs on them).
    pub fn bytes_mut(&mut self, addr: u64, len: usize) -> Result<&mut [u8], MemoryError> {
        self.check(addr, len as u64)?;
        // SAFETY: [addr, addr + len) lies inside the mapping made by `map`,
        // which lives as long as the process and is only reached through
        // `&mut self`, so the slice is valid and unaliased.
        Ok(unsafe { std::slice::from_raw_parts_mut(addr as usize as *mut u8, len) })
    }

    /// Sets the protection of [start, end) (page-aligned guest addresses).
    pub fn protect(&mut self, start: u64, end: u64, prot: i32) -> Result<(), MemoryError> {
        let len = end.saturating_sub(start);
        self.check(start, len)?;
        // SAFETY: the range lies inside guest memory (checked above), which
        // no Rust reference points into at this time.
        let rc = unsafe { libc::mprotect(start as usize as *mut libc::c_void, len as usize, prot) };
        if rc != 0 {
            return Err(MemoryError::Protect {
                start,
                end,
                source: std::io::Error::last_os_error(),
            });
        }
        Ok(())
    }

    /// Reads every PT_LOAD segment's file bytes to its address (memory is
    /// fresh and zero, so the BSS needs nothing) and then applies each
    /// segment's permissions to its page range. `elf.check_layout` must
    /// have passed for this memory size; bounds are checked again anyway.
    pub fn load<R: ReadAt + ?Sized>(&mut self, elf: &Elf, file: &R) -> Result<(), MemoryError> {
        for s in elf.segments() {
            let len = usize::try_from(s.filesz).map_err(|_| MemoryError::OutOfRange {
                addr: s.vaddr,
                len: s.filesz,
                mem_size: self.mem_size,
            })?;
            let dst = self.bytes_mut(s.vaddr, len)?;
            file.read_exact_at(dst, s.offset)
                .map_err(|source| MemoryError::SegmentRead {
                    file: elf.name().to_owned(),
                    index: s.phdr_index,
                    offset: s.offset,
                    len: s.filesz,
                    source,
                })?;
        }
        for s in elf.segments() {
            self.protect(s.start, s.end, s.prot.to_mmap_prot())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_checked() {
        let m = GuestMemory {
            mem_size: 0x20_0000,
        };
        assert!(m.check(0x1_0000, 0x1f_0000).is_ok());
        assert!(m.check(0xffff, 1).is_err());
        assert!(m.check(0x1f_ffff, 2).is_err());
        assert!(m.check(u64::MAX, 2).is_err());
    }
}
