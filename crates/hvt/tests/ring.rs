//! Ring I/O for the network (`HVT_FEATURE_RING_IO`) with hand-made guests
//! (see corten_hvt::testkit): the offer in the boot info, frames both ways
//! through the ring, and hostile rings (runaway indices, data outside guest
//! memory, reads into text or into the ring, bad handles and operations),
//! each at CPL 0 and with ring-3 execution. The "tap" is one end of a
//! datagram socket pair passed as `--net:service0=@3`, so no root is needed.

#![cfg(target_arch = "x86_64")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::os::fd::AsRawFd;
use std::time::Duration;

use common::{inherit_fd, kvm_or_skip, socket_pair, wait_with_timeout, Outcome, TempDir};
use corten_abi::ring::{HVT_RING_NET_READ, HVT_RING_NET_WRITE};
use corten_hvt::testkit::{booted, build, Code, Devices, SCRATCH};

/// `--mem=512`: the guest's memory ends, and the ring starts, at 512 MiB.
const RING: u32 = 512 << 20;
/// Boot info fields (x86_64 boot info at 0x10000).
const BI_MEM_SIZE: u32 = 0x1_0000;
const BI_HOST_FEATURES: u32 = 0x1_0028;
const BI_NET_RING: u32 = 0x1_0030;
/// Ring offsets (corten_abi::ring::Ring).
const ENT_TAIL: u32 = 0;
const COM_TAIL: u32 = 68;
const ENTRIES: u32 = 128;
const COMMITS: u32 = 128 + 1024 * 32;
const FRAME: u32 = SCRATCH + 0x800;
const BUF: u32 = SCRATCH + 0x1000;

/// Runs `code` with one network device on a socket pair; `before` is sent
/// to the guest's side first. Returns the outcome and the frames the guest
/// sent.
fn run(ring3: &str, code: Code, opts: &[&str], before: &[u8]) -> Option<(Outcome, Vec<Vec<u8>>)> {
    if !kvm_or_skip("ring guest") {
        return None;
    }
    let dir = TempDir::new("ring");
    let k = build(dir.path(), "guest", &code, Devices::Net).expect("write unikernel");
    let (tender_end, peer) = socket_pair();
    if !before.is_empty() {
        // SAFETY: writes from a live buffer.
        let n = unsafe { libc::write(peer.as_raw_fd(), before.as_ptr().cast(), before.len()) };
        assert_eq!(n as usize, before.len());
    }
    // The ring explicitly (`auto` would not offer it on a one-CPU machine),
    // unless the case says otherwise.
    let ring = if opts.iter().any(|o| o.starts_with("--net-ring")) {
        None
    } else {
        Some("--net-ring=on")
    };
    let mut cmd = common::command(opts.iter().copied().chain(ring).map(std::ffi::OsStr::new));
    cmd.arg("--mem=512")
        .arg("--net:service0=@3")
        .arg(&k)
        .env("CORTEN_HVT_RING3", ring3)
        .env("CORTEN_HVT_STATS", "1");
    inherit_fd(&mut cmd, tender_end.as_raw_fd(), 3);
    let o = wait_with_timeout(cmd.spawn().expect("spawn"), Duration::from_secs(60));
    assert!(o.status < 128, "tender died: {}\n{}", o.status, o.output());
    if ring3 == "1" && o.status != 1 {
        assert!(
            o.stderr.contains("guest moved to CPL 3"),
            "ring-3 execution did not engage:\n{}",
            o.stderr
        );
    }
    let mut frames = Vec::new();
    loop {
        let mut b = [0u8; 2048];
        // SAFETY: reads into a live buffer.
        let n = unsafe { libc::read(peer.as_raw_fd(), b.as_mut_ptr().cast(), b.len()) };
        if n < 0 {
            break;
        }
        frames.push(b[..n as usize].to_vec());
    }
    Some((o, frames))
}

/// Booted like a Solo5 guest (so that ring-3 execution engages), with the
/// ring's address in RBX.
fn prologue() -> Code {
    booted(Code::new()).load_rbx(BI_NET_RING)
}

/// Entry `slot`: operation, handle, data, len, id.
fn entry(c: Code, slot: u32, op: u32, handle: u32, data: u32, len: u32) -> Code {
    let at = ENTRIES + slot * 32;
    c.store32_rbx(at, op)
        .store32_rbx(at + 4, handle)
        .store64_rbx(at + 8, data as i32)
        .store32_rbx(at + 16, len)
        .store32_rbx(at + 20, 100 + slot)
}

/// Publishes `n` entries and kicks the host thread.
fn publish(c: Code, n: u32) -> Code {
    c.store32_rbx(ENT_TAIL, n).out32(0x600, 0)
}

common::at_both_cpls!(
    offered_with_a_network_device,
    not_offered_when_disabled,
    guest_memory_ends_at_the_ring,
    write_reaches_the_tap,
    read_gets_a_frame,
    bad_handles_and_operations,
    runaway_tail,
    write_outside_guest_memory,
    read_into_text,
    read_into_the_ring,
);

