//! aarch64 backend: initial vCPU state (EL1h, MMU on with the identity
//! map, FP/SIMD enabled), hypercall decoding, register dumps.

pub mod layout;

use std::fmt::Write as _;

use corten_abi::hvt::aarch64 as abi;
use corten_abi::hvt::{HVT_HALT_COOKIE_MAX, HVT_HYPERCALL_MAX};
use kvm_bindings::{
    kvm_vcpu_init, KVM_REG_ARM64, KVM_REG_ARM64_SYSREG, KVM_REG_ARM_CORE, KVM_REG_SIZE_U64,
};
use kvm_ioctls::{Kvm, VcpuExit, VcpuFd, VmFd};

use super::{DebugTrap, Exit, VcpuInfo};
use crate::guest_mem::{GuestAccessError, GuestMemory};
use crate::vm::Vm;

/// Where the tender writes the boot info (the guest entry's argument).
pub const BOOT_INFO_BASE: u64 = abi::BOOT_INFO_BASE;
/// Name of the architecture in messages.
pub const NAME: &str = "aarch64";
/// Name of the instruction pointer in messages.
pub const IP_NAME: &str = "pc";
/// Where hypercalls go, for messages.
pub const HYPERCALL_WINDOW: &str = "MMIO addresses 0x100000008..0x100000040";
/// What a bad I/O access (`Exit::BadIo`) is, in messages:
/// "Invalid guest {BAD_IO}=0x…".
pub const BAD_IO: &str = "MMIO access: address";
/// Guest memory comes in multiples of this (one 2 MiB block).
pub const MEM_BLOCK: u64 = abi::GUEST_BLOCK_SIZE;
/// Largest guest memory (everything below the MMIO window).
pub const MEM_MAX: u64 = abi::GUEST_MAX_MEM_SIZE;
/// [`MEM_MAX`] in words, for messages.
pub const MEM_MAX_NOTE: &str = "4 GiB, below the MMIO window";
/// The network ring's kick address.
pub const NET_RING_KICK: super::NetRingKick = super::NetRingKick::Mmio(abi::RING_KICK_MMIO_BASE);

/// `e_machine` of core files (EM_AARCH64).
pub const ELF_MACHINE: u16 = 183;

/// ID of a core register at byte offset `off` in `struct kvm_regs`.
const fn core_reg(off: u64) -> u64 {
    KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE as u64 | (off / 4)
}
/// ID of system register (op0, op1, CRn, CRm, op2).
const fn sys_reg(op0: u64, op1: u64, crn: u64, crm: u64, op2: u64) -> u64 {
    KVM_REG_ARM64
        | KVM_REG_SIZE_U64
        | KVM_REG_ARM64_SYSREG as u64
        | (op0 << 14)
        | (op1 << 11)
        | (crn << 7)
        | (crm << 3)
        | op2
}

// struct kvm_regs: user_pt_regs { regs[31], sp, pc, pstate }, sp_el1, ...
const REG_X0: u64 = core_reg(0);
const REG_SP_EL0: u64 = core_reg(31 * 8);
const REG_PC: u64 = core_reg(32 * 8);
const REG_PSTATE: u64 = core_reg(33 * 8);
const REG_SP_EL1: u64 = core_reg(34 * 8);

const CPACR_EL1: u64 = sys_reg(3, 0, 1, 0, 2);
const SCTLR_EL1: u64 = sys_reg(3, 0, 1, 0, 0);
const TTBR0_EL1: u64 = sys_reg(3, 0, 2, 0, 0);
const TCR_EL1: u64 = sys_reg(3, 0, 2, 0, 2);
const MAIR_EL1: u64 = sys_reg(3, 0, 10, 2, 0);

/// EL1h with debug, SError, IRQ and FIQ masked.
const PSTATE_INIT: u64 = (1 << 9) | (1 << 8) | (1 << 7) | (1 << 6) | 0b0101;
/// CPACR_EL1.FPEN = 0b11: FP/SIMD does not trap.
const CPACR_FPEN: u64 = 0b11 << 20;
/// Memory attributes by index: device nGnRnE (0x00, index 0), nGnRE, GRE,
/// normal non-cacheable, normal write-back, normal write-through.
const MAIR_EL1_INIT: u64 = (0x04 << 8) | (0x0c << 16) | (0x44 << 24) | (0xff << 32) | (0xbb << 40);
/// 40-bit VA in both halves, write-back cacheable inner-shareable walks,
/// 4 KiB granules, 16-bit ASIDs, top byte ignored in TTBR0, 1 TiB PA.
const TCR_EL1_INIT: u64 = 24 // T0SZ
    | (24 << 16)
    | (1 << 8)
    | (1 << 24)
    | (1 << 10)
    | (1 << 26)
    | (3 << 12)
    | (3 << 28)
    | (2 << 30)
    | (1 << 36)
    | (1 << 37)
    | (2 << 32);
