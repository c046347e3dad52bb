//! Jumps to code stored in writable data: data must not be executable.
//! spt: SIGSEGV. (hvt cannot enforce this on Linux hosts: KVM ignores the
//! host mapping's exec permission, so there the code runs and the test
//! prints FAILURE; upstream runs its hvt variant on OpenBSD only.)
#![no_std]
#![no_main]

corten_rt::manifest! {}
corten_rt::entry!(main);

/// `ret` instructions, in .data.
#[cfg(target_arch = "x86_64")]
static mut CODE: [u8; 16] = [0xc3; 16];
/// `ret` instructions, in .data.
#[cfg(target_arch = "aarch64")]
static mut CODE: [u8; 16] = [
    0xc0, 0x03, 0x5f, 0xd6, 0xc0, 0x03, 0x5f, 0xd6, 0xc0, 0x03, 0x5f, 0xd6, 0xc0, 0x03, 0x5f, 0xd6,
];

fn main(_: &corten_rt::Start) -> i32 {
    corten_tests::banner("wnox");
    let addr = core::hint::black_box(core::ptr::addr_of_mut!(CODE) as usize);
    // SAFETY: deliberately jumps into .data, which holds `ret`
    // instructions, so even where it runs it returns straight back.
    let f: extern "C" fn() = unsafe { core::mem::transmute(addr) };
    f();
    corten_rt::println!("FAILURE: executed code in .data");
    corten_rt::EXIT_FAILURE
}
