//! corten-oci's own life-cycle commands, without an engine, as a person
//! types them: `run` (foreground: output, exit status, signals forwarded,
//! deleted afterwards; `--detach`; `--keep`), `list` in its three forms,
//! `pause`/`resume` (the cgroup freezer: a paused unikernel gets no CPU
//! time), `exec` refused with a reason, and `delete --force` of a paused
//! container. Needs root (namespaces, cgroups).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use corten_testutil::process::eventually;
use corten_testutil::{is_root_or_skip, wait_with_timeout, Outcome, TempDir};

/// A bundle running unikernel `name` with `args`, in its own pid, mount,
/// ipc and uts namespaces and the cgroup `cgroup`.
struct Bundle {
    dir: TempDir,
    root: PathBuf,
    cgroup: String,
}

impl Bundle {
    fn new(tag: &str, name: &str, args: &[&str], terminal: bool) -> Bundle {
        let dir = TempDir::new(tag);
        let b = dir.path().join("bundle");
        std::fs::create_dir_all(b.join("rootfs")).unwrap();
        std::fs::copy(
            common::unikernel(name, "spt"),
            b.join(format!("rootfs/{name}.spt")),
        )
        .unwrap();
        let cgroup = format!("/corten-test-run/{tag}-{}", std::process::id());
        let mut argv = vec![format!("/{name}.spt")];
        argv.extend(args.iter().map(|a| a.to_string()));
        let config = serde_json::json!({
            "ociVersion": "1.0.2",
            "root": {"path": "rootfs"},
            "process": {"terminal": terminal, "args": argv, "cwd": "/",
                        "user": {"uid": 0, "gid": 0}},
            "linux": {
                "namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "ipc"}, {"type": "uts"}],
                "cgroupsPath": cgroup,
            }
        });
        std::fs::write(b.join("config.json"), config.to_string()).unwrap();
        let root = dir.path().join("state");
        Bundle { dir, root, cgroup }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(common::oci());
        cmd.arg("--root")
            .arg(&self.root)
            .args(args)
            .env("CORTEN_OCI_RUNC", "/nonexistent/runc")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    fn oci(&self, args: &[&str]) -> Outcome {
        wait_with_timeout(self.command(args).spawn().unwrap(), Duration::from_secs(30))
    }

    /// `run [extra] --bundle B id`, not waited for.
    fn spawn_run(&self, extra: &[&str], id: &str) -> Child {
        let bundle = self.dir.path().join("bundle");
        let mut args = vec!["run"];
        args.extend(extra);
        args.extend(["--bundle", bundle.to_str().unwrap(), id]);
        self.command(&args).spawn().unwrap()
    }

    /// `run --detach`: the container keeps run's stdio, so run's output
    /// goes to files, not to pipes the test would wait on.
    fn run_detached(&self, id: &str) {
        let bundle = self.dir.path().join("bundle");
        let log = self.dir.path().join(format!("{id}.out"));
        let mut cmd = self.command(&["run", "--detach", "--bundle", bundle.to_str().unwrap(), id]);
        cmd.stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::create(&log).unwrap());
        let out = wait_with_timeout(cmd.spawn().unwrap(), Duration::from_secs(30));
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        assert_eq!(out.status, 0, "run --detach {id}: {text}");
    }

    fn status(&self, id: &str) -> String {
        let out = self.oci(&["state", id]);
        assert_eq!(out.status, 0, "state {id}: {}", out.output());
        let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        v["status"].as_str().unwrap().to_owned()
    }

    /// The container's cgroup directories that exist on this host.
    fn cgroup_dirs(&self) -> Vec<PathBuf> {
        let rel = self.cgroup.trim_start_matches('/');
        let mut dirs: Vec<PathBuf> = std::fs::read_dir("/sys/fs/cgroup")
            .unwrap()
            .flatten()
            .map(|e| e.path().join(rel))
            .collect();
        dirs.push(Path::new("/sys/fs/cgroup").join(rel));
        dirs.retain(|d| d.is_dir());
        dirs
    }

    /// User + system CPU ticks of every process in the container.
    fn cpu_ticks(&self) -> u64 {
        let mut pids: Vec<String> = self
            .cgroup_dirs()
            .iter()
            .filter_map(|d| std::fs::read_to_string(d.join("cgroup.procs")).ok())
            .flat_map(|t| t.lines().map(str::to_owned).collect::<Vec<_>>())
            .collect();
        pids.sort();
        pids.dedup();
        pids.iter()
            .filter_map(|p| std::fs::read_to_string(format!("/proc/{p}/stat")).ok())
            .map(|s| {
                let f: Vec<&str> = s[s.rfind(')').unwrap() + 2..].split(' ').collect();
                f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
            })
            .sum()
    }

