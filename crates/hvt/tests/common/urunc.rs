//! Launching the tender the way urunc launches solo5-hvt
//! (pkg/unikontainers/hypervisors/hvt.go): the launcher installs a seccomp
//! filter whose default action is SECCOMP_RET_TRAP (SIGSYS) and which
//! allows exactly the system calls below (no `seccomp`, no `prctl`, no
//! `memfd_create`, no `statx`, no `poll`, no `clone`), with NO_NEW_PRIVS
//! and TSYNC, then execve()s the monitor. urunc does this after a
//! pivot_root into the container's root file system, which has no /proc or
//! /sys; [`Jail`] reproduces that in a private mount namespace. (x86_64
//! system call names; urunc's list is the same on arm64 minus the legacy
//! calls that architecture lacks.)

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use corten_sandbox::seccompiler::BpfProgram;
use corten_sandbox::{apply, compile_with, OnViolation, Rules, Threads};

/// urunc's allow-list for hvt, by name, in urunc's order.
pub const URUNC_HVT_SYSCALLS: &[&str] = &[
    "rt_sigaction",
    "ioctl",
    "pread64",
    "mmap",
    "recvmsg",
    "openat",
    "sendto",
    "mprotect",
    "write",
    "epoll_ctl",
    "epoll_create1",
    "read",
    "open",
    "close",
    "fstat",
    "stat",
    "munmap",
    "brk",
    "access",
    "execve",
    "timerfd_create",
    "arch_prctl",
    "lseek",
    "personality",
    "socket",
    "bind",
    "getsockname",
    "exit",
    "exit_group",
    "getpid",
    "tgkill",
    "nanosleep",
    "futex",
    "epoll_pwait",
    "rt_sigreturn",
    "timerfd_settime",
    "pwrite64",
    "newfstatat",
    "set_tid_address",
    "set_robust_list",
    "rseq",
    "prlimit64",
    "getrandom",
];

fn number(name: &str) -> i64 {
    match name {
        "rt_sigaction" => libc::SYS_rt_sigaction,
        "ioctl" => libc::SYS_ioctl,
        "pread64" => libc::SYS_pread64,
        "mmap" => libc::SYS_mmap,
        "recvmsg" => libc::SYS_recvmsg,
        "openat" => libc::SYS_openat,
        "sendto" => libc::SYS_sendto,
        "mprotect" => libc::SYS_mprotect,
        "write" => libc::SYS_write,
        "epoll_ctl" => libc::SYS_epoll_ctl,
        "epoll_create1" => libc::SYS_epoll_create1,
        "read" => libc::SYS_read,
        "open" => libc::SYS_open,
        "close" => libc::SYS_close,
        "fstat" => libc::SYS_fstat,
        "stat" => libc::SYS_stat,
        "munmap" => libc::SYS_munmap,
        "brk" => libc::SYS_brk,
        "access" => libc::SYS_access,
        "execve" => libc::SYS_execve,
        "timerfd_create" => libc::SYS_timerfd_create,
        "arch_prctl" => libc::SYS_arch_prctl,
        "lseek" => libc::SYS_lseek,
        "personality" => libc::SYS_personality,
        "socket" => libc::SYS_socket,
        "bind" => libc::SYS_bind,
        "getsockname" => libc::SYS_getsockname,
        "exit" => libc::SYS_exit,
        "exit_group" => libc::SYS_exit_group,
        "getpid" => libc::SYS_getpid,
        "tgkill" => libc::SYS_tgkill,
        "nanosleep" => libc::SYS_nanosleep,
        "futex" => libc::SYS_futex,
        "epoll_pwait" => libc::SYS_epoll_pwait,
        "rt_sigreturn" => libc::SYS_rt_sigreturn,
        "timerfd_settime" => libc::SYS_timerfd_settime,
        "pwrite64" => libc::SYS_pwrite64,
        "newfstatat" => libc::SYS_newfstatat,
        "set_tid_address" => libc::SYS_set_tid_address,
        "set_robust_list" => libc::SYS_set_robust_list,
        "rseq" => libc::SYS_rseq,
        "prlimit64" => libc::SYS_prlimit64,
        "getrandom" => libc::SYS_getrandom,
        other => panic!("no syscall number for {other}"),
    }
}

/// urunc's filter: the allow-list, everything else SIGSYS.
pub fn urunc_filter() -> BpfProgram {
    let mut rules = Rules::new();
    for n in URUNC_HVT_SYSCALLS {
        rules.allow(number(n));
    }
    compile_with(rules, OnViolation::Trap).expect("compile")
}

/// Installs `prog` on every thread (in a child before exec).
fn apply_all(prog: &BpfProgram) -> std::io::Result<()> {
    apply(prog, Threads::All).map_err(|e| std::io::Error::other(e.to_string()))
}

