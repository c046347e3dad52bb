//! Is this bundle a unikernel, and how is it run?
//!
//! The program is `process.args[0]` (or the annotation `io.corten.unikernel`,
//! or urunc's `com.urunc.unikernel.binary`), opened inside the rootfs. It is
//! a unikernel when it is an ELF with a Solo5 ABI1 note; the note, not the
//! file name, chooses corten-spt or corten-hvt. Its manifest lists the
//! devices it needs; each is attached from an annotation:
//!
//! | annotation | meaning |
//! | --- | --- |
//! | `io.corten.unikernel` | path of the unikernel in the container |
//! | `io.corten.mem` | guest memory in MiB (default: the memory limit, else the tender's) |
//! | `io.corten.block.NAME` | file (in the container: image or volume) for block device NAME |
//! | `io.corten.net.NAME` | interface of the pod's network namespace for NAME (default `eth0` when the unikernel has one network device) |
//! | `io.corten.netargs` | `mirage` (default): the unikernel's command line starts with the pod's `--ipv4=A.B.C.D/N --ipv4-gateway=G`; `none`: it does not |
//!
//! urunc's annotations (`com.urunc.unikernel.binary`, `.cmdline`,
//! `.hypervisor`, `.block`; in the rootfs's `urunc.json` and the spec,
//! plain or base64 as urunc writes them) are read too, so images packaged
//! for urunc run unchanged. Anything that is not a Solo5 unikernel is for
//! runc.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;

use corten_abi::note::AbiTarget;
use corten_elf::{Arch, Elf};
use corten_manifest::{DeviceType, Manifest};

use crate::error::OciError;
use crate::rootfs;
use crate::spec::Spec;

pub const ANN_UNIKERNEL: &str = "io.corten.unikernel";
pub const ANN_MEM: &str = "io.corten.mem";
pub const ANN_BLOCK: &str = "io.corten.block.";
pub const ANN_NET: &str = "io.corten.net.";
pub const ANN_NET_ARGS: &str = "io.corten.netargs";
const URUNC: &str = "com.urunc.unikernel.";

/// The PT_INTERP Solo5 toolchains write: a file with it is meant to be a
/// unikernel even when it is broken, so its error is reported instead of
/// handing it to runc.
const SOLO5_INTERP: &[u8] = b"/nonexistent/solo5/";

/// How to run a unikernel bundle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub target: AbiTarget,
    /// The unikernel, as a path inside the container.
    pub kernel: String,
    /// The unikernel's command line (after the kernel on the tender's).
    pub args: Vec<String>,
    /// (device name, file inside the container).
    pub blocks: Vec<(String, String)>,
    /// (device name, interface in the pod's network namespace).
    pub nets: Vec<(String, String)>,
    pub mem_mib: Option<u64>,
    /// Whether the unikernel is told the pod's address on its command line
    /// (`--ipv4=A.B.C.D/N --ipv4-gateway=G`, MirageOS's options).
    pub ip_args: bool,
}

/// urunc's value: base64 (as urunc writes it) when it decodes to text and
/// re-encodes to itself, else taken as it is.
fn urunc_value(v: &str) -> String {
    decode_base64(v)
        .and_then(|b| String::from_utf8(b).ok())
        .filter(|s| !s.is_empty() && s.chars().all(|c| !c.is_control() || c == '\n'))
        .unwrap_or_else(|| v.to_owned())
}

fn decode_base64(s: &str) -> Option<Vec<u8>> {
    let s = s.as_bytes();
    if s.is_empty() || s.len() % 4 != 0 {
        return None;
    }
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    for (i, chunk) in s.chunks(4).enumerate() {
        let last = i == s.len() / 4 - 1;
        let pad = chunk.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return None;
        }
        let mut n = 0u32;
        for &c in &chunk[..4 - pad] {
            n = (n << 6) | val(c)?;
        }
        n <<= 6 * pad as u32;
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..3 - pad]);
    }
    Some(out)
}

