//! A from-scratch reimplementation of mothur's `dist.seqs` and `cluster`
//! commands whose output files are byte-identical to mothur 1.48.0.
//!
//! The library is `no_std` + `alloc` so that the same code runs natively
//! (through `std::fs`, see the `corten-mothur` binary) and inside a
//! freestanding unikernel (through block devices, see [`archive`]).
//! Everything that touches files goes through the [`Files`] seam.
#![cfg_attr(not(test), no_std)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

extern crate alloc;

pub mod archive;
pub mod cluster;
pub mod command;
pub mod counts;
pub mod dist;
pub mod distseqs;
pub mod fasta;
pub mod matrix;
pub mod numfmt;
pub mod output;
pub mod paths;
pub mod rng;
pub mod stdsort;

use alloc::string::String;
use core::fmt;

/// Every failure is a message in mothur's spirit; nothing here panics on
/// bad input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(pub String);

impl Error {
    /// Builds an error from anything printable.
    pub fn new(msg: impl Into<String>) -> Self {
        Error(msg.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Shorthand for building an `Err(Error)` with `format!` syntax.
#[macro_export]
macro_rules! err {
    ($($arg:tt)*) => { Err($crate::Error(alloc::format!($($arg)*))) };
}

/// Where input files come from and where output files go.
pub trait Files {
    /// Reads the whole file `name`.
    fn read(&mut self, name: &str) -> Result<alloc::vec::Vec<u8>, Error>;
    /// Creates or replaces the file `name` with `data`.
    fn write(&mut self, name: &str, data: &[u8]) -> Result<(), Error>;
}

/// Runs a mothur batch string such as
/// `#dist.seqs(fasta=s.fasta, cutoff=0.03); cluster(column=s.dist, count=s.count_table)`.
///
/// Commands run in order. Like mothur, a failing command does not stop
/// the batch: its message goes to `log`, the following commands still run
/// (with the current files as they are), and the batch then fails with the
/// messages of every failed command, one per line.
/// Progress and the names of written files go to `log`.
pub fn run(commands: &str, files: &mut dyn Files, log: &mut dyn fmt::Write) -> Result<(), Error> {
    let batch = command::parse_batch(commands)?;
    let mut current = command::Current::default();
    let mut failures: alloc::vec::Vec<String> = alloc::vec::Vec::new();
    for cmd in &batch {
        let _ = writeln!(log, "mothur > {}", cmd.text);
        let result = match cmd.name.as_str() {
            "dist.seqs" => distseqs::run(cmd, &mut current, files, log),
            "cluster" => cluster::run(cmd, &mut current, files, log),
            "quit" => break,
            other => err!(
                "{} is not a valid command; this implementation supports dist.seqs, cluster and quit.",
                other
            ),
        };
        if let Err(e) = result {
            let _ = writeln!(log, "{}", e);
            failures.push(e.0);
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(Error(failures.join("\n")))
    }
}
