//! The hvt tender: a one-vCPU KVM virtual machine. The unikernel reaches
//! the host only through hypercalls (one 32-bit I/O write of the address of
//! an argument structure, that is one VM exit each), so the runtime keeps
//! them few: the clocks run on the CPU cycle counter, calibrated by the
//! frequency the tender passes, and the wall clock is read from the host
//! once at boot.

use corten_abi::hvt::{
    HcBlockIo, HcHalt, HcNetIo, HcPoll, HcPuts, HcWalltime, HvtBootInfo, Hypercall,
    HVT_CMDLINE_SIZE,
};

use super::BootFacts;
use crate::arch::{self, hvt as cpu};
use crate::cell::BootCell;
use crate::manifest::{DeviceKind, Manifest};
use crate::Error;

/// Cycle counter to nanoseconds: `ns = boot_ns + (cycles - boot_cycles) *
/// mult >> 32`.
#[derive(Clone, Copy)]
struct Clock {
    boot_cycles: u64,
    boot_ns: u64,
    /// Nanoseconds per cycle, 32.32 fixed point.
    mult: u64,
    /// Host wall-clock time at `boot_ns`.
    wall_at_boot: u64,
}

/// The ring I/O offer from the boot info: (host_features, ring address).
static RING_OFFER: BootCell<(u32, u64)> = BootCell::new((0, 0));

static CLOCK: BootCell<Clock> = BootCell::new(Clock {
    boot_cycles: 0,
    boot_ns: 0,
    mult: 0,
    wall_at_boot: 0,
});

/// The entry point the tender jumps to, in long mode on the stack it set
/// up at the top of guest memory, with the boot info as the only argument.
///
/// # Safety
/// Only the tender may call this, once, with a valid boot info.
#[cfg(not(test))]
#[no_mangle]
pub unsafe extern "C" fn _start(bi: *const HvtBootInfo) -> ! {
    crate::ssp::init(arch::cycles());
    // SAFETY: first thing at boot, single-threaded.
    unsafe { cpu::init() };
    // TLS use before the application sets a base faults on page 0.
    cpu::set_fs_base(0);
    // SAFETY: the tender passes the address of the boot info it wrote.
    let bi = unsafe { bi.read() };
    init_clock(bi.cpu_cycle_freq);
    RING_OFFER.set((bi.host_features, bi.net_ring));
    crate::boot::run(BootFacts {
        mem_size: bi.mem_size,
        kernel_end: bi.kernel_end,
        cmdline: bi.cmdline,
        cmdline_max: HVT_CMDLINE_SIZE,
        mft: bi.mft,
    })
}

/// 32.32 fixed-point nanoseconds per cycle at `freq` Hz.
pub(crate) fn ns_per_cycle(freq: u64) -> Option<u64> {
    if freq == 0 {
        return None;
    }
    u64::try_from((1_000_000_000u128 << 32) / u128::from(freq)).ok()
}

fn scale(cycles: u64, mult: u64) -> u64 {
    ((u128::from(cycles) * u128::from(mult)) >> 32) as u64
}

fn init_clock(freq: u64) {
    let Some(mult) = ns_per_cycle(freq) else {
        crate::panic::fatal("the tender passed a CPU cycle frequency of 0");
    };
    let mut w = HcWalltime::default();
    // SAFETY: WALLTIME writes the struct.
    unsafe {
        cpu::hypercall(
            Hypercall::Walltime as u32,
            core::ptr::addr_of_mut!(w) as usize,
        )
    };
    let boot_cycles = arch::cycles();
    CLOCK.set(Clock {
        boot_cycles,
        boot_ns: scale(boot_cycles, mult),
        mult,
        wall_at_boot: w.nsecs,
    });
}

/// Called once the manifest is known (and the heap is ready); `net_ring`
/// asks for the shared network ring.
pub(crate) fn devices_ready(m: &Manifest, net_ring: bool) {
    let (features, ring) = RING_OFFER.get();
    let nets = m.count(DeviceKind::Net);
    if net_ring {
        super::ring::setup(features, ring, nets);
    } else if nets > 0 {
        crate::log::debug!("net: using hypercalls (--corten:net-ring selects the ring)\n");
    }
}

pub(crate) fn console_write(bytes: &[u8]) {
    let mut p = HcPuts {
        data: bytes.as_ptr() as u64,
        len: bytes.len() as u64,
    };
    // SAFETY: PUTS reads the struct and `len` bytes at `data`.
    unsafe { cpu::hypercall(Hypercall::Puts as u32, core::ptr::addr_of_mut!(p) as usize) };
}

/// Ends the unikernel with `status`; `cookie` is 0 or the address of at
/// least 512 bytes the tender may inspect (a trap frame).
pub(crate) fn halt(status: i32, cookie: usize) -> ! {
    let mut h = HcHalt {
        cookie: cookie as u64,
        exit_status: status,
    };
    // SAFETY: HALT reads the struct; the tender does not resume us.
    unsafe { cpu::hypercall(Hypercall::Halt as u32, core::ptr::addr_of_mut!(h) as usize) };
    cpu::spin()
}

