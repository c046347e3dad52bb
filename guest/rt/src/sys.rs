//! Raw access to the tender interface, bypassing every check the safe API
//! makes. For tests that play a hostile guest, and for porting low-level
//! code; an application never needs these.

use crate::block::BlockDevice;
use crate::net::NetDevice;

/// The host file descriptor behind a block device (spt; -1 or meaningless
/// on hvt).
pub fn block_host_fd(dev: &BlockDevice) -> i32 {
    dev.backing()
}

/// The host file descriptor behind a network device (spt; -1 or
/// meaningless on hvt).
pub fn net_host_fd(dev: &NetDevice) -> i32 {
    dev.backing()
}

/// Makes a Linux system call with up to six arguments and returns the
/// kernel's raw result. Under a correct spt tender, a call outside its
/// seccomp policy kills the unikernel with SIGSYS.
///
/// # Safety
/// The arguments must be valid for the call.
#[cfg(feature = "spt")]
pub unsafe fn syscall(nr: usize, args: [usize; 6]) -> isize {
    // SAFETY: forwarded caller guarantee.
    unsafe { crate::arch::syscall::syscall6(nr, args) }
}

/// Issues hvt hypercall `nr` with argument address `arg` (a guest-physical
/// address; the tender must check it).
///
/// # Safety
/// If `arg` points into guest memory, the tender may read and write a
/// structure there.
#[cfg(feature = "hvt")]
pub unsafe fn hypercall(nr: u32, arg: usize) {
    // SAFETY: forwarded caller guarantee.
    unsafe { crate::arch::hvt::hypercall(nr, arg) }
}

/// Writes `value` to I/O port `port` with a 32-bit `out` (an hvt VM exit).
///
/// # Safety
/// The tender may act on any port write, e.g. as a hypercall.
#[cfg(all(feature = "hvt", target_arch = "x86_64"))]
pub unsafe fn outl(port: u16, value: u32) {
    // SAFETY: forwarded caller guarantee.
    unsafe {
        core::arch::asm!("out dx, eax", in("dx") port, in("eax") value, options(nostack, preserves_flags));
    }
}

/// Reads a byte from I/O port `port` (an hvt VM exit).
///
/// # Safety
/// The tender may act on any port access.
#[cfg(all(feature = "hvt", target_arch = "x86_64"))]
pub unsafe fn inb(port: u16) -> u8 {
    let v: u8;
    // SAFETY: forwarded caller guarantee.
    unsafe {
        core::arch::asm!("in al, dx", in("dx") port, out("al") v, options(nostack, preserves_flags));
    }
    v
}
