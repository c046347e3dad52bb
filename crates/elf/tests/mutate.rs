//! A stable, deterministic smoke fuzz: mutates the hand-made corpus images
//! with a fixed-seed generator and runs every mutant through the whole
//! tender sequence. It needs no nightly toolchain, so it runs in every
//! `cargo test`; the coverage-guided fuzzing is fuzz/ (cargo-fuzz).
//!
//! Invariants: nothing panics; a rejection is one line naming the file; an
//! accepted image whose layout fits loads, and its segments lie where the
//! checks said.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap

mod support;

use corten_elf::{AbiTarget, Arch, Elf};
use support::corpus;

const MEM: usize = 0x20_0000;
const MIN_BASE: u64 = 0x10_0000;
const MUTANTS_PER_SEED: usize = 2000;

/// xorshift64*: small, deterministic, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const INTERESTING: [u64; 14] = [
    0,
    1,
    4,
    0x14,
    0x38,
    0x40,
    0x1000,
    0xfff,
    0x10_0000,
    0x20_0000,
    0x7fff_ffff,
    0xffff_ffff,
    u64::MAX,
    u64::MAX - 0xfff,
];

fn mutate(rng: &mut Rng, data: &mut Vec<u8>) {
    for _ in 0..=rng.below(3) {
        let len = data.len();
        match rng.below(6) {
            0 if len > 0 => {
                let at = rng.below(len);
                data[at] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let at = rng.below(len);
                data[at] = rng.next() as u8;
            }
            2 => {
                // An interesting value over a (probably) header field.
                let width = [2usize, 4, 8][rng.below(3)];
                let at = rng.below(len.min(0x400)) & !(width - 1);
                let v = INTERESTING[rng.below(INTERESTING.len())].to_le_bytes();
                if at + width <= len {
                    data[at..at + width].copy_from_slice(&v[..width]);
                }
            }
            3 => data.truncate(rng.below(len + 1)),
            4 => data.extend((0..rng.below(64)).map(|_| rng.next() as u8)),
            _ if len > 8 => {
                // Copy a chunk from elsewhere (moves notes and headers around).
                let n = rng.below(56).min(len / 2);
                let from = rng.below(len - n);
                let to = rng.below(len - n);
                let chunk = data[from..from + n].to_vec();
                data[to..to + n].copy_from_slice(&chunk);
            }
            _ => {}
        }
    }
}

fn run_one(data: &[u8], mem: &mut [u8]) -> bool {
    let _ = Elf::parse("m.elf", data, Arch::Aarch64);
    let elf = match Elf::parse("m.elf", data, Arch::X86_64) {
        Ok(elf) => elf,
        Err(e) => {
            let msg = e.to_string();
            assert!(msg.starts_with("m.elf: ") && !msg.contains('\n'), "{msg}");
            return false;
        }
    };
    let _ = elf.check_abi(AbiTarget::Hvt, 2);
    let _ = elf.manifest_desc();
    if elf.check_layout(mem.len() as u64, MIN_BASE).is_err() {
        // load must refuse gracefully too, or succeed if it happens to fit.
        let _ = elf.load(data, mem);
        return false;
    }
    elf.load(data, mem).unwrap();
    for s in elf.segments() {
        assert!(s.start >= MIN_BASE && s.end <= mem.len() as u64);
        assert!(s.start <= s.vaddr && s.vaddr + s.memsz <= s.end);
        assert!(!(s.prot.write && s.prot.exec));
        let (v, o, f) = (s.vaddr as usize, s.offset as usize, s.filesz as usize);
        if f > 0 {
            assert_eq!(&mem[v..v + f], &data[o..o + f]);
        }
    }
    assert!(elf.kernel_end() <= mem.len() as u64);
    true
}

#[test]
fn mutated_corpus_never_panics_and_loads_what_it_accepts() {
    let seeds: Vec<Vec<u8>> = corpus::valid_cases()
        .into_iter()
        .chain(corpus::malformed_cases())
        .map(|c| c.bytes)
        .collect();
    let mut rng = Rng(0x00c0_47e4_e1f0_0d5e);
    let mut mem = vec![0u8; MEM];
    let (mut runs, mut loaded) = (0usize, 0usize);
    for seed in &seeds {
        for _ in 0..MUTANTS_PER_SEED {
            let mut data = seed.clone();
            mutate(&mut rng, &mut data);
            loaded += usize::from(run_one(&data, &mut mem));
            runs += 1;
        }
    }
    eprintln!("{runs} mutants, {loaded} accepted and loaded");
    // The mutations must leave a fair share loadable, or this tests nothing
    // past the header checks.
    assert!(loaded > runs / 50, "only {loaded} of {runs} mutants loaded");
}
