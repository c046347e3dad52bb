//! The container's cgroup (`linux.cgroupsPath`): created in every mounted
//! hierarchy (cgroup v1 controllers, or the one v2 hierarchy), the init
//! moved into it before it runs anything, the memory limit applied, frozen
//! and thawed for pause and resume, and everything removed on delete.
//!
//! Paths are taken as runc's cgroupfs driver takes them: an absolute path
//! from each hierarchy's root. The systemd form `slice:prefix:name` is
//! mapped to `slice/prefix-name.scope` (the layout systemd would create),
//! without asking systemd, which these machines do not run.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::OciError;

/// One cgroup hierarchy mounted on this host.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Hierarchy {
    mount: PathBuf,
    v2: bool,
    memory: bool,
    cpuset: bool,
}

/// The hierarchies in /proc/self/mountinfo. With a pure v2 host only the
/// v2 one; on hybrid hosts (v1 controllers plus an empty v2 hierarchy)
/// the v1 controllers, as runc uses them.
fn hierarchies(mountinfo: &str) -> Vec<Hierarchy> {
    let mut v1 = Vec::new();
    let mut v2 = Vec::new();
    for line in mountinfo.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let mount = left.split_whitespace().nth(4).unwrap_or("");
        let mut r = right.split_whitespace();
        let fstype = r.next().unwrap_or("");
        let options = r.nth(1).unwrap_or("");
        match fstype {
            "cgroup2" => v2.push(Hierarchy {
                mount: PathBuf::from(mount),
                v2: true,
                memory: true,
                cpuset: false,
            }),
            "cgroup" => v1.push(Hierarchy {
                mount: PathBuf::from(mount),
                v2: false,
                memory: options.split(',').any(|o| o == "memory"),
                cpuset: options.split(',').any(|o| o == "cpuset"),
            }),
            _ => {}
        }
    }
    if v1.is_empty() {
        v2
    } else {
        v1
    }
}

/// `cgroupsPath` as a path below each hierarchy's root.
pub fn relative_path(cgroups_path: &str) -> Result<PathBuf, OciError> {
    let p = match cgroups_path.split(':').collect::<Vec<_>>()[..] {
        [slice, prefix, name] if !cgroups_path.starts_with('/') => {
            let slice = if slice.is_empty() {
                "system.slice"
            } else {
                slice
            };
            format!("{slice}/{prefix}-{name}.scope")
        }
        _ => cgroups_path.to_owned(),
    };
    let rel = PathBuf::from(p.trim_start_matches('/'));
    let safe = rel
        .components()
        .all(|c| matches!(c, std::path::Component::Normal(_)));
    if !safe || rel.as_os_str().is_empty() {
        return Err(OciError::Usage(format!(
            "invalid cgroupsPath {cgroups_path:?}: expected a path without '..'"
        )));
    }
    Ok(rel)
}

/// Creates the cgroup in every hierarchy, moves `pid` into it and applies
/// `memory_limit`. Returns the directories created (for [`remove`]).
pub fn enter(
    cgroups_path: &str,
    pid: i32,
    memory_limit: Option<u64>,
) -> Result<Vec<PathBuf>, OciError> {
    let rel = relative_path(cgroups_path)?;
    let info = fs::read_to_string("/proc/self/mountinfo")
        .map_err(|e| OciError::io("/proc/self/mountinfo", e))?;
    let mut made = Vec::new();
    for h in hierarchies(&info) {
        let dir = h.mount.join(&rel);
        fs::create_dir_all(&dir).map_err(|e| OciError::io(&dir, e))?;
        made.push(dir.clone());
        if h.v2 {
            delegate_controllers(&h.mount, &rel);
        }
        if h.cpuset {
            inherit_cpuset(&h.mount, &rel)?;
        }
        if let (Some(limit), true) = (memory_limit, h.memory) {
            let file = dir.join(if h.v2 {
                "memory.max"
            } else {
                "memory.limit_in_bytes"
            });
            fs::write(&file, limit.to_string()).map_err(|e| OciError::io(&file, e))?;
        }
        let procs = dir.join("cgroup.procs");
        fs::write(&procs, pid.to_string()).map_err(|e| OciError::io(&procs, e))?;
    }
    Ok(made)
}

/// In cgroup v2 a cgroup has the files of a controller (memory.max,
/// cpu.max, pids.max) only when its parent enables that controller for its
/// children: every level above the container's cgroup enables what it has
/// (as runc does). A level that cannot (a controller held by v1, a parent
/// with processes of its own) is left as it is: a limit that then has no
/// file is reported where it is written.
fn delegate_controllers(mount: &Path, rel: &Path) {
    let mut at = mount.to_owned();
    let levels: Vec<_> = rel.components().collect();
    for c in &levels[..levels.len().saturating_sub(1)] {
        enable_all(&at);
        at.push(c);
    }
    enable_all(&at);
}

