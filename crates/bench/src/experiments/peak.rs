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
//! The clock is /proc/cpuinfo's "cpu MHz" (on a VM, what the host
//! reports; boost clocks above it are not counted, so a measured rate can
//! exceed this "peak" slightly).

/// The peak and how it was computed.
#[derive(Debug, Clone, PartialEq)]
pub struct Peak {
    pub gflops: f64,
    pub mhz: f64,
    pub flops_per_cycle: u32,
    pub why: String,
}

/// From /proc/cpuinfo's text (first CPU), or None when the clock or the
/// flags are missing.
pub fn from_cpuinfo(text: &str) -> Option<Peak> {
    let first = text.split("\n\n").next()?;
    let value = |key: &str| {
        first.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.trim() == key).then(|| v.trim().to_owned())
        })
    };
    let mhz: f64 = value("cpu MHz")?.parse().ok()?;
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
        why: format!("{mhz:.0} MHz x {fpc} DP FLOP/cycle ({why})"),
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

    #[test]
    fn per_microarchitecture() {
        let zen5 = from_cpuinfo(&cpu("AuthenticAMD", 26, "sse2 avx avx2 fma avx512f")).unwrap();
        assert_eq!(zen5.flops_per_cycle, 32);
        assert!((zen5.gflops - 80.0).abs() < 1e-9);
        assert_eq!(
            from_cpuinfo(&cpu("AuthenticAMD", 25, "avx2 fma avx512f"))
                .unwrap()
                .flops_per_cycle,
            16
        );
        assert_eq!(
            from_cpuinfo(&cpu("GenuineIntel", 6, "avx2 fma avx512f"))
                .unwrap()
                .flops_per_cycle,
            32
        );
        assert_eq!(
            from_cpuinfo(&cpu("GenuineIntel", 6, "sse2 avx avx2 fma"))
                .unwrap()
                .flops_per_cycle,
            16
        );
        assert_eq!(
            from_cpuinfo(&cpu("GenuineIntel", 6, "sse2 avx"))
                .unwrap()
                .flops_per_cycle,
            8
        );
        assert_eq!(
            from_cpuinfo(&cpu("GenuineIntel", 6, "sse2"))
                .unwrap()
                .flops_per_cycle,
            4
        );
        assert!(from_cpuinfo(&cpu("GenuineIntel", 6, "mmx")).is_none());
        assert!(from_cpuinfo("processor : 0\n").is_none());
    }
}
