//! The machine's theoretical double-precision peak per core: clock ×
//! floating-point operations per cycle, the latter from the widest vector
//! unit the CPU flags announce and how many of them a core has.
//!
//! FLOP/cycle = FMA pipes × doubles per vector × 2 (an FMA is two
//! operations). The table is the vendors' documented core designs:
//!
//! | CPU | pipes × width | DP FLOP/cycle |
//! | --- | --- | --- |
//! | AMD Zen 5 (family 0x1a) with AVX-512 | 2 × 512 bit | 32 |
//! | AMD Zen 4 (family 0x19) with AVX-512 (256-bit datapath) | 2 × 256 bit | 16 |
//! | other x86 with AVX-512F (Intel server cores) | 2 × 512 bit | 32 |
//! | AVX2 + FMA (Haswell and later, Zen 1-3) | 2 × 256 bit | 16 |
//! | AVX without FMA | add + mul, 256 bit | 8 |
//! | SSE2 | add + mul, 128 bit | 4 |
//!
//! The clock: /proc/cpuinfo's "cpu MHz" is the nominal clock (on a VM,
//! what the host reports), which boost clocks exceed. So the clock is also
//! measured ([`measured_mhz`]): a chain of dependent integer additions
//! retires one per cycle on every x86 core, so their count over the wall
//! time is the clock the core really ran at. The peak uses the measured
//! clock when there is one, else the nominal.

/// The peak and how it was computed.
#[derive(Debug, Clone, PartialEq)]
pub struct Peak {
    pub gflops: f64,
    pub mhz: f64,
    pub flops_per_cycle: u32,
    pub why: String,
}

/// The core clock in MHz, measured with dependent additions (best of
/// five runs of 2^28 additions, about 0.1 s each). None off x86_64.
pub fn measured_mhz() -> Option<f64> {
    #[cfg(target_arch = "x86_64")]
    {
        let iterations: u64 = 1 << 25; // × 8 additions
        let mut best = f64::INFINITY;
        for _ in 0..5 {
            let t0 = std::time::Instant::now();
            // SAFETY: register-only arithmetic on two scratch registers.
            unsafe {
                core::arch::asm!(
                    "2:",
                    "add {x}, 1", "add {x}, 1", "add {x}, 1", "add {x}, 1",
                    "add {x}, 1", "add {x}, 1", "add {x}, 1", "add {x}, 1",
                    "dec {n}",
                    "jnz 2b",
                    x = inout(reg) 0u64 => _,
                    n = inout(reg) iterations => _,
                    options(nomem, nostack),
                );
            }
            best = best.min(t0.elapsed().as_secs_f64());
        }
        Some((iterations * 8) as f64 / best / 1e6)
    }
    #[cfg(not(target_arch = "x86_64"))]
    None
}

/// From /proc/cpuinfo's text (first CPU) and, when given, the measured
/// clock; None when the flags (or any clock) are missing.
pub fn from_cpuinfo(text: &str, measured: Option<f64>) -> Option<Peak> {
    let first = text.split("\n\n").next()?;
    let value = |key: &str| {
        first.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.trim() == key).then(|| v.trim().to_owned())
        })
    };
    let nominal: Option<f64> = value("cpu MHz").and_then(|v| v.parse().ok());
    let mhz = measured.or(nominal)?;
    let flags = value("flags")?;
    let has = |f: &str| flags.split_whitespace().any(|x| x == f);
    let vendor = value("vendor_id").unwrap_or_default();
    let family: u32 = value("cpu family")
        .and_then(|f| f.parse().ok())
        .unwrap_or(0);
    let amd = vendor == "AuthenticAMD";
    let (fpc, why) = if has("avx512f") && amd && family >= 0x1a {
        (32, "AMD Zen 5: 2 FMA pipes x 512-bit (8 doubles) x 2")
    } else if has("avx512f") && amd {
        (
            16,
            "AMD Zen 4: AVX-512 on 2 x 256-bit FMA pipes (4 doubles) x 2",
        )
    } else if has("avx512f") {
        (32, "AVX-512F: 2 FMA units x 512-bit (8 doubles) x 2")
    } else if has("avx2") && has("fma") {
        (16, "AVX2+FMA: 2 FMA units x 256-bit (4 doubles) x 2")
    } else if has("avx") {
        (
            8,
            "AVX: one add + one multiply per cycle x 256-bit (4 doubles)",
        )
    } else if has("sse2") {
        (
            4,
            "SSE2: one add + one multiply per cycle x 128-bit (2 doubles)",
        )
    } else {
        return None;
    };
    Some(Peak {
        gflops: mhz * f64::from(fpc) / 1000.0,
        mhz,
        flops_per_cycle: fpc,
        why: format!(
            "{mhz:.0} MHz ({}) x {fpc} DP FLOP/cycle ({why})",
            match (measured, nominal) {
                (Some(_), Some(n)) =>
                    format!("measured with dependent additions; nominal {n:.0} MHz"),
                (Some(_), None) => "measured with dependent additions".to_owned(),
                _ => "nominal, from /proc/cpuinfo".to_owned(),
            }
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cpu(vendor: &str, family: u32, flags: &str) -> String {
        format!(
            "processor\t: 0\nvendor_id\t: {vendor}\ncpu family\t: {family}\ncpu MHz\t\t: 2500.000\nflags\t\t: {flags}\n\nprocessor\t: 1\n"
        )
    }

    fn from_cpuinfo_n(t: &str) -> Option<Peak> {
        from_cpuinfo(t, None)
    }

    #[test]
    fn measured_clock_wins() {
        let p = from_cpuinfo(&cpu("AuthenticAMD", 26, "avx2 fma avx512f"), Some(3500.0)).unwrap();
        assert!((p.gflops - 112.0).abs() < 1e-9);
        assert!(p.why.contains("nominal 2500 MHz"), "{}", p.why);
        if let Some(m) = measured_mhz() {
            assert!((100.0..10_000.0).contains(&m), "{m} MHz");
        }
    }

    #[test]
    fn per_microarchitecture() {
        let zen5 = from_cpuinfo_n(&cpu("AuthenticAMD", 26, "sse2 avx avx2 fma avx512f")).unwrap();
        assert_eq!(zen5.flops_per_cycle, 32);
        assert!((zen5.gflops - 80.0).abs() < 1e-9);
        assert_eq!(
            from_cpuinfo_n(&cpu("AuthenticAMD", 25, "avx2 fma avx512f"))
                .unwrap()
                .flops_per_cycle,
            16
        );
        assert_eq!(
            from_cpuinfo_n(&cpu("GenuineIntel", 6, "avx2 fma avx512f"))
                .unwrap()
                .flops_per_cycle,
            32
        );
        assert_eq!(
            from_cpuinfo_n(&cpu("GenuineIntel", 6, "sse2 avx avx2 fma"))
                .unwrap()
                .flops_per_cycle,
            16
        );
        assert_eq!(
            from_cpuinfo_n(&cpu("GenuineIntel", 6, "sse2 avx"))
                .unwrap()
                .flops_per_cycle,
            8
        );
        assert_eq!(
            from_cpuinfo_n(&cpu("GenuineIntel", 6, "sse2"))
                .unwrap()
                .flops_per_cycle,
            4
        );
        assert!(from_cpuinfo_n(&cpu("GenuineIntel", 6, "mmx")).is_none());
        assert!(from_cpuinfo_n("processor : 0\n").is_none());
    }
}
