//! `validate` and the tenders agree on unikernels whose PT_LOAD was moved
//! (issue 8, finding 4): a real hello whose segment reads other file bytes
//! than the headers describing the same addresses used to pass `validate`
//! and then crash corten-spt (SIGSEGV) or spin corten-hvt. Now all three
//! refuse it with the same message, quickly.
//!
//! Runs the shipped binaries in `target/bin` (or `$CORTEN_BIN_DIR`) and the
//! test unikernels, all built by `cargo xtask build`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use corten_testutil::unikernels::unikernel;
use corten_testutil::{kvm_or_skip, wait_with_timeout, Outcome, Source, TempDir};

const PT_LOAD: u32 = 1;
const MOVED: &str = "was a PT_LOAD moved?";

fn shipped(name: &str) -> PathBuf {
    let dir = std::env::var_os("CORTEN_BIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| corten_testutil::workspace().join("target/bin"));
    let p = dir.join(name);
    assert!(
        p.exists(),
        "{} is missing: run `cargo xtask build` first",
        p.display()
    );
    p
}

fn run(program: &Path, args: &[&Path]) -> Outcome {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    wait_with_timeout(cmd.spawn().unwrap(), Duration::from_secs(20))
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

/// File offset of the program header of the `nth` PT_LOAD (from 0).
fn load_phdr(image: &[u8], nth: usize) -> usize {
    let phoff = u64_at(image, 32) as usize;
    let phentsize = u16::from_le_bytes([image[54], image[55]]) as usize;
    let phnum = u16::from_le_bytes([image[56], image[57]]) as usize;
    (0..phnum)
        .map(|i| phoff + i * phentsize)
        .filter(|&at| u32::from_le_bytes(image[at..at + 4].try_into().unwrap()) == PT_LOAD)
        .nth(nth)
        .expect("hello has that many PT_LOADs")
}

/// One way of moving a PT_LOAD: which one, and the new (p_offset, p_vaddr)
/// computed from the old ones.
struct Edit {
    what: &'static str,
    nth: usize,
    moved: fn(u64, u64) -> (u64, u64),
}

const EDITS: [Edit; 4] = [
    Edit {
        what: "second PT_LOAD: p_offset and p_vaddr both vaddr + 1 (the finding)",
        nth: 1,
        moved: |_, vaddr| (vaddr + 1, vaddr + 1),
    },
    Edit {
        what: "second PT_LOAD: p_offset + 0x10",
        nth: 1,
        moved: |off, vaddr| (off + 0x10, vaddr),
    },
    Edit {
        what: "second PT_LOAD: p_offset and p_vaddr + 0x11",
        nth: 1,
        moved: |off, vaddr| (off + 0x11, vaddr + 0x11),
    },
    Edit {
        what: "first PT_LOAD (text): p_offset + 0x1000",
        nth: 0,
        moved: |off, vaddr| (off + 0x1000, vaddr),
    },
];

/// `hello.EXT` followed by 2 MiB of non-zero filler, so that every moved
/// segment still lies inside the file (as in a unikernel with debug info).
fn padded_hello(dir: &TempDir, ext: &str) -> Vec<u8> {
    let mut image = std::fs::read(unikernel(Source::Corten, "hello", ext).unwrap()).unwrap();
    let mut x: u32 = 0x2545_f491;
    image.extend((0..2 << 20).map(|_| {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x as u8 | 1
    }));
    std::fs::write(dir.path().join(format!("padded.{ext}")), &image).unwrap();
    image
}

fn check_tender(tender: &str, ext: &str) {
    let dir = TempDir::new("moved-segments");
    let elftool = shipped("corten-elftool");
    let tender = shipped(tender);
    let image = padded_hello(&dir, ext);

    // Control: the padded file is fine for all three.
    let padded = dir.path().join(format!("padded.{ext}"));
    let out = run(&elftool, &[Path::new("validate"), &padded]);
    assert_eq!(out.status, 0, "padded hello.{ext}: {}", out.output());
    let ok = run(&tender, &[&padded]);
    assert!(
        ok.status == 0 && ok.stdout.contains("Hello, World"),
        "padded hello.{ext}: {}",
        ok.output()
    );

    for edit in &EDITS {
        let mut bad = image.clone();
        let ph = load_phdr(&bad, edit.nth);
        let (off, vaddr) = (edit.moved)(u64_at(&bad, ph + 8), u64_at(&bad, ph + 16));
        bad[ph + 8..ph + 16].copy_from_slice(&off.to_le_bytes());
        bad[ph + 16..ph + 24].copy_from_slice(&vaddr.to_le_bytes());
        bad[ph + 24..ph + 32].copy_from_slice(&vaddr.to_le_bytes()); // p_paddr
        let file = dir.path().join(format!("moved.{ext}"));
        std::fs::write(&file, &bad).unwrap();

        let v = run(&elftool, &[Path::new("validate"), &file]);
        assert_eq!(
            v.status,
            1,
            "{ext}, {}: validate: {}",
            edit.what,
            v.output()
        );
        assert!(
            v.stderr.contains(MOVED),
            "{ext}, {}: validate: {}",
            edit.what,
            v.output()
        );
        let t = run(&tender, &[&file]);
        assert_eq!(t.status, 1, "{ext}, {}: tender: {}", edit.what, t.output());
        // Same message as validate, after each program's own name.
        let reason = |s: &str| s.split_once(": ").map(|(_, r)| r.trim().to_owned());
        assert_eq!(
            reason(&t.stderr),
            reason(&v.stderr),
            "{ext}, {}: tender and validate disagree",
            edit.what
        );
    }
}

#[test]
fn spt_and_validate_refuse_moved_segments() {
    check_tender("corten-spt", "spt");
}

#[test]
fn hvt_and_validate_refuse_moved_segments() {
    if !kvm_or_skip("hvt_and_validate_refuse_moved_segments") {
        return;
    }
    check_tender("corten-hvt", "hvt");
}
