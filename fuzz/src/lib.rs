//! What each fuzz target does with its input, as plain functions so the
//! same code runs under libFuzzer (nightly, `cargo fuzz run TARGET`) and
//! under the stable `cargo test` replay of `seeds/` and `regressions/`.
//!
//! Targets: `elf_parse`, `manifest_note`, `tender_cli` (here). Add a target by writing its function here,
//! a two-line file in fuzz_targets/, a `[[bin]]` in Cargo.toml and a seed
//! directory `seeds/TARGET/`.

use corten_elf::{AbiTarget, Arch, Elf};
use corten_manifest::Manifest;
use corten_tender::cli::{self, ExtraOption, OptionArg, Scan, TenderSpec};

/// Guest memory the ELF target loads into. Small, so that most segment
/// layouts fall outside it and the refusal paths are fuzzed too, yet large
/// enough for the hand-made corpus images (they end at 0x104000).
pub const ELF_MEM: usize = 0x20_0000;

/// Lowest guest address a segment may use (both tenders use 1 MiB).
pub const ELF_MIN_BASE: u64 = 0x10_0000;

/// Parses `data` as an x86_64 unikernel the way a tender does and, if it is
/// accepted, loads it into `mem` (which must be `ELF_MEM` bytes). Also
/// parses for aarch64 to cover that header path. Returns the message on
/// rejection, so callers can check it is one line naming the file.
pub fn elf_parse(data: &[u8], mem: &mut [u8]) -> Result<(), String> {
    let _ = Elf::parse("fuzz.elf", data, Arch::Aarch64);
    let elf = Elf::parse("fuzz.elf", data, Arch::X86_64).map_err(check_message)?;
    let _ = elf.abi();
    let _ = elf.check_abi(AbiTarget::Hvt, 2);
    let _ = elf.manifest_desc();
    let _ = elf.kernel_end();
    elf.check_layout(mem.len() as u64, ELF_MIN_BASE)
        .map_err(check_message)?;
    // Accepted and laid out: loading must then succeed, both ways.
    if let Err(e) = elf.load(data, mem) {
        panic!("check_layout accepted but load failed: {e}");
    }
    if let Err(e) = elf.load_into_zeroed(data, mem) {
        panic!("check_layout accepted but load_into_zeroed failed: {e}");
    }
    // And every segment lies where check_layout said.
    for s in elf.segments() {
        assert!(s.start >= ELF_MIN_BASE && s.end <= mem.len() as u64);
        assert!(s.start <= s.vaddr && s.vaddr + s.memsz <= s.end);
        assert!(!(s.prot.write && s.prot.exec));
    }
    assert!(elf
        .segments()
        .iter()
        .any(|s| s.prot.exec && s.contains(elf.entry())));
    Ok(())
}

/// Every message starts with the file name and is one line.
fn check_message(e: corten_elf::ElfError) -> String {
    let msg = e.to_string();
    assert!(msg.starts_with("fuzz.elf: "), "{msg}");
    assert!(!msg.contains('\n'), "{msg}");
    msg
}

/// Reads `data` both as an MFT1 descriptor (the bytes after the note's
/// alignment padding, as a tender gets them) and as a JSON manifest source.
/// Whatever is accepted must survive a round trip through every writer;
/// every rejection must be one line (JSON ones start with the source name).
pub fn manifest_note(data: &[u8]) {
    match Manifest::from_note_desc(data) {
        Ok(m) => round_trip(&m),
        Err(e) => assert!(!e.to_string().contains('\n'), "{e}"),
    }
    match Manifest::from_json_bytes("fuzz.json", data) {
        Ok(m) => round_trip(&m),
        Err(e) => {
            let msg = e.to_string();
            assert!(msg.starts_with("fuzz.json:"), "{msg}");
            assert!(!msg.contains('\n'), "{msg}");
        }
    }
}

/// An accepted manifest: within the limits, and identical after going
/// through the note form and upstream's query JSON form.
fn round_trip(m: &Manifest) {
    assert!(m.devices.len() <= corten_manifest::MAX_DEVICES);
    let mft = m.to_mft_bytes();
    assert_eq!(mft.len(), 8 + (m.devices.len() + 1) * 104);
    let from_note = Manifest::from_note_desc(&mft).expect("re-encoded manifest must be valid");
    assert_eq!(&from_note, m);
    let note = m.to_note();
    assert_eq!(&note[note.len() - mft.len()..], &mft[..]);
    let json = m.to_query_json();
    let from_json = Manifest::from_json("query", &json).expect("query JSON must read back");
    assert_eq!(&from_json, m);
    let _ = m.to_c_source();
    let _ = m.to_rust_source();
}

/// A tender's front end as spt and hvt configure it: one flag and one
/// option with a value among the extras.
const SPEC: TenderSpec = TenderSpec {
    target: "fuzz",
    version: "0",
    abi_version: 2,
    extra_options: &[
        ExtraOption {
            name: "--x-flag",
            arg: OptionArg::Flag,
            help: "--x-flag",
            warning: Some("a warning"),
        },
        ExtraOption {
            name: "--x-value",
            arg: OptionArg::Value,
            help: "--x-value=V",
            warning: None,
        },
    ],
};

/// `data` split at NUL bytes as a tender's command line (without argv[0],
/// at most 64 words), through both passes of the front end: scan, then
/// parse. Every rejection is one line; an accepted line has its kernel,
/// a positive memory size, and only named devices.
pub fn tender_cli(data: &[u8]) {
    use std::os::unix::ffi::OsStrExt;
    let args: Vec<std::ffi::OsString> = data
        .split(|&b| b == 0)
        .take(64)
        .map(|w| std::ffi::OsStr::from_bytes(w).to_owned())
        .collect();
    let one_line = |e: &dyn std::fmt::Display| {
        let m = e.to_string();
        assert!(!m.contains('\n'), "{m}");
    };
    match cli::scan(&args) {
        Ok(Scan::Kernel(i)) => match cli::parse(&SPEC, &args, i) {
            Ok(o) => {
                assert!(o.mem_size > 0);
                assert_eq!(&o.kernel, &args[i]);
                for d in &o.devices {
                    assert!(!d.name.is_empty());
                }
            }
            Err(e) => one_line(&e),
        },
        Ok(_) => {}
        Err(e) => one_line(&e),
    }
    for w in &args {
        let _ = cli::parse_mac(w.as_bytes());
    }
}
