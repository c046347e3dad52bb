//! Allow-lists: which system calls, with which arguments.
//!
//! seccompiler reads an *empty* rule list as "any arguments", so adding a
//! rule to a call that was allowed outright would silently restrict it,
//! and forgetting the rules of a call pinned to descriptors would silently
//! allow it everywhere. [`Rules`] keeps the two apart: [`Rules::allow`]
//! allows any arguments for good, [`Rules::allow_when`] adds one more
//! alternative set of conditions.

use std::collections::BTreeMap;

use seccompiler::{SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompRule};

use crate::SandboxError;

/// What one system call may do.
#[derive(Debug, Clone)]
enum Allowed {
    /// Any arguments.
    Always,
    /// Only when one of these rules (all conditions of one) holds.
    When(Vec<SeccompRule>),
}

/// An allow-list under construction (system call number → what is
/// allowed).
#[derive(Debug, Clone, Default)]
pub struct Rules {
    calls: BTreeMap<i64, Allowed>,
}

/// What a sanitizer's runtime calls after a program has confined itself
/// (its allocator's mappings, its thread bookkeeping at exit, writing and
/// symbolising a report): allowed outright, and only in the instrumented
/// builds of `cargo xtask build --sanitize` (`--cfg corten_sanitize`).
/// Never in a shipped binary.
#[cfg(corten_sanitize)]
const SANITIZER_RUNTIME: [i64; 20] = [
    libc::SYS_mmap,
    libc::SYS_munmap,
    libc::SYS_mprotect,
    libc::SYS_madvise,
    libc::SYS_sigaltstack,
    libc::SYS_gettid,
    libc::SYS_getpid,
    libc::SYS_sched_yield,
    libc::SYS_rt_sigprocmask,
    libc::SYS_rt_sigaction,
    libc::SYS_futex,
    libc::SYS_write,
    libc::SYS_openat,
    libc::SYS_read,
    libc::SYS_close,
    libc::SYS_fstat,
    libc::SYS_lseek,
    libc::SYS_readlinkat,
    libc::SYS_exit,
    libc::SYS_exit_group,
];

impl Rules {
    pub fn new() -> Rules {
        #[allow(unused_mut)] // mutated only in instrumented builds
        let mut r = Rules::default();
        #[cfg(corten_sanitize)]
        for nr in SANITIZER_RUNTIME {
            r.allow(nr);
        }
        r
    }

    /// Allows `nr` with any arguments (whatever else was added for it).
    pub fn allow(&mut self, nr: i64) -> &mut Rules {
        self.calls.insert(nr, Allowed::Always);
        self
    }

    /// Allows `nr` when all of `conditions` hold (in addition to what is
    /// already allowed for it). An empty list is refused: it would mean
    /// "any arguments"; say that with [`allow`](Self::allow).
    pub fn allow_when(
        &mut self,
        nr: i64,
        conditions: Vec<SeccompCondition>,
    ) -> Result<&mut Rules, SandboxError> {
        if conditions.is_empty() {
            return Err(SandboxError::NoConditions(nr));
        }
        let rule = SeccompRule::new(conditions)?;
        match self.calls.entry(nr).or_insert(Allowed::When(Vec::new())) {
            Allowed::Always => {}
            Allowed::When(rules) => rules.push(rule),
        }
        Ok(self)
    }

    /// Allows `nr` when 32-bit argument `arg` (a descriptor, say) is one of
    /// `values`; adds nothing for an empty list.
    pub fn allow_when_in(
        &mut self,
        nr: i64,
        arg: u8,
        values: &[i64],
    ) -> Result<&mut Rules, SandboxError> {
        for &v in values {
            self.allow_when(nr, vec![int_eq(arg, v)?])?;
        }
        Ok(self)
    }

    /// Whether `nr` is allowed in any way.
    pub fn contains(&self, nr: i64) -> bool {
        self.calls.contains_key(&nr)
    }

    /// How many alternatives `nr` has: `None` if not allowed, `Some(0)`
    /// for any arguments.
    pub fn alternatives(&self, nr: i64) -> Option<usize> {
        self.calls.get(&nr).map(|a| match a {
            Allowed::Always => 0,
            Allowed::When(rules) => rules.len(),
        })
    }