    fn assert_nothing_left(&self, id: &str) {
        let out = self.oci(&["list", "--quiet"]);
        assert_eq!(out.status, 0, "{}", out.output());
        assert!(!out.stdout.lines().any(|l| l == id), "{}", out.output());
        assert!(!self.root.join(id).exists());
        assert_eq!(self.cgroup_dirs(), Vec::<PathBuf>::new(), "cgroups left");
    }
}

impl Drop for Bundle {
    /// A failed test leaves no container running.
    fn drop(&mut self) {
        for id in self.oci(&["list", "--quiet"]).stdout.lines() {
            let _ = self.oci(&["delete", "--force", id]);
        }
        // The shared parent cgroup goes with the last test that used it
        // (a removal fails while another test's container is inside).
        let parent = Path::new(&self.cgroup).parent().unwrap().to_owned();
        let rel = parent.strip_prefix("/").unwrap();
        if let Ok(mounts) = std::fs::read_dir("/sys/fs/cgroup") {
            for m in mounts.flatten() {
                let _ = std::fs::remove_dir(m.path().join(rel));
            }
        }
        let _ = std::fs::remove_dir(Path::new("/sys/fs/cgroup").join(rel));
    }
}

#[test]
fn run_prints_exits_with_the_status_and_deletes() {
    if !is_root_or_skip("run_prints_exits_with_the_status_and_deletes") {
        return;
    }
    // A terminal bundle without a console socket: the console is run's
    // own output.
    let b = Bundle::new("run-hello", "hello", &["from", "run"], true);
    let out = wait_with_timeout(b.spawn_run(&[], "h1"), Duration::from_secs(30));
    assert_eq!(out.status, 0, "{}", out.output());
    assert!(out.stdout.contains("Hello, World"), "{}", out.output());
    assert!(
        out.stdout.contains("Command line is: 'from run'"),
        "{}",
        out.output()
    );
    b.assert_nothing_left("h1");

    let b = Bundle::new("run-abort", "abort", &[], false);
    let out = wait_with_timeout(b.spawn_run(&[], "a1"), Duration::from_secs(30));
    assert_eq!(out.status, 255, "{}", out.output());
    b.assert_nothing_left("a1");

    // --keep: the stopped container stays for `state` until deleted.
    let b = Bundle::new("run-keep", "hello", &[], false);
    let out = wait_with_timeout(b.spawn_run(&["--keep"], "k1"), Duration::from_secs(30));
    assert_eq!(out.status, 0, "{}", out.output());
    assert_eq!(b.status("k1"), "stopped");
    let out = b.oci(&["delete", "k1"]);
    assert_eq!(out.status, 0, "{}", out.output());
    b.assert_nothing_left("k1");
}

#[test]
fn a_foreground_run_forwards_signals_to_the_unikernel() {
    if !is_root_or_skip("a_foreground_run_forwards_signals_to_the_unikernel") {
        return;
    }
    let b = Bundle::new("run-signal", "bench_yield", &["100000000000"], false);
    for (sig, code) in [(libc::SIGTERM, 128 + 15), (libc::SIGINT, 128 + 2)] {
        let child = b.spawn_run(&[], "s1");
        let pid = child.id() as i32;
        eventually(
            Duration::from_secs(20),
            Duration::from_millis(20),
            || b.cpu_ticks() > 0,
            || format!("s1 never ran: {}", b.oci(&["list"]).output()),
        );
        let sent = Instant::now();
        // SAFETY: signals our own child.
        assert_eq!(unsafe { libc::kill(pid, sig) }, 0);
        let out = wait_with_timeout(child, Duration::from_secs(20));
        assert_eq!(out.status, code, "signal {sig}: {}", out.output());
        assert!(sent.elapsed() < Duration::from_secs(10));
        b.assert_nothing_left("s1");
    }
}

