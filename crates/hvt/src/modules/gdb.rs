//! `--gdb [--gdb-port=N]`: a GDB remote stub (the `gdbstub` crate) in
//! place of the plain exit loop. The tender waits on 127.0.0.1:N (default
//! 1234) before the guest runs its first instruction; gdb then reads and
//! writes registers and memory, sets software breakpoints (int3, reported
//! by KVM through KVM_GUESTDBG_USE_SW_BP), single-steps, continues, and
//! interrupts with Ctrl-C. Hypercalls are served as usual while the guest
//! runs; when it halts gdb sees it exit with its status.
//!
//! Guest virtual addresses are taken as guest-physical ones (the identity
//! map every hvt guest runs on). Text stays host-writable in this mode so
//! that breakpoints can be written, and no seccomp filter is installed, as
//! in upstream's solo5-hvt-debug. The tender's own area below the image
//! (page tables, boot info, the ring-3 scratch pages) takes no breakpoints
//! and no writes from gdb.
//!
//! Under ring-3 execution (`arch::x86_64::ring3`) the guest runs at CPL 3
//! with the tender's copies of its tables. Emulating KVMs (PVM) neither
//! report an int3 there nor single-step it, so the tender does both
//! itself: #BP and #DB reach the tender's shims, which report them on a
//! port; the tender undoes the trap and reports a breakpoint or a finished
//! step. Stepping at CPL 3 sets RFLAGS.TF (cleared again at the stop);
//! stepping at CPL 0 uses KVM's single-step, and a step that lands in the
//! tender's scratch code is continued until it leaves it, so gdb never sees
//! the shims. Registers are reported as the guest set them (its CS/SS,
//! not the DPL-3 substitutes). Stepping an instruction that raises an
//! exception at CPL 3 runs the guest's handler without stopping (the CPU
//! clears TF on entry); a breakpoint in the handler stops it.

use std::collections::BTreeMap;
use std::net::{TcpListener, TcpStream};

use gdbstub::common::Signal;
use gdbstub::conn::{Connection, ConnectionExt};
use gdbstub::stub::run_blocking::{self, BlockingEventLoop, WaitForStopReasonError};
use gdbstub::stub::{DisconnectReason, GdbStub, SingleThreadStopReason};
use gdbstub::target::ext::base::singlethread::{
    SingleThreadBase, SingleThreadResume, SingleThreadResumeOps, SingleThreadSingleStep,
    SingleThreadSingleStepOps,
};
use gdbstub::target::ext::base::BaseOps;
use gdbstub::target::ext::breakpoints::{
    Breakpoints, BreakpointsOps, SwBreakpoint, SwBreakpointOps,
};
use gdbstub::target::{Target, TargetError, TargetResult};
use gdbstub_arch::x86::reg::X86_64CoreRegs;
use gdbstub_arch::x86::X86_64_SSE;
use kvm_bindings::{
    kvm_guest_debug, KVM_GUESTDBG_ENABLE, KVM_GUESTDBG_SINGLESTEP, KVM_GUESTDBG_USE_SW_BP,
};

use corten_abi::hvt::HVT_GUEST_MIN_BASE;
use corten_tender::diag::EXIT_TENDER_ERROR;

use crate::arch::ring3::{in_scratch as in_tender_code, RFLAGS_TF};
use crate::diag;
use crate::exit_loop::{self, End, Guest, Hooks, Step};
use crate::modules::Modules;

const INT3: u8 = 0xcc;
/// Steps through the tender's scratch code after which a step gives up
/// hiding it (the shims are a few instructions long).
const MAX_HIDDEN_STEPS: u32 = 256;
/// How often KVM_RUN is interrupted to look for a Ctrl-C from gdb.
const POLL_INTERVAL_US: i64 = 100_000;
/// The stub's packet buffer, advertised to gdb as `PacketSize`: the
/// longest packet it takes, and the longest reply gdb asks for.
const PACKET_SIZE: usize = 4096;
/// The most memory one `m` request may read: two hex digits per byte must
/// fit the packet size (gdb itself asks for less).
const MAX_READ: usize = PACKET_SIZE / 2;

#[derive(Debug, thiserror::Error)]
pub enum GdbError {
    #[error("gdb: cannot listen on 127.0.0.1:{port}: {source}")]
    Listen { port: u16, source: std::io::Error },
    #[error("gdb: waiting for a debugger failed: {0}")]
    Accept(std::io::Error),
    #[error("gdb: cannot set up the Ctrl-C timer: {0}")]
    Timer(std::io::Error),
    #[error("gdb: cannot start the stub: {0}")]
    Stub(gdbstub::stub::GdbStubBuilderError),
}

