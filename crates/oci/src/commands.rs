//! The commands that act on an existing container: start, state, kill,
//! delete, ps, pause, resume, update, exec, and list over all of them.
//! Each takes the container's lock first. A container that is not
//! Corten's goes to runc, which answers in its own words (also "does not
//! exist" when nobody has it).

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::cli::ListFormat;
use crate::error::OciError;
use crate::state::{self, Dir, State, Status};
use crate::{cgroup, out, runc, signal};

/// How long `start` waits for the init to answer on the fifo, and
/// `delete --force` for a killed init to be gone.
const WAIT: Duration = Duration::from_secs(10);

/// The container `id` of corten-oci, or runc takes over the command.
fn open(root: &Path, id: &str, argv: &[String]) -> Result<(Dir, State), OciError> {
    match Dir::open(root, id)? {
        Some(found) => Ok(found),
        None if runc::available() => runc::exec(argv).and(Err(OciError::NotExist(id.to_owned()))),
        None => Err(OciError::NotExist(id.to_owned())),
    }
}

pub fn start(root: &Path, id: &str, argv: &[String]) -> Result<(), OciError> {
    let (dir, mut st) = open(root, id, argv)?;
    match st.status() {
        Status::Created => {}
        Status::Running => return Err(OciError::StartRunning),
        Status::Paused => return Err(OciError::StartPaused),
        Status::Stopped => return Err(OciError::StartStopped),
    }
    let fifo = dir.path.join(state::FIFO);
    let c = std::ffi::CString::new(fifo.as_os_str().as_bytes()).unwrap_or_default();
    // SAFETY: open of a NUL-terminated path; non-blocking, so a dead init
    // cannot hang start. Checked.
    let fd = unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_RDONLY | libc::O_NONBLOCK | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(OciError::io(&fifo, std::io::Error::last_os_error()));
    }
    // SAFETY: a fresh descriptor we own.
    let mut f = unsafe { File::from_raw_fd(fd) };
    let deadline = Instant::now() + WAIT;
    let mut byte = [0u8; 1];
    loop {
        match f.read(&mut byte) {
            Ok(1) => break,
            Ok(_) | Err(_) if st.status() == Status::Stopped => {
                return Err(OciError::StartStopped);
            }
            _ if Instant::now() > deadline => {
                return Err(OciError::Init(
                    "the container init did not answer start".into(),
                ));
            }
            _ => {
                let mut p = libc::pollfd {
                    fd: f.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                };
                // SAFETY: polls one live descriptor for at most 100 ms.
                unsafe { libc::poll(&mut p, 1, 100) };
            }
        }
    }
    std::fs::remove_file(&fifo).map_err(|e| OciError::io(&fifo, e))?;
    st.started = true;
    dir.save(&st)
}

pub fn state(root: &Path, id: &str, argv: &[String]) -> Result<(), OciError> {
    let (_dir, st) = open(root, id, argv)?;
    out::line(&format!("{:#}", st.oci_state()))
}

pub fn kill(root: &Path, id: &str, sig: &str, all: bool, argv: &[String]) -> Result<(), OciError> {
    let sig = signal::parse(sig)?;
    let (_dir, st) = open(root, id, argv)?;
    if st.status() == Status::Stopped {
        return Err(OciError::NotRunning(id.to_owned()));
    }
    let mut pids = vec![st.pid];
    if all {
        pids.extend(cgroup::pids(&st.cgroups));
        pids.sort_unstable();
        pids.dedup();
    }
    for pid in pids {
        // SAFETY: kill takes numbers; ESRCH (already gone) is fine.
        if unsafe { libc::kill(pid, sig) } != 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::ESRCH) {
                return Err(OciError::sys(format!("kill {pid} {sig}"), e));
            }
        }
    }
    Ok(())
}

