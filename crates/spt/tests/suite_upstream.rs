//! The shared suite and spt's own cases on upstream-built unikernels, for
//! checking compatibility locally: set SOLO5_UPSTREAM_TESTS to upstream's
//! tests/ directory (with test_NAME/test_NAME.spt built). Without it every
//! case prints a skip reason and passes. Never commit upstream binaries.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::suite;
use corten_testutil::Source;

corten_testutil::tender_suite!(common::TENDER, Upstream);
corten_testutil::tender_cases!(in suite, common::TENDER, Source::Upstream;
    wnox, seccomp, x_exec_heap, huge_mem);
