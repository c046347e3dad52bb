//! The dgemm benchmark as a native Linux program, over Debian's serial
//! (one-thread) OpenBLAS, linked by build.rs: the reference point a user
//! would pick instead of ATLAS.

fn main() -> std::process::ExitCode {
    corten_atlas::native::main("openblas")
}