pub fn delete(root: &Path, id: &str, force: bool, argv: &[String]) -> Result<(), OciError> {
    let (dir, st) = match open(root, id, argv) {
        // A state file nobody can read (a disk error, a hand edit) names no
        // process to stop: --force removes what is left of it.
        Err(OciError::State { .. }) if force => {
            return std::fs::remove_dir_all(root.join(id))
                .map_err(|e| OciError::io(root.join(id), e))
        }
        other => other?,
    };
    let status = st.status();
    if status != Status::Stopped {
        if !force {
            return Err(OciError::DeleteNotStopped {
                id: id.to_owned(),
                status: status.as_str(),
            });
        }
        for pid in std::iter::once(st.pid).chain(cgroup::pids(&st.cgroups)) {
            // SAFETY: kill takes numbers; ESRCH is fine.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        if status == Status::Paused {
            // Frozen processes (cgroup v1) die only once thawed.
            cgroup::freeze(&st.cgroups, false)?;
        }
        let deadline = Instant::now() + WAIT;
        while st.status() != Status::Stopped {
            if Instant::now() > deadline {
                return Err(OciError::Init(format!(
                    "container {id} did not die on SIGKILL"
                )));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    if let Some(n) = &st.net {
        // This joins the pod's network namespace; nothing below needs the
        // host's.
        crate::net::unplumb(&n.netns, &n.ifaces)?;
    }
    // The cgroup empties once the init is reaped; wait a little for that.
    let deadline = Instant::now() + WAIT;
    loop {
        match cgroup::remove(&st.cgroups) {
            Ok(()) => break,
            Err(e) if Instant::now() > deadline => return Err(e),
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
    dir.remove()
}

pub fn ps(root: &Path, id: &str, json: bool, argv: &[String]) -> Result<(), OciError> {
    let (_dir, st) = open(root, id, argv)?;
    let mut pids = if st.status() == Status::Stopped {
        Vec::new()
    } else {
        vec![st.pid]
    };
    pids.extend(cgroup::pids(&st.cgroups));
    pids.sort_unstable();
    pids.dedup();
    if json {
        return out::line(&serde_json::json!(pids).to_string());
    }
    let mut table = String::from("PID   CMD\n");
    for p in pids {
        let cmd = std::fs::read_to_string(format!("/proc/{p}/comm")).unwrap_or_default();
        table.push_str(&format!("{p:<5} {}\n", cmd.trim()));
    }
    out::print(&table)
}

/// `pause`: freezes the container's cgroup (runc pauses created and
/// running containers alike).
pub fn pause(root: &Path, id: &str, argv: &[String]) -> Result<(), OciError> {
    let (_dir, st) = open(root, id, argv)?;
    match st.status() {
        Status::Created | Status::Running => cgroup::freeze(&st.cgroups, true),
        Status::Paused | Status::Stopped => Err(OciError::NotRunning(id.to_owned())),
    }
}

/// `resume`: thaws a paused container.
pub fn resume(root: &Path, id: &str, argv: &[String]) -> Result<(), OciError> {
    let (_dir, st) = open(root, id, argv)?;
    match st.status() {
        Status::Paused => cgroup::freeze(&st.cgroups, false),
        _ => Err(OciError::NotPaused(id.to_owned())),
    }
}

/// `update`: new cgroup limits for a live container (update.rs).
pub fn update(
    root: &Path,
    id: &str,
    file: Option<&str>,
    flags: &crate::update::Resources,
    argv: &[String],
) -> Result<(), OciError> {
    let (_dir, st) = open(root, id, argv)?;
    if st.status() == Status::Stopped {
        return Err(OciError::NotRunning(id.to_owned()));
    }
    let base = match file {
        Some(f) => crate::update::Resources::from_file(f)?,
        None => crate::update::Resources::default(),
    };
    crate::update::apply(&st.cgroups, st.guest_mem_mib, &base.overlay(flags))
}

/// `exec`: runc's containers run the command; a unikernel has nothing to
/// run it in, which is said plainly (this is what `kubectl exec` shows).
pub fn exec(root: &Path, id: &str, argv: &[String]) -> Result<(), OciError> {
    let (_dir, st) = open(root, id, argv)?;
    match st.status() {
        Status::Stopped => Err(OciError::ExecStopped),
        _ => Err(OciError::ExecUnikernel(id.to_owned())),
    }
}

/// `list`: every container under `root`, corten-oci's and (when runc is
/// there) runc's, as a table, as JSON (runc's fields) or ids only.
pub fn list(root: &Path, format: ListFormat) -> Result<(), OciError> {
    let mut rows: Vec<serde_json::Value> = Vec::new();
    let mut runcs = false;
    let entries = match std::fs::read_dir(root) {
        Ok(e) => e.flatten().map(|e| e.file_name()).collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(OciError::io(root, e)),
    };
    for name in entries {
        let Some(id) = name.to_str() else { continue };
        match Dir::open(root, id) {
            Ok(Some((_dir, st))) => rows.push(st.oci_state()),
            // Removed meanwhile, runc's, or not a container.
            Ok(None) => runcs |= root.join(id).join("state.json").exists(),
            // One damaged container does not hide the others.
            Err(e @ OciError::State { .. }) => {
                let _ = writeln!(std::io::stderr(), "corten-oci: list: {e}");
            }
            Err(e) => return Err(e),
        }
    }
    if runcs && runc::available() {
        rows.extend(runc::list(root)?);
    }
    rows.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    let text = match format {
        ListFormat::Quiet => rows
            .iter()
            .map(|r| format!("{}\n", r["id"].as_str().unwrap_or("")))
            .collect(),
        ListFormat::Json => format!("{}\n", serde_json::Value::Array(rows)),
        ListFormat::Table => table(&rows),
    };
    out::print(&text)
}

/// runc list's table: a header and one line per container.
fn table(rows: &[serde_json::Value]) -> String {
    let cell = |r: &serde_json::Value, k: &str| match &r[k] {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let head = ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"];
    let keys = ["id", "pid", "status", "bundle", "created", "owner"];
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| keys.iter().map(|k| cell(r, k)).collect())
        .collect();
    let widths: Vec<usize> = (0..head.len())
        .map(|i| {
            cells
                .iter()
                .map(|r| r[i].len())
                .chain([head[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |row: &[String]| {
        let padded: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        format!("{}\n", padded.join("   ").trim_end())
    };
    let mut text = line(&head.map(str::to_owned));
    for r in &cells {
        text.push_str(&line(r));
    }
    text
}

/// `features`: what this runtime supports, in runc's format.
pub fn features() -> serde_json::Value {
    serde_json::json!({
        "ociVersionMin": "1.0.0",
        "ociVersionMax": crate::OCI_VERSION,
        "hooks": [],
        "mountOptions": ["bind", "rbind", "ro", "rw"],
        "linux": {
            "namespaces": ["cgroup", "ipc", "mount", "network", "pid", "uts"],
            "capabilities": [],
            "cgroup": {"v1": true, "v2": true, "systemd": false, "systemdUser": false},
            "seccomp": {"enabled": false},
            "apparmor": {"enabled": false},
            "selinux": {"enabled": false}
        },
        "annotations": {
            "io.corten.runtime": "corten-oci: Solo5 unikernels on corten-spt and corten-hvt; other bundles on runc"
        }
    })
}
