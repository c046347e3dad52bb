//! x86_64 backend: initial vCPU state, hypercall decoding, register dumps.

pub mod layout;
pub mod ring3;

use std::fmt::Write as _;

use corten_abi::hvt::x86_64 as abi;
use corten_abi::hvt::HVT_HYPERCALL_MAX;
use kvm_bindings::{kvm_regs, kvm_sregs, kvm_xcrs, KVM_MAX_CPUID_ENTRIES};
use kvm_ioctls::{Cap, Kvm, VcpuExit, VcpuFd, VmFd};

use super::{DebugTrap, Exit, VcpuInfo};
use crate::guest_mem::{GuestAccessError, GuestMemory};
use crate::vm::Vm;

/// Where the tender writes the boot info (the guest entry's argument).
pub const BOOT_INFO_BASE: u64 = abi::BOOT_INFO_BASE;

/// Name of the architecture in messages.
pub const NAME: &str = "x86_64";
/// Name of the instruction pointer in messages.
pub const IP_NAME: &str = "rip";
/// Where hypercalls go, for messages.
pub const HYPERCALL_WINDOW: &str = "ports 0x501..0x508";
/// What a bad I/O access (`Exit::BadIo`) is, in messages:
/// "Invalid guest {BAD_IO}=0x…" (upstream's words).
pub const BAD_IO: &str = "port access: port";
/// Guest memory comes in multiples of this (one 2 MiB page).
pub const MEM_BLOCK: u64 = abi::GUEST_PAGE_SIZE;
/// Largest guest memory (what four page directories map).
pub const MEM_MAX: u64 = abi::GUEST_MAX_MEM_SIZE;
/// [`MEM_MAX`] in words, for messages.
pub const MEM_MAX_NOTE: &str = "4 GiB";
/// The network ring's kick port.
pub const NET_RING_KICK: super::NetRingKick = super::NetRingKick::Pio(abi::RING_KICK_PIO_BASE);

const CR0_PE: u64 = 1 << 0;
const CR0_NE: u64 = 1 << 5;
const CR0_WP: u64 = 1 << 16;
const CR0_PG: u64 = 1 << 31;
const CR4_PAE: u64 = 1 << 5;
const CR4_OSFXSR: u64 = 1 << 9;
const CR4_OSXMMEXCPT: u64 = 1 << 10;
const CR4_OSXSAVE: u64 = 1 << 18;
const EFER_LME: u64 = 1 << 8;
const EFER_LMA: u64 = 1 << 10;
/// Bit 1 of RFLAGS is reserved and always set.
const RFLAGS_INIT: u64 = 0x2;

/// CPUID.1:ECX.XSAVE
const CPUID1_ECX_XSAVE: u32 = 1 << 26;
/// XCR0 components the tender enables when the host offers them: x87,
/// SSE, AVX, and the three AVX-512 components together.
const XCR0_X87: u64 = 1 << 0;
const XCR0_SSE: u64 = 1 << 1;
const XCR0_AVX: u64 = 1 << 2;
const XCR0_AVX512: u64 = 0b111 << 5;

#[derive(Debug, thiserror::Error)]
pub enum ArchError {
    #[error("KVM: could not read the host's supported CPUID: {0}")]
    SupportedCpuid(kvm_ioctls::Error),
    #[error("KVM: could not set the vCPU's CPUID: {0}")]
    SetCpuid(kvm_ioctls::Error),
    #[error("KVM: could not set the vCPU's special registers: {0}")]
    SetSregs(kvm_ioctls::Error),
    #[error("KVM: could not set the vCPU's general registers: {0}")]
    SetRegs(kvm_ioctls::Error),
    #[error("KVM: could not enable extended FPU state (XCR0 = {xcr0:#x}): {source}")]
    SetXcrs {
        xcr0: u64,
        source: kvm_ioctls::Error,
    },
    #[error(
        "KVM: the host cannot report the guest TSC frequency (KVM_CAP_GET_TSC_KHZ missing); \
         hvt guests need it to keep time"
    )]
    NoTscKhz,
    #[error("KVM: host TSC is unstable, cannot continue (KVM_GET_TSC_KHZ returned EIO)")]
    UnstableTsc,
    #[error("KVM: could not read the guest TSC frequency: {0}")]
    TscKhz(std::io::Error),
    #[error("could not write the guest page tables and GDT: {0}")]
    Layout(#[from] GuestAccessError),
}

