//! Block device "storage": writes, reads back and verifies every tenth
//! sector and the last one, then checks that transfers past the end, of the
//! wrong length or at unaligned offsets are refused. Works with any sector
//! size (512, 4096, ...), which it reads from the device.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec;
use corten_rt::block::BlockDevice;
use corten_rt::{println, Error};

corten_rt::manifest! { block "storage" }
corten_rt::entry!(main);

fn pattern(offset: u64, i: usize) -> u8 {
    (offset / 512).wrapping_add(i as u64).wrapping_mul(31) as u8
}

fn run() -> Result<(), i32> {
    if BlockDevice::acquire("nonexistent").is_ok() {
        println!("FAILURE: acquired an undeclared device");
        return Err(20);
    }
    if corten_rt::net::NetDevice::acquire("storage").is_ok() {
        println!("FAILURE: acquired a block device as a network device");
        return Err(21);
    }
    let dev = BlockDevice::acquire("storage").map_err(|e| {
        println!("FAILURE: could not acquire 'storage': {e}");
        99
    })?;
    let info = dev.info();
    println!(
        "capacity {} bytes, sector size {} bytes",
        info.capacity, info.block_size
    );
    let bs = info.block_size as usize;
    let mut wbuf = vec![0u8; bs];
    let mut rbuf = vec![0u8; bs + 1];

    let mut checked = 0u64;
    let mut offset = 0;
    while offset < info.capacity {
        for (i, b) in wbuf.iter_mut().enumerate() {
            *b = pattern(offset, i);
        }
        rbuf.fill(0);
        if let Err(e) = dev.write(offset, &wbuf) {
            println!("FAILURE: write at {offset}: {e}");
            return Err(1);
        }
        if let Err(e) = dev.read(offset, &mut rbuf[..bs]) {
            println!("FAILURE: read at {offset}: {e}");
            return Err(1);
        }
        if rbuf[..bs] != wbuf[..] {
            println!("FAILURE: data read back at {offset} differs");
            return Err(1);
        }
        checked += 1;
        offset += 10 * info.block_size;
    }
    println!("verified {checked} sectors");

    let last = info.capacity - info.block_size;
    if dev.write(last, &wbuf).is_err() || dev.read(last, &mut rbuf[..bs]).is_err() {
        println!("FAILURE: last sector not accessible");
        return Err(2);
    }

    let refused = |what: &str, r: Result<(), Error>| -> Result<(), i32> {
        match r {
            Err(Error::Invalid) => Ok(()),
            other => {
                println!("FAILURE: {what}: expected Invalid, got {other:?}");
                Err(4)
            }
        }
    };
    refused("write at capacity", dev.write(info.capacity, &wbuf))?;
    refused("read at capacity", dev.read(info.capacity, &mut rbuf[..bs]))?;
    refused("write far past the end", dev.write(u64::MAX - 511, &wbuf))?;
    refused("short write", dev.write(0, &wbuf[..bs - 1]))?;
    refused("short read", dev.read(0, &mut rbuf[..bs - 1]))?;
    refused("long read", dev.read(0, &mut rbuf[..]))?;
    refused("unaligned write", dev.write(info.block_size - 1, &wbuf))?;
    refused("unaligned read", dev.read(1, &mut rbuf[..bs]))?;
    Ok(())
}

fn main(_: &corten_rt::Start) -> i32 {
    corten_tests::banner("blk");
    match run() {
        Ok(()) => {
            println!("SUCCESS");
            corten_rt::EXIT_SUCCESS
        }
        Err(code) => code,
    }
}
