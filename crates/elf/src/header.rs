//! The ELF header and the program header table.

use crate::arch::Arch;
use crate::error::Problem;
use crate::raw::{self, Ehdr, Phdr, EHDR_SIZE, PHDR_SIZE};
use crate::read::{bounded_usize, ReadAt};

/// Reads the 64-byte ELF header, refusing a file too short to hold one.
pub(crate) fn read_ehdr<R: ReadAt + ?Sized>(file: &R, size: u64) -> Result<Ehdr, Problem> {
    if size < EHDR_SIZE as u64 {
        return Err(Problem::TooShort { size });
    }
    let mut buf = [0u8; EHDR_SIZE];
    file.read_exact_at(&mut buf, 0)
        .map_err(|source| Problem::Read {
            offset: 0,
            len: EHDR_SIZE as u64,
            source,
        })?;
    Ok(Ehdr::from_bytes(&buf))
}

/// The ELF header rules, in upstream's order. `e_ident[EI_OSABI]` and
/// `EI_ABIVERSION` are deliberately not checked: toolchains cannot set them.
pub(crate) fn check_ehdr(h: &Ehdr, arch: Arch) -> Result<(), Problem> {
    use raw::*;
    if h.magic() != ELFMAG {
        return Err(Problem::Magic { found: h.magic() });
    }
    if h.ident(EI_CLASS) != ELFCLASS64 {
        return Err(Problem::Class {
            found: h.ident(EI_CLASS),
        });
    }
    if h.ident(EI_DATA) != ELFDATA2LSB {
        return Err(Problem::Data {
            found: h.ident(EI_DATA),
        });
    }
    if u32::from(h.ident(EI_VERSION)) != EV_CURRENT {
        return Err(Problem::IdentVersion {
            found: h.ident(EI_VERSION),
        });
    }
    if h.e_version != EV_CURRENT {
        return Err(Problem::Version { found: h.e_version });
    }
    if h.e_ehsize as usize != EHDR_SIZE {
        return Err(Problem::EhdrSize { found: h.e_ehsize });
    }
    if h.e_phnum == 0 {
        return Err(Problem::NoPhdrs);
    }
    if h.e_phnum == PN_XNUM {
        return Err(Problem::PhnumXnum);
    }
    if h.e_phentsize as usize != PHDR_SIZE {
        return Err(Problem::PhdrSize {
            found: h.e_phentsize,
        });
    }
    if h.e_type != ET_EXEC {
        return Err(Problem::Type { found: h.e_type });
    }
    if h.e_machine != arch.machine() {
        return Err(Problem::Machine {
            found: h.e_machine,
            expected: arch,
        });
    }
    Ok(())
}

/// Reads the whole program header table: at most 0xfffe * 56 bytes, and
/// never more than the file holds.
pub(crate) fn read_phdr_table<R: ReadAt + ?Sized>(
    file: &R,
    size: u64,
    h: &Ehdr,
) -> Result<Vec<u8>, Problem> {
    let len = u64::from(h.e_phnum) * PHDR_SIZE as u64;
    let end = h
        .e_phoff
        .checked_add(len)
        .ok_or(Problem::PhdrTableOverflow {
            phoff: h.e_phoff,
            phnum: h.e_phnum,
            size,
        })?;
    if end > size {
        return Err(Problem::PhdrTableOutside {
            phoff: h.e_phoff,
            phnum: h.e_phnum,
            end,
            size,
        });
    }
    let mut table = vec![0u8; bounded_usize(len)];
    file.read_exact_at(&mut table, h.e_phoff)
        .map_err(|source| Problem::Read {
            offset: h.e_phoff,
            len,
            source,
        })?;
    Ok(table)
}

/// Decodes the program header table, 56 bytes per entry.
pub(crate) fn phdrs(table: &[u8]) -> impl Iterator<Item = Phdr> + '_ {
    table
        .chunks_exact(PHDR_SIZE)
        .filter_map(|c| c.try_into().ok())
        .map(Phdr::from_bytes)
}
