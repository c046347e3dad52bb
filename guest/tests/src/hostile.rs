//! Hostile guest behaviour, one case per command-line argument, shared by
//! the `hostile` (no devices) and `hostile_blk` (block device "storage")
//! unikernels. Each case does one thing a correct tender must refuse:
//!
//! - spt: a system call outside the seccomp policy, or an allowed call with
//!   arguments outside it. A correct tender kills the unikernel with SIGSYS
//!   (shell status 159). Reaching the next line prints FAILURE.
//! - hvt: a hypercall with a wild pointer, a length past guest memory, a
//!   bad handle, a bad halt cookie, or an invalid port access. A correct
//!   tender either returns an error (the unikernel then prints `refused`
//!   and SUCCESS, exit 0) or stops the unikernel with an error message and
//!   exit status 1. It must never crash, hang, or act on memory outside the
//!   guest.
//!
//! `list` prints the cases with the outcome a correct tender produces.

use corten_rt::println;

/// Expected outcome of a case under a correct tender.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// Killed by SIGSYS (shell status 159).
    Sigsys,
    /// The tender stops the unikernel with exit status 1 and a message.
    TenderError,
    /// The tender returns an error code and the unikernel prints SUCCESS;
    /// or the tender stops it with exit status 1 and a message (upstream
    /// does for a device kind the unikernel has none of, and when its own
    /// access to guest memory fails).
    Refused,
    /// A control case that must work; the unikernel prints SUCCESS.
    Allowed,
    /// The tender exits with this status.
    Status(u8),
}

/// A hostile case.
pub struct Case {
    pub name: &'static str,
    pub expect: Expect,
    pub what: &'static str,
    pub run: fn(&Env) -> i32,
}

/// What the cases get to work with.
pub struct Env<'a> {
    pub start: &'a corten_rt::Start,
    pub block: Option<corten_rt::block::BlockDevice>,
}

/// Prints the cases.
pub fn list(cases: &[&[Case]]) {
    for c in cases.iter().flat_map(|l| l.iter()) {
        println!("{:24} {:?}: {}", c.name, c.expect, c.what);
    }
}

/// Runs the case named by the command line, from any of the lists.
pub fn main(name: &str, cases: &[&[Case]], env: &Env) -> i32 {
    crate::banner(name);
    let arg = env.start.cmdline();
    if arg.is_empty() || arg == "list" {
        println!("usage: {name} CASE; cases and what a correct tender does:");
        list(cases);
        return 2;
    }
    let Some(case) = cases.iter().flat_map(|l| l.iter()).find(|c| c.name == arg) else {
        println!("unknown case '{arg}'; cases:");
        list(cases);
        return 2;
    };
    println!("case {}: {}", case.name, case.what);
    println!("expected of a correct tender: {:?}", case.expect);
    (case.run)(env)
}

/// After a call that should not have returned.
pub fn survived(what: &str) -> i32 {
    println!("FAILURE: {what} was allowed");
    corten_rt::EXIT_FAILURE
}

/// After a hypercall whose result code should be an error.
pub fn expect_refused(ret: i32) -> i32 {
    if ret == 0 {
        println!("FAILURE: the tender accepted it (ret 0)");
        corten_rt::EXIT_FAILURE
    } else {
        println!("refused with ret {ret}");
        println!("SUCCESS");
        corten_rt::EXIT_SUCCESS
    }
}

/// spt cases: raw system calls.
#[cfg(feature = "spt")]
pub mod spt {
    use super::{survived, Case, Env, Expect};
    use corten_rt::println;
    use corten_rt::sys::syscall;

    const MSG: &[u8] = b"hostile write\n";

