//! Container state under `--root`: one directory per container holding
//! `corten.json` (what corten-oci knows), `lock` (taken by every command on
//! the container, so concurrent commands on one container serialise and
//! commands on different containers do not wait for each other) and,
//! until `start`, `exec.fifo` (the created init blocks opening it).
//!
//! `corten.json` is written to a temporary file, synced and renamed, so a
//! crash leaves the old or the new state, never half of one. A container
//! directory without `corten.json` is not Corten's (runc keeps its own
//! `state.json` there for bundles handed to it).

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::error::OciError;

pub const STATE_FILE: &str = "corten.json";
pub const FIFO: &str = "exec.fifo";
const LOCK: &str = "lock";

/// runc's rule for ids: what can be a file name and a cgroup name.
pub fn check_id(id: &str) -> Result<(), OciError> {
    let ok = !id.is_empty()
        && id.len() <= 1024
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+-.".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(OciError::BadId(id.to_owned()))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Created,
    Running,
    /// Alive, with its cgroup frozen by `pause`.
    Paused,
    Stopped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        }
    }
}

/// The pod network plumbing corten-oci set up in a network namespace that
/// outlives the container, and must take down on delete.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetSetup {
    pub netns: PathBuf,
    /// The pod interfaces whose traffic was redirected.
    pub ifaces: Vec<String>,
}

/// What corten-oci records about a container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct State {
    pub id: String,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    /// Host pid of the container's init (the tender once started).
    pub pid: i32,
    /// Its start time (clock ticks since boot, /proc/PID/stat field 22), so
    /// a reused pid is never mistaken for the container.
    pub start_time: u64,
    pub created: String,
    pub annotations: BTreeMap<String, String>,
    /// cgroup directories created for the container.
    pub cgroups: Vec<PathBuf>,
    pub started: bool,
    /// The tender the init runs (`corten-spt` / `corten-hvt`).
    pub tender: String,
    pub net: Option<NetSetup>,
    /// The guest memory the tender was given (what `update` must keep
    /// room for).
    pub guest_mem_mib: u64,
}

impl State {
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "bundle": self.bundle,
            "rootfs": self.rootfs,
            "pid": self.pid,
            "start_time": self.start_time,
            "created": self.created,
            "annotations": self.annotations,
            "cgroups": self.cgroups,
            "started": self.started,
            "tender": self.tender,
            "guest_mem_mib": self.guest_mem_mib,
            "net": self.net.as_ref().map(|n| json!({"netns": n.netns, "ifaces": n.ifaces})),
        })
    }

    pub fn from_json(path: &Path, v: &Value) -> Result<State, OciError> {
        let bad = |why: &str| OciError::State {
            path: path.to_owned(),
            why: why.to_owned(),
        };
        let s = |k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| bad(&format!("{k} missing")))
        };
        let paths = |k: &str| -> Vec<PathBuf> {
            v.get(k)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(PathBuf::from)
                        .collect()
                })
                .unwrap_or_default()
        };
        let annotations = v
            .get("annotations")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, x)| Some((k.clone(), x.as_str()?.to_owned())))
                    .collect()
            })
            .unwrap_or_default();
        let net = match v.get("net") {
            Some(Value::Object(n)) => Some(NetSetup {
                netns: PathBuf::from(
                    n.get("netns")
                        .and_then(Value::as_str)
                        .ok_or_else(|| bad("net.netns missing"))?,
                ),
                ifaces: n
                    .get("ifaces")
                    .and_then(Value::as_array)
                    .ok_or_else(|| bad("net.ifaces missing"))?
                    .iter()
                    .filter_map(|i| i.as_str().map(str::to_owned))
                    .collect(),
            }),
            _ => None,
        };
        Ok(State {
            id: s("id")?,
            bundle: PathBuf::from(s("bundle")?),
            rootfs: PathBuf::from(s("rootfs")?),
            pid: v
                .get("pid")
                .and_then(Value::as_i64)
                .and_then(|p| i32::try_from(p).ok())
                .ok_or_else(|| bad("pid missing"))?,
            start_time: v.get("start_time").and_then(Value::as_u64).unwrap_or(0),
            created: s("created")?,
            annotations,
            cgroups: paths("cgroups"),
            started: v.get("started").and_then(Value::as_bool).unwrap_or(false),
            tender: s("tender")?,
            net,
            guest_mem_mib: v
                .get("guest_mem_mib")
                .and_then(Value::as_u64)
                .unwrap_or(corten_abi::mem::DEFAULT_MEM_MIB),
        })
    }

    /// What the init process is now.
    pub fn status(&self) -> Status {
        match proc_stat(self.pid) {
            Some((state, start)) if start == self.start_time && state != 'Z' && state != 'X' => {
                if crate::cgroup::frozen(&self.cgroups) {
                    Status::Paused
                } else if self.started {
                    Status::Running
                } else {
                    Status::Created
                }
            }
            _ => Status::Stopped,
        }
    }

    /// runc's `state` output.
    pub fn oci_state(&self) -> Value {
        let status = self.status();
        json!({
            "ociVersion": crate::OCI_VERSION,
            "id": self.id,
            "pid": if status == Status::Stopped { 0 } else { self.pid },
            "status": status.as_str(),
            "bundle": self.bundle,
            "rootfs": self.rootfs,
            "created": self.created,
            "owner": "",
            "annotations": self.annotations,
        })
    }
}

