//! Issue 9's goals, measured through the real engines (corten-testutil's
//! `engines` and `cri` harness: a private containerd, images built with
//! umoci and skopeo, a test-only CNI plugin):
//!
//! - start to exit of a hello container: `ctr run --rm` with corten-oci and
//!   hello.spt against `ctr run --rm` with runc and a static C hello, each
//!   image holding one file; interleaved rounds, ratio with its goal;
//! - 50 pods started concurrently through containerd's CRI plugin, each a
//!   network unikernel (a tap each): all must run, and after removal
//!   nothing may be left (shim or tender process, mount, network
//!   namespace, runtime state).

use std::cell::Cell;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use corten_testutil::cri::{self, v1::*, Cri};
use corten_testutil::engines::{build_image, c_hello, unikernel, Containerd, ImageSpec};
use corten_testutil::TempDir;

use crate::inventory::Skip;
use crate::measure::{MeasureError, Probe, Rounds};
use crate::results::{AbsoluteGoal, Comparison, Goal, Metric, Series};

/// `ctr run` of hello.spt on corten-oci at most this many times runc's of
/// a static C hello.
pub const CTR_GOAL: f64 = 1.0;
/// How many pods the CRI run starts at once.
pub const PODS: usize = 50;

const TOOLS: [&str; 6] = ["containerd", "ctr", "runc", "umoci", "skopeo", "gcc"];

fn missing_tools() -> Vec<&'static str> {
    TOOLS.into_iter().filter(|t| which(t).is_none()).collect()
}

/// One `ctr run --rm` (a fresh container id each time), timed in µs.
struct CtrRun<'a> {
    ctd: &'a Containerd,
    runtime: String,
    image: String,
    label: &'static str,
    n: Cell<usize>,
}

impl Probe for CtrRun<'_> {
    fn sample(&mut self) -> Result<f64, MeasureError> {
        let n = self.n.get();
        self.n.set(n + 1);
        let id = format!("{}-{n}", self.label);
        let start = Instant::now();
        let out = self.ctd.ctr(&[
            "run",
            "--rm",
            "--runtime",
            "io.containerd.runc.v2",
            "--runc-binary",
            &self.runtime,
            &self.image,
            &id,
        ]);
        let us = start.elapsed().as_secs_f64() * 1e6;
        if out.status != 0 {
            return Err(MeasureError::Failed {
                what: format!("ctr run {}", self.image),
                reason: out.output(),
            });
        }
        Ok(us)
    }
}