    /// System call numbers.
    #[cfg(target_arch = "x86_64")]
    mod nr {
        pub const READ: usize = 0;
        pub const WRITE: usize = 1;
        pub const MMAP: usize = 9;
        pub const MPROTECT: usize = 10;
        pub const PREAD64: usize = 17;
        pub const PWRITE64: usize = 18;
        pub const SOCKET: usize = 41;
        pub const CLONE: usize = 56;
        pub const EXECVE: usize = 59;
        pub const EXIT: usize = 60;
        pub const KILL: usize = 62;
        pub const PTRACE: usize = 101;
        pub const CLOCK_GETTIME: usize = 228;
        pub const OPENAT: usize = 257;
        pub const EPOLL_PWAIT: usize = 281;
        pub const TIMERFD_SETTIME: usize = 286;
    }
    #[cfg(target_arch = "aarch64")]
    mod nr {
        pub const READ: usize = 63;
        pub const WRITE: usize = 64;
        pub const MMAP: usize = 222;
        pub const MPROTECT: usize = 226;
        pub const PREAD64: usize = 67;
        pub const PWRITE64: usize = 68;
        pub const SOCKET: usize = 198;
        pub const CLONE: usize = 220;
        pub const EXECVE: usize = 221;
        pub const EXIT: usize = 93;
        pub const KILL: usize = 129;
        pub const PTRACE: usize = 117;
        pub const CLOCK_GETTIME: usize = 113;
        pub const OPENAT: usize = 56;
        pub const EPOLL_PWAIT: usize = 22;
        pub const TIMERFD_SETTIME: usize = 86;
    }
    const PATH: &[u8] = b"/etc/passwd\0";

    fn call(nr: usize, args: [usize; 6]) -> isize {
        // SAFETY: every pointer argument the cases pass points to a live
        // buffer at least as long as the length they pass with it.
        unsafe { syscall(nr, args) }
    }

    fn msg() -> usize {
        MSG.as_ptr() as usize
    }

