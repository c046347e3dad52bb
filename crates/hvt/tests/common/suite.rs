//! The hvt cases of upstream's tests/tests.bats (`--mem=4096`, 60 s
//! limit), each a function of the unikernels' [`Source`]; the test files
//! instantiate them with [`hvt_suite!`](crate::hvt_suite).

use std::ffi::OsString;
use std::net::Ipv4Addr;
use std::time::Duration;

use super::{
    command, hvt, kvm_or_skip, net, unikernel, wait_with_timeout, Outcome, Source, TempDir,
};

fn args(a: &[&str]) -> Vec<OsString> {
    a.iter().map(OsString::from).collect()
}

/// Runs `name` with `before` options and `after` guest arguments, or None
/// (after printing why) when KVM or the unikernel source is unavailable.
fn run(src: Source, name: &str, before: &[&str], after: &[&str]) -> Option<Outcome> {
    if !kvm_or_skip(name) {
        return None;
    }
    let k = unikernel(src, name)?;
    let mut a = args(&["--mem=4096"]);
    a.extend(args(before));
    a.push("--".into());
    a.push(k.into_os_string());
    a.extend(args(after));
    Some(hvt(a))
}

/// Runs `name` with guest arguments `after` and checks how it ended
/// (nothing when skipped).
fn ends(src: Source, name: &str, after: &[&str], check: impl FnOnce(&Outcome)) {
    if let Some(o) = run(src, name, &[], after) {
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
    ends(src, "quiet", &["--solo5:quiet"], |o| {
        o.expect_success();
        assert!(!o.output().contains("Solo5:"), "not quiet:\n{}", o.output());
    });
}

pub fn output(src: Source) {
    ends(src, "output", &["Output_Solo5"], |o| o.expect_status(0));
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

/// A guest CPU exception: 255, the guest's ABORT, and the tender prints
/// the trap frame the guest handed over.
pub fn exception(src: Source) {
    ends(src, "exception", &[], |o| {
        o.expect_abort();
        assert!(
            o.stderr.contains("guest trap frame"),
            "no trap frame dump:\n{}",
            o.stderr
        );
    });
}

/// A null dereference faults: page 0 is not mapped.
pub fn zeropage(src: Source) {
    ends(src, "zeropage", &[], Outcome::expect_abort);
}

pub fn notls(src: Source) {
    ends(src, "notls", &[], Outcome::expect_abort);
}

/// The guest aborts (a Rust panic in Corten's runtime).
pub fn abort(src: Source) {
    ends(src, "abort", &[], Outcome::expect_abort);
}

pub fn ssp(src: Source) {
    ends(src, "ssp", &[], Outcome::expect_abort);
}

/// A guest writing to its own text: status 1 and the phrase upstream's
/// suite greps for.
pub fn xnow(src: Source) {
    ends(src, "xnow", &[], |o| {
        o.expect_tender_error("host/guest translation fault")
    });
}

/// Runs blk on a fresh backing file of `file_len` bytes, with
/// `--block-sector-size` `sector` if given, and checks how it ended.
fn blk_case(src: Source, file_len: usize, sector: Option<&str>, check: impl FnOnce(&Outcome)) {
    let tmp = TempDir::new("blk");
    let img = tmp.file("storage.img", file_len, 0);
    let dev = format!("--block:storage={}", img.display());
    let mut before = vec![dev.as_str()];
    let size;
    if let Some(s) = sector {
        size = format!("--block-sector-size:storage={s}");
        before.push(&size);
    }
    if let Some(o) = run(src, "blk", &before, &[]) {
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
        o.expect_tender_error("Backing storage size must be block aligned")
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
}

/// 63 block devices: the most a manifest holds.
pub fn mft_maxdevices(src: Source) {
    let tmp = TempDir::new("mft");
    let devs: Vec<String> = (0..63)
        .map(|i| {
            let f = tmp.file(&format!("storage{i}.img"), 4096, 0);
            format!("--block:storage{i}={}", f.display())
        })
        .collect();
    let before: Vec<&str> = devs.iter().map(String::as_str).collect();
    if let Some(o) = run(src, "mft_maxdevices", &before, &[]) {
        o.expect_success();
    }
}

/// Upstream's buggy ELF (its MFT1 note is too short).
pub fn buggyelf(src: Source) {
    ends(src, "buggyelf", &[], |o| {
        o.expect_tender_error("note does not fall within valid size")
    });
}

/// `--dumpcore=DIR`: an aborting guest leaves DIR/core.solo5-hvt.PID, named
/// at the end of a line of output (upstream's suite greps for it). Upstream
/// has a dedicated test_dumpcore; Corten's `abort` (a panic) does the same.
pub fn dumpcore(src: Source) {
    let name = match src {
        Source::Upstream => "dumpcore",
        Source::Corten => "abort",
    };
    core_of(src, name);
}

/// `--dumpcore=DIR` on a guest CPU exception: the core's registers come
/// from the trap frame the guest hands over.
pub fn dumpcore_exception(src: Source) {
    core_of(src, "exception");
}

/// Runs `name` with --dumpcore and checks the core: ELF ET_CORE, and an
/// NT_PRSTATUS whose RIP lies in the unikernel's image and whose CS/SS are
/// the guest's own (RPL 0), also when the guest ran at CPL 3 (ring-3
/// execution).
fn core_of(src: Source, name: &str) {
    let tmp = TempDir::new("core");
    let opt = format!("--dumpcore={}", tmp.path().display());
    let Some(o) = run(src, name, &[&opt], &[]) else {
        return;
    };
    o.expect_status(255);
    let file = o
        .stderr
        .lines()
        .find_map(|l| {
            l.rsplit('/')
                .next()
                .filter(|n| n.starts_with("core.solo5-hvt."))
        })
        .unwrap_or_else(|| panic!("no core file named:\n{}", o.stderr));
    let core = std::fs::read(tmp.path().join(file)).expect("core file");
    assert_eq!(&core[..4], b"\x7fELF");
    assert_eq!(u16::from_le_bytes([core[16], core[17]]), 4, "not ET_CORE");
    // The note follows the ELF header and two program headers: namesz,
    // descsz, type, "CORE\0" padded to 8, then struct elf_prstatus with
    // pr_reg (user_regs_struct) at 112.
    let note = 64 + 2 * 56;
    let word = |at: usize| u64::from_le_bytes(core[at..at + 8].try_into().unwrap());
    assert_eq!(
        u32::from_le_bytes(core[note + 8..note + 12].try_into().unwrap()),
        1
    );
    let regs = note + 20 + 112;
    let (rip, cs, ss) = (
        word(regs + 16 * 8),
        word(regs + 17 * 8),
        word(regs + 20 * 8),
    );
    assert!(
        (0x10_0000..0x1000_0000).contains(&rip),
        "rip {rip:#x} outside the image:\n{}",
        o.stderr
    );
    assert!(
        cs & 3 == 0 && ss & 3 == 0 && cs != 0,
        "cs {cs:#x} ss {ss:#x} are not the guest's selectors:\n{}",
        o.stderr
    );
    gdb_backtrace(src, name, &tmp.path().join(file));
}

/// gdb opens the core next to the unikernel and prints a backtrace whose
/// innermost frame is a function of the unikernel (not `??`).
fn gdb_backtrace(src: Source, name: &str, core: &std::path::Path) {
    let has_gdb = std::process::Command::new("gdb")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_gdb {
        corten_testutil::skip_note(
            "gdb",
            "opening cores in gdb: gdb is not installed (Debian package gdb)",
        );
        return;
    }
    let kernel = super::unikernel(src, name).expect("unikernel");
    let out = std::process::Command::new("gdb")
        .args(["-batch", "-nx", "-ex", "bt"])
        .arg(&kernel)
        .arg(core)
        .output()
        .expect("run gdb");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let frame0 = text
        .lines()
        .find(|l| l.starts_with("#0"))
        .unwrap_or_else(|| panic!("gdb printed no backtrace for the core:\n{text}"));
    assert!(
        !frame0.contains("??"),
        "gdb cannot name the faulting function: {frame0}\n{text}"
    );
    assert!(
        text.lines().filter(|l| l.starts_with('#')).count() >= 2,
        "backtrace has a single frame:\n{text}"
    );
}

/// How a network case expects the guest to do its I/O.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Io {
    /// Whatever the guest chooses (no check).
    Any,
    /// Through the shared ring: corten-hvt's statistics must show ring
    /// writes.
    Ring,
    /// With `--net-ring=off`: no ring at all, hypercalls only.
    Hypercalls,
}

/// Serves pings on `ifaces` taps (10.N.0.2) inside a fresh namespace.
fn net_case(
    src: Source,
    name: &str,
    ifaces: usize,
    count: usize,
    guest_args: &[&str],
    pattern: Option<[u8; 4]>,
    io: Io,
) {
    if !super::is_root_or_skip(name) || !kvm_or_skip(name) {
        return;
    }
    let Some(k) = unikernel(src, name) else {
        return;
    };
    let guest_args = args(guest_args);
    let name = name.to_owned();
    // The statistics line says how the guest did its network I/O; other
    // tenders (CORTEN_HVT_TENDER) print none, so there is nothing to check.
    let check_io = io != Io::Any && std::env::var_os("CORTEN_HVT_TENDER").is_none();
    net::in_new_netns(move || {
        let mut a = args(&["--mem=4096"]);
        match io {
            Io::Hypercalls => a.push("--net-ring=off".into()),
            // Explicit: `auto` would not offer it on a one-CPU machine.
            Io::Ring => a.push("--net-ring=on".into()),
            Io::Any => {}
        }
        let mut dests = Vec::new();
        for i in 0..ifaces {
            let tap = format!("tap10{i}");
            net::add_tap(&tap, &format!("10.{i}.0.1/24"), None);
            a.push(format!("--net:service{i}={tap}").into());
            dests.push(Ipv4Addr::new(10, i as u8, 0, 2));
        }
        a.push("--".into());
        a.push(k.into_os_string());
        a.extend(guest_args);
        let child = command(&a)
            .env("CORTEN_HVT_STATS", "1")
            .spawn()
            .expect("spawn corten-hvt");
        for i in 0..ifaces {
            net::wait_for_carrier(&format!("tap10{i}"), Duration::from_secs(10));
        }
        let per_iface = count / ifaces;
        let stats = net::ping(
            &dests,
            per_iface,
            64,
            Duration::from_secs(10),
            Duration::from_secs(60),
            pattern,
        );
        let o = wait_with_timeout(child, Duration::from_secs(60));
        for (i, s) in stats.iter().enumerate() {
            assert!(
                s.received > 0 && s.corrupted == 0,
                "{name}: no (intact) replies on interface {i}: {s:?}\n{}",
                o.output()
            );
        }
        o.expect_success();
        if check_io {
            let ring_writes = o
                .stderr
                .split("net ring: ")
                .nth(1)
                .and_then(|r| r.split(' ').next())
                .and_then(|n| n.parse::<u64>().ok());
            match io {
                Io::Ring => assert!(
                    ring_writes.is_some_and(|n| n > 0),
                    "{name}: the guest did not use the ring:\n{}",
                    o.stderr
                ),
                _ => assert!(
                    ring_writes.is_none() && o.stderr.contains("net_write="),
                    "{name}: expected hypercalls only:\n{}",
                    o.stderr
                ),
            }
        }
    });
}

/// test_net "limit": exits after answering 100000 pings (through the ring
/// on corten-hvt when the guest takes it: upstream's newest guests do).
pub fn net(src: Source) {
    net_case(src, "net", 1, 100_000, &["limit"], None, Io::Any);
}

/// test_net_2if "limit": 100000 pings over two interfaces.
pub fn net_2if(src: Source) {
    net_case(src, "net_2if", 2, 100_000, &["limit"], None, Io::Any);
}

/// The shared ring: upstream's test_net_ring (10000 pings whose payload is
/// the pattern 0xdeadbeef, checked by the guest and, in the replies, by
/// the test), or Corten's net with `--corten:net-ring`.
pub fn net_ring(src: Source) {
    ring_guest(src, Io::Ring);
}

/// `--net-ring=off`: the same guests fall back to hypercalls.
pub fn net_hypercalls(src: Source) {
    ring_guest(src, Io::Hypercalls);
}

/// The guests that take the ring when offered (see [`net_ring`]), doing
/// their I/O as `io` says.
fn ring_guest(src: Source, io: Io) {
    match src {
        Source::Upstream => net_case(
            src,
            "net_ring",
            1,
            10_000,
            &[],
            Some([0xde, 0xad, 0xbe, 0xef]),
            io,
        ),
        Source::Corten => net_case(
            src,
            "net",
            1,
            10_000,
            &["--corten:net-ring", "limit=10000"],
            None,
            io,
        ),
    }
}

/// The tap's MTU reaches the guest.
pub fn net_mtu(src: Source) {
    if !super::is_root_or_skip("net_mtu") || !kvm_or_skip("net_mtu") {
        return;
    }
    if let Some(k) = unikernel(src, "net_mtu") {
        net::mtu_reaches_guest(k, "--mem=4096", hvt);
    }
}

/// Generates one `#[test]` per named case for `$src`.
#[macro_export]
macro_rules! hvt_suite {
    ($src:expr; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                common::suite::$case($src);
            }
        )*
    };
}
