//! Helpers shared by the test unikernels.
#![no_std]

pub mod hostile;
pub mod ping;

/// Prints the banner every test starts with.
pub fn banner(name: &str) {
    corten_rt::println!("\n**** Corten test unikernel {name} ****\n");
}
