//! The measurements: which candidates each one runs, side by side, and
//! which ratios (and goals) it reports.

use std::path::Path;

use crate::affinity;
use crate::exits::Tracer;
use crate::inventory::{Inventory, Kind, Origin, Skip, Tender, Unikernel};
use crate::measure::{self, PerOperation, Probe, ProcessTime, Rounds, Run};
use crate::net::{self, PingProbe, Session};
use crate::results::{AbsoluteGoal, Comparison, ExitCount, Goal, Metric, Series};

/// How much of everything to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    pub quick: bool,
    pub startup: Rounds,
    pub boot: Rounds,
    pub per_op: Rounds,
    pub ping: Rounds,
    pub exit_runs: usize,
}

impl Settings {
    pub fn new(quick: bool) -> Settings {
        let r = |timed, warmup| Rounds { timed, warmup };
        if quick {
            Settings {
                quick,
                startup: r(300, 20),
                boot: r(40, 4),
                per_op: r(4, 1),
                ping: r(300, 20),
                exit_runs: 1,
            }
        } else {
            Settings {
                quick,
                startup: r(2000, 100),
                boot: r(200, 10),
                per_op: r(20, 2),
                ping: r(2000, 50),
                exit_runs: 3,
            }
        }
    }
}

/// spt start-up at most this many times a static C hello.
pub const SPT_GOAL: f64 = 1.25;
/// hvt boot at most this fraction of upstream solo5-hvt's...
pub const HVT_GOAL: f64 = 0.40;
/// ...or, without upstream, at most this many microseconds.
pub const HVT_ABSOLUTE_GOAL_US: f64 = 5000.0;

/// A unikernel run for the start-up / boot measurements: the hello
/// unikernels, plus any given with `--workload`.
#[derive(Clone, Debug, PartialEq)]
pub struct Workload {
    pub unikernel: Unikernel,
    pub args: Vec<String>,
}

impl Workload {
    /// Parses `LABEL=KERNEL[:ARG]`; the tender kind comes from KERNEL's
    /// extension (.spt or .hvt).
    pub fn parse(spec: &str) -> Result<(Kind, Workload), String> {
        let (label, rest) = spec
            .split_once('=')
            .ok_or_else(|| format!("--workload '{spec}': expected LABEL=KERNEL[:ARG]"))?;
        let (kernel, arg) = match rest.split_once(':') {
            Some((k, a)) => (k, Some(a)),
            None => (rest, None),
        };
        let kind = match Path::new(kernel).extension().and_then(|e| e.to_str()) {
            Some("spt") => Kind::Spt,
            Some("hvt") => Kind::Hvt,
            _ => {
                return Err(format!(
                "--workload '{spec}': KERNEL must end in .spt or .hvt to tell which tender runs it"
            ))
            }
        };
        if label.is_empty() || kernel.is_empty() {
            return Err(format!("--workload '{spec}': empty LABEL or KERNEL"));
        }
        Ok((
            kind,
            Workload {
                unikernel: Unikernel {
                    label: label.to_owned(),
                    origin: Origin::Corten,
                    path: kernel.into(),
                },
                args: arg.map(str::to_owned).into_iter().collect(),
            },
        ))
    }
}

/// A candidate before measuring: its row and the probe that samples it.
struct Candidate<'a> {
    series: Series,
    probe: Box<dyn Probe + 'a>,
}

fn run_of(t: &Tender, uk: &Unikernel, args: &[&str]) -> Run {
    let mut r = Run::new(&t.program).envs(&t.env).arg(&uk.path);
    for a in args {
        r = r.arg(*a);
    }
    r
}

fn series_of(t: &Tender, uk: &Unikernel, command: String) -> Series {
    Series {
        label: format!("{} · {}", t.label, uk.label),
        tender: Some(t.label.clone()),
        unikernel: Some(uk.label.clone()),
        command,
        values: Vec::new(),
        origin: Some(t.origin),
        variant: t.variant,
    }
}

