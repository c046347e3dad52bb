//! The corten-hvt binary.
//!
//! `no_main`: Rust's runtime start-up (`lang_start`) polls the standard
//! descriptors and installs stack-overflow handlers with `poll` and
//! `sigaltstack`, neither of which is on urunc's seccomp allow-list; the
//! tender must start under that list, so it takes over from C `main`.
#![no_main]

use std::ffi::{CStr, OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

/// The C entry point.
#[no_mangle]
extern "C" fn main(argc: libc::c_int, argv: *const *const libc::c_char) -> libc::c_int {
    let n = usize::try_from(argc).unwrap_or(0);
    let mut args: Vec<OsString> = Vec::with_capacity(n);
    for i in 0..n {
        // SAFETY: i < argc, so argv[i] is one of the C runtime's pointers.
        let p = unsafe { *argv.add(i) };
        if p.is_null() {
            break;
        }
        // SAFETY: argv strings are NUL-terminated and live for the process.
        let s = unsafe { CStr::from_ptr(p) };
        args.push(OsStr::from_bytes(s.to_bytes()).to_os_string());
    }
    corten_hvt::tender_main(args)
}
