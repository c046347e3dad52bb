//! What there is to measure on this machine: Corten's tenders as `cargo
//! xtask build` left them, upstream Solo5's tenders when present
//! (`SOLO5_UPSTREAM_BIN`, else `PATH`), the test unikernels (Corten-built
//! in target/unikernels, upstream-built under `SOLO5_UPSTREAM_TESTS`),
//! and whether KVM is usable. Anything missing becomes a [`Skip`] with
//! the reason, printed and written to the report.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A measurement that was not made, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skip {
    pub what: String,
    pub reason: String,
}

impl Skip {
    pub fn new(what: impl Into<String>, reason: impl Into<String>) -> Skip {
        let s = Skip {
            what: what.into(),
            reason: reason.into(),
        };
        eprintln!("corten-bench: SKIP {}: {}", s.what, s.reason);
        s
    }
}

/// Which tender interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Spt,
    Hvt,
}

impl Kind {
    /// File extension of unikernels for this tender.
    pub fn ext(self) -> &'static str {
        match self {
            Kind::Spt => "spt",
            Kind::Hvt => "hvt",
        }
    }
}

/// Who built a tender or a unikernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    Corten,
    Upstream,
}

impl Origin {
    pub fn name(self) -> &'static str {
        match self {
            Origin::Corten => "corten",
            Origin::Upstream => "upstream",
        }
    }
}

/// A tender binary to run unikernels on.
#[derive(Clone, Debug, PartialEq)]
pub struct Tender {
    /// Short name for tables, e.g. "corten-spt (musl static-pie)".
    pub label: String,
    pub kind: Kind,
    pub origin: Origin,
    pub program: PathBuf,
    /// Extra environment (e.g. a switch turned off for comparison).
    pub env: Vec<(String, String)>,
    /// First line of `--version`.
    pub version: String,
    /// How it is linked ("static" / "dynamic"), from its program headers.
    pub linkage: String,
    /// A variant of another tender, shown for explanation only; no target
    /// is judged on it.
    pub variant: bool,
}

/// A unikernel file.
#[derive(Clone, Debug, PartialEq)]
pub struct Unikernel {
    /// e.g. "hello (Corten-built)".
    pub label: String,
    pub origin: Origin,
    pub path: PathBuf,
}

/// Subdirectory of target/unikernels holding the soft-float hvt builds.
pub const HVT_SOFT_DIR: &str = "hvt-soft";

/// Everything found.
#[derive(Clone, Debug)]
pub struct Inventory {
    pub tenders: Vec<Tender>,
    /// target/unikernels
    pub corten_unikernels: PathBuf,
    /// `SOLO5_UPSTREAM_TESTS` (test_NAME/test_NAME.{spt,hvt}).
    pub upstream_tests: Option<PathBuf>,
    /// Why hvt cannot run here, if it cannot.
    pub kvm_unusable: Option<String>,
}

impl Inventory {
    /// Looks for everything under the repository root `root`.
    pub fn discover(root: &Path, skips: &mut Vec<Skip>) -> Inventory {
        let mut tenders = Vec::new();
        let release = root.join("target/release");
        let musl = root.join(format!(
            "target/{}-unknown-linux-musl/release",
            std::env::consts::ARCH
        ));
        // On PVM, KVM emulates guest code at CPL 0 and corten-hvt moves
        // guests to ring 3; the variant without shows what that buys.
        let pvm = Path::new("/sys/module/kvm_pvm").exists();
        let kvm_unusable = kvm_unusable();

        // The shipped corten-spt (`cargo xtask build` installs the musl
        // static-pie into target/bin; see crates/spt/README.md for why).
        match corten_tender(&musl.join("corten-spt"), Kind::Spt, "corten-spt") {
            Ok(mut t) => {
                t.label = "corten-spt (musl static-pie)".to_owned();
                tenders.push(t);
            }
            Err(e) => skips.push(Skip::new(
                "corten-spt musl static-pie",
                format!(
                    "{e}; `cargo xtask build` builds it with `cargo build --release -p corten-spt \
                     --target {}-unknown-linux-musl`",
                    std::env::consts::ARCH
                ),
            )),
        }

        let hvt = release.join("corten-hvt");
        match (&kvm_unusable, corten_tender(&hvt, Kind::Hvt, "corten-hvt")) {
            (Some(why), _) => skips.push(Skip::new("every hvt measurement", why.clone())),
            (None, Err(e)) => skips.push(Skip::new("corten-hvt", e)),
            (None, Ok(t)) => {
                if pvm {
                    let mut off = t.clone();
                    off.label = "corten-hvt, ring 3 off".to_owned();
                    off.env = vec![("CORTEN_HVT_RING3".to_owned(), "0".to_owned())];
                    off.variant = true;
                    tenders.push(t);
                    tenders.push(off);
                } else {
                    tenders.push(t);
                }
            }
        }

        for kind in [Kind::Spt, Kind::Hvt] {
            if kind == Kind::Hvt && kvm_unusable.is_some() {
                continue;
            }
            match upstream_tender(kind) {
                Ok(t) => tenders.push(t),
                Err(e) => skips.push(Skip::new(
                    format!("upstream solo5-{} side by side", kind.ext()),
                    e,
                )),
            }
        }

        let upstream_tests = std::env::var_os("SOLO5_UPSTREAM_TESTS").map(PathBuf::from);
        if upstream_tests.is_none() {
            skips.push(Skip::new(
                "upstream-built unikernels",
                "SOLO5_UPSTREAM_TESTS is not set (a directory of upstream-built \
                 tests: test_NAME/test_NAME.{spt,hvt}); only Corten-built unikernels are run",
            ));
        }
        Inventory {
            tenders,
            corten_unikernels: root.join("target/unikernels"),
            upstream_tests,
            kvm_unusable,
        }
    }

