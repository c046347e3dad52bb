//! Architecture-specific code. Everything that depends on the instruction
//! set lives below this module; the rest of the runtime calls the functions
//! re-exported here.

#[cfg(target_arch = "x86_64")]
mod x86_64;
#[cfg(target_arch = "x86_64")]
pub(crate) use self::x86_64::*;

#[cfg(target_arch = "aarch64")]
compile_error!(
    "corten-rt: aarch64 support is not written yet; build for x86_64 (see docs/guest-runtime.md)"
);
