//! Every unikernel built by upstream Solo5's own toolchain must parse and
//! load. The binaries come from a local upstream build in /tmp/solo5-up
//! (never committed); without it this test prints why it did nothing.
//! Set CORTEN_REQUIRE_UPSTREAM=1 to make its absence a failure.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap

use corten_elf::{AbiTarget, Arch, Elf};
use std::fs::File;
use std::path::{Path, PathBuf};

const UPSTREAM: &str = "/tmp/solo5-up/tests";
const MIN_BASE: u64 = 0x10_0000;
const MEM: usize = 64 << 20;

fn upstream_unikernels() -> Option<Vec<PathBuf>> {
    let dir = Path::new(UPSTREAM);
    if !dir.is_dir() {
        let msg = format!("skipped: {UPSTREAM} is absent (no local upstream Solo5 build)");
        assert!(
            std::env::var_os("CORTEN_REQUIRE_UPSTREAM").is_none(),
            "{msg}"
        );
        eprintln!("{msg}");
        return None;
    }
    let mut out = Vec::new();
    for test in std::fs::read_dir(dir).unwrap() {
        let test = test.unwrap().path();
        let Ok(files) = std::fs::read_dir(&test) else {
            continue;
        };
        for f in files {
            let f = f.unwrap().path();
            let ext = f.extension().and_then(|e| e.to_str());
            if matches!(ext, Some("hvt" | "spt")) {
                out.push(f);
            }
        }
    }
    out.sort();
    Some(out)
}

fn target_of(path: &Path) -> AbiTarget {
    match path.extension().and_then(|e| e.to_str()) {
        Some("hvt") => AbiTarget::Hvt,
        _ => AbiTarget::Spt,
    }
}

#[test]
fn every_upstream_unikernel_parses_and_loads() {
    let Some(files) = upstream_unikernels() else {
        return;
    };
    let mut loaded = 0;
    let mut mem = vec![0xa5u8; MEM];
    for path in &files {
        let name = path.display().to_string();
        let file = File::open(path).unwrap();
        if name.ends_with("buggyelf.hvt") {
            let e = Elf::parse(&name, &file, Arch::X86_64).unwrap_err();
            let msg = e.to_string();
            eprintln!("{msg}");
            assert!(
                msg.contains("note does not fall within valid size"),
                "{msg}"
            );
            continue;
        }
        let elf = Elf::parse(&name, &file, Arch::X86_64).unwrap_or_else(|e| panic!("{e}"));
        elf.check_abi(target_of(path), 2)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!elf.manifest_desc().unwrap().is_empty());
        elf.check_layout(MEM as u64, MIN_BASE)
            .unwrap_or_else(|e| panic!("{e}"));
        mem.fill(0xa5);
        elf.load(&file, &mut mem).unwrap_or_else(|e| panic!("{e}"));

        // Loaded bytes equal the file's, the rest of each page range is zero.
        let bytes = std::fs::read(path).unwrap();
        for s in elf.segments() {
            let (v, o, f) = (s.vaddr as usize, s.offset as usize, s.filesz as usize);
            assert_eq!(&mem[v..v + f], &bytes[o..o + f], "{name} {s:?}");
            assert!(mem[s.start as usize..v].iter().all(|&b| b == 0));
            assert!(mem[v + f..s.end as usize].iter().all(|&b| b == 0));
        }
        // The image reaches to the end of the pure-BSS segment, which
        // upstream's elf_load() leaves out of its kernel end.
        let bss = elf.segments().last().unwrap();
        assert_eq!(bss.filesz, 0, "{name}: last segment is the .bss");
        assert_eq!(elf.kernel_end(), bss.end);
        loaded += 1;
    }
    eprintln!("{loaded} upstream unikernels parsed and loaded");
    assert!(loaded >= 40, "only {loaded} upstream unikernels found");
}

/// Counts the reads the loader makes.
struct Counting<'a> {
    file: &'a File,
    reads: std::cell::Cell<usize>,
    bytes: std::cell::Cell<u64>,
}

impl corten_elf::ReadAt for Counting<'_> {
    fn size(&self) -> u64 {
        corten_elf::ReadAt::size(self.file)
    }
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
        self.reads.set(self.reads.get() + 1);
        self.bytes.set(self.bytes.get() + buf.len() as u64);
        corten_elf::ReadAt::read_exact_at(self.file, buf, offset)
    }
}

#[test]
fn hello_is_parsed_with_a_few_small_reads_and_quickly() {
    let Some(files) = upstream_unikernels() else {
        return;
    };
    let path = files
        .iter()
        .find(|p| p.ends_with("test_hello/test_hello.hvt"))
        .expect("test_hello.hvt in the upstream build");
    let file = File::open(path).unwrap();
    let counting = Counting {
        file: &file,
        reads: Default::default(),
        bytes: Default::default(),
    };
    let elf = Elf::parse("test_hello.hvt", &counting, Arch::X86_64).unwrap();
    // ELF header, program header table, three PT_NOTEs.
    assert_eq!(counting.reads.get(), 5);
    assert!(
        counting.bytes.get() < 1024,
        "{} bytes",
        counting.bytes.get()
    );

    // Time parse + checks + load (file bytes only, into fresh memory) over
    // many rounds; report the per-round cost. The bound is loose (shared,
    // unoptimised test build): it catches accidental whole-file reads or
    // quadratic work, not small regressions.
    let rounds = 200u32;
    let mut mem = vec![0u8; MEM];
    let t = std::time::Instant::now();
    for _ in 0..rounds {
        let elf = Elf::parse("test_hello.hvt", &file, Arch::X86_64).unwrap();
        elf.check_abi(AbiTarget::Hvt, 2).unwrap();
        elf.manifest_desc().unwrap();
        elf.check_layout(MEM as u64, MIN_BASE).unwrap();
        elf.load_into_zeroed(&file, &mut mem).unwrap();
    }
    let per_round = t.elapsed() / rounds;
    eprintln!("test_hello.hvt: parse + check + load_into_zeroed: {per_round:?} per round");
    assert!(
        per_round < std::time::Duration::from_millis(5),
        "{per_round:?}"
    );
    drop(elf);
}
