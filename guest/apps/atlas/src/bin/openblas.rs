//! dgemm over Debian's single-thread OpenBLAS (`openblas-serial/libopenblas.a`,
//! see build.rs), which also exercises the C runtime's `mmap`, `getenv`,
//! `strtol` and `sched_yield`.
#![no_std]
#![no_main]

corten_rt::manifest! {}
corten_rt::entry!(main);

fn main(start: &corten_rt::Start) -> i32 {
    corten_atlas_uk::main(start, "openblas")
}
