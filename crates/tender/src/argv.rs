//! The command line as C `main` receives it. Both tenders start from C
//! `main` rather than Rust's runtime (see their `main.rs` for why), so both
//! turn `argc`/`argv` into owned strings here.

use std::ffi::{CStr, OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

/// Collects the C `argv` (with `argv[0]`) into owned strings, stopping at
/// `argc` or at the first null pointer.
///
/// # Safety
///
/// `argv` must hold `argc` valid NUL-terminated strings, as the C runtime
/// passes to `main`.
pub unsafe fn from_c_main(argc: libc::c_int, argv: *const *const libc::c_char) -> Vec<OsString> {
    let n = usize::try_from(argc).unwrap_or(0);
    let mut args = Vec::with_capacity(n);
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
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_at_argc_and_at_null() {
        let strs = [c"corten-spt", c"--mem=2", c"k.spt"];
        let mut ptrs: Vec<*const libc::c_char> = strs.iter().map(|s| s.as_ptr()).collect();
        ptrs.push(std::ptr::null());
        // SAFETY: `ptrs` holds NUL-terminated strings that outlive the calls.
        let all = unsafe { from_c_main(3, ptrs.as_ptr()) };
        assert_eq!(all, ["corten-spt", "--mem=2", "k.spt"]);
        // SAFETY: as above; argc counts the null pointer, which ends the list.
        let to_null = unsafe { from_c_main(4, ptrs.as_ptr()) };
        assert_eq!(to_null.len(), 3);
        // SAFETY: argc 0 reads nothing.
        assert!(unsafe { from_c_main(0, ptrs.as_ptr()) }.is_empty());
    }
}
