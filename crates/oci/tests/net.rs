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

use common::{engines_or_skip, ip, PodNet};
use corten_testutil::kvm_or_skip;

fn pod_answers_pings(ext: &str, tag: &str, net: u8) {
    let ctd = common::containerd(&format!("net{ext}"));
    let image = ctd.unikernel_image("net", ext, &[]);
    let pod = PodNet::new(tag, net);
    let with_ns = format!("network:{}", pod.netns_path());
    let id = format!("n{ext}");
    ctd.run_detached(&id, &["--with-ns", &with_ns], &image);
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
    ctd.wait_stopped(&id, Duration::from_secs(20));
    ctd.remove(&id);
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
    let image = ctd.unikernel_image("net", "spt", &[]);
    // A fresh network namespace (ctr's default) has no eth0.
    let out = ctd.run("x1", &[], &image, &[]);
    assert_ne!(out.status, 0);
    assert!(
        out.output().contains("pod interface \"eth0\""),
        "{}",
        out.output()
    );
    ctd.assert_gone("x1");
}
