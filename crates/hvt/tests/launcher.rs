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

#[test]
fn without_proc_the_tender_still_installs_its_filter() {
    // Fail closed (issue 8, finding 9): with /proc hidden (a tmpfs over it
    // in a private mount namespace) the tender cannot read its seccomp
    // state from /proc/self/status; it must probe and, finding itself
    // unconfined, install its filter. The test reads the running tender's
    // status through its own (unhidden) /proc.
    if !corten_testutil::kvm_or_skip("hvt without /proc")
        || !corten_testutil::is_root_or_skip("hvt without /proc")
    {
        return;
    }
    let kernel = unikernel(Source::Corten, "time").unwrap();
    let child = std::process::Command::new("unshare")
        .args([
            "-m",
            "sh",
            "-c",
            "mount -t tmpfs none /proc && exec \"$0\" \"$1\"",
        ])
        .arg(tender())
        .arg(&kernel)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let status_file = format!("/proc/{}/status", child.id());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    let mut seen = None;
    while std::time::Instant::now() < deadline {
        let text = std::fs::read_to_string(&status_file).unwrap_or_default();
        let comm_is_tender = text
            .lines()
            .any(|l| l.starts_with("Name:") && l.contains("corten-hvt"));
        if comm_is_tender {
            if let Some(l) = text.lines().find(|l| l.starts_with("Seccomp:")) {
                seen = Some(l.to_owned());
                if l.ends_with('2') {
                    break;
                }
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let o = corten_testutil::wait_with_timeout(child, std::time::Duration::from_secs(30));
    o.expect_success();
    assert_eq!(
        seen.as_deref(),
        Some("Seccomp:\t2"),
        "the tender ran without a filter:\n{}",
        o.output()
    );
    assert!(!o.stderr.contains("without adding one"), "{}", o.stderr);
}

#[test]
fn a_disk_locked_by_another_process_is_refused() {
    if !corten_testutil::kvm_or_skip("locked disk") {
        return;
    }
    let kernel = unikernel(Source::Corten, "hostile_blk").unwrap();
    corten_testutil::launcher::a_locked_disk_is_refused(&tender(), &kernel, "blk-ok");
}