    pub const CASES: &[Case] = &[
        Case {
            name: "openat",
            expect: Expect::Sigsys,
            what: "openat(AT_FDCWD, \"/etc/passwd\")",
            run: |_| {
                let r = call(
                    nr::OPENAT,
                    [-100isize as usize, PATH.as_ptr() as usize, 0, 0, 0, 0],
                );
                println!("openat returned {r}");
                survived("openat")
            },
        },
        Case {
            name: "clone",
            expect: Expect::Sigsys,
            what: "clone(SIGCHLD) (a fork)",
            run: |_| {
                let r = call(nr::CLONE, [17, 0, 0, 0, 0, 0]);
                println!("clone returned {r}");
                survived("clone")
            },
        },
        Case {
            name: "execve",
            expect: Expect::Sigsys,
            what: "execve(\"/bin/sh\")",
            run: |_| {
                let sh = b"/bin/sh\0";
                let argv = [sh.as_ptr() as usize, 0];
                let r = call(
                    nr::EXECVE,
                    [sh.as_ptr() as usize, argv.as_ptr() as usize, 0, 0, 0, 0],
                );
                println!("execve returned {r}");
                survived("execve")
            },
        },
        Case {
            name: "ptrace",
            expect: Expect::Sigsys,
            what: "ptrace(PTRACE_TRACEME)",
            run: |_| {
                let r = call(nr::PTRACE, [0; 6]);
                println!("ptrace returned {r}");
                survived("ptrace")
            },
        },
        Case {
            name: "mprotect",
            expect: Expect::Sigsys,
            what: "mprotect(text, RWX)",
            run: |env| {
                let text = env.start.memory().text.start as usize;
                let r = call(nr::MPROTECT, [text, 4096, 7, 0, 0, 0]);
                println!("mprotect returned {r}");
                survived("mprotect")
            },
        },
        Case {
            name: "mmap",
            expect: Expect::Sigsys,
            what: "mmap(anonymous RWX page)",
            run: |_| {
                let r = call(nr::MMAP, [0, 4096, 7, 0x22, usize::MAX, 0]);
                println!("mmap returned {r:#x}");
                survived("mmap")
            },
        },
        Case {
            name: "write-stderr",
            expect: Expect::Sigsys,
            what: "write(2, ..): only fd 1 is the console",
            run: |_| {
                let r = call(nr::WRITE, [2, msg(), MSG.len(), 0, 0, 0]);
                println!("write(2) returned {r}");
                survived("write to fd 2")
            },
        },
        Case {
            name: "read-stdin",
            expect: Expect::Sigsys,
            what: "read(0, ..): read is for network fds only",
            run: |_| {
                let mut buf = [0u8; 16];
                let r = call(nr::READ, [0, buf.as_mut_ptr() as usize, buf.len(), 0, 0, 0]);
                println!("read(0) returned {r}");
                survived("read from fd 0")
            },
        },
        Case {
            name: "socket",
            expect: Expect::Sigsys,
            what: "socket(AF_INET, SOCK_STREAM)",
            run: |_| {
                let r = call(nr::SOCKET, [2, 1, 0, 0, 0, 0]);
                println!("socket returned {r}");
                survived("socket")
            },
        },
        Case {
            name: "kill",
            expect: Expect::Sigsys,
            what: "kill(0, 0) (signal 0: harmless if allowed)",
            run: |_| {
                let r = call(nr::KILL, [0, 0, 0, 0, 0, 0]);
                println!("kill returned {r}");
                survived("kill")
            },
        },
        Case {
            name: "exit",
            expect: Expect::Sigsys,
            what: "exit(0) (not exit_group)",
            run: |_| {
                let r = call(nr::EXIT, [0; 6]);
                println!("exit returned {r}");
                survived("exit")
            },
        },
        Case {
            name: "clock-cputime",
            expect: Expect::Sigsys,
            what: "clock_gettime(CLOCK_PROCESS_CPUTIME_ID)",
            run: |_| {
                let mut ts = [0u64; 2];
                let r = call(nr::CLOCK_GETTIME, [2, ts.as_mut_ptr() as usize, 0, 0, 0, 0]);
                println!("clock_gettime returned {r}");
                survived("clock_gettime(CLOCK_PROCESS_CPUTIME_ID)")
            },
        },
        Case {
            name: "epoll-other-fd",
            expect: Expect::Sigsys,
            what: "epoll_pwait on a fd that is not the tender's epoll fd",
            run: |_| {
                let mut ev = [0u8; 24];
                let r = call(
                    nr::EPOLL_PWAIT,
                    [1000, ev.as_mut_ptr() as usize, 1, 0, 0, 0],
                );
                println!("epoll_pwait returned {r}");
                survived("epoll_pwait on another fd")
            },
        },
        Case {
            name: "timerfd-other-fd",
            expect: Expect::Sigsys,
            what: "timerfd_settime on a fd that is not the tender's timer fd",
            run: |_| {
                let it = [0u64, 0, 0, 1];
                let r = call(
                    nr::TIMERFD_SETTIME,
                    [1000, 0, it.as_ptr() as usize, 0, 0, 0],
                );
                println!("timerfd_settime returned {r}");
                survived("timerfd_settime on another fd")
            },
        },
    ];

