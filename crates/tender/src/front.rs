//! The whole shared front end of a tender run, in one call: command line,
//! unikernel checks, device attach, guest command line. Errors, `--help`
//! and `--version` end the process here, as upstream's tenders do.

use std::ffi::OsString;
use std::io::Write;

use corten_abi::note::AbiTarget;

use crate::cli::{self, Options, Scan, TenderSpec};
use crate::devices::{self, AttachedDevices};
use crate::diag::{Diag, EXIT_TENDER_ERROR};
use crate::kernel::{self, Kernel};

/// Everything a tender needs to build and start its guest.
#[derive(Debug)]
pub struct Invocation {
    pub diag: Diag,
    pub options: Options,
    pub kernel: Kernel,
    pub devices: AttachedDevices,
    /// NUL-terminated guest command line, at most 8192 bytes.
    pub cmdline: Vec<u8>,
}

fn print_raw(text: &str) {
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// Runs the front end on `argv` (with `argv[0]`). On `--help` prints the
/// usage and exits 1; on `--version` prints the version and exits 0; on any
/// error prints `PROG: message` (and the usage where upstream does) and
/// exits 1. Warnings for dangerous options are printed as they are seen.
pub fn front_end(spec: &TenderSpec, target: AbiTarget, argv: Vec<OsString>) -> Invocation {
    let mut argv = argv.into_iter();
    let diag = Diag::from_argv0(argv.next().as_deref(), &format!("corten-{}", spec.target));
    let args: Vec<OsString> = argv.collect();
    let cli_fail = |e: cli::CliError| -> ! {
        diag.warn(&e);
        if e.wants_usage() {
            print_raw(&spec.usage(diag.prog()));
        }
        std::process::exit(EXIT_TENDER_ERROR)
    };
    let kernel_index = match cli::scan(&args) {
        Ok(Scan::Kernel(i)) => i,
        Ok(Scan::Help) => {
            print_raw(&spec.usage(diag.prog()));
            std::process::exit(EXIT_TENDER_ERROR)
        }
        Ok(Scan::Version) => {
            print_raw(&spec.version_text(diag.prog()));
            std::process::exit(0)
        }
        Err(e) => cli_fail(e),
    };
    let Some(kernel_path) = args.get(kernel_index) else {
        cli_fail(cli::CliError::MissingKernel)
    };
    let kernel =
        kernel::open(kernel_path, target, spec.abi_version).unwrap_or_else(|e| diag.fatal(e));
    let options = cli::parse(spec, &args, kernel_index).unwrap_or_else(|e| cli_fail(e));
    for w in &options.warnings {
        diag.warn(w);
    }
    let cmdline =
        crate::cmdline::guest_cmdline(&options.guest_args).unwrap_or_else(|e| diag.fatal(e));
    let devices = devices::attach_all(kernel.manifest.to_entries(), &options.devices)
        .unwrap_or_else(|e| diag.fatal(e));
    for w in &devices.warnings {
        diag.warn(w);
    }
    Invocation {
        diag,
        options,
        kernel,
        devices,
        cmdline,
    }
}
