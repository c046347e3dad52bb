//! corten-spt: runs a Solo5 (ABI v2) spt unikernel inside this process.
//!
//! A run: the shared front end (command line, unikernel checks, devices) →
//! layout check → guest memory at its fixed address → segments loaded and
//! protected → epoll/timerfd → boot info, manifest, command line → seccomp
//! filter → jump. After the jump the unikernel *is* the process.
//!
//! `main` is the C entry point (no Rust runtime set-up): std's start-up
//! would install SIGSEGV/SIGBUS handlers and an alternate signal stack that
//! must not survive into the guest, and costs start-up time.
#![cfg_attr(not(test), no_main)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod boot;
mod events;
mod launch;
mod memory;
mod sandbox;

use std::ffi::OsString;

use corten_abi::note::AbiTarget;
use corten_abi::spt::{SPT_ABI_VERSION, SPT_GUEST_MIN_BASE};
use corten_tender::cli::{ExtraOption, OptionArg, TenderSpec};
use corten_tender::diag::Diag;

const X_EXEC_HEAP: &str = "--x-exec-heap";
/// Corten extension: transparent huge pages for guest memory.
const X_HUGEPAGES: &str = "--x-hugepages";

const SPEC: TenderSpec = TenderSpec {
    target: "spt",
    version: concat!(
        env!("CARGO_PKG_VERSION"),
        " (Corten; Solo5 v0.12 compatible)"
    ),
    abi_version: SPT_ABI_VERSION,
    extra_options: &[
        ExtraOption {
            name: X_EXEC_HEAP,
            arg: OptionArg::Flag,
            help: "--x-exec-heap (make the heap executable). WARNING: This option is dangerous \
                   and not recommended as it makes the heap and stack executable.",
            warning: Some(
                "WARNING: The use of --x-exec-heap is dangerous and not recommended as it makes \
                 the heap and stack executable.",
            ),
        },
        ExtraOption {
            name: X_HUGEPAGES,
            arg: OptionArg::Flag,
            help: "--x-hugepages (back guest memory with transparent 2 MiB host pages)",
            warning: None,
        },
    ],
};

/// The C entry point.
#[cfg(not(test))]
#[no_mangle]
extern "C" fn main(argc: libc::c_int, argv: *const *const libc::c_char) -> libc::c_int {
    // Before anything is opened: a closed stdout must not become the
    // descriptor of a disk (see corten_tender::stdio).
    corten_tender::stdio::reserve_or_exit();
    // SAFETY: called by the C runtime with its argc/argv.
    let args = unsafe { corten_tender::argv::from_c_main(argc, argv) };
    run(args)
}

#[cfg_attr(test, allow(dead_code))]
fn run(args: Vec<OsString>) -> ! {
    let mut inv = corten_tender::front_end(&SPEC, AbiTarget::Spt, args);
    let diag: &Diag = &inv.diag;
    let mem_size = inv.options.mem_size;
    let elf = &inv.kernel.elf;

    // Everything about the unikernel is checked before memory is touched.
    elf.check_layout(mem_size, SPT_GUEST_MIN_BASE)
        .unwrap_or_else(|e| diag.fatal(e));
    corten_tender::personality::refuse_read_implies_exec().unwrap_or_else(|e| diag.fatal(e));
    let mut mem = memory::GuestMemory::map(mem_size, inv.options.flag(X_EXEC_HEAP))
        .unwrap_or_else(|e| diag.fatal(e));
    if inv.options.flag(X_HUGEPAGES) {
        mem.advise_huge_pages().unwrap_or_else(|e| diag.fatal(e));
    }
    mem.load(elf, &inv.kernel.file)
        .unwrap_or_else(|e| diag.fatal(e));

    let nets = inv.devices.nets();
    let ev = events::Events::new(&nets).unwrap_or_else(|e| diag.fatal(e));
    let bootinfo = boot::write_low_memory(
        &mut mem,
        elf.kernel_end(),
        &inv.devices.manifest_bytes(),
        &inv.cmdline,
        ev.epollfd,
        ev.timerfd,
    )
    .unwrap_or_else(|e| diag.fatal(e));

    let policy = sandbox::Policy {
        epollfd: ev.epollfd,
        timerfd: ev.timerfd,
        blocks: inv.devices.blocks(),
        nets,
    };
    let prog = sandbox::build(&policy).unwrap_or_else(|e| diag.fatal(e));
    let entry = elf.entry();
    let sp = launch::initial_sp(mem.mem_size());

    // The unikernel file is not the guest's business.
    // SAFETY: closes the descriptor owned by `inv.kernel.file`, which is
    // never used again (nothing is dropped after the jump).
    unsafe { libc::close(std::os::fd::AsRawFd::as_raw_fd(&inv.kernel.file)) };
    inv.devices.leak_fds();
    launch::reset_fault_signals()
        .unwrap_or_else(|e| diag.fatal(format!("could not reset signal handlers: {e}")));
    sandbox::install(&prog).unwrap_or_else(|e| diag.fatal(e));
    // SAFETY: `entry` lies in an executable guest segment (checked by
    // Elf::parse and check_layout), `sp` is the top of guest memory, and
    // the filter is installed.
    unsafe { launch::jump(entry, sp, bootinfo) }
}
