//! Upstream's hvt test cases on Corten-built unikernels
//! (target/unikernels/NAME.hvt, from `cargo xtask build`). A missing
//! unikernel fails the test. Needs /dev/kvm; network cases need root.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

hvt_suite!(common::Source::Corten;
    hello, quiet, output, globals, abort, exception, zeropage, xnow, notls, tls, ssp, fpu, time,
    blk, blk_4096, blk_misaligned, blk_odd, blk_too_small, mft_maxdevices, dumpcore,
    dumpcore_exception,
    net, net_2if, net_mtu, net_ring, net_hypercalls);
