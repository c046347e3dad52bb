//! The manifest as bytes: reading an MFT1 descriptor with upstream's
//! `mft_validate` rules plus Corten's, and writing the note a guest embeds.
//!
//! Field positions come from `corten_abi` (`offset_of!`/`size_of`), so this
//! module holds no layout fact of its own.

use std::mem::{offset_of, size_of};

use corten_abi::mft::{
    MftEntry, MftHeader, MFT_MAX_ENTRIES, MFT_NAME_MAX, MFT_NAME_SIZE, MFT_RESERVED_FIRST,
    MFT_VERSION,
};
use corten_abi::note::{NoteHeader, MFT1_DESC_PAD, MFT1_NOTE_TYPE};
use thiserror::Error;

use crate::name::{check_name, quote, NameError};
use crate::{Device, DeviceType, Manifest};

const HEADER_SIZE: usize = size_of::<MftHeader>();
const ENTRY_SIZE: usize = size_of::<MftEntry>();

/// An MFT1 manifest that breaks a rule. Entry numbers count the reserved
/// entry 0, so device handle N is "entry N".
#[derive(Debug, Error)]
pub enum NoteError {
    #[error("manifest note: descriptor is {size} bytes, too short for the {HEADER_SIZE}-byte manifest header")]
    TooShort { size: usize },
    #[error("manifest note: manifest version {found}, expected {MFT_VERSION}")]
    BadVersion { found: u32 },
    #[error("manifest note: {found} entries, maximum {MFT_MAX_ENTRIES} (63 devices plus the reserved entry 0)")]
    TooManyEntries { found: u32 },
    #[error("manifest note: descriptor is {size} bytes but {entries} entries need exactly {expected} ({HEADER_SIZE} + {entries} * {ENTRY_SIZE})")]
    SizeMismatch {
        size: usize,
        entries: u32,
        expected: usize,
    },
    #[error("manifest note: no entries; entry 0 must be the reserved entry")]
    NoEntries,
    #[error("manifest note: entry 0 has type {found:#x}, expected RESERVED_FIRST ({MFT_RESERVED_FIRST:#x})")]
    FirstNotReserved { found: u32 },
    #[error(
        "manifest note: entry 0 (reserved) must have an empty name, found {}",
        quote(name)
    )]
    FirstNamed { name: Vec<u8> },
    #[error("manifest note: entry {index}: name is not NUL-terminated (byte {MFT_NAME_MAX} is {byte:#04x}, expected 0)")]
    NameUnterminated { index: usize, byte: u8 },
    #[error("manifest note: entry {index}: attached is {value}, expected 0 in an ELF note")]
    Attached { index: usize, value: u8 },
    #[error("manifest note: entry {index}: type RESERVED_FIRST is allowed only in entry 0")]
    ExtraReserved { index: usize },
    #[error("manifest note: entry {index} ({}): unknown device type {found:#x}, expected BLOCK_BASIC (1) or NET_BASIC (2)", quote(name))]
    UnknownType {
        index: usize,
        name: Vec<u8>,
        found: u32,
    },
    #[error("manifest note: entry {index} ({}): {source}", quote(name))]
    Name {
        index: usize,
        name: Vec<u8>,
        source: NameError,
    },
    #[error(
        "manifest note: entry {index} ({}): duplicate name, already used by entry {first}",
        quote(name)
    )]
    DuplicateName {
        index: usize,
        name: Vec<u8>,
        first: usize,
    },
}

/// The fields of one entry that the rules look at.
struct RawEntry<'a> {
    name_field: &'a [u8],
    mtype: u32,
    attached: u8,
}

impl RawEntry<'_> {
    /// The name up to its terminator.
    fn name(&self) -> &[u8] {
        let end = self
            .name_field
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(self.name_field.len());
        self.name_field.get(..end).unwrap_or_default()
    }
}

