//! ATLAS dgemm: the native program and the spt and hvt unikernels link
//! the same Debian archives and must compute bit-identical products,
//! checked against a naive reference.

#![allow(clippy::unwrap_used, clippy::expect_used)]

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

/// Peak `AnonHugePages` (KiB) of a running process, sampled until it
/// exits, and its output.
fn huge_pages_while_running(mut cmd: std::process::Command) -> (u64, Outcome) {
    use std::process::Stdio;
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let sampler = std::thread::spawn(move || {
        let mut peak = 0;
        let path = format!("/proc/{pid}/smaps_rollup");
        let deadline = std::time::Instant::now() + T;
        while let Ok(text) = std::fs::read_to_string(&path) {
            let kib = text
                .lines()
                .find_map(|l| l.strip_prefix("AnonHugePages:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                .unwrap_or(0);
            peak = peak.max(kib);
            if std::time::Instant::now() > deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        peak
    });
    let o = corten_testutil::wait_with_timeout(child, T);
    (sampler.join().unwrap(), o)
}

#[test]
fn x_hugepages_backs_guest_memory_with_huge_pages() {
    let thp =
        std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled").unwrap_or_default();
    if thp.contains("[never]") || thp.is_empty() {
        corten_testutil::skip_note(
            "thp",
            &format!("--x-hugepages: transparent huge pages are off here ({thp:?})"),
        );
        return;
    }
    let root = corten_testutil::workspace();
    for ext in ["spt", "hvt"] {
        if ext == "hvt" && !Build::Hvt.available() {
            continue;
        }
        let mut hashes = Vec::new();
        for huge in [false, true] {
            let mut cmd = std::process::Command::new(root.join(format!("target/bin/corten-{ext}")));
            cmd.arg("--mem=256");
            if huge {
                cmd.arg("--x-hugepages");
            }
            cmd.arg("--")
                .arg(root.join(format!("target/unikernels/atlas.{ext}")))
                .args(["--solo5:quiet", "n=1400", "reps=3"]);
            let (peak, o) = huge_pages_while_running(cmd);
            o.expect_status(0);
            if huge {
                assert!(
                    peak >= 2048,
                    "{ext} --x-hugepages: AnonHugePages peaked at {peak} kB"
                );
            } else if thp.contains("[madvise]") {
                assert_eq!(peak, 0, "{ext} without --x-hugepages got huge pages");
            }
            hashes.push(hash(&o));
        }
        assert_eq!(hashes[0], hashes[1], "{ext}: huge pages changed the result");
    }
}

#[test]
fn openblas_unikernels_match_native_openblas() {
    // Native OpenBLAS with the environment's OPENBLAS_* overrides cleared,
    // so it picks its kernels as the unikernel (no environment) does.
    let root = corten_testutil::workspace();
    let mut native = std::process::Command::new(root.join("target/apps/openblas-native"));
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("OPENBLAS_") {
            native.env_remove(k);
        }
    }
    native
        .args(["n=300", "seed=5", "check"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let n = corten_testutil::wait_with_timeout(native.spawn().unwrap(), T);
    n.expect_status(0);
    for b in [Build::Spt, Build::Hvt] {
        if !b.available() {
            continue;
        }
        let o = run(
            b,
            "openblas-native",
            "openblas",
            &["--mem=512"],
            &["n=300", "seed=5", "check"],
            T,
        );
        o.expect_status(0);
        assert!(o.stdout.contains(" ok\n"), "{b:?}: {}", o.output());
        assert_eq!(
            hash(&o),
            hash(&n),
            "{b:?}: OpenBLAS unikernel differs from native OpenBLAS"
        );
    }
}
