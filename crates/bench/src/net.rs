//! Ping round trip: each tender runs the `net` unikernel (10.0.0.2) on a
//! tap inside a network namespace of its own, created for the run; the
//! bench keeps one raw ICMP socket per namespace and pings the tenders in
//! turn, one request in flight, so every tender sees the same conditions.
//! Bounded: a fixed number of pings, each with a timeout, and a
//! candidate is dropped after a run of losses.

use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use corten_wire::{icmp, ipv4};

use crate::affinity;
use crate::inventory::{Tender, Unikernel};
use crate::measure::{MeasureError, Probe};

/// The address the `net` test unikernels answer on, and the host's side.
pub const GUEST: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const HOST_CIDR: &str = "10.0.0.1/24";
const TAP: &str = "tap100";
/// Each ping waits this long for its reply.
const PING_TIMEOUT: Duration = Duration::from_millis(500);
/// This many lost pings in a row end the candidate.
const MAX_LOST_IN_A_ROW: usize = 10;
/// ICMP payload bytes (as iputils' default: 64-byte ICMP messages).
const PAYLOAD: usize = 56;

#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error("cannot create a network namespace: unshare(CLONE_NEWNET): {0} (needs root)")]
    Unshare(std::io::Error),
    #[error("`ip {args}` failed: {message} (is iproute2 installed?)")]
    Ip { args: String, message: String },
    #[error("could not start {program}: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("`{command}` exited with {status} before attaching its tap")]
    Exited { command: String, status: String },
    #[error("`{command}` did not attach tap {TAP} within 10 s")]
    NoCarrier { command: String },
    #[error("raw ICMP socket: {0}")]
    Socket(std::io::Error),
    #[error("cannot set the CPU affinity of the tender: {0}")]
    Affinity(std::io::Error),
    #[error("the network setup thread died")]
    Thread,
}

/// Why the ping measurement cannot run here, if it cannot.
pub fn unavailable() -> Option<String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some(
            "needs root: it creates a network namespace and a tap device (run `cargo xtask \
             bench` as root to measure it)"
                .to_owned(),
        );
    }
    if !Path::new("/dev/net/tun").exists() {
        return Some("/dev/net/tun is missing (no TUN/TAP support)".to_owned());
    }
    let ip = Command::new("ip")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if ip.is_err() {
        return Some("the `ip` command is missing: install the Debian package iproute2".to_owned());
    }
    None
}

fn ip(args: &[&str]) -> Result<(), NetError> {
    let out = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| NetError::Ip {
            args: args.join(" "),
            message: e.to_string(),
        })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(NetError::Ip {
            args: args.join(" "),
            message: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        })
    }
}

fn carrier(name: &str) -> bool {
    // LOWER_UP: a process holds the tap open. (Not /sys/class/net: sysfs
    // shows the namespace it was mounted in, not this thread's.)
    Command::new("ip")
        .args(["-o", "link", "show", "dev", name])
        .stdin(Stdio::null())
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("LOWER_UP"))
        .unwrap_or(false)
}

/// A tender serving pings inside its own network namespace.
pub struct Session {
    child: Child,
    command: String,
    sock: OwnedFd,
    id: u16,
    seq: u16,
    lost_in_a_row: usize,
}

