//! The two machine architectures Solo5 unikernels are built for.

use crate::raw::{EM_AARCH64, EM_X86_64};
use std::fmt;

/// The architecture a unikernel must be built for (its `e_machine`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Arch {
    X86_64,
    Aarch64,
}

impl Arch {
    /// The architecture this program was compiled for: a tender runs
    /// unikernels of its own architecture only.
    #[cfg(target_arch = "x86_64")]
    pub const fn host() -> Arch {
        Arch::X86_64
    }

    /// The architecture this program was compiled for: a tender runs
    /// unikernels of its own architecture only.
    #[cfg(target_arch = "aarch64")]
    pub const fn host() -> Arch {
        Arch::Aarch64
    }

    /// The `e_machine` value of this architecture.
    pub const fn machine(self) -> u16 {
        match self {
            Arch::X86_64 => EM_X86_64,
            Arch::Aarch64 => EM_AARCH64,
        }
    }

    /// The architecture an `e_machine` value names, if Solo5 supports it.
    pub const fn from_machine(e_machine: u16) -> Option<Arch> {
        match e_machine {
            EM_X86_64 => Some(Arch::X86_64),
            EM_AARCH64 => Some(Arch::Aarch64),
            _ => None,
        }
    }

    /// The usual lower-case name ("x86_64", "aarch64").
    pub const fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
        }
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap
mod tests {
    use super::*;

    #[test]
    fn machines_round_trip() {
        for arch in [Arch::X86_64, Arch::Aarch64] {
            assert_eq!(Arch::from_machine(arch.machine()), Some(arch));
        }
        assert_eq!(Arch::X86_64.machine(), 62);
        assert_eq!(Arch::Aarch64.machine(), 183);
        assert_eq!(Arch::from_machine(3), None);
        assert_eq!(Arch::Aarch64.to_string(), "aarch64");
    }

    #[test]
    fn host_matches_build_target() {
        assert_eq!(Arch::host().name(), std::env::consts::ARCH);
    }
}
