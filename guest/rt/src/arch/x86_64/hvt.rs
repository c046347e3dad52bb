//! x86_64 on the hvt tender: hypercalls, CPU tables (GDT, TSS, IDT), the
//! floating-point/SIMD state, and the exception handlers.
//!
//! The tender enters `_start` in 64-bit long mode with paging on (an
//! identity map of guest memory, page 0 not present), interrupts off,
//! CR0 = PE|PG|NE|WP and CR4 = PAE|OSFXSR|OSXMMEXCPT, a boot GDT the guest
//! cannot see, and no IDT. The runtime then loads its own GDT with a TSS
//! (for the interrupt stacks), an IDT whose every exception vector prints a
//! trap report and halts with exit status 255, and makes sure SSE (and AVX
//! where the CPU has it) is usable.

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, Ordering};

use corten_abi::hvt::x86_64::{TrapRegs, HYPERCALL_PIO_BASE};

/// Issues hypercall `nr` with the guest-physical address of its argument
/// structure.
///
/// # Safety
/// `arg` must be the address of a live, initialised argument structure of
/// the type hypercall `nr` expects, which the tender may read and write.
/// Guest memory is at most 4 GiB, so every address fits the 32-bit port
/// write.
#[inline(always)]
pub(crate) unsafe fn hypercall(nr: u32, arg: usize) {
    let port = HYPERCALL_PIO_BASE + nr as u16;
    // SAFETY: an `outl` to a hypercall port exits to the tender, which
    // reads/writes the structure at `arg` (guaranteed by the caller); no
    // `nomem`, so the compiler treats that memory as read and written.
    unsafe {
        core::arch::asm!(
            "out dx, eax",
            in("dx") port,
            in("eax") arg as u32,
            options(nostack, preserves_flags)
        );
    }
}

/// Orders earlier stores before later ones: x86 does so by itself, so only
/// the compiler must be kept from reordering.
#[inline(always)]
pub(crate) fn write_barrier() {
    // SAFETY: an empty asm statement that the compiler must assume reads
    // and writes memory.
    unsafe { core::arch::asm!("", options(nostack, preserves_flags)) };
}

/// Orders earlier loads before later ones (x86 does so by itself).
#[inline(always)]
pub(crate) fn read_barrier() {
    write_barrier();
}

/// A full memory barrier (store-load ordering included). A locked
/// read-modify-write of the stack rather than `mfence`, which instruction
/// emulators may lack.
#[inline(always)]
pub(crate) fn full_barrier() {
    // SAFETY: adds 0 to the word at the top of the stack, atomically.
    unsafe { core::arch::asm!("lock or dword ptr [rsp], 0") };
}

/// Wakes the tender's network ring thread (an eventfd-backed port write,
/// no VM exit where KVM supports ioeventfd).
#[inline(always)]
pub(crate) fn ring_kick() {
    let port = corten_abi::hvt::x86_64::RING_KICK_PIO_BASE;
    // SAFETY: a 32-bit write of ring id 0 to the kick port, which the
    // tender registered for exactly this.
    unsafe {
        core::arch::asm!("out dx, eax", in("dx") port, in("eax") 0u32, options(nostack, preserves_flags))
    };
}

/// Sets the %fs base (the TLS thread pointer).
pub(crate) fn set_fs_base(base: u64) {
    // SAFETY: writing IA32_FS_BASE only changes where %fs-relative accesses
    // go; the runtime itself never uses %fs.
    unsafe {
        core::arch::asm!(
            "wrmsr",
            in("ecx") 0xc000_0100u32,
            in("eax") base as u32,
            in("edx") (base >> 32) as u32,
            options(nostack, preserves_flags)
        );
    }
}

/// Spins forever; after the HALT hypercall the tender never resumes us.
pub(crate) fn spin() -> ! {
    loop {
        core::hint::spin_loop();
    }
}

const STACK_SIZE: usize = 16 * 1024;

#[repr(C, align(16))]
struct Stack([u8; STACK_SIZE]);

/// GDT, TSS, IDT and the interrupt stacks.
#[repr(C, align(16))]
struct Tables {
    gdt: [u64; GDT_ENTRIES],
    /// The 104-byte 64-bit TSS, as 32-bit words (its 64-bit fields are only
    /// 4-byte aligned).
    tss: [u32; 26],
    idt: [u64; 2 * IDT_VECTORS],
    /// IST1: every exception but the three below.
    trap_stack: Stack,
    /// IST2: NMI, double fault, machine check, so they work even when the
    /// trap stack is what went wrong.
    nmi_stack: Stack,
}

