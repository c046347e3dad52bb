//! The manifest as the tender handed it over at boot: the unikernel's
//! declared devices with their properties (block capacity and sector size,
//! MAC and MTU) and `attached` flag filled in.
//!
//! A device's handle is its index in the manifest; entry 0 is reserved.

use corten_abi::mft::{
    MftEntry, MftHeader, MFT_DEV_BLOCK_BASIC, MFT_DEV_NET_BASIC, MFT_MAX_ENTRIES, MFT_VERSION,
};

use crate::cell::BootCell;
use crate::Handle;

/// Kind of a device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceKind {
    /// A block device (`BLOCK_BASIC`).
    Block,
    /// A network device (`NET_BASIC`).
    Net,
}

impl DeviceKind {
    const fn mft_type(self) -> u32 {
        match self {
            DeviceKind::Block => MFT_DEV_BLOCK_BASIC,
            DeviceKind::Net => MFT_DEV_NET_BASIC,
        }
    }

    fn from_mft_type(t: u32) -> Option<Self> {
        match t {
            MFT_DEV_BLOCK_BASIC => Some(DeviceKind::Block),
            MFT_DEV_NET_BASIC => Some(DeviceKind::Net),
            _ => None,
        }
    }
}

/// One device of the boot-time manifest.
#[derive(Clone, Copy, Debug)]
pub struct Device {
    handle: Handle,
    entry: &'static MftEntry,
}

impl Device {
    /// Its handle (manifest index).
    pub fn handle(&self) -> Handle {
        self.handle
    }
    /// Its name.
    pub fn name(&self) -> &'static [u8] {
        self.entry.name_bytes()
    }
    /// Its kind, if it is one the runtime knows.
    pub fn kind(&self) -> Option<DeviceKind> {
        DeviceKind::from_mft_type(self.entry.mtype)
    }
    /// Whether the tender attached it (a correct tender attaches all).
    pub fn attached(&self) -> bool {
        self.entry.attached != 0
    }
    /// The raw entry, with the properties the tender filled in.
    pub fn entry(&self) -> &'static MftEntry {
        self.entry
    }
}

/// The boot-time manifest.
#[derive(Clone, Copy, Debug)]
pub struct Manifest {
    entries: &'static [MftEntry],
}

impl Manifest {
    const EMPTY: Manifest = Manifest { entries: &[] };

    /// Wraps the entries of a manifest (entry 0 included).
    #[cfg(test)]
    pub(crate) const fn from_entries(entries: &'static [MftEntry]) -> Self {
        Manifest { entries }
    }

    /// Views the manifest the tender placed at `addr`.
    ///
    /// # Safety
    /// `addr` must be 0 or point to a manifest header that stays valid and
    /// unmodified for the rest of the run, followed by as many entries as the
    /// header says (the tender guarantees both for the address in the boot
    /// info). Bad versions and counts above 64 are refused, not trusted.
    pub(crate) unsafe fn from_boot(addr: u64) -> Result<Manifest, &'static str> {
        if addr == 0 {
            return Err("the tender passed no manifest");
        }
        let header = addr as usize as *const MftHeader;
        if !header.is_aligned() {
            return Err("the manifest is misaligned");
        }
        // SAFETY: the caller guarantees a header at addr; it is aligned.
        let header = unsafe { &*header };
        if header.version != MFT_VERSION {
            return Err("the manifest has an unknown version");
        }
        let n = header.entries as usize;
        if n == 0 || n > MFT_MAX_ENTRIES {
            return Err("the manifest has no entries or more than 64");
        }
        let first = (addr as usize + core::mem::size_of::<MftHeader>()) as *const MftEntry;
        // SAFETY: the caller guarantees `n` entries follow the header; the
        // header is 8 bytes and entries need 8-byte alignment, so `first`
        // is aligned too.
        let entries = unsafe { core::slice::from_raw_parts(first, n) };
        Ok(Manifest { entries })
    }

    /// Number of entries, the reserved entry 0 included.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries at all (never for a valid manifest).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The devices (entry 0 excluded), in handle order.
    pub fn devices(&self) -> impl Iterator<Item = Device> {
        self.entries
            .iter()
            .enumerate()
            .skip(1)
            .map(|(i, entry)| Device {
                handle: i as Handle,
                entry,
            })
    }

    /// The device called `name` of kind `kind`.
    pub fn find(&self, name: &str, kind: DeviceKind) -> Option<Device> {
        self.devices()
            .find(|d| d.entry.mtype == kind.mft_type() && d.name() == name.as_bytes())
    }

    /// The device with handle `handle`, if it has kind `kind`.
    pub fn get(&self, handle: Handle, kind: DeviceKind) -> Option<Device> {
        let index = usize::try_from(handle).ok()?;
        let entry = self.entries.get(index)?;
        (index != 0 && entry.mtype == kind.mft_type()).then_some(Device { handle, entry })
    }

    /// Number of devices of kind `kind`.
    pub fn count(&self, kind: DeviceKind) -> usize {
        self.devices()
            .filter(|d| d.entry.mtype == kind.mft_type())
            .count()
    }
}