/// MMU, data cache, instruction cache.
const SCTLR_EL1_INIT: u64 = 1 | (1 << 2) | (1 << 12);

#[derive(Debug, thiserror::Error)]
pub enum ArchError {
    #[error("KVM: could not get the preferred vCPU target: {0}")]
    PreferredTarget(kvm_ioctls::Error),
    #[error("KVM: could not initialise the vCPU: {0}")]
    VcpuInit(kvm_ioctls::Error),
    #[error("KVM: could not set register {name}: {source}")]
    SetReg {
        name: &'static str,
        source: kvm_ioctls::Error,
    },
    #[error("KVM: could not read register {name}: {source}")]
    GetReg {
        name: &'static str,
        source: kvm_ioctls::Error,
    },
    #[error("could not write the guest page tables: {0}")]
    Layout(#[from] GuestAccessError),
}

/// Options of the aarch64 backend (none yet).
#[derive(Clone, Copy, Debug, Default)]
pub struct ArchOptions {}

impl ArchOptions {
    /// The same on every host.
    pub fn for_host(_kvm: &Kvm) -> ArchOptions {
        ArchOptions {}
    }
}

/// The backend's run-time state beside the vCPU: none on aarch64 (no
/// ring-3 execution); the same interface as x86_64's.
pub struct Accel;

impl Accel {
    pub fn new(_opts: ArchOptions) -> Accel {
        Accel
    }

    /// After every hypercall that lets the guest continue.
    pub fn after_hypercall(&mut self, _vm: &mut Vm) {}

    /// How to show registers as the guest set them.
    pub fn register_view(&self) -> RegisterView<'_> {
        RegisterView::default()
    }

    /// No debug traps reach the tender on aarch64.
    pub fn debug_trap(
        &self,
        _vm: &mut Vm,
        _port: u64,
        _stepping: bool,
        _is_breakpoint: impl Fn(u64) -> bool,
    ) -> Option<DebugTrap> {
        None
    }

    /// One line for `CORTEN_HVT_STATS=1`.
    pub fn summary(&self) -> String {
        "ring-3 execution off".to_owned()
    }
}

/// Writes the guest page tables.
pub fn setup_memory(mem: &mut GuestMemory, _opts: ArchOptions) -> Result<(), ArchError> {
    layout::write_page_tables(mem)?;
    Ok(())
}

fn set(vcpu: &VcpuFd, name: &'static str, id: u64, value: u64) -> Result<(), ArchError> {
    vcpu.set_one_reg(id, &value.to_le_bytes())
        .map(|_| ())
        .map_err(|source| ArchError::SetReg { name, source })
}

fn get(vcpu: &VcpuFd, id: u64) -> Result<u64, kvm_ioctls::Error> {
    let mut b = [0u8; 8];
    vcpu.get_one_reg(id, &mut b)?;
    Ok(u64::from_le_bytes(b))
}

/// The host's generic timer frequency; guests read the same counter.
fn counter_frequency() -> u64 {
    let freq: u64;
    // SAFETY: CNTFRQ_EL0 is readable at EL0 on Linux and has no side
    // effects.
    unsafe { std::arch::asm!("mrs {}, cntfrq_el0", out(reg) freq, options(nomem, nostack)) };
    freq
}

