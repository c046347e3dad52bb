//! dgemm over Debian's ATLAS (`libcblas.a` + `libatlas.a`, see build.rs).
#![no_std]
#![no_main]

corten_rt::manifest! {}
corten_rt::entry!(main);

fn main(start: &corten_rt::Start) -> i32 {
    corten_atlas_uk::main(start, "atlas")
}
