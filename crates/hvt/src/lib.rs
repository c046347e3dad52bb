//! corten-hvt: a Solo5 (ABI version 2) hvt tender. It runs one unikernel
//! in a one-vCPU KVM virtual machine and serves its hypercalls.
//!
//! Flow of a run (see `tender_main`): command line → ELF + manifest →
//! devices attached → guest memory laid out and loaded → VM and vCPU →
//! boot info → seccomp → exit loop.

pub mod arch;
pub mod bench;
pub mod boot;
pub mod devices;
pub mod diag;
pub mod guest_mem;
pub mod hypercall;
mod interim;
pub mod modules;
pub mod run;
pub mod sandbox;
pub mod signals;
pub mod vm;

use std::fs::File;

use corten_abi::hvt::{HVT_ABI_VERSION, HVT_GUEST_MIN_BASE};
use corten_abi::mft::MftDeviceProps;
use corten_abi::note::AbiTarget;

use crate::devices::{BlockDevice, Device, Devices, NetDevice};
use crate::guest_mem::{GuestMemory, HostProt};
use crate::sandbox::Confinement;

/// Runs the tender with `argv` (program name first); returns the exit
/// status.
pub fn tender_main(argv: &[String]) -> i32 {
    match run_tender(argv) {
        Ok(status) => status,
        Err(msg) => {
            diag::print(format_args!("{msg}"));
            diag::EXIT_TENDER_ERROR
        }
    }
}

fn usage() -> ! {
    diag::write_fd(
        2,
        b"usage: corten-hvt [ CORE OPTIONS ] [ MODULE OPTIONS ] [ -- ] KERNEL [ ARGS ]\n\
KERNEL is the filename of the unikernel to run.\n\
ARGS are optional arguments passed to the unikernel.\n\
Core options:\n\
  [ --mem=512 ] (guest memory in MB)\n\
    --help (display this help)\n\
    --version (display version information)\n",
    );
    diag::exit(1)
}

