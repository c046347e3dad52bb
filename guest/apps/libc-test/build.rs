//! Compiles csrc/libc_test.c with the host's gcc the way Debian compiles
//! its libraries (glibc's headers, -O2, -D_FORTIFY_SOURCE=2,
//! -fstack-protector-strong), non-PIC for the unikernel's static link,
//! and links the object into the unikernel. `CC` overrides `gcc`.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let src = PathBuf::from("csrc/libc_test.c");
    println!("cargo:rerun-if-changed={}", src.display());
    println!("cargo:rerun-if-env-changed=CC");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default()).join("libc_test.o");
    let cc = std::env::var("CC").unwrap_or_else(|_| "gcc".into());
    let status = Command::new(&cc)
        .args([
            "-c",
            "-O2",
            "-D_FORTIFY_SOURCE=2",
            "-fstack-protector-strong",
            "-fno-pic",
            "-fno-asynchronous-unwind-tables",
            "-Wall",
            "-Wno-format-truncation",
            "-o",
        ])
        .arg(&out)
        .arg(&src)
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => panic!("{cc} failed on {} ({s})", src.display()),
        Err(e) => panic!("cannot run {cc} ({e}); install gcc (cargo xtask build does)"),
    }
    println!("cargo:rustc-link-arg-bins={}", out.display());
}
