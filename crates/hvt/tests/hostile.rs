//! Hostile guests: hand-made unikernels (see corten_hvt::testkit) that pass
//! bad addresses, lengths, ports and handles, write to their own text,
//! triple-fault or spin. Each must end in a defined way (an exit status and
//! a message), never with the tender crashing. Every case runs twice: with
//! ring-3 execution forced off and forced on (see arch/x86_64/ring3.rs).

#![cfg(target_arch = "x86_64")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;
use std::time::Duration;

use common::{kvm_or_skip, tender, wait_with_timeout, Outcome, TempDir};
use corten_hvt::testkit::{booted, build, Code, Devices, SCRATCH, TEXT};

const ARGS: u32 = SCRATCH + 0x100;

fn run_with(ring3: &str, code: Code, devices: Devices, opts: &[&str]) -> Option<Outcome> {
    if !kvm_or_skip("hostile guest") {
        return None;
    }
    let dir = TempDir::new("hostile");
    let k = build(dir.path(), "guest", &code, devices).expect("write unikernel");
    let mut cmd = common::command(opts.iter().map(std::ffi::OsStr::new));
    cmd.arg("--mem=512")
        .arg(&k)
        .env("CORTEN_HVT_RING3", ring3)
        .env("CORTEN_HVT_STATS", "1");
    let o = wait_with_timeout(cmd.spawn().expect("spawn"), Duration::from_secs(60));
    // Never a signal death: the tender itself must not crash.
    assert!(
        o.status < 128 || o.status == 255,
        "tender died: {}\n{}",
        o.status,
        o.output()
    );
    Some(o)
}

/// Starts every program like a Solo5 guest boots (own GDT, TSS, IDT) and
/// with a hypercall, so that in ring-3 mode the rest runs at CPL 3.
fn prologue() -> Code {
    booted(Code::new()).puts(b"start\n")
}

fn ring3_engaged(r: &str, o: &Outcome) {
    if r == "1" {
        assert!(
            o.stderr.contains("guest moved to CPL 3"),
            "ring-3 execution did not engage:\n{}",
            o.stderr
        );
    }
}

common::at_both_cpls!(
    halt_status,
    halt_negative_status,
    halt_bad_cookie,
    puts_data_outside_memory,
    puts_length_overflow,
    struct_outside_memory,
    hypercall_zero,
    unknown_port,
    byte_sized_out,
    port_read,
    output_into_text,
    write_to_text,
    hlt,
    triple_fault,
    block_bad_requests,
    block_read_into_text,
    sigterm_while_spinning,
    guest_exception,
    tls_base,
    privileged_instructions,
);

fn halt_status(r: &str) {
    let Some(o) = run_with(
        r,
        prologue().puts(b"hello\n").halt(42, 0),
        Devices::None,
        &[],
    ) else {
        return;
    };
    o.expect_status(42);
    assert_eq!(o.stdout, "booted\nstart\nhello\n");
    ring3_engaged(r, &o);
}

fn halt_negative_status(r: &str) {
    let Some(o) = run_with(r, prologue().halt(-1, 0), Devices::None, &[]) else {
        return;
    };
    o.expect_status(255);
}

fn halt_bad_cookie(r: &str) {
    // A cookie whose 512 bytes run past the end of guest memory.
    let Some(o) = run_with(r, prologue().halt(7, (512 << 20) - 16), Devices::None, &[]) else {
        return;
    };
    o.expect_tender_error("cookie");
}

fn puts_data_outside_memory(r: &str) {
    let code = prologue()
        .store64(ARGS, 0x7fff_fff0)
        .store64(ARGS + 8, 100)
        .hypercall(2, ARGS)
        .halt(0, 0);
    let Some(o) = run_with(r, code, Devices::None, &[]) else {
        return;
    };
    o.expect_tender_error("outside guest memory");
    assert!(o.stderr.contains("PUTS"), "{}", o.stderr);
}

fn puts_length_overflow(r: &str) {
    let code = prologue()
        .store64(ARGS, SCRATCH as i32)
        .store64(ARGS + 8, -1)
        .hypercall(2, ARGS)
        .halt(0, 0);
    let Some(o) = run_with(r, code, Devices::None, &[]) else {
        return;
    };
    o.expect_tender_error("outside guest memory");
}

