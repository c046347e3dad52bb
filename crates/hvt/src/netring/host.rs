//! The host side of the shared network ring (`hvt_ring.h`; layout in
//! `corten_abi::ring`): consume the guest's entries, do the tap I/O, post
//! commits for reads.
//!
//! The ring lives in guest memory, so the guest can write every byte of it
//! at any time, the host's own fields included. The host therefore keeps
//! its indices (`ent_head`, `com_tail`) privately and only publishes them,
//! reads each entry once (a volatile copy) and checks every field of that
//! copy like a hypercall argument:
//! - `ent_tail` more than [`HVT_RING_SIZE`] entries ahead of the host's
//!   `ent_head` cannot be a ring the guest filled: fatal (nothing sane to
//!   answer, and the host must not process billions of garbage entries);
//! - `data`/`len` must lie in guest memory (below the ring), and a read's
//!   buffer must be host-writable: otherwise fatal, as a bad hypercall
//!   address is (upstream exits there too);
//! - `handle` must name an attached network device: a read is answered
//!   `SOLO5_R_EINVAL`, a write is dropped (upstream's behaviour);
//! - an unknown `operation` is skipped (upstream's behaviour).
//!
//! Slot indices are always masked, so no guest value makes the host touch
//! memory outside the ring or guest memory.

use std::io;
use std::mem::{offset_of, size_of};
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

use corten_abi::ring::{
    Ring, RingCommit, RingEntry, HVT_RING_MASK, HVT_RING_NET_READ, HVT_RING_NET_WRITE,
    HVT_RING_SIZE,
};
use corten_abi::solo5::{R_AGAIN, R_EINVAL, R_OK};

use crate::guest_mem::{GuestAccessError, SharedMemory};
use crate::sys::would_block;

/// Why the host stops serving the ring (the tender then exits with 1).
#[derive(Debug, thiserror::Error)]
pub enum RingError {
    #[error(
        "guest network ring: ent_tail {tail} is {} entries ahead of the tender's ent_head \
         {head}; a ring holds at most {HVT_RING_SIZE}",
        tail.wrapping_sub(*head)
    )]
    Indices { tail: u32, head: u32 },
    #[error("guest network ring entry {slot} ({op}): {what} is invalid: {source}")]
    Access {
        slot: u32,
        op: &'static str,
        what: &'static str,
        source: GuestAccessError,
    },
    #[error("guest network ring: the ring itself is not in guest memory: {0}")]
    Placement(GuestAccessError),
    #[error("network device '{name}': ring write failed: {source}")]
    NetIo { name: Arc<str>, source: io::Error },
    #[error("network device '{name}': ring write sent only {written} of {len} bytes")]
    ShortWrite {
        name: Arc<str>,
        written: usize,
        len: u32,
    },
}

/// An attached network device, by handle. The name is shared: the I/O
/// thread must not allocate (its malloc arena could need `mprotect`, which
/// the seccomp filter forbids).
#[derive(Debug, Clone)]
pub struct Tap {
    pub name: Arc<str>,
    pub fd: RawFd,
}

/// Counters, shared with the vCPU thread for `CORTEN_HVT_STATS=1`.
#[derive(Debug, Default)]
pub struct Counters {
    pub writes: AtomicU64,
    pub reads: AtomicU64,
    /// Writes dropped because the tap's queue was full.
    pub dropped: AtomicU64,
    /// Times the I/O thread slept on the kick eventfd and was woken.
    pub wakeups: AtomicU64,
}

const ENT_TAIL: usize = offset_of!(Ring, ent_tail);
const ENT_HEAD: usize = offset_of!(Ring, ent_head);
const COM_TAIL: usize = offset_of!(Ring, com_tail);
const NEEDS_KICK: usize = offset_of!(Ring, needs_kick);
const ENTRIES: usize = offset_of!(Ring, entries);
const COMMITS: usize = offset_of!(Ring, commits);

/// The host's view of one ring.
pub struct HostRing {
    mem: SharedMemory,
    /// Host address of the ring (4 KiB aligned, `size_of::<Ring>()` bytes
    /// inside the mapping `mem` keeps alive).
    ring: *mut u8,
    /// Taps by handle (index 0 is the manifest's reserved entry).
    taps: Vec<Option<Tap>>,
    /// The host's indices; never read back from guest memory.
    ent_head: u32,
    com_tail: u32,
}

// SAFETY: `ring` points into the mapping that `mem` (an Arc) keeps alive
// wherever the HostRing goes; the ring is shared with the guest by design
// and only accessed through atomics and volatile copies.
unsafe impl Send for HostRing {}

