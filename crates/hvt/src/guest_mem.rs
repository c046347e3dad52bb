//! Guest memory: one anonymous host mapping that KVM maps at guest-physical
//! address 0, and the only way the tender touches it.
//!
//! Every access goes through a bounds check on (gpa, len) that cannot
//! overflow, and every write additionally checks that the range is not one
//! the tender made read-only on the host side (the unikernel's text and
//! rodata): a hostile guest that points a hypercall's output at its own text
//! gets an error, not a SIGSEGV in the tender.
//!
//! Guest memory is shared: the guest (on its vCPU) and the network ring's
//! I/O thread may write any byte of it at any time. A Rust reference
//! (`&[u8]`, `&mut [u8]`, `&T`) asserts that nobody else changes the bytes
//! while it lives, so once anybody else can see the mapping the tender never
//! forms one. It accesses guest memory only by
//! - volatile copies: [`GuestMemory::read`] / [`write`](GuestMemory::write)
//!   of plain-data values, [`read_bytes`](GuestMemory::read_bytes) /
//!   [`write_bytes`](GuestMemory::write_bytes) / [`fill`](GuestMemory::fill)
//!   of byte ranges (aligned 8-byte loads and stores in the middle);
//! - system calls on a checked raw range ([`GuestRange`],
//!   [`GuestRangeMut`]): block `pread`/`pwrite`, tap `read`/`write`, the
//!   console `write`, core dumps — straight between the kernel and guest
//!   memory, no copy and no reference;
//! - atomics on the network ring's indices (`ring::host`).
//!
//! The one slice, [`GuestMemory::exclusive_slice`], exists only while the
//! tender is provably the mapping's only user: before KVM is given its
//! address and while no [`SharedMemory`] handle exists (ELF loading).
//!
//! Arithmetic on guest-supplied values here is checked (the lint below):
//! a hostile address or length is an error, never a wrap-around.

#![deny(clippy::arithmetic_side_effects)]

use std::io;
use std::marker::PhantomData;
use std::mem::{size_of, MaybeUninit};
use std::os::fd::RawFd;
use std::ptr::NonNull;
use std::sync::Arc;

use corten_abi::hvt::{HcBlockIo, HcHalt, HcNetIo, HcPoll, HcPuts, HcWalltime, HvtBootInfo};
use corten_abi::mft::{MftEntry, MftHeader};

use crate::sys::retry;

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
    #[error(
        "internal error: guest memory is already shared with KVM or the network ring's \
         thread, so it cannot be loaded as a plain slice any more; please report this bug"
    )]
    Shared,
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
pod!(
    MftHeader,
    MftEntry,
    corten_abi::hvt::x86_64::TrapRegs,
    corten_abi::hvt::aarch64::TrapFrame
);
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
// SAFETY: shared access only hands out raw pointers (in GuestRange and
// GuestRangeMut) and makes volatile copies; no reference to the mapped
// bytes is ever formed while another thread or the guest can reach them.
unsafe impl Sync for Mapping {}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmapping exactly the mapping created in
        // `GuestMemory::new`; every range borrows an owner, so none
        // outlives this.
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
    /// `[gpa, gpa + len)` lies in `[0, size)`: its offset and length in
    /// the mapping.
    fn check(&self, gpa: u64, len: u64) -> Result<(usize, usize), GuestAccessError> {
        let oob = GuestAccessError::OutOfBounds {
            gpa,
            len,
            size: self.size,
        };
        let end = gpa.checked_add(len).ok_or(oob)?;
        if end > self.size {
            return Err(oob);
        }
        // `size` is at most the mapping's length, a usize.
        let off = usize::try_from(gpa).map_err(|_| oob)?;
        let len = usize::try_from(len).map_err(|_| oob)?;
        Ok((off, len))
    }

    /// [`check`](Self::check), and the range overlaps no read-only range.
    fn check_writable(&self, gpa: u64, len: u64) -> Result<(usize, usize), GuestAccessError> {
        let checked = self.check(gpa, len)?;
        // `check` proved gpa + len does not overflow.
        let end = gpa.saturating_add(len);
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
        Ok(checked)
    }
}

/// A mapping and the bounds its ranges are checked against: what guest
/// memory and its handle for another thread have in common.
struct View {
    map: Arc<Mapping>,
    bounds: Bounds,
}

