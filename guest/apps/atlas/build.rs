//! Links Debian's BLAS archives (x86_64 Linux objects, the very files the
//! native builds link) into the unikernels: ATLAS (`libcblas.a`,
//! `libatlas.a`) into `atlas`, serial OpenBLAS into `openblas`. The C
//! runtime they need comes from corten-rt's `libc` feature.
//! `CORTEN_BLAS_LIB_DIR` overrides `/usr/lib/ARCH-linux-gnu`.

fn main() {
    println!("cargo:rerun-if-env-changed=CORTEN_BLAS_LIB_DIR");
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let dir = std::env::var("CORTEN_BLAS_LIB_DIR")
        .unwrap_or_else(|_| format!("/usr/lib/{arch}-linux-gnu"));
    for (bin, lib) in [
        ("atlas", "libcblas.a"),
        ("atlas", "libatlas.a"),
        ("openblas", "openblas-serial/libopenblas.a"),
    ] {
        println!("cargo:rustc-link-arg-bin={bin}={dir}/{lib}");
        println!("cargo:rerun-if-changed={dir}/{lib}");
    }
}
