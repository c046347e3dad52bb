//! The command line: upstream's three commands plus Corten's.

use std::ffi::{OsStr, OsString};
use std::fmt::Write;

use corten_manifest::GENERATOR_VERSION;

/// Default and largest `--mem` (MiB): the tenders' own (corten-abi).
pub use corten_abi::mem::{DEFAULT_MEM_MIB, MAX_MEM_MIB};

/// What `gen-manifest` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// C source for upstream's `mft_abi.h` (upstream's output).
    C,
    /// Rust source declaring the note with `corten_abi` types.
    Rust,
    /// The raw MFT1 note bytes.
    Note,
}

/// The tender a unikernel is validated for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Spt,
    Hvt,
}

impl Target {
    pub fn name(self) -> &'static str {
        match self {
            Target::Spt => "spt",
            Target::Hvt => "hvt",
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    GenManifest {
        format: Format,
        source: OsString,
        output: OsString,
    },
    QueryManifest {
        binary: OsString,
    },
    QueryAbi {
        binary: OsString,
    },
    Validate {
        binary: OsString,
        target: Option<Target>,
        mem_mib: u64,
    },
    Help,
    Version,
}

/// Bad arguments: print the message (if any) and the usage, exit 1.
#[derive(Debug, PartialEq, Eq)]
pub struct UsageError {
    pub message: Option<String>,
}

fn usage_error(message: impl Into<String>) -> UsageError {
    UsageError {
        message: Some(message.into()),
    }
}

const BARE: UsageError = UsageError { message: None };

/// Parses the arguments after the program name. As upstream, a wrong
/// command or a wrong number of arguments is a usage error.
pub fn parse(args: &[OsString]) -> Result<Command, UsageError> {
    let Some((command, rest)) = args.split_first() else {
        return Err(BARE);
    };
    let Some(command) = command.to_str() else {
        return Err(BARE);
    };
    match (command, rest) {
        ("--help" | "-h" | "help", []) => Ok(Command::Help),
        ("--version", []) => Ok(Command::Version),
        ("gen-manifest", rest) => parse_gen(rest),
        ("query-manifest", [binary]) => Ok(Command::QueryManifest {
            binary: binary.clone(),
        }),
        ("query-abi", [binary]) => Ok(Command::QueryAbi {
            binary: binary.clone(),
        }),
        ("validate", rest) => parse_validate(rest),
        _ => Err(BARE),
    }
}

fn parse_gen(args: &[OsString]) -> Result<Command, UsageError> {
    let (format, files) = match args.split_first() {
        Some((flag, files)) if flag == "--rust" => (Format::Rust, files),
        Some((flag, files)) if flag == "--note" => (Format::Note, files),
        Some((flag, files)) if flag == "--c" => (Format::C, files),
        _ => (Format::C, args),
    };
    let files = match files.split_first() {
        Some((dashes, files)) if dashes == "--" => files,
        _ => files,
    };
    match files {
        [source, output] => Ok(Command::GenManifest {
            format,
            source: source.clone(),
            output: output.clone(),
        }),
        _ => Err(BARE),
    }
}

fn parse_target(value: &OsStr) -> Result<Target, UsageError> {
    match value.to_str() {
        Some("spt") => Ok(Target::Spt),
        Some("hvt") => Ok(Target::Hvt),
        _ => Err(usage_error(format!(
            "validate: --target {}: expected spt or hvt",
            value.to_string_lossy()
        ))),
    }
}

fn parse_mem(value: &OsStr) -> Result<u64, UsageError> {
    match value.to_str().and_then(|v| v.parse::<u64>().ok()) {
        Some(mib) if (1..=MAX_MEM_MIB).contains(&mib) => Ok(mib),
        _ => Err(usage_error(format!(
            "validate: --mem={}: expected a size in MiB from 1 to {MAX_MEM_MIB}",
            value.to_string_lossy()
        ))),
    }
}

fn parse_validate(args: &[OsString]) -> Result<Command, UsageError> {
    let mut binary: Option<OsString> = None;
    let mut target = None;
    let mut mem_mib = DEFAULT_MEM_MIB;
    let mut options_done = false;
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let text = arg.to_str().unwrap_or("");
        if !options_done && text == "--" {
            options_done = true;
        } else if !options_done && text == "--target" {
            let value = iter
                .next()
                .ok_or_else(|| usage_error("validate: --target needs a value, spt or hvt"))?;
            target = Some(parse_target(value)?);
        } else if let Some(value) = text.strip_prefix("--target=").filter(|_| !options_done) {
            target = Some(parse_target(OsStr::new(value))?);
        } else if let Some(value) = text.strip_prefix("--mem=").filter(|_| !options_done) {
            mem_mib = parse_mem(OsStr::new(value))?;
        } else if !options_done && text.starts_with("--") {
            return Err(usage_error(format!("validate: unknown option {text}")));
        } else if binary.is_none() {
            binary = Some(arg.clone());
        } else {
            return Err(BARE);
        }
    }
    match binary {
        Some(binary) => Ok(Command::Validate {
            binary,
            target,
            mem_mib,
        }),
        None => Err(BARE),
    }
}