/// Initialises the vCPU and its registers for `entry`.
pub fn setup_vcpu(
    _kvm: &Kvm,
    vm: &VmFd,
    vcpu: &VcpuFd,
    entry: u64,
    mem_size: u64,
) -> Result<VcpuInfo, ArchError> {
    let mut init = kvm_vcpu_init::default();
    vm.get_preferred_target(&mut init)
        .map_err(ArchError::PreferredTarget)?;
    vcpu.vcpu_init(&init).map_err(ArchError::VcpuInit)?;

    let cpacr = get(vcpu, CPACR_EL1).map_err(|source| ArchError::GetReg {
        name: "CPACR_EL1",
        source,
    })?;
    set(
        vcpu,
        "CPACR_EL1",
        CPACR_EL1,
        (cpacr & !(0b11 << 20)) | CPACR_FPEN,
    )?;
    set(vcpu, "MAIR_EL1", MAIR_EL1, MAIR_EL1_INIT)?;
    set(vcpu, "TCR_EL1", TCR_EL1, TCR_EL1_INIT)?;
    set(vcpu, "TTBR0_EL1", TTBR0_EL1, abi::PGD_BASE)?;
    set(vcpu, "SCTLR_EL1", SCTLR_EL1, SCTLR_EL1_INIT)?;

    set(vcpu, "PSTATE", REG_PSTATE, PSTATE_INIT)?;
    // AAPCS64: 16-byte aligned stack.
    set(vcpu, "SP_EL1", REG_SP_EL1, mem_size - 16)?;
    set(vcpu, "X0", REG_X0, BOOT_INFO_BASE)?;
    set(vcpu, "PC", REG_PC, entry)?;
    Ok(VcpuInfo {
        cycle_freq: counter_frequency(),
    })
}

/// Decodes an MMIO exit; `None` for exits that are not MMIO. In the MMIO
/// window anything but a hypercall's 32-bit store is a bad I/O access
/// (the x86_64 port accesses' counterpart); elsewhere an access to no
/// memory.
pub fn decode_io(exit: &VcpuExit<'_>) -> Option<Exit> {
    let (addr, len, write) = match exit {
        VcpuExit::MmioWrite(addr, data) => {
            let base = abi::HYPERCALL_MMIO_BASE;
            let end = abi::hypercall_address(HVT_HYPERCALL_MAX);
            if let Ok(bytes) = <[u8; 4]>::try_from(&data[..]) {
                if *addr >= base && *addr < end {
                    return Some(Exit::Hypercall {
                        nr: ((*addr - base) >> 3) as u32,
                        arg: u64::from(u32::from_le_bytes(bytes)),
                    });
                }
            }
            (*addr, data.len(), true)
        }
        VcpuExit::MmioRead(addr, data) => (*addr, data.len(), false),
        _ => return None,
    };
    let window = abi::HYPERCALL_MMIO_BASE..abi::HYPERCALL_MMIO_BASE.saturating_add(abi::MMIO_SIZE);
    Some(if window.contains(&addr) {
        Exit::BadIo {
            port: addr,
            len,
            write,
        }
    } else {
        Exit::Mmio { addr, len, write }
    })
}

/// Whether the guest cannot take exceptions at all (never decided on
/// aarch64: KVM reports those as a synchronous external abort instead).
pub fn exceptions_undeliverable(_vcpu: &VcpuFd) -> bool {
    false
}

/// The guest's program counter, for short messages.
pub fn instruction_pointer(vcpu: &VcpuFd) -> Option<u64> {
    get(vcpu, REG_PC).ok()
}

/// A multi-line dump of the guest's registers.
pub fn register_dump(vcpu: &VcpuFd) -> String {
    let mut s = String::new();
    let rd = |id| get(vcpu, id).map_or_else(|_| "?".to_owned(), |v| format!("{v:#018x}"));
    let _ = writeln!(
        s,
        "pc={} pstate={} sp_el1={} sp_el0={}",
        rd(REG_PC),
        rd(REG_PSTATE),
        rd(REG_SP_EL1),
        rd(REG_SP_EL0)
    );
    for row in 0..8u64 {
        let mut line = String::new();
        for col in 0..4u64 {
            let n = row * 4 + col;
            if n < 31 {
                let _ = write!(line, "x{n:<2}={} ", rd(core_reg(n * 8)));
            }
        }
        let _ = writeln!(s, "{}", line.trim_end());
    }
    s
}

/// The guest's trap frame (the halt cookie of a guest exception, in
/// Corten's runtime layout), as text.
pub fn trap_frame_dump(mem: &GuestMemory, cookie: u64, _view: RegisterView<'_>) -> Option<String> {
    let t = mem.read::<abi::TrapFrame>(cookie).ok()?;
    Some(format!(
        "guest trap frame: pc={:#x} lr={:#x} fp={:#x} esr={:#x} (class {:#x}) far={:#x} \
         spsr={:#x}",
        t.elr,
        t.x[30],
        t.x[29],
        t.esr,
        (t.esr >> 26) & 0x3f,
        t.far,
        t.spsr
    ))
}

/// How the guest's own register view differs from the vCPU's: not at all
/// on aarch64 (no ring-3 execution).
#[derive(Clone, Copy, Default)]
pub struct RegisterView<'a>(std::marker::PhantomData<&'a ()>);