fn struct_outside_memory(r: &str) {
    for nr in 1..=8 {
        let code = prologue().hypercall(nr, 0xffff_fff8).halt(0, 0);
        let Some(o) = run_with(r, code, Devices::None, &[]) else {
            return;
        };
        o.expect_tender_error("argument struct");
    }
}

fn hypercall_zero(r: &str) {
    let Some(o) = run_with(
        r,
        prologue().hypercall(0, ARGS).halt(0, 0),
        Devices::None,
        &[],
    ) else {
        return;
    };
    o.expect_tender_error("number 0 does not exist");
}

fn unknown_port(r: &str) {
    let Some(o) = run_with(
        r,
        prologue().out32(0x509, ARGS).halt(0, 0),
        Devices::None,
        &[],
    ) else {
        return;
    };
    o.expect_tender_error("Invalid guest port access: port=0x509");
}

fn byte_sized_out(r: &str) {
    let Some(o) = run_with(r, prologue().out8(0x502).halt(0, 0), Devices::None, &[]) else {
        return;
    };
    o.expect_tender_error("Invalid guest port access: port=0x502");
}

fn port_read(r: &str) {
    let Some(o) = run_with(r, prologue().in32(0x501).halt(0, 0), Devices::None, &[]) else {
        return;
    };
    o.expect_tender_error("Invalid guest port access");
}

/// WALLTIME's output struct in the host-read-only text: refused, not a
/// SIGSEGV in the tender.
fn output_into_text(r: &str) {
    let code = prologue().hypercall(1, TEXT as u32 + 8).halt(0, 0);
    let Some(o) = run_with(r, code, Devices::None, &[]) else {
        return;
    };
    o.expect_tender_error("read-only");
}

fn write_to_text(r: &str) {
    let code = prologue().store32(TEXT as u32 + 4, 0).halt(0, 0);
    let Some(o) = run_with(r, code, Devices::None, &[]) else {
        return;
    };
    o.expect_tender_error("host/guest translation fault");
}

fn hlt(r: &str) {
    let Some(o) = run_with(r, prologue().raw(&[0xf4]).halt(0, 0), Devices::None, &[]) else {
        return;
    };
    o.expect_tender_error("HLT");
}

/// An exception with no usable IDT: the CPU shuts down; 255 and registers.
fn triple_fault(r: &str) {
    let code = prologue()
        .store64(SCRATCH, 0)
        .store32(SCRATCH + 8, 0)
        .raw(&[0x0f, 0x01, 0x1c, 0x25]) // lidt [SCRATCH]
        .raw(&SCRATCH.to_le_bytes())
        .raw(&[0xcc]) // int3
        .halt(0, 0);
    let Some(o) = run_with(r, code, Devices::None, &[]) else {
        return;
    };
    o.expect_status(255);
    assert!(
        o.stderr.contains("triple fault") || o.stderr.contains("could not be delivered"),
        "{}",
        o.stderr
    );
    assert!(o.stderr.contains("rip="), "no register dump:\n{}", o.stderr);
}

/// A block request struct at ARGS: handle, offset, data, len; the guest
/// halts with the request's `ret` as its exit status.
fn block_request(nr: u16, handle: i32, offset: i32, data: i32, len: i32) -> Code {
    prologue()
        .store64(ARGS, handle)
        .store64(ARGS + 8, offset)
        .store64(ARGS + 16, data)
        .store64(ARGS + 24, len)
        .store32(ARGS + 32, 0x55)
        .hypercall(nr, ARGS)
        .halt_with_status_at(ARGS + 32)
}

