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
    // SAFETY: deliberately faults: the thread pointer is 0, so this reads
    // from the unmapped zero page.
    #[cfg(target_arch = "x86_64")]
    unsafe {
        core::arch::asm!("mov {}, qword ptr fs:[0x28]", out(reg) v)
    };
    // SAFETY: as above (TPIDR_EL0 is 0; reads address 0x10).
    #[cfg(target_arch = "aarch64")]
    unsafe {
        core::arch::asm!("mrs {t}, tpidr_el0", "ldr {v}, [{t}, #16]", t = out(reg) _, v = out(reg) v)
    };
    corten_rt::println!("FAILURE: read {v:#x} through an unset TLS base");
    corten_rt::EXIT_FAILURE
}
