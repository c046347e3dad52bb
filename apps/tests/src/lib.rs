//! Integration tests of the experiment applications (tests/): each runs
//! the native build and the spt and hvt unikernels that `cargo xtask
//! build` makes (target/apps, target/unikernels) on the shipped tenders
//! (target/bin) and compares what they print. See docs/experiments.md.