pub(crate) fn monotonic() -> u64 {
    let c = CLOCK.get();
    c.boot_ns
        .wrapping_add(scale(arch::cycles().wrapping_sub(c.boot_cycles), c.mult))
}

pub(crate) fn wall() -> u64 {
    let c = CLOCK.get();
    c.wall_at_boot
        .wrapping_add(monotonic().wrapping_sub(c.boot_ns))
}

/// Waits until monotonic time `deadline` or until a device has input;
/// returns the set of ready handles.
pub(crate) fn yield_until(deadline: u64) -> u64 {
    let mut p = HcPoll {
        timeout_nsecs: deadline.saturating_sub(monotonic()),
        ready_set: 0,
        ret: 0,
    };
    // SAFETY: POLL reads and writes the struct.
    unsafe { cpu::hypercall(Hypercall::Poll as u32, core::ptr::addr_of_mut!(p) as usize) };
    p.ready_set
}

pub(crate) fn set_tls_base(base: u64) -> Result<(), Error> {
    cpu::set_fs_base(base);
    Ok(())
}

fn block_io(hc: Hypercall, handle: u64, offset: u64, data: usize, len: usize) -> Result<(), Error> {
    let mut io = HcBlockIo {
        handle,
        offset,
        data: data as u64,
        len: len as u64,
        ret: 0,
    };
    // SAFETY: BLOCK_READ/WRITE read the struct, write `ret`, and access
    // `len` bytes at `data`, which the callers derive from a slice of that
    // length (mutable for reads).
    unsafe { cpu::hypercall(hc as u32, core::ptr::addr_of_mut!(io) as usize) };
    Error::check(io.ret)
}

/// Reads one sector; the caller has checked handle, length and offset.
pub(crate) fn block_read(
    handle: u64,
    _backing: i32,
    offset: u64,
    buf: &mut [u8],
) -> Result<(), Error> {
    block_io(
        Hypercall::BlockRead,
        handle,
        offset,
        buf.as_mut_ptr() as usize,
        buf.len(),
    )
}

/// Writes one sector; the caller has checked handle, length and offset.
pub(crate) fn block_write(
    handle: u64,
    _backing: i32,
    offset: u64,
    buf: &[u8],
) -> Result<(), Error> {
    block_io(
        Hypercall::BlockWrite,
        handle,
        offset,
        buf.as_ptr() as usize,
        buf.len(),
    )
}

/// Receives one frame.
pub(crate) fn net_read(handle: u64, _backing: i32, buf: &mut [u8]) -> Result<usize, Error> {
    if let Some(r) = super::ring::read(handle, buf) {
        return r;
    }
    let mut io = HcNetIo {
        handle,
        data: buf.as_mut_ptr() as u64,
        len: buf.len() as u64,
        ret: 0,
    };
    // SAFETY: NET_READ writes at most `len` bytes at `data` (our buffer)
    // and updates `len` and `ret`.
    unsafe {
        cpu::hypercall(
            Hypercall::NetRead as u32,
            core::ptr::addr_of_mut!(io) as usize,
        )
    };
    Error::check(io.ret)?;
    Ok(usize::try_from(io.len).unwrap_or(usize::MAX).min(buf.len()))
}

/// Sends one frame.
pub(crate) fn net_write(handle: u64, _backing: i32, buf: &[u8]) -> Result<(), Error> {
    if let Some(r) = super::ring::write(handle, buf) {
        return r;
    }
    let mut io = HcNetIo {
        handle,
        data: buf.as_ptr() as u64,
        len: buf.len() as u64,
        ret: 0,
    };
    // SAFETY: NET_WRITE reads the struct and `len` bytes at `data`.
    unsafe {
        cpu::hypercall(
            Hypercall::NetWrite as u32,
            core::ptr::addr_of_mut!(io) as usize,
        )
    };
    Error::check(io.ret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_scaling() {
        // 2.5 GHz: 0.4 ns per cycle.
        let m = ns_per_cycle(2_500_000_000).unwrap();
        assert_eq!(scale(2_500_000_000, m), 999_999_999);
        // 1 GHz is exact.
        let m = ns_per_cycle(1_000_000_000).unwrap();
        assert_eq!(scale(123_456_789, m), 123_456_789);
        // A slow 24 MHz counter (aarch64 boards).
        let m = ns_per_cycle(24_000_000).unwrap();
        assert_eq!(scale(24_000_000, m), 999_999_999);
        assert_eq!(ns_per_cycle(0), None);
        // A day at 4 GHz does not overflow.
        let m = ns_per_cycle(4_000_000_000).unwrap();
        let day = scale(4_000_000_000 * 86_400, m);
        assert!(day.abs_diff(86_400_000_000_000) < 1_000_000);
    }
}
