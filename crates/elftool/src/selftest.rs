//! `CORTEN_ELFTOOL_SELFTEST=forbidden-syscall`: proof that the sandbox is
//! really in force, for tests.
//!
//! Before the sandbox is entered, elftool opens `/proc/thread-self/status`.
//! Once inside, it prints that file's `Seccomp:` lines (read through the
//! descriptor opened earlier; opening it now would be refused) and what
//! installing the filter returned, then calls `getpid`, which the filter
//! does not allow: the process must die of SIGSYS. If it survives, it says
//! so and exits with status 3. The variable is harmless: it only adds a
//! read-only descriptor and ends the run early.

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::FileExt;

use corten_sandbox::Installed;
use thiserror::Error;

/// The environment variable that enables the self-test.
pub const VARIABLE: &str = "CORTEN_ELFTOOL_SELFTEST";
/// Its one accepted value.
pub const FORBIDDEN_SYSCALL: &str = "forbidden-syscall";
/// Exit status when the forbidden call was allowed (the test fails).
pub const SURVIVED: i32 = 3;

#[derive(Debug, Error)]
pub enum SelfTestError {
    #[error("{VARIABLE}: unknown value {0:?}, expected {FORBIDDEN_SYSCALL:?}")]
    UnknownValue(String),
    #[error("{VARIABLE}: cannot open /proc/thread-self/status: {0}")]
    Status(io::Error),
}

pub struct SelfTest {
    status: File,
}

impl SelfTest {
    /// The self-test, if the environment asks for it.
    pub fn from_env() -> Result<Option<SelfTest>, SelfTestError> {
        let Some(value) = std::env::var_os(VARIABLE) else {
            return Ok(None);
        };
        if value != FORBIDDEN_SYSCALL {
            return Err(SelfTestError::UnknownValue(
                value.to_string_lossy().into_owned(),
            ));
        }
        let status = File::open("/proc/thread-self/status")
            .or_else(|_| File::open("/proc/self/status"))
            .map_err(SelfTestError::Status)?;
        Ok(Some(SelfTest { status }))
    }

    pub fn fd(&self) -> RawFd {
        self.status.as_raw_fd()
    }

    /// Runs inside the sandbox; does not return.
    pub fn run(self, installed: Installed) -> ! {
        let mut buf = vec![0u8; 8192];
        let n = self.status.read_at(&mut buf, 0).unwrap_or(0);
        let text = String::from_utf8_lossy(buf.get(..n).unwrap_or_default()).into_owned();
        let mut report = format!("selftest: sandbox {installed:?}\n");
        for line in text.lines().filter(|l| l.starts_with("Seccomp")) {
            report.push_str(&format!("selftest: {line}\n"));
        }
        report.push_str("selftest: calling getpid, which the filter forbids\n");
        let mut out = io::stdout().lock();
        let _ = out.write_all(report.as_bytes());
        let _ = out.flush();
        // SAFETY: getpid has no arguments and no side effects; the point is
        // that the filter kills the process here.
        unsafe { libc::syscall(libc::SYS_getpid) };
        let _ = out.write_all(b"selftest: getpid was allowed: the sandbox is NOT in force\n");
        let _ = out.flush();
        std::process::exit(SURVIVED)
    }
}