    /// The tenders of `kind`.
    pub fn tenders(&self, kind: Kind) -> Vec<&Tender> {
        self.tenders.iter().filter(|t| t.kind == kind).collect()
    }

    /// Corten-built unikernel `name` for `kind`, if it exists.
    ///
    /// For hvt the soft-float build (`target/unikernels/hvt-soft`, made by
    /// `cargo xtask bench`) is preferred: it is the one file every hvt
    /// tender can run, upstream's solo5-hvt included on hosts whose KVM
    /// emulates CPL-0 guest code (PVM), where SSE instructions stop it.
    /// Nothing measured here uses floating point.
    pub fn corten(&self, name: &str, kind: Kind) -> Option<Unikernel> {
        let file = format!("{name}.{}", kind.ext());
        let soft = self.corten_unikernels.join(HVT_SOFT_DIR).join(&file);
        if kind == Kind::Hvt && soft.is_file() {
            return Some(Unikernel {
                label: format!("{name} (Corten-built, soft-float)"),
                origin: Origin::Corten,
                path: soft,
            });
        }
        let path = self.corten_unikernels.join(file);
        path.is_file().then(|| Unikernel {
            label: format!("{name} (Corten-built)"),
            origin: Origin::Corten,
            path,
        })
    }

    /// Upstream-built test unikernel `test_NAME` for `kind`, if
    /// `SOLO5_UPSTREAM_TESTS` holds it.
    pub fn upstream(&self, name: &str, kind: Kind) -> Option<Unikernel> {
        let dir = self.upstream_tests.as_ref()?;
        let path = dir
            .join(format!("test_{name}"))
            .join(format!("test_{name}.{}", kind.ext()));
        path.is_file().then(|| Unikernel {
            label: format!("test_{name} (upstream-built)"),
            origin: Origin::Upstream,
            path,
        })
    }
}

/// None if /dev/kvm can be opened read-write, else why not.
fn kvm_unusable() -> Option<String> {
    match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
    {
        Ok(_) => None,
        Err(e) => Some(format!(
            "cannot open /dev/kvm read-write ({e}): hvt needs KVM; give this user access \
             to /dev/kvm (e.g. the kvm group)"
        )),
    }
}

fn corten_tender(path: &Path, kind: Kind, label: &str) -> Result<Tender, String> {
    if !path.is_file() {
        return Err(format!(
            "{} is not built (run `cargo xtask build`)",
            path.display()
        ));
    }
    Ok(Tender {
        label: label.to_owned(),
        kind,
        origin: Origin::Corten,
        program: path.to_owned(),
        env: Vec::new(),
        version: version(path),
        linkage: linkage(path),
        variant: false,
    })
}

