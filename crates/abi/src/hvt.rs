//! The hvt (KVM) tender's guest interface (`hvt_abi.h` and the fixed guest
//! memory map of `hvt_cpu_*.h`).
//!
//! A hypercall is one 32-bit I/O write by the guest: on x86_64 an `outl` of
//! the argument struct's guest-physical address to port
//! [`x86_64::HYPERCALL_PIO_BASE`] + number; on aarch64 a 32-bit store of it
//! to [`aarch64::HYPERCALL_MMIO_BASE`] + (number << 3). Guest pointers
//! inside the structs are guest-physical addresses (`u64`), never host
//! pointers; `size_t` is 64-bit on both architectures.

use crate::assert_layout;

/// hvt ABI version carried in the ABI1 note.
pub const HVT_ABI_VERSION: u32 = 2;
/// Lowest guest address a segment may be loaded at.
pub const HVT_GUEST_MIN_BASE: u64 = 0x10_0000;
/// Size of the command line area, terminator included.
pub const HVT_CMDLINE_SIZE: usize = 8192;
/// Bytes the halt cookie may point at.
pub const HVT_HALT_COOKIE_MAX: usize = 512;
/// `host_features` bit: the tender offers ring I/O for the network.
pub const HVT_FEATURE_RING_IO: u32 = 1 << 0;

/// Hypercall numbers (`enum hvt_hypercall`); 0 is reserved.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hypercall {
    Walltime = 1,
    Puts = 2,
    Poll = 3,
    BlockWrite = 4,
    BlockRead = 5,
    NetWrite = 6,
    NetRead = 7,
    Halt = 8,
}

/// One past the last hypercall number.
pub const HVT_HYPERCALL_MAX: u32 = 9;

impl Hypercall {
    /// The hypercall with number `nr`, if there is one.
    pub const fn from_nr(nr: u32) -> Option<Self> {
        Some(match nr {
            1 => Hypercall::Walltime,
            2 => Hypercall::Puts,
            3 => Hypercall::Poll,
            4 => Hypercall::BlockWrite,
            5 => Hypercall::BlockRead,
            6 => Hypercall::NetWrite,
            7 => Hypercall::NetRead,
            8 => Hypercall::Halt,
            _ => return None,
        })
    }
}

/// x86_64 specifics: hypercall ports and the guest low-memory map.
pub mod x86_64 {
    /// I/O port of hypercall 0; hypercall n uses port base + n.
    pub const HYPERCALL_PIO_BASE: u16 = 0x500;
    /// I/O port the guest writes to kick the host ring thread (ioeventfd).
    pub const RING_KICK_PIO_BASE: u16 = 0x600;
    /// Guest-physical address of the GDT.
    pub const GDT_BASE: u64 = 0x1000;
    /// Guest-physical address of the PML4 (also the initial CR3).
    pub const PML4_BASE: u64 = 0x2000;
    /// Guest-physical address of the PDPT.
    pub const PDPTE_BASE: u64 = 0x3000;
    /// Guest-physical address of the four page directories.
    pub const PDE_BASE: u64 = 0x4000;
    /// Size of the page-directory area.
    pub const PDE_SIZE: u64 = 0x4000;
    /// Guest-physical address of the first page table (4 KiB pages below
    /// 2 MiB, so page 0 can stay unmapped).
    pub const PT0E_BASE: u64 = 0x8000;
    /// Where the tender writes the boot info; manifest and command line
    /// follow.
    pub const BOOT_INFO_BASE: u64 = 0x1_0000;
    /// Large page size used by the identity map.
    pub const GUEST_PAGE_SIZE: u64 = 0x20_0000;
    /// Largest guest memory the four page directories can map (4 GiB).
    pub const GUEST_MAX_MEM_SIZE: u64 = 2048 * GUEST_PAGE_SIZE;
    /// GDT selectors (indices): null, code, data.
    pub const GDT_NULL: u16 = 0;
    pub const GDT_CODE: u16 = 1;
    pub const GDT_DATA: u16 = 2;

    /// Trap frame the guest's exception handler leaves behind, pointed at
    /// by the halt cookie (`struct x86_trap_regs`).
    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct TrapRegs {
        pub cr2: u64,
        pub ec: u64,
        pub rip: u64,
        pub cs: u64,
        pub rflags: u64,
        pub rsp: u64,
        pub ss: u64,
    }

    crate::assert_layout!(
        TrapRegs,
        size = 56,
        align = 8,
        cr2 = 0,
        ec = 8,
        rip = 16,
        rsp = 40,
        ss = 48
    );
}