    /// Cases that exist on x86_64 only (legacy calls and other syscall ABIs).
    #[cfg(target_arch = "x86_64")]
    pub const ARCH_CASES: &[Case] = &[
        Case {
            name: "open",
            expect: Expect::Sigsys,
            what: "open(\"/etc/passwd\")",
            run: |_| {
                let r = call(2, [PATH.as_ptr() as usize, 0, 0, 0, 0, 0]);
                println!("open returned {r}");
                survived("open")
            },
        },
        Case {
            name: "fork",
            expect: Expect::Sigsys,
            what: "fork()",
            run: |_| {
                let r = call(57, [0; 6]);
                println!("fork returned {r}");
                survived("fork")
            },
        },
        Case {
            name: "arch-prctl-get-fs",
            expect: Expect::Sigsys,
            what: "arch_prctl(ARCH_GET_FS): only ARCH_SET_FS is allowed",
            run: |_| {
                let mut fs = 0u64;
                let r = call(
                    158,
                    [0x1003, core::ptr::addr_of_mut!(fs) as usize, 0, 0, 0, 0],
                );
                println!("arch_prctl returned {r}");
                survived("arch_prctl(ARCH_GET_FS)")
            },
        },
        Case {
            name: "x32-write",
            expect: Expect::Sigsys,
            what: "write(1, ..) through the x32 system call ABI",
            run: |_| {
                let r = call(0x4000_0001, [1, msg(), MSG.len(), 0, 0, 0]);
                println!("x32 write returned {r}");
                survived("an x32 system call")
            },
        },
        Case {
            name: "int80-write",
            expect: Expect::Sigsys,
            what: "write(1, ..) through the i386 int 0x80 ABI",
            run: |_| {
                let r: u32;
                // SAFETY: a 32-bit write(1, MSG, len) system call; the message is
                // in the image, below 4 GiB.
                unsafe {
                    core::arch::asm!("xchg {b:r}, rbx", "int 0x80", "xchg {b:r}, rbx",
                    b = inout(reg) 1u64 => _, inlateout("eax") 4u32 => r,
                    in("ecx") msg() as u32, in("edx") MSG.len() as u32, options(nostack));
                }
                println!("int 0x80 write returned {}", r as i32);
                survived("an i386 system call")
            },
        },
    ];
    /// Cases that exist on x86_64 only.
    #[cfg(not(target_arch = "x86_64"))]
    pub const ARCH_CASES: &[Case] = &[];

    fn fd(env: &Env) -> Option<(i32, u64, usize)> {
        let dev = env.block?;
        let info = dev.info();
        Some((
            corten_rt::sys::block_host_fd(&dev),
            info.capacity,
            info.block_size as usize,
        ))
    }

    fn blockcall(
        env: &Env,
        nr: usize,
        len_delta: isize,
        offset: impl Fn(u64, usize) -> u64,
    ) -> isize {
        let Some((fd, capacity, bs)) = fd(env) else {
            println!("no block device");
            return -1;
        };
        let mut buf = [0u8; 8192];
        let len = (bs as isize + len_delta) as usize;
        if len > buf.len() {
            println!("sector size {bs} too large for this test");
            return -1;
        }
        call(
            nr,
            [
                fd as usize,
                buf.as_mut_ptr() as usize,
                len,
                offset(capacity, bs) as usize,
                0,
                0,
            ],
        )
    }

