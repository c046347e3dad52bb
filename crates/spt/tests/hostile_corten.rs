//! The Rust hostile unikernels (target/unikernels/hostile.spt and
//! hostile_blk.spt, from `cargo xtask build`): every case they list must
//! end the way the list says a correct tender ends it: a forbidden system
//! call kills the guest by SIGSYS, and a block device's backing file keeps
//! its size and every byte a refused request aimed at. A missing unikernel
//! fails the test.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{spt, unikernel, Outcome, Source, TempDir};
use corten_testutil::hostile;

/// Bytes of the backing file of hostile_blk (8 sectors of 512).
const CAPACITY: usize = 4096;
const FILL: u8 = 0x5a;

fn check(case: &str, expect: &str, o: &Outcome) {
    let why = format!(
        "case {case} (expected {expect}): status {}\n{}",
        o.status,
        o.output()
    );
    match expect {
        "Sigsys" => assert_eq!(o.status, 128 + libc::SIGSYS, "{why}"),
        "Allowed" => assert!(o.status == 0 && o.stdout.contains("SUCCESS"), "{why}"),
        // The kernel refuses it with an error code; the guest then says so.
        "Refused" => assert!(o.status == 0 && o.stdout.contains("SUCCESS"), "{why}"),
        other => panic!("unknown expectation {other} for {case}"),
    }
}

#[test]
fn forbidden_system_calls_die_by_sigsys() {
    let k = unikernel(Source::Corten, "hostile").unwrap();
    let k = k.display().to_string();
    for (case, expect) in hostile::cases(&spt(["--mem=8", "--", &k, "list"])) {
        let o = spt(["--mem=8", "--", &k, &case]);
        check(&case, &expect, &o);
    }
}

#[test]
fn bad_block_requests_die_and_leave_the_file_alone() {
    let k = unikernel(Source::Corten, "hostile_blk").unwrap();
    let k = k.display().to_string();
    let d = TempDir::new("hostile-blk");
    let list_img = d.file("list.img", CAPACITY, FILL);
    let list_opt = format!("--block:storage={}", list_img.display());
    for (case, expect) in hostile::cases(&spt(["--mem=8", &list_opt, "--", &k, "list"])) {
        let img = d.file(&format!("{case}.img"), CAPACITY, FILL);
        let opt = format!("--block:storage={}", img.display());
        let o = spt(["--mem=8", &opt, "--", &k, &case]);
        check(&case, &expect, &o);
        let bytes = std::fs::read(&img).unwrap();
        assert_eq!(
            bytes.len(),
            CAPACITY,
            "case {case}: the backing file changed size"
        );
        if expect != "Allowed" {
            assert!(
                bytes.iter().all(|&b| b == FILL),
                "case {case}: a refused request changed the backing file"
            );
        }
    }
}