/// Process start to exit of `w` on `t`.
fn timed<'a>(t: &Tender, w: &Workload) -> Candidate<'a> {
    let args: Vec<&str> = w.args.iter().map(String::as_str).collect();
    let uk = &w.unikernel;
    let run = run_of(t, uk, &args);
    Candidate {
        series: series_of(t, uk, run.display()),
        probe: Box::new(ProcessTime(run)),
    }
}

/// Measures `cands` interleaved and collects the series that worked.
fn measure(
    id: &str,
    title: &str,
    unit: &str,
    method: &str,
    rounds: Rounds,
    cands: Vec<Candidate<'_>>,
) -> Metric {
    let (mut series, mut probes): (Vec<Series>, Vec<Box<dyn Probe + '_>>) =
        cands.into_iter().map(|c| (c.series, c.probe)).unzip();
    let outcomes = measure::interleave(title, &mut probes, rounds);
    drop(probes);
    let mut metric = Metric {
        id: id.to_owned(),
        title: title.to_owned(),
        unit: unit.to_owned(),
        method: method.to_owned(),
        rounds: rounds.timed,
        series: Vec::new(),
        failures: Vec::new(),
        comparisons: Vec::new(),
    };
    for (mut s, o) in series.drain(..).zip(outcomes) {
        match o {
            Ok(values) => {
                s.values = values;
                metric.series.push(s);
            }
            Err(e) => {
                eprintln!("corten-bench: FAILED {}: {e}", s.label);
                metric.failures.push((s.label, e.to_string()));
            }
        }
    }
    metric
}

/// Adds `corten / upstream` for every Corten series with an upstream
/// series on the same unikernel; `goal` applies to the non-variant ones
/// running a hello unikernel.
fn compare_with_upstream(metric: &mut Metric, goal: Option<&Goal>) {
    let mut new = Vec::new();
    for c in metric
        .series
        .iter()
        .filter(|s| s.origin == Some(Origin::Corten))
    {
        for u in metric
            .series
            .iter()
            .filter(|s| s.origin == Some(Origin::Upstream) && s.unikernel == c.unikernel)
        {
            let g = if c.variant || !is_hello(c) {
                None
            } else {
                goal.cloned()
            };
            new.push(Comparison::new(c, u, g));
        }
    }
    metric.comparisons.extend(new);
}

/// hello, Corten-built and upstream-built, with upstream's test argument.
fn hello_workloads(inv: &Inventory, kind: Kind, skips: &mut Vec<Skip>) -> Vec<Workload> {
    hellos(inv, kind, skips)
        .into_iter()
        .map(|unikernel| Workload {
            unikernel,
            args: vec!["Hello_Solo5".to_owned()],
        })
        .collect()
}

/// Adds `tender / its variant` (e.g. corten-hvt / corten-hvt, ring 3
/// off) on the same unikernel: what the variant's switch is worth.
fn compare_with_variants(metric: &mut Metric) {
    let mut new = Vec::new();
    for c in metric
        .series
        .iter()
        .filter(|s| s.origin == Some(Origin::Corten) && !s.variant)
    {
        for v in metric
            .series
            .iter()
            .filter(|s| s.variant && s.unikernel == c.unikernel)
        {
            new.push(Comparison::new(c, v, None));
        }
    }
    metric.comparisons.extend(new);
}

/// Whether `x` ran one of the hello unikernels (the goals are about
/// hello; `--workload` extras are shown, not judged).
fn is_hello(x: &Series) -> bool {
    x.unikernel
        .as_deref()
        .is_some_and(|u| u.starts_with("hello (") || u.starts_with("test_hello ("))
}

/// The hello unikernels for `kind`: Corten-built, and upstream-built when
/// available.
fn hellos(inv: &Inventory, kind: Kind, skips: &mut Vec<Skip>) -> Vec<Unikernel> {
    let mut v = Vec::new();
    match inv.corten("hello", kind) {
        Some(u) => v.push(u),
        None => skips.push(Skip::new(
            format!("Corten-built hello.{}", kind.ext()),
            format!(
                "{}/hello.{} is missing: run `cargo xtask build`",
                inv.corten_unikernels.display(),
                kind.ext()
            ),
        )),
    }
    v.extend(inv.upstream("hello", kind));
    v
}

/// spt: process start to exit of hello on every spt tender and of a
/// static C hello-world, interleaved.
pub fn spt_startup(
    inv: &Inventory,
    c_hello: Option<&Path>,
    extra: &[Workload],
    s: &Settings,
    skips: &mut Vec<Skip>,
) -> Option<Metric> {
    let tenders = inv.tenders(Kind::Spt);
    let mut workloads = hello_workloads(inv, Kind::Spt, skips);
    workloads.extend_from_slice(extra);
    if tenders.is_empty() || workloads.is_empty() {
        skips.push(Skip::new(
            "spt start-up",
            "no spt tender or no hello unikernel",
        ));
        return None;
    }
    let mut cands = Vec::new();
    if let Some(c) = c_hello {
        let run = Run::new(c);
        cands.push(Candidate {
            series: Series {
                label: "static C hello (gcc -static -O2)".to_owned(),
                tender: None,
                unikernel: None,
                command: run.display(),
                values: Vec::new(),
                origin: None,
                variant: false,
            },
            probe: Box::new(ProcessTime(run)),
        });
    }
    for t in &tenders {
        for w in &workloads {
            cands.push(timed(t, w));
        }
    }
    let mut m = measure(
        "spt-startup",
        "spt start-up: process start to exit",
        "µs",
        "Wall-clock time from spawning the tender (default --mem) to reaping it, output to \
         /dev/null; every candidate runs once per round, rounds interleaved.",
        s.startup,
        cands,
    );
    let goal = Goal {
        max_ratio: SPT_GOAL,
        text: format!("corten-spt start-up <= {SPT_GOAL}x a static C hello"),
    };
    if let Some(base) = m.series.iter().find(|x| x.tender.is_none()).cloned() {
        let mut cmp = Vec::new();
        for x in m.series.iter().filter(|x| x.tender.is_some()) {
            let g = (x.origin == Some(Origin::Corten) && !x.variant).then(|| goal.clone());
            cmp.push(Comparison::new(x, &base, g));
        }
        m.comparisons.extend(cmp);
    }
    compare_with_upstream(&mut m, None);
    Some(m)
}

/// hvt: process start to exit of hello (boot, 7-18 hypercalls, halt).
pub fn hvt_boot(
    inv: &Inventory,
    extra: &[Workload],
    s: &Settings,
    skips: &mut Vec<Skip>,
    absolute: &mut Vec<AbsoluteGoal>,
) -> Option<Metric> {
    let tenders = inv.tenders(Kind::Hvt);
    let mut workloads = hello_workloads(inv, Kind::Hvt, skips);
    workloads.extend_from_slice(extra);
    if tenders.is_empty() || workloads.is_empty() {
        skips.push(Skip::new(
            "hvt boot",
            "no usable hvt tender or no hello unikernel",
        ));
        return None;
    }
    let cands = tenders
        .iter()
        .flat_map(|t| workloads.iter().map(move |w| timed(t, w)))
        .collect();
    let mut m = measure(
        "hvt-boot",
        "hvt boot: process start to exit",
        "µs",
        "Wall-clock time from spawning the tender (default --mem=512) to reaping it: VM \
         creation, boot, hello's console output, halt and teardown; rounds interleaved.",
        s.boot,
        cands,
    );
    let goal = Goal {
        max_ratio: HVT_GOAL,
        text: format!(
            "corten-hvt boot <= {:.0} % of upstream solo5-hvt",
            HVT_GOAL * 100.0
        ),
    };
    compare_with_upstream(&mut m, Some(&goal));
    compare_with_variants(&mut m);
    let has_upstream = m.series.iter().any(|x| x.origin == Some(Origin::Upstream));
    if !has_upstream {
        for x in m
            .series
            .iter()
            .filter(|x| x.origin == Some(Origin::Corten) && !x.variant && is_hello(x))
        {
            absolute.push(AbsoluteGoal {
                text: format!(
                    "{}: boot <= {HVT_ABSOLUTE_GOAL_US:.0} µs (no upstream solo5-hvt to compare with)",
                    x.label
                ),
                measured: x.summary().median,
                unit: "µs".to_owned(),
                max: HVT_ABSOLUTE_GOAL_US,
            });
        }
    }
    Some(m)
}

/// What a per-operation benchmark guest repeats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    /// `bench_hypercall`: WALLTIME on hvt, clock_gettime on spt.
    Hypercall,
    /// `bench_yield`: solo5_yield with deadline 0.
    Yield,
}

