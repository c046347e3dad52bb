//! The ELF contents every Solo5 unikernel carries besides its manifest:
//! the fake interpreter, the ABI1 note naming the tender and ABI version,
//! and the OpenBSD note. The linker script puts each in its own program
//! header (PT_INTERP first, the OpenBSD note in the first PT_NOTE).

use corten_abi::note::{Abi1Note, AbiTarget, OpenBsdNote, FAKE_INTERP};

#[cfg(feature = "hvt")]
const TARGET: AbiTarget = AbiTarget::Hvt;
#[cfg(feature = "hvt")]
const VERSION: u32 = corten_abi::hvt::HVT_ABI_VERSION;
#[cfg(not(feature = "hvt"))]
const TARGET: AbiTarget = AbiTarget::Spt;
#[cfg(not(feature = "hvt"))]
const VERSION: u32 = corten_abi::spt::SPT_ABI_VERSION;

/// A path no host has, so that exec'ing the unikernel fails on the host.
#[used]
#[link_section = ".interp"]
static INTERP: [u8; 24] = FAKE_INTERP;

/// Which tender and ABI version this unikernel is for.
#[used]
#[link_section = ".note.solo5.abi"]
static ABI1: Abi1Note = Abi1Note::new(TARGET, VERSION);

/// Makes an OpenBSD kernel refuse the binary too.
#[used]
#[link_section = ".note.solo5.not_openbsd"]
static OPENBSD: OpenBsdNote = OpenBsdNote::NOTE;

/// Keeps the notes in the link even without LTO.
pub(crate) fn keep() {
    core::hint::black_box((&INTERP, &ABI1, &OPENBSD));
}
