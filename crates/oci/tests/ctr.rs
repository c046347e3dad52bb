//! containerd drives corten-oci through its runc v2 shim (`ctr run
//! --runc-binary corten-oci`), as a Kubernetes RuntimeClass with
//! `BinaryName` would: output, exit statuses, detached tasks killed by
//! signal, a TTY, block devices from volumes, bundles handed to runc, and
//! nothing left behind.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap

mod common;

use common::{build_image, c_hello, engines_or_skip, unikernel, Containerd, ImageSpec};
use corten_testutil::{kvm_or_skip, wait_with_timeout, TempDir};
use std::time::{Duration, Instant};

fn hello_image(ctd: &Containerd, ext: &str) -> String {
    let name = format!("corten.test/hello-{ext}:latest");
    let uk = unikernel("hello", ext);
    let dest = format!("/unikernel/hello.{ext}");
    build_image(
        ctd,
        &ImageSpec {
            name: &name,
            files: &[(&uk, &dest)],
            entrypoint: &[&dest],
            cmd: &["Hello_Solo5"],
        },
    );
    name
}

#[test]
fn hello_spt_runs_and_leaves_nothing_behind() {
    if !engines_or_skip("hello_spt_runs_and_leaves_nothing_behind") {
        return;
    }
    let ctd = common::containerd("hello");
    let image = hello_image(&ctd, "spt");
    let out = ctd.run("h1", &[], &image, &[]);
    assert_eq!(out.status, 0, "{}", out.output());
    assert!(out.stdout.contains("Hello, World"), "{}", out.output());
    assert!(
        out.stdout.contains("Command line is: 'Hello_Solo5'"),
        "{}",
        out.output()
    );
    ctd.assert_gone("h1");
    // Arguments after the id replace the whole process (as with runc).
    let out = ctd.run(
        "h2",
        &[],
        &image,
        &["/unikernel/hello.spt", "other", "words"],
    );
    assert!(
        out.stdout.contains("Command line is: 'other words'"),
        "{}",
        out.output()
    );
    ctd.assert_gone("h2");
}

#[test]
fn hello_hvt_runs() {
    if !engines_or_skip("hello_hvt_runs") || !kvm_or_skip("hello_hvt_runs") {
        return;
    }
    let ctd = common::containerd("hvt");
    let image = hello_image(&ctd, "hvt");
    let out = ctd.run("v1", &[], &image, &[]);
    assert_eq!(out.status, 0, "{}", out.output());
    assert!(out.stdout.contains("Hello, World"), "{}", out.output());
    assert!(out.stdout.contains("on hvt"), "{}", out.output());
    ctd.assert_gone("v1");
}

#[test]
fn exit_statuses_are_the_tasks() {
    if !engines_or_skip("exit_statuses_are_the_tasks") {
        return;
    }
    let ctd = common::containerd("status");
    let image = ctd.unikernel_image("abort", "spt", &[]);
    let out = ctd.run("a1", &[], &image, &[]);
    assert_eq!(out.status, 255, "{}", out.output());
    ctd.assert_gone("a1");
}

#[test]
fn detached_task_is_killed_by_signal_and_deleted() {
    if !engines_or_skip("detached_task_is_killed_by_signal_and_deleted") {
        return;
    }
    let ctd = common::containerd("detach");
    let image = ctd.unikernel_image("bench_yield", "spt", &["100000000000"]);
    ctd.run_detached("d1", &[], &image);
    ctd.wait_running("d1", Duration::from_secs(20));
    let ps = ctd.ctr(&["task", "ps", "d1"]);
    assert_eq!(ps.status, 0, "{}", ps.output());
    let out = ctd.ctr(&["task", "kill", "-s", "SIGKILL", "d1"]);
    assert_eq!(out.status, 0, "{}", out.output());
    ctd.wait_stopped("d1", Duration::from_secs(20));
    ctd.remove("d1");
    // ctr task kill's default, SIGTERM, reaches the tender (the container's
    // pid 1 forwards it) and stops it at once, with 128 + 15.
    let run = ctd.spawn_run("d2", &image);
    ctd.wait_running("d2", Duration::from_secs(20));
    let started = Instant::now();
    assert_eq!(ctd.ctr(&["task", "kill", "d2"]).status, 0);
    let out = wait_with_timeout(run, Duration::from_secs(20));
    assert_eq!(out.status, 143, "{}", out.output());
    assert!(started.elapsed() < Duration::from_secs(10));
    ctd.assert_gone("d2");
}

