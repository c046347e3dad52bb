//! Real container engines, for corten-oci's tests and corten-bench: a
//! private containerd (its own root, state, socket and containerd
//! namespace) started and stopped by its user, and unikernel images built
//! with umoci and skopeo and imported with `ctr image import` (or loaded by
//! podman). Nothing of a system containerd is touched; no network is used.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::process::eventually;
use crate::{wait_with_timeout, workspace, Outcome, TempDir};

/// Host programs the engine tests need (Debian packages: containerd,
/// runc, umoci, skopeo; `cargo xtask test` installs them).
const TOOLS: [&str; 5] = ["containerd", "ctr", "runc", "umoci", "skopeo"];

fn on_path(cmd: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(cmd).is_file()))
        .unwrap_or(false)
}

/// Whether the engine tests can run here; says why not. With
/// CORTEN_REQUIRE_ENGINES=1 (set by `cargo xtask test`, which installs the
/// engines) a missing piece fails the test instead.
pub fn engines_or_skip(what: &str) -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let missing: Vec<&str> = TOOLS.iter().copied().filter(|t| !on_path(t)).collect();
    let why = if !root {
        Some("needs root (containerd, namespaces, cgroups)".to_owned())
    } else if !missing.is_empty() {
        Some(format!("{} not installed", missing.join(", ")))
    } else {
        None
    };
    let Some(why) = why else {
        return true;
    };
    assert!(
        std::env::var("CORTEN_REQUIRE_ENGINES").map_or(true, |v| v != "1"),
        "{what}: {why}, but CORTEN_REQUIRE_ENGINES=1"
    );
    crate::skip_note(
        "engines",
        &format!("container engine tests ({what} and others): {why}; set CORTEN_REQUIRE_ENGINES=1 to fail instead"),
    );
    false
}

/// The shipped tenders corten-oci runs (`cargo xtask build`).
pub fn tender_dir() -> PathBuf {
    let d = workspace().join("target/bin");
    assert!(
        d.join("corten-spt").is_file(),
        "{}: run `cargo xtask build` first",
        d.display()
    );
    d
}

/// A containerd daemon with its root, state and sockets in `dir`, and the
/// rest of its configuration from its user; stopped on drop with its shims
/// and every mount below `dir`.
pub struct Daemon {
    dir: PathBuf,
    child: Option<Child>,
}

impl Daemon {
    /// Starts containerd with `extra` appended to the configuration and
    /// waits (bounded) until it answers.
    pub fn start(dir: &Path, extra: &str) -> Daemon {
        let config = dir.join("config.toml");
        std::fs::write(
            &config,
            format!(
                "version = 2\nroot = \"{0}/root\"\nstate = \"{0}/state\"\n\
                 [grpc]\n  address = \"{0}/c.sock\"\n[ttrpc]\n  address = \"{0}/c.sock.ttrpc\"\n\
                 {extra}",
                dir.display()
            ),
        )
        .unwrap();
        let log = std::fs::File::create(dir.join("containerd.log")).unwrap();
        let child = Command::new("containerd")
            .arg("--config")
            .arg(&config)
            .env("CORTEN_OCI_TENDER_DIR", tender_dir())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("containerd");
        let d = Daemon {
            dir: dir.to_owned(),
            child: Some(child),
        };
        eventually(
            Duration::from_secs(20),
            Duration::from_millis(100),
            || {
                d.ctr("default", &["version"], Duration::from_secs(10))
                    .status
                    == 0
            },
            || format!("containerd did not come up: {}", d.log()),
        );
        d
    }

