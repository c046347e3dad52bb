//! The Solo5-owned ELF notes (`elf_abi.h`, `mft_abi.h`): the ABI1 note that
//! says which tender and ABI version a unikernel targets, the MFT1 note that
//! holds its manifest, plus the OpenBSD note and fake PT_INTERP that stop a
//! host kernel from executing a unikernel.

use crate::assert_layout;
use crate::mft::{MftEntry, MftHeader, MFT_MAX_ENTRIES};

/// `n_name` of every Solo5-owned note, including its terminator.
pub const SOLO5_NOTE_NAME: &[u8; 6] = b"Solo5\0";
/// `n_namesz` of a Solo5-owned note.
pub const SOLO5_NOTE_NAMESZ: u32 = 6;
/// `n_type` of the ABI1 note ("ABI1" little-endian).
pub const ABI1_NOTE_TYPE: u32 = 0x3149_4241;
/// `n_type` of the MFT1 note ("MFT1" little-endian).
pub const MFT1_NOTE_TYPE: u32 = 0x3154_464d;

/// Alignment of the ABI1 descriptor inside its note.
pub const ABI1_NOTE_ALIGN: usize = core::mem::align_of::<Abi1Info>();
/// Alignment of the manifest inside the MFT1 note.
pub const MFT1_NOTE_ALIGN: usize = core::mem::align_of::<MftHeader>();

/// Largest accepted `n_descsz` of an ABI1 note (upstream's
/// `ABI1_NOTE_MAX_SIZE`).
pub const ABI1_NOTE_MAX_SIZE: usize = (core::mem::size_of::<Abi1Note>()
    - core::mem::size_of::<NoteHeader>())
    + core::mem::size_of::<Abi1Info>();
/// Largest accepted `n_descsz` of an MFT1 note (upstream's
/// `MFT1_NOTE_MAX_SIZE`): internal padding, header and 64 entries.
pub const MFT1_NOTE_MAX_SIZE: usize = MFT1_DESC_PAD
    + core::mem::size_of::<MftHeader>()
    + MFT_MAX_ENTRIES * core::mem::size_of::<MftEntry>();

/// Bytes of padding between a Solo5 note header and the manifest it holds.
pub const MFT1_DESC_PAD: usize = MFT1_DESC_OFFSET - core::mem::size_of::<NoteHeader>();
/// Offset of the manifest from the start of the MFT1 note.
pub const MFT1_DESC_OFFSET: usize =
    (core::mem::size_of::<NoteHeader>() + MFT1_NOTE_ALIGN - 1) & !(MFT1_NOTE_ALIGN - 1);

/// An `Elf64_Nhdr` followed by the padded name "Solo5": the common head of
/// every Solo5-owned note (20 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoteHeader {
    pub n_namesz: u32,
    pub n_descsz: u32,
    pub n_type: u32,
    pub n_name: [u8; 8],
}

impl NoteHeader {
    /// Header of a Solo5 note of type `n_type` whose descriptor is `n_descsz`
    /// bytes long.
    pub const fn solo5(n_type: u32, n_descsz: u32) -> Self {
        NoteHeader {
            n_namesz: SOLO5_NOTE_NAMESZ,
            n_descsz,
            n_type,
            n_name: *b"Solo5\0\0\0",
        }
    }
}

/// Which tender a unikernel is built for (`enum abi_target`).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AbiTarget {
    Hvt = 1,
    Spt = 2,
    Virtio = 3,
    Muen = 4,
    Genode = 5,
    Xen = 6,
}

impl AbiTarget {
    /// The target for a raw `abi_target` value, if it is one upstream knows.
    pub const fn from_raw(raw: u32) -> Option<Self> {
        Some(match raw {
            1 => AbiTarget::Hvt,
            2 => AbiTarget::Spt,
            3 => AbiTarget::Virtio,
            4 => AbiTarget::Muen,
            5 => AbiTarget::Genode,
            6 => AbiTarget::Xen,
            _ => return None,
        })
    }

