//! The vCPU exit loop: run the guest, decode why it stopped, dispatch
//! hypercalls, and turn every other exit into a defined end with a message.
//!
//! | exit | status |
//! | --- | --- |
//! | HALT hypercall | the guest's status (low 8 bits) |
//! | triple fault (KVM_EXIT_SHUTDOWN, or an internal error saying an exception could not be delivered) | 255, with a register dump |
//! | guest write to host-read-only memory (KVM_RUN fails with EFAULT) | 1, "host/guest translation fault" |
//! | bad hypercall argument, invalid port/MMIO access, other exits | 1, with a message |

use std::fmt::Write as _;

use corten_abi::solo5::EXIT_ABORT;
use corten_tender::diag::EXIT_TENDER_ERROR;
use kvm_ioctls::VcpuExit;

use crate::arch::{self, DebugTrap, Exit};
use crate::diag;
use crate::hypercall::{Hypercalls, Outcome};
use crate::vm::Vm;

/// What the exit loop runs: the VM, its hypercall handlers, the
/// architecture's run-time state (ring-3 execution) and the counters.
pub struct Guest {
    pub vm: Vm,
    pub hc: Hypercalls,
    pub accel: arch::Accel,
    pub stats: ExitStats,
}

/// What the exit loop tells the optional modules (`modules/`: dumpcore,
/// gdb) and asks them; they sit above it.
pub trait Hooks {
    /// The guest ended with the HALT hypercall; `cookie` is its trap frame
    /// if it passed one.
    fn halted(&mut self, guest: &Guest, status: i32, cookie: Option<u64>);
    /// The guest died without halting (triple fault, translation fault).
    fn crashed(&mut self, guest: &Guest);
    /// A debugger's int3 sits at `addr`.
    fn is_breakpoint(&self, addr: u64) -> bool;
    /// A debugger is single-stepping the guest.
    fn stepping(&self) -> bool;
}

/// Counters for `CORTEN_HVT_STATS=1` and the benchmark.
#[derive(Debug, Default, Clone)]
pub struct ExitStats {
    /// Every return from KVM_RUN.
    pub exits: u64,
    /// Hypercalls by number.
    pub hypercalls: [u64; 9],
}

impl ExitStats {
    pub fn summary(&self) -> String {
        let mut s = format!("{} VM exits", self.exits);
        let names = [
            "",
            "walltime",
            "puts",
            "poll",
            "block_write",
            "block_read",
            "net_write",
            "net_read",
            "halt",
        ];
        for (name, n) in names.iter().zip(self.hypercalls.iter()).skip(1) {
            if *n > 0 {
                let _ = write!(s, ", {name}={n}");
            }
        }
        s
    }
}

/// How the run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct End {
    pub status: i32,
}

/// What one return from KVM_RUN led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Handled (a hypercall): run again.
    Continue,
    /// A signal interrupted KVM_RUN (SIGINT/SIGTERM exit on their own).
    Interrupted,
    /// KVM_EXIT_DEBUG (breakpoint or single step), for the gdb module.
    Debug,
    /// The run is over.
    End(End),
}

/// Runs the guest until it halts or fails; returns the exit status.
/// Without a debugger a debug exit is a failure.
pub fn run_to_end(guest: &mut Guest, hooks: &mut impl Hooks) -> End {
    loop {
        match step(guest, hooks) {
            Step::Continue | Step::Interrupted => continue,
            Step::Debug => {
                return fail(&guest.vm, format_args!("KVM: unexpected debug exit"), true);
            }
            Step::End(end) => return end,
        }
    }
}

/// Runs the vCPU until its next exit and handles that exit.
pub fn step(guest: &mut Guest, hooks: &mut impl Hooks) -> Step {
    step_inner(guest, hooks).unwrap_or_else(Step::End)
}

