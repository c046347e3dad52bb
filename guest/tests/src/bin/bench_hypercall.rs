//! Benchmark guest: makes N of the cheapest calls into the tender, then
//! exits 0. Argument: N (default 10000). `cargo xtask bench` times runs
//! with N and with 0 and divides the difference by N, so boot and exit
//! cancel out.
//!
//! The call: on hvt the WALLTIME hypercall (one VM exit; the tender only
//! reads the clock); on spt, which has no hypercalls, `clock_gettime`
//! through the seccomp filter (what `solo5_clock_wall` is there).
#![no_std]
#![no_main]

use corten_rt::println;
use corten_rt::time;

corten_rt::manifest! {}
corten_rt::entry!(main);

#[cfg(feature = "hvt")]
fn call() {
    use corten_rt::abi::hvt::{HcWalltime, Hypercall};
    let mut w = HcWalltime::default();
    // SAFETY: WALLTIME writes the 8-byte structure, which is live here.
    unsafe {
        corten_rt::sys::hypercall(
            Hypercall::Walltime as u32,
            core::ptr::addr_of_mut!(w) as usize,
        )
    };
}

#[cfg(feature = "spt")]
fn call() {
    core::hint::black_box(time::wall());
}

fn main(start: &corten_rt::Start) -> i32 {
    let n: u64 = match start.args().next().map(str::parse) {
        None => 10_000,
        Some(Ok(n)) => n,
        Some(Err(_)) => {
            println!("usage: bench_hypercall [N]");
            return corten_rt::EXIT_FAILURE;
        }
    };
    let t0 = time::monotonic();
    for _ in 0..n {
        call();
    }
    let dt = time::monotonic().saturating_sub(t0);
    if let Some(each) = dt.checked_div(n) {
        println!("{n} calls in {dt} ns: {each} ns per call");
    }
    corten_rt::EXIT_SUCCESS
}
