//! The application manifest (`mft_abi.h`): the list of devices a unikernel
//! declares, as it sits in the MFT1 note and in guest memory at boot.
//!
//! The tender fills in the device properties, backing descriptor and
//! `attached` flag of its copy before handing it to the guest.

use crate::assert_layout;

/// Manifest format version.
pub const MFT_VERSION: u32 = 1;
/// Bytes in an entry's name field, including the terminator.
pub const MFT_NAME_SIZE: usize = 68;
/// Longest device name, in characters.
pub const MFT_NAME_MAX: usize = 67;
/// Most entries a manifest may hold, the reserved entry 0 included.
pub const MFT_MAX_ENTRIES: usize = 64;

/// `mft_type_t`: basic block device.
pub const MFT_DEV_BLOCK_BASIC: u32 = 1;
/// `mft_type_t`: basic network device.
pub const MFT_DEV_NET_BASIC: u32 = 2;
/// `mft_type_t` of the reserved first entry.
pub const MFT_RESERVED_FIRST: u32 = 1 << 30;

/// Top of a manifest (`struct mft` without its entries).
#[repr(C, align(8))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MftHeader {
    pub version: u32,
    pub entries: u32,
}

/// The 16-byte union of device properties of an entry: for a block device
/// `{ capacity: u64, block_size: u16 }`, for a network device
/// `{ mac: [u8; 6], mtu: u16 }`. Kept as bytes so no `unsafe` is needed.
#[repr(C, align(8))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct MftDeviceProps(pub [u8; 16]);

impl MftDeviceProps {
    /// Block device properties.
    pub const fn block(capacity: u64, block_size: u16) -> Self {
        let c = capacity.to_le_bytes();
        let b = block_size.to_le_bytes();
        MftDeviceProps([
            c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], b[0], b[1], 0, 0, 0, 0, 0, 0,
        ])
    }
    /// Network device properties.
    pub const fn net(mac: [u8; 6], mtu: u16) -> Self {
        let m = mtu.to_le_bytes();
        MftDeviceProps([
            mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], m[0], m[1], 0, 0, 0, 0, 0, 0, 0, 0,
        ])
    }
    /// Capacity in bytes of a block device.
    pub const fn block_capacity(&self) -> u64 {
        let b = &self.0;
        u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
    }
    /// Sector size in bytes of a block device.
    pub const fn block_size(&self) -> u16 {
        u16::from_le_bytes([self.0[8], self.0[9]])
    }
    /// MAC address of a network device.
    pub const fn net_mac(&self) -> [u8; 6] {
        let b = &self.0;
        [b[0], b[1], b[2], b[3], b[4], b[5]]
    }
    /// MTU of a network device (not counting the Ethernet header).
    pub const fn net_mtu(&self) -> u16 {
        u16::from_le_bytes([self.0[6], self.0[7]])
    }
}

/// One manifest entry (`struct mft_entry`), 104 bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MftEntry {
    /// NUL-terminated device name.
    pub name: [u8; MFT_NAME_SIZE],
    /// `mft_type_t`.
    pub mtype: u32,
    /// Device properties, filled in by the tender.
    pub props: MftDeviceProps,
    /// Backing host descriptor (low 32 bits, as a C `int`) or object
    /// pointer; private to the tender and bindings.
    pub backing: u64,
    /// Non-zero once the tender attached the device. Zero in the ELF note.
    pub attached: u8,
    pub _pad: [u8; 7],
}

impl MftEntry {
    /// The reserved entry 0 every manifest starts with.
    pub const RESERVED: MftEntry = MftEntry::new(b"", MFT_RESERVED_FIRST);

    /// A fresh (unattached) entry. Names longer than [`MFT_NAME_MAX`] bytes
    /// are a compile error when used in a `const`.
    pub const fn new(name: &[u8], mtype: u32) -> Self {
        assert!(
            name.len() <= MFT_NAME_MAX,
            "device name longer than 67 bytes"
        );
        let mut n = [0u8; MFT_NAME_SIZE];
        let mut i = 0;
        while i < name.len() {
            n[i] = name[i];
            i += 1;
        }
        MftEntry {
            name: n,
            mtype,
            props: MftDeviceProps([0; 16]),
            backing: 0,
            attached: 0,
            _pad: [0; 7],
        }
    }

    /// The name up to its terminator (the whole field if there is none).
    pub fn name_bytes(&self) -> &[u8] {
        let end = self
            .name
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(MFT_NAME_SIZE);
        &self.name[..end]
    }

    /// The backing host descriptor stored by the tender.
    pub const fn hostfd(&self) -> i32 {
        self.backing as u32 as i32
    }

    /// Stores a backing host descriptor (as the C `int` member of the union).
    pub fn set_hostfd(&mut self, fd: i32) {
        self.backing = fd as u32 as u64;
    }
}

assert_layout!(MftHeader, size = 8, align = 8, version = 0, entries = 4);
assert_layout!(MftDeviceProps, size = 16, align = 8);
assert_layout!(
    MftEntry,
    size = 104,
    align = 8,
    name = 0,
    mtype = 68,
    props = 72,
    backing = 88,
    attached = 96,
);
// A manifest must fit in a solo5_handle_set_t bitmap.
const _: () = assert!(MFT_MAX_ENTRIES <= 64);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn props_round_trip() {
        let p = MftDeviceProps::block(0x1234_5678_9abc, 4096);
        assert_eq!(p.block_capacity(), 0x1234_5678_9abc);
        assert_eq!(p.block_size(), 4096);
        let n = MftDeviceProps::net([2, 0, 0, 0, 0, 1], 1500);
        assert_eq!(n.net_mac(), [2, 0, 0, 0, 0, 1]);
        assert_eq!(n.net_mtu(), 1500);
    }

    #[test]
    fn entry_name_and_fd() {
        let mut e = MftEntry::new(b"storage", MFT_DEV_BLOCK_BASIC);
        assert_eq!(e.name_bytes(), b"storage");
        e.set_hostfd(-1);
        assert_eq!(e.hostfd(), -1);
        assert_eq!(e.backing, 0xffff_ffff);
        assert_eq!(MftEntry::RESERVED.name_bytes(), b"");
    }
}
