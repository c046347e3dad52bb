//! The parts of a bundle's `config.json` (OCI runtime spec 1.x) that
//! corten-oci uses. Read as JSON values, so fields it does not use (hooks,
//! seccomp of the container process, capabilities) never make a bundle
//! unreadable; the ones it does use are checked for type.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::OciError;

/// config.json is a few KiB; refuse anything absurd before parsing it.
const MAX_CONFIG: u64 = 16 << 20;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Namespace {
    /// `network`, `mount`, `pid`, `ipc`, `uts`, `cgroup`, `user`, `time`.
    pub kind: String,
    /// Join this one (e.g. the pod's netns) instead of creating a new one.
    pub path: Option<PathBuf>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mount {
    pub destination: String,
    pub kind: String,
    pub source: Option<String>,
    pub options: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spec {
    /// The rootfs, absolute (a relative `root.path` is the bundle's).
    pub rootfs: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub terminal: bool,
    pub user: User,
    pub hostname: Option<String>,
    pub annotations: BTreeMap<String, String>,
    pub mounts: Vec<Mount>,
    pub namespaces: Vec<Namespace>,
    pub cgroups_path: Option<String>,
    /// `linux.resources.memory.limit`, bytes (absent, or -1: none).
    pub memory_limit: Option<u64>,
}

struct Reader<'a> {
    path: &'a Path,
}

impl Reader<'_> {
    fn bad(&self, why: impl Into<String>) -> OciError {
        OciError::Spec {
            path: self.path.to_owned(),
            why: why.into(),
        }
    }

    fn string(&self, v: &Value, field: &str) -> Result<String, OciError> {
        v.as_str()
            .map(str::to_owned)
            .ok_or_else(|| self.bad(format!("{field} must be a string")))
    }

    fn strings(&self, v: Option<&Value>, field: &str) -> Result<Vec<String>, OciError> {
        match v {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(a)) => a.iter().map(|x| self.string(x, field)).collect(),
            Some(_) => Err(self.bad(format!("{field} must be an array of strings"))),
        }
    }

    fn u32(&self, v: Option<&Value>, field: &str) -> Result<u32, OciError> {
        match v {
            None | Some(Value::Null) => Ok(0),
            Some(x) => x
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| self.bad(format!("{field} must be a 32-bit unsigned number"))),
        }
    }
}

impl Spec {
    /// Reads `bundle/config.json`.
    pub fn load(bundle: &Path) -> Result<Spec, OciError> {
        let path = bundle.join("config.json");
        let file = std::fs::File::open(&path).map_err(|e| OciError::io(&path, e))?;
        let len = file.metadata().map_err(|e| OciError::io(&path, e))?.len();
        if len > MAX_CONFIG {
            return Err(OciError::Spec {
                path,
                why: format!("{len} bytes, expected at most {MAX_CONFIG}"),
            });
        }
        let v: Value =
            serde_json::from_reader(std::io::BufReader::new(file)).map_err(|e| OciError::Spec {
                path: path.clone(),
                why: e.to_string(),
            })?;
        Spec::from_value(bundle, &path, &v)
    }

