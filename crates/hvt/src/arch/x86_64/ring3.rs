//! Ring-3 execution: run the guest at CPL 3 once it has booted.
//!
//! Why: on hosts whose KVM is the PVM ("pagetable-based virtual machine")
//! backend, as on the nested machines Corten is tested on, a guest running
//! at CPL 0 is *emulated instruction by instruction* (about 1 µs each) and
//! the emulator cannot execute most SSE instructions at all (upstream's
//! `test_fpu` dies there with a KVM internal error). Code at CPL 3 runs
//! natively. Solo5 guests never need CPL 0 after boot except for a few
//! privileged instructions, so the tender moves the guest to CPL 3 at its
//! first hypercall and handles those instructions behind its back.
//!
//! How, without changing a byte of guest-owned memory:
//! 1. The page tables get the user bit (at boot; no effect at CPL 0 since
//!    SMEP/SMAP are off).
//! 2. At a hypercall exit, once the guest has loaded its own GDT, IDT and
//!    TSS, the tender copies them into its scratch area below 1 MiB (guest
//!    read-only): the GDT gains a DPL-3 code and data descriptor; the TSS
//!    gains an all-ports-allowed I/O bitmap so hypercall `out`s work at
//!    CPL 3; the IDT's #GP gate points at a small shim. It then loads CS/SS
//!    (and DS/ES/FS/GS, keeping the FS/GS bases) with the DPL-3 selectors.
//! 3. The shim (below) runs for every #GP. A #GP at CPL 0 is the guest's
//!    own and goes to the guest's handler unchanged. At CPL 3 it emulates
//!    `rdtsc` and `wrmsr` (TLS base) in place; any other instruction is
//!    retried at CPL 0 by rewriting the interrupt frame's CS/SS, and the
//!    shim raises a flag so the tender moves the guest back to CPL 3 at the
//!    next hypercall.
//!
//! Exceptions other than #GP reach the guest's handlers as before (all of
//! Solo5's gates use IST stacks, which the tender requires before
//! switching). The tender never switches while the guest runs on one of its
//! IST stacks (it could be inside a handler). Everything the guest can
//! observe: CS/SS selectors with RPL 3 in trap frames, and addresses of the
//! descriptor tables. Security is unchanged: all of this is inside the VM.
//!
//! Enabled automatically when the host's KVM is PVM (see [`enabled`]);
//! `CORTEN_HVT_RING3=1` forces it on, `=0` off.

#![deny(clippy::arithmetic_side_effects)]

use corten_abi::hvt::x86_64 as abi;
use kvm_bindings::{kvm_dtable, kvm_segment, kvm_sregs};
use kvm_ioctls::{Cap, Kvm};

use super::layout::Segment;
use crate::arch::DebugTrap;
use crate::guest_mem::GuestMemory;
use crate::vm::Vm;

/// Scratch area (guest-physical = guest-virtual), inside the boot-info
/// megabyte that the guest maps read-only.
const SCRATCH_GDT: u64 = 0x2_0000;
const SCRATCH_IDT: u64 = 0x2_1000;
const SCRATCH_SHIM: u64 = 0x2_2000;
/// The one guest-writable scratch page: the shim's "retried at CPL 0" flag.
pub const FLAG_PAGE: u64 = 0x2_3000;
const SCRATCH_TSS: u64 = 0x2_4000;
/// 64-bit TSS: 0x68 bytes, then the I/O bitmap for all 65536 ports and the
/// terminating 0xff byte.
const TSS_SIZE: u64 = 0x68;
const IOMAP_SIZE: u64 = 0x2000;
const TSS_LIMIT: u32 = (TSS_SIZE + IOMAP_SIZE) as u32;
/// Largest guest GDT copied (leaving room for two more descriptors).
const MAX_GDT_BYTES: u64 = 0x1000 - 16;
/// #DB, #BP, #GP
const DB_VECTOR: u64 = 1;
const BP_VECTOR: u64 = 3;
const GP_VECTOR: u64 = 13;
/// RFLAGS.TF
pub const RFLAGS_TF: u64 = 1 << 8;
/// Distance below an IST/RSP0 pointer treated as "on that stack".
const STACK_GUARD: u64 = 0x4000;

