//! The hand-made ELF corpus: a small valid Solo5 hvt unikernel for x86_64
//! built byte by byte, and variants of it that each carry one defect (or one
//! unusual but valid feature), with the exact outcome each must have.
//!
//! Shared by the generator (`cargo run -p corten-elf --example gen-corpus`),
//! which writes `tests/corpus/{malformed,valid}/NAME.{elf,expected}`, and by
//! the `corpus` integration test, which regenerates everything in memory,
//! checks the committed files are identical, and runs the loader on them.
//! The expected messages below are written by hand, not captured from the
//! loader.
// Test support: panicking on a broken fixture is the right outcome.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use corten_abi::mft::{MftEntry, MFT_VERSION};
use corten_abi::note::{
    AbiTarget, ABI1_NOTE_TYPE, FAKE_INTERP, MFT1_DESC_PAD, MFT1_NOTE_TYPE, SOLO5_NOTE_NAMESZ,
};
use corten_elf::{Arch, Elf, ReadAt};

// ---------------------------------------------------------------------------
// The base image.
//
//   0x000  ELF header
//   0x040  program header table, room for 16 entries (11 used)
//   0x400  .interp + .text   (PT_LOAD R-X at 0x100000, entry 0x100020)
//   0x440  MFT1 note         (PT_LOAD R-- at 0x101000, also PT_NOTE)
//   0x4c8  ABI1 note
//   0x4ec  OpenBSD note
//   0x508  .data             (PT_LOAD RW- at 0x102000)
//   0x518  end of file; .bss is a PT_LOAD RW- at 0x103000, 0x100 bytes
// ---------------------------------------------------------------------------

pub const PHOFF: usize = 0x40;
pub const PH_SLOTS: usize = 16;
pub const TEXT_OFF: u64 = 0x400;
pub const TEXT_LEN: u64 = 0x40;
pub const MFT_OFF: u64 = 0x440;
pub const MFT_LEN: u64 = 0x88;
pub const ABI_OFF: u64 = 0x4c8;
pub const ABI_LEN: u64 = 0x24;
pub const BSD_OFF: u64 = 0x4ec;
pub const BSD_LEN: u64 = 0x18;
pub const DATA_OFF: u64 = 0x508;
pub const DATA_LEN: u64 = 0x10;
pub const FILE_LEN: usize = 0x518;
pub const ENTRY: u64 = 0x100020;

/// Program header indexes in the base image.
pub const PH_INTERP: usize = 0;
pub const PH_TEXT: usize = 1;
pub const PH_RODATA: usize = 2;
pub const PH_DATA: usize = 3;
pub const PH_EMPTY: usize = 4;
pub const PH_TLS: usize = 5;
pub const PH_BSS: usize = 6;
pub const PH_NOTE_BSD: usize = 7;
pub const PH_NOTE_ABI: usize = 8;
pub const PH_NOTE_MFT: usize = 9;
pub const PH_STACK: usize = 10;
pub const PHNUM: u16 = 11;

pub const PT_NULL: u32 = 0;
pub const PT_LOAD: u32 = 1;
pub const PT_INTERP: u32 = 3;
pub const PT_NOTE: u32 = 4;
pub const PT_TLS: u32 = 7;
pub const PT_GNU_STACK: u32 = 0x6474_e551;
pub const PT_GNU_RELRO: u32 = 0x6474_e552;
pub const R: u32 = 4;
pub const W: u32 = 2;
pub const X: u32 = 1;

/// One `Elf64_Phdr`, to edit and write back.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ph {
    pub p_type: u32,
    pub p_flags: u32,
    pub p_offset: u64,
    pub p_vaddr: u64,
    pub p_filesz: u64,
    pub p_memsz: u64,
    pub p_align: u64,
}

/// An ELF image under construction: raw bytes with typed field setters.
#[derive(Clone)]
pub struct Image(pub Vec<u8>);

impl Image {
    pub fn put(&mut self, at: usize, bytes: &[u8]) {
        if self.0.len() < at + bytes.len() {
            self.0.resize(at + bytes.len(), 0);
        }
        self.0[at..at + bytes.len()].copy_from_slice(bytes);
    }
    pub fn u8(&mut self, at: usize, v: u8) -> &mut Self {
        self.put(at, &[v]);
        self
    }
    pub fn u16(&mut self, at: usize, v: u16) -> &mut Self {
        self.put(at, &v.to_le_bytes());
        self
    }
    pub fn u32(&mut self, at: usize, v: u32) -> &mut Self {
        self.put(at, &v.to_le_bytes());
        self
    }
    pub fn u64(&mut self, at: usize, v: u64) -> &mut Self {
        self.put(at, &v.to_le_bytes());
        self
    }
    fn get_u32(&self, at: usize) -> u32 {
        u32::from_le_bytes(self.0[at..at + 4].try_into().unwrap())
    }
    fn get_u64(&self, at: usize) -> u64 {
        u64::from_le_bytes(self.0[at..at + 8].try_into().unwrap())
    }

