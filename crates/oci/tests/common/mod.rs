//! The engine harness (corten-testutil's `engines`) with the corten-oci
//! of this build.

#![allow(dead_code)] // each test file uses part of it

use std::path::PathBuf;

pub use corten_testutil::engines::*;

/// corten-oci as built for this test (or `$CORTEN_OCI`).
pub fn oci() -> PathBuf {
    std::env::var_os("CORTEN_OCI")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_corten-oci")))
}

/// A private containerd running this corten-oci.
pub fn containerd(tag: &str) -> Containerd {
    Containerd::start(tag, &oci())
}