/// Options of the x86_64 backend.
#[derive(Clone, Copy, Debug, Default)]
pub struct ArchOptions {
    /// Build page tables that allow running the guest at CPL 3.
    pub ring3: bool,
}

impl ArchOptions {
    /// Ring-3 execution where the host emulates CPL 0 (also under --gdb
    /// and --dumpcore, which handle it).
    pub fn for_host(kvm: &Kvm) -> ArchOptions {
        ArchOptions {
            ring3: ring3::enabled(kvm),
        }
    }
}

/// The backend's run-time state beside the vCPU: ring-3 execution, when
/// on. The exit loop consults it at every exit it handles.
pub struct Accel {
    ring3: Option<ring3::Ring3>,
}

impl Accel {
    pub fn new(opts: ArchOptions) -> Accel {
        Accel {
            ring3: opts.ring3.then(ring3::Ring3::new),
        }
    }

    /// After every hypercall that lets the guest continue.
    pub fn after_hypercall(&mut self, vm: &mut Vm) {
        if let Some(r3) = self.ring3.as_mut() {
            r3.after_exit(vm);
        }
    }

    /// How to show registers as the guest set them.
    pub fn register_view(&self) -> RegisterView<'_> {
        RegisterView(self.ring3.as_ref())
    }

    /// A port exit that is not a hypercall: `Some` if it is the report of
    /// a #DB/#BP that reached ring-3 execution's shims, undone here when
    /// it is the debugger's (`stepping`, `is_breakpoint`).
    pub fn debug_trap(
        &self,
        vm: &mut Vm,
        port: u64,
        stepping: bool,
        is_breakpoint: impl Fn(u64) -> bool,
    ) -> Option<DebugTrap> {
        let r3 = self.ring3.as_ref()?;
        r3.debug_trap(vm, u16::try_from(port).ok()?, stepping, is_breakpoint)
    }

    /// One line for `CORTEN_HVT_STATS=1`.
    pub fn summary(&self) -> String {
        self.ring3
            .as_ref()
            .map_or_else(|| "ring-3 execution off".to_owned(), ring3::Ring3::summary)
    }
}

/// Writes the guest-side structures the ABI puts in low memory.
pub fn setup_memory(mem: &mut GuestMemory, opts: ArchOptions) -> Result<(), ArchError> {
    layout::write_gdt(mem)?;
    layout::write_page_tables(
        mem,
        layout::PagingMode {
            user_accessible: opts.ring3,
        },
    )?;
    if opts.ring3 {
        ring3::setup_memory(mem)?;
    }
    Ok(())
}

/// Sets CPUID, XCR0, control/segment registers, the entry registers, and
/// reads the TSC frequency.
pub fn setup_vcpu(
    kvm: &Kvm,
    _vm: &VmFd,
    vcpu: &VcpuFd,
    entry: u64,
    mem_size: u64,
) -> Result<VcpuInfo, ArchError> {
    let cpuid = kvm
        .get_supported_cpuid(KVM_MAX_CPUID_ENTRIES)
        .map_err(ArchError::SupportedCpuid)?;
    vcpu.set_cpuid2(&cpuid).map_err(ArchError::SetCpuid)?;

    let leaf = |function: u32, index: u32| {
        cpuid
            .as_slice()
            .iter()
            .find(|e| e.function == function && e.index == index)
            .copied()
    };
    let has_xsave = leaf(1, 0).is_some_and(|e| e.ecx & CPUID1_ECX_XSAVE != 0);

    let mut sregs = kvm_sregs {
        cr0: CR0_PE | CR0_PG | CR0_NE | CR0_WP,
        cr3: abi::PML4_BASE,
        cr4: CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT | if has_xsave { CR4_OSXSAVE } else { 0 },
        efer: EFER_LME | EFER_LMA,
        cs: layout::Segment::CODE.to_kvm(),
        ss: layout::Segment::DATA.to_kvm(),
        ds: layout::Segment::DATA.to_kvm(),
        es: layout::Segment::DATA.to_kvm(),
        fs: layout::Segment::DATA.to_kvm(),
        gs: layout::Segment::DATA.to_kvm(),
        tr: layout::Segment::TSS.to_kvm(),
        ldt: layout::Segment::UNUSABLE.to_kvm(),
        ..Default::default()
    };
    sregs.gdt.base = abi::GDT_BASE;
    sregs.gdt.limit = layout::GDT_ENTRIES * 8 - 1;
    vcpu.set_sregs(&sregs).map_err(ArchError::SetSregs)?;

    if has_xsave {
        // Offer AVX (and AVX-512) state to the guest when the host has it,
        // so unikernels compiled for those extensions can use them.
        let supported = leaf(0xd, 0).map_or(0, |e| u64::from(e.eax) | (u64::from(e.edx) << 32));
        let mut xcr0 = XCR0_X87 | XCR0_SSE;
        if supported & XCR0_AVX != 0 {
            xcr0 |= XCR0_AVX;
            if supported & XCR0_AVX512 == XCR0_AVX512 {
                xcr0 |= XCR0_AVX512;
            }
        }
        let mut xcrs = kvm_xcrs {
            nr_xcrs: 1,
            ..Default::default()
        };
        xcrs.xcrs[0].xcr = 0;
        xcrs.xcrs[0].value = xcr0;
        vcpu.set_xcrs(&xcrs)
            .map_err(|source| ArchError::SetXcrs { xcr0, source })?;
    }

    if !kvm.check_extension(Cap::GetTscKhz) {
        return Err(ArchError::NoTscKhz);
    }
    let tsc_khz = vcpu.get_tsc_khz().map_err(|_| {
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() == Some(libc::EIO) {
            ArchError::UnstableTsc
        } else {
            ArchError::TscKhz(err)
        }
    })?;

    // System V ABI: (%rsp + 8) is 16-byte aligned at function entry; the
    // boot info pointer is the first argument.
    let regs = kvm_regs {
        rip: entry,
        rflags: RFLAGS_INIT,
        rsp: mem_size - 8,
        rdi: BOOT_INFO_BASE,
        ..Default::default()
    };
    vcpu.set_regs(&regs).map_err(ArchError::SetRegs)?;

    Ok(VcpuInfo {
        cycle_freq: u64::from(tsc_khz) * 1000,
    })
}