/// urunc's annotations of the bundle: those of the image's `/urunc.json`
/// (where urunc's packaging tools put them), overridden by the spec's.
fn urunc_annotations(spec: &Spec, root: &File) -> BTreeMap<String, String> {
    let mut found = BTreeMap::new();
    if let Ok(f) = rootfs::open_in(root, "/urunc.json", false) {
        let mut text = String::new();
        if f.take(1 << 20).read_to_string(&mut text).is_ok() {
            if let Ok(serde_json::Value::Object(m)) = serde_json::from_str(&text) {
                for (k, v) in m {
                    if let (Some(k), Some(v)) = (k.strip_prefix(URUNC), v.as_str()) {
                        found.insert(k.to_owned(), urunc_value(v));
                    }
                }
            }
        }
    }
    for (k, v) in &spec.annotations {
        if let Some(k) = k.strip_prefix(URUNC) {
            found.insert(k.to_owned(), urunc_value(v));
        }
    }
    found
}

/// Whether the first 64 KiB of `f` name Solo5's interpreter.
fn looks_like_solo5(f: &File) -> bool {
    let mut head = Vec::new();
    let _ = f.take(64 << 10).read_to_end(&mut head);
    head.windows(SOLO5_INTERP.len()).any(|w| w == SOLO5_INTERP)
}

