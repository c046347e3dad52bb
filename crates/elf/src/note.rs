//! The notes inside PT_NOTE segments, and the two Solo5-owned ones the
//! tenders need: ABI1 (target and ABI version) and MFT1 (the manifest).
//!
//! Upstream reads only the first note of each PT_NOTE; Corten walks every
//! note of every PT_NOTE, so a Solo5 note is found wherever the linker put
//! it, and a second ABI1 or MFT1 note is an error instead of being ignored.
//!
//! Layout of one note (4-byte aligned, as every Solo5 note and the usual
//! GNU/OpenBSD notes are):
//!
//! ```text
//! n_namesz u32 | n_descsz u32 | n_type u32 | name, padded to 4 | desc, padded to 4
//! ```
//!
//! A Solo5-owned note has `n_namesz` 6 and name `"Solo5\0"`, so its
//! descriptor starts 20 bytes into the note. Its `n_descsz` counts the
//! padding that aligns the payload inside the descriptor (4 bytes for MFT1,
//! whose manifest is 8-aligned; none for ABI1), exactly as upstream's
//! `elf_load_note()` reads it.

use crate::error::{Problem, Solo5Note};
use crate::raw::{Nhdr, Phdr, NHDR_SIZE};
use crate::read::{bounded_usize, ReadAt};
use corten_abi::note::{
    Abi1Info, ABI1_NOTE_ALIGN, ABI1_NOTE_MAX_SIZE, ABI1_NOTE_TYPE, MFT1_NOTE_ALIGN,
    MFT1_NOTE_MAX_SIZE, MFT1_NOTE_TYPE, SOLO5_NOTE_NAME, SOLO5_NOTE_NAMESZ,
};

pub use crate::limits::NOTE_BUDGET;

/// Size of the common head of a Solo5 note: Nhdr + "Solo5\0" padded to 8.
const SOLO5_HEAD: usize = NHDR_SIZE + 8;

/// Where a note was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoteLocation {
    /// Index of the PT_NOTE program header.
    pub phdr: usize,
    /// Index of the note inside that segment, counted from 0.
    pub index: usize,
}

/// The Solo5 notes found so far.
#[derive(Debug, Default)]
pub(crate) struct Solo5Notes {
    pub abi: Option<(NoteLocation, Abi1Info)>,
    /// The MFT1 descriptor after its internal alignment padding.
    pub mft: Option<(NoteLocation, Vec<u8>)>,
}

/// Offset of a Solo5 note's payload from the start of its descriptor: the
/// padding that aligns it to `align` relative to the start of the note.
const fn payload_pad(align: usize) -> usize {
    SOLO5_HEAD.div_ceil(align) * align - SOLO5_HEAD
}

impl Solo5Note {
    fn align(self) -> usize {
        match self {
            Solo5Note::Abi1 => ABI1_NOTE_ALIGN,
            Solo5Note::Mft1 => MFT1_NOTE_ALIGN,
        }
    }

    /// Accepted `n_descsz` range, padding included.
    fn desc_range(self) -> (u32, u32) {
        match self {
            // The whole abi1_info must be there (upstream reads 16 bytes
            // whatever n_descsz says).
            Solo5Note::Abi1 => (
                (payload_pad(ABI1_NOTE_ALIGN) + core::mem::size_of::<Abi1Info>()) as u32,
                ABI1_NOTE_MAX_SIZE as u32,
            ),
            // At least one byte after the padding, as upstream; the manifest
            // parser judges the rest.
            Solo5Note::Mft1 => (
                (payload_pad(MFT1_NOTE_ALIGN) + 1) as u32,
                MFT1_NOTE_MAX_SIZE as u32,
            ),
        }
    }
}

fn align4(n: u64) -> u64 {
    // n is at most u32::MAX + 12-ish: no overflow in u64.
    (n + 3) & !3
}