fn read_u32(bytes: &[u8], offset: usize) -> u32 {
    let mut word = [0u8; 4];
    if let Some(src) = bytes.get(offset..offset + 4) {
        word.copy_from_slice(src);
    }
    u32::from_le_bytes(word)
}

fn raw_entry(bytes: &[u8]) -> RawEntry<'_> {
    let name_at = offset_of!(MftEntry, name);
    RawEntry {
        name_field: bytes
            .get(name_at..name_at + MFT_NAME_SIZE)
            .unwrap_or_default(),
        mtype: read_u32(bytes, offset_of!(MftEntry, mtype)),
        attached: bytes
            .get(offset_of!(MftEntry, attached))
            .copied()
            .unwrap_or_default(),
    }
}

/// Reads a `struct mft` (header and entries, no leading padding).
pub(crate) fn parse(desc: &[u8]) -> Result<Manifest, NoteError> {
    // Upstream's mft_validate, in its order.
    if desc.len() < HEADER_SIZE {
        return Err(NoteError::TooShort { size: desc.len() });
    }
    let version = read_u32(desc, offset_of!(MftHeader, version));
    if version != MFT_VERSION {
        return Err(NoteError::BadVersion { found: version });
    }
    let count = read_u32(desc, offset_of!(MftHeader, entries));
    if count as usize > MFT_MAX_ENTRIES {
        return Err(NoteError::TooManyEntries { found: count });
    }
    let expected = HEADER_SIZE + count as usize * ENTRY_SIZE;
    if desc.len() != expected {
        return Err(NoteError::SizeMismatch {
            size: desc.len(),
            entries: count,
            expected,
        });
    }
    let entries: Vec<RawEntry<'_>> = desc
        .get(HEADER_SIZE..)
        .unwrap_or_default()
        .chunks_exact(ENTRY_SIZE)
        .map(raw_entry)
        .collect();
    let Some(first) = entries.first() else {
        return Err(NoteError::NoEntries);
    };
    if first.mtype != MFT_RESERVED_FIRST {
        return Err(NoteError::FirstNotReserved { found: first.mtype });
    }
    if first.name_field.first().copied().unwrap_or_default() != 0 {
        return Err(NoteError::FirstNamed {
            name: first.name().to_vec(),
        });
    }
    for (index, e) in entries.iter().enumerate() {
        let last = e.name_field.get(MFT_NAME_MAX).copied().unwrap_or_default();
        if last != 0 {
            return Err(NoteError::NameUnterminated { index, byte: last });
        }
        if e.attached != 0 {
            return Err(NoteError::Attached {
                index,
                value: e.attached,
            });
        }
    }

    // Corten's rules for the device entries.
    let mut devices: Vec<Device> = Vec::with_capacity(entries.len() - 1);
    for (index, e) in entries.iter().enumerate().skip(1) {
        let name = e.name();
        if e.mtype == MFT_RESERVED_FIRST {
            return Err(NoteError::ExtraReserved { index });
        }
        check_name(name).map_err(|source| NoteError::Name {
            index,
            name: name.to_vec(),
            source,
        })?;
        let Some(kind) = DeviceType::from_mft_type(e.mtype) else {
            return Err(NoteError::UnknownType {
                index,
                name: name.to_vec(),
                found: e.mtype,
            });
        };
        if let Some(first) = devices.iter().position(|d| d.name.as_bytes() == name) {
            return Err(NoteError::DuplicateName {
                index,
                name: name.to_vec(),
                first: first + 1,
            });
        }
        devices.push(Device {
            // check_name accepted only ASCII, so this cannot lose anything.
            name: String::from_utf8_lossy(name).into_owned(),
            kind,
        });
    }
    Ok(Manifest { devices })
}

/// A fresh entry; the name is cut to 67 bytes rather than panicking.
pub(crate) fn entry(name: &[u8], mtype: u32) -> MftEntry {
    let mut e = MftEntry::new(b"", mtype);
    for (dst, src) in e.name.iter_mut().zip(name.iter().take(MFT_NAME_MAX)) {
        *dst = *src;
    }
    e
}

