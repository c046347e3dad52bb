//! The boot info page: `struct hvt_boot_info`, then the manifest, then the
//! command line, starting at the architecture's boot info address.

use corten_abi::hvt::{HvtBootInfo, HVT_CMDLINE_SIZE};

use crate::guest_mem::{GuestAccessError, GuestMemory};

#[derive(Debug, thiserror::Error)]
pub enum BootInfoError {
    #[error(
        "guest command line too long: {len} bytes, the maximum is {max} (HVT_CMDLINE_SIZE - 1)"
    )]
    CmdlineTooLong { len: usize, max: usize },
    #[error("the command line contains a NUL byte at offset {0}")]
    CmdlineNul(usize),
    #[error("could not write the boot info: {0}")]
    Write(#[from] GuestAccessError),
}

/// What goes into the boot info.
pub struct BootInfo<'a> {
    /// Guest-visible memory size (the stack starts just below it).
    pub mem_size: u64,
    /// End of the loaded unikernel (page-aligned).
    pub kernel_end: u64,
    /// Cycle counter frequency in Hz.
    pub cpu_cycle_freq: u64,
    /// The boot-time manifest (header and entries, attached devices filled
    /// in).
    pub manifest: &'a [u8],
    /// The command line, without terminator.
    pub cmdline: &'a [u8],
    /// `HVT_FEATURE_*` offered.
    pub host_features: u32,
    /// Guest address of the network ring, 0 if none.
    pub net_ring: u64,
}

/// Writes `info` at `base`; returns the first address after the command
/// line area.
pub fn write(mem: &mut GuestMemory, base: u64, info: &BootInfo<'_>) -> Result<u64, BootInfoError> {
    let max = HVT_CMDLINE_SIZE - 1;
    if info.cmdline.len() > max {
        return Err(BootInfoError::CmdlineTooLong {
            len: info.cmdline.len(),
            max,
        });
    }
    if let Some(pos) = info.cmdline.iter().position(|&b| b == 0) {
        return Err(BootInfoError::CmdlineNul(pos));
    }
    let mft_at = base + std::mem::size_of::<HvtBootInfo>() as u64;
    let cmdline_at = mft_at + info.manifest.len() as u64;
    let end = cmdline_at + HVT_CMDLINE_SIZE as u64;

    mem.write(
        base,
        HvtBootInfo {
            mem_size: info.mem_size,
            kernel_end: info.kernel_end,
            cpu_cycle_freq: info.cpu_cycle_freq,
            cmdline: cmdline_at,
            mft: mft_at,
            host_features: info.host_features,
            guest_features: 0,
            net_ring: info.net_ring,
        },
    )?;
    mem.write_bytes(mft_at, info.manifest)?;
    // The command line was checked to fit, with its NUL terminator.
    mem.fill(cmdline_at, HVT_CMDLINE_SIZE as u64, 0)?;
    mem.write_bytes(cmdline_at, info.cmdline)?;
    Ok(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info<'a>(manifest: &'a [u8], cmdline: &'a [u8]) -> BootInfo<'a> {
        BootInfo {
            mem_size: 4 << 20,
            kernel_end: 0x20_0000,
            cpu_cycle_freq: 2_000_000_000,
            manifest,
            cmdline,
            host_features: 0,
            net_ring: 0,
        }
    }

    #[test]
    fn lays_out_boot_info_manifest_and_cmdline() {
        let mut mem = GuestMemory::new(4 << 20).unwrap();
        let mft = [1u8, 0, 0, 0, 1, 0, 0, 0];
        let end = write(&mut mem, 0x10000, &info(&mft, b"hello world")).unwrap();
        let bi = mem.read::<HvtBootInfo>(0x10000).unwrap();
        assert_eq!(bi.mem_size, 4 << 20);
        assert_eq!(bi.mft, 0x10000 + 56);
        assert_eq!(bi.cmdline, 0x10000 + 56 + 8);
        assert_eq!(mem.read::<[u8; 8]>(bi.mft).unwrap(), mft);
        assert_eq!(mem.read::<[u8; 12]>(bi.cmdline).unwrap(), *b"hello world\0");
        assert_eq!(end, bi.cmdline + 8192);
    }

    #[test]
    fn cmdline_limits() {
        let mut mem = GuestMemory::new(4 << 20).unwrap();
        assert!(write(&mut mem, 0x10000, &info(&[], &[b'a'; 8191])).is_ok());
        assert!(matches!(
            write(&mut mem, 0x10000, &info(&[], &[b'a'; 8192])),
            Err(BootInfoError::CmdlineTooLong { .. })
        ));
        assert!(write(&mut mem, 0x10000, &info(&[], b"a\0b")).is_err());
    }
}
