//! Solo5 application manifests: the list of devices a unikernel declares.
//!
//! A manifest has two forms:
//! - the JSON source a developer writes (upstream's `gen-manifest` schema:
//!   `{"type": "solo5.manifest", "version": 1, "devices": [{"name", "type"}]}`),
//!   read by [`Manifest::from_json`];
//! - the MFT1 ELF note a unikernel carries, read by
//!   [`Manifest::from_note_desc`] and produced by [`Manifest::to_note`].
//!
//! Both readers apply upstream Solo5's rules (`elftool.c`, `mft.c`) plus
//! Corten's stricter ones: device names are unique, device types are
//! `BLOCK_BASIC` or `NET_BASIC`, and only entry 0 is reserved. Every broken
//! rule gives one error that names the device.
//!
//! In [`Manifest`], the reserved entry 0 is implicit: `devices[i]` is the
//! device whose Solo5 handle is `i + 1`.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod json;
mod name;
mod note;
mod render;

use corten_abi::mft::{MftEntry, MFT_DEV_BLOCK_BASIC, MFT_DEV_NET_BASIC, MFT_MAX_ENTRIES};
use thiserror::Error;

pub use json::{DeviceLabel, JsonError, JsonKind, JsonProblem, MAX_SOURCE_SIZE};
pub use name::{check_name, NameError};
pub use note::NoteError;

/// Most devices a manifest may declare (entry 0 is reserved).
pub const MAX_DEVICES: usize = MFT_MAX_ENTRIES - 1;

/// The version Corten's tools print, e.g. in the header of generated C.
pub const GENERATOR_VERSION: &str = concat!("corten-", env!("CARGO_PKG_VERSION"));

/// `struct mft` as bytes: the header, then `entries` (at most
/// [`MFT_MAX_ENTRIES`]) exactly as given, `attached` flags and device
/// properties included. This is the boot-time manifest a tender copies into
/// guest memory once it has filled in the entries; [`Manifest::to_mft_bytes`]
/// is the same for a manifest's fresh entries.
pub fn encode_mft(entries: &[MftEntry]) -> Vec<u8> {
    note::encode_mft(entries)
}

/// The kind of a device (`mft_type_t` without the reserved value).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeviceType {
    BlockBasic,
    NetBasic,
}

impl DeviceType {
    /// Every device type, in `mft_type_t` order.
    pub const ALL: [DeviceType; 2] = [DeviceType::BlockBasic, DeviceType::NetBasic];

    /// The name used in JSON and in the C `MFT_DEV_` constants.
    pub const fn as_str(self) -> &'static str {
        match self {
            DeviceType::BlockBasic => "BLOCK_BASIC",
            DeviceType::NetBasic => "NET_BASIC",
        }
    }

    /// The type named `name` (`"BLOCK_BASIC"` or `"NET_BASIC"`).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == name)
    }

    /// The `mft_type_t` value stored in a manifest entry.
    pub const fn mft_type(self) -> u32 {
        match self {
            DeviceType::BlockBasic => MFT_DEV_BLOCK_BASIC,
            DeviceType::NetBasic => MFT_DEV_NET_BASIC,
        }
    }

    /// The type stored as `raw` in a manifest entry, if it is a device type.
    pub const fn from_mft_type(raw: u32) -> Option<Self> {
        match raw {
            MFT_DEV_BLOCK_BASIC => Some(DeviceType::BlockBasic),
            MFT_DEV_NET_BASIC => Some(DeviceType::NetBasic),
            _ => None,
        }
    }
}

impl std::fmt::Display for DeviceType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One declared device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Device {
    pub name: String,
    pub kind: DeviceType,
}

/// A validated manifest, without the reserved entry 0: device `i` has
/// handle `i + 1`.
///
/// The `to_*` writers assume the rules hold (as they do for a manifest from
/// [`Manifest::new`], [`Manifest::from_json`] or
/// [`Manifest::from_note_desc`]); if a caller breaks them by editing
/// `devices` directly, the writers still never panic, but truncate names
/// longer than 67 bytes and drop devices past the 63rd.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Manifest {
    pub devices: Vec<Device>,
}