    pub fn address(&self) -> PathBuf {
        self.dir.join("c.sock")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("containerd.log")).unwrap_or_default()
    }

    /// `ctr --address A -n NS ARGS`, bounded in time.
    pub fn ctr(&self, ns: &str, args: &[&str], timeout: Duration) -> Outcome {
        let mut cmd = Command::new("ctr");
        cmd.arg("--address")
            .arg(self.address())
            .args(["-n", ns])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        wait_with_timeout(cmd.spawn().unwrap(), timeout)
    }

    /// Kills and deletes every task of namespace `ns` (what a failed test
    /// left).
    pub fn kill_tasks(&self, ns: &str) {
        let t = Duration::from_secs(60);
        for task in self.ctr(ns, &["task", "ls", "-q"], t).stdout.lines() {
            self.ctr(ns, &["task", "kill", "-s", "SIGKILL", task], t);
            self.ctr(ns, &["task", "delete", "--force", task], t);
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SAFETY: signals our own child.
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
            let _ = wait_with_timeout_child(&mut child, Duration::from_secs(10));
        }
        let addr = self.address().display().to_string();
        let _ = Command::new("pkill").args(["-9", "-f", &addr]).status();
        unmount_below(&self.dir);
    }
}

/// A private containerd for `ctr`, in its own containerd namespace.
pub struct Containerd {
    // Dropped first: the daemon goes before its directory.
    daemon: Daemon,
    pub dir: TempDir,
    /// The runtime `run` passes as `--runc-binary`.
    pub oci: PathBuf,
    /// The containerd namespace of this test (so shims' state under
    /// /run/containerd/runc/NS is this test's alone).
    pub ns: String,
}

impl Containerd {
    pub fn start(tag: &str, oci: &Path) -> Containerd {
        let dir = TempDir::new(&format!("ctd-{tag}"));
        let daemon = Daemon::start(dir.path(), "[debug]\n  level = \"warn\"\n");
        Containerd {
            daemon,
            dir,
            oci: oci.to_owned(),
            ns: format!("corten-test-{}-{tag}", std::process::id()),
        }
    }

    pub fn address(&self) -> PathBuf {
        self.daemon.address()
    }

    pub fn log(&self) -> String {
        self.daemon.log()
    }

    /// `ctr --address A -n NS ARGS`, bounded in time.
    pub fn ctr(&self, args: &[&str]) -> Outcome {
        self.ctr_timeout(args, Duration::from_secs(60))
    }

    pub fn ctr_timeout(&self, args: &[&str], timeout: Duration) -> Outcome {
        self.daemon.ctr(&self.ns, args, timeout)
    }

