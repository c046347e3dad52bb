//! Network plumbing for the net tests: a private network namespace, taps
//! inside it, and an ICMP echo client on a raw socket that keeps a bounded
//! number of requests in flight and counts the replies.

use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::Command;
use std::time::{Duration, Instant};

/// Runs `f` on a new thread that first moves into a fresh network
/// namespace (namespaces are per thread); the processes it spawns live
/// there too. The namespace disappears with its last user.
pub fn in_new_netns<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::spawn(move || {
        // SAFETY: unshare only changes this thread's namespaces.
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

/// `ip ARGS`, failing the test on error.
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

/// Creates tap `name` with address `cidr`, up.
pub fn add_tap(name: &str, cidr: &str, mtu: Option<u32>) {
    ip(&["tuntap", "add", name, "mode", "tap"]);
    ip(&["addr", "add", cidr, "dev", name]);
    if let Some(m) = mtu {
        ip(&["link", "set", "dev", name, "mtu", &m.to_string()]);
    }
    ip(&["link", "set", "dev", name, "up"]);
}

/// Waits until a process holds tap `name` open (carrier up).
pub fn wait_for_carrier(name: &str, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        if ip(&["-o", "link", "show", "dev", name]).contains("LOWER_UP") {
            return;
        }
        assert!(Instant::now() < deadline, "tap {name} never got a carrier");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Replies received per destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pings {
    pub sent: usize,
    pub received: usize,
}

/// Sends `count` echo requests to each of `dests` with at most `window`
/// unanswered per destination; stops early when nothing arrives for
/// `stall`, or after `overall`. With `pattern`, each request carries 16
/// bytes (where ping(8) puts its timestamp) and then 40 bytes of the
/// repeated pattern, as `ping -p` sends; replies must echo it intact.
pub fn ping(
    dests: &[Ipv4Addr],
    count: usize,
    window: usize,
    stall: Duration,
    overall: Duration,
    pattern: Option<[u8; 4]>,
) -> Vec<Pings> {
    let size = if pattern.is_some() { 8 + 16 + 40 } else { 16 };
    // SAFETY: socket(2); checked below.
    let fd = unsafe {
        libc::socket(
            libc::AF_INET,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            libc::IPPROTO_ICMP,
        )
    };
    assert!(fd >= 0, "raw socket: {}", std::io::Error::last_os_error());
    // SAFETY: a fresh descriptor we own.
    let sock = unsafe { OwnedFd::from_raw_fd(fd) };
    let ident = (std::process::id() as u16) ^ 0xc07e;
    let mut stats = vec![
        Pings {
            sent: 0,
            received: 0
        };
        dests.len()
    ];
    let (start, mut progress) = (Instant::now(), Instant::now());
    let mut buf = [0u8; 2048];
    while stats.iter().any(|s| s.received < count)
        && progress.elapsed() < stall
        && start.elapsed() < overall
    {
        for (d, (dst, st)) in dests.iter().zip(stats.iter_mut()).enumerate() {
            while st.sent < count && st.sent - st.received < window {
                let mut pkt = vec![0u8; size];
                if let Some(p) = pattern {
                    for (i, b) in pkt[24..].iter_mut().enumerate() {
                        *b = p[i % 4];
                    }
                }
                pkt[0] = 8; // echo request
                pkt[4..6].copy_from_slice(&ident.to_be_bytes());
                pkt[6..8].copy_from_slice(&(st.sent as u16).to_be_bytes());
                pkt[8..12].copy_from_slice(&(d as u32).to_be_bytes());
                let c = checksum(&pkt);
                pkt[2..4].copy_from_slice(&c.to_be_bytes());
                let sa = libc::sockaddr_in {
                    sin_family: libc::AF_INET as libc::sa_family_t,
                    sin_port: 0,
                    sin_addr: libc::in_addr {
                        s_addr: u32::from_ne_bytes(dst.octets()),
                    },
                    sin_zero: [0; 8],
                };
                // SAFETY: `pkt` and `sa` are valid for the call.
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
                    n as usize,
                    size,
                    "sendto: {}",
                    std::io::Error::last_os_error()
                );
                st.sent += 1;
            }
        }
        let mut pfd = libc::pollfd {
            fd: sock.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        if unsafe { libc::poll(&mut pfd, 1, 100) } <= 0 {
            continue;
        }
        loop {
            // SAFETY: receives at most `buf.len()` bytes into `buf`.
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
            let pkt = &buf[..n as usize];
            let ihl = usize::from(pkt[0] & 0xf) * 4;
            let Some(icmp) = pkt.get(ihl..ihl + 16) else {
                continue;
            };
            if icmp[0] != 0 || icmp[4..6] != ident.to_be_bytes() {
                continue;
            }
            let d = u32::from_be_bytes([icmp[8], icmp[9], icmp[10], icmp[11]]) as usize;
            if let Some(st) = stats.get_mut(d) {
                st.received += 1;
                progress = Instant::now();
            }
        }
    }
    stats
}