/// (state letter, start time) of process `pid`, from /proc/PID/stat.
pub fn proc_stat(pid: i32) -> Option<(char, u64)> {
    if pid <= 0 {
        return None;
    }
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields follow the
    // last ')'.
    let rest = &text[text.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    // Field 3 is the state; start time is field 22, i.e. 19 after it.
    let start = fields.nth(18)?.parse().ok()?;
    Some((state, start))
}

/// One container's directory, locked for as long as this value lives.
pub struct Dir {
    pub path: PathBuf,
    _lock: File,
}

fn lock(path: &Path) -> Result<File, OciError> {
    let lock_path = path.join(LOCK);
    let f = File::options()
        .create(true)
        .write(true)
        .truncate(false)
        .open(&lock_path)
        .map_err(|e| OciError::io(&lock_path, e))?;
    // SAFETY: flock on a descriptor we own; blocks until the lock is free.
    if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(OciError::io(&lock_path, std::io::Error::last_os_error()));
    }
    Ok(f)
}

impl Dir {
    /// Creates the directory of a new container `id` (an error if one
    /// exists, whoever's it is) and locks it.
    pub fn create(root: &Path, id: &str) -> Result<Dir, OciError> {
        fs::create_dir_all(root).map_err(|e| OciError::io(root, e))?;
        let path = root.join(id);
        match fs::create_dir(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                if !remove_debris(&path) {
                    return Err(OciError::Exists(id.to_owned()));
                }
                fs::create_dir(&path).map_err(|_| OciError::Exists(id.to_owned()))?;
            }
            Err(e) => return Err(OciError::io(&path, e)),
        }
        let lock = lock(&path)?;
        Ok(Dir { path, _lock: lock })
    }

    /// Opens and locks Corten's container `id`; `None` when there is no such
    /// container or it is not Corten's.
    pub fn open(root: &Path, id: &str) -> Result<Option<(Dir, State)>, OciError> {
        let path = root.join(id);
        if !path.join(STATE_FILE).exists() {
            return Ok(None);
        }
        let lock = match lock(&path) {
            Ok(l) => l,
            // Deleted meanwhile.
            Err(OciError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                return Ok(None)
            }
            Err(e) => return Err(e),
        };
        let dir = Dir { path, _lock: lock };
        // Deleted while we waited for the lock.
        let Some(state) = dir.read()? else {
            return Ok(None);
        };
        Ok(Some((dir, state)))
    }

    fn read(&self) -> Result<Option<State>, OciError> {
        let p = self.path.join(STATE_FILE);
        let text = match fs::read_to_string(&p) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(OciError::io(&p, e)),
        };
        let v: Value = serde_json::from_str(&text).map_err(|e| OciError::State {
            path: p.clone(),
            why: e.to_string(),
        })?;
        State::from_json(&p, &v).map(Some)
    }

    /// Writes `state` atomically.
    pub fn save(&self, state: &State) -> Result<(), OciError> {
        write_atomic(
            &self.path.join(STATE_FILE),
            state.to_json().to_string().as_bytes(),
        )
    }

    /// The lock's descriptor, for a forked child to close: the lock lives
    /// as long as any descriptor of it, and the container's init must not
    /// hold it while it waits for `start`.
    pub fn lock_fd(&self) -> std::os::fd::RawFd {
        self._lock.as_raw_fd()
    }

    /// Removes the container's directory (state, fifo, lock).
    pub fn remove(self) -> Result<(), OciError> {
        fs::remove_dir_all(&self.path).map_err(|e| OciError::io(&self.path, e))
    }
}

