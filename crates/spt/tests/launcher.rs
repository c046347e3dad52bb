//! Hostile launchers (see `corten_testutil::suite::launcher`), on corten-spt.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

corten_testutil::tender_cases!(common::TENDER, corten_testutil::Source::Corten;
    closed_standard_descriptors_never_reach_a_disk,
    kernels_that_are_not_regular_files_are_refused_without_hanging,
    a_pipe_is_not_a_network_device,
    a_disk_locked_by_another_process_is_refused);
