//! Matches the device options of the command line with the unikernel's
//! manifest, attaches every device, and produces the boot-time manifest
//! the guest receives: entries with their properties, backing host
//! descriptor and `attached` flag filled in.

use std::os::fd::{AsRawFd, IntoRawFd, OwnedFd, RawFd};

use corten_abi::mft::{
    MftDeviceProps, MftEntry, MftHeader, MFT_DEV_BLOCK_BASIC, MFT_DEV_NET_BASIC, MFT_RESERVED_FIRST,
};

use crate::block::{self, BlockError, DEFAULT_SECTOR_SIZE};
use crate::cli::{DeviceArg, DeviceArgKind, TapSource};
use crate::tap::{self, TapError};

/// Bytes of one serialised manifest entry.
pub const ENTRY_SIZE: usize = std::mem::size_of::<MftEntry>();
/// Bytes of the manifest header.
pub const HEADER_SIZE: usize = std::mem::size_of::<MftHeader>();

/// A device problem found while matching or attaching.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error(
        "Resource not declared in manifest: '{name}' (from `{option}'); {declared}; \
         use one of the declared names"
    )]
    NotDeclared {
        name: String,
        option: String,
        /// What the manifest does declare, as a sentence fragment.
        declared: String,
    },
    #[error("Device '{name}' is attached twice (again by `{option}'); attach each device once")]
    AttachedTwice { name: String, option: String },
    #[error("Descriptor @{fd} is given to two network devices ('{first}' and '{second}'); each needs its own tap")]
    FdTwice {
        fd: i32,
        first: String,
        second: String,
    },
    #[error(transparent)]
    Block(#[from] BlockError),
    #[error("{source} (for network device '{name}')")]
    Tap { name: String, source: TapError },
    #[error("{}All declared devices must be attached. See --help for syntax.", not_attached_lines(.missing))]
    NotAttached {
        /// (name, type) of every declared device left unattached.
        missing: Vec<(String, &'static str)>,
    },
}

fn not_attached_lines(missing: &[(String, &'static str)]) -> String {
    missing
        .iter()
        .map(|(n, t)| {
            let hint = if *t == "NET_BASIC" {
                format!("--net:{n}=IFACE")
            } else {
                format!("--block:{n}=PATH")
            };
            format!("Device '{n}' of type {t} declared but not attached. Attach it with {hint}. ")
        })
        .collect()
}

/// Upstream's name for a manifest type.
pub fn type_name(mtype: u32) -> &'static str {
    match mtype {
        MFT_DEV_BLOCK_BASIC => "BLOCK_BASIC",
        MFT_DEV_NET_BASIC => "NET_BASIC",
        MFT_RESERVED_FIRST => "RESERVED_FIRST",
        _ => "<undefined type>",
    }
}

/// An attached block device: what either tender's block I/O needs (spt
/// pins it in its filter, hvt serves hypercalls with it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockDevice {
    /// Manifest index (= guest handle).
    pub handle: u64,
    /// The manifest's name, for messages.
    pub name: String,
    /// Owned by [`AttachedDevices`].
    pub fd: RawFd,
    /// Bytes; a multiple of `block_size`.
    pub capacity: u64,
    /// Bytes; a power of two >= 512 (16 bits in the manifest, widened
    /// because every use compares it with 64-bit offsets and lengths).
    pub block_size: u64,
}

/// An attached network device (a tap).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetDevice {
    /// Manifest index (= guest handle).
    pub handle: u64,
    /// The manifest's name, for messages.
    pub name: String,
    /// Non-blocking tap descriptor, owned by [`AttachedDevices`].
    pub fd: RawFd,
    pub mac: [u8; 6],
    pub mtu: u16,
}

/// Every device of the manifest, attached; owns the host descriptors.
#[derive(Debug)]
pub struct AttachedDevices {
    entries: Vec<MftEntry>,
    fds: Vec<OwnedFd>,
    /// Things the user should know that do not stop the run (a disk that
    /// could not be locked).
    pub warnings: Vec<String>,
}

/// Per-entry state collected from the options before anything is final.
#[derive(Default)]
struct Pending {
    option: Option<String>,
    block: Option<(std::path::PathBuf, u64)>,
    sector_size: Option<u16>,
    mac: Option<[u8; 6]>,
    tap_fd: Option<i32>,
    mtu: u16,
}

fn find(entries: &[MftEntry], name: &str, mtype: u32) -> Option<usize> {
    entries
        .iter()
        .position(|e| e.mtype == mtype && e.name_bytes() == name.as_bytes())
}

