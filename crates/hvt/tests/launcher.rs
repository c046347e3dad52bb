//! Hostile launchers (see `corten_testutil::suite::launcher`), on
//! corten-hvt, and one only hvt has: started with /proc hidden.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{tender, unikernel};
use corten_testutil::Source;

corten_testutil::tender_cases!(common::TENDER, Source::Corten;
    closed_standard_descriptors_never_reach_a_disk,
    kernels_that_are_not_regular_files_are_refused_without_hanging,
    a_pipe_is_not_a_network_device,
    a_disk_locked_by_another_process_is_refused);

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