impl View {
    /// Host address of `offset`.
    ///
    /// # Safety
    /// `offset` comes from a check against bounds no larger than the
    /// mapping (this view's, whose size only ever shrinks from the
    /// mapping's length, or the whole mapping's).
    unsafe fn at(&self, offset: usize) -> *mut u8 {
        // SAFETY: the caller's check keeps the pointer inside the mapping,
        // or one past its end for an empty range at the end.
        unsafe { self.map.base.as_ptr().add(offset) }
    }

    fn range(&self, gpa: u64, len: u64) -> Result<GuestRange<'_>, GuestAccessError> {
        let (off, len) = self.bounds.check(gpa, len)?;
        Ok(GuestRange {
            // SAFETY: checked against this view's bounds just now.
            ptr: unsafe { self.at(off) },
            len,
            _mem: PhantomData,
        })
    }

    fn range_mut(&self, gpa: u64, len: u64) -> Result<GuestRangeMut<'_>, GuestAccessError> {
        let (off, len) = self.bounds.check_writable(gpa, len)?;
        Ok(GuestRangeMut {
            // SAFETY: as in `range`.
            ptr: unsafe { self.at(off) },
            len,
            _mem: PhantomData,
        })
    }
}

/// A checked range of guest memory the host may read: its address and
/// length, for a copy or a system call. Never a Rust reference (the guest
/// may change the bytes meanwhile, which a copy made with volatile loads or
/// a system call tolerates). Borrows the [`GuestMemory`] or
/// [`SharedMemory`] that checked it, so the mapping outlives it.
#[derive(Clone, Copy)]
pub struct GuestRange<'a> {
    ptr: *const u8,
    len: usize,
    _mem: PhantomData<&'a Mapping>,
}

/// A checked range of guest memory the host may write (not overlapping
/// host-read-only memory); see [`GuestRange`].
#[derive(Clone, Copy)]
pub struct GuestRangeMut<'a> {
    ptr: *mut u8,
    len: usize,
    _mem: PhantomData<&'a Mapping>,
}

impl<'a> GuestRange<'a> {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Host address of the first byte (for calls such as `mincore` that do
    /// not touch the bytes).
    pub fn as_ptr(&self) -> *const u8 {
        self.ptr
    }

    /// The range without its first `n` bytes (empty if `n >= len`): what
    /// is left after a short write.
    pub fn after(self, n: usize) -> GuestRange<'a> {
        let n = n.min(self.len);
        GuestRange {
            // SAFETY: n <= len: inside the range, or one past its end.
            ptr: unsafe { self.ptr.add(n) },
            len: self.len.saturating_sub(n),
            _mem: PhantomData,
        }
    }

    /// Copies the range into `dst`, which must be exactly as long.
    fn copy_to(&self, dst: &mut [u8]) {
        let len = self.len.min(dst.len());
        // SAFETY: the range holds `len` readable bytes of the mapping, `dst`
        // is a live host buffer of at least `len` bytes, and host buffers
        // never lie inside guest memory (no overlap).
        unsafe { copy_from_guest(self.ptr, dst.as_mut_ptr(), len) }
    }

    /// One `write(2)` of the range to `fd` (again on EINTR): the count
    /// written.
    pub fn write_to(&self, fd: RawFd) -> io::Result<usize> {
        // SAFETY: the kernel reads `len` bytes of the live mapping.
        retry(|| unsafe { libc::write(fd, self.ptr.cast(), self.len) })
    }

    /// One `pwrite(2)` of the range to `fd` at `offset` (again on EINTR).
    pub fn pwrite_to(&self, fd: RawFd, offset: libc::off_t) -> io::Result<usize> {
        // SAFETY: the kernel reads `len` bytes of the live mapping.
        retry(|| unsafe { libc::pwrite(fd, self.ptr.cast(), self.len, offset) })
    }
}

impl<'a> GuestRangeMut<'a> {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Copies `src`, which must be exactly as long, into the range.
    fn copy_from(&self, src: &[u8]) {
        let len = self.len.min(src.len());
        // SAFETY: the range holds `len` host-writable bytes of the mapping;
        // `src` is a live host buffer of at least `len` bytes, outside guest
        // memory.
        unsafe { copy_to_guest(src.as_ptr(), self.ptr, len) }
    }