/// Upstream's `solo5-spt` / `solo5-hvt`: in `SOLO5_UPSTREAM_BIN` if set,
/// else on `PATH`; a Corten tender installed under that name is refused.
fn upstream_tender(kind: Kind) -> Result<Tender, String> {
    let name = format!("solo5-{}", kind.ext());
    let path = match std::env::var_os("SOLO5_UPSTREAM_BIN") {
        Some(dir) => {
            let p = PathBuf::from(&dir).join(&name);
            if !p.is_file() {
                return Err(format!(
                    "SOLO5_UPSTREAM_BIN={} holds no {name}",
                    Path::new(&dir).display()
                ));
            }
            p
        }
        None => find_on_path(&name)
            .ok_or_else(|| format!("no {name} on PATH and SOLO5_UPSTREAM_BIN is not set"))?,
    };
    let version = version(&path);
    if version.contains("Corten") {
        return Err(format!(
            "{} is a Corten tender ({version}), not upstream's",
            path.display()
        ));
    }
    Ok(Tender {
        label: format!("upstream {name}"),
        kind,
        origin: Origin::Upstream,
        linkage: linkage(&path),
        program: path,
        env: Vec::new(),
        version,
        variant: false,
    })
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// First line of `program --version` (Solo5 tenders print it on stderr).
fn version(program: &Path) -> String {
    let out = Command::new(program)
        .arg("--version")
        .stdin(Stdio::null())
        .output();
    match out {
        Ok(o) => {
            let mut text = String::from_utf8_lossy(&o.stderr).into_owned();
            text.push_str(&String::from_utf8_lossy(&o.stdout));
            text.lines().next().unwrap_or("").trim().to_owned()
        }
        Err(e) => format!("(--version failed: {e})"),
    }
}

/// "static" when the ELF file has no PT_INTERP, "dynamic" when it has
/// one, "unknown" when it cannot be read as a 64-bit little-endian ELF.
pub fn linkage(path: &Path) -> String {
    match std::fs::read(path) {
        Ok(bytes) => elf_linkage(&bytes).to_owned(),
        Err(_) => "unknown".to_owned(),
    }
}

fn elf_linkage(b: &[u8]) -> &'static str {
    const PT_INTERP: u32 = 3;
    let u16_at = |o: usize| -> Option<usize> {
        let x: [u8; 2] = b.get(o..o.checked_add(2)?)?.try_into().ok()?;
        Some(usize::from(u16::from_le_bytes(x)))
    };
    let u32_at = |o: usize| -> Option<u32> {
        let x: [u8; 4] = b.get(o..o.checked_add(4)?)?.try_into().ok()?;
        Some(u32::from_le_bytes(x))
    };
    let u64_at = |o: usize| -> Option<usize> {
        let x: [u8; 8] = b.get(o..o.checked_add(8)?)?.try_into().ok()?;
        usize::try_from(u64::from_le_bytes(x)).ok()
    };
    let header = || -> Option<&'static str> {
        if b.get(0..4)? != b"\x7fELF" || b.get(4)? != &2 || b.get(5)? != &1 {
            return None;
        }
        let phoff = u64_at(32)?;
        let phentsize = u16_at(54)?;
        let phnum = u16_at(56)?;
        for i in 0..phnum {
            let off = phoff.checked_add(i.checked_mul(phentsize)?)?;
            if u32_at(off)? == PT_INTERP {
                return Some("dynamic");
            }
        }
        Some("static")
    };
    header().unwrap_or("unknown")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linkage_of_this_test_binary_and_of_garbage() {
        let me = std::env::current_exe().unwrap();
        let l = linkage(&me);
        assert!(l == "static" || l == "dynamic", "{l}");
        assert_eq!(elf_linkage(b"not an elf"), "unknown");
        // A header claiming program headers far past the end.
        let mut fake = vec![0u8; 64];
        fake[..6].copy_from_slice(b"\x7fELF\x02\x01");
        fake[32..40].copy_from_slice(&u64::MAX.to_le_bytes());
        fake[54..56].copy_from_slice(&56u16.to_le_bytes());
        fake[56..58].copy_from_slice(&1u16.to_le_bytes());
        assert_eq!(elf_linkage(&fake), "unknown");
        // No program headers at all: nothing asks for an interpreter.
        fake[56..58].copy_from_slice(&0u16.to_le_bytes());
        assert_eq!(elf_linkage(&fake), "static");
    }

    #[test]
    fn unikernel_paths() {
        let inv = Inventory {
            tenders: Vec::new(),
            corten_unikernels: PathBuf::from("/nonexistent/unikernels"),
            upstream_tests: Some(PathBuf::from("/nonexistent/tests")),
            kvm_unusable: None,
        };
        assert!(inv.corten("hello", Kind::Spt).is_none());
        assert!(inv.upstream("hello", Kind::Hvt).is_none());
    }
}
