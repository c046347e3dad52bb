//! Arbitrary bytes, split at NUL, as a tender's command line.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    corten_fuzz::tender_cli(data);
});
