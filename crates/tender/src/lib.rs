//! `corten-tender`: what Corten's spt and hvt tenders share.
//!
//! A tender run goes: [`cli::scan`] finds KERNEL → the caller reads the
//! unikernel's ABI note and manifest → [`cli::parse`] reads every option →
//! [`devices::attach_all`] opens each block device and tap the manifest
//! declares → [`cmdline::guest_cmdline`] builds the guest command line.
//! [`front_end`] does all of that in one call. Every error prints as
//! `PROG: message` (see [`diag`]) and exits 1.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod argv;
pub mod block;
pub mod cli;
pub mod cmdline;
pub mod devices;
pub mod diag;
mod front;
pub mod kernel;
pub mod personality;
pub mod stdio;
pub mod tap;

pub use front::{front_end, Invocation};
