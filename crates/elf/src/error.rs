//! The loader's one error type.
//!
//! Every rejection names the file, the structure at fault ([`Place`]) and
//! what is wrong with it ([`Problem`]: the field, the value found and the
//! value or range expected). [`ElfError`]'s `Display` is the whole message:
//!
//! ```text
//! hello.hvt: program header 3 (PT_LOAD): p_offset 0x1f000 + p_filesz 0x2000 ends past the end of the file (0x1e400 bytes)
//! ```

use crate::arch::Arch;
use crate::raw;
use std::fmt;
use std::io;

/// Which structure of the file an error is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// The unikernel as a whole (e.g. a note that is missing everywhere).
    File,
    /// The ELF header (`Elf64_Ehdr`).
    ElfHeader,
    /// Program header `index` (counted from 0) of type `p_type`.
    ProgramHeader { index: usize, p_type: u32 },
    /// Note `index` (counted from 0) inside PT_NOTE program header `phdr`.
    Note { index: usize, phdr: usize },
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Place::File => Ok(()),
            Place::ElfHeader => f.write_str("ELF header"),
            Place::ProgramHeader { index, p_type } => match raw::pt_name(p_type) {
                "unknown type" => write!(f, "program header {index} (type {p_type:#x})"),
                name => write!(f, "program header {index} ({name})"),
            },
            Place::Note { index, phdr } => {
                write!(f, "note {index} in program header {phdr} (PT_NOTE)")
            }
        }
    }
}

/// The two Solo5-owned notes the loader collects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Solo5Note {
    Abi1,
    Mft1,
}

impl fmt::Display for Solo5Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Solo5Note::Abi1 => "Solo5 ABI1 note",
            Solo5Note::Mft1 => "Solo5 MFT1 manifest note",
        })
    }
}

/// Prints four bytes as `7f 45 4c 46`.
struct Hex4([u8; 4]);

impl fmt::Display for Hex4 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d] = self.0;
        write!(f, "{a:02x} {b:02x} {c:02x} {d:02x}")
    }
}

/// Prints p_flags as `RWX` letters.
struct Flags(u32);

impl fmt::Display for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = if self.0 & raw::PF_R != 0 { "R" } else { "-" };
        let w = if self.0 & raw::PF_W != 0 { "W" } else { "-" };
        let x = if self.0 & raw::PF_X != 0 { "X" } else { "-" };
        write!(f, "{r}{w}{x}")
    }
}

fn target_name(raw: u32) -> &'static str {
    corten_abi::note::AbiTarget::from_raw(raw).map_or("unknown target", |t| t.name())
}

