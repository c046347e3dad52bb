//! The attached devices, by handle (the device's index in the manifest):
//! the hypercall handlers' and the network ring's view of what
//! `corten_tender::devices::AttachedDevices` attached.

use std::os::fd::RawFd;

use corten_abi::mft::MFT_MAX_ENTRIES;
use corten_tender::devices::AttachedDevices;
/// The device types are corten-tender's (shared with spt); their
/// descriptors are owned by `AttachedDevices`, which lives until the
/// process exits.
pub use corten_tender::devices::{BlockDevice, NetDevice};

pub enum Device {
    Block(BlockDevice),
    Net(NetDevice),
}

impl Device {
    /// The guest's handle for the device.
    pub fn handle(&self) -> u64 {
        match self {
            Device::Block(b) => b.handle,
            Device::Net(n) => n.handle,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DeviceTableError {
    #[error("device handle {0} is out of range: a manifest has at most 64 entries")]
    HandleRange(u64),
    #[error("device handle {0} is attached twice")]
    Duplicate(u64),
}

/// Devices indexed by handle.
#[derive(Default)]
pub struct Devices {
    slots: Vec<Option<Device>>,
}

impl Devices {
    pub fn new() -> Devices {
        Devices::default()
    }

    /// Every attached block and network device.
    pub fn from_attached(attached: &AttachedDevices) -> Result<Devices, DeviceTableError> {
        let mut devices = Devices::new();
        for b in attached.blocks() {
            devices.insert(Device::Block(b))?;
        }
        for n in attached.nets() {
            devices.insert(Device::Net(n))?;
        }
        Ok(devices)
    }

    /// Records `device` under its handle.
    pub fn insert(&mut self, device: Device) -> Result<(), DeviceTableError> {
        let handle = device.handle();
        let idx = usize::try_from(handle)
            .ok()
            .filter(|&i| i > 0 && i < MFT_MAX_ENTRIES)
            .ok_or(DeviceTableError::HandleRange(handle))?;
        if self.slots.len() <= idx {
            self.slots.resize_with(idx + 1, || None);
        }
        let slot = self
            .slots
            .get_mut(idx)
            .ok_or(DeviceTableError::HandleRange(handle))?;
        if slot.is_some() {
            return Err(DeviceTableError::Duplicate(handle));
        }
        *slot = Some(device);
        Ok(())
    }

    fn get(&self, handle: u64) -> Option<&Device> {
        usize::try_from(handle)
            .ok()
            .and_then(|i| self.slots.get(i))
            .and_then(Option::as_ref)
    }

    /// The block device with this handle, if the handle names one.
    pub fn block(&self, handle: u64) -> Option<&BlockDevice> {
        match self.get(handle) {
            Some(Device::Block(b)) => Some(b),
            _ => None,
        }
    }

    /// The network device with this handle, if the handle names one.
    pub fn net(&self, handle: u64) -> Option<&NetDevice> {
        match self.get(handle) {
            Some(Device::Net(n)) => Some(n),
            _ => None,
        }
    }

    /// (handle, device) pairs.
    pub fn iter(&self) -> impl Iterator<Item = (u64, &Device)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, d)| d.as_ref().map(|d| (i as u64, d)))
    }

    /// (handle, fd, block size, capacity) of every block device.
    pub fn block_fds(&self) -> impl Iterator<Item = (u64, RawFd, u64, u64)> + '_ {
        self.iter().filter_map(|(h, d)| match d {
            Device::Block(b) => Some((h, b.fd, b.block_size, b.capacity)),
            Device::Net(_) => None,
        })
    }

    /// (handle, fd) of every network device.
    pub fn net_fds(&self) -> impl Iterator<Item = (u64, RawFd)> + '_ {
        self.iter().filter_map(|(h, d)| match d {
            Device::Net(n) => Some((h, n.fd)),
            Device::Block(_) => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(handle: u64) -> Device {
        Device::Block(BlockDevice {
            handle,
            name: "storage".into(),
            fd: 0,
            capacity: 4096,
            block_size: 512,
        })
    }

    fn net(handle: u64) -> Device {
        Device::Net(NetDevice {
            handle,
            name: "service0".into(),
            fd: 0,
            mac: [2, 0, 0, 0, 0, 1],
            mtu: 1500,
        })
    }

    #[test]
    fn handles_are_typed_and_bounded() {
        let mut d = Devices::new();
        d.insert(block(1)).unwrap();
        d.insert(net(3)).unwrap();
        assert!(d.block(1).is_some());
        assert!(d.net(1).is_none());
        assert!(d.net(3).is_some());
        assert!(d.block(3).is_none());
        assert!(d.block(2).is_none());
        assert!(d.block(0).is_none());
        assert!(d.block(u64::MAX).is_none());
        assert!(matches!(
            d.insert(net(0)),
            Err(DeviceTableError::HandleRange(0))
        ));
        assert!(matches!(
            d.insert(net(64)),
            Err(DeviceTableError::HandleRange(64))
        ));
        assert!(matches!(
            d.insert(block(3)),
            Err(DeviceTableError::Duplicate(3))
        ));
        assert_eq!(d.net_fds().count(), 1);
        assert_eq!(d.block_fds().count(), 1);
    }
}
