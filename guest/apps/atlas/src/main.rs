//! The dgemm benchmark (`corten-atlas`) as a unikernel: Debian's ATLAS
//! linked in, the command line the benchmark's (`n=N [reps=R] [seed=S]
//! [check]`), the clock Solo5's monotonic clock, output on the console.
//! Exit status: 0 done, 1 the check failed or memory ran out, 2 a bad
//! command line.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::string::String;

corten_rt::manifest! {}
corten_rt::entry!(main);

struct Solo5;

impl corten_atlas::Platform for Solo5 {
    fn now_ns(&self) -> u64 {
        corten_rt::time::monotonic()
    }
}

fn main(start: &corten_rt::Start) -> i32 {
    let o = match corten_atlas::parse(start.args()) {
        Ok(o) => o,
        Err(e) => {
            corten_rt::println!("atlas: {e}");
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
            corten_rt::println!("atlas: {e}");
            1
        }
    }
}
