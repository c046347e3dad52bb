//! The binary's error handling and the pack/unpack subcommands (no real
//! mothur needed).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_corten-mothur");

fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("corten-mothur-cli-{}-{}", std::process::id(), tag));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn fails_with(dir: &Path, args: &[&str], needle: &str) {
    let out = run(dir, args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{:?}: {}", args, err);
    assert!(err.starts_with("corten-mothur: "), "{}", err);
    assert!(
        err.contains(needle),
        "{:?}: expected {:?} in {}",
        args,
        needle,
        err
    );
}

#[test]
fn errors_are_messages_not_panics() {
    let d = scratch("errors");
    std::fs::write(d.join("bad.fasta"), ">a\nACGT\n>b\nACG\n").unwrap();
    std::fs::write(d.join("one.fasta"), ">a\nACGT\n").unwrap();
    std::fs::write(d.join("junk.fasta"), "ACGT\n").unwrap();
    std::fs::write(d.join("s.fasta"), ">a\nACGT\n>b\nACGA\n").unwrap();
    fails_with(&d, &["#dist.seqs(fasta=bad.fasta)"], "not the same length");
    fails_with(&d, &["#dist.seqs(fasta=one.fasta)"], "at least 2 sequences");
    fails_with(&d, &["#dist.seqs(fasta=junk.fasta)"], "fastafile");
    fails_with(&d, &["#dist.seqs(fasta=missing.fasta)"], "Could not open");
    fails_with(
        &d,
        &["#dist.seqs(fasta=s.fasta, bogus=1)"],
        "not a valid parameter",
    );
    fails_with(
        &d,
        &["#dist.seqs(fasta=s.fasta, cutoff=abc)"],
        "cannot convert",
    );
    fails_with(&d, &["#dist.seqs(fasta=s.fasta, calc=jtt)"], "protein");
    // mothur's own fallbacks: an unknown output is column, a boolean that
    // is not T/TRUE is false
    let out = run(
        &d,
        &["#dist.seqs(fasta=s.fasta, output=tree, countends=maybe)"],
    );
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("I will use column"));
    assert!(d.join("s.dist").exists());
    std::fs::remove_file(d.join("s.dist")).unwrap();
    // a failing command does not stop the batch, the batch still fails
    fails_with(
        &d,
        &["#dist.seqs(fasta=missing.fasta); dist.seqs(fasta=s.fasta)"],
        "Could not open missing.fasta",
    );
    assert!(d.join("s.dist").exists());
    fails_with(&d, &["#dist.seqs(fasta=s.fasta"], "parenthesis");
    fails_with(&d, &["#frobnicate(x=1)"], "not a valid command");
    fails_with(&d, &[], "usage");
    // cluster
    assert!(run(&d, &["#dist.seqs(fasta=s.fasta)"]).status.success());
    std::fs::write(
        d.join("s.count_table"),
        "Representative_Sequence\ttotal\na\t1\nb\t1\n",
    )
    .unwrap();
    std::fs::write(
        d.join("short.count_table"),
        "Representative_Sequence\ttotal\na\t1\n",
    )
    .unwrap();
    fails_with(
        &d,
        &["#cluster(column=s.dist, count=s.count_table)"],
        "opti",
    );
    fails_with(
        &d,
        &["#cluster(column=s.dist, method=average)"],
        "namefile or countfile",
    );
    fails_with(
        &d,
        &["#cluster(column=s.dist, count=short.count_table, method=average)"],
        "not in your count table",
    );
    fails_with(
        &d,
        &["#cluster(column=s.dist, count=s.count_table, method=weighted)"],
        "not supported",
    );
    fails_with(
        &d,
        &["#cluster(column=s.dist, count=s.count_table, method=average, cutoff=x)"],
        "cannot convert",
    );
    assert!(run(
        &d,
        &["#cluster(column=s.dist, count=s.count_table, method=average)"]
    )
    .status
    .success());
    assert!(d.join("s.an.list").exists());
}