/// The hello container's start-to-exit ratio.
pub fn ctr_start(root: &Path, quick: bool, skips: &mut Vec<Skip>) -> Option<Metric> {
    let title = "container start to exit: ctr run --rm (containerd 1.6, runc v2 shim)";
    let missing = missing_tools();
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 || !missing.is_empty() {
        skips.push(Skip::new(
            title,
            format!("needs root and {missing:?} (cargo xtask test installs them)"),
        ));
        return None;
    }
    let oci = root.join("target/bin/corten-oci");
    if !oci.is_file() {
        skips.push(Skip::new(
            title,
            "target/bin/corten-oci is missing: run `cargo xtask build`",
        ));
        return None;
    }
    eprintln!("corten-bench: {title}");
    let ctd = Containerd::start("bench", &oci);
    let uk = unikernel("hello", "spt");
    build_image(
        &ctd,
        &ImageSpec {
            name: "corten.bench/hello-spt:latest",
            files: &[(&uk, "/hello.spt")],
            entrypoint: &["/hello.spt"],
            cmd: &["Hello_Solo5"],
        },
    );
    let tmp = TempDir::new("bench-c");
    let c = c_hello(&tmp, 0);
    build_image(
        &ctd,
        &ImageSpec {
            name: "corten.bench/c-hello:latest",
            files: &[(&c, "/hello")],
            entrypoint: &["/hello"],
            cmd: &[],
        },
    );
    let runc = which("runc").unwrap_or_else(|| "runc".into());
    let cands = [
        (
            "corten-oci · hello.spt (Corten-built)",
            oci.display().to_string(),
            "corten.bench/hello-spt:latest",
            "oci",
        ),
        (
            "runc · static C hello (gcc -static)",
            runc,
            "corten.bench/c-hello:latest",
            "runc",
        ),
    ];
    let mut probes: Vec<Box<dyn Probe + '_>> = Vec::new();
    let mut series = Vec::new();
    for (label, runtime, image, tag) in &cands {
        series.push(Series {
            label: (*label).to_owned(),
            tender: Some((*label).to_owned()),
            unikernel: Some((*image).to_owned()),
            command: format!(
                "ctr run --rm --runtime io.containerd.runc.v2 --runc-binary {runtime} {image} ID"
            ),
            values: Vec::new(),
            origin: None,
            variant: false,
        });
        probes.push(Box::new(CtrRun {
            ctd: &ctd,
            runtime: runtime.clone(),
            image: (*image).to_owned(),
            label: tag,
            n: Cell::new(0),
        }));
    }
    let rounds = if quick {
        Rounds {
            timed: 5,
            warmup: 1,
        }
    } else {
        Rounds {
            timed: 40,
            warmup: 3,
        }
    };
    let outcomes = crate::measure::interleave(title, &mut probes, rounds);
    drop(probes);
    let mut m = Metric {
        id: "ctr-start".into(),
        title: title.into(),
        unit: "µs".into(),
        method: "Wall-clock time of `ctr run --rm` (create, start, the container's run, \
                 exit, delete; a fresh container id each run) in a private containerd, \
                 both images a single static file; rounds interleaved."
            .into(),
        rounds: rounds.timed,
        series: Vec::new(),
        failures: Vec::new(),
        comparisons: Vec::new(),
    };
    for (mut s, o) in series.into_iter().zip(outcomes) {
        match o {
            Ok(v) => {
                s.values = v;
                m.series.push(s);
            }
            Err(e) => m.failures.push((s.label, e.to_string())),
        }
    }
    if let [oci, runc] = &m.series[..] {
        let goal = Goal {
            max_ratio: CTR_GOAL,
            text: format!(
                "ctr run of hello.spt on corten-oci <= {CTR_GOAL}x runc's of a static C hello"
            ),
        };
        m.comparisons.push(Comparison::new(oci, runc, Some(goal)));
    }
    Some(m)
}

fn which(cmd: &str) -> Option<String> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(cmd))
            .find(|p| p.is_file())
            .map(|p| p.display().to_string())
    })
}

/// What a removed pod may leave behind: everything below that was not
/// there before the pods (`before`, from the same function).
fn leftovers(cri: &Cri, before: &[String]) -> Vec<String> {
    let mut now = present(cri);
    now.retain(|x| !before.contains(x));
    now
}

/// Tasks, runtime state, shim and tender processes, mounts and CNI
/// network namespaces of `cri`'s containerd.
fn present(cri: &Cri) -> Vec<String> {
    let mut left = Vec::new();
    let tasks = cri.ctr(&["task", "ls", "-q"]).stdout;
    left.extend(tasks.lines().map(|t| format!("task {t}")));
    let state = Path::new("/run/containerd/runc/k8s.io");
    if let Ok(d) = std::fs::read_dir(state) {
        left.extend(
            d.flatten()
                .map(|e| format!("runtime state {}", e.path().display())),
        );
    }
    let sock = cri.dir.path().join("c.sock").display().to_string();
    let shims = Command::new("pgrep")
        .args(["-f", &format!("containerd-shim.*{sock}")])
        .output();
    if let Ok(o) = shims {
        left.extend(
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .map(|p| format!("shim pid {p}")),
        );
    }
    let tenders = Command::new("pgrep")
        .args(["-f", "/.corten/corten-"])
        .output();
    if let Ok(o) = tenders {
        left.extend(
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .map(|p| format!("tender pid {p}")),
        );
    }
    let prefix = cri.dir.path().join("state").display().to_string();
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    left.extend(
        mounts
            .lines()
            .filter_map(|l| l.split_whitespace().nth(4))
            .filter(|m| m.starts_with(&prefix))
            .map(|m| format!("mount {m}")),
    );
    let netns = Command::new("ip").args(["netns", "list"]).output();
    if let Ok(o) = netns {
        left.extend(
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .filter(|l| l.starts_with("cni-"))
                .map(|l| format!("netns {l}")),
        );
    }
    left
}

