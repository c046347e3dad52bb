//! runc's command line: global options, then a command and its options.
//!
//! What containerd's runc v2 shim, conmon (podman) and people type:
//! `corten-oci [--root R] [--log F] [--log-format text|json] [--debug]
//! [--systemd-cgroup] COMMAND [OPTIONS] ID`. Options take `--name value`
//! or `--name=value`; runc's other global options are accepted and
//! ignored, as runc ignores those that do not apply.

use std::path::PathBuf;

use crate::error::OciError;

/// Where container state lives without `--root` (runc: /run/runc).
pub const DEFAULT_ROOT: &str = "/run/corten-oci";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// The global options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Global {
    pub root: PathBuf,
    pub log: Option<PathBuf>,
    pub log_format: LogFormat,
    pub debug: bool,
    pub systemd_cgroup: bool,
}

/// One command with its options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Create {
        id: String,
        bundle: PathBuf,
        pid_file: Option<PathBuf>,
        console_socket: Option<PathBuf>,
    },
    Start {
        id: String,
    },
    State {
        id: String,
    },
    Kill {
        id: String,
        signal: String,
        all: bool,
    },
    Delete {
        id: String,
        force: bool,
    },
    Ps {
        id: String,
        json: bool,
    },
    Features,
    Version,
    Help,
}

/// The whole command line, and what the runc delegate needs to redo it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invocation {
    pub global: Global,
    pub command: Command,
}

const USAGE: &str = "\
usage: corten-oci [global options] COMMAND [options] ID

A runc-compatible OCI runtime: bundles whose process is a Solo5 unikernel
run on corten-spt or corten-hvt (chosen from the unikernel's ABI note);
every other bundle is handed to runc.

commands:
  create [--bundle DIR] [--pid-file F] [--console-socket S] ID
  start ID
  state ID
  kill [--all] ID [SIGNAL]     (default SIGTERM; a number or a name)
  delete [--force] ID
  ps [--format table|json] ID
  features
  --version

global options:
  --root DIR            state directory (default /run/corten-oci)
  --log FILE            where errors are logged (default: stderr only)
  --log-format text|json
  --debug, --systemd-cgroup, and runc's others are accepted
";

pub fn usage() -> &'static str {
    USAGE
}

/// Global options that take a value and that Corten ignores.
const IGNORED_WITH_VALUE: [&str; 2] = ["--criu", "--rootless"];
/// Flags that Corten ignores.
const IGNORED_FLAGS: [&str; 1] = ["--no-pivot"];

/// Splits `--name=value` into ("--name", Some(value)).
fn split(arg: &str) -> (&str, Option<&str>) {
    match arg.split_once('=') {
        Some((n, v)) if n.starts_with("--") => (n, Some(v)),
        _ => (arg, None),
    }
}

struct Args<'a> {
    rest: std::slice::Iter<'a, String>,
}

impl<'a> Args<'a> {
    /// The value of option `name`: inline (`--name=v`) or the next word.
    fn value(&mut self, name: &str, inline: Option<&'a str>) -> Result<String, OciError> {
        match inline {
            Some(v) => Ok(v.to_owned()),
            None => self
                .rest
                .next()
                .cloned()
                .ok_or_else(|| OciError::Usage(format!("option {name} needs a value"))),
        }
    }
}

pub fn parse(argv: &[String]) -> Result<Invocation, OciError> {
    let mut global = Global {
        root: PathBuf::from(DEFAULT_ROOT),
        log: None,
        log_format: LogFormat::Text,
        debug: false,
        systemd_cgroup: false,
    };
    let mut args = Args { rest: argv.iter() };
    let command = loop {
        let Some(arg) = args.rest.next() else {
            return Err(OciError::Usage("no command given".into()));
        };
        let (name, inline) = split(arg);
        match name {
            "--root" => global.root = PathBuf::from(args.value(name, inline)?),
            "--log" => global.log = Some(PathBuf::from(args.value(name, inline)?)),
            "--log-format" => {
                global.log_format = match args.value(name, inline)?.as_str() {
                    "text" => LogFormat::Text,
                    "json" => LogFormat::Json,
                    other => {
                        return Err(OciError::Usage(format!(
                            "unknown log format {other:?}, expected text or json"
                        )))
                    }
                }
            }
            "--debug" => global.debug = true,
            "--systemd-cgroup" => global.systemd_cgroup = true,
            "--version" | "-v" => break Command::Version,
            "--help" | "-h" | "help" => break Command::Help,
            n if IGNORED_WITH_VALUE.contains(&n) => {
                args.value(n, inline)?;
            }
            n if n.starts_with('-') => {
                return Err(OciError::Usage(format!("unknown global option {n}")));
            }
            _ => break parse_command(arg, &mut args)?,
        }
    };
    Ok(Invocation { global, command })
}

