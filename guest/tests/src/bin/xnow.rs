//! Writes over its own code: text must not be writable. spt: SIGSEGV; hvt:
//! the tender reports a host/guest translation fault and exits 1.
#![no_std]
#![no_main]

corten_rt::manifest! {}
corten_rt::entry!(main);

#[inline(never)]
fn nothing() {
    core::hint::black_box(());
}

fn main(_: &corten_rt::Start) -> i32 {
    corten_tests::banner("xnow");
    let code = core::hint::black_box(nothing as fn() as usize) as *mut u64;
    // SAFETY: deliberately faults: text is mapped read/execute only.
    unsafe { core::ptr::write_volatile(code, 1) };
    corten_rt::println!("FAILURE: wrote to text");
    corten_rt::EXIT_FAILURE
}