    pub const BLOCK_CASES: &[Case] = &[
        Case {
            name: "pread-ok",
            expect: Expect::Allowed,
            what: "pread64 of sector 0 (control: must work)",
            run: |env| {
                let r = blockcall(env, nr::PREAD64, 0, |_, _| 0);
                println!("pread64 returned {r}");
                if r > 0 {
                    println!("SUCCESS");
                    0
                } else {
                    println!("FAILURE");
                    1
                }
            },
        },
        Case {
            name: "pread-short",
            expect: Expect::Sigsys,
            what: "pread64 of sector size - 1 bytes",
            run: |env| {
                let r = blockcall(env, nr::PREAD64, -1, |_, _| 0);
                println!("pread64 returned {r}");
                survived("a short pread64")
            },
        },
        Case {
            name: "pread-long",
            expect: Expect::Sigsys,
            what: "pread64 of sector size + 1 bytes",
            run: |env| {
                let r = blockcall(env, nr::PREAD64, 1, |_, _| 0);
                println!("pread64 returned {r}");
                survived("a long pread64")
            },
        },
        Case {
            name: "pread-past-end",
            expect: Expect::Sigsys,
            what: "pread64 at offset capacity",
            run: |env| {
                let r = blockcall(env, nr::PREAD64, 0, |c, _| c);
                println!("pread64 returned {r}");
                survived("pread64 past the end")
            },
        },
        Case {
            name: "pwrite-past-end",
            expect: Expect::Sigsys,
            what: "pwrite64 at offset capacity (would grow the file)",
            run: |env| {
                let r = blockcall(env, nr::PWRITE64, 0, |c, _| c);
                println!("pwrite64 returned {r}");
                survived("pwrite64 past the end")
            },
        },
        Case {
            name: "pwrite-far",
            expect: Expect::Sigsys,
            what: "pwrite64 at offset 2^40",
            run: |env| {
                let r = blockcall(env, nr::PWRITE64, 0, |_, _| 1 << 40);
                println!("pwrite64 returned {r}");
                survived("pwrite64 far past the end")
            },
        },
        Case {
            name: "pwrite-negative",
            expect: Expect::Sigsys,
            what: "pwrite64 at offset -512 (2^64 - 512)",
            run: |env| {
                let r = blockcall(env, nr::PWRITE64, 0, |_, _| 0u64.wrapping_sub(512));
                println!("pwrite64 returned {r}");
                survived("pwrite64 at a negative offset")
            },
        },
        Case {
            name: "read-blockfd",
            expect: Expect::Sigsys,
            what: "read on the block fd (read is for network fds)",
            run: |env| {
                let r = blockcall(env, nr::READ, 0, |_, _| 0);
                println!("read returned {r}");
                survived("read on a block fd")
            },
        },
        Case {
            name: "write-blockfd",
            expect: Expect::Sigsys,
            what: "write on the block fd",
            run: |env| {
                let r = blockcall(env, nr::WRITE, 0, |_, _| 0);
                println!("write returned {r}");
                survived("write on a block fd")
            },
        },
        Case {
            name: "pread-into-text",
            expect: Expect::Refused,
            what: "pread64 of sector 0 into the read-only text segment",
            run: |env| {
                let Some((fd, _, bs)) = fd(env) else {
                    println!("no block device");
                    return 1;
                };
                let text = env.start.memory().text.start as usize;
                let r = call(nr::PREAD64, [fd as usize, text, bs, 0, 0, 0]);
                println!("pread64 returned {r}");
                if r < 0 {
                    println!("refused with ret {r}");
                    println!("SUCCESS");
                    0
                } else {
                    survived("pread64 into text")
                }
            },
        },
    ];
}

/// hvt cases: raw hypercalls and port I/O.
#[cfg(feature = "hvt")]
pub mod hvt {
    use super::{expect_refused, survived, Case, Env, Expect};
    use corten_rt::abi::hvt::{HcBlockIo, HcHalt, HcNetIo, HcPoll, HcPuts, HcWalltime, Hypercall};
    use corten_rt::println;
    use corten_rt::sys::hypercall;
    #[cfg(target_arch = "x86_64")]
    use corten_rt::sys::{inb, outl};

    /// A guest-physical address far beyond any guest memory.
    const WILD: u64 = 0xffff_f000_0000;

    fn hc<T>(nr: Hypercall, arg: &mut T) {
        // SAFETY: arg is a live structure of the hypercall's type.
        unsafe { hypercall(nr as u32, arg as *mut T as usize) }
    }

    fn hc_at(nr: u32, addr: u64) {
        // SAFETY: the address is outside guest memory or at its very end;
        // a tender that wrongly wrote there would write host memory, not
        // anything this unikernel uses.
        unsafe { hypercall(nr, addr as usize) }
    }

    fn mem_end(env: &Env) -> u64 {
        env.start.memory().mem_size
    }

    /// BLOCK_READ/BLOCK_WRITE; `data` 0 means a buffer on the stack. The
    /// result code.
    fn block_io(nr: Hypercall, handle: u64, offset: u64, data: u64, len: u64) -> i32 {
        let mut buf = [0u8; 8192];
        let data = if data == 0 {
            buf.as_mut_ptr() as u64
        } else {
            data
        };
        let mut io = HcBlockIo {
            handle,
            offset,
            data,
            len,
            ret: 0,
        };
        hc(nr, &mut io);
        io.ret
    }