/// The debugged VM, as gdbstub's `Target`.
struct Session<'a> {
    guest: &'a mut Guest,
    modules: &'a mut Modules,
    stepping: bool,
    /// RFLAGS.TF was set by the tender for the current step.
    trap_flag: bool,
    /// Guest address → the byte the int3 replaced.
    breakpoints: BTreeMap<u64, u8>,
    /// Guest debug control last given to KVM.
    debug_control: u32,
    end: Option<End>,
}

/// The exit loop's hooks while gdb is attached: the other modules', and
/// gdb's breakpoints and stepping.
struct Debugged<'a> {
    modules: &'a mut Modules,
    breakpoints: &'a BTreeMap<u64, u8>,
    stepping: bool,
}

impl Hooks for Debugged<'_> {
    fn halted(&mut self, guest: &Guest, status: i32, cookie: Option<u64>) {
        self.modules.halted(guest, status, cookie);
    }

    fn crashed(&mut self, guest: &Guest) {
        self.modules.crashed(guest);
    }

    fn is_breakpoint(&self, addr: u64) -> bool {
        self.breakpoints.contains_key(&addr)
    }

    fn stepping(&self) -> bool {
        self.stepping
    }
}

impl Session<'_> {
    /// Runs the guest to its next exit and handles it.
    fn next_exit(&mut self) -> Step {
        let mut hooks = Debugged {
            modules: self.modules,
            breakpoints: &self.breakpoints,
            stepping: self.stepping,
        };
        exit_loop::step(self.guest, &mut hooks)
    }

    /// Arms KVM's guest debugging for the next run: software breakpoints
    /// always; for a step either KVM's single-step (CPL 0) or the trap
    /// flag (CPL 3, where emulating KVMs do not single-step).
    fn apply_debug_control(&mut self) -> Result<(), String> {
        let cpl3 = self
            .guest
            .vm
            .vcpu
            .get_sregs()
            .map(|s| s.cs.dpl == 3)
            .map_err(|e| format!("KVM_GET_SREGS: {e}"))?;
        let use_tf = self.stepping && cpl3;
        let mut control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_SW_BP;
        if self.stepping && !use_tf {
            control |= KVM_GUESTDBG_SINGLESTEP;
        }
        if control != self.debug_control {
            let dbg = kvm_guest_debug {
                control,
                ..Default::default()
            };
            self.guest
                .vm
                .vcpu
                .set_guest_debug(&dbg)
                .map_err(|e| format!("KVM_SET_GUEST_DEBUG: {e}"))?;
            self.debug_control = control;
        }
        if use_tf != self.trap_flag {
            self.set_trap_flag(use_tf)?;
        }
        Ok(())
    }

    fn set_trap_flag(&mut self, on: bool) -> Result<(), String> {
        let mut regs = self
            .guest
            .vm
            .vcpu
            .get_regs()
            .map_err(|e| format!("KVM_GET_REGS: {e}"))?;
        if on {
            regs.rflags |= RFLAGS_TF;
        } else {
            regs.rflags &= !RFLAGS_TF;
        }
        self.guest
            .vm
            .vcpu
            .set_regs(&regs)
            .map_err(|e| format!("KVM_SET_REGS: {e}"))?;
        self.trap_flag = on;
        Ok(())
    }

    /// At a stop: the trap flag is the tender's business, not the guest's.
    fn clear_trap_flag(&mut self) -> Result<(), String> {
        if self.trap_flag {
            self.set_trap_flag(false)?;
        }
        Ok(())
    }

    fn rip(&self) -> Result<u64, String> {
        self.guest
            .vm
            .vcpu
            .get_regs()
            .map(|r| r.rip)
            .map_err(|e| format!("KVM_GET_REGS: {e}"))
    }
}

/// Addresses gdb may not touch: the tender's page tables, boot info and
/// ring-3 scratch pages below the unikernel image.
fn tender_owned(addr: u64, len: u64) -> bool {
    len > 0 && addr < HVT_GUEST_MIN_BASE
}

impl Target for Session<'_> {
    type Arch = X86_64_SSE;
    type Error = String;

    fn base_ops(&mut self) -> BaseOps<'_, Self::Arch, Self::Error> {
        BaseOps::SingleThread(self)
    }

    fn support_breakpoints(&mut self) -> Option<BreakpointsOps<'_, Self>> {
        Some(self)
    }
}