    // ELF header fields.
    pub fn e_type(&mut self, v: u16) -> &mut Self {
        self.u16(16, v)
    }
    pub fn e_machine(&mut self, v: u16) -> &mut Self {
        self.u16(18, v)
    }
    pub fn e_version(&mut self, v: u32) -> &mut Self {
        self.u32(20, v)
    }
    pub fn e_entry(&mut self, v: u64) -> &mut Self {
        self.u64(24, v)
    }
    pub fn e_phoff(&mut self, v: u64) -> &mut Self {
        self.u64(32, v)
    }
    pub fn e_shoff(&mut self, v: u64) -> &mut Self {
        self.u64(40, v)
    }
    pub fn e_ehsize(&mut self, v: u16) -> &mut Self {
        self.u16(52, v)
    }
    pub fn e_phentsize(&mut self, v: u16) -> &mut Self {
        self.u16(54, v)
    }
    pub fn e_phnum(&mut self, v: u16) -> &mut Self {
        self.u16(56, v)
    }
    pub fn e_shentsize(&mut self, v: u16) -> &mut Self {
        self.u16(58, v)
    }
    pub fn e_shnum(&mut self, v: u16) -> &mut Self {
        self.u16(60, v)
    }
    pub fn e_shstrndx(&mut self, v: u16) -> &mut Self {
        self.u16(62, v)
    }

    /// Program header `i` (from the fixed table at PHOFF).
    pub fn ph(&self, i: usize) -> Ph {
        let at = PHOFF + i * 56;
        Ph {
            p_type: self.get_u32(at),
            p_flags: self.get_u32(at + 4),
            p_offset: self.get_u64(at + 8),
            p_vaddr: self.get_u64(at + 16),
            p_filesz: self.get_u64(at + 32),
            p_memsz: self.get_u64(at + 40),
            p_align: self.get_u64(at + 48),
        }
    }

    /// Writes program header `i`; p_paddr mirrors p_vaddr.
    pub fn set_ph(&mut self, i: usize, p: Ph) -> &mut Self {
        assert!(i < PH_SLOTS);
        let at = PHOFF + i * 56;
        self.u32(at, p.p_type)
            .u32(at + 4, p.p_flags)
            .u64(at + 8, p.p_offset)
            .u64(at + 16, p.p_vaddr)
            .u64(at + 24, p.p_vaddr)
            .u64(at + 32, p.p_filesz)
            .u64(at + 40, p.p_memsz)
            .u64(at + 48, p.p_align)
    }

    /// Edits program header `i` in place.
    pub fn edit_ph(&mut self, i: usize, f: impl FnOnce(&mut Ph)) -> &mut Self {
        let mut p = self.ph(i);
        f(&mut p);
        self.set_ph(i, p)
    }

    pub fn truncate(&mut self, len: usize) -> &mut Self {
        self.0.truncate(len);
        self
    }

    pub fn bytes(&self) -> Vec<u8> {
        self.0.clone()
    }
}

fn note_bytes(namesz: u32, descsz: u32, ntype: u32, name: &[u8], desc: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend(namesz.to_le_bytes());
    v.extend(descsz.to_le_bytes());
    v.extend(ntype.to_le_bytes());
    v.extend(name);
    while v.len() % 4 != 0 {
        v.push(0);
    }
    v.extend(desc);
    while v.len() % 4 != 0 {
        v.push(0);
    }
    v
}

fn mft_entry_bytes(e: &MftEntry) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend(e.name);
    v.extend(e.mtype.to_le_bytes());
    v.extend(e.props.0);
    v.extend(e.backing.to_le_bytes());
    v.push(e.attached);
    v.extend(e._pad);
    assert_eq!(v.len(), 104);
    v
}

/// The MFT1 note of a manifest with only the reserved entry (like
/// upstream's test_hello).
pub fn mft1_note() -> Vec<u8> {
    let mut desc = vec![0u8; MFT1_DESC_PAD];
    desc.extend(MFT_VERSION.to_le_bytes());
    desc.extend(1u32.to_le_bytes());
    desc.extend(mft_entry_bytes(&MftEntry::RESERVED));
    note_bytes(
        SOLO5_NOTE_NAMESZ,
        desc.len() as u32,
        MFT1_NOTE_TYPE,
        b"Solo5\0",
        &desc,
    )
}

pub fn abi1_note(target: u32, version: u32) -> Vec<u8> {
    let mut desc = Vec::new();
    for w in [target, version, 0, 0] {
        desc.extend(w.to_le_bytes());
    }
    note_bytes(SOLO5_NOTE_NAMESZ, 16, ABI1_NOTE_TYPE, b"Solo5\0", &desc)
}

pub fn openbsd_note() -> Vec<u8> {
    note_bytes(8, 4, 1, b"OpenBSD\0", &[0; 4])
}

pub fn gnu_build_id_note() -> Vec<u8> {
    let id: Vec<u8> = (0u8..20).map(|i| i.wrapping_mul(37) ^ 0x5a).collect();
    note_bytes(4, 20, 3, b"GNU\0", &id)
}

/// Code at the entry point: x86_64 `hlt; jmp .-1`, aarch64 `wfi; b .-4`.
fn code(arch: Arch) -> Vec<u8> {
    match arch {
        Arch::X86_64 => vec![0xf4, 0xeb, 0xfd],
        Arch::Aarch64 => [0xd503_207fu32, 0x17ff_ffff]
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .collect(),
    }
}