    /// Sets every byte of the range to `byte`.
    fn fill(&self, byte: u8) {
        // SAFETY: the range holds `len` host-writable bytes of the mapping.
        unsafe { fill_guest(self.ptr, byte, self.len) }
    }

    /// One `read(2)` from `fd` into the range (again on EINTR): the count
    /// read.
    pub fn read_from(&self, fd: RawFd) -> io::Result<usize> {
        // SAFETY: the kernel writes at most `len` bytes into the live,
        // host-writable mapping.
        retry(|| unsafe { libc::read(fd, self.ptr.cast(), self.len) })
    }

    /// One `pread(2)` from `fd` at `offset` into the range (again on EINTR).
    pub fn pread_from(&self, fd: RawFd, offset: libc::off_t) -> io::Result<usize> {
        // SAFETY: as in `read_from`.
        retry(|| unsafe { libc::pread(fd, self.ptr.cast(), self.len, offset) })
    }
}

/// Copies go word by word where they can: 8-byte aligned volatile loads and
/// stores, so an aligned `u64` the guest writes concurrently is never torn
/// and large copies stay fast.
const WORD: usize = size_of::<u64>();

/// How `len` bytes starting at host address `addr` split into bytes before
/// the first 8-byte boundary, whole aligned words, and the bytes after.
fn pieces(addr: usize, len: usize) -> (usize, usize, usize) {
    let head = (addr.wrapping_neg() % WORD).min(len);
    let rest = len.saturating_sub(head);
    (head, rest / WORD, rest % WORD)
}

/// Copies `len` bytes out of guest memory with volatile loads.
///
/// # Safety
/// `src` is valid for `len` bytes of reads, `dst` for `len` bytes of
/// writes, and the two do not overlap.
unsafe fn copy_from_guest(mut src: *const u8, mut dst: *mut u8, len: usize) {
    let (head, words, tail) = pieces(src as usize, len);
    // SAFETY: head + 8 * words + tail == len, so every access lies inside
    // the two buffers; word loads are 8-byte aligned (after `head`), word
    // stores unaligned.
    unsafe {
        for _ in 0..head {
            dst.write(src.read_volatile());
            (src, dst) = (src.add(1), dst.add(1));
        }
        for _ in 0..words {
            let word = src.cast::<u64>().read_volatile();
            dst.cast::<u64>().write_unaligned(word);
            (src, dst) = (src.add(WORD), dst.add(WORD));
        }
        for _ in 0..tail {
            dst.write(src.read_volatile());
            (src, dst) = (src.add(1), dst.add(1));
        }
    }
}

/// Copies `len` bytes into guest memory with volatile stores.
///
/// # Safety
/// As [`copy_from_guest`], with `dst` in guest memory.
unsafe fn copy_to_guest(mut src: *const u8, mut dst: *mut u8, len: usize) {
    let (head, words, tail) = pieces(dst as usize, len);
    // SAFETY: as in `copy_from_guest`; word stores are aligned, word loads
    // unaligned.
    unsafe {
        for _ in 0..head {
            dst.write_volatile(src.read());
            (src, dst) = (src.add(1), dst.add(1));
        }
        for _ in 0..words {
            let word = src.cast::<u64>().read_unaligned();
            dst.cast::<u64>().write_volatile(word);
            (src, dst) = (src.add(WORD), dst.add(WORD));
        }
        for _ in 0..tail {
            dst.write_volatile(src.read());
            (src, dst) = (src.add(1), dst.add(1));
        }
    }
}

/// Sets `len` bytes of guest memory to `byte` with volatile stores.
///
/// # Safety
/// `dst` is valid for `len` bytes of writes.
unsafe fn fill_guest(mut dst: *mut u8, byte: u8, len: usize) {
    let (head, words, tail) = pieces(dst as usize, len);
    let word = u64::from_ne_bytes([byte; WORD]);
    // SAFETY: as in `copy_to_guest`.
    unsafe {
        for _ in 0..head {
            dst.write_volatile(byte);
            dst = dst.add(1);
        }
        for _ in 0..words {
            dst.cast::<u64>().write_volatile(word);
            dst = dst.add(WORD);
        }
        for _ in 0..tail {
            dst.write_volatile(byte);
            dst = dst.add(1);
        }
    }
}

