//! One tender run, from the command line to the exit status.

use std::ffi::OsString;
use std::os::fd::AsRawFd;

use corten_abi::hvt::{HVT_ABI_VERSION, HVT_FEATURE_RING_IO, HVT_GUEST_MIN_BASE};
use corten_abi::note::AbiTarget;
use corten_tender::cli::{ExtraOption, OptionArg, TenderSpec};
use corten_tender::diag::Diag;

use crate::devices::Devices;
use crate::guest_mem::{GuestMemory, HostPages, HostProt};
use crate::sandbox::Confinement;
use crate::{arch, boot, diag, exit_loop, hypercall, modules, netring, sandbox, signals, vm};

pub const OPT_DUMPCORE: &str = "--dumpcore";
pub const OPT_GDB: &str = "--gdb";
pub const OPT_GDB_PORT: &str = "--gdb-port";
pub const OPT_NET_RING: &str = "--net-ring";
/// Corten extension: transparent huge pages for guest memory.
pub const OPT_HUGEPAGES: &str = "--x-hugepages";

/// What corten-hvt tells the shared front end about itself.
pub const SPEC: TenderSpec = TenderSpec {
    target: "hvt",
    version: concat!(
        env!("CARGO_PKG_VERSION"),
        " (Corten; Solo5 v0.12 compatible)"
    ),
    abi_version: HVT_ABI_VERSION,
    extra_options: &[
        ExtraOption {
            name: OPT_DUMPCORE,
            arg: OptionArg::Value,
            help: "--dumpcore=DIR (enable guest core dump on abort/trap)",
            warning: None,
        },
        ExtraOption {
            name: OPT_GDB,
            arg: OptionArg::Flag,
            help: "--gdb (optional flag for running in a gdb debug session)",
            warning: None,
        },
        ExtraOption {
            name: OPT_GDB_PORT,
            arg: OptionArg::Value,
            help: "[ --gdb-port=1234 ] (port to use)",
            warning: None,
        },
        ExtraOption {
            name: OPT_HUGEPAGES,
            arg: OptionArg::Flag,
            help: "[ --x-hugepages ] (back guest memory with transparent 2 MiB host pages)",
            warning: None,
        },
        ExtraOption {
            name: OPT_NET_RING,
            arg: OptionArg::Value,
            help: "[ --net-ring=auto|on|off ] (offer the guest ring I/O for the network; \
                   default auto: when the tender may use at least two CPUs)",
            warning: None,
        },
    ],
};

