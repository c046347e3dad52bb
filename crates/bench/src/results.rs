//! What one `corten-bench` run measured, and its machine-readable form
//! (docs/benchmarks/results.json). The Markdown report is rendered from
//! the same structure (report.rs).

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::inventory::{Origin, Skip, Tender};
use crate::machine::Machine;
use crate::stats::{self, Ratio, Summary};

/// Bootstrap resamples for every ratio interval.
pub const RESAMPLES: usize = 2000;

/// One candidate's samples in one measurement.
#[derive(Clone, Debug)]
pub struct Series {
    /// Row name: "TENDER · UNIKERNEL" or the baseline's name.
    pub label: String,
    /// Label of the tender (None for the C baseline).
    pub tender: Option<String>,
    pub unikernel: Option<String>,
    /// The command timed (for the JSON).
    pub command: String,
    /// One value per timed round; NaN for a lost sample.
    pub values: Vec<f64>,
    /// Who built the tender (None for the C baseline).
    pub origin: Option<Origin>,
    /// A variant shown for explanation (e.g. ring 3 off).
    pub variant: bool,
}

impl Series {
    pub fn summary(&self) -> Summary {
        Summary::of(&self.values)
    }

    pub fn lost(&self) -> usize {
        self.values.iter().filter(|v| !v.is_finite()).count()
    }
}

/// A goal a ratio must meet.
#[derive(Clone, Debug, PartialEq)]
pub struct Goal {
    /// The ratio must be at most this.
    pub max_ratio: f64,
    /// Where the goal comes from, e.g. "spt start-up <= 1.25x static C".
    pub text: String,
}

/// `numerator / denominator` of two series of one measurement.
#[derive(Clone, Debug)]
pub struct Comparison {
    pub numerator: String,
    pub denominator: String,
    pub ratio: Ratio,
    pub goal: Option<Goal>,
}

impl Comparison {
    pub fn new(num: &Series, den: &Series, goal: Option<Goal>) -> Comparison {
        Comparison {
            numerator: num.label.clone(),
            denominator: den.label.clone(),
            ratio: stats::ratio(&num.values, &den.values, RESAMPLES),
            goal,
        }
    }

    /// Whether the goal is met (None without a goal or a ratio).
    pub fn met(&self) -> Option<bool> {
        let g = self.goal.as_ref()?;
        self.ratio
            .value
            .is_finite()
            .then_some(self.ratio.value <= g.max_ratio)
    }
}

/// One measurement: candidates measured in the same interleaved rounds.
#[derive(Clone, Debug)]
pub struct Metric {
    pub id: String,
    pub title: String,
    /// Unit of every value ("µs", "ns").
    pub unit: String,
    /// How it was measured, in a sentence or two.
    pub method: String,
    pub rounds: usize,
    pub series: Vec<Series>,
    /// Candidates that failed: (label, error).
    pub failures: Vec<(String, String)>,
    pub comparisons: Vec<Comparison>,
}

/// An absolute goal (used when there is nothing to compare with).
#[derive(Clone, Debug)]
pub struct AbsoluteGoal {
    pub text: String,
    pub measured: f64,
    pub unit: String,
    pub max: f64,
}

/// VM exits of one unikernel run, counted with tracepoints.
#[derive(Clone, Debug)]
pub struct ExitCount {
    pub tender: String,
    pub unikernel: String,
    /// `kvm:kvm_userspace_exit` per run (exits the tender handles).
    pub userspace_exits: Vec<u64>,
    /// `kvm:kvm_exit` per run (every exit; some backends never emit it).
    pub kvm_exits: Vec<u64>,
    /// `kvm:kvm_emulate_insn` per run (instructions KVM emulated).
    pub emulated: Vec<u64>,
    /// The trace buffer overflowed: the counts are lower bounds.
    pub overrun: bool,
}

/// A whole run.
#[derive(Clone, Debug)]
pub struct Results {
    /// The repository measured; paths under it are shown relative to it.
    pub root: PathBuf,
    pub machine: Machine,
    pub load_at_end: Option<[f64; 3]>,
    pub quick: bool,
    /// The Corten tree measured (`git describe`), if known.
    pub commit: Option<String>,
    pub tenders: Vec<Tender>,
    pub metrics: Vec<Metric>,
    pub exits: Vec<ExitCount>,
    pub absolute_goals: Vec<AbsoluteGoal>,
    pub skips: Vec<Skip>,
    pub seconds: f64,
}

