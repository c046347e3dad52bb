//! The mothur app on every build: the native drop-in and the spt and hvt
//! unikernels (inputs from a block device, outputs to another) must write
//! exactly the files the real mothur writes, on real 16S sequences
//! (slices of Debian's microbiomeutil-data other than the ones
//! apps/mothur's own tests use).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{run, Build};
use corten_testutil::{wait_with_timeout, workspace, Outcome, TempDir};

const T: Duration = Duration::from_secs(300);
const GOLD: &str = "/usr/share/microbiomeutil-data/RESOURCES/rRNA16S.gold.NAST_ALIGNED.fasta";
const MOTHUR: &str = "/usr/bin/mothur";

/// Whether the real mothur and the data are here; without them the test
/// says why and passes, unless CORTEN_REQUIRE_APPS=1 (`cargo xtask test`
/// installs both and sets it).
fn have_mothur() -> bool {
    let missing: Vec<&str> = [MOTHUR, GOLD]
        .into_iter()
        .filter(|p| !Path::new(p).exists())
        .collect();
    if missing.is_empty() {
        return true;
    }
    let why = format!(
        "mothur app tests need {} (Debian packages mothur, microbiomeutil-data)",
        missing.join(" and ")
    );
    assert!(
        std::env::var("CORTEN_REQUIRE_APPS").as_deref() != Ok("1"),
        "CORTEN_REQUIRE_APPS=1 but {why}"
    );
    corten_testutil::skip_note("mothur", &why);
    false
}

/// Records `from..to` (0-based) of the gold file.
fn slice(from: usize, to: usize) -> String {
    let text = std::fs::read_to_string(GOLD).unwrap();
    let mut out = String::new();
    let mut k = 0usize;
    let mut keep = false;
    for line in text.split_inclusive('\n') {
        if line.starts_with('>') {
            keep = (from..to).contains(&k);
            k += 1;
        }
        if keep {
            out.push_str(line);
        }
    }
    out
}

fn count_table(fasta: &str) -> String {
    let mut s = String::from("Representative_Sequence\ttotal\n");
    for l in fasta.lines().filter_map(|l| l.strip_prefix('>')) {
        s.push_str(l.split_whitespace().next().unwrap());
        s.push_str("\t1\n");
    }
    s
}

fn spawn(mut cmd: Command) -> Outcome {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    wait_with_timeout(cmd.spawn().unwrap(), T)
}

/// Every file in `dir` but the inputs and mothur's logfiles, sorted.
fn outputs(dir: &Path, inputs: &[&str]) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| {
            !inputs.contains(&n.as_str()) && !n.ends_with(".logfile") && !n.ends_with(".img")
        })
        .map(|n| {
            let d = std::fs::read(dir.join(&n)).unwrap();
            (n, d)
        })
        .collect();
    v.sort();
    v
}

fn write_inputs(dir: &Path, inputs: &[(&str, &str)]) {
    std::fs::create_dir_all(dir).unwrap();
    for (n, d) in inputs {
        std::fs::write(dir.join(n), d).unwrap();
    }
}

fn corten_mothur() -> PathBuf {
    workspace().join("target/apps/corten-mothur")
}

/// Runs `batch` on every build and compares the files each wrote with the
/// real mothur's.
fn same_files_as_mothur(tag: &str, inputs: &[(&str, &str)], batch: &str) {
    let tmp = TempDir::new(tag);
    let names: Vec<&str> = inputs.iter().map(|(n, _)| *n).collect();
    let reference_dir = tmp.path().join("mothur");
    write_inputs(&reference_dir, inputs);
    let mut m = Command::new(MOTHUR);
    m.arg(batch).current_dir(&reference_dir);
    let mo = spawn(m);
    assert!(
        !mo.output().contains("[ERROR]"),
        "mothur failed: {}",
        mo.output()
    );
    let reference = outputs(&reference_dir, &names);
    assert!(
        !reference.is_empty(),
        "mothur wrote nothing: {}",
        mo.output()
    );

    // Native drop-in, in a directory of its own.
    let native_dir = tmp.path().join("native");
    write_inputs(&native_dir, inputs);
    let mut n = Command::new(corten_mothur());
    n.arg(batch).current_dir(&native_dir);
    spawn(n).expect_status(0);
    assert_eq!(
        outputs(&native_dir, &names),
        reference,
        "{tag}: native differs from mothur"
    );

    // Unikernels: pack, run, unpack.
    let image_dir = tmp.path().join("images");
    write_inputs(&image_dir, inputs);
    let input = image_dir.join("in.img");
    let mut pack = Command::new(corten_mothur());
    pack.arg("pack").arg(&input);
    for name in &names {
        pack.arg(image_dir.join(name));
    }
    spawn(pack).expect_status(0);
    for b in [Build::Spt, Build::Hvt] {
        if !b.available() {
            continue;
        }
        let out = image_dir.join("out.img");
        let f = std::fs::File::create(&out).unwrap();
        f.set_len(16 << 20).unwrap();
        let o = run(
            b,
            "corten-mothur",
            "mothur",
            &[
                "--mem=512",
                &format!("--block:input={}", input.display()),
                &format!("--block:output={}", out.display()),
            ],
            &[batch],
            T,
        );
        o.expect_status(0);
        let got = tmp.path().join(format!("got-{b:?}"));
        let mut unpack = Command::new(corten_mothur());
        unpack.arg("unpack").arg(&out).arg(&got);
        spawn(unpack).expect_status(0);
        assert_eq!(
            outputs(&got, &[]),
            reference,
            "{tag}: {b:?} unikernel differs from mothur"
        );
    }
}

