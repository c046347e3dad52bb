//! Causes a CPU exception: a write to an address far beyond guest memory
//! (as upstream's test), or with the argument `ud2` an invalid opcode.
//! spt: killed by SIGSEGV (SIGILL for ud2); hvt: trap report, ABORT, exit
//! status 255.
#![no_std]
#![no_main]

corten_rt::manifest! {}
corten_rt::entry!(main);

fn main(start: &corten_rt::Start) -> i32 {
    corten_tests::banner("exception");
    if start.cmdline() == "ud2" {
        // SAFETY: deliberately executes an undefined instruction; the
        // unikernel does not survive it.
        #[cfg(target_arch = "x86_64")]
        unsafe {
            core::arch::asm!("ud2")
        };
        // SAFETY: as above.
        #[cfg(target_arch = "aarch64")]
        unsafe {
            core::arch::asm!("udf #0")
        };
    } else {
        let invalid = (2u64 << 33) as usize as *mut u64;
        // SAFETY: deliberately faults: 16 GiB is beyond any guest memory
        // here, so this write never touches valid memory.
        unsafe { core::ptr::write_volatile(invalid, 1) };
    }
    corten_rt::println!("FAILURE: survived the exception");
    corten_rt::EXIT_FAILURE
}
