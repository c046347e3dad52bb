//! What the numbers were measured on: CPU, cores, memory, kernel, KVM
//! backend, load and date. Read from /proc and /sys; anything unreadable
//! is reported as unknown, never guessed.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// The machine of one benchmark run.
#[derive(Clone, Debug, PartialEq)]
pub struct Machine {
    pub cpu_model: String,
    /// Family/model/stepping and clock, as /proc/cpuinfo gives them.
    pub cpu_detail: String,
    pub logical_cpus: usize,
    pub memory_mib: Option<u64>,
    pub kernel: String,
    pub os: String,
    /// The CPU flags say this host is itself a virtual machine.
    pub virtualised: bool,
    /// Loaded KVM modules (kvm_intel, kvm_amd, kvm_pvm, ...).
    pub kvm_modules: Vec<String>,
    /// 1-, 5- and 15-minute load averages when the run started.
    pub load_at_start: Option<[f64; 3]>,
    /// UTC date and time when the run started.
    pub date: String,
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

impl Machine {
    /// Describes the machine this process runs on.
    pub fn probe() -> Machine {
        let cpuinfo = read("/proc/cpuinfo");
        let cpu = parse_cpuinfo(&cpuinfo);
        Machine {
            cpu_model: cpu.model,
            cpu_detail: cpu.detail,
            logical_cpus: cpu.logical,
            virtualised: cpu.virtualised,
            memory_mib: parse_meminfo(&read("/proc/meminfo")),
            kernel: read("/proc/sys/kernel/osrelease").trim().to_owned(),
            os: parse_os_release(&read("/etc/os-release")),
            kvm_modules: kvm_modules(Path::new("/sys/module")),
            load_at_start: load_average(),
            date: utc_date(SystemTime::now()),
        }
    }

    /// The KVM backend in a few words ("kvm_pvm", "kvm_amd", or "none").
    pub fn kvm_backend(&self) -> String {
        let vendor: Vec<&str> = self
            .kvm_modules
            .iter()
            .map(String::as_str)
            .filter(|m| *m != "kvm")
            .collect();
        if vendor.is_empty() {
            if self.kvm_modules.is_empty() {
                "none (no kvm module loaded)".to_owned()
            } else {
                "kvm (no vendor module found)".to_owned()
            }
        } else {
            vendor.join(", ")
        }
    }
}

/// What /proc/cpuinfo says about the CPU.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CpuInfo {
    pub model: String,
    /// e.g. "family 25, model 17, stepping 1, 2596 MHz"
    pub detail: String,
    pub logical: usize,
    /// The `hypervisor` flag: this host is itself a virtual machine.
    pub virtualised: bool,
}

/// Reads the first CPU's description and counts the logical CPUs.
pub fn parse_cpuinfo(text: &str) -> CpuInfo {
    let mut model = None;
    let mut fields: Vec<String> = Vec::new();
    let mut logical = 0;
    let mut virtualised = false;
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match key.trim() {
            "processor" => logical += 1,
            // x86 says "model name"; arm64 has no model name, only parts.
            "model name" | "Model" if model.is_none() => model = Some(value.to_owned()),
            k @ ("cpu family" | "model" | "stepping" | "CPU implementer" | "CPU part")
                if logical == 1 =>
            {
                fields.push(format!("{} {value}", k.trim_start_matches("cpu ")));
            }
            "cpu MHz" if logical == 1 => {
                let mhz = value
                    .parse::<f64>()
                    .map_or(value.to_owned(), |v| format!("{v:.0}"));
                fields.push(format!("{mhz} MHz"));
            }
            "flags" | "Features" => {
                virtualised |= value.split_whitespace().any(|f| f == "hypervisor");
            }
            _ => {}
        }
    }
    CpuInfo {
        model: model.unwrap_or_else(|| "unknown CPU".to_owned()),
        detail: fields.join(", "),
        logical,
        virtualised,
    }
}

/// MemTotal in MiB.
pub fn parse_meminfo(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}

fn parse_os_release(text: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim_matches('"').to_owned())
        .unwrap_or_else(|| "unknown".to_owned())
}

fn kvm_modules(sys_module: &Path) -> Vec<String> {
    let mut found: Vec<String> = ["kvm", "kvm_intel", "kvm_amd", "kvm_pvm", "kvm_arm"]
        .iter()
        .filter(|m| sys_module.join(m).exists())
        .map(|m| (*m).to_owned())
        .collect();
    found.sort();
    found
}

/// The load averages now.
pub fn load_average() -> Option<[f64; 3]> {
    let text = read("/proc/loadavg");
    let mut it = text.split_whitespace().map(|w| w.parse::<f64>().ok());
    Some([it.next()??, it.next()??, it.next()??])
}

/// `YYYY-MM-DD HH:MM UTC` for `t`.
pub fn utc_date(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3600,
        (rem % 3600) / 60
    )
}

/// Proleptic Gregorian date of day `z` since 1970-01-01 (H. Hinnant's
/// algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn cpuinfo_x86() {
        let text = "processor\t: 0\ncpu family\t: 25\nmodel\t\t: 17\nmodel name\t: AMD EPYC\n\
                    stepping\t: 1\ncpu MHz\t\t: 2596.134\nflags\t\t: fpu sse hypervisor avx\n\n\
                    processor\t: 1\ncpu family\t: 25\nmodel\t\t: 17\nmodel name\t: AMD EPYC\n\
                    flags\t\t: fpu sse hypervisor avx\n";
        let c = parse_cpuinfo(text);
        assert_eq!(c.model, "AMD EPYC");
        assert_eq!(c.detail, "family 25, model 17, stepping 1, 2596 MHz");
        assert_eq!(c.logical, 2);
        assert!(c.virtualised);
        let bare = parse_cpuinfo("processor : 0\nflags : fpu\n");
        assert_eq!(bare.model, "unknown CPU");
        assert_eq!((bare.logical, bare.virtualised), (1, false));
    }

    #[test]
    fn meminfo_and_os() {
        assert_eq!(
            parse_meminfo("MemTotal:       24684032 kB\nMemFree: 1 kB\n"),
            Some(24105)
        );
        assert_eq!(parse_meminfo("nothing"), None);
        assert_eq!(
            parse_os_release("NAME=x\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"),
            "Debian GNU/Linux 12 (bookworm)"
        );
    }

    #[test]
    fn dates() {
        assert_eq!(utc_date(UNIX_EPOCH), "1970-01-01 00:00 UTC");
        // 2024-02-29 12:34:56 UTC = 1709210096
        let t = UNIX_EPOCH + Duration::from_secs(1_709_210_096);
        assert_eq!(utc_date(t), "2024-02-29 12:34 UTC");
        let t = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(utc_date(t), "2000-02-29 00:00 UTC");
    }

    #[test]
    fn backend_names_the_vendor_module() {
        let mut m = Machine::probe();
        m.kvm_modules = vec!["kvm".into(), "kvm_pvm".into()];
        assert_eq!(m.kvm_backend(), "kvm_pvm");
        m.kvm_modules = vec![];
        assert!(m.kvm_backend().starts_with("none"));
    }
}
