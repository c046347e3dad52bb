//! The spt tender: the unikernel runs as the tender's own process behind a
//! seccomp filter, and reaches the host through exactly the system calls
//! (and arguments) that filter allows: `write(1, ..)`, `exit_group`,
//! `clock_gettime` (MONOTONIC, REALTIME), `epoll_pwait` on the boot info's
//! epoll fd, `timerfd_settime` on its timer fd, `pread64`/`pwrite64` of
//! exactly one sector at offsets up to capacity - sector on block fds,
//! `read`/`write` on network fds, and `arch_prctl(ARCH_SET_FS)` on x86_64.
//! Any other call kills the process with SIGSYS, and a fault with SIGSEGV.

use corten_abi::spt::{SptBootInfo, SPT_CMDLINE_SIZE, SPT_INTERNAL_TIMERFD};

use super::BootFacts;
use crate::arch::syscall::{self, nr};
use crate::cell::BootCell;
use crate::manifest::{DeviceKind, Manifest};
use crate::Error;

static EPOLL_FD: BootCell<i32> = BootCell::new(-1);
static TIMER_FD: BootCell<i32> = BootCell::new(-1);
/// Network devices registered in the epoll set.
static NET_DEVICES: BootCell<usize> = BootCell::new(0);

const CLOCK_REALTIME: usize = 0;
const CLOCK_MONOTONIC: usize = 1;
const TFD_TIMER_ABSTIME: usize = 1;
const EINTR: isize = 4;
const EAGAIN: isize = 11;
const NSEC_PER_SEC: u64 = 1_000_000_000;

/// The entry point the tender jumps to, on the stack it set up at the top
/// of guest memory, with the boot info as the only argument.
///
/// # Safety
/// Only the tender may call this, once, with a valid boot info.
#[cfg(not(test))]
#[no_mangle]
pub unsafe extern "C" fn _start(bi: *const SptBootInfo) -> ! {
    crate::ssp::init(crate::arch::cycles());
    // Point TLS at page 0 so that TLS use before the application sets a
    // base faults instead of silently reading the tender's TLS.
    let _ = set_tls_base(0);
    // SAFETY: the tender passes the address of the boot info it wrote.
    let bi = unsafe { bi.read() };
    EPOLL_FD.set(bi.epollfd);
    TIMER_FD.set(bi.timerfd);
    crate::boot::run(BootFacts {
        mem_size: bi.mem_size,
        kernel_end: bi.kernel_end,
        cmdline: bi.cmdline,
        cmdline_max: SPT_CMDLINE_SIZE,
        mft: bi.mft,
    })
}

/// Called once the manifest is known (`_net_ring` is an hvt option).
pub(crate) fn devices_ready(m: &Manifest, _net_ring: bool) {
    NET_DEVICES.set(m.count(DeviceKind::Net));
}

pub(crate) fn console_write(bytes: &[u8]) {
    // SAFETY: write(2) reads `len` bytes from the slice.
    let _ = unsafe {
        syscall::syscall6(
            nr::WRITE,
            [1, bytes.as_ptr() as usize, bytes.len(), 0, 0, 0],
        )
    };
}

/// Ends the unikernel with `status`; spt has no use for a halt cookie.
pub(crate) fn halt(status: i32, _cookie: usize) -> ! {
    syscall::exit_group(status)
}

#[repr(C)]
#[derive(Default)]
struct Timespec {
    sec: i64,
    nsec: i64,
}

fn clock(id: usize) -> u64 {
    let mut ts = Timespec::default();
    // SAFETY: clock_gettime writes one timespec to the pointer.
    let r = unsafe {
        syscall::syscall6(
            nr::CLOCK_GETTIME,
            [id, core::ptr::addr_of_mut!(ts) as usize, 0, 0, 0, 0],
        )
    };
    if r != 0 {
        crate::panic::fatal("clock_gettime failed");
    }
    (ts.sec as u64)
        .wrapping_mul(NSEC_PER_SEC)
        .wrapping_add(ts.nsec as u64)
}

pub(crate) fn monotonic() -> u64 {
    clock(CLOCK_MONOTONIC)
}

pub(crate) fn wall() -> u64 {
    clock(CLOCK_REALTIME)
}

#[repr(C)]
struct Itimerspec {
    interval: Timespec,
    value: Timespec,
}

