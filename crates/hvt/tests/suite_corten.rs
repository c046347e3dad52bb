//! The shared suite and hvt's own cases on Corten-built unikernels
//! (target/unikernels/NAME.hvt, from `cargo xtask build`). A missing
//! unikernel fails the test. Needs /dev/kvm; network cases need root.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::suite;
use corten_testutil::Source;

corten_testutil::tender_suite!(common::TENDER, Corten);
corten_testutil::tender_cases!(in suite, common::TENDER, Source::Corten;
    dumpcore, dumpcore_exception, net_ring, net_hypercalls);
