//! The guest branch's hostile unikernels (target/unikernels/hostile.hvt and
//! hostile_blk.hvt, from `cargo xtask build`): every case they list, run
//! against corten-hvt, must end the way the list says a correct tender
//! ends it (see `corten_testutil::suite::hostile`). A missing unikernel
//! fails the test.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

corten_testutil::tender_cases!(common::TENDER, corten_testutil::Source::Corten;
    hostile, hostile_blk);
