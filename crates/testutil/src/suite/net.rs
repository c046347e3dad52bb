//! Network cases: taps in a private namespace, the tender serving pings
//! ([`serve_pings`], also the base of hvt's own ring cases), the tap's MTU,
//! and attach errors.

use std::net::Ipv4Addr;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::time::Duration;

use super::run_kernel;
use crate::net::{
    add_tap, in_new_netns, ip, neighbour_mac, open_tap_inheritable, ping, wait_for_carrier,
};
use crate::tender::Kind;
use crate::{is_root_or_skip, Outcome, Source, Tender};

/// How a ping run ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// The guest exits by itself once it answered every request (its
    /// `limit` argument, or upstream's built-in count).
    GuestLimit,
    /// The test stops the tender with SIGTERM.
    Sigterm,
}

/// A ping test: interface N is tap10N (10.N.0.1) in a fresh namespace,
/// the guest answers on 10.N.0.2 with the MAC 02:00:00:c0:de:0N given by
/// `--net-mac`; `count` echo requests go to each interface.
#[derive(Clone, Debug)]
pub struct Pings {
    pub unikernel: &'static str,
    pub ifaces: usize,
    pub count: usize,
    pub guest_args: Vec<String>,
    /// Tender options before the devices (hvt: `--net-ring=on`).
    pub options: Vec<String>,
    pub env: Vec<(String, String)>,
    /// Requests carry it like `ping -p`; replies must echo it.
    pub pattern: Option<[u8; 4]>,
    /// Hand the taps over as descriptors (`--net:NAME=@FD`), not by name.
    pub by_fd: bool,
    pub end: End,
}

impl Pings {
    /// `count` pings per interface to `unikernel`, which exits by itself.
    pub fn new(unikernel: &'static str, ifaces: usize, count: usize, guest_args: &[&str]) -> Pings {
        Pings {
            unikernel,
            ifaces,
            count,
            guest_args: guest_args.iter().map(|a| a.to_string()).collect(),
            options: Vec::new(),
            env: Vec::new(),
            pattern: None,
            by_fd: false,
            end: End::GuestLimit,
        }
    }
}

fn mac(i: usize) -> String {
    format!("02:00:00:c0:de:{i:02x}")
}

/// Runs `p` on `t`: every request answered exactly once with its payload
/// intact, the guest's MAC learned by ARP, and the tender ended as
/// `p.end` says. Returns the tender's outcome for further checks, or None
/// when the case skips (no root, no KVM, no upstream build).
pub fn serve_pings(t: &Tender, src: Source, p: Pings) -> Option<Outcome> {
    let what = p.unikernel;
    in_netns_with(t, src, p.unikernel, move |t, k| {
        let mut a: Vec<std::ffi::OsString> = vec![t.kind.suite_mem().into()];
        a.extend(p.options.iter().map(Into::into));
        let mut fds = Vec::new();
        let mut dests = Vec::new();
        for i in 0..p.ifaces {
            let tap = format!("tap10{i}");
            add_tap(&tap, &format!("10.{i}.0.1/24"), None);
            if p.by_fd {
                let fd = open_tap_inheritable(&tap);
                a.push(format!("--net:service{i}=@{}", fd.as_raw_fd()).into());
                fds.push(fd);
            } else {
                a.push(format!("--net:service{i}={tap}").into());
            }
            a.push(format!("--net-mac:service{i}={}", mac(i)).into());
            dests.push(Ipv4Addr::new(10, i as u8, 0, 2));
        }
        a.push("--".into());
        a.push(k.into_os_string());
        a.extend(p.guest_args.iter().map(Into::into));
        let child = t
            .command(&a)
            .envs(p.env.iter().map(|(k, v)| (k, v)))
            .spawn()
            .expect("spawn the tender");
        drop(fds); // the child holds its own copies
        let pid = child.id();
        for i in 0..p.ifaces {
            wait_for_carrier(&format!("tap10{i}"), Duration::from_secs(10));
        }
        // A first round, then the ARP check while the guest surely still
        // runs (the kernel forgets neighbours when the tap goes down), then
        // the rest.
        let first = p.count.min(1000);
        let pings = |n| {
            ping(
                &dests,
                n,
                64,
                Duration::from_secs(10),
                Duration::from_secs(120),
                p.pattern,
            )
        };
        let mut stats = pings(first);
        let macs: Vec<Option<String>> = (0..p.ifaces)
            .map(|i| neighbour_mac(&format!("10.{i}.0.2"), &format!("tap10{i}")))
            .collect();
        if stats.iter().all(|st| st.received == first) {
            for (st, more) in stats.iter_mut().zip(pings(p.count - first)) {
                st.sent += more.sent;
                st.received += more.received;
                st.duplicates += more.duplicates;
                st.corrupted += more.corrupted;
            }
        }
        if p.end == End::Sigterm {
            // SAFETY: signals the child we spawned (still unreaped).
            unsafe { libc::kill(pid as i32, libc::SIGTERM) };
        }
        let o = t.outcome(child, Duration::from_secs(60));
        for (i, st) in stats.iter().enumerate() {
            assert_eq!(
                (st.sent, st.received, st.duplicates, st.corrupted),
                (p.count, p.count, 0, 0),
                "{what}: interface {i}: not every echo request got its one intact reply \
                 (sent, received, duplicates, corrupted); tender output:\n{}",
                o.output()
            );
            assert_eq!(
                macs[i].as_deref(),
                Some(mac(i).as_str()),
                "{what}: interface {i}: ARP did not resolve 10.{i}.0.2 to the MAC given by \
                 --net-mac"
            );
        }
        match p.end {
            End::GuestLimit => o.expect_success(),
            End::Sigterm => expect_stopped_by_sigterm(&t, &o),
        }
        o
    })
}

