//! Reads thread-local storage without setting a TLS base: the runtime
//! leaves the thread pointer at 0, so this faults. spt: SIGSEGV; hvt: trap
//! report, ABORT, exit status 255.
#![no_std]
#![no_main]

corten_rt::manifest! {}
corten_rt::entry!(main);

fn main(_: &corten_rt::Start) -> i32 {
    corten_tests::banner("notls");
    let v: u64;
    // SAFETY: deliberately faults: %fs base is 0, so this reads address
    // 0x28, in the unmapped zero page.
    unsafe { core::arch::asm!("mov {}, qword ptr fs:[0x28]", out(reg) v) };
    corten_rt::println!("FAILURE: read {v:#x} through an unset TLS base");
    corten_rt::EXIT_FAILURE
}
