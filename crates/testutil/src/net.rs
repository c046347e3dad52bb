//! Network test plumbing: a private network namespace per test, tap
//! devices inside it, and a raw-socket ICMP pinger that keeps a bounded
//! window of echo requests in flight and accounts for every reply.

use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::Command;
use std::time::{Duration, Instant};

use corten_wire::{icmp, ipv4};

/// Runs `f` on a fresh thread moved into a new, empty network namespace.
/// Namespaces are per thread on Linux: children spawned from that thread
/// and sockets it opens live in the namespace, the rest of the test
/// process does not. The namespace vanishes when its last user exits.
pub fn in_new_netns<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::spawn(move || {
        // SAFETY: unshare affects only the calling thread's namespaces.
        let rc = unsafe { libc::unshare(libc::CLONE_NEWNET) };
        assert_eq!(
            rc,
            0,
            "unshare(CLONE_NEWNET): {}",
            std::io::Error::last_os_error()
        );
        f()
    })
    .join()
    .expect("network test thread panicked")
}

/// Runs `ip ARGS`, failing the test on error.
pub fn ip(args: &[&str]) -> String {
    let out = Command::new("ip")
        .args(args)
        .output()
        .expect("run ip (iproute2)");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Creates tap `name` with address `cidr` (e.g. "10.0.0.1/24"), up.
pub fn add_tap(name: &str, cidr: &str, mtu: Option<u32>) {
    ip(&["tuntap", "add", name, "mode", "tap"]);
    ip(&["addr", "add", cidr, "dev", name]);
    if let Some(m) = mtu {
        ip(&["link", "set", "dev", name, "mtu", &m.to_string()]);
    }
    ip(&["link", "set", "dev", name, "up"]);
}

/// Opens the existing tap `name` as the tender would, without
/// close-on-exec so a child inherits it (for `--net:NAME=@FD`).
pub fn open_tap_inheritable(name: &str) -> OwnedFd {
    // SAFETY: plain open(2) of a device node; checked below.
    let fd = unsafe { libc::open(c"/dev/net/tun".as_ptr(), libc::O_RDWR) };
    assert!(
        fd >= 0,
        "open /dev/net/tun: {}",
        std::io::Error::last_os_error()
    );
    // SAFETY: `fd` is ours.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: all-zero ifreq is valid.
    let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
    for (d, s) in ifr.ifr_name.iter_mut().zip(name.bytes()) {
        *d = s as libc::c_char;
    }
    ifr.ifr_ifru.ifru_flags = (libc::IFF_TAP | libc::IFF_NO_PI) as libc::c_short;
    // SAFETY: TUNSETIFF reads/writes the ifreq.
    let rc = unsafe { libc::ioctl(owned.as_raw_fd(), libc::TUNSETIFF as _, &mut ifr) };
    assert_eq!(
        rc,
        0,
        "TUNSETIFF {name}: {}",
        std::io::Error::last_os_error()
    );
    owned
}

/// Waits until a process has attached tap `name` (its carrier goes up);
/// packets sent before that are dropped.
pub fn wait_for_carrier(name: &str, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let out = ip(&["-o", "link", "show", "dev", name]);
        if out.contains("LOWER_UP") {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "tap {name} never got a carrier: {out}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The link-layer address the kernel learned (by ARP) for `addr`, if any.
pub fn neighbour_mac(addr: &str, dev: &str) -> Option<String> {
    let out = ip(&["neigh", "show", addr, "dev", dev]);
    let mut words = out.split_whitespace();
    while let Some(w) = words.next() {
        if w == "lladdr" {
            return words.next().map(str::to_owned);
        }
    }
    None
}

/// Tags our requests (xor the destination's index).
const MAGIC: u32 = 0xc0de_5e17;
/// Our payload: the request's index (all 32 bits), then the tag.
const INDEX_AT: usize = 0;
const TAG_AT: usize = 4;
const PAYLOAD: usize = 8;
/// With a pattern: up to 16 bytes of payload where ping(8) puts its
/// timestamp, then 40 bytes of the pattern, as `ping -p` sends.
const PATTERN_AT: usize = 16;
const PATTERN_LEN: usize = 40;

/// The 32-bit big-endian word at `at` of `payload`.
fn word(payload: &[u8], at: usize) -> Option<u32> {
    let b = payload.get(at..at + 4)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// Result of a ping run towards one destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PingStats {
    pub sent: usize,
    /// Distinct requests answered (with the pattern intact).
    pub received: usize,
    pub duplicates: usize,
    /// Replies with a wrong checksum, or whose pattern bytes differ from
    /// the request's.
    pub corrupted: usize,
}

/// Sends `count` echo requests to each destination, at most `window`
/// outstanding per destination, and collects the replies. Gives up when no
/// reply arrives for `stall` or after `overall`. With `pattern`, requests
/// carry it like `ping -p` and replies must echo it intact.
pub fn ping(
    dests: &[Ipv4Addr],
    count: usize,
    window: usize,
    stall: Duration,
    overall: Duration,
    pattern: Option<[u8; 4]>,
) -> Vec<PingStats> {
    let size = icmp::ECHO_HEADER_LEN
        + if pattern.is_some() {
            PATTERN_AT + PATTERN_LEN
        } else {
            PAYLOAD
        };
    let intact = |msg: &[u8], payload: &[u8]| {
        corten_wire::verifies(msg)
            && pattern.is_none_or(|p| {
                payload
                    .get(PATTERN_AT..PATTERN_AT + PATTERN_LEN)
                    .is_some_and(|b| b.iter().enumerate().all(|(i, &x)| x == p[i % 4]))
            })
    };
    // SAFETY: plain socket(2); checked below.
    let s = unsafe {
        libc::socket(
            libc::AF_INET,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            libc::IPPROTO_ICMP,
        )
    };
    assert!(s >= 0, "raw socket: {}", std::io::Error::last_os_error());
    // SAFETY: `s` is ours.
    let sock = unsafe { OwnedFd::from_raw_fd(s) };
    let id = (std::process::id() as u16) ^ 0x5a5a;
    let mut seen: Vec<Vec<bool>> = dests.iter().map(|_| vec![false; count]).collect();
    let mut stats = vec![PingStats::default(); dests.len()];
    let start = Instant::now();
    let mut last_progress = Instant::now();
    let mut buf = [0u8; 2048];
    loop {
        // Top up every destination's window.
        for (d, (dst, st)) in dests.iter().zip(stats.iter_mut()).enumerate() {
            while st.sent < count && st.sent - st.received < window {
                let idx = st.sent as u32;
                let mut pkt = vec![0u8; size];
                let payload = icmp::payload_mut(&mut pkt).expect("room for the payload");
                payload[INDEX_AT..INDEX_AT + 4].copy_from_slice(&idx.to_be_bytes());
                payload[TAG_AT..TAG_AT + 4].copy_from_slice(&(MAGIC ^ d as u32).to_be_bytes());
                if let Some(p) = pattern {
                    for (i, b) in payload[PATTERN_AT..].iter_mut().enumerate() {
                        *b = p[i % 4];
                    }
                }
                let request = icmp::Echo {
                    kind: icmp::ECHO_REQUEST,
                    id,
                    seq: idx as u16,
                };
                request.write(&mut pkt).expect("room for the header");
                let sa = libc::sockaddr_in {
                    sin_family: libc::AF_INET as libc::sa_family_t,
                    sin_port: 0,
                    sin_addr: libc::in_addr {
                        s_addr: u32::from_ne_bytes(dst.octets()),
                    },
                    sin_zero: [0; 8],
                };
                // SAFETY: sends `pkt` to `sa`; both valid for the call.
                let n = unsafe {
                    libc::sendto(
                        sock.as_raw_fd(),
                        pkt.as_ptr().cast(),
                        pkt.len(),
                        0,
                        (&sa as *const libc::sockaddr_in).cast(),
                        std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
                    )
                };
                assert_eq!(
                    n,
                    pkt.len() as isize,
                    "sendto: {}",
                    std::io::Error::last_os_error()
                );
                st.sent += 1;
            }
        }
        if stats.iter().all(|st| st.received >= count) {
            break;
        }
        if last_progress.elapsed() > stall || start.elapsed() > overall {
            break;
        }
        let mut pfd = libc::pollfd {
            fd: sock.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: polls one valid pollfd.
        let r = unsafe { libc::poll(&mut pfd, 1, 100) };
        if r <= 0 {
            continue;
        }
        // Drain everything readable.
        loop {
            // SAFETY: receives into `buf`, at most its length.
            let n = unsafe {
                libc::recv(
                    sock.as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    libc::MSG_DONTWAIT,
                )
            };
            if n <= 0 {
                break;
            }
            let Some(msg) = ipv4::payload(&buf[..n as usize]) else {
                continue;
            };
            let (Some(echo), Some(payload)) = (icmp::Echo::parse(msg), icmp::payload(msg)) else {
                continue;
            };
            if echo.kind != icmp::ECHO_REPLY || echo.id != id {
                continue;
            }
            let (Some(idx), Some(tag)) = (word(payload, INDEX_AT), word(payload, TAG_AT)) else {
                continue;
            };
            let (idx, tag) = (idx as usize, (tag ^ MAGIC) as usize);
            let (Some(st), Some(seen)) = (stats.get_mut(tag), seen.get_mut(tag)) else {
                continue;
            };
            if !intact(msg, payload) {
                st.corrupted += 1;
                continue;
            }
            match seen.get_mut(idx) {
                Some(s) if !*s => {
                    *s = true;
                    st.received += 1;
                    last_progress = Instant::now();
                }
                Some(_) => st.duplicates += 1,
                None => {}
            }
        }
    }
    stats
}

/// [`ping`] of `addr` (one request in flight, `count` requests) from the
/// network namespace named `netns` (/var/run/netns/NAME), on a thread
/// moved into it.
pub fn ping_from(netns: &str, addr: Ipv4Addr, count: usize) -> PingStats {
    let ns = std::fs::File::open(format!("/var/run/netns/{netns}")).expect("netns");
    std::thread::spawn(move || {
        // SAFETY: setns moves only this thread into the namespace.
        let rc = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
        ping(
            &[addr],
            count,
            1,
            Duration::from_secs(1),
            Duration::from_secs(10),
            None,
        )[0]
    })
    .join()
    .expect("ping thread panicked")
}
