//! Guest memory: one anonymous host mapping that KVM maps at guest-physical
//! address 0, and the only way the tender touches it.
//!
//! Every access goes through a bounds check on (gpa, len) that cannot
//! overflow, and every write additionally checks that the range is not one
//! the tender made read-only on the host side (the unikernel's text and
//! rodata): a hostile guest that points a hypercall's output at its own text
//! gets an error, not a SIGSEGV in the tender.

use std::ptr::NonNull;
use std::sync::Arc;

use corten_abi::hvt::{HcBlockIo, HcHalt, HcNetIo, HcPoll, HcPuts, HcWalltime, HvtBootInfo};
use corten_abi::mft::{MftEntry, MftHeader};

/// Why a guest-supplied range was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum GuestAccessError {
    #[error(
        "guest range 0x{gpa:x} + 0x{len:x} bytes lies outside guest memory (0x{size:x} bytes)"
    )]
    OutOfBounds { gpa: u64, len: u64, size: u64 },
    #[error(
        "guest range 0x{gpa:x} + 0x{len:x} bytes overlaps read-only memory \
         (0x{ro_start:x}..0x{ro_end:x}, the unikernel's text/rodata) and cannot be written"
    )]
    ReadOnly {
        gpa: u64,
        len: u64,
        ro_start: u64,
        ro_end: u64,
    },
}

/// Failures setting up guest memory.
#[derive(Debug, thiserror::Error)]
pub enum MemError {
    #[error("could not reserve {size} bytes of guest memory: {source}; try a smaller --mem")]
    Map { size: u64, source: std::io::Error },
    #[error("guest memory size {0} does not fit this host's address space")]
    TooLarge(u64),
    #[error("could not change host protection of guest range 0x{start:x}..0x{end:x}: {source}")]
    Protect {
        start: u64,
        end: u64,
        source: std::io::Error,
    },
    #[error(
        "could not mark guest memory for transparent huge pages: {source}; \
         is THP disabled (/sys/kernel/mm/transparent_hugepage/enabled)?"
    )]
    HugePages { source: std::io::Error },
    #[error(transparent)]
    Access(#[from] GuestAccessError),
}

/// How the host backs guest memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostPages {
    /// The kernel's default (4 KiB pages unless THP is `always`).
    Small,
    /// Transparent 2 MiB pages (`--x-hugepages`).
    Huge,
}

/// Size of an x86_64 / aarch64 (4 KiB granule) huge page.
const HUGE_PAGE: usize = 2 << 20;

/// Plain data: every bit pattern is a valid value, so a copy can be read
/// out of guest memory.
///
/// # Safety
/// Implement only for types made of integers (and arrays of them), with no
/// references, `bool`s, enums or niches.
pub unsafe trait Pod: Copy + 'static {}

/// Plain data without padding bytes, so a value can be copied into guest
/// memory byte for byte.
///
/// # Safety
/// Implement only for [`Pod`] types whose size equals the sum of their
/// fields' sizes.
pub unsafe trait AsBytes: Pod {}

macro_rules! pod {
    ($($t:ty),* $(,)?) => { $(
        // SAFETY: integers, or repr(C) structs of integers; every bit
        // pattern is valid.
        unsafe impl Pod for $t {}
    )* };
}
macro_rules! as_bytes {
    ($($t:ty),* $(,)?) => { $(
        // SAFETY: the layout asserts in corten-abi pin these types' sizes
        // to the sum of their fields, so there is no padding.
        unsafe impl AsBytes for $t {}
    )* };
}
pod!(u8, u16, u32, u64, i32, i64);
pod!(
    HvtBootInfo,
    HcWalltime,
    HcPuts,
    HcBlockIo,
    HcNetIo,
    HcPoll,
    HcHalt
);
pod!(MftHeader, MftEntry, corten_abi::hvt::x86_64::TrapRegs);
as_bytes!(u8, u16, u32, u64, i32, i64);
as_bytes!(HvtBootInfo, HcWalltime, HcPuts, MftHeader, MftEntry);
as_bytes!(corten_abi::hvt::x86_64::TrapRegs);
// SAFETY: arrays of plain data are plain data without extra padding.
unsafe impl<T: Pod, const N: usize> Pod for [T; N] {}
// SAFETY: as above; an array adds no padding between its elements.
unsafe impl<T: AsBytes, const N: usize> AsBytes for [T; N] {}