/// The shims (assembled; see the listing), at `SCRATCH_SHIM`. Patched at
/// the offsets below.
///
/// The #GP shim at 0x00:
/// ```text
/// 00 test byte [rsp+16], 3      ; CPL of the faulting code
/// 05 jz   forward               ; CPL 0: the guest's own #GP
/// 07 push rax
/// 08 mov  rax, [rsp+16]         ; faulting RIP
/// 0d cmp  word [rax], 0x310f    ; rdtsc?
/// 12 je   do_rdtsc
/// 14 cmp  word [rax], 0x300f    ; wrmsr?
/// 19 je   do_wrmsr
/// 1b pop  rax
/// 1c mov  qword [rsp+16], KCS   ; retry at CPL 0
/// 25 mov  qword [rsp+40], KSS
/// 2e mov  byte [FLAG], 1        ; ask the tender to switch back
/// 36 add  rsp, 8                ; drop the error code
/// 3a iretq
/// 3c do_rdtsc: pop rax; rdtsc; jmp done
/// 41 do_wrmsr: pop rax; wrmsr
/// 44 done: add qword [rsp+8], 2 ; skip the emulated instruction
/// 4a add  rsp, 8
/// 4e test byte [rsp+17], 1      ; TF: a debugger single-steps the guest
/// 53 jnz  db                    ; report the completed step
/// 55 iretq
/// 57 forward: jmp [rip+0]
/// 5d .quad GP                   ; the guest's #GP handler
/// ```
/// The debug shims at 0x70 (#DB) and 0x88 (#BP) tell the tender about the
/// trap (`out PORT, al`; the interrupt frame is at RSP) and, if the tender
/// lets them go on, jump to the guest's own handler:
/// ```text
/// 70 db: out 0xe1, al; jmp [rip+0]; .quad DB
/// 88 bp: out 0xe3, al; jmp [rip+0]; .quad BP
/// ```
const SHIM: [u8; 152] = [
    0xf6, 0x44, 0x24, 0x10, 0x03, 0x74, 0x50, 0x50, 0x48, 0x8b, 0x44, 0x24, 0x10, 0x66, 0x81, 0x38,
    0x0f, 0x31, 0x74, 0x28, 0x66, 0x81, 0x38, 0x0f, 0x30, 0x74, 0x26, 0x58, 0x48, 0xc7, 0x44, 0x24,
    0x10, 0x00, 0x00, 0x00, 0x00, 0x48, 0xc7, 0x44, 0x24, 0x28, 0x00, 0x00, 0x00, 0x00, 0xc6, 0x04,
    0x25, 0x00, 0x00, 0x00, 0x00, 0x01, 0x48, 0x83, 0xc4, 0x08, 0x48, 0xcf, 0x58, 0x0f, 0x31, 0xeb,
    0x03, 0x58, 0x0f, 0x30, 0x48, 0x83, 0x44, 0x24, 0x08, 0x02, 0x48, 0x83, 0xc4, 0x08, 0xf6, 0x44,
    0x24, 0x11, 0x01, 0x75, 0x1b, 0x48, 0xcf, 0xff, 0x25, 0x00, 0x00, 0x00, 0x00, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xe6, 0xe1, 0xff, 0x25, 0x00, 0x00, 0x00, 0x00, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xe6, 0xe3, 0xff, 0x25, 0x00, 0x00, 0x00, 0x00, 0, 0, 0,
    0, 0, 0, 0, 0,
];
const SHIM_KCS: usize = 0x21;
const SHIM_KSS: usize = 0x2a;
const SHIM_FLAG: usize = 0x31;
const SHIM_ORIG_GP: usize = 0x5d;
const SHIM_DB: usize = 0x70;
const SHIM_ORIG_DB: usize = 0x78;
const SHIM_BP: usize = 0x88;
const SHIM_ORIG_BP: usize = 0x90;
/// Guest addresses of the debug shims.
const SHIM_DB_AT: u64 = SCRATCH_SHIM + SHIM_DB as u64;
const SHIM_BP_AT: u64 = SCRATCH_SHIM + SHIM_BP as u64;
/// Ports of the debug shims' `out imm8, al` (outside the hypercall ports;
/// only these two instructions of the scratch area use them).
pub const DEBUG_PORT_DB: u16 = 0xe1;
pub const DEBUG_PORT_BP: u16 = 0xe3;
/// Length of `out imm8, al`.
const OUT_IMM8_LEN: u64 = 2;

/// Whether `rip` lies in the tender's scratch area (the shims).
pub fn in_scratch(rip: u64) -> bool {
    (SCRATCH_GDT..SCRATCH_TSS + TSS_SIZE + IOMAP_SIZE + 1).contains(&rip)
}

/// Page-table bits for the flag page.
const PTE_P_RW_U: u64 = 0b111;

