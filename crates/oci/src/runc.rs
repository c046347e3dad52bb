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

/// runc's own containers under `root`, as `runc list --format json` gives
/// them (runc prints `null` for none).
pub fn list(root: &std::path::Path) -> Result<Vec<serde_json::Value>, OciError> {
    let path = runc();
    let out = std::process::Command::new(&path)
        .arg("--root")
        .arg(root)
        .args(["list", "--format", "json"])
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|source| OciError::Runc {
            path: path.clone(),
            source,
        })?;
    if !out.status.success() {
        return Err(OciError::Init(format!(
            "runc list failed ({}) for the runc containers under {}",
            out.status,
            root.display()
        )));
    }
    match serde_json::from_slice(&out.stdout) {
        Ok(serde_json::Value::Array(rows)) => Ok(rows),
        Ok(serde_json::Value::Null) => Ok(Vec::new()),
        _ => Err(OciError::Init(format!(
            "runc list printed something other than a JSON list for {}",
            root.display()
        ))),
    }
}
