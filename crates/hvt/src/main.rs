//! The corten-hvt binary.
//!
//! `no_main`: Rust's runtime start-up (`lang_start`) polls the standard
//! descriptors and installs stack-overflow handlers with `poll` and
//! `sigaltstack`, neither of which is on urunc's seccomp allow-list; the
//! tender must start under that list, so it takes over from C `main`
//! directly. `std::env::args` still works (glibc passes argv to Rust's
//! init-array hook).
#![no_main]

#[no_mangle]
pub extern "C" fn main(_argc: libc::c_int, _argv: *const *const libc::c_char) -> libc::c_int {
    let argv: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let status = corten_hvt::tender_main(&argv);
    corten_hvt::diag::exit(status)
}
