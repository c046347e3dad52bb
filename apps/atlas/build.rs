//! Links the native binaries against Debian's static BLAS archives: the
//! same `libcblas.a` + `libatlas.a` the unikernels link, and OpenBLAS's
//! serial (single-thread) build for the reference point.
//! `CORTEN_BLAS_LIB_DIR` overrides `/usr/lib/ARCH-linux-gnu`.

fn main() {
    println!("cargo:rerun-if-env-changed=CORTEN_BLAS_LIB_DIR");
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let dir = std::env::var("CORTEN_BLAS_LIB_DIR")
        .unwrap_or_else(|_| format!("/usr/lib/{arch}-linux-gnu"));
    for lib in ["libcblas.a", "libatlas.a"] {
        println!("cargo:rustc-link-arg-bin=atlas-native={dir}/{lib}");
    }
    println!("cargo:rustc-link-arg-bin=openblas-native={dir}/openblas-serial/libopenblas.a");
}