fn put_u32(buf: &mut [u8], offset: usize, value: u32) {
    if let Some(dst) = buf.get_mut(offset..offset + 4) {
        dst.copy_from_slice(&value.to_le_bytes());
    }
}

fn put_bytes(buf: &mut [u8], offset: usize, value: &[u8]) {
    if let Some(dst) = buf.get_mut(offset..offset + value.len()) {
        dst.copy_from_slice(value);
    }
}

fn encode_entry(e: &MftEntry) -> [u8; ENTRY_SIZE] {
    let mut b = [0u8; ENTRY_SIZE];
    put_bytes(&mut b, offset_of!(MftEntry, name), &e.name);
    put_u32(&mut b, offset_of!(MftEntry, mtype), e.mtype);
    put_bytes(&mut b, offset_of!(MftEntry, props), &e.props.0);
    put_bytes(
        &mut b,
        offset_of!(MftEntry, backing),
        &e.backing.to_le_bytes(),
    );
    put_bytes(&mut b, offset_of!(MftEntry, attached), &[e.attached]);
    b
}

/// `struct mft`: header and entries.
pub(crate) fn encode_mft(entries: &[MftEntry]) -> Vec<u8> {
    let entries = entries.get(..MFT_MAX_ENTRIES).unwrap_or(entries);
    let mut header = [0u8; HEADER_SIZE];
    put_u32(&mut header, offset_of!(MftHeader, version), MFT_VERSION);
    put_u32(
        &mut header,
        offset_of!(MftHeader, entries),
        entries.len() as u32,
    );
    let mut out = Vec::with_capacity(HEADER_SIZE + entries.len() * ENTRY_SIZE);
    out.extend_from_slice(&header);
    for e in entries {
        out.extend_from_slice(&encode_entry(e));
    }
    out
}

/// The MFT1 descriptor: alignment padding, then `struct mft`.
pub(crate) fn encode_desc(entries: &[MftEntry]) -> Vec<u8> {
    let mut out = vec![0u8; MFT1_DESC_PAD];
    out.extend(encode_mft(entries));
    out
}

