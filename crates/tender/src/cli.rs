//! The command-line grammar shared by every tender, as upstream Solo5 has it:
//!
//! ```text
//! TENDER [CORE OPTIONS] [MODULE OPTIONS] [--] KERNEL [ARGS...]
//! ```
//!
//! Parsing takes two passes. [`scan`] finds KERNEL (or stops at `--help` /
//! `--version`) so that the caller can read the unikernel's manifest; then
//! [`parse`] reads every option. Device options are only checked for syntax
//! here; [`crate::devices`] matches them against the manifest.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use corten_abi::mft::MFT_NAME_MAX;

/// Default and largest `--mem` (MiB): corten-abi's, shared with elftool.
pub use corten_abi::mem::{DEFAULT_MEM_MIB, MAX_MEM_MIB};
/// Smallest accepted `--block-sector-size`.
pub const MIN_SECTOR_SIZE: u32 = 512;
/// Largest accepted `--block-sector-size` (the manifest stores it in 16 bits).
pub const MAX_SECTOR_SIZE: u32 = 32768;

/// Whether a tender-specific option is a flag or takes `=VALUE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptionArg {
    /// `--name`, matched exactly.
    Flag,
    /// `--name=VALUE`; the value is checked by the tender.
    Value,
}

/// An option only one tender has (spt `--x-exec-heap`, hvt `--gdb`, ...).
#[derive(Clone, Copy, Debug)]
pub struct ExtraOption {
    /// The option with its leading dashes and without `=`, e.g. `--dumpcore`.
    pub name: &'static str,
    pub arg: OptionArg,
    /// One usage line, e.g. `--dumpcore=DIR (enable guest core dump on abort/trap)`.
    pub help: &'static str,
    /// Printed (as a warning) whenever the option is given.
    pub warning: Option<&'static str>,
}

/// What a tender tells the shared front end about itself.
#[derive(Clone, Copy, Debug)]
pub struct TenderSpec {
    /// `spt` or `hvt`.
    pub target: &'static str,
    /// Version printed by `--version`.
    pub version: &'static str,
    /// ABI version printed by `--version` (albatross parses that line).
    pub abi_version: u32,
    /// Options beyond the core and device ones.
    pub extra_options: &'static [ExtraOption],
}

impl TenderSpec {
    /// The usage text (several lines, ending with a newline).
    pub fn usage(&self, prog: &str) -> String {
        let mut u = format!(
            "usage: {prog} [ CORE OPTIONS ] [ MODULE OPTIONS ] [ -- ] KERNEL [ ARGS ]\n\
             KERNEL is the filename of the unikernel to run.\n\
             ARGS are optional arguments passed to the unikernel.\n\
             Core options:\n  \
             [ --mem={DEFAULT_MEM_MIB} ] (guest memory in MB)\n    \
             --help (display this help)\n    \
             --version (display version information)\n\
             Compiled-in module options:\n    \
             --block:NAME=PATH (attach block device/file at PATH as block storage NAME)\n  \
             [ --block-sector-size:NAME=SECTORSIZE ] (set sector size for block device NAME; \
             must be a power of two greater than or equal 512)\n    \
             --net:NAME=IFACE | @NN (attach tap at IFACE or at fd @NN as network NAME)\n  \
             [ --net-mac:NAME=HWADDR ] (set HWADDR for network NAME)\n"
        );
        for o in self.extra_options {
            u.push_str("    ");
            u.push_str(o.help);
            u.push('\n');
        }
        u
    }

    /// The `--version` text: `PROG tender, version V` and `ABI version N`.
    pub fn version_text(&self, prog: &str) -> String {
        format!(
            "{prog} tender, version {}\nABI version {}\n",
            self.version, self.abi_version
        )
    }
}

/// Result of the first pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scan {
    /// `args[index]` is KERNEL.
    Kernel(usize),
    /// `--help` came before KERNEL: print usage, exit 1.
    Help,
    /// `--version` came before KERNEL: print version, exit 0.
    Version,
}