/// Host-side protection of a guest range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostProt {
    ReadOnly,
    ReadWrite,
}

/// The host mapping behind guest memory, unmapped when the last owner
/// (guest memory, or the network ring's I/O thread) drops it.
struct Mapping {
    base: NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is plain memory owned by this value; which thread
// unmaps it (the last owner to drop) does not matter.
unsafe impl Send for Mapping {}
// SAFETY: shared access only hands out raw pointers and bounds-checked
// slices; concurrent writers (the guest, the ring's I/O thread) are why
// every access that can race goes through volatile or atomic operations
// or a system call (see `SharedMemory`).
unsafe impl Sync for Mapping {}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmapping exactly the mapping created in
        // `GuestMemory::new`; no slice can outlive the owners.
        unsafe { libc::munmap(self.base.as_ptr().cast(), self.len) };
    }
}

/// What a guest-supplied range is checked against: guest memory's size and
/// the ranges the tender made read-only on the host.
#[derive(Debug, Clone, Default)]
struct Bounds {
    size: u64,
    /// Ranges made read-only on the host, `[start, end)`.
    read_only: Vec<(u64, u64)>,
}

impl Bounds {
    fn check(&self, gpa: u64, len: u64) -> Result<usize, GuestAccessError> {
        let oob = GuestAccessError::OutOfBounds {
            gpa,
            len,
            size: self.size,
        };
        let end = gpa.checked_add(len).ok_or(oob)?;
        if end > self.size {
            return Err(oob);
        }
        usize::try_from(gpa).map_err(|_| oob)
    }

    fn check_writable(&self, gpa: u64, len: u64) -> Result<usize, GuestAccessError> {
        let off = self.check(gpa, len)?;
        let end = gpa + len; // checked above
        for &(ro_start, ro_end) in self.read_only.iter() {
            if len > 0 && gpa < ro_end && ro_start < end {
                return Err(GuestAccessError::ReadOnly {
                    gpa,
                    len,
                    ro_start,
                    ro_end,
                });
            }
        }
        Ok(off)
    }
}

pub struct GuestMemory {
    map: Arc<Mapping>,
    bounds: Bounds,
}

impl GuestMemory {
    /// Maps `size` bytes of zeroed, private, anonymous memory. Pages are
    /// not reserved up front (MAP_NORESERVE): a 4 GiB guest that touches
    /// 3 MiB costs 3 MiB.
    pub fn new(size: u64) -> Result<GuestMemory, MemError> {
        GuestMemory::new_with(size, HostPages::Small)
    }

