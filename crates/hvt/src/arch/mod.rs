//! Architecture backends. Everything outside this module is
//! architecture-independent; each backend exports the same names:
//! `BOOT_INFO_BASE`, `NAME`, `setup_memory`, `setup_vcpu`, `ArchOptions`
//! (`ArchOptions::for_host`), `ArchError`, `Accel`, `decode_io`,
//! `instruction_pointer`, `register_dump`, `trap_frame_dump`,
//! `RegisterView`, `MEM_BLOCK`, `MEM_MAX`, `MEM_MAX_NOTE`, `NET_RING_KICK`.
//! What is the same on every architecture (the decoded exit, the vCPU
//! facts for the boot info, rounding the memory size, what a debug trap
//! turned out to be) is defined here once.

/// Where a guest kicks the network ring's I/O thread (bound to an eventfd
/// with KVM_IOEVENTFD).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetRingKick {
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

/// What the backend set up, for the boot info.
pub struct VcpuInfo {
    /// Cycle counter frequency in Hz (the TSC on x86_64, the generic
    /// timer on aarch64).
    pub cycle_freq: u64,
}

/// What a debug trap the guest reported to the tender turned out to be
/// (see [`Accel::debug_trap`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DebugTrap {
    /// The debugger's (breakpoint or step): stop and report.
    Stopped,
    /// The guest's own trap: let it run on into its handler.
    Guest,
}

/// A VM exit the architecture-independent loop understands.
pub enum Exit {
    /// A well-formed hypercall: number and guest-physical argument address.
    Hypercall { nr: u32, arg: u64 },
    /// Any other port I/O the guest attempted (x86_64), or any other
    /// access to the MMIO window (aarch64; `port` is the address).
    BadIo { port: u64, len: usize, write: bool },
    /// Any other access to a guest-physical address with no RAM behind it
    /// as far as KVM could tell. Inside guest memory this means the host
    /// mapping refused the access (a write to host-read-only text): KVM
    /// with shadow paging reports that as MMIO rather than failing KVM_RUN
    /// with EFAULT.
    Mmio { addr: u64, len: usize, write: bool },
}

#[derive(Debug, thiserror::Error)]
#[error(
    "guest memory size {size} bytes exceeds the maximum of {max} bytes ({}) an {} hvt guest \
     can address; use --mem=4096 or less",
    MEM_MAX_NOTE,
    NAME
)]
pub struct MemSizeError {
    pub size: u64,
    pub max: u64,
}

/// Guest memory size for a request of `requested` bytes: rounded down to
/// [`MEM_BLOCK`], at least one block, at most [`MEM_MAX`]. Returns the size
/// and whether it was adjusted.
pub fn mem_size(requested: u64) -> Result<(u64, bool), MemSizeError> {
    // The rule lives in corten-abi, where `corten-elftool validate` reads
    // it too.
    corten_abi::mem::hvt_guest_size(requested, MEM_BLOCK, MEM_MAX).map_err(|e| MemSizeError {
        size: e.size,
        max: e.max,
    })
}

/// A core file's NT_PRSTATUS descriptor (`struct elf_prstatus`) of `size`
/// bytes: zeroes but for `pr_reg`, which holds `regs` in order from byte
/// 112 (its offset on every 64-bit Linux architecture).
fn prstatus(size: usize, regs: impl IntoIterator<Item = u64>) -> Vec<u8> {
    const PR_REG: usize = 112;
    let mut out = vec![0u8; size];
    let slots = out
        .get_mut(PR_REG..)
        .unwrap_or_default()
        .chunks_exact_mut(8);
    for (slot, value) in slots.zip(regs) {
        slot.copy_from_slice(&value.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mem_size_rounds_and_caps() {
        const MIB: u64 = 1 << 20;
        assert_eq!(mem_size(512 * MIB).unwrap(), (512 * MIB, false));
        assert_eq!(mem_size(3 * MIB).unwrap(), (2 * MIB, true));
        assert_eq!(mem_size(MIB).unwrap(), (2 * MIB, true));
        assert_eq!(mem_size(0).unwrap(), (2 * MIB, true));
        assert_eq!(mem_size(4096 * MIB).unwrap(), (4096 * MIB, false));
        assert!(mem_size(4098 * MIB).is_err());
    }

    #[test]
    fn prstatus_puts_registers_at_pr_reg() {
        let p = prstatus(136, [1, 2, 3, 4]);
        assert_eq!(p.len(), 136);
        assert!(p[..112].iter().all(|&b| b == 0));
        assert_eq!(&p[112..120], &1u64.to_le_bytes());
        assert_eq!(&p[128..136], &3u64.to_le_bytes());
    }
}