/// The valid base unikernel for `arch` and ABI `target`.
pub fn base_for(arch: Arch, target: AbiTarget) -> Image {
    let mut img = Image(vec![0u8; FILE_LEN]);
    // e_ident: magic, ELFCLASS64, ELFDATA2LSB, EV_CURRENT, OSABI 0.
    img.put(0, b"\x7fELF\x02\x01\x01");
    img.e_type(2)
        .e_machine(arch.machine())
        .e_version(1)
        .e_entry(ENTRY)
        .e_phoff(PHOFF as u64)
        .e_shoff(0)
        .e_ehsize(64)
        .e_phentsize(56)
        .e_phnum(PHNUM)
        .e_shentsize(64)
        .e_shnum(0)
        .e_shstrndx(0);

    // .interp, then code at the entry point, int3/brk-ish filler between.
    let mut text = vec![0xccu8; TEXT_LEN as usize];
    text[..FAKE_INTERP.len()].copy_from_slice(&FAKE_INTERP);
    let c = code(arch);
    let at = (ENTRY - 0x100000) as usize;
    text[at..at + c.len()].copy_from_slice(&c);
    img.put(TEXT_OFF as usize, &text);
    img.put(MFT_OFF as usize, &mft1_note());
    img.put(ABI_OFF as usize, &abi1_note(target as u32, 2));
    img.put(BSD_OFF as usize, &openbsd_note());
    img.put(DATA_OFF as usize, b"corten-elf data\0");
    assert_eq!(mft1_note().len() as u64, MFT_LEN);
    assert_eq!(abi1_note(0, 0).len() as u64, ABI_LEN);
    assert_eq!(openbsd_note().len() as u64, BSD_LEN);

    let load = |flags, off, vaddr, filesz, memsz| Ph {
        p_type: PT_LOAD,
        p_flags: flags,
        p_offset: off,
        p_vaddr: vaddr,
        p_filesz: filesz,
        p_memsz: memsz,
        p_align: 0x1000,
    };
    let note = |off, vaddr, len| Ph {
        p_type: PT_NOTE,
        p_flags: R,
        p_offset: off,
        p_vaddr: vaddr,
        p_filesz: len,
        p_memsz: len,
        p_align: 4,
    };
    let rodata_vaddr = |off: u64| 0x101000 + off - MFT_OFF;
    img.set_ph(
        PH_INTERP,
        Ph {
            p_type: PT_INTERP,
            p_flags: R,
            p_offset: TEXT_OFF,
            p_vaddr: 0x100000,
            p_filesz: 0x18,
            p_memsz: 0x18,
            p_align: 8,
        },
    )
    .set_ph(PH_TEXT, load(R | X, TEXT_OFF, 0x100000, TEXT_LEN, TEXT_LEN))
    .set_ph(
        PH_RODATA,
        load(
            R,
            MFT_OFF,
            0x101000,
            DATA_OFF - 4 - MFT_OFF,
            DATA_OFF - 4 - MFT_OFF,
        ),
    )
    .set_ph(PH_DATA, load(R | W, DATA_OFF, 0x102000, DATA_LEN, DATA_LEN))
    // Zero-size PT_LOAD, as upstream's linker scripts leave behind.
    .set_ph(PH_EMPTY, load(R, TEXT_OFF, 0, 0, 0))
    .set_ph(
        PH_TLS,
        Ph {
            p_type: PT_TLS,
            p_align: 8,
            ..Ph::default()
        },
    )
    .set_ph(PH_BSS, load(R | W, 0, 0x103000, 0, 0x100))
    .set_ph(PH_NOTE_BSD, note(BSD_OFF, rodata_vaddr(BSD_OFF), BSD_LEN))
    .set_ph(PH_NOTE_ABI, note(ABI_OFF, rodata_vaddr(ABI_OFF), ABI_LEN))
    .set_ph(PH_NOTE_MFT, note(MFT_OFF, rodata_vaddr(MFT_OFF), MFT_LEN))
    .set_ph(
        PH_STACK,
        Ph {
            p_type: PT_GNU_STACK,
            p_flags: R | W,
            p_align: 0x10,
            ..Ph::default()
        },
    );
    img
}

/// The x86_64 hvt base image every corpus file derives from.
pub fn base() -> Image {
    base_for(Arch::X86_64, AbiTarget::Hvt)
}

// ---------------------------------------------------------------------------
// How corpus files are checked: what a hvt tender on x86_64 with 2 MiB of
// guest memory does with a unikernel.
// ---------------------------------------------------------------------------

pub const HARNESS_MEM: u64 = 0x20_0000;
pub const HARNESS_MIN_BASE: u64 = 0x10_0000;

/// Runs the whole tender-side sequence; the first error's message, or a
/// summary of the accepted image.
pub fn run_loader<R: ReadAt + ?Sized>(name: &str, file: &R) -> Result<String, String> {
    let elf = Elf::parse(name, file, Arch::X86_64).map_err(|e| e.to_string())?;
    elf.check_abi(AbiTarget::Hvt, 2)
        .map_err(|e| e.to_string())?;
    let mft_len = elf.manifest_desc().map_err(|e| e.to_string())?.len();
    elf.check_layout(HARNESS_MEM, HARNESS_MIN_BASE)
        .map_err(|e| e.to_string())?;
    let mut mem = vec![0u8; HARNESS_MEM as usize];
    elf.load(file, &mut mem).map_err(|e| e.to_string())?;
    Ok(summary(&elf, mft_len))
}

