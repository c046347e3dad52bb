//! The aarch64 guest low-memory layout the hvt ABI fixes: stage-1 identity
//! page tables (4 KiB granule, 40-bit VA) and the boot info. Addresses come
//! from `corten_abi::hvt::aarch64`.
//!
//! ```text
//! 0x0000_0000          unmapped (null dereferences fault)
//! 0x0000_1000          PGD
//! 0x0000_2000          PUD
//! 0x0000_3000          PMD0..PMD3 (4 pages: up to 4 GiB of RAM)
//! 0x0000_7000          PTE of the first 2 MiB
//! 0x0001_0000          boot info, manifest, command line (read-only)
//! 0x0010_0000          unikernel image
//! mem_size - 16        initial SP
//! 0x1_0000_0000        MMIO window (1 GiB): hypercalls at base + nr * 8
//! ```

use corten_abi::hvt::aarch64 as abi;
use corten_abi::hvt::HVT_GUEST_MIN_BASE;

use crate::guest_mem::{GuestAccessError, GuestMemory};

const PAGE_SIZE: u64 = 0x1000;
const PUD_SIZE: u64 = 1 << 30;

const DESC_TABLE: u64 = 3;
const DESC_SECT: u64 = 1;
const DESC_PAGE: u64 = 3;
const AF: u64 = 1 << 10;
const SH_INNER: u64 = 3 << 8;
const RDONLY: u64 = 1 << 7;
const PXN: u64 = 1 << 53;
const UXN: u64 = 1 << 54;
const fn attr(index: u64) -> u64 {
    index << 2
}
/// MAIR indices (see `MAIR_EL1_INIT` in mod.rs).
const MT_DEVICE_NGNRE: u64 = 1;
const MT_NORMAL: u64 = 4;

const SECT_NORMAL_EXEC: u64 = DESC_SECT | AF | SH_INNER | UXN | attr(MT_NORMAL);
const SECT_DEVICE: u64 = DESC_SECT | AF | SH_INNER | PXN | UXN | attr(MT_DEVICE_NGNRE);
const PAGE_NORMAL_RO: u64 = DESC_PAGE | AF | SH_INNER | attr(MT_NORMAL) | PXN | UXN | RDONLY;
const PAGE_NORMAL_EXEC: u64 = DESC_PAGE | AF | SH_INNER | attr(MT_NORMAL) | UXN;

/// First page mapped: below it (zero page, page tables) is unmapped.
pub const MAP_START: u64 = abi::BOOT_INFO_BASE;

/// Writes the identity map of `[0, mem_size)` plus the MMIO window.
pub fn write_page_tables(mem: &mut GuestMemory) -> Result<(), GuestAccessError> {
    let mem_size = mem.mapped_size();
    mem.fill(abi::PGD_BASE, PAGE_SIZE, 0)?;
    mem.fill(abi::PUD_BASE, PAGE_SIZE, 0)?;
    mem.fill(abi::PMD_BASE, abi::PMD_SIZE, 0)?;
    mem.fill(abi::PTE_BASE, PAGE_SIZE, 0)?;

    // 4 KiB pages for the first 2 MiB.
    let mut paddr = 0;
    while paddr < abi::GUEST_BLOCK_SIZE {
        let entry = if paddr < MAP_START {
            0
        } else if paddr < HVT_GUEST_MIN_BASE {
            paddr | PAGE_NORMAL_RO
        } else {
            paddr | PAGE_NORMAL_EXEC
        };
        mem.write::<u64>(abi::PTE_BASE + paddr / PAGE_SIZE * 8, entry)?;
        paddr += PAGE_SIZE;
    }
    mem.write::<u64>(abi::PMD_BASE, abi::PTE_BASE | DESC_TABLE)?;
    // 2 MiB blocks for the rest, in PMD0..PMD3 (contiguous).
    let mut pmd = abi::PMD_BASE + 8;
    while paddr < mem_size {
        mem.write::<u64>(pmd, paddr | SECT_NORMAL_EXEC)?;
        pmd += 8;
        paddr += abi::GUEST_BLOCK_SIZE;
    }
    // One PUD entry per GiB of RAM, then 1 GiB blocks of device memory for
    // the MMIO window.
    let mut gib = 0;
    while gib * PUD_SIZE < mem_size {
        mem.write::<u64>(
            abi::PUD_BASE + gib * 8,
            (abi::PMD_BASE + gib * PAGE_SIZE) | DESC_TABLE,
        )?;
        gib += 1;
    }
    let mut mmio = abi::HYPERCALL_MMIO_BASE;
    while mmio < abi::HYPERCALL_MMIO_BASE + abi::MMIO_SIZE {
        mem.write::<u64>(abi::PUD_BASE + mmio / PUD_SIZE * 8, mmio | SECT_DEVICE)?;
        mmio += PUD_SIZE;
    }
    mem.write::<u64>(abi::PGD_BASE, abi::PUD_BASE | DESC_TABLE)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_map_ram_and_mmio() {
        let mut mem = GuestMemory::new(1 << 30).unwrap();
        write_page_tables(&mut mem).unwrap();
        let rd = |a: u64| mem.read::<u64>(a).unwrap();
        assert_eq!(rd(abi::PGD_BASE), abi::PUD_BASE | DESC_TABLE);
        assert_eq!(rd(abi::PUD_BASE), abi::PMD_BASE | DESC_TABLE);
        assert_eq!(rd(abi::PUD_BASE + 8), 0);
        assert_eq!(
            rd(abi::PUD_BASE + 4 * 8),
            abi::HYPERCALL_MMIO_BASE | SECT_DEVICE
        );
        assert_eq!(rd(abi::PTE_BASE), 0);
        assert_eq!(rd(abi::PTE_BASE + 0x10 * 8), 0x10000 | PAGE_NORMAL_RO);
        assert_eq!(rd(abi::PTE_BASE + 0x100 * 8), 0x100000 | PAGE_NORMAL_EXEC);
        assert_eq!(rd(abi::PMD_BASE + 8), 0x200000 | SECT_NORMAL_EXEC);
    }
}
