//! The spt test suite, as upstream's tests/tests.bats runs it for spt
//! (`--mem=2`, 60 s limit), plus tender errors and network tests. Each
//! function takes the [`Source`] of the unikernels; the test files
//! instantiate it with [`spt_suite!`](crate::spt_suite).

use std::ffi::OsString;
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};
use std::time::Duration;

use super::net;
use super::{spt, tender, unikernel, wait_with_timeout, Outcome, Source, TempDir};

fn args(a: &[&str]) -> Vec<OsString> {
    a.iter().map(OsString::from).collect()
}

fn run_simple(src: Source, name: &str, extra: &[&str]) -> Option<Outcome> {
    let k = unikernel(src, name)?;
    let mut a = args(&["--mem=2"]);
    a.push(k.into_os_string());
    a.extend(args(extra));
    Some(spt(a))
}

/// Runs `name` with guest arguments `extra` and checks how it ended
/// (nothing when skipped).
fn ends(src: Source, name: &str, extra: &[&str], check: impl FnOnce(&Outcome)) {
    if let Some(o) = run_simple(src, name, extra) {
        check(&o);
    }
}

pub fn hello(src: Source) {
    ends(src, "hello", &["Hello_Solo5"], |o| {
        o.expect_success();
        assert!(
            o.stdout.contains("Hello_Solo5"),
            "command line not passed:\n{}",
            o.stdout
        );
    });
}

pub fn quiet(src: Source) {
    let Some(k) = unikernel(src, "quiet") else {
        return;
    };
    let mut a = args(&["--mem=2", "--"]);
    a.push(k.into_os_string());
    a.push("--solo5:quiet".into());
    let o = spt(a);
    o.expect_success();
    assert!(!o.stdout.contains("Solo5:"), "not quiet:\n{}", o.stdout);
}

pub fn globals(src: Source) {
    ends(src, "globals", &[], Outcome::expect_success);
}

pub fn tls(src: Source) {
    ends(src, "tls", &[], Outcome::expect_success);
}

pub fn fpu(src: Source) {
    ends(src, "fpu", &[], Outcome::expect_success);
}

pub fn time(src: Source) {
    ends(src, "time", &[], Outcome::expect_success);
}

/// Guest faults end the process by SIGSEGV (139), not SIGSYS: the tender
/// leaves no signal handler behind.
pub fn faults_are_sigsegv(src: Source) {
    for name in ["exception", "zeropage", "xnow", "wnox", "notls"] {
        let Some(o) = run_simple(src, name, &[]) else {
            return;
        };
        assert_eq!(
            o.status,
            139,
            "{name}: expected SIGSEGV (139):\n{}",
            o.output()
        );
    }
}

pub fn ssp(src: Source) {
    ends(src, "ssp", &[], Outcome::expect_abort);
}

pub fn seccomp(src: Source) {
    ends(src, "seccomp", &[], |o| o.expect_status(159));
}

fn blk_run(src: Source, image: &std::path::Path, sector: Option<&str>) -> Option<Outcome> {
    let k = unikernel(src, "blk")?;
    let mut a = args(&["--mem=2"]);
    let mut opt = OsString::from("--block:storage=");
    opt.push(image);
    a.push(opt);
    if let Some(s) = sector {
        a.push(format!("--block-sector-size:storage={s}").into());
    }
    a.push("--".into());
    a.push(k.into_os_string());
    Some(spt(a))
}

/// Runs blk on a fresh backing file of `len` bytes, with
/// `--block-sector-size` `sector` if given, and checks how it ended.
fn blk_case(src: Source, len: usize, sector: Option<&str>, check: impl FnOnce(&Outcome)) {
    let d = TempDir::new("blk");
    let img = d.file("storage.img", len, 0);
    if let Some(o) = blk_run(src, &img, sector) {
        check(&o);
    }
}

pub fn blk(src: Source) {
    blk_case(src, 4096 * 1024, None, Outcome::expect_success);
}

pub fn blk_4096(src: Source) {
    blk_case(src, 4096 * 1024, Some("4096"), Outcome::expect_success);
}

pub fn blk_misaligned(src: Source) {
    blk_case(src, 2048 * 3, Some("4096"), |o| {
        o.expect_tender_error("Backing storage size must be block aligned");
        assert!(
            o.stderr.contains("6144 bytes"),
            "size not reported:\n{}",
            o.stderr
        );
    });
}

pub fn blk_odd(src: Source) {
    blk_case(src, 521 * 3, Some("521"), |o| {
        o.expect_tender_error("Block size must be a multiple of 2")
    });
}

pub fn blk_too_small(src: Source) {
    blk_case(src, 256, Some("256"), |o| {
        o.expect_tender_error("Block size must be a multiple of 2 greater than or equal 512")
    });
    // An empty file holds no sector at all.
    blk_case(src, 0, None, |o| {
        o.expect_tender_error("Backing storage must be at least 1 block")
    });
}