    /// The allowed system call numbers, ascending.
    pub fn calls(&self) -> impl Iterator<Item = i64> + '_ {
        self.calls.keys().copied()
    }

    /// The map seccompiler compiles.
    pub fn into_map(self) -> BTreeMap<i64, Vec<SeccompRule>> {
        self.calls
            .into_iter()
            .map(|(nr, a)| match a {
                Allowed::Always => (nr, Vec::new()),
                Allowed::When(rules) => (nr, rules),
            })
            .collect()
    }
}

/// C `int` argument `arg` (descriptor, clock id, ioctl request, …) equals
/// `value`. Only the low 32 bits are compared: the kernel truncates such
/// arguments, and C libraries whose prototype takes an `int` (musl's
/// `ioctl`) sign-extend them.
pub fn int_eq(arg: u8, value: i64) -> Result<SeccompCondition, SandboxError> {
    Ok(SeccompCondition::new(
        arg,
        SeccompCmpArgLen::Dword,
        SeccompCmpOp::Eq,
        u64::from(value as u32),
    )?)
}

/// 64-bit argument `arg` (length, offset, pointer) equals `value`.
pub fn u64_eq(arg: u8, value: u64) -> Result<SeccompCondition, SandboxError> {
    Ok(SeccompCondition::new(
        arg,
        SeccompCmpArgLen::Qword,
        SeccompCmpOp::Eq,
        value,
    )?)
}

/// 64-bit argument `arg` is at most `value` (unsigned).
pub fn u64_le(arg: u8, value: u64) -> Result<SeccompCondition, SandboxError> {
    Ok(SeccompCondition::new(
        arg,
        SeccompCmpArgLen::Qword,
        SeccompCmpOp::Le,
        value,
    )?)
}

/// None of the bits of `mask` are set in 32-bit argument `arg` (e.g. no
/// `PROT_EXEC` in `mmap`'s protection).
pub fn bits_clear(arg: u8, mask: u32) -> Result<SeccompCondition, SandboxError> {
    Ok(SeccompCondition::new(
        arg,
        SeccompCmpArgLen::Dword,
        SeccompCmpOp::MaskedEq(u64::from(mask)),
        0,
    )?)
}

/// One rule per value: 32-bit argument `arg` equals one of `values`. Empty
/// `values` gives no rule, which an allow-list map reads as "any
/// argument": leave the call out instead (or use [`Rules`]).
pub fn arg_in(arg: u8, values: &[u32]) -> Result<Vec<SeccompRule>, SandboxError> {
    values
        .iter()
        .map(|&v| Ok(SeccompRule::new(vec![int_eq(arg, i64::from(v))?])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_always_wins_over_conditions() {
        let mut r = Rules::new();
        r.allow_when(1, vec![int_eq(0, 3).unwrap()]).unwrap();
        assert_eq!(r.alternatives(1), Some(1));
        r.allow(1);
        r.allow_when(1, vec![int_eq(0, 4).unwrap()]).unwrap();
        assert_eq!(r.alternatives(1), Some(0));
        assert!(r.into_map()[&1].is_empty());
    }

    #[test]
    fn empty_conditions_and_value_lists() {
        let mut r = Rules::new();
        assert!(matches!(
            r.allow_when(5, vec![]),
            Err(SandboxError::NoConditions(5))
        ));
        r.allow_when_in(6, 0, &[]).unwrap();
        assert!(!r.contains(6), "no values: not allowed at all");
        r.allow_when_in(6, 0, &[1, 2, -1]).unwrap();
        assert_eq!(r.alternatives(6), Some(3));
        assert_eq!(r.calls().collect::<Vec<_>>(), vec![6]);
    }

    #[test]
    fn arguments_are_checked() {
        assert!(int_eq(6, 1).is_err(), "system calls have arguments 0..=5");
        assert!(u64_le(2, u64::MAX).is_ok());
        assert_eq!(arg_in(0, &[3, 4, 5]).unwrap().len(), 3);
        assert!(arg_in(0, &[]).unwrap().is_empty());
    }
}
