//! `cargo xtask cross aarch64 [--run]`: the aarch64 build (`build`) and
//! its run in an emulated arm64 machine (`qemu`, with the cases of
//! `cases` and the initramfs writer `cpio`). The latest run's result is
//! written into docs/cross.md.

mod build;
mod cases;
mod cpio;
mod qemu;

use std::fs;
use std::path::Path;
use std::time::Instant;

/// The aarch64 build alone (`cargo xtask test` runs it: about 40 s cold,
/// under a second warm).
pub fn build_aarch64(root: &Path) -> Result<(), String> {
    build::build(root)
}

/// Options of `cargo xtask cross`.
#[derive(Debug, PartialEq, Eq)]
struct Options {
    run: bool,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut arch = None;
    let mut o = Options { run: false };
    for a in args {
        match a.as_str() {
            "--run" => o.run = true,
            "aarch64" if arch.is_none() => arch = Some(a.clone()),
            other => {
                return Err(format!(
                    "unknown cross option '{other}' (usage: cross aarch64 [--run])"
                ))
            }
        }
    }
    if arch.is_none() {
        return Err("cross needs an architecture: cargo xtask cross aarch64 [--run]".into());
    }
    Ok(o)
}

pub fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let o = parse(args)?;
    let start = Instant::now();
    build::build(root)?;
    eprintln!(
        "xtask: aarch64 build took {:.1} s",
        start.elapsed().as_secs_f64()
    );
    if !o.run {
        return Ok(());
    }
    let result = qemu::run_cases(root);
    let text = match &result {
        Ok(r) => results_markdown(r),
        Err(e) => format!("Latest run: failed: {e}\n"),
    };
    record(root, &text)?;
    let report = result?;
    report.failures()?;
    eprintln!(
        "xtask: all {} aarch64 cases passed in {:.0} s",
        report.verdicts.len(),
        report.duration.as_secs_f64()
    );
    Ok(())
}

/// Where in docs/cross.md the latest result goes.
const BEGIN: &str = "<!-- latest run: written by cargo xtask cross aarch64 --run -->";
const END: &str = "<!-- end of latest run -->";

/// Replaces the text between [`BEGIN`] and [`END`] in docs/cross.md.
fn record(root: &Path, text: &str) -> Result<(), String> {
    let path = root.join("docs/cross.md");
    let doc = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let new = splice(&doc, text)
        .ok_or_else(|| format!("{}: no '{BEGIN}' ... '{END}' section", path.display()))?;
    fs::write(&path, new).map_err(|e| format!("{}: {e}", path.display()))
}

fn splice(doc: &str, text: &str) -> Option<String> {
    let (head, rest) = doc.split_once(BEGIN)?;
    let (_, tail) = rest.split_once(END)?;
    Some(format!("{head}{BEGIN}\n{text}{END}{tail}"))
}

fn results_markdown(r: &qemu::Report) -> String {
    let passed = r.verdicts.iter().filter(|v| v.passed).count();
    let mut s = format!(
        "Latest run: {}, {passed} of {} cases passed, {:.0} s from qemu's start to power-off.\n\n",
        today(),
        r.verdicts.len(),
        r.duration.as_secs_f64()
    );
    s += "| case | result |\n| --- | --- |\n";
    for v in &r.verdicts {
        let result = if v.passed {
            "pass".to_owned()
        } else {
            format!("FAIL: {}", v.why.replace('|', "\\|"))
        };
        s += &format!("| `{}` | {result} |\n", v.name);
    }
    s
}

/// Today's date (UTC), from `date`.
fn today() -> String {
    std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "(date unknown)".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn options() {
        assert_eq!(parse(&s(&["aarch64"])), Ok(Options { run: false }));
        assert_eq!(parse(&s(&["aarch64", "--run"])), Ok(Options { run: true }));
        assert!(parse(&s(&[])).is_err());
        assert!(parse(&s(&["riscv64"])).is_err());
        assert!(parse(&s(&["aarch64", "aarch64"])).is_err());
    }

    #[test]
    fn the_result_lists_every_case_and_why_one_failed() {
        let r = qemu::Report {
            verdicts: vec![
                qemu::Verdict {
                    name: "spt/hello".into(),
                    passed: true,
                    why: String::new(),
                },
                qemu::Verdict {
                    name: "hvt/net".into(),
                    passed: false,
                    why: "status 1 | 2".into(),
                },
            ],
            summary: Some((1, 1)),
            duration: std::time::Duration::from_secs(20),
        };
        let md = results_markdown(&r);
        assert!(md.contains("1 of 2 cases passed, 20 s"), "{md}");
        assert!(md.contains("| `spt/hello` | pass |"), "{md}");
        assert!(md.contains("| `hvt/net` | FAIL: status 1 \\| 2 |"), "{md}");
        assert!(r.failures().unwrap_err().contains("hvt/net (status 1 | 2)"));
    }

    #[test]
    fn splices_the_latest_run() {
        let doc = format!("# x\n{BEGIN}\nold\n{END}\nrest\n");
        assert_eq!(
            splice(&doc, "new\n").unwrap(),
            format!("# x\n{BEGIN}\nnew\n{END}\nrest\n")
        );
        assert_eq!(splice("no markers", "new"), None);
    }
}
