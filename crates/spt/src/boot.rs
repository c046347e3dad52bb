//! The guest's low memory: [`SptBootInfo`] at [`SPT_BOOT_INFO_BASE`], the
//! manifest right after it, then the command line area.

use corten_abi::spt::{SptBootInfo, SPT_BOOT_INFO_BASE, SPT_CMDLINE_SIZE, SPT_GUEST_MIN_BASE};

use crate::memory::{GuestMemory, MemoryError};

/// Bytes of the boot info structure.
pub const BOOT_INFO_SIZE: usize = std::mem::size_of::<SptBootInfo>();

/// Serialises the boot info as the guest reads it (little-endian).
pub fn boot_info_bytes(bi: &SptBootInfo) -> [u8; BOOT_INFO_SIZE] {
    let mut b = [0u8; BOOT_INFO_SIZE];
    let fields: [&[u8]; 6] = [
        &bi.mem_size.to_le_bytes(),
        &bi.kernel_end.to_le_bytes(),
        &bi.cmdline.to_le_bytes(),
        &bi.mft.to_le_bytes(),
        &bi.epollfd.to_le_bytes(),
        &bi.timerfd.to_le_bytes(),
    ];
    let mut at = 0;
    for f in fields {
        if let Some(dst) = b.get_mut(at..at + f.len()) {
            dst.copy_from_slice(f);
        }
        at += f.len();
    }
    b
}

/// Writes boot info, manifest and command line; returns the boot info's
/// guest address (the guest entry point's argument).
pub fn write_low_memory(
    mem: &mut GuestMemory,
    kernel_end: u64,
    manifest: &[u8],
    cmdline: &[u8],
    epollfd: i32,
    timerfd: i32,
) -> Result<u64, MemoryError> {
    let mft = SPT_BOOT_INFO_BASE + BOOT_INFO_SIZE as u64;
    let cmd = mft + manifest.len() as u64;
    // The low area must stay below the first loadable address.
    let end = cmd + SPT_CMDLINE_SIZE as u64;
    if end > SPT_GUEST_MIN_BASE || cmdline.len() > SPT_CMDLINE_SIZE {
        return Err(MemoryError::OutOfRange {
            addr: SPT_BOOT_INFO_BASE,
            len: end - SPT_BOOT_INFO_BASE,
            mem_size: SPT_GUEST_MIN_BASE,
        });
    }
    let bi = SptBootInfo {
        mem_size: mem.mem_size(),
        kernel_end,
        cmdline: cmd,
        mft,
        epollfd,
        timerfd,
    };
    mem.bytes_mut(SPT_BOOT_INFO_BASE, BOOT_INFO_SIZE)?
        .copy_from_slice(&boot_info_bytes(&bi));
    mem.bytes_mut(mft, manifest.len())?
        .copy_from_slice(manifest);
    mem.bytes_mut(cmd, cmdline.len())?.copy_from_slice(cmdline);
    Ok(SPT_BOOT_INFO_BASE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boot_info_layout() {
        let b = boot_info_bytes(&SptBootInfo {
            mem_size: 0x20_0000,
            kernel_end: 0x13_0000,
            cmdline: 0x1_1100,
            mft: 0x1_1028,
            epollfd: 3,
            timerfd: -2,
        });
        assert_eq!(&b[0..8], &0x20_0000u64.to_le_bytes());
        assert_eq!(&b[8..16], &0x13_0000u64.to_le_bytes());
        assert_eq!(&b[16..24], &0x1_1100u64.to_le_bytes());
        assert_eq!(&b[24..32], &0x1_1028u64.to_le_bytes());
        assert_eq!(&b[32..36], &3i32.to_le_bytes());
        assert_eq!(&b[36..40], &(-2i32).to_le_bytes());
    }
}