/// Whether ring-3 execution is wanted on this host: `CORTEN_HVT_RING3`
/// (1/on, 0/off) decides if set; otherwise when the host's KVM emulates
/// CPL 0. That is the PVM backend: /sys/module/kvm_pvm exists, or, where
/// /sys is not mounted (urunc), KVM lacks both SMM and nested-state support,
/// which every VMX/SVM KVM has and PVM does not. A wrong guess costs nothing
/// but speed either way: ring-3 execution is correct on any host.
pub fn enabled(kvm: &Kvm) -> bool {
    match std::env::var("CORTEN_HVT_RING3").as_deref() {
        Ok("1") | Ok("on") => return true,
        Ok("0") | Ok("off") => return false,
        _ => {}
    }
    // access(2), not statx: the former is on urunc's allow-list.
    // SAFETY: NUL-terminated path literals.
    if unsafe { libc::access(c"/sys/module/kvm_pvm".as_ptr(), libc::F_OK) } == 0 {
        return true;
    }
    // SAFETY: as above.
    let sys_mounted = unsafe { libc::access(c"/sys/module".as_ptr(), libc::F_OK) } == 0;
    !sys_mounted
        && kvm.check_extension_int(Cap::X86Smm) == 0
        && kvm.check_extension_int(Cap::NestedState) == 0
}

/// Makes the flag page guest-writable. Call after the page tables exist.
pub fn setup_memory(mem: &mut GuestMemory) -> Result<(), crate::guest_mem::GuestAccessError> {
    mem.write::<u64>(
        abi::PT0E_BASE + FLAG_PAGE / 0x1000 * 8,
        FLAG_PAGE | PTE_P_RW_U,
    )?;
    mem.write::<u8>(FLAG_PAGE, 0)
}

/// Why the guest was not moved to CPL 3 (yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotYet {
    Registers,
    NotCpl0,
    ForeignPageTables,
    NoGuestTables,
    TableSize,
    IstMissing,
    OnInterruptStack,
    Memory,
}

/// State of ring-3 execution.
pub struct Ring3 {
    /// The guest is (or was last put) at CPL 3 with our tables loaded.
    active: bool,
    /// The guest's own state, saved when our copies were installed.
    saved: Option<Saved>,
    /// Switches so far (for statistics).
    pub switches: u64,
    /// Last reason the switch was declined.
    pub last_refusal: Option<NotYet>,
    /// Declined attempts in a row; after [`MAX_ATTEMPTS`] the tender stops
    /// trying (a guest that never qualifies pays no per-exit cost).
    attempts: u32,
}

/// What the guest had loaded when the tender installed its copies, and the
/// DPL-3 segments the tender substitutes: what a debugger or a core file
/// must show instead of the tender's copies.
#[derive(Clone, Copy, Debug)]
struct Saved {
    kernel_cs: kvm_segment,
    kernel_ss: kvm_segment,
    user_cs: kvm_segment,
    user_ss: kvm_segment,
    /// DS, ES, FS, GS selectors.
    data: [u16; 4],
    gdt: kvm_dtable,
    idt: kvm_dtable,
    tr_base: u64,
    tr_limit: u32,
}

/// Hypercall exits a guest gets to qualify for CPL 3.
const MAX_ATTEMPTS: u32 = 64;

impl Default for Ring3 {
    fn default() -> Self {
        Self::new()
    }
}

impl Ring3 {
    pub fn new() -> Ring3 {
        Ring3 {
            active: false,
            saved: None,
            switches: 0,
            last_refusal: None,
            attempts: 0,
        }
    }

    /// One line for `CORTEN_HVT_STATS=1`.
    pub fn summary(&self) -> String {
        match (self.switches, self.last_refusal) {
            (0, why) => format!("ring-3 execution on, guest never moved to CPL 3 ({why:?})"),
            (n, _) => format!("ring-3 execution on, guest moved to CPL 3 {n} time(s)"),
        }
    }

    /// Called after every hypercall exit.
    pub fn after_exit(&mut self, vm: &mut Vm) {
        if self.active {
            // Only the shim's retry path brings the guest back to CPL 0
            // outside an exception handler; it raises the flag.
            if vm.mem.read::<u8>(FLAG_PAGE).unwrap_or(0) == 0 {
                return;
            }
            let _ = vm.mem.write::<u8>(FLAG_PAGE, 0);
        } else if self.attempts >= MAX_ATTEMPTS {
            return;
        }
        match self.switch(vm) {
            Ok(()) => {
                self.active = true;
                self.switches = self.switches.saturating_add(1);
                self.last_refusal = None;
                self.attempts = 0;
            }
            Err(why) => {
                self.last_refusal = Some(why);
                self.attempts = self.attempts.saturating_add(1);
                if self.active && self.attempts < MAX_ATTEMPTS {
                    // Try again at the next exit.
                    let _ = vm.mem.write::<u8>(FLAG_PAGE, 1);
                }
            }
        }
    }

