//! Diagnostics: every message a tender prints goes to stderr as
//! `PROGRAM: message`, where PROGRAM is the basename of `argv[0]`, so a
//! tender installed as `solo5-spt` speaks as `solo5-spt`.

use std::ffi::OsStr;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;

/// Exit status of every tender error (bad option, bad ELF, device problem).
pub const EXIT_TENDER_ERROR: i32 = 1;

/// The program name messages are prefixed with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diag {
    prog: String,
}

impl Diag {
    /// Takes the basename of `argv0`; falls back to `fallback` when `argv0`
    /// is missing or empty.
    pub fn from_argv0(argv0: Option<&OsStr>, fallback: &str) -> Diag {
        let base = argv0
            .map(|a| a.as_bytes())
            .map(|b| b.rsplit(|&c| c == b'/').next().unwrap_or(b))
            .filter(|b| !b.is_empty());
        let prog = match base {
            Some(b) => String::from_utf8_lossy(b).into_owned(),
            None => fallback.to_owned(),
        };
        Diag { prog }
    }

    /// The program name.
    pub fn prog(&self) -> &str {
        &self.prog
    }

    /// Prints `PROG: message` on stderr.
    pub fn warn(&self, message: impl std::fmt::Display) {
        // One write per line so concurrent output does not interleave
        // mid-message; errors writing to stderr cannot be reported anywhere.
        let line = format!("{}: {}\n", self.prog, message);
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }

    /// Prints `PROG: message` on stderr and exits with status 1.
    pub fn fatal(&self, message: impl std::fmt::Display) -> ! {
        self.warn(message);
        std::process::exit(EXIT_TENDER_ERROR)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basename_of_argv0() {
        let d = Diag::from_argv0(Some(OsStr::new("/usr/local/bin/solo5-spt")), "corten-spt");
        assert_eq!(d.prog(), "solo5-spt");
        let d = Diag::from_argv0(Some(OsStr::new("corten-hvt")), "x");
        assert_eq!(d.prog(), "corten-hvt");
    }

    #[test]
    fn fallback_when_missing_or_empty() {
        assert_eq!(Diag::from_argv0(None, "corten-spt").prog(), "corten-spt");
        assert_eq!(
            Diag::from_argv0(Some(OsStr::new("")), "corten-spt").prog(),
            "corten-spt"
        );
        assert_eq!(
            Diag::from_argv0(Some(OsStr::new("dir/")), "corten-spt").prog(),
            "corten-spt"
        );
    }
}