/// What the loader made of an accepted image, one fact per line.
pub fn summary(elf: &Elf, mft_len: usize) -> String {
    let mut s = format!(
        "entry {:#x}\nkernel_end {:#x}\n",
        elf.entry(),
        elf.kernel_end()
    );
    for seg in elf.segments() {
        s += &format!(
            "load phdr {}: {:#x}..{:#x} {} vaddr {:#x} filesz {:#x} memsz {:#x}\n",
            seg.phdr_index, seg.start, seg.end, seg.prot, seg.vaddr, seg.filesz, seg.memsz
        );
    }
    let abi = elf.abi().unwrap();
    let loc = elf.abi_location().unwrap();
    s += &format!(
        "abi1 note {} in phdr {}: target {} version {}\n",
        loc.index, loc.phdr, abi.abi_target, abi.abi_version
    );
    let loc = elf.manifest_location().unwrap();
    s += &format!(
        "mft1 note {} in phdr {}: {:#x} bytes\n",
        loc.index, loc.phdr, mft_len
    );
    s
}

// ---------------------------------------------------------------------------
// The cases.
// ---------------------------------------------------------------------------

pub struct Case {
    pub name: &'static str,
    /// The one defect (or the unusual feature of a valid file).
    pub what: &'static str,
    pub bytes: Vec<u8>,
    /// Malformed: the whole message. Valid: the summary.
    pub expected: String,
}

fn case(name: &'static str, what: &'static str, img: &Image, expected: &str) -> Case {
    Case {
        name,
        what,
        bytes: img.bytes(),
        expected: expected.to_owned(),
    }
}

/// The base summary, shared by the valid files that only add something the
/// loader ignores.
pub const BASE_SUMMARY: &str = "\
entry 0x100020
kernel_end 0x104000
load phdr 1: 0x100000..0x101000 R-X vaddr 0x100000 filesz 0x40 memsz 0x40
load phdr 2: 0x101000..0x102000 R-- vaddr 0x101000 filesz 0xc4 memsz 0xc4
load phdr 3: 0x102000..0x103000 RW- vaddr 0x102000 filesz 0x10 memsz 0x10
load phdr 6: 0x103000..0x104000 RW- vaddr 0x103000 filesz 0x0 memsz 0x100
abi1 note 0 in phdr 8: target 1 version 2
mft1 note 0 in phdr 9: 0x70 bytes
";

pub fn valid_cases() -> Vec<Case> {
    let mut v = Vec::new();
    v.push(case(
        "base",
        "the base image: zero-size PT_LOAD, empty PT_TLS, pure-.bss PT_LOAD, PT_INTERP, three PT_NOTEs, PT_GNU_STACK",
        &base(),
        BASE_SUMMARY,
    ));

    let mut img = base();
    img.put(FILE_LEN, &[0xee; 0x1000]);
    v.push(case(
        "trailing-bytes",
        "4 KiB of bytes after everything the headers point at",
        &img,
        BASE_SUMMARY,
    ));

    let mut img = base();
    img.e_shoff(0xdead_beef_cafe)
        .e_shentsize(7)
        .e_shnum(0xffff)
        .e_shstrndx(0x1234);
    v.push(case(
        "garbage-section-headers",
        "section header fields that point nowhere (never read)",
        &img,
        BASE_SUMMARY,
    ));

    let mut img = base();
    img.edit_ph(PH_NOTE_BSD, |p| p.p_type = PT_NULL)
        .edit_ph(PH_NOTE_ABI, |p| p.p_type = PT_NULL)
        .edit_ph(PH_NOTE_MFT, |p| {
            p.p_filesz = BSD_OFF + BSD_LEN - MFT_OFF;
            p.p_memsz = p.p_filesz;
        });
    v.push(case(
        "notes-in-one-segment",
        "MFT1, ABI1 and OpenBSD notes all in one PT_NOTE",
        &img,
        &BASE_SUMMARY.replace("abi1 note 0 in phdr 8", "abi1 note 1 in phdr 9"),
    ));

    let mut img = base();
    let gnu = gnu_build_id_note();
    let mut notes = gnu.clone();
    notes.extend(abi1_note(AbiTarget::Hvt as u32, 2));
    img.put(FILE_LEN, &notes);
    img.e_phnum(PHNUM + 2)
        .edit_ph(PH_NOTE_ABI, |p| p.p_type = PT_NULL)
        .set_ph(
            11,
            Ph {
                p_type: PT_NOTE,
                p_flags: R,
                p_offset: FILE_LEN as u64,
                p_filesz: notes.len() as u64,
                p_memsz: 0,
                p_align: 4,
                ..Ph::default()
            },
        )
        .set_ph(
            12,
            Ph {
                p_type: PT_NOTE,
                p_offset: 0xffff_ffff,
                p_align: 4,
                ..Ph::default()
            },
        );
    v.push(case(
        "foreign-and-empty-notes",
        "a GNU build-id note before the ABI1 note in a PT_NOTE outside any PT_LOAD, and an empty PT_NOTE",
        &img,
        &BASE_SUMMARY.replace("abi1 note 0 in phdr 8", "abi1 note 1 in phdr 11"),
    ));

    let mut img = base();
    img.set_ph(
        PH_TLS,
        Ph {
            p_type: PT_TLS,
            p_flags: R,
            p_offset: DATA_OFF,
            p_vaddr: 0x102000,
            p_filesz: 8,
            p_memsz: 0x20,
            p_align: 8,
        },
    );
    v.push(case(
        "tls-segment",
        "a non-empty PT_TLS (its bytes are inside the data PT_LOAD)",
        &img,
        BASE_SUMMARY,
    ));

    let mut img = base();
    img.edit_ph(PH_BSS, |p| p.p_memsz = 0);
    v.push(case(
        "no-bss",
        "the .bss PT_LOAD has p_memsz 0 too, so it is skipped",
        &img,
        "\
entry 0x100020
kernel_end 0x103000
load phdr 1: 0x100000..0x101000 R-X vaddr 0x100000 filesz 0x40 memsz 0x40
load phdr 2: 0x101000..0x102000 R-- vaddr 0x101000 filesz 0xc4 memsz 0xc4
load phdr 3: 0x102000..0x103000 RW- vaddr 0x102000 filesz 0x10 memsz 0x10
abi1 note 0 in phdr 8: target 1 version 2
mft1 note 0 in phdr 9: 0x70 bytes
",
    ));

    let mut img = base();
    img.e_phnum(PHNUM + 2)
        .set_ph(
            11,
            Ph {
                p_type: PT_GNU_RELRO,
                p_flags: R,
                p_offset: u64::MAX,
                p_vaddr: u64::MAX,
                p_filesz: u64::MAX,
                p_memsz: 1,
                p_align: 3,
            },
        )
        .set_ph(
            12,
            Ph {
                p_type: 0x7000_0001,
                p_flags: 0xffff_ffff,
                p_offset: 0x1234_5678_9abc,
                p_vaddr: 0x42,
                p_filesz: 0x42,
                p_memsz: 0x42,
                p_align: 0,
            },
        );
    v.push(case(
        "ignored-phdrs-with-garbage",
        "PT_GNU_RELRO and a processor-specific header whose fields are nonsense (only PT_LOAD and PT_NOTE are read)",
        &img,
        BASE_SUMMARY,
    ));

    let mut img = base();
    img.edit_ph(PH_BSS, |p| {
        p.p_vaddr = 0x110000;
        p.p_memsz = 0xe0000;
    });
    v.push(case(
        "bss-up-to-memory-end",
        "a .bss after a gap that ends exactly at the end of guest memory",
        &img,
        &BASE_SUMMARY
            .replace("kernel_end 0x104000", "kernel_end 0x1f0000")
            .replace(
                "load phdr 6: 0x103000..0x104000 RW- vaddr 0x103000 filesz 0x0 memsz 0x100",
                "load phdr 6: 0x110000..0x1f0000 RW- vaddr 0x110000 filesz 0x0 memsz 0xe0000",
            ),
    ));
    v
}

