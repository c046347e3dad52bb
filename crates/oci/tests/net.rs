//! Pod networking: a unikernel container in a pod's network namespace
//! (made by the test: a "node" namespace and a "pod" namespace joined by a
//! veth pair, the pod's end named eth0, as CNI would leave it) answers
//! pings from the node at the pod's address, which corten-oci told it
//! (`--ipv4=`), with the pod's MAC; and nothing of the plumbing is left on
//! the pod's interfaces after delete. Both namespaces are private to the
//! test; no real network is touched.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{build_image, engines_or_skip, unikernel, ImageSpec};
use corten_testutil::kvm_or_skip;

/// A node and a pod network namespace, removed on drop.
struct Pod {
    node: String,
    pod: String,
}

fn ip(args: &[&str]) -> std::process::Output {
    Command::new("ip").args(args).output().unwrap()
}

fn ip_ok(args: &[&str]) {
    let out = ip(args);
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Pod {
    /// Node 10.N.0.1/24, pod eth0 10.N.0.2/24 with a default route via the node.
    fn new(tag: &str, net: u8) -> Pod {
        let id = std::process::id() % 100_000;
        let p = Pod {
            node: format!("cn{id}{tag}"),
            pod: format!("cp{id}{tag}"),
        };
        ip_ok(&["netns", "add", &p.node]);
        ip_ok(&["netns", "add", &p.pod]);
        let veth = format!("vn{id}{tag}");
        ip_ok(&[
            "link", "add", &veth, "netns", &p.node, "type", "veth", "peer", "name", "eth0",
            "netns", &p.pod,
        ]);
        let node_ip = format!("10.{net}.0.1/24");
        let pod_ip = format!("10.{net}.0.2/24");
        ip_ok(&["-n", &p.node, "addr", "add", &node_ip, "dev", &veth]);
        ip_ok(&["-n", &p.node, "link", "set", &veth, "up"]);
        ip_ok(&["-n", &p.pod, "addr", "add", &pod_ip, "dev", "eth0"]);
        ip_ok(&["-n", &p.pod, "link", "set", "eth0", "up"]);
        ip_ok(&["-n", &p.pod, "link", "set", "lo", "up"]);
        ip_ok(&[
            "-n",
            &p.pod,
            "route",
            "add",
            "default",
            "via",
            &format!("10.{net}.0.1"),
        ]);
        p
    }

    fn netns_path(&self) -> String {
        format!("/var/run/netns/{}", self.pod)
    }

    /// Pings `addr` from the node with corten-testutil's pinger (one
    /// request in flight): (all answered, the counts).
    fn ping(&self, addr: &str, count: usize) -> (bool, String) {
        let ns = std::fs::File::open(format!("/var/run/netns/{}", self.node)).unwrap();
        let addr: std::net::Ipv4Addr = addr.parse().unwrap();
        let stats = std::thread::spawn(move || {
            // SAFETY: setns moves only this thread into the node namespace.
            let rc =
                unsafe { libc::setns(std::os::fd::AsRawFd::as_raw_fd(&ns), libc::CLONE_NEWNET) };
            assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
            corten_testutil::net::ping(
                &[addr],
                count,
                1,
                Duration::from_secs(1),
                Duration::from_secs(10),
                None,
            )[0]
        })
        .join()
        .unwrap();
        (
            stats.received == count && stats.corrupted == 0,
            format!("{stats:?}"),
        )
    }

    fn pod_mac(&self) -> String {
        let out = ip(&["-n", &self.pod, "-j", "link", "show", "eth0"]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v[0]["address"].as_str().unwrap().to_owned()
    }
}

impl Drop for Pod {
    fn drop(&mut self) {
        let _ = ip(&["netns", "del", &self.pod]);
        let _ = ip(&["netns", "del", &self.node]);
    }
}

fn pod_answers_pings(ext: &str, tag: &str, net: u8) {
    let ctd = common::containerd(&format!("net{ext}"));
    let uk = unikernel("net", ext);
    let dest = format!("/net.{ext}");
    let image = format!("corten.test/net-{ext}:latest");
    build_image(
        &ctd,
        &ImageSpec {
            name: &image,
            files: &[(&uk, &dest)],
            entrypoint: &[&dest],
            cmd: &[],
        },
    );
    let pod = Pod::new(tag, net);
    let oci = common::oci();
    let with_ns = format!("network:{}", pod.netns_path());
    let id = format!("n{ext}");
    let out = ctd.ctr(&[
        "run",
        "-d",
        "--with-ns",
        &with_ns,
        "--runtime",
        "io.containerd.runc.v2",
        "--runc-binary",
        oci.to_str().unwrap(),
        &image,
        &id,
    ]);
    assert_eq!(out.status, 0, "{}", out.output());
    let addr = format!("10.{net}.0.2");
    // The unikernel boots in milliseconds; give it a bounded while.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (ok, _) = pod.ping(&addr, 1);
        if ok {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no ping reply from {addr}: {}",
            ctd.ctr(&["task", "ls"]).output()
        );
    }
    let (ok, out) = pod.ping(&addr, 200);
    assert!(ok, "{out}");
    // It answered as the pod: with eth0's MAC.
    let neigh = Command::new("ip")
        .args(["-n", &pod.node, "neigh", "show", &addr])
        .output()
        .unwrap();
    let neigh = String::from_utf8_lossy(&neigh.stdout).to_lowercase();
    assert!(neigh.contains(&pod.pod_mac()), "{neigh}");

    assert_eq!(ctd.ctr(&["task", "kill", "-s", "SIGKILL", &id]).status, 0);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ctd.ctr(&["task", "ls"]).stdout.contains("STOPPED") {
        assert!(Instant::now() < deadline, "task not stopped");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(ctd.ctr(&["task", "delete", &id]).status, 0);
    assert_eq!(ctd.ctr(&["container", "delete", &id]).status, 0);
    ctd.assert_gone(&id);
    // Nothing left on the pod's side: no tap, no redirect on eth0.
    assert!(!ip(&["-n", &pod.pod, "link", "show", "ctap0"])
        .status
        .success());
    let qdiscs = Command::new("tc")
        .args(["-n", &pod.pod, "qdisc", "show", "dev", "eth0"])
        .output()
        .unwrap();
    let qdiscs = String::from_utf8_lossy(&qdiscs.stdout);
    assert!(!qdiscs.contains("ingress"), "{qdiscs}");
    // And the pod's own stack answers again.
    let (ok, out) = pod.ping(&addr, 1);
    assert!(ok, "{out}");
}

#[test]
fn spt_unikernel_answers_pings_in_the_pod() {
    if !engines_or_skip("spt_unikernel_answers_pings_in_the_pod") {
        return;
    }
    pod_answers_pings("spt", "s", 201);
}

#[test]
fn hvt_unikernel_answers_pings_in_the_pod() {
    if !engines_or_skip("hvt_unikernel_answers_pings_in_the_pod")
        || !kvm_or_skip("hvt_unikernel_answers_pings_in_the_pod")
    {
        return;
    }
    pod_answers_pings("hvt", "h", 202);
}

#[test]
fn a_missing_pod_interface_is_a_clear_error() {
    if !engines_or_skip("a_missing_pod_interface_is_a_clear_error") {
        return;
    }
    let ctd = common::containerd("nonet");
    let uk = unikernel("net", "spt");
    build_image(
        &ctd,
        &ImageSpec {
            name: "corten.test/nonet:latest",
            files: &[(&uk, "/net.spt")],
            entrypoint: &["/net.spt"],
            cmd: &[],
        },
    );
    // A fresh network namespace (ctr's default) has no eth0.
    let out = ctd.run("x1", &[], "corten.test/nonet:latest", &[]);
    assert_ne!(out.status, 0);
    assert!(
        out.output().contains("pod interface \"eth0\""),
        "{}",
        out.output()
    );
    ctd.assert_gone("x1");
}
