//! `gen-manifest`: JSON manifest source to C (upstream), Rust or note bytes.

use std::io;

use corten_manifest::{Manifest, ManifestError, MAX_SOURCE_SIZE};
use thiserror::Error;

use crate::cli::Format;
use crate::files::{os_message, Input, Output};

#[derive(Debug, Error)]
pub enum GenError {
    #[error("{source_name}: read error: {}", os_message(.error))]
    Read {
        source_name: String,
        error: io::Error,
    },
    /// Messages start `SOURCE:LINE:` as upstream's.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error("{output_name}: write error: {}", os_message(.error))]
    Write {
        output_name: String,
        error: io::Error,
    },
}

/// The generated text or bytes for `manifest`.
pub fn render(manifest: &Manifest, format: Format) -> Vec<u8> {
    match format {
        Format::C => manifest.to_c_source().into_bytes(),
        Format::Rust => manifest.to_rust_source().into_bytes(),
        Format::Note => manifest.to_note(),
    }
}

/// Reads and checks the whole source, then writes the output: nothing is
/// written unless the manifest is valid.
pub fn run(
    format: Format,
    source_name: &str,
    input: &mut Input,
    output_name: &str,
    output: &mut Output,
) -> Result<(), GenError> {
    let bytes = input
        .read_to_limit(MAX_SOURCE_SIZE)
        .map_err(|error| GenError::Read {
            source_name: source_name.to_owned(),
            error,
        })?;
    let manifest = Manifest::from_json_bytes(source_name, &bytes)?;
    output
        .write_all(&render(&manifest, format))
        .map_err(|error| GenError::Write {
            output_name: output_name.to_owned(),
            error,
        })
}
