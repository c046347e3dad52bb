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

/// How `list` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListFormat {
    Table,
    Json,
    /// Ids only (`--quiet`).
    Quiet,
}

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
    Pause {
        id: String,
    },
    Resume {
        id: String,
    },
    /// `exec [OPTIONS] ID [COMMAND...]`: only the id matters to
    /// corten-oci (runc gets the whole command line).
    Exec {
        id: String,
    },
    List {
        format: ListFormat,
    },
    /// New resource limits: `--resources` (a file, or `-` for stdin, read
    /// only once the container is known to be corten-oci's: runc reads it
    /// otherwise), then the flags over it.
    Update {
        id: String,
        file: Option<String>,
        flags: crate::update::Resources,
    },
    /// create, start, and (unless detached) wait for the exit and delete.
    Run {
        id: String,
        bundle: PathBuf,
        pid_file: Option<PathBuf>,
        console_socket: Option<PathBuf>,
        detach: bool,
        keep: bool,
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
  run [--bundle DIR] [--detach] [--keep] [--pid-file F] [--console-socket S] ID
                               (create + start; waits, exits with the
                               container's status and deletes it unless
                               --detach or --keep)
  state ID
  list [--format table|json] [--quiet]
  kill [--all] ID [SIGNAL]     (default SIGTERM; a number or a name)
  pause ID, resume ID          (freeze or thaw the container's cgroup)
  update [--resources FILE|-] [--memory N] [--cpu-shares N] [--cpu-quota N]
         [--cpu-period N] [--cpuset-cpus S] [--cpuset-mems S] [--pids-limit N]
         [--memory-reservation N] [--memory-swap N] [--blkio-weight N] ID
  exec [OPTIONS] ID COMMAND    (runc's containers only: a unikernel has
                               nothing to run a command in)
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

/// runc exec's options that take a value (the others are flags).
const EXEC_VALUES: [&str; 19] = [
    "--console-socket",
    "--pidfd-socket",
    "--cwd",
    "--env",
    "-e",
    "--user",
    "-u",
    "--additional-gids",
    "-g",
    "--process",
    "-p",
    "--apparmor",
    "--process-label",
    "--pid-file",
    "--cap",
    "-c",
    "--preserve-fds",
    "--cgroup",
    "--tty-size",
];

/// `exec`'s options end at the id; what follows is the command to run.
fn parse_exec(args: &mut Args<'_>) -> Result<Command, OciError> {
    while let Some(arg) = args.rest.next() {
        let (name, inline) = split(arg);
        if EXEC_VALUES.contains(&name) {
            args.value(name, inline)?;
        } else if !name.starts_with('-') || name == "-" {
            crate::state::check_id(arg)?;
            return Ok(Command::Exec { id: arg.clone() });
        }
    }
    Err(OciError::Usage("exec: container id cannot be empty".into()))
}

/// The options of one command and its operands (`ID`, `SIGNAL`).
fn parse_command(command: &str, args: &mut Args<'_>) -> Result<Command, OciError> {
    if command == "exec" {
        return parse_exec(args);
    }
    let mut bundle = PathBuf::from(".");
    let mut pid_file = None;
    let mut console_socket = None;
    let mut all = false;
    let mut force = false;
    let mut json = false;
    let mut list_format = ListFormat::Table;
    let mut detach = false;
    let mut keep = false;
    let mut quiet = false;
    let mut resources_file = None;
    let mut flags = crate::update::Resources::default();
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
            ("run", "--detach" | "-d") => detach = true,
            ("run", "--keep") => keep = true,
            ("run", "--no-subreaper") => {}
            ("list", "--quiet" | "-q") => quiet = true,
            ("update", "--resources" | "-r") => resources_file = Some(args.value(name, inline)?),
            ("update", n) if crate::update::FLAGS.contains(&n) => {
                let v = args.value(n, inline)?;
                flags.set_flag(n, &v)?;
            }
            ("list", "--format" | "-f") => {
                list_format = match args.value(name, inline)?.as_str() {
                    "json" => ListFormat::Json,
                    "table" => ListFormat::Table,
                    other => {
                        return Err(OciError::Usage(format!(
                            "unknown list format {other:?}, expected table or json"
                        )))
                    }
                }
            }
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
        "run" => Command::Run {
            id: id()?,
            bundle,
            pid_file,
            console_socket,
            detach,
            keep,
        },
        "pause" => Command::Pause { id: id()? },
        "resume" => Command::Resume { id: id()? },
        "update" => Command::Update {
            id: id()?,
            file: resources_file,
            flags,
        },
        "list" => Command::List {
            format: if quiet {
                ListFormat::Quiet
            } else {
                list_format
            },
        },
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
    fn run_list_pause_exec() {
        let r = parse(&argv("run -d --keep --bundle /b --pid-file /p c1")).unwrap();
        assert_eq!(
            r.command,
            Command::Run {
                id: "c1".into(),
                bundle: "/b".into(),
                pid_file: Some("/p".into()),
                console_socket: None,
                detach: true,
                keep: true,
            }
        );
        let list = |s: &str| parse(&argv(s)).unwrap().command;
        assert_eq!(
            list("list"),
            Command::List {
                format: ListFormat::Table
            }
        );
        assert_eq!(
            list("list -f json"),
            Command::List {
                format: ListFormat::Json
            }
        );
        assert_eq!(
            list("list --format=json -q"),
            Command::List {
                format: ListFormat::Quiet
            }
        );
        assert_eq!(list("pause c1"), Command::Pause { id: "c1".into() });
        assert_eq!(list("resume c1"), Command::Resume { id: "c1".into() });
        // The shim's exec: options with values before the id, then the
        // command, whose own options are not corten-oci's.
        assert_eq!(
            list("exec --process /b/p.json --detach --pid-file /b/e.pid c1"),
            Command::Exec { id: "c1".into() }
        );
        let u = list("update --resources - --memory 1g --cpu-quota=50000 c1");
        let Command::Update { id, file, flags } = u else {
            panic!("{u:?}")
        };
        assert_eq!((id.as_str(), file.as_deref()), ("c1", Some("-")));
        assert_eq!(
            (flags.memory, flags.cpu_quota),
            (Some(1 << 30), Some(50000))
        );
        assert_eq!(
            list("exec -t --cwd / -e A=1 --user=0:0 c1 ls -l --color"),
            Command::Exec { id: "c1".into() }
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
            "list c1",
            "list --format yaml",
            "pause",
            "exec --tty",
            "exec --cwd",
            "exec ../x sh",
            "run --frob c1",
            "update --memory lots c1",
            "update --cpu-shares c1",
            "update --bogus 1 c1",
            "--root",
        ] {
            assert!(parse(&argv(bad)).is_err(), "{bad:?} parsed");
        }
    }
}