impl Operation {
    fn unikernel(self) -> &'static str {
        match self {
            Operation::Hypercall => "bench_hypercall",
            Operation::Yield => "bench_yield",
        }
    }

    /// Operations per run: enough for ~0.2-0.5 s of work here, so that
    /// start-up noise (~1 ms) is well under 1 %.
    fn count(self, kind: Kind) -> u64 {
        match (self, kind) {
            (Operation::Hypercall, Kind::Spt) => 1_000_000,
            (Operation::Yield, Kind::Spt) => 20_000,
            (Operation::Hypercall, Kind::Hvt) => 10_000,
            (Operation::Yield, Kind::Hvt) => 5_000,
        }
    }
}

/// Cost of one hypercall or one `solo5_yield(0)` on every tender of
/// `kind`, with the Corten-built benchmark guest.
pub fn per_operation(
    inv: &Inventory,
    kind: Kind,
    op: Operation,
    s: &Settings,
    skips: &mut Vec<Skip>,
    absolute: &mut Vec<AbsoluteGoal>,
) -> Option<Metric> {
    let (id, title, method) = match (op, kind) {
        (Operation::Hypercall, Kind::Hvt) => (
            "hvt-hypercall",
            "hvt: one hypercall (WALLTIME)",
            "bench_hypercall makes N WALLTIME hypercalls in a loop; per round, a run with N and \
             one with 0 are timed back to back and the difference divided by N. Corten-built \
             guest (soft-float hvt build) on every tender.",
        ),
        (Operation::Hypercall, Kind::Spt) => (
            "spt-hypercall",
            "spt: one call into the host (clock_gettime through the seccomp filter)",
            "spt has no hypercalls: bench_hypercall makes N clock_gettime(CLOCK_REALTIME) \
             system calls (solo5_clock_wall on spt) under the tender's seccomp filter; runs \
             with N and with 0 differenced per round, divided by N.",
        ),
        (Operation::Yield, Kind::Hvt) => (
            "hvt-yield",
            "hvt: solo5_yield(0) (POLL hypercall, deadline already past)",
            "bench_yield calls solo5_yield with deadline 0 N times (the tender polls the devices \
             with epoll_pwait timeout 0, without arming its timer); runs with N and 0 \
             differenced per round.",
        ),
        (Operation::Yield, Kind::Spt) => (
            "spt-yield",
            "spt: solo5_yield(0) (clock_gettime + epoll_pwait with timeout 0)",
            "bench_yield calls solo5_yield with deadline 0 N times (the guest runtime sees the \
             deadline has passed and polls the devices without arming its timer); runs with N \
             and 0 differenced per round.",
        ),
    };
    let Some(uk) = inv.corten(op.unikernel(), kind) else {
        skips.push(Skip::new(
            title,
            format!(
                "{}/{}.{} is missing: run `cargo xtask build`",
                inv.corten_unikernels.display(),
                op.unikernel(),
                kind.ext()
            ),
        ));
        return None;
    };
    let tenders = inv.tenders(kind);
    if tenders.is_empty() {
        skips.push(Skip::new(title, "no tender of this kind"));
        return None;
    }
    let count = op.count(kind);
    let n = count.to_string();
    let cands = tenders
        .iter()
        .map(|t| {
            let many = run_of(t, &uk, &[&n]);
            Candidate {
                series: series_of(t, &uk, many.display()),
                probe: Box::new(PerOperation {
                    none: run_of(t, &uk, &["0"]),
                    many,
                    count,
                }),
            }
        })
        .collect();
    let mut m = measure(id, title, "ns", method, s.per_op, cands);
    m.method = format!("{method} N = {count}.");
    compare_with_upstream(&mut m, None);
    compare_with_variants(&mut m);
    if (op, kind) == (Operation::Yield, Kind::Spt) {
        for x in corten_series(&m) {
            absolute.push(AbsoluteGoal {
                text: format!("{}: solo5_yield(0) <= {SPT_YIELD_GOAL_NS:.0} ns", x.label),
                measured: x.summary().median,
                unit: "ns".to_owned(),
                max: SPT_YIELD_GOAL_NS,
            });
        }
    }
    Some(m)
}

