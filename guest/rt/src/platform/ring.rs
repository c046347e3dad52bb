//! hvt network I/O through the shared-memory ring that newer hvt tenders
//! offer (`HVT_FEATURE_RING_IO`), instead of one hypercall (VM exit) per
//! frame.
//!
//! The tender places the ring just above guest memory and serves it from
//! an I/O thread. The guest produces entries (reads and writes) and
//! consumes commits (read results); writes are fire-and-forget from a
//! per-slot copy, reads wait for their commit. When the host thread has
//! gone to sleep it sets `needs_kick`, and the guest wakes it with a write
//! to the kick port, which KVM turns into an eventfd signal without a VM
//! exit. Tenders that do not offer the ring are served by hypercalls.
//!
//! Off unless the command line starts with `--corten:net-ring`: where
//! guest instructions are emulated (KVM under PVM nested virtualisation)
//! spinning on the ring costs more than the exits it saves; measured there
//! with upstream's tender, flood-ping round trips took 0.49 ms with the
//! ring and 0.25 ms with hypercalls.

extern crate alloc;

use core::cell::UnsafeCell;
use core::mem::offset_of;

use corten_abi::hvt::HVT_FEATURE_RING_IO;
use corten_abi::ring::{
    Ring, RingCommit, RingEntry, HVT_RING_BUF_SIZE, HVT_RING_MASK, HVT_RING_NET_READ,
    HVT_RING_NET_WRITE, HVT_RING_SIZE,
};

use crate::arch::hvt as cpu;
use crate::Error;

struct NetRing {
    ring: *mut Ring,
    /// HVT_RING_SIZE buffers of HVT_RING_BUF_SIZE bytes, one per slot.
    bufs: *mut u8,
    next_id: u32,
}

struct RingCell(UnsafeCell<Option<NetRing>>);

// SAFETY: one CPU, no interrupts (see crate::cell): `with` borrows the
// state only for the duration of one ring operation, which calls no
// application code, so borrows never overlap.
unsafe impl Sync for RingCell {}

static RING: RingCell = RingCell(UnsafeCell::new(None));

fn with<R>(f: impl FnOnce(&mut NetRing) -> R) -> Option<R> {
    // SAFETY: see the Sync impl: this is the only borrow at any time.
    let state = unsafe { &mut *RING.0.get() };
    state.as_mut().map(f)
}

/// Starts using the ring at guest-physical `addr` if the tender offers one
/// and the unikernel has network devices. Allocates the write buffers
/// (2 MiB) from the heap; without them the hypercalls stay in use.
pub(crate) fn setup(host_features: u32, addr: u64, net_devices: usize) {
    if host_features & HVT_FEATURE_RING_IO == 0 || addr == 0 || net_devices == 0 {
        if net_devices > 0 {
            crate::log::debug!("net: the tender offers no ring, using hypercalls\n");
        }
        return;
    }
    if !addr.is_multiple_of(64) {
        crate::log::info!("net: ignoring a misaligned ring at {addr:#x}\n");
        return;
    }
    let Ok(layout) =
        core::alloc::Layout::from_size_align(HVT_RING_SIZE as usize * HVT_RING_BUF_SIZE, 4096)
    else {
        return;
    };
    // SAFETY: the layout has a non-zero size.
    let bufs = unsafe { alloc::alloc::alloc(layout) };
    if bufs.is_null() {
        crate::log::info!("net: not enough heap for the ring buffers, using hypercalls\n");
        return;
    }
    crate::log::debug!("net: using the shared ring at {addr:#x}\n");
    // SAFETY: boot time, no ring operation in progress.
    unsafe {
        *RING.0.get() = Some(NetRing {
            ring: addr as usize as *mut Ring,
            bufs,
            next_id: 0,
        })
    };
}

impl NetRing {
    /// Address of the field at byte offset `off` of the ring.
    fn at<T>(&self, off: usize) -> *mut T {
        self.ring.cast::<u8>().wrapping_add(off).cast::<T>()
    }

    fn load(&self, off: usize) -> u32 {
        // SAFETY: `off` is the offset of a u32 index field of the ring,
        // which the tender keeps mapped for the whole run.
        unsafe { self.at::<u32>(off).read_volatile() }
    }

