//! Set-up of one run, after the shared front end: a sequence of small
//! steps, each returning [`SetupError`], which composes the error types
//! of the modules it calls ([`build`] → [`Ready`], then [`Ready::confine_and_run`]).
//! Nothing here prints an error or exits: `tender::tender_main` reports
//! every one, in one place.
//!
//! The steps, in order: options → memory size → confinement (decides the
//! network ring) → ELF layout → device table → signal handlers →
//! personality → guest memory (image loaded, text and rodata read-only)
//! → VM, vCPU and architecture state → hypercall handlers → network ring
//! → boot info → modules; then, in [`Ready::confine_and_run`]: seccomp → exit loop
//! (or the gdb stub).

use std::mem::ManuallyDrop;
use std::os::fd::AsRawFd;

use corten_abi::hvt::{HVT_FEATURE_RING_IO, HVT_GUEST_MIN_BASE};
use corten_elf::{Elf, ElfError};
use corten_sandbox::SandboxError;
use corten_tender::diag::Diag;
use corten_tender::personality::{self, PersonalityError};
use corten_tender::Invocation;

use crate::arch::{self, ArchError, MemSizeError, VcpuInfo};
use crate::boot::{self, BootInfoError};
use crate::devices::{DeviceTableError, Devices};
use crate::exit_loop::{self, End, ExitStats, Guest};
use crate::guest_mem::{GuestMemory, HostPages, HostProt, MemError};
use crate::hypercall::{HypercallError, Hypercalls};
use crate::modules::dumpcore::DumpcoreError;
use crate::modules::Modules;
use crate::netring::{self, NetRing};
use crate::options::{HvtOptions, NetRingMode, OptionError};
use crate::sandbox::{self, Confinement};
use crate::vm::{Vm, VmError};
use crate::{diag, signals};

