//! corten-hvt's own options, beyond the grammar corten-tender shares with
//! spt: their names, their lines in the usage, and their values checked
//! into [`HvtOptions`], which is how the rest of the tender sees them.

use std::ffi::OsStr;
use std::path::PathBuf;

use corten_tender::cli::{ExtraOption, OptionArg, Options};

const DUMPCORE: &str = "--dumpcore";
const GDB: &str = "--gdb";
const GDB_PORT: &str = "--gdb-port";
const NET_RING: &str = "--net-ring";
/// Corten extension: transparent huge pages for guest memory.
const HUGEPAGES: &str = "--x-hugepages";

/// The default of `--gdb-port` (upstream's).
const DEFAULT_GDB_PORT: u16 = 1234;

/// The options corten-hvt adds to the shared grammar, in usage order.
pub const EXTRA_OPTIONS: &[ExtraOption] = &[
    ExtraOption {
        name: DUMPCORE,
        arg: OptionArg::Value,
        help: "--dumpcore=DIR (enable guest core dump on abort/trap)",
        warning: None,
    },
    ExtraOption {
        name: GDB,
        arg: OptionArg::Flag,
        help: "--gdb (optional flag for running in a gdb debug session)",
        warning: None,
    },
    ExtraOption {
        name: GDB_PORT,
        arg: OptionArg::Value,
        help: "[ --gdb-port=1234 ] (port to use)",
        warning: None,
    },
    ExtraOption {
        name: HUGEPAGES,
        arg: OptionArg::Flag,
        help: "[ --x-hugepages ] (back guest memory with transparent 2 MiB host pages)",
        warning: None,
    },
    ExtraOption {
        name: NET_RING,
        arg: OptionArg::Value,
        help: "[ --net-ring=auto|on|off ] (offer the guest ring I/O for the network; \
               default auto: when the tender may use at least two CPUs)",
        warning: None,
    },
];

#[derive(Debug, thiserror::Error)]
pub enum OptionError {
    #[error("Invalid option: `--gdb-port={0}': give a TCP port number between 1 and 65535")]
    GdbPort(String),
    #[error("Invalid option: `--net-ring={0}': give auto, on or off")]
    NetRing(String),
    #[error(
        "--gdb is not supported on this architecture yet; use --dumpcore=DIR to get a core \
         file for gdb"
    )]
    GdbUnsupported,
}

/// `--net-ring=auto|on|off`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetRingMode {
    /// Offer the ring when a second CPU can run its I/O thread (default).
    Auto,
    /// Offer it whenever there is a network device, as upstream does.
    On,
    Off,
}

/// corten-hvt's options, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HvtOptions {
    /// `--dumpcore=DIR`.
    pub dumpcore_dir: Option<PathBuf>,
    /// `--gdb`: the port to wait for gdb on (`--gdb-port`, default 1234).
    pub gdb_port: Option<u16>,
    /// `--x-hugepages`.
    pub hugepages: bool,
    pub net_ring: NetRingMode,
}

impl HvtOptions {
    pub fn from_options(o: &Options) -> Result<HvtOptions, OptionError> {
        // Checked even without --gdb, as a mistyped option should be.
        let port = match o.value(GDB_PORT).map(OsStr::to_string_lossy) {
            None => DEFAULT_GDB_PORT,
            Some(v) => v
                .parse::<u16>()
                .ok()
                .filter(|&p| p != 0)
                .ok_or_else(|| OptionError::GdbPort(v.into_owned()))?,
        };
        let gdb = o.flag(GDB);
        if gdb && cfg!(not(target_arch = "x86_64")) {
            return Err(OptionError::GdbUnsupported);
        }
        let net_ring = match o.value(NET_RING).map(OsStr::to_string_lossy) {
            None => NetRingMode::Auto,
            Some(v) => match v.as_ref() {
                "auto" => NetRingMode::Auto,
                "on" => NetRingMode::On,
                "off" => NetRingMode::Off,
                _ => return Err(OptionError::NetRing(v.into_owned())),
            },
        };
        Ok(HvtOptions {
            dumpcore_dir: o.value(DUMPCORE).map(PathBuf::from),
            gdb_port: gdb.then_some(port),
            hugepages: o.flag(HUGEPAGES),
            net_ring,
        })
    }

    /// A debugging module is on: the run-time seccomp filter stays off, as
    /// in upstream's solo5-hvt-debug (ring-3 execution stays on).
    pub fn debugging(&self) -> bool {
        self.gdb_port.is_some() || self.dumpcore_dir.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    fn parse(args: &[&str]) -> Result<HvtOptions, OptionError> {
        let mut args: Vec<OsString> = args.iter().map(OsString::from).collect();
        args.push("kernel.hvt".into());
        let o = corten_tender::cli::parse(&crate::SPEC, &args, args.len() - 1).unwrap();
        HvtOptions::from_options(&o)
    }

    #[test]
    fn defaults() {
        let o = parse(&[]).unwrap();
        assert_eq!(
            o,
            HvtOptions {
                dumpcore_dir: None,
                gdb_port: None,
                hugepages: false,
                net_ring: NetRingMode::Auto,
            }
        );
        assert!(!o.debugging());
    }

    #[test]
    fn values_are_checked() {
        let o = parse(&["--gdb-port=4321", "--net-ring=off", "--x-hugepages"]).unwrap();
        // A port alone starts no debugger.
        assert_eq!(o.gdb_port, None);
        assert_eq!(o.net_ring, NetRingMode::Off);
        assert!(o.hugepages && !o.debugging());
        assert!(parse(&["--dumpcore=/tmp"]).unwrap().debugging());
        let e = parse(&["--gdb-port=0"]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Invalid option: `--gdb-port=0': give a TCP port number between 1 and 65535"
        );
        // A bad port is an error even without --gdb.
        assert!(matches!(
            parse(&["--gdb-port=x"]),
            Err(OptionError::GdbPort(_))
        ));
        let e = parse(&["--net-ring=sometimes"]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Invalid option: `--net-ring=sometimes': give auto, on or off"
        );
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn gdb_waits_on_its_port() {
        let o = parse(&["--gdb", "--gdb-port=4321"]).unwrap();
        assert_eq!(o.gdb_port, Some(4321));
        assert!(o.debugging());
        assert_eq!(parse(&["--gdb"]).unwrap().gdb_port, Some(1234));
    }

    /// (Run on aarch64 by `cargo xtask cross aarch64 --run`.)
    #[test]
    #[cfg(not(target_arch = "x86_64"))]
    fn gdb_is_refused_where_it_is_not_supported() {
        assert!(matches!(
            parse(&["--gdb", "--gdb-port=4321"]),
            Err(OptionError::GdbUnsupported)
        ));
    }
}