    /// The lower-case name upstream's `solo5-elftool query-abi` prints.
    pub const fn name(self) -> &'static str {
        match self {
            AbiTarget::Hvt => "hvt",
            AbiTarget::Spt => "spt",
            AbiTarget::Virtio => "virtio",
            AbiTarget::Muen => "muen",
            AbiTarget::Genode => "genode",
            AbiTarget::Xen => "xen",
        }
    }
}

/// The ABI1 note descriptor (`struct abi1_info`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Abi1Info {
    pub abi_target: u32,
    pub abi_version: u32,
    pub reserved0: u32,
    pub reserved1: u32,
}

/// A whole ABI1 note as a guest embeds it (`struct abi1_note`).
#[repr(C, align(4))]
#[derive(Clone, Copy, Debug)]
pub struct Abi1Note {
    pub header: NoteHeader,
    pub info: Abi1Info,
}

impl Abi1Note {
    /// The ABI1 note declaring `target` and `version`.
    pub const fn new(target: AbiTarget, version: u32) -> Self {
        Abi1Note {
            header: NoteHeader::solo5(
                ABI1_NOTE_TYPE,
                (core::mem::size_of::<Abi1Note>() - core::mem::size_of::<NoteHeader>()) as u32,
            ),
            info: Abi1Info {
                abi_target: target as u32,
                abi_version: version,
                reserved0: 0,
                reserved1: 0,
            },
        }
    }
}

/// A whole MFT1 note with `N` entries (entry 0 being the reserved one), as a
/// guest embeds it (`struct mft1_note` with `MFT_ENTRIES` = N).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Mft1Note<const N: usize> {
    pub header: NoteHeader,
    pub pad: [u8; MFT1_DESC_PAD],
    pub mft: MftHeader,
    pub entries: [MftEntry; N],
}

impl<const N: usize> Mft1Note<N> {
    /// The note holding `entries` (entry 0 must be [`MftEntry::RESERVED`]).
    pub const fn new(entries: [MftEntry; N]) -> Self {
        Mft1Note {
            header: NoteHeader::solo5(
                MFT1_NOTE_TYPE,
                (core::mem::size_of::<Self>() - core::mem::size_of::<NoteHeader>()) as u32,
            ),
            pad: [0; MFT1_DESC_PAD],
            mft: MftHeader {
                version: crate::mft::MFT_VERSION,
                entries: N as u32,
            },
            entries,
        }
    }
}

/// The OpenBSD identification note every Solo5 unikernel carries in its
/// first PT_NOTE so that an OpenBSD host kernel refuses it too.
#[repr(C, align(4))]
#[derive(Clone, Copy, Debug)]
pub struct OpenBsdNote {
    pub n_namesz: u32,
    pub n_descsz: u32,
    pub n_type: u32,
    pub n_name: [u8; 8],
    pub data: u32,
}

impl OpenBsdNote {
    pub const NOTE: OpenBsdNote = OpenBsdNote {
        n_namesz: 8,
        n_descsz: 4,
        n_type: 1,
        n_name: *b"OpenBSD\0",
        data: 0,
    };
}

/// Contents of the `.interp` section (PT_INTERP) of every Solo5 unikernel:
/// a path that cannot exist, so a host kernel fails to exec the binary.
pub const FAKE_INTERP: [u8; 24] = *b"/nonexistent/solo5/\0\0\0\0\0";

assert_layout!(
    NoteHeader,
    size = 20,
    align = 4,
    n_namesz = 0,
    n_descsz = 4,
    n_type = 8,
    n_name = 12
);
assert_layout!(
    Abi1Info,
    size = 16,
    align = 4,
    abi_target = 0,
    abi_version = 4,
    reserved0 = 8,
    reserved1 = 12
);
assert_layout!(Abi1Note, size = 36, align = 4, header = 0, info = 20);
assert_layout!(
    Mft1Note<1>,
    size = 136,
    align = 8,
    header = 0,
    mft = 24,
    entries = 32
);
assert_layout!(OpenBsdNote, size = 24, align = 4, n_name = 12, data = 20);
const _: () = assert!(ABI1_NOTE_MAX_SIZE == 32);
const _: () = assert!(MFT1_DESC_OFFSET == 24 && MFT1_DESC_PAD == 4);
const _: () = assert!(MFT1_NOTE_MAX_SIZE == 12 + 64 * 104);