/// Why a run could not start. Every variant displays as the message the
/// tender prints after `corten-hvt: ` before exiting with status 1.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(transparent)]
    Option(#[from] OptionError),
    #[error(transparent)]
    MemSize(#[from] MemSizeError),
    /// The image does not fit guest memory, or could not be loaded.
    #[error(transparent)]
    Elf(#[from] ElfError),
    #[error(transparent)]
    Devices(#[from] DeviceTableError),
    #[error("Could not install signal handler: {0}")]
    Signals(std::io::Error),
    #[error(transparent)]
    Personality(#[from] PersonalityError),
    #[error(transparent)]
    Memory(#[from] MemError),
    /// Making text and rodata read-only on the host failed.
    #[error("{kernel}: {source}")]
    Protect { kernel: String, source: MemError },
    #[error(transparent)]
    Vm(#[from] VmError),
    #[error(transparent)]
    Arch(#[from] ArchError),
    #[error(transparent)]
    Hypercalls(#[from] HypercallError),
    #[error(transparent)]
    BootInfo(#[from] BootInfoError),
    #[error(transparent)]
    Dumpcore(#[from] DumpcoreError),
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    #[cfg(target_arch = "x86_64")]
    #[error(transparent)]
    Gdb(#[from] crate::modules::gdb::GdbError),
}

/// A guest set up and not yet started.
pub struct Ready {
    diag: Diag,
    opts: HvtOptions,
    /// For gdb's greeting (x86_64 only, like gdb).
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    kernel_name: String,
    confinement: Confinement,
    guest: Guest,
    modules: Modules,
    net_ring: Option<NetRing>,
}

/// Sets up the guest `inv` describes (warnings are printed as they come).
pub fn build(inv: &Invocation) -> Result<Ready, SetupError> {
    let d = &inv.diag;
    let elf = &inv.kernel.elf;
    let opts = HvtOptions::from_options(&inv.options)?;

    // Guest memory size: --mem rounded to what the architecture maps.
    let (mem_size, adjusted) = arch::mem_size(inv.options.mem_size)?;
    if adjusted {
        d.warn(format_args!("adjusting memory to {mem_size} bytes"));
    }
    let confinement = sandbox::detect();
    let plan = plan_net_ring(inv, opts.net_ring, mem_size, &confinement);
    // With a ring, the guest's memory ends where the ring starts.
    let guest_size = plan.map_or(mem_size, |p| p.ring_gpa);
    elf.check_layout(guest_size, HVT_GUEST_MIN_BASE)?;

    let devices = Devices::from_attached(&inv.devices)?;
    signals::install().map_err(SetupError::Signals)?;
    personality::refuse_read_implies_exec()?;

    let mem = load_guest_memory(inv, &opts, mem_size, plan)?;
    let (mut vm, accel, vcpu) = create_vm(mem, elf, guest_size)?;
    let hc = Hypercalls::new(devices)?;
    let net_ring = plan.and_then(|p| start_net_ring(d, &vm, &hc, p));
    write_boot_info(&mut vm, inv, guest_size, &vcpu, net_ring.as_ref())?;
    let modules = Modules::new(&opts)?;

    Ok(Ready {
        diag: d.clone(),
        opts,
        kernel_name: inv.kernel.path.to_string_lossy().into_owned(),
        confinement,
        guest: Guest {
            vm,
            hc,
            accel,
            stats: ExitStats::default(),
        },
        modules,
        net_ring,
    })
}

/// Whether and where to put the network ring: only with a network device,
/// unless `--net-ring=off`, and not when a launcher's filter already
/// confines the tender (the I/O thread needs `eventfd2`, `clone3` and more,
/// which urunc's list lacks, and probing would be fatal there).
fn plan_net_ring(
    inv: &Invocation,
    mode: NetRingMode,
    mem_size: u64,
    confinement: &Confinement,
) -> Option<netring::Plan> {
    if inv.devices.nets().is_empty() || mode == NetRingMode::Off {
        return None;
    }
    if *confinement != Confinement::Unconfined {
        inv.diag.warn(
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
    if mode == NetRingMode::Auto && usable_cpus() < 2 {
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

/// Maps guest memory (with the ring's share reserved at its top), loads
/// the image, then makes text and rodata read-only on the host so that a
/// guest write to them faults.
fn load_guest_memory(
    inv: &Invocation,
    opts: &HvtOptions,
    mem_size: u64,
    plan: Option<netring::Plan>,
) -> Result<GuestMemory, SetupError> {
    let elf = &inv.kernel.elf;
    let pages = if opts.hugepages {
        HostPages::Huge
    } else {
        HostPages::Small
    };
    let mut mem = GuestMemory::new_with(plan.map_or(mem_size, |p| p.mapped), pages)?;
    if let Some(p) = plan {
        mem.reserve_top(p.mapped - p.ring_gpa)
            .map_err(MemError::from)?;
    }
    // The one slice of guest memory: no vCPU or thread can see it yet.
    let image = mem.exclusive_slice()?;
    elf.load_into_zeroed(&inv.kernel.file, image)?;
    // Under gdb, text stays writable so that breakpoints can be set.
    if opts.gdb_port.is_none() {
        for s in elf.segments().iter().filter(|s| !s.prot.write) {
            mem.protect(s.start, s.end, HostProt::ReadOnly)
                .map_err(|source| SetupError::Protect {
                    kernel: inv.kernel.path.to_string_lossy().into_owned(),
                    source,
                })?;
        }
    }
    Ok(mem)
}

/// The VM with `mem` as its memory, and the architecture's state of it:
/// page tables and descriptor tables in guest memory, the vCPU's
/// registers for entering `elf`, ring-3 execution where it helps.
fn create_vm(
    mem: GuestMemory,
    elf: &Elf,
    guest_size: u64,
) -> Result<(Vm, arch::Accel, VcpuInfo), SetupError> {
    let mut vm = Vm::create(mem)?;
    let arch_opts = arch::ArchOptions::for_host(&vm.kvm);
    arch::setup_memory(&mut vm.mem, arch_opts)?;
    let info = arch::setup_vcpu(&vm.kvm, &vm.vm, &vm.vcpu, elf.entry(), guest_size)?;
    Ok((vm, arch::Accel::new(arch_opts), info))
}

/// Starts the ring's I/O thread; on failure the guest is not offered the
/// ring (the memory stays reserved, as upstream).
fn start_net_ring(d: &Diag, vm: &Vm, hc: &Hypercalls, plan: netring::Plan) -> Option<NetRing> {
    match NetRing::start(&vm.vm, vm.mem.shared(), plan.ring_gpa, &hc.devices) {
        Ok(r) => Some(r),
        Err(e) => {
            d.warn(format_args!(
                "not offering ring I/O for the network ({e}); the guest uses hypercalls"
            ));
            None
        }
    }
}

/// The boot info, the boot-time manifest and the command line, with the
/// ring's offer when its I/O thread runs.
fn write_boot_info(
    vm: &mut Vm,
    inv: &Invocation,
    guest_size: u64,
    vcpu: &VcpuInfo,
    net_ring: Option<&NetRing>,
) -> Result<(), SetupError> {
    let cmdline = inv.cmdline.strip_suffix(b"\0").unwrap_or(&inv.cmdline);
    let manifest = inv.devices.manifest_bytes();
    boot::write(
        &mut vm.mem,
        arch::BOOT_INFO_BASE,
        &boot::BootInfo {
            mem_size: guest_size,
            kernel_end: inv.kernel.elf.kernel_end(),
            cpu_cycle_freq: vcpu.cycle_freq,
            manifest: &manifest,
            cmdline,
            host_features: if net_ring.is_some() {
                HVT_FEATURE_RING_IO
            } else {
                0
            },
            net_ring: net_ring.map_or(0, NetRing::gpa),
        },
    )?;
    Ok(())
}

impl Ready {
    /// Confines the tender (seccomp) and runs the guest to its end, under
    /// gdb with `--gdb`; returns the exit status.
    pub fn confine_and_run(self) -> Result<i32, SetupError> {
        // Never dropped: closing descriptors and tearing down the VM are
        // not on the seccomp allow-list, and the kernel does both when the
        // process exits, right after.
        let mut this = ManuallyDrop::new(self);
        this.confine()?;
        let end = this.exit_loop_or_gdb()?;
        if let Some(r) = &this.net_ring {
            r.drain();
        }
        if std::env::var_os("CORTEN_HVT_STATS").is_some() {
            diag::print(format_args!(
                "stats: {}; {}{}",
                this.guest.stats.summary(),
                this.guest.accel.summary(),
                this.net_ring
                    .as_ref()
                    .map(|r| format!("; {}", r.summary()))
                    .unwrap_or_default()
            ));
        }
        Ok(end.status)
    }

    /// Installs the tender's seccomp filter, unless a debugging module is
    /// on or a launcher's filter already confines the tender.
    fn confine(&self) -> Result<(), SetupError> {
        let d = &self.diag;
        if self.opts.debugging() {
            d.warn(
                "not installing the seccomp filter: --gdb and --dumpcore need system calls the \
                 run-time filter does not allow (as upstream's solo5-hvt-debug)",
            );
            return Ok(());
        }
        let hc = &self.guest.hc;
        let policy = sandbox::Policy {
            vcpu_fd: self.guest.vm.vcpu.as_raw_fd(),
            block: hc
                .devices
                .block_fds()
                .map(|(_, fd, bs, cap)| (fd, bs, cap))
                .collect(),
            net: hc.devices.net_fds().map(|(_, fd)| fd).collect(),
            epoll_fd: hc.poller.epoll_fd(),
            timer_fd: hc.poller.timer_fd(),
            net_ring_kick_fd: self.net_ring.as_ref().map(NetRing::kick_fd),
        };
        match &self.confinement {
            Confinement::Unconfined => policy.install()?,
            Confinement::Confined(status) => d.warn(format_args!(
                "already confined by a seccomp filter (seccomp mode {}); running under it \
                 without adding one, since the outer filter may forbid installing another",
                status.mode.as_raw()
            )),
            // Fail closed: when nothing can tell, install the filter (if an
            // outer filter forbids that, the run ends here with its message).
            Confinement::Unknown { reason } => {
                d.warn(format_args!(
                    "cannot tell whether a seccomp filter already confines this process \
                     ({reason}); installing the tender's own"
                ));
                policy.install()?
            }
        }
        Ok(())
    }

    /// The exit loop, or gdb's stub driving it.
    fn exit_loop_or_gdb(&mut self) -> Result<End, SetupError> {
        #[cfg(target_arch = "x86_64")]
        if let Some(port) = self.opts.gdb_port {
            use crate::modules::gdb;
            let listener = gdb::listen(port)?;
            return Ok(gdb::serve(
                listener,
                &self.kernel_name,
                &mut self.guest,
                &mut self.modules,
            )?);
        }
        Ok(exit_loop::run_to_end(&mut self.guest, &mut self.modules))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The one report prints what the failing step's error says.
    #[test]
    fn messages_are_the_steps_own() {
        let inner = OptionError::NetRing("x".into());
        assert_eq!(
            SetupError::from(inner).to_string(),
            "Invalid option: `--net-ring=x': give auto, on or off"
        );
        let e = SetupError::Signals(std::io::Error::from_raw_os_error(libc::EINVAL));
        assert!(
            e.to_string()
                .starts_with("Could not install signal handler: "),
            "{e}"
        );
        let e = SetupError::from(DeviceTableError::Duplicate(3));
        assert_eq!(e.to_string(), "device handle 3 is attached twice");
    }
}
