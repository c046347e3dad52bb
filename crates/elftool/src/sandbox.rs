//! elftool's seccomp allow-list, entered once every file is open.
//!
//! Allowed, and nothing else (anything else kills the process):
//!
//! | system call | arguments |
//! | --- | --- |
//! | `read` | fd is the manifest source (stdin or the file) |
//! | `pread64` | fd is the unikernel image |
//! | `write` | fd is 1, 2 or the `gen-manifest` output |
//! | `ftruncate` | fd is the `gen-manifest` output (regular file) |
//! | `mmap` | fd is -1 and `PROT_EXEC` is not requested |
//! | `munmap`, `mremap`, `brk` | any (heap growth and shrinking) |
//! | `sigaltstack` | `old_ss` is NULL (Rust's exit path disables the |
//! | | main thread's signal stack) |
//! | `exit`, `exit_group` | any |
//!
//! With `CORTEN_ELFTOOL_SELFTEST` set, `read` and `pread64` are also
//! allowed on the `/proc/thread-self/status` descriptor it opened.

use std::collections::BTreeMap;
use std::os::fd::RawFd;

use corten_sandbox::seccompiler::{SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompRule};
use corten_sandbox::{arg_in, compile, install, Installed, SandboxError};

/// The descriptors each kind of call may use.
#[derive(Debug, Default)]
pub struct Descriptors {
    pub read: Vec<RawFd>,
    pub pread: Vec<RawFd>,
    pub write: Vec<RawFd>,
    pub truncate: Vec<RawFd>,
}

fn fds(list: &[RawFd]) -> Vec<u32> {
    let mut v: Vec<u32> = list
        .iter()
        .filter_map(|&fd| u32::try_from(fd).ok())
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// Adds `nr` allowed only for `list`'s descriptors in argument 0; adds
/// nothing for an empty list (an empty rule list would allow any fd).
fn allow_fds(
    rules: &mut BTreeMap<i64, Vec<SeccompRule>>,
    nr: libc::c_long,
    list: &[RawFd],
) -> Result<(), SandboxError> {
    let fds = fds(list);
    if !fds.is_empty() {
        rules.insert(nr, arg_in(0, &fds)?);
    }
    Ok(())
}

fn condition(arg: u8, op: SeccompCmpOp, value: u64) -> Result<SeccompCondition, SandboxError> {
    Ok(SeccompCondition::new(
        arg,
        SeccompCmpArgLen::Dword,
        op,
        value,
    )?)
}

/// The allow-list for these descriptors.
pub fn rules(d: &Descriptors) -> Result<BTreeMap<i64, Vec<SeccompRule>>, SandboxError> {
    let mut rules = BTreeMap::new();
    let mut write = d.write.clone();
    write.extend([libc::STDOUT_FILENO, libc::STDERR_FILENO]);
    allow_fds(&mut rules, libc::SYS_read, &d.read)?;
    allow_fds(&mut rules, libc::SYS_pread64, &d.pread)?;
    allow_fds(&mut rules, libc::SYS_write, &write)?;
    allow_fds(&mut rules, libc::SYS_ftruncate, &d.truncate)?;

    // Anonymous memory only, never executable.
    rules.insert(
        libc::SYS_mmap,
        vec![SeccompRule::new(vec![
            condition(2, SeccompCmpOp::MaskedEq(libc::PROT_EXEC as u64), 0)?,
            condition(4, SeccompCmpOp::Eq, u64::from(u32::MAX))?,
        ])?],
    );
    for nr in [libc::SYS_munmap, libc::SYS_mremap, libc::SYS_brk] {
        rules.insert(nr, vec![]);
    }
    rules.insert(
        libc::SYS_sigaltstack,
        vec![SeccompRule::new(vec![SeccompCondition::new(
            1,
            SeccompCmpArgLen::Qword,
            SeccompCmpOp::Eq,
            0,
        )?])?],
    );
    for nr in [libc::SYS_exit, libc::SYS_exit_group] {
        rules.insert(nr, vec![]);
    }
    Ok(rules)
}

/// Installs the allow-list. A filter installed by someone else that
/// forbids ours is accepted: it confines this process already.
pub fn enter(d: &Descriptors) -> Result<Installed, SandboxError> {
    install(&compile(rules(d)?)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_fd_lists_add_no_rule() {
        let r = rules(&Descriptors::default()).unwrap();
        assert!(!r.contains_key(&libc::SYS_read));
        assert!(!r.contains_key(&libc::SYS_pread64));
        assert!(!r.contains_key(&libc::SYS_ftruncate));
        assert!(!r.contains_key(&libc::SYS_close));
        assert!(!r.contains_key(&libc::SYS_openat));
        assert_eq!(r[&libc::SYS_write].len(), 2, "stdout and stderr only");
    }

    #[test]
    fn exact_allow_list() {
        let d = Descriptors {
            read: vec![0],
            pread: vec![3],
            write: vec![1, 4],
            truncate: vec![4],
        };
        let r = rules(&d).unwrap();
        let mut names: Vec<i64> = r.keys().copied().collect();
        names.sort_unstable();
        let mut expected = vec![
            libc::SYS_read,
            libc::SYS_pread64,
            libc::SYS_write,
            libc::SYS_ftruncate,
            libc::SYS_mmap,
            libc::SYS_munmap,
            libc::SYS_mremap,
            libc::SYS_brk,
            libc::SYS_sigaltstack,
            libc::SYS_exit,
            libc::SYS_exit_group,
        ];
        expected.sort_unstable();
        assert_eq!(names, expected);
        assert_eq!(r[&libc::SYS_write].len(), 3, "1, 2 and 4");
        assert!(compile(r).is_ok());
    }
}
