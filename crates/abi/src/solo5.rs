//! Guest-visible API constants of `solo5.h`.

/// `solo5_result_t`: the operation completed successfully.
pub const R_OK: u32 = 0;
/// The operation cannot be completed now; retrying later may succeed.
pub const R_AGAIN: u32 = 1;
/// Invalid argument.
pub const R_EINVAL: u32 = 2;
/// Unspecified error.
pub const R_EUNSPEC: u32 = 3;

/// Exit status of a successful guest.
pub const EXIT_SUCCESS: i32 = 0;
/// Exit status of a failed guest.
pub const EXIT_FAILURE: i32 = 1;
/// Exit status of `solo5_abort()` and of guest CPU exceptions.
pub const EXIT_ABORT: i32 = 255;

/// Length of an Ethernet address.
pub const NET_ALEN: usize = 6;
/// Length of an Ethernet header.
pub const NET_HLEN: usize = 14;

/// A set of device handles (manifest indices) as a bitmap.
pub type HandleSet = u64;
/// A device handle: the device's index in the manifest.
pub type Handle = u64;
/// Nanoseconds.
pub type Time = u64;
