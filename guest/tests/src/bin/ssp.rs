//! Overflows a buffer onto the stack canary next to it and checks the
//! canary: the runtime must report the smashed stack and abort (exit
//! status 255). Stable Rust cannot insert canaries itself; see
//! corten_rt::ssp.
#![no_std]
#![no_main]

use corten_rt::ssp::Canary;

corten_rt::manifest! {}
corten_rt::entry!(main);

/// A buffer with a canary right after it, as a compiler would lay out a
/// protected frame.
#[repr(C)]
struct Frame {
    buffer: [u8; 16],
    canary: Canary,
}

#[inline(never)]
fn overflow(input: &[u8]) {
    let mut frame = Frame {
        buffer: [0; 16],
        canary: Canary::new(),
    };
    let n = input.len().min(core::mem::size_of::<Frame>());
    // An unchecked copy, like C's strcpy: it writes past `buffer` into the
    // canary. The pointer covers the whole frame, so the writes stay inside
    // `frame`.
    // SAFETY: n <= size_of::<Frame>(), the destination is the frame.
    unsafe {
        core::ptr::copy_nonoverlapping(
            input.as_ptr(),
            core::ptr::addr_of_mut!(frame).cast::<u8>(),
            n,
        )
    };
    corten_rt::console::write(&frame.buffer);
    corten_rt::println!();
    frame.canary.check();
}

fn main(_: &corten_rt::Start) -> i32 {
    corten_tests::banner("ssp");
    // Within the buffer: the canary survives.
    overflow(b"0123456789");
    corten_rt::println!("short copy passed the canary check");
    // Past the buffer: the check must abort.
    overflow(core::hint::black_box(
        b"1234567890123456789012345678901234567890",
    ));
    corten_rt::println!("FAILURE: smashed canary not detected");
    corten_rt::EXIT_FAILURE
}
