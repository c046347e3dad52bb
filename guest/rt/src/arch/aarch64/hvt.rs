//! aarch64 on the hvt tender: MMIO hypercalls, the exception vectors, and
//! memory barriers for the shared ring.
//!
//! The tender enters `_start` at EL1 with the MMU on (an identity map of
//! guest memory and the MMIO window at 4 GiB), SP_EL1 at the top of guest
//! memory, FP/SIMD access enabled (CPACR_EL1.FPEN), interrupts masked, and
//! the boot info address in x0. The runtime installs its exception vectors:
//! every exception prints a trap report and halts with exit status 255,
//! handing the tender its trap frame as the halt cookie.

use core::sync::atomic::{AtomicBool, Ordering};

use corten_abi::hvt::aarch64::{hypercall_address, TrapFrame, RING_KICK_MMIO_BASE};
use corten_abi::hvt::HVT_HALT_COOKIE_MAX;

/// Issues hypercall `nr`: a 32-bit store of the argument's guest-physical
/// address to the hypercall's MMIO address.
///
/// # Safety
/// As on x86_64: `arg` must be the address of a live argument structure.
#[inline(always)]
pub(crate) unsafe fn hypercall(nr: u32, arg: usize) {
    let addr = hypercall_address(nr);
    // SAFETY: the store traps to the tender, which reads/writes the
    // structure at `arg`; no `nomem`, so the compiler treats that memory
    // as read and written.
    unsafe {
        core::arch::asm!(
            "str {v:w}, [{a}]",
            v = in(reg) arg as u64,
            a = in(reg) addr,
            options(nostack, preserves_flags)
        );
    }
}

/// Sets the thread pointer (TPIDR_EL0).
pub(crate) fn set_fs_base(base: u64) {
    super::set_thread_pointer(base);
}

/// Waits forever; after the HALT hypercall the tender never resumes us.
pub(crate) fn spin() -> ! {
    loop {
        core::hint::spin_loop();
    }
}

/// Orders earlier stores before later ones (for the ring).
#[inline(always)]
pub(crate) fn write_barrier() {
    // SAFETY: a barrier instruction, no other effect.
    unsafe { core::arch::asm!("dmb ishst", options(nostack, preserves_flags)) };
}

/// Orders earlier loads before later ones (for the ring).
#[inline(always)]
pub(crate) fn read_barrier() {
    // SAFETY: a barrier instruction, no other effect.
    unsafe { core::arch::asm!("dmb ishld", options(nostack, preserves_flags)) };
}

/// A full memory barrier.
#[inline(always)]
pub(crate) fn full_barrier() {
    // SAFETY: a barrier instruction, no other effect.
    unsafe { core::arch::asm!("dmb ish", options(nostack, preserves_flags)) };
}

/// Wakes the tender's network ring thread.
#[inline(always)]
pub(crate) fn ring_kick() {
    // SAFETY: a 32-bit store of ring id 0 to the kick address, which the
    // tender registered for exactly this.
    unsafe {
        core::arch::asm!(
            "str wzr, [{a}]",
            a = in(reg) RING_KICK_MMIO_BASE,
            options(nostack, preserves_flags)
        )
    };
}

/// Stack the exception entry code reserves: the trap frame, padded to
/// the halt cookie's size, so the tender may read all of it.
const FRAME_SIZE: usize = HVT_HALT_COOKIE_MAX;
const _: () =
    assert!(FRAME_SIZE.is_multiple_of(16) && core::mem::size_of::<TrapFrame>() <= FRAME_SIZE);

extern "C" {
    static corten_vectors: u8;
}

/// Installs the exception vectors.
///
/// # Safety
/// Boot only.
pub(crate) unsafe fn init() {
    let vbar = core::ptr::addr_of!(corten_vectors) as u64;
    // SAFETY: the table is 2 KiB aligned and holds 16 valid entries.
    unsafe {
        core::arch::asm!("msr vbar_el1, {}", "isb", in(reg) vbar, options(nostack, preserves_flags))
    };
}

// The vector table: 16 entries of 128 bytes (current EL with SP_EL0, with
// SP_ELx, lower EL AArch64, lower EL AArch32; each synchronous, IRQ, FIQ,
// SError). Each entry saves x0/x1, passes its index in x0 and joins the
// common path, which saves the rest and calls `corten_trap`.
core::arch::global_asm!(
    r#"
    .pushsection .text.corten_vectors, "ax"
    .balign 2048
    .global corten_vectors
    corten_vectors:
    .irp kind, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
        .balign 128
        sub sp, sp, #{size}
        stp x0, x1, [sp, #0]
        mov x0, #\kind
        b corten_vector_common
    .endr

    corten_vector_common:
        stp x2, x3, [sp, #16]
        stp x4, x5, [sp, #32]
        stp x6, x7, [sp, #48]
        stp x8, x9, [sp, #64]
        stp x10, x11, [sp, #80]
        stp x12, x13, [sp, #96]
        stp x14, x15, [sp, #112]
        stp x16, x17, [sp, #128]
        stp x18, x19, [sp, #144]
        stp x20, x21, [sp, #160]
        stp x22, x23, [sp, #176]
        stp x24, x25, [sp, #192]
        stp x26, x27, [sp, #208]
        stp x28, x29, [sp, #224]
        mrs x2, elr_el1
        stp x30, x2, [sp, #240]
        mrs x2, spsr_el1
        mrs x3, esr_el1
        stp x2, x3, [sp, #256]
        mrs x2, far_el1
        str x2, [sp, #272]
        mov x1, sp
        bl {handler}
    1:  wfi
        b 1b
    .popsection
    "#,
    size = const FRAME_SIZE,
    handler = sym corten_trap,
);

const KINDS: [&str; 4] = ["synchronous exception", "IRQ", "FIQ", "SError"];
const ORIGINS: [&str; 4] = ["EL1 with SP_EL0", "EL1", "EL0 (AArch64)", "EL0 (AArch32)"];

static IN_TRAP: AtomicBool = AtomicBool::new(false);

/// Common exception handler: prints a trap report and halts with exit
/// status 255, the trap frame as the halt cookie (upstream's aarch64
/// bindings pass none; corten-hvt prints it and a tender that ignores
/// cookies loses nothing).
extern "C" fn corten_trap(kind: u64, frame: *const TrapFrame) -> ! {
    if IN_TRAP.swap(true, Ordering::Relaxed) {
        crate::platform::halt(crate::EXIT_ABORT, 0);
    }
    // SAFETY: the entry code passes the frame it just saved on the stack.
    let f = unsafe { &*frame };
    let what = KINDS.get((kind & 3) as usize).copied().unwrap_or("?");
    let from = ORIGINS.get((kind >> 2) as usize).copied().unwrap_or("?");
    let class = (f.esr >> 26) & 0x3f;
    crate::log::error!(
        "trap: {what} from {from}: ESR={:#x} (class {class:#x}) pc={:#x} far={:#x} pstate={:#x}\n",
        f.esr,
        f.elr,
        f.far,
        f.spsr
    );
    crate::log::error!(
        "trap: lr={:#x} fp={:#x} sp={:#x}\n",
        f.x[30],
        f.x[29],
        frame as u64 + FRAME_SIZE as u64
    );
    crate::log::error!("ABORT: fatal CPU exception in the guest, halting\n");
    crate::platform::halt(crate::EXIT_ABORT, frame as usize)
}
