//! `cargo xtask cross aarch64 --run`: boots Debian's arm64 kernel under
//! qemu-system-aarch64 (TCG, with EL2 so KVM comes up inside) with an
//! initramfs holding busybox, the aarch64 tenders, the unikernels and the
//! test driver of [`cases`], and reads the driver's verdicts from the
//! serial console, within time limits.

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::build;
use super::cases::{self, MARK};
use super::cpio::Archive;
use crate::deps::{self, Tool};
use crate::guest::Target;
use crate::toolchain::run;

const QEMU: Tool = Tool {
    command: "qemu-system-aarch64",
    package: "qemu-system-arm",
    why: "the aarch64 tenders and unikernels run in an emulated arm64 machine",
};

/// Debian's arm64 kernel (the metapackage names the current one) and a
/// static busybox for the initramfs.
const KERNEL_META: &str = "linux-image-arm64:arm64";
const BUSYBOX: &str = "busybox-static:arm64";

/// The kernel must reach the driver within this (it takes seconds).
const BOOT_LIMIT: Duration = Duration::from_secs(90);
/// The whole run, boot included.
const RUN_LIMIT: Duration = Duration::from_secs(1500);

/// One case's verdict as the driver printed it.
#[derive(Debug, PartialEq, Eq)]
pub struct Verdict {
    pub name: String,
    pub passed: bool,
    /// Why it failed (empty when it passed).
    pub why: String,
}

/// What a run reported.
#[derive(Debug, Default)]
pub struct Report {
    pub verdicts: Vec<Verdict>,
    /// The driver's own count, `(passed, failed)`.
    pub summary: Option<(usize, usize)>,
    pub duration: Duration,
}

/// Fetches what it needs, builds the initramfs, boots, and returns the
/// verdicts of a run that came to its end (failed cases included; see
/// [`Report::failures`]).
pub fn run_cases(root: &Path) -> Result<Report, String> {
    deps::ensure_tools(&[QEMU])?;
    let cache = root.join("target/aarch64/qemu");
    let machine = fetch(&cache)?;
    let units = build::build_unit_tests(root)?;
    let initrd = cache.join("initramfs.cpio");
    let image = initramfs(root, &machine, &Target::ALL, &units)?;
    fs::write(&initrd, image).map_err(|e| format!("{}: {e}", initrd.display()))?;
    let report = watch(qemu_command(&machine.kernel, &initrd), Limits::REAL)?;
    let failed = report.verdicts.iter().filter(|v| !v.passed).count();
    let passed = report.verdicts.len() - failed;
    match report.summary {
        Some(s) if s == (passed, failed) => {}
        Some((p, f)) => {
            return Err(format!(
                "the driver counted {p} passed, {f} failed, but printed {passed} PASS and \
                 {failed} FAIL lines"
            ))
        }
        None => return Err("the driver printed no summary line".into()),
    }
    Ok(report)
}

impl Report {
    /// An error listing the failed cases, if any failed.
    pub fn failures(&self) -> Result<(), String> {
        let failed: Vec<String> = self
            .verdicts
            .iter()
            .filter(|v| !v.passed)
            .map(|v| format!("{} ({})", v.name, v.why))
            .collect();
        if failed.is_empty() {
            return Ok(());
        }
        Err(format!(
            "{} of {} aarch64 cases failed:\n  {}",
            failed.len(),
            self.verdicts.len(),
            failed.join("\n  ")
        ))
    }
}

/// What the emulated machine boots: files of Debian's arm64 packages.
struct Machine {
    kernel: PathBuf,
    busybox: PathBuf,
    /// The kernel's tun module (taps), built as a module in Debian.
    tun_module: PathBuf,
}

