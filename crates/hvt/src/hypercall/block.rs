//! HVT_HYPERCALL_BLOCK_WRITE / HVT_HYPERCALL_BLOCK_READ.
//!
//! Checks, in order (each failing one answers `SOLO5_R_EINVAL`):
//! 1. `handle` names an attached block device;
//! 2. `offset < capacity` and `offset + len <= capacity`, without overflow
//!    (upstream's checks: a guest can never grow or read past the backing
//!    file);
//! 3. `len` equals the block size and `offset` is a multiple of it. The
//!    Solo5 API allows exactly one aligned block per call and upstream's
//!    bindings check it guest-side; the tender enforces it too, so a hostile
//!    guest cannot do other I/O (spt pins the same in its seccomp filter,
//!    and so does the hvt filter: `pread64`/`pwrite64` with length ==
//!    block size and offset <= capacity - block size).
//!
//! Then the data buffer must lie in guest memory (writable, for a read),
//! else the tender exits as upstream does. An I/O error or a short transfer
//! on the backing file is fatal, as upstream.

use std::io;
use std::mem::offset_of;

use corten_abi::hvt::HcBlockIo;
use corten_abi::solo5::{R_EINVAL, R_OK};

use super::{put, read_args, HypercallError, Outcome};
use crate::devices::{BlockDevice, Devices};
use crate::guest_mem::{GuestMemory, GuestRange, GuestRangeMut};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Read,
    Write,
}

impl Op {
    fn call(self) -> &'static str {
        match self {
            Op::Read => "BLOCK_READ",
            Op::Write => "BLOCK_WRITE",
        }
    }

    fn verb(self) -> &'static str {
        match self {
            Op::Read => "read",
            Op::Write => "write",
        }
    }
}

/// The request is well-formed for this device.
fn valid(dev: &BlockDevice, offset: u64, len: u64) -> bool {
    let Some(end) = offset.checked_add(len) else {
        return false;
    };
    offset < dev.capacity
        && end <= dev.capacity
        && len == dev.block_size
        && dev.block_size != 0
        && offset.is_multiple_of(dev.block_size)
        && i64::try_from(end).is_ok()
}

pub(super) fn write(
    devices: &Devices,
    mem: &mut GuestMemory,
    gpa: u64,
) -> Result<Option<Outcome>, HypercallError> {
    io(devices, mem, gpa, Op::Write)
}

pub(super) fn read(
    devices: &Devices,
    mem: &mut GuestMemory,
    gpa: u64,
) -> Result<Option<Outcome>, HypercallError> {
    io(devices, mem, gpa, Op::Read)
}

fn io(
    devices: &Devices,
    mem: &mut GuestMemory,
    gpa: u64,
    op: Op,
) -> Result<Option<Outcome>, HypercallError> {
    let call = op.call();
    let args: HcBlockIo = read_args(mem, call, gpa, true)?;
    let ret_at = offset_of!(HcBlockIo, ret);
    let dev = match devices.block(args.handle) {
        Some(dev) if valid(dev, args.offset, args.len) => dev,
        _ => {
            put(mem, call, gpa, ret_at, R_EINVAL as i32)?;
            return Ok(None);
        }
    };
    let access = HypercallError::access(call, "the data buffer");
    let fd = dev.fd;
    let result = match op {
        Op::Write => {
            let data = mem.range(args.data, args.len).map_err(access)?;
            pwrite_all(fd, data, args.offset)
        }
        Op::Read => {
            let data = mem.range_mut(args.data, args.len).map_err(access)?;
            pread_all(fd, data, args.offset)
        }
    };
    result.map_err(|source| HypercallError::BlockIo {
        name: dev.name.clone(),
        op: op.verb(),
        len: args.len,
        offset: args.offset,
        source,
    })?;
    put(mem, call, gpa, ret_at, R_OK as i32)?;
    Ok(None)
}

/// One `pwrite` of all of `data`, straight from guest memory; a short
/// write is an error (the file system is full).
fn pwrite_all(fd: i32, data: GuestRange<'_>, offset: u64) -> io::Result<()> {
    let n = data.pwrite_to(fd, file_offset(offset)?)?;
    whole(n, data.len(), "wrote", io::ErrorKind::WriteZero)
}

/// One `pread` of all of `data`, straight into guest memory; a short read
/// is an error (the backing file shrank under the tender).
fn pread_all(fd: i32, data: GuestRangeMut<'_>, offset: u64) -> io::Result<()> {
    let n = data.pread_from(fd, file_offset(offset)?)?;
    whole(n, data.len(), "read", io::ErrorKind::UnexpectedEof)
}

fn file_offset(offset: u64) -> io::Result<libc::off_t> {
    libc::off_t::try_from(offset).map_err(|_| io::ErrorKind::InvalidInput.into())
}

/// A transfer that moved `n` of `len` bytes: anything short is an error.
fn whole(n: usize, len: usize, did: &str, kind: io::ErrorKind) -> io::Result<()> {
    if n == len {
        Ok(())
    } else {
        Err(io::Error::new(
            kind,
            format!("{did} only {n} of {len} bytes"),
        ))
    }
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)] // test values, not the guest's
mod tests {
    use super::*;
    use crate::devices::Device;
    use crate::hypercall::tests::mem;
    use crate::hypercall::Hypercalls;
    use corten_abi::hvt::Hypercall;
    use std::io::{Read, Seek, Write};
    use std::os::fd::AsRawFd;