/// A number for JSON: NaN and infinities become null.
fn num(v: f64) -> Value {
    if v.is_finite() {
        // Three decimals are far below the noise of any of these values.
        json!((v * 1000.0).round() / 1000.0)
    } else {
        Value::Null
    }
}

/// A raw sample for JSON: one decimal (0.1 µs or 0.1 ns, far below the
/// noise), which keeps results.json small.
fn sample(v: f64) -> Value {
    if v.is_finite() {
        json!((v * 10.0).round() / 10.0)
    } else {
        Value::Null
    }
}

fn summary_json(s: &Summary) -> Value {
    json!({
        "n": s.n, "median": num(s.median), "mean": num(s.mean), "min": num(s.min),
        "p10": num(s.p10), "p90": num(s.p90), "max": num(s.max), "stddev": num(s.stddev),
    })
}

fn median_u64(v: &[u64]) -> Value {
    let f: Vec<f64> = v.iter().map(|&x| x as f64).collect();
    num(stats::median(&f))
}

impl Results {
    /// `text` with every path under the repository shown relative to it
    /// (the report is committed; the checkout's location is noise).
    pub fn rel(&self, text: &str) -> String {
        let prefix = format!("{}/", self.root.display());
        if prefix == "/" {
            text.to_owned()
        } else {
            text.replace(&prefix, "")
        }
    }

    /// [`Results::rel`] of a path.
    pub fn rel_path(&self, p: &Path) -> String {
        self.rel(&p.display().to_string())
    }

