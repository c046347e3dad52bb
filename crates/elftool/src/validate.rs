//! `validate`: every check a tender makes before it runs a unikernel.

use std::io::{self, Write};

use corten_abi::hvt::{HVT_ABI_VERSION, HVT_GUEST_MIN_BASE};
use corten_abi::note::AbiTarget;
use corten_abi::spt::{SPT_ABI_VERSION, SPT_GUEST_MIN_BASE};
use corten_elf::{Arch, Elf, ElfError};
use thiserror::Error;

use crate::cli::Target;
use crate::files::{os_message, Image};
use crate::query::{manifest_of, QueryError};

#[derive(Debug, Error)]
pub enum ValidateError {
    #[error(transparent)]
    Elf(#[from] ElfError),
    #[error(transparent)]
    Manifest(#[from] QueryError),
    #[error("{name}: Solo5 ABI1 note: abi_target {found} ({}) does not run on Corten's tenders, expected 1 (hvt) or 2 (spt)",
        AbiTarget::from_raw(*.found).map_or("unknown target", |t| t.name()))]
    Target { name: String, found: u32 },
    #[error(
        "{name}: --mem={mem_mib}: corten-hvt gives a guest at most {max_mib} MiB on this \
         architecture; use --mem={max_mib} or less"
    )]
    Memory {
        name: String,
        mem_mib: u64,
        max_mib: u64,
    },
    #[error("writing to standard output: {}", os_message(.0))]
    Write(io::Error),
}

/// ABI version and lowest load address of each tender.
fn tender_facts(target: Target) -> (AbiTarget, u32, u64) {
    match target {
        Target::Spt => (AbiTarget::Spt, SPT_ABI_VERSION, SPT_GUEST_MIN_BASE),
        Target::Hvt => (AbiTarget::Hvt, HVT_ABI_VERSION, HVT_GUEST_MIN_BASE),
    }
}

/// Checks in a tender's order; returns the one-line summary printed on
/// success.
pub fn check(
    name: &str,
    image: &Image,
    target: Option<Target>,
    mem_mib: u64,
) -> Result<String, ValidateError> {
    let elf = Elf::parse(name, image, Arch::host())?;
    let abi = elf.abi()?;
    let target = match target {
        Some(t) => t,
        None => match AbiTarget::from_raw(abi.abi_target) {
            Some(AbiTarget::Spt) => Target::Spt,
            Some(AbiTarget::Hvt) => Target::Hvt,
            _ => {
                return Err(ValidateError::Target {
                    name: name.to_owned(),
                    found: abi.abi_target,
                })
            }
        },
    };
    let (abi_target, version, min_base) = tender_facts(target);
    elf.check_abi(abi_target, version)?;
    let manifest = manifest_of(name, &elf)?;
    // The memory the tender would really give the guest (corten-abi's
    // rule, the one corten-hvt applies): hvt rounds to whole large pages
    // and refuses more than its architecture maps.
    let requested = mem_mib << 20;
    let (mem, note) = match target {
        Target::Spt => (requested, String::new()),
        Target::Hvt => match corten_abi::mem::hvt_guest_size_host(requested) {
            Ok((size, false)) => (size, String::new()),
            Ok((size, true)) => (
                size,
                format!(
                    " (--mem={mem_mib} adjusted to {} MiB, as corten-hvt adjusts it)",
                    size >> 20
                ),
            ),
            Err(e) => {
                return Err(ValidateError::Memory {
                    name: name.to_owned(),
                    mem_mib,
                    max_mib: e.max >> 20,
                })
            }
        },
    };
    elf.check_layout(mem, min_base)?;
    let devices = manifest.devices.len();
    Ok(format!(
        "{name}: OK: {} unikernel, ABI version {version}, {devices} device{}, fits in {} MiB{note}\n",
        target.name(),
        if devices == 1 { "" } else { "s" },
        mem >> 20,
    ))
}

pub fn run(
    name: &str,
    image: &Image,
    target: Option<Target>,
    mem_mib: u64,
) -> Result<(), ValidateError> {
    let summary = check(name, image, target, mem_mib)?;
    let mut out = io::stdout().lock();
    out.write_all(summary.as_bytes())
        .and_then(|()| out.flush())
        .map_err(ValidateError::Write)
}
