//! experiments.json and experiments.md: every case with every
//! candidate's median, spread, identity check and ratio to the native
//! build, plus the machine and what could not run and why.

use std::fmt::Write as _;

use serde_json::{json, Value};

use super::peak::Peak;
use super::{Case, Series};
use crate::machine::Machine;

/// One application's cases and the label every ratio is taken against.
pub struct App {
    pub name: &'static str,
    pub baseline: &'static str,
    pub cases: Vec<Case>,
    pub notes: Vec<String>,
    /// Candidates whose label contains the first string compute what the
    /// candidate labelled with the second does, not the baseline (another
    /// library: OpenBLAS sums in another order than ATLAS).
    pub families: Vec<(&'static str, &'static str)>,
    /// Why the application could not be measured at all.
    pub error: Option<String>,
}

/// Everything of one run.
pub struct Experiments {
    pub machine: Machine,
    pub peak: Option<Peak>,
    pub rounds: usize,
    pub command: String,
    pub commit: Option<String>,
    pub seconds: f64,
    pub apps: Vec<App>,
}

fn num(v: f64) -> Value {
    if v.is_finite() {
        json!((v * 1e4).round() / 1e4)
    } else {
        Value::Null
    }
}

/// Whether `s` computed what the reference computed: Some(true) when every
/// run had the reference identity.
fn identical(s: &Series, reference: Option<&str>) -> Option<bool> {
    let r = reference?;
    if s.identities.is_empty() {
        return None;
    }
    Some(s.identities.len() == 1 && s.identities.iter().all(|i| i == r))
}

/// The identity `label` must reproduce in `case`.
fn reference_of<'a>(app: &'a App, case: &'a Case, label: &str) -> Option<&'a str> {
    let family = app
        .families
        .iter()
        .find(|(part, _)| label.contains(part))
        .map_or(app.baseline, |(_, reference)| *reference);
    let identity_of = |l: &str| {
        case.find(l)
            .and_then(|s| s.identities.iter().next())
            .map(String::as_str)
    };
    if family == app.baseline {
        case.reference.as_deref().or_else(|| identity_of(family))
    } else {
        identity_of(family)
    }
}

impl Experiments {
    pub fn to_json(&self) -> Value {
        let m = &self.machine;
        let apps: Vec<Value> = self
            .apps
            .iter()
            .map(|app| {
                let cases: Vec<Value> = app
                    .cases
                    .iter()
                    .map(|c| {
                        let series: Vec<Value> = c
                            .series
                            .iter()
                            .map(|s| {
                                let reference = reference_of(app, c, &s.label);
                                let sum = s.summary();
                                let ratio = c.ratio(&s.label, app.baseline);
                                json!({
                                    "label": s.label,
                                    "command": s.command,
                                    "samples": s.values.iter().map(|v| num(*v)).collect::<Vec<_>>(),
                                    "median": num(sum.median),
                                    "p10": num(sum.p10),
                                    "p90": num(sum.p90),
                                    "min": num(sum.min),
                                    "max": num(sum.max),
                                    "identities": s.identities.iter().collect::<Vec<_>>(),
                                    "identical_to_reference": identical(s, reference),
                                    "ratio_to_baseline": ratio.map(|r| json!({
                                        "value": num(r.value), "low": num(r.low), "high": num(r.high)
                                    })),
                                    "error": s.error,
                                })
                            })
                            .collect();
                        json!({
                            "case": c.name, "unit": c.unit,
                            "higher_is_better": c.higher_is_better,
                            "reference_identity": reference_of(app, c, app.baseline),
                            "series": series,
                        })
                    })
                    .collect();
                json!({
                    "app": app.name, "baseline": app.baseline, "cases": cases,
                    "notes": app.notes, "error": app.error,
                })
            })
            .collect();
        json!({
            "schema": "corten-experiments/1",
            "command": self.command,
            "commit": self.commit,
            "rounds": self.rounds,
            "seconds": num(self.seconds),
            "machine": {
                "cpu_model": m.cpu_model, "cpu_detail": m.cpu_detail,
                "logical_cpus": m.logical_cpus, "memory_mib": m.memory_mib,
                "kernel": m.kernel, "os": m.os, "virtualised": m.virtualised,
                "kvm_backend": m.kvm_backend(), "date": m.date,
            },
            "peak": self.peak.as_ref().map(|p| json!({
                "gflops_per_core": num(p.gflops), "mhz": num(p.mhz),
                "flops_per_cycle": p.flops_per_cycle, "how": p.why,
            })),
            "apps": apps,
        })
    }