/// Downloads (once) and unpacks the kernel and busybox packages into
/// `cache`.
fn fetch(cache: &Path) -> Result<Machine, String> {
    let kernel_pkg = current_kernel_package()?;
    let unpacked = cache.join("root");
    if let Some(m) = machine(&unpacked, &kernel_pkg) {
        return Ok(m);
    }
    let debs = cache.join("debs");
    fs::create_dir_all(&debs).map_err(|e| format!("{}: {e}", debs.display()))?;
    let kernel_arch = format!("{kernel_pkg}:arm64");
    for pkg in [kernel_arch.as_str(), BUSYBOX] {
        eprintln!("xtask: downloading {pkg}");
        run(
            Command::new("apt-get")
                .current_dir(&debs)
                .args(["download", "-q", pkg]),
            &format!("apt-get download {pkg}"),
        )?;
    }
    let entries = fs::read_dir(&debs).map_err(|e| format!("{}: {e}", debs.display()))?;
    for entry in entries.flatten() {
        let deb = entry.path();
        let name = deb.file_name().map(|n| n.to_string_lossy().into_owned());
        let wanted = name.is_some_and(|n| {
            n.ends_with("_arm64.deb")
                && (n.starts_with(&format!("{kernel_pkg}_")) || n.starts_with("busybox-static_"))
        });
        if wanted {
            run(
                Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&unpacked),
                &format!("dpkg-deb -x {}", deb.display()),
            )?;
        }
    }
    machine(&unpacked, &kernel_pkg).ok_or_else(|| {
        format!(
            "{} lacks boot/vmlinuz-*, lib/modules/*/kernel/drivers/net/tun.ko or bin/busybox \
             after unpacking {kernel_pkg} and {BUSYBOX}",
            unpacked.display()
        )
    })
}

/// The [`Machine`] of kernel `package` (linux-image-VERSION) unpacked
/// under `dir`, if all of it is there.
fn machine(dir: &Path, package: &str) -> Option<Machine> {
    let version = package.strip_prefix("linux-image-")?;
    let m = Machine {
        kernel: dir.join(format!("boot/vmlinuz-{version}")),
        busybox: dir.join("bin/busybox"),
        tun_module: dir.join(format!("lib/modules/{version}/kernel/drivers/net/tun.ko")),
    };
    [&m.kernel, &m.busybox, &m.tun_module]
        .iter()
        .all(|p| p.is_file())
        .then_some(m)
}

/// The arm64 kernel package the metapackage depends on now, e.g.
/// `linux-image-6.1.0-57-arm64`; adds the arm64 architecture to dpkg and
/// refreshes the package lists when apt does not know it yet.
fn current_kernel_package() -> Result<String, String> {
    if let Some(p) = kernel_dependency()? {
        return Ok(p);
    }
    eprintln!("xtask: adding the arm64 architecture to dpkg for the emulated machine's packages");
    run(
        Command::new("dpkg").args(["--add-architecture", "arm64"]),
        "dpkg --add-architecture arm64",
    )?;
    run(
        Command::new("apt-get").args(["update", "-q"]),
        "apt-get update",
    )?;
    kernel_dependency()?.ok_or_else(|| {
        format!("apt knows no {KERNEL_META}; is the Debian main archive in the sources?")
    })
}

fn kernel_dependency() -> Result<Option<String>, String> {
    let out = Command::new("apt-cache")
        .args(["depends", KERNEL_META])
        .stderr(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run apt-cache: {e}"))?;
    Ok(parse_kernel_dependency(&String::from_utf8_lossy(
        &out.stdout,
    )))
}

/// The `Depends: linux-image-…` line of `apt-cache depends`.
fn parse_kernel_dependency(text: &str) -> Option<String> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("Depends: "))
        .map(|d| d.trim_end_matches(":arm64"))
        .find(|d| d.starts_with("linux-image-") && d.ends_with("-arm64"))
        .map(str::to_owned)
}

/// The initramfs: busybox, the tenders, the unikernels, `/init`.
fn initramfs(
    root: &Path,
    m: &Machine,
    tenders: &[Target],
    units: &[String],
) -> Result<Vec<u8>, String> {
    let (busybox, tun_module) = (m.busybox.as_path(), m.tun_module.as_path());
    let read = |p: &Path| {
        fs::read(p).map_err(|e| {
            format!(
                "{}: {e}; run `cargo xtask cross aarch64` first",
                p.display()
            )
        })
    };
    let mut a = Archive::default();
    for d in [
        "bin",
        "corten",
        cases::BIN.trim_start_matches('/'),
        cases::UNIKERNELS.trim_start_matches('/'),
    ] {
        a.dir(d);
    }
    a.file("bin/busybox", 0o755, &read(busybox)?);
    a.symlink("bin/sh", "busybox");
    for name in build::BINARIES {
        let p = build::bin_dir(root).join(name);
        a.file(
            &format!("{}/{name}", cases::BIN.trim_start_matches('/')),
            0o755,
            &read(&p)?,
        );
    }
    let dir = build::unikernel_dir(root);
    let mut names: Vec<_> = fs::read_dir(&dir)
        .map_err(|e| {
            format!(
                "{}: {e}; run `cargo xtask cross aarch64` first",
                dir.display()
            )
        })?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    names.sort();
    for p in names {
        if let Some(name) = p.file_name().and_then(|n| n.to_str()) {
            let to = format!("{}/{name}", cases::UNIKERNELS.trim_start_matches('/'));
            a.file(&to, 0o644, &read(&p)?);
        }
    }
    a.file(
        cases::TUN_MODULE.trim_start_matches('/'),
        0o644,
        &read(tun_module)?,
    );
    a.dir(cases::UNIT_TESTS.trim_start_matches('/'));
    for name in units {
        let p = build::unit_test_dir(root).join(name);
        let to = format!("{}/{name}", cases::UNIT_TESTS.trim_start_matches('/'));
        a.file(&to, 0o755, &read(&p)?);
    }
    a.file("init", 0o755, cases::driver(tenders, units).as_bytes());
    Ok(a.finish())
}