struct TablesCell(UnsafeCell<Tables>);

// SAFETY: written only by `init` during single-threaded boot, before any
// exception can use it; afterwards only the CPU reads it.
unsafe impl Sync for TablesCell {}

static TABLES: TablesCell = TablesCell(UnsafeCell::new(Tables {
    gdt: [0; GDT_ENTRIES],
    tss: [0; 26],
    idt: [0; 2 * IDT_VECTORS],
    trap_stack: Stack([0; STACK_SIZE]),
    nmi_stack: Stack([0; STACK_SIZE]),
}));

const GDT_ENTRIES: usize = 5;
const IDT_VECTORS: usize = 32;
const SEL_CODE: u16 = 1 << 3;
const SEL_DATA: u16 = 2 << 3;
const SEL_TSS: u16 = 3 << 3;
/// 64-bit code segment: present, DPL 0, execute/read, accessed, L=1.
const GDT_CODE: u64 = 0x00af_9b00_0000_ffff;
/// Data segment: present, DPL 0, read/write, accessed.
const GDT_DATA: u64 = 0x00cf_9300_0000_ffff;

#[repr(C, packed)]
struct DescriptorPointer {
    limit: u16,
    base: u64,
}

extern "C" {
    /// Addresses of the 32 exception entry stubs (see `global_asm!` below).
    static corten_trap_stubs: [u64; IDT_VECTORS];
}

/// Sets up the CPU: own GDT + TSS + IDT, FPU/SSE (and AVX if present).
///
/// # Safety
/// Call once, during boot, before anything else touches the tables.
pub(crate) unsafe fn init() {
    let t = TABLES.0.get();
    // SAFETY: boot is single-threaded and the CPU does not use these
    // tables until they are loaded below.
    let t = unsafe { &mut *t };

    let tss_base = t.tss.as_ptr() as u64;
    let tss_limit = (core::mem::size_of_val(&t.tss) - 1) as u64;
    t.gdt = [
        0,
        GDT_CODE,
        GDT_DATA,
        (tss_limit & 0xffff)
            | ((tss_base & 0xff_ffff) << 16)
            | (0x89 << 40) // present, available 64-bit TSS
            | ((tss_limit >> 16) & 0xf) << 48
            | ((tss_base >> 24) & 0xff) << 56,
        tss_base >> 32,
    ];

    let ist1 = t.trap_stack.0.as_ptr_range().end as u64;
    let ist2 = t.nmi_stack.0.as_ptr_range().end as u64;
    // IST1 at byte 36, IST2 at byte 44; the I/O map base (byte 102) points
    // past the limit, so no I/O bitmap.
    t.tss[9] = ist1 as u32;
    t.tss[10] = (ist1 >> 32) as u32;
    t.tss[11] = ist2 as u32;
    t.tss[12] = (ist2 >> 32) as u32;
    t.tss[25] = 104 << 16;

    // SAFETY: the stub table is a constant array defined in global_asm.
    let stubs = unsafe { &*core::ptr::addr_of!(corten_trap_stubs) };
    for (vector, &handler) in stubs.iter().enumerate() {
        let ist: u64 = if matches!(vector, 2 | 8 | 18) { 2 } else { 1 };
        let low = (handler & 0xffff)
            | (u64::from(SEL_CODE) << 16)
            | (ist << 32)
            | (0x8e << 40) // present, DPL 0, 64-bit interrupt gate
            | ((handler >> 16) & 0xffff) << 48;
        t.idt[2 * vector] = low;
        t.idt[2 * vector + 1] = handler >> 32;
    }

    let gdtr = DescriptorPointer {
        limit: (core::mem::size_of_val(&t.gdt) - 1) as u16,
        base: t.gdt.as_ptr() as u64,
    };
    let idtr = DescriptorPointer {
        limit: (core::mem::size_of_val(&t.idt) - 1) as u16,
        base: t.idt.as_ptr() as u64,
    };
    // SAFETY: the GDT holds valid flat code/data descriptors and the TSS
    // descriptor; we reload CS with a far return and SS/DS/ES with the data
    // selector, then load TR and the IDT whose gates point at our stubs.
    unsafe {
        core::arch::asm!(
            "lgdt [{gdtr}]",
            "push {code}",
            "lea {tmp}, [rip + 2f]",
            "push {tmp}",
            "retfq",
            "2:",
            "mov ss, {data:e}",
            "mov ds, {data:e}",
            "mov es, {data:e}",
            "ltr {tss:x}",
            "lidt [{idtr}]",
            gdtr = in(reg) &gdtr,
            idtr = in(reg) &idtr,
            code = const SEL_CODE as u64,
            data = in(reg) u32::from(SEL_DATA),
            tss = in(reg) SEL_TSS,
            tmp = out(reg) _,
        );
    }

    // SAFETY: boot time, nothing uses the FPU state yet.
    unsafe { init_fpu() };
}

