//! Where the tenders are: `$CORTEN_OCI_TENDER_DIR`, else the directory
//! corten-oci itself was run from (`cargo xtask install` and `target/bin`
//! put all of them together).

use std::path::PathBuf;

use corten_abi::note::AbiTarget;

use crate::error::OciError;

pub fn name(target: AbiTarget) -> &'static str {
    match target {
        AbiTarget::Hvt => "corten-hvt",
        _ => "corten-spt",
    }
}

pub fn path(target: AbiTarget) -> Result<PathBuf, OciError> {
    let dir = match std::env::var_os("CORTEN_OCI_TENDER_DIR") {
        Some(d) => PathBuf::from(d),
        None => std::env::current_exe()
            .map_err(|e| OciError::sys("finding corten-oci's own directory", e))?
            .parent()
            .map(PathBuf::from)
            .unwrap_or_default(),
    };
    let p = dir.join(name(target));
    if !p.is_file() {
        return Err(OciError::Image(format!(
            "{} is missing: install the tenders beside corten-oci (cargo xtask install) or set \
             CORTEN_OCI_TENDER_DIR",
            p.display()
        )));
    }
    Ok(p)
}
