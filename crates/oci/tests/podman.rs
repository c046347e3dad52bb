//! podman (through conmon) drives corten-oci with `--runtime`: create,
//! start, state, kill, delete --force, pause/unpause, exec (refused). Private storage and run roots, no
//! network (`--network none`), cgroupfs: nothing of a system podman is
//! touched.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::{build_archive, engines_or_skip, oci, unikernel, ImageSpec};
use corten_testutil::{wait_with_timeout, Outcome, TempDir};

struct Podman {
    dir: TempDir,
}

impl Podman {
    fn new(tag: &str) -> Podman {
        Podman {
            dir: TempDir::new(&format!("podman-{tag}")),
        }
    }

    fn cmd(&self, args: &[&str], timeout: Duration) -> Outcome {
        let d = self.dir.path();
        let mut cmd = Command::new("podman");
        cmd.arg("--root")
            .arg(d.join("root"))
            .arg("--runroot")
            .arg(d.join("run"))
            .args(["--storage-driver", "vfs", "--cgroup-manager", "cgroupfs"])
            .args(["--events-backend", "file", "--runtime"])
            .arg(oci())
            .args(args)
            .env("CORTEN_OCI_TENDER_DIR", common::tender_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        wait_with_timeout(cmd.spawn().unwrap(), timeout)
    }

    fn run(&self, args: &[&str]) -> Outcome {
        self.cmd(args, Duration::from_secs(120))
    }

    fn load(&self, spec: &ImageSpec<'_>) {
        let work = TempDir::new("podman-image");
        let archive = build_archive(&work, spec);
        let out = self.run(&["load", "-i", archive.to_str().unwrap()]);
        assert_eq!(out.status, 0, "podman load: {}", out.output());
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        // Whatever a failed test left; vfs storage leaves no mounts, so
        // the directory goes with the TempDir.
        self.run(&["rm", "-af", "-t", "0"]);
    }
}

fn podman_or_skip(what: &str) -> bool {
    if !engines_or_skip(what) {
        return false;
    }
    let found = Command::new("podman")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found || std::env::var("CORTEN_REQUIRE_ENGINES").map_or(true, |v| v != "1"),
        "{what}: podman is not installed, but CORTEN_REQUIRE_ENGINES=1"
    );
    if !found {
        corten_testutil::skip_note("podman", &format!("{what}: podman is not installed"));
    }
    found
}

#[test]
fn podman_runs_unikernels_with_their_exit_status() {
    if !podman_or_skip("podman_runs_unikernels_with_their_exit_status") {
        return;
    }
    let p = Podman::new("run");
    let hello = unikernel("hello", "spt");
    let abort = unikernel("abort", "spt");
    p.load(&ImageSpec {
        name: "corten.test/pm:latest",
        files: &[(&hello, "/u/hello.spt"), (&abort, "/u/abort.spt")],
        entrypoint: &["/u/hello.spt"],
        cmd: &["from", "podman"],
    });
    let out = p.run(&["run", "--rm", "--network", "none", "corten.test/pm:latest"]);
    assert_eq!(out.status, 0, "{}", out.output());
    assert!(
        out.stdout.contains("Command line is: 'from podman'"),
        "{}",
        out.output()
    );
    let out = p.run(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--entrypoint",
        "/u/abort.spt",
        "corten.test/pm:latest",
    ]);
    assert_eq!(out.status, 255, "{}", out.output());
}

