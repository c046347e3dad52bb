//! Opening the unikernel: the ELF headers and Solo5 notes are read and
//! checked (target, ABI version, manifest) before anything else happens.
//! Only headers and notes are read here; segment bytes are read later,
//! straight into guest memory.

use std::ffi::{OsStr, OsString};
use std::fs::File;

use corten_abi::note::AbiTarget;
use corten_elf::{Arch, Elf, ElfError};
use corten_manifest::{Manifest, ManifestError};

/// A problem with the KERNEL file.
#[derive(Debug, thiserror::Error)]
pub enum KernelError {
    #[error("{path}: Could not open: {source}")]
    Open {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Elf(#[from] ElfError),
    #[error("{path}: Solo5 manifest is invalid: {source}")]
    Manifest { path: String, source: ManifestError },
}

/// A unikernel whose headers, ABI note and manifest passed every check.
#[derive(Debug)]
pub struct Kernel {
    /// The path as given on the command line.
    pub path: OsString,
    pub file: File,
    pub elf: Elf,
    pub manifest: Manifest,
}

/// Opens `path` and checks it is an ELF for this host's architecture,
/// built for `target` at ABI `abi_version`, with a valid manifest.
pub fn open(path: &OsStr, target: AbiTarget, abi_version: u32) -> Result<Kernel, KernelError> {
    let shown = path.to_string_lossy().into_owned();
    let file = corten_elf::open_image(path).map_err(|source| KernelError::Open {
        path: shown.clone(),
        source,
    })?;
    let elf = Elf::parse(&shown, &file, Arch::host())?;
    elf.check_abi(target, abi_version)?;
    let manifest =
        Manifest::from_note_desc(elf.manifest_desc()?).map_err(|source| KernelError::Manifest {
            path: shown,
            source,
        })?;
    Ok(Kernel {
        path: path.to_owned(),
        file,
        elf,
        manifest,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_non_elf_files() {
        let e = open(OsStr::new("/nonexistent/k.spt"), AbiTarget::Spt, 2).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("/nonexistent/k.spt: Could not open: "),
            "{e}"
        );
        let p = std::env::temp_dir().join(format!("corten-kernel-{}.txt", std::process::id()));
        std::fs::write(&p, b"#!/bin/sh\necho not an ELF\n").unwrap();
        let e = open(p.as_os_str(), AbiTarget::Spt, 2).unwrap_err();
        assert!(matches!(e, KernelError::Elf(_)), "{e}");
        std::fs::remove_file(p).unwrap();
    }
}