/// Makes x87, SSE and (where the CPU has it) AVX usable.
///
/// # Safety
/// Boot only: changes CR0/CR4/XCR0.
unsafe fn init_fpu() {
    use core::arch::x86_64::{__cpuid_count, CpuidResult};
    const CR0_MP: u64 = 1 << 1;
    const CR0_EM: u64 = 1 << 2;
    const CR0_TS: u64 = 1 << 3;
    const CR4_OSFXSR: u64 = 1 << 9;
    const CR4_OSXMMEXCPT: u64 = 1 << 10;
    const CR4_OSXSAVE: u64 = 1 << 18;
    const XCR0_X87: u64 = 1 << 0;
    const XCR0_SSE: u64 = 1 << 1;
    const XCR0_AVX: u64 = 1 << 2;

    #[allow(unused_unsafe)]
    // SAFETY: cpuid is available on every x86_64 CPU.
    let leaf1: CpuidResult = unsafe { __cpuid_count(1, 0) };
    let has_xsave = leaf1.ecx & (1 << 26) != 0;
    let has_avx = leaf1.ecx & (1 << 28) != 0;

    let mut cr0: u64;
    let mut cr4: u64;
    // SAFETY: reading control registers at CPL 0 has no side effect.
    unsafe {
        core::arch::asm!("mov {}, cr0", out(reg) cr0, options(nomem, nostack, preserves_flags));
        core::arch::asm!("mov {}, cr4", out(reg) cr4, options(nomem, nostack, preserves_flags));
    }
    cr0 = (cr0 | CR0_MP) & !(CR0_EM | CR0_TS);
    cr4 |= CR4_OSFXSR | CR4_OSXMMEXCPT;
    if has_xsave {
        cr4 |= CR4_OSXSAVE;
    }
    // SAFETY: these bits only enable FPU/SSE/XSAVE features the CPU reports.
    unsafe {
        core::arch::asm!("mov cr0, {}", in(reg) cr0, options(nostack, preserves_flags));
        core::arch::asm!("mov cr4, {}", in(reg) cr4, options(nostack, preserves_flags));
    }
    if has_xsave {
        #[allow(unused_unsafe)]
        // SAFETY: leaf 0xd exists when XSAVE is reported.
        let leaf_d: CpuidResult = unsafe { __cpuid_count(0xd, 0) };
        let supported = u64::from(leaf_d.eax) | (u64::from(leaf_d.edx) << 32);
        let mut xcr0 = XCR0_X87 | XCR0_SSE;
        if has_avx && supported & XCR0_AVX != 0 {
            xcr0 |= XCR0_AVX;
        }
        // SAFETY: CR4.OSXSAVE is set and xcr0 only holds supported bits,
        // with x87 set as XSETBV requires.
        unsafe {
            core::arch::asm!(
                "xsetbv",
                in("ecx") 0u32,
                in("eax") xcr0 as u32,
                in("edx") (xcr0 >> 32) as u32,
                options(nomem, nostack, preserves_flags)
            );
        }
    }
    // x87 control word and MXCSR keep their reset values (0x37f, 0x1f80:
    // all exceptions masked, round to nearest), which is what the SysV ABI
    // assumes; no fninit/ldmxcsr here, because a tender that emulates guest
    // instructions (e.g. KVM under PVM nested virtualisation) cannot
    // execute them.
}

