//! Pod networking, as urunc does it: the unikernel's network device is a
//! tap in the pod's network namespace, and traffic is mirrored between it
//! and the pod's interface (`eth0`, set up by CNI) with tc:
//!
//! ```text
//! tc qdisc add dev eth0 ingress
//! tc filter add dev eth0 parent ffff: protocol all u32 match u8 0 0 action mirred egress redirect dev ctapN
//! (and the same from ctapN to eth0)
//! ```
//!
//! The unikernel takes eth0's MAC (`--net-mac`) and is told eth0's IPv4
//! address, prefix and default gateway the way MirageOS unikernels take
//! them (`--ipv4=A.B.C.D/N --ipv4-gateway=G`). The tap is not persistent:
//! it lives as long as the tender holds it, so only eth0's ingress qdisc
//! needs removing on delete ([`unplumb`]).

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::error::OciError;

/// What the pod's interface looks like.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodIface {
    pub name: String,
    pub mac: String,
    pub mtu: u64,
    /// (address, prefix length)
    pub ipv4: Option<(String, u8)>,
    pub gateway: Option<String>,
}

/// iproute2's `ip` or `tc` (see [`crate::which`]).
fn tool(name: &str) -> Command {
    Command::new(crate::which::program(name))
}

fn run(what: &str, cmd: &mut Command) -> Result<String, OciError> {
    let out = cmd
        .output()
        .map_err(|e| OciError::sys(format!("{what}: could not run {:?}", cmd.get_program()), e))?;
    if !out.status.success() {
        return Err(OciError::Init(format!(
            "{what} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Reads `iface` of this process's network namespace (`ip -j`).
pub fn inspect(iface: &str) -> Result<PodIface, OciError> {
    let text = run(
        &format!("reading pod interface {iface}"),
        tool("ip").args(["-j", "addr", "show", "dev", iface]),
    )
    .map_err(|e| {
        OciError::Image(format!(
            "pod interface {iface:?} is not in the container's network namespace ({e}); \
             run the container in the pod's network namespace, or name the interface with \
             io.corten.net.NAME"
        ))
    })?;
    let routes = run(
        "reading the default route",
        tool("ip").args(["-j", "-4", "route", "show", "default"]),
    )?;
    parse(iface, &text, &routes)
}

fn parse(iface: &str, addr_json: &str, route_json: &str) -> Result<PodIface, OciError> {
    let bad = |why: &str| OciError::Init(format!("ip -j output for {iface}: {why}"));
    let v: Value = serde_json::from_str(addr_json).map_err(|e| bad(&e.to_string()))?;
    let link = v.get(0).ok_or_else(|| bad("no interface"))?;
    let mac = link
        .get("address")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("no MAC address"))?
        .to_owned();
    let mtu = link.get("mtu").and_then(Value::as_u64).unwrap_or(1500);
    let ipv4 = link
        .get("addr_info")
        .and_then(Value::as_array)
        .and_then(|a| {
            a.iter()
                .find(|i| i.get("family").and_then(Value::as_str) == Some("inet"))
        })
        .and_then(|i| {
            Some((
                i.get("local")?.as_str()?.to_owned(),
                u8::try_from(i.get("prefixlen")?.as_u64()?).ok()?,
            ))
        });
    let gateway = serde_json::from_str::<Value>(route_json)
        .ok()
        .and_then(|r| r.get(0)?.get("gateway")?.as_str().map(str::to_owned));
    Ok(PodIface {
        name: iface.to_owned(),
        mac,
        mtu,
        ipv4,
        gateway,
    })
}

/// The unikernel's arguments for `pod` (MirageOS's form).
pub fn unikernel_args(pod: &PodIface) -> Vec<String> {
    let mut a = Vec::new();
    if let Some((ip, prefix)) = &pod.ipv4 {
        a.push(format!("--ipv4={ip}/{prefix}"));
        if let Some(gw) = &pod.gateway {
            a.push(format!("--ipv4-gateway={gw}"));
        }
    }
    a
}

/// Creates tap `tap` (held by the returned descriptor, which the tender
/// inherits), and mirrors all traffic between it and `pod`.
pub fn plumb(pod: &PodIface, tap: &str) -> Result<File, OciError> {
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open("/dev/net/tun")
        .map_err(|e| OciError::io("/dev/net/tun", e))?;
    // SAFETY: ifreq is plain data; all-zero is valid.
    let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in ifr
        .ifr_name
        .iter_mut()
        .zip(tap.bytes().take(libc::IFNAMSIZ - 1))
    {
        *dst = src as libc::c_char;
    }
    ifr.ifr_ifru.ifru_flags = (libc::IFF_TAP | libc::IFF_NO_PI) as libc::c_short;
    // SAFETY: TUNSETIFF reads and writes the ifreq we own.
    if unsafe { libc::ioctl(f.as_raw_fd(), libc::TUNSETIFF as _, &mut ifr) } != 0 {
        return Err(OciError::last_os(format!("creating tap {tap}")));
    }
    let mtu = pod.mtu.to_string();
    let eth = pod.name.as_str();
    let steps: [(&str, Vec<&str>); 6] = [
        ("ip", vec!["link", "set", "dev", tap, "mtu", &mtu, "up"]),
        ("tc", vec!["qdisc", "add", "dev", eth, "ingress"]),
        ("tc", vec!["qdisc", "add", "dev", tap, "ingress"]),
        (
            "tc",
            vec![
                "filter", "add", "dev", eth, "parent", "ffff:", "protocol", "all", "u32", "match",
                "u8", "0", "0", "action", "mirred", "egress", "redirect", "dev", tap,
            ],
        ),
        (
            "tc",
            vec![
                "filter", "add", "dev", tap, "parent", "ffff:", "protocol", "all", "u32", "match",
                "u8", "0", "0", "action", "mirred", "egress", "redirect", "dev", eth,
            ],
        ),
        ("ip", vec!["link", "set", "dev", eth, "up"]),
    ];
    for (prog, args) in steps {
        run(
            &format!("{prog} {}", args.join(" ")),
            tool(prog).args(&args),
        )?;
    }
    Ok(f)
}

/// Removes what [`plumb`] left on the pod's interfaces in the network
/// namespace at `netns` (the tap went with the tender).
pub fn unplumb(netns: &Path, ifaces: &[String]) -> Result<(), OciError> {
    let ns = File::open(netns).map_err(|e| OciError::io(netns, e))?;
    // SAFETY: setns on a namespace descriptor we own (delete is
    // single-threaded); checked.
    if unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        return Err(OciError::last_os(format!("joining {}", netns.display())));
    }
    for eth in ifaces {
        // A failure because the interface went with the pod's netns is
        // fine; not being able to run tc is not.
        tool("tc")
            .args(["qdisc", "del", "dev", eth, "ingress"])
            .output()
            .map_err(|e| OciError::sys("running tc to remove the pod's redirect", e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ip_json() {
        let addr = r#"[{"ifindex":2,"ifname":"eth0","mtu":1450,"address":"0a:58:0a:f4:00:05",
            "addr_info":[{"family":"inet6","local":"fe80::1","prefixlen":64},
                         {"family":"inet","local":"10.244.0.5","prefixlen":24}]}]"#;
        let route = r#"[{"dst":"default","gateway":"10.244.0.1","dev":"eth0"}]"#;
        let p = parse("eth0", addr, route).unwrap();
        assert_eq!(p.mac, "0a:58:0a:f4:00:05");
        assert_eq!(p.mtu, 1450);
        assert_eq!(p.ipv4, Some(("10.244.0.5".into(), 24)));
        assert_eq!(
            unikernel_args(&p),
            ["--ipv4=10.244.0.5/24", "--ipv4-gateway=10.244.0.1"]
        );
        let p = parse("eth0", r#"[{"address":"aa:bb:cc:dd:ee:ff"}]"#, "[]").unwrap();
        assert!(unikernel_args(&p).is_empty());
        assert!(parse("eth0", "[]", "[]").is_err());
    }
}
