//! Writes a large block of console output (about 8 KiB, in one console
//! write and then line by line) and exits 0.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::string::String;
use core::fmt::Write;

corten_rt::manifest! {}
corten_rt::entry!(main);

fn main(start: &corten_rt::Start) -> i32 {
    corten_tests::banner("output");
    let mut text = String::new();
    let mut line = 0;
    while text.len() < 4096 {
        line += 1;
        let _ = writeln!(
            text,
            "output line {line:3}, {} bytes before it, argument '{}'",
            text.len(),
            start.cmdline()
        );
    }
    corten_rt::console::write_str(&text);
    for l in text.lines() {
        corten_rt::println!("{l}");
    }
    corten_rt::println!("wrote {} bytes twice", text.len());
    corten_rt::EXIT_SUCCESS
}