fn declared_summary(entries: &[MftEntry], name: &str) -> String {
    let devs: Vec<String> = entries
        .iter()
        .filter(|e| e.mtype < MFT_RESERVED_FIRST)
        .map(|e| {
            format!(
                "'{}' ({})",
                String::from_utf8_lossy(e.name_bytes()),
                type_name(e.mtype)
            )
        })
        .collect();
    let same_name = entries
        .iter()
        .find(|e| e.mtype < MFT_RESERVED_FIRST && e.name_bytes() == name.as_bytes());
    let mut s = if devs.is_empty() {
        "the unikernel declares no devices".to_owned()
    } else {
        format!("the unikernel declares {}", devs.join(", "))
    };
    if let Some(e) = same_name {
        s.push_str(&format!(
            "; '{name}' is a {} device, so this option does not apply to it",
            type_name(e.mtype)
        ));
    }
    s
}

/// Attaches the devices named by `args` to `entries` (the manifest as
/// `corten_manifest::Manifest::to_entries()` gives it, reserved entry 0
/// included), in command-line order, then checks that every declared
/// device is attached and fills in defaults (512-byte sectors, random MAC).
pub fn attach_all(
    mut entries: Vec<MftEntry>,
    args: &[DeviceArg],
) -> Result<AttachedDevices, DeviceError> {
    let mut pending: Vec<Pending> = entries.iter().map(|_| Pending::default()).collect();
    let mut fds: Vec<OwnedFd> = Vec::new();
    let mut warnings = Vec::new();
    // Disks locked by this tender: one file may back several devices
    // (each open file has its own flock, so a second lock would fail).
    let mut locked: Vec<(u64, u64)> = Vec::new();

    for arg in args {
        let mtype = match arg.kind {
            DeviceArgKind::Block(_) | DeviceArgKind::BlockSectorSize(_) => MFT_DEV_BLOCK_BASIC,
            DeviceArgKind::Net(_) | DeviceArgKind::NetMac(_) => MFT_DEV_NET_BASIC,
        };
        let (i, p) = find(&entries, &arg.name, mtype)
            .and_then(|i| Some((i, pending.get_mut(i)?)))
            .ok_or_else(|| DeviceError::NotDeclared {
                name: arg.name.clone(),
                option: arg.option.clone(),
                declared: declared_summary(&entries, &arg.name),
            })?;
        let Some(entry) = entries.get_mut(i) else {
            continue; // unreachable: `find` returned an index into `entries`
        };
        let attach_once = |p: &mut Pending| {
            if p.option.is_some() {
                return Err(DeviceError::AttachedTwice {
                    name: arg.name.clone(),
                    option: arg.option.clone(),
                });
            }
            p.option = Some(arg.option.clone());
            Ok(())
        };
        match &arg.kind {
            DeviceArgKind::Block(path) => {
                attach_once(p)?;
                let b = block::open(path)?;
                match block::identity(&b.file) {
                    Some(id) if locked.contains(&id) => {}
                    id => {
                        warnings.extend(block::lock(&b)?);
                        locked.extend(id);
                    }
                }
                entry.set_hostfd(b.file.as_raw_fd());
                entry.attached = 1;
                p.block = Some((b.path, b.capacity));
                fds.push(OwnedFd::from(b.file));
            }
            DeviceArgKind::BlockSectorSize(n) => p.sector_size = Some(*n),
            DeviceArgKind::Net(source) => {
                attach_once(p)?;
                if let TapSource::Fd(fd) = source {
                    let other = pending
                        .iter()
                        .zip(&entries)
                        .find(|(q, _)| q.tap_fd == Some(*fd));
                    if let Some((_, e)) = other {
                        return Err(DeviceError::FdTwice {
                            fd: *fd,
                            first: String::from_utf8_lossy(e.name_bytes()).into_owned(),
                            second: arg.name.clone(),
                        });
                    }
                }
                let t = tap::attach(source).map_err(|source| DeviceError::Tap {
                    name: arg.name.clone(),
                    source,
                })?;
                // Re-borrow: the duplicate check above looked at all entries.
                let (Some(entry), Some(p)) = (entries.get_mut(i), pending.get_mut(i)) else {
                    continue;
                };
                entry.set_hostfd(t.fd.as_raw_fd());
                entry.attached = 1;
                p.mtu = t.mtu;
                if let TapSource::Fd(fd) = source {
                    p.tap_fd = Some(*fd);
                }
                fds.push(t.fd);
            }
            DeviceArgKind::NetMac(mac) => p.mac = Some(*mac),
        }
    }

    let mut missing = Vec::new();
    for (e, p) in entries.iter_mut().zip(&pending) {
        if e.mtype >= MFT_RESERVED_FIRST {
            continue;
        }
        if e.attached == 0 {
            missing.push((
                String::from_utf8_lossy(e.name_bytes()).into_owned(),
                type_name(e.mtype),
            ));
            continue;
        }
        let name = String::from_utf8_lossy(e.name_bytes()).into_owned();
        if e.mtype == MFT_DEV_BLOCK_BASIC {
            let bs = p.sector_size.unwrap_or(DEFAULT_SECTOR_SIZE);
            if let Some((path, capacity)) = &p.block {
                block::check_geometry(&name, path, *capacity, bs)?;
                e.props = MftDeviceProps::block(*capacity, bs);
            }
        } else {
            let mac = match p.mac {
                Some(m) => m,
                None => tap::random_mac().map_err(|source| DeviceError::Tap {
                    name: name.clone(),
                    source,
                })?,
            };
            e.props = MftDeviceProps::net(mac, p.mtu);
        }
    }
    if !missing.is_empty() {
        return Err(DeviceError::NotAttached { missing });
    }
    Ok(AttachedDevices {
        entries,
        fds,
        warnings,
    })
}

