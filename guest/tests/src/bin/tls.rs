//! Thread-local storage: builds two TLS blocks, switches the thread pointer
//! between them and checks that each sees its own copies of an initialised
//! (.tdata) and a zeroed (.tbss) thread-local variable.
//!
//! Stable Rust has no `#[thread_local]`, so the variables and their
//! accesses are assembly, as they would be in C or a language runtime.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::boxed::Box;
use corten_rt::{println, tls};

corten_rt::manifest! {}
corten_rt::entry!(main);

#[cfg(target_arch = "x86_64")]
core::arch::global_asm!(
    ".pushsection .tdata.corten_test_tls, \"awT\", @progbits",
    ".balign 8",
    "corten_test_tdata: .quad 0xc0ffee",
    ".popsection",
    ".pushsection .tbss.corten_test_tls, \"awT\", @nobits",
    ".balign 8",
    "corten_test_tbss: .zero 8",
    ".popsection",
    options(att_syntax)
);

#[cfg(target_arch = "aarch64")]
core::arch::global_asm!(
    ".pushsection .tdata.corten_test_tls, \"awT\", %progbits",
    ".balign 8",
    "corten_test_tdata: .quad 0xc0ffee",
    ".popsection",
    ".pushsection .tbss.corten_test_tls, \"awT\", %nobits",
    ".balign 8",
    "corten_test_tbss: .zero 8",
    ".popsection",
);

/// Reads or writes a TLS variable of the current thread.
#[cfg(target_arch = "x86_64")]
macro_rules! tls_access {
    (get $sym:literal) => {{
        let v: u64;
        // SAFETY: reads the thread's copy of the variable; a TLS base is set.
        unsafe { core::arch::asm!(concat!("movq %fs:", $sym, "@tpoff, {}"), out(reg) v, options(att_syntax, nostack, readonly)) };
        v
    }};
    (set $sym:literal, $v:expr) => {{
        // SAFETY: writes the thread's copy of the variable; a TLS base is set.
        unsafe { core::arch::asm!(concat!("movq {}, %fs:", $sym, "@tpoff"), in(reg) $v, options(att_syntax, nostack)) };
    }};
}

/// Reads or writes a TLS variable of the current thread.
#[cfg(target_arch = "aarch64")]
macro_rules! tls_access {
    (get $sym:literal) => {{
        let v: u64;
        // SAFETY: reads the thread's copy of the variable; a TLS base is set.
        unsafe {
            core::arch::asm!(
                "mrs {t}, tpidr_el0",
                concat!("add {t}, {t}, #:tprel_hi12:", $sym, ", lsl #12"),
                concat!("add {t}, {t}, #:tprel_lo12_nc:", $sym),
                "ldr {v}, [{t}]",
                t = out(reg) _, v = out(reg) v, options(nostack, readonly))
        };
        v
    }};
    (set $sym:literal, $v:expr) => {{
        // SAFETY: writes the thread's copy of the variable; a TLS base is set.
        unsafe {
            core::arch::asm!(
                "mrs {t}, tpidr_el0",
                concat!("add {t}, {t}, #:tprel_hi12:", $sym, ", lsl #12"),
                concat!("add {t}, {t}, #:tprel_lo12_nc:", $sym),
                "str {v}, [{t}]",
                t = out(reg) _, v = in(reg) $v, options(nostack))
        };
    }};
}

fn get_tdata() -> u64 {
    tls_access!(get "corten_test_tdata")
}

fn set_tdata(v: u64) {
    tls_access!(set "corten_test_tdata", v)
}

fn get_tbss() -> u64 {
    tls_access!(get "corten_test_tbss")
}

fn set_tbss(v: u64) {
    tls_access!(set "corten_test_tbss", v)
}

/// What the control block's first word should hold: on x86_64 the thread
/// pointer itself (variant II), on aarch64 zero (variant I).
fn self_pointer_ok(tp: usize) -> bool {
    let v: u64;
    // SAFETY: reads the first word of the control block; a TLS base is set.
    #[cfg(target_arch = "x86_64")]
    unsafe {
        core::arch::asm!("movq %fs:0, {}", out(reg) v, options(att_syntax, nostack, readonly))
    };
    // SAFETY: as above.
    #[cfg(target_arch = "aarch64")]
    unsafe {
        core::arch::asm!("mrs {t}, tpidr_el0", "ldr {v}, [{t}]", t = out(reg) _, v = out(reg) v, options(nostack, readonly))
    };
    if cfg!(target_arch = "x86_64") {
        v == tp as u64
    } else {
        v == 0
    }
}

#[repr(C, align(64))]
struct Block([u8; 1024]);

fn switch(tp: usize) {
    // SAFETY: tp comes from tls::init on a block that lives until main
    // resets the base to 0.
    if unsafe { tls::set_base(tp) }.is_err() {
        println!("FAILURE: could not set the TLS base");
        corten_rt::exit(3);
    }
}

fn check(what: &str, ok: bool) -> Result<(), ()> {
    if ok {
        Ok(())
    } else {
        println!("FAILURE: {what}");
        Err(())
    }
}

fn run() -> Result<(), ()> {
    let mut b1 = Box::new(Block([0xaa; 1024]));
    let mut b2 = Box::new(Block([0x55; 1024]));
    println!(
        "TLS block: {} bytes, thread pointer at offset {}",
        tls::size(),
        tls::tp_offset()
    );
    check("TLS block larger than expected", tls::size() <= 1024)?;
    let tp1 = tls::init(&mut b1.0).map_err(|e| println!("FAILURE: tls::init: {e}"))?;
    let tp2 = tls::init(&mut b2.0).map_err(|e| println!("FAILURE: tls::init: {e}"))?;
    check(
        "misaligned block accepted",
        tls::init(&mut b1.0[1..]).is_err(),
    )?;

    switch(tp1);
    check("control block of block 1", self_pointer_ok(tp1))?;
    check("initial .tdata value", get_tdata() == 0xc0ffee)?;
    check("initial .tbss value", get_tbss() == 0)?;
    set_tbss(1);
    set_tdata(0x1111);
    switch(tp2);
    check("control block of block 2", self_pointer_ok(tp2))?;
    check("block 2 .tdata untouched", get_tdata() == 0xc0ffee)?;
    check("block 2 .tbss untouched", get_tbss() == 0)?;
    set_tbss(2);
    switch(tp1);
    check("block 1 .tbss kept", get_tbss() == 1)?;
    check("block 1 .tdata kept", get_tdata() == 0x1111)?;
    switch(tp2);
    check("block 2 .tbss kept", get_tbss() == 2)?;
    // Back to no TLS before the blocks go away.
    switch(0);
    Ok(())
}

fn main(_: &corten_rt::Start) -> i32 {
    corten_tests::banner("tls");
    match run() {
        Ok(()) => {
            println!("SUCCESS");
            corten_rt::EXIT_SUCCESS
        }
        Err(()) => corten_rt::EXIT_FAILURE,
    }
}
