//! Network device "service0": answers ARP and ping on 10.0.0.2 (or the
//! address of `--ipv4=A.B.C.D/N`). Arguments: `verbose`, `limit` (exit
//! with SUCCESS after 100000 echo replies) or `limit=N`, `--ipv4=...`,
//! `--ipv4-gateway=...`.
#![no_std]
#![no_main]

use corten_rt::net::NetDevice;
use corten_rt::println;
use corten_tests::ping::{self, Iface};

corten_rt::manifest! { net "service0" }
corten_rt::entry!(main);

fn main(start: &corten_rt::Start) -> i32 {
    corten_tests::banner("net");
    let opts = match ping::parse_options(start.cmdline()) {
        Ok(o) => o,
        Err(w) => {
            println!(
                "unknown argument '{w}'; usage: net [verbose] [limit | limit=N] \
                 [--ipv4=A.B.C.D/N] [--ipv4-gateway=A.B.C.D]"
            );
            return corten_rt::EXIT_FAILURE;
        }
    };
    let dev = match NetDevice::acquire("service0") {
        Ok(d) => d,
        Err(e) => {
            println!("FAILURE: could not acquire 'service0': {e}");
            return corten_rt::EXIT_FAILURE;
        }
    };
    let ifaces = [Iface {
        name: "service0",
        dev,
        ip: opts.ipv4.unwrap_or([10, 0, 0, 2]),
    }];
    if ping::serve(&ifaces, opts) {
        println!("SUCCESS");
        corten_rt::EXIT_SUCCESS
    } else {
        println!("FAILURE");
        corten_rt::EXIT_FAILURE
    }
}