    pub fn from_value(bundle: &Path, path: &Path, v: &Value) -> Result<Spec, OciError> {
        let r = Reader { path };
        let root = v
            .pointer("/root/path")
            .ok_or_else(|| r.bad("root.path is missing"))?;
        let root = PathBuf::from(r.string(root, "root.path")?);
        let rootfs = if root.is_absolute() {
            root
        } else {
            bundle.join(root)
        };
        let process = v
            .get("process")
            .ok_or_else(|| r.bad("process is missing"))?;
        let args = r.strings(process.get("args"), "process.args")?;
        if args.is_empty() {
            return Err(r.bad("process.args is empty, expected the program to run"));
        }
        let user = User {
            uid: r.u32(process.pointer("/user/uid"), "process.user.uid")?,
            gid: r.u32(process.pointer("/user/gid"), "process.user.gid")?,
            additional_gids: match process.pointer("/user/additionalGids") {
                Some(Value::Array(a)) => a
                    .iter()
                    .map(|g| r.u32(Some(g), "process.user.additionalGids"))
                    .collect::<Result<_, _>>()?,
                _ => Vec::new(),
            },
        };
        let mut annotations = BTreeMap::new();
        if let Some(Value::Object(m)) = v.get("annotations") {
            for (k, val) in m {
                annotations.insert(k.clone(), r.string(val, &format!("annotations.{k}"))?);
            }
        }
        let mut mounts = Vec::new();
        if let Some(Value::Array(ms)) = v.get("mounts") {
            for m in ms {
                mounts.push(Mount {
                    destination: r.string(
                        m.get("destination").unwrap_or(&Value::Null),
                        "mounts[].destination",
                    )?,
                    kind: m
                        .get("type")
                        .and_then(Value::as_str)
                        .unwrap_or("bind")
                        .to_owned(),
                    source: m.get("source").and_then(Value::as_str).map(str::to_owned),
                    options: r.strings(m.get("options"), "mounts[].options")?,
                });
            }
        }
        let mut namespaces = Vec::new();
        if let Some(Value::Array(ns)) = v.pointer("/linux/namespaces") {
            for n in ns {
                namespaces.push(Namespace {
                    kind: r.string(
                        n.get("type").unwrap_or(&Value::Null),
                        "linux.namespaces[].type",
                    )?,
                    path: n
                        .get("path")
                        .and_then(Value::as_str)
                        .filter(|p| !p.is_empty())
                        .map(PathBuf::from),
                });
            }
        }
        let memory_limit = match v.pointer("/linux/resources/memory/limit") {
            Some(l) => match l.as_i64() {
                Some(n) if n > 0 => Some(n as u64),
                Some(_) => None,
                None => return Err(r.bad("linux.resources.memory.limit must be a number")),
            },
            None => None,
        };
        Ok(Spec {
            rootfs,
            args,
            env: r.strings(process.get("env"), "process.env")?,
            terminal: process
                .get("terminal")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            user,
            hostname: v.get("hostname").and_then(Value::as_str).map(str::to_owned),
            annotations,
            mounts,
            namespaces,
            cgroups_path: v
                .pointer("/linux/cgroupsPath")
                .and_then(Value::as_str)
                .filter(|p| !p.is_empty())
                .map(str::to_owned),
            memory_limit,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(v: Value) -> Result<Spec, OciError> {
        Spec::from_value(Path::new("/b"), Path::new("/b/config.json"), &v)
    }

    #[test]
    fn a_containerd_config() {
        let s = spec(json!({
            "ociVersion": "1.0.2-dev",
            "process": {"user": {"uid": 0, "gid": 0, "additionalGids": [0]},
                        "args": ["/unikernel/hello.spt", "Hello"], "env": ["PATH=/bin"],
                        "cwd": "/", "terminal": true},
            "root": {"path": "rootfs"},
            "hostname": "h",
            "annotations": {"io.corten.mem": "64"},
            "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
                       {"destination": "/data", "type": "bind", "source": "/srv/d", "options": ["rbind", "ro"]}],
            "linux": {"cgroupsPath": "/default/c1",
                      "namespaces": [{"type": "pid"}, {"type": "network", "path": "/var/run/netns/p"}],
                      "resources": {"memory": {"limit": 134217728}}}
        }))
        .unwrap();
        assert_eq!(s.rootfs, PathBuf::from("/b/rootfs"));
        assert_eq!(s.args, ["/unikernel/hello.spt", "Hello"]);
        assert!(s.terminal);
        assert_eq!(s.user.additional_gids, [0]);
        assert_eq!(s.annotations["io.corten.mem"], "64");
        assert_eq!(s.mounts[1].options, ["rbind", "ro"]);
        assert_eq!(
            s.namespaces[1].path,
            Some(PathBuf::from("/var/run/netns/p"))
        );
        assert_eq!(s.cgroups_path.as_deref(), Some("/default/c1"));
        assert_eq!(s.memory_limit, Some(128 << 20));
    }

    #[test]
    fn errors_name_the_field() {
        for (v, field) in [
            (json!({"process": {"args": ["x"]}}), "root.path"),
            (json!({"root": {"path": "r"}}), "process"),
            (
                json!({"root": {"path": "r"}, "process": {"args": []}}),
                "process.args",
            ),
            (
                json!({"root": {"path": 3}, "process": {"args": ["x"]}}),
                "root.path",
            ),
            (
                json!({"root": {"path": "r"}, "process": {"args": ["x"], "user": {"uid": -1}}}),
                "uid",
            ),
            (
                json!({"root": {"path": "r"}, "process": {"args": ["x"]}, "annotations": {"a": 1}}),
                "annotations.a",
            ),
        ] {
            let e = spec(v).unwrap_err().to_string();
            assert!(e.contains(field), "{e}");
        }
    }
}