fn step_inner(guest: &mut Guest, hooks: &mut impl Hooks) -> Result<Step, End> {
    let Guest {
        vm,
        hc,
        accel,
        stats,
    } = guest;
    let exit = vm.vcpu.run();
    stats.exits += 1;
    let exit = match exit {
        Ok(exit) => exit,
        Err(e) => match e.errno() {
            libc::EINTR | libc::EAGAIN => return Ok(Step::Interrupted),
            libc::EFAULT => return Err(translation_fault(guest, None, hooks)),
            _ => {
                return Err(fail(
                    vm,
                    format_args!("KVM: running the vCPU failed: {e}"),
                    true,
                ))
            }
        },
    };
    if let Some(decoded) = arch::decode_io(&exit) {
        match decoded {
            Exit::Hypercall { nr, arg } => {
                if let Some(slot) = stats.hypercalls.get_mut(nr as usize) {
                    *slot += 1;
                }
                match hc.dispatch(&mut vm.mem, nr, arg) {
                    Ok(Outcome::Continue) => {
                        accel.after_hypercall(vm);
                        return Ok(Step::Continue);
                    }
                    Ok(Outcome::Halt { status, cookie }) => {
                        return Err(halted(guest, hooks, status, cookie));
                    }
                    Err(e) => return Err(fail(vm, format_args!("{e}"), false)),
                }
            }
            Exit::Mmio { addr, len, .. } if addr < vm.mem.mapped_size() => {
                return Err(translation_fault(guest, Some((addr, len as u64)), hooks));
            }
            Exit::Mmio { addr, len, write } => {
                return Err(fail(
                    vm,
                    format_args!(
                        "Invalid guest memory access: 0x{addr:x} ({len}-byte {}) is outside \
                         guest memory (0x{:x} bytes)",
                        if write { "write" } else { "read" },
                        vm.mem.mapped_size()
                    ),
                    true,
                ));
            }
            Exit::BadIo { port, len, write } => {
                let stepping = hooks.stepping();
                match accel.debug_trap(vm, port, stepping, |a| hooks.is_breakpoint(a)) {
                    Some(DebugTrap::Stopped) => return Ok(Step::Debug),
                    Some(DebugTrap::Guest) => return Ok(Step::Continue),
                    None => {}
                }
                return Err(fail(
                    vm,
                    format_args!(
                        "Invalid guest {}=0x{port:x} ({len}-byte {}): \
                         hypercalls are 4-byte writes to the hypercall {}",
                        arch::BAD_IO,
                        if write { "write" } else { "read" },
                        arch::HYPERCALL_WINDOW
                    ),
                    false,
                ));
            }
        }
    }
    match exit {
        VcpuExit::MemoryFault { gpa, size, .. } => {
            Err(translation_fault(guest, Some((gpa, size)), hooks))
        }
        VcpuExit::Shutdown => Err(crashed(
            guest,
            hooks,
            format_args!(
                "guest triple fault (KVM_EXIT_SHUTDOWN): an exception occurred while the \
                     guest could not handle exceptions; registers:"
            ),
        )),
        VcpuExit::Intr => Ok(Step::Interrupted),
        VcpuExit::Debug(_) => Ok(Step::Debug),
        VcpuExit::Hlt => Err(fail(
            vm,
            format_args!(
                "guest executed HLT with interrupts disabled and can never resume \
                     (hvt guests end with the HALT hypercall)"
            ),
            true,
        )),
        VcpuExit::FailEntry(reason, _) => Err(fail(
            vm,
            format_args!("KVM: entry failure: hw_entry_failure_reason=0x{reason:x}"),
            true,
        )),
        VcpuExit::InternalError => {
            let run = vm.vcpu.get_kvm_run();
            // SAFETY: exit_reason is KVM_EXIT_INTERNAL_ERROR, so
            // `internal` is the active member of the union.
            let internal = unsafe { run.__bindgen_anon_1.internal };
            let suberror = internal.suberror;
            if suberror == kvm_bindings::KVM_INTERNAL_ERROR_EMULATION
                && arch::instruction_pointer(&vm.vcpu).is_some_and(|ip| hooks.is_breakpoint(ip))
            {
                // The emulator met a debugger's int3.
                return Ok(Step::Debug);
            }
            let undeliverable = matches!(
                suberror,
                kvm_bindings::KVM_INTERNAL_ERROR_SIMUL_EX
                    | kvm_bindings::KVM_INTERNAL_ERROR_DELIVERY_EV
            ) || (suberror == kvm_bindings::KVM_INTERNAL_ERROR_EMULATION
                && arch::exceptions_undeliverable(&vm.vcpu));
            if undeliverable {
                // The guest raised an exception it had no way to
                // handle (shadow-paging KVMs report this instead of a
                // triple fault): a guest crash, like KVM_EXIT_SHUTDOWN.
                return Err(crashed(
                    guest,
                    hooks,
                    format_args!(
                        "guest exception could not be delivered (KVM internal error \
                         {suberror}: no usable IDT or a fault while delivering a fault); \
                         registers:"
                    ),
                ));
            }
            Err(fail(
                vm,
                format_args!(
                    "KVM: internal error exit: suberror=0x{suberror:x}{}",
                    if suberror == kvm_bindings::KVM_INTERNAL_ERROR_EMULATION {
                        " (the host's KVM could not emulate a guest instruction)"
                    } else {
                        ""
                    }
                ),
                true,
            ))
        }
        other => {
            let name = format!("{other:?}");
            Err(fail(vm, format_args!("KVM: unhandled exit: {name}"), true))
        }
    }
}