#[test]
fn dist_seqs_column_and_lt_match_mothur_on_every_build() {
    if !have_mothur() {
        return;
    }
    let fasta = slice(1000, 1060);
    let inputs = [("r.fasta", fasta.as_str())];
    same_files_as_mothur(
        "dist-column",
        &inputs,
        "#dist.seqs(fasta=r.fasta, calc=onegap, countends=F, cutoff=0.03, processors=1)",
    );
    same_files_as_mothur(
        "dist-lt",
        &inputs,
        "#dist.seqs(fasta=r.fasta, calc=eachgap, countends=T, output=lt, processors=1)",
    );
}

#[test]
fn dist_then_cluster_matches_mothur_on_every_build() {
    if !have_mothur() {
        return;
    }
    let fasta = slice(2500, 2560);
    let counts = count_table(&fasta);
    for method in ["average", "furthest", "nearest"] {
        same_files_as_mothur(
            &format!("cluster-{method}"),
            &[
                ("q.fasta", fasta.as_str()),
                ("q.count_table", counts.as_str()),
            ],
            &format!(
                "#dist.seqs(fasta=q.fasta, calc=nogaps, cutoff=0.1, processors=1); \
                 cluster(count=q.count_table, method={method}, cutoff=0.05)"
            ),
        );
    }
}

#[test]
fn unikernel_errors_are_clear() {
    if !have_mothur() {
        return;
    }
    let tmp = TempDir::new("mothur-errors");
    let fasta = slice(10, 30);
    std::fs::write(tmp.path().join("e.fasta"), &fasta).unwrap();
    let input = tmp.path().join("in.img");
    let mut pack = Command::new(corten_mothur());
    pack.arg("pack").arg(&input).arg(tmp.path().join("e.fasta"));
    spawn(pack).expect_status(0);
    let tiny = tmp.path().join("tiny.img");
    std::fs::File::create(&tiny).unwrap().set_len(512).unwrap();
    let garbage = tmp.path().join("garbage.img");
    std::fs::write(&garbage, vec![0x5a; 4096]).unwrap();
    let big = tmp.path().join("big.img");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(1 << 20)
        .unwrap();
    for b in [Build::Spt, Build::Hvt] {
        if !b.available() {
            continue;
        }
        let dev = |i: &Path, o: &Path| {
            vec![
                "--mem=128".to_owned(),
                format!("--block:input={}", i.display()),
                format!("--block:output={}", o.display()),
            ]
        };
        for (i, o, batch, phrase) in [
            (
                &input,
                &big,
                "#frobnicate(x=1)",
                "frobnicate is not a valid command",
            ),
            (
                &input,
                &big,
                "#dist.seqs(fasta=missing.fasta)",
                "missing.fasta",
            ),
            (
                &input,
                &tiny,
                "#dist.seqs(fasta=e.fasta, cutoff=1.0)",
                "does not fit the output device",
            ),
            (&garbage, &big, "#dist.seqs(fasta=e.fasta)", "archive"),
        ] {
            let opts = dev(i, o);
            let opts: Vec<&str> = opts.iter().map(String::as_str).collect();
            let out = run(b, "corten-mothur", "mothur", &opts, &[batch], T);
            out.expect_status(1);
            assert!(
                out.output().contains("corten-mothur: "),
                "{b:?} {batch}: {}",
                out.output()
            );
            assert!(
                out.output().contains(phrase),
                "{b:?} {batch}: expected `{phrase}` in {}",
                out.output()
            );
        }
    }
}
