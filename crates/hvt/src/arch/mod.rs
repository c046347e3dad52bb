//! Architecture backends. Everything outside this module is
//! architecture-independent; each backend exports the same names:
//! `BOOT_INFO_BASE`, `NAME`, `mem_size`, `setup_memory`, `setup_vm`,
//! `setup_vcpu`, `ArchOptions`, `ArchError`, `VcpuInfo`, `Exit`,
//! `decode_io`, `instruction_pointer`, `register_dump`, `trap_frame_dump`.

#[cfg(target_arch = "x86_64")]
pub mod x86_64;
#[cfg(target_arch = "x86_64")]
pub use self::x86_64::*;

#[cfg(target_arch = "aarch64")]
pub mod aarch64;
#[cfg(target_arch = "aarch64")]
pub use self::aarch64::*;
