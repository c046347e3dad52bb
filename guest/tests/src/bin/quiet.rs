//! Prints SUCCESS and nothing else of its own. Run with `--solo5:quiet`,
//! the output must not contain "Solo5:" (the runtime's banner and exit
//! notice are hidden).
#![no_std]
#![no_main]

corten_rt::manifest! {}
corten_rt::entry!(main);

fn main(_: &corten_rt::Start) -> i32 {
    corten_tests::banner("quiet");
    corten_rt::println!("SUCCESS");
    corten_rt::EXIT_SUCCESS
}