/// What is wrong, with the values found and expected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Problem {
    #[error("reading {len:#x} bytes at file offset {offset:#x} failed: {source}")]
    Read {
        offset: u64,
        len: u64,
        #[source]
        source: io::Error,
    },

    // --- ELF header ---
    #[error("file size {size:#x} is too small, expected at least 0x40 bytes for an ELF64 header")]
    TooShort { size: u64 },
    #[error("magic {} is not an ELF magic number, expected 7f 45 4c 46 (\"\\x7fELF\")", Hex4(*.found))]
    Magic { found: [u8; 4] },
    #[error("e_ident[EI_CLASS] {found} is not supported, expected 2 (ELFCLASS64)")]
    Class { found: u8 },
    #[error("e_ident[EI_DATA] {found} is not supported, expected 1 (ELFDATA2LSB, little-endian)")]
    Data { found: u8 },
    #[error("e_ident[EI_VERSION] {found} is not supported, expected 1 (EV_CURRENT)")]
    IdentVersion { found: u8 },
    #[error("e_version {found} is not supported, expected 1 (EV_CURRENT)")]
    Version { found: u32 },
    #[error("e_type {found} ({}) is not supported, expected 2 (ET_EXEC): link the unikernel as a static, non-PIE executable", raw::et_name(*.found))]
    Type { found: u16 },
    #[error("e_machine {found} ({}) is not this tender's architecture, expected {} ({})", raw::em_name(*.found), .expected.machine(), raw::em_name(.expected.machine()))]
    Machine { found: u16, expected: Arch },
    #[error("e_ehsize {found} is wrong, expected 64 (the size of Elf64_Ehdr)")]
    EhdrSize { found: u16 },
    #[error("e_phentsize {found} is wrong, expected 56 (the size of Elf64_Phdr)")]
    PhdrSize { found: u16 },
    #[error("e_phnum 0 means no program headers, expected at least 1")]
    NoPhdrs,
    #[error("e_phnum 0xffff (PN_XNUM: count kept in a section header) is not supported, expected at most 0xfffe program headers")]
    PhnumXnum,
    #[error("e_phoff {phoff:#x} + e_phnum {phnum} * 56 overflows 64 bits, expected the program header table inside the file ({size:#x} bytes)")]
    PhdrTableOverflow { phoff: u64, phnum: u16, size: u64 },
    #[error("e_phoff {phoff:#x} + e_phnum {phnum} * 56 ends at {end:#x}, past the end of the file ({size:#x} bytes)")]
    PhdrTableOutside {
        phoff: u64,
        phnum: u16,
        end: u64,
        size: u64,
    },
    #[error("e_entry {entry:#x} is not inside an executable PT_LOAD segment, expected {}{}", ExecRanges(.executable), More(*.more))]
    EntryNotExecutable {
        entry: u64,
        /// `(program header, p_vaddr, p_vaddr + p_memsz)` of the first few
        /// executable segments.
        executable: Vec<(usize, u64, u64)>,
        /// How many more executable segments there are.
        more: usize,
    },
    #[error("e_entry {entry:#x} lies outside guest memory, expected {min_base:#x} <= e_entry < {mem_size:#x}")]
    EntryOutsideMemory {
        entry: u64,
        min_base: u64,
        mem_size: u64,
    },

    // --- program headers ---
    #[error("p_offset {offset:#x} + p_filesz {filesz:#x} overflows 64 bits, expected a range inside the file ({size:#x} bytes)")]
    FileRangeOverflow { offset: u64, filesz: u64, size: u64 },
    #[error("p_offset {offset:#x} + p_filesz {filesz:#x} ends past the end of the file ({size:#x} bytes)")]
    FileRangeOutside { offset: u64, filesz: u64, size: u64 },
    #[error(
        "p_memsz {memsz:#x} is smaller than p_filesz {filesz:#x}, expected p_memsz >= p_filesz"
    )]
    MemszBelowFilesz { memsz: u64, filesz: u64 },
    #[error(
        "p_align {align:#x} is not a power of two, expected 0x1, 0x2, 0x4, ... (normally 0x1000)"
    )]
    Align { align: u64 },
    #[error("p_vaddr {vaddr:#x} + p_memsz {memsz:#x} overflows 64 bits, expected a segment inside guest memory")]
    MemRangeOverflow { vaddr: u64, memsz: u64 },
    #[error("p_vaddr + p_memsz {end:#x} rounded up to p_align {align:#x} overflows 64 bits, expected a segment inside guest memory")]
    AlignUpOverflow { end: u64, align: u64 },
    #[error("p_vaddr {vaddr:#x} rounded down to p_align {align:#x} is {start:#x}, not a multiple of the page size, expected a multiple of {:#x}", crate::limits::PAGE_SIZE)]
    StartNotPageAligned { vaddr: u64, align: u64, start: u64 },
    #[error("p_vaddr + p_memsz {mem_end:#x} rounded up to p_align {align:#x} is {end:#x}, not a multiple of the page size, expected a multiple of {:#x}", crate::limits::PAGE_SIZE)]
    EndNotPageAligned { mem_end: u64, align: u64, end: u64 },
    #[error("p_vaddr {vaddr:#x} is below p_vaddr {prev_vaddr:#x} of program header {prev}, expected PT_LOAD segments in ascending p_vaddr order")]
    NotAscending {
        vaddr: u64,
        prev: usize,
        prev_vaddr: u64,
    },
    #[error("pages {start:#x}..{end:#x} overlap pages {other_start:#x}..{other_end:#x} of program header {other}, expected segments that do not share a page")]
    Overlap {
        start: u64,
        end: u64,
        other: usize,
        other_start: u64,
        other_end: u64,
    },
    #[error("p_offset {offset:#x}, p_vaddr {vaddr:#x}, p_filesz {filesz:#x} overlap program header {segment} (PT_LOAD: p_offset {seg_offset:#x}, p_vaddr {seg_vaddr:#x}, p_filesz {seg_filesz:#x}), which loads other file bytes there, expected these bytes to be the ones loaded at these addresses (was a PT_LOAD moved?)")]
    NotLoadedThere {
        offset: u64,
        vaddr: u64,
        filesz: u64,
        segment: usize,
        seg_offset: u64,
        seg_vaddr: u64,
        seg_filesz: u64,
    },
    #[error("p_flags {flags:#x} ({}) asks for write and execute permission together, expected at most one of PF_W and PF_X", Flags(*.flags))]
    WriteExec { flags: u32 },
    #[error("p_vaddr {vaddr:#x} (page-aligned start {start:#x}) lies below the lowest load address, expected at least {min_base:#x}")]
    BelowMinBase {
        vaddr: u64,
        start: u64,
        min_base: u64,
    },
    #[error("pages {start:#x}..{end:#x} end past guest memory, expected an end at most {mem_size:#x} (give the unikernel more memory)")]
    PastMemoryEnd { start: u64, end: u64, mem_size: u64 },
    #[error("pages {start:#x}..{end:#x} do not fit in the {mem_len:#x} bytes of guest memory given to load(), expected check_layout() to have been called with that size")]
    LoadOutsideMemory { start: u64, end: u64, mem_len: u64 },
    #[error("p_filesz {filesz:#x} exceeds the note budget ({left:#x} of {:#x} bytes left), expected all PT_NOTE segments together to hold at most {:#x} bytes", crate::limits::NOTE_BUDGET, crate::limits::NOTE_BUDGET)]
    NoteBudget { filesz: u64, left: u64 },
    #[error("no PT_LOAD segment with p_memsz > 0, expected at least one to load")]
    NothingToLoad,

    // --- notes ---
    #[error("{left} bytes are left in the segment, too few for a note header, expected at least 12 (or only zero padding)")]
    NoteHeaderTruncated { left: u64 },
    #[error("n_namesz {namesz:#x} and n_descsz {descsz:#x} run past the end of the segment ({left:#x} bytes left after the 12-byte header)")]
    NoteOutsideSegment { namesz: u32, descsz: u32, left: u64 },
    #[error("{kind} does not fall within valid size: n_descsz {descsz:#x}, expected {min:#x}..={max:#x}")]
    Solo5DescSize {
        kind: Solo5Note,
        descsz: u32,
        min: u32,
        max: u32,
    },
    #[error("{kind} does not fall within valid size: its 20-byte header at segment offset {at:#x} + n_descsz {descsz:#x} run past the end of the segment (p_filesz {filesz:#x})")]
    Solo5DescOutside {
        kind: Solo5Note,
        at: u64,
        descsz: u32,
        filesz: u64,
    },
    #[error("second {kind}, expected exactly one (the first is note {first_note} in program header {first_phdr})")]
    DuplicateNote {
        kind: Solo5Note,
        first_note: usize,
        first_phdr: usize,
    },
    #[error("no {kind} found in any PT_NOTE, expected exactly one{}", match .kind {
        Solo5Note::Abi1 => " (is this a Solo5 unikernel?)",
        Solo5Note::Mft1 => " (link a manifest generated by elftool gen-manifest into the unikernel)",
    })]
    MissingNote { kind: Solo5Note },
    #[error("Solo5 ABI1 note: abi_target {found} ({}) is not this tender's, expected {} ({}): the unikernel is built for another Solo5 target", target_name(*.found), .expected, target_name(*.expected))]
    AbiTarget { found: u32, expected: u32 },
    #[error("Solo5 ABI1 note: abi_version {found} is not supported, expected {expected}")]
    AbiVersion { found: u32, expected: u32 },
}