/// The NT_PRSTATUS descriptor of a core file (`struct elf_prstatus`,
/// 392 bytes): `pr_reg` (x0..x30, sp, pc, pstate) at offset 112. After a
/// guest exception (a cookie holding Corten's trap frame) the registers
/// are the ones the exception interrupted, so the core points at the
/// faulting instruction, not at the handler's HALT.
pub fn core_prstatus(
    vcpu: &VcpuFd,
    mem: &GuestMemory,
    cookie: Option<u64>,
    _view: RegisterView<'_>,
) -> Vec<u8> {
    let mut regs: Vec<u64> = (0..34u64)
        .map(|i| {
            let id = match i {
                31 => REG_SP_EL1,
                32 => REG_PC,
                33 => REG_PSTATE,
                n => core_reg(n * 8),
            };
            get(vcpu, id).unwrap_or(0)
        })
        .collect();
    if let Some((c, frame)) = cookie.and_then(|c| Some((c, mem.read::<abi::TrapFrame>(c).ok()?))) {
        interrupted_registers(&mut regs, c, &frame);
    }
    super::prstatus(392, regs)
}

/// Replaces `regs` (x0..x30, sp, pc, pstate) with those of the trap frame
/// at `cookie`. The guest's entry code took the exception on SP_EL1 and
/// reserved the cookie's 512 bytes below the interrupted stack pointer.
fn interrupted_registers(regs: &mut [u64], cookie: u64, frame: &abi::TrapFrame) {
    let sp = cookie.wrapping_add(HVT_HALT_COOKIE_MAX as u64);
    let values = frame.x.iter().copied().chain([sp, frame.elr, frame.spsr]);
    for (slot, value) in regs.iter_mut().zip(values) {
        *slot = value;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mmio_exits_are_hypercalls_bad_io_or_no_memory() {
        let poll = abi::hypercall_address(3);
        let arg = 0x1234u32.to_le_bytes();
        assert!(matches!(
            decode_io(&VcpuExit::MmioWrite(poll, &arg)),
            Some(Exit::Hypercall { nr: 3, arg: 0x1234 })
        ));
        // A byte store, a load, a store past the hypercalls: bad I/O.
        assert!(matches!(
            decode_io(&VcpuExit::MmioWrite(poll, &[0])),
            Some(Exit::BadIo {
                len: 1,
                write: true,
                ..
            })
        ));
        let mut word = [0u8; 4];
        assert!(matches!(
            decode_io(&VcpuExit::MmioRead(poll, &mut word)),
            Some(Exit::BadIo {
                len: 4,
                write: false,
                ..
            })
        ));
        let past = abi::HYPERCALL_MMIO_BASE + 0x10_0000;
        assert!(matches!(
            decode_io(&VcpuExit::MmioWrite(past, &arg)),
            Some(Exit::BadIo { port, .. }) if port == past
        ));
        // Outside the window: no memory there.
        let beyond = abi::HYPERCALL_MMIO_BASE + abi::MMIO_SIZE;
        assert!(matches!(
            decode_io(&VcpuExit::MmioWrite(beyond, &arg)),
            Some(Exit::Mmio { addr, .. }) if addr == beyond
        ));
        assert!(decode_io(&VcpuExit::Hlt).is_none());
    }

    #[test]
    fn a_trap_frame_gives_the_interrupted_registers() {
        let mut frame = abi::TrapFrame::default();
        for (i, x) in frame.x.iter_mut().enumerate() {
            *x = i as u64;
        }
        frame.elr = 0x10_1904;
        frame.spsr = 0x3c5;
        let mut regs = vec![u64::MAX; 34];
        interrupted_registers(&mut regs, 0xffff_f000, &frame);
        assert_eq!(regs[..31], frame.x);
        assert_eq!(regs[31], 0xffff_f200); // sp: above the 512 reserved bytes
        assert_eq!(regs[32], 0x10_1904);
        assert_eq!(regs[33], 0x3c5);
    }

    #[test]
    fn register_ids_match_the_kernel() {
        // Values from the Linux uapi (KVM_REG_ARM_CORE_REG(regs.pc) etc.).
        assert_eq!(REG_PC, 0x6030_0000_0010_0040);
        assert_eq!(REG_PSTATE, 0x6030_0000_0010_0042);
        assert_eq!(REG_SP_EL1, 0x6030_0000_0010_0044);
        assert_eq!(SCTLR_EL1, 0x6030_0000_0013_c080);
        assert_eq!(TCR_EL1, 0x6030_0000_0013_c102);
    }
}
