//! Upstream's hvt test cases on upstream-built unikernels, run only when
//! SOLO5_UPSTREAM_TESTS points at upstream's tests/ directory (each case
//! prints why it skipped otherwise). Needs /dev/kvm; network cases need root.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

hvt_suite!(common::Source::Upstream;
    hello, quiet, output, globals, exception, zeropage, xnow, notls, tls, ssp, fpu, time,
    blk, blk_4096, blk_misaligned, blk_odd, blk_too_small, mft_maxdevices, buggyelf, dumpcore,
    dumpcore_exception, net, net_2if, net_mtu, net_ring, net_hypercalls);