    /// Rewrites `sregs` (read from the vCPU) into what the guest believes
    /// it loaded: its own CS/SS and data selectors, GDT, IDT and TSS
    /// instead of the tender's DPL-3 copies. No change before the first
    /// switch.
    pub fn guest_view(&self, sregs: &mut kvm_sregs) {
        let Some(saved) = &self.saved else {
            return;
        };
        if sregs.cs.selector == saved.user_cs.selector {
            sregs.cs = saved.kernel_cs;
        }
        if sregs.ss.selector == saved.user_ss.selector {
            sregs.ss = saved.kernel_ss;
        }
        let segs = [&mut sregs.ds, &mut sregs.es, &mut sregs.fs, &mut sregs.gs];
        for (seg, selector) in segs.into_iter().zip(saved.data) {
            if seg.selector == saved.user_ss.selector {
                seg.selector = selector;
                seg.dpl = 0;
            }
        }
        if sregs.gdt.base == SCRATCH_GDT {
            sregs.gdt = saved.gdt;
        }
        if sregs.idt.base == SCRATCH_IDT {
            sregs.idt = saved.idt;
        }
        if sregs.tr.base == SCRATCH_TSS {
            sregs.tr.base = saved.tr_base;
            sregs.tr.limit = saved.tr_limit;
        }
    }

    /// The guest's own selector for `selector` as found in a trap frame
    /// (the tender's DPL-3 code/stack selectors map to the guest's).
    pub fn guest_selector(&self, selector: u64) -> u64 {
        match &self.saved {
            Some(s) if selector == u64::from(s.user_cs.selector) => u64::from(s.kernel_cs.selector),
            Some(s) if selector == u64::from(s.user_ss.selector) => u64::from(s.kernel_ss.selector),
            _ => selector,
        }
    }

    /// Handles a port exit that may be a debug shim's report: `None` if it
    /// is not one (an invalid port access of the guest). A #DB is the
    /// tender's while a debugger single-steps (`stepping`), a #BP when the
    /// int3 sits at one of the debugger's breakpoints (`is_breakpoint`);
    /// those are undone as `iretq` would (RIP, RSP, RFLAGS without TF,
    /// CS, SS from the interrupt frame). Any other trap is the guest's.
    pub fn debug_trap(
        &self,
        vm: &mut Vm,
        port: u16,
        stepping: bool,
        is_breakpoint: impl Fn(u64) -> bool,
    ) -> Option<DebugTrap> {
        let saved = self.saved.as_ref()?;
        // KVM leaves RIP on the `out` or after it, depending on whether it
        // emulated the instruction.
        let (out_at, after_out) = match port {
            DEBUG_PORT_DB => (SHIM_DB_AT, SHIM_DB_AT + OUT_IMM8_LEN),
            DEBUG_PORT_BP => (SHIM_BP_AT, SHIM_BP_AT + OUT_IMM8_LEN),
            _ => return None,
        };
        let mut regs = vm.vcpu.get_regs().ok()?;
        if regs.rip != out_at && regs.rip != after_out {
            return None;
        }
        // The interrupt frame is the guest's to forge: its RIP is only
        // compared and, for a #BP, stepped back over the int3 (wrapping, as
        // the CPU's address arithmetic does).
        let Ok([rip, cs, rflags, rsp, ss]) = vm.mem.read::<[u64; 5]>(regs.rsp) else {
            return Some(DebugTrap::Guest);
        };
        let int3_at = rip.wrapping_sub(1);
        let ours = match port {
            DEBUG_PORT_DB => stepping,
            _ => is_breakpoint(int3_at),
        };
        let segment = |selector: u64| {
            [
                saved.user_cs,
                saved.user_ss,
                saved.kernel_cs,
                saved.kernel_ss,
            ]
            .into_iter()
            .find(|s| u64::from(s.selector) == selector)
        };
        let (Some(cs), Some(ss), true) = (segment(cs), segment(ss), ours) else {
            return Some(DebugTrap::Guest);
        };
        let Ok(mut sregs) = vm.vcpu.get_sregs() else {
            return Some(DebugTrap::Guest);
        };
        regs.rip = if port == DEBUG_PORT_BP { int3_at } else { rip };
        regs.rsp = rsp;
        regs.rflags = rflags & !RFLAGS_TF;
        sregs.cs = cs;
        sregs.ss = ss;
        if vm.vcpu.set_sregs(&sregs).is_err() || vm.vcpu.set_regs(&regs).is_err() {
            return Some(DebugTrap::Guest);
        }
        Some(DebugTrap::Stopped)
    }

