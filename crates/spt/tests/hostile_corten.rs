//! The Rust hostile unikernels (target/unikernels/hostile.spt and
//! hostile_blk.spt, from `cargo xtask build`): every case they list must
//! end the way the list says (see `corten_testutil::suite::hostile`): a
//! forbidden system call kills the guest by SIGSYS, and a block device's
//! backing file keeps its size and every byte a refused request aimed at.
//! A missing unikernel fails the test.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

corten_testutil::tender_cases!(common::TENDER, corten_testutil::Source::Corten;
    hostile, hostile_blk);
