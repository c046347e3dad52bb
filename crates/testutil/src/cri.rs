//! containerd's CRI plugin, the path kubelet drives, for corten-oci's
//! tests and corten-bench: containerd with a `corten` runtime handler
//! (BinaryName: corten-oci), a test-only CNI plugin
//! (crates/oci/tests/fixtures/cni-test-plugin) that joins pods to a bridge
//! in a "node" network namespace made here, a local pause image, and a CRI
//! v1 client over gRPC (k8s-cri). No kubelet, no registry, no real network.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use hyper_util::rt::TokioIo;
use k8s_cri::v1::runtime_service_client::RuntimeServiceClient;
use k8s_cri::v1::*;
use tonic::transport::{Channel, Endpoint, Uri};

use crate::engines::{build_archive, engines_or_skip, unikernel, Daemon, ImageSpec};
use crate::TempDir;

pub use k8s_cri::v1;

const NS: &str = "k8s.io";
/// From Debian's containernetworking-plugins.
pub const LOOPBACK: &str = "/usr/lib/cni/loopback";

/// containerd with its CRI plugin, a `corten` handler, the test CNI
/// plugin, a local pause image, and a node namespace with a bridge.
pub struct Cri {
    // Dropped first: the daemon goes before its directory.
    daemon: Daemon,
    pub dir: TempDir,
    pub node: String,
    pub prefix: String,
}

pub fn sh(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

impl Cri {
    pub fn start(tag: &str, net: u8, oci: &Path) -> Cri {
        let dir = TempDir::new(&format!("cri-{tag}"));
        let d = dir.path().to_owned();
        let node = format!("cn{}{tag}", std::process::id() % 100_000);
        let prefix = format!("10.{net}.0");
        sh(Command::new("ip").args(["netns", "add", &node]));
        sh(Command::new("ip").args(["-n", &node, "link", "add", "br0", "type", "bridge"]));
        sh(Command::new("ip").args([
            "-n",
            &node,
            "addr",
            "add",
            &format!("{prefix}.1/24"),
            "dev",
            "br0",
        ]));
        sh(Command::new("ip").args(["-n", &node, "link", "set", "br0", "up"]));
        // CNI: the plugin and its configuration.
        let bin = d.join("cni-bin");
        let conf = d.join("cni-conf");
        let cni_state = d.join("cni-state");
        for p in [&bin, &conf, &cni_state] {
            std::fs::create_dir_all(p).unwrap();
        }
        let fixture = crate::workspace().join("crates/oci/tests/fixtures/cni-test-plugin");
        std::fs::copy(&fixture, bin.join("corten-test")).unwrap();
        // containerd also runs CNI's loopback plugin (it only brings up lo
        // in the pod's namespace).
        std::fs::copy(LOOPBACK, bin.join("loopback")).unwrap();
        std::fs::write(
            conf.join("10-corten-test.conflist"),
            format!(
                r#"{{"cniVersion": "0.4.0", "name": "corten-test", "plugins": [{{"type": "corten-test", "node_netns": "{node}", "subnet_prefix": "{prefix}", "state_dir": "{}"}}]}}"#,
                cni_state.display()
            ),
        )
        .unwrap();
        let extra = format!(
            r#"[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "corten.test/pause:latest"
  restrict_oom_score_adj = true
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{bin}"
    conf_dir = "{conf}"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.corten]
      runtime_type = "io.containerd.runc.v2"
      pod_annotations = ["io.corten.*"]
      container_annotations = ["io.corten.*"]
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.corten.options]
        BinaryName = "{oci}"
"#,
            bin = bin.display(),
            conf = conf.display(),
            oci = oci.display(),
        );
        let daemon = Daemon::start(&d, &extra);
        Cri {
            daemon,
            dir,
            node,
            prefix,
        }
    }

    pub fn log(&self) -> String {
        self.daemon.log()
    }

    pub fn ctr(&self, args: &[&str]) -> crate::Outcome {
        self.daemon.ctr(NS, args, Duration::from_secs(60))
    }

    pub fn import(&self, spec: &ImageSpec<'_>) {
        let work = TempDir::new("cri-image");
        let archive = build_archive(&work, spec);
        let out = self.ctr(&["image", "import", archive.to_str().unwrap()]);
        assert_eq!(out.status, 0, "{}", out.output());
    }

    pub async fn client(&self) -> RuntimeServiceClient<Channel> {
        let sock = self.daemon.address();
        let channel = Endpoint::try_from("http://[::]:0")
            .unwrap()
            .connect_with_connector(tower::service_fn(move |_: Uri| {
                let sock = sock.clone();
                async move {
                    Ok::<_, std::io::Error>(TokioIo::new(
                        tokio::net::UnixStream::connect(sock).await?,
                    ))
                }
            }))
            .await
            .unwrap();
        RuntimeServiceClient::new(channel)
    }

    pub fn logs(&self) -> PathBuf {
        self.dir.path().join("pods")
    }
}

impl Drop for Cri {
    fn drop(&mut self) {
        // What a failed test left (the daemon, shims and mounts go with
        // `daemon`), then the node namespace.
        self.daemon.kill_tasks(NS);
        let _ = Command::new("ip")
            .args(["netns", "del", &self.node])
            .status();
    }
}

pub fn pod_config(name: &str, logs: &Path) -> PodSandboxConfig {
    PodSandboxConfig {
        metadata: Some(PodSandboxMetadata {
            name: name.to_owned(),
            uid: format!("uid-{name}-{}", std::process::id()),
            namespace: "default".to_owned(),
            attempt: 0,
        }),
        log_directory: logs.join(name).display().to_string(),
        linux: Some(LinuxPodSandboxConfig::default()),
        ..Default::default()
    }
}