pub fn malformed_cases() -> Vec<Case> {
    let mut v: Vec<Case> = Vec::new();
    let mut add = |name: &'static str, what: &'static str, img: &Image, msg: &str| {
        v.push(case(name, what, img, &format!("{name}.elf: {msg}")));
    };

    // --- ELF header ---
    add(
        "truncated-header",
        "file cut inside the ELF header",
        base().truncate(0x30),
        "ELF header: file size 0x30 is too small, expected at least 0x40 bytes for an ELF64 header",
    );
    add(
        "bad-magic",
        "last magic byte is 0",
        base().u8(3, 0),
        "ELF header: magic 7f 45 4c 00 is not an ELF magic number, expected 7f 45 4c 46 (\"\\x7fELF\")",
    );
    add(
        "elfclass32",
        "EI_CLASS says 32-bit",
        base().u8(4, 1),
        "ELF header: e_ident[EI_CLASS] 1 is not supported, expected 2 (ELFCLASS64)",
    );
    add(
        "big-endian",
        "EI_DATA says big-endian",
        base().u8(5, 2),
        "ELF header: e_ident[EI_DATA] 2 is not supported, expected 1 (ELFDATA2LSB, little-endian)",
    );
    add(
        "ident-version-0",
        "EI_VERSION is 0",
        base().u8(6, 0),
        "ELF header: e_ident[EI_VERSION] 0 is not supported, expected 1 (EV_CURRENT)",
    );
    add(
        "e-version-2",
        "e_version is 2",
        base().e_version(2),
        "ELF header: e_version 2 is not supported, expected 1 (EV_CURRENT)",
    );
    add(
        "et-dyn",
        "a PIE (ET_DYN) instead of ET_EXEC",
        base().e_type(3),
        "ELF header: e_type 3 (ET_DYN, a shared object or PIE) is not supported, expected 2 (ET_EXEC): link the unikernel as a static, non-PIE executable",
    );
    add(
        "machine-aarch64",
        "built for aarch64, loaded on x86_64",
        base().e_machine(183),
        "ELF header: e_machine 183 (EM_AARCH64, aarch64) is not this tender's architecture, expected 62 (EM_X86_64, x86_64)",
    );
    add(
        "machine-riscv",
        "built for RISC-V",
        base().e_machine(243),
        "ELF header: e_machine 243 (EM_RISCV) is not this tender's architecture, expected 62 (EM_X86_64, x86_64)",
    );
    add(
        "ehsize-52",
        "e_ehsize of an ELF32 header",
        base().e_ehsize(52),
        "ELF header: e_ehsize 52 is wrong, expected 64 (the size of Elf64_Ehdr)",
    );
    add(
        "phentsize-32",
        "e_phentsize of an ELF32 program header",
        base().e_phentsize(32),
        "ELF header: e_phentsize 32 is wrong, expected 56 (the size of Elf64_Phdr)",
    );
    add(
        "phnum-0",
        "no program headers",
        base().e_phnum(0),
        "ELF header: e_phnum 0 means no program headers, expected at least 1",
    );
    add(
        "phnum-xnum",
        "e_phnum is PN_XNUM",
        base().e_phnum(0xffff),
        "ELF header: e_phnum 0xffff (PN_XNUM: count kept in a section header) is not supported, expected at most 0xfffe program headers",
    );
    add(
        "phdrs-past-eof",
        "program header table runs past the end of the file",
        base().e_phoff(0x300),
        "ELF header: e_phoff 0x300 + e_phnum 11 * 56 ends at 0x568, past the end of the file (0x518 bytes)",
    );
    add(
        "phnum-1000",
        "e_phnum far larger than the file",
        base().e_phnum(1000),
        "ELF header: e_phoff 0x40 + e_phnum 1000 * 56 ends at 0xdb00, past the end of the file (0x518 bytes)",
    );
    add(
        "phoff-overflow",
        "e_phoff so large the table end overflows",
        base().e_phoff(0xffff_ffff_ffff_ff00),
        "ELF header: e_phoff 0xffffffffffffff00 + e_phnum 11 * 56 overflows 64 bits, expected the program header table inside the file (0x518 bytes)",
    );
    add(
        "entry-in-rodata",
        "e_entry points into the read-only data segment",
        base().e_entry(0x101000),
        "ELF header: e_entry 0x101000 is not inside an executable PT_LOAD segment, expected 0x100000..0x100040 (program header 1)",
    );
    add(
        "entry-past-text",
        "e_entry is the first byte after the text segment",
        base().e_entry(0x100040),
        "ELF header: e_entry 0x100040 is not inside an executable PT_LOAD segment, expected 0x100000..0x100040 (program header 1)",
    );
    add(
        "no-exec-segment",
        "the text segment lacks PF_X",
        base().edit_ph(PH_TEXT, |p| p.p_flags = R),
        "ELF header: e_entry 0x100020 is not inside an executable PT_LOAD segment, expected one, but no PT_LOAD segment has PF_X",
    );

    // --- PT_LOAD ---
    add(
        "text-past-eof",
        "text p_filesz reaches past the end of the file",
        base().edit_ph(PH_TEXT, |p| {
            p.p_filesz = 0x1000;
            p.p_memsz = 0x1000;
        }),
        "program header 1 (PT_LOAD): p_offset 0x400 + p_filesz 0x1000 ends past the end of the file (0x518 bytes)",
    );
    add(
        "truncated-data",
        "file cut inside the data segment's bytes",
        base().truncate(0x510),
        "program header 3 (PT_LOAD): p_offset 0x508 + p_filesz 0x10 ends past the end of the file (0x510 bytes)",
    );
    add(
        "load-offset-overflow",
        "p_offset + p_filesz overflows",
        base().edit_ph(PH_DATA, |p| p.p_offset = 0xffff_ffff_ffff_fff8),
        "program header 3 (PT_LOAD): p_offset 0xfffffffffffffff8 + p_filesz 0x10 overflows 64 bits, expected a range inside the file (0x518 bytes)",
    );
    add(
        "memsz-below-filesz",
        "p_memsz smaller than p_filesz",
        base().edit_ph(PH_DATA, |p| p.p_memsz = 8),
        "program header 3 (PT_LOAD): p_memsz 0x8 is smaller than p_filesz 0x10, expected p_memsz >= p_filesz",
    );
    add(
        "align-zero",
        "p_align 0",
        base().edit_ph(PH_TEXT, |p| p.p_align = 0),
        "program header 1 (PT_LOAD): p_align 0x0 is not a power of two, expected 0x1, 0x2, 0x4, ... (normally 0x1000)",
    );
    add(
        "align-not-power-of-two",
        "p_align 0x3000",
        base().edit_ph(PH_RODATA, |p| p.p_align = 0x3000),
        "program header 2 (PT_LOAD): p_align 0x3000 is not a power of two, expected 0x1, 0x2, 0x4, ... (normally 0x1000)",
    );
    add(
        "vaddr-overflow",
        "p_vaddr + p_memsz overflows",
        base().edit_ph(PH_BSS, |p| {
            p.p_vaddr = 0xffff_ffff_ffff_f000;
            p.p_memsz = 0x2000;
        }),
        "program header 6 (PT_LOAD): p_vaddr 0xfffffffffffff000 + p_memsz 0x2000 overflows 64 bits, expected a segment inside guest memory",
    );
    add(
        "align-up-overflow",
        "rounding the segment end up to p_align overflows",
        base().edit_ph(PH_BSS, |p| p.p_vaddr = 0xffff_ffff_ffff_f000),
        "program header 6 (PT_LOAD): p_vaddr + p_memsz 0xfffffffffffff100 rounded up to p_align 0x1000 overflows 64 bits, expected a segment inside guest memory",
    );
    add(
        "start-not-page-aligned",
        "data segment starts mid-page with a small p_align",
        base().edit_ph(PH_DATA, |p| {
            p.p_vaddr = 0x102010;
            p.p_align = 0x10;
        }),
        "program header 3 (PT_LOAD): p_vaddr 0x102010 rounded down to p_align 0x10 is 0x102010, not a multiple of the page size, expected a multiple of 0x1000",
    );
    add(
        "end-not-page-aligned",
        "data segment ends mid-page with a small p_align",
        base().edit_ph(PH_DATA, |p| p.p_align = 0x10),
        "program header 3 (PT_LOAD): p_vaddr + p_memsz 0x102010 rounded up to p_align 0x10 is 0x102010, not a multiple of the page size, expected a multiple of 0x1000",
    );
    add(
        "not-ascending",
        "rodata linked above data",
        base().edit_ph(PH_RODATA, |p| p.p_vaddr = 0x104000),
        "program header 3 (PT_LOAD): p_vaddr 0x102000 is below p_vaddr 0x104000 of program header 2, expected PT_LOAD segments in ascending p_vaddr order",
    );
    add(
        "text-overlaps-rodata",
        "text p_memsz reaches into the rodata page",
        base().edit_ph(PH_TEXT, |p| p.p_memsz = 0x1040),
        "program header 2 (PT_LOAD): pages 0x101000..0x102000 overlap pages 0x100000..0x102000 of program header 1, expected segments that do not share a page",
    );
    add(
        "bss-overlaps-data",
        "the pure-.bss segment starts inside the data page (upstream would not even look at it)",
        base().edit_ph(PH_BSS, |p| p.p_vaddr = 0x102010),
        "program header 6 (PT_LOAD): pages 0x102000..0x103000 overlap pages 0x102000..0x103000 of program header 3, expected segments that do not share a page",
    );
    add(
        "text-rwx",
        "text asks for read, write and execute",
        base().edit_ph(PH_TEXT, |p| p.p_flags = R | W | X),
        "program header 1 (PT_LOAD): p_flags 0x7 (RWX) asks for write and execute permission together, expected at most one of PF_W and PF_X",
    );
    add(
        "bss-wx",
        "the pure-.bss segment asks for write and execute",
        base().edit_ph(PH_BSS, |p| p.p_flags = W | X),
        "program header 6 (PT_LOAD): p_flags 0x3 (-WX) asks for write and execute permission together, expected at most one of PF_W and PF_X",
    );
    add(
        "below-min-base",
        "text (and entry) linked below 1 MiB",
        base().e_entry(0xff020).edit_ph(PH_TEXT, |p| p.p_vaddr = 0xff000),
        "program header 1 (PT_LOAD): p_vaddr 0xff000 (page-aligned start 0xff000) lies below the lowest load address, expected at least 0x100000",
    );
    add(
        "past-memory-end",
        "a .bss larger than the 2 MiB of guest memory",
        base().edit_ph(PH_BSS, |p| p.p_memsz = 0x200000),
        "program header 6 (PT_LOAD): pages 0x103000..0x303000 end past guest memory, expected an end at most 0x200000 (give the unikernel more memory)",
    );
    add(
        "no-load-segments",
        "every PT_LOAD turned into PT_NULL",
        base()
            .edit_ph(PH_TEXT, |p| p.p_type = PT_NULL)
            .edit_ph(PH_RODATA, |p| p.p_type = PT_NULL)
            .edit_ph(PH_DATA, |p| p.p_type = PT_NULL)
            .edit_ph(PH_EMPTY, |p| p.p_type = PT_NULL)
            .edit_ph(PH_BSS, |p| p.p_type = PT_NULL),
        "no PT_LOAD segment with p_memsz > 0, expected at least one to load",
    );

    // --- PT_NOTE and notes ---
    add(
        "note-past-eof",
        "the ABI1 PT_NOTE runs past the end of the file",
        base().edit_ph(PH_NOTE_ABI, |p| p.p_offset = 0x510),
        "program header 8 (PT_NOTE): p_offset 0x510 + p_filesz 0x24 ends past the end of the file (0x518 bytes)",
    );
    add(
        "note-header-truncated",
        "a PT_NOTE too short for a note header",
        base().edit_ph(PH_NOTE_BSD, |p| p.p_filesz = 8),
        "note 0 in program header 7 (PT_NOTE): 8 bytes are left in the segment, too few for a note header, expected at least 12 (or only zero padding)",
    );
    add(
        "note-runs-past-segment",
        "the OpenBSD note's descriptor runs past its PT_NOTE",
        base().edit_ph(PH_NOTE_BSD, |p| p.p_filesz = 0x16),
        "note 0 in program header 7 (PT_NOTE): n_namesz 0x8 and n_descsz 0x4 run past the end of the segment (0xa bytes left after the 12-byte header)",
    );
    add(
        "buggy-mft-descsz",
        "MFT1 n_descsz 1, smaller than its own padding (like upstream's buggyelf.hvt)",
        base().u32(MFT_OFF as usize + 4, 1),
        "note 0 in program header 9 (PT_NOTE): Solo5 MFT1 manifest note does not fall within valid size: n_descsz 0x1, expected 0x5..=0x1a0c",
    );
    add(
        "mft-descsz-too-big",
        "MFT1 n_descsz one more than 64 entries need",
        base().u32(MFT_OFF as usize + 4, 0x1a0d),
        "note 0 in program header 9 (PT_NOTE): Solo5 MFT1 manifest note does not fall within valid size: n_descsz 0x1a0d, expected 0x5..=0x1a0c",
    );
    add(
        "mft-past-segment",
        "the MFT1 PT_NOTE is shorter than the note",
        base().edit_ph(PH_NOTE_MFT, |p| p.p_filesz = 0x40),
        "note 0 in program header 9 (PT_NOTE): Solo5 MFT1 manifest note does not fall within valid size: its 20-byte header at segment offset 0x0 + n_descsz 0x74 run past the end of the segment (p_filesz 0x40)",
    );
    add(
        "abi-descsz-short",
        "ABI1 n_descsz 8, too short for abi1_info",
        base().u32(ABI_OFF as usize + 4, 8),
        "note 0 in program header 8 (PT_NOTE): Solo5 ABI1 note does not fall within valid size: n_descsz 0x8, expected 0x10..=0x20",
    );
    add(
        "abi-descsz-too-big",
        "ABI1 n_descsz 0x40",
        base().u32(ABI_OFF as usize + 4, 0x40),
        "note 0 in program header 8 (PT_NOTE): Solo5 ABI1 note does not fall within valid size: n_descsz 0x40, expected 0x10..=0x20",
    );
    add(
        "duplicate-abi",
        "the MFT1 PT_NOTE also covers the ABI1 note, which has its own PT_NOTE",
        base().edit_ph(PH_NOTE_MFT, |p| p.p_filesz = MFT_LEN + ABI_LEN),
        "note 1 in program header 9 (PT_NOTE): second Solo5 ABI1 note, expected exactly one (the first is note 0 in program header 8)",
    );
    add(
        "duplicate-mft",
        "a second PT_NOTE pointing at the MFT1 note",
        base().e_phnum(PHNUM + 1).set_ph(
            11,
            Ph {
                p_type: PT_NOTE,
                p_flags: R,
                p_offset: MFT_OFF,
                p_filesz: MFT_LEN,
                p_align: 4,
                ..Ph::default()
            },
        ),
        "note 0 in program header 11 (PT_NOTE): second Solo5 MFT1 manifest note, expected exactly one (the first is note 0 in program header 9)",
    );
    add(
        "missing-abi",
        "no PT_NOTE covers the ABI1 note",
        base().edit_ph(PH_NOTE_ABI, |p| p.p_type = PT_NULL),
        "no Solo5 ABI1 note found in any PT_NOTE, expected exactly one (is this a Solo5 unikernel?)",
    );
    add(
        "abi-wrong-owner",
        "the ABI1 note's name is \"solo5\" (lower case), so it is not Solo5's",
        base().u8(ABI_OFF as usize + 12, b's'),
        "no Solo5 ABI1 note found in any PT_NOTE, expected exactly one (is this a Solo5 unikernel?)",
    );
    add(
        "missing-manifest",
        "no PT_NOTE covers the MFT1 note",
        base().edit_ph(PH_NOTE_MFT, |p| p.p_type = PT_NULL),
        "no Solo5 MFT1 manifest note found in any PT_NOTE, expected exactly one (link a manifest generated by elftool gen-manifest into the unikernel)",
    );
    add(
        "abi-target-spt",
        "built for spt, loaded by hvt",
        base().u32(ABI_OFF as usize + 20, AbiTarget::Spt as u32),
        "note 0 in program header 8 (PT_NOTE): Solo5 ABI1 note: abi_target 2 (spt) is not this tender's, expected 1 (hvt): the unikernel is built for another Solo5 target",
    );
    add(
        "abi-target-unknown",
        "abi_target 9, which no Solo5 target has",
        base().u32(ABI_OFF as usize + 20, 9),
        "note 0 in program header 8 (PT_NOTE): Solo5 ABI1 note: abi_target 9 (unknown target) is not this tender's, expected 1 (hvt): the unikernel is built for another Solo5 target",
    );
    // --- headers that disagree with the PT_LOAD covering their addresses ---
    add(
        "moved-rodata-load",
        "the rodata PT_LOAD's p_offset and p_vaddr both moved by one byte (still congruent), so the manifest note's first byte is no longer loaded",
        base().edit_ph(PH_RODATA, |p| {
            p.p_offset += 1;
            p.p_vaddr += 1;
            p.p_filesz -= 1;
            p.p_memsz -= 1;
        }),
        "program header 9 (PT_NOTE): p_offset 0x440, p_vaddr 0x101000, p_filesz 0x88 overlap program header 2 (PT_LOAD: p_offset 0x441, p_vaddr 0x101001, p_filesz 0xc3), which loads other file bytes there, expected these bytes to be the ones loaded at these addresses (was a PT_LOAD moved?)",
    );
    add(
        "moved-text-offset",
        "the text PT_LOAD reads its bytes from 0x10 further into the file, so PT_INTERP no longer names what is loaded at its address",
        base().edit_ph(PH_TEXT, |p| p.p_offset += 0x10),
        "program header 0 (PT_INTERP): p_offset 0x400, p_vaddr 0x100000, p_filesz 0x18 overlap program header 1 (PT_LOAD: p_offset 0x410, p_vaddr 0x100000, p_filesz 0x40), which loads other file bytes there, expected these bytes to be the ones loaded at these addresses (was a PT_LOAD moved?)",
    );
    add(
        "note-in-bss",
        "the ABI1 note's address lies in the pure-.bss PT_LOAD, where the guest finds zeros",
        base().edit_ph(PH_NOTE_ABI, |p| p.p_vaddr = 0x103000),
        "program header 8 (PT_NOTE): p_offset 0x4c8, p_vaddr 0x103000, p_filesz 0x24 overlap program header 6 (PT_LOAD: p_offset 0x0, p_vaddr 0x103000, p_filesz 0x0), which loads other file bytes there, expected these bytes to be the ones loaded at these addresses (was a PT_LOAD moved?)",
    );
    add(
        "abi-version-1",
        "ABI version 1",
        base().u32(ABI_OFF as usize + 24, 1),
        "note 0 in program header 8 (PT_NOTE): Solo5 ABI1 note: abi_version 1 is not supported, expected 2",
    );
    v
}

/// Contents of `NAME.expected`: a comment line saying what the case is,
/// then the expected message or summary.
pub fn expected_file_text(c: &Case) -> String {
    let body = c.expected.trim_end();
    format!("# {}\n{body}\n", c.what)
}

/// The expectation inside a `NAME.expected` file (comment lines dropped).
pub fn parse_expected_file(text: &str) -> String {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n")
}