    /// [`GuestMemory::new`], backed by `pages`. With
    /// [`HostPages::Huge`] the mapping starts on a 2 MiB boundary (so
    /// guest-physical 2 MiB pages line up with host ones) and is marked
    /// `MADV_HUGEPAGE`, which lets the kernel back it with transparent huge
    /// pages even when THP is in `madvise` mode.
    pub fn new_with(size: u64, pages: HostPages) -> Result<GuestMemory, MemError> {
        let len = usize::try_from(size).map_err(|_| MemError::TooLarge(size))?;
        if len == 0 {
            return Err(MemError::TooLarge(size));
        }
        let slack = match pages {
            HostPages::Small => 0,
            HostPages::Huge => HUGE_PAGE,
        };
        let map_len = len.checked_add(slack).ok_or(MemError::TooLarge(size))?;
        // SAFETY: anonymous mapping at a kernel-chosen address; no existing
        // memory is affected.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                map_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(MemError::Map {
                size,
                source: std::io::Error::last_os_error(),
            });
        }
        let start = ptr as usize;
        let aligned = start.next_multiple_of(slack.max(1));
        let head = aligned - start;
        let tail = slack - head;
        // SAFETY: both ranges lie inside the mapping just made and outside
        // [aligned, aligned + len), which is all that is kept.
        unsafe {
            if head > 0 {
                libc::munmap(ptr, head);
            }
            if tail > 0 {
                libc::munmap((aligned + len) as *mut libc::c_void, tail);
            }
        }
        if pages == HostPages::Huge {
            // SAFETY: advice on the mapping just made; it changes how the
            // kernel backs it, not its contents.
            if unsafe { libc::madvise(aligned as *mut libc::c_void, len, libc::MADV_HUGEPAGE) } != 0
            {
                let source = std::io::Error::last_os_error();
                // SAFETY: unmapping the mapping just made.
                unsafe { libc::munmap(aligned as *mut libc::c_void, len) };
                return Err(MemError::HugePages { source });
            }
        }
        let base = NonNull::new(aligned as *mut u8).ok_or(MemError::TooLarge(size))?;
        Ok(GuestMemory {
            map: Arc::new(Mapping { base, len }),
            bounds: Bounds {
                size,
                read_only: Vec::new(),
            },
        })
    }

    /// Sets aside the top `bytes` of the mapping for the tender (the
    /// network ring): from now on guest-supplied ranges must lie below it,
    /// as must the image. Returns its guest-physical address.
    pub fn reserve_top(&mut self, bytes: u64) -> Result<u64, GuestAccessError> {
        let top = self
            .bounds
            .size
            .checked_sub(bytes)
            .filter(|&t| t > 0)
            .ok_or(GuestAccessError::OutOfBounds {
                gpa: 0,
                len: bytes,
                size: self.bounds.size,
            })?;
        self.bounds.size = top;
        Ok(top)
    }

    /// Size of guest memory in bytes: what guest-supplied ranges must lie
    /// in (without a reserved top, all of the mapping).
    pub fn size(&self) -> u64 {
        self.bounds.size
    }

    /// Size of the whole mapping, reserved top included: what KVM and the
    /// guest page tables map.
    pub fn mapped_size(&self) -> u64 {
        self.map.len as u64
    }

    /// Host virtual address of guest-physical address 0 (for KVM).
    pub fn host_address(&self) -> u64 {
        self.map.base.as_ptr() as u64
    }

    /// A handle on guest memory for another thread (the network ring's),
    /// with the bounds and read-only ranges in force now.
    pub fn shared(&self) -> SharedMemory {
        SharedMemory {
            map: Arc::clone(&self.map),
            bounds: self.bounds.clone(),
        }
    }

    fn base(&self) -> *mut u8 {
        self.map.base.as_ptr()
    }

    /// Checks `[gpa, gpa + len)` against guest memory without overflow and
    /// returns the offset into the mapping.
    pub fn check(&self, gpa: u64, len: u64) -> Result<usize, GuestAccessError> {
        self.bounds.check(gpa, len)
    }

    /// Like [`check`](Self::check), and also refuses ranges overlapping
    /// host-read-only memory.
    pub fn check_writable(&self, gpa: u64, len: u64) -> Result<usize, GuestAccessError> {
        self.bounds.check_writable(gpa, len)
    }

    /// The guest bytes `[gpa, gpa + len)`.
    pub fn slice(&self, gpa: u64, len: u64) -> Result<&[u8], GuestAccessError> {
        let off = self.check(gpa, len)?;
        // `check` proved off + len <= size, and size fits usize.
        let len = len as usize;
        // SAFETY: the range lies inside the live mapping we own. The vCPU
        // is stopped while the tender handles an exit, so the guest does not
        // write these bytes while the slice is alive. (A hostile guest may
        // have a ring request of the I/O thread target the same bytes; the
        // tender only copies such bytes or hands them to a system call.)
        Ok(unsafe { std::slice::from_raw_parts(self.base().add(off), len) })
    }

    /// The guest bytes `[gpa, gpa + len)`, writable.
    pub fn slice_mut(&mut self, gpa: u64, len: u64) -> Result<&mut [u8], GuestAccessError> {
        let off = self.check_writable(gpa, len)?;
        let len = len as usize;
        // SAFETY: as in `slice`; `&mut self` makes this the only live view,
        // and the range is host-writable.
        Ok(unsafe { std::slice::from_raw_parts_mut(self.base().add(off), len) })
    }

    /// All of guest memory (without a reserved top), for loading the
    /// unikernel image before any range is made read-only.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: guest memory below the reserved top (size <= mapping
        // length), exclusively borrowed. Callers only use this before
        // `protect` and before the guest or any other thread runs.
        unsafe { std::slice::from_raw_parts_mut(self.base(), self.bounds.size as usize) }
    }

    /// A copy of the `T` at `gpa` (any alignment).
    pub fn read<T: Pod>(&self, gpa: u64) -> Result<T, GuestAccessError> {
        let bytes = self.slice(gpa, std::mem::size_of::<T>() as u64)?;
        // SAFETY: `bytes` holds size_of::<T>() bytes and T accepts any bit
        // pattern (Pod); read_unaligned has no alignment requirement.
        Ok(unsafe { std::ptr::read_unaligned(bytes.as_ptr().cast::<T>()) })
    }

    /// Stores `value` at `gpa` (any alignment).
    pub fn write<T: AsBytes>(&mut self, gpa: u64, value: T) -> Result<(), GuestAccessError> {
        let bytes = self.slice_mut(gpa, std::mem::size_of::<T>() as u64)?;
        // SAFETY: `bytes` holds size_of::<T>() writable bytes; T has no
        // padding (AsBytes), so every byte written is initialised.
        unsafe { std::ptr::write_unaligned(bytes.as_mut_ptr().cast::<T>(), value) };
        Ok(())
    }

    /// Copies `data` to `gpa`.
    pub fn write_bytes(&mut self, gpa: u64, data: &[u8]) -> Result<(), GuestAccessError> {
        self.slice_mut(gpa, data.len() as u64)?
            .copy_from_slice(data);
        Ok(())
    }

    /// Sets the host-side protection of a page-aligned range. Guest
    /// executable pages are never host-executable: `exec` maps to read-only.
    pub fn protect(&mut self, start: u64, end: u64, prot: HostProt) -> Result<(), MemError> {
        let len = end
            .checked_sub(start)
            .ok_or(GuestAccessError::OutOfBounds {
                gpa: start,
                len: 0,
                size: self.bounds.size,
            })?;
        let off = self.check(start, len)?;
        let flags = match prot {
            HostProt::ReadOnly => libc::PROT_READ,
            HostProt::ReadWrite => libc::PROT_READ | libc::PROT_WRITE,
        };
        // SAFETY: the range lies inside our mapping (checked); changing its
        // protection cannot affect any other memory.
        let rc = unsafe { libc::mprotect(self.base().add(off).cast(), len as usize, flags) };
        if rc != 0 {
            return Err(MemError::Protect {
                start,
                end,
                source: std::io::Error::last_os_error(),
            });
        }
        if prot == HostProt::ReadOnly && len > 0 {
            self.bounds.read_only.push((start, end));
        }
        Ok(())
    }

    /// Ranges made read-only on the host so far.
    pub fn read_only_ranges(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.bounds.read_only.iter().copied()
    }
}

