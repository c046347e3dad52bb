//! Two network devices: answers ARP and ping on 10.0.0.2 ("service0") and
//! 10.1.0.2 ("service1"). Arguments as for `net`; the limit counts echo
//! replies on both.
#![no_std]
#![no_main]

use corten_rt::net::NetDevice;
use corten_rt::println;
use corten_tests::ping::{self, Iface};

corten_rt::manifest! { net "service0", net "service1" }
corten_rt::entry!(main);

fn acquire(name: &str) -> Option<NetDevice> {
    match NetDevice::acquire(name) {
        Ok(d) => Some(d),
        Err(e) => {
            println!("FAILURE: could not acquire '{name}': {e}");
            None
        }
    }
}

fn main(start: &corten_rt::Start) -> i32 {
    corten_tests::banner("net_2if");
    let opts = match ping::parse_options(start.cmdline()) {
        Ok(o) => o,
        Err(w) => {
            println!("unknown argument '{w}'; usage: net_2if [verbose] [limit | limit=N]");
            return corten_rt::EXIT_FAILURE;
        }
    };
    let (Some(d0), Some(d1)) = (acquire("service0"), acquire("service1")) else {
        return corten_rt::EXIT_FAILURE;
    };
    let ifaces = [
        Iface {
            name: "service0",
            dev: d0,
            ip: [10, 0, 0, 2],
        },
        Iface {
            name: "service1",
            dev: d1,
            ip: [10, 1, 0, 2],
        },
    ];
    if ping::serve(&ifaces, opts) {
        println!("SUCCESS");
        corten_rt::EXIT_SUCCESS
    } else {
        println!("FAILURE");
        corten_rt::EXIT_FAILURE
    }
}
