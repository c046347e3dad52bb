//! Shared-memory ring for hvt network I/O (`hvt_ring.h`), negotiated through
//! [`crate::hvt::HvtBootInfo::host_features`]. The guest produces entries and
//! consumes commits; the host does the opposite. Guest-written and
//! host-written indices live on separate cache lines.

use crate::assert_layout;

/// Slots in each ring (a power of two).
pub const HVT_RING_SIZE: u32 = 1024;
/// Index mask.
pub const HVT_RING_MASK: u32 = HVT_RING_SIZE - 1;
/// Bytes of data buffer per slot (at least a maximal Ethernet frame).
pub const HVT_RING_BUF_SIZE: usize = 2048;
/// Spins of the host I/O thread before it blocks on the kick eventfd.
pub const HVT_RING_POLL_ITERS: u32 = 4096;
/// Entry operation: transmit a frame.
pub const HVT_RING_NET_WRITE: u32 = 1;
/// Entry operation: receive a frame.
pub const HVT_RING_NET_READ: u32 = 2;

/// Submission entry, written by the guest.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct RingEntry {
    pub operation: u32,
    pub handle: u32,
    /// Guest-physical address of the data buffer.
    pub data: u64,
    pub len: u32,
    pub id: u32,
    pub _reserved: u64,
}

/// Completion entry, written by the host.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct RingCommit {
    pub id: u32,
    pub ret: i32,
    pub len: u32,
    pub _reserved: u32,
}

/// The whole ring as it sits in guest memory. Accessed concurrently by
/// guest and host, so code touching it must use atomic or volatile
/// accesses at these offsets rather than plain references.
#[repr(C)]
pub struct Ring {
    /// Produced by the guest.
    pub ent_tail: u32,
    /// Consumed by the guest.
    pub com_head: u32,
    pub _pad0: [u8; 56],
    /// Consumed by the host.
    pub ent_head: u32,
    /// Produced by the host.
    pub com_tail: u32,
    /// Set by the host before it sleeps.
    pub needs_kick: u32,
    pub _pad1: [u8; 52],
    pub entries: [RingEntry; HVT_RING_SIZE as usize],
    pub commits: [RingCommit; HVT_RING_SIZE as usize],
}

assert_layout!(
    RingEntry,
    size = 32,
    align = 8,
    operation = 0,
    handle = 4,
    data = 8,
    len = 16,
    id = 20
);
assert_layout!(RingCommit, size = 16, align = 4, id = 0, ret = 4, len = 8);
assert_layout!(
    Ring,
    size = 128 + 1024 * 32 + 1024 * 16,
    align = 8,
    ent_tail = 0,
    com_head = 4,
    ent_head = 64,
    com_tail = 68,
    needs_kick = 72,
    entries = 128,
    commits = 128 + 1024 * 32,
);