#[test]
fn outputdir_and_inputdir() {
    let d = scratch("dirs");
    std::fs::create_dir_all(d.join("in")).unwrap();
    std::fs::create_dir_all(d.join("out")).unwrap();
    std::fs::write(d.join("in/s.fasta"), ">a\nACGT\n>b\nACGA\n").unwrap();
    let out = run(&d, &["#dist.seqs(fasta=in/s.fasta, output=lt)"]);
    assert!(out.status.success());
    assert!(
        d.join("in/s.phylip.dist").exists(),
        "written beside the input"
    );
    let out = run(
        &d,
        &["#dist.seqs(fasta=s.fasta, inputdir=in, outputdir=out)"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(d.join("out/s.dist")).unwrap(),
        "b a 0.25\n"
    );
}

#[test]
fn pack_unpack_round_trip() {
    let d = scratch("pack");
    std::fs::write(d.join("s.fasta"), ">a\nACGT\n>b\nACGA\n").unwrap();
    std::fs::write(d.join("empty"), "").unwrap();
    assert!(run(&d, &["pack", "in.img", "s.fasta", "empty"])
        .status
        .success());
    let img = std::fs::read(d.join("in.img")).unwrap();
    assert_eq!(&img[..8], b"CRTNFS01");
    assert_eq!(img.len() % 512, 0);
    assert!(run(&d, &["unpack", "in.img", "outdir"]).status.success());
    assert_eq!(
        std::fs::read(d.join("outdir/s.fasta")).unwrap(),
        b">a\nACGT\n>b\nACGA\n"
    );
    assert_eq!(std::fs::read(d.join("outdir/empty")).unwrap(), b"");
    std::fs::write(d.join("bad.img"), b"CRTNFS01\x05\0\0\0ab").unwrap();
    fails_with(&d, &["unpack", "bad.img", "x"], "archive");
    fails_with(&d, &["pack", "dup.img", "s.fasta", "s.fasta"], "duplicate");
}

#[test]
fn run_image_matches_direct_run() {
    let d = scratch("image");
    let fasta = ">a\nAC-GTACGT\n>b\nACGGTACGA\n>c\n..CGTACGT\n>d\nAC-GTACGT\n";
    std::fs::write(d.join("s.fasta"), fasta).unwrap();
    std::fs::write(
        d.join("s.count_table"),
        "Representative_Sequence\ttotal\na\t2\nb\t1\nc\t1\nd\t1\n",
    )
    .unwrap();
    let cmds = "#dist.seqs(fasta=s.fasta, cutoff=0.5); cluster(column=s.dist, count=s.count_table, method=furthest, cutoff=0.5)";
    assert!(run(&d, &["pack", "in.img", "s.fasta", "s.count_table"])
        .status
        .success());
    let out = run(&d, &["run-image", "in.img", "out.img", cmds]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(run(&d, &["unpack", "out.img", "img"]).status.success());
    assert!(run(&d, &[cmds]).status.success());
    for f in ["s.dist", "s.fn.list"] {
        assert_eq!(
            std::fs::read(d.join("img").join(f)).unwrap(),
            std::fs::read(d.join(f)).unwrap(),
            "{}",
            f
        );
    }
    let mut names: Vec<String> = std::fs::read_dir(d.join("img"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["s.dist", "s.fn.list"]);
    fails_with(
        &d,
        &[
            "run-image",
            "in.img",
            "x.img",
            "#dist.seqs(fasta=nope.fasta)",
        ],
        "not in the input image",
    );
}

#[test]
fn a_log_that_cannot_be_written_is_an_error_not_a_panic() {
    let d = scratch("full");
    std::fs::write(d.join("s.fasta"), ">a\nACGT\n>b\nACGA\n").unwrap();
    let out = Command::new(BIN)
        .arg("#dist.seqs(fasta=s.fasta)")
        .current_dir(&d)
        .stdout(std::fs::File::create("/dev/full").unwrap())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{}", err);
    assert!(
        err.starts_with("corten-mothur: writing the log to standard output: No space left"),
        "{}",
        err
    );
    // The distances were computed and written all the same.
    assert!(d.join("s.dist").exists());
}
