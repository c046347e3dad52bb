//! The test suite spt and hvt share: every case is a function of the
//! [`Tender`] under test and the [`Source`] of the unikernels, written
//! once and instantiated by both tender crates with [`tender_suite!`] (the
//! cases every tender runs) and [`tender_cases!`] (named cases: the
//! source-specific ones, the hostile unikernels and launchers, and a
//! crate's own tender-specific cases). Where the tenders end a guest
//! differently (a fault is SIGSEGV under spt, an abort or a tender error
//! under hvt), the case says so by [`Kind`](crate::tender::Kind).
//!
//! A case that cannot run here says why and passes: hvt's need KVM (a
//! failure under CORTEN_REQUIRE_KVM=1), network ones need root, upstream
//! ones SOLO5_UPSTREAM_TESTS. A missing Corten-built unikernel fails.

mod blk;
mod guest;
mod hostile;
mod launcher;
pub mod net;

pub use blk::*;
pub use guest::*;
pub use hostile::*;
pub use launcher::*;
pub use net::{net, net_2if, net_attach_errors, net_fd, net_mtu};

use std::ffi::OsString;
use std::path::Path;

use crate::{Outcome, Source, Tender};

/// Runs unikernel `name` of `src` as upstream's tests.bats does: the
/// kind's `--mem`, then `before` (tender options), `--`, the unikernel and
/// `after` (guest arguments). `None` when the case skips (after saying
/// why).
pub fn run(
    t: &Tender,
    src: Source,
    name: &str,
    before: &[&str],
    after: &[&str],
) -> Option<Outcome> {
    let k = t.runnable(src, name)?;
    Some(run_kernel(t, &k, before, after))
}

/// Runs unikernel file `kernel` as [`run`] does.
pub fn run_kernel(t: &Tender, kernel: &Path, before: &[&str], after: &[&str]) -> Outcome {
    let mut a: Vec<OsString> = vec![t.kind.suite_mem().into()];
    a.extend(before.iter().map(Into::into));
    a.push("--".into());
    a.push(kernel.into());
    a.extend(after.iter().map(Into::into));
    t.run(a)
}

/// [`run`] without tender options, then `check` how it ended.
fn ends(t: &Tender, src: Source, name: &str, after: &[&str], check: impl FnOnce(&Outcome)) {
    if let Some(o) = run(t, src, name, &[], after) {
        check(&o);
    }
}

/// One `#[test]` per case of the shared suite that every tender runs on
/// unikernels of `Corten` or `Upstream` source:
/// `corten_testutil::tender_suite!(common::TENDER, Corten);`.
#[macro_export]
macro_rules! tender_suite {
    // (Arms that start with a fragment come last: a failed fragment parse
    // does not fall through.)
    (@all $tender:expr, $src:expr; $($only:ident),*) => {
        $crate::tender_cases!($tender, $src;
            hello, quiet, output, globals, tls, fpu, time,
            exception, zeropage, notls, xnow, ssp,
            blk, blk_4096, blk_misaligned, blk_odd, blk_too_small, mft_maxdevices, device_errors,
            net, net_2if, net_fd, net_mtu, net_attach_errors
            $(, $only)*);
    };
    ($tender:expr, Corten) => {
        $crate::tender_suite!(@all $tender, $crate::Source::Corten; abort);
    };
    ($tender:expr, Upstream) => {
        $crate::tender_suite!(@all $tender, $crate::Source::Upstream;);
    };
}

/// One `#[test]` per named case, each calling `CASE(&TENDER, SOURCE)`: of
/// [`suite`](crate::suite) itself, or with `in MODULE`, of the test
/// crate's module MODULE, in scope (`use common::suite;
/// tender_cases!(in suite, common::TENDER, Source::Corten; seccomp);`).
#[macro_export]
macro_rules! tender_cases {
    (in $module:ident, $tender:expr, $src:expr; $($case:ident),+ $(,)?) => {
        $(
            #[test]
            fn $case() {
                $module::$case(&$tender, $src);
            }
        )+
    };
    ($tender:expr, $src:expr; $($case:ident),+ $(,)?) => {
        $(
            #[test]
            fn $case() {
                $crate::suite::$case(&$tender, $src);
            }
        )+
    };
}
