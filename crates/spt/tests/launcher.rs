//! Hostile launchers: closed standard descriptors must not make a disk the
//! console (the tender reopens them on /dev/null before it opens anything,
//! corten_tender::stdio); a kernel path naming a FIFO, a directory or a
//! device is refused at once (corten_elf::open_image); a pipe passed as a
//! network device is refused (it would make a waiting guest spin).

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

#[test]
fn a_pipe_is_not_a_network_device() {
    let kernel = unikernel(Source::Corten, "net").unwrap();
    corten_testutil::launcher::pipe_as_network_device_is_refused(&tender(), &kernel);
}

#[test]
fn a_disk_locked_by_another_process_is_refused() {
    let kernel = unikernel(Source::Corten, "hostile_blk").unwrap();
    corten_testutil::launcher::a_locked_disk_is_refused(&tender(), &kernel, "pread-ok");
}