#[test]
fn podman_stops_and_removes_a_running_unikernel() {
    if !podman_or_skip("podman_stops_and_removes_a_running_unikernel") {
        return;
    }
    let p = Podman::new("stop");
    let spin = unikernel("bench_yield", "spt");
    p.load(&ImageSpec {
        name: "corten.test/pm-spin:latest",
        files: &[(&spin, "/spin.spt")],
        entrypoint: &["/spin.spt"],
        cmd: &["100000000000"],
    });
    let out = p.run(&[
        "run",
        "-d",
        "--name",
        "s1",
        "--network",
        "none",
        "corten.test/pm-spin:latest",
    ]);
    assert_eq!(out.status, 0, "{}", out.output());
    let ps = p.run(&["ps", "--format", "{{.Names}} {{.Status}}"]);
    assert!(ps.stdout.contains("s1 Up"), "{}", ps.output());
    // podman pause/unpause: corten-oci's pause and resume (the freezer).
    let out = p.run(&["pause", "s1"]);
    assert_eq!(out.status, 0, "{}", out.output());
    let ps = p.run(&["ps", "-a", "--format", "{{.Names}} {{.Status}}"]);
    assert!(ps.stdout.contains("s1 Paused"), "{}", ps.output());
    let out = p.run(&["unpause", "s1"]);
    assert_eq!(out.status, 0, "{}", out.output());
    let ps = p.run(&["ps", "--format", "{{.Names}} {{.Status}}"]);
    assert!(ps.stdout.contains("s1 Up"), "{}", ps.output());
    // podman exec: refused, with the reason.
    let out = p.run(&["exec", "s1", "/bin/sh"]);
    assert_ne!(out.status, 0, "{}", out.output());
    assert!(
        out.output().contains("it runs a unikernel"),
        "{}",
        out.output()
    );
    // SIGTERM reaches the tender (corten-oci's pid 1 forwards it), so the
    // stop is prompt, not the 30 s grace period.
    let started = std::time::Instant::now();
    let out = p.run(&["stop", "-t", "30", "s1"]);
    assert_eq!(out.status, 0, "{}", out.output());
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "stop took {:?}",
        started.elapsed()
    );
    let ps = p.run(&["ps", "-a", "--format", "{{.Names}} {{.Status}}"]);
    assert!(ps.stdout.contains("s1 Exited"), "{}", ps.output());
    let out = p.run(&["rm", "s1"]);
    assert_eq!(out.status, 0, "{}", out.output());
    let ps = p.run(&["ps", "-a", "-q"]);
    assert!(ps.stdout.trim().is_empty(), "{}", ps.output());
}

#[test]
fn podman_attaches_a_volume_as_a_block_device() {
    if !podman_or_skip("podman_attaches_a_volume_as_a_block_device") {
        return;
    }
    let p = Podman::new("blk");
    let blk = unikernel("blk", "spt");
    p.load(&ImageSpec {
        name: "corten.test/pm-blk:latest",
        files: &[(&blk, "/blk.spt")],
        entrypoint: &["/blk.spt"],
        cmd: &[],
    });
    let dir = TempDir::new("pm-disk");
    let disk = dir.file("disk.img", 1 << 20, 0);
    let volume = format!("{}:/data/disk.img", disk.display());
    let out = p.run(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        &volume,
        "--annotation",
        "io.corten.block.storage=/data/disk.img",
        "corten.test/pm-blk:latest",
    ]);
    assert_eq!(out.status, 0, "{}", out.output());
    assert!(out.stdout.contains("SUCCESS"), "{}", out.output());
    assert!(std::fs::read(&disk).unwrap().iter().any(|&b| b != 0));
}

#[test]
fn podman_runs_a_network_unikernel_in_a_pod_namespace() {
    if !podman_or_skip("podman_runs_a_network_unikernel_in_a_pod_namespace") {
        return;
    }
    let p = Podman::new("net");
    let net = unikernel("net", "spt");
    p.load(&ImageSpec {
        name: "corten.test/pm-net:latest",
        files: &[(&net, "/net.spt")],
        entrypoint: &["/net.spt"],
        cmd: &[],
    });
    let pod = common::PodNet::new("p", 209);
    let ns = format!("ns:{}", pod.netns_path());
    let out = p.run(&[
        "run",
        "-d",
        "--name",
        "n1",
        "--network",
        &ns,
        "corten.test/pm-net:latest",
    ]);
    assert_eq!(out.status, 0, "{}", out.output());
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !pod.ping("10.209.0.2", 1).0 {
        assert!(
            std::time::Instant::now() < deadline,
            "no reply: {}",
            p.run(&["logs", "n1"]).output()
        );
    }
    let (ok, stats) = pod.ping("10.209.0.2", 100);
    assert!(ok, "{stats}");
    let out = p.run(&["rm", "-f", "-t", "1", "n1"]);
    assert_eq!(out.status, 0, "{}", out.output());
    // The pod's interface is its own again.
    assert!(pod.ping("10.209.0.2", 1).0);
}
