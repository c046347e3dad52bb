//! The path kubelet drives: containerd's CRI plugin over gRPC, with a
//! runtime handler `corten` whose BinaryName is corten-oci (harness:
//! corten-testutil's `cri`). Pods get their network from a test-only CNI
//! plugin (tests/fixtures/cni-test-plugin) that joins them to a bridge in
//! a "node" namespace the test made. Their pause containers are handed to
//! runc; the unikernel containers run on Corten's tenders.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap

mod common;

use std::time::{Duration, Instant};

use corten_testutil::cri::v1::*;
use corten_testutil::cri::*;
use corten_testutil::engines::{unikernel, ImageSpec as Image};
use corten_testutil::{kvm_or_skip, TempDir};

#[tokio::test(flavor = "current_thread")]
async fn cri_runs_unikernel_pods() {
    if !cri_or_skip("cri_runs_unikernel_pods") {
        return;
    }
    let cri = Cri::start("pods", 205, &common::oci());
    let tmp = TempDir::new("cri-bins");
    images(&cri, &tmp);
    let mut c = cri.client().await;
    let v = c
        .version(VersionRequest {
            version: "v1".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(v.runtime_api_version, "v1");

    // hello: exit 0, its console in the CRI log format.
    let (pod, ctr) = run_pod(&mut c, &cri, "hello", "corten.test/hello-spt:latest", &[]).await;
    let s = wait_exited(&mut c, &cri, &ctr).await;
    assert_eq!(s.exit_code, 0, "{s:?}");
    let log = std::fs::read_to_string(cri.logs().join("hello/hello.log")).unwrap();
    assert!(
        log.lines()
            .any(|l| l.ends_with(" stdout F Hello, World") && l.contains('T')),
        "{log}"
    );
    remove_pod(&mut c, &pod, &ctr).await;

    // abort: exit 255 as the container's exit code.
    let (pod, ctr) = run_pod(&mut c, &cri, "abort", "corten.test/abort-spt:latest", &[]).await;
    assert_eq!(wait_exited(&mut c, &cri, &ctr).await.exit_code, 255);
    remove_pod(&mut c, &pod, &ctr).await;

    // net: answers pings from the node at the address CNI gave the pod,
    // until StopContainer.
    let (pod, ctr) = run_pod(&mut c, &cri, "net", "corten.test/net-spt:latest", &[]).await;
    let st = c
        .pod_sandbox_status(PodSandboxStatusRequest {
            pod_sandbox_id: pod.clone(),
            verbose: false,
        })
        .await
        .unwrap()
        .into_inner()
        .status
        .unwrap();
    let ip = st.network.unwrap().ip;
    assert!(ip.starts_with(&cri.prefix), "pod ip {ip}");
    let addr: std::net::Ipv4Addr = ip.parse().unwrap();
    // The unikernel boots in milliseconds; give it a bounded while.
    let deadline = Instant::now() + Duration::from_secs(20);
    while corten_testutil::net::ping_from(&cri.node, addr, 1).received != 1 {
        assert!(Instant::now() < deadline, "no ping reply from {addr}");
    }
    let stats = corten_testutil::net::ping_from(&cri.node, addr, 100);
    assert_eq!(stats.received, 100, "{stats:?}");
    let s = status(&mut c, &ctr).await;
    assert_eq!(s.state, ContainerState::ContainerRunning as i32, "{s:?}");
    // UpdateContainerResources (kubelet's CPU manager, in-place resize):
    // a CPU quota is applied; a memory limit below the guest's fixed
    // memory is refused with the reason.
    let update = |linux: LinuxContainerResources| UpdateContainerResourcesRequest {
        container_id: ctr.clone(),
        linux: Some(linux),
        ..Default::default()
    };
    c.update_container_resources(update(LinuxContainerResources {
        cpu_period: 100_000,
        cpu_quota: 50_000,
        ..Default::default()
    }))
    .await
    .unwrap();
    let refused = c
        .update_container_resources(update(LinuxContainerResources {
            memory_limit_in_bytes: 64 << 20,
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert!(
        refused
            .message()
            .contains("the unikernel's memory is fixed"),
        "{refused:?}"
    );
    assert_eq!(
        corten_testutil::net::ping_from(&cri.node, addr, 10).received,
        10
    );
    remove_pod(&mut c, &pod, &ctr).await;

    // Nothing left: no task, no corten-oci state.
    let tasks = cri.ctr(&["task", "ls", "-q"]);
    assert!(tasks.stdout.trim().is_empty(), "{}", tasks.output());
}

#[tokio::test(flavor = "current_thread")]
async fn cri_runs_hvt_pods() {
    if !cri_or_skip("cri_runs_hvt_pods") || !kvm_or_skip("cri_runs_hvt_pods") {
        return;
    }
    let cri = Cri::start("hvt", 206, &common::oci());
    let tmp = TempDir::new("cri-bins");
    images(&cri, &tmp);
    let mut c = cri.client().await;
    let (pod, ctr) = run_pod(&mut c, &cri, "hvt", "corten.test/hello-hvt:latest", &[]).await;
    assert_eq!(wait_exited(&mut c, &cri, &ctr).await.exit_code, 0);
    let log = std::fs::read_to_string(cri.logs().join("hvt/hvt.log")).unwrap();
    assert!(log.contains("stdout F Hello, World"), "{log}");
    remove_pod(&mut c, &pod, &ctr).await;
}

#[tokio::test(flavor = "current_thread")]
async fn cri_attaches_a_host_path_as_a_block_device() {
    if !cri_or_skip("cri_attaches_a_host_path_as_a_block_device") {
        return;
    }
    let cri = Cri::start("blk", 208, &common::oci());
    let uk = unikernel("blk", "spt");
    cri.import(&Image {
        name: "corten.test/blk-spt:latest",
        files: &[(&uk, "/blk.spt")],
        entrypoint: &["/blk.spt"],
        cmd: &[],
    });
    let tmp = TempDir::new("cri-bins");
    let pause = pause_program(&tmp);
    cri.import(&Image {
        name: "corten.test/pause:latest",
        files: &[(&pause, "/pause")],
        entrypoint: &["/pause"],
        cmd: &[],
    });
    let disk = tmp.file("disk.img", 1 << 20, 0);
    let mut c = cri.client().await;
    let name = "blk";
    let config = pod_config(name, &cri.logs());
    std::fs::create_dir_all(cri.logs().join(name)).unwrap();
    let pod = c
        .run_pod_sandbox(RunPodSandboxRequest {
            config: Some(config.clone()),
            runtime_handler: "corten".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .pod_sandbox_id;
    let mut cc = container_config(
        name,
        "corten.test/blk-spt:latest",
        &[("io.corten.block.storage", "/data/disk.img")],
    );
    cc.mounts = vec![Mount {
        container_path: "/data/disk.img".into(),
        host_path: disk.display().to_string(),
        ..Default::default()
    }];
    let ctr = c
        .create_container(CreateContainerRequest {
            pod_sandbox_id: pod.clone(),
            config: Some(cc),
            sandbox_config: Some(config),
        })
        .await
        .unwrap()
        .into_inner()
        .container_id;
    c.start_container(StartContainerRequest {
        container_id: ctr.clone(),
    })
    .await
    .unwrap();
    let s = wait_exited(&mut c, &cri, &ctr).await;
    let log = std::fs::read_to_string(cri.logs().join("blk/blk.log")).unwrap();
    assert_eq!(s.exit_code, 0, "{log}");
    assert!(log.contains("stdout F SUCCESS"), "{log}");
    assert!(std::fs::read(&disk).unwrap().iter().any(|&b| b != 0));
    remove_pod(&mut c, &pod, &ctr).await;
}