/// Walks every note in `data`, the file bytes of PT_NOTE program header
/// `phdr`, and records the Solo5 ABI1 and MFT1 notes in `found`. On error,
/// returns the index of the offending note with the problem.
pub(crate) fn scan(
    phdr: usize,
    data: &[u8],
    found: &mut Solo5Notes,
) -> Result<(), (usize, Problem)> {
    let filesz = data.len() as u64;
    let mut pos: u64 = 0;
    let mut index = 0usize;
    while pos < filesz {
        let rest = slice(data, pos, filesz - pos);
        let Some((head, _)) = rest.split_first_chunk::<NHDR_SIZE>() else {
            // A short tail of zero bytes is alignment padding, not a note.
            if rest.iter().all(|&b| b == 0) {
                break;
            }
            return Err((index, Problem::NoteHeaderTruncated { left: filesz - pos }));
        };
        let nhdr = Nhdr::from_bytes(head);
        let name_at = pos + NHDR_SIZE as u64;
        let desc_at = name_at + align4(u64::from(nhdr.n_namesz));
        let left = filesz - name_at;
        let kind = solo5_kind(&nhdr, slice(data, name_at, u64::from(nhdr.n_namesz)));
        let next = desc_at + align4(u64::from(nhdr.n_descsz));
        let loc = NoteLocation { phdr, index };
        match kind {
            Some(kind) => {
                let desc = solo5_desc(kind, &nhdr, data, pos).map_err(|p| (index, p))?;
                record(found, kind, loc, desc).map_err(|p| (index, p))?;
            }
            None => {
                if desc_at + u64::from(nhdr.n_descsz) > filesz {
                    return Err((
                        index,
                        Problem::NoteOutsideSegment {
                            namesz: nhdr.n_namesz,
                            descsz: nhdr.n_descsz,
                            left,
                        },
                    ));
                }
            }
        }
        pos = next;
        index += 1;
    }
    Ok(())
}

/// `data[at..at + len]`, or an empty slice where that is out of range.
fn slice(data: &[u8], at: u64, len: u64) -> &[u8] {
    usize::try_from(at)
        .ok()
        .zip(usize::try_from(len).ok())
        .and_then(|(at, len)| data.get(at..at.checked_add(len)?))
        .unwrap_or(&[])
}

/// Which Solo5 note this is, if it is one the loader wants.
fn solo5_kind(nhdr: &Nhdr, name: &[u8]) -> Option<Solo5Note> {
    if nhdr.n_namesz != SOLO5_NOTE_NAMESZ || name != SOLO5_NOTE_NAME {
        return None;
    }
    match nhdr.n_type {
        ABI1_NOTE_TYPE => Some(Solo5Note::Abi1),
        MFT1_NOTE_TYPE => Some(Solo5Note::Mft1),
        _ => None,
    }
}

/// The payload of a Solo5 note starting at `pos` in `data` (its descriptor
/// without the alignment padding), after checking its size.
fn solo5_desc<'a>(
    kind: Solo5Note,
    nhdr: &Nhdr,
    data: &'a [u8],
    pos: u64,
) -> Result<&'a [u8], Problem> {
    let (min, max) = kind.desc_range();
    if nhdr.n_descsz < min || nhdr.n_descsz > max {
        return Err(Problem::Solo5DescSize {
            kind,
            descsz: nhdr.n_descsz,
            min,
            max,
        });
    }
    let filesz = data.len() as u64;
    let desc_at = pos + SOLO5_HEAD as u64;
    if desc_at + u64::from(nhdr.n_descsz) > filesz {
        return Err(Problem::Solo5DescOutside {
            kind,
            at: pos,
            descsz: nhdr.n_descsz,
            filesz,
        });
    }
    let pad = payload_pad(kind.align()) as u64;
    Ok(slice(data, desc_at + pad, u64::from(nhdr.n_descsz) - pad))
}

fn record(
    found: &mut Solo5Notes,
    kind: Solo5Note,
    loc: NoteLocation,
    payload: &[u8],
) -> Result<(), Problem> {
    let first = match kind {
        Solo5Note::Abi1 => found.abi.as_ref().map(|(l, _)| *l),
        Solo5Note::Mft1 => found.mft.as_ref().map(|(l, _)| *l),
    };
    if let Some(first) = first {
        return Err(Problem::DuplicateNote {
            kind,
            first_note: first.index,
            first_phdr: first.phdr,
        });
    }
    match kind {
        Solo5Note::Abi1 => found.abi = Some((loc, abi1_info(payload))),
        Solo5Note::Mft1 => found.mft = Some((loc, payload.to_vec())),
    }
    Ok(())
}

/// Decodes `struct abi1_info`; the payload is at least 16 bytes (checked
/// by `desc_range`).
fn abi1_info(payload: &[u8]) -> Abi1Info {
    let word = |i: usize| {
        payload
            .get(i * 4..i * 4 + 4)
            .and_then(|b| b.try_into().ok())
            .map_or(0, u32::from_le_bytes)
    };
    Abi1Info {
        abi_target: word(0),
        abi_version: word(1),
        reserved0: word(2),
        reserved1: word(3),
    }
}

