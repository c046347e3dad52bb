//! Prints the MTU (and with `verbose` the MAC) of network device
//! "service0": "MTU is N", then SUCCESS.
#![no_std]
#![no_main]

use corten_rt::net::NetDevice;
use corten_rt::println;

corten_rt::manifest! { net "service0" }
corten_rt::entry!(main);

fn main(start: &corten_rt::Start) -> i32 {
    corten_tests::banner("net_mtu");
    let dev = match NetDevice::acquire("service0") {
        Ok(d) => d,
        Err(e) => {
            println!("FAILURE: could not acquire 'service0': {e}");
            return corten_rt::EXIT_FAILURE;
        }
    };
    let info = dev.info();
    if start.cmdline() == "verbose" {
        let m = info.mac;
        println!(
            "MAC {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        );
    }
    println!("MTU is {}", info.mtu);
    println!("SUCCESS");
    corten_rt::EXIT_SUCCESS
}
