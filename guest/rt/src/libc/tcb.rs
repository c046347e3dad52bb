//! The control block C code expects behind `%fs` from the first
//! instruction: code compiled with `-fstack-protector` for Linux (all of
//! Debian) reads its canary with `mov %fs:0x28, reg`, which would fault on
//! page 0 (the runtime's boot-time thread pointer) without one.
//!
//! At boot (with the `libc` feature) the runtime points `%fs` at this
//! static block, laid out as glibc's (`tls::fill_tcb`: its own address at
//! 0, the runtime's random guard at 0x28). An application that builds its
//! own TLS block with [`crate::tls::init`] gets the same layout there.

use crate::cell::Exclusive;

#[repr(C, align(64))]
struct Tcb([u8; 64]);

static BOOT_TCB: Exclusive<Tcb> = Exclusive::new(Tcb([0; 64]));

/// Points the thread pointer at the boot control block.
pub(crate) fn install() {
    let tp = BOOT_TCB.with(|t| {
        let addr = t.0.as_ptr() as u64;
        crate::tls::fill_tcb(&mut t.0, addr);
        addr
    });
    // SAFETY: the block is static, never freed, and used only by C code's
    // %fs-relative reads.
    if unsafe { crate::tls::set_base(tp as usize) }.is_err() {
        crate::panic::fatal("the C runtime could not set the TLS base for its stack canary");
    }
}
