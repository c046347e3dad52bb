//! The guest branch's hostile unikernels (target/unikernels/hostile.hvt and
//! hostile_blk.hvt, from `cargo xtask build`): every case they list, run
//! against corten-hvt, must end the way the list says a correct tender
//! ends it. A missing unikernel fails the test.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{hvt, kvm_or_skip, unikernel, Outcome, Source, TempDir};
use corten_testutil::hostile;

/// Corten-hvt's arguments for `case` of `kernel`, with options `before`.
fn args(before: &[String], kernel: &std::path::Path, case: &str) -> Vec<String> {
    let mut args: Vec<String> = vec!["--mem=64".into()];
    args.extend(before.iter().cloned());
    args.push("--".into());
    args.push(kernel.display().to_string());
    args.push(case.into());
    args
}

fn check(case: &str, expect: &str, o: &Outcome) {
    let why = format!(
        "case {case} (expected {expect}): status {}\n{}",
        o.status,
        o.output()
    );
    match expect {
        "TenderError" => {
            assert_eq!(o.status, 1, "{why}");
            assert!(o.stderr.contains("corten-hvt: "), "no message: {why}");
        }
        // Refused with an error code (the guest then says SUCCESS), or
        // stopped with status 1.
        "Refused" => assert!(
            (o.status == 0 && o.stdout.contains("SUCCESS")) || o.status == 1,
            "{why}"
        ),
        "Allowed" => assert!(o.status == 0 && o.stdout.contains("SUCCESS"), "{why}"),
        s if s.starts_with("Status(") => {
            let n: i32 = s["Status(".len()..s.len() - 1].parse().unwrap();
            assert_eq!(o.status, n, "{why}");
        }
        other => panic!("unknown expectation {other} for {case}"),
    }
    assert!(o.status < 128, "the tender died of a signal: {why}");
}

fn run_all(name: &str, before: Vec<String>) {
    if !kvm_or_skip(name) {
        return;
    }
    let Some(k) = unikernel(Source::Corten, name) else {
        return;
    };
    for (case, expect) in hostile::cases(&hvt(args(&before, &k, "list"))) {
        check(&case, &expect, &hvt(args(&before, &k, &case)));
    }
}

#[test]
fn hostile() {
    run_all("hostile", vec![]);
}

#[test]
fn hostile_blk() {
    let tmp = TempDir::new("hostile-blk");
    let img = tmp.file("disk.img", 64 * 1024, 0);
    run_all(
        "hostile_blk",
        vec![format!("--block:storage={}", img.display())],
    );
    assert_eq!(
        std::fs::metadata(&img).unwrap().len(),
        64 * 1024,
        "the disk changed size"
    );
}
