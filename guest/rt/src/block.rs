//! Block devices: fixed-size sectors read and written one at a time.

use crate::manifest::{self, DeviceKind};
use crate::{platform, Error, Handle};

/// Size and sector size of a block device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockInfo {
    /// Capacity in bytes (a multiple of `block_size`).
    pub capacity: u64,
    /// Sector size in bytes: the only transfer size, and the alignment of
    /// every offset (a power of two, at least 512).
    pub block_size: u64,
}

/// A block device declared in the manifest and attached by the tender.
#[derive(Clone, Copy, Debug)]
pub struct BlockDevice {
    handle: Handle,
    info: BlockInfo,
    backing: i32,
}

impl BlockDevice {
    /// The block device called `name` in the manifest.
    ///
    /// Fails with [`Error::Invalid`] if there is no such block device, or
    /// if the tender did not attach it or gave it an unusable geometry.
    pub fn acquire(name: &str) -> Result<BlockDevice, Error> {
        let d = manifest::get()
            .find(name, DeviceKind::Block)
            .ok_or(Error::Invalid)?;
        let e = d.entry();
        let info = BlockInfo {
            capacity: e.props.block_capacity(),
            block_size: u64::from(e.props.block_size()),
        };
        if !d.attached() || !info.block_size.is_power_of_two() || info.capacity < info.block_size {
            return Err(Error::Invalid);
        }
        Ok(BlockDevice {
            handle: d.handle(),
            info,
            backing: e.hostfd(),
        })
    }

    pub(crate) fn backing(&self) -> i32 {
        self.backing
    }

    /// Its handle, for [`crate::time::HandleSet::contains`].
    pub fn handle(&self) -> Handle {
        self.handle
    }

    /// Capacity and sector size.
    pub fn info(&self) -> BlockInfo {
        self.info
    }

    /// Checks one transfer the way every tender requires: exactly one
    /// sector, at a sector-aligned offset, inside the device.
    fn check(&self, offset: u64, len: usize) -> Result<(), Error> {
        let bs = self.info.block_size;
        if len as u64 != bs || offset & (bs - 1) != 0 || offset > self.info.capacity - bs {
            return Err(Error::Invalid);
        }
        Ok(())
    }

    /// Reads the sector at byte `offset` into `buf`, whose length must be
    /// the sector size.
    pub fn read(&self, offset: u64, buf: &mut [u8]) -> Result<(), Error> {
        self.check(offset, buf.len())?;
        platform::block_read(self.handle, self.backing, offset, buf)
    }

    /// Writes `buf`, whose length must be the sector size, to the sector at
    /// byte `offset`.
    pub fn write(&self, offset: u64, buf: &[u8]) -> Result<(), Error> {
        self.check(offset, buf.len())?;
        platform::block_write(self.handle, self.backing, offset, buf)
    }
}
