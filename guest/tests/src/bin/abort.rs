//! Calls abort(): exit status 255 and an ABORT message. With the argument
//! `panic` it panics instead (same outcome, with the panic message).
#![no_std]
#![no_main]

corten_rt::manifest! {}
corten_rt::entry!(main);

fn main(start: &corten_rt::Start) -> i32 {
    corten_tests::banner("abort");
    if start.cmdline() == "panic" {
        let v: [u32; 2] = [1, 2];
        let i = core::hint::black_box(5);
        corten_rt::println!("about to index {i}: {}", v[i]);
    }
    corten_rt::abort()
}