/// The options of one command and its operands (`ID`, `SIGNAL`).
fn parse_command(command: &str, args: &mut Args<'_>) -> Result<Command, OciError> {
    let mut bundle = PathBuf::from(".");
    let mut pid_file = None;
    let mut console_socket = None;
    let mut all = false;
    let mut force = false;
    let mut json = false;
    let mut operands = Vec::new();
    while let Some(arg) = args.rest.next() {
        let (name, inline) = split(arg);
        match (command, name) {
            ("create" | "run", "--bundle" | "-b") => {
                bundle = PathBuf::from(args.value(name, inline)?)
            }
            ("create" | "run", "--pid-file") => {
                pid_file = Some(PathBuf::from(args.value(name, inline)?))
            }
            ("create" | "run", "--console-socket") => {
                console_socket = Some(PathBuf::from(args.value(name, inline)?))
            }
            ("create" | "run", "--preserve-fds") => {
                args.value(name, inline)?;
            }
            ("create" | "run", "--no-new-keyring") => {}
            ("kill", "--all" | "-a") => all = true,
            ("delete", "--force" | "-f") => force = true,
            ("ps", "--format" | "-f") => {
                json = match args.value(name, inline)?.as_str() {
                    "json" => true,
                    "table" => false,
                    other => {
                        return Err(OciError::Usage(format!(
                            "unknown ps format {other:?}, expected table or json"
                        )))
                    }
                }
            }
            (_, n) if IGNORED_FLAGS.contains(&n) => {}
            (_, n) if n.starts_with('-') && n.len() > 1 => {
                return Err(OciError::Usage(format!(
                    "unknown option {n} for command {command}"
                )));
            }
            _ => operands.push(arg.clone()),
        }
    }
    let mut operands = operands.into_iter();
    let mut id = || -> Result<String, OciError> {
        let id = operands
            .next()
            .ok_or_else(|| OciError::Usage(format!("{command}: container id cannot be empty")))?;
        crate::state::check_id(&id)?;
        Ok(id)
    };
    let cmd = match command {
        "create" => Command::Create {
            id: id()?,
            bundle,
            pid_file,
            console_socket,
        },
        "start" => Command::Start { id: id()? },
        "state" => Command::State { id: id()? },
        "kill" => {
            let id = id()?;
            Command::Kill {
                id,
                signal: operands.next().unwrap_or_else(|| "SIGTERM".to_owned()),
                all,
            }
        }
        "delete" => Command::Delete { id: id()?, force },
        "ps" => Command::Ps { id: id()?, json },
        "features" => Command::Features,
        other => return Err(OciError::Usage(format!("unknown command {other:?}"))),
    };
    if let Some(extra) = operands.next() {
        return Err(OciError::Usage(format!(
            "{command}: unexpected argument {extra:?}"
        )));
    }
    Ok(cmd)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn the_shims_create() {
        let i = parse(&argv(
            "--root /run/r --log /b/log.json --log-format json create --bundle /b \
             --pid-file /b/init.pid --console-socket /s c1",
        ))
        .unwrap();
        assert_eq!(i.global.root, PathBuf::from("/run/r"));
        assert_eq!(i.global.log, Some(PathBuf::from("/b/log.json")));
        assert_eq!(i.global.log_format, LogFormat::Json);
        assert_eq!(
            i.command,
            Command::Create {
                id: "c1".into(),
                bundle: "/b".into(),
                pid_file: Some("/b/init.pid".into()),
                console_socket: Some("/s".into()),
            }
        );
    }

    #[test]
    fn kill_delete_ps_and_inline_values() {
        let k = parse(&argv("--root=/r kill --all c1 9")).unwrap();
        assert_eq!(
            k.command,
            Command::Kill {
                id: "c1".into(),
                signal: "9".into(),
                all: true
            }
        );
        let k = parse(&argv("kill c1")).unwrap();
        assert!(
            matches!(k.command, Command::Kill { ref signal, all: false, .. } if signal == "SIGTERM")
        );
        let d = parse(&argv("delete --force c1")).unwrap();
        assert_eq!(
            d.command,
            Command::Delete {
                id: "c1".into(),
                force: true
            }
        );
        let p = parse(&argv("ps --format=json c1")).unwrap();
        assert_eq!(
            p.command,
            Command::Ps {
                id: "c1".into(),
                json: true
            }
        );
        assert_eq!(parse(&argv("--version")).unwrap().command, Command::Version);
        assert_eq!(
            parse(&argv("--systemd-cgroup features")).unwrap().command,
            Command::Features
        );
    }

    #[test]
    fn errors() {
        for bad in [
            "",
            "start",
            "frobnicate c1",
            "--log-format yaml state c1",
            "--bogus state c1",
            "kill --everything c1",
            "state c1 c2",
            "state ../x",
            "--root",
        ] {
            assert!(parse(&argv(bad)).is_err(), "{bad:?} parsed");
        }
    }
}
