//! Everything corten-oci prints for its caller (state, ps, list,
//! features) goes through [`print`]: a full disk or a closed pipe on the
//! other end is an error with a message, never a panic (what `println!`
//! does) and never a silent success.

use std::io::Write;

use crate::error::OciError;

/// Writes `text` to standard output and flushes it.
pub fn print(text: &str) -> Result<(), OciError> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| OciError::sys("writing to standard output", e))
}

/// [`print`] with a newline.
pub fn line(text: &str) -> Result<(), OciError> {
    print(&format!("{text}\n"))
}