/// The whole note: `Elf64_Nhdr`, padded name "Solo5", descriptor.
pub(crate) fn encode_note(entries: &[MftEntry]) -> Vec<u8> {
    let desc = encode_desc(entries);
    let h = NoteHeader::solo5(MFT1_NOTE_TYPE, desc.len() as u32);
    let mut header = [0u8; size_of::<NoteHeader>()];
    put_u32(&mut header, offset_of!(NoteHeader, n_namesz), h.n_namesz);
    put_u32(&mut header, offset_of!(NoteHeader, n_descsz), h.n_descsz);
    put_u32(&mut header, offset_of!(NoteHeader, n_type), h.n_type);
    put_bytes(&mut header, offset_of!(NoteHeader, n_name), &h.n_name);
    let mut out = header.to_vec();
    out.extend(desc);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use corten_abi::mft::{MftDeviceProps, MFT_DEV_BLOCK_BASIC, MFT_DEV_NET_BASIC};
    use corten_abi::note::{Mft1Note, MFT1_DESC_OFFSET};

    /// Bytes of a real `Mft1Note<N>` built by corten-abi's const fn, read
    /// field by field (the reference the encoder must agree with).
    fn reference_note<const N: usize>(entries: [MftEntry; N]) -> Vec<u8> {
        let n = Mft1Note::new(entries);
        let mut out = Vec::new();
        out.extend(n.header.n_namesz.to_le_bytes());
        out.extend(n.header.n_descsz.to_le_bytes());
        out.extend(n.header.n_type.to_le_bytes());
        out.extend(n.header.n_name);
        out.extend(n.pad);
        out.extend(n.mft.version.to_le_bytes());
        out.extend(n.mft.entries.to_le_bytes());
        for e in n.entries {
            out.extend(encode_entry(&e));
        }
        assert_eq!(out.len(), size_of::<Mft1Note<N>>());
        out
    }

    fn two_devices() -> [MftEntry; 3] {
        [
            MftEntry::RESERVED,
            MftEntry::new(b"storage", MFT_DEV_BLOCK_BASIC),
            MftEntry::new(b"service0", MFT_DEV_NET_BASIC),
        ]
    }

    /// A valid `struct mft` (no padding) to break one rule at a time.
    fn good_mft() -> Vec<u8> {
        encode_mft(&two_devices())
    }

    fn entry_at(index: usize) -> usize {
        HEADER_SIZE + index * ENTRY_SIZE
    }

    fn err(desc: &[u8]) -> NoteError {
        parse(desc).unwrap_err()
    }

    #[test]
    fn encoding_matches_abi_struct() {
        let note = encode_note(&two_devices());
        assert_eq!(note, reference_note(two_devices()));
        assert_eq!(
            &note[MFT1_DESC_OFFSET..],
            &good_mft()[..],
            "descriptor after padding"
        );
        // n_descsz counts the padding, as in upstream's MFT1_NOTE_DECLARE.
        assert_eq!(read_u32(&note, 4) as usize, note.len() - 20);
    }

    #[test]
    fn encode_entry_is_field_exact() {
        let mut e = MftEntry::new(b"ab", 7);
        e.props = MftDeviceProps::block(0x0102, 512);
        e.backing = 0x1122_3344_5566_7788;
        e.attached = 1;
        let b = encode_entry(&e);
        assert_eq!(&b[..3], b"ab\0");
        assert_eq!(read_u32(&b, 68), 7);
        assert_eq!(&b[72..74], &[2, 1]);
        assert_eq!(&b[88..96], &0x1122_3344_5566_7788u64.to_le_bytes());
        assert_eq!(b[96], 1);
    }

    #[test]
    fn parses_valid_manifest() {
        let m = parse(&good_mft()).unwrap();
        assert_eq!(
            m.devices,
            vec![
                Device {
                    name: "storage".into(),
                    kind: DeviceType::BlockBasic
                },
                Device {
                    name: "service0".into(),
                    kind: DeviceType::NetBasic
                }
            ]
        );
        let empty = parse(&encode_mft(&[MftEntry::RESERVED])).unwrap();
        assert!(empty.devices.is_empty());
    }

    #[test]
    fn accepts_63_devices() {
        let mut entries = vec![MftEntry::RESERVED];
        for i in 0..63 {
            entries.push(entry(format!("d{i}").as_bytes(), MFT_DEV_BLOCK_BASIC));
        }
        assert_eq!(parse(&encode_mft(&entries)).unwrap().devices.len(), 63);
    }

    #[test]
    fn rejects_short_descriptor() {
        for len in 0..HEADER_SIZE {
            assert!(matches!(err(&good_mft()[..len]), NoteError::TooShort { size } if size == len));
        }
    }

    #[test]
    fn rejects_bad_version() {
        let mut d = good_mft();
        put_u32(&mut d, 0, 2);
        assert!(matches!(err(&d), NoteError::BadVersion { found: 2 }));
    }

    #[test]
    fn rejects_more_than_64_entries() {
        let mut d = good_mft();
        put_u32(&mut d, 4, 65);
        assert!(matches!(err(&d), NoteError::TooManyEntries { found: 65 }));
        put_u32(&mut d, 4, u32::MAX);
        assert!(matches!(err(&d), NoteError::TooManyEntries { .. }));
    }

    #[test]
    fn rejects_size_not_matching_entries() {
        let d = good_mft();
        let e = err(&d[..d.len() - 1]);
        assert!(matches!(
            e,
            NoteError::SizeMismatch {
                entries: 3,
                expected: 320,
                size: 319
            }
        ));
        assert_eq!(
            e.to_string(),
            "manifest note: descriptor is 319 bytes but 3 entries need exactly 320 (8 + 3 * 104)"
        );
        let mut longer = d.clone();
        longer.push(0);
        assert!(matches!(err(&longer), NoteError::SizeMismatch { .. }));
        // The padded descriptor is not what parse takes.
        let padded = encode_desc(&two_devices());
        assert!(matches!(err(&padded), NoteError::BadVersion { found: 0 }));
    }

    #[test]
    fn rejects_zero_entries() {
        let mut d = good_mft();
        put_u32(&mut d, 4, 0);
        assert!(matches!(err(&d[..HEADER_SIZE]), NoteError::NoEntries));
    }

    #[test]
    fn rejects_entry0_not_reserved() {
        let mut d = good_mft();
        put_u32(&mut d, entry_at(0) + 68, MFT_DEV_BLOCK_BASIC);
        assert!(matches!(err(&d), NoteError::FirstNotReserved { found: 1 }));
    }

    #[test]
    fn rejects_entry0_with_name() {
        let mut d = good_mft();
        d[entry_at(0)] = b'x';
        assert_eq!(
            err(&d).to_string(),
            "manifest note: entry 0 (reserved) must have an empty name, found \"x\""
        );
    }

    #[test]
    fn rejects_unterminated_name() {
        for index in [0, 2] {
            let mut d = good_mft();
            d[entry_at(index) + 67] = b'A';
            assert!(
                matches!(err(&d), NoteError::NameUnterminated { index: i, byte: b'A' } if i == index)
            );
        }
    }

    #[test]
    fn rejects_attached_entry() {
        for index in [0, 1] {
            let mut d = good_mft();
            d[entry_at(index) + 96] = 1;
            assert!(matches!(err(&d), NoteError::Attached { index: i, value: 1 } if i == index));
        }
    }

    #[test]
    fn rejects_second_reserved_entry() {
        let mut d = good_mft();
        put_u32(&mut d, entry_at(2) + 68, MFT_RESERVED_FIRST);
        assert!(matches!(err(&d), NoteError::ExtraReserved { index: 2 }));
    }

    #[test]
    fn rejects_unknown_type() {
        let mut d = good_mft();
        put_u32(&mut d, entry_at(1) + 68, 3);
        let e = err(&d);
        assert_eq!(
            e.to_string(),
            "manifest note: entry 1 (\"storage\"): unknown device type 0x3, \
             expected BLOCK_BASIC (1) or NET_BASIC (2)"
        );
    }

    #[test]
    fn rejects_bad_names() {
        let mut d = good_mft();
        d[entry_at(1)] = 0;
        assert!(matches!(
            err(&d),
            NoteError::Name {
                index: 1,
                source: NameError::Empty,
                ..
            }
        ));
        let mut d = good_mft();
        d[entry_at(2) + 3] = b'-';
        assert_eq!(
            err(&d).to_string(),
            "manifest note: entry 2 (\"ser-ice0\"): name is not alphanumeric ('-' at offset 3); \
             use only ASCII letters and digits"
        );
    }

    #[test]
    fn rejects_duplicate_names() {
        let d = encode_mft(&[
            MftEntry::RESERVED,
            MftEntry::new(b"disk", MFT_DEV_BLOCK_BASIC),
            MftEntry::new(b"disk", MFT_DEV_NET_BASIC),
        ]);
        assert_eq!(
            err(&d).to_string(),
            "manifest note: entry 2 (\"disk\"): duplicate name, already used by entry 1"
        );
    }

    #[test]
    fn ignores_bytes_after_name_terminator_and_private_fields() {
        // Upstream checks only byte 67 and `attached`; garbage after the
        // terminator and in props/backing is accepted, as upstream does.
        let mut d = good_mft();
        d[entry_at(1) + 10] = b'!';
        d[entry_at(1) + 80] = 0xff;
        d[entry_at(1) + 90] = 0xff;
        assert_eq!(parse(&d).unwrap().devices[0].name, "storage");
    }
}
