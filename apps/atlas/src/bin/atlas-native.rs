//! The dgemm benchmark as a native Linux program, over Debian's ATLAS
//! (`libcblas.a` + `libatlas.a`, linked by build.rs).

fn main() -> std::process::ExitCode {
    corten_atlas::native::main("atlas")
}
