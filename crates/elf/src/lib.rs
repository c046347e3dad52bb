//! corten-elf: the strict ELF64 reader and loader of Solo5 unikernels.
//!
//! [`Elf::parse`] reads the ELF header, the program header table and every
//! PT_NOTE segment, and checks all of them before anything is mapped;
//! [`Elf::check_layout`] checks the segments against the guest memory size;
//! [`Elf::load`] copies the PT_LOAD bytes into guest memory and zeroes the
//! BSS. Nothing reads the whole file, allocates more than the file's program
//! header table or [`note::NOTE_BUDGET`] bytes of notes, or panics, whatever
//! the input. Every rejection is one [`ElfError`] naming the file, the
//! structure, the field, the value found and the value expected.
//!
//! The rules, and where they differ from upstream Solo5's `elf_load()` and
//! `elf_load_note()`, are listed in this crate's README.md.

mod arch;
mod error;
pub mod note;
mod raw;
mod read;
mod segment;

pub use arch::Arch;
pub use corten_abi::note::{Abi1Info, AbiTarget};
pub use error::{ElfError, Place, Problem, Solo5Note};
pub use note::NoteLocation;
pub use read::ReadAt;
pub use segment::{Prot, Segment};

use raw::{Ehdr, Phdr, EHDR_SIZE, PHDR_SIZE, PT_LOAD, PT_NOTE};

/// Page size segments are aligned to, on both x86_64 and aarch64 (as
/// upstream's `EM_PAGE_SIZE`).
pub const PAGE_SIZE: u64 = 0x1000;

/// A validated unikernel image: entry point, loadable segments and the
/// Solo5 notes.
#[derive(Debug)]
pub struct Elf {
    name: String,
    entry: u64,
    segments: Vec<Segment>,
    notes: note::Solo5Notes,
}

impl Elf {
    /// Reads and checks the ELF header, every program header and every
    /// PT_NOTE; collects the Solo5 ABI1 and MFT1 notes. Bounded reads only.
    ///
    /// `name` is used in error messages only. Beyond the per-field rules
    /// (see README.md) this checks everything that does not depend on the
    /// guest memory size: PT_LOAD segments are in ascending order, never
    /// share a page, are never writable and executable at once, and the
    /// entry point lies inside an executable one.
    pub fn parse<R: ReadAt + ?Sized>(name: &str, file: &R, arch: Arch) -> Result<Elf, ElfError> {
        let err = |place, problem| ElfError::new(name, place, problem);
        let size = file.size();
        let ehdr = read_ehdr(file, size).map_err(|p| err(Place::ElfHeader, p))?;
        check_ehdr(&ehdr, arch).map_err(|p| err(Place::ElfHeader, p))?;
        let table = read_phdr_table(file, size, &ehdr).map_err(|p| err(Place::ElfHeader, p))?;

        let mut segments: Vec<Segment> = Vec::new();
        let mut notes = note::Solo5Notes::default();
        let mut note_budget = note::NOTE_BUDGET;
        for (index, ph) in phdrs(&table).enumerate() {
            let place = Place::ProgramHeader {
                index,
                p_type: ph.p_type,
            };
            match ph.p_type {
                PT_LOAD => {
                    let Some(seg) =
                        Segment::from_phdr(index, &ph, size).map_err(|p| err(place, p))?
                    else {
                        continue;
                    };
                    check_order(&seg, &segments).map_err(|p| err(place, p))?;
                    segments.push(seg);
                }
                PT_NOTE => {
                    let data = read_note_segment(file, size, &ph, &mut note_budget)
                        .map_err(|p| err(place, p))?;
                    note::scan(index, &data, &mut notes).map_err(|(note, p)| {
                        err(
                            Place::Note {
                                index: note,
                                phdr: index,
                            },
                            p,
                        )
                    })?;
                }
                // PT_INTERP, PT_TLS, PT_GNU_STACK, ...: not used by a tender.
                _ => {}
            }
        }
        if segments.is_empty() {
            return Err(err(Place::File, Problem::NothingToLoad));
        }
        if !segments
            .iter()
            .any(|s| s.prot.exec && s.contains(ehdr.e_entry))
        {
            let executable = segments
                .iter()
                .filter(|s| s.prot.exec)
                .map(|s| (s.phdr_index, s.vaddr, s.vaddr + s.memsz))
                .collect();
            return Err(err(
                Place::ElfHeader,
                Problem::EntryNotExecutable {
                    entry: ehdr.e_entry,
                    executable,
                },
            ));
        }
        Ok(Elf {
            name: name.to_owned(),
            entry: ehdr.e_entry,
            segments,
            notes,
        })
    }

