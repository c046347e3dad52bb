//! Architecture-specific code. Everything that depends on the instruction
//! set lives below this module; the rest of the runtime calls the functions
//! re-exported here: `cycles`, the TLS layout constants, `mem` (x86_64),
//! `syscall` (spt) and `hvt` (hvt).

#[cfg(target_arch = "x86_64")]
mod x86_64;
#[cfg(target_arch = "x86_64")]
pub(crate) use self::x86_64::*;

#[cfg(target_arch = "aarch64")]
mod aarch64;
#[cfg(target_arch = "aarch64")]
pub(crate) use self::aarch64::*;