/// Enables every controller `dir` has for its children: all at once, or
/// one by one if the kernel refuses the whole list.
fn enable_all(dir: &Path) {
    let Ok(have) = fs::read_to_string(dir.join("cgroup.controllers")) else {
        return;
    };
    let wanted: Vec<String> = have.split_whitespace().map(|c| format!("+{c}")).collect();
    if wanted.is_empty() {
        return;
    }
    let control = dir.join("cgroup.subtree_control");
    if fs::write(&control, wanted.join(" ")).is_err() {
        for w in &wanted {
            let _ = fs::write(&control, w);
        }
    }
}

/// Whether `dir` is a cgroup of the v2 hierarchy (every v2 cgroup lists
/// its controllers; no v1 one does).
pub fn is_v2(dir: &Path) -> bool {
    dir.join("cgroup.controllers").exists()
}

/// A v1 cpuset cgroup starts with no CPUs and no memory nodes, and takes
/// no task until it has some: each level created gets its parent's.
fn inherit_cpuset(mount: &Path, rel: &Path) -> Result<(), OciError> {
    let mut at = mount.to_owned();
    for c in rel.components() {
        let parent = at.clone();
        at.push(c);
        for f in ["cpuset.cpus", "cpuset.mems"] {
            let mine = at.join(f);
            let empty = fs::read_to_string(&mine)
                .map(|v| v.trim().is_empty())
                .unwrap_or(false);
            if empty {
                let theirs = fs::read_to_string(parent.join(f))
                    .map_err(|e| OciError::io(parent.join(f), e))?;
                fs::write(&mine, theirs.trim()).map_err(|e| OciError::io(&mine, e))?;
            }
        }
    }
    Ok(())
}

/// Every process in the container's cgroups.
pub fn pids(dirs: &[PathBuf]) -> Vec<i32> {
    let mut all: Vec<i32> = dirs
        .iter()
        .filter_map(|d| fs::read_to_string(d.join("cgroup.procs")).ok())
        .flat_map(|t| {
            t.lines()
                .filter_map(|l| l.trim().parse().ok())
                .collect::<Vec<i32>>()
        })
        .collect();
    all.sort_unstable();
    all.dedup();
    all
}

/// How long [`freeze`] waits for every process to be frozen or thawed.
const FREEZE_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// The freezer of one of the container's cgroup directories: the v2
/// `cgroup.freeze` knob, or the v1 freezer controller's `freezer.state`.
enum Freezer {
    V2(PathBuf),
    V1(PathBuf),
}

impl Freezer {
    fn of(dir: &Path) -> Option<Freezer> {
        let v1 = dir.join("freezer.state");
        if is_v2(dir) && dir.join("cgroup.freeze").exists() {
            Some(Freezer::V2(dir.to_owned()))
        } else if v1.exists() {
            Some(Freezer::V1(v1))
        } else {
            None
        }
    }

    fn request(&self, frozen: bool) -> Result<(), OciError> {
        let (file, value) = match self {
            Freezer::V2(d) => (d.join("cgroup.freeze"), if frozen { "1" } else { "0" }),
            Freezer::V1(f) => (f.clone(), if frozen { "FROZEN" } else { "THAWED" }),
        };
        fs::write(&file, value).map_err(|e| OciError::io(&file, e))
    }

    /// Whether every process of the cgroup is frozen now (v2 reports it in
    /// cgroup.events; v1 says FREEZING until it is done).
    fn is_frozen(&self) -> bool {
        match self {
            Freezer::V2(d) => fs::read_to_string(d.join("cgroup.events"))
                .is_ok_and(|t| t.lines().any(|l| l.trim() == "frozen 1")),
            Freezer::V1(f) => fs::read_to_string(f).is_ok_and(|t| t.trim() == "FROZEN"),
        }
    }
}

/// Whether the container's cgroup is frozen (`pause`d).
pub fn frozen(dirs: &[PathBuf]) -> bool {
    dirs.iter()
        .filter_map(|d| Freezer::of(d))
        .any(|f| f.is_frozen())
}

