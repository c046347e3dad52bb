//! VM exits per run, counted with KVM's tracepoints in a private tracefs
//! instance (its own buffer and event switches, so nothing another user
//! of ftrace set up is touched). Only this process and its children are
//! traced (`set_event_pid` + the `event-fork` option). Needs root.

use std::path::{Path, PathBuf};

use crate::measure::Run;

/// Tracepoints counted, in the order of [`Counts`].
const EVENTS: [&str; 3] = ["kvm_userspace_exit", "kvm_exit", "kvm_emulate_insn"];

#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    #[error("tracefs is not available at /sys/kernel/tracing (mount it, or run as root)")]
    NoTracefs,
    #[error("the kernel has no kvm:kvm_userspace_exit tracepoint")]
    NoEvent,
    #[error("{path}: {source} (tracing needs root)")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("could not run {program}: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("`{command}` exited with {status}, expected {expected}")]
    Status {
        command: String,
        status: String,
        expected: i32,
    },
}

/// Events of one run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub userspace_exits: u64,
    pub kvm_exits: u64,
    pub emulated: u64,
    /// Events were lost (buffer full): the counts are lower bounds.
    pub overrun: bool,
}

/// A tracefs instance that removes itself when dropped.
pub struct Tracer {
    dir: PathBuf,
}

fn write(path: &Path, value: &str) -> Result<(), TraceError> {
    std::fs::write(path, value).map_err(|source| TraceError::Io {
        path: path.to_owned(),
        source,
    })
}

impl Tracer {
    /// Creates the instance with the KVM events ready but off.
    pub fn new() -> Result<Tracer, TraceError> {
        let root = Path::new("/sys/kernel/tracing");
        if !root.join("instances").is_dir() {
            return Err(TraceError::NoTracefs);
        }
        if !root.join("events/kvm/kvm_userspace_exit").is_dir() {
            return Err(TraceError::NoEvent);
        }
        let dir = root
            .join("instances")
            .join(format!("corten-bench-{}", std::process::id()));
        std::fs::create_dir(&dir).map_err(|source| TraceError::Io {
            path: dir.clone(),
            source,
        })?;
        let t = Tracer { dir };
        write(&t.dir.join("tracing_on"), "0")?;
        // Room for an upstream boot's emulated instructions (~10^4 events).
        write(&t.dir.join("buffer_size_kb"), "8192")?;
        write(&t.dir.join("options/event-fork"), "1")?;
        Ok(t)
    }

    fn set_events(&self, on: bool) -> Result<(), TraceError> {
        for e in EVENTS {
            let p = self.dir.join(format!("events/kvm/{e}/enable"));
            // A missing event (other kernels) is simply not counted.
            if p.exists() {
                write(&p, if on { "1" } else { "0" })?;
            }
        }
        Ok(())
    }

    /// Runs `run` once (output discarded) and counts its events.
    pub fn count(&self, run: &Run) -> Result<Counts, TraceError> {
        write(&self.dir.join("trace"), "")?;
        write(
            &self.dir.join("set_event_pid"),
            &std::process::id().to_string(),
        )?;
        self.set_events(true)?;
        write(&self.dir.join("tracing_on"), "1")?;
        let mut cmd = run.command();
        cmd.stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let status = cmd.status();
        let _ = write(&self.dir.join("tracing_on"), "0");
        self.set_events(false)?;
        let status = status.map_err(|source| TraceError::Spawn {
            program: run.program.display().to_string(),
            source,
        })?;
        if status.code() != Some(run.expect_status) {
            return Err(TraceError::Status {
                command: run.display(),
                status: status.to_string(),
                expected: run.expect_status,
            });
        }
        let trace_path = self.dir.join("trace");
        let trace = std::fs::read_to_string(&trace_path).map_err(|source| TraceError::Io {
            path: trace_path,
            source,
        })?;
        let mut counts = parse_trace(&trace);
        counts.overrun = self.overrun();
        write(&self.dir.join("set_event_pid"), "")?;
        Ok(counts)
    }

    /// Whether any per-CPU buffer dropped events.
    fn overrun(&self) -> bool {
        let Ok(cpus) = std::fs::read_dir(self.dir.join("per_cpu")) else {
            return false;
        };
        cpus.flatten().any(|cpu| {
            std::fs::read_to_string(cpu.path().join("stats"))
                .map(|s| parse_overrun(&s) > 0)
                .unwrap_or(false)
        })
    }
}

impl Drop for Tracer {
    fn drop(&mut self) {
        let _ = write(&self.dir.join("tracing_on"), "0");
        let _ = self.set_events(false);
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// Counts the events in a tracefs `trace` text.
pub fn parse_trace(trace: &str) -> Counts {
    let mut c = Counts::default();
    for line in trace.lines().filter(|l| !l.starts_with('#')) {
        // "  corten-hvt-123 [001] ..... 12.34: kvm_userspace_exit: reason ..."
        let Some(event) = line.split(": ").nth(1) else {
            continue;
        };
        match event.trim() {
            "kvm_userspace_exit" => c.userspace_exits += 1,
            "kvm_exit" => c.kvm_exits += 1,
            "kvm_emulate_insn" => c.emulated += 1,
            _ => {}
        }
    }
    c
}

fn parse_overrun(stats: &str) -> u64 {
    stats
        .lines()
        .find_map(|l| l.strip_prefix("overrun:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_events_by_name() {
        let trace = "# tracer: nop\n#\n\
            corten-hvt-1203 [001] ..... 100.1: kvm_userspace_exit: reason KVM_EXIT_IO (2)\n\
            corten-hvt-1203 [001] ..... 100.2: kvm_emulate_insn: 0:100000: 48 89 e5\n\
            corten-hvt-1203 [001] ..... 100.3: kvm_userspace_exit: reason KVM_EXIT_IO (2)\n\
            corten-hvt-1203 [001] ..... 100.4: kvm_exit: vcpu 0 reason IO rip 0x1\n\
            garbage line\n";
        assert_eq!(
            parse_trace(trace),
            Counts {
                userspace_exits: 2,
                kvm_exits: 1,
                emulated: 1,
                overrun: false
            }
        );
        assert_eq!(
            parse_overrun("entries: 5\noverrun: 17\ncommit overrun: 0\n"),
            17
        );
        assert_eq!(parse_overrun("entries: 5\n"), 0);
    }
}