/// Reads the bytes of one PT_NOTE, charging them to the note budget.
pub(crate) fn read_segment<R: ReadAt + ?Sized>(
    file: &R,
    size: u64,
    ph: &Phdr,
    budget: &mut u64,
) -> Result<Vec<u8>, Problem> {
    if ph.p_filesz == 0 {
        // Holds no note; p_offset does not matter.
        return Ok(Vec::new());
    }
    crate::segment::check_file_range(ph, size)?;
    if ph.p_filesz > *budget {
        return Err(Problem::NoteBudget {
            filesz: ph.p_filesz,
            left: *budget,
        });
    }
    *budget -= ph.p_filesz;
    let mut data = vec![0u8; bounded_usize(ph.p_filesz)];
    file.read_exact_at(&mut data, ph.p_offset)
        .map_err(|source| Problem::Read {
            offset: ph.p_offset,
            len: ph.p_filesz,
            source,
        })?;
    Ok(data)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap
mod tests {
    use super::*;
    use corten_abi::note::{Abi1Note, AbiTarget, MFT1_DESC_PAD};

    fn note(namesz: u32, descsz: u32, ntype: u32, name: &[u8], desc: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&namesz.to_le_bytes());
        v.extend_from_slice(&descsz.to_le_bytes());
        v.extend_from_slice(&ntype.to_le_bytes());
        v.extend_from_slice(name);
        while v.len() % 4 != 0 {
            v.push(0);
        }
        v.extend_from_slice(desc);
        while v.len() % 4 != 0 {
            v.push(0);
        }
        v
    }

    fn abi1(target: u32, version: u32) -> Vec<u8> {
        let mut d = Vec::new();
        for w in [target, version, 0, 0] {
            d.extend_from_slice(&w.to_le_bytes());
        }
        note(6, 16, ABI1_NOTE_TYPE, b"Solo5\0", &d)
    }

    fn mft1(payload: &[u8]) -> Vec<u8> {
        let mut d = vec![0u8; MFT1_DESC_PAD];
        d.extend_from_slice(payload);
        note(6, d.len() as u32, MFT1_NOTE_TYPE, b"Solo5\0", &d)
    }

    fn openbsd() -> Vec<u8> {
        note(8, 4, 1, b"OpenBSD\0", &[0; 4])
    }

    fn scan_one(data: &[u8]) -> Result<Solo5Notes, (usize, Problem)> {
        let mut found = Solo5Notes::default();
        scan(7, data, &mut found)?;
        Ok(found)
    }

    #[test]
    fn pads_match_upstream_layout() {
        assert_eq!(payload_pad(ABI1_NOTE_ALIGN), 0);
        assert_eq!(payload_pad(MFT1_NOTE_ALIGN), MFT1_DESC_PAD);
        assert_eq!(Solo5Note::Abi1.desc_range(), (16, 32));
        assert_eq!(Solo5Note::Mft1.desc_range(), (5, MFT1_NOTE_MAX_SIZE as u32));
    }

    #[test]
    fn finds_notes_wherever_they_are_in_the_segment() {
        let mut data = openbsd();
        data.extend(mft1(b"manifest"));
        data.extend(abi1(1, 2));
        let found = scan_one(&data).unwrap();
        let (loc, info) = found.abi.unwrap();
        assert_eq!(loc, NoteLocation { phdr: 7, index: 2 });
        assert_eq!((info.abi_target, info.abi_version), (1, 2));
        let (loc, desc) = found.mft.unwrap();
        assert_eq!(loc, NoteLocation { phdr: 7, index: 1 });
        assert_eq!(desc, b"manifest");
    }

    #[test]
    fn abi1_from_the_abi_crate_parses() {
        let n = Abi1Note::new(AbiTarget::Spt, 2);
        let mut data = Vec::new();
        data.extend(n.header.n_namesz.to_le_bytes());
        data.extend(n.header.n_descsz.to_le_bytes());
        data.extend(n.header.n_type.to_le_bytes());
        data.extend(n.header.n_name);
        for w in [n.info.abi_target, n.info.abi_version, 0, 0] {
            data.extend(w.to_le_bytes());
        }
        let (_, info) = scan_one(&data).unwrap().abi.unwrap();
        assert_eq!(info, n.info);
    }

    #[test]
    fn foreign_and_other_solo5_notes_are_skipped() {
        let mut data = note(4, 20, 3, b"GNU\0", &[0xab; 20]); // build-id
        data.extend(note(6, 4, 0x1234, b"Solo5\0", &[1, 2, 3, 4])); // unknown type
        data.extend(note(6, 16, ABI1_NOTE_TYPE, b"Solo6\0", &[0; 16])); // other owner
        data.extend(note(5, 16, ABI1_NOTE_TYPE, b"Solo5", &[0; 16])); // namesz 5
        data.extend(note(0, 0, 0, b"", b"")); // empty note
        let found = scan_one(&data).unwrap();
        assert!(found.abi.is_none() && found.mft.is_none());
    }

    #[test]
    fn trailing_zero_padding_accepted_but_not_garbage() {
        let mut data = abi1(1, 2);
        data.extend([0u8; 8]);
        assert!(scan_one(&data).unwrap().abi.is_some());
        let mut data = abi1(1, 2);
        data.extend([0, 0, 1, 0]);
        let (index, p) = scan_one(&data).unwrap_err();
        assert_eq!(index, 1);
        assert!(matches!(p, Problem::NoteHeaderTruncated { left: 4 }));
    }

    #[test]
    fn empty_segment_has_no_notes() {
        let found = scan_one(&[]).unwrap();
        assert!(found.abi.is_none() && found.mft.is_none());
    }

    #[test]
    fn foreign_note_running_past_the_segment() {
        let mut data = openbsd();
        data.truncate(22);
        let (index, p) = scan_one(&data).unwrap_err();
        assert_eq!(index, 0);
        assert!(matches!(
            p,
            Problem::NoteOutsideSegment {
                namesz: 8,
                descsz: 4,
                left: 10
            }
        ));
        // Huge sizes do not overflow anything.
        let data = note(u32::MAX, u32::MAX, 1, b"", b"");
        assert!(matches!(
            scan_one(&data),
            Err((0, Problem::NoteOutsideSegment { .. }))
        ));
    }

    #[test]
    fn solo5_sizes_checked_with_upstream_phrase() {
        // upstream's buggyelf: MFT1 with n_descsz 1.
        let mut data = mft1(&[0; 4]);
        data[4..8].copy_from_slice(&1u32.to_le_bytes());
        let (_, p) = scan_one(&data).unwrap_err();
        assert!(matches!(p, Problem::Solo5DescSize { descsz: 1, .. }));
        assert!(p
            .to_string()
            .contains("note does not fall within valid size"));

        for descsz in [0u32, 15, 33, u32::MAX] {
            let mut data = abi1(1, 2);
            data[4..8].copy_from_slice(&descsz.to_le_bytes());
            let (_, p) = scan_one(&data).unwrap_err();
            assert!(
                matches!(
                    p,
                    Problem::Solo5DescSize {
                        kind: Solo5Note::Abi1,
                        ..
                    }
                ),
                "{descsz}"
            );
        }
        let mut data = mft1(&[0; 4]);
        data[4..8].copy_from_slice(&(MFT1_NOTE_MAX_SIZE as u32 + 1).to_le_bytes());
        assert!(matches!(
            scan_one(&data),
            Err((0, Problem::Solo5DescSize { .. }))
        ));
    }

    #[test]
    fn solo5_note_running_past_segment() {
        let mut data = openbsd();
        data.extend(abi1(1, 2));
        data.truncate(data.len() - 4);
        let (index, p) = scan_one(&data).unwrap_err();
        assert_eq!(index, 1);
        assert!(matches!(
            p,
            Problem::Solo5DescOutside {
                kind: Solo5Note::Abi1,
                at: 24,
                descsz: 16,
                filesz: 56
            }
        ));
        assert!(p
            .to_string()
            .contains("note does not fall within valid size"));
    }

    #[test]
    fn duplicates_refused_even_across_segments() {
        let mut data = abi1(1, 2);
        data.extend(abi1(1, 2));
        assert!(matches!(
            scan_one(&data),
            Err((
                1,
                Problem::DuplicateNote {
                    kind: Solo5Note::Abi1,
                    first_note: 0,
                    first_phdr: 7
                }
            ))
        ));
        let mut found = Solo5Notes::default();
        scan(3, &mft1(b"a"), &mut found).unwrap();
        let e = scan(5, &mft1(b"b"), &mut found).unwrap_err();
        assert!(matches!(
            e,
            (
                0,
                Problem::DuplicateNote {
                    kind: Solo5Note::Mft1,
                    first_note: 0,
                    first_phdr: 3
                }
            )
        ));
    }

    #[test]
    fn short_abi_descriptor_rejected_where_upstream_overreads() {
        let data = note(6, 8, ABI1_NOTE_TYPE, b"Solo5\0", &[1, 0, 0, 0, 2, 0, 0, 0]);
        assert!(matches!(
            scan_one(&data),
            Err((
                0,
                Problem::Solo5DescSize {
                    descsz: 8,
                    min: 16,
                    ..
                }
            ))
        ));
    }
}
