//! ELF64 on-disk structures and the constants the loader uses (System V
//! gABI), decoded from little-endian bytes without `unsafe`.

/// Size of `Elf64_Ehdr`.
pub const EHDR_SIZE: usize = 64;
/// Size of `Elf64_Phdr`.
pub const PHDR_SIZE: usize = 56;
/// Size of `Elf64_Nhdr` (namesz, descsz, type).
pub const NHDR_SIZE: usize = 12;

pub const ELFMAG: [u8; 4] = *b"\x7fELF";
pub const ELFCLASS64: u8 = 2;
pub const ELFDATA2LSB: u8 = 1;
pub const EV_CURRENT: u32 = 1;
pub const ET_EXEC: u16 = 2;
pub const EM_X86_64: u16 = 62;
pub const EM_AARCH64: u16 = 183;
/// `e_phnum` value meaning "the real count is in section header 0".
pub const PN_XNUM: u16 = 0xffff;

pub const PT_LOAD: u32 = 1;
pub const PT_NOTE: u32 = 4;

pub const PF_X: u32 = 1;
pub const PF_W: u32 = 2;
pub const PF_R: u32 = 4;

/// Reads fixed-size little-endian fields in order from a byte array.
/// Every caller hands it an array exactly as long as the fields it reads,
/// so the zero fallback is never taken.
struct Fields<'a>(&'a [u8]);

impl Fields<'_> {
    fn take<const N: usize>(&mut self) -> [u8; N] {
        match self.0.split_first_chunk::<N>() {
            Some((head, rest)) => {
                self.0 = rest;
                *head
            }
            None => [0; N],
        }
    }
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes(self.take())
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.take())
    }
    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.take())
    }
}

/// `Elf64_Ehdr`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ehdr {
    pub e_ident: [u8; 16],
    pub e_type: u16,
    pub e_machine: u16,
    pub e_version: u32,
    pub e_entry: u64,
    pub e_phoff: u64,
    pub e_shoff: u64,
    pub e_flags: u32,
    pub e_ehsize: u16,
    pub e_phentsize: u16,
    pub e_phnum: u16,
    pub e_shentsize: u16,
    pub e_shnum: u16,
    pub e_shstrndx: u16,
}

pub const EI_CLASS: usize = 4;
pub const EI_DATA: usize = 5;
pub const EI_VERSION: usize = 6;

impl Ehdr {
    pub fn from_bytes(b: &[u8; EHDR_SIZE]) -> Ehdr {
        let mut f = Fields(b);
        Ehdr {
            e_ident: f.take(),
            e_type: f.u16(),
            e_machine: f.u16(),
            e_version: f.u32(),
            e_entry: f.u64(),
            e_phoff: f.u64(),
            e_shoff: f.u64(),
            e_flags: f.u32(),
            e_ehsize: f.u16(),
            e_phentsize: f.u16(),
            e_phnum: f.u16(),
            e_shentsize: f.u16(),
            e_shnum: f.u16(),
            e_shstrndx: f.u16(),
        }
    }

    pub fn magic(&self) -> [u8; 4] {
        let [a, b, c, d, ..] = self.e_ident;
        [a, b, c, d]
    }

    pub fn ident(&self, index: usize) -> u8 {
        self.e_ident.get(index).copied().unwrap_or(0)
    }
}

/// `Elf64_Phdr`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Phdr {
    pub p_type: u32,
    pub p_flags: u32,
    pub p_offset: u64,
    pub p_vaddr: u64,
    pub p_paddr: u64,
    pub p_filesz: u64,
    pub p_memsz: u64,
    pub p_align: u64,
}

impl Phdr {
    pub fn from_bytes(b: &[u8; PHDR_SIZE]) -> Phdr {
        let mut f = Fields(b);
        Phdr {
            p_type: f.u32(),
            p_flags: f.u32(),
            p_offset: f.u64(),
            p_vaddr: f.u64(),
            p_paddr: f.u64(),
            p_filesz: f.u64(),
            p_memsz: f.u64(),
            p_align: f.u64(),
        }
    }
}

