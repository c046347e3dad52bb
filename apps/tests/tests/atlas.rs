//! ATLAS dgemm: the native program and the spt and hvt unikernels link
//! the same Debian archives and must compute bit-identical products,
//! checked against a naive reference.

mod common;

use std::time::Duration;

use common::{run, Build, Outcome};

const T: Duration = Duration::from_secs(300);

fn atlas(build: Build, args: &[&str]) -> Outcome {
    run(build, "atlas-native", "atlas", &["--mem=256"], args, T)
}

/// The `hash=` of the dgemm line.
fn hash(o: &Outcome) -> String {
    o.stdout
        .lines()
        .find(|l| l.starts_with("dgemm "))
        .and_then(|l| l.split(' ').find_map(|w| w.strip_prefix("hash=")))
        .unwrap_or_else(|| panic!("no dgemm line in:\n{}", o.output()))
        .to_string()
}

#[test]
fn every_build_computes_the_same_bits_and_passes_the_check() {
    for n in ["n=200", "n=333"] {
        let mut hashes = Vec::new();
        for b in Build::ALL {
            if !b.available() {
                continue;
            }
            let o = atlas(b, &[n, "seed=42", "check"]);
            o.expect_status(0);
            assert!(o.stdout.contains(" ok\n"), "{b:?} {n}: {}", o.output());
            hashes.push((b, hash(&o)));
        }
        assert!(
            hashes.iter().all(|(_, h)| *h == hashes[0].1),
            "{n}: {hashes:?}"
        );
    }
}

#[test]
fn seeds_change_the_inputs() {
    let a = atlas(Build::Spt, &["n=64", "seed=1"]);
    let b = atlas(Build::Spt, &["n=64", "seed=2"]);
    a.expect_status(0);
    b.expect_status(0);
    assert_ne!(hash(&a), hash(&b));
}

#[test]
fn bad_arguments_are_refused_by_every_build() {
    for b in Build::ALL {
        if !b.available() {
            continue;
        }
        for (args, phrase) in [
            (&["n=0"][..], "n=0: expected 1 to 8192"),
            (&["n=64", "frobnicate"][..], "unknown argument 'frobnicate'"),
            (&[][..], "missing n=N"),
        ] {
            let o = atlas(b, args);
            o.expect_status(2);
            assert!(
                o.output().contains(phrase),
                "{b:?} {args:?}: {}",
                o.output()
            );
        }
    }
}

#[test]
fn too_little_memory_is_a_clear_error() {
    // 3 × 8 × 2048² bytes = 96 MiB do not fit in 64 MiB.
    for b in [Build::Spt, Build::Hvt] {
        if !b.available() {
            continue;
        }
        let o = run(b, "atlas-native", "atlas", &["--mem=64"], &["n=2048"], T);
        o.expect_status(1);
        assert!(
            o.output()
                .contains("out of memory for three 2048x2048 matrices"),
            "{b:?}: {}",
            o.output()
        );
    }
}
