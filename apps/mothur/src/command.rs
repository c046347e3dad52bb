//! mothur's batch syntax: `#cmd(key=value, key=value); cmd2(...)`.
//!
//! Rules (from mothur's `optionparser.cpp` / `commandoptionparser.cpp`):
//! options are split at `,`, then at the first `=`; keys and values are
//! trimmed of white space; a value wrapped in single quotes keeps its
//! inner spaces. mothur silently drops parameters it does not know; we
//! reject them with a clear error instead.

use crate::{err, paths, Error, Files};
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt::Write;

/// One parsed command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// Command name, e.g. `dist.seqs`.
    pub name: String,
    /// The command as written (for the log).
    pub text: String,
    /// Options in the order given.
    pub options: Vec<(String, String)>,
}

/// Files remembered between commands of one batch, like mothur's
/// "current" files (dist.seqs sets the column/phylip file cluster uses).
#[derive(Debug, Clone, Default)]
pub struct Current {
    /// Last column-format distance file written or read.
    pub column: Option<String>,
    /// Last phylip-format distance file written or read.
    pub phylip: Option<String>,
    /// Last count table used.
    pub count: Option<String>,
    /// Last name file used.
    pub name: Option<String>,
    /// Last fasta file given to dist.seqs.
    pub fasta: Option<String>,
    /// Output directory set by an `outputdir=` (with its `/`); later
    /// commands of the batch write there too.
    pub outputdir: Option<String>,
    /// Input directories set by an `inputdir=` (each with its `/`).
    pub inputdirs: Vec<String>,
    /// Random seed set by a `seed=` option (mothur keeps it for later commands).
    pub seed: Option<u64>,
}

/// Splits a batch string into commands. A leading `#` (mothur's batch
/// marker) is optional; empty commands are skipped.
pub fn parse_batch(input: &str) -> Result<Vec<Command>, Error> {
    let s = input.trim();
    let s = s.strip_prefix('#').unwrap_or(s);
    let mut out = Vec::new();
    for part in s.split(';') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        out.push(parse_command(part)?);
    }
    if out.is_empty() {
        return err!("no command given");
    }
    Ok(out)
}