fn entry_name(e: &MftEntry) -> String {
    String::from_utf8_lossy(e.name_bytes()).into_owned()
}

impl AttachedDevices {
    /// The boot-time manifest entries (index = guest handle).
    pub fn entries(&self) -> &[MftEntry] {
        &self.entries
    }

    /// Attached block devices.
    pub fn blocks(&self) -> Vec<BlockDevice> {
        self.entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.mtype == MFT_DEV_BLOCK_BASIC && e.attached != 0)
            .map(|(i, e)| BlockDevice {
                handle: i as u64,
                name: entry_name(e),
                fd: e.hostfd(),
                capacity: e.props.block_capacity(),
                block_size: u64::from(e.props.block_size()),
            })
            .collect()
    }

    /// Attached network devices.
    pub fn nets(&self) -> Vec<NetDevice> {
        self.entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.mtype == MFT_DEV_NET_BASIC && e.attached != 0)
            .map(|(i, e)| NetDevice {
                handle: i as u64,
                name: entry_name(e),
                fd: e.hostfd(),
                mac: e.props.net_mac(),
                mtu: e.props.net_mtu(),
            })
            .collect()
    }

    /// Size of [`Self::manifest_bytes`].
    pub fn manifest_size(&self) -> usize {
        HEADER_SIZE + self.entries.len() * ENTRY_SIZE
    }

    /// The manifest as the guest reads it: `struct mft` (version, entry
    /// count) followed by the entries, little-endian.
    pub fn manifest_bytes(&self) -> Vec<u8> {
        corten_manifest::encode_mft(&self.entries)
    }

    /// Gives up ownership of the host descriptors so nothing closes them
    /// (spt: the guest uses them after the tender is gone).
    pub fn leak_fds(&mut self) {
        for fd in self.fds.drain(..) {
            let _ = fd.into_raw_fd();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn entries(devs: &[(&str, u32)]) -> Vec<MftEntry> {
        let mut v = vec![MftEntry::RESERVED];
        v.extend(devs.iter().map(|(n, t)| MftEntry::new(n.as_bytes(), *t)));
        v
    }

    fn block_arg(name: &str, path: &std::path::Path) -> DeviceArg {
        DeviceArg {
            option: format!("--block:{name}={}", path.display()),
            name: name.into(),
            kind: DeviceArgKind::Block(path.to_owned()),
        }
    }

    fn tmpfile(tag: &str, len: usize) -> PathBuf {
        let p = std::env::temp_dir().join(format!("corten-dev-{}-{tag}.img", std::process::id()));
        std::fs::write(&p, vec![0u8; len]).unwrap();
        p
    }

    #[test]
    fn block_attach_fills_entry() {
        let p = tmpfile("ok", 8192);
        let mut args = vec![block_arg("storage", &p)];
        args.push(DeviceArg {
            option: "--block-sector-size:storage=4096".into(),
            name: "storage".into(),
            kind: DeviceArgKind::BlockSectorSize(4096),
        });
        let d = attach_all(entries(&[("storage", MFT_DEV_BLOCK_BASIC)]), &args).unwrap();
        let b = d.blocks();
        assert_eq!(b.len(), 1);
        assert_eq!(
            (
                b[0].handle,
                b[0].name.as_str(),
                b[0].capacity,
                b[0].block_size
            ),
            (1, "storage", 8192, 4096)
        );
        assert!(b[0].fd > 2);
        let e = &d.entries()[1];
        assert_eq!(e.attached, 1);
        assert_eq!(e.hostfd(), b[0].fd);
        let bytes = d.manifest_bytes();
        assert_eq!(bytes.len(), 8 + 2 * 104);
        assert_eq!(&bytes[0..8], &[1, 0, 0, 0, 2, 0, 0, 0]);
        let e1 = &bytes[8 + 104..];
        assert_eq!(&e1[..8], b"storage\0");
        assert_eq!(&e1[68..72], &MFT_DEV_BLOCK_BASIC.to_le_bytes());
        assert_eq!(&e1[72..80], &8192u64.to_le_bytes());
        assert_eq!(&e1[80..82], &4096u16.to_le_bytes());
        assert_eq!(&e1[88..92], &b[0].fd.to_le_bytes());
        assert_eq!(e1[96], 1);
        std::fs::remove_file(p).unwrap();
    }

    #[test]
    fn default_sector_size_and_geometry_errors() {
        let p = tmpfile("odd", 6144);
        let d = attach_all(
            entries(&[("s", MFT_DEV_BLOCK_BASIC)]),
            &[block_arg("s", &p)],
        )
        .unwrap();
        assert_eq!(d.blocks()[0].block_size, 512);
        // Releases the disk's lock (a tender attaches once per process).
        drop(d);
        let mut args = vec![block_arg("s", &p)];
        args.push(DeviceArg {
            option: "x".into(),
            name: "s".into(),
            kind: DeviceArgKind::BlockSectorSize(4096),
        });
        let e = attach_all(entries(&[("s", MFT_DEV_BLOCK_BASIC)]), &args).unwrap_err();
        assert!(
            e.to_string()
                .contains("Backing storage size must be block aligned"),
            "{e}"
        );
        std::fs::remove_file(p).unwrap();
    }

    #[test]
    fn undeclared_names_say_what_is_declared() {
        let p = tmpfile("undecl", 512);
        let e = attach_all(
            entries(&[
                ("storage", MFT_DEV_BLOCK_BASIC),
                ("service0", MFT_DEV_NET_BASIC),
            ]),
            &[block_arg("disk", &p)],
        )
        .unwrap_err();
        let m = e.to_string();
        assert!(
            m.contains("Resource not declared in manifest: 'disk'"),
            "{m}"
        );
        assert!(
            m.contains("'storage' (BLOCK_BASIC), 'service0' (NET_BASIC)"),
            "{m}"
        );
        let e = attach_all(
            entries(&[("service0", MFT_DEV_NET_BASIC)]),
            &[block_arg("service0", &p)],
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("'service0' is a NET_BASIC device"),
            "{e}"
        );
        let e = attach_all(entries(&[]), &[block_arg("x", &p)]).unwrap_err();
        assert!(e.to_string().contains("declares no devices"), "{e}");
        std::fs::remove_file(p).unwrap();
    }

    #[test]
    fn twice_and_missing() {
        let p = tmpfile("twice", 512);
        let e = attach_all(
            entries(&[("s", MFT_DEV_BLOCK_BASIC)]),
            &[block_arg("s", &p), block_arg("s", &p)],
        )
        .unwrap_err();
        assert!(matches!(e, DeviceError::AttachedTwice { .. }), "{e}");
        let e = attach_all(
            entries(&[("a", MFT_DEV_BLOCK_BASIC), ("n", MFT_DEV_NET_BASIC)]),
            &[],
        )
        .unwrap_err();
        let m = e.to_string();
        assert!(
            m.contains("Device 'a' of type BLOCK_BASIC declared but not attached"),
            "{m}"
        );
        assert!(
            m.contains("Device 'n' of type NET_BASIC declared but not attached"),
            "{m}"
        );
        assert!(
            m.ends_with("All declared devices must be attached. See --help for syntax."),
            "{m}"
        );
        std::fs::remove_file(p).unwrap();
    }

    #[test]
    fn net_over_fd_gets_mac_and_rejects_shared_fd() {
        let mut fds = [0; 2];
        // SAFETY: socketpair fills the two-element array.
        let rc = unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_DGRAM, 0, fds.as_mut_ptr()) };
        assert_eq!(rc, 0);
        let net = |name: &str, fd| DeviceArg {
            option: format!("--net:{name}=@{fd}"),
            name: name.into(),
            kind: DeviceArgKind::Net(TapSource::Fd(fd)),
        };
        let e = attach_all(
            entries(&[("a", MFT_DEV_NET_BASIC), ("b", MFT_DEV_NET_BASIC)]),
            &[net("a", fds[0]), net("b", fds[0])],
        )
        .unwrap_err();
        assert!(matches!(e, DeviceError::FdTwice { .. }), "{e}");
        // The failed attach above took ownership of fds[0] and closed it.
        let mac = DeviceArg {
            option: "--net-mac:a=02:00:00:00:00:07".into(),
            name: "a".into(),
            kind: DeviceArgKind::NetMac([2, 0, 0, 0, 0, 7]),
        };
        let d = attach_all(
            entries(&[("a", MFT_DEV_NET_BASIC)]),
            &[net("a", fds[1]), mac],
        )
        .unwrap();
        let n = d.nets();
        assert_eq!(n[0].name, "a");
        assert_eq!(n[0].mac, [2, 0, 0, 0, 0, 7]);
        assert_eq!(n[0].mtu, 1500);
        assert_eq!(n[0].fd, fds[1]);
    }
}
