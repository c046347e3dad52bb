//! `update`: new resource limits for a live container, as containerd's
//! shim passes them for CRI's UpdateContainerResources (`update
//! --resources - ID`, the OCI `LinuxResources` JSON on stdin) or as runc's
//! flags give them (`--memory 256m --cpu-quota 50000 …`).
//!
//! CPU, cpuset, pids and block I/O weight are written to the container's
//! cgroups (v1 files or their v2 equivalents). A unikernel's memory is
//! fixed when it boots, so a memory limit is applied only if it still
//! holds the guest and the tender; a lower one is refused with the reason
//! rather than left to the OOM killer.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::cgroup;
use crate::error::OciError;
use crate::image::TENDER_RESERVE_MIB;

/// The limits one `update` changes; `None` leaves a limit as it is. A
/// value of -1 means "no limit" (as in the OCI spec).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resources {
    pub memory: Option<i64>,
    pub memory_reservation: Option<i64>,
    pub memory_swap: Option<i64>,
    pub cpu_shares: Option<u64>,
    pub cpu_quota: Option<i64>,
    pub cpu_period: Option<u64>,
    pub cpuset_cpus: Option<String>,
    pub cpuset_mems: Option<String>,
    pub pids_limit: Option<i64>,
    pub blkio_weight: Option<u64>,
}

/// runc update's flags that set a limit.
pub const FLAGS: [&str; 11] = [
    "--memory",
    "-m",
    "--memory-reservation",
    "--memory-swap",
    "--cpu-shares",
    "--cpu-quota",
    "--cpu-period",
    "--cpuset-cpus",
    "--cpuset-mems",
    "--pids-limit",
    "--blkio-weight",
];

fn bad(what: &str, v: &str, expected: &str) -> OciError {
    OciError::Usage(format!("update: {what} {v:?}: expected {expected}"))
}

/// A byte count as runc takes it: a number with an optional k, m, g or t
/// suffix (powers of 1024), or -1.
pub fn parse_bytes(what: &str, v: &str) -> Result<i64, OciError> {
    let expected = "a number of bytes, optionally with k, m, g or t, or -1";
    if v == "-1" {
        return Ok(-1);
    }
    let lower = v.to_ascii_lowercase();
    let trimmed = lower.trim_end_matches('b');
    let (digits, shift) = match trimmed.char_indices().last() {
        Some((i, 'k')) => (&trimmed[..i], 10),
        Some((i, 'm')) => (&trimmed[..i], 20),
        Some((i, 'g')) => (&trimmed[..i], 30),
        Some((i, 't')) => (&trimmed[..i], 40),
        _ => (trimmed, 0),
    };
    let n: i64 = digits.parse().map_err(|_| bad(what, v, expected))?;
    n.checked_mul(1i64 << shift)
        .filter(|&b| b >= 0)
        .ok_or_else(|| bad(what, v, expected))
}

impl Resources {
    /// Sets the limit of runc update's flag `name` to `v`.
    pub fn set_flag(&mut self, name: &str, v: &str) -> Result<(), OciError> {
        let int = |v: &str| v.parse::<i64>().map_err(|_| bad(name, v, "a number"));
        let uint = |v: &str| v.parse::<u64>().map_err(|_| bad(name, v, "a number"));
        match name {
            "--memory" | "-m" => self.memory = Some(parse_bytes(name, v)?),
            "--memory-reservation" => self.memory_reservation = Some(parse_bytes(name, v)?),
            "--memory-swap" => self.memory_swap = Some(parse_bytes(name, v)?),
            "--cpu-shares" => self.cpu_shares = Some(uint(v)?),
            "--cpu-quota" => self.cpu_quota = Some(int(v)?),
            "--cpu-period" => self.cpu_period = Some(uint(v)?),
            "--cpuset-cpus" => self.cpuset_cpus = Some(v.to_owned()),
            "--cpuset-mems" => self.cpuset_mems = Some(v.to_owned()),
            "--pids-limit" => self.pids_limit = Some(int(v)?),
            "--blkio-weight" => self.blkio_weight = Some(uint(v)?),
            other => return Err(OciError::Usage(format!("update: unknown option {other}"))),
        }
        Ok(())
    }