fn offered_with_a_network_device(r: &str) {
    let Some((o, _)) = run(
        r,
        prologue().halt_with_status_at(BI_HOST_FEATURES),
        &[],
        &[],
    ) else {
        return;
    };
    o.expect_status(1); // HVT_FEATURE_RING_IO
                        // net_ring = 512 MiB: bits 24..31 are 0x20, bits 16..23 zero.
    for (byte, want) in [(3, (RING >> 24) as i32), (2, 0)] {
        let code = prologue().halt_with_status_at(BI_NET_RING + byte);
        let Some((o, _)) = run(r, code, &[], &[]) else {
            return;
        };
        o.expect_status(want);
    }
}

fn not_offered_when_disabled(r: &str) {
    let code = prologue().halt_with_status_at(BI_HOST_FEATURES);
    let Some((o, _)) = run(r, code, &["--net-ring=off"], &[]) else {
        return;
    };
    o.expect_status(0);
    let code = prologue().halt_with_status_at(BI_NET_RING);
    let Some((o, _)) = run(r, code, &["--net-ring=off"], &[]) else {
        return;
    };
    o.expect_status(0);
}

/// The guest is told 512 MiB (what --mem asked for), not 514: bits 24..31
/// of mem_size are 0x20 and bits 16..23 zero. The ring lies above.
fn guest_memory_ends_at_the_ring(r: &str) {
    for (byte, want) in [(3, (RING >> 24) as i32), (2, 0)] {
        let code = prologue().halt_with_status_at(BI_MEM_SIZE + byte);
        let Some((o, _)) = run(r, code, &[], &[]) else {
            return;
        };
        o.expect_status(want);
    }
}

/// A write submitted right before HALT still goes out (the tender drains
/// the ring at the end).
fn write_reaches_the_tap(r: &str) {
    let mut c = prologue();
    for i in 0..15u32 {
        c = c.store32(FRAME + 4 * i, 0x0101_0101 * (i + 1));
    }
    c = publish(entry(c, 0, HVT_RING_NET_WRITE, 1, FRAME, 60), 1).halt(0, 0);
    let Some((o, frames)) = run(r, c, &[], &[]) else {
        return;
    };
    o.expect_status(0);
    assert_eq!(frames.len(), 1, "{}", o.output());
    assert_eq!(frames[0].len(), 60);
    assert_eq!(&frames[0][..8], &[1, 1, 1, 1, 2, 2, 2, 2]);
    assert!(o.stderr.contains("net ring: 1 writes"), "{}", o.stderr);
}

/// A read gets the queued frame: the guest waits for the commit and exits
/// with its length.
fn read_gets_a_frame(r: &str) {
    let c = publish(entry(prologue(), 0, HVT_RING_NET_READ, 1, BUF, 1514), 1)
        .wait_nonzero_rbx(COM_TAIL)
        .copy32_from_rbx(COMMITS + 8, SCRATCH + 0xd00)
        .halt_with_status_at(SCRATCH + 0xd00);
    let Some((o, _)) = run(r, c, &[], &[0x5a; 77]) else {
        return;
    };
    o.expect_status(77);
}

/// Writes to a reserved or unknown handle are dropped, unknown operations
/// skipped, a read on an unknown handle is answered EINVAL (2); the guest
/// exits with that answer.
fn bad_handles_and_operations(r: &str) {
    let mut c = prologue();
    c = entry(c, 0, HVT_RING_NET_WRITE, 0, FRAME, 60);
    c = entry(c, 1, HVT_RING_NET_WRITE, u32::MAX, FRAME, 60);
    c = entry(c, 2, 0xdead, 1, FRAME, 60);
    c = entry(c, 3, HVT_RING_NET_READ, 63, BUF, 1514);
    c = publish(c, 4)
        .wait_nonzero_rbx(COM_TAIL)
        .copy32_from_rbx(COMMITS + 4, SCRATCH + 0xd00)
        .halt_with_status_at(SCRATCH + 0xd00);
    let Some((o, frames)) = run(r, c, &[], &[]) else {
        return;
    };
    o.expect_status(2);
    assert!(frames.is_empty(), "{frames:?}");
}

/// A hostile ring must end the tender with status 1 and a message before
/// the guest's own halt (after a 5 s poll) could.
fn hostile(r: &str, c: Code, phrase: &str) {
    let Some((o, frames)) = run(r, c.poll_ms(5000).halt(0, 0), &[], &[]) else {
        return;
    };
    o.expect_tender_error(phrase);
    assert!(frames.is_empty(), "{frames:?}");
}

fn runaway_tail(r: &str) {
    hostile(r, publish(prologue(), 0x10_0000), "ent_tail 1048576");
}

fn write_outside_guest_memory(r: &str) {
    // Runs from the guest's last bytes into the ring.
    let c = entry(prologue(), 0, HVT_RING_NET_WRITE, 1, RING - 16, 64);
    hostile(
        r,
        publish(c, 1),
        "ring entry 0 (NET_WRITE): the frame is invalid",
    );
}

fn read_into_text(r: &str) {
    let c = entry(prologue(), 0, HVT_RING_NET_READ, 1, 0x10_0000, 64);
    hostile(
        r,
        publish(c, 1),
        "ring entry 0 (NET_READ): the receive buffer is invalid",
    );
}

fn read_into_the_ring(r: &str) {
    let c = entry(prologue(), 0, HVT_RING_NET_READ, 1, RING + 0x40, 64);
    hostile(
        r,
        publish(c, 1),
        "ring entry 0 (NET_READ): the receive buffer is invalid",
    );
}
