//! Helpers for the tenders' integration tests (a dev-dependency of
//! corten-spt and corten-hvt; never part of a tender): running a program
//! with a timeout and checking how it ended ([`process`]), and network
//! plumbing in a private namespace ([`net`]), finding the test unikernels
//! ([`unikernels`]).
//!
//! Test code: it panics (fails the test) on anything unexpected.

#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod net;
pub mod process;
pub mod unikernels;

pub use process::{
    inherit_fd, is_root_or_skip, kvm_or_skip, socket_pair, wait_with_timeout, Outcome, TempDir,
};
pub use unikernels::{workspace, Source};