impl SingleThreadBase for Session<'_> {
    fn read_registers(&mut self, regs: &mut X86_64CoreRegs) -> TargetResult<(), Self> {
        let r = self
            .guest
            .vm
            .vcpu
            .get_regs()
            .map_err(|e| TargetError::Fatal(e.to_string()))?;
        // The segments as the guest set them (ring-3 execution substitutes
        // DPL-3 ones while the guest runs).
        let s = self
            .guest
            .accel
            .register_view()
            .sregs(&self.guest.vm.vcpu)
            .ok_or_else(|| TargetError::Fatal("KVM_GET_SREGS failed".to_owned()))?;
        regs.regs = [
            r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rbp, r.rsp, r.r8, r.r9, r.r10, r.r11,
            r.r12, r.r13, r.r14, r.r15,
        ];
        regs.rip = r.rip;
        regs.eflags = r.rflags as u32;
        regs.segments.cs = u32::from(s.cs.selector);
        regs.segments.ss = u32::from(s.ss.selector);
        regs.segments.ds = u32::from(s.ds.selector);
        regs.segments.es = u32::from(s.es.selector);
        regs.segments.fs = u32::from(s.fs.selector);
        regs.segments.gs = u32::from(s.gs.selector);
        if let Ok(f) = self.guest.vm.vcpu.get_fpu() {
            for (st, fpr) in regs.st.iter_mut().zip(f.fpr.iter()) {
                if let Some(src) = fpr.get(..10) {
                    st.copy_from_slice(src);
                }
            }
            regs.fpu.fctrl = u32::from(f.fcw);
            regs.fpu.fstat = u32::from(f.fsw);
            regs.fpu.ftag = u32::from(f.ftwx);
            regs.fpu.fop = u32::from(f.last_opcode);
            regs.fpu.fioff = f.last_ip as u32;
            regs.fpu.fooff = f.last_dp as u32;
            for (x, src) in regs.xmm.iter_mut().zip(f.xmm.iter()) {
                *x = u128::from_le_bytes(*src);
            }
            regs.mxcsr = f.mxcsr;
        }
        Ok(())
    }

    fn write_registers(&mut self, regs: &X86_64CoreRegs) -> TargetResult<(), Self> {
        let mut r = self
            .guest
            .vm
            .vcpu
            .get_regs()
            .map_err(|e| TargetError::Fatal(e.to_string()))?;
        let g = regs.regs;
        (r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rbp, r.rsp) =
            (g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7]);
        (r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14, r.r15) =
            (g[8], g[9], g[10], g[11], g[12], g[13], g[14], g[15]);
        r.rip = regs.rip;
        // The trap flag stays the tender's while it steps.
        r.rflags = u64::from(regs.eflags) & !RFLAGS_TF | (r.rflags & RFLAGS_TF);
        self.guest
            .vm
            .vcpu
            .set_regs(&r)
            .map_err(|e| TargetError::Fatal(e.to_string()))
    }

    /// gdbstub answers an `m ADDR,LEN` by calling this once per chunk of
    /// LEN that fits its packet buffer, for as long as it returns `Ok`,
    /// writing each chunk to gdb as it comes. A LEN whose reply would not
    /// fit the packet size is therefore refused here, at its first chunk
    /// (longer than [`MAX_READ`]) and before anything is written: the reply
    /// is an error and the work stays within one packet, whatever LEN says.
    /// Reads that run past the end of guest memory are cut short there
    /// (gdb takes a short reply as "the rest cannot be read").
    fn read_addrs(&mut self, start: u64, data: &mut [u8]) -> TargetResult<usize, Self> {
        if data.len() > MAX_READ {
            return Err(TargetError::NonFatal);
        }
        let size = self.guest.vm.mem.size();
        if start >= size {
            return Err(TargetError::NonFatal);
        }
        let n = (data.len() as u64).min(size - start) as usize;
        let dst = data.get_mut(..n).ok_or(TargetError::NonFatal)?;
        self.guest
            .vm
            .mem
            .read_bytes(start, dst)
            .map_err(|_| TargetError::NonFatal)?;
        Ok(n)
    }

    fn write_addrs(&mut self, start: u64, data: &[u8]) -> TargetResult<(), Self> {
        if tender_owned(start, data.len() as u64) {
            return Err(TargetError::NonFatal);
        }
        self.guest
            .vm
            .mem
            .write_bytes(start, data)
            .map_err(|_| TargetError::NonFatal)
    }

    fn support_resume(&mut self) -> Option<SingleThreadResumeOps<'_, Self>> {
        Some(self)
    }
}