    /// NET_WRITE or NET_READ of `len` bytes (at most 1514) on `handle`,
    /// from or into a buffer on the stack. The result code.
    fn net_io(nr: Hypercall, handle: u64, len: u64) -> i32 {
        let mut frame = [0u8; 1514];
        let mut io = HcNetIo {
            handle,
            data: frame.as_mut_ptr() as u64,
            len,
            ret: 0,
        };
        hc(nr, &mut io);
        io.ret
    }

    fn block_geometry(env: &Env) -> (u64, u64) {
        env.block
            .map(|d| (d.info().capacity, d.info().block_size))
            .unwrap_or((0, 512))
    }

    pub const CASES: &[Case] = &[
        Case {
            name: "puts-wild",
            expect: Expect::TenderError,
            what: "PUTS of 16 bytes at a guest address beyond memory",
            run: |_| {
                let mut p = HcPuts {
                    data: WILD,
                    len: 16,
                };
                hc(Hypercall::Puts, &mut p);
                survived("PUTS with a wild pointer")
            },
        },
        Case {
            name: "puts-len",
            expect: Expect::TenderError,
            what: "PUTS of 2^64-1 bytes at 0x100000 (length overflows)",
            run: |_| {
                let mut p = HcPuts {
                    data: 0x10_0000,
                    len: u64::MAX,
                };
                hc(Hypercall::Puts, &mut p);
                survived("PUTS with a huge length")
            },
        },
        Case {
            name: "puts-end",
            expect: Expect::TenderError,
            what: "PUTS of 16 bytes starting 8 bytes before the end of memory",
            run: |env| {
                let mut p = HcPuts {
                    data: mem_end(env) - 8,
                    len: 16,
                };
                hc(Hypercall::Puts, &mut p);
                survived("PUTS across the end of memory")
            },
        },
        Case {
            name: "arg-wild",
            expect: Expect::TenderError,
            what: "WALLTIME with its argument at 0xfffffff0, beyond memory",
            run: |_| {
                hc_at(Hypercall::Walltime as u32, 0xffff_fff0);
                survived("a hypercall argument beyond memory")
            },
        },
        Case {
            name: "arg-end",
            expect: Expect::TenderError,
            what: "POLL with its 24-byte argument 8 bytes before the end of memory",
            run: |env| {
                hc_at(Hypercall::Poll as u32, mem_end(env) - 8);
                survived("a hypercall argument across the end of memory")
            },
        },
        Case {
            name: "halt-cookie-wild",
            expect: Expect::TenderError,
            what: "HALT (status 0) with a cookie beyond memory",
            run: |_| {
                let mut h = HcHalt {
                    cookie: WILD,
                    exit_status: 0,
                };
                hc(Hypercall::Halt, &mut h);
                survived("HALT with a wild cookie")
            },
        },
        Case {
            name: "halt-cookie-end",
            expect: Expect::TenderError,
            what: "HALT (status 0) with a cookie 16 bytes before the end of memory (needs 512)",
            run: |env| {
                let mut h = HcHalt {
                    cookie: mem_end(env) - 16,
                    exit_status: 0,
                };
                hc(Hypercall::Halt, &mut h);
                survived("HALT with a cookie across the end of memory")
            },
        },
        Case {
            name: "halt-status",
            expect: Expect::Status(0x34),
            what: "HALT with exit status 0x1234 (the tender exits with its low 8 bits)",
            run: |_| {
                let mut h = HcHalt {
                    cookie: 0,
                    exit_status: 0x1234,
                };
                hc(Hypercall::Halt, &mut h);
                survived("HALT returning")
            },
        },
        Case {
            name: "hypercall-0",
            expect: Expect::TenderError,
            what: "hypercall number 0 (reserved)",
            run: |_| {
                let mut w = HcWalltime::default();
                // SAFETY: w is a live 8-byte structure.
                unsafe { hypercall(0, core::ptr::addr_of_mut!(w) as usize) };
                survived("hypercall 0")
            },
        },
        Case {
            name: "hypercall-max",
            expect: Expect::TenderError,
            what: "hypercall number 9 (one past the last)",
            run: |_| {
                let mut w = HcWalltime::default();
                // SAFETY: w is a live 8-byte structure.
                unsafe { hypercall(9, core::ptr::addr_of_mut!(w) as usize) };
                survived("hypercall 9")
            },
        },
        Case {
            name: "net-bad-handle",
            expect: Expect::Refused,
            what: "NET_WRITE on handle 7 (no such device)",
            run: |_| expect_refused(net_io(Hypercall::NetWrite, 7, 60)),
        },
        Case {
            name: "net-reserved-handle",
            expect: Expect::Refused,
            what: "NET_READ on handle 0 (the reserved manifest entry)",
            run: |_| expect_refused(net_io(Hypercall::NetRead, 0, 1514)),
        },
        Case {
            name: "net-huge-handle",
            expect: Expect::Refused,
            what: "NET_READ on handle 2^64-1",
            run: |_| expect_refused(net_io(Hypercall::NetRead, u64::MAX, 1514)),
        },
        Case {
            name: "blk-bad-handle",
            expect: Expect::Refused,
            what: "BLOCK_READ on handle 7 (no such device)",
            run: |_| expect_refused(block_io(Hypercall::BlockRead, 7, 0, 0, 512)),
        },
        Case {
            name: "poll-ok",
            expect: Expect::Allowed,
            what: "POLL with a zero timeout (control: must work)",
            run: |_| {
                let mut p = HcPoll {
                    timeout_nsecs: 0,
                    ready_set: 0,
                    ret: 0,
                };
                hc(Hypercall::Poll, &mut p);
                println!("poll returned {} (ready set {:#x})", p.ret, p.ready_set);
                println!("SUCCESS");
                0
            },
        },
    ];

