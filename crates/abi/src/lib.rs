//! Every binary fact of the Solo5 ABI (version 2) that a tender, a tool or a
//! guest needs, as `#[repr(C)]` types and constants.
//!
//! This crate is `no_std` and dependency-free so that host crates and guest
//! unikernels share one definition. Layouts are pinned to upstream Solo5's
//! C headers by compile-time assertions (see the bottom of each module).
//! All multi-byte fields are little-endian: Solo5 supports only little-endian
//! x86_64 and aarch64.
#![no_std]

pub mod hvt;
pub mod mem;
pub mod mft;
pub mod note;
pub mod ring;
pub mod solo5;
pub mod spt;

/// Asserts at compile time that `$ty` has the given size and alignment and
/// that each named field sits at the given offset.
#[macro_export]
macro_rules! assert_layout {
    ($ty:ty, size = $size:expr, align = $align:expr $(, $field:ident = $off:expr)* $(,)?) => {
        const _: () = {
            assert!(::core::mem::size_of::<$ty>() == $size);
            assert!(::core::mem::align_of::<$ty>() == $align);
            $(assert!(::core::mem::offset_of!($ty, $field) == $off);)*
        };
    };
}