/// Makes `cmd` install urunc's filter in the child right before execve.
pub fn confine(cmd: &mut Command) {
    let prog = urunc_filter();
    // SAFETY: the closure runs in the forked child before exec and only
    // makes the prctl and seccomp system calls (no allocation).
    unsafe {
        cmd.pre_exec(move || apply_all(&prog));
    }
}

/// A root file system for the pivot_root variant: `/usr` (read-only bind),
/// `/lib` and `/lib64` symlinks into it, `/dev` (bind), the tender as
/// `/corten-hvt` and the unikernel as `/unikernel.hvt` (bind mounts), and
/// nothing else: no /proc, no /sys.
pub struct Jail {
    pub root: super::TempDir,
}

impl Jail {
    pub fn new() -> Jail {
        let root = super::TempDir::new("jail");
        for d in ["usr", "dev", "oldroot"] {
            std::fs::create_dir(root.path().join(d)).expect("mkdir");
        }
        std::os::unix::fs::symlink("usr/lib", root.path().join("lib")).expect("symlink");
        std::os::unix::fs::symlink("usr/lib64", root.path().join("lib64")).expect("symlink");
        std::fs::write(root.path().join("corten-hvt"), b"").expect("placeholder");
        std::fs::write(root.path().join("unikernel.hvt"), b"").expect("placeholder");
        Jail { root }
    }

    /// `cmd` (whose program must be "/corten-hvt") enters a new mount
    /// namespace, pivots into the jail with `tender` and `kernel` bound in,
    /// then gets urunc's filter, all in the child before execve.
    pub fn confine(&self, cmd: &mut Command, tender: &Path, kernel: &Path) {
        let c = |p: &Path| CString::new(p.as_os_str().as_bytes()).expect("path");
        let root = c(self.root.path());
        let binds: Vec<(CString, CString, libc::c_ulong)> = vec![
            (
                c(Path::new("/usr")),
                c(&self.root.path().join("usr")),
                libc::MS_RDONLY,
            ),
            (c(Path::new("/dev")), c(&self.root.path().join("dev")), 0),
            (
                c(tender),
                c(&self.root.path().join("corten-hvt")),
                libc::MS_RDONLY,
            ),
            (
                c(kernel),
                c(&self.root.path().join("unikernel.hvt")),
                libc::MS_RDONLY,
            ),
        ];
        let prog = urunc_filter();
        // SAFETY: the closure runs in the forked child before exec and only
        // makes system calls on data prepared before the fork.
        unsafe {
            cmd.pre_exec(move || {
                let check = |rc: libc::c_int, what: &str| {
                    if rc == 0 {
                        Ok(())
                    } else {
                        let e = std::io::Error::last_os_error();
                        Err(std::io::Error::new(e.kind(), format!("{what}: {e}")))
                    }
                };
                check(libc::unshare(libc::CLONE_NEWNS), "unshare")?;
                check(
                    libc::mount(
                        std::ptr::null(),
                        c"/".as_ptr(),
                        std::ptr::null(),
                        libc::MS_REC | libc::MS_PRIVATE,
                        std::ptr::null(),
                    ),
                    "make / private",
                )?;
                check(
                    libc::mount(
                        root.as_ptr(),
                        root.as_ptr(),
                        std::ptr::null(),
                        libc::MS_BIND,
                        std::ptr::null(),
                    ),
                    "bind jail",
                )?;
                for (src, dst, flags) in &binds {
                    check(
                        libc::mount(
                            src.as_ptr(),
                            dst.as_ptr(),
                            std::ptr::null(),
                            libc::MS_BIND | libc::MS_REC,
                            std::ptr::null(),
                        ),
                        "bind",
                    )?;
                    if *flags & libc::MS_RDONLY != 0 {
                        check(
                            libc::mount(
                                std::ptr::null(),
                                dst.as_ptr(),
                                std::ptr::null(),
                                libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY,
                                std::ptr::null(),
                            ),
                            "remount read-only",
                        )?;
                    }
                }
                check(libc::chdir(root.as_ptr()), "chdir")?;
                check(
                    libc::syscall(libc::SYS_pivot_root, c".".as_ptr(), c"oldroot".as_ptr())
                        as libc::c_int,
                    "pivot_root",
                )?;
                check(
                    libc::umount2(c"/oldroot".as_ptr(), libc::MNT_DETACH),
                    "umount old root",
                )?;
                check(libc::chdir(c"/".as_ptr()), "chdir /")?;
                apply_all(&prog)
            });
        }
    }

    pub fn tender_path() -> PathBuf {
        PathBuf::from("/corten-hvt")
    }
}