    /// Port I/O cases (x86_64 only).
    #[cfg(target_arch = "x86_64")]
    pub const ARCH_CASES: &[Case] = &[
        Case {
            name: "port-out-other",
            expect: Expect::TenderError,
            what: "32-bit out to port 0x80",
            run: |_| {
                // SAFETY: a port write the tender must reject.
                unsafe { outl(0x80, 0) };
                survived("out to port 0x80")
            },
        },
        Case {
            name: "port-in",
            expect: Expect::TenderError,
            what: "8-bit in from hypercall port 0x502",
            run: |_| {
                // SAFETY: a port read the tender must reject.
                let v = unsafe { inb(0x502) };
                println!("in returned {v}");
                survived("in from a hypercall port")
            },
        },
    ];
    /// MMIO cases (aarch64): hypercalls are 32-bit stores to the
    /// hypercall window; any other access there is the guest's error.
    #[cfg(target_arch = "aarch64")]
    pub const ARCH_CASES: &[Case] = &[
        Case {
            name: "mmio-read",
            expect: Expect::TenderError,
            what: "32-bit load from the PUTS hypercall address",
            run: |_| {
                let a = hypercall_address(Hypercall::Puts as u32);
                let v: u32;
                // SAFETY: an MMIO read the tender must reject.
                unsafe { core::arch::asm!("ldr {v:w}, [{a}]", v = out(reg) v, a = in(reg) a) };
                println!("the load returned {v}");
                survived("a load from the hypercall window")
            },
        },
        Case {
            name: "mmio-byte-write",
            expect: Expect::TenderError,
            what: "8-bit store to the PUTS hypercall address",
            run: |_| {
                let a = hypercall_address(Hypercall::Puts as u32);
                // SAFETY: an MMIO write the tender must reject.
                unsafe { core::arch::asm!("strb wzr, [{a}]", a = in(reg) a) };
                survived("a byte store to the hypercall window")
            },
        },
        Case {
            name: "mmio-other",
            expect: Expect::TenderError,
            what: "32-bit store into the MMIO window, past every hypercall and the ring kick",
            run: |_| {
                let a = HYPERCALL_MMIO_BASE + 0x10_0000;
                // SAFETY: an MMIO write the tender must reject.
                unsafe { core::arch::asm!("str wzr, [{a}]", a = in(reg) a) };
                survived("a store to an unused MMIO address")
            },
        },
    ];
    #[cfg(target_arch = "aarch64")]
    use corten_rt::abi::hvt::aarch64::{hypercall_address, HYPERCALL_MMIO_BASE};

