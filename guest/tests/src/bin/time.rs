//! Clocks and yield: the monotonic clock advances, a past deadline returns
//! at once, a one-second yield sleeps about one second (3 times, within
//! ±200 ms), and the wall clock is after 2017.
#![no_std]
#![no_main]

use corten_rt::println;
use corten_rt::time::{self, NSEC_PER_SEC};

corten_rt::manifest! {}
corten_rt::entry!(main);

fn main(_: &corten_rt::Start) -> i32 {
    corten_tests::banner("time");
    let a = time::monotonic();
    let mut b = time::monotonic();
    let mut tries = 100;
    while b == a && tries > 0 {
        b = time::monotonic();
        tries -= 1;
    }
    if b <= a {
        println!("FAILURE: monotonic time is not passing");
        return corten_rt::EXIT_FAILURE;
    }

    let a = time::monotonic();
    time::yield_until(a);
    let b = time::monotonic();
    println!("yield with a past deadline took {} ns", b - a);

    let slack = NSEC_PER_SEC / 5;
    let mut failed = false;
    for i in 1..=3 {
        let a = time::monotonic();
        time::yield_until(a + NSEC_PER_SEC);
        let b = time::monotonic();
        let slept = b.saturating_sub(a);
        println!("[{i}] slept {slept} ns");
        if slept < NSEC_PER_SEC - slack {
            println!("[{i}] ERROR: slept too little");
            failed = true;
        } else if slept > NSEC_PER_SEC + slack {
            println!("[{i}] ERROR: slept too much");
            failed = true;
        }
    }

    let wall = time::wall();
    println!("wall clock: {} s since the epoch", wall / NSEC_PER_SEC);
    if wall < 1_483_228_800 * NSEC_PER_SEC {
        println!("FAILURE: wall clock before 2017");
        return corten_rt::EXIT_FAILURE;
    }
    if failed {
        println!("FAILURE");
        return corten_rt::EXIT_FAILURE;
    }
    println!("SUCCESS");
    corten_rt::EXIT_SUCCESS
}
