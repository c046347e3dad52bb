//! The hostile test unikernels (`guest/tests/src/hostile.rs`, built for
//! each tender): every case they list must end the way the list says a
//! correct tender ends it, and a block device's backing file keeps its
//! size and every byte a refused request aimed at.

use crate::hostile::cases;
use crate::{Outcome, Source, TempDir, Tender};

/// Memory of every hostile run (its cases aim at the end of memory).
const MEM: &str = "--mem=64";
/// Bytes of hostile_blk's backing file (128 sectors of 512).
const CAPACITY: usize = 64 * 1024;
const FILL: u8 = 0x5a;

/// Whether `o` is a tender error: status 1 and a message that starts with
/// the tender's name.
fn tender_error(t: &Tender, o: &Outcome) -> bool {
    let prefix = format!("{}: ", t.name());
    o.status == 1 && o.stderr.lines().any(|l| l.starts_with(&prefix))
}

/// Checks the end of `case`, expected to be `expect` (the list's words).
fn check(t: &Tender, case: &str, expect: &str, o: &Outcome) {
    let why = format!(
        "case {case} (expected {expect}): status {}\n{}",
        o.status,
        o.output()
    );
    let success = o.status == 0 && o.stdout.contains("SUCCESS");
    match expect {
        "Sigsys" => assert_eq!(o.status, 128 + libc::SIGSYS, "{why}"),
        "TenderError" => assert!(tender_error(t, o), "{why}"),
        // Refused with an error code (the guest then says SUCCESS), or
        // stopped by the tender with a message; never the guest's own
        // FAILURE exit.
        "Refused" => assert!(
            success || (tender_error(t, o) && !o.stdout.contains("FAILURE")),
            "{why}"
        ),
        "Allowed" => assert!(success, "{why}"),
        s if s.starts_with("Status(") => {
            let n: i32 = s["Status(".len()..s.len() - 1].parse().unwrap();
            assert_eq!(o.status, n, "{why}");
        }
        other => panic!("unknown expectation {other} for {case}"),
    }
    if expect != "Sigsys" {
        assert!(o.status < 128, "the tender died of a signal: {why}");
    }
}

/// The arguments of a run of `kernel` with `case`.
fn args(before: &[String], kernel: &std::path::Path, case: &str) -> Vec<String> {
    let mut a = vec![MEM.to_owned()];
    a.extend(before.iter().cloned());
    a.extend([
        "--".to_owned(),
        kernel.display().to_string(),
        case.to_owned(),
    ]);
    a
}

/// The `hostile` unikernel (no devices): forbidden system calls (spt),
/// wild hypercalls and port accesses (hvt).
pub fn hostile(t: &Tender, src: Source) {
    let Some(k) = t.runnable(src, "hostile") else {
        return;
    };
    for (case, expect) in cases(&t.run(args(&[], &k, "list"))) {
        check(t, &case, &expect, &t.run(args(&[], &k, &case)));
    }
}

/// The `hostile_blk` unikernel (block device `storage`), each case on a
/// fresh backing file: bad requests die or are refused and leave the file
/// alone.
pub fn hostile_blk(t: &Tender, src: Source) {
    let Some(k) = t.runnable(src, "hostile_blk") else {
        return;
    };
    let tmp = TempDir::new("hostile-blk");
    let storage = |img: &std::path::Path| vec![format!("--block:storage={}", img.display())];
    let list_img = tmp.file("list.img", CAPACITY, FILL);
    for (case, expect) in cases(&t.run(args(&storage(&list_img), &k, "list"))) {
        let img = tmp.file(&format!("{case}.img"), CAPACITY, FILL);
        let o = t.run(args(&storage(&img), &k, &case));
        check(t, &case, &expect, &o);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Kind;

    const HVT: Tender = Tender {
        kind: Kind::Hvt,
        built: "/nowhere/corten-hvt",
        override_var: "CORTEN_TESTUTIL_UNSET",
    };

    fn ended(status: i32, stdout: &str, stderr: &str) -> Outcome {
        Outcome {
            status,
            stdout: stdout.into(),
            stderr: stderr.into(),
            prog: None,
        }
    }

    #[test]
    fn a_refusal_is_success_or_a_tender_error() {
        check(&HVT, "c", "Refused", &ended(0, "refused\nSUCCESS\n", ""));
        let stopped = ended(1, "", "corten-hvt: BLOCK_READ: outside guest memory\n");
        check(&HVT, "c", "Refused", &stopped);
        check(&HVT, "c", "TenderError", &stopped);
        check(&HVT, "c", "Status(52)", &ended(52, "", ""));
    }

    #[test]
    #[should_panic(expected = "expected Refused")]
    fn the_guests_own_failure_exit_is_no_refusal() {
        // The guest saw the call succeed and exits 1 itself.
        check(&HVT, "c", "Refused", &ended(1, "FAILURE: accepted\n", ""));
    }

    #[test]
    #[should_panic(expected = "expected TenderError")]
    fn a_tender_error_names_the_tender() {
        check(&HVT, "c", "TenderError", &ended(1, "", "Solo5: exit 1\n"));
    }
}
