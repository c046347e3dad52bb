//! The cases only spt has: what its seccomp filter and its memory layout
//! do to a guest, and its own option. The shared ones are
//! `corten_testutil::suite`.

use corten_testutil::suite::run;
use corten_testutil::{Outcome, Source, Tender};

/// Code in writable data does not run: SIGSEGV. (hvt cannot enforce it
/// on Linux: KVM ignores the host mapping's exec permission.)
pub fn wnox(t: &Tender, src: Source) {
    if let Some(o) = run(t, src, "wnox", &[], &[]) {
        assert_eq!(
            o.status,
            128 + libc::SIGSEGV,
            "expected SIGSEGV:\n{}",
            o.output()
        );
    }
}

/// A system call outside the filter kills the guest by SIGSYS.
pub fn seccomp(t: &Tender, src: Source) {
    if let Some(o) = run(t, src, "seccomp", &[], &[]) {
        o.expect_status(128 + libc::SIGSYS);
    }
}

/// `--x-exec-heap` still runs the guest, after upstream's warning.
pub fn x_exec_heap(t: &Tender, src: Source) {
    let Some(o) = run(t, src, "hello", &["--x-exec-heap"], &["Hello_Solo5"]) else {
        return;
    };
    o.expect_success();
    assert!(
        o.stderr
            .contains("WARNING: The use of --x-exec-heap is dangerous"),
        "no warning:\n{}",
        o.stderr
    );
}

/// Guest memory that would cover the tender's own mappings is refused.
pub fn huge_mem(t: &Tender, src: Source) {
    let Some(k) = t.unikernel(src, "hello") else {
        return;
    };
    // 2^46 bytes reaches past where the kernel puts a PIE (2/3 of 2^47).
    let o: Outcome = t.run([
        std::ffi::OsString::from("--mem=67108864"),
        k.into_os_string(),
    ]);
    o.expect_tender_error("Error allocating guest memory");
}
