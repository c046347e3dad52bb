//! The dgemm benchmark (`corten-atlas`) as a unikernel, over a BLAS
//! linked in from Debian's static archives: `atlas` (ATLAS) and
//! `openblas` (single-thread OpenBLAS), one binary each (src/bin). The
//! command line is the benchmark's (`n=N [reps=R] [seed=S] [check]`), the
//! clock Solo5's monotonic clock, output on the console. Exit status: 0
//! done, 1 the check failed or memory ran out, 2 a bad command line.
#![no_std]

extern crate alloc;

use alloc::string::String;

struct Solo5;

impl corten_atlas::Platform for Solo5 {
    fn now_ns(&self) -> u64 {
        corten_rt::time::monotonic()
    }
}

/// The unikernel's `main`; `name` prefixes its messages.
pub fn main(start: &corten_rt::Start, name: &str) -> i32 {
    let o = match corten_atlas::parse(start.args()) {
        Ok(o) => o,
        Err(e) => {
            corten_rt::println!("{name}: {e}");
            return 2;
        }
    };
    let mut out = String::new();
    let r = corten_atlas::run(&o, &Solo5, &mut out);
    corten_rt::console::write_str(&out);
    match r {
        Ok(true) => 0,
        Ok(false) => 1,
        Err(e) => {
            corten_rt::println!("{name}: {e}");
            1
        }
    }
}
