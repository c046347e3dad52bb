//! Parse, check_layout and load arbitrary bytes as an x86_64 unikernel.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::cell::RefCell;

thread_local! {
    // Allocated once: a fresh 2 MiB buffer per input would dominate the run.
    static MEM: RefCell<Vec<u8>> = RefCell::new(vec![0u8; corten_fuzz::ELF_MEM]);
}

fuzz_target!(|data: &[u8]| {
    MEM.with(|m| {
        let _ = corten_fuzz::elf_parse(data, &mut m.borrow_mut());
    });
});
