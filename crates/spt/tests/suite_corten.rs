//! The spt suite on Corten-built unikernels (target/unikernels/NAME.spt,
//! from `cargo xtask build`). A missing unikernel fails the test.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

spt_suite!(common::Source::Corten);
