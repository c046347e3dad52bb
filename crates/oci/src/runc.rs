//! Bundles that are not unikernels (the pod's pause container, sidecars)
//! and containers corten-oci did not create: runc runs them, called with
//! exactly the command line corten-oci got. They share `--root`: runc keeps
//! `state.json` in a container's directory, corten-oci `corten.json`.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;

use crate::error::OciError;

fn runc() -> PathBuf {
    std::env::var_os("CORTEN_OCI_RUNC")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::which::program("runc"))
}

/// Replaces this process with runc and `argv` (without the program name).
pub fn exec(argv: &[String]) -> Result<(), OciError> {
    let path = runc();
    let source = std::process::Command::new(&path).args(argv).exec();
    Err(OciError::Runc { path, source })
}

/// Whether runc can be run at all.
pub fn available() -> bool {
    runc().is_file()
}