#[test]
fn a_tty_carries_the_console() {
    if !engines_or_skip("a_tty_carries_the_console") {
        return;
    }
    let ctd = common::containerd("tty");
    let image = hello_image(&ctd, "spt");
    // ctr -t wants a terminal of its own: script(1) gives it one.
    let oci = common::oci();
    let line = format!(
        "ctr --address {} -n {} run --rm -t --runtime io.containerd.runc.v2 --runc-binary {} {image} t1",
        ctd.address().display(),
        ctd.ns,
        oci.display()
    );
    let mut cmd = std::process::Command::new("script");
    cmd.args(["-q", "-e", "-c", &line, "/dev/null"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let out = corten_testutil::wait_with_timeout(cmd.spawn().unwrap(), Duration::from_secs(60));
    assert_eq!(out.status, 0, "{}", out.output());
    // Through the container's terminal (and script's), lines end in CR.
    assert!(out.stdout.contains("Hello, World\r"), "{:?}", out.stdout);
    ctd.assert_gone("t1");
}

#[test]
fn a_volume_is_a_block_device() {
    if !engines_or_skip("a_volume_is_a_block_device") {
        return;
    }
    let ctd = common::containerd("blk");
    let image = ctd.unikernel_image("blk", "spt", &[]);
    let dir = TempDir::new("oci-blk");
    let disk = dir.file("disk.img", 1 << 20, 0);
    let mount = format!(
        "type=bind,src={},dst=/data/disk.img,options=rbind:rw",
        disk.display()
    );
    let out = ctd.run(
        "b1",
        &[
            "--mount",
            &mount,
            "--annotation",
            "io.corten.block.storage=/data/disk.img",
        ],
        &image,
        &[],
    );
    assert_eq!(out.status, 0, "{}", out.output());
    assert!(out.stdout.contains("SUCCESS"), "{}", out.output());
    // What the unikernel wrote is on the host's file.
    assert!(std::fs::read(&disk).unwrap().iter().any(|&b| b != 0));
    ctd.assert_gone("b1");
    // Without the annotation the error says what to add.
    let out = ctd.run("b2", &[], &image, &[]);
    assert_ne!(out.status, 0);
    assert!(
        out.output().contains("io.corten.block.storage=PATH"),
        "{}",
        out.output()
    );
    ctd.assert_gone("b2");
}

#[test]
fn other_bundles_go_to_runc() {
    if !engines_or_skip("other_bundles_go_to_runc") {
        return;
    }
    let ctd = common::containerd("runc");
    let dir = TempDir::new("oci-c");
    let hello = c_hello(&dir, 7);
    build_image(
        &ctd,
        &ImageSpec {
            name: "corten.test/c-hello:latest",
            files: &[(&hello, "/hello")],
            entrypoint: &["/hello"],
            cmd: &[],
        },
    );
    let out = ctd.run("c1", &[], "corten.test/c-hello:latest", &[]);
    assert_eq!(out.status, 7, "{}", out.output());
    assert!(out.stdout.contains("hello from C"), "{}", out.output());
    ctd.assert_gone("c1");
}

#[test]
fn the_memory_limit_is_the_guests_memory() {
    if !engines_or_skip("the_memory_limit_is_the_guests_memory") {
        return;
    }
    let ctd = common::containerd("mem");
    let image = hello_image(&ctd, "spt");
    // 128 MiB for the container: 16 MiB stay with the tender.
    let out = ctd.run("m1", &["--memory-limit", "134217728"], &image, &[]);
    assert_eq!(out.status, 0, "{}", out.output());
    assert!(
        out.stdout.contains("Solo5: memory: 112 MiB"),
        "{}",
        out.output()
    );
    let cg = std::path::Path::new("/sys/fs/cgroup/memory")
        .join(&ctd.ns)
        .join("m1");
    assert!(!cg.exists(), "{} left behind", cg.display());
    // An explicit annotation wins.
    let out = ctd.run(
        "m2",
        &[
            "--memory-limit",
            "134217728",
            "--annotation",
            "io.corten.mem=32",
        ],
        &image,
        &[],
    );
    assert!(
        out.stdout.contains("Solo5: memory: 32 MiB"),
        "{}",
        out.output()
    );
    ctd.assert_gone("m2");
}

#[test]
fn images_packaged_for_urunc_run_unchanged() {
    if !engines_or_skip("images_packaged_for_urunc_run_unchanged") {
        return;
    }
    let ctd = common::containerd("urunc");
    let dir = TempDir::new("oci-urunc");
    // urunc's image: the unikernel named by urunc.json (base64, as urunc
    // writes it), the entrypoint something urunc ignores.
    let json = dir.path().join("urunc.json");
    std::fs::write(
        &json,
        r#"{"com.urunc.unikernel.binary": "L3VuaWtlcm5lbC9oZWxsby5zcHQ=",
            "com.urunc.unikernel.hypervisor": "c3B0",
            "com.urunc.unikernel.unikernelType": "c29sbzU="}"#,
    )
    .unwrap();
    let uk = unikernel("hello", "spt");
    build_image(
        &ctd,
        &ImageSpec {
            name: "corten.test/urunc-hello:latest",
            files: &[(&uk, "/unikernel/hello.spt"), (&json, "/urunc.json")],
            entrypoint: &["/unikernel/hello.spt"],
            cmd: &[],
        },
    );
    // The command line from urunc's annotation, in the spec (plain text).
    let out = ctd.run(
        "u1",
        &["--annotation", "com.urunc.unikernel.cmdline=from urunc"],
        "corten.test/urunc-hello:latest",
        &["/not-the-unikernel"],
    );
    assert_eq!(out.status, 0, "{}", out.output());
    assert!(
        out.stdout.contains("Command line is: 'from urunc'"),
        "{}",
        out.output()
    );
    ctd.assert_gone("u1");
    // A hypervisor annotation that contradicts the ABI note is an error.
    let out = ctd.run(
        "u2",
        &["--annotation", "com.urunc.unikernel.hypervisor=hvt"],
        "corten.test/urunc-hello:latest",
        &[],
    );
    assert_ne!(out.status, 0);
    assert!(
        out.output().contains("says hvt, but its ABI note says spt"),
        "{}",
        out.output()
    );
    ctd.assert_gone("u2");
}

#[test]
fn a_task_pauses_resumes_and_refuses_exec() {
    if !engines_or_skip("a_task_pauses_resumes_and_refuses_exec") {
        return;
    }
    let ctd = common::containerd("pause");
    let image = ctd.unikernel_image("bench_yield", "spt", &["100000000000"]);
    ctd.run_detached("p1", &[], &image);
    ctd.wait_running("p1", Duration::from_secs(20));
    // containerd's shim calls `corten-oci pause`, then reads `state`.
    let out = ctd.ctr(&["task", "pause", "p1"]);
    assert_eq!(out.status, 0, "{}", out.output());
    ctd.wait_task("p1", "PAUSED", Duration::from_secs(20));
    let out = ctd.ctr(&["task", "resume", "p1"]);
    assert_eq!(out.status, 0, "{}", out.output());
    ctd.wait_running("p1", Duration::from_secs(20));
    // What `kubectl exec` gets: the shim's `exec` refused, with the reason.
    let out = ctd.ctr(&["task", "exec", "--exec-id", "e1", "p1", "/bin/sh"]);
    eprintln!("ctr task exec: {}", out.output());
    assert_ne!(out.status, 0, "{}", out.output());
    assert!(
        out.output().contains("it runs a unikernel"),
        "{}",
        out.output()
    );
    let out = ctd.ctr(&["task", "kill", "-s", "SIGKILL", "p1"]);
    assert_eq!(out.status, 0, "{}", out.output());
    ctd.wait_stopped("p1", Duration::from_secs(20));
    ctd.remove("p1");
}