static MANIFEST: BootCell<Manifest> = BootCell::new(Manifest::EMPTY);

pub(crate) fn install(m: Manifest) {
    MANIFEST.set(m);
}

/// The manifest the tender passed at boot.
pub fn get() -> Manifest {
    MANIFEST.get()
}

#[cfg(test)]
mod tests {
    use super::*;
    use corten_abi::mft::MftDeviceProps;

    fn leak(entries: Vec<MftEntry>) -> Manifest {
        Manifest::from_entries(Vec::leak(entries))
    }

    fn sample() -> Manifest {
        let mut blk = MftEntry::new(b"storage", MFT_DEV_BLOCK_BASIC);
        blk.props = MftDeviceProps::block(4096 * 10, 512);
        blk.attached = 1;
        let net = MftEntry::new(b"service0", MFT_DEV_NET_BASIC);
        leak(vec![MftEntry::RESERVED, blk, net])
    }

    #[test]
    fn find_by_name_and_kind() {
        let m = sample();
        let d = m.find("storage", DeviceKind::Block).unwrap();
        assert_eq!(d.handle(), 1);
        assert!(d.attached());
        assert_eq!(d.entry().props.block_capacity(), 40960);
        assert!(m.find("storage", DeviceKind::Net).is_none());
        assert!(m.find("stor", DeviceKind::Block).is_none());
        assert!(m.find("", DeviceKind::Block).is_none());
        assert_eq!(m.find("service0", DeviceKind::Net).unwrap().handle(), 2);
    }

    #[test]
    fn get_by_handle_checks_kind_and_range() {
        let m = sample();
        assert!(m.get(1, DeviceKind::Block).is_some());
        assert!(m.get(1, DeviceKind::Net).is_none());
        assert!(m.get(0, DeviceKind::Block).is_none());
        assert!(m.get(3, DeviceKind::Net).is_none());
        assert!(m.get(u64::MAX, DeviceKind::Net).is_none());
        assert_eq!(m.count(DeviceKind::Net), 1);
        assert_eq!(m.len(), 3);
    }

    #[test]
    fn from_boot_rejects_bad_headers() {
        #[repr(C, align(8))]
        struct Raw {
            h: MftHeader,
            e: [MftEntry; 2],
        }
        let mut raw = Box::new(Raw {
            h: MftHeader {
                version: MFT_VERSION,
                entries: 2,
            },
            e: [MftEntry::RESERVED, MftEntry::new(b"x", MFT_DEV_NET_BASIC)],
        });
        let addr = &*raw as *const Raw as u64;
        // SAFETY: raw outlives every use of the views below (leaked at the end).
        let m = unsafe { Manifest::from_boot(addr) }.unwrap();
        assert_eq!(m.find("x", DeviceKind::Net).unwrap().handle(), 1);
        raw.h.entries = 65;
        // SAFETY: as above; the count is refused before any entry is read.
        assert!(unsafe { Manifest::from_boot(addr) }.is_err());
        raw.h.entries = 2;
        raw.h.version = 7;
        // SAFETY: as above.
        assert!(unsafe { Manifest::from_boot(addr) }.is_err());
        // SAFETY: 0 is refused without being read.
        assert!(unsafe { Manifest::from_boot(0) }.is_err());
        Box::leak(raw);
    }
}