/// `size_of::<T>()` as a guest length.
const fn guest_len<T>() -> u64 {
    size_of::<T>() as u64
}

pub struct GuestMemory {
    view: View,
    /// KVM has been given the mapping's address: the guest may run.
    exposed: bool,
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
        // The kernel placed [start, start + map_len) in the address space,
        // so none of the sums below overflow: aligned + len <= start +
        // map_len, and head + tail == slack.
        let start = ptr as usize;
        let aligned = start
            .checked_next_multiple_of(slack.max(1))
            .ok_or(MemError::TooLarge(size))?;
        let head = aligned.saturating_sub(start);
        let tail = slack.saturating_sub(head);
        // SAFETY: both ranges lie inside the mapping just made and outside
        // [aligned, aligned + len), which is all that is kept.
        unsafe {
            if head > 0 {
                libc::munmap(ptr, head);
            }
            if tail > 0 {
                libc::munmap(aligned.saturating_add(len) as *mut libc::c_void, tail);
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
            view: View {
                map: Arc::new(Mapping { base, len }),
                bounds: Bounds {
                    size,
                    read_only: Vec::new(),
                },
            },
            exposed: false,
        })
    }

    /// Sets aside the top `bytes` of the mapping for the tender (the
    /// network ring): from now on guest-supplied ranges must lie below it,
    /// as must the image. Returns its guest-physical address.
    pub fn reserve_top(&mut self, bytes: u64) -> Result<u64, GuestAccessError> {
        let bounds = &mut self.view.bounds;
        let top = bounds.size.checked_sub(bytes).filter(|&t| t > 0).ok_or(
            GuestAccessError::OutOfBounds {
                gpa: 0,
                len: bytes,
                size: bounds.size,
            },
        )?;
        bounds.size = top;
        Ok(top)
    }

    /// Size of guest memory in bytes: what guest-supplied ranges must lie
    /// in (without a reserved top, all of the mapping).
    pub fn size(&self) -> u64 {
        self.view.bounds.size
    }

    /// Size of the whole mapping, reserved top included: what KVM and the
    /// guest page tables map.
    pub fn mapped_size(&self) -> u64 {
        self.view.map.len as u64
    }

    /// Host virtual address of guest-physical address 0, for KVM. From
    /// now on the guest may access the mapping: no slice of it is handed
    /// out any more.
    pub fn host_address(&mut self) -> u64 {
        self.exposed = true;
        self.view.map.base.as_ptr() as u64
    }

    /// A handle on guest memory for another thread (the network ring's),
    /// with the bounds and read-only ranges in force now.
    pub fn shared(&self) -> SharedMemory {
        SharedMemory {
            view: View {
                map: Arc::clone(&self.view.map),
                bounds: self.view.bounds.clone(),
            },
        }
    }

    /// Checks `[gpa, gpa + len)` against guest memory without overflow and
    /// returns the offset into the mapping.
    pub fn check(&self, gpa: u64, len: u64) -> Result<usize, GuestAccessError> {
        Ok(self.view.bounds.check(gpa, len)?.0)
    }

    /// Like [`check`](Self::check), and also refuses ranges overlapping
    /// host-read-only memory.
    pub fn check_writable(&self, gpa: u64, len: u64) -> Result<usize, GuestAccessError> {
        Ok(self.view.bounds.check_writable(gpa, len)?.0)
    }

    /// The guest range `[gpa, gpa + len)`, for a system call that reads it.
    pub fn range(&self, gpa: u64, len: u64) -> Result<GuestRange<'_>, GuestAccessError> {
        self.view.range(gpa, len)
    }

    /// The guest range `[gpa, gpa + len)`, host-writable, for a system call
    /// that fills it.
    pub fn range_mut(&mut self, gpa: u64, len: u64) -> Result<GuestRangeMut<'_>, GuestAccessError> {
        self.view.range_mut(gpa, len)
    }

    /// All of guest memory (without a reserved top) as a slice, for loading
    /// the unikernel image. Sound because it is refused unless the tender
    /// is provably the mapping's only user: KVM has not been given its
    /// address ([`host_address`](Self::host_address)), no [`SharedMemory`]
    /// exists, and `&mut self` excludes every other access for as long as
    /// the slice lives.
    pub fn exclusive_slice(&mut self) -> Result<&mut [u8], MemError> {
        if self.exposed {
            return Err(MemError::Shared);
        }
        let size = self.view.bounds.size;
        let map = Arc::get_mut(&mut self.view.map).ok_or(MemError::Shared)?;
        let len = usize::try_from(size).map_err(|_| MemError::TooLarge(size))?;
        // SAFETY: `len` bytes below the reserved top (size <= the mapping's
        // length), exclusively borrowed through the only owner of the
        // mapping, which neither KVM nor any thread knows about yet.
        Ok(unsafe { std::slice::from_raw_parts_mut(map.base.as_ptr(), len) })
    }

    /// A copy of the `T` at `gpa` (any alignment).
    pub fn read<T: Pod>(&self, gpa: u64) -> Result<T, GuestAccessError> {
        let range = self.range(gpa, guest_len::<T>())?;
        let mut value = MaybeUninit::<T>::uninit();
        // SAFETY: the range holds size_of::<T>() readable bytes, all of
        // which are copied into `value`; T accepts any bit pattern (Pod).
        unsafe {
            copy_from_guest(range.ptr, value.as_mut_ptr().cast(), range.len);
            Ok(value.assume_init())
        }
    }

    /// Stores `value` at `gpa` (any alignment).
    pub fn write<T: AsBytes>(&mut self, gpa: u64, value: T) -> Result<(), GuestAccessError> {
        let range = self.range_mut(gpa, guest_len::<T>())?;
        // SAFETY: the range holds size_of::<T>() writable bytes; T has no
        // padding (AsBytes), so every byte copied from `value` is
        // initialised.
        unsafe { copy_to_guest((&raw const value).cast(), range.ptr, range.len) };
        Ok(())
    }

    /// Copies `[gpa, gpa + buf.len())` into `buf`.
    pub fn read_bytes(&self, gpa: u64, buf: &mut [u8]) -> Result<(), GuestAccessError> {
        self.range(gpa, buf.len() as u64)?.copy_to(buf);
        Ok(())
    }

    /// Copies `data` to `gpa`.
    pub fn write_bytes(&mut self, gpa: u64, data: &[u8]) -> Result<(), GuestAccessError> {
        self.range_mut(gpa, data.len() as u64)?.copy_from(data);
        Ok(())
    }

    /// Sets `[gpa, gpa + len)` to `byte`.
    pub fn fill(&mut self, gpa: u64, len: u64, byte: u8) -> Result<(), GuestAccessError> {
        self.range_mut(gpa, len)?.fill(byte);
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
                size: self.size(),
            })?;
        let range = self.range(start, len)?;
        let flags = match prot {
            HostProt::ReadOnly => libc::PROT_READ,
            HostProt::ReadWrite => libc::PROT_READ | libc::PROT_WRITE,
        };
        // SAFETY: the range lies inside our mapping (checked); changing its
        // protection cannot affect any other memory.
        let rc = unsafe { libc::mprotect(range.ptr.cast_mut().cast(), range.len, flags) };
        if rc != 0 {
            return Err(MemError::Protect {
                start,
                end,
                source: std::io::Error::last_os_error(),
            });
        }
        if prot == HostProt::ReadOnly && len > 0 {
            self.view.bounds.read_only.push((start, end));
        }
        Ok(())
    }

    /// Ranges made read-only on the host so far.
    pub fn read_only_ranges(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.view.bounds.read_only.iter().copied()
    }
}