    /// The file name given to [`Elf::parse`].
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The entry point (`e_entry`), inside an executable segment.
    pub fn entry(&self) -> u64 {
        self.entry
    }

    /// Every PT_LOAD that occupies memory, in program header order (which is
    /// ascending address order). PT_LOADs with `p_memsz` 0 are left out;
    /// pure-BSS segments (`p_filesz` 0, `p_memsz` > 0) are included.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// Highest page-aligned segment end: the first guest address the
    /// unikernel's image (BSS included) does not use.
    pub fn kernel_end(&self) -> u64 {
        self.segments.iter().map(|s| s.end).max().unwrap_or(0)
    }

    /// The ABI1 note; error if missing.
    pub fn abi(&self) -> Result<Abi1Info, ElfError> {
        self.notes
            .abi
            .as_ref()
            .map(|(_, info)| *info)
            .ok_or_else(|| self.missing(Solo5Note::Abi1))
    }

    /// Where the ABI1 note is, if there is one.
    pub fn abi_location(&self) -> Option<NoteLocation> {
        self.notes.abi.as_ref().map(|(loc, _)| *loc)
    }

    /// abi() and then: target == expected, version == expected.
    pub fn check_abi(&self, target: AbiTarget, version: u32) -> Result<(), ElfError> {
        let info = self.abi()?;
        let place = self.abi_location().map_or(Place::File, |l| Place::Note {
            index: l.index,
            phdr: l.phdr,
        });
        if info.abi_target != target as u32 {
            return Err(ElfError::new(
                &self.name,
                place,
                Problem::AbiTarget {
                    found: info.abi_target,
                    expected: target as u32,
                },
            ));
        }
        if info.abi_version != version {
            return Err(ElfError::new(
                &self.name,
                place,
                Problem::AbiVersion {
                    found: info.abi_version,
                    expected: version,
                },
            ));
        }
        Ok(())
    }

    /// The MFT1 descriptor bytes after the internal alignment padding,
    /// i.e. what upstream's elf_load_note returns; error if missing.
    pub fn manifest_desc(&self) -> Result<&[u8], ElfError> {
        self.notes
            .mft
            .as_ref()
            .map(|(_, desc)| desc.as_slice())
            .ok_or_else(|| self.missing(Solo5Note::Mft1))
    }

    /// Where the MFT1 note is, if there is one.
    pub fn manifest_location(&self) -> Option<NoteLocation> {
        self.notes.mft.as_ref().map(|(loc, _)| *loc)
    }

    fn missing(&self, kind: Solo5Note) -> ElfError {
        ElfError::new(&self.name, Place::File, Problem::MissingNote { kind })
    }

    /// Every segment lies in [min_base, mem_size) and the entry point too.
    pub fn check_layout(&self, mem_size: u64, min_base: u64) -> Result<(), ElfError> {
        for s in &self.segments {
            let place = Place::ProgramHeader {
                index: s.phdr_index,
                p_type: PT_LOAD,
            };
            if s.start < min_base {
                return Err(ElfError::new(
                    &self.name,
                    place,
                    Problem::BelowMinBase {
                        vaddr: s.vaddr,
                        start: s.start,
                        min_base,
                    },
                ));
            }
            if s.end > mem_size {
                return Err(ElfError::new(
                    &self.name,
                    place,
                    Problem::PastMemoryEnd {
                        start: s.start,
                        end: s.end,
                        mem_size,
                    },
                ));
            }
        }
        // Implied by the checks above (the entry lies inside a segment), kept
        // so the rule holds even if the segment rules change.
        if self.entry < min_base || self.entry >= mem_size {
            return Err(ElfError::new(
                &self.name,
                Place::ElfHeader,
                Problem::EntryOutsideMemory {
                    entry: self.entry,
                    min_base,
                    mem_size,
                },
            ));
        }
        Ok(())
    }

    /// Copies each segment's file bytes to mem[vaddr..] and zeroes its BSS.
    /// `mem` is guest memory indexed by guest-physical address. Call
    /// check_layout first; load re-checks bounds and never panics.
    ///
    /// Every byte of each segment's page range `[start, end)` that does not
    /// come from the file is zeroed, so stale memory never shows through.
    pub fn load<R: ReadAt + ?Sized>(&self, file: &R, mem: &mut [u8]) -> Result<(), ElfError> {
        self.load_segments(file, mem, true)
    }

    /// Like [`Elf::load`], for memory known to be all zero (a fresh
    /// anonymous mapping): only file bytes are written, so the pages of a
    /// large BSS are not touched and stay unallocated until the guest uses
    /// them.
    pub fn load_into_zeroed<R: ReadAt + ?Sized>(
        &self,
        file: &R,
        mem: &mut [u8],
    ) -> Result<(), ElfError> {
        self.load_segments(file, mem, false)
    }

