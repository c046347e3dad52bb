//! The corten-hvt binary.
//!
//! `no_main`: Rust's runtime start-up (`lang_start`) polls the standard
//! descriptors and installs stack-overflow handlers with `poll` and
//! `sigaltstack`, neither of which is on urunc's seccomp allow-list; the
//! tender must start under that list, so it takes over from C `main`.
#![no_main]

/// The C entry point.
#[no_mangle]
extern "C" fn main(argc: libc::c_int, argv: *const *const libc::c_char) -> libc::c_int {
    // Before anything is opened: a closed stdout must not become the
    // descriptor of a disk (see corten_tender::stdio).
    corten_tender::stdio::reserve_or_exit();
    // SAFETY: called by the C runtime with its argc/argv.
    let args = unsafe { corten_tender::argv::from_c_main(argc, argv) };
    corten_hvt::tender_main(args)
}
