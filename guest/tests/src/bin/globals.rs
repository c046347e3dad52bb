//! Checks that initialised globals have their values and are writable, and
//! that zeroed globals are zero and writable.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU64, Ordering};

corten_rt::manifest! {}
corten_rt::entry!(main);

static mut MESSAGE: [u8; 8] = *b"RUCCESS\n";
static COUNTER: AtomicU64 = AtomicU64::new(41);
static mut ZEROED: [u64; 512] = [0; 512];

fn main(_: &corten_rt::Start) -> i32 {
    corten_tests::banner("globals");
    // SAFETY: single-threaded; no other reference to these statics exists.
    let (message, zeroed) = unsafe {
        (
            &mut *core::ptr::addr_of_mut!(MESSAGE),
            &mut *core::ptr::addr_of_mut!(ZEROED),
        )
    };
    if core::hint::black_box(&zeroed[..]).iter().any(|&x| x != 0) {
        corten_rt::println!("FAILURE: .bss is not zeroed");
        return corten_rt::EXIT_FAILURE;
    }
    zeroed[511] = 7;
    if COUNTER.fetch_add(1, Ordering::Relaxed) != 41 || core::hint::black_box(zeroed[511]) != 7 {
        corten_rt::println!("FAILURE: globals have wrong values");
        return corten_rt::EXIT_FAILURE;
    }
    message[0] += 1;
    corten_rt::console::write(core::hint::black_box(&message[..]));
    corten_rt::EXIT_SUCCESS
}