impl Drop for Session {
    fn drop(&mut self) {
        // The namespace, its tap and the socket go with the last user.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Kills the child unless disarmed (setup failed half-way).
struct KillOnDrop(Option<Child>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(c) = self.0.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Session {
    /// Starts `tender` on `uk` with `--net:service0=tap100` in a new
    /// network namespace, on CPU `cpu` if given. The namespace is entered
    /// by a helper thread (namespaces and CPU affinity are per thread,
    /// and inherited by the processes it starts); the tender and the
    /// socket keep the namespace alive.
    pub fn start(
        tender: &Tender,
        uk: &Unikernel,
        id: u16,
        cpu: Option<usize>,
    ) -> Result<Session, NetError> {
        let tender = tender.clone();
        let uk = uk.clone();
        std::thread::spawn(move || {
            if let Some(c) = cpu {
                affinity::pin(&[c]).map_err(NetError::Affinity)?;
            }
            Session::start_here(&tender, &uk, id)
        })
        .join()
        .map_err(|_| NetError::Thread)?
    }

    fn start_here(tender: &Tender, uk: &Unikernel, id: u16) -> Result<Session, NetError> {
        // SAFETY: unshare changes only this (helper) thread's namespaces.
        if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
            return Err(NetError::Unshare(std::io::Error::last_os_error()));
        }
        ip(&["link", "set", "dev", "lo", "up"])?;
        ip(&["tuntap", "add", TAP, "mode", "tap"])?;
        ip(&["addr", "add", HOST_CIDR, "dev", TAP])?;
        ip(&["link", "set", "dev", TAP, "up"])?;
        let mut cmd = Command::new(&tender.program);
        cmd.arg(format!("--net:service0={TAP}"))
            .arg("--")
            .arg(&uk.path)
            .envs(tender.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let command = format!(
            "{} --net:service0={TAP} -- {}",
            tender.program.display(),
            uk.path.display()
        );
        let child = cmd.spawn().map_err(|source| NetError::Spawn {
            program: tender.program.display().to_string(),
            source,
        })?;
        let mut guard = KillOnDrop(Some(child));
        let deadline = Instant::now() + Duration::from_secs(10);
        while !carrier(TAP) {
            if let Some(Ok(Some(status))) = guard.0.as_mut().map(Child::try_wait) {
                return Err(NetError::Exited {
                    command,
                    status: status.to_string(),
                });
            }
            if Instant::now() > deadline {
                return Err(NetError::NoCarrier { command });
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        // SAFETY: plain socket(2), checked below.
        let fd = unsafe {
            libc::socket(
                libc::AF_INET,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
                libc::IPPROTO_ICMP,
            )
        };
        if fd < 0 {
            return Err(NetError::Socket(std::io::Error::last_os_error()));
        }
        // SAFETY: fd is a new descriptor owned by nobody else.
        let sock = unsafe { OwnedFd::from_raw_fd(fd) };
        let Some(child) = guard.0.take() else {
            return Err(NetError::Thread);
        };
        Ok(Session {
            child,
            command,
            sock,
            id,
            seq: 0,
            lost_in_a_row: 0,
        })
    }

    /// One echo request to the guest; the round trip in microseconds, or
    /// None when no reply came within [`PING_TIMEOUT`].
    pub fn ping(&mut self) -> std::io::Result<Option<f64>> {
        self.seq = self.seq.wrapping_add(1);
        let pkt = echo_request(self.id, self.seq);
        let sa = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: 0,
            sin_addr: libc::in_addr {
                s_addr: u32::from_ne_bytes(GUEST.octets()),
            },
            sin_zero: [0; 8],
        };
        let start = Instant::now();
        // SAFETY: sends `pkt` to `sa`, both valid for the call.
        let n = unsafe {
            libc::sendto(
                self.sock.as_raw_fd(),
                pkt.as_ptr().cast(),
                pkt.len(),
                0,
                (&sa as *const libc::sockaddr_in).cast(),
                std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
            )
        };
        if n < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let mut buf = [0u8; 2048];
        loop {
            let left = PING_TIMEOUT.saturating_sub(start.elapsed());
            if left.is_zero() {
                return Ok(None);
            }
            let mut pfd = libc::pollfd {
                fd: self.sock.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            let ms = i32::try_from(left.as_millis().max(1)).unwrap_or(i32::MAX);
            // SAFETY: one valid pollfd.
            let r = unsafe { libc::poll(&mut pfd, 1, ms) };
            if r <= 0 {
                continue;
            }
            loop {
                // SAFETY: receives at most buf.len() bytes into buf.
                let got = unsafe {
                    libc::recv(
                        self.sock.as_raw_fd(),
                        buf.as_mut_ptr().cast(),
                        buf.len(),
                        libc::MSG_DONTWAIT,
                    )
                };
                let Ok(len) = usize::try_from(got) else { break };
                let elapsed = start.elapsed();
                if is_reply(buf.get(..len).unwrap_or_default(), self.id, self.seq) {
                    return Ok(Some(elapsed.as_secs_f64() * 1e6));
                }
            }
        }
    }
}

/// Probe: one ping per sample (NaN when lost).
pub struct PingProbe(pub Session);

impl Probe for PingProbe {
    fn sample(&mut self) -> Result<f64, MeasureError> {
        let s = &mut self.0;
        let what = s.command.clone();
        let fail = |reason: String| MeasureError::Failed { what, reason };
        match s.ping() {
            Ok(Some(us)) => {
                s.lost_in_a_row = 0;
                Ok(us)
            }
            Ok(None) => {
                if let Ok(Some(status)) = s.child.try_wait() {
                    return Err(fail(format!("the tender exited with {status}")));
                }
                s.lost_in_a_row += 1;
                if s.lost_in_a_row >= MAX_LOST_IN_A_ROW {
                    return Err(fail(format!(
                        "{MAX_LOST_IN_A_ROW} pings in a row got no reply within {} ms",
                        PING_TIMEOUT.as_millis()
                    )));
                }
                Ok(f64::NAN)
            }
            Err(e) => Err(fail(format!("sending a ping: {e}"))),
        }
    }
}

/// An ICMP echo request with identifier `id`, sequence `seq` and a fixed
/// payload.
pub fn echo_request(id: u16, seq: u16) -> [u8; icmp::ECHO_HEADER_LEN + PAYLOAD] {
    let mut pkt = [0u8; icmp::ECHO_HEADER_LEN + PAYLOAD];
    for (i, b) in pkt[icmp::ECHO_HEADER_LEN..].iter_mut().enumerate() {
        *b = i as u8;
    }
    let header = icmp::Echo {
        kind: icmp::ECHO_REQUEST,
        id,
        seq,
    };
    // The array is longer than the header: writing cannot fail.
    let _ = header.write(&mut pkt);
    pkt
}

/// Whether `packet` (IPv4 header + ICMP, as a raw socket delivers it) is
/// the echo reply to (`id`, `seq`) with the payload intact.
pub fn is_reply(packet: &[u8], id: u16, seq: u16) -> bool {
    let Some(msg) = ipv4::payload(packet) else {
        return false;
    };
    let reply = icmp::Echo {
        kind: icmp::ECHO_REPLY,
        id,
        seq,
    };
    let request = echo_request(id, seq);
    icmp::Echo::parse(msg) == Some(reply)
        && icmp::payload(msg) == icmp::payload(&request)
        && corten_wire::verifies(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_checksum_verifies_and_reply_is_recognised() {
        let req = echo_request(0x1234, 7);
        assert!(corten_wire::verifies(&req));
        // The reply: type 0, checksum adjusted, behind a 20-byte IP header.
        let mut reply = req;
        assert_eq!(icmp::answer(&mut reply), Some(()));
        let mut packet = vec![0x45u8];
        packet.extend_from_slice(&[0u8; 19]);
        packet.extend_from_slice(&reply);
        assert!(is_reply(&packet, 0x1234, 7));
        assert!(!is_reply(&packet, 0x1234, 8), "wrong sequence");
        assert!(!is_reply(&packet, 0x1235, 7), "wrong id");
        let mut bad = packet.clone();
        if let Some(b) = bad.last_mut() {
            *b ^= 1;
        }
        assert!(!is_reply(&bad, 0x1234, 7), "payload damaged");
        assert!(!is_reply(&packet[..30], 0x1234, 7), "truncated");
        assert!(!is_reply(&[], 0x1234, 7));
        assert!(
            !is_reply(&[0x4f], 0x1234, 7),
            "header longer than the packet"
        );
    }
}
