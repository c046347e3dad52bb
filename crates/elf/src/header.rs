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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap
mod tests {
    use super::*;

    fn good() -> Ehdr {
        let mut b = [0u8; EHDR_SIZE];
        b[..7].copy_from_slice(b"\x7fELF\x02\x01\x01");
        let mut h = Ehdr::from_bytes(&b);
        h.e_type = raw::ET_EXEC;
        h.e_machine = raw::EM_X86_64;
        h.e_version = 1;
        h.e_phoff = 64;
        h.e_ehsize = 64;
        h.e_phentsize = 56;
        h.e_phnum = 2;
        h
    }

    #[test]
    fn accepts_a_good_header_whatever_osabi_says() {
        let mut h = good();
        check_ehdr(&h, Arch::X86_64).unwrap();
        h.e_ident[7] = 0xff; // EI_OSABI
        h.e_ident[8] = 0xff; // EI_ABIVERSION
        h.e_flags = 0xdead;
        h.e_shoff = u64::MAX;
        h.e_shnum = 0xffff;
        check_ehdr(&h, Arch::X86_64).unwrap();
        h.e_machine = raw::EM_AARCH64;
        check_ehdr(&h, Arch::Aarch64).unwrap();
    }

    #[test]
    fn each_header_rule() {
        type Edit = fn(&mut Ehdr);
        type Want = fn(&Problem) -> bool;
        let cases: [(Edit, Want); 11] = [
            (
                |h| h.e_ident[0] = 0x7e,
                |p| {
                    matches!(
                        p,
                        Problem::Magic {
                            found: [0x7e, b'E', b'L', b'F']
                        }
                    )
                },
            ),
            (
                |h| h.e_ident[4] = 1,
                |p| matches!(p, Problem::Class { found: 1 }),
            ),
            (
                |h| h.e_ident[5] = 2,
                |p| matches!(p, Problem::Data { found: 2 }),
            ),
            (
                |h| h.e_ident[6] = 2,
                |p| matches!(p, Problem::IdentVersion { found: 2 }),
            ),
            (
                |h| h.e_version = 0,
                |p| matches!(p, Problem::Version { found: 0 }),
            ),
            (
                |h| h.e_ehsize = 65,
                |p| matches!(p, Problem::EhdrSize { found: 65 }),
            ),
            (|h| h.e_phnum = 0, |p| matches!(p, Problem::NoPhdrs)),
            (
                |h| h.e_phnum = raw::PN_XNUM,
                |p| matches!(p, Problem::PhnumXnum),
            ),
            (
                |h| h.e_phentsize = 64,
                |p| matches!(p, Problem::PhdrSize { found: 64 }),
            ),
            (
                |h| h.e_type = 1,
                |p| matches!(p, Problem::Type { found: 1 }),
            ),
            (
                |h| h.e_machine = 3,
                |p| {
                    matches!(
                        p,
                        Problem::Machine {
                            found: 3,
                            expected: Arch::X86_64
                        }
                    )
                },
            ),
        ];
        for (i, (edit, want)) in cases.iter().enumerate() {
            let mut h = good();
            edit(&mut h);
            let p = check_ehdr(&h, Arch::X86_64).unwrap_err();
            assert!(want(&p), "case {i}: {p}");
        }
    }

    #[test]
    fn program_header_table_must_be_inside_the_file() {
        let file = vec![0u8; 64 + 2 * 56];
        let h = good();
        assert_eq!(read_phdr_table(&file, file.size(), &h).unwrap().len(), 112);
        assert_eq!(phdrs(&[0u8; 112]).count(), 2);
        let short = &file[..file.len() - 1];
        assert!(matches!(
            read_phdr_table(short, short.size(), &h),
            Err(Problem::PhdrTableOutside {
                end: 176,
                size: 175,
                ..
            })
        ));
        let mut h2 = h;
        h2.e_phoff = u64::MAX - 100;
        assert!(matches!(
            read_phdr_table(&file, file.size(), &h2),
            Err(Problem::PhdrTableOverflow { .. })
        ));
    }

    #[test]
    fn too_short_for_a_header() {
        let file = [0u8; 63];
        assert!(matches!(
            read_ehdr(&file[..], 63),
            Err(Problem::TooShort { size: 63 })
        ));
        assert!(read_ehdr(&[0u8; 64][..], 64).is_ok());
    }
}
