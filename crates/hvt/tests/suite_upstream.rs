//! The shared suite and hvt's own cases on upstream-built unikernels, run
//! only when SOLO5_UPSTREAM_TESTS points at upstream's tests/ directory
//! (each case prints why it skipped otherwise). Needs /dev/kvm; network
//! cases need root.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::suite;
use corten_testutil::Source;

corten_testutil::tender_suite!(common::TENDER, Upstream);
// Upstream builds its buggy ELF for hvt only.
corten_testutil::tender_cases!(common::TENDER, Source::Upstream; buggyelf);
corten_testutil::tender_cases!(in suite, common::TENDER, Source::Upstream;
    dumpcore, dumpcore_exception, net_ring, net_hypercalls);
