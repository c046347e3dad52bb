//! Hostile launchers (see [`crate::launcher`]): closed standard
//! descriptors must not make a disk the console; a kernel path naming a
//! FIFO, a directory or a device is refused at once; a pipe passed as a
//! network device is refused; a disk locked by another process is refused.

use crate::launcher as l;
use crate::tender::Kind;
use crate::{Source, TempDir, Tender};

/// hostile_blk's control case that reads the block device.
fn block_ok_case(t: &Tender) -> &'static str {
    match t.kind {
        Kind::Spt => "pread-ok",
        Kind::Hvt => "blk-ok",
    }
}

pub fn closed_standard_descriptors_never_reach_a_disk(t: &Tender, src: Source) {
    if let Some(k) = t.runnable(src, "hostile_blk") {
        l::closed_descriptors_never_reach_a_disk(&t.program(), &k, block_ok_case(t));
    }
}

/// The kernel is opened before anything else (hvt: before KVM).
pub fn kernels_that_are_not_regular_files_are_refused_without_hanging(t: &Tender, _: Source) {
    let d = TempDir::new("nonregular");
    for (path, phrase) in l::non_regular_files(&d) {
        l::refuses_quickly(std::process::Command::new(t.program()), &path, phrase);
    }
}

/// Refused while attaching devices (hvt: before KVM).
pub fn a_pipe_is_not_a_network_device(t: &Tender, src: Source) {
    if let Some(k) = t.unikernel(src, "net") {
        l::pipe_as_network_device_is_refused(&t.program(), &k);
    }
}

pub fn a_disk_locked_by_another_process_is_refused(t: &Tender, src: Source) {
    if let Some(k) = t.runnable(src, "hostile_blk") {
        l::a_locked_disk_is_refused(&t.program(), &k, block_ok_case(t));
    }
}