/// Runs `f` with unikernel `name` of `src` on a fresh thread in a fresh
/// network namespace, when running as root and the tender can run it
/// here (`None` otherwise, after saying why).
fn in_netns_with<T: Send + 'static>(
    t: &Tender,
    src: Source,
    name: &str,
    f: impl FnOnce(Tender, PathBuf) -> T + Send + 'static,
) -> Option<T> {
    if !is_root_or_skip(name) {
        return None;
    }
    let k = t.runnable(src, name)?;
    let t = *t;
    Some(in_new_netns(move || f(t, k)))
}

/// spt dies of the signal (the guest is the process); hvt exits 1 with a
/// message.
fn expect_stopped_by_sigterm(t: &Tender, o: &Outcome) {
    match t.kind {
        Kind::Spt => assert_eq!(o.status, 128 + libc::SIGTERM, "output:\n{}", o.output()),
        Kind::Hvt => o.expect_tender_error("Exiting on signal 15"),
    }
}

/// As upstream: `limit` makes the guest exit after 100000 pings.
pub fn net(t: &Tender, src: Source) {
    serve_pings(t, src, Pings::new("net", 1, 100_000, &["limit"]));
}

/// 100000 pings over two interfaces.
pub fn net_2if(t: &Tender, src: Source) {
    serve_pings(t, src, Pings::new("net_2if", 2, 50_000, &["limit"]));
}

/// `--net:NAME=@FD`: a tap descriptor opened by the caller; the guest
/// serves until the tender is stopped.
pub fn net_fd(t: &Tender, src: Source) {
    let p = Pings {
        by_fd: true,
        end: End::Sigterm,
        ..Pings::new("net", 1, 10_000, &[])
    };
    serve_pings(t, src, p);
}

/// The tap's MTU (9000) reaches the guest (upstream's test_net_mtu prints
/// it).
pub fn net_mtu(t: &Tender, src: Source) {
    in_netns_with(t, src, "net_mtu", |t, k| {
        add_tap("tap102", "10.2.0.1/24", Some(9000));
        let o = run_kernel(&t, &k, &["--net:service0=tap102"], &[]);
        assert!(
            o.stdout.contains("MTU is 9000"),
            "MTU not reported:\n{}",
            o.output()
        );
        o.expect_success();
    });
}

/// Attach errors that need a namespace with (or without) taps.
pub fn net_attach_errors(t: &Tender, src: Source) {
    in_netns_with(t, src, "net", |t, k| {
        let attach = |opt: &str| run_kernel(&t, &k, &[opt], &[]);
        attach("--net:service0=tap100").expect_tender_error("no such interface");
        ip(&["tuntap", "add", "tap100", "mode", "tap"]);
        attach("--net:service0=tap100").expect_tender_error("interface is down");
        attach("--net:service0=@77").expect_tender_error("descriptor 77 is not open");
        attach("--net-mac:service0=02:00:00:00:00:01")
            .expect_tender_error("declared but not attached");
    });
}