fn block_bad_requests(r: &str) {
    let tmp = TempDir::new("blk");
    let img = tmp.file("disk.img", 8192, 0xaa);
    let opt = format!("--block:storage={}", img.display());
    let data = (SCRATCH + 0x1000) as i32;
    // (hypercall, handle, offset, len, expected ret)
    let cases = [
        (5, 1, 0, 512, 0),    // a good read
        (4, 1, 7680, 512, 0), // a good write of the last block
        (5, 2, 0, 512, 2),    // handle not attached: EINVAL
        (5, 0, 0, 512, 2),    // the reserved entry
        (5, 1, 8192, 512, 2), // at capacity
        (4, 1, 7936, 512, 2), // runs past capacity
        (5, 1, 100, 512, 2),  // unaligned
        (4, 1, 0, 1024, 2),   // two blocks
        (5, 1, -512, 512, 2), // offset wraps
    ];
    for (nr, handle, offset, len, want) in cases {
        let code = block_request(nr, handle, offset, data, len);
        let Some(o) = run_with(r, code, Devices::Block, &[&opt]) else {
            return;
        };
        o.expect_status(want);
    }
    assert_eq!(
        std::fs::metadata(&img).unwrap().len(),
        8192,
        "the disk grew"
    );
}

fn block_read_into_text(r: &str) {
    let tmp = TempDir::new("blk");
    let img = tmp.file("disk.img", 4096, 0xaa);
    let opt = format!("--block:storage={}", img.display());
    let code = block_request(5, 1, 0, TEXT as i32, 512);
    let Some(o) = run_with(r, code, Devices::Block, &[&opt]) else {
        return;
    };
    o.expect_tender_error("read-only");
}

fn sigterm_while_spinning(r: &str) {
    if !kvm_or_skip("sigterm") {
        return;
    }
    let dir = TempDir::new("spin");
    let k = build(dir.path(), "spin", &prologue().spin(), Devices::None).expect("write unikernel");
    let child = Command::new(tender())
        .args(["--mem=512".as_ref(), k.as_os_str()])
        .env("CORTEN_HVT_RING3", r)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: signals the child we spawned.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let o = wait_with_timeout(child, Duration::from_secs(20));
    o.expect_tender_error("Exiting on signal 15");
}

/// An exception in guest code reaches the guest's own handler (which
/// prints "trap" and halts 255 with its frame); the tender shows the frame.
fn guest_exception(r: &str) {
    let Some(o) = run_with(r, prologue().raw(&[0x0f, 0x0b]), Devices::None, &[]) else {
        return;
    };
    o.expect_status(255);
    assert!(o.stdout.ends_with("trap\n"), "{}", o.stdout);
    assert!(o.stderr.contains("guest trap frame"), "{}", o.stderr);
    ring3_engaged(r, &o);
}

/// `wrmsr IA32_FS_BASE` (what solo5_set_tls_base does) works at any CPL,
/// and the next %fs-relative load sees it.
fn tls_base(r: &str) {
    let tls = SCRATCH + 0x5000;
    let code = prologue()
        .store32(tls, 0x2a)
        .raw(&[0xb9, 0x00, 0x01, 0x00, 0xc0]) // mov ecx, 0xc0000100
        .raw(&[0xb8]) // mov eax, tls
        .raw(&tls.to_le_bytes())
        .raw(&[0x31, 0xd2]) // xor edx, edx
        .raw(&[0x0f, 0x30]) // wrmsr
        .raw(&[0x64, 0x8b, 0x04, 0x25, 0, 0, 0, 0]) // mov eax, fs:[0]
        .store_eax(SCRATCH + 0x6000)
        .halt_with_status_at(SCRATCH + 0x6000);
    let Some(o) = run_with(r, code, Devices::None, &[]) else {
        return;
    };
    o.expect_status(42);
    ring3_engaged(r, &o);
}

/// Instructions CPL 3 may not execute (cli, sti, a CR3 reload) still work:
/// at CPL 3 they are retried at CPL 0 and the guest goes on.
fn privileged_instructions(r: &str) {
    let code = prologue()
        .raw(&[0xfa, 0xfb]) // cli; sti
        .raw(&[0x0f, 0x20, 0xd8, 0x0f, 0x22, 0xd8]) // mov rax, cr3; mov cr3, rax
        .puts(b"survived\n")
        .halt(0, 0);
    let Some(o) = run_with(r, code, Devices::None, &[]) else {
        return;
    };
    o.expect_status(0);
    assert!(o.stdout.ends_with("survived\n"), "{}", o.stdout);
    ring3_engaged(r, &o);
    if r == "1" {
        // Back at CPL 3 after the retry at CPL 0, at the next hypercall.
        assert!(
            o.stderr.contains("moved to CPL 3 2 time(s)"),
            "{}",
            o.stderr
        );
    }
}