/// A command-line error. Every one exits 1; some also print the usage.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CliError {
    #[error("Missing KERNEL operand: give the unikernel to run after the options")]
    MissingKernel,
    #[error("Invalid option: `{option}': {reason}")]
    InvalidOption { option: String, reason: String },
    #[error(
        "Malformed argument to --mem: `{value}' {reason}; give the guest memory as a \
         whole number of MiB between 1 and {MAX_MEM_MIB}, e.g. --mem=512"
    )]
    Mem { value: String, reason: &'static str },
    #[error(
        "Invalid option: `{option}': Block size must be a multiple of 2 greater than or \
         equal 512 (got {value}; use a power of two from {MIN_SECTOR_SIZE} to {MAX_SECTOR_SIZE})"
    )]
    SectorSize { option: String, value: String },
}

impl CliError {
    /// Whether the usage text should follow the message (as upstream does
    /// for unknown options and a missing KERNEL).
    pub fn wants_usage(&self) -> bool {
        matches!(
            self,
            CliError::MissingKernel | CliError::InvalidOption { .. }
        )
    }
}

/// Where a network device's frames come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TapSource {
    /// A tap interface to open by name.
    Interface(OsString),
    /// A descriptor the caller already opened and passed down (`@FD`).
    Fd(i32),
}

/// What a device option asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeviceArgKind {
    /// `--block:NAME=PATH`
    Block(PathBuf),
    /// `--block-sector-size:NAME=N`
    BlockSectorSize(u16),
    /// `--net:NAME=IFACE` or `--net:NAME=@FD`
    Net(TapSource),
    /// `--net-mac:NAME=xx:xx:xx:xx:xx:xx`
    NetMac([u8; 6]),
}

/// One device option, syntax-checked but not yet matched to the manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceArg {
    /// The option as given (for messages).
    pub option: String,
    /// The device name (1 to 67 ASCII letters or digits).
    pub name: String,
    pub kind: DeviceArgKind,
}

/// Everything the command line says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// Guest memory in bytes.
    pub mem_size: u64,
    /// The unikernel file.
    pub kernel: OsString,
    /// Arguments after KERNEL; they form the guest command line.
    pub guest_args: Vec<OsString>,
    /// Device options in command-line order.
    pub devices: Vec<DeviceArg>,
    /// Warnings to print (e.g. for dangerous options).
    pub warnings: Vec<String>,
    extras: Vec<(&'static str, Option<OsString>)>,
}

impl Options {
    /// Whether flag `name` (e.g. `--gdb`) was given.
    pub fn flag(&self, name: &str) -> bool {
        self.extras.iter().any(|(n, _)| *n == name)
    }

    /// The value of the last `name=VALUE` option, if given.
    pub fn value(&self, name: &str) -> Option<&OsStr> {
        self.extras
            .iter()
            .rev()
            .find(|(n, _)| *n == name)
            .and_then(|(_, v)| v.as_deref())
    }
}

