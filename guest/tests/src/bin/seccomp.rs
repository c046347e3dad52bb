//! spt only: makes a system call no spt seccomp policy allows (dup(1)); a
//! correct tender kills the unikernel with SIGSYS (shell status 159). Built
//! for hvt it only says it does not apply and exits 2.
#![no_std]
#![no_main]

corten_rt::manifest! {}
corten_rt::entry!(main);

fn main(_: &corten_rt::Start) -> i32 {
    corten_tests::banner("seccomp");
    #[cfg(feature = "spt")]
    {
        #[cfg(target_arch = "x86_64")]
        const SYS_DUP: usize = 32;
        #[cfg(target_arch = "aarch64")]
        const SYS_DUP: usize = 23;
        // SAFETY: dup takes no pointer; the call is expected to kill us.
        let r = unsafe { corten_rt::sys::syscall(SYS_DUP, [1, 0, 0, 0, 0, 0]) };
        corten_rt::println!("FAILURE: dup(1) returned {r}");
        corten_rt::EXIT_FAILURE
    }
    #[cfg(not(feature = "spt"))]
    {
        corten_rt::println!("the seccomp test applies to spt only");
        2
    }
}