/// 50 network-unikernel pods at once through CRI; goals on failures and
/// leftovers, the time until all run in the goal's text.
pub fn cri_scale(root: &Path, skips: &mut Vec<Skip>, absolute: &mut Vec<AbsoluteGoal>) {
    let what = format!("{PODS} pods started concurrently through CRI");
    let missing = missing_tools();
    let oci = root.join("target/bin/corten-oci");
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0
        || !missing.is_empty()
        || !Path::new(cri::LOOPBACK).is_file()
        || !oci.is_file()
    {
        skips.push(Skip::new(
            &what,
            format!(
                "needs root, {missing:?}, {} and target/bin/corten-oci",
                cri::LOOPBACK
            ),
        ));
        return;
    }
    eprintln!("corten-bench: {what}");
    let c = Cri::start("bench", 207, &oci);
    let tmp = TempDir::new("bench-cri");
    cri::images(&c, &tmp);
    let before = present(&c);
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            skips.push(Skip::new(&what, format!("no tokio runtime: {e}")));
            return;
        }
    };
    let (failed, seconds) = rt.block_on(async {
        let started = Instant::now();
        let runs = (0..PODS).map(|i| {
            let c = &c;
            async move {
                let mut client = c.client().await;
                let name = format!("scale{i}");
                let config = cri::pod_config(&name, &c.logs());
                std::fs::create_dir_all(c.logs().join(&name)).ok()?;
                let pod = client
                    .run_pod_sandbox(RunPodSandboxRequest {
                        config: Some(config.clone()),
                        runtime_handler: "corten".into(),
                    })
                    .await
                    .ok()?
                    .into_inner()
                    .pod_sandbox_id;
                let ctr = client
                    .create_container(CreateContainerRequest {
                        pod_sandbox_id: pod.clone(),
                        config: Some(cri::container_config(
                            &name,
                            "corten.test/net-spt:latest",
                            &[],
                        )),
                        sandbox_config: Some(config),
                    })
                    .await
                    .ok()?
                    .into_inner()
                    .container_id;
                client
                    .start_container(StartContainerRequest {
                        container_id: ctr.clone(),
                    })
                    .await
                    .ok()?;
                let running = cri::status(&mut client, &ctr).await.state
                    == ContainerState::ContainerRunning as i32;
                running.then_some((pod, ctr))
            }
        });
        let started_pods = join_all(runs).await;
        let seconds = started.elapsed().as_secs_f64();
        let failed = started_pods.iter().filter(|p| p.is_none()).count();
        let mut client = c.client().await;
        for (pod, ctr) in started_pods.into_iter().flatten() {
            cri::remove_pod(&mut client, &pod, &ctr).await;
        }
        (failed, seconds)
    });
    let left = leftovers(&c, &before);
    absolute.push(AbsoluteGoal {
        text: format!(
            "{what}: pods that did not reach Running (all {PODS} started in {seconds:.1} s) = 0"
        ),
        measured: failed as f64,
        unit: "pods".into(),
        max: 0.0,
    });
    absolute.push(AbsoluteGoal {
        text: format!(
            "{what}: left behind after removal (processes, mounts, netns, runtime state) = 0{}",
            if left.is_empty() {
                String::new()
            } else {
                format!(": {}", left.join(", "))
            }
        ),
        measured: left.len() as f64,
        unit: "items".into(),
        max: 0.0,
    });
}

/// Polls every future on this thread until all are done: each awaits
/// gRPC I/O, so they make progress together (the pods start concurrently).
async fn join_all<F: std::future::Future>(futs: impl Iterator<Item = F>) -> Vec<F::Output> {
    use std::task::Poll;
    let mut futs: Vec<_> = futs.map(Box::pin).collect();
    let mut results: Vec<Option<F::Output>> = futs.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, r) in futs.iter_mut().zip(results.iter_mut()) {
            if r.is_none() {
                match f.as_mut().poll(cx) {
                    Poll::Ready(v) => *r = Some(v),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    results.into_iter().flatten().collect()
}