    fn store(&self, off: usize, value: u32) {
        // SAFETY: as in `load`; only guest-owned indices are stored.
        unsafe { self.at::<u32>(off).write_volatile(value) }
    }

    /// Waits for a free slot and returns its index.
    fn free_slot(&self) -> usize {
        loop {
            let tail = self.load(offset_of!(Ring, ent_tail));
            let head = self.load(offset_of!(Ring, ent_head));
            if tail.wrapping_sub(head) < HVT_RING_SIZE - 1 {
                return (tail & HVT_RING_MASK) as usize;
            }
            core::hint::spin_loop();
        }
    }

    /// Publishes the entry written at the tail, and kicks the host thread
    /// if it sleeps.
    fn submit(&mut self, entry: RingEntry) {
        let tail = self.load(offset_of!(Ring, ent_tail));
        let idx = (tail & HVT_RING_MASK) as usize;
        let slot = offset_of!(Ring, entries) + idx * core::mem::size_of::<RingEntry>();
        // SAFETY: idx < HVT_RING_SIZE, so the slot is inside the entries
        // array of the ring, which is valid guest memory (see `load`).
        unsafe { self.at::<RingEntry>(slot).write_volatile(entry) };
        // The entry (and a write's data) before the tail that publishes it.
        cpu::write_barrier();
        self.store(offset_of!(Ring, ent_tail), tail.wrapping_add(1));
        // Store-load ordering between our tail and the host's needs_kick.
        cpu::full_barrier();
        if self.load(offset_of!(Ring, needs_kick)) != 0 {
            cpu::ring_kick();
        }
        self.next_id = self.next_id.wrapping_add(1);
    }

    fn write(&mut self, handle: u64, frame: &[u8]) -> Result<(), Error> {
        let idx = self.free_slot();
        // SAFETY: slot idx is free (the host is done with it), and its
        // buffer lies inside the allocation; frame fits (checked by caller).
        let buf = unsafe { self.bufs.add(idx * HVT_RING_BUF_SIZE) };
        // SAFETY: frame.len() <= HVT_RING_BUF_SIZE bytes into the slot buffer.
        unsafe { core::ptr::copy_nonoverlapping(frame.as_ptr(), buf, frame.len()) };
        self.submit(RingEntry {
            operation: HVT_RING_NET_WRITE,
            handle: handle as u32,
            data: buf as u64,
            len: frame.len() as u32,
            id: self.next_id,
            _reserved: 0,
        });
        Ok(())
    }

    fn read(&mut self, handle: u64, buf: &mut [u8]) -> Result<usize, Error> {
        let _ = self.free_slot();
        let len = u32::try_from(buf.len()).unwrap_or(u32::MAX);
        self.submit(RingEntry {
            operation: HVT_RING_NET_READ,
            handle: handle as u32,
            data: buf.as_mut_ptr() as u64,
            len,
            id: self.next_id,
            _reserved: 0,
        });
        let head = self.load(offset_of!(Ring, com_head));
        while self.load(offset_of!(Ring, com_tail)) == head {
            core::hint::spin_loop();
        }
        // The host wrote the frame into `buf` and then the commit.
        cpu::read_barrier();
        let slot = offset_of!(Ring, commits)
            + (head & HVT_RING_MASK) as usize * core::mem::size_of::<RingCommit>();
        // SAFETY: the index is masked, so the slot is inside the commits
        // array of the valid ring.
        let commit = unsafe { self.at::<RingCommit>(slot).read_volatile() };
        self.store(offset_of!(Ring, com_head), head.wrapping_add(1));
        Error::check(commit.ret)?;
        Ok((commit.len as usize).min(buf.len()))
    }
}

/// Sends a frame through the ring; None if the ring is not in use or the
/// frame does not fit a slot (then a hypercall must send it).
pub(crate) fn write(handle: u64, frame: &[u8]) -> Option<Result<(), Error>> {
    if frame.len() > HVT_RING_BUF_SIZE || handle > u64::from(u32::MAX) {
        return None;
    }
    with(|r| r.write(handle, frame))
}

/// Receives a frame through the ring; None if the ring is not in use.
pub(crate) fn read(handle: u64, buf: &mut [u8]) -> Option<Result<usize, Error>> {
    if handle > u64::from(u32::MAX) {
        return None;
    }
    with(|r| r.read(handle, buf))
}