/// The guest crashed without halting: 255 (like a guest exception) with
/// a register dump.
fn crashed(guest: &Guest, hooks: &mut impl Hooks, args: std::fmt::Arguments<'_>) -> End {
    hooks.crashed(guest);
    diag::print(args);
    diag::print_block(&arch::register_dump(&guest.vm.vcpu));
    End { status: EXIT_ABORT }
}

fn halted(guest: &Guest, hooks: &mut impl Hooks, status: i32, cookie: Option<u64>) -> End {
    if let Some(cookie) = cookie {
        let view = guest.accel.register_view();
        if let Some(frame) = arch::trap_frame_dump(&guest.vm.mem, cookie, view) {
            diag::print(format_args!("{frame}"));
        }
    }
    hooks.halted(guest, status, cookie);
    End { status }
}

fn fail(vm: &Vm, args: std::fmt::Arguments<'_>, dump: bool) -> End {
    diag::print(args);
    if dump {
        diag::print(format_args!("guest registers:"));
        diag::print_block(&arch::register_dump(&vm.vcpu));
    }
    End {
        status: EXIT_TENDER_ERROR,
    }
}

/// KVM could not map a guest access to host memory: the guest wrote to a
/// page the tender made read-only on the host (its text or rodata), which
/// upstream reports as a "host/guest translation fault".
fn translation_fault(guest: &Guest, fault: Option<(u64, u64)>, hooks: &mut impl Hooks) -> End {
    hooks.crashed(guest);
    let vm = &guest.vm;
    let rip = arch::instruction_pointer(&vm.vcpu);
    let mut msg = diag::StackBuf::<512>::new();
    let _ = write!(msg, "host/guest translation fault: ");
    match fault {
        Some((gpa, size)) => {
            let _ = write!(msg, "the guest accessed 0x{gpa:x} ({size} bytes)");
            if let Some((start, end)) = vm
                .mem
                .read_only_ranges()
                .find(|&(s, e)| gpa >= s && gpa < e)
            {
                let _ = write!(
                    msg,
                    ", inside 0x{start:x}..0x{end:x} which holds the unikernel's text or \
                     read-only data and may not be written"
                );
            }
        }
        None => {
            let _ = write!(
                msg,
                "the guest accessed memory the host cannot map for it (most likely a write to \
                 its own text or read-only data)"
            );
        }
    }
    if let Some(rip) = rip {
        let _ = write!(msg, "; instruction at {}=0x{rip:x}", arch::IP_NAME);
    }
    diag::print(format_args!(
        "{}",
        std::str::from_utf8(msg.as_bytes()).unwrap_or("host/guest translation fault")
    ));
    End {
        status: EXIT_TENDER_ERROR,
    }
}
