//! Arbitrary bytes as an MFT1 manifest descriptor and as a JSON manifest.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    corten_fuzz::manifest_note(data);
});
