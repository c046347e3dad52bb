//! Benchmark guest: calls `solo5_yield` with deadline 0 (already past:
//! the tender checks for input and returns at once) N times, then exits 0.
//! Argument: N (default 10000). `cargo xtask bench` times runs with N and
//! with 0 and divides the difference by N.
#![no_std]
#![no_main]

use corten_rt::println;
use corten_rt::time;

corten_rt::manifest! {}
corten_rt::entry!(main);

fn main(start: &corten_rt::Start) -> i32 {
    let n: u64 = match start.args().next().map(str::parse) {
        None => 10_000,
        Some(Ok(n)) => n,
        Some(Err(_)) => {
            println!("usage: bench_yield [N]");
            return corten_rt::EXIT_FAILURE;
        }
    };
    let t0 = time::monotonic();
    for _ in 0..n {
        core::hint::black_box(time::yield_until(0));
    }
    let dt = time::monotonic().saturating_sub(t0);
    if let Some(each) = dt.checked_div(n) {
        println!("{n} yields in {dt} ns: {each} ns per yield");
    }
    corten_rt::EXIT_SUCCESS
}
