//! Shared helpers of the integration tests: running the built binary and
//! building small unikernel images around a given MFT1 note.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use corten_abi::note::ABI1_NOTE_TYPE;

pub const BIN: &str = env!("CARGO_BIN_EXE_corten-elftool");
pub const EM_X86_64: u16 = 62;
pub const EM_AARCH64: u16 = 183;

pub fn host_machine() -> u16 {
    if cfg!(target_arch = "aarch64") {
        EM_AARCH64
    } else {
        EM_X86_64
    }
}

pub fn golden(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

/// A golden file with `@VERSION@` filled in.
pub fn golden_text(name: &str) -> String {
    std::fs::read_to_string(golden(name))
        .unwrap()
        .replace("@VERSION@", corten_manifest::GENERATOR_VERSION)
}

pub fn elftool(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

pub fn elftool_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    // Written from a thread so a large input cannot deadlock with the
    // child's output; elftool may stop reading early (EPIPE is fine).
    let writer = std::thread::spawn(move || match stdin.write_all(&input) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        other => other.unwrap(),
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A fresh scratch directory for one test.
pub fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("elftool")
        .join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn put(v: &mut [u8], at: usize, bytes: &[u8]) {
    v[at..at + bytes.len()].copy_from_slice(bytes);
}

/// The ABI1 note for `target` and `version`.
pub fn abi1_note(target: u32, version: u32) -> Vec<u8> {
    let mut n = Vec::new();
    for w in [6u32, 16, ABI1_NOTE_TYPE] {
        n.extend(w.to_le_bytes());
    }
    n.extend(b"Solo5\0\0\0");
    for w in [target, version, 0, 0] {
        n.extend(w.to_le_bytes());
    }
    n
}

/// A minimal static executable for `machine`: one R-X PT_LOAD at 0x100000
/// (the entry point), then a PT_NOTE with the ABI1 note and one with
/// `mft_note` (omitted if empty).
pub fn unikernel(machine: u16, abi_note: &[u8], mft_note: &[u8]) -> Vec<u8> {
    const TEXT: usize = 0x1000;
    const TEXT_LEN: usize = 0x10;
    let abi_at = TEXT + TEXT_LEN;
    let mft_at = (abi_at + abi_note.len() + 7) & !7;
    let phnum = if mft_note.is_empty() { 2 } else { 3 };
    let mut v = vec![0u8; mft_at + mft_note.len()];

    put(&mut v, 0, b"\x7fELF\x02\x01\x01");
    put(&mut v, 16, &2u16.to_le_bytes()); // ET_EXEC
    put(&mut v, 18, &machine.to_le_bytes());
    put(&mut v, 20, &1u32.to_le_bytes());
    put(&mut v, 24, &0x100000u64.to_le_bytes()); // e_entry
    put(&mut v, 32, &0x40u64.to_le_bytes()); // e_phoff
    put(&mut v, 52, &64u16.to_le_bytes());
    put(&mut v, 54, &56u16.to_le_bytes());
    put(&mut v, 56, &(phnum as u16).to_le_bytes());
    put(&mut v, 58, &64u16.to_le_bytes());

    let phdr = |v: &mut Vec<u8>,
                i: usize,
                p_type: u32,
                flags: u32,
                off: usize,
                vaddr: u64,
                len: usize,
                align: u64| {
        let at = 0x40 + i * 56;
        put(v, at, &p_type.to_le_bytes());
        put(v, at + 4, &flags.to_le_bytes());
        put(v, at + 8, &(off as u64).to_le_bytes());
        put(v, at + 16, &vaddr.to_le_bytes());
        put(v, at + 24, &vaddr.to_le_bytes());
        put(v, at + 32, &(len as u64).to_le_bytes());
        put(v, at + 40, &(len as u64).to_le_bytes());
        put(v, at + 48, &align.to_le_bytes());
    };
    // Code: x86_64 "hlt; jmp .-1" / aarch64 "wfi; b .-4".
    let code: &[u8] = if machine == EM_AARCH64 {
        &[0x7f, 0x20, 0x03, 0xd5, 0xff, 0xff, 0xff, 0x17]
    } else {
        &[0xf4, 0xeb, 0xfd]
    };
    put(&mut v, TEXT, code);
    phdr(&mut v, 0, 1, 4 | 1, TEXT, 0x100000, TEXT_LEN, 0x1000);
    put(&mut v, abi_at, abi_note);
    phdr(&mut v, 1, 4, 4, abi_at, 0, abi_note.len(), 4);
    if !mft_note.is_empty() {
        put(&mut v, mft_at, mft_note);
        phdr(&mut v, 2, 4, 4, mft_at, 0, mft_note.len(), 8);
    }
    v
}

/// Writes `bytes` to `dir/name` and returns the path as a string.
pub fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.to_string_lossy().into_owned()
}

/// The MFT1 note `gen-manifest --note` makes from the golden JSON `json`.
pub fn gen_note(json: &str) -> Vec<u8> {
    let out = elftool(&[
        "gen-manifest",
        "--note",
        &golden(json).to_string_lossy(),
        "-",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    out.stdout
}