/// Decodes a port-I/O exit; `None` for exits that are not I/O.
pub fn decode_io(exit: &VcpuExit<'_>) -> Option<Exit> {
    match exit {
        VcpuExit::IoOut(port, data) => {
            let base = abi::HYPERCALL_PIO_BASE;
            let in_range = *port >= base && u32::from(*port - base) < HVT_HYPERCALL_MAX;
            match <[u8; 4]>::try_from(&data[..]) {
                Ok(bytes) if in_range => Some(Exit::Hypercall {
                    nr: u32::from(*port - base),
                    arg: u64::from(u32::from_le_bytes(bytes)),
                }),
                _ => Some(Exit::BadIo {
                    port: u64::from(*port),
                    len: data.len(),
                    write: true,
                }),
            }
        }
        VcpuExit::IoIn(port, data) => Some(Exit::BadIo {
            port: u64::from(*port),
            len: data.len(),
            write: false,
        }),
        VcpuExit::MmioRead(addr, data) => Some(Exit::Mmio {
            addr: *addr,
            len: data.len(),
            write: false,
        }),
        VcpuExit::MmioWrite(addr, data) => Some(Exit::Mmio {
            addr: *addr,
            len: data.len(),
            write: true,
        }),
        _ => None,
    }
}

/// The guest has no interrupt descriptor table, so any exception it
/// raises cannot be delivered (an emulating KVM reports that as an
/// emulation failure rather than a triple fault).
pub fn exceptions_undeliverable(vcpu: &VcpuFd) -> bool {
    vcpu.get_sregs().is_ok_and(|s| s.idt.limit == 0)
}

/// The guest's instruction pointer, for short messages.
pub fn instruction_pointer(vcpu: &VcpuFd) -> Option<u64> {
    vcpu.get_regs().ok().map(|r| r.rip)
}

