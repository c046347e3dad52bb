//! Network devices: Ethernet frames, sent and received without blocking.

use corten_abi::solo5::{NET_ALEN, NET_HLEN};

use crate::manifest::{self, DeviceKind};
use crate::{platform, Error, Handle};

/// Length of an Ethernet header, which every frame includes.
pub const ETHERNET_HEADER_LEN: usize = NET_HLEN;

/// Address and MTU of a network device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NetInfo {
    /// Its MAC address.
    pub mac: [u8; NET_ALEN],
    /// Largest payload, not counting the Ethernet header.
    pub mtu: usize,
}

impl NetInfo {
    /// Largest frame, Ethernet header included: the buffer size `read`
    /// needs and the most `write` accepts.
    pub fn max_frame(&self) -> usize {
        self.mtu + ETHERNET_HEADER_LEN
    }
}

/// A network device declared in the manifest and attached by the tender.
#[derive(Clone, Copy, Debug)]
pub struct NetDevice {
    handle: Handle,
    info: NetInfo,
    backing: i32,
}

impl NetDevice {
    /// The network device called `name` in the manifest.
    ///
    /// Fails with [`Error::Invalid`] if there is no such network device or
    /// the tender did not attach it.
    pub fn acquire(name: &str) -> Result<NetDevice, Error> {
        let d = manifest::get()
            .find(name, DeviceKind::Net)
            .ok_or(Error::Invalid)?;
        if !d.attached() {
            return Err(Error::Invalid);
        }
        let e = d.entry();
        Ok(NetDevice {
            handle: d.handle(),
            info: NetInfo {
                mac: e.props.net_mac(),
                mtu: usize::from(e.props.net_mtu()),
            },
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

    /// MAC address and MTU.
    pub fn info(&self) -> NetInfo {
        self.info
    }

    /// Receives one frame into `buf` and returns its length. `buf` must
    /// hold at least [`NetInfo::max_frame`] bytes. [`Error::Again`] means
    /// no frame is waiting.
    pub fn read(&self, buf: &mut [u8]) -> Result<usize, Error> {
        if buf.len() < self.info.max_frame() {
            return Err(Error::Invalid);
        }
        platform::net_read(self.handle, self.backing, buf)
    }

    /// Sends `frame` (Ethernet header included, at most
    /// [`NetInfo::max_frame`] bytes). A frame the host cannot take right now
    /// may be dropped silently.
    pub fn write(&self, frame: &[u8]) -> Result<(), Error> {
        if frame.len() > self.info.max_frame() {
            return Err(Error::Invalid);
        }
        platform::net_write(self.handle, self.backing, frame)
    }
}
