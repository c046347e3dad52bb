//! HVT_HYPERCALL_NET_WRITE / HVT_HYPERCALL_NET_READ on a non-blocking tap.
//!
//! - Unknown handle: `SOLO5_R_EINVAL`.
//! - Write: the whole frame goes out in one `write(2)`, else the tender
//!   exits (upstream); a full tap queue (EAGAIN/ENOBUFS) is answered with
//!   `SOLO5_R_AGAIN` instead of killing the guest.
//! - Read: one frame per call; nothing queued (EAGAIN) or end of file is
//!   `SOLO5_R_AGAIN`, as upstream; on success `len` is set to the frame size.

use std::mem::offset_of;

use corten_abi::hvt::HcNetIo;
use corten_abi::solo5::{R_AGAIN, R_EINVAL, R_OK};

use super::{put, read_args, HypercallError, Outcome};
use crate::devices::Devices;
use crate::guest_mem::GuestMemory;
use crate::sys::would_block;

pub(super) fn write(
    devices: &Devices,
    mem: &mut GuestMemory,
    gpa: u64,
) -> Result<Option<Outcome>, HypercallError> {
    const CALL: &str = "NET_WRITE";
    let args: HcNetIo = read_args(mem, CALL, gpa, true)?;
    let ret_at = offset_of!(HcNetIo, ret);
    let Some(dev) = devices.net(args.handle) else {
        put(mem, CALL, gpa, ret_at, R_EINVAL as i32)?;
        return Ok(None);
    };
    let frame = mem
        .range(args.data, args.len)
        .map_err(HypercallError::access(CALL, "the frame"))?;
    let ret = match frame.write_to(dev.fd) {
        Ok(n) if n as u64 != args.len => {
            return Err(HypercallError::NetShortWrite {
                name: dev.name.clone(),
                written: n,
                len: args.len,
            })
        }
        Ok(_) => R_OK,
        Err(e) if would_block(&e) => R_AGAIN,
        Err(e) => {
            return Err(HypercallError::NetIo {
                name: dev.name.clone(),
                op: "write",
                source: e,
            })
        }
    };
    put(mem, CALL, gpa, ret_at, ret as i32)?;
    Ok(None)
}

pub(super) fn read(
    devices: &Devices,
    mem: &mut GuestMemory,
    gpa: u64,
) -> Result<Option<Outcome>, HypercallError> {
    const CALL: &str = "NET_READ";
    let args: HcNetIo = read_args(mem, CALL, gpa, true)?;
    let ret_at = offset_of!(HcNetIo, ret);
    let Some(dev) = devices.net(args.handle) else {
        put(mem, CALL, gpa, ret_at, R_EINVAL as i32)?;
        return Ok(None);
    };
    let fd = dev.fd;
    let buf = mem
        .range_mut(args.data, args.len)
        .map_err(HypercallError::access(CALL, "the receive buffer"))?;
    let got = match buf.read_from(fd) {
        // End of file: nothing to read, as upstream.
        Ok(0) => None,
        Ok(n) => Some(n as u64),
        Err(e) if would_block(&e) => None,
        Err(e) => {
            return Err(HypercallError::NetIo {
                name: dev.name.clone(),
                op: "read",
                source: e,
            })
        }
    };
    match got {
        Some(n) => {
            put(mem, CALL, gpa, offset_of!(HcNetIo, len), n)?;
            put(mem, CALL, gpa, ret_at, R_OK as i32)?;
        }
        None => put(mem, CALL, gpa, ret_at, R_AGAIN as i32)?,
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::{Device, NetDevice};
    use crate::hypercall::tests::mem;
    use crate::hypercall::Hypercalls;
    use corten_abi::hvt::Hypercall;
    use std::os::fd::AsRawFd;

    use corten_testutil::socket_pair as pair;

    fn request(m: &mut GuestMemory, handle: u64, data: u64, len: u64) {
        m.write::<u64>(0x3000, handle).unwrap();
        m.write::<u64>(0x3008, data).unwrap();
        m.write::<u64>(0x3010, len).unwrap();
        m.write::<i32>(0x3018, -1).unwrap();
    }

    #[test]
    fn frames_round_trip_and_empty_reads_say_again() {
        let (ours, peer) = pair();
        let mut d = Devices::new();
        d.insert(Device::Net(NetDevice {
            handle: 2,
            name: "service0".into(),
            fd: ours.as_raw_fd(),
            mac: [2, 0, 0, 0, 0, 1],
            mtu: 1500,
        }))
        .unwrap();
        let mut h = Hypercalls::new(d).unwrap();
        let mut m = mem();

        request(&mut m, 2, 0x10000, 1514);
        h.dispatch(&mut m, Hypercall::NetRead as u32, 0x3000)
            .unwrap();
        assert_eq!(m.read::<i32>(0x3018).unwrap(), R_AGAIN as i32);

        // SAFETY: writes from a live buffer.
        let n = unsafe { libc::write(peer.as_raw_fd(), b"frame!".as_ptr().cast(), 6) };
        assert_eq!(n, 6);
        // Poll sees it.
        m.write::<u64>(0x4000, 1_000_000_000).unwrap();
        h.dispatch(&mut m, Hypercall::Poll as u32, 0x4000).unwrap();
        assert_eq!(m.read::<u64>(0x4008).unwrap(), 1 << 2);
        assert_eq!(m.read::<i32>(0x4010).unwrap(), 1);

        request(&mut m, 2, 0x10000, 1514);
        h.dispatch(&mut m, Hypercall::NetRead as u32, 0x3000)
            .unwrap();
        assert_eq!(m.read::<i32>(0x3018).unwrap(), R_OK as i32);
        assert_eq!(m.read::<u64>(0x3010).unwrap(), 6);
        assert_eq!(m.read::<[u8; 6]>(0x10000).unwrap(), *b"frame!");

        m.write_bytes(0x20000, b"reply").unwrap();
        request(&mut m, 2, 0x20000, 5);
        h.dispatch(&mut m, Hypercall::NetWrite as u32, 0x3000)
            .unwrap();
        assert_eq!(m.read::<i32>(0x3018).unwrap(), R_OK as i32);
        let mut buf = [0u8; 16];
        // SAFETY: reads into a live buffer.
        let n = unsafe { libc::read(peer.as_raw_fd(), buf.as_mut_ptr().cast(), 16) };
        assert_eq!(&buf[..n as usize], b"reply");
    }

    #[test]
    fn unknown_handles_get_einval() {
        let mut h = Hypercalls::new(Devices::new()).unwrap();
        let mut m = mem();
        for nr in [Hypercall::NetRead, Hypercall::NetWrite] {
            request(&mut m, 5, 0x10000, 64);
            h.dispatch(&mut m, nr as u32, 0x3000).unwrap();
            assert_eq!(m.read::<i32>(0x3018).unwrap(), R_EINVAL as i32);
        }
    }
}