impl HostRing {
    /// The ring at `ring_gpa` (in the reserved top of `mem`'s mapping),
    /// serving `taps`. The host's indices start where a zeroed ring starts.
    pub fn new(
        mem: SharedMemory,
        ring_gpa: u64,
        taps: Vec<Option<Tap>>,
    ) -> Result<Self, RingError> {
        let ring = mem
            .mapped(ring_gpa, size_of::<Ring>() as u64)
            .map_err(RingError::Placement)?;
        if !(ring as usize).is_multiple_of(4096) {
            return Err(RingError::Placement(GuestAccessError::OutOfBounds {
                gpa: ring_gpa,
                len: size_of::<Ring>() as u64,
                size: 0,
            }));
        }
        Ok(HostRing {
            mem,
            ring,
            taps,
            ent_head: 0,
            com_tail: 0,
        })
    }

    fn index(&self, offset: usize) -> &AtomicU32 {
        // SAFETY: `offset` is one of the u32 index fields of the ring, which
        // lies inside the live mapping and is 4-byte aligned (the ring is
        // page-aligned); AtomicU32 has the layout of u32.
        unsafe { &*self.ring.add(offset).cast::<AtomicU32>() }
    }

    /// Entries the guest has produced that the host has not consumed.
    pub fn has_work(&self) -> bool {
        self.index(ENT_TAIL).load(Ordering::Acquire) != self.ent_head
    }

    /// Tells the guest whether to kick before the host sleeps.
    pub fn set_needs_kick(&self, on: bool) {
        self.index(NEEDS_KICK)
            .store(u32::from(on), Ordering::SeqCst);
    }

    /// Serves every entry the guest has published; returns how many.
    pub fn process(&mut self, counters: &Counters) -> Result<u32, RingError> {
        let tail = self.index(ENT_TAIL).load(Ordering::Acquire);
        let pending = tail.wrapping_sub(self.ent_head);
        if pending > HVT_RING_SIZE {
            return Err(RingError::Indices {
                tail,
                head: self.ent_head,
            });
        }
        for _ in 0..pending {
            let slot = self.ent_head & HVT_RING_MASK;
            // SAFETY: slot < HVT_RING_SIZE, so the entry lies inside the
            // ring's entries array (8-byte aligned: page + 128 + 32 * slot).
            // A volatile copy: the guest may be writing it.
            let entry = unsafe {
                self.ring
                    .add(ENTRIES)
                    .cast::<RingEntry>()
                    .add(slot as usize)
                    .read_volatile()
            };
            match entry.operation {
                HVT_RING_NET_WRITE => self.write(slot, &entry, counters)?,
                HVT_RING_NET_READ => self.read(slot, &entry, counters)?,
                _ => {}
            }
            self.ent_head = self.ent_head.wrapping_add(1);
            self.index(ENT_HEAD).store(self.ent_head, Ordering::Release);
        }
        Ok(pending)
    }

    fn tap(&self, handle: u32) -> Option<&Tap> {
        self.taps.get(handle as usize).and_then(Option::as_ref)
    }

