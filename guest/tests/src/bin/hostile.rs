//! Hostile guest, no devices: one misbehaviour per run, chosen by the
//! command line (`list` shows them and what a correct tender does). spt
//! cases are raw system calls outside the seccomp policy; hvt cases are
//! hypercalls with wild pointers, bad lengths and handles, bad halt
//! cookies, and invalid port accesses. See corten_tests::hostile.
#![no_std]
#![no_main]

use corten_tests::hostile::{self, Env};

corten_rt::manifest! {}
corten_rt::entry!(main);

#[cfg(feature = "hvt")]
use hostile::hvt::{ARCH_CASES, CASES};
#[cfg(feature = "spt")]
use hostile::spt::{ARCH_CASES, CASES};

fn main(start: &corten_rt::Start) -> i32 {
    hostile::main("hostile", &[CASES, ARCH_CASES], &Env { start, block: None })
}