    fn disk(blocks: u64, block_size: u64) -> (std::fs::File, Devices) {
        let mut f = tempfile();
        f.write_all(&vec![0xab; (blocks * block_size) as usize])
            .unwrap();
        let mut d = Devices::new();
        d.insert(Device::Block(BlockDevice {
            handle: 1,
            name: "storage".into(),
            fd: f.as_raw_fd(),
            capacity: blocks * block_size,
            block_size,
        }))
        .unwrap();
        (f, d)
    }

    fn tempfile() -> std::fs::File {
        let path = std::env::temp_dir().join(format!(
            "corten-hvt-blk-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        std::fs::remove_file(&path).unwrap();
        f
    }

    fn request(m: &mut GuestMemory, handle: u64, offset: u64, data: u64, len: u64) {
        m.write::<u64>(0x3000, handle).unwrap();
        m.write::<u64>(0x3008, offset).unwrap();
        m.write::<u64>(0x3010, data).unwrap();
        m.write::<u64>(0x3018, len).unwrap();
        m.write::<i32>(0x3020, -1).unwrap();
    }

    fn ret(m: &GuestMemory) -> i32 {
        m.read::<i32>(0x3020).unwrap()
    }

    #[test]
    fn reads_and_writes_whole_blocks() {
        let (mut f, d) = disk(4, 512);
        let mut h = Hypercalls::new(d).unwrap();
        let mut m = mem();
        m.write_bytes(0x10000, &[7u8; 512]).unwrap();
        request(&mut m, 1, 1024, 0x10000, 512);
        h.dispatch(&mut m, Hypercall::BlockWrite as u32, 0x3000)
            .unwrap();
        assert_eq!(ret(&m), R_OK as i32);
        let mut back = vec![0; 2048];
        f.rewind().unwrap();
        f.read_exact(&mut back).unwrap();
        assert!(back[..1024].iter().all(|&b| b == 0xab));
        assert!(back[1024..1536].iter().all(|&b| b == 7));

        request(&mut m, 1, 0, 0x20000, 512);
        h.dispatch(&mut m, Hypercall::BlockRead as u32, 0x3000)
            .unwrap();
        assert_eq!(ret(&m), R_OK as i32);
        assert_eq!(m.read::<[u8; 512]>(0x20000).unwrap(), [0xab; 512]);
    }

    #[test]
    fn bad_requests_get_einval() {
        let (_f, d) = disk(4, 512);
        let mut h = Hypercalls::new(d).unwrap();
        let mut m = mem();
        let einval = R_EINVAL as i32;
        for (handle, offset, len) in [
            (2, 0, 512),              // not attached
            (0, 0, 512),              // reserved entry
            (1, 2048, 512),           // at capacity
            (1, 1536, 1024),          // runs past capacity
            (1, u64::MAX - 511, 512), // overflows
            (1, 100, 512),            // unaligned offset
            (1, 0, 100),              // partial block
            (1, 0, 0),                // empty
        ] {
            for nr in [Hypercall::BlockRead, Hypercall::BlockWrite] {
                request(&mut m, handle, offset, 0x10000, len);
                h.dispatch(&mut m, nr as u32, 0x3000).unwrap();
                assert_eq!(
                    ret(&m),
                    einval,
                    "{nr:?} handle {handle} offset {offset} len {len}"
                );
            }
        }
    }

    #[test]
    fn bad_buffers_are_fatal_not_crashes() {
        let (_f, d) = disk(4, 512);
        let mut h = Hypercalls::new(d).unwrap();
        let mut m = mem();
        request(&mut m, 1, 0, (4 << 20) - 256, 512);
        assert!(h
            .dispatch(&mut m, Hypercall::BlockRead as u32, 0x3000)
            .is_err());
        assert!(h
            .dispatch(&mut m, Hypercall::BlockWrite as u32, 0x3000)
            .is_err());
        m.protect(0x100000, 0x102000, crate::guest_mem::HostProt::ReadOnly)
            .unwrap();
        request(&mut m, 1, 0, 0x100000, 512);
        let err = h
            .dispatch(&mut m, Hypercall::BlockRead as u32, 0x3000)
            .unwrap_err();
        assert!(err.to_string().contains("read-only"), "{err}");
        // Writing *from* read-only memory to the disk is fine.
        h.dispatch(&mut m, Hypercall::BlockWrite as u32, 0x3000)
            .unwrap();
        assert_eq!(ret(&m), R_OK as i32);
    }

    #[test]
    fn exactly_one_block_per_request() {
        let (_f, d) = disk(8, 4096);
        let mut h = Hypercalls::new(d).unwrap();
        let mut m = mem();
        request(&mut m, 1, 4096, 0x10000, 8192);
        h.dispatch(&mut m, Hypercall::BlockRead as u32, 0x3000)
            .unwrap();
        assert_eq!(ret(&m), R_EINVAL as i32);
        request(&mut m, 1, 4096, 0x10000, 4096);
        h.dispatch(&mut m, Hypercall::BlockRead as u32, 0x3000)
            .unwrap();
        assert_eq!(ret(&m), R_OK as i32);
    }
}