    fn write(&self, slot: u32, e: &RingEntry, counters: &Counters) -> Result<(), RingError> {
        let data = self
            .mem
            .readable(e.data, u64::from(e.len))
            .map_err(|source| RingError::Access {
                slot,
                op: "NET_WRITE",
                what: "the frame",
                source,
            })?;
        let Some(tap) = self.tap(e.handle) else {
            return Ok(());
        };
        match data.write_to(tap.fd) {
            Ok(n) if n as u64 != u64::from(e.len) => Err(RingError::ShortWrite {
                name: tap.name.clone(),
                written: n,
                len: e.len,
            }),
            Ok(_) => {
                counters.writes.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            // A full queue drops the frame, as a NIC would: a write
            // through the ring has no way to say "again".
            Err(err) if would_block(&err) => {
                counters.dropped.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Err(err) => Err(RingError::NetIo {
                name: tap.name.clone(),
                source: err,
            }),
        }
    }

    fn read(&mut self, slot: u32, e: &RingEntry, counters: &Counters) -> Result<(), RingError> {
        let (ret, len) = match self.tap(e.handle) {
            None => (R_EINVAL, 0),
            Some(tap) => {
                let buf = self
                    .mem
                    .writable(e.data, u64::from(e.len))
                    .map_err(|source| RingError::Access {
                        slot,
                        op: "NET_READ",
                        what: "the receive buffer",
                        source,
                    })?;
                match buf.read_from(tap.fd) {
                    Ok(0) => (R_AGAIN, 0),
                    Ok(n) => {
                        counters.reads.fetch_add(1, Ordering::Relaxed);
                        (R_OK, n as u32)
                    }
                    Err(err) if err.raw_os_error() == Some(libc::EAGAIN) => (R_AGAIN, 0),
                    Err(_) => (R_EINVAL, 0),
                }
            }
        };
        let commit = RingCommit {
            id: e.id,
            ret: ret as i32,
            len,
            _reserved: 0,
        };
        let at = (self.com_tail & HVT_RING_MASK) as usize;
        // SAFETY: at < HVT_RING_SIZE: inside the commits array (4-byte
        // aligned). Volatile: the guest reads it concurrently.
        unsafe {
            self.ring
                .add(COMMITS)
                .cast::<RingCommit>()
                .add(at)
                .write_volatile(commit)
        };
        self.com_tail = self.com_tail.wrapping_add(1);
        self.index(COM_TAIL).store(self.com_tail, Ordering::Release);
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)] // test values, not the guest's
mod tests {
    use super::*;
    use crate::guest_mem::{GuestMemory, HostProt};
    use std::os::fd::{AsRawFd, OwnedFd};

    const MIB: u64 = 1 << 20;
    const RING: u64 = 2 * MIB;

    use corten_testutil::socket_pair as pair;

    struct Setup {
        mem: GuestMemory,
        host: HostRing,
        peer: OwnedFd,
        _ours: OwnedFd,
        tail: u32,
    }

    /// 4 MiB of guest memory whose top 2 MiB hold the ring; a tap at
    /// handle 1; text (read-only) at 0x100000..0x101000.
    fn setup() -> Setup {
        let mut mem = GuestMemory::new(4 * MIB).unwrap();
        assert_eq!(mem.reserve_top(2 * MIB).unwrap(), RING);
        mem.protect(0x10_0000, 0x10_1000, HostProt::ReadOnly)
            .unwrap();
        let (ours, peer) = pair();
        let taps = vec![
            None,
            Some(Tap {
                name: Arc::from("service0"),
                fd: ours.as_raw_fd(),
            }),
        ];
        let host = HostRing::new(mem.shared(), RING, taps).unwrap();
        Setup {
            mem,
            host,
            peer,
            _ours: ours,
            tail: 0,
        }
    }

    impl Setup {
        /// The guest's side: writes an entry at the tail and publishes it.
        fn submit(&mut self, operation: u32, handle: u32, data: u64, len: u32, id: u32) {
            let p = self
                .mem
                .shared()
                .mapped(RING, size_of::<Ring>() as u64)
                .unwrap();
            let slot = (self.tail & HVT_RING_MASK) as usize;
            let e = RingEntry {
                operation,
                handle,
                data,
                len,
                id,
                _reserved: 0,
            };
            // SAFETY: inside the ring in the live mapping.
            unsafe {
                p.add(ENTRIES + slot * 32).cast::<RingEntry>().write(e);
            }
            self.tail = self.tail.wrapping_add(1);
            self.set(ENT_TAIL, self.tail);
        }

        fn set(&self, off: usize, v: u32) {
            let p = self.mem.shared().mapped(RING, 4096).unwrap();
            // SAFETY: an index field of the ring.
            unsafe { p.add(off).cast::<u32>().write_volatile(v) }
        }

        fn get(&self, off: usize) -> u32 {
            let p = self.mem.shared().mapped(RING, 4096).unwrap();
            // SAFETY: an index field of the ring.
            unsafe { p.add(off).cast::<u32>().read_volatile() }
        }

        fn commit(&self, n: u32) -> RingCommit {
            let p = self
                .mem
                .shared()
                .mapped(RING, size_of::<Ring>() as u64)
                .unwrap();
            // SAFETY: inside the commits array.
            unsafe {
                p.add(COMMITS + (n & HVT_RING_MASK) as usize * 16)
                    .cast::<RingCommit>()
                    .read()
            }
        }

        fn peer_recv(&self) -> Option<Vec<u8>> {
            let mut buf = [0u8; 4096];
            // SAFETY: reads into a live buffer.
            let n = unsafe { libc::read(self.peer.as_raw_fd(), buf.as_mut_ptr().cast(), 4096) };
            (n >= 0).then(|| buf[..n as usize].to_vec())
        }

        fn peer_send(&self, b: &[u8]) {
            // SAFETY: writes from a live buffer.
            let n = unsafe { libc::write(self.peer.as_raw_fd(), b.as_ptr().cast(), b.len()) };
            assert_eq!(n as usize, b.len());
        }
    }

    #[test]
    fn writes_reads_and_indices() {
        let mut s = setup();
        let c = Counters::default();
        assert!(!s.host.has_work());
        s.mem.write_bytes(0x18_0000, b"frame one").unwrap();
        s.submit(HVT_RING_NET_WRITE, 1, 0x18_0000, 9, 7);
        assert!(s.host.has_work());
        assert_eq!(s.host.process(&c).unwrap(), 1);
        assert_eq!(s.peer_recv().unwrap(), b"frame one");
        assert_eq!(s.get(ENT_HEAD), 1);
        assert_eq!(s.get(COM_TAIL), 0, "writes post no commit");

        // Nothing queued: AGAIN; then a frame.
        s.submit(HVT_RING_NET_READ, 1, 0x1c_0000, 1514, 8);
        s.host.process(&c).unwrap();
        assert_eq!(s.get(COM_TAIL), 1);
        let k = s.commit(0);
        assert_eq!((k.id, k.ret, k.len), (8, R_AGAIN as i32, 0));
        s.peer_send(b"hello guest");
        s.submit(HVT_RING_NET_READ, 1, 0x1c_0000, 1514, 9);
        s.host.process(&c).unwrap();
        let k = s.commit(1);
        assert_eq!((k.id, k.ret, k.len), (9, R_OK as i32, 11));
        assert_eq!(s.mem.read::<[u8; 11]>(0x1c_0000).unwrap(), *b"hello guest");
        assert_eq!(s.get(ENT_HEAD), 3);
        assert_eq!(c.writes.load(Ordering::Relaxed), 1);
        assert_eq!(c.reads.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn bad_handles_and_operations() {
        let mut s = setup();
        let c = Counters::default();
        s.mem.write_bytes(0x18_0000, b"x").unwrap();
        // Write to an unknown handle: dropped. Read: EINVAL. Unknown op:
        // skipped. Handle 0 (reserved) and huge handles included.
        s.submit(HVT_RING_NET_WRITE, 0, 0x18_0000, 1, 1);
        s.submit(HVT_RING_NET_WRITE, u32::MAX, 0x18_0000, 1, 2);
        s.submit(HVT_RING_NET_READ, 63, 0x18_0000, 64, 3);
        s.submit(0xdead, 1, 0x18_0000, 1, 4);
        assert_eq!(s.host.process(&c).unwrap(), 4);
        assert!(s.peer_recv().is_none());
        assert_eq!(s.get(COM_TAIL), 1);
        let k = s.commit(0);
        assert_eq!((k.id, k.ret), (3, R_EINVAL as i32));
        assert_eq!(s.get(ENT_HEAD), 4);
    }

    #[test]
    fn data_outside_guest_memory_is_fatal() {
        for (op, data, len) in [
            (HVT_RING_NET_WRITE, RING - 4, 8),          // crosses into the ring
            (HVT_RING_NET_WRITE, RING + 0x100, 16),     // inside the ring
            (HVT_RING_NET_WRITE, u64::MAX - 2, 16),     // overflows
            (HVT_RING_NET_READ, 4 * MIB, 64),           // past the mapping
            (HVT_RING_NET_READ, 0x10_0800, 64),         // into read-only text
            (HVT_RING_NET_READ, RING - 0x10, u32::MAX), // huge length
        ] {
            let mut s = setup();
            s.submit(op, 1, data, len, 1);
            let e = s.host.process(&Counters::default()).unwrap_err();
            assert!(matches!(e, RingError::Access { slot: 0, .. }), "{e}");
        }
    }

    #[test]
    fn runaway_tail_is_fatal_and_wraparound_works() {
        let mut s = setup();
        s.set(ENT_TAIL, HVT_RING_SIZE + 1);
        let e = s.host.process(&Counters::default()).unwrap_err();
        assert!(matches!(e, RingError::Indices { .. }), "{e}");

        // Indices wrap at 2^32: start both sides just below it.
        let mut s = setup();
        s.host.ent_head = u32::MAX - 1;
        s.tail = u32::MAX - 1;
        s.mem.write_bytes(0x18_0000, b"ab").unwrap();
        for id in 0..4 {
            s.submit(HVT_RING_NET_WRITE, 1, 0x18_0000, 2, id);
        }
        assert_eq!(s.host.process(&Counters::default()).unwrap(), 4);
        assert_eq!(s.get(ENT_HEAD), 2);
    }

    #[test]
    fn guest_writes_to_host_fields_are_ignored() {
        let mut s = setup();
        let c = Counters::default();
        s.mem.write_bytes(0x18_0000, b"z").unwrap();
        s.submit(HVT_RING_NET_WRITE, 1, 0x18_0000, 1, 1);
        // The guest scribbles over the host's head: the host keeps its own.
        s.set(ENT_HEAD, 500);
        assert_eq!(s.host.process(&c).unwrap(), 1);
        assert_eq!(s.get(ENT_HEAD), 1);
        assert!(!s.host.has_work());
    }

    #[test]
    fn the_ring_must_fit_the_mapping() {
        let mem = GuestMemory::new(2 * MIB).unwrap();
        assert!(HostRing::new(mem.shared(), 2 * MIB - 4096, Vec::new()).is_err());
        assert!(HostRing::new(mem.shared(), 0x1001, Vec::new()).is_err());
    }
}