/// Guest memory as another thread sees it (the network ring's I/O thread):
/// the same bounds checks, but raw pointers instead of slices, because the
/// guest and the vCPU thread access the same bytes concurrently. Keeps the
/// mapping alive.
pub struct SharedMemory {
    map: Arc<Mapping>,
    bounds: Bounds,
}

impl SharedMemory {
    /// `[gpa, gpa + len)` inside guest memory: the host address of its
    /// first byte.
    pub fn readable(&self, gpa: u64, len: u64) -> Result<*const u8, GuestAccessError> {
        let off = self.bounds.check(gpa, len)?;
        // SAFETY: `check` proved off + len <= size <= the mapping length.
        Ok(unsafe { self.map.base.as_ptr().add(off) })
    }

    /// Like [`readable`](Self::readable), for a range the host may write
    /// (not overlapping host-read-only memory).
    pub fn writable(&self, gpa: u64, len: u64) -> Result<*mut u8, GuestAccessError> {
        let off = self.bounds.check_writable(gpa, len)?;
        // SAFETY: as in `readable`.
        Ok(unsafe { self.map.base.as_ptr().add(off) })
    }

    /// `[gpa, gpa + len)` anywhere in the mapping, the reserved top
    /// included (for the tender's own structures there).
    pub fn mapped(&self, gpa: u64, len: u64) -> Result<*mut u8, GuestAccessError> {
        let whole = Bounds {
            size: self.map.len as u64,
            read_only: Vec::new(),
        };
        let off = whole.check(gpa, len)?;
        // SAFETY: off + len <= the mapping length (checked).
        Ok(unsafe { self.map.base.as_ptr().add(off) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    #[test]
    fn bounds_are_checked_without_overflow() {
        let m = GuestMemory::new(2 * MIB).unwrap();
        assert!(m.check(0, 2 * MIB).is_ok());
        assert!(m.check(2 * MIB, 0).is_ok());
        assert!(m.check(2 * MIB - 1, 1).is_ok());
        assert!(m.check(2 * MIB - 1, 2).is_err());
        assert!(m.check(2 * MIB + 1, 0).is_err());
        assert!(m.check(u64::MAX, 2).is_err());
        assert!(m.check(1, u64::MAX).is_err());
        assert!(m.slice(u64::MAX - 7, 8).is_err());
    }

    #[test]
    fn read_write_round_trip_unaligned() {
        let mut m = GuestMemory::new(2 * MIB).unwrap();
        m.write::<u64>(0x1001, 0x1122_3344_5566_7788).unwrap();
        assert_eq!(m.read::<u64>(0x1001).unwrap(), 0x1122_3344_5566_7788);
        assert_eq!(m.slice(0x1001, 1).unwrap(), &[0x88]);
        assert!(m.write::<u64>(2 * MIB - 4, 0).is_err());
        assert!(m.read::<u32>(2 * MIB - 3).is_err());
    }

    #[test]
    fn read_only_ranges_refuse_writes_but_allow_reads() {
        let mut m = GuestMemory::new(2 * MIB).unwrap();
        m.write::<u32>(0x5000, 7).unwrap();
        m.protect(0x4000, 0x6000, HostProt::ReadOnly).unwrap();
        assert_eq!(m.read::<u32>(0x5000).unwrap(), 7);
        assert!(matches!(
            m.write::<u32>(0x5ffe, 1),
            Err(GuestAccessError::ReadOnly { .. })
        ));
        assert!(m.write::<u32>(0x3ffc, 1).is_ok());
        assert!(m.write::<u32>(0x6000, 1).is_ok());
        assert!(m.slice_mut(0x3fff, 2).is_err());
        // A zero-length write touches nothing and is allowed.
        assert!(m.slice_mut(0x5000, 0).is_ok());
    }

    #[test]
    fn a_reserved_top_is_outside_guest_ranges_but_mapped() {
        let mut m = GuestMemory::new(4 * MIB).unwrap();
        assert_eq!(m.reserve_top(2 * MIB).unwrap(), 2 * MIB);
        assert_eq!(m.size(), 2 * MIB);
        assert_eq!(m.mapped_size(), 4 * MIB);
        assert!(m.check(2 * MIB - 8, 8).is_ok());
        assert!(m.check(2 * MIB - 8, 9).is_err());
        assert_eq!(m.as_mut_slice().len() as u64, 2 * MIB);
        let shared = m.shared();
        assert!(shared.readable(2 * MIB, 1).is_err());
        assert!(shared.mapped(2 * MIB, 2 * MIB).is_ok());
        assert!(shared.mapped(2 * MIB, 2 * MIB + 1).is_err());
        // Nothing left for the guest: refused.
        assert!(m.reserve_top(2 * MIB).is_err());
    }

    #[test]
    fn shared_memory_keeps_the_read_only_ranges_and_the_mapping() {
        let mut m = GuestMemory::new(2 * MIB).unwrap();
        m.protect(0x4000, 0x6000, HostProt::ReadOnly).unwrap();
        let shared = m.shared();
        drop(m);
        assert!(shared.readable(0x5000, 16).is_ok());
        assert!(shared.writable(0x5000, 16).is_err());
        let p = shared.writable(0x7000, 4).unwrap();
        // SAFETY: four writable bytes of the still-mapped guest memory.
        unsafe { p.cast::<u32>().write_unaligned(7) };
        assert!(shared.readable(u64::MAX, 2).is_err());
    }

    #[test]
    fn protect_rejects_bad_ranges() {
        let mut m = GuestMemory::new(2 * MIB).unwrap();
        assert!(m.protect(0x2000, 0x1000, HostProt::ReadOnly).is_err());
        assert!(m.protect(0, 4 * MIB, HostProt::ReadOnly).is_err());
    }
}
