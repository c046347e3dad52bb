//! A launcher that closes standard descriptors must not make a disk the
//! console: the tender reopens closed ones on /dev/null before it opens
//! anything (corten_tender::stdio).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{tender, unikernel};
use corten_testutil::Source;

#[test]
fn closed_standard_descriptors_never_reach_a_disk() {
    let kernel = unikernel(Source::Corten, "hostile_blk").unwrap();
    corten_testutil::launcher::closed_descriptors_never_reach_a_disk(
        &tender(),
        &kernel,
        "pread-ok",
    );
}