/// `arg` as messages show it: lossy UTF-8, control characters escaped
/// (`\n`, `\u{1b}`), so an argument cannot break a message into lines or
/// drive the terminal (found by the `tender_cli` fuzz target).
pub fn printable(arg: &OsStr) -> String {
    let lossy = arg.to_string_lossy();
    // Every option of every start goes through here: no work beyond the
    // copy unless there is something to escape.
    if !lossy.chars().any(char::is_control) {
        return lossy.into_owned();
    }
    let mut out = String::with_capacity(lossy.len() + 8);
    for c in lossy.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// First pass over `args` (without `argv[0]`): finds KERNEL, the first
/// argument not starting with `-` or the one after `--`.
pub fn scan(args: &[OsString]) -> Result<Scan, CliError> {
    let mut i = 0;
    while let Some(a) = args.get(i) {
        let b = a.as_bytes();
        if b.first() != Some(&b'-') {
            return Ok(Scan::Kernel(i));
        }
        match b {
            b"--" => {
                return if i + 1 < args.len() {
                    Ok(Scan::Kernel(i + 1))
                } else {
                    Err(CliError::MissingKernel)
                };
            }
            b"--help" => return Ok(Scan::Help),
            b"--version" => return Ok(Scan::Version),
            _ => {}
        }
        i += 1;
    }
    Err(CliError::MissingKernel)
}

/// Second pass: reads every option before KERNEL (at `kernel_index`, as
/// returned by [`scan`]) and collects the guest arguments after it.
pub fn parse(
    spec: &TenderSpec,
    args: &[OsString],
    kernel_index: usize,
) -> Result<Options, CliError> {
    let (opts, rest) = args.split_at(kernel_index.min(args.len()));
    let (kernel, guest_args) = rest.split_first().ok_or(CliError::MissingKernel)?;
    let mut o = Options {
        mem_size: DEFAULT_MEM_MIB << 20,
        kernel: kernel.clone(),
        guest_args: guest_args.to_vec(),
        devices: Vec::new(),
        warnings: Vec::new(),
        extras: Vec::new(),
    };
    for arg in opts {
        let b = arg.as_bytes();
        if b == b"--" {
            continue; // only ever the last one, right before KERNEL
        }
        let shown = printable(arg);
        if let Some(v) = b.strip_prefix(b"--mem=") {
            o.mem_size = parse_mem(v)?;
        } else if let Some(d) = parse_device(&shown, b)? {
            o.devices.push(d);
        } else if let Some(x) = match_extra(spec, b) {
            o.extras.push(x.0);
            if let Some(w) = x.1 {
                o.warnings.push(w.to_owned());
            }
        } else {
            return Err(CliError::InvalidOption {
                option: shown,
                reason: "not an option this tender knows; see the usage below".into(),
            });
        }
    }
    Ok(o)
}

type ExtraMatch = ((&'static str, Option<OsString>), Option<&'static str>);

fn match_extra(spec: &TenderSpec, arg: &[u8]) -> Option<ExtraMatch> {
    spec.extra_options.iter().find_map(|x| {
        let name = x.name.as_bytes();
        let value = match x.arg {
            OptionArg::Flag => (arg == name).then_some(None),
            OptionArg::Value => arg
                .strip_prefix(name)
                .and_then(|r| r.strip_prefix(b"="))
                .map(|v| Some(OsStr::from_bytes(v).to_os_string())),
        }?;
        Some(((x.name, value), x.warning))
    })
}

/// `--mem=` value: a whole number of MiB, 1 or more, returned in bytes.
fn parse_mem(v: &[u8]) -> Result<u64, CliError> {
    let err = |reason| CliError::Mem {
        value: printable(OsStr::from_bytes(v)),
        reason,
    };
    let mib = parse_decimal(v).ok_or_else(|| {
        if v.is_empty() {
            err("is empty")
        } else if v.iter().all(u8::is_ascii_digit) {
            err("is too large")
        } else {
            err("is not a number")
        }
    })?;
    if mib == 0 {
        return Err(err("is zero"));
    }
    if mib > MAX_MEM_MIB {
        return Err(err("is too large"));
    }
    Ok(mib << 20)
}

/// A non-empty string of ASCII digits that fits 64 bits.
fn parse_decimal(v: &[u8]) -> Option<u64> {
    if v.is_empty() || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    v.iter().try_fold(0u64, |acc, &d| {
        acc.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

/// Splits `NAME=VALUE` after `prefix`, checking NAME as upstream's
/// `%67[A-Za-z0-9]=` does.
fn split_name<'a>(shown: &str, rest: &'a [u8]) -> Result<(String, &'a [u8]), CliError> {
    let invalid = |reason: String| CliError::InvalidOption {
        option: shown.to_owned(),
        reason,
    };
    let eq = rest
        .iter()
        .position(|&c| c == b'=')
        .ok_or_else(|| invalid("expected NAME=VALUE after the option's colon".into()))?;
    let (name, value) = (&rest[..eq], &rest[eq + 1..]);
    if name.is_empty() || name.len() > MFT_NAME_MAX || !name.iter().all(u8::is_ascii_alphanumeric) {
        return Err(invalid(format!(
            "device name `{}' must be 1 to {MFT_NAME_MAX} ASCII letters or digits",
            printable(OsStr::from_bytes(name))
        )));
    }
    // All bytes are ASCII alphanumerics here.
    let name = String::from_utf8_lossy(name).into_owned();
    Ok((name, value))
}

/// Reads the VALUE of a device option (the option as given, for messages).
type ParseValue = fn(&str, &[u8]) -> Result<DeviceArgKind, CliError>;

/// The device options: `PREFIX` `NAME=VALUE`, and how VALUE is read.
const DEVICE_OPTIONS: [(&[u8], ParseValue); 4] = [
    (b"--block:", parse_block_path),
    (b"--block-sector-size:", |shown, v| {
        Ok(DeviceArgKind::BlockSectorSize(parse_sector_size(shown, v)?))
    }),
    (b"--net:", |shown, v| {
        parse_tap_source(v).map(DeviceArgKind::Net).ok_or_else(|| {
            invalid_value(
                shown,
                "expected an interface name or @FD (a descriptor number)",
            )
        })
    }),
    (b"--net-mac:", |shown, v| {
        let mac = parse_mac(v)
            .ok_or_else(|| invalid_value(shown, "expected a MAC address xx:xx:xx:xx:xx:xx"))?;
        // A guest can only be a unicast, non-zero station.
        if mac == [0; 6] {
            return Err(invalid_value(
                shown,
                "the all-zero MAC address is not a station address; give a unicast MAC",
            ));
        }
        if mac[0] & 1 != 0 {
            return Err(invalid_value(
                shown,
                "a multicast (or broadcast) MAC address cannot be a guest's own: the least \
                 significant bit of the first byte must be 0 (e.g. 02:...)",
            ));
        }
        Ok(DeviceArgKind::NetMac(mac))
    }),
];

fn invalid_value(shown: &str, reason: &str) -> CliError {
    CliError::InvalidOption {
        option: shown.to_owned(),
        reason: reason.to_owned(),
    }
}

fn parse_device(shown: &str, b: &[u8]) -> Result<Option<DeviceArg>, CliError> {
    let Some((rest, parse_value)) = DEVICE_OPTIONS
        .iter()
        .find_map(|(prefix, parse)| Some((b.strip_prefix(*prefix)?, parse)))
    else {
        return Ok(None);
    };
    let (name, value) = split_name(shown, rest)?;
    Ok(Some(DeviceArg {
        option: shown.to_owned(),
        name,
        kind: parse_value(shown, value)?,
    }))
}

fn parse_block_path(shown: &str, v: &[u8]) -> Result<DeviceArgKind, CliError> {
    if v.is_empty() {
        return Err(invalid_value(
            shown,
            "the PATH of the backing file or device is empty",
        ));
    }
    Ok(DeviceArgKind::Block(PathBuf::from(OsStr::from_bytes(v))))
}

fn parse_sector_size(shown: &str, v: &[u8]) -> Result<u16, CliError> {
    let err = || CliError::SectorSize {
        option: shown.to_owned(),
        value: printable(OsStr::from_bytes(v)),
    };
    let n = parse_decimal(v).ok_or_else(err)?;
    if n < u64::from(MIN_SECTOR_SIZE) || n > u64::from(MAX_SECTOR_SIZE) || !n.is_power_of_two() {
        return Err(err());
    }
    u16::try_from(n).map_err(|_| err())
}

fn parse_tap_source(v: &[u8]) -> Option<TapSource> {
    if v.is_empty() {
        return None;
    }
    if let Some(fd) = v.strip_prefix(b"@") {
        let n = parse_decimal(fd)?;
        return i32::try_from(n).ok().map(TapSource::Fd);
    }
    Some(TapSource::Interface(OsStr::from_bytes(v).to_os_string()))
}

/// Six groups of one or two hex digits separated by colons.
pub fn parse_mac(v: &[u8]) -> Option<[u8; 6]> {
    let mut mac = [0u8; 6];
    let mut groups = v.split(|&c| c == b':');
    for byte in mac.iter_mut() {
        let g = groups.next()?;
        if g.is_empty() || g.len() > 2 {
            return None;
        }
        let s = std::str::from_utf8(g).ok()?;
        *byte = u8::from_str_radix(s, 16).ok()?;
    }
    groups.next().is_none().then_some(mac)
}

#[cfg(test)]
mod printable_tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(printable(OsStr::new("--mem=x")), "--mem=x");
        assert_eq!(printable(OsStr::new("--a\nb\x1b[2J")), "--a\\nb\\u{1b}[2J");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: TenderSpec = TenderSpec {
        target: "spt",
        version: "test",
        abi_version: 2,
        extra_options: &[
            ExtraOption {
                name: "--x-exec-heap",
                arg: OptionArg::Flag,
                help: "--x-exec-heap (make the heap executable)",
                warning: Some("dangerous"),
            },
            ExtraOption {
                name: "--dumpcore",
                arg: OptionArg::Value,
                help: "--dumpcore=DIR",
                warning: None,
            },
        ],
    };

    fn args(a: &[&str]) -> Vec<OsString> {
        a.iter().map(OsString::from).collect()
    }

    fn parse_all(a: &[&str]) -> Result<Options, CliError> {
        let a = args(a);
        match scan(&a)? {
            Scan::Kernel(i) => parse(&SPEC, &a, i),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn scan_finds_kernel_help_version() {
        assert_eq!(scan(&args(&["k"])), Ok(Scan::Kernel(0)));
        assert_eq!(
            scan(&args(&["--mem=2", "k", "--help"])),
            Ok(Scan::Kernel(1))
        );
        assert_eq!(scan(&args(&["--mem=2", "--", "-k"])), Ok(Scan::Kernel(2)));
        assert_eq!(scan(&args(&["--mem=2", "--help", "k"])), Ok(Scan::Help));
        assert_eq!(scan(&args(&["--version", "k"])), Ok(Scan::Version));
        assert_eq!(scan(&args(&["--mem=2"])), Err(CliError::MissingKernel));
        assert_eq!(scan(&args(&["--"])), Err(CliError::MissingKernel));
        assert_eq!(scan(&args(&[])), Err(CliError::MissingKernel));
    }

    #[test]
    fn parse_core_and_guest_args() {
        let o = parse_all(&["--mem=2", "--", "k.spt", "--help", "a b"]).unwrap();
        assert_eq!(o.mem_size, 2 << 20);
        assert_eq!(o.kernel, "k.spt");
        assert_eq!(o.guest_args, args(&["--help", "a b"]));
        let o = parse_all(&["k"]).unwrap();
        assert_eq!(o.mem_size, 512 << 20);
        assert!(o.guest_args.is_empty());
    }

    #[test]
    fn mem_rejects_bad_values() {
        for bad in [
            "--mem=0",
            "--mem=",
            "--mem=abc",
            "--mem=12M",
            "--mem=-1",
            "--mem=99999999999999999999",
            "--mem=17592186044416",
        ] {
            let e = parse_all(&[bad, "k"]).unwrap_err();
            assert!(matches!(e, CliError::Mem { .. }), "{bad}: {e:?}");
            assert!(e.to_string().contains("Malformed argument to --mem"));
        }
        assert_eq!(
            parse_all(&["--mem=17592186044415", "k"]).unwrap().mem_size,
            MAX_MEM_MIB << 20
        );
    }

    #[test]
    fn devices_parse() {
        let o = parse_all(&[
            "--block:storage=/tmp/x y",
            "--block-sector-size:storage=4096",
            "--net:service0=tap100",
            "--net:service1=@7",
            "--net-mac:service0=02:0a:b:00:00:01",
            "k",
        ])
        .unwrap();
        let kinds: Vec<_> = o
            .devices
            .iter()
            .map(|d| (d.name.as_str(), d.kind.clone()))
            .collect();
        assert_eq!(
            kinds,
            vec![
                ("storage", DeviceArgKind::Block("/tmp/x y".into())),
                ("storage", DeviceArgKind::BlockSectorSize(4096)),
                (
                    "service0",
                    DeviceArgKind::Net(TapSource::Interface("tap100".into()))
                ),
                ("service1", DeviceArgKind::Net(TapSource::Fd(7))),
                ("service0", DeviceArgKind::NetMac([2, 0xa, 0xb, 0, 0, 1])),
            ]
        );
    }

    #[test]
    fn sector_size_rules() {
        for bad in ["256", "521", "0", "65536", "1024x", "", "70000"] {
            let e = parse_all(&[&format!("--block-sector-size:s={bad}"), "k"]).unwrap_err();
            assert!(
                e.to_string()
                    .contains("Block size must be a multiple of 2 greater than or equal 512"),
                "{bad}: {e}"
            );
        }
        for good in [512u16, 1024, 4096, 32768] {
            let o = parse_all(&[&format!("--block-sector-size:s={good}"), "k"]).unwrap();
            assert_eq!(o.devices[0].kind, DeviceArgKind::BlockSectorSize(good));
        }
    }

    #[test]
    fn invalid_options_name_themselves() {
        for bad in [
            "--bogus",
            "-",
            "--block:=x",
            "--block:my-disk=x",
            "--block:s",
            "--block:s=",
            "--net:n=",
            "--net:n=@",
            "--net:n=@x",
            "--net:n=@99999999999",
            "--net-mac:n=02:00:00:00:00",
            "--net-mac:n=02:00:00:00:00:00:00",
            "--net-mac:n=02:00:00:00:00:0g",
            "--net-mac:n=002:00:00:00:00:00",
            "--x-exec-heapfoo",
            "--dumpcore",
            "--mem",
        ] {
            let e = parse_all(&[bad, "k"]).unwrap_err();
            assert!(e.wants_usage(), "{bad}");
            assert!(
                e.to_string()
                    .starts_with(&format!("Invalid option: `{bad}'")),
                "{e}"
            );
        }
        let long = format!("--block:{}=x", "a".repeat(68));
        assert!(parse_all(&[&long, "k"]).is_err());
        let ok = format!("--block:{}=x", "a".repeat(67));
        assert!(parse_all(&[&ok, "k"]).is_ok());
    }

    #[test]
    fn extras() {
        let o = parse_all(&["--x-exec-heap", "--dumpcore=/a", "--dumpcore=/b", "k"]).unwrap();
        assert!(o.flag("--x-exec-heap"));
        assert!(!o.flag("--gdb"));
        assert_eq!(o.value("--dumpcore"), Some(OsStr::new("/b")));
        assert_eq!(o.warnings, vec!["dangerous".to_owned()]);
    }

    #[test]
    fn usage_and_version_text() {
        let u = SPEC.usage("solo5-spt");
        assert!(u.starts_with("usage: solo5-spt "));
        assert!(u.contains("--x-exec-heap (make the heap executable)\n"));
        assert!(u.contains("--block-sector-size:NAME=SECTORSIZE"));
        let v = SPEC.version_text("solo5-spt");
        assert_eq!(v, "solo5-spt tender, version test\nABI version 2\n");
        assert!(v.lines().any(|l| l == "ABI version 2"));
    }
}
