//! Optional tender modules that hook into the run loop: `dumpcore`
//! (write an ELF core of the guest when it aborts) and `gdb` (a remote
//! debugging stub), plus the architecture's run-time accelerator (ring-3
//! execution on x86_64). Hooks are called from `exit_loop.rs`.

pub mod dumpcore;
#[cfg(target_arch = "x86_64")]
pub mod gdb;

use std::ffi::OsStr;
use std::path::PathBuf;

use corten_tender::cli::Options;

use crate::tender::{OPT_DUMPCORE, OPT_GDB, OPT_GDB_PORT};
use crate::vm::Vm;

#[derive(Debug, thiserror::Error)]
pub enum ModuleError {
    #[error("Invalid option: `--gdb-port={0}': give a TCP port number between 1 and 65535")]
    GdbPort(String),
    #[error(
        "--gdb is not supported on this architecture yet; use --dumpcore=DIR to get a core \
         file for gdb"
    )]
    GdbUnsupported,
    #[cfg(target_arch = "x86_64")]
    #[error(transparent)]
    Gdb(#[from] gdb::GdbError),
    #[error(transparent)]
    Dumpcore(#[from] dumpcore::DumpcoreError),
}

/// Module options from the command line.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub dumpcore_dir: Option<PathBuf>,
    pub gdb: bool,
    pub gdb_port: u16,
}

impl Config {
    pub fn from_options(o: &Options) -> Result<Config, ModuleError> {
        let gdb_port = match o.value(OPT_GDB_PORT).map(OsStr::to_string_lossy) {
            None => 1234,
            Some(v) => v
                .parse::<u16>()
                .ok()
                .filter(|&p| p != 0)
                .ok_or_else(|| ModuleError::GdbPort(v.into_owned()))?,
        };
        let cfg = Config {
            dumpcore_dir: o.value(OPT_DUMPCORE).map(PathBuf::from),
            gdb: o.flag(OPT_GDB),
            gdb_port,
        };
        if cfg.gdb && cfg!(not(target_arch = "x86_64")) {
            return Err(ModuleError::GdbUnsupported);
        }
        Ok(cfg)
    }

    /// A debugging module is on: the run-time seccomp filter stays off, as
    /// in upstream's solo5-hvt-debug (ring-3 execution stays on).
    pub fn debugging(&self) -> bool {
        self.gdb || self.dumpcore_dir.is_some()
    }
}

/// The active modules.
#[derive(Default)]
pub struct Modules {
    dumpcore: Option<dumpcore::Dumpcore>,
    /// Guest addresses holding a debugger's int3 (see `gdb.rs`): an
    /// emulating KVM reports hitting one as an emulation failure.
    pub breakpoints: std::collections::BTreeSet<u64>,
    /// A debugger is single-stepping the guest (see `gdb.rs`).
    pub stepping: bool,
    /// Ring-3 execution (x86_64), see `arch::x86_64::ring3`.
    #[cfg(target_arch = "x86_64")]
    pub ring3: Option<crate::arch::ring3::Ring3>,
}

/// What a debug report from the guest turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DebugTrap {
    /// The debugger's (breakpoint or step): stop and report.
    Stopped,
    /// The guest's own trap: let it run on into its handler.
    Guest,
}

impl Modules {
    pub fn new(cfg: &Config, _vm: &Vm) -> Result<Modules, ModuleError> {
        let mut m = Modules::default();
        if let Some(dir) = &cfg.dumpcore_dir {
            m.dumpcore = Some(dumpcore::Dumpcore::open(dir)?);
        }
        Ok(m)
    }

    /// One line about the modules' work, for `CORTEN_HVT_STATS=1`.
    pub fn summary(&self) -> String {
        #[cfg(target_arch = "x86_64")]
        if let Some(r3) = &self.ring3 {
            return r3.summary();
        }
        "ring-3 execution off".to_owned()
    }

    /// After every hypercall that lets the guest continue.
    pub fn after_hypercall(&mut self, vm: &mut Vm) {
        #[cfg(target_arch = "x86_64")]
        if let Some(r3) = self.ring3.as_mut() {
            r3.after_exit(vm);
        }
        let _ = vm;
    }

    /// The guest halted through the HALT hypercall.
    pub fn halted(&self, vm: &Vm, status: i32, cookie: Option<u64>) {
        let view = self.register_view();
        if let Some(dc) = self.dumpcore.as_ref() {
            if status == corten_abi::solo5::EXIT_ABORT {
                dc.dump(vm, cookie, view);
            }
        }
    }

    /// The guest died without halting (triple fault, translation fault).
    pub fn guest_crashed(&self, vm: &Vm, _why: &str) {
        let view = self.register_view();
        if let Some(dc) = self.dumpcore.as_ref() {
            dc.dump(vm, None, view);
        }
    }

    /// How to show registers as the guest set them.
    pub fn register_view(&self) -> crate::arch::RegisterView<'_> {
        #[cfg(target_arch = "x86_64")]
        return crate::arch::RegisterView(self.ring3.as_ref());
        #[cfg(not(target_arch = "x86_64"))]
        return crate::arch::RegisterView::default();
    }

    /// A port exit that is not a hypercall: `Some` if it is the report of
    /// a #DB/#BP that reached the tender's shims (ring-3 execution), which
    /// are undone here when they are the debugger's.
    pub fn debug_port(&mut self, vm: &mut Vm, port: u64) -> Option<DebugTrap> {
        #[cfg(target_arch = "x86_64")]
        if let (Some(r3), Ok(port)) = (self.ring3.as_ref(), u16::try_from(port)) {
            let bps = &self.breakpoints;
            return r3.debug_trap(vm, port, self.stepping, |a| bps.contains(&a));
        }
        let _ = (vm, port);
        None
    }

    /// A KVM_EXIT_DEBUG; true if a module handled it and the guest may
    /// continue.
    pub fn debug_exit(&mut self, _vm: &mut Vm) -> bool {
        false
    }
}