/// Freezes (`pause`) or thaws (`resume`) every process of the container and
/// waits until the kernel reports it done. A container without a freezer
/// (no `cgroupsPath`, no v1 freezer controller mounted) cannot be paused.
pub fn freeze(dirs: &[PathBuf], frozen: bool) -> Result<(), OciError> {
    let Some(f) = dirs.iter().find_map(|d| Freezer::of(d)) else {
        return Err(OciError::Usage(
            "the container has no freezer cgroup (it was created without \
             linux.cgroupsPath, or no freezer controller is mounted)"
                .into(),
        ));
    };
    f.request(frozen)?;
    let deadline = std::time::Instant::now() + FREEZE_WAIT;
    while f.is_frozen() != frozen {
        if std::time::Instant::now() > deadline {
            // Leave it running rather than half-frozen.
            let _ = f.request(false);
            return Err(OciError::Init(format!(
                "the container's processes were not {} within {} s",
                if frozen { "frozen" } else { "thawed" },
                FREEZE_WAIT.as_secs()
            )));
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    Ok(())
}

/// Removes the container's cgroups (empty once its processes are gone).
pub fn remove(dirs: &[PathBuf]) -> Result<(), OciError> {
    for d in dirs {
        match fs::remove_dir(d) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(OciError::io(d, e)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";
    const V2: &str = "30 23 0:27 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n";

    #[test]
    fn hybrid_uses_v1_and_pure_v2_its_one_hierarchy() {
        let h = hierarchies(HYBRID);
        assert_eq!(h.len(), 2);
        assert!(!h[0].memory && h[1].memory && !h[1].v2);
        let h = hierarchies(V2);
        assert_eq!(
            h,
            [Hierarchy {
                mount: "/sys/fs/cgroup".into(),
                v2: true,
                memory: true,
                cpuset: false
            }]
        );
    }

    /// Freezes and thaws a real process in a v1 freezer and in a v2
    /// hierarchy, wherever this host has them mounted (needs root).
    #[test]
    fn freezing_a_real_process() {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("skipped: freezing_a_real_process needs root (cgroups)");
            return;
        }
        let info = fs::read_to_string("/proc/self/mountinfo").unwrap();
        let mounts: Vec<PathBuf> = info
            .lines()
            .filter_map(|l| {
                let (left, right) = l.split_once(" - ")?;
                let fs = right.split_whitespace().next()?;
                let opts = right.split_whitespace().nth(2)?;
                let v1_freezer = fs == "cgroup" && opts.split(',').any(|o| o == "freezer");
                let mount = PathBuf::from(left.split_whitespace().nth(4)?);
                (fs == "cgroup2" || v1_freezer).then_some(mount)
            })
            .collect();
        assert!(
            !mounts.is_empty(),
            "no freezer: neither cgroup2 nor a v1 freezer is mounted"
        );
        for mount in mounts {
            let dir = mount.join(format!("corten-oci-freeze-test-{}", std::process::id()));
            fs::create_dir_all(&dir).unwrap();
            let mut child = std::process::Command::new("sleep")
                .arg("30")
                .spawn()
                .unwrap();
            fs::write(dir.join("cgroup.procs"), child.id().to_string()).unwrap();
            let dirs = [dir.clone()];
            assert!(!frozen(&dirs), "{}", dir.display());
            freeze(&dirs, true).unwrap();
            assert!(frozen(&dirs), "{}", dir.display());
            freeze(&dirs, false).unwrap();
            assert!(!frozen(&dirs), "{}", dir.display());
            child.kill().unwrap();
            child.wait().unwrap();
            // The cgroup empties once the killed child is reaped.
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
            while fs::remove_dir(&dir).is_err() && std::time::Instant::now() < deadline {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            assert!(!dir.exists(), "{} left", dir.display());
        }
        let none = freeze(&[PathBuf::from("/nonexistent")], true).unwrap_err();
        assert!(none.to_string().contains("no freezer cgroup"), "{none}");
    }

    #[test]
    fn v2_levels_above_the_container_enable_their_controllers() {
        let root = std::env::temp_dir().join(format!("corten-oci-v2-{}", std::process::id()));
        let rel = Path::new("kubepods/pod1/c1");
        fs::create_dir_all(root.join(rel)).unwrap();
        for (d, have) in [
            ("", "cpu memory pids"),
            ("kubepods", "cpu memory"),
            ("kubepods/pod1", ""),
        ] {
            fs::write(root.join(d).join("cgroup.controllers"), have).unwrap();
        }
        delegate_controllers(&root, rel);
        let control =
            |d: &str| fs::read_to_string(root.join(d).join("cgroup.subtree_control")).ok();
        assert_eq!(control("").as_deref(), Some("+cpu +memory +pids"));
        assert_eq!(control("kubepods").as_deref(), Some("+cpu +memory"));
        // Nothing to enable, and never inside the container's own cgroup.
        assert_eq!(control("kubepods/pod1"), None);
        assert_eq!(control("kubepods/pod1/c1"), None);
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn paths() {
        assert_eq!(
            relative_path("/default/c1").unwrap(),
            PathBuf::from("default/c1")
        );
        assert_eq!(
            relative_path("kubepods.slice:cri-containerd:abc").unwrap(),
            PathBuf::from("kubepods.slice/cri-containerd-abc.scope")
        );
        for bad in ["/a/../b", "", "/", "../x"] {
            assert!(relative_path(bad).is_err(), "{bad}");
        }
    }
}
