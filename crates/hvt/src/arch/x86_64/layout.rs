//! The x86_64 guest low-memory layout the hvt ABI fixes: GDT, identity
//! page tables, boot info. Addresses come from `corten_abi::hvt::x86_64`.
//!
//! ```text
//! 0x0000_0000  zero page            not present in the guest page tables
//! 0x0000_1000  GDT                  (null, code, data)
//! 0x0000_2000  PML4                 CR3
//! 0x0000_3000  PDPT                 4 entries used
//! 0x0000_4000  4 page directories   2 MiB pages, up to 4 GiB
//! 0x0000_8000  PT0                  4 KiB pages of the first 2 MiB
//! 0x0001_0000  boot info, manifest, command line   guest read-only
//! 0x0002_0000  tender scratch (ring-3 mode: GDT/IDT copies, #GP shim)
//! 0x0010_0000  unikernel image      guest read-write, host protections
//!   ...        heap / stack
//! mem_size-8   initial RSP
//! ```

use corten_abi::hvt::x86_64 as abi;
use corten_abi::hvt::HVT_GUEST_MIN_BASE;

use crate::guest_mem::{GuestAccessError, GuestMemory};

/// Page-table entry bits.
const PTE_PRESENT: u64 = 1 << 0;
const PTE_WRITABLE: u64 = 1 << 1;
const PTE_USER: u64 = 1 << 2;
const PTE_LARGE: u64 = 1 << 7;

const PAGE_SIZE: u64 = 0x1000;

/// First guest page mapped in PT0: everything below (zero page, GDT, page
/// tables) stays not-present so that a guest null dereference faults.
pub const PT0_MAP_START: u64 = abi::BOOT_INFO_BASE;

/// How the identity map is built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PagingMode {
    /// Set the user bit on every entry so the guest can run at CPL 3
    /// (ring-3 execution, see `ring3.rs`).
    pub user_accessible: bool,
}

/// Writes the identity map of `[0, mem_size)` at the ABI addresses.
pub fn write_page_tables(mem: &mut GuestMemory, mode: PagingMode) -> Result<(), GuestAccessError> {
    let mem_size = mem.mapped_size();
    let user = if mode.user_accessible { PTE_USER } else { 0 };
    let table = PTE_PRESENT | PTE_WRITABLE | user;

    mem.fill(abi::PML4_BASE, PAGE_SIZE, 0)?;
    mem.fill(abi::PDPTE_BASE, PAGE_SIZE, 0)?;
    mem.fill(abi::PDE_BASE, abi::PDE_SIZE, 0)?;
    mem.fill(abi::PT0E_BASE, PAGE_SIZE, 0)?;

    mem.write::<u64>(abi::PML4_BASE, abi::PDPTE_BASE | table)?;
    for i in 0..4u64 {
        mem.write::<u64>(
            abi::PDPTE_BASE + i * 8,
            (abi::PDE_BASE + i * PAGE_SIZE) | table,
        )?;
    }

    // PD[0] points at PT0 so the first 2 MiB can be mapped with 4 KiB
    // granularity.
    mem.write::<u64>(abi::PDE_BASE, abi::PT0E_BASE | table)?;
    let mut paddr = 0;
    while paddr < abi::GUEST_PAGE_SIZE {
        let entry = if paddr < PT0_MAP_START {
            0
        } else if paddr < HVT_GUEST_MIN_BASE {
            // Boot info and tender scratch: input to the guest only.
            paddr | PTE_PRESENT | user
        } else {
            paddr | table
        };
        mem.write::<u64>(abi::PT0E_BASE + paddr / PAGE_SIZE * 8, entry)?;
        paddr += PAGE_SIZE;
    }
    // The rest with 2 MiB pages, in the page directories that follow PD[0].
    let mut pde = abi::PDE_BASE + 8;
    while paddr < mem_size {
        mem.write::<u64>(pde, paddr | table | PTE_LARGE)?;
        pde += 8;
        paddr += abi::GUEST_PAGE_SIZE;
    }
    Ok(())
}

/// A segment as the CPU caches it (the fields of `struct kvm_segment`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Segment {
    /// GDT index (the selector is index * 8 + rpl).
    pub index: u16,
    pub rpl: u16,
    pub base: u64,
    /// Limit in bytes.
    pub limit: u32,
    pub type_: u8,
    pub present: bool,
    pub dpl: u8,
    pub db: bool,
    pub s: bool,
    pub l: bool,
    pub g: bool,
    pub unusable: bool,
}

impl Segment {
    pub const fn selector(&self) -> u16 {
        self.index * 8 + self.rpl
    }

    /// 64-bit ring-0 code: execute-only, accessed.
    pub const CODE: Segment = Segment {
        index: abi::GDT_CODE,
        rpl: 0,
        base: 0,
        limit: 0xffff_ffff,
        type_: 9,
        present: true,
        dpl: 0,
        db: false,
        s: true,
        l: true,
        g: true,
        unusable: false,
    };