/// Waits until monotonic time `deadline` or until a network device has
/// input; returns the set of ready handles.
pub(crate) fn yield_until(deadline: u64) -> u64 {
    // A deadline already past is a poll: look at the devices without
    // arming the timer, whose expiry is what makes a wait cost ~15 µs
    // (epoll_pwait with timeout 0 is within upstream's spt filter too).
    // Deadline 0, the usual "just poll", needs no clock read to know.
    if deadline == 0 || deadline <= monotonic() {
        return wait_events(0);
    }
    // The timer fd is armed with the absolute deadline (Solo5 monotonic time
    // is CLOCK_MONOTONIC here). A zero value would disarm it, hence the |1.
    let it = Itimerspec {
        interval: Timespec::default(),
        value: Timespec {
            sec: (deadline / NSEC_PER_SEC) as i64,
            nsec: ((deadline % NSEC_PER_SEC) | 1) as i64,
        },
    };
    // SAFETY: timerfd_settime reads one itimerspec; no old value wanted.
    let r = unsafe {
        syscall::syscall6(
            nr::TIMERFD_SETTIME,
            [
                TIMER_FD.get() as usize,
                TFD_TIMER_ABSTIME,
                core::ptr::addr_of!(it) as usize,
                0,
                0,
                0,
            ],
        )
    };
    if r != 0 {
        crate::panic::fatal("timerfd_settime failed");
    }
    wait_events(-1)
}

/// epoll_pwait on the device set (`timeout_ms` -1: until the timer or a
/// device fires; 0: only what is ready now); the set of ready handles.
fn wait_events(timeout_ms: isize) -> u64 {
    let mut events = [syscall::EpollEvent::ZERO; 1 + corten_abi::mft::MFT_MAX_ENTRIES];
    let max = (NET_DEVICES.get() + 1).min(events.len());
    let n = loop {
        // SAFETY: epoll_pwait writes at most `max` events into the array,
        // which holds more than that; no signal mask.
        let r = unsafe {
            syscall::syscall6(
                nr::EPOLL_PWAIT,
                [
                    EPOLL_FD.get() as usize,
                    events.as_mut_ptr() as usize,
                    max,
                    timeout_ms as usize,
                    0,
                    0,
                ],
            )
        };
        if r != -EINTR {
            break r;
        }
    };
    let Ok(n) = usize::try_from(n) else {
        crate::panic::fatal("epoll_pwait failed");
    };
    let mut ready = 0u64;
    for e in events.iter().take(n.min(max)) {
        let data = e.data();
        if data != SPT_INTERNAL_TIMERFD && data < 64 {
            ready |= 1 << data;
        }
    }
    ready
}

pub(crate) fn set_tls_base(base: u64) -> Result<(), Error> {
    if syscall::set_thread_pointer(base) {
        Ok(())
    } else {
        Err(Error::Invalid)
    }
}

fn block_io(nr: usize, backing: i32, offset: u64, data: usize, len: usize) -> Result<(), Error> {
    // SAFETY: pread64/pwrite64 access `len` bytes at `data`, which the
    // callers derive from a slice of that length (mutable for pread64).
    let r = unsafe { syscall::syscall6(nr, [backing as usize, data, len, offset as usize, 0, 0]) };
    if usize::try_from(r) == Ok(len) {
        Ok(())
    } else {
        Err(Error::Unspecified)
    }
}

/// Reads one sector; the caller has checked handle, length and offset.
pub(crate) fn block_read(
    _handle: u64,
    backing: i32,
    offset: u64,
    buf: &mut [u8],
) -> Result<(), Error> {
    block_io(
        nr::PREAD64,
        backing,
        offset,
        buf.as_mut_ptr() as usize,
        buf.len(),
    )
}

/// Writes one sector; the caller has checked handle, length and offset.
pub(crate) fn block_write(
    _handle: u64,
    backing: i32,
    offset: u64,
    buf: &[u8],
) -> Result<(), Error> {
    block_io(
        nr::PWRITE64,
        backing,
        offset,
        buf.as_ptr() as usize,
        buf.len(),
    )
}

/// Receives one frame.
pub(crate) fn net_read(_handle: u64, backing: i32, buf: &mut [u8]) -> Result<usize, Error> {
    // SAFETY: read writes at most buf.len() bytes into buf.
    let r = unsafe {
        syscall::syscall6(
            nr::READ,
            [
                backing as usize,
                buf.as_mut_ptr() as usize,
                buf.len(),
                0,
                0,
                0,
            ],
        )
    };
    match usize::try_from(r) {
        Ok(n) => Ok(n.min(buf.len())),
        Err(_) if r == -EAGAIN => Err(Error::Again),
        Err(_) => Err(Error::Unspecified),
    }
}

/// Sends one frame.
pub(crate) fn net_write(_handle: u64, backing: i32, buf: &[u8]) -> Result<(), Error> {
    // SAFETY: write reads buf.len() bytes from buf.
    let r = unsafe {
        syscall::syscall6(
            nr::WRITE,
            [backing as usize, buf.as_ptr() as usize, buf.len(), 0, 0, 0],
        )
    };
    if usize::try_from(r) == Ok(buf.len()) {
        Ok(())
    } else {
        Err(Error::Unspecified)
    }
}
