//! Benchmark harness (see README).