/// The qemu command line (see docs/cross.md for why each option).
fn qemu_command(kernel: &Path, initrd: &Path) -> Command {
    let mut c = Command::new(QEMU.command);
    c.args([
        "-machine",
        "virt,virtualization=on,gic-version=3",
        "-cpu",
        "max,pauth-impdef=on",
        "-smp",
        "2",
        "-m",
        "6144",
        "-nographic",
        "-nic",
        "none",
        "-monitor",
        "none",
        "-serial",
        "stdio",
        "-no-reboot",
        "-kernel",
    ])
    .arg(kernel)
    .arg("-initrd")
    .arg(initrd)
    .args(["-append", "console=ttyAMA0 quiet panic=-1"]);
    c
}

/// How long the machine may take.
#[derive(Clone, Copy)]
struct Limits {
    /// To reach the driver (its BEGIN line).
    boot: Duration,
    /// For the whole run.
    run: Duration,
}

impl Limits {
    const REAL: Limits = Limits {
        boot: BOOT_LIMIT,
        run: RUN_LIMIT,
    };
}

/// Runs `machine` (qemu) and collects the driver's verdicts from its
/// output, killing it at the time limits.
fn watch(mut machine: Command, limits: Limits) -> Result<Report, String> {
    let start = Instant::now();
    let mut child = machine
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot run {:?}: {e}", machine.get_program()))?;
    let stdout = child
        .stdout
        .take()
        .ok_or("qemu's standard output was not captured")?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).split(b'\n').map_while(Result::ok) {
            if tx
                .send(String::from_utf8_lossy(&line).trim_end().to_owned())
                .is_err()
            {
                break;
            }
        }
    });
    let mut report = Report::default();
    let mut began = false;
    let outcome = loop {
        let limit = if began { limits.run } else { limits.boot };
        let Some(left) = limit.checked_sub(start.elapsed()) else {
            break Err(if began {
                format!(
                    "the aarch64 run did not finish within {} s; qemu was killed",
                    limits.run.as_secs()
                )
            } else {
                format!(
                    "the arm64 kernel did not reach the test driver within {} s; qemu was killed",
                    limits.boot.as_secs()
                )
            });
        };
        match rx.recv_timeout(left) {
            Ok(line) => {
                println!("{line}");
                match parse_line(&line) {
                    Some(Line::Begin) => began = true,
                    Some(Line::Verdict(v)) => report.verdicts.push(v),
                    Some(Line::Summary(p, f)) => {
                        report.summary = Some((p, f));
                        break Ok(());
                    }
                    None => {}
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => continue,
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                break Err(if began {
                    "qemu ended before the driver's summary line".into()
                } else {
                    "qemu ended before the arm64 kernel reached the test driver".into()
                })
            }
        }
    };
    // After the summary the driver powers off; give it a moment, then
    // make sure qemu is gone either way.
    let deadline = Instant::now() + Duration::from_secs(10);
    while outcome.is_ok() && Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    if !matches!(child.try_wait(), Ok(Some(_))) {
        let _ = child.kill();
    }
    let _ = child.wait();
    report.duration = start.elapsed();
    outcome.map(|()| report)
}

#[derive(Debug, PartialEq, Eq)]
enum Line {
    Begin,
    Verdict(Verdict),
    Summary(usize, usize),
}

