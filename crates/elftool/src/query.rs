//! `query-manifest` and `query-abi`: upstream's JSON, byte for byte.

use std::io::{self, Write};

use corten_elf::{Arch, Elf, ElfError, Problem};
use corten_manifest::{Manifest, ManifestError};
use thiserror::Error;

use crate::files::{os_message, Image};

#[derive(Debug, Error)]
pub enum QueryError {
    #[error(transparent)]
    Elf(#[from] ElfError),
    #[error("{0}: No Solo5 manifest found in executable")]
    NoManifest(String),
    #[error("{name}: Manifest validation failed: {error}")]
    InvalidManifest { name: String, error: ManifestError },
    #[error("{0}: No Solo5 ABI information found in executable")]
    NoAbi(String),
    #[error("writing to standard output: {}", os_message(.0))]
    Write(io::Error),
}

/// Parses a unikernel of either supported architecture (upstream's tool
/// reads only its own; cross-built images are common).
pub fn parse_any_arch(name: &str, image: &Image) -> Result<Elf, ElfError> {
    match Elf::parse(name, image, Arch::host()) {
        Err(e) => match e.problem() {
            Problem::Machine { found, .. } => match Arch::from_machine(*found) {
                Some(other) => Elf::parse(name, image, other),
                None => Err(e),
            },
            _ => Err(e),
        },
        ok => ok,
    }
}

fn print(text: &str) -> Result<(), QueryError> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(QueryError::Write)
}

/// The manifest of a unikernel, checked as a tender checks it.
pub fn manifest_of(name: &str, elf: &Elf) -> Result<Manifest, QueryError> {
    let desc = elf
        .manifest_desc()
        .map_err(|_| QueryError::NoManifest(name.to_owned()))?;
    Manifest::from_note_desc(desc).map_err(|error| QueryError::InvalidManifest {
        name: name.to_owned(),
        error,
    })
}

pub fn query_manifest(name: &str, image: &Image) -> Result<(), QueryError> {
    let elf = parse_any_arch(name, image)?;
    print(&manifest_of(name, &elf)?.to_query_json())
}

/// upstream's query-abi JSON for a raw target and version.
pub fn abi_json(target: u32, version: u32) -> String {
    let name = corten_abi::note::AbiTarget::from_raw(target).map_or("unknown", |t| t.name());
    format!(
        "{{\n  \"type\": \"solo5.abi\",\n  \"target\": \"{name}\",\n  \"version\": {version}\n}}\n"
    )
}

pub fn query_abi(name: &str, image: &Image) -> Result<(), QueryError> {
    let elf = parse_any_arch(name, image)?;
    let abi = elf.abi().map_err(|_| QueryError::NoAbi(name.to_owned()))?;
    print(&abi_json(abi.abi_target, abi.abi_version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abi_json_is_upstream_format() {
        assert_eq!(
            abi_json(1, 2),
            "{\n  \"type\": \"solo5.abi\",\n  \"target\": \"hvt\",\n  \"version\": 2\n}\n"
        );
        assert!(abi_json(2, 2).contains("\"target\": \"spt\""));
        assert!(abi_json(99, 7).contains("\"target\": \"unknown\",\n  \"version\": 7\n"));
    }
}