/// aarch64 specifics: hypercall MMIO window and the guest low-memory map.
pub mod aarch64 {
    /// Guest-physical address of hypercall 0; hypercall n is at base + n*8.
    pub const HYPERCALL_MMIO_BASE: u64 = 0x1_0000_0000;
    /// MMIO address the guest writes to kick the host ring thread.
    pub const RING_KICK_MMIO_BASE: u64 = HYPERCALL_MMIO_BASE + 0x100;
    /// Size of the MMIO window.
    pub const MMIO_SIZE: u64 = 0x4000_0000;
    pub const PGD_BASE: u64 = 0x1000;
    pub const PUD_BASE: u64 = 0x2000;
    pub const PMD_BASE: u64 = 0x3000;
    pub const PMD_SIZE: u64 = 0x4000;
    pub const PTE_BASE: u64 = 0x7000;
    /// Where the tender writes the boot info.
    pub const BOOT_INFO_BASE: u64 = 0x1_0000;
    /// Block size of the stage-1 map.
    pub const GUEST_BLOCK_SIZE: u64 = 0x20_0000;
    /// Largest guest memory: everything below the MMIO window.
    pub const GUEST_MAX_MEM_SIZE: u64 = HYPERCALL_MMIO_BASE;

    /// The MMIO address of hypercall `nr`.
    pub const fn hypercall_address(nr: u32) -> u64 {
        HYPERCALL_MMIO_BASE + ((nr as u64) << 3)
    }

    /// Trap frame Corten's aarch64 runtime leaves behind, pointed at by the
    /// halt cookie of a guest exception (Corten's own layout: upstream's
    /// aarch64 bindings pass no cookie). The entry code reserves
    /// [`HVT_HALT_COOKIE_MAX`](super::HVT_HALT_COOKIE_MAX) bytes of stack
    /// for it, so the cookie is always that long.
    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct TrapFrame {
        /// x0..x30 (x29 the frame pointer, x30 the link register).
        pub x: [u64; 31],
        /// ELR_EL1: where the exception was taken.
        pub elr: u64,
        pub spsr: u64,
        pub esr: u64,
        pub far: u64,
        pub pad: u64,
    }

    crate::assert_layout!(
        TrapFrame,
        size = 288,
        align = 8,
        x = 0,
        elr = 248,
        spsr = 256,
        esr = 264,
        far = 272
    );
    const _: () = assert!(core::mem::size_of::<TrapFrame>() <= super::HVT_HALT_COOKIE_MAX);
}

/// Passed by the tender as the sole argument of the guest entry point.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HvtBootInfo {
    pub mem_size: u64,
    pub kernel_end: u64,
    /// Cycle counter (TSC / CNTVCT) frequency in Hz.
    pub cpu_cycle_freq: u64,
    /// Guest address of the NUL-terminated command line.
    pub cmdline: u64,
    /// Guest address of the manifest.
    pub mft: u64,
    /// Features offered by the tender (`HVT_FEATURE_*`).
    pub host_features: u32,
    /// Features accepted by the guest.
    pub guest_features: u32,
    /// Guest address of the network ring, 0 if none.
    pub net_ring: u64,
}

/// `HVT_HYPERCALL_WALLTIME`
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct HcWalltime {
    pub nsecs: u64,
}

/// `HVT_HYPERCALL_PUTS`
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct HcPuts {
    pub data: u64,
    pub len: u64,
}

/// `HVT_HYPERCALL_BLOCK_WRITE` and `HVT_HYPERCALL_BLOCK_READ` (same layout).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct HcBlockIo {
    pub handle: u64,
    pub offset: u64,
    pub data: u64,
    pub len: u64,
    pub ret: i32,
}

/// `HVT_HYPERCALL_NET_WRITE` and `HVT_HYPERCALL_NET_READ` (same layout; on
/// read, `len` is in/out).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct HcNetIo {
    pub handle: u64,
    pub data: u64,
    pub len: u64,
    pub ret: i32,
}

/// `HVT_HYPERCALL_POLL`
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct HcPoll {
    pub timeout_nsecs: u64,
    pub ready_set: u64,
    pub ret: i32,
}

/// `HVT_HYPERCALL_HALT`
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct HcHalt {
    /// Guest address of up to [`HVT_HALT_COOKIE_MAX`] bytes (a trap
    /// frame), or 0.
    pub cookie: u64,
    pub exit_status: i32,
}

assert_layout!(
    HvtBootInfo,
    size = 56,
    align = 8,
    mem_size = 0,
    kernel_end = 8,
    cpu_cycle_freq = 16,
    cmdline = 24,
    mft = 32,
    host_features = 40,
    guest_features = 44,
    net_ring = 48,
);
assert_layout!(HcWalltime, size = 8, align = 8, nsecs = 0);
assert_layout!(HcPuts, size = 16, align = 8, data = 0, len = 8);
assert_layout!(
    HcBlockIo,
    size = 40,
    align = 8,
    handle = 0,
    offset = 8,
    data = 16,
    len = 24,
    ret = 32
);
assert_layout!(
    HcNetIo,
    size = 32,
    align = 8,
    handle = 0,
    data = 8,
    len = 16,
    ret = 24
);
assert_layout!(
    HcPoll,
    size = 24,
    align = 8,
    timeout_nsecs = 0,
    ready_set = 8,
    ret = 16
);
assert_layout!(HcHalt, size = 16, align = 8, cookie = 0, exit_status = 8);
const _: () = assert!(aarch64::hypercall_address(Hypercall::Halt as u32) == 0x1_0000_0040);