    pub fn markdown(&self) -> String {
        let m = &self.machine;
        let mut s = String::new();
        let _ = writeln!(s, "# Experiments: latest run\n");
        let _ = writeln!(
            s,
            "Written by `{}` on {} ({}, {:.0} s, {} rounds per case, interleaved; commit {}). \
             The narrative and the answer are in [../experiments.md](../experiments.md).\n",
            self.command,
            m.date,
            if self.rounds >= 10 {
                "full run"
            } else {
                "QUICK run: too few rounds to quote"
            },
            self.seconds,
            self.rounds,
            self.commit.as_deref().unwrap_or("unknown")
        );
        let _ = writeln!(
            s,
            "Machine: {} ({}), {} logical CPUs, {} MiB, Linux {}, {}, KVM backend: {}{}.\n",
            m.cpu_model,
            m.cpu_detail,
            m.logical_cpus,
            m.memory_mib.map_or("?".to_owned(), |v| v.to_string()),
            m.kernel,
            m.os,
            m.kvm_backend(),
            if m.virtualised {
                " (the host is itself a virtual machine: nested)"
            } else {
                ""
            }
        );
        if let Some(p) = &self.peak {
            let _ = writeln!(
                s,
                "Theoretical double-precision peak of one core: **{:.1} GFLOP/s** = {}.\n",
                p.gflops, p.why
            );
        }
        for app in &self.apps {
            let _ = writeln!(s, "## {}\n", app.name);
            for n in &app.notes {
                let _ = writeln!(s, "{n}\n");
            }
            if let Some(e) = &app.error {
                let _ = writeln!(s, "**Could not be measured:** {e}\n");
            }
            for c in &app.cases {
                let better = if c.higher_is_better {
                    "higher"
                } else {
                    "lower"
                };
                let _ = writeln!(s, "### {} ({}, {better} is better)\n", c.name, c.unit);
                let _ = writeln!(
                    s,
                    "| candidate | median | p10–p90 | runs | / {} [95 % CI] | same result |",
                    app.baseline
                );
                let _ = writeln!(s, "| --- | ---: | ---: | ---: | ---: | --- |");
                for sr in &c.series {
                    let sum = sr.summary();
                    let ratio = c
                        .ratio(&sr.label, app.baseline)
                        .map_or("–".to_owned(), |r| {
                            format!("{:.3} [{:.3}–{:.3}]", r.value, r.low, r.high)
                        });
                    let same = match identical(sr, reference_of(app, c, &sr.label)) {
                        Some(true) => "yes".to_owned(),
                        Some(false) => format!(
                            "**no** ({})",
                            sr.identities.iter().cloned().collect::<Vec<_>>().join(", ")
                        ),
                        None => "–".to_owned(),
                    };
                    if sr.values.is_empty() {
                        let why = sr.error.as_deref().unwrap_or("not run");
                        let _ = writeln!(
                            s,
                            "| {} | cannot run: {} | | 0 | | |",
                            sr.label,
                            why.replace('|', "/")
                        );
                        continue;
                    }
                    let _ = writeln!(
                        s,
                        "| {} | {:.3} | {:.3}–{:.3} | {} | {} | {} |",
                        sr.label, sum.median, sum.p10, sum.p90, sum.n, ratio, same
                    );
                    if let Some(e) = &sr.error {
                        let _ = writeln!(
                            s,
                            "| ↳ stopped after {} runs | {} | | | | |",
                            sum.n,
                            e.replace('|', "/")
                        );
                    }
                }
                let _ = writeln!(s);
            }
            let _ = writeln!(s, "Commands:\n");
            if let Some(c) = app.cases.first() {
                for sr in &c.series {
                    let _ = writeln!(s, "- {}: `{}`", sr.label, sr.command);
                }
            }
            let _ = writeln!(s);
        }
        s
    }
}
