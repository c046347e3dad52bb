//! The tender's process, from the command line to the exit status: the
//! shared front end (`corten-tender`), then [`setup::build`] and
//! [`setup::Ready::confine_and_run`]. Every set-up error is reported here, the one
//! place, as `corten-hvt: message` and status 1.

use std::ffi::OsString;

use corten_abi::hvt::HVT_ABI_VERSION;
use corten_abi::note::AbiTarget;
use corten_tender::cli::TenderSpec;

use crate::{diag, options, setup};

/// What corten-hvt tells the shared front end about itself.
pub const SPEC: TenderSpec = TenderSpec {
    target: "hvt",
    version: concat!(
        env!("CARGO_PKG_VERSION"),
        " (Corten; Solo5 v0.12 compatible)"
    ),
    abi_version: HVT_ABI_VERSION,
    extra_options: options::EXTRA_OPTIONS,
};

/// Runs the tender on `argv` (with argv[0]) and exits with the guest's
/// status, or 1 on any tender error.
pub fn tender_main(argv: Vec<OsString>) -> ! {
    let inv = corten_tender::front_end(&SPEC, AbiTarget::Hvt, argv);
    diag::set_prog(inv.diag.prog());
    match setup::build(&inv).and_then(setup::Ready::confine_and_run) {
        // Exit here, without running destructors (see `Ready::confine_and_run`).
        Ok(status) => diag::exit(status),
        Err(e) => inv.diag.fatal(e),
    }
}