/// spt: a yield whose deadline has passed is one poll of the devices.
const SPT_YIELD_GOAL_NS: f64 = 1000.0;

/// hvt: a yield whose deadline has passed costs one hypercall (one VM
/// exit and one epoll_pwait) — at most this much more than WALLTIME.
const HVT_YIELD_GOAL_RATIO: f64 = 1.10;

/// Corten's own tenders' series (not their variants) in `m`.
fn corten_series(m: &Metric) -> impl Iterator<Item = &Series> {
    m.series
        .iter()
        .filter(|x| x.origin == Some(Origin::Corten) && !x.variant)
}

/// hvt goal: `solo5_yield(0)` on corten-hvt costs no more than
/// [`HVT_YIELD_GOAL_RATIO`] × one WALLTIME hypercall measured in the same
/// run with the same tender.
pub fn hvt_yield_goals(metrics: &[Metric], absolute: &mut Vec<AbsoluteGoal>) {
    let by_id = |id: &str| metrics.iter().find(|m| m.id == id);
    let (Some(hc), Some(y)) = (by_id("hvt-hypercall"), by_id("hvt-yield")) else {
        return;
    };
    // The default configuration only: with ring 3 off (a diagnostic on
    // PVM hosts) every CPL-0 guest instruction is emulated, so the guest
    // code around the hypercall costs more than the exit.
    for x in corten_series(y) {
        let Some(h) = hc
            .series
            .iter()
            .find(|h| h.origin == x.origin && h.tender == x.tender && h.variant == x.variant)
        else {
            continue;
        };
        let hypercall = h.summary().median;
        absolute.push(AbsoluteGoal {
            text: format!(
                "{}: solo5_yield(0) <= {HVT_YIELD_GOAL_RATIO} x one hypercall ({hypercall:.0} ns)",
                x.label
            ),
            measured: x.summary().median,
            unit: "ns".to_owned(),
            max: HVT_YIELD_GOAL_RATIO * hypercall,
        });
    }
}