    pub const BLOCK_CASES: &[Case] = &[
        Case {
            name: "blk-ok",
            expect: Expect::Allowed,
            what: "BLOCK_READ of sector 0 (control: must work)",
            run: |env| {
                let (_, bs) = block_geometry(env);
                let ret = block_io(Hypercall::BlockRead, 1, 0, 0, bs);
                println!("ret {ret}");
                if ret == 0 {
                    println!("SUCCESS");
                    0
                } else {
                    println!("FAILURE");
                    1
                }
            },
        },
        Case {
            name: "blk-past-end",
            expect: Expect::Refused,
            what: "BLOCK_READ at offset capacity",
            run: |env| {
                let (cap, bs) = block_geometry(env);
                expect_refused(block_io(Hypercall::BlockRead, 1, cap, 0, bs))
            },
        },
        Case {
            name: "blk-write-past-end",
            expect: Expect::Refused,
            what: "BLOCK_WRITE at offset capacity (would grow the file)",
            run: |env| {
                let (cap, bs) = block_geometry(env);
                expect_refused(block_io(Hypercall::BlockWrite, 1, cap, 0, bs))
            },
        },
        Case {
            name: "blk-straddle",
            expect: Expect::Refused,
            what: "BLOCK_WRITE of two sectors starting at the last sector",
            run: |env| {
                let (cap, bs) = block_geometry(env);
                expect_refused(block_io(Hypercall::BlockWrite, 1, cap - bs, 0, 2 * bs))
            },
        },
        Case {
            name: "blk-offset-overflow",
            expect: Expect::Refused,
            what: "BLOCK_WRITE at offset 2^64-512 (offset + length overflows)",
            run: |env| {
                let (_, bs) = block_geometry(env);
                expect_refused(block_io(
                    Hypercall::BlockWrite,
                    1,
                    0u64.wrapping_sub(512),
                    0,
                    bs,
                ))
            },
        },
        Case {
            name: "blk-len-huge",
            expect: Expect::Refused,
            what: "BLOCK_READ of 2^64-1 bytes at offset 0",
            run: |_| expect_refused(block_io(Hypercall::BlockRead, 1, 0, 0, u64::MAX)),
        },
        Case {
            name: "blk-data-wild",
            expect: Expect::TenderError,
            what: "BLOCK_READ into a buffer beyond guest memory",
            run: |env| {
                let (_, bs) = block_geometry(env);
                let ret = block_io(Hypercall::BlockRead, 1, 0, WILD, bs);
                println!("ret {ret}");
                survived("BLOCK_READ into a wild buffer")
            },
        },
        Case {
            name: "blk-data-end",
            expect: Expect::TenderError,
            what: "BLOCK_READ into a buffer that runs past the end of memory",
            run: |env| {
                let (_, bs) = block_geometry(env);
                let ret = block_io(Hypercall::BlockRead, 1, 0, mem_end(env) - 100, bs);
                println!("ret {ret}");
                survived("BLOCK_READ across the end of memory")
            },
        },
        Case {
            name: "blk-read-into-text",
            expect: Expect::Refused,
            what: "BLOCK_READ of sector 0 into the read-only text segment",
            run: |env| {
                let (_, bs) = block_geometry(env);
                let text = env.start.memory().text.start;
                expect_refused(block_io(Hypercall::BlockRead, 1, 0, text, bs))
            },
        },
        Case {
            name: "net-on-block-handle",
            expect: Expect::Refused,
            what: "NET_WRITE on handle 1, a block device",
            run: |_| expect_refused(net_io(Hypercall::NetWrite, 1, 60)),
        },
    ];
}