    /// The JSON document written to results.json.
    pub fn to_json(&self) -> Value {
        let m = &self.machine;
        let load = |l: &Option<[f64; 3]>| l.map_or(Value::Null, |a| json!(a));
        json!({
            "schema": "corten-bench/1",
            "machine": {
                "cpu_model": m.cpu_model,
                "cpu_detail": m.cpu_detail,
                "logical_cpus": m.logical_cpus,
                "memory_mib": m.memory_mib,
                "kernel": m.kernel,
                "os": m.os,
                "virtualised": m.virtualised,
                "kvm_modules": m.kvm_modules,
                "kvm_backend": m.kvm_backend(),
                "load_at_start": load(&m.load_at_start),
                "load_at_end": load(&self.load_at_end),
                "date": m.date,
            },
            "quick": self.quick,
            "commit": self.commit,
            "seconds": num(self.seconds),
            "tenders": self.tenders.iter().map(|t| json!({
                "label": t.label,
                "kind": t.kind.ext(),
                "origin": t.origin.name(),
                "program": self.rel_path(&t.program),
                "env": t.env.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>(),
                "version": t.version,
                "linkage": t.linkage,
            })).collect::<Vec<_>>(),
            "metrics": self.metrics.iter().map(|mt| json!({
                "id": mt.id,
                "title": mt.title,
                "unit": mt.unit,
                "method": mt.method,
                "rounds": mt.rounds,
                "series": mt.series.iter().map(|s| json!({
                    "label": s.label,
                    "tender": s.tender,
                    "unikernel": s.unikernel,
                    "command": self.rel(&s.command),
                    "origin": s.origin.map(Origin::name),
                    "variant": s.variant,
                    "lost": s.lost(),
                    "summary": summary_json(&s.summary()),
                    "values": s.values.iter().map(|&v| sample(v)).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
                "failures": mt.failures.iter()
                    .map(|(l, e)| json!({"label": l, "error": self.rel(e)}))
                    .collect::<Vec<_>>(),
                "comparisons": mt.comparisons.iter().map(|c| json!({
                    "numerator": c.numerator,
                    "denominator": c.denominator,
                    "ratio": num(c.ratio.value),
                    "ci95": [num(c.ratio.low), num(c.ratio.high)],
                    "goal": c.goal.as_ref().map(|g| json!({"max_ratio": g.max_ratio, "text": g.text})),
                    "met": c.met(),
                })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "vm_exits": self.exits.iter().map(|e| json!({
                "tender": e.tender,
                "unikernel": e.unikernel,
                "userspace_exits": e.userspace_exits,
                "userspace_exits_median": median_u64(&e.userspace_exits),
                "kvm_exits": e.kvm_exits,
                "emulated_instructions": e.emulated,
                "overrun": e.overrun,
            })).collect::<Vec<_>>(),
            "absolute_goals": self.absolute_goals.iter().map(|g| json!({
                "text": g.text, "measured": num(g.measured), "unit": g.unit, "max": g.max,
                "met": g.measured <= g.max,
            })).collect::<Vec<_>>(),
            "skipped": self.skips.iter()
                .map(|s| json!({"what": s.what, "reason": self.rel(&s.reason)}))
                .collect::<Vec<_>>(),
        })
    }
}

/// JSON text indented like `to_string_pretty`, except that arrays of
/// numbers, strings and nulls stay on one line: the samples would
/// otherwise take one line each.
pub fn pretty(v: &Value) -> String {
    let mut out = String::new();
    write_pretty(&mut out, v, 0);
    out.push('\n');
    out
}

fn write_pretty(out: &mut String, v: &Value, depth: usize) {
    let pad = |n: usize| "  ".repeat(n);
    match v {
        Value::Object(map) if !map.is_empty() => {
            out.push_str("{\n");
            for (i, (k, val)) in map.iter().enumerate() {
                out.push_str(&pad(depth + 1));
                out.push_str(&Value::String(k.clone()).to_string());
                out.push_str(": ");
                write_pretty(out, val, depth + 1);
                out.push_str(if i + 1 < map.len() { ",\n" } else { "\n" });
            }
            out.push_str(&pad(depth));
            out.push('}');
        }
        Value::Array(items) if items.iter().any(|x| x.is_object() || x.is_array()) => {
            out.push_str("[\n");
            for (i, val) in items.iter().enumerate() {
                out.push_str(&pad(depth + 1));
                write_pretty(out, val, depth + 1);
                out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
            }
            out.push_str(&pad(depth));
            out.push(']');
        }
        // Scalars, empty containers and flat arrays: compact.
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(label: &str, values: &[f64]) -> Series {
        Series {
            label: label.into(),
            tender: Some(label.into()),
            unikernel: Some("hello".into()),
            command: "x".into(),
            values: values.to_vec(),
            origin: None,
            variant: false,
        }
    }

    #[test]
    fn comparison_against_a_goal() {
        let a = series("a", &[10.0, 11.0, 12.0]);
        let b = series("b", &[10.0, 10.0, 10.0]);
        let goal = Goal {
            max_ratio: 1.25,
            text: "t".into(),
        };
        let c = Comparison::new(&a, &b, Some(goal.clone()));
        assert!((c.ratio.value - 1.1).abs() < 1e-12);
        assert_eq!(c.met(), Some(true));
        let c = Comparison::new(&b, &series("c", &[5.0]), Some(goal));
        assert_eq!(c.met(), Some(false));
        assert_eq!(Comparison::new(&a, &b, None).met(), None);
    }

    #[test]
    fn paths_under_the_root_become_relative() {
        let r = Results {
            root: PathBuf::from("/w/repo"),
            machine: Machine::probe(),
            load_at_end: None,
            quick: true,
            commit: None,
            tenders: Vec::new(),
            metrics: Vec::new(),
            exits: Vec::new(),
            absolute_goals: Vec::new(),
            skips: vec![Skip {
                what: "x".into(),
                reason: "/w/repo/target/unikernels/hello.spt is missing".into(),
            }],
            seconds: 1.0,
        };
        assert_eq!(
            r.rel("/w/repo/target/release/corten-hvt /w/repo/k.hvt /tmp/x"),
            "target/release/corten-hvt k.hvt /tmp/x"
        );
        let j = r.to_json();
        assert_eq!(
            j["skipped"][0]["reason"],
            json!("target/unikernels/hello.spt is missing")
        );
    }

    #[test]
    fn pretty_keeps_flat_arrays_on_one_line_and_round_trips() {
        let v = json!({"a": [1, 2.5, null], "b": [{"c": "x"}, []], "d": {}});
        let text = pretty(&v);
        assert_eq!(
            text,
            "{\n  \"a\": [1,2.5,null],\n  \"b\": [\n    {\n      \"c\": \"x\"\n    },\n    []\n  ],\n  \"d\": {}\n}\n"
        );
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), v);
    }

    #[test]
    fn lost_samples_are_counted_and_null_in_json() {
        let s = series("p", &[1.0, f64::NAN, 3.0]);
        assert_eq!(s.lost(), 1);
        assert_eq!(s.summary().n, 2);
        assert_eq!(num(f64::NAN), Value::Null);
        assert_eq!(num(1.23456), json!(1.235));
        assert_eq!(sample(1019.894), json!(1019.9));
        assert_eq!(sample(f64::INFINITY), Value::Null);
    }
}