/// One of the driver's lines (behind [`MARK`]), else `None`.
fn parse_line(line: &str) -> Option<Line> {
    let rest = line.split_once(MARK)?.1.trim();
    let (word, rest) = rest.split_once(' ').unwrap_or((rest, ""));
    match word {
        "BEGIN" => Some(Line::Begin),
        "PASS" | "FAIL" => {
            let (name, why) = rest.split_once(' ').unwrap_or((rest, ""));
            Some(Line::Verdict(Verdict {
                name: name.to_owned(),
                passed: word == "PASS",
                why: why.trim_start_matches('(').trim_end_matches(')').to_owned(),
            }))
        }
        "SUMMARY" => {
            let mut n = rest.split_whitespace().filter_map(|kv| kv.split_once('='));
            let passed = n.next().filter(|(k, _)| *k == "passed")?.1.parse().ok()?;
            let failed = n.next().filter(|(k, _)| *k == "failed")?.1.parse().ok()?;
            Some(Line::Summary(passed, failed))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_drivers_lines() {
        assert_eq!(
            parse_line("corten-cross: BEGIN aarch64 6.1.0"),
            Some(Line::Begin)
        );
        assert_eq!(
            parse_line("\rcorten-cross: PASS spt/hello"),
            Some(Line::Verdict(Verdict {
                name: "spt/hello".into(),
                passed: true,
                why: String::new()
            }))
        );
        assert_eq!(
            parse_line("corten-cross: FAIL hvt/xnow (status 255, expected 1)"),
            Some(Line::Verdict(Verdict {
                name: "hvt/xnow".into(),
                passed: false,
                why: "status 255, expected 1".into()
            }))
        );
        assert_eq!(
            parse_line("corten-cross: SUMMARY passed=40 failed=2"),
            Some(Line::Summary(40, 2))
        );
        assert_eq!(parse_line("corten-cross: SUMMARY failed=2"), None);
        assert_eq!(parse_line("[    1.0] random kernel line"), None);
    }

    fn shell(script: &str) -> Command {
        let mut c = Command::new("sh");
        c.args(["-c", script]);
        c
    }

    const SHORT: Limits = Limits {
        boot: Duration::from_secs(1),
        run: Duration::from_secs(3),
    };

    #[test]
    fn a_machine_that_never_reaches_the_driver_is_killed() {
        let start = Instant::now();
        let err = watch(shell("echo booting; exec sleep 30"), SHORT).unwrap_err();
        assert!(
            err.contains("did not reach the test driver within 1 s"),
            "{err}"
        );
        assert!(start.elapsed() < Duration::from_secs(10), "not killed");
    }

    #[test]
    fn a_hung_run_is_killed() {
        let start = Instant::now();
        let script = format!("echo '{MARK} BEGIN x'; echo '{MARK} PASS a'; exec sleep 30");
        let err = watch(shell(&script), SHORT).unwrap_err();
        assert!(err.contains("did not finish within 3 s"), "{err}");
        assert!(start.elapsed() < Duration::from_secs(10), "not killed");
    }

    #[test]
    fn a_machine_that_ends_early_fails() {
        let err = watch(shell("echo '[ 0.1] kernel panic'"), SHORT).unwrap_err();
        assert!(err.contains("before the arm64 kernel reached"), "{err}");
        let script = format!("echo '{MARK} BEGIN x'");
        let err = watch(shell(&script), SHORT).unwrap_err();
        assert!(err.contains("before the driver's summary line"), "{err}");
    }

    #[test]
    fn collects_the_verdicts_up_to_the_summary() {
        let script = format!(
            "echo '{MARK} BEGIN x'; echo '{MARK} PASS a'; echo '{MARK} FAIL b (why)'; \
             echo '{MARK} SUMMARY passed=1 failed=1'"
        );
        let r = watch(shell(&script), SHORT).unwrap();
        assert_eq!(r.verdicts.len(), 2);
        assert!(r.verdicts[0].passed && !r.verdicts[1].passed);
        assert_eq!(r.verdicts[1].why, "why");
        assert_eq!(r.summary, Some((1, 1)));
    }

    #[test]
    fn finds_the_kernel_the_metapackage_names() {
        let text = "linux-image-arm64:arm64\n  Depends: linux-image-6.1.0-57-arm64:arm64\n";
        assert_eq!(
            parse_kernel_dependency(text).as_deref(),
            Some("linux-image-6.1.0-57-arm64")
        );
        assert_eq!(parse_kernel_dependency("nothing\n"), None);
    }
}
