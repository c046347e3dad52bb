//! corten-hvt started the way urunc starts solo5-hvt: under urunc's own
//! seccomp allow-list (default action SIGSYS, no seccomp/prctl/statx/poll),
//! and in a second variant also after a pivot_root into a root without
//! /proc or /sys. The tender must notice it is already confined, say so,
//! and run the guest to completion.

#![cfg(target_arch = "x86_64")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::os::fd::AsRawFd;
use std::process::Command;
use std::time::Duration;

use common::urunc::{confine, Jail};
use common::{
    inherit_fd, kvm_or_skip, socket_pair, tender, unikernel, wait_with_timeout, Source, TempDir,
};
use corten_hvt::testkit::{booted, build, Code, Devices, SCRATCH};

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
    // Without /proc the tender learns it is confined by probing
    // prctl(PR_GET_SECCOMP), which urunc's filter traps.
    assert!(o.stderr.contains("already confined"), "{}", o.stderr);
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

/// A guest with a network device (one end of a datagram socket pair as
/// `--net:service0=@3`): it sends a 60-byte frame with the NET_WRITE
/// hypercall and halts with the boot info's host_features as its status.
/// Under urunc's filter the ring's I/O thread cannot start (no `eventfd2`,
/// `clone3` or `rt_sigprocmask` on urunc's list), so the tender must not
/// offer ring I/O (status 0), must say so, and hypercalls must work.
fn network_device(pivot: bool) {
    if !kvm_or_skip("urunc launch with a network device")
        || (pivot && !common::is_root_or_skip("urunc pivot_root launch"))
    {
        return;
    }
    let dir = TempDir::new("urunc-net");
    let args = SCRATCH + 0x100;
    let frame = SCRATCH + 0x800;
    let code = booted(Code::new())
        .store32(frame, 0x5a5a_5a5a)
        .store64(args, 1)
        .store64(args + 8, frame as i32)
        .store64(args + 16, 60)
        .hypercall(6, args)
        .halt_with_status_at(0x1_0028);
    let k = build(dir.path(), "net", &code, Devices::Net).expect("write unikernel");
    let (ours, peer) = socket_pair();
    let (program, kernel) = if pivot {
        (
            Jail::tender_path(),
            std::path::PathBuf::from("/unikernel.hvt"),
        )
    } else {
        (tender(), k.clone())
    };
    let mut cmd = Command::new(program);
    cmd.arg("--mem=512")
        .arg("--net:service0=@3")
        .arg(&kernel)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    // Before the filter (registered below): dup2 is not on urunc's list.
    inherit_fd(&mut cmd, ours.as_raw_fd(), 3);
    let jail;
    if pivot {
        jail = Jail::new();
        jail.confine(&mut cmd, &tender(), &k);
    } else {
        confine(&mut cmd);
    }
    let o = wait_with_timeout(cmd.spawn().expect("spawn"), Duration::from_secs(60));
    o.expect_status(0);
    assert!(
        o.stderr.contains("not offering ring I/O"),
        "the tender should say why there is no ring:\n{}",
        o.stderr
    );
    let mut b = [0u8; 128];
    // SAFETY: reads into a live buffer.
    let n = unsafe { libc::read(peer.as_raw_fd(), b.as_mut_ptr().cast(), b.len()) };
    assert_eq!(n, 60, "no frame from the guest:\n{}", o.output());
    assert_eq!(&b[..4], &[0x5a; 4]);
}

#[test]
fn network_device_under_urunc_filter() {
    network_device(false);
}

#[test]
fn network_device_after_pivot_root_under_urunc_filter() {
    network_device(true);
}

/// A block device under urunc's filter, which has no flock(2): the tender
/// cannot lock the disk, says so, and runs.
#[test]
fn block_device_under_urunc_filter_without_flock() {
    if !kvm_or_skip("urunc launch") {
        return;
    }
    let Some(k) = unikernel(Source::Corten, "hostile_blk") else {
        return;
    };
    let dir = TempDir::new("urunc-blk");
    let disk = dir.file("d.img", 1 << 20, 0);
    let storage = format!("--block:storage={}", disk.display());
    let mut cmd = common::command([
        "--mem=512".as_ref(),
        storage.as_ref(),
        k.as_os_str(),
        "blk-ok".as_ref(),
    ]);
    confine(&mut cmd);
    let o = wait_with_timeout(cmd.spawn().expect("spawn"), Duration::from_secs(60));
    assert_eq!(o.status, 0, "{}", o.output());
    assert!(
        o.stderr
            .contains("not locked against use by another tender")
            && o.stderr.contains("does not allow flock"),
        "{}",
        o.stderr
    );
}
