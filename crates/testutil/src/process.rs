//! Child processes: how they ended, with a timeout; temporary files;
//! skipping tests that need root or KVM; descriptors to pass to a child.

use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// How a run ended, with shell-style status (128 + signal when killed).
#[derive(Debug)]
pub struct Outcome {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
    /// When set, tender errors must start with "PROG: ".
    pub prog: Option<String>,
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
    /// A tender error: exit 1 and `phrase` in stderr (which starts with the
    /// program's name when [`prog`](Self::prog) is set).
    pub fn expect_tender_error(&self, phrase: &str) {
        assert_eq!(self.status, 1, "output:\n{}", self.output());
        assert!(
            self.stderr.contains(phrase),
            "expected `{phrase}` in stderr:\n{}",
            self.stderr
        );
        if let Some(prog) = &self.prog {
            assert!(
                self.stderr.starts_with(&format!("{prog}: ")),
                "messages must start with the program name:\n{}",
                self.stderr
            );
        }
    }
}

fn shell_status(st: std::process::ExitStatus) -> i32 {
    match (st.code(), st.signal()) {
        (Some(c), _) => c,
        (None, Some(s)) => 128 + s,
        _ => -1,
    }
}

/// Waits for `child` at most `timeout`, killing it then (and failing the
/// test); collects its output.
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
        prog: None,
    }
}

/// A directory removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("corten-test-{tag}-{}-{n}", std::process::id()));
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
        crate::skip_note(
            &format!("root {what}"),
            &format!("{what}: needs root (namespaces and tap devices)"),
        );
    }
    root
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
            crate::skip_note(
                "kvm",
                &format!(
                    "tests that need KVM ({what} and others): /dev/kvm is not usable ({e}); set \
                     CORTEN_REQUIRE_KVM=1 to make this a failure"
                ),
            );
            false
        }
    }
}

/// A connected pair of non-blocking datagram sockets: one frame per read,
/// like a tap, for `--net:NAME=@FD` without root.
pub fn socket_pair() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for two descriptors.
    let rc = unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_DGRAM | libc::SOCK_NONBLOCK,
            0,
            fds.as_mut_ptr(),
        )
    };
    assert_eq!(rc, 0, "socketpair: {}", std::io::Error::last_os_error());
    // SAFETY: fresh descriptors we own.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

/// Makes `cmd`'s child find `fd` as descriptor `target` (dup2 between fork
/// and exec, before any other pre-exec step registered later).
pub fn inherit_fd(cmd: &mut Command, fd: RawFd, target: RawFd) {
    // SAFETY: only dup2 between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::dup2(fd, target) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        })
    };
}

/// Polls `done` every `every` until it holds; after `timeout` fails the
/// test with `why()` (the state that did not come).
pub fn eventually(
    timeout: Duration,
    every: Duration,
    mut done: impl FnMut() -> bool,
    why: impl Fn() -> String,
) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "after {timeout:?}: {}", why());
        std::thread::sleep(every);
    }
}
