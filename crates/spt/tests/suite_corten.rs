//! The shared suite and spt's own cases on Corten-built unikernels
//! (target/unikernels/NAME.spt, from `cargo xtask build`). A missing
//! unikernel fails the test.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::suite;
use corten_testutil::Source;

corten_testutil::tender_suite!(common::TENDER, Corten);
corten_testutil::tender_cases!(in suite, common::TENDER, Source::Corten;
    wnox, seccomp, x_exec_heap, huge_mem);
