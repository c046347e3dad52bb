//! The process's own seccomp state as `/proc/self/status` reports it.

use std::io::Read;

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
const STATUS_MAX: u64 = 64 * 1024;

/// Reads the calling thread's status (`/proc/thread-self/status`; seccomp
/// filters are per thread, and `/proc/self` is the main thread), falling
/// back to `/proc/self/status` on kernels before 3.17. `None` when neither
/// can be read (no `/proc`, e.g. after `pivot_root` in a container) or there
/// is no seccomp line.
pub fn read_proc_status() -> Option<ProcStatus> {
    ["/proc/thread-self/status", "/proc/self/status"]
        .into_iter()
        .find_map(|path| {
            let file = std::fs::File::open(path).ok()?;
            let mut text = String::new();
            file.take(STATUS_MAX).read_to_string(&mut text).ok()?;
            parse_proc_status(&text)
        })
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
    fn raw_round_trip() {
        for raw in 0..3 {
            assert_eq!(
                SeccompMode::from_raw(raw).map(SeccompMode::as_raw),
                Some(raw)
            );
        }
    }
}
