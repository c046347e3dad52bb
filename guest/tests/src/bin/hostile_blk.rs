//! Hostile guest with block device "storage": block transfers outside what
//! the tender allows (spt: raw pread64/pwrite64/read/write on the block fd;
//! hvt: raw BLOCK_READ/BLOCK_WRITE hypercalls). `list` shows the cases.
#![no_std]
#![no_main]

use corten_rt::block::BlockDevice;
use corten_tests::hostile::{self, Env};

corten_rt::manifest! { block "storage" }
corten_rt::entry!(main);

#[cfg(feature = "hvt")]
use hostile::hvt::BLOCK_CASES as CASES;
#[cfg(feature = "spt")]
use hostile::spt::BLOCK_CASES as CASES;

fn main(start: &corten_rt::Start) -> i32 {
    let block = BlockDevice::acquire("storage").ok();
    hostile::main("hostile_blk", &[CASES], &Env { start, block })
}
