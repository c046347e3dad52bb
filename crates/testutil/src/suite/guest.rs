//! Guests that end by themselves: upstream's tests.bats cases of console,
//! memory, TLS, FPU and time, and how each tender ends a faulting guest.

use super::ends;
use crate::tender::Kind;
use crate::{Outcome, Source, Tender};

pub fn hello(t: &Tender, src: Source) {
    ends(t, src, "hello", &["Hello_Solo5"], |o| {
        o.expect_success();
        assert!(
            o.stdout.contains("Hello_Solo5"),
            "command line not passed:\n{}",
            o.stdout
        );
    });
}

/// `--solo5:quiet`: no banner on either stream.
pub fn quiet(t: &Tender, src: Source) {
    ends(t, src, "quiet", &["--solo5:quiet"], |o| {
        o.expect_success();
        assert!(!o.output().contains("Solo5:"), "not quiet:\n{}", o.output());
    });
}

/// About 8 KiB of console output, in one write and line by line.
pub fn output(t: &Tender, src: Source) {
    ends(t, src, "output", &["Output_Solo5"], |o| o.expect_status(0));
}

pub fn globals(t: &Tender, src: Source) {
    ends(t, src, "globals", &[], Outcome::expect_success);
}

pub fn tls(t: &Tender, src: Source) {
    ends(t, src, "tls", &[], Outcome::expect_success);
}

pub fn fpu(t: &Tender, src: Source) {
    ends(t, src, "fpu", &[], Outcome::expect_success);
}

pub fn time(t: &Tender, src: Source) {
    ends(t, src, "time", &[], Outcome::expect_success);
}

/// The stack protector catches a smashed canary: the guest aborts.
pub fn ssp(t: &Tender, src: Source) {
    ends(t, src, "ssp", &[], Outcome::expect_abort);
}

/// The guest aborts (a Rust panic in Corten's runtime).
pub fn abort(t: &Tender, src: Source) {
    ends(t, src, "abort", &[], Outcome::expect_abort);
}

/// A faulting guest under spt dies by SIGSEGV (139), not SIGSYS: the
/// tender leaves no signal handler behind. Under hvt the fault is the
/// guest's or the tender's to report: `hvt` checks that.
fn faults(t: &Tender, src: Source, name: &str, hvt: impl FnOnce(&Outcome)) {
    ends(t, src, name, &[], |o| match t.kind {
        Kind::Spt => assert_eq!(
            o.status,
            128 + libc::SIGSEGV,
            "{name}: expected SIGSEGV:\n{}",
            o.output()
        ),
        Kind::Hvt => hvt(o),
    });
}

/// A CPU exception in the guest: under hvt 255, the guest's ABORT, and
/// the tender prints the trap frame the guest handed over.
pub fn exception(t: &Tender, src: Source) {
    faults(t, src, "exception", |o| {
        o.expect_abort();
        assert!(
            o.stderr.contains("guest trap frame"),
            "no trap frame dump:\n{}",
            o.stderr
        );
    });
}

/// A null dereference faults: page 0 is not mapped.
pub fn zeropage(t: &Tender, src: Source) {
    faults(t, src, "zeropage", Outcome::expect_abort);
}

/// A TLS access before any TLS base is set faults.
pub fn notls(t: &Tender, src: Source) {
    faults(t, src, "notls", Outcome::expect_abort);
}

/// A guest writing to its own text; under hvt status 1 and the phrase
/// upstream's suite greps for.
pub fn xnow(t: &Tender, src: Source) {
    faults(t, src, "xnow", |o| {
        o.expect_tender_error("host/guest translation fault")
    });
}

/// Upstream's buggy ELF (its MFT1 note is too short; upstream builds it
/// for hvt only).
pub fn buggyelf(t: &Tender, src: Source) {
    ends(t, src, "buggyelf", &[], |o| {
        o.expect_tender_error("note does not fall within valid size")
    });
}