/// Runs the tender on `argv` (with argv[0]) and exits with the guest's
/// status, or 1 on any tender error.
pub fn tender_main(argv: Vec<OsString>) -> ! {
    let inv = corten_tender::front_end(&SPEC, AbiTarget::Hvt, argv);
    diag::set_prog(inv.diag.prog());
    let d = &inv.diag;
    let elf = &inv.kernel.elf;
    let kernel_name = inv.kernel.path.to_string_lossy().into_owned();

    let modules_cfg = modules::Config::from_options(&inv.options).unwrap_or_else(|e| d.fatal(e));

    // Guest memory size: --mem rounded to what the architecture maps.
    let (mem_size, adjusted) = arch::mem_size(inv.options.mem_size).unwrap_or_else(|e| d.fatal(e));
    if adjusted {
        d.warn(format_args!("adjusting memory to {mem_size} bytes"));
    }

    let confinement = sandbox::detect();
    let ring_plan = plan_ring(&inv, mem_size, &confinement);
    // With a ring, the guest's memory ends where the ring starts.
    let guest_size = ring_plan.map_or(mem_size, |p| p.ring_gpa);
    elf.check_layout(guest_size, HVT_GUEST_MIN_BASE)
        .unwrap_or_else(|e| d.fatal(e));

    let devices = Devices::from_attached(&inv.devices).unwrap_or_else(|e| d.fatal(e));
    signals::install()
        .unwrap_or_else(|e| d.fatal(format_args!("Could not install signal handler: {e}")));

    corten_tender::personality::refuse_read_implies_exec().unwrap_or_else(|e| d.fatal(e));

    // Guest memory: load the image, then protect text and rodata on the
    // host so that a guest write to them faults.
    let pages = if inv.options.flag(OPT_HUGEPAGES) {
        HostPages::Huge
    } else {
        HostPages::Small
    };
    let mut mem = GuestMemory::new_with(ring_plan.map_or(mem_size, |p| p.mapped), pages)
        .unwrap_or_else(|e| d.fatal(e));
    if let Some(p) = ring_plan {
        mem.reserve_top(p.mapped - p.ring_gpa)
            .unwrap_or_else(|e| d.fatal(e));
    }
    elf.load_into_zeroed(&inv.kernel.file, mem.as_mut_slice())
        .unwrap_or_else(|e| d.fatal(e));
    for s in elf.segments() {
        // Under gdb, text stays writable so that breakpoints can be set.
        if !s.prot.write && !modules_cfg.gdb {
            mem.protect(s.start, s.end, HostProt::ReadOnly)
                .unwrap_or_else(|e| d.fatal(format_args!("{kernel_name}: {e}")));
        }
    }

    let mut vm = vm::Vm::create(mem).unwrap_or_else(|e| d.fatal(e));
    let arch_opts = arch_options(&vm);
    arch::setup_memory(&mut vm.mem, arch_opts).unwrap_or_else(|e| d.fatal(e));
    let info = arch::setup_vcpu(&vm.kvm, &vm.vm, &vm.vcpu, elf.entry(), guest_size)
        .unwrap_or_else(|e| d.fatal(e));

    let mut hc = hypercall::Hypercalls::new(devices).unwrap_or_else(|e| d.fatal(e));
    let net_ring = ring_plan.and_then(|p| start_ring(d, &vm, &hc, p));

    let cmdline = inv.cmdline.strip_suffix(b"\0").unwrap_or(&inv.cmdline);
    let manifest = inv.devices.manifest_bytes();
    boot::write(
        &mut vm.mem,
        arch::BOOT_INFO_BASE,
        &boot::BootInfo {
            mem_size: guest_size,
            kernel_end: elf.kernel_end(),
            cpu_cycle_freq: info.cycle_freq,
            manifest: &manifest,
            cmdline,
            host_features: if net_ring.is_some() {
                HVT_FEATURE_RING_IO
            } else {
                0
            },
            net_ring: net_ring.as_ref().map_or(0, |(_, gpa)| *gpa),
        },
    )
    .unwrap_or_else(|e| d.fatal(e));

    let mut mods = modules::Modules::new(&modules_cfg, &vm).unwrap_or_else(|e| d.fatal(e));
    #[cfg(target_arch = "x86_64")]
    if arch_opts.ring3 {
        mods.ring3 = Some(arch::ring3::Ring3::new());
    }

    if modules_cfg.debugging() {
        d.warn(
            "not installing the seccomp filter: --gdb and --dumpcore need system calls the \
             run-time filter does not allow (as upstream's solo5-hvt-debug)",
        );
    } else {
        let policy = sandbox::Policy {
            vcpu_fd: vm.vcpu.as_raw_fd(),
            block: hc
                .devices
                .block_fds()
                .map(|(_, fd, bs, cap)| (fd, bs, cap))
                .collect(),
            net: hc.devices.net_fds().map(|(_, fd)| fd).collect(),
            epoll_fd: hc.poller.epoll_fd(),
            timer_fd: hc.poller.timer_fd(),
            net_ring_kick_fd: net_ring.as_ref().map(|(r, _)| r.kick_fd()),
        };
        enter_sandbox(d, &policy, &confinement);
    }

    let mut stats = exit_loop::ExitStats::default();
    #[cfg(target_arch = "x86_64")]
    let end = if modules_cfg.gdb {
        let listener = modules::gdb::listen(modules_cfg.gdb_port).unwrap_or_else(|e| d.fatal(e));
        modules::gdb::serve(listener, &kernel_name, &mut vm, &mut hc, &mut mods)
            .unwrap_or_else(|e| d.fatal(e))
    } else {
        exit_loop::run_to_end(&mut vm, &mut hc, &mut mods, &mut stats)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let end = exit_loop::run_to_end(&mut vm, &mut hc, &mut mods, &mut stats);
    if let Some((r, _)) = &net_ring {
        r.drain();
    }
    if std::env::var_os("CORTEN_HVT_STATS").is_some() {
        diag::print(format_args!(
            "stats: {}; {}{}",
            stats.summary(),
            mods.summary(),
            net_ring
                .as_ref()
                .map(|(r, _)| format!("; {}", r.summary()))
                .unwrap_or_default()
        ));
    }
    // Exit here, without running destructors: closing descriptors and
    // tearing down the VM are not on the seccomp allow-list, and the kernel
    // does both at exit anyway.
    diag::exit(end.status)
}

/// Whether and where to put the network ring: only with a network device,
/// unless `--net-ring=off`, and not when a launcher's filter already
/// confines the tender (the I/O thread needs `eventfd2`, `clone3` and more,
/// which urunc's list lacks, and probing would be fatal there).
fn plan_ring(
    inv: &corten_tender::Invocation,
    mem_size: u64,
    confinement: &Confinement,
) -> Option<netring::Plan> {
    let d = &inv.diag;
    let mode = ring_option(&inv.options).unwrap_or_else(|e| d.fatal(e));
    if inv.devices.nets().is_empty() || mode == RingMode::Off {
        return None;
    }
    if *confinement != Confinement::Unconfined {
        d.warn(
            "not offering ring I/O for the network: already confined by a launcher's seccomp \
             filter (or cannot tell), and the ring's I/O thread needs system calls such a \
             filter may forbid; the guest uses hypercalls",
        );
        return None;
    }
    // The ring's I/O thread and the vCPU thread each spin while waiting
    // for the other; squeezed onto one CPU they starve each other (ping
    // round trips measured 4x worse than hypercalls), so `auto` offers the
    // ring only when there is a second CPU to run the I/O thread on.
    if mode == RingMode::Auto && usable_cpus() < 2 {
        return None;
    }
    netring::plan(mem_size)
}

/// CPUs this process may run on (1 if the kernel will not say).
fn usable_cpus() -> usize {
    // SAFETY: an all-zero cpu_set_t is a valid empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a writable cpu_set_t of the size passed; pid 0 is
    // the calling thread.
    let rc = unsafe { libc::sched_getaffinity(0, std::mem::size_of_val(&set), &mut set) };
    if rc != 0 {
        return 1;
    }
    // SAFETY: `set` was filled in by the kernel above.
    (unsafe { libc::CPU_COUNT(&set) }).max(1) as usize
}

/// `--net-ring=auto|on|off`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RingMode {
    /// Offer the ring when a second CPU can run its I/O thread (default).
    Auto,
    /// Offer it whenever there is a network device, as upstream does.
    On,
    Off,
}