/// Why a manifest was rejected.
#[derive(Debug, Error)]
pub enum ManifestError {
    /// The JSON source breaks a rule (the message starts `SOURCE:LINE:`).
    #[error(transparent)]
    Json(#[from] JsonError),
    /// The MFT1 note descriptor breaks a rule.
    #[error(transparent)]
    Note(#[from] NoteError),
    /// A device list given to [`Manifest::new`] breaks a rule.
    #[error(transparent)]
    Devices(#[from] DevicesError),
}

/// A device list that breaks a manifest rule.
#[derive(Debug, Error)]
pub enum DevicesError {
    #[error("too many devices ({count}), maximum {MAX_DEVICES}")]
    TooMany { count: usize },
    #[error("device {index} ({}): {source}", name::quote(name.as_bytes()))]
    Name {
        index: usize,
        name: String,
        source: NameError,
    },
    #[error("device {index} ({}): duplicate name, already used by device {first}", name::quote(name.as_bytes()))]
    DuplicateName {
        index: usize,
        name: String,
        first: usize,
    },
}

impl Manifest {
    /// A manifest declaring `devices` (handles 1, 2, ... in this order),
    /// checked against every rule.
    pub fn new(devices: Vec<Device>) -> Result<Manifest, ManifestError> {
        if devices.len() > MAX_DEVICES {
            return Err(DevicesError::TooMany {
                count: devices.len(),
            }
            .into());
        }
        for (index, device) in devices.iter().enumerate() {
            check_name(device.name.as_bytes()).map_err(|source| DevicesError::Name {
                index,
                name: device.name.clone(),
                source,
            })?;
            if let Some(first) = devices
                .iter()
                .take(index)
                .position(|d| d.name == device.name)
            {
                return Err(DevicesError::DuplicateName {
                    index,
                    name: device.name.clone(),
                    first,
                }
                .into());
            }
        }
        Ok(Manifest { devices })
    }

    /// Reads a JSON manifest source. `source_name` is used in messages only.
    pub fn from_json(source_name: &str, text: &str) -> Result<Manifest, ManifestError> {
        Ok(json::parse(source_name, text)?)
    }

    /// [`Manifest::from_json`] on raw bytes, which must be UTF-8.
    pub fn from_json_bytes(source_name: &str, bytes: &[u8]) -> Result<Manifest, ManifestError> {
        Ok(json::parse_bytes(source_name, bytes)?)
    }

    /// Reads the manifest from an MFT1 note descriptor **after** its
    /// internal alignment padding, i.e. starting at the `struct mft` header
    /// (what `corten_elf::Elf::manifest_desc` and upstream's `elf_load_note`
    /// return; `n_descsz - MFT1_DESC_PAD` bytes).
    pub fn from_note_desc(desc: &[u8]) -> Result<Manifest, ManifestError> {
        Ok(note::parse(desc)?)
    }

    /// The manifest entries as a guest sees them, reserved entry 0 included.
    pub fn to_entries(&self) -> Vec<MftEntry> {
        let mut entries = Vec::with_capacity(self.devices.len() + 1);
        entries.push(MftEntry::RESERVED);
        entries.extend(
            self.devices
                .iter()
                .take(MAX_DEVICES)
                .map(|d| note::entry(d.name.as_bytes(), d.kind.mft_type())),
        );
        entries
    }

    /// The `struct mft` bytes (header and entries, no padding): the form
    /// [`Manifest::from_note_desc`] reads.
    pub fn to_mft_bytes(&self) -> Vec<u8> {
        note::encode_mft(&self.to_entries())
    }

    /// The MFT1 note descriptor **with** its leading alignment padding
    /// (`n_descsz` bytes, as a guest embeds it).
    /// `from_note_desc(&to_note_desc()[MFT1_DESC_PAD..])` round-trips.
    pub fn to_note_desc(&self) -> Vec<u8> {
        note::encode_desc(&self.to_entries())
    }

    /// The whole MFT1 note: note header, name "Solo5", padding, manifest.
    pub fn to_note(&self) -> Vec<u8> {
        note::encode_note(&self.to_entries())
    }

    /// The C source `solo5-elftool gen-manifest` writes.
    pub fn to_c_source(&self) -> String {
        render::c_source(self)
    }

    /// The JSON `solo5-elftool query-manifest` prints.
    pub fn to_query_json(&self) -> String {
        render::query_json(self)
    }

    /// Rust source declaring the MFT1 note as a `static` in section
    /// `.note.solo5.manifest`, built from `corten_abi` types.
    pub fn to_rust_source(&self) -> String {
        render::rust_source(self)
    }

    /// The Solo5 handle (index in the manifest) of the device called `name`
    /// of type `kind`.
    pub fn handle_of(&self, name: &str, kind: DeviceType) -> Option<u64> {
        self.devices
            .iter()
            .position(|d| d.name == name && d.kind == kind)
            .map(|i| i as u64 + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev(name: &str, kind: DeviceType) -> Device {
        Device {
            name: name.into(),
            kind,
        }
    }

    #[test]
    fn device_type_names_and_values() {
        for t in DeviceType::ALL {
            assert_eq!(DeviceType::from_name(t.as_str()), Some(t));
            assert_eq!(DeviceType::from_mft_type(t.mft_type()), Some(t));
        }
        assert_eq!(DeviceType::BlockBasic.mft_type(), 1);
        assert_eq!(DeviceType::NetBasic.mft_type(), 2);
        assert_eq!(DeviceType::from_name("block_basic"), None);
        assert_eq!(DeviceType::from_mft_type(0), None);
        assert_eq!(
            DeviceType::from_mft_type(corten_abi::mft::MFT_RESERVED_FIRST),
            None
        );
    }

    #[test]
    fn handles_start_at_one() {
        let m = Manifest::new(vec![
            dev("disk", DeviceType::BlockBasic),
            dev("net0", DeviceType::NetBasic),
        ])
        .unwrap();
        assert_eq!(m.handle_of("disk", DeviceType::BlockBasic), Some(1));
        assert_eq!(m.handle_of("net0", DeviceType::NetBasic), Some(2));
        assert_eq!(m.handle_of("net0", DeviceType::BlockBasic), None);
        assert_eq!(m.handle_of("nope", DeviceType::NetBasic), None);
    }

    #[test]
    fn new_checks_rules() {
        let err = Manifest::new(vec![dev("a-b", DeviceType::NetBasic)]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "device 0 (\"a-b\"): name is not alphanumeric ('-' at offset 1); \
             use only ASCII letters and digits"
        );
        let err = Manifest::new(vec![
            dev("a", DeviceType::NetBasic),
            dev("a", DeviceType::BlockBasic),
        ])
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "device 1 (\"a\"): duplicate name, already used by device 0"
        );
        let many: Vec<Device> = (0..64)
            .map(|i| dev(&format!("d{i}"), DeviceType::BlockBasic))
            .collect();
        let err = Manifest::new(many.clone()).unwrap_err();
        assert_eq!(err.to_string(), "too many devices (64), maximum 63");
        assert_eq!(
            Manifest::new(many[..63].to_vec()).unwrap().devices.len(),
            63
        );
    }

    const NET_2IF: &str = r#"{
    "type": "solo5.manifest",
    "version": 1,
    "devices": [
        { "name": "service0", "type": "NET_BASIC" },
        { "name": "service1", "type": "NET_BASIC" },
        { "name": "storage", "type": "BLOCK_BASIC" }
    ]
}"#;

    #[test]
    fn json_to_note_round_trip() {
        use corten_abi::note::{MFT1_DESC_OFFSET, MFT1_DESC_PAD};
        let m = Manifest::from_json("net_2if.json", NET_2IF).unwrap();
        assert_eq!(m.devices.len(), 3);

        let note = m.to_note();
        let desc = m.to_note_desc();
        let mft = m.to_mft_bytes();
        assert_eq!(&note[MFT1_DESC_OFFSET - MFT1_DESC_PAD..], &desc[..]);
        assert_eq!(&desc[MFT1_DESC_PAD..], &mft[..]);
        assert_eq!(mft.len(), 8 + 4 * 104);

        assert_eq!(
            Manifest::from_note_desc(&note[MFT1_DESC_OFFSET..]).unwrap(),
            m
        );
        assert_eq!(Manifest::from_note_desc(&desc[MFT1_DESC_PAD..]).unwrap(), m);
        assert_eq!(Manifest::from_note_desc(&mft).unwrap(), m);
        // The padded descriptor is not the form from_note_desc takes.
        assert!(Manifest::from_note_desc(&desc).is_err());

        // And back to the text forms.
        let again = Manifest::from_json("q", &m.to_query_json()).unwrap();
        assert_eq!(again, m);
    }

    #[test]
    fn entries_match_abi_constructor() {
        let m = Manifest::from_json("net_2if.json", NET_2IF).unwrap();
        let e = m.to_entries();
        assert_eq!(e[0], corten_abi::mft::MftEntry::RESERVED);
        assert_eq!(
            e[3],
            corten_abi::mft::MftEntry::new(b"storage", corten_abi::mft::MFT_DEV_BLOCK_BASIC)
        );
    }

    #[test]
    fn empty_manifest_round_trip() {
        let m = Manifest::from_json(
            "e",
            r#"{"type": "solo5.manifest", "version": 1, "devices": []}"#,
        )
        .unwrap();
        assert_eq!(m.to_mft_bytes().len(), 8 + 104);
        assert_eq!(Manifest::from_note_desc(&m.to_mft_bytes()).unwrap(), m);
    }

    #[test]
    fn writers_never_panic_on_broken_manifests() {
        let long = "x".repeat(200);
        let m = Manifest {
            devices: (0..100)
                .map(|_| dev(&long, DeviceType::BlockBasic))
                .collect(),
        };
        let entries = m.to_entries();
        assert_eq!(entries.len(), 64);
        assert_eq!(entries[1].name_bytes(), &long.as_bytes()[..67]);
        assert_eq!(m.to_note().len(), 24 + 8 + 64 * 104);
    }
}