pub fn mft_maxdevices(src: Source) {
    let Some(k) = unikernel(src, "mft_maxdevices") else {
        return;
    };
    let d = TempDir::new("maxdev");
    let mut a = args(&["--mem=2"]);
    for n in 0..63 {
        let img = d.file(&format!("storage{n}.img"), 4096, 0);
        let mut opt = OsString::from(format!("--block:storage{n}="));
        opt.push(img);
        a.push(opt);
    }
    a.push("--".into());
    a.push(k.into_os_string());
    spt(a).expect_success();
}

/// Tender errors on a unikernel that declares one block device `storage`.
pub fn device_errors(src: Source) {
    let Some(k) = unikernel(src, "blk") else {
        return;
    };
    let d = TempDir::new("deverr");
    let img = d.file("storage.img", 4096, 0);
    let block = |name: &str| {
        let mut o = OsString::from(format!("--block:{name}="));
        o.push(&img);
        o
    };
    let with = |opts: Vec<OsString>| {
        let mut a = opts;
        a.push(k.clone().into_os_string());
        spt(a)
    };
    let o = with(vec![]);
    o.expect_tender_error("Device 'storage' of type BLOCK_BASIC declared but not attached.");
    assert!(o
        .stderr
        .contains("All declared devices must be attached. See --help for syntax."));

    let o = with(vec![block("disk")]);
    o.expect_tender_error("Resource not declared in manifest: 'disk'");
    assert!(
        o.stderr.contains("'storage' (BLOCK_BASIC)"),
        "declared devices not listed:\n{}",
        o.stderr
    );

    let o = with(vec![block("storage"), block("storage")]);
    o.expect_tender_error("Device 'storage' is attached twice");

    let o = with(vec![block("storage"), "--net:storage=tap0".into()]);
    o.expect_tender_error("Resource not declared in manifest: 'storage'");

    let mut missing = OsString::from("--block:storage=");
    missing.push(d.path().join("nonexistent.img"));
    with(vec![missing]).expect_tender_error("Could not open block device");

    for bad in [
        "--mem=0",
        "--mem=abc",
        "--mem=",
        "--mem=99999999999999999999",
    ] {
        with(vec![block("storage"), bad.into()]).expect_tender_error("Malformed argument to --mem");
    }
    let o = with(vec!["--frobnicate".into()]);
    o.expect_tender_error("Invalid option: `--frobnicate'");
    assert!(
        o.stderr.contains("usage: corten-spt"),
        "no usage:\n{}",
        o.stderr
    );

    // Guest command line limit: 8191 characters.
    let mut a = vec![
        block("storage"),
        "--mem=2".into(),
        k.clone().into_os_string(),
    ];
    a.push("x".repeat(8192).into());
    spt(a).expect_tender_error("Guest command line too long (max=8191 characters)");

    // Too little memory for the unikernel.
    with(vec![block("storage"), "--mem=1".into()]).expect_tender_error("past guest memory");
}

/// `--x-exec-heap` still runs the guest, after upstream's warning.
pub fn x_exec_heap(src: Source) {
    let Some(k) = unikernel(src, "hello") else {
        return;
    };
    let mut a = args(&["--mem=2", "--x-exec-heap"]);
    a.push(k.into_os_string());
    a.push("Hello_Solo5".into());
    let o = spt(a);
    o.expect_success();
    assert!(
        o.stderr
            .contains("WARNING: The use of --x-exec-heap is dangerous"),
        "no warning:\n{}",
        o.stderr
    );
}

/// Guest memory that would cover the tender's own mappings is refused.
pub fn huge_mem(src: Source) {
    let Some(k) = unikernel(src, "hello") else {
        return;
    };
    // 2^46 bytes reaches past where the kernel puts a PIE (2/3 of 2^47).
    let mut a = args(&["--mem=67108864"]);
    a.push(k.into_os_string());
    spt(a).expect_tender_error("Error allocating guest memory");
}

