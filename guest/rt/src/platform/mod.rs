//! The tender the unikernel runs on: its boot entry point and the host
//! operations behind the public API. Exactly one of `spt` and `hvt` is
//! compiled in, selected by the cargo feature of the same name; both offer
//! the same crate-internal functions:
//!
//! `console_write`, `halt`, `monotonic`, `wall`, `yield_until`,
//! `set_tls_base`, `block_read`, `block_write`, `net_read`, `net_write`,
//! `devices_ready`, plus the `_start` entry point.

#[cfg(feature = "hvt")]
mod hvt;
#[cfg(feature = "hvt")]
mod ring;
#[cfg(feature = "hvt")]
pub(crate) use self::hvt::*;

#[cfg(all(feature = "spt", not(feature = "hvt")))]
mod spt;
#[cfg(all(feature = "spt", not(feature = "hvt")))]
pub(crate) use self::spt::*;

/// What the runtime needs from the tender's boot information.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BootFacts {
    /// Bytes of guest memory (the stack starts at the top).
    pub mem_size: u64,
    /// End of the loaded kernel image, as the tender computed it.
    pub kernel_end: u64,
    /// Address of the NUL-terminated command line.
    pub cmdline: u64,
    /// Size of the command line area (terminator included).
    pub cmdline_max: usize,
    /// Address of the manifest.
    pub mft: u64,
}
