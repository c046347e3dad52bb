//! `cargo xtask install [--prefix P] [--upstream-names]`: installs exactly
//! the shipped builds of `target/bin` (built first) into `P/bin`, with
//! their debug info in `P/bin/.debug/` where gdb finds it through each
//! binary's `.gnu_debuglink`. `--upstream-names` installs them as
//! `solo5-spt`, `solo5-hvt` and `solo5-elftool`, so tools and scripts
//! written for upstream Solo5 (MirageOS's, urunc's) run Corten's;
//! `corten-oci` keeps its name and finds the tenders beside it.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::host::{self, BINARIES, DEBUG_DIR};

/// Where binaries go without `--prefix`.
const DEFAULT_PREFIX: &str = "/usr/local";

/// What to install where.
#[derive(Debug, PartialEq, Eq)]
pub struct Options {
    pub prefix: PathBuf,
    pub upstream_names: bool,
}

pub fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        prefix: PathBuf::from(DEFAULT_PREFIX),
        upstream_names: false,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--prefix" => {
                let p = it.next().ok_or("--prefix needs a directory")?;
                o.prefix = PathBuf::from(p);
            }
            "--upstream-names" => o.upstream_names = true,
            other => match other.strip_prefix("--prefix=") {
                Some(p) => o.prefix = PathBuf::from(p),
                None => return Err(format!("unknown install option '{other}'")),
            },
        }
    }
    if o.prefix.as_os_str().is_empty() {
        return Err("--prefix needs a directory".into());
    }
    Ok(o)
}

/// The installed name of shipped binary `name` ("corten-spt" → "solo5-spt"
/// with `upstream_names`).
pub fn installed_name(name: &str, upstream_names: bool) -> String {
    match name.strip_prefix("corten-") {
        // corten-oci has no upstream counterpart: it keeps its name.
        Some(rest @ ("spt" | "hvt" | "elftool")) if upstream_names => format!("solo5-{rest}"),
        _ => name.to_owned(),
    }
}

pub fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let o = parse(args)?;
    host::build(root, true)?;
    install(&host::bin_dir(root), &o)
}

/// Installs the shipped binaries of `from` (a `target/bin`) as `o` says.
fn install(from: &Path, o: &Options) -> Result<(), String> {
    let bin = o.prefix.join("bin");
    let debug = bin.join(DEBUG_DIR);
    fs::create_dir_all(&debug).map_err(|e| format!("{}: {e}", debug.display()))?;
    for name in BINARIES {
        // The debug file keeps its shipped name: that is what the binary's
        // .gnu_debuglink names, whatever the binary is installed as.
        let debug_file = host::debug_file(name);
        copy(&from.join(&debug_file), &bin.join(&debug_file), 0o644)?;
        let to = bin.join(installed_name(name, o.upstream_names));
        copy(&from.join(name), &to, 0o755)?;
        eprintln!("xtask: installed {}", to.display());
    }
    Ok(())
}

/// Copies under a temporary name and renames, so a tender running from the
/// prefix is never overwritten in place.
fn copy(from: &Path, to: &Path, mode: u32) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let dir = to.parent().unwrap_or(Path::new("."));
    let name = to.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.join(format!(".{name}.new"));
    fs::copy(from, &tmp).map_err(|e| format!("{}: {e}", from.display()))?;
    fs::set_permissions(&tmp, fs::Permissions::from_mode(mode))
        .map_err(|e| format!("{}: {e}", tmp.display()))?;
    fs::rename(&tmp, to).map_err(|e| format!("{}: {e}", to.display()))
}

/// The most an installed binary may weigh (issue 8: lean binaries).
const MAX_SIZE: u64 = 1 << 20;

/// Part of `cargo xtask test`, after the build: installs the shipped
/// binaries under upstream's names into a scratch prefix and checks what a
/// user gets: each at most 1 MiB, each runs, corten-spt runs hello, and gdb
/// finds the debug info beside them (source lines of each crate's `main`).
pub fn check(root: &Path) -> Result<(), String> {
    let prefix = root.join("target/install-check");
    let _ = fs::remove_dir_all(&prefix);
    let o = Options {
        prefix: prefix.clone(),
        upstream_names: true,
    };
    install(&host::bin_dir(root), &o)?;
    let hello = root.join("target/unikernels/hello.spt");
    for name in BINARIES {
        let bin = prefix.join("bin").join(installed_name(name, true));
        let size = fs::metadata(&bin)
            .map_err(|e| format!("{}: {e}", bin.display()))?
            .len();
        if size > MAX_SIZE {
            return Err(format!(
                "{}: {size} bytes, expected at most {MAX_SIZE}",
                bin.display()
            ));
        }
        let version = output(Command::new(&bin).arg("--version"))?;
        if !version.status.success() {
            return Err(format!("{} --version failed", bin.display()));
        }
        // The Rust main of crate corten_spt etc. (the C `main` around it
        // is std's and has no line info).
        let rust_main = format!("info line {}::main", name.replace('-', "_"));
        let gdb = output(
            Command::new("gdb")
                .args(["-nx", "-batch", "-ex", &rust_main])
                .arg(&bin),
        )?;
        let said = String::from_utf8_lossy(&gdb.stdout);
        if !said.contains("Line ") || !said.contains("src/main.rs") {
            return Err(format!(
                "gdb did not find the debug info of {}: {said}{}",
                bin.display(),
                String::from_utf8_lossy(&gdb.stderr)
            ));
        }
        eprintln!("xtask: install check: {} ({size} bytes) ok", bin.display());
    }
    let spt = prefix.join("bin/solo5-spt");
    let run = output(Command::new(&spt).arg(&hello))?;
    if !run.status.success() || !String::from_utf8_lossy(&run.stdout).contains("Hello, World") {
        return Err(format!(
            "{} {} did not run hello: {}",
            spt.display(),
            hello.display(),
            String::from_utf8_lossy(&run.stderr)
        ));
    }
    fs::remove_dir_all(&prefix).map_err(|e| format!("{}: {e}", prefix.display()))
}

fn output(cmd: &mut Command) -> Result<std::process::Output, String> {
    cmd.output()
        .map_err(|e| format!("could not run {:?}: {e}", cmd.get_program()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn options() {
        assert_eq!(
            parse(&[]).unwrap(),
            Options {
                prefix: PathBuf::from("/usr/local"),
                upstream_names: false
            }
        );
        let o = parse(&args(&["--prefix", "/opt/c", "--upstream-names"])).unwrap();
        assert_eq!(o.prefix, PathBuf::from("/opt/c"));
        assert!(o.upstream_names);
        assert_eq!(
            parse(&args(&["--prefix=/x"])).unwrap().prefix,
            PathBuf::from("/x")
        );
        assert!(parse(&args(&["--prefix"])).is_err());
        assert!(parse(&args(&["--prefix="])).is_err());
        assert!(parse(&args(&["--strip"])).is_err());
    }

    #[test]
    fn names() {
        assert_eq!(installed_name("corten-spt", false), "corten-spt");
        assert_eq!(installed_name("corten-spt", true), "solo5-spt");
        assert_eq!(installed_name("corten-elftool", true), "solo5-elftool");
        assert_eq!(installed_name("corten-oci", true), "corten-oci");
    }
}