/// Removes `path` if it is what a `create` killed half-way leaves: no
/// state of Corten's or runc's, and nobody holding its lock. Whether it
/// was removed.
fn remove_debris(path: &Path) -> bool {
    if path.join(STATE_FILE).exists() || path.join("state.json").exists() {
        return false;
    }
    let Ok(f) = File::options().write(true).open(path.join(LOCK)) else {
        // No lock file at all: a create that died before taking it.
        return fs::remove_dir_all(path).is_ok();
    };
    // SAFETY: non-blocking flock on a descriptor we own.
    if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        return false; // a create is running right now
    }
    fs::remove_dir_all(path).is_ok()
}

/// Writes `bytes` to `path` through a synced temporary file and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), OciError> {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let mut f = File::create(&tmp).map_err(|e| OciError::io(&tmp, e))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(|e| OciError::io(&tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| OciError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        for ok in ["c1", "a.b", "x_y-z+1", "0123456789abcdef"] {
            check_id(ok).unwrap();
        }
        for bad in ["", ".", "..", ".hidden", "a/b", "a b", "é"] {
            assert!(check_id(bad).is_err(), "{bad}");
        }
        assert!(check_id(&"a".repeat(1025)).is_err());
    }

    #[test]
    fn own_process_is_alive_and_a_reused_pid_is_not() {
        let me = std::process::id() as i32;
        let (state, start) = proc_stat(me).unwrap();
        assert_ne!(state, 'Z');
        let mut s = State {
            id: "c".into(),
            bundle: "/b".into(),
            rootfs: "/b/rootfs".into(),
            pid: me,
            start_time: start,
            created: crate::time::now_rfc3339(),
            annotations: BTreeMap::new(),
            cgroups: vec![],
            started: false,
            tender: "corten-spt".into(),
            net: Some(NetSetup {
                netns: "/run/netns/p".into(),
                ifaces: vec!["eth0".into()],
            }),
            guest_mem_mib: 48,
        };
        assert_eq!(s.status(), Status::Created);
        s.started = true;
        assert_eq!(s.status(), Status::Running);
        assert_eq!(s.oci_state()["pid"], me);
        let back = State::from_json(Path::new("x"), &s.to_json()).unwrap();
        assert_eq!(back, s);
        s.start_time += 1;
        assert_eq!(s.status(), Status::Stopped);
        assert_eq!(s.oci_state()["pid"], 0);
    }

    #[test]
    fn create_refuses_an_existing_container_but_clears_debris() {
        let root = std::env::temp_dir().join(format!("corten-oci-state-{}", std::process::id()));
        // Being created (lock held): refused.
        let d = Dir::create(&root, "c1").unwrap();
        assert!(matches!(Dir::create(&root, "c1"), Err(OciError::Exists(_))));
        drop(d);
        // A create killed half-way (directory and lock, no state): cleared.
        let d = Dir::create(&root, "c1").unwrap();
        let state = State::from_json(
            Path::new("x"),
            &json!({"id": "c1", "bundle": "/b", "rootfs": "/r", "pid": 1, "created": "t", "tender": "corten-spt"}),
        )
        .unwrap();
        // With state: a real container, refused even unlocked.
        d.save(&state).unwrap();
        drop(d);
        assert!(matches!(Dir::create(&root, "c1"), Err(OciError::Exists(_))));
        // runc's: refused too.
        fs::create_dir_all(root.join("r1")).unwrap();
        fs::write(root.join("r1/state.json"), "{}").unwrap();
        assert!(matches!(Dir::create(&root, "r1"), Err(OciError::Exists(_))));
        // No lock file at all: cleared.
        fs::create_dir_all(root.join("c2")).unwrap();
        Dir::create(&root, "c2").unwrap().remove().unwrap();
        fs::remove_dir_all(&root).unwrap();
    }
}