    fn switch(&mut self, vm: &mut Vm) -> Result<(), NotYet> {
        let mut sregs = vm.vcpu.get_sregs().map_err(|_| NotYet::Registers)?;
        if sregs.cs.dpl != 0 {
            return Err(NotYet::NotCpl0);
        }
        if sregs.cr3 & !0xfff != abi::PML4_BASE || sregs.cs.l == 0 {
            return Err(NotYet::ForeignPageTables);
        }
        let regs = vm.vcpu.get_regs().map_err(|_| NotYet::Registers)?;
        let ours = sregs.gdt.base == SCRATCH_GDT
            && sregs.idt.base == SCRATCH_IDT
            && sregs.tr.base == SCRATCH_TSS;
        if !ours {
            let (handlers, users) = self.install_tables(&mut vm.mem, &sregs, regs.rsp)?;
            let guest = sregs;
            sregs.gdt.base = SCRATCH_GDT;
            sregs.gdt.limit = users.gdt_limit;
            sregs.idt.base = SCRATCH_IDT;
            sregs.tr.base = SCRATCH_TSS;
            sregs.tr.limit = TSS_LIMIT;
            sregs.tr.type_ = 11; // busy 64-bit TSS
            self.saved = Some(Saved {
                kernel_cs: guest.cs,
                kernel_ss: guest.ss,
                user_cs: user_segment(users.code, true),
                user_ss: user_segment(users.data, false),
                data: [
                    guest.ds.selector,
                    guest.es.selector,
                    guest.fs.selector,
                    guest.gs.selector,
                ],
                gdt: guest.gdt,
                idt: guest.idt,
                tr_base: guest.tr.base,
                tr_limit: guest.tr.limit,
            });
            write_shim(&mut vm.mem, guest.cs.selector, guest.ss.selector, handlers)
                .map_err(|_| NotYet::Memory)?;
        } else if self.on_interrupt_stack(&vm.mem, &sregs, regs.rsp) {
            return Err(NotYet::OnInterruptStack);
        }
        let saved = self.saved.as_ref().ok_or(NotYet::NoGuestTables)?;
        let data = saved.user_ss;
        sregs.cs = saved.user_cs;
        sregs.ss = data;
        // DPL-3 data selectors everywhere, so that no return to CPL 3
        // nulls them (which would clear the FS base on some CPUs); the
        // bases in 64-bit mode are kept.
        for seg in [&mut sregs.ds, &mut sregs.es, &mut sregs.fs, &mut sregs.gs] {
            let base = seg.base;
            *seg = data;
            seg.base = base;
        }
        vm.vcpu.set_sregs(&sregs).map_err(|_| NotYet::Registers)
    }

    /// RSP lies just below one of the TSS's stack pointers.
    fn on_interrupt_stack(&self, mem: &GuestMemory, sregs: &kvm_sregs, rsp: u64) -> bool {
        let mut tss = [0u8; TSS_SIZE as usize];
        if mem.read_bytes(sregs.tr.base, &mut tss).is_err() {
            return true;
        }
        near_a_stack_top(&tss, rsp)
    }

