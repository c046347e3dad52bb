//! Architecture backends. Everything outside this module is
//! architecture-independent; each backend exports the same names:
//! `BOOT_INFO_BASE`, `NAME`, `mem_size`, `setup_memory`, `setup_vm`,
//! `setup_vcpu`, `ArchOptions`, `ArchError`, `VcpuInfo`, `Exit`,
//! `decode_io`, `instruction_pointer`, `register_dump`, `trap_frame_dump`,
//! `RegisterView`, `MEM_BLOCK`, `MEM_MAX`, `RING_KICK`.

/// Where a guest kicks the network ring's I/O thread (bound to an eventfd
/// with KVM_IOEVENTFD).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RingKick {
    /// An I/O port (x86_64).
    Pio(u16),
    /// A guest-physical MMIO address (aarch64).
    Mmio(u64),
}

#[cfg(target_arch = "x86_64")]
pub mod x86_64;
#[cfg(target_arch = "x86_64")]
pub use self::x86_64::*;

#[cfg(target_arch = "aarch64")]
pub mod aarch64;
#[cfg(target_arch = "aarch64")]
pub use self::aarch64::*;
