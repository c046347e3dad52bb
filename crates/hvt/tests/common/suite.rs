//! The cases only hvt has: cores (`--dumpcore`) and the network ring.
//! The shared ones are `corten_testutil::suite`.

use corten_testutil::suite::net::{serve_pings, Pings};
use corten_testutil::suite::run;
use corten_testutil::{Source, TempDir, Tender};

/// `--dumpcore=DIR`: an aborting guest leaves DIR/core.solo5-hvt.PID, named
/// at the end of a line of output (upstream's suite greps for it). Upstream
/// has a dedicated test_dumpcore; Corten's `abort` (a panic) does the same.
pub fn dumpcore(t: &Tender, src: Source) {
    let name = match src {
        Source::Upstream => "dumpcore",
        Source::Corten => "abort",
    };
    core_of(t, src, name);
}

/// `--dumpcore=DIR` on a guest CPU exception: the core's registers come
/// from the trap frame the guest hands over.
pub fn dumpcore_exception(t: &Tender, src: Source) {
    core_of(t, src, "exception");
}

/// Runs `name` with --dumpcore and checks the core: ELF ET_CORE, and an
/// NT_PRSTATUS whose RIP lies in the unikernel's image and whose CS/SS are
/// the guest's own (RPL 0), also when the guest ran at CPL 3 (ring-3
/// execution).
fn core_of(t: &Tender, src: Source, name: &str) {
    let tmp = TempDir::new("core");
    let opt = format!("--dumpcore={}", tmp.path().display());
    let Some(o) = run(t, src, name, &[&opt], &[]) else {
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
    gdb_backtrace(t, src, name, &tmp.path().join(file));
}

/// gdb opens the core next to the unikernel and prints a backtrace whose
/// innermost frame is a function of the unikernel (not `??`).
fn gdb_backtrace(t: &Tender, src: Source, name: &str, core: &std::path::Path) {
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
    let kernel = t.unikernel(src, name).expect("unikernel");
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

/// How a ring case expects the guest to do its network I/O.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Io {
    /// Through the shared ring: corten-hvt's statistics must show ring
    /// writes.
    Ring,
    /// With `--net-ring=off`: no ring at all, hypercalls only.
    Hypercalls,
}

/// The shared ring: upstream's test_net_ring (10000 pings whose payload is
/// the pattern 0xdeadbeef, checked by the guest and, in the replies, by
/// the test), or Corten's net with `--corten:net-ring`.
pub fn net_ring(t: &Tender, src: Source) {
    ring_guest(t, src, Io::Ring);
}

/// `--net-ring=off`: the same guests fall back to hypercalls.
pub fn net_hypercalls(t: &Tender, src: Source) {
    ring_guest(t, src, Io::Hypercalls);
}

/// The guests that take the ring when offered (see [`net_ring`]), doing
/// their I/O as `io` says.
fn ring_guest(t: &Tender, src: Source, io: Io) {
    let mut p = match src {
        Source::Upstream => Pings {
            pattern: Some([0xde, 0xad, 0xbe, 0xef]),
            ..Pings::new("net_ring", 1, 10_000, &[])
        },
        Source::Corten => Pings::new("net", 1, 10_000, &["--corten:net-ring", "limit=10000"]),
    };
    // Explicit: `auto` would not offer the ring on a one-CPU machine.
    p.options.push(match io {
        Io::Ring => "--net-ring=on".into(),
        Io::Hypercalls => "--net-ring=off".into(),
    });
    p.env.push(("CORTEN_HVT_STATS".into(), "1".into()));
    let Some(o) = serve_pings(t, src, p) else {
        return;
    };
    // The statistics line says how the guest did its network I/O; other
    // tenders (CORTEN_HVT_TENDER) print none, so there is nothing to check.
    if t.is_overridden() {
        return;
    }
    let ring_writes = o
        .stderr
        .split("net ring: ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse::<u64>().ok());
    match io {
        Io::Ring => assert!(
            ring_writes.is_some_and(|n| n > 0),
            "the guest did not use the ring:\n{}",
            o.stderr
        ),
        Io::Hypercalls => assert!(
            ring_writes.is_none() && o.stderr.contains("net_write="),
            "expected hypercalls only:\n{}",
            o.stderr
        ),
    }
}