/// Prints " or one of N more executable segments" when N > 0.
struct More(usize);

impl fmt::Display for More {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            0 => Ok(()),
            n => write!(f, " or one of {n} more executable segments"),
        }
    }
}

/// Prints the executable segments an entry point may lie in.
struct ExecRanges<'a>(&'a [(usize, u64, u64)]);

impl fmt::Display for ExecRanges<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("one, but no PT_LOAD segment has PF_X");
        }
        for (i, (phdr, start, end)) in self.0.iter().enumerate() {
            let sep = if i == 0 { "" } else { " or " };
            write!(f, "{sep}{start:#x}..{end:#x} (program header {phdr})")?;
        }
        Ok(())
    }
}

/// An unikernel image the loader refused, or could not read.
///
/// `Display` gives the whole message: `FILE: STRUCTURE: PROBLEM`, or
/// `FILE: PROBLEM` when no single structure is at fault.
#[derive(Debug)]
pub struct ElfError {
    file: String,
    place: Place,
    problem: Problem,
}

impl ElfError {
    pub(crate) fn new(file: &str, place: Place, problem: Problem) -> ElfError {
        ElfError {
            file: file.to_owned(),
            place,
            problem,
        }
    }

    /// The file name given to [`crate::Elf::parse`].
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The structure at fault.
    pub fn place(&self) -> Place {
        self.place
    }

