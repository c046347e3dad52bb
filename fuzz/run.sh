#!/bin/sh
# A bounded fuzz run of one target, for CI or by hand.
#
#   fuzz/run.sh [TARGET] [SECONDS]      defaults: elf_parse 60
#
# Needs rustup, a C++ compiler for libFuzzer (Debian: g++), a nightly
# toolchain and cargo-fuzz; the last two are installed here when missing
# (`rustup toolchain install nightly --profile minimal`,
# `cargo install cargo-fuzz --locked`). fuzz/rust-toolchain.toml selects
# nightly for everything under fuzz/.
#
# The working corpus lives in fuzz/target/corpus/TARGET (not committed). It is
# seeded from fuzz/seeds/TARGET/ if present and, for elf_parse, from every
# hand-made file in tests/corpus/ (for manifest_note, from elftool's golden
# JSON sources). A crash leaves its input in
# fuzz/artifacts/TARGET/ and makes this script fail.
set -eu
cd "$(dirname "$0")"
# When started from `cargo xtask`, the outer cargo's rustup proxy exported
# RUSTUP_TOOLCHAIN=stable, which would override fuzz/rust-toolchain.toml.
unset RUSTUP_TOOLCHAIN CARGO RUSTC RUSTDOC
target=${1:-elf_parse}
seconds=${2:-60}

# Install what is missing (CI machines start bare): nightly via rustup,
# cargo-fuzz from crates.io.
if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    rustup toolchain install nightly --profile minimal
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    cargo +nightly install cargo-fuzz --locked
fi

work=target/corpus/$target
mkdir -p "$work"
if [ -d "seeds/$target" ]; then
    cp seeds/"$target"/* "$work"/
fi
case $target in
elf_parse) cp ../tests/corpus/valid/*.elf ../tests/corpus/malformed/*.elf "$work"/ ;;
manifest_note) cp ../crates/elftool/tests/golden/*.json "$work"/ ;;
tender_cli) ;;
esac

# One process (the machines are shared); -timeout catches hangs, -rss_limit_mb
# unbounded allocations.
exec cargo +nightly fuzz run "$target" "$work" -- \
    -max_total_time="$seconds" -timeout=5 -rss_limit_mb=512 -print_final_stats=1