    /// Copies and adapts the guest's GDT, IDT and TSS into the scratch area.
    fn install_tables(
        &self,
        mem: &mut GuestMemory,
        sregs: &kvm_sregs,
        rsp: u64,
    ) -> Result<(Handlers, UserDescriptors), NotYet> {
        // Limits are u16: these sums cannot saturate.
        let gdt_len = u64::from(sregs.gdt.limit).saturating_add(1);
        let idt_len = u64::from(sregs.idt.limit).saturating_add(1);
        if sregs.gdt.base == abi::GDT_BASE || sregs.idt.limit == 0 || sregs.tr.selector == 0 {
            return Err(NotYet::NoGuestTables);
        }
        if gdt_len > MAX_GDT_BYTES || !((GP_VECTOR + 1) * 16..=0x1000).contains(&idt_len) {
            return Err(NotYet::TableSize);
        }
        let copy = |base: u64, len: u64| {
            let mut bytes = vec![0u8; len as usize];
            mem.read_bytes(base, &mut bytes).map(|()| bytes)
        };
        let gdt = copy(sregs.gdt.base, gdt_len).map_err(|_| NotYet::Memory)?;
        let idt = copy(sregs.idt.base, idt_len).map_err(|_| NotYet::Memory)?;
        let tss = copy(sregs.tr.base, TSS_SIZE).map_err(|_| NotYet::Memory)?;

        // Exceptions from CPL 3 switch stacks: every present exception gate
        // needs an IST stack, or the TSS a usable RSP0.
        let rsp0 = read_u64(&tss, 4);
        for gate in idt.chunks_exact(16).take(32) {
            let present = gate.get(5).is_some_and(|b| b & 0x80 != 0);
            let ist = gate.get(4).map_or(0, |b| b & 7);
            if present && ist == 0 && rsp0 == 0 {
                return Err(NotYet::IstMissing);
            }
        }
        if near_a_stack_top(&tss, rsp) {
            return Err(NotYet::OnInterruptStack);
        }

        // GDT: the guest's descriptors with "accessed" preset (the CPU
        // would otherwise write it into this read-only page), then ours.
        let mut new_gdt = gdt.clone();
        let padded = new_gdt.len().checked_next_multiple_of(8);
        new_gdt.resize(padded.ok_or(NotYet::TableSize)?, 0);
        for desc in new_gdt.chunks_exact_mut(8) {
            let s_and_present = desc.get(5).is_some_and(|b| b & 0x90 == 0x90);
            if s_and_present {
                if let Some(b) = desc.get_mut(5) {
                    *b |= 1;
                }
            }
        }
        let users = UserDescriptors::after(new_gdt.len()).ok_or(NotYet::TableSize)?;
        new_gdt.extend_from_slice(&descriptor(users.code, true).to_le_bytes());
        new_gdt.extend_from_slice(&descriptor(users.data, false).to_le_bytes());
        mem.write_bytes(SCRATCH_GDT, &new_gdt)
            .map_err(|_| NotYet::Memory)?;

        // IDT: the guest's gates, #GP, #DB and #BP redirected to the shims
        // (#DB and #BP only when the guest has a handler for them). The #BP
        // gate gets DPL 3 so that an int3 at CPL 3 is a #BP, as the guest,
        // which believes it runs at CPL 0, expects.
        let mut new_idt = idt;
        let mut handlers = Handlers::default();
        for (vector, shim, orig) in [
            (GP_VECTOR, SCRATCH_SHIM, &mut handlers.gp),
            (DB_VECTOR, SHIM_DB_AT, &mut handlers.db),
            (BP_VECTOR, SHIM_BP_AT, &mut handlers.bp),
        ] {
            let Some(gate) = new_idt.chunks_exact_mut(16).nth(vector as usize) else {
                continue;
            };
            let present = gate.get(5).is_some_and(|b| b & 0x80 != 0);
            if !present && vector != GP_VECTOR {
                continue;
            }
            *orig = gate_offset(gate);
            set_gate_offset(gate, shim);
            if vector == BP_VECTOR {
                if let Some(b) = gate.get_mut(5) {
                    *b |= 0x60;
                }
            }
        }
        mem.write_bytes(SCRATCH_IDT, &new_idt)
            .map_err(|_| NotYet::Memory)?;

        // TSS: the guest's stack pointers, and an I/O bitmap allowing every
        // port (the tender decides what a port means, as at CPL 0).
        let mut new_tss = tss;
        if let Some(iomap) = new_tss.get_mut(0x66..0x68) {
            iomap.copy_from_slice(&(TSS_SIZE as u16).to_le_bytes());
        }
        mem.write_bytes(SCRATCH_TSS, &new_tss)
            .map_err(|_| NotYet::Memory)?;
        mem.fill(SCRATCH_TSS + TSS_SIZE, IOMAP_SIZE, 0)
            .map_err(|_| NotYet::Memory)?;
        mem.write::<u8>(SCRATCH_TSS + TSS_SIZE + IOMAP_SIZE, 0xff)
            .map_err(|_| NotYet::Memory)?;
        Ok((handlers, users))
    }
}

/// The two DPL-3 descriptors the tender appends to the guest's GDT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct UserDescriptors {
    /// Indices of the code and data descriptors.
    code: u16,
    data: u16,
    /// Limit of the extended GDT.
    gdt_limit: u16,
}

impl UserDescriptors {
    /// After a GDT of `len` bytes (a multiple of 8); `None` if the
    /// extended table would not fit a GDT limit.
    fn after(len: usize) -> Option<UserDescriptors> {
        let code = u16::try_from(len / 8).ok()?;
        let data = code.checked_add(1)?;
        let gdt_limit = data.checked_add(1)?.checked_mul(8)?.checked_sub(1)?;
        Some(UserDescriptors {
            code,
            data,
            gdt_limit,
        })
    }
}

