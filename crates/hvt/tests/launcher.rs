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
    if !corten_testutil::kvm_or_skip("closed standard descriptors") {
        return;
    }
    let kernel = unikernel(Source::Corten, "hostile_blk").unwrap();
    corten_testutil::launcher::closed_descriptors_never_reach_a_disk(&tender(), &kernel, "blk-ok");
}

#[test]
fn kernels_that_are_not_regular_files_are_refused_without_hanging() {
    // The kernel is opened before KVM is touched: no /dev/kvm needed.
    let d = corten_testutil::TempDir::new("nonregular");
    for (path, phrase) in corten_testutil::launcher::non_regular_files(&d) {
        let cmd = std::process::Command::new(tender());
        corten_testutil::launcher::refuses_quickly(cmd, &path, phrase);
    }
}

#[test]
fn a_pipe_is_not_a_network_device() {
    let kernel = unikernel(Source::Corten, "net").unwrap();
    corten_testutil::launcher::pipe_as_network_device_is_refused(&tender(), &kernel);
}
