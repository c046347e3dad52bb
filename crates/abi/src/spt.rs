//! The spt (process) tender's guest interface (`spt_abi.h`).

use crate::assert_layout;

/// spt ABI version carried in the ABI1 note.
pub const SPT_ABI_VERSION: u32 = 2;
/// Lowest guest address a segment may be loaded at.
pub const SPT_GUEST_MIN_BASE: u64 = 0x10_0000;
/// Lowest host address guest memory is mapped at (below it lies
/// `vm.mmap_min_addr`); guest addresses equal host addresses.
pub const SPT_HOST_MEM_BASE: u64 = 0x1_0000;
/// Where the tender writes [`SptBootInfo`]; manifest and command line follow.
pub const SPT_BOOT_INFO_BASE: u64 = SPT_HOST_MEM_BASE + 0x1000;
/// Size of the command line area, terminator included.
pub const SPT_CMDLINE_SIZE: usize = 8192;
/// `epoll_event.data.u64` that marks the internal yield timerfd.
pub const SPT_INTERNAL_TIMERFD: u64 = !1u32 as u64;

/// Passed by the tender as the sole argument of the guest entry point.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SptBootInfo {
    pub mem_size: u64,
    pub kernel_end: u64,
    /// Guest address of the NUL-terminated command line.
    pub cmdline: u64,
    /// Guest address of the manifest.
    pub mft: u64,
    /// epoll set for yield.
    pub epollfd: i32,
    /// Internal timerfd for yield deadlines.
    pub timerfd: i32,
}

assert_layout!(
    SptBootInfo,
    size = 40,
    align = 8,
    mem_size = 0,
    kernel_end = 8,
    cmdline = 16,
    mft = 24,
    epollfd = 32,
    timerfd = 36,
);
const _: () = assert!(SPT_INTERNAL_TIMERFD == 0xffff_fffe);
