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

use std::os::fd::RawFd;

use corten_sandbox::{
    bits_clear, compile_with, install, int_eq, u64_eq, Installed, OnViolation, Rules, SandboxError,
};

/// The descriptors each kind of call may use.
#[derive(Debug, Default)]
pub struct Descriptors {
    pub read: Vec<RawFd>,
    pub pread: Vec<RawFd>,
    pub write: Vec<RawFd>,
    pub truncate: Vec<RawFd>,
}

fn fds(list: &[RawFd]) -> Vec<i64> {
    let mut v: Vec<i64> = list
        .iter()
        .filter(|&&fd| fd >= 0)
        .map(|&fd| i64::from(fd))
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// The allow-list for these descriptors (a call whose descriptor list is
/// empty is not allowed at all).
pub fn rules(d: &Descriptors) -> Result<Rules, SandboxError> {
    let mut rules = Rules::new();
    let mut write = d.write.clone();
    write.extend([libc::STDOUT_FILENO, libc::STDERR_FILENO]);
    rules
        .allow_when_in(libc::SYS_read, 0, &fds(&d.read))?
        .allow_when_in(libc::SYS_pread64, 0, &fds(&d.pread))?
        .allow_when_in(libc::SYS_write, 0, &fds(&write))?
        .allow_when_in(libc::SYS_ftruncate, 0, &fds(&d.truncate))?;

    // Anonymous memory only, never executable.
    rules.allow_when(
        libc::SYS_mmap,
        vec![bits_clear(2, libc::PROT_EXEC as u32)?, int_eq(4, -1)?],
    )?;
    rules
        .allow(libc::SYS_munmap)
        .allow(libc::SYS_mremap)
        .allow(libc::SYS_brk);
    rules.allow_when(libc::SYS_sigaltstack, vec![u64_eq(1, 0)?])?;
    rules.allow(libc::SYS_exit).allow(libc::SYS_exit_group);
    Ok(rules)
}

/// Installs the allow-list. A filter installed by someone else that
/// forbids ours is accepted: it confines this process already.
pub fn enter(d: &Descriptors) -> Result<Installed, SandboxError> {
    install(&compile_with(rules(d)?, OnViolation::Kill)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_fd_lists_add_no_rule() {
        let r = rules(&Descriptors::default()).unwrap();
        assert!(!r.contains(libc::SYS_read));
        assert!(!r.contains(libc::SYS_pread64));
        assert!(!r.contains(libc::SYS_ftruncate));
        assert!(!r.contains(libc::SYS_close));
        assert!(!r.contains(libc::SYS_openat));
        assert_eq!(
            r.alternatives(libc::SYS_write),
            Some(2),
            "stdout and stderr only"
        );
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
        let names: Vec<i64> = r.calls().collect();
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
        assert_eq!(r.alternatives(libc::SYS_write), Some(3), "1, 2 and 4");
        assert!(compile_with(r, OnViolation::Kill).is_ok());
    }
}