#[test]
fn pause_resume_list_and_exec() {
    if !is_root_or_skip("pause_resume_list_and_exec") {
        return;
    }
    let b = Bundle::new("run-pause", "bench_yield", &["100000000000"], false);
    b.run_detached("p1");
    assert_eq!(b.status("p1"), "running");

    let table = b.oci(&["list"]);
    assert_eq!(table.status, 0, "{}", table.output());
    let mut lines = table.stdout.lines();
    assert!(lines.next().unwrap().starts_with("ID "), "{}", table.stdout);
    let row: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!((row[0], row[2]), ("p1", "running"), "{}", table.stdout);
    let json = b.oci(&["list", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v[0]["id"], "p1", "{}", json.stdout);
    assert!(v[0]["pid"].as_i64().unwrap() > 0, "{}", json.stdout);
    assert_eq!(b.oci(&["list", "-q"]).stdout, "p1\n");

    let advances = |what: &str| {
        let before = b.cpu_ticks();
        std::thread::sleep(Duration::from_millis(400));
        let after = b.cpu_ticks();
        eprintln!("{what}: {before} -> {after} ticks");
        after > before
    };
    assert!(advances("running"), "the unikernel does not run");

    let out = b.oci(&["pause", "p1"]);
    assert_eq!(out.status, 0, "{}", out.output());
    assert_eq!(b.status("p1"), "paused");
    std::thread::sleep(Duration::from_millis(50));
    assert!(!advances("paused"), "a paused unikernel got CPU time");
    for (args, says) in [
        (&["pause", "p1"][..], "container not running"),
        (&["start", "p1"], "cannot start a paused container"),
        (&["delete", "p1"], "not stopped: paused"),
    ] {
        let out = b.oci(args);
        assert_eq!(out.status, 1, "{args:?}: {}", out.output());
        assert!(out.stderr.contains(says), "{args:?}: {}", out.output());
    }

    let out = b.oci(&["resume", "p1"]);
    assert_eq!(out.status, 0, "{}", out.output());
    assert_eq!(b.status("p1"), "running");
    assert!(advances("resumed"), "a resumed unikernel does not run");
    let out = b.oci(&["resume", "p1"]);
    assert_eq!(out.status, 1, "{}", out.output());
    assert!(
        out.stderr.contains("container not paused"),
        "{}",
        out.output()
    );

    // What `kubectl exec` would show, with runc exec's options before the
    // id and the command after it.
    let out = b.oci(&[
        "exec", "--tty", "--cwd", "/", "-e", "A=1", "p1", "sh", "-c", "ls",
    ]);
    assert_eq!(out.status, 1, "{}", out.output());
    assert!(
        out.stderr
            .contains("cannot exec in container p1: it runs a unikernel"),
        "{}",
        out.output()
    );

    // A paused container is killed by delete --force all the same.
    assert_eq!(b.oci(&["pause", "p1"]).status, 0);
    let out = b.oci(&["delete", "--force", "p1"]);
    assert_eq!(out.status, 0, "{}", out.output());
    b.assert_nothing_left("p1");
    let out = b.oci(&["exec", "p1", "sh"]);
    assert!(
        out.stderr.contains("container does not exist"),
        "{}",
        out.output()
    );
}

#[test]
fn list_shows_runcs_containers_in_the_same_root() {
    if !common::engines_or_skip("list_shows_runcs_containers_in_the_same_root") {
        return;
    }
    let b = Bundle::new("run-list", "bench_yield", &["100000000000"], false);
    b.run_detached("u1");
    // A bundle that is not a unikernel: corten-oci hands `create` to runc,
    // which keeps its state.json in the same root.
    let other = b.dir.path().join("c-bundle");
    std::fs::create_dir_all(other.join("rootfs")).unwrap();
    std::fs::copy(common::c_hello(&b.dir, 0), other.join("rootfs/hello")).unwrap();
    let config = serde_json::json!({
        "ociVersion": "1.0.2",
        "root": {"path": "rootfs"},
        "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}],
        "process": {"args": ["/hello"], "cwd": "/", "user": {"uid": 0, "gid": 0}},
        "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}]}
    });
    std::fs::write(other.join("config.json"), config.to_string()).unwrap();
    let with_runc = |args: &[&str]| {
        let mut cmd = b.command(args);
        cmd.env_remove("CORTEN_OCI_RUNC")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        wait_with_timeout(cmd.spawn().unwrap(), Duration::from_secs(30))
    };
    let out = with_runc(&["create", "--bundle", other.to_str().unwrap(), "r1"]);
    assert_eq!(out.status, 0, "runc create r1");
    let mut cmd = b.command(&["list", "--format", "json"]);
    cmd.env_remove("CORTEN_OCI_RUNC");
    let out = wait_with_timeout(cmd.spawn().unwrap(), Duration::from_secs(30));
    assert_eq!(out.status, 0, "{}", out.output());
    let rows: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let status = |id: &str| {
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .map(|r| r["status"].as_str().unwrap().to_owned())
    };
    assert_eq!(status("r1").as_deref(), Some("created"), "{}", out.stdout);
    assert_eq!(status("u1").as_deref(), Some("running"), "{}", out.stdout);
    assert_eq!(with_runc(&["delete", "--force", "r1"]).status, 0);
    assert_eq!(b.oci(&["delete", "--force", "u1"]).status, 0);
    b.assert_nothing_left("u1");
}

#[test]
fn update_limits_the_cpu_and_refuses_to_starve_the_guest() {
    if !is_root_or_skip("update_limits_the_cpu_and_refuses_to_starve_the_guest") {
        return;
    }
    let b = Bundle::new("run-update", "bench_yield", &["100000000000"], false);
    b.run_detached("u1");
    let ticks_in = |d: Duration| {
        let before = b.cpu_ticks();
        std::thread::sleep(d);
        b.cpu_ticks() - before
    };
    let free = ticks_in(Duration::from_millis(600));
    // 10 % of one CPU, as `runc update` takes it.
    let out = b.oci(&[
        "update",
        "--cpu-period",
        "100000",
        "--cpu-quota",
        "10000",
        "u1",
    ]);
    assert_eq!(out.status, 0, "{}", out.output());
    let limited = ticks_in(Duration::from_millis(600));
    eprintln!("ticks in 600 ms: {free} free, {limited} with a 10 % quota");
    assert!(free >= 20, "the unikernel hardly ran: {free} ticks");
    assert!(
        limited * 3 < free,
        "quota not applied: {limited} vs {free} ticks"
    );

    // containerd's form: LinuxResources JSON on stdin.
    let mut cmd = b.command(&["update", "--resources", "-", "u1"]);
    cmd.stdin(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(br#"{"cpu": {"quota": -1, "period": 100000}, "pids": {"limit": 64}, "memory": {"limit": 1073741824, "swap": 1073741824}}"#)
        .unwrap();
    let out = wait_with_timeout(child, Duration::from_secs(30));
    assert_eq!(out.status, 0, "{}", out.output());
    let read = |files: &[&str]| -> String {
        b.cgroup_dirs()
            .iter()
            .flat_map(|d| files.iter().map(move |f| d.join(f)))
            .find_map(|p| std::fs::read_to_string(p).ok())
            .unwrap_or_default()
            .trim()
            .to_owned()
    };
    assert_eq!(read(&["pids.max"]), "64");
    assert_eq!(read(&["memory.limit_in_bytes", "memory.max"]), "1073741824");
    assert!(
        ticks_in(Duration::from_millis(600)) * 3 > free,
        "quota not lifted"
    );
    // Raising memory and memory + swap together (v1 wants memsw >= memory
    // at every step), and a swap below the memory refused.
    let out = b.oci(&["update", "--memory", "2g", "--memory-swap", "2g", "u1"]);
    assert_eq!(out.status, 0, "{}", out.output());
    assert_eq!(read(&["memory.limit_in_bytes", "memory.max"]), "2147483648");
    let memsw = read(&["memory.memsw.limit_in_bytes"]);
    assert!(memsw.is_empty() || memsw == "2147483648", "{memsw}");
    let out = b.oci(&["update", "--memory", "1g", "--memory-swap", "512m", "u1"]);
    assert_eq!(out.status, 1, "{}", out.output());
    assert!(
        out.stderr.contains("must be at least the memory limit"),
        "{}",
        out.output()
    );
    let out = b.oci(&["update", "--memory", "1g", "--memory-swap", "1g", "u1"]);
    assert_eq!(out.status, 0, "{}", out.output());
    assert_eq!(read(&["memory.limit_in_bytes", "memory.max"]), "1073741824");

    // The guest has 512 MiB (the tender's default): a lower limit would
    // kill it, and is refused with the reason; nothing changes.
    let out = b.oci(&["update", "--memory", "256m", "u1"]);
    assert_eq!(out.status, 1, "{}", out.output());
    assert!(
        out.stderr
            .contains("the unikernel's memory is fixed at 512 MiB"),
        "{}",
        out.output()
    );
    assert_eq!(read(&["memory.limit_in_bytes", "memory.max"]), "1073741824");
    assert_eq!(b.status("u1"), "running");

    assert_eq!(b.oci(&["kill", "u1", "KILL"]).status, 0);
    eventually(
        Duration::from_secs(20),
        Duration::from_millis(20),
        || b.status("u1") == "stopped",
        || "u1 did not stop".into(),
    );
    let out = b.oci(&["update", "--pids-limit", "10", "u1"]);
    assert!(
        out.stderr.contains("container not running"),
        "{}",
        out.output()
    );
    assert_eq!(b.oci(&["delete", "u1"]).status, 0);
    b.assert_nothing_left("u1");
}