/// Ping round trip through every tender of `kind`, each in its own
/// network namespace, against the `net` unikernels.
pub fn ping(inv: &Inventory, kind: Kind, s: &Settings, skips: &mut Vec<Skip>) -> Option<Metric> {
    let title = format!("{}: ping round trip (one request in flight)", kind.ext());
    if let Some(why) = net::unavailable() {
        skips.push(Skip::new(&title, why));
        return None;
    }
    let mut uks: Vec<Unikernel> = inv.corten("net", kind).into_iter().collect();
    uks.extend(inv.upstream("net", kind));
    if uks.is_empty() {
        skips.push(Skip::new(
            &title,
            "no net unikernel: run `cargo xtask build`",
        ));
        return None;
    }
    // Same placement for every tender: pinger on one CPU, tenders on
    // another (see affinity.rs).
    let placement = affinity::allowed()
        .ok()
        .and_then(|a| affinity::Placement::choose(&a));
    let pinned = match placement.map(|p| affinity::Restore::pin_to(p.pinger)) {
        Some(Ok(r)) => Some(r),
        Some(Err(e)) => {
            eprintln!("corten-bench: cannot pin the pinger to a CPU ({e}); ping runs unpinned");
            None
        }
        None => None,
    };
    let tender_cpu = pinned.as_ref().and(placement).map(|p| p.tenders);
    let mut cands = Vec::new();
    let mut failures = Vec::new();
    let mut id: u16 = 0x6b00;
    for t in inv.tenders(kind).into_iter().filter(|t| !t.variant) {
        for uk in &uks {
            id = id.wrapping_add(1);
            let series = series_of(
                t,
                uk,
                format!(
                    "{} --net:service0=tap100 -- {}",
                    t.program.display(),
                    uk.path.display()
                ),
            );
            match Session::start(t, uk, id, tender_cpu) {
                Ok(session) => cands.push(Candidate {
                    series,
                    probe: Box::new(PingProbe(session)),
                }),
                Err(e) => {
                    eprintln!("corten-bench: FAILED {}: {e}", series.label);
                    failures.push((series.label, e.to_string()));
                }
            }
        }
    }
    let mut m = measure(
        &format!("{}-ping", kind.ext()),
        &title,
        "µs",
        &format!(
            "Each tender serves the net unikernel (10.0.0.2) on tap100 in a network namespace \
             of its own; the bench sends ICMP echo requests (56-byte payload) from a raw socket \
             in each namespace, to each tender in turn, one in flight, and times request to \
             reply. Lost pings (500 ms timeout) are counted, not timed. {}",
            match tender_cpu.zip(placement) {
                Some((t, p)) => format!(
                    "The pinger runs on CPU {}, every tender on CPU {t}, so each reply takes the \
                     same path.",
                    p.pinger
                ),
                None => "Not pinned to CPUs (only one CPU available).".to_owned(),
            }
        ),
        s.ping,
        cands,
    );
    m.failures.extend(failures);
    compare_with_upstream(&mut m, None);
    Some(m)
}