impl SingleThreadResume for Session<'_> {
    fn resume(&mut self, _signal: Option<Signal>) -> Result<(), Self::Error> {
        self.stepping = false;
        Ok(())
    }

    fn support_single_step(&mut self) -> Option<SingleThreadSingleStepOps<'_, Self>> {
        Some(self)
    }
}

impl SingleThreadSingleStep for Session<'_> {
    fn step(&mut self, _signal: Option<Signal>) -> Result<(), Self::Error> {
        self.stepping = true;
        Ok(())
    }
}

impl Breakpoints for Session<'_> {
    fn support_sw_breakpoint(&mut self) -> Option<SwBreakpointOps<'_, Self>> {
        Some(self)
    }
}

impl SwBreakpoint for Session<'_> {
    fn add_sw_breakpoint(&mut self, addr: u64, _kind: usize) -> TargetResult<bool, Self> {
        if self.breakpoints.contains_key(&addr) {
            return Ok(true);
        }
        if tender_owned(addr, 1) {
            return Ok(false);
        }
        let Ok(orig) = self.guest.vm.mem.read::<u8>(addr) else {
            return Ok(false);
        };
        if self.guest.vm.mem.write::<u8>(addr, INT3).is_err() {
            return Ok(false);
        }
        self.breakpoints.insert(addr, orig);
        Ok(true)
    }

    fn remove_sw_breakpoint(&mut self, addr: u64, _kind: usize) -> TargetResult<bool, Self> {
        match self.breakpoints.remove(&addr) {
            Some(orig) => Ok(self.guest.vm.mem.write::<u8>(addr, orig).is_ok()),
            None => Ok(false),
        }
    }
}

struct EventLoop<'a>(std::marker::PhantomData<&'a ()>);

impl<'a> BlockingEventLoop for EventLoop<'a> {
    type Target = Session<'a>;
    type Connection = TcpStream;
    type StopReason = SingleThreadStopReason<u64>;

    fn wait_for_stop_reason(
        target: &mut Self::Target,
        conn: &mut Self::Connection,
    ) -> Result<run_blocking::Event<Self::StopReason>, WaitForStopReasonError<String, std::io::Error>>
    {
        target
            .apply_debug_control()
            .map_err(WaitForStopReasonError::Target)?;
        let mut hidden_steps = 0;
        loop {
            match target.next_exit() {
                Step::Continue => {
                    // A hypercall may have moved the guest between CPL 0
                    // and CPL 3: re-arm the step the right way.
                    if target.stepping {
                        target
                            .apply_debug_control()
                            .map_err(WaitForStopReasonError::Target)?;
                    }
                }
                Step::Interrupted => {
                    if conn
                        .peek()
                        .map_err(WaitForStopReasonError::Connection)?
                        .is_some()
                    {
                        target
                            .clear_trap_flag()
                            .map_err(WaitForStopReasonError::Target)?;
                        let byte = conn.read().map_err(WaitForStopReasonError::Connection)?;
                        return Ok(run_blocking::Event::IncomingData(byte));
                    }
                }
                Step::Debug => {
                    if target.stepping {
                        let rip = target.rip().map_err(WaitForStopReasonError::Target)?;
                        if in_tender_code(rip) && hidden_steps < MAX_HIDDEN_STEPS {
                            // Inside a shim: step on until the guest's
                            // code runs again.
                            hidden_steps += 1;
                            target
                                .apply_debug_control()
                                .map_err(WaitForStopReasonError::Target)?;
                            continue;
                        }
                        target
                            .clear_trap_flag()
                            .map_err(WaitForStopReasonError::Target)?;
                        return Ok(run_blocking::Event::TargetStopped(
                            SingleThreadStopReason::DoneStep,
                        ));
                    }
                    // Report the breakpoint's own address whether KVM
                    // left RIP on the int3 or just after it.
                    let mut regs = target
                        .guest
                        .vm
                        .vcpu
                        .get_regs()
                        .map_err(|e| WaitForStopReasonError::Target(e.to_string()))?;
                    if !target.breakpoints.contains_key(&regs.rip)
                        && target.breakpoints.contains_key(&regs.rip.wrapping_sub(1))
                    {
                        regs.rip -= 1;
                        target
                            .guest
                            .vm
                            .vcpu
                            .set_regs(&regs)
                            .map_err(|e| WaitForStopReasonError::Target(e.to_string()))?;
                    }
                    return Ok(run_blocking::Event::TargetStopped(
                        SingleThreadStopReason::SwBreak(()),
                    ));
                }
                Step::End(end) => {
                    target.end = Some(end);
                    return Ok(run_blocking::Event::TargetStopped(
                        SingleThreadStopReason::Exited(end.status as u8),
                    ));
                }
            }
        }
    }