    /// `ctr run MODE` (`--rm` or `-d`) arguments for `image` as `id`,
    /// corten-oci as the runc binary.
    fn run_args<'a>(
        &'a self,
        mode: &'a str,
        extra: &[&'a str],
        image: &'a str,
        id: &'a str,
    ) -> Vec<&'a str> {
        let mut a = vec![
            "run",
            mode,
            "--runtime",
            "io.containerd.runc.v2",
            "--runc-binary",
        ];
        a.push(self.oci.to_str().unwrap());
        a.extend_from_slice(extra);
        a.push(image);
        a.push(id);
        a
    }

    /// `ctr run --rm` of `image` with corten-oci as the runc binary.
    pub fn run(&self, id: &str, extra: &[&str], image: &str, args: &[&str]) -> Outcome {
        let mut a = self.run_args("--rm", extra, image, id);
        a.extend_from_slice(args);
        self.ctr(&a)
    }

    /// Imports test unikernel NAME.EXT as `corten.test/NAME-EXT:latest`,
    /// the unikernel at `/NAME.EXT` its entrypoint and `cmd` its CMD;
    /// returns the image's name.
    pub fn unikernel_image(&self, name: &str, ext: &str, cmd: &[&str]) -> String {
        let image = format!("corten.test/{name}-{ext}:latest");
        let uk = unikernel(name, ext);
        let dest = format!("/{name}.{ext}");
        build_image(
            self,
            &ImageSpec {
                name: &image,
                files: &[(&uk, &dest)],
                entrypoint: &[&dest],
                cmd,
            },
        );
        image
    }

    /// `ctr run -d` of `image` as `id` with corten-oci; must succeed.
    pub fn run_detached(&self, id: &str, extra: &[&str], image: &str) {
        let out = self.ctr(&self.run_args("-d", extra, image, id));
        assert_eq!(out.status, 0, "ctr run -d {id}: {}", out.output());
    }

    /// Waits (bounded by `timeout`) until task `id` is stopped.
    pub fn wait_stopped(&self, id: &str, timeout: Duration) {
        self.wait_task(id, "STOPPED", timeout);
    }

    /// Waits (bounded) until task `id` runs.
    pub fn wait_running(&self, id: &str, timeout: Duration) {
        self.wait_task(id, "RUNNING", timeout);
    }

    /// Waits (bounded) until `ctr task ls` shows task `id` as `status`.
    pub fn wait_task(&self, id: &str, status: &str, timeout: Duration) {
        let is = || {
            self.ctr(&["task", "ls"])
                .stdout
                .lines()
                .any(|l| l.split_whitespace().next() == Some(id) && l.contains(status))
        };
        eventually(timeout, Duration::from_millis(50), is, || {
            format!(
                "task {id} not {status}: {}",
                self.ctr(&["task", "ls"]).output()
            )
        });
    }

    /// Deletes stopped task `id` and its container, then checks nothing of
    /// it is left.
    pub fn remove(&self, id: &str) {
        let del = self.ctr(&["task", "delete", id]);
        assert_eq!(del.status, 0, "ctr task delete {id}: {}", del.output());
        let out = self.ctr(&["container", "delete", id]);
        assert_eq!(out.status, 0, "ctr container delete {id}: {}", out.output());
        self.assert_gone(id);
    }

    /// `ctr run --rm` of `image` as `id`, started in the background: the
    /// caller acts on the task, then waits for `ctr`'s exit status.
    pub fn spawn_run(&self, id: &str, image: &str) -> Child {
        Command::new("ctr")
            .arg("--address")
            .arg(self.address())
            .args(["-n", &self.ns])
            .args(self.run_args("--rm", &[], image, id))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// The runtime's state directory of this namespace.
    pub fn runtime_root(&self) -> PathBuf {
        PathBuf::from("/run/containerd/runc").join(&self.ns)
    }

    /// Asserts nothing of container `id` is left: no state, no cgroup, no
    /// process running its bundle.
    pub fn assert_gone(&self, id: &str) {
        let state = self.runtime_root().join(id);
        assert!(!state.exists(), "{} is left behind", state.display());
        for c in ["memory", "pids", "cpu"] {
            let cg = Path::new("/sys/fs/cgroup").join(c).join(&self.ns).join(id);
            assert!(!cg.exists(), "{} is left behind", cg.display());
        }
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        // Whatever a failed test left: tasks, containers (the daemon, its
        // shims and mounts go with `daemon`).
        self.daemon.kill_tasks(&self.ns);
        for c in self.ctr(&["container", "ls", "-q"]).stdout.lines() {
            self.ctr(&["container", "delete", c]);
        }
        let _ = std::fs::remove_dir_all(self.runtime_root());
        // The namespace's parent cgroup (its containers' are gone).
        if let Ok(hierarchies) = std::fs::read_dir("/sys/fs/cgroup") {
            for h in hierarchies.flatten() {
                let _ = std::fs::remove_dir(h.path().join(&self.ns));
            }
        }
    }
}

fn wait_with_timeout_child(
    child: &mut Child,
    timeout: Duration,
) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(Some(s)) = child.try_wait() {
            return Some(s);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            return child.wait().ok();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Detaches every mount below `dir` (snapshots a crashed test left).
pub fn unmount_below(dir: &Path) {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let prefix = dir.display().to_string();
    let mut points: Vec<&str> = info
        .lines()
        .filter_map(|l| l.split_whitespace().nth(4))
        .filter(|m| m.starts_with(&prefix))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for p in points {
        let c = std::ffi::CString::new(p).unwrap();
        // SAFETY: umount2 of a NUL-terminated path.
        unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
    }
}

/// An OCI image named `name` with `files` ((host file, path in image)),
/// built with umoci and turned into a docker-archive with skopeo (ctr
/// imports those under their full name; podman loads them).
pub struct ImageSpec<'a> {
    pub name: &'a str,
    pub files: &'a [(&'a Path, &'a str)],
    pub entrypoint: &'a [&'a str],
    pub cmd: &'a [&'a str],
}