/// The usage text: upstream's, then Corten's additions.
pub fn usage(prog: &str) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "usage: {prog} COMMAND ...\n\
         {prog} version {GENERATOR_VERSION}\n\
         \n\
         COMMAND is:\n\
         \x20   gen-manifest SOURCE OUTPUT:\n\
         \x20       Generate application manifest from SOURCE, writing to OUTPUT.\n\
         \x20   query-abi BINARY:\n\
         \x20       Display the ABI target and version from BINARY.\n\
         \x20   query-manifest BINARY:\n\
         \x20       Display the application manifest from BINARY.\n\
         \n\
         Corten additions:\n\
         \x20   gen-manifest --rust SOURCE OUTPUT:\n\
         \x20       Write the manifest as Rust source for a corten-abi guest.\n\
         \x20   gen-manifest --note SOURCE OUTPUT:\n\
         \x20       Write the raw MFT1 ELF note.\n\
         \x20   validate [--target=spt|hvt] [--mem=MiB] BINARY:\n\
         \x20       Check BINARY as a tender would before running it (ELF headers,\n\
         \x20       ABI note, manifest, memory layout; --mem defaults to {DEFAULT_MEM_MIB}).\n\
         \x20   --help, --version\n\
         \n\
         SOURCE and OUTPUT may be - for standard input and output.\n"
    );
    s
}

/// `--version` text.
pub fn version(prog: &str) -> String {
    format!(
        "{prog} version {GENERATOR_VERSION}\nABI version {}\n",
        corten_abi::spt::SPT_ABI_VERSION
    )
}

/// The name to print: the basename of argv[0], as upstream, so the tool
/// names itself solo5-elftool when installed under that name.
pub fn program_name(argv0: Option<&OsString>) -> String {
    argv0
        .map(std::path::Path::new)
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "corten-elftool".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    fn parsed(list: &[&str]) -> Result<Command, UsageError> {
        parse(&args(list))
    }

    #[test]
    fn upstream_commands() {
        assert_eq!(
            parsed(&["gen-manifest", "m.json", "-"]),
            Ok(Command::GenManifest {
                format: Format::C,
                source: "m.json".into(),
                output: "-".into()
            })
        );
        assert_eq!(
            parsed(&["query-manifest", "x.hvt"]),
            Ok(Command::QueryManifest {
                binary: "x.hvt".into()
            })
        );
        assert_eq!(
            parsed(&["query-abi", "x.hvt"]),
            Ok(Command::QueryAbi {
                binary: "x.hvt".into()
            })
        );
    }

    #[test]
    fn wrong_arity_or_command_is_usage() {
        for bad in [
            &[][..],
            &["gen-manifest", "a"],
            &["gen-manifest", "a", "b", "c"],
            &["query-abi"],
            &["query-abi", "a", "b"],
            &["query-manifest"],
            &["frobnicate"],
            &["--help", "x"],
            &["validate"],
            &["validate", "a", "b"],
        ] {
            assert_eq!(parsed(bad), Err(BARE), "{bad:?}");
        }
    }

    #[test]
    fn gen_formats() {
        for (flag, format) in [
            ("--rust", Format::Rust),
            ("--note", Format::Note),
            ("--c", Format::C),
        ] {
            assert_eq!(
                parsed(&["gen-manifest", flag, "a", "b"]),
                Ok(Command::GenManifest {
                    format,
                    source: "a".into(),
                    output: "b".into()
                })
            );
        }
        assert_eq!(
            parsed(&["gen-manifest", "--", "--rust", "b"]),
            Ok(Command::GenManifest {
                format: Format::C,
                source: "--rust".into(),
                output: "b".into()
            })
        );
    }

    #[test]
    fn validate_options() {
        assert_eq!(
            parsed(&["validate", "k.spt"]),
            Ok(Command::Validate {
                binary: "k.spt".into(),
                target: None,
                mem_mib: 512
            })
        );
        for form in [
            &["validate", "k", "--target", "hvt"][..],
            &["validate", "--target=hvt", "k"],
            &["validate", "--target", "hvt", "--", "k"],
        ] {
            assert_eq!(
                parsed(form),
                Ok(Command::Validate {
                    binary: "k".into(),
                    target: Some(Target::Hvt),
                    mem_mib: 512
                }),
                "{form:?}"
            );
        }
        assert_eq!(
            parsed(&["validate", "--mem=64", "k"]),
            Ok(Command::Validate {
                binary: "k".into(),
                target: None,
                mem_mib: 64
            })
        );
        assert_eq!(
            parsed(&["validate", "--target=virtio", "k"]),
            Err(usage_error(
                "validate: --target virtio: expected spt or hvt"
            ))
        );
        assert!(parsed(&["validate", "--mem=0", "k"]).is_err());
        assert!(parsed(&["validate", "--mem=x", "k"]).is_err());
        assert!(parsed(&["validate", "--target"]).is_err());
        assert!(parsed(&["validate", "--frob", "k"]).is_err());
    }

    #[test]
    fn help_and_version() {
        assert_eq!(parsed(&["--help"]), Ok(Command::Help));
        assert_eq!(parsed(&["--version"]), Ok(Command::Version));
        assert!(version("solo5-elftool").contains("\nABI version 2\n"));
    }

    #[test]
    fn program_name_is_basename() {
        assert_eq!(
            program_name(Some(&"/usr/bin/solo5-elftool".into())),
            "solo5-elftool"
        );
        assert_eq!(program_name(Some(&"x".into())), "x");
        assert_eq!(program_name(None), "corten-elftool");
        assert_eq!(program_name(Some(&"".into())), "corten-elftool");
    }

    #[test]
    fn usage_starts_like_upstream() {
        let u = usage("solo5-elftool");
        assert!(u.starts_with(&format!(
            "usage: solo5-elftool COMMAND ...\nsolo5-elftool version {GENERATOR_VERSION}\n\nCOMMAND is:\n    gen-manifest SOURCE OUTPUT:\n"
        )));
    }
}