    /// `self` with every limit `over` sets replaced (runc: flags win over
    /// `--resources`).
    pub fn overlay(self, over: &Resources) -> Resources {
        let o = over.clone();
        Resources {
            memory: o.memory.or(self.memory),
            memory_reservation: o.memory_reservation.or(self.memory_reservation),
            memory_swap: o.memory_swap.or(self.memory_swap),
            cpu_shares: o.cpu_shares.or(self.cpu_shares),
            cpu_quota: o.cpu_quota.or(self.cpu_quota),
            cpu_period: o.cpu_period.or(self.cpu_period),
            cpuset_cpus: o.cpuset_cpus.or(self.cpuset_cpus),
            cpuset_mems: o.cpuset_mems.or(self.cpuset_mems),
            pids_limit: o.pids_limit.or(self.pids_limit),
            blkio_weight: o.blkio_weight.or(self.blkio_weight),
        }
    }

    /// The OCI `LinuxResources` object (what `--resources` reads).
    pub fn from_json(text: &str) -> Result<Resources, OciError> {
        let v: Value = serde_json::from_str(text)
            .map_err(|e| OciError::Usage(format!("update --resources: not JSON: {e}")))?;
        if !v.is_object() {
            return Err(OciError::Usage(
                "update --resources: expected a JSON object (OCI LinuxResources)".into(),
            ));
        }
        let field = |ptr: &str| v.pointer(ptr).filter(|x| !x.is_null());
        let int = |ptr: &str| -> Result<Option<i64>, OciError> {
            field(ptr)
                .map(|x| {
                    x.as_i64().ok_or_else(|| {
                        OciError::Usage(format!("update --resources: {ptr} must be a number"))
                    })
                })
                .transpose()
        };
        let uint = |ptr: &str| -> Result<Option<u64>, OciError> {
            // containerd writes 0 for "not set".
            Ok(int(ptr)?
                .filter(|&n| n != 0)
                .map(|n| u64::try_from(n).unwrap_or(0)))
        };
        let text = |ptr: &str| {
            field(ptr)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        Ok(Resources {
            memory: int("/memory/limit")?.filter(|&n| n != 0),
            memory_reservation: int("/memory/reservation")?.filter(|&n| n != 0),
            memory_swap: int("/memory/swap")?.filter(|&n| n != 0),
            cpu_shares: uint("/cpu/shares")?,
            cpu_quota: int("/cpu/quota")?.filter(|&n| n != 0),
            cpu_period: uint("/cpu/period")?,
            cpuset_cpus: text("/cpu/cpus"),
            cpuset_mems: text("/cpu/mems"),
            pids_limit: int("/pids/limit")?.filter(|&n| n != 0),
            blkio_weight: uint("/blockIO/weight")?,
        })
    }

    /// `--resources FILE` (or `-`: standard input), at most [`MAX_JSON`]
    /// bytes of it.
    pub fn from_file(path: &str) -> Result<Resources, OciError> {
        let source: Box<dyn Read> = if path == "-" {
            Box::new(std::io::stdin())
        } else {
            // Non-blocking, and only a regular file: a FIFO with no writer
            // would hang the command.
            use std::os::unix::fs::OpenOptionsExt;
            let f = fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(path)
                .map_err(|e| OciError::io(path, e))?;
            if !f.metadata().map_err(|e| OciError::io(path, e))?.is_file() {
                return Err(OciError::Usage(format!(
                    "update --resources {path}: not a regular file (give a file, or - for \
                     standard input)"
                )));
            }
            Box::new(f)
        };
        let mut text = String::new();
        source
            .take(MAX_JSON + 1)
            .read_to_string(&mut text)
            .map_err(|e| OciError::io(path, e))?;
        if text.len() as u64 > MAX_JSON {
            return Err(OciError::Usage(format!(
                "update --resources {path}: more than {MAX_JSON} bytes; a LinuxResources \
                 object is a few hundred"
            )));
        }
        Resources::from_json(&text)
    }
}

/// The most `--resources` reads.
const MAX_JSON: u64 = 1 << 20;

/// "max" for no limit, else the number.
fn limit(n: i64) -> String {
    if n < 0 {
        "max".to_owned()
    } else {
        n.to_string()
    }
}

/// runc's mapping of cgroup v1 cpu.shares (2..262144) to v2 cpu.weight
/// (1..10000).
fn shares_to_weight(shares: u64) -> u64 {
    let s = shares.clamp(2, 262_144);
    1 + (s - 2) * 9999 / 262_142
}

/// One write: the file `v1` in a v1 hierarchy's directory, or `v2` in the
/// v2 one, whichever the container has.
struct Write {
    v1: &'static str,
    v2: &'static str,
    value_v1: String,
    /// `None`: this limit goes to v2 with another write (cpu.max holds
    /// both quota and period).
    value_v2: Option<V2>,
}

/// What a v2 file is given.
enum V2 {
    Text(String),
    /// cpu.max with a new period and the quota in force kept (the kernel
    /// wants the quota first; given alone, it keeps the period).
    PeriodKeepingQuota(u64),
}

/// The cgroup writes for `r`, in the order the kernel accepts them.
fn writes(r: &Resources) -> Vec<Write> {
    let mut w = Vec::new();
    let mut both = |v1, v2, value: String| {
        w.push(Write {
            v1,
            v2,
            value_v1: value.clone(),
            value_v2: Some(V2::Text(value)),
        })
    };
    if let Some(c) = &r.cpuset_cpus {
        both("cpuset.cpus", "cpuset.cpus", c.clone());
    }
    if let Some(m) = &r.cpuset_mems {
        both("cpuset.mems", "cpuset.mems", m.clone());
    }
    if let Some(p) = r.pids_limit {
        both(
            "pids.max",
            "pids.max",
            if p <= 0 { "max".into() } else { p.to_string() },
        );
    }
    if let Some(m) = r.memory_reservation {
        w.push(Write {
            v1: "memory.soft_limit_in_bytes",
            v2: "memory.low",
            value_v1: m.to_string(),
            value_v2: Some(V2::Text(if m < 0 { "0".into() } else { m.to_string() })),
        });
    }
    if let Some(m) = r.memory {
        w.push(Write {
            v1: "memory.limit_in_bytes",
            v2: "memory.max",
            value_v1: m.to_string(),
            value_v2: Some(V2::Text(limit(m))),
        });
    }
    if let Some(s) = r.cpu_shares {
        w.push(Write {
            v1: "cpu.shares",
            v2: "cpu.weight",
            value_v1: s.to_string(),
            value_v2: Some(V2::Text(shares_to_weight(s).to_string())),
        });
    }
    if let Some(p) = r.cpu_period {
        w.push(Write {
            v1: "cpu.cfs_period_us",
            v2: "cpu.max",
            value_v1: p.to_string(),
            value_v2: Some(match r.cpu_quota {
                Some(q) => V2::Text(format!("{} {p}", limit(q))),
                None => V2::PeriodKeepingQuota(p),
            }),
        });
    }
    if let Some(q) = r.cpu_quota {
        w.push(Write {
            v1: "cpu.cfs_quota_us",
            v2: "cpu.max",
            value_v1: q.to_string(),
            // With a period, the write above set both.
            value_v2: r.cpu_period.is_none().then(|| V2::Text(limit(q))),
        });
    }
    if let Some(b) = r.blkio_weight {
        w.push(Write {
            v1: "blkio.weight",
            v2: "io.weight",
            value_v1: b.to_string(),
            value_v2: Some(V2::Text(format!("default {b}"))),
        });
    }
    w
}

/// Applies `r` to the container's cgroup directories `dirs`, whose guest
/// has `guest_mem_mib` of memory. Each limit goes to whichever directory
/// has its file; a limit no directory has a file for is an error naming
/// the controller (so a silently ignored CPU limit cannot happen).
pub fn apply(dirs: &[PathBuf], guest_mem_mib: u64, r: &Resources) -> Result<(), OciError> {
    let need = guest_mem_mib
        .saturating_add(TENDER_RESERVE_MIB)
        .saturating_mul(1 << 20);
    if let Some(m) = r.memory.filter(|&m| m >= 0) {
        if (m as u64) < need {
            return Err(OciError::Usage(format!(
                "update: cannot set the memory limit to {m} bytes: the unikernel's memory is \
                 fixed at {guest_mem_mib} MiB when it boots and the tender needs \
                 {TENDER_RESERVE_MIB} MiB beside it, so the limit must be at least {need} \
                 bytes (to give it less memory, recreate the container with a lower limit)"
            )));
        }
    }
    if let (Some(m), Some(s)) = (r.memory, r.memory_swap) {
        if s >= 0 && (m < 0 || s < m) {
            return Err(OciError::Usage(format!(
                "update: memory plus swap ({s} bytes) must be at least the memory limit ({m} \
                 bytes), or -1"
            )));
        }
    }
    if dirs.is_empty() && r != &Resources::default() {
        return Err(OciError::Usage(
            "update: the container has no cgroup (it was created without linux.cgroupsPath)".into(),
        ));
    }
    // v1 keeps memory.memsw.limit_in_bytes (memory + swap) at or above
    // memory.limit_in_bytes at every step: raised first, lowered last.
    let swap_first = r
        .memory_swap
        .is_some_and(|s| s < 0 || !lowers_memsw(dirs, s));
    if swap_first {
        swap(dirs, r.memory, r.memory_swap.unwrap_or(-1))?;
    }
    for w in writes(r) {
        let target = dirs.iter().find_map(|d| {
            let v2 = cgroup::is_v2(d);
            let file = d.join(if v2 { w.v2 } else { w.v1 });
            file.exists().then_some((v2, file))
        });
        match target {
            Some((false, file)) => write(&file, &w.value_v1)?,
            Some((true, file)) => match &w.value_v2 {
                Some(V2::Text(value)) => write(&file, value)?,
                Some(V2::PeriodKeepingQuota(p)) => {
                    let now = fs::read_to_string(&file).map_err(|e| OciError::io(&file, e))?;
                    let quota = now.split_whitespace().next().unwrap_or("max");
                    write(&file, &format!("{quota} {p}"))?
                }
                None => {}
            },
            None => {
                return Err(OciError::Usage(format!(
                    "update: the container's cgroups have no {} (v1) or {} (v2): that \
                     controller is not mounted or not enabled for it",
                    w.v1, w.v2
                )))
            }
        }
    }
    match r.memory_swap {
        Some(s) if !swap_first => swap(dirs, r.memory, s)?,
        _ => {}
    }
    Ok(())
}

/// Whether `swap` is below the v1 memory limit in force now (so it must
/// wait until the memory limit is lowered).
fn lowers_memsw(dirs: &[PathBuf], swap: i64) -> bool {
    dirs.iter()
        .filter(|d| d.join("memory.memsw.limit_in_bytes").exists())
        .filter_map(|d| fs::read_to_string(d.join("memory.limit_in_bytes")).ok())
        .filter_map(|t| t.trim().parse::<u64>().ok())
        .any(|limit| u64::try_from(swap).is_ok_and(|s| s < limit))
}

/// Swap: v1's memory.memsw.limit_in_bytes is memory plus swap; v2's
/// memory.swap.max is swap alone. Hosts without swap accounting have
/// neither file, and then there is nothing to limit.
fn swap(dirs: &[PathBuf], memory: Option<i64>, swap: i64) -> Result<(), OciError> {
    for d in dirs {
        let v1 = d.join("memory.memsw.limit_in_bytes");
        let v2 = d.join("memory.swap.max");
        if v1.exists() {
            return write(&v1, &swap.to_string());
        }
        if v2.exists() {
            let only_swap = match (swap, memory) {
                (s, _) if s < 0 => -1,
                (s, Some(m)) if m >= 0 => s.saturating_sub(m).max(0),
                (s, _) => s,
            };
            return write(&v2, &limit(only_swap));
        }
    }
    Ok(())
}

fn write(file: &Path, value: &str) -> Result<(), OciError> {
    fs::write(file, value).map_err(|e| OciError::io(file, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_counts_as_runc_takes_them() {
        assert_eq!(parse_bytes("m", "512m").unwrap(), 512 << 20);
        assert_eq!(parse_bytes("m", "1G").unwrap(), 1 << 30);
        assert_eq!(parse_bytes("m", "4096").unwrap(), 4096);
        assert_eq!(parse_bytes("m", "64kb").unwrap(), 64 << 10);
        assert_eq!(parse_bytes("m", "-1").unwrap(), -1);
        for bad in ["", "m", "12x", "-5", "99999999999999t"] {
            assert!(parse_bytes("m", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn containerds_resources_json() {
        // As containerd's CRI plugin writes it for UpdateContainerResources.
        let r = Resources::from_json(
            r#"{"memory": {"limit": 536870912, "swap": 536870912},
                "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0", "mems": ""},
                "pids": {"limit": 0}}"#,
        )
        .unwrap();
        assert_eq!(r.memory, Some(512 << 20));
        assert_eq!(r.memory_swap, Some(512 << 20));
        assert_eq!(r.cpu_shares, Some(512));
        assert_eq!((r.cpu_quota, r.cpu_period), (Some(50000), Some(100000)));
        assert_eq!(r.cpuset_cpus.as_deref(), Some("0"));
        assert_eq!((r.cpuset_mems.as_deref(), r.pids_limit), (None, None));
        for bad in ["", "[]", r#"{"memory": {"limit": "lots"}}"#] {
            assert!(Resources::from_json(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn resources_files_are_bounded() {
        let dir = std::env::temp_dir().join(format!("corten-oci-update-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let big = dir.join("big.json");
        fs::write(&big, vec![b' '; (MAX_JSON + 1) as usize]).unwrap();
        let e = Resources::from_file(big.to_str().unwrap()).unwrap_err();
        assert!(e.to_string().contains("more than 1048576 bytes"), "{e}");
        let ok = dir.join("ok.json");
        fs::write(&ok, r#"{"pids": {"limit": 7}}"#).unwrap();
        let r = Resources::from_file(ok.to_str().unwrap()).unwrap();
        assert_eq!(r.pids_limit, Some(7));
        assert!(Resources::from_file("/nonexistent/r.json").is_err());
        // A FIFO nobody writes to is refused at once, not waited on.
        let fifo = dir.join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo of a NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = Resources::from_file(fifo.to_str().unwrap()).unwrap_err();
        assert!(e.to_string().contains("not a regular file"), "{e}");
        let e = Resources::from_file("/").unwrap_err();
        assert!(e.to_string().contains("not a regular file"), "{e}");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn v2_values() {
        assert_eq!(shares_to_weight(1024), 39);
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(262_144), 10_000);
        let r = Resources {
            cpu_quota: Some(-1),
            memory: Some(-1),
            ..Resources::default()
        };
        let w = writes(&r);
        let v2: Vec<(&str, &str)> = w
            .iter()
            .filter_map(|w| match &w.value_v2 {
                Some(V2::Text(t)) => Some((w.v2, t.as_str())),
                _ => None,
            })
            .collect();
        // A quota alone keeps the period in force (cpu.max takes one field).
        assert_eq!(v2, [("memory.max", "max"), ("cpu.max", "max")]);
        // Quota and period: one write of both; a period alone keeps the
        // quota (read from cpu.max when applied).
        let both = Resources {
            cpu_quota: Some(50_000),
            cpu_period: Some(200_000),
            ..Resources::default()
        };
        let w = writes(&both);
        assert!(matches!(&w[0].value_v2, Some(V2::Text(t)) if t == "50000 200000"));
        assert!(w[1].value_v2.is_none());
        let period = Resources {
            cpu_period: Some(200_000),
            ..Resources::default()
        };
        assert!(matches!(
            writes(&period)[0].value_v2,
            Some(V2::PeriodKeepingQuota(200_000))
        ));
    }

    #[test]
    fn a_limit_below_the_guest_is_refused_before_anything_is_written() {
        let r = Resources {
            memory: Some(64 << 20),
            cpu_shares: Some(100),
            ..Resources::default()
        };
        let e = apply(&[PathBuf::from("/nonexistent")], 512, &r).unwrap_err();
        assert!(e.to_string().contains("at least 553648128 bytes"), "{e}");
        // Enough memory, but no cgroup file for the CPU limit: named.
        let r = Resources {
            cpu_shares: Some(100),
            ..Resources::default()
        };
        let e = apply(&[PathBuf::from("/nonexistent")], 512, &r).unwrap_err();
        assert!(e.to_string().contains("cpu.shares"), "{e}");
        assert!(apply(&[], 512, &Resources::default()).is_ok());
    }
}