    /// What is wrong with it.
    pub fn problem(&self) -> &Problem {
        &self.problem
    }
}

impl fmt::Display for ElfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.place {
            Place::File => write!(f, "{}: {}", self.file, self.problem),
            place => write!(f, "{}: {}: {}", self.file, place, self.problem),
        }
    }
}

impl std::error::Error for ElfError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.problem)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap
mod tests {
    use super::*;

    #[test]
    fn message_has_file_place_field_value_and_expectation() {
        let e = ElfError::new(
            "hello.hvt",
            Place::ProgramHeader {
                index: 3,
                p_type: raw::PT_LOAD,
            },
            Problem::FileRangeOutside {
                offset: 0x1f000,
                filesz: 0x2000,
                size: 0x1e400,
            },
        );
        assert_eq!(
            e.to_string(),
            "hello.hvt: program header 3 (PT_LOAD): p_offset 0x1f000 + p_filesz 0x2000 \
             ends past the end of the file (0x1e400 bytes)"
        );
    }

    #[test]
    fn places_display() {
        assert_eq!(Place::ElfHeader.to_string(), "ELF header");
        assert_eq!(
            Place::ProgramHeader {
                index: 0,
                p_type: 0x1234
            }
            .to_string(),
            "program header 0 (type 0x1234)"
        );
        assert_eq!(
            Place::Note { index: 2, phdr: 9 }.to_string(),
            "note 2 in program header 9 (PT_NOTE)"
        );
        let e = ElfError::new(
            "k",
            Place::File,
            Problem::MissingNote {
                kind: Solo5Note::Abi1,
            },
        );
        assert_eq!(
            e.to_string(),
            "k: no Solo5 ABI1 note found in any PT_NOTE, expected exactly one \
             (is this a Solo5 unikernel?)"
        );
    }

    #[test]
    fn read_error_exposes_its_source() {
        let e = ElfError::new(
            "k",
            Place::ElfHeader,
            Problem::Read {
                offset: 0,
                len: 64,
                source: io::Error::from(io::ErrorKind::UnexpectedEof),
            },
        );
        assert!(std::error::Error::source(&e).is_some());
    }

    #[test]
    fn flag_and_range_helpers() {
        assert_eq!(Flags(7).to_string(), "RWX");
        assert_eq!(Flags(1).to_string(), "--X");
        assert_eq!(Hex4(*b"\x7fELF").to_string(), "7f 45 4c 46");
        assert_eq!(
            ExecRanges(&[(1, 0x100000, 0x100040), (4, 0x200000, 0x201000)]).to_string(),
            "0x100000..0x100040 (program header 1) or 0x200000..0x201000 (program header 4)"
        );
    }
}