/// `Elf64_Nhdr`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Nhdr {
    pub n_namesz: u32,
    pub n_descsz: u32,
    pub n_type: u32,
}

impl Nhdr {
    pub fn from_bytes(b: &[u8; NHDR_SIZE]) -> Nhdr {
        let mut f = Fields(b);
        Nhdr {
            n_namesz: f.u32(),
            n_descsz: f.u32(),
            n_type: f.u32(),
        }
    }
}

/// The gABI name of a program header type, for messages.
pub fn pt_name(p_type: u32) -> &'static str {
    match p_type {
        0 => "PT_NULL",
        1 => "PT_LOAD",
        2 => "PT_DYNAMIC",
        3 => "PT_INTERP",
        4 => "PT_NOTE",
        5 => "PT_SHLIB",
        6 => "PT_PHDR",
        7 => "PT_TLS",
        0x6474_e550 => "PT_GNU_EH_FRAME",
        0x6474_e551 => "PT_GNU_STACK",
        0x6474_e552 => "PT_GNU_RELRO",
        0x6474_e553 => "PT_GNU_PROPERTY",
        0x65a3_dbe6 => "PT_OPENBSD_RANDOMIZE",
        0x65a3_dbe7 => "PT_OPENBSD_WXNEEDED",
        0x65a4_1be6 => "PT_OPENBSD_BOOTDATA",
        _ => "unknown type",
    }
}

/// The name of an `e_type`, for messages.
pub fn et_name(e_type: u16) -> &'static str {
    match e_type {
        0 => "ET_NONE",
        1 => "ET_REL, an object file",
        2 => "ET_EXEC",
        3 => "ET_DYN, a shared object or PIE",
        4 => "ET_CORE, a core dump",
        _ => "unknown",
    }
}

/// The name of an `e_machine`, for messages.
pub fn em_name(e_machine: u16) -> &'static str {
    match e_machine {
        3 => "EM_386, i386",
        8 => "EM_MIPS",
        20 => "EM_PPC",
        21 => "EM_PPC64",
        22 => "EM_S390",
        40 => "EM_ARM, 32-bit arm",
        62 => "EM_X86_64, x86_64",
        183 => "EM_AARCH64, aarch64",
        243 => "EM_RISCV",
        258 => "EM_LOONGARCH",
        _ => "unknown",
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap
mod tests {
    use super::*;

    #[test]
    fn decodes_little_endian_fields_in_order() {
        let mut b = [0u8; PHDR_SIZE];
        b[0] = 1; // p_type
        b[4] = 5; // p_flags
        b[8..16].copy_from_slice(&0x1122_3344_5566_7788u64.to_le_bytes());
        b[48..56].copy_from_slice(&0x1000u64.to_le_bytes());
        let p = Phdr::from_bytes(&b);
        assert_eq!(p.p_type, PT_LOAD);
        assert_eq!(p.p_flags, PF_R | PF_X);
        assert_eq!(p.p_offset, 0x1122_3344_5566_7788);
        assert_eq!(p.p_align, 0x1000);

        let mut e = [0u8; EHDR_SIZE];
        e[..4].copy_from_slice(&ELFMAG);
        e[56..58].copy_from_slice(&0x1234u16.to_le_bytes()); // e_phnum
        e[62..64].copy_from_slice(&0xbeefu16.to_le_bytes()); // e_shstrndx
        let h = Ehdr::from_bytes(&e);
        assert_eq!(h.magic(), ELFMAG);
        assert_eq!(h.e_phnum, 0x1234);
        assert_eq!(h.e_shstrndx, 0xbeef);
    }

    #[test]
    fn names() {
        assert_eq!(pt_name(PT_LOAD), "PT_LOAD");
        assert_eq!(pt_name(0x6474_e551), "PT_GNU_STACK");
        assert_eq!(pt_name(99), "unknown type");
        assert_eq!(em_name(EM_AARCH64), "EM_AARCH64, aarch64");
        assert_eq!(et_name(3), "ET_DYN, a shared object or PIE");
    }
}
