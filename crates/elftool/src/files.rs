//! Opening every file a command needs, before the sandbox is entered;
//! afterwards only reads and writes on these descriptors are possible.

use std::ffi::OsStr;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::FileExt;

use corten_elf::ReadAt;
use thiserror::Error;

/// A file that could not be opened (upstream's phrases).
#[derive(Debug, Error)]
pub enum OpenError {
    #[error("{path}: Could not open: {}", os_message(.source))]
    Binary { path: String, source: io::Error },
    #[error("{path}: Could not open for reading: {}", os_message(.source))]
    Source { path: String, source: io::Error },
    #[error("{path}: Could not open for writing: {}", os_message(.source))]
    Output { path: String, source: io::Error },
    #[error(
        "standard output is closed: the {what} would be lost; run with stdout open \
         (or redirect it, e.g. to a file)"
    )]
    StdoutClosed { what: &'static str },
}

/// An OS error as strerror(3) words it, without Rust's " (os error N)".
pub fn os_message(e: &io::Error) -> String {
    let text = e.to_string();
    match e.raw_os_error() {
        Some(code) => text
            .strip_suffix(&format!(" (os error {code})"))
            .map_or(text.clone(), str::to_owned),
        None => text,
    }
}

fn display(path: &OsStr) -> String {
    path.to_string_lossy().into_owned()
}

/// A unikernel image: its size is taken when it is opened, so that reading
/// it later needs nothing but `pread`.
pub struct Image {
    file: File,
    size: u64,
}

impl Image {
    pub fn open(path: &OsStr) -> Result<Image, OpenError> {
        let fail = |source| OpenError::Binary {
            path: display(path),
            source,
        };
        let file = corten_elf::open_image(path).map_err(fail)?;
        let meta = file.metadata().map_err(fail)?;
        Ok(Image {
            file,
            size: meta.len(),
        })
    }

    pub fn fd(&self) -> RawFd {
        self.file.as_raw_fd()
    }
}

impl ReadAt for Image {
    fn size(&self) -> u64 {
        self.size
    }

    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        FileExt::read_exact_at(&self.file, buf, offset)
    }
}

/// A manifest source: a file or standard input (`-`).
pub enum Input {
    Stdin,
    File(File),
}

impl Input {
    pub fn open(path: &OsStr) -> Result<Input, OpenError> {
        if path == "-" {
            return Ok(Input::Stdin);
        }
        File::open(path)
            .map(Input::File)
            .map_err(|source| OpenError::Source {
                path: display(path),
                source,
            })
    }

    pub fn fd(&self) -> RawFd {
        match self {
            Input::Stdin => libc::STDIN_FILENO,
            Input::File(f) => f.as_raw_fd(),
        }
    }

    /// Reads everything, or stops once more than `limit` bytes came
    /// (the caller then reports the source as too large). Only read(2).
    pub fn read_to_limit(&mut self, limit: usize) -> io::Result<Vec<u8>> {
        let mut data = Vec::new();
        let mut chunk = [0u8; 16 * 1024];
        loop {
            let n = match self {
                Input::Stdin => io::stdin().lock().read(&mut chunk),
                Input::File(f) => f.read(&mut chunk),
            };
            match n {
                Ok(0) => return Ok(data),
                Ok(n) => {
                    data.extend_from_slice(chunk.get(..n).unwrap_or_default());
                    if data.len() > limit {
                        return Ok(data);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

/// Where generated output goes: a file or standard output (`-`).
pub enum Output {
    Stdout,
    /// Opened without truncation, so a failed run leaves an existing file
    /// as it was; `regular` files are cut to the new length after writing.
    File {
        file: File,
        regular: bool,
    },
}

impl Output {
    pub fn open(path: &OsStr) -> Result<Output, OpenError> {
        if path == "-" {
            return Ok(Output::Stdout);
        }
        let fail = |source| OpenError::Output {
            path: display(path),
            source,
        };
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            // Cut to length only after a successful write (write_all).
            .truncate(false)
            .open(path)
            .map_err(fail)?;
        let regular = file.metadata().map_err(fail)?.is_file();
        Ok(Output::File { file, regular })
    }

    pub fn fd(&self) -> RawFd {
        match self {
            Output::Stdout => libc::STDOUT_FILENO,
            Output::File { file, .. } => file.as_raw_fd(),
        }
    }

    /// Whether [`Output::write_all`] calls ftruncate(2) on [`Output::fd`].
    pub fn truncates(&self) -> bool {
        matches!(self, Output::File { regular: true, .. })
    }

    /// Writes `bytes` from the start (write(2) only, plus ftruncate(2) for
    /// a regular file).
    pub fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Output::Stdout => {
                let mut out = io::stdout().lock();
                out.write_all(bytes)?;
                out.flush()
            }
            Output::File { file, regular } => {
                file.write_all(bytes)?;
                if *regular {
                    file.set_len(bytes.len() as u64)?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_message_is_strerror_text() {
        assert_eq!(
            os_message(&io::Error::from_raw_os_error(libc::ENOENT)),
            "No such file or directory"
        );
        assert_eq!(os_message(&io::Error::other("x")), "x");
    }

    #[test]
    fn open_errors_use_upstream_phrases() {
        let e = Image::open(OsStr::new("/nonexistent/k.hvt")).err().unwrap();
        assert_eq!(
            e.to_string(),
            "/nonexistent/k.hvt: Could not open: No such file or directory"
        );
        let e = Input::open(OsStr::new("/nonexistent/m.json"))
            .err()
            .unwrap();
        assert_eq!(
            e.to_string(),
            "/nonexistent/m.json: Could not open for reading: No such file or directory"
        );
        let e = Output::open(OsStr::new("/nonexistent/m.c")).err().unwrap();
        assert_eq!(
            e.to_string(),
            "/nonexistent/m.c: Could not open for writing: No such file or directory"
        );
        let e = Image::open(OsStr::new("/")).err().unwrap();
        assert_eq!(e.to_string(), "/: Could not open: Is a directory");
    }
}