fn run_tender(argv: &[String]) -> Result<i32, String> {
    for a in argv.iter().skip(1) {
        match a.as_str() {
            "--help" => usage(),
            "--version" => {
                diag::write_fd(
                    2,
                    format!(
                        "corten-hvt tender, version {}\nABI version {HVT_ABI_VERSION}\n",
                        env!("CARGO_PKG_VERSION")
                    )
                    .as_bytes(),
                );
                diag::exit(0);
            }
            "--" => break,
            s if !s.starts_with('-') => break,
            _ => {}
        }
    }
    let opts = interim::parse_args(argv).map_err(|e| e.to_string())?;
    let kernel_name = opts.kernel.clone();
    let file = File::open(&opts.kernel).map_err(|e| format!("{kernel_name}: Could not open: {e}"))?;
    let elf = interim::parse_elf(&file).map_err(|e| format!("{kernel_name}: {e}"))?;
    match elf.abi {
        None => return Err(format!("{kernel_name}: No Solo5 ABI information found in executable")),
        Some((t, _)) if t != AbiTarget::Hvt as u32 => {
            return Err(format!("{kernel_name}: Executable is not for the solo5-hvt target"))
        }
        Some((_, v)) if v != HVT_ABI_VERSION => {
            return Err(format!(
                "{kernel_name}: Executable requests unsupported ABI version {v}"
            ))
        }
        _ => {}
    }
    let desc = elf
        .mft_desc
        .as_deref()
        .ok_or_else(|| format!("{kernel_name}: No Solo5 manifest found in executable"))?;
    let mut manifest = interim::parse_manifest(desc).map_err(|e| format!("{kernel_name}: {e}"))?;

    // Devices.
    let mut devices = Devices::new();
    for (name, path) in &opts.blocks {
        let idx = manifest
            .find(name, interim::BLOCK)
            .ok_or_else(|| format!("Resource not declared in manifest: '{name}'"))?;
        let (fd, capacity) = interim::open_block(path).map_err(|e| e.to_string())?;
        let block_size = opts
            .block_sizes
            .iter()
            .find(|(n, _)| n == name)
            .map_or(512, |&(_, s)| s);
        if capacity % block_size != 0 {
            return Err(format!(
                "{name}: Backing storage size must be block aligned ({block_size} bytes)"
            ));
        }
        if capacity < block_size {
            return Err(format!(
                "{name}: Backing storage must be at least 1 block ({block_size} bytes) in size"
            ));
        }
        let e = manifest.entries.get_mut(idx).ok_or("manifest index")?;
        e.props = MftDeviceProps::block(capacity, block_size as u16);
        e.set_hostfd(std::os::fd::AsRawFd::as_raw_fd(&fd));
        e.attached = 1;
        devices
            .insert(
                idx as u64,
                Device::Block(BlockDevice {
                    name: name.clone(),
                    fd,
                    capacity,
                    block_size,
                }),
            )
            .map_err(|e| e.to_string())?;
    }
    for (name, iface) in &opts.nets {
        let idx = manifest
            .find(name, interim::NET)
            .ok_or_else(|| format!("Resource not declared in manifest: '{name}'"))?;
        let fd = interim::open_tap(iface).map_err(|e| e.to_string())?;
        let mac = opts
            .macs
            .iter()
            .find(|(n, _)| n == name)
            .map_or([0x02, 0x00, 0x10, 0x01, 0x04, idx as u8], |&(_, m)| m);
        let e = manifest.entries.get_mut(idx).ok_or("manifest index")?;
        e.props = MftDeviceProps::net(mac, 1500);
        e.set_hostfd(std::os::fd::AsRawFd::as_raw_fd(&fd));
        e.attached = 1;
        devices
            .insert(
                idx as u64,
                Device::Net(NetDevice {
                    name: name.clone(),
                    fd,
                }),
            )
            .map_err(|e| e.to_string())?;
    }
    let mut missing = false;
    for e in manifest.entries.iter().skip(1) {
        if e.attached == 0 {
            diag::print(format_args!(
                "Device '{}' of type {} declared but not attached.",
                String::from_utf8_lossy(e.name_bytes()),
                if e.mtype == interim::BLOCK { "BLOCK_BASIC" } else { "NET_BASIC" }
            ));
            missing = true;
        }
    }
    if missing {
        return Err("All declared devices must be attached. See --help for syntax.".into());
    }

    signals::install().map_err(|e| format!("Could not install signal handler: {e}"))?;

    // Guest memory.
    let (mem_size, adjusted) = arch::mem_size(opts.mem_mib.saturating_mul(1 << 20))
        .map_err(|e| e.to_string())?;
    if adjusted {
        diag::print(format_args!("adjusting memory to {mem_size} bytes"));
    }
    let mut mem = GuestMemory::new(mem_size).map_err(|e| e.to_string())?;
    elf.load(&file, mem.as_mut_slice(), HVT_GUEST_MIN_BASE)
        .map_err(|e| format!("{kernel_name}: {e}"))?;
    drop(file);
    for s in &elf.segments {
        let start = s.vaddr & !0xfff;
        let end = (s.vaddr + s.memsz + 0xfff) & !0xfff;
        if s.flags & 2 == 0 {
            mem.protect(start, end, HostProt::ReadOnly)
                .map_err(|e| e.to_string())?;
        }
    }

    let ring3 = arch_options();
    let mut vm = vm::Vm::create(mem).map_err(|e| e.to_string())?;
    arch::setup_vm(&vm.vm).map_err(|e| e.to_string())?;
    arch::setup_memory(&mut vm.mem, ring3).map_err(|e| e.to_string())?;
    let info = arch::setup_vcpu(&vm.kvm, &vm.vm, &vm.vcpu, elf.entry, mem_size)
        .map_err(|e| e.to_string())?;

    let cmdline = opts.args.join(" ");
    let mft_bytes = manifest.to_bytes();
    boot::write(
        &mut vm.mem,
        arch::BOOT_INFO_BASE,
        &boot::BootInfo {
            mem_size,
            kernel_end: elf.kernel_end(),
            cpu_cycle_freq: info.cycle_freq,
            manifest: &mft_bytes,
            cmdline: cmdline.as_bytes(),
            host_features: 0,
            net_ring: 0,
        },
    )
    .map_err(|e| e.to_string())?;

    let mut hc = hypercall::Hypercalls::new(devices).map_err(|e| e.to_string())?;
    let mut modules = modules::Modules::default();
    #[cfg(target_arch = "x86_64")]
    if ring3.ring3 {
        modules.ring3 = Some(arch::ring3::Ring3::new());
    }

    let sandbox_policy = sandbox::Policy {
        vcpu_fd: std::os::fd::AsRawFd::as_raw_fd(&vm.vcpu),
        block: hc
            .devices
            .block_fds()
            .map(|(_, fd, bs, cap)| (fd, bs, cap))
            .collect(),
        net: hc.devices.net_fds().map(|(_, fd)| fd).collect(),
        epoll_fd: hc.poller.epoll_fd(),
        timer_fd: hc.poller.timer_fd(),
    };
    enter_sandbox(&sandbox_policy)?;

    let mut stats = run::ExitStats::default();
    let end = run::run(&mut vm, &mut hc, &mut modules, &mut stats);
    if std::env::var_os("CORTEN_HVT_STATS").is_some() {
        diag::print(format_args!("stats: {}", stats.summary()));
    }
    // Exit here, without running destructors: closing descriptors and
    // tearing down the VM are not on the seccomp allow-list, and the kernel
    // does both at exit anyway.
    diag::exit(end.status)
}

#[cfg(target_arch = "x86_64")]
fn arch_options() -> arch::ArchOptions {
    arch::ArchOptions {
        ring3: arch::ring3::enabled(),
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn arch_options() -> arch::ArchOptions {
    arch::ArchOptions::default()
}

fn enter_sandbox(policy: &sandbox::Policy) -> Result<(), String> {
    match sandbox::detect() {
        Confinement::Unconfined => policy.install().map_err(|e| e.to_string()),
        Confinement::Confined { mode } => {
            diag::print(format_args!(
                "already confined by a seccomp filter (seccomp mode {mode}); running under it \
                 without adding one, since the outer filter may forbid installing another"
            ));
            Ok(())
        }
        Confinement::Unknown { reason } => {
            diag::print(format_args!(
                "cannot tell whether a seccomp filter already confines this process \
                 ({reason}); assuming the launcher confined it (as urunc does) and running \
                 without adding one"
            ));
            Ok(())
        }
    }
}
