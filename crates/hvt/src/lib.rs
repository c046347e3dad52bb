//! corten-hvt: a Solo5 (ABI version 2) hvt tender. It runs one unikernel
//! in a one-vCPU KVM virtual machine and serves its hypercalls.
//!
//! A run ([`tender::tender_main`]): shared front end (command line, ELF, manifest,
//! devices; `corten-tender`) → guest memory laid out and loaded → VM and
//! vCPU → boot info → seccomp → exit loop ([`exit_loop`]).

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod arch;
pub mod boot;
pub mod devices;
pub mod diag;
pub mod exit_loop;
pub mod guest_mem;
pub mod hypercall;
pub mod modules;
pub mod netring;
pub mod options;
pub mod sandbox;
pub mod setup;
pub mod signals;
mod sys;
pub mod tender;
#[cfg(target_arch = "x86_64")]
pub mod testkit;
pub mod vm;

pub use tender::{tender_main, SPEC};
