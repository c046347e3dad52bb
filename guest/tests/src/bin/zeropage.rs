//! Writes to address 8, in the unmapped zero page. spt: SIGSEGV; hvt: trap
//! report, ABORT, exit status 255.
#![no_std]
#![no_main]

corten_rt::manifest! {}
corten_rt::entry!(main);

fn main(_: &corten_rt::Start) -> i32 {
    corten_tests::banner("zeropage");
    let p = core::hint::black_box(8usize) as *mut u64;
    // SAFETY: deliberately faults; page 0 is never mapped.
    unsafe { core::ptr::write_volatile(p, 1) };
    corten_rt::println!("FAILURE: wrote to the zero page");
    corten_rt::EXIT_FAILURE
}
