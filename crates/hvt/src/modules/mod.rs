//! Optional tender modules, as upstream's solo5-hvt has them: `dumpcore`
//! (write an ELF core of the guest when it aborts) and `gdb` (a remote
//! debugging stub that drives the exit loop itself). They sit above the
//! exit loop and hear from it through [`Hooks`].

pub mod dumpcore;
#[cfg(target_arch = "x86_64")]
pub mod gdb;

use crate::exit_loop::{Guest, Hooks};
use crate::options::HvtOptions;

/// The modules the command line asked for that watch a plain run (gdb
/// replaces the run instead; see `gdb::serve`).
#[derive(Default)]
pub struct Modules {
    dumpcore: Option<dumpcore::Dumpcore>,
}

impl Modules {
    pub fn new(opts: &HvtOptions) -> Result<Modules, dumpcore::DumpcoreError> {
        let dumpcore = match &opts.dumpcore_dir {
            Some(dir) => Some(dumpcore::Dumpcore::open(dir)?),
            None => None,
        };
        Ok(Modules { dumpcore })
    }
}

impl Hooks for Modules {
    /// An abort (status 255) is dumped.
    fn halted(&mut self, guest: &Guest, status: i32, cookie: Option<u64>) {
        if let Some(dc) = self.dumpcore.as_ref() {
            if status == corten_abi::solo5::EXIT_ABORT {
                dc.dump(&guest.vm, cookie, guest.accel.register_view());
            }
        }
    }

    fn crashed(&mut self, guest: &Guest) {
        if let Some(dc) = self.dumpcore.as_ref() {
            dc.dump(&guest.vm, None, guest.accel.register_view());
        }
    }

    /// No debugger, no breakpoints.
    fn is_breakpoint(&self, _addr: u64) -> bool {
        false
    }

    fn stepping(&self) -> bool {
        false
    }
}