/// `rsp` lies at most [`STACK_GUARD`] bytes below one of the TSS's stack
/// pointers (all guest values: compared without arithmetic that can
/// overflow).
fn near_a_stack_top(tss: &[u8], rsp: u64) -> bool {
    stack_pointers(tss)
        .into_iter()
        .any(|top| top != 0 && top.checked_sub(rsp).is_some_and(|d| d < STACK_GUARD))
}

/// RSP0 and IST1..7 of a 64-bit TSS.
fn stack_pointers(tss: &[u8]) -> [u64; 8] {
    [4, 0x24, 0x2c, 0x34, 0x3c, 0x44, 0x4c, 0x54].map(|at| read_u64(tss, at))
}

/// The little-endian u64 at `at`, 0 if `b` is too short.
fn read_u64(b: &[u8], at: usize) -> u64 {
    b.get(at..)
        .and_then(|s| s.first_chunk::<8>())
        .map_or(0, |w| u64::from_le_bytes(*w))
}

/// Handler address of a 16-byte interrupt gate.
fn gate_offset(gate: &[u8]) -> u64 {
    let b = |i: usize| u64::from(gate.get(i).copied().unwrap_or(0));
    b(0) | b(1) << 8 | b(6) << 16 | b(7) << 24 | b(8) << 32 | b(9) << 40 | b(10) << 48 | b(11) << 56
}

fn set_gate_offset(gate: &mut [u8], offset: u64) {
    let bytes = offset.to_le_bytes();
    for (dst, src) in [
        (0, 0),
        (1, 1),
        (6, 2),
        (7, 3),
        (8, 4),
        (9, 5),
        (10, 6),
        (11, 7),
    ] {
        if let (Some(d), Some(s)) = (gate.get_mut(dst), bytes.get(src)) {
            *d = *s;
        }
    }
}

fn user_layout(index: u16, code: bool) -> Segment {
    let mut s = if code { Segment::CODE } else { Segment::DATA };
    s.index = index;
    s.rpl = 3;
    s.dpl = 3;
    s
}

fn descriptor(index: u16, code: bool) -> u64 {
    user_layout(index, code).descriptor()
}

fn user_segment(index: u16, code: bool) -> kvm_segment {
    user_layout(index, code).to_kvm()
}

/// The guest's handlers the shims forward to (0: the gate is not
/// redirected).
#[derive(Clone, Copy, Debug, Default)]
struct Handlers {
    gp: u64,
    db: u64,
    bp: u64,
}