/// A net test: taps in a private namespace, the tender serving pings,
/// `count` echo requests per interface, every reply accounted for, and
/// the guest's MAC learned by ARP.
fn net_case(src: Source, name: &str, ifaces: usize, count: usize, limit: bool, by_fd: bool) {
    if !super::is_root_or_skip(name) {
        return;
    }
    let Some(k) = unikernel(src, name) else {
        return;
    };
    net::in_new_netns(move || {
        let mut a = args(&["--mem=2"]);
        let mut fds = Vec::new();
        let mut dests = Vec::new();
        for i in 0..ifaces {
            let tap = format!("tap10{i}");
            net::add_tap(&tap, &format!("10.{i}.0.1/24"), None);
            let mac = format!("02:00:00:c0:de:{i:02x}");
            if by_fd {
                let fd = net::open_tap_inheritable(&tap);
                a.push(
                    format!("--net:service{i}=@{}", std::os::fd::AsRawFd::as_raw_fd(&fd)).into(),
                );
                fds.push(fd);
            } else {
                a.push(format!("--net:service{i}={tap}").into());
            }
            a.push(format!("--net-mac:service{i}={mac}").into());
            dests.push(Ipv4Addr::new(10, i as u8, 0, 2));
        }
        a.push("--".into());
        a.push(k.into_os_string());
        if limit {
            a.push("limit".into());
        }
        let child = Command::new(tender())
            .args(&a)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn corten-spt");
        drop(fds); // the child holds its own copies
        let pid = child.id();
        for i in 0..ifaces {
            net::wait_for_carrier(&format!("tap10{i}"), Duration::from_secs(10));
        }
        // A first round, then the ARP check while the guest surely still
        // runs (the kernel forgets neighbours when the tap goes down), then
        // the rest.
        let first = count.min(1000);
        let ping = |n| {
            net::ping(
                &dests,
                n,
                64,
                Duration::from_secs(10),
                Duration::from_secs(120),
                None,
            )
        };
        let mut stats = ping(first);
        let macs: Vec<Option<String>> = (0..ifaces)
            .map(|i| net::neighbour_mac(&format!("10.{i}.0.2"), &format!("tap10{i}")))
            .collect();
        if stats.iter().all(|st| st.received == first) {
            for (st, more) in stats.iter_mut().zip(ping(count - first)) {
                st.sent += more.sent;
                st.received += more.received;
                st.duplicates += more.duplicates;
            }
        }
        if !limit {
            // SAFETY: signals the child we spawned (still unreaped).
            unsafe { libc::kill(pid as i32, libc::SIGTERM) };
        }
        let o = wait_with_timeout(child, Duration::from_secs(60));
        for (i, st) in stats.iter().enumerate() {
            assert_eq!(
                (st.sent, st.received, st.duplicates),
                (count, count, 0),
                "interface {i}: not every echo request got its reply; tender output:\n{}",
                o.output()
            );
            assert_eq!(
                macs[i].as_deref(),
                Some(format!("02:00:00:c0:de:{i:02x}").as_str()),
                "interface {i}: ARP did not resolve 10.{i}.0.2 to the MAC given by --net-mac"
            );
        }
        if limit {
            o.expect_success();
        } else {
            assert_eq!(o.status, 128 + libc::SIGTERM, "output:\n{}", o.output());
        }
    });
}

/// As upstream: `limit` makes the guest exit after 100000 pings in all.
pub fn net(src: Source) {
    net_case(src, "net", 1, 100_000, true, false);
}

pub fn net_2if(src: Source) {
    net_case(src, "net_2if", 2, 50_000, true, false);
}

/// `--net:NAME=@FD`: a tap descriptor opened by the caller.
pub fn net_fd(src: Source) {
    net_case(src, "net", 1, 10_000, false, true);
}

/// The MTU of the tap reaches the guest (upstream's test_net_mtu prints it).
pub fn net_mtu(src: Source) {
    if !super::is_root_or_skip("net_mtu") {
        return;
    }
    if let Some(k) = unikernel(src, "net_mtu") {
        net::mtu_reaches_guest(k, "--mem=2", spt);
    }
}

/// Attach errors that need a namespace with (or without) taps.
pub fn net_attach_errors(src: Source) {
    if !super::is_root_or_skip("net_attach_errors") {
        return;
    }
    let Some(k) = unikernel(src, "net") else {
        return;
    };
    net::in_new_netns(move || {
        let run = |opt: &str| {
            let mut a = args(&["--mem=2", opt]);
            a.push(k.clone().into_os_string());
            spt(a)
        };
        run("--net:service0=tap100").expect_tender_error("no such interface");
        net::ip(&["tuntap", "add", "tap100", "mode", "tap"]);
        run("--net:service0=tap100").expect_tender_error("interface is down");
        run("--net:service0=@77").expect_tender_error("descriptor 77 is not open");
        run("--net-mac:service0=02:00:00:00:00:01")
            .expect_tender_error("declared but not attached");
    });
}

/// Generates one `#[test]` per suite case for `$src`.
#[macro_export]
macro_rules! spt_suite {
    ($src:expr) => {
        $crate::spt_suite!(@cases $src;
            hello, quiet, globals, tls, fpu, time, faults_are_sigsegv, ssp, seccomp,
            blk, blk_4096, blk_misaligned, blk_odd, blk_too_small, mft_maxdevices,
            device_errors, x_exec_heap, huge_mem, net, net_2if, net_fd, net_mtu, net_attach_errors);
    };
    (@cases $src:expr; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                common::suite::$case($src);
            }
        )*
    };
}