/// Guest memory as another thread sees it (the network ring's I/O thread):
/// the same bounds checks and ranges. Keeps the mapping alive.
pub struct SharedMemory {
    view: View,
}

impl SharedMemory {
    /// `[gpa, gpa + len)` inside guest memory, for reading.
    pub fn readable(&self, gpa: u64, len: u64) -> Result<GuestRange<'_>, GuestAccessError> {
        self.view.range(gpa, len)
    }

    /// `[gpa, gpa + len)` inside guest memory and not overlapping
    /// host-read-only memory, for writing.
    pub fn writable(&self, gpa: u64, len: u64) -> Result<GuestRangeMut<'_>, GuestAccessError> {
        self.view.range_mut(gpa, len)
    }

    /// `[gpa, gpa + len)` anywhere in the mapping, the reserved top
    /// included (for the tender's own structures there): the host address
    /// of its first byte, valid as long as this handle lives.
    pub fn mapped(&self, gpa: u64, len: u64) -> Result<*mut u8, GuestAccessError> {
        let whole = Bounds {
            size: self.view.map.len as u64,
            read_only: Vec::new(),
        };
        let (off, _) = whole.check(gpa, len)?;
        // SAFETY: checked against the whole mapping just now.
        Ok(unsafe { self.view.at(off) })
    }
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)] // test values, not the guest's
mod tests {
    use super::*;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

