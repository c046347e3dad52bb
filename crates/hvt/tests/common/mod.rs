//! Helpers for corten-hvt's integration tests: the tender binary, the test
//! unikernels, KVM availability, running with a timeout, temporary files.
#![allow(dead_code)]

pub mod net;
pub mod suite;
#[cfg(target_arch = "x86_64")]
pub mod urunc;

use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The corten-hvt binary under test (CORTEN_HVT_TENDER overrides it, to
/// run the same suite on another hvt tender for comparison).
pub fn tender() -> PathBuf {
    std::env::var_os("CORTEN_HVT_TENDER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_corten-hvt")))
}

/// The workspace root.
pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Whether KVM can be used. When it cannot, prints why and returns false,
/// unless CORTEN_REQUIRE_KVM=1, where it fails the test instead.
pub fn kvm_or_skip(what: &str) -> bool {
    let ok = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm");
    match ok {
        Ok(_) => true,
        Err(e) => {
            let require = std::env::var("CORTEN_REQUIRE_KVM").is_ok_and(|v| v == "1");
            assert!(
                !require,
                "{what}: /dev/kvm is not usable ({e}) but CORTEN_REQUIRE_KVM=1"
            );
            eprintln!("SKIP: {what}: /dev/kvm is not usable ({e}); set CORTEN_REQUIRE_KVM=1 to make this a failure");
            false
        }
    }
}

/// Which build of the test unikernels a suite runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// `target/unikernels/NAME.hvt`, built by `cargo xtask build`.
    Corten,
    /// `$SOLO5_UPSTREAM_TESTS/test_NAME/test_NAME.hvt` (local only).
    Upstream,
}

/// The unikernel `name` (e.g. "hello") of `source`, or `None` (after
/// printing why) when the upstream suite is not configured. A missing
/// Corten unikernel is a failure, never a skip.
pub fn unikernel(source: Source, name: &str) -> Option<PathBuf> {
    match source {
        Source::Corten => {
            let dir = std::env::var_os("CORTEN_UNIKERNEL_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| workspace().join("target/unikernels"));
            let p = dir.join(format!("{name}.hvt"));
            assert!(
                p.exists(),
                "{} is missing: run `cargo xtask build` first",
                p.display()
            );
            Some(p)
        }
        Source::Upstream => {
            let Some(dir) = std::env::var_os("SOLO5_UPSTREAM_TESTS") else {
                eprintln!(
                    "SKIP: upstream compatibility test `{name}`: set SOLO5_UPSTREAM_TESTS to a \
                     directory of upstream-built tests (test_NAME/test_NAME.hvt) to run it"
                );
                return None;
            };
            let file = if name == "buggyelf" {
                "test_buggyelf/buggyelf.hvt".to_owned()
            } else {
                format!("test_{name}/test_{name}.hvt")
            };
            let p = PathBuf::from(dir).join(file);
            assert!(p.exists(), "{} is missing", p.display());
            Some(p)
        }
    }
}

/// How a run ended, with shell-style status (128 + signal when killed).
#[derive(Debug)]
pub struct Outcome {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    /// Both streams, for messages.
    pub fn output(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
    pub fn expect_success(&self) {
        assert!(
            self.status == 0 && self.stdout.contains("SUCCESS"),
            "expected exit 0 and SUCCESS, got {}:\n{}",
            self.status,
            self.output()
        );
    }
    pub fn expect_status(&self, status: i32) {
        assert_eq!(self.status, status, "output:\n{}", self.output());
    }
    pub fn expect_abort(&self) {
        assert!(
            self.status == 255 && self.stdout.contains("ABORT"),
            "expected exit 255 and ABORT, got {}:\n{}",
            self.status,
            self.output()
        );
    }
    /// A tender error: exit 1 and `phrase` in stderr.
    pub fn expect_tender_error(&self, phrase: &str) {
        assert_eq!(self.status, 1, "output:\n{}", self.output());
        assert!(
            self.stderr.contains(phrase),
            "expected `{phrase}` in stderr:\n{}",
            self.stderr
        );
    }
}

fn shell_status(st: std::process::ExitStatus) -> i32 {
    match (st.code(), st.signal()) {
        (Some(c), _) => c,
        (None, Some(s)) => 128 + s,
        _ => -1,
    }
}

/// Waits for `child` at most `timeout`, killing it then; collects output.
pub fn wait_with_timeout(mut child: Child, timeout: Duration) -> Outcome {
    let mut out = child.stdout.take();
    let mut err = child.stderr.take();
    let read = |s: Option<&mut dyn Read>| {
        let mut buf = Vec::new();
        if let Some(r) = s {
            let _ = r.read_to_end(&mut buf);
        }
        String::from_utf8_lossy(&buf).into_owned()
    };
    let t_out = std::thread::spawn(move || read(out.as_mut().map(|o| o as &mut dyn Read)));
    let t_err = std::thread::spawn(move || read(err.as_mut().map(|e| e as &mut dyn Read)));
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait") {
            break shell_status(st);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("timed out after {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    Outcome {
        status,
        stdout: t_out.join().unwrap_or_default(),
        stderr: t_err.join().unwrap_or_default(),
    }
}

/// A `Command` for the tender with `args`, output captured.
pub fn command<I, S>(args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut c = Command::new(tender());
    c.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// Runs the tender with `args` (60 s limit, as upstream's suite).
pub fn hvt<I, S>(args: I) -> Outcome
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let child = command(args).spawn().expect("spawn corten-hvt");
    wait_with_timeout(child, Duration::from_secs(60))
}

/// A directory removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("corten-hvt-{tag}-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&p).expect("temp dir");
        TempDir(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
    /// A file of `len` bytes of `fill`.
    pub fn file(&self, name: &str, len: usize, fill: u8) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, vec![fill; len]).expect("write temp file");
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Whether we run as root (namespaces, taps, pivot_root); prints why not.
pub fn is_root_or_skip(what: &str) -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if !root {
        eprintln!("SKIP: {what}: needs root (namespaces and tap devices)");
    }
    root
}
