//! The example of docs/guest-runtime.md: reads the first sector of
//! "storage", then prints the size of every frame arriving on "service0"
//! for `N` seconds (first argument, default 5), and exits 0.
#![no_std]
#![no_main]

extern crate alloc; // Vec, String, Box: the runtime has a global allocator

use alloc::vec;
use corten_rt::block::BlockDevice;
use corten_rt::net::NetDevice;
use corten_rt::time::{self, NSEC_PER_SEC};
use corten_rt::{println, Error};

// The devices it uses; the tender must be given exactly these
// (--block:storage=PATH --net:service0=TAP).
corten_rt::manifest! { block "storage", net "service0" }
corten_rt::entry!(main);

fn run(seconds: u64) -> Result<(), Error> {
    let disk = BlockDevice::acquire("storage")?;
    let mut sector = vec![0u8; disk.info().block_size as usize];
    disk.read(0, &mut sector)?;
    println!("sector 0 starts with {:02x?}", &sector[..8]);

    let nic = NetDevice::acquire("service0")?;
    let mut frame = vec![0u8; nic.info().max_frame()];
    let end = time::monotonic() + seconds * NSEC_PER_SEC;
    while time::monotonic() < end {
        let ready = time::yield_until(end);
        if !ready.contains(nic.handle()) {
            continue;
        }
        loop {
            match nic.read(&mut frame) {
                Ok(n) => println!("got a {n}-byte frame"),
                Err(Error::Again) => break,
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

fn main(start: &corten_rt::Start) -> i32 {
    let seconds = start
        .args()
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(5);
    match run(seconds) {
        Ok(()) => corten_rt::EXIT_SUCCESS,
        Err(e) => {
            println!("example: {e}");
            corten_rt::EXIT_FAILURE
        }
    }
}