pub fn container_config(name: &str, image: &str, annotations: &[(&str, &str)]) -> ContainerConfig {
    ContainerConfig {
        metadata: Some(ContainerMetadata {
            name: name.to_owned(),
            attempt: 0,
        }),
        image: Some(ImageSpec_ {
            image: image.to_owned(),
            ..Default::default()
        }),
        log_path: format!("{name}.log"),
        annotations: annotations
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<HashMap<_, _>>(),
        linux: Some(LinuxContainerConfig::default()),
        ..Default::default()
    }
}

pub type ImageSpec_ = k8s_cri::v1::ImageSpec;

/// Runs a pod with one container of `image` on handler `corten`; returns
/// (pod id, container id).
pub async fn run_pod(
    c: &mut RuntimeServiceClient<Channel>,
    cri: &Cri,
    name: &str,
    image: &str,
    annotations: &[(&str, &str)],
) -> (String, String) {
    let config = pod_config(name, &cri.logs());
    std::fs::create_dir_all(cri.logs().join(name)).unwrap();
    let pod = c
        .run_pod_sandbox(RunPodSandboxRequest {
            config: Some(config.clone()),
            runtime_handler: "corten".to_owned(),
        })
        .await
        .unwrap_or_else(|e| panic!("RunPodSandbox {name}: {e}\n{}", cri.log()))
        .into_inner()
        .pod_sandbox_id;
    let ctr = c
        .create_container(CreateContainerRequest {
            pod_sandbox_id: pod.clone(),
            config: Some(container_config(name, image, annotations)),
            sandbox_config: Some(config),
        })
        .await
        .unwrap_or_else(|e| panic!("CreateContainer {name}: {e}"))
        .into_inner()
        .container_id;
    c.start_container(StartContainerRequest {
        container_id: ctr.clone(),
    })
    .await
    .unwrap_or_else(|e| panic!("StartContainer {name}: {e}"));
    (pod, ctr)
}

pub async fn status(c: &mut RuntimeServiceClient<Channel>, id: &str) -> ContainerStatus {
    c.container_status(ContainerStatusRequest {
        container_id: id.to_owned(),
        verbose: false,
    })
    .await
    .unwrap()
    .into_inner()
    .status
    .unwrap()
}

pub async fn wait_exited(
    c: &mut RuntimeServiceClient<Channel>,
    cri: &Cri,
    id: &str,
) -> ContainerStatus {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let s = status(c, id).await;
        if s.state == ContainerState::ContainerExited as i32 {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "container {id} did not exit: {s:?}\ncontainerd's log ends:\n{}",
            cri.log()
                .lines()
                .rev()
                .take(40)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join("\n")
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub async fn remove_pod(c: &mut RuntimeServiceClient<Channel>, pod: &str, ctr: &str) {
    c.stop_container(StopContainerRequest {
        container_id: ctr.to_owned(),
        timeout: 1,
    })
    .await
    .unwrap();
    c.remove_container(RemoveContainerRequest {
        container_id: ctr.to_owned(),
    })
    .await
    .unwrap();
    c.stop_pod_sandbox(StopPodSandboxRequest {
        pod_sandbox_id: pod.to_owned(),
    })
    .await
    .unwrap();
    c.remove_pod_sandbox(RemovePodSandboxRequest {
        pod_sandbox_id: pod.to_owned(),
    })
    .await
    .unwrap();
}

pub fn images(cri: &Cri, tmp: &TempDir) {
    let pause = pause_program(tmp);
    cri.import(&ImageSpec {
        name: "corten.test/pause:latest",
        files: &[(&pause, "/pause")],
        entrypoint: &["/pause"],
        cmd: &[],
    });
    for (name, ext) in [
        ("hello", "spt"),
        ("abort", "spt"),
        ("net", "spt"),
        ("hello", "hvt"),
    ] {
        let uk = unikernel(name, ext);
        let dest = format!("/{name}.{ext}");
        let image = format!("corten.test/{name}-{ext}:latest");
        cri.import(&ImageSpec {
            name: &image,
            files: &[(&uk, &dest)],
            entrypoint: &[&dest],
            cmd: &[],
        });
    }
}

/// The pause program of tests/fixtures/pause.c, static.
pub fn pause_program(tmp: &TempDir) -> PathBuf {
    let bin = tmp.path().join("pause");
    sh(Command::new("gcc")
        .args(["-static", "-O2", "-o"])
        .arg(&bin)
        .arg(crate::workspace().join("crates/oci/tests/fixtures/pause.c")));
    bin
}

/// The engines, gcc (for the pause program) and CNI's loopback plugin.
pub fn cri_or_skip(what: &str) -> bool {
    if !engines_or_skip(what) {
        return false;
    }
    let missing: Vec<&str> = [LOOPBACK, "/usr/bin/gcc"]
        .into_iter()
        .filter(|p| !Path::new(p).is_file())
        .collect();
    if missing.is_empty() {
        return true;
    }
    assert!(
        std::env::var("CORTEN_REQUIRE_ENGINES").map_or(true, |v| v != "1"),
        "{what}: {missing:?} missing, but CORTEN_REQUIRE_ENGINES=1"
    );
    crate::skip_note("cri", &format!("{what}: {missing:?} missing"));
    false
}
