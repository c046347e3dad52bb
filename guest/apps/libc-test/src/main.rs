//! Runs one case of csrc/libc_test.c (the first argument) inside a
//! unikernel; the test suite compares its output and exit status with the
//! same C file built natively against glibc.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;

corten_rt::manifest! {}
corten_rt::entry!(main);

extern "C" {
    fn corten_c_main(which: *const u8) -> i32;
}

fn main(start: &corten_rt::Start) -> i32 {
    let mut which: Vec<u8> = start.args().next().unwrap_or("").bytes().collect();
    which.push(0);
    // SAFETY: a NUL-terminated string that outlives the call.
    unsafe { corten_c_main(which.as_ptr()) }
}