    const MIB: u64 = 1 << 20;

    fn pipe() -> (OwnedFd, OwnedFd) {
        let mut fds = [0; 2];
        // SAFETY: pipe2 fills two descriptors we then own.
        assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
        // SAFETY: fresh descriptors, owned once each.
        unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
    }

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
        assert!(m.check(u64::MAX, u64::MAX).is_err());
        assert!(m.range(u64::MAX - 7, 8).is_err());
        assert!(m.range(2 * MIB - 8, 8).is_ok_and(|r| r.len() == 8));
        assert!(m.range(2 * MIB, 0).is_ok_and(|r| r.is_empty()));
    }

    #[test]
    fn copies_stop_at_the_edges_and_never_wrap() {
        let mut m = GuestMemory::new(2 * MIB).unwrap();
        let end = 2 * MIB;
        // The last bytes are reachable, one more is not.
        m.write_bytes(end - 4, &[1, 2, 3, 4]).unwrap();
        let mut four = [0u8; 4];
        m.read_bytes(end - 4, &mut four).unwrap();
        assert_eq!(four, [1, 2, 3, 4]);
        let mut five = [0u8; 5];
        assert!(m.read_bytes(end - 4, &mut five).is_err());
        assert!(m.write_bytes(end - 4, &[0; 5]).is_err());
        assert!(m.fill(end - 4, 5, 0).is_err());
        assert!(m.read::<u64>(end - 7).is_err());
        assert!(m.write::<u32>(end - 3, 0).is_err());
        // A refused write changes nothing.
        m.read_bytes(end - 4, &mut four).unwrap();
        assert_eq!(four, [1, 2, 3, 4]);
        // Empty accesses at the end are fine, past it are not.
        assert!(m.read_bytes(end, &mut []).is_ok());
        assert!(m.write_bytes(end + 1, &[]).is_err());
        // gpa + len overflowing u64 is refused, whatever the length.
        assert!(m.read_bytes(u64::MAX, &mut [0; 2]).is_err());
        assert!(m.write_bytes(u64::MAX - 1, &[0; 4]).is_err());
        assert!(m.fill(1, u64::MAX, 0).is_err());
        assert!(m.fill(u64::MAX, 1, 0).is_err());
        assert!(m.range_mut(u64::MAX - 0xfff, 0x2000).is_err());
        assert!(m.read::<u64>(u64::MAX - 3).is_err());
        assert!(matches!(
            m.read_bytes(u64::MAX, &mut [0; 2]),
            Err(GuestAccessError::OutOfBounds { gpa: u64::MAX, len: 2, size }) if size == end
        ));
    }

    #[test]
    fn read_write_round_trip_unaligned() {
        let mut m = GuestMemory::new(2 * MIB).unwrap();
        m.write::<u64>(0x1001, 0x1122_3344_5566_7788).unwrap();
        assert_eq!(m.read::<u64>(0x1001).unwrap(), 0x1122_3344_5566_7788);
        assert_eq!(m.read::<u8>(0x1001).unwrap(), 0x88);
        assert_eq!(m.read::<u8>(0x1000).unwrap(), 0);
        assert_eq!(m.read::<u8>(0x1009).unwrap(), 0);
        let frame = HcBlockIo {
            handle: 1,
            offset: 2,
            data: 3,
            len: 4,
            ret: -5,
        };
        // A struct with trailing padding can be read (Pod) at any alignment.
        m.write_bytes(0x2003, &[0xff; 40]).unwrap();
        for (i, v) in [1u64, 2, 3, 4].into_iter().enumerate() {
            m.write::<u64>(0x2003 + 8 * i as u64, v).unwrap();
        }
        m.write::<i32>(0x2003 + 32, -5).unwrap();
        let back = m.read::<HcBlockIo>(0x2003).unwrap();
        assert_eq!(
            (back.handle, back.offset, back.data, back.len, back.ret),
            (frame.handle, frame.offset, frame.data, frame.len, frame.ret)
        );
    }

    #[test]
    fn volatile_copies_are_exact_at_every_alignment_and_length() {
        let mut m = GuestMemory::new(2 * MIB).unwrap();
        let pattern: Vec<u8> = (0..64u8).map(|i| i.wrapping_mul(37) | 1).collect();
        for start in 0x3000..0x3010u64 {
            for len in 0..=40usize {
                m.fill(0x2ff0, 0x80, 0).unwrap();
                m.write_bytes(start, &pattern[..len]).unwrap();
                let mut all = [0u8; 0x80];
                m.read_bytes(0x2ff0, &mut all).unwrap();
                let at = (start - 0x2ff0) as usize;
                assert_eq!(&all[at..at + len], &pattern[..len], "{start:#x} + {len}");
                assert!(all[..at].iter().all(|&b| b == 0), "before {start:#x}");
                assert!(
                    all[at + len..].iter().all(|&b| b == 0),
                    "after {start:#x} + {len}"
                );
                // Reads at every alignment into a buffer of any alignment.
                let mut back = vec![0u8; len + 1];
                m.read_bytes(start, &mut back[1..]).unwrap();
                assert_eq!(&back[1..], &pattern[..len]);
                m.fill(start, len as u64, 0xa5).unwrap();
                m.read_bytes(0x2ff0, &mut all).unwrap();
                assert!(all[at..at + len].iter().all(|&b| b == 0xa5));
                assert!(all[..at].iter().chain(&all[at + len..]).all(|&b| b == 0));
            }
        }
    }

    #[test]
    fn pieces_cover_the_range_exactly() {
        for addr in 0..16usize {
            for len in 0..40usize {
                let (head, words, tail) = pieces(addr, len);
                assert_eq!(head + words * WORD + tail, len, "{addr} {len}");
                assert!(tail < WORD);
                if words > 0 {
                    assert_eq!((addr + head) % WORD, 0, "{addr} {len}");
                }
            }
        }
        assert_eq!(pieces(usize::MAX, 3), (1, 0, 2));
    }

    #[test]
    fn read_only_ranges_refuse_writes_but_allow_reads() {
        let mut m = GuestMemory::new(2 * MIB).unwrap();
        m.write::<u32>(0x5000, 7).unwrap();
        m.protect(0x4000, 0x6000, HostProt::ReadOnly).unwrap();
        assert_eq!(m.read::<u32>(0x5000).unwrap(), 7);
        let mut buf = [0u8; 0x2000];
        m.read_bytes(0x4000, &mut buf).unwrap();
        assert!(matches!(
            m.write::<u32>(0x5ffe, 1),
            Err(GuestAccessError::ReadOnly { .. })
        ));
        assert!(m.write::<u32>(0x3ffc, 1).is_ok());
        assert!(m.write::<u32>(0x6000, 1).is_ok());
        assert!(m.range_mut(0x3fff, 2).is_err());
        assert!(m.write_bytes(0x5fff, &[0; 2]).is_err());
        assert!(m.fill(0x3000, 0x1001, 0).is_err());
        assert!(m.fill(0x3000, 0x1000, 0).is_ok());
        assert!(m.check_writable(0x4000, 0x2000).is_err());
        assert!(m.check(0x4000, 0x2000).is_ok());
        // A zero-length write touches nothing and is allowed.
        assert!(m.range_mut(0x5000, 0).is_ok());
        assert!(m.write_bytes(0x5000, &[]).is_ok());
    }

    #[test]
    fn ranges_do_system_calls_on_guest_memory() {
        let mut m = GuestMemory::new(2 * MIB).unwrap();
        m.write_bytes(0x1000, b"to the host").unwrap();
        let (rx, tx) = pipe();
        assert_eq!(
            m.range(0x1000, 11)
                .unwrap()
                .write_to(tx.as_raw_fd())
                .unwrap(),
            11
        );
        assert_eq!(
            m.range_mut(0x8000, 64)
                .unwrap()
                .read_from(rx.as_raw_fd())
                .unwrap(),
            11
        );
        let mut back = [0u8; 11];
        m.read_bytes(0x8000, &mut back).unwrap();
        assert_eq!(&back, b"to the host");

        let path = std::env::temp_dir().join(format!("corten-guest-mem-{}", std::process::id()));
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        std::fs::remove_file(&path).unwrap();
        let fd = file.as_raw_fd();
        assert_eq!(m.range(0x1000, 11).unwrap().pwrite_to(fd, 100).unwrap(), 11);
        assert_eq!(
            m.range_mut(0x9003, 4).unwrap().pread_from(fd, 107).unwrap(),
            4
        );
        assert_eq!(m.read::<[u8; 4]>(0x9003).unwrap(), *b"host");
        // Errors come back as errors.
        assert!(m.range(0x1000, 1).unwrap().write_to(-1).is_err());
    }

    #[test]
    fn the_slice_exists_only_while_nobody_else_can_see_the_memory() {
        let mut m = GuestMemory::new(2 * MIB).unwrap();
        m.exclusive_slice().unwrap()[0x1234] = 9;
        assert_eq!(m.read::<u8>(0x1234).unwrap(), 9);
        let shared = m.shared();
        assert!(matches!(m.exclusive_slice(), Err(MemError::Shared)));
        drop(shared);
        assert_eq!(m.exclusive_slice().unwrap().len() as u64, 2 * MIB);
        let _ = m.host_address();
        assert!(matches!(m.exclusive_slice(), Err(MemError::Shared)));
    }

    #[test]
    fn a_reserved_top_is_outside_guest_ranges_but_mapped() {
        let mut m = GuestMemory::new(4 * MIB).unwrap();
        assert_eq!(m.reserve_top(2 * MIB).unwrap(), 2 * MIB);
        assert_eq!(m.size(), 2 * MIB);
        assert_eq!(m.mapped_size(), 4 * MIB);
        assert!(m.check(2 * MIB - 8, 8).is_ok());
        assert!(m.check(2 * MIB - 8, 9).is_err());
        assert!(m.write::<u8>(2 * MIB, 1).is_err());
        assert_eq!(m.exclusive_slice().unwrap().len() as u64, 2 * MIB);
        let shared = m.shared();
        assert!(shared.readable(2 * MIB, 1).is_err());
        assert!(shared.mapped(2 * MIB, 2 * MIB).is_ok());
        assert!(shared.mapped(2 * MIB, 2 * MIB + 1).is_err());
        assert!(shared.mapped(u64::MAX, 2).is_err());
        // Nothing left for the guest: refused.
        assert!(m.reserve_top(2 * MIB).is_err());
        assert!(m.reserve_top(u64::MAX).is_err());
    }

    #[test]
    fn shared_memory_keeps_the_read_only_ranges_and_the_mapping() {
        let mut m = GuestMemory::new(2 * MIB).unwrap();
        m.protect(0x4000, 0x6000, HostProt::ReadOnly).unwrap();
        let shared = m.shared();
        drop(m);
        assert!(shared.readable(0x5000, 16).is_ok());
        assert!(shared.writable(0x5000, 16).is_err());
        let (rx, tx) = pipe();
        let out = shared.writable(0x7000, 4).unwrap();
        // SAFETY: writes 4 bytes from a live buffer.
        let sent = unsafe { libc::write(tx.as_raw_fd(), b"abcd".as_ptr().cast(), 4) };
        assert_eq!(sent, 4);
        assert_eq!(out.read_from(rx.as_raw_fd()).unwrap(), 4);
        let mut back = [0u8; 4];
        shared.readable(0x7000, 4).unwrap().copy_to(&mut back);
        assert_eq!(&back, b"abcd");
        assert!(shared.readable(u64::MAX, 2).is_err());
        assert!(shared.writable(1, u64::MAX).is_err());
    }

    #[test]
    fn protect_rejects_bad_ranges() {
        let mut m = GuestMemory::new(2 * MIB).unwrap();
        assert!(m.protect(0x2000, 0x1000, HostProt::ReadOnly).is_err());
        assert!(m.protect(0, 4 * MIB, HostProt::ReadOnly).is_err());
        assert!(m
            .protect(u64::MAX - 0xfff, u64::MAX, HostProt::ReadOnly)
            .is_err());
        assert_eq!(m.read_only_ranges().count(), 0);
    }
}
