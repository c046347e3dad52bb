//! The spt suite on upstream-built unikernels, for checking compatibility
//! locally: set SOLO5_UPSTREAM_TESTS to upstream's tests/ directory (with
//! test_NAME/test_NAME.spt built). Without it every case prints a skip
//! reason and passes. Never commit upstream binaries.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

spt_suite!(common::Source::Upstream);
