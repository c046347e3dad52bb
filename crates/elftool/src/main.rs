//! corten-elftool: generate, query and validate the Solo5 manifest and ABI
//! notes of unikernels. A drop-in `solo5-elftool`: the upstream commands
//! print what upstream prints, byte for byte.
//!
//! Every run has two phases: open every file the command needs, then enter
//! a seccomp sandbox (see `sandbox.rs` for the allow-list) and do the work
//! with nothing but reads and writes on those descriptors.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod cli;
mod files;
mod gen;
mod query;
mod sandbox;
mod selftest;
mod stdio;
mod validate;

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use corten_sandbox::SandboxError;
use thiserror::Error;

use cli::{Command, Format, Target};
use files::{Image, Input, OpenError, Output};
use sandbox::Descriptors;
use selftest::{SelfTest, SelfTestError};

#[derive(Debug, Error)]
enum Error {
    #[error(transparent)]
    Open(#[from] OpenError),
    #[error("cannot enter the seccomp sandbox: {0}")]
    Sandbox(#[from] SandboxError),
    #[error(transparent)]
    SelfTest(#[from] SelfTestError),
    #[error(transparent)]
    Gen(#[from] gen::GenError),
    #[error(transparent)]
    Query(#[from] query::QueryError),
    #[error(transparent)]
    Validate(#[from] validate::ValidateError),
}

/// A command with its files open, ready to run inside the sandbox.
enum Job {
    Gen {
        format: Format,
        source_name: String,
        input: Input,
        output_name: String,
        output: Output,
    },
    QueryManifest {
        name: String,
        image: Image,
    },
    QueryAbi {
        name: String,
        image: Image,
    },
    Validate {
        name: String,
        image: Image,
        target: Option<Target>,
        mem_mib: u64,
    },
}

fn name(path: &OsString) -> String {
    path.to_string_lossy().into_owned()
}

impl Job {
    /// Opens the files of `command` (in upstream's order: source, output).
    /// A command whose result goes to a standard output the launcher
    /// closed fails here, before any work.
    fn open(command: Command) -> Result<Option<Job>, OpenError> {
        let to_stdout = match &command {
            Command::GenManifest { output, .. } => (output == "-").then_some("generated manifest"),
            Command::QueryManifest { .. } => Some("manifest"),
            Command::QueryAbi { .. } => Some("ABI information"),
            Command::Validate { .. } => Some("verdict"),
            Command::Help | Command::Version => None,
        };
        if let Some(what) = to_stdout.filter(|_| stdio::stdout_was_closed()) {
            return Err(OpenError::StdoutClosed { what });
        }
        Ok(Some(match command {
            Command::GenManifest {
                format,
                source,
                output,
            } => Job::Gen {
                format,
                input: Input::open(&source)?,
                output: Output::open(&output)?,
                source_name: name(&source),
                output_name: name(&output),
            },
            Command::QueryManifest { binary } => Job::QueryManifest {
                image: Image::open(&binary)?,
                name: name(&binary),
            },
            Command::QueryAbi { binary } => Job::QueryAbi {
                image: Image::open(&binary)?,
                name: name(&binary),
            },
            Command::Validate {
                binary,
                target,
                mem_mib,
            } => Job::Validate {
                image: Image::open(&binary)?,
                name: name(&binary),
                target,
                mem_mib,
            },
            Command::Help | Command::Version => return Ok(None),
        }))
    }

    fn descriptors(&self) -> Descriptors {
        match self {
            Job::Gen { input, output, .. } => Descriptors {
                read: vec![input.fd()],
                write: vec![output.fd()],
                truncate: if output.truncates() {
                    vec![output.fd()]
                } else {
                    vec![]
                },
                ..Descriptors::default()
            },
            Job::QueryManifest { image, .. }
            | Job::QueryAbi { image, .. }
            | Job::Validate { image, .. } => Descriptors {
                pread: vec![image.fd()],
                ..Descriptors::default()
            },
        }
    }

    fn run(&mut self) -> Result<(), Error> {
        match self {
            Job::Gen {
                format,
                source_name,
                input,
                output_name,
                output,
            } => gen::run(*format, source_name, input, output_name, output)?,
            Job::QueryManifest { name, image } => query::query_manifest(name, image)?,
            Job::QueryAbi { name, image } => query::query_abi(name, image)?,
            Job::Validate {
                name,
                image,
                target,
                mem_mib,
            } => validate::run(name, image, *target, *mem_mib)?,
        }
        Ok(())
    }
}

fn print_stdout(text: &str) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::FAILURE,
    }
}

/// One write(2) for the whole message (eprintln! writes piecemeal).
fn print_stderr(text: &str) {
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

fn run(command: Command) -> Result<(), Error> {
    let selftest = SelfTest::from_env()?;
    let Some(mut job) = Job::open(command)? else {
        return Ok(());
    };
    let mut fds = job.descriptors();
    if let Some(test) = &selftest {
        fds.pread.push(test.fd());
    }
    let installed = sandbox::enter(&fds)?;
    if let Some(test) = selftest {
        test.run(installed);
    }
    let result = job.run();
    // The descriptors stay open until the process exits: closing them would
    // need close(2) (and fcntl(2) in debug builds) inside the sandbox.
    std::mem::forget(job);
    result
}

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    let prog = cli::program_name(args.first());
    let command = match cli::parse(args.get(1..).unwrap_or_default()) {
        Ok(command) => command,
        Err(usage) => {
            let mut text = usage
                .message
                .map(|m| format!("{prog}: {m}\n"))
                .unwrap_or_default();
            text.push_str(&cli::usage(&prog));
            print_stderr(&text);
            return ExitCode::FAILURE;
        }
    };
    match command {
        Command::Help => return print_stdout(&cli::usage(&prog)),
        Command::Version => return print_stdout(&cli::version(&prog)),
        _ => {}
    }
    match run(command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            print_stderr(&format!("{prog}: {e}\n"));
            ExitCode::FAILURE
        }
    }
}