/// VM exits of hello on every hvt tender (variants excluded).
pub fn vm_exits(inv: &Inventory, s: &Settings, skips: &mut Vec<Skip>) -> Vec<ExitCount> {
    let what = "VM exits per hvt boot";
    let tracer = match Tracer::new() {
        Ok(t) => t,
        Err(e) => {
            skips.push(Skip::new(what, e.to_string()));
            return Vec::new();
        }
    };
    let mut hello_skips = Vec::new();
    let hellos = hellos(inv, Kind::Hvt, &mut hello_skips);
    let mut out = Vec::new();
    eprintln!("corten-bench: {what}");
    for t in inv.tenders(Kind::Hvt).into_iter().filter(|t| !t.variant) {
        for uk in &hellos {
            let run = run_of(t, uk, &["Hello_Solo5"]);
            let mut e = ExitCount {
                tender: t.label.clone(),
                unikernel: uk.label.clone(),
                userspace_exits: Vec::new(),
                kvm_exits: Vec::new(),
                emulated: Vec::new(),
                overrun: false,
            };
            for _ in 0..s.exit_runs {
                match tracer.count(&run) {
                    Ok(c) => {
                        e.userspace_exits.push(c.userspace_exits);
                        e.kvm_exits.push(c.kvm_exits);
                        e.emulated.push(c.emulated);
                        e.overrun |= c.overrun;
                    }
                    Err(err) => {
                        skips.push(Skip::new(
                            format!("VM exits of {} · {}", t.label, uk.label),
                            err.to_string(),
                        ));
                        break;
                    }
                }
            }
            if !e.userspace_exits.is_empty() {
                out.push(e);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workload_specs() {
        let (k, w) = Workload::parse("big=/x/img.hvt:arg1").unwrap();
        assert_eq!(k, Kind::Hvt);
        assert_eq!(w.unikernel.label, "big");
        assert_eq!(w.unikernel.path, Path::new("/x/img.hvt"));
        assert_eq!(w.args, vec!["arg1".to_owned()]);
        let (k, w) = Workload::parse("s=/x/a.spt").unwrap();
        assert_eq!(k, Kind::Spt);
        assert!(w.args.is_empty());
        assert!(Workload::parse("noequals").is_err());
        assert!(Workload::parse("x=/y/z.elf").is_err());
        assert!(Workload::parse("=/y/z.hvt").is_err());
    }
}