/// Starts the ring's I/O thread; on failure the guest is not offered the
/// ring (the memory stays reserved, as upstream).
fn start_ring(
    d: &Diag,
    vm: &vm::Vm,
    hc: &hypercall::Hypercalls,
    plan: netring::Plan,
) -> Option<(netring::NetRing, u64)> {
    match netring::NetRing::start(&vm.vm, vm.mem.shared(), plan.ring_gpa, &hc.devices) {
        Ok(r) => Some((r, plan.ring_gpa)),
        Err(e) => {
            d.warn(format_args!(
                "not offering ring I/O for the network ({e}); the guest uses hypercalls"
            ));
            None
        }
    }
}

/// `--net-ring=auto|on|off` (default auto).
fn ring_option(options: &corten_tender::cli::Options) -> Result<RingMode, String> {
    match options.value(OPT_NET_RING).map(|v| v.to_string_lossy()) {
        None => Ok(RingMode::Auto),
        Some(v) if v == "auto" => Ok(RingMode::Auto),
        Some(v) if v == "on" => Ok(RingMode::On),
        Some(v) if v == "off" => Ok(RingMode::Off),
        Some(v) => Err(format!(
            "Invalid option: `{OPT_NET_RING}={v}': give auto, on or off"
        )),
    }
}

/// Ring-3 execution where the host emulates CPL 0 (also under --gdb and
/// --dumpcore, which handle it).
#[cfg(target_arch = "x86_64")]
fn arch_options(vm: &vm::Vm) -> arch::ArchOptions {
    arch::ArchOptions {
        ring3: arch::ring3::enabled(&vm.kvm),
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn arch_options(_vm: &vm::Vm) -> arch::ArchOptions {
    arch::ArchOptions::default()
}

fn enter_sandbox(d: &Diag, policy: &sandbox::Policy, confinement: &Confinement) {
    match confinement {
        Confinement::Unconfined => policy.install().unwrap_or_else(|e| d.fatal(e)),
        Confinement::Confined(status) => d.warn(format_args!(
            "already confined by a seccomp filter (seccomp mode {}); running under it \
             without adding one, since the outer filter may forbid installing another",
            status.mode.as_raw()
        )),
        // Fail closed: when nothing can tell, install the filter (if an
        // outer filter forbids that, the run ends here with its message).
        Confinement::Unknown { reason } => {
            d.warn(format_args!(
                "cannot tell whether a seccomp filter already confines this process ({reason}); \
                 installing the tender's own"
            ));
            policy.install().unwrap_or_else(|e| d.fatal(e))
        }
    }
}
