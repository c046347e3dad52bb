//! corten-oci: a runc-compatible OCI runtime for Solo5 unikernel images
//! (see README.md and docs/kubernetes.md).

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod cgroup;
mod cli;
mod commands;
mod console;
mod create;
mod error;
mod image;
mod log;
mod mounts;
mod net;
mod out;
mod pid1;
mod rootfs;
mod run;
mod runc;
mod signal;
mod spec;
mod state;
mod tenders;
mod time;
mod update;
mod which;

use std::process::ExitCode;

use cli::Command;
use error::OciError;

/// The OCI runtime spec version corten-oci implements.
pub const OCI_VERSION: &str = "1.0.2";

/// Runs the command; the exit status (0 but for a foreground `run`).
fn run(inv: &cli::Invocation, argv: &[String]) -> Result<u8, OciError> {
    let root = &inv.global.root;
    let done = |r: Result<(), OciError>| r.map(|()| 0);
    match &inv.command {
        Command::Create {
            id,
            bundle,
            pid_file,
            console_socket,
        } => done(create::run(
            &create::Request {
                root,
                id,
                bundle,
                pid_file: pid_file.as_deref(),
                console_socket: console_socket.as_deref(),
                stdio_console: false,
            },
            argv,
        )),
        Command::Run {
            id,
            bundle,
            pid_file,
            console_socket,
            detach,
            keep,
        } => run::run(
            &run::Request {
                create: create::Request {
                    root,
                    id,
                    bundle,
                    pid_file: pid_file.as_deref(),
                    console_socket: console_socket.as_deref(),
                    stdio_console: console_socket.is_none(),
                },
                detach: *detach,
                keep: *keep,
            },
            argv,
        ),
        Command::Start { id } => done(commands::start(root, id, argv)),
        Command::State { id } => done(commands::state(root, id, argv)),
        Command::Kill { id, signal, all } => done(commands::kill(root, id, signal, *all, argv)),
        Command::Delete { id, force } => done(commands::delete(root, id, *force, argv)),
        Command::Ps { id, json } => done(commands::ps(root, id, *json, argv)),
        Command::Pause { id } => done(commands::pause(root, id, argv)),
        Command::Resume { id } => done(commands::resume(root, id, argv)),
        Command::Exec { id } => done(commands::exec(root, id, argv)),
        Command::List { format } => done(commands::list(root, *format)),
        Command::Update { id, file, flags } => {
            done(commands::update(root, id, file.as_deref(), flags, argv))
        }
        Command::Features => done(out::line(&format!("{:#}", commands::features()))),
        Command::Version => done(out::line(&format!(
            "corten-oci version {}\nspec: {OCI_VERSION}\ntenders: corten-spt, corten-hvt (Solo5 ABI 2); other bundles: runc",
            env!("CARGO_PKG_VERSION")
        ))),
        Command::Help => done(out::print(cli::usage())),
    }
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let inv = match cli::parse(&argv) {
        Ok(inv) => inv,
        Err(e) => {
            // Where to log is not known yet if parsing failed early.
            log::error(
                None,
                cli::LogFormat::Text,
                &format!("{e}\n\n{}", cli::usage()),
            );
            return ExitCode::FAILURE;
        }
    };
    match run(&inv, &argv) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            log::error(
                inv.global.log.as_deref(),
                inv.global.log_format,
                &e.to_string(),
            );
            ExitCode::FAILURE
        }
    }
}