/// The plan for `spec`'s bundle, or `None` when its program is not a Solo5
/// unikernel (then runc runs it).
pub fn inspect(spec: &Spec, root: &File) -> Result<Option<Plan>, OciError> {
    let urunc = urunc_annotations(spec, root);
    let kernel = spec
        .annotations
        .get(ANN_UNIKERNEL)
        .cloned()
        .or_else(|| urunc.get("binary").cloned())
        .unwrap_or_else(|| spec.args[0].clone());
    let claimed = spec.annotations.contains_key(ANN_UNIKERNEL)
        || matches!(
            urunc.get("hypervisor").map(String::as_str),
            Some("spt" | "hvt")
        );
    let file = match rootfs::open_in(root, &kernel, false) {
        Ok(f) => f,
        Err(e) if claimed => {
            return Err(OciError::Image(format!(
                "unikernel {kernel}: {e} (looked up inside the container's rootfs)"
            )))
        }
        // Not a file of the image (a PATH lookup, a missing program): not
        // ours to judge; runc says what is wrong.
        Err(_) => return Ok(None),
    };
    let elf = match Elf::parse(&kernel, &file, Arch::host()) {
        Ok(elf) => elf,
        Err(e) if claimed || looks_like_solo5(&file) => return Err(OciError::Image(e.to_string())),
        Err(_) => return Ok(None),
    };
    let abi = match elf.abi() {
        Ok(abi) => abi,
        Err(e) if claimed => return Err(OciError::Image(e.to_string())),
        Err(_) => return Ok(None),
    };
    let target = match AbiTarget::from_raw(abi.abi_target) {
        Some(t @ (AbiTarget::Spt | AbiTarget::Hvt)) => t,
        other => {
            return Err(OciError::Image(format!(
                "{kernel}: built for the Solo5 {} target; corten-oci runs spt and hvt unikernels",
                other.map_or("unknown", AbiTarget::name)
            )))
        }
    };
    if let Some(h) = urunc.get("hypervisor") {
        if h != target.name() && matches!(h.as_str(), "spt" | "hvt") {
            return Err(OciError::Image(format!(
                "{kernel}: com.urunc.unikernel.hypervisor says {h}, but its ABI note says {}",
                target.name()
            )));
        }
    }
    let manifest = elf
        .manifest_desc()
        .map_err(|e| OciError::Image(e.to_string()))
        .and_then(|d| {
            Manifest::from_note_desc(d).map_err(|e| OciError::Image(format!("{kernel}: {e}")))
        })?;
    let mut blocks = Vec::new();
    let mut nets = Vec::new();
    let block_count = manifest
        .devices
        .iter()
        .filter(|d| d.kind == DeviceType::BlockBasic)
        .count();
    let net_count = manifest
        .devices
        .iter()
        .filter(|d| d.kind == DeviceType::NetBasic)
        .count();
    for d in &manifest.devices {
        match d.kind {
            DeviceType::BlockBasic => {
                let file = spec
                    .annotations
                    .get(&format!("{ANN_BLOCK}{}", d.name))
                    .cloned()
                    .or_else(|| urunc.get("block").filter(|_| block_count == 1).cloned())
                    .ok_or_else(|| {
                        OciError::Image(format!(
                            "{kernel} declares block device {:?}: attach a file of the container \
                             with the annotation {ANN_BLOCK}{}=PATH",
                            d.name, d.name
                        ))
                    })?;
                blocks.push((d.name.clone(), file));
            }
            DeviceType::NetBasic => {
                let iface = spec
                    .annotations
                    .get(&format!("{ANN_NET}{}", d.name))
                    .cloned()
                    .or_else(|| (net_count == 1).then(|| "eth0".to_owned()))
                    .ok_or_else(|| {
                        OciError::Image(format!(
                            "{kernel} declares {net_count} network devices: name the pod \
                             interface of {:?} with the annotation {ANN_NET}{}=IFACE",
                            d.name, d.name
                        ))
                    })?;
                nets.push((d.name.clone(), iface));
            }
        }
    }
    let mem_mib = match spec.annotations.get(ANN_MEM) {
        Some(v) => Some(v.parse::<u64>().ok().filter(|&m| m > 0).ok_or_else(|| {
            OciError::Image(format!(
                "annotation {ANN_MEM}={v:?}: expected a number of MiB"
            ))
        })?),
        None => spec.memory_limit.map(guest_mem_from_limit),
    };
    let mut args: Vec<String> = spec.args.iter().skip(1).cloned().collect();
    if args.is_empty() {
        if let Some(c) = urunc.get("cmdline").filter(|c| !c.is_empty()) {
            args.push(c.clone());
        }
    }
    let ip_args = match spec.annotations.get(ANN_NET_ARGS).map(String::as_str) {
        None | Some("mirage") => true,
        Some("none") => false,
        Some(other) => {
            return Err(OciError::Image(format!(
                "annotation {ANN_NET_ARGS}={other:?}: expected mirage or none"
            )))
        }
    };
    Ok(Some(Plan {
        target,
        kernel,
        args,
        blocks,
        nets,
        mem_mib,
        ip_args,
    }))
}

/// What the tender itself needs beside guest memory (its binary, stacks,
/// page tables, buffers), kept out of the container's memory limit.
pub const TENDER_RESERVE_MIB: u64 = 16;

/// Guest memory for a container memory limit of `limit` bytes.
pub fn guest_mem_from_limit(limit: u64) -> u64 {
    (limit >> 20).saturating_sub(TENDER_RESERVE_MIB).max(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_as_urunc_writes_it() {
        assert_eq!(decode_base64("aHZ0").unwrap(), b"hvt");
        assert_eq!(decode_base64("dGVzdENtZA==").unwrap(), b"testCmd");
        assert_eq!(urunc_value("dGVzdEJpbmFyeQ=="), "testBinary");
        // Not base64, or not text once decoded: taken as written.
        assert_eq!(urunc_value("hvt"), "hvt");
        assert_eq!(urunc_value("/unikernel/hello.hvt"), "/unikernel/hello.hvt");
        assert_eq!(urunc_value("test"), "test");
        assert!(decode_base64("a=bc").is_none());
    }

    #[test]
    fn memory_from_limits() {
        assert_eq!(guest_mem_from_limit(512 << 20), 496);
        assert_eq!(guest_mem_from_limit(1 << 20), 2);
    }
}
