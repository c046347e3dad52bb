//! corten-hvt: a Solo5 (ABI version 2) hvt tender. It runs one unikernel
//! in a one-vCPU KVM virtual machine and serves its hypercalls.
//!
//! A run ([`tender_main`]): shared front end (command line, ELF,
//! manifest, devices; `corten-tender`) → [`setup`]: options, guest memory
//! laid out and loaded, VM and vCPU, boot info → seccomp → exit loop
//! ([`exit_loop`], or the gdb stub of [`modules`] driving it). The modules
//! are declared top-down, in layers: none imports one declared above it.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod tender;

pub mod setup;

pub mod modules;

pub mod exit_loop;

pub mod boot;
pub mod hypercall;
pub mod netring;
pub mod sandbox;

pub mod arch;
pub mod devices;
pub mod vm;

pub mod guest_mem;

pub mod options;
pub mod signals;

pub mod diag;
mod sys;

#[cfg(target_arch = "x86_64")]
pub mod testkit;

pub use tender::{tender_main, SPEC};
