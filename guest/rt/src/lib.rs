//! `corten-rt`: write Solo5 (ABI version 2) unikernels in Rust.
//!
//! The runtime boots the unikernel on the spt (process + seccomp) or hvt
//! (KVM) tender, sets up the CPU, clocks, heap and console, and then calls
//! the application's entry function with a [`Start`]. Everything the Solo5
//! API offers is here as a safe Rust API: [`console`], [`time`] (clocks and
//! [`time::yield_until`]), [`block::BlockDevice`], [`net::NetDevice`],
//! [`manifest`], [`tls`], [`exit`] and [`abort`]; plus a global allocator,
//! a panic handler that prints the message and location and aborts, and a
//! manual stack canary ([`ssp`]).
//!
//! Exactly one of the cargo features `spt` or `hvt` selects the tender.
//!
//! ```text
//! #![no_std]
//! #![no_main]
//!
//! corten_rt::manifest! { block "storage", net "service0" }
//! corten_rt::entry!(main);
//!
//! fn main(start: &corten_rt::Start) -> i32 {
//!     corten_rt::println!("Hello from {}", start.cmdline());
//!     0
//! }
//! ```
//!
//! See `docs/guest-runtime.md` for how to build, the memory layout, and the
//! reasons behind the target choice.
#![cfg_attr(not(test), no_std)]
// Unit tests run on the build host, where the boot path is compiled out.
#![cfg_attr(test, allow(dead_code, unused_imports, unused_macros))]

#[cfg(all(feature = "spt", feature = "hvt"))]
compile_error!("corten-rt: enable exactly one of the features `spt` and `hvt`, not both");
#[cfg(not(any(feature = "spt", feature = "hvt")))]
compile_error!(
    "corten-rt: enable one of the features `spt` (process tender) or `hvt` (KVM tender)"
);
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
compile_error!("corten-rt supports x86_64 and aarch64 only");

extern crate alloc;

mod arch;
pub mod block;
mod boot;
mod cell;
pub mod cmdline;
pub mod console;
mod error;
pub mod heap;
#[cfg(feature = "libc")]
mod libc;
pub mod log;
pub mod manifest;
mod mem;
#[cfg(target_arch = "x86_64")]
mod memfns;
pub mod net;
#[cfg(not(test))]
mod notes;
mod panic;
mod platform;
pub mod ssp;
pub mod sys;
pub mod time;
pub mod tls;

pub use boot::{MemoryMap, Start};
pub use error::Error;
pub use panic::{abort, exit};

/// Re-exported so the [`manifest!`] macro can name the ABI types.
#[doc(hidden)]
pub use corten_abi as abi;

/// Exit status of a successful unikernel.
pub const EXIT_SUCCESS: i32 = corten_abi::solo5::EXIT_SUCCESS;
/// Exit status of a failed unikernel.
pub const EXIT_FAILURE: i32 = corten_abi::solo5::EXIT_FAILURE;
/// Exit status of an aborted unikernel (also used for CPU exceptions).
pub const EXIT_ABORT: i32 = corten_abi::solo5::EXIT_ABORT;

/// A device handle: the device's index in the manifest.
pub type Handle = corten_abi::solo5::Handle;

/// Declares the unikernel's entry function, `fn(&Start) -> i32`. The value
/// it returns is the exit status.
#[macro_export]
macro_rules! entry {
    ($main:path) => {
        #[doc(hidden)]
        #[no_mangle]
        pub fn __corten_app_main(start: &$crate::Start) -> i32 {
            let main: fn(&$crate::Start) -> i32 = $main;
            main(start)
        }
    };
}

/// Declares the unikernel's manifest: the devices it uses, each `block
/// "name"` or `net "name"` (at most 63, names at most 67 bytes). The tender
/// requires every declared device to be attached on its command line.
///
/// ```text
/// corten_rt::manifest! { block "storage", net "service0" }
/// corten_rt::manifest! {}   // no devices
/// ```
#[macro_export]
macro_rules! manifest {
    ($($kind:ident $name:literal),* $(,)?) => {
        #[doc(hidden)]
        #[used]
        #[no_mangle]
        #[link_section = ".note.solo5.manifest"]
        pub static __corten_mft1_note: $crate::abi::note::Mft1Note<
            { 1 $(+ $crate::manifest!(@one $kind))* },
        > = $crate::abi::note::Mft1Note::new([
            $crate::abi::mft::MftEntry::RESERVED,
            $($crate::abi::mft::MftEntry::new(
                $name.as_bytes(),
                $crate::manifest!(@type $kind),
            ),)*
        ]);
        const _: () = ::core::assert!(
            0 $(+ $crate::manifest!(@one $kind))* < $crate::abi::mft::MFT_MAX_ENTRIES,
            "a manifest holds at most 63 devices"
        );
    };
    (@one $kind:ident) => { 1 };
    (@type block) => { $crate::abi::mft::MFT_DEV_BLOCK_BASIC };
    (@type net) => { $crate::abi::mft::MFT_DEV_NET_BASIC };
    (@type $other:ident) => {
        ::core::compile_error!(::core::concat!(
            "unknown device kind `", ::core::stringify!($other), "`: use `block` or `net`"
        ))
    };
}
