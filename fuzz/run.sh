#!/bin/sh
# A bounded fuzz run of one target, for CI or by hand.
#
#   fuzz/run.sh [TARGET] [SECONDS]      defaults: elf_parse 60
#
# Needs: a nightly toolchain (fuzz/rust-toolchain.toml selects it; rustup
# installs it on first use) and cargo-fuzz (`cargo install cargo-fuzz
# --locked`), plus a C++ compiler for libFuzzer (Debian: g++).
#
# The working corpus lives in fuzz/target/corpus/TARGET (not committed). It is
# seeded from fuzz/seeds/TARGET/ if present and, for elf_parse, from every
# hand-made file in tests/corpus/ (for manifest_note, from elftool's golden
# JSON sources). A crash leaves its input in
# fuzz/artifacts/TARGET/ and makes this script fail.
set -eu
cd "$(dirname "$0")"
target=${1:-elf_parse}
seconds=${2:-60}

work=target/corpus/$target
mkdir -p "$work"
if [ -d "seeds/$target" ]; then
    cp seeds/"$target"/* "$work"/
fi
case $target in
elf_parse) cp ../tests/corpus/valid/*.elf ../tests/corpus/malformed/*.elf "$work"/ ;;
manifest_note) cp ../crates/elftool/tests/golden/*.json "$work"/ ;;
esac

# One process (the machines are shared); -timeout catches hangs, -rss_limit_mb
# unbounded allocations.
exec cargo fuzz run "$target" "$work" -- \
    -max_total_time="$seconds" -timeout=5 -rss_limit_mb=512 -print_final_stats=1