    fn load_segments<R: ReadAt + ?Sized>(
        &self,
        file: &R,
        mem: &mut [u8],
        zero: bool,
    ) -> Result<(), ElfError> {
        let mem_len = mem.len() as u64;
        for s in &self.segments {
            let err = |problem| {
                let place = Place::ProgramHeader {
                    index: s.phdr_index,
                    p_type: PT_LOAD,
                };
                ElfError::new(&self.name, place, problem)
            };
            let Some((head, bytes, tail)) = split_pages(s, mem) else {
                return Err(err(Problem::LoadOutsideMemory {
                    start: s.start,
                    end: s.end,
                    mem_len,
                }));
            };
            file.read_exact_at(bytes, s.offset).map_err(|source| {
                err(Problem::Read {
                    offset: s.offset,
                    len: s.filesz,
                    source,
                })
            })?;
            if zero {
                head.fill(0);
                tail.fill(0);
            }
        }
        Ok(())
    }
}

/// Splits the segment's page range in `mem` into the bytes before p_vaddr,
/// the p_filesz bytes from the file, and the rest up to the page end; `None`
/// if the range is not inside `mem`.
fn split_pages<'m>(
    s: &Segment,
    mem: &'m mut [u8],
) -> Option<(&'m mut [u8], &'m mut [u8], &'m mut [u8])> {
    let start = usize::try_from(s.start).ok()?;
    let end = usize::try_from(s.end).ok()?;
    let file_at = usize::try_from(s.vaddr.checked_sub(s.start)?).ok()?;
    let file_len = usize::try_from(s.filesz).ok()?;
    let pages = mem.get_mut(start..end)?;
    let (head, rest) = pages.split_at_mut_checked(file_at)?;
    let (bytes, tail) = rest.split_at_mut_checked(file_len)?;
    Some((head, bytes, tail))
}

fn read_ehdr<R: ReadAt + ?Sized>(file: &R, size: u64) -> Result<Ehdr, Problem> {
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
fn check_ehdr(h: &Ehdr, arch: Arch) -> Result<(), Problem> {
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
fn read_phdr_table<R: ReadAt + ?Sized>(file: &R, size: u64, h: &Ehdr) -> Result<Vec<u8>, Problem> {
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
    let mut table = vec![0u8; u64_to_usize(len)];
    file.read_exact_at(&mut table, h.e_phoff)
        .map_err(|source| Problem::Read {
            offset: h.e_phoff,
            len,
            source,
        })?;
    Ok(table)
}

fn phdrs(table: &[u8]) -> impl Iterator<Item = Phdr> + '_ {
    table
        .chunks_exact(PHDR_SIZE)
        .filter_map(|c| c.try_into().ok())
        .map(Phdr::from_bytes)
}

/// Reads the bytes of one PT_NOTE, charging them to the note budget.
fn read_note_segment<R: ReadAt + ?Sized>(
    file: &R,
    size: u64,
    ph: &Phdr,
    budget: &mut u64,
) -> Result<Vec<u8>, Problem> {
    segment::check_file_range(ph, size)?;
    if ph.p_filesz > *budget {
        return Err(Problem::NoteBudget {
            filesz: ph.p_filesz,
            left: *budget,
        });
    }
    *budget -= ph.p_filesz;
    let mut data = vec![0u8; u64_to_usize(ph.p_filesz)];
    file.read_exact_at(&mut data, ph.p_offset)
        .map_err(|source| Problem::Read {
            offset: ph.p_offset,
            len: ph.p_filesz,
            source,
        })?;
    Ok(data)
}

/// For lengths already bounded far below 4 GiB (phdr table, note budget).
fn u64_to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(0)
}

/// A new segment must start at or above the previous segment's p_vaddr and
/// share no page with any earlier one. Accepted segments are sorted and
/// disjoint, so the previous one also has the highest end.
fn check_order(seg: &Segment, earlier: &[Segment]) -> Result<(), Problem> {
    let Some(prev) = earlier.last() else {
        return Ok(());
    };
    if seg.vaddr < prev.vaddr {
        return Err(Problem::NotAscending {
            vaddr: seg.vaddr,
            prev: prev.phdr_index,
            prev_vaddr: prev.vaddr,
        });
    }
    if seg.start < prev.end {
        return Err(Problem::Overlap {
            start: seg.start,
            end: seg.end,
            other: prev.phdr_index,
            other_start: prev.start,
            other_end: prev.end,
        });
    }
    Ok(())
}
