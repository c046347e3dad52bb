//! corten-hvt started the way urunc starts solo5-hvt: under urunc's own
//! seccomp allow-list (default action SIGSYS, no seccomp/prctl/statx/poll),
//! and in a second variant also after a pivot_root into a root without
//! /proc or /sys. The tender must notice it is already confined, say so,
//! and run the guest to completion.

#![cfg(target_arch = "x86_64")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;
use std::time::Duration;

use common::urunc::{confine, Jail};
use common::{kvm_or_skip, tender, unikernel, wait_with_timeout, Source};

fn kernel(src: Source) -> Option<std::path::PathBuf> {
    if !kvm_or_skip("urunc launch") {
        return None;
    }
    unikernel(src, "hello")
}

fn check(o: &common::Outcome) {
    o.expect_success();
    assert!(
        o.stderr.contains("seccomp"),
        "the tender should say it runs under someone else's filter:\n{}",
        o.stderr
    );
    assert!(o.stdout.contains("Hello_Solo5"), "{}", o.stdout);
}

fn under_filter(src: Source) {
    let Some(k) = kernel(src) else { return };
    let mut cmd = common::command(["--mem=512".as_ref(), k.as_os_str(), "Hello_Solo5".as_ref()]);
    confine(&mut cmd);
    let o = wait_with_timeout(cmd.spawn().expect("spawn"), Duration::from_secs(60));
    check(&o);
    assert!(o.stderr.contains("seccomp mode 2"), "{}", o.stderr);
}

fn after_pivot_root(src: Source) {
    if !common::is_root_or_skip("urunc pivot_root launch") {
        return;
    }
    let Some(k) = kernel(src) else { return };
    let jail = Jail::new();
    let mut cmd = Command::new(Jail::tender_path());
    cmd.args(["--mem=512", "/unikernel.hvt", "Hello_Solo5"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    jail.confine(&mut cmd, &tender(), &k);
    let o = wait_with_timeout(cmd.spawn().expect("spawn"), Duration::from_secs(60));
    check(&o);
    assert!(o.stderr.contains("/proc/self/status"), "{}", o.stderr);
}

/// The filter really is urunc's: the tender's --version gets through it,
/// while /bin/sh, which makes calls outside the list, dies with SIGSYS (so
/// the tender surviving the runs below means something).
#[test]
fn the_filter_is_enforced() {
    use std::os::unix::process::ExitStatusExt;
    let mut cmd = Command::new(tender());
    cmd.arg("--version").stderr(std::process::Stdio::null());
    confine(&mut cmd);
    assert_eq!(cmd.status().expect("spawn").code(), Some(0));
    let mut cmd = Command::new("/bin/sh");
    cmd.args(["-c", "true"]);
    confine(&mut cmd);
    let st = cmd.status().expect("spawn sh");
    assert_eq!(st.signal(), Some(libc::SIGSYS), "{st:?}");
}

#[test]
fn upstream_hello_under_urunc_filter() {
    under_filter(Source::Upstream);
}

#[test]
fn upstream_hello_after_pivot_root_under_urunc_filter() {
    after_pivot_root(Source::Upstream);
}

#[test]
fn corten_hello_under_urunc_filter() {
    under_filter(Source::Corten);
}

#[test]
fn corten_hello_after_pivot_root_under_urunc_filter() {
    after_pivot_root(Source::Corten);
}