    /// Ring-0 data: read-write, accessed.
    pub const DATA: Segment = Segment {
        index: abi::GDT_DATA,
        rpl: 0,
        base: 0,
        limit: 0xffff_ffff,
        type_: 3,
        present: true,
        dpl: 0,
        db: true,
        s: true,
        l: false,
        g: true,
        unusable: false,
    };

    /// The task register: a busy 64-bit TSS at 0 (never used by an hvt
    /// guest before it loads its own).
    pub const TSS: Segment = Segment {
        index: abi::GDT_NULL,
        rpl: 0,
        base: 0,
        limit: 0,
        type_: 11,
        present: true,
        dpl: 0,
        db: false,
        s: false,
        l: false,
        g: false,
        unusable: false,
    };

    /// The LDT: unusable.
    pub const UNUSABLE: Segment = Segment {
        index: abi::GDT_NULL,
        rpl: 0,
        base: 0,
        limit: 0,
        type_: 0,
        present: false,
        dpl: 0,
        db: false,
        s: false,
        l: false,
        g: false,
        unusable: true,
    };

    /// The 8-byte GDT descriptor for this segment.
    pub fn descriptor(&self) -> u64 {
        let limit = if self.g {
            u64::from(self.limit >> 12)
        } else {
            u64::from(self.limit)
        };
        let base = self.base;
        (limit & 0xffff)
            | ((base & 0xff_ffff) << 16)
            | (u64::from(self.type_ & 0xf) << 40)
            | (u64::from(self.s) << 44)
            | (u64::from(self.dpl & 3) << 45)
            | (u64::from(self.present) << 47)
            | (((limit >> 16) & 0xf) << 48)
            | (u64::from(self.l) << 53)
            | (u64::from(self.db) << 54)
            | (u64::from(self.g) << 55)
            | (((base >> 24) & 0xff) << 56)
    }

    pub fn to_kvm(self) -> kvm_bindings::kvm_segment {
        kvm_bindings::kvm_segment {
            base: self.base,
            limit: self.limit,
            selector: self.selector(),
            type_: self.type_,
            present: u8::from(self.present),
            dpl: self.dpl,
            db: u8::from(self.db),
            s: u8::from(self.s),
            l: u8::from(self.l),
            g: u8::from(self.g),
            avl: 0,
            unusable: u8::from(self.unusable),
            padding: 0,
        }
    }
}

/// Number of GDT entries the tender writes.
pub const GDT_ENTRIES: u16 = 3;

/// Writes the boot GDT (null, code, data) at the ABI address.
pub fn write_gdt(mem: &mut GuestMemory) -> Result<(), GuestAccessError> {
    mem.write::<u64>(abi::GDT_BASE, 0)?;
    mem.write::<u64>(
        abi::GDT_BASE + u64::from(abi::GDT_CODE) * 8,
        Segment::CODE.descriptor(),
    )?;
    mem.write::<u64>(
        abi::GDT_BASE + u64::from(abi::GDT_DATA) * 8,
        Segment::DATA.descriptor(),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptors_match_the_architecture() {
        // Well-known encodings of flat 64-bit code and flat data.
        assert_eq!(Segment::CODE.descriptor(), 0x00af_9900_0000_ffff);
        assert_eq!(Segment::DATA.descriptor(), 0x00cf_9300_0000_ffff);
    }

    #[test]
    fn page_tables_leave_low_pages_unmapped() {
        let mut mem = GuestMemory::new(8 << 20).unwrap();
        write_page_tables(
            &mut mem,
            PagingMode {
                user_accessible: false,
            },
        )
        .unwrap();
        let pt0 = |paddr: u64| {
            mem.read::<u64>(abi::PT0E_BASE + paddr / 0x1000 * 8)
                .unwrap()
        };
        assert_eq!(pt0(0), 0);
        assert_eq!(pt0(0xf000), 0);
        assert_eq!(pt0(0x10000), 0x10000 | PTE_PRESENT);
        assert_eq!(pt0(0x100000), 0x100000 | PTE_PRESENT | PTE_WRITABLE);
        // 8 MiB: PD[1..4] map 2, 4, 6 MiB; PD[4] is empty.
        let pd = |i: u64| mem.read::<u64>(abi::PDE_BASE + i * 8).unwrap();
        assert_eq!(pd(1), 0x200000 | PTE_PRESENT | PTE_WRITABLE | PTE_LARGE);
        assert_eq!(pd(3), 0x600000 | PTE_PRESENT | PTE_WRITABLE | PTE_LARGE);
        assert_eq!(pd(4), 0);
    }

    #[test]
    fn user_mode_sets_the_user_bit_everywhere_mapped() {
        let mut mem = GuestMemory::new(4 << 20).unwrap();
        write_page_tables(
            &mut mem,
            PagingMode {
                user_accessible: true,
            },
        )
        .unwrap();
        assert_ne!(mem.read::<u64>(abi::PML4_BASE).unwrap() & PTE_USER, 0);
        assert_ne!(mem.read::<u64>(abi::PDE_BASE + 8).unwrap() & PTE_USER, 0);
        assert_eq!(
            mem.read::<u64>(abi::PT0E_BASE + 0x10 * 8).unwrap(),
            0x10000 | PTE_PRESENT | PTE_USER
        );
    }
}