fn write_shim(
    mem: &mut GuestMemory,
    kernel_cs: u16,
    kernel_ss: u16,
    handlers: Handlers,
) -> Result<(), crate::guest_mem::GuestAccessError> {
    let mut code = SHIM;
    let mut patch = |at: usize, bytes: &[u8]| {
        if let Some(dst) = code.get_mut(at..).and_then(|c| c.get_mut(..bytes.len())) {
            dst.copy_from_slice(bytes);
        }
    };
    patch(SHIM_KCS, &u32::from(kernel_cs).to_le_bytes());
    patch(SHIM_KSS, &u32::from(kernel_ss).to_le_bytes());
    patch(SHIM_FLAG, &(FLAG_PAGE as u32).to_le_bytes());
    patch(SHIM_ORIG_GP, &handlers.gp.to_le_bytes());
    patch(SHIM_ORIG_DB, &handlers.db.to_le_bytes());
    patch(SHIM_ORIG_BP, &handlers.bp.to_le_bytes());
    mem.write_bytes(SCRATCH_SHIM, &code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shim_patch_points_hold_placeholders() {
        // mov qword [rsp+16], imm32
        assert_eq!(
            &SHIM[SHIM_KCS - 5..SHIM_KCS],
            &[0x48, 0xc7, 0x44, 0x24, 0x10]
        );
        // mov qword [rsp+40], imm32
        assert_eq!(
            &SHIM[SHIM_KSS - 5..SHIM_KSS],
            &[0x48, 0xc7, 0x44, 0x24, 0x28]
        );
        // mov byte [disp32], 1
        assert_eq!(&SHIM[SHIM_FLAG - 3..SHIM_FLAG], &[0xc6, 0x04, 0x25]);
        assert_eq!(SHIM[SHIM_FLAG + 4], 1);
        // jmp [rip+0] right before each handler address
        for orig in [SHIM_ORIG_GP, SHIM_ORIG_DB, SHIM_ORIG_BP] {
            assert_eq!(&SHIM[orig - 6..orig], &[0xff, 0x25, 0, 0, 0, 0]);
        }
        // out imm8, al at the debug shims' entries, right before the jmp
        assert_eq!(&SHIM[SHIM_DB..SHIM_DB + 2], &[0xe6, DEBUG_PORT_DB as u8]);
        assert_eq!(&SHIM[SHIM_BP..SHIM_BP + 2], &[0xe6, DEBUG_PORT_BP as u8]);
        assert_eq!(SHIM_DB + OUT_IMM8_LEN as usize + 6, SHIM_ORIG_DB);
        assert_eq!(SHIM_BP + OUT_IMM8_LEN as usize + 6, SHIM_ORIG_BP);
        // the TF check's jnz lands on the #DB shim: jnz rel8 at 0x53
        assert_eq!(SHIM[0x53], 0x75);
        assert_eq!(0x55 + SHIM[0x54] as usize, SHIM_DB);
    }

    #[test]
    fn gate_offsets_round_trip() {
        let mut gate = [0u8; 16];
        gate[2] = 0x08;
        gate[4] = 2;
        gate[5] = 0x8e;
        set_gate_offset(&mut gate, 0x1234_5678_9abc_def0);
        assert_eq!(gate_offset(&gate), 0x1234_5678_9abc_def0);
        assert_eq!(gate[2], 0x08);
        assert_eq!(gate[4], 2);
        assert_eq!(gate[5], 0x8e);
    }

    #[test]
    fn user_descriptors_are_dpl3() {
        let code = descriptor(5, true);
        assert_eq!((code >> 45) & 3, 3);
        assert_eq!((code >> 53) & 1, 1); // 64-bit
        assert_eq!(user_segment(5, true).selector, 5 * 8 + 3);
        assert_eq!(user_segment(6, false).dpl, 3);
    }

    /// A TSS whose RSP0 is `rsp0` and IST1 is `ist1`.
    fn tss(rsp0: u64, ist1: u64) -> [u8; TSS_SIZE as usize] {
        let mut t = [0u8; TSS_SIZE as usize];
        t[4..12].copy_from_slice(&rsp0.to_le_bytes());
        t[0x24..0x2c].copy_from_slice(&ist1.to_le_bytes());
        t
    }

    #[test]
    fn stack_tops_are_compared_without_overflow() {
        let t = tss(0x8000, 0);
        assert!(near_a_stack_top(&t, 0x8000));
        assert!(near_a_stack_top(&t, 0x8000 - STACK_GUARD + 1));
        assert!(!near_a_stack_top(&t, 0x8000 - STACK_GUARD));
        assert!(!near_a_stack_top(&t, 0x8001));
        // Guest values at the top of the address space: no wrap-around
        // (rsp + STACK_GUARD would overflow) and no panic.
        let t = tss(0, u64::MAX);
        assert!(near_a_stack_top(&t, u64::MAX - 1));
        assert!(near_a_stack_top(&t, u64::MAX));
        assert!(!near_a_stack_top(&t, 0));
        assert!(!near_a_stack_top(&tss(u64::MAX - 1, 0), u64::MAX));
        // A zero pointer is "no stack", and a short TSS reads as zeroes.
        assert!(!near_a_stack_top(&tss(0, 0), 0));
        assert!(!near_a_stack_top(&[0xff; 8], 0));
        assert_eq!(stack_pointers(&tss(1, 2))[..2], [1, 2]);
    }

    #[test]
    fn user_descriptors_follow_the_guest_gdt_or_are_refused() {
        assert_eq!(
            UserDescriptors::after(5 * 8),
            Some(UserDescriptors {
                code: 5,
                data: 6,
                gdt_limit: 7 * 8 - 1
            })
        );
        // The largest GDT the tender copies still fits.
        let max = (MAX_GDT_BYTES as usize).next_multiple_of(8);
        assert!(UserDescriptors::after(max).is_some());
        // Past what a 16-bit limit can describe: refused, not wrapped.
        assert_eq!(UserDescriptors::after(8190 * 8), None);
        assert_eq!(UserDescriptors::after(usize::MAX - 7), None);
    }

    #[test]
    fn scratch_area_fits_below_the_image() {
        const { assert!(SCRATCH_TSS + TSS_SIZE + IOMAP_SIZE < 0x10_0000) };
        const { assert!(SCRATCH_GDT >= 0x1_0000 + 0x4000) };
    }
}