/// A multi-line dump of the guest's registers.
pub fn register_dump(vcpu: &VcpuFd) -> String {
    let mut s = String::new();
    match vcpu.get_regs() {
        Ok(r) => {
            let _ = writeln!(
                s,
                "rip={:#018x} rsp={:#018x} rflags={:#010x}",
                r.rip, r.rsp, r.rflags
            );
            let _ = writeln!(
                s,
                "rax={:#018x} rbx={:#018x} rcx={:#018x} rdx={:#018x}",
                r.rax, r.rbx, r.rcx, r.rdx
            );
            let _ = writeln!(
                s,
                "rsi={:#018x} rdi={:#018x} rbp={:#018x} r8 ={:#018x}",
                r.rsi, r.rdi, r.rbp, r.r8
            );
            let _ = writeln!(
                s,
                "r9 ={:#018x} r10={:#018x} r11={:#018x} r12={:#018x}",
                r.r9, r.r10, r.r11, r.r12
            );
            let _ = writeln!(
                s,
                "r13={:#018x} r14={:#018x} r15={:#018x}",
                r.r13, r.r14, r.r15
            );
        }
        Err(e) => {
            let _ = writeln!(s, "(general registers unavailable: {e})");
        }
    }
    match vcpu.get_sregs() {
        Ok(sr) => {
            let _ = writeln!(
                s,
                "cr0={:#x} cr2={:#x} cr3={:#x} cr4={:#x} efer={:#x}",
                sr.cr0, sr.cr2, sr.cr3, sr.cr4, sr.efer
            );
            let _ = writeln!(
                s,
                "cs={:#x} ss={:#x} gdt={:#x}/{:#x} idt={:#x}/{:#x}",
                sr.cs.selector,
                sr.ss.selector,
                sr.gdt.base,
                sr.gdt.limit,
                sr.idt.base,
                sr.idt.limit
            );
        }
        Err(e) => {
            let _ = writeln!(s, "(special registers unavailable: {e})");
        }
    }
    s
}

/// The guest's trap frame (the halt cookie of a guest exception), as text;
/// selectors as the guest set them (`view`).
pub fn trap_frame_dump(mem: &GuestMemory, cookie: u64, view: RegisterView<'_>) -> Option<String> {
    let mut t = mem.read::<abi::TrapRegs>(cookie).ok()?;
    t.cs = view.selector(t.cs);
    t.ss = view.selector(t.ss);
    Some(format!(
        "guest trap frame: rip={:#x} rsp={:#x} rflags={:#x} cs={:#x} ss={:#x} \
         error code={:#x} cr2={:#x}",
        t.rip, t.rsp, t.rflags, t.cs, t.ss, t.ec, t.cr2
    ))
}

/// How the guest's own register view differs from the vCPU's: ring-3
/// execution substitutes the tender's DPL-3 segments and table copies.
#[derive(Clone, Copy, Default)]
pub struct RegisterView<'a>(pub Option<&'a ring3::Ring3>);

impl RegisterView<'_> {
    /// The special registers as the guest set them.
    pub fn sregs(&self, vcpu: &VcpuFd) -> Option<kvm_sregs> {
        let mut s = vcpu.get_sregs().ok()?;
        if let Some(r3) = self.0 {
            r3.guest_view(&mut s);
        }
        Some(s)
    }

    /// A selector from a guest trap frame, as the guest set it.
    pub fn selector(&self, selector: u64) -> u64 {
        self.0.map_or(selector, |r3| r3.guest_selector(selector))
    }
}

/// `e_machine` of core files (EM_X86_64).
pub const ELF_MACHINE: u16 = 62;

/// The NT_PRSTATUS descriptor of a core file (`struct elf_prstatus`,
/// 336 bytes): zeroes except `pr_reg`, a `struct user_regs_struct` at
/// offset 112, filled from the vCPU and, when the guest passed its trap
/// frame as the halt cookie, from that frame (where the fault happened).
pub fn core_prstatus(
    vcpu: &VcpuFd,
    mem: &GuestMemory,
    cookie: Option<u64>,
    view: RegisterView<'_>,
) -> Vec<u8> {
    let r = vcpu.get_regs().unwrap_or_default();
    let s = view.sregs(vcpu).unwrap_or_default();
    // user_regs_struct order.
    let mut regs: [u64; 27] = [
        r.r15,
        r.r14,
        r.r13,
        r.r12,
        r.rbp,
        r.rbx,
        r.r11,
        r.r10,
        r.r9,
        r.r8,
        r.rax,
        r.rcx,
        r.rdx,
        r.rsi,
        r.rdi,
        u64::MAX, // orig_rax
        r.rip,
        u64::from(s.cs.selector),
        r.rflags,
        r.rsp,
        u64::from(s.ss.selector),
        s.fs.base,
        s.gs.base,
        u64::from(s.ds.selector),
        u64::from(s.es.selector),
        u64::from(s.fs.selector),
        u64::from(s.gs.selector),
    ];
    if let Some(frame) = cookie.and_then(|c| mem.read::<abi::TrapRegs>(c).ok()) {
        regs[16] = frame.rip;
        regs[17] = view.selector(frame.cs);
        regs[18] = frame.rflags;
        regs[19] = frame.rsp;
        regs[20] = view.selector(frame.ss);
    }
    super::prstatus(336, regs)
}
