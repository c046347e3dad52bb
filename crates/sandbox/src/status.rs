//! The process's own seccomp state as `/proc/self/status` reports it.

/// A process's seccomp mode (`Seccomp:` in `/proc/PID/status`,
/// `prctl(PR_GET_SECCOMP)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeccompMode {
    /// No seccomp (0).
    Disabled,
    /// Strict mode (1): only read, write, exit and sigreturn.
    Strict,
    /// One or more BPF filters (2).
    Filter,
}

impl SeccompMode {
    /// The mode for its kernel number.
    pub const fn from_raw(raw: u32) -> Option<Self> {
        match raw {
            0 => Some(SeccompMode::Disabled),
            1 => Some(SeccompMode::Strict),
            2 => Some(SeccompMode::Filter),
            _ => None,
        }
    }

    /// The kernel number of the mode.
    pub const fn as_raw(self) -> u32 {
        match self {
            SeccompMode::Disabled => 0,
            SeccompMode::Strict => 1,
            SeccompMode::Filter => 2,
        }
    }
}

/// What `/proc/self/status` says about seccomp.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcStatus {
    pub mode: SeccompMode,
    /// `Seccomp_filters:`, the number of attached filters (Linux >= 5.9).
    pub filters: Option<u32>,
}

/// Parses the `Seccomp:` and `Seccomp_filters:` lines of a
/// `/proc/PID/status` text; `None` if there is no valid `Seccomp:` line
/// (a kernel without CONFIG_SECCOMP has none).
pub fn parse_proc_status(text: &str) -> Option<ProcStatus> {
    let field = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
            .and_then(|v| v.trim().parse::<u32>().ok())
    };
    Some(ProcStatus {
        mode: SeccompMode::from_raw(field("Seccomp")?)?,
        filters: field("Seccomp_filters"),
    })
}

/// Largest status file read (a real one is about 1.5 KiB).
const STATUS_MAX: usize = 64 * 1024;

/// The status files, most precise first: seccomp filters are per thread,
/// and `/proc/self` is the main thread; `thread-self` needs Linux 3.17.
const STATUS_PATHS: [&std::ffi::CStr; 2] = [c"/proc/thread-self/status", c"/proc/self/status"];

/// Reads the calling thread's status (`/proc/thread-self/status`, else
/// `/proc/self/status`). `None` when neither can be read (no `/proc`, e.g.
/// after `pivot_root` in a container) or there is no seccomp line.
pub fn read_proc_status() -> Option<ProcStatus> {
    status_or_reason().ok()
}

/// [`read_proc_status`], or why there is no answer. Uses only `openat`,
/// `read` and `close`: no `statx` (std's whole-file reads size the file
/// first) and no `fcntl` (dropping a std descriptor in a debug build checks
/// it), since launchers' allow-lists (urunc's) have neither.
pub(crate) fn status_or_reason() -> Result<ProcStatus, String> {
    let mut reason = String::new();
    for path in STATUS_PATHS {
        match read_small_file(path) {
            Ok(text) => {
                return parse_proc_status(&String::from_utf8_lossy(&text))
                    .ok_or_else(|| format!("{}: no valid Seccomp line", path.to_string_lossy()));
            }
            Err(e) => reason = format!("{}: {e}", path.to_string_lossy()),
        }
    }
    Err(reason)
}

fn read_small_file(path: &std::ffi::CStr) -> std::io::Result<Vec<u8>> {
    // SAFETY: a NUL-terminated path; the result is checked.
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let mut text = vec![0u8; 4096];
    let mut len = 0;
    let result = loop {
        if len == text.len() {
            if text.len() >= STATUS_MAX {
                break Ok(());
            }
            text.resize(text.len() * 2, 0);
        }
        let room = text.get_mut(len..).unwrap_or(&mut []);
        // SAFETY: reads at most `room.len()` bytes into `room`.
        let n = unsafe { libc::read(fd, room.as_mut_ptr().cast(), room.len()) };
        match n {
            0 => break Ok(()),
            n if n > 0 => len += n as usize,
            _ => {
                let e = std::io::Error::last_os_error();
                if e.kind() != std::io::ErrorKind::Interrupted {
                    break Err(e);
                }
            }
        }
    };
    // SAFETY: closes the descriptor opened above, used nowhere else.
    unsafe { libc::close(fd) };
    text.truncate(len);
    result.map(|()| text)
}

/// What `/proc` says about an outer seccomp filter, learnt without any
/// system call an outer filter could forbid (beyond `openat`/`read`/
/// `close`, which every launcher's list has).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Confinement {
    /// No seccomp: installing a filter is safe.
    Unconfined,
    /// Strict mode or filters are in force (someone else's).
    Confined(ProcStatus),
    /// `/proc` could not be read (`reason`): asking otherwise
    /// (`prctl(PR_GET_SECCOMP)`) could itself be the fatal call.
    Unknown { reason: String },
}

/// The calling thread's [`Confinement`] (see [`status_or_reason`]).
pub fn confinement() -> Confinement {
    match status_or_reason() {
        Ok(ProcStatus {
            mode: SeccompMode::Disabled,
            ..
        }) => Confinement::Unconfined,
        Ok(status) => Confinement::Confined(status),
        Err(reason) => Confinement::Unknown { reason },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_modes_and_filter_count() {
        let text = "Name:\tx\nNoNewPrivs:\t1\nSeccomp:\t2\nSeccomp_filters:\t3\nSpeculation_Store_Bypass:\tx\n";
        assert_eq!(
            parse_proc_status(text),
            Some(ProcStatus {
                mode: SeccompMode::Filter,
                filters: Some(3)
            })
        );
        assert_eq!(
            parse_proc_status("Seccomp:\t0\n"),
            Some(ProcStatus {
                mode: SeccompMode::Disabled,
                filters: None
            })
        );
        assert_eq!(
            parse_proc_status("Seccomp:\t1").map(|s| s.mode),
            Some(SeccompMode::Strict)
        );
    }

    #[test]
    fn rejects_missing_or_bad_lines() {
        assert_eq!(parse_proc_status("Name:\tx\n"), None);
        assert_eq!(parse_proc_status("Seccomp:\t7\n"), None);
        assert_eq!(parse_proc_status("Seccomp:\tx\n"), None);
        // Seccomp_filters alone is not the mode line.
        assert_eq!(parse_proc_status("Seccomp_filters:\t1\n"), None);
    }

    #[test]
    fn reads_own_status() {
        // Test processes run unconfined or under a container's filter;
        // either way /proc is mounted where the tests run.
        let status = read_proc_status().expect("/proc/self/status readable");
        assert_ne!(status.mode, SeccompMode::Strict);
    }

    #[test]
    fn confinement_of_this_process_is_known() {
        // /proc exists where the tests run, and test runners are never in
        // strict mode.
        match confinement() {
            Confinement::Unconfined => {}
            Confinement::Confined(s) => assert_eq!(s.mode, SeccompMode::Filter),
            Confinement::Unknown { reason } => panic!("{reason}"),
        }
    }

    #[test]
    fn small_files_are_read_whole() {
        let text = read_small_file(c"/proc/self/status").unwrap();
        assert!(text.starts_with(b"Name:"));
        assert!(read_small_file(c"/nonexistent/corten").is_err());
    }

    #[test]
    fn raw_round_trip() {
        for raw in 0..3 {
            assert_eq!(
                SeccompMode::from_raw(raw).map(SeccompMode::as_raw),
                Some(raw)
            );
        }
    }
}