/// mothur's `Utils::isBlank`: leading NUL bytes, then white space (C
/// `isspace`), then nothing.
pub fn is_blank(data: &[u8]) -> bool {
    let rest = data.iter().skip_while(|&&b| b == 0);
    let mut rest = rest.skip_while(|&&b| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'));
    rest.next().is_none()
}

/// What mothur does with a command's options before the command itself
/// runs (`CommandFactory::checkForRedirects`, then `validFile` per file
/// parameter in `keys`):
/// - `outputdir=` and `inputdir=` (`;`-separated) become the batch's
///   directories: they stay in force for the following commands;
/// - a file parameter is found where `Utils::checkLocations` looks: the
///   name as given, then each input directory, then the output directory
///   (the latter two with the name's last component); the option is
///   rewritten to the name found; a file found nowhere is an error;
/// - a file that is blank is reported and then treated as **not given**
///   (mothur goes on to its current-file fallbacks, or aborts when there
///   is none), so the option is removed.
pub fn prepare_files(
    cmd: &Command,
    keys: &[&str],
    current: &mut Current,
    files: &mut dyn Files,
    log: &mut dyn Write,
) -> Result<Command, Error> {
    if let Some(d) = cmd.get("outputdir").filter(|d| !d.is_empty()) {
        current.outputdir = Some(paths::dir_with_slash(d));
    }
    if let Some(dirs) = cmd.get("inputdir") {
        let dirs: Vec<String> = dirs
            .split(';')
            .filter(|d| !d.is_empty())
            .map(paths::dir_with_slash)
            .collect();
        if !dirs.is_empty() {
            current.inputdirs = dirs;
        }
    }
    let mut out = cmd.clone();
    for key in keys {
        let Some(v) = cmd.get(key) else { continue };
        let simple = paths::simple_name(v);
        let mut candidates = Vec::from([String::from(v)]);
        for d in current.inputdirs.iter().chain(current.outputdir.iter()) {
            candidates.push(alloc::format!("{}{}", d, simple));
        }
        let mut found = None;
        for c in candidates {
            if let Ok(data) = files.read(&c) {
                found = Some((c, data));
                break;
            }
        }
        let Some((name, data)) = found else {
            // the error of the name as given
            files.read(v)?;
            return err!("[ERROR]: Unable to open {}", v);
        };
        if is_blank(&data) {
            let _ = writeln!(log, "[ERROR]: {} is blank, aborting.", name);
            out.options.retain(|(k, _)| k != key);
        } else if let Some(slot) = out.options.iter_mut().find(|(k, _)| k == key) {
            slot.1 = name;
        }
    }
    Ok(out)
}

/// Parses `name(options)`.
pub fn parse_command(text: &str) -> Result<Command, Error> {
    let open = match text.find('(') {
        Some(i) => i,
        None => {
            return err!(
                "[ERROR]: {} is missing its parentheses, e.g. {}()",
                text,
                text
            )
        }
    };
    let close = match text.rfind(')') {
        Some(i) if i > open => i,
        _ => return err!("[ERROR]: {} is missing a closing parenthesis", text),
    };
    if !text[close + 1..].trim().is_empty() {
        return err!("[ERROR]: unexpected text after ')' in {}", text);
    }
    let name = text[..open].trim();
    if name.is_empty() {
        return err!("[ERROR]: command name missing in {}", text);
    }
    let inner = text[open + 1..close].trim();
    let mut options: Vec<(String, String)> = Vec::new();
    if !inner.is_empty() {
        for item in inner.split(',') {
            let Some((k, v)) = item.split_once('=') else {
                return err!(
                    "[ERROR]: option '{}' of {} is not of the form name=value",
                    item.trim(),
                    name
                );
            };
            let key = k.trim();
            if key.is_empty() || key.contains(char::is_whitespace) {
                return err!("[ERROR]: bad option name '{}' in {}", key, name);
            }
            let v = v.trim();
            let value = if v.len() >= 2 && v.starts_with('\'') && v.ends_with('\'') {
                &v[1..v.len() - 1]
            } else {
                v
            };
            // mothur keeps options in a map: a repeated key takes the last value.
            options.retain(|(k2, _)| k2 != key);
            options.push((key.to_string(), value.to_string()));
        }
    }
    Ok(Command {
        name: name.to_string(),
        text: text.to_string(),
        options,
    })
}

impl Command {
    /// Fails if any option is not in `allowed`.
    pub fn check_allowed(&self, allowed: &[&str]) -> Result<(), Error> {
        for (k, _) in &self.options {
            if !allowed.contains(&k.as_str()) {
                return err!(
                    "[ERROR]: {} is not a valid parameter for {}. The valid parameters are: {}",
                    k,
                    self.name,
                    allowed.join(", ")
                );
            }
        }
        Ok(())
    }

    /// The value of option `key`, if given.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.options
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// mothur's `Utils::isTrue`: `T`/`TRUE` in any case is true, **anything
/// else is false** (mothur takes `countends=yes` as F, silently).
pub fn is_true(v: &str) -> bool {
    matches!(v.to_ascii_uppercase().as_str(), "T" | "TRUE")
}

/// A number read into a C `float` (mothur's `float cutoff`), correctly
/// rounded straight to single precision like `istream >> float`.
pub fn parse_f32(key: &str, v: &str) -> Result<f32, Error> {
    match v.parse::<f32>() {
        Ok(x) if x.is_finite() => Ok(x),
        _ => err!("[ERROR]: cannot convert {}={} to a number.", key, v),
    }
}

/// A number read into a C `double`.
pub fn parse_f64(key: &str, v: &str) -> Result<f64, Error> {
    match v.parse::<f64>() {
        Ok(x) if x.is_finite() => Ok(x),
        _ => err!("[ERROR]: cannot convert {}={} to a number.", key, v),
    }
}

/// A positive integer option.
pub fn parse_positive_int(key: &str, v: &str) -> Result<u32, Error> {
    match v.parse::<u32>() {
        Ok(x) if x > 0 => Ok(x),
        _ => err!("[ERROR]: {}={} is not a positive whole number.", key, v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_files() {
        for b in [&b""[..], b" \n\t\r\n", b"\0\0\n \x0b\x0c"] {
            assert!(is_blank(b), "{:?}", b);
        }
        // NUL only counts before the white space; anything else is content
        for b in [&b"x"[..], b"\n\0", b"\0 \0", b"  a\n"] {
            assert!(!is_blank(b), "{:?}", b);
        }
    }

    #[test]
    fn parses_batch() {
        let b = parse_batch(
            "#dist.seqs(fasta=s.fasta, calc=onegap, countends=F, cutoff=0.03, output=lt, processors=1);cluster(column=s.dist)",
        )
        .unwrap();
        assert_eq!(b.len(), 2);
        assert_eq!(b[0].name, "dist.seqs");
        assert_eq!(b[0].get("countends"), Some("F"));
        assert_eq!(b[0].get("processors"), Some("1"));
        assert_eq!(b[1].get("column"), Some("s.dist"));
    }

    #[test]
    fn quoted_value_keeps_spaces() {
        let c = parse_command("dist.seqs(fasta=' a b ')").unwrap();
        assert_eq!(c.get("fasta"), Some(" a b "));
    }

    #[test]
    fn rejects_malformed() {
        assert!(parse_command("dist.seqs").is_err());
        assert!(parse_command("dist.seqs(fasta)").is_err());
        // a repeated option takes the last value, like mothur's map
        let c = parse_command("dist.seqs(fasta=a, cutoff=1, fasta=b)").unwrap();
        assert_eq!(c.get("fasta"), Some("b"));
        assert_eq!(c.options.len(), 2);
        assert!(parse_command("(fasta=a)").is_err());
        assert!(parse_batch(" ; ").is_err());
        let c = parse_command("dist.seqs(bogus=1)").unwrap();
        assert!(c.check_allowed(&["fasta"]).is_err());
    }

    #[test]
    fn numbers_and_bools() {
        assert!(is_true("t") && is_true("True"));
        assert!(!is_true("False") && !is_true("yes") && !is_true("1") && !is_true(""));
        assert_eq!(parse_f32("cutoff", "0.03").unwrap(), 0.03f32);
        assert!(parse_f32("cutoff", "abc").is_err());
        assert!(parse_f32("cutoff", "inf").is_err());
        assert!(parse_positive_int("processors", "0").is_err());
    }
}
