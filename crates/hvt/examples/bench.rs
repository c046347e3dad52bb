//! Boot time, hypercall cost and VM exits of corten-hvt, side by side with
//! other hvt tenders (upstream's solo5-hvt when given).
//!
//! ```text
//! cargo build --release -p corten-hvt
//! cargo run --release -p corten-hvt --example bench -- \
//!     --upstream /tmp/upstream-bin/solo5-hvt \
//!     --hello target/unikernels/hello.hvt [--workload LABEL=KERNEL[:ARG]]... \
//!     [--runs 40] [--hypercalls 20000] [--json results.json]
//! ```
//!
//! Rows: upstream (if given), corten-hvt, and corten-hvt with ring-3
//! execution forced off (what ring-3 execution buys on this host).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use corten_hvt::bench::{self, Config, Tender, Workload};

fn main() {
    let mut args = std::env::args().skip(1);
    let mut upstream: Option<PathBuf> =
        std::env::var_os("SOLO5_UPSTREAM_BIN").map(|d| PathBuf::from(d).join("solo5-hvt"));
    let mut hello: Option<PathBuf> = None;
    let mut extra: Vec<Workload> = Vec::new();
    let mut runs = 30;
    let mut hypercalls = 20_000;
    let mut json: Option<PathBuf> = None;
    while let Some(a) = args.next() {
        let mut val = || args.next().expect("option needs a value");
        match a.as_str() {
            "--upstream" => upstream = Some(val().into()),
            "--hello" => hello = Some(val().into()),
            "--workload" => {
                let v = val();
                let (label, rest) = v.split_once('=').expect("--workload LABEL=KERNEL[:ARG]");
                let mut w = match rest.split_once(':') {
                    Some((k, a)) => Workload::new(label, k).arg(a),
                    None => Workload::new(label, rest),
                };
                w.mem_mib = 512;
                extra.push(w);
            }
            "--runs" => runs = val().parse().expect("--runs N"),
            "--hypercalls" => hypercalls = val().parse().expect("--hypercalls N"),
            "--json" => json = Some(val().into()),
            _ => {
                eprintln!(
                    "usage: bench [--upstream SOLO5_HVT] [--hello HELLO.hvt] \
                     [--workload LABEL=KERNEL[:ARG]]... [--runs N] [--hypercalls N] [--json FILE]"
                );
                std::process::exit(2);
            }
        }
    }
    // target/<profile>/examples/bench -> target/<profile>/corten-hvt
    let exe = std::env::current_exe().expect("current exe");
    let corten = exe
        .parent()
        .and_then(|p| p.parent())
        .map(|p| p.join("corten-hvt"))
        .filter(|p| p.exists())
        .expect("build corten-hvt first: cargo build --release -p corten-hvt");

    let mut tenders = Vec::new();
    if let Some(u) = upstream {
        tenders.push(Tender::new("upstream solo5-hvt", u));
    }
    tenders.push(Tender::new("corten-hvt", &corten));
    tenders.push(Tender::new("corten-hvt (ring 3 off)", &corten).with_env("CORTEN_HVT_RING3", "0"));

    let mut workloads = Vec::new();
    if let Some(h) = hello {
        workloads.push(Workload::new("hello", h).arg("Hello_Solo5"));
    }
    workloads.extend(extra);
    let scratch = std::env::temp_dir().join(format!("corten-hvt-bench-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).expect("scratch dir");
    let cfg = Config {
        tenders,
        workloads,
        runs,
        hypercalls,
        scratch: scratch.clone(),
    };
    let report = bench::run(&cfg).unwrap_or_else(|e| {
        eprintln!("bench: {e}");
        std::process::exit(1)
    });
    print!("{}", report.markdown());
    if let Some(j) = json {
        std::fs::write(&j, report.json()).expect("write json");
    }
    let _ = std::fs::remove_dir_all(scratch);
}