fn run_ok(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Builds `spec` into a docker-archive; returns it (in `work`).
pub fn build_archive(work: &TempDir, spec: &ImageSpec<'_>) -> PathBuf {
    let layout = work.path().join("oci");
    let layout_s = layout.display().to_string();
    run_ok(Command::new("umoci").args(["init", "--layout", &layout_s]));
    let img = format!("{layout_s}:img");
    run_ok(Command::new("umoci").args(["new", "--image", &img]));
    let tree = work.path().join("tree");
    for (src, dest) in spec.files {
        let to = tree.join(dest.trim_start_matches('/'));
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(src, &to).unwrap();
    }
    for top in std::fs::read_dir(&tree).unwrap() {
        let top = top.unwrap().path();
        let dest = format!("/{}", top.file_name().unwrap().to_string_lossy());
        run_ok(
            Command::new("umoci")
                .args(["insert", "--image", &img])
                .arg(&top)
                .arg(&dest),
        );
    }
    let mut config = Command::new("umoci");
    config.args(["config", "--image", &img]);
    for e in spec.entrypoint {
        config.arg(format!("--config.entrypoint={e}"));
    }
    for c in spec.cmd {
        config.arg(format!("--config.cmd={c}"));
    }
    run_ok(&mut config);
    let archive = work.path().join("img.tar");
    run_ok(
        Command::new("skopeo")
            .args(["copy", "--quiet"])
            .arg(format!("oci:{img}"))
            .arg(format!(
                "docker-archive:{}:{}",
                archive.display(),
                spec.name
            )),
    );
    archive
}

/// Builds `spec` and imports it into `ctd`.
pub fn build_image(ctd: &Containerd, spec: &ImageSpec<'_>) {
    let work = TempDir::new("image");
    let archive = build_archive(&work, spec);
    let out = ctd.ctr(&["image", "import", archive.to_str().unwrap()]);
    assert_eq!(out.status, 0, "ctr image import: {}", out.output());
}

/// Test unikernel `name` for tender `ext` ("spt", "hvt"), from `cargo
/// xtask build`.
pub fn unikernel(name: &str, ext: &str) -> PathBuf {
    crate::unikernels::unikernel(crate::Source::Corten, name, ext).unwrap()
}

/// A static C hello world that exits with `status` (for the bundles
/// corten-oci hands to runc, and the bench's baseline).
pub fn c_hello(dir: &TempDir, status: u8) -> PathBuf {
    let src = dir.path().join("hello.c");
    std::fs::write(
        &src,
        format!(
            "#include <stdio.h>\nint main(void) {{ puts(\"hello from C\"); return {status}; }}\n"
        ),
    )
    .unwrap();
    let bin = dir.path().join("hello");
    run_ok(
        Command::new("gcc")
            .args(["-static", "-O2", "-o"])
            .arg(&bin)
            .arg(&src),
    );
    bin
}

/// A node and a pod network namespace joined by a veth pair, the pod's
/// end named eth0 (as CNI would leave it); removed on drop.
pub struct PodNet {
    pub node: String,
    pub pod: String,
}

pub fn ip(args: &[&str]) -> std::process::Output {
    Command::new("ip").args(args).output().unwrap()
}

pub fn ip_ok(args: &[&str]) {
    let out = ip(args);
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl PodNet {
    /// Node 10.N.0.1/24, pod eth0 10.N.0.2/24 with a default route via the node.
    pub fn new(tag: &str, net: u8) -> PodNet {
        let id = std::process::id() % 100_000;
        let p = PodNet {
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

    pub fn netns_path(&self) -> String {
        format!("/var/run/netns/{}", self.pod)
    }

    /// Pings `addr` from the node with corten-testutil's pinger (one
    /// request in flight): (all answered, the counts).
    pub fn ping(&self, addr: &str, count: usize) -> (bool, String) {
        let stats = crate::net::ping_from(&self.node, addr.parse().unwrap(), count);
        (
            stats.received == count && stats.corrupted == 0,
            format!("{stats:?}"),
        )
    }

    pub fn pod_mac(&self) -> String {
        let out = ip(&["-n", &self.pod, "-j", "link", "show", "eth0"]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v[0]["address"].as_str().unwrap().to_owned()
    }
}

impl Drop for PodNet {
    fn drop(&mut self) {
        let _ = ip(&["netns", "del", &self.pod]);
        let _ = ip(&["netns", "del", &self.node]);
    }
}
