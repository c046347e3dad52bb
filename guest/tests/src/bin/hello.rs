//! Prints a greeting and its command line; SUCCESS when the command line is
//! `Hello_Solo5` (as the upstream test suite passes it).
#![no_std]
#![no_main]

use corten_rt::println;

corten_rt::manifest! {}
corten_rt::entry!(main);

fn main(start: &corten_rt::Start) -> i32 {
    corten_tests::banner("hello");
    println!("Hello, World");
    println!("Command line is: '{}'", start.cmdline());
    if start.cmdline() == "Hello_Solo5" {
        println!("SUCCESS");
    }
    corten_rt::EXIT_SUCCESS
}
