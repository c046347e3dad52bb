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

// Lets the unit tests share the corpus builder in tests/support, which
// names this crate from outside.
#[cfg(test)]
extern crate self as corten_elf;

mod arch;
mod error;
mod header;
mod limits;
mod load;
pub mod note;
mod open;
mod raw;
mod read;
mod segment;

pub use arch::Arch;
pub use corten_abi::note::{Abi1Info, AbiTarget};
pub use error::{ElfError, Place, Problem, Solo5Note};
pub use note::NoteLocation;
pub use open::open_image;
pub use read::ReadAt;
pub use segment::{Prot, Segment};

use raw::{PT_LOAD, PT_NOTE};

pub use limits::PAGE_SIZE;

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
        let ehdr = header::read_ehdr(file, size).map_err(|p| err(Place::ElfHeader, p))?;
        header::check_ehdr(&ehdr, arch).map_err(|p| err(Place::ElfHeader, p))?;
        let table =
            header::read_phdr_table(file, size, &ehdr).map_err(|p| err(Place::ElfHeader, p))?;

        let mut segments: Vec<Segment> = Vec::new();
        let mut notes = note::Solo5Notes::default();
        let mut note_budget = note::NOTE_BUDGET;
        // Headers other than PT_LOAD that name file bytes: checked against
        // the segments once all are known.
        let mut placed = Vec::new();
        for (index, ph) in header::phdrs(&table).enumerate() {
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
                    segment::check_order(&seg, &segments).map_err(|p| err(place, p))?;
                    segments.push(seg);
                }
                PT_NOTE => {
                    let data = note::read_segment(file, size, &ph, &mut note_budget)
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
            if ph.p_type != PT_LOAD && ph.p_filesz > 0 {
                placed.push((index, ph));
            }
        }
        if segments.is_empty() {
            return Err(err(Place::File, Problem::NothingToLoad));
        }
        for (index, ph) in &placed {
            segment::check_placement(ph, &segments).map_err(|p| {
                err(
                    Place::ProgramHeader {
                        index: *index,
                        p_type: ph.p_type,
                    },
                    p,
                )
            })?;
        }
        if !segments
            .iter()
            .any(|s| s.prot.exec && s.contains(ehdr.e_entry))
        {
            // Name a few candidates, not all 65534 a hostile file may have.
            const LISTED: usize = 4;
            let mut exec = segments.iter().filter(|s| s.prot.exec);
            let executable = exec
                .by_ref()
                .take(LISTED)
                .map(|s| (s.phdr_index, s.vaddr, s.vaddr + s.memsz))
                .collect();
            return Err(err(
                Place::ElfHeader,
                Problem::EntryNotExecutable {
                    entry: ehdr.e_entry,
                    executable,
                    more: exec.count(),
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
}

#[cfg(test)]
#[path = "../tests/support/corpus.rs"]
mod corpus;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap
mod tests {
    use super::*;
    use crate::corpus::{base, base_for, Image, Ph, PHNUM, PH_BSS, PH_DATA, PH_TEXT};
    use std::cell::Cell;
    use std::io;

    const MEM: u64 = 0x20_0000;
    const MIN_BASE: u64 = 0x10_0000;

    fn parse(img: &Image) -> Result<Elf, ElfError> {
        Elf::parse("k.hvt", img.0.as_slice(), Arch::X86_64)
    }

    /// Counts what the loader reads.
    struct Counting<'a> {
        data: &'a [u8],
        reads: Cell<usize>,
        bytes: Cell<u64>,
    }

    impl<'a> Counting<'a> {
        fn new(data: &'a [u8]) -> Self {
            Counting {
                data,
                reads: Cell::new(0),
                bytes: Cell::new(0),
            }
        }
    }

    impl ReadAt for Counting<'_> {
        fn size(&self) -> u64 {
            self.data.size()
        }
        fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
            self.reads.set(self.reads.get() + 1);
            self.bytes.set(self.bytes.get() + buf.len() as u64);
            self.data.read_exact_at(buf, offset)
        }
    }

    /// Claims a size but fails every read.
    struct Broken;

    impl ReadAt for Broken {
        fn size(&self) -> u64 {
            0x1000
        }
        fn read_exact_at(&self, _: &mut [u8], _: u64) -> io::Result<()> {
            Err(io::Error::other("disk on fire"))
        }
    }

    #[test]
    fn base_parses_with_everything_a_tender_needs() {
        let elf = parse(&base()).unwrap();
        assert_eq!(elf.name(), "k.hvt");
        assert_eq!(elf.entry(), 0x100020);
        assert_eq!(elf.segments().len(), 4);
        assert_eq!(elf.kernel_end(), 0x104000);
        elf.check_abi(AbiTarget::Hvt, 2).unwrap();
        assert_eq!(elf.abi().unwrap().abi_target, AbiTarget::Hvt as u32);
        let desc = elf.manifest_desc().unwrap();
        assert_eq!(desc.len(), 8 + 104);
        assert_eq!(&desc[..8], &[1, 0, 0, 0, 1, 0, 0, 0]); // version 1, 1 entry
        elf.check_layout(MEM, MIN_BASE).unwrap();
    }

    #[test]
    fn aarch64_image_needs_the_aarch64_loader() {
        let img = base_for(Arch::Aarch64, AbiTarget::Spt);
        let elf = Elf::parse("a.spt", img.0.as_slice(), Arch::Aarch64).unwrap();
        elf.check_abi(AbiTarget::Spt, 2).unwrap();
        let e = elf.check_abi(AbiTarget::Hvt, 2).unwrap_err();
        assert!(matches!(
            e.problem(),
            Problem::AbiTarget {
                found: 2,
                expected: 1
            }
        ));
        assert_eq!(e.place(), Place::Note { index: 0, phdr: 8 });
        let e = Elf::parse("a.spt", img.0.as_slice(), Arch::X86_64).unwrap_err();
        assert!(matches!(
            e.problem(),
            Problem::Machine {
                found: 183,
                expected: Arch::X86_64
            }
        ));
    }

    #[test]
    fn parse_reads_only_headers_and_notes() {
        let img = base();
        let file = Counting::new(&img.0);
        let elf = Elf::parse("k", &file, Arch::X86_64).unwrap();
        // ELF header, program header table, three PT_NOTEs.
        assert_eq!(file.reads.get(), 5);
        assert_eq!(
            file.bytes.get(),
            64 + u64::from(PHNUM) * 56 + 0x18 + 0x24 + 0x88
        );
        let (reads, bytes) = (file.reads.get(), file.bytes.get());
        let mut mem = vec![0u8; MEM as usize];
        elf.load(&file, &mut mem).unwrap();
        // One read per segment with file bytes, exactly those bytes.
        assert_eq!(file.reads.get() - reads, 3);
        assert_eq!(file.bytes.get() - bytes, 0x40 + 0xc4 + 0x10);
    }

    #[test]
    fn load_copies_file_bytes_and_zeroes_the_rest_of_each_page_range() {
        let img = base();
        let elf = parse(&img).unwrap();
        let mut mem = vec![0xa5u8; MEM as usize];
        elf.load(img.0.as_slice(), &mut mem).unwrap();
        for s in elf.segments() {
            let (v, o, f) = (s.vaddr as usize, s.offset as usize, s.filesz as usize);
            assert_eq!(&mem[v..v + f], &img.0[o..o + f]);
            assert!(mem[s.start as usize..v].iter().all(|&b| b == 0));
            assert!(mem[v + f..s.end as usize].iter().all(|&b| b == 0));
        }
        // Outside the segments nothing was touched.
        assert!(mem[..0x100000].iter().all(|&b| b == 0xa5));
        assert!(mem[0x104000..].iter().all(|&b| b == 0xa5));
        assert_eq!(&mem[0x100020..0x100023], &[0xf4, 0xeb, 0xfd]);
    }

    #[test]
    fn load_into_zeroed_writes_file_bytes_only() {
        let img = base();
        let elf = parse(&img).unwrap();
        let mut mem = vec![0xa5u8; MEM as usize];
        elf.load_into_zeroed(img.0.as_slice(), &mut mem).unwrap();
        assert_eq!(&mem[0x102000..0x102010], b"corten-elf data\0");
        assert!(mem[0x102010..0x104000].iter().all(|&b| b == 0xa5));
    }

    #[test]
    fn load_into_too_little_memory_is_an_error_not_a_panic() {
        let img = base();
        let elf = parse(&img).unwrap();
        for len in [0, 0x100000, 0x102fff, 0x103fff] {
            let mut mem = vec![0u8; len];
            let e = elf.load(img.0.as_slice(), &mut mem).unwrap_err();
            assert!(
                matches!(e.problem(), Problem::LoadOutsideMemory { mem_len, .. } if *mem_len == len as u64),
                "{e}"
            );
        }
        let mut mem = vec![0u8; 0x104000];
        elf.load(img.0.as_slice(), &mut mem).unwrap();
    }

    #[test]
    fn load_reports_a_file_that_shrank_after_parse() {
        let img = base();
        let elf = parse(&img).unwrap();
        let mut mem = vec![0u8; MEM as usize];
        let e = elf.load(&img.0[..0x510], &mut mem).unwrap_err();
        assert_eq!(
            e.to_string(),
            "k.hvt: program header 3 (PT_LOAD): reading 0x10 bytes at file offset 0x508 \
             failed: unexpected end of file"
        );
    }

    #[test]
    fn read_failures_are_reported_with_the_structure() {
        let e = Elf::parse("k", &Broken, Arch::X86_64).unwrap_err();
        assert_eq!(
            e.to_string(),
            "k: ELF header: reading 0x40 bytes at file offset 0x0 failed: disk on fire"
        );
        assert!(std::error::Error::source(&e).is_some());
    }

    #[test]
    fn check_layout_bounds() {
        let elf = parse(&base()).unwrap();
        elf.check_layout(0x104000, MIN_BASE).unwrap();
        let e = elf.check_layout(0x103fff, MIN_BASE).unwrap_err();
        assert!(matches!(
            e.problem(),
            Problem::PastMemoryEnd {
                end: 0x104000,
                mem_size: 0x103fff,
                ..
            }
        ));
        assert_eq!(
            e.place(),
            Place::ProgramHeader {
                index: PH_BSS,
                p_type: 1
            }
        );
        let e = elf.check_layout(MEM, 0x100001).unwrap_err();
        assert!(matches!(e.problem(), Problem::BelowMinBase { .. }));
        assert_eq!(
            e.place(),
            Place::ProgramHeader {
                index: PH_TEXT,
                p_type: 1
            }
        );
    }

    #[test]
    fn check_layout_checks_the_entry_too() {
        let mut elf = parse(&base()).unwrap();
        elf.entry = 0x50;
        let e = elf.check_layout(MEM, MIN_BASE).unwrap_err();
        assert_eq!(
            e.to_string(),
            "k.hvt: ELF header: e_entry 0x50 lies outside guest memory, expected \
             0x100000 <= e_entry < 0x200000"
        );
    }

    #[test]
    fn segments_that_upstream_skips_are_checked_here() {
        // A pure-.bss segment below the minimum base is refused (upstream
        // skips p_filesz = 0 segments and would leave it unchecked).
        let mut img = base();
        img.edit_ph(PH_BSS, |p| p.p_vaddr = 0x80000);
        let e = parse(&img).unwrap_err();
        assert!(matches!(e.problem(), Problem::NotAscending { .. }), "{e}");
    }

    #[test]
    fn entry_may_be_in_any_executable_segment() {
        let mut img = base();
        // Make the data segment R-X (still not W+X) and jump there.
        img.edit_ph(PH_DATA, |p| p.p_flags = 5).e_entry(0x102008);
        assert_eq!(parse(&img).unwrap().entry(), 0x102008);
    }

    #[test]
    fn entry_error_lists_a_few_executable_segments_only() {
        let n = 10usize;
        let mut img = base();
        let table = 0x1000usize;
        img.put(table + n * 56, &[]);
        img.e_phoff(table as u64)
            .e_phnum(n as u16)
            .e_entry(0x50_0000);
        for i in 0..n {
            let at = table + i * 56;
            img.u32(at, 1)
                .u32(at + 4, 5)
                .u64(at + 16, 0x100000 + (i as u64) * 0x1000)
                .u64(at + 40, 0x1000)
                .u64(at + 48, 0x1000);
        }
        assert_eq!(
            parse(&img).unwrap_err().to_string(),
            "k.hvt: ELF header: e_entry 0x500000 is not inside an executable PT_LOAD segment, \
             expected 0x100000..0x101000 (program header 0) or 0x101000..0x102000 (program \
             header 1) or 0x102000..0x103000 (program header 2) or 0x103000..0x104000 \
             (program header 3) or one of 6 more executable segments"
        );
    }

    #[test]
    fn many_pt_notes_cannot_exceed_the_note_budget() {
        // 1000 PT_NOTEs of 0x100 zero bytes each (empty notes) point at the
        // same place: more reading than the budget allows.
        let mut img = base();
        let table = 0x1000usize;
        let zeros = table + 1000 * 56;
        img.put(zeros + 0x100, &[0]);
        img.e_phoff(table as u64).e_phnum(1000);
        for i in 0..1000 {
            let at = table + i * 56;
            img.u32(at, 4).u64(at + 8, zeros as u64).u64(at + 32, 0x100);
        }
        let e = parse(&img).unwrap_err();
        assert_eq!(
            e.to_string(),
            "k.hvt: program header 256 (PT_NOTE): p_filesz 0x100 exceeds the note budget \
             (0x0 of 0x10000 bytes left), expected all PT_NOTE segments together to hold \
             at most 0x10000 bytes"
        );
    }

    #[test]
    fn one_huge_pt_note_is_refused_before_reading() {
        let mut img = base();
        img.put(0x20000, &[0]);
        img.e_phnum(PHNUM + 1).set_ph(
            11,
            Ph {
                p_type: 4,
                p_offset: 0x1000,
                p_filesz: 0x10001,
                ..Ph::default()
            },
        );
        let file = Counting::new(&img.0);
        let e = Elf::parse("k", &file, Arch::X86_64).unwrap_err();
        assert!(matches!(
            e.problem(),
            Problem::NoteBudget {
                filesz: 0x10001,
                ..
            }
        ));
        assert!(file.bytes.get() < 0x1000);
    }

    #[test]
    fn many_segments_are_checked_in_linear_time() {
        // 0xfffe one-page PT_LOADs: the largest table e_phnum allows.
        let n = 0xfffeusize;
        let mut img = base();
        let table = 0x1000usize;
        img.put(table + n * 56, &[]);
        img.e_phoff(table as u64).e_phnum(n as u16);
        for i in 0..n {
            let at = table + i * 56;
            let vaddr = 0x100000 + (i as u64) * 0x1000;
            img.u32(at, 1)
                .u32(at + 4, if i == 0 { 5 } else { 4 })
                .u64(at + 16, vaddr)
                .u64(at + 40, 0x1000)
                .u64(at + 48, 0x1000);
        }
        let t = std::time::Instant::now();
        let elf = parse(&img).unwrap();
        assert_eq!(elf.segments().len(), n);
        assert_eq!(elf.kernel_end(), 0x100000 + n as u64 * 0x1000);
        // Quadratic checking would take minutes here.
        assert!(t.elapsed() < std::time::Duration::from_secs(5));
    }
}