    fn on_interrupt(
        _target: &mut Self::Target,
    ) -> Result<Option<SingleThreadStopReason<u64>>, String> {
        Ok(Some(SingleThreadStopReason::Signal(Signal::SIGINT)))
    }
}

extern "C" fn on_alarm(_sig: libc::c_int) {}

/// A periodic SIGALRM so that KVM_RUN returns (EINTR) and the loop can
/// look for a Ctrl-C from gdb.
fn start_poll_timer() -> std::io::Result<()> {
    // SAFETY: a zeroed sigaction with a handler that does nothing.
    let mut sa: libc::sigaction = unsafe { std::mem::zeroed() };
    sa.sa_sigaction = on_alarm as *const () as usize;
    // SAFETY: installs the no-op handler.
    if unsafe { libc::sigaction(libc::SIGALRM, &sa, std::ptr::null_mut()) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let interval = libc::timeval {
        tv_sec: 0,
        tv_usec: POLL_INTERVAL_US,
    };
    let timer = libc::itimerval {
        it_interval: interval,
        it_value: interval,
    };
    // SAFETY: a valid itimerval.
    if unsafe { libc::setitimer(libc::ITIMER_REAL, &timer, std::ptr::null_mut()) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Listens on 127.0.0.1:`port`.
pub fn listen(port: u16) -> Result<TcpListener, GdbError> {
    TcpListener::bind(("127.0.0.1", port)).map_err(|source| GdbError::Listen { port, source })
}

/// Waits for gdb on `listener`, then runs the guest under its control.
pub fn serve(
    listener: TcpListener,
    kernel: &str,
    guest: &mut Guest,
    modules: &mut Modules,
) -> Result<End, GdbError> {
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
    diag::print(format_args!(
        "Waiting for a debugger. Connect to it like this:"
    ));
    diag::print(format_args!(
        "\tgdb --ex=\"target remote localhost:{port}\" {kernel}"
    ));
    let (stream, _) = listener.accept().map_err(GdbError::Accept)?;
    drop(listener);
    let _ = stream.set_nodelay(true);
    start_poll_timer().map_err(GdbError::Timer)?;

    let mut session = Session {
        guest,
        modules,
        stepping: false,
        trap_flag: false,
        breakpoints: BTreeMap::new(),
        debug_control: 0,
        end: None,
    };
    let mut packet_buffer = [0u8; PACKET_SIZE];
    let stub = GdbStub::builder(stream)
        .with_packet_buffer(&mut packet_buffer)
        .build()
        .map_err(GdbError::Stub)?;
    let result = stub.run_blocking::<EventLoop<'_>>(&mut session);
    let end = match result {
        Ok(DisconnectReason::TargetExited(_)) | Ok(DisconnectReason::TargetTerminated(_)) => {
            session.end.unwrap_or(End {
                status: EXIT_TENDER_ERROR,
            })
        }
        Ok(DisconnectReason::Disconnect) => {
            // gdb detached: remove breakpoints and let the guest run on.
            let bps: Vec<(u64, u8)> = session.breakpoints.iter().map(|(a, b)| (*a, *b)).collect();
            for (addr, orig) in bps {
                let _ = session.guest.vm.mem.write::<u8>(addr, orig);
            }
            session.stepping = false;
            let _ = session.clear_trap_flag();
            let _ = session
                .guest
                .vm
                .vcpu
                .set_guest_debug(&kvm_guest_debug::default());
            diag::print(format_args!("gdb detached; the guest continues"));
            exit_loop::run_to_end(session.guest, session.modules)
        }
        Ok(DisconnectReason::Kill) => {
            diag::print(format_args!("gdb killed the guest"));
            End {
                status: EXIT_TENDER_ERROR,
            }
        }
        Err(e) => {
            diag::print(format_args!("gdb: session failed: {e}"));
            session.end.unwrap_or(End {
                status: EXIT_TENDER_ERROR,
            })
        }
    };
    Ok(end)
}

// The connection type used with the blocking loop must implement both.
const _: fn() = || {
    fn check<C: Connection + ConnectionExt>() {}
    check::<TcpStream>();
};