// Exception entry stubs. Each pushes a zero error code if the CPU did not
// push one, then the vector number, and jumps to the common path, which
// pushes CR2 so that the stack holds a `TrapRegs` (cr2, ec, rip, cs, rflags,
// rsp, ss) and calls `corten_trap` with the vector and its address. The
// handler never returns, so no register needs saving.
core::arch::global_asm!(
    r#"
    .pushsection .text.corten_traps, "ax"
    .macro CORTEN_TRAP_STUB vector, has_ec
    .align 16
    corten_trap_stub_\vector:
    .if \has_ec == 0
        push 0
    .endif
        push \vector
        jmp corten_trap_common
    .endm

    corten_trap_common:
        cld
        pop rdi
        mov rax, cr2
        push rax
        mov rsi, rsp
        and rsp, -16
        call {handler}
        ud2

    CORTEN_TRAP_STUB 0, 0
    CORTEN_TRAP_STUB 1, 0
    CORTEN_TRAP_STUB 2, 0
    CORTEN_TRAP_STUB 3, 0
    CORTEN_TRAP_STUB 4, 0
    CORTEN_TRAP_STUB 5, 0
    CORTEN_TRAP_STUB 6, 0
    CORTEN_TRAP_STUB 7, 0
    CORTEN_TRAP_STUB 8, 1
    CORTEN_TRAP_STUB 9, 0
    CORTEN_TRAP_STUB 10, 1
    CORTEN_TRAP_STUB 11, 1
    CORTEN_TRAP_STUB 12, 1
    CORTEN_TRAP_STUB 13, 1
    CORTEN_TRAP_STUB 14, 1
    CORTEN_TRAP_STUB 15, 0
    CORTEN_TRAP_STUB 16, 0
    CORTEN_TRAP_STUB 17, 1
    CORTEN_TRAP_STUB 18, 0
    CORTEN_TRAP_STUB 19, 0
    CORTEN_TRAP_STUB 20, 0
    CORTEN_TRAP_STUB 21, 1
    CORTEN_TRAP_STUB 22, 0
    CORTEN_TRAP_STUB 23, 0
    CORTEN_TRAP_STUB 24, 0
    CORTEN_TRAP_STUB 25, 0
    CORTEN_TRAP_STUB 26, 0
    CORTEN_TRAP_STUB 27, 0
    CORTEN_TRAP_STUB 28, 0
    CORTEN_TRAP_STUB 29, 1
    CORTEN_TRAP_STUB 30, 1
    CORTEN_TRAP_STUB 31, 0

    .popsection
    .pushsection .rodata.corten_trap_stubs, "a"
    .balign 8
    .global corten_trap_stubs
    corten_trap_stubs:
    .irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
        .quad corten_trap_stub_\v
    .endr
    .popsection
    "#,
    handler = sym corten_trap,
);

const TRAP_NAMES: [&str; IDT_VECTORS] = [
    "#DE divide error",
    "#DB debug",
    "NMI",
    "#BP breakpoint",
    "#OF overflow",
    "#BR bound range",
    "#UD invalid opcode",
    "#NM device not available",
    "#DF double fault",
    "coprocessor segment overrun",
    "#TS invalid TSS",
    "#NP segment not present",
    "#SS stack fault",
    "#GP general protection",
    "#PF page fault",
    "reserved vector 15",
    "#MF x87 floating point",
    "#AC alignment check",
    "#MC machine check",
    "#XM SIMD floating point",
    "#VE virtualization",
    "#CP control protection",
    "reserved vector 22",
    "reserved vector 23",
    "reserved vector 24",
    "reserved vector 25",
    "reserved vector 26",
    "reserved vector 27",
    "reserved vector 28",
    "#VC VMM communication",
    "#SX security",
    "reserved vector 31",
];

static IN_TRAP: AtomicBool = AtomicBool::new(false);

/// Common exception handler: prints a trap report and halts with exit
/// status 255, passing the trap frame to the tender as the halt cookie (a
/// debugging tender such as upstream's `--dumpcore` reads the registers
/// from it).
extern "C" fn corten_trap(vector: u64, regs: *const TrapRegs) -> ! {
    if IN_TRAP.swap(true, Ordering::Relaxed) {
        // A fault while reporting a fault: report nothing more.
        crate::platform::halt(crate::EXIT_ABORT, 0);
    }
    // SAFETY: the entry stub passes the address of the frame it built on
    // the interrupt stack; it stays valid as we never return.
    let r = unsafe { &*regs };
    let name = TRAP_NAMES
        .get(vector as usize)
        .copied()
        .unwrap_or("unknown vector");
    crate::log::error!(
        "trap: {name} (vector {vector}) error code {:#x} at rip={:#x} rsp={:#x} rflags={:#x}\n",
        r.ec,
        r.rip,
        r.rsp,
        r.rflags
    );
    if vector == 14 {
        crate::log::error!("trap: page fault address cr2={:#x}\n", r.cr2);
    }
    crate::log::error!("ABORT: fatal CPU exception in the guest, halting\n");
    crate::platform::halt(crate::EXIT_ABORT, regs as usize)
}
