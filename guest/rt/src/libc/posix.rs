//! What a C library expects from the kernel, answered the way a unikernel
//! can: anonymous memory maps come from the heap, there is one CPU and
//! no environment, and there are no system calls.
//!
//! - `mmap`: only private anonymous read/write maps (`MAP_PRIVATE |
//!   MAP_ANONYMOUS`, any hint address, fd -1); anything else (files,
//!   `MAP_FIXED`, `MAP_SHARED`, `PROT_EXEC`, `MAP_HUGETLB`) fails with the
//!   errno Linux would give for an unsupported request, so callers fall
//!   back as they do on a kernel without the feature. Memory is zeroed
//!   and page aligned. `munmap` releases whole maps made by `mmap`.
//! - `sched_yield`: succeeds at once (nothing else can run).
//! - `syscall`: there is no kernel: -1 with `errno = ENOSYS`, what Linux
//!   answers for a system call it does not have.
//! - `getenv`: a unikernel has no environment: always NULL.

use core::ffi::c_char;

use super::process::{set_errno, EINVAL, ENOMEM};
use crate::cell::Exclusive;

const PROT_READ: i32 = 1;
const PROT_WRITE: i32 = 2;
const MAP_PRIVATE: i32 = 0x02;
const MAP_ANONYMOUS: i32 = 0x20;
/// Flags that change nothing for a private anonymous map here.
const MAP_NORESERVE: i32 = 0x4000;
const MAP_POPULATE: i32 = 0x8000;
const ENOSYS: i32 = 38;
const PAGE: usize = 4096;
const MAP_FAILED: *mut u8 = usize::MAX as *mut u8;

/// Live maps: (address, length). C libraries keep a handful.
const MAX_MAPS: usize = 256;
static MAPS: Exclusive<[(usize, usize); MAX_MAPS]> = Exclusive::new([(0, 0); MAX_MAPS]);

/// # Safety
/// C `mmap` contract (only the anonymous form is served).
#[no_mangle]
pub unsafe extern "C" fn mmap(
    _addr: *mut u8,
    len: usize,
    prot: i32,
    flags: i32,
    fd: i32,
    offset: i64,
) -> *mut u8 {
    let supported_flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_POPULATE;
    let anonymous = flags & MAP_ANONYMOUS != 0 && flags & MAP_PRIVATE != 0;
    if !anonymous || flags & !supported_flags != 0 || fd != -1 || offset != 0 {
        set_errno(EINVAL);
        return MAP_FAILED;
    }
    if prot & !(PROT_READ | PROT_WRITE) != 0 {
        // PROT_EXEC: guest memory is never made executable at run time.
        set_errno(13); // EACCES
        return MAP_FAILED;
    }
    let Some(rounded) = len.checked_next_multiple_of(PAGE).filter(|&l| l > 0) else {
        set_errno(EINVAL);
        return MAP_FAILED;
    };
    let slot = MAPS.with(|m| m.iter().position(|&(a, _)| a == 0));
    let Some(slot) = slot else {
        set_errno(ENOMEM);
        return MAP_FAILED;
    };
    let mut p: *mut u8 = core::ptr::null_mut();
    // SAFETY: out-pointer to a local.
    if unsafe { super::malloc::posix_memalign(&mut p, PAGE, rounded) } != 0 {
        set_errno(ENOMEM);
        return MAP_FAILED;
    }
    // SAFETY: p holds `rounded` bytes; maps are zero-filled.
    unsafe { core::ptr::write_bytes(p, 0, rounded) };
    MAPS.with(|m| {
        if let Some(e) = m.get_mut(slot) {
            *e = (p as usize, rounded);
        }
    });
    p
}

/// # Safety
/// C `munmap` contract: a whole map returned by `mmap`.
#[no_mangle]
pub unsafe extern "C" fn munmap(addr: *mut u8, len: usize) -> i32 {
    let rounded = len.checked_next_multiple_of(PAGE).unwrap_or(0);
    let found = MAPS.with(|m| {
        let e = m.iter_mut().find(|e| e.0 == addr as usize && e.0 != 0)?;
        (e.1 == rounded).then(|| *e = (0, 0))
    });
    if found.is_none() {
        // Unknown address or a partial unmap, which this runtime cannot do.
        set_errno(EINVAL);
        return -1;
    }
    // SAFETY: addr came from our mmap (posix_memalign) and is now unlisted.
    unsafe { super::malloc::free(addr) };
    0
}

#[no_mangle]
pub extern "C" fn sched_yield() -> i32 {
    0
}

/// `long syscall(long number, ...)`: no system calls in a unikernel. Not
/// variadic here: the extra arguments are never read.
#[no_mangle]
pub extern "C" fn syscall(_number: i64) -> i64 {
    set_errno(ENOSYS);
    -1
}

#[no_mangle]
pub extern "C" fn getenv(_name: *const c_char) -> *mut c_char {
    core::ptr::null_mut()
}
