//! Optional tender modules that hook into the run loop: `dumpcore`
//! (write an ELF core of the guest when it crashes) and `gdb` (a remote
//! debugging stub), plus the architecture's run-time accelerator (ring-3
//! execution on x86_64). Hooks are called from `run.rs`.

use crate::vm::Vm;

/// The active modules.
#[derive(Default)]
pub struct Modules {
    /// Ring-3 execution (x86_64), see `arch::x86_64::ring3`.
    #[cfg(target_arch = "x86_64")]
    pub ring3: Option<crate::arch::ring3::Ring3>,
}

impl Modules {
    /// After every hypercall that lets the guest continue.
    pub fn after_hypercall(&mut self, vm: &mut Vm) {
        #[cfg(target_arch = "x86_64")]
        if let Some(r3) = self.ring3.as_mut() {
            r3.after_exit(vm);
        }
        let _ = vm;
    }

    /// The guest halted through the HALT hypercall.
    pub fn halted(&mut self, _vm: &Vm, _status: i32, _cookie: Option<u64>) {}

    /// The guest died without halting (triple fault, translation fault).
    pub fn guest_crashed(&mut self, _vm: &Vm, _why: &str) {}

    /// A KVM_EXIT_DEBUG; true if a module handled it and the guest may
    /// continue.
    pub fn debug_exit(&mut self, _vm: &mut Vm) -> bool {
        false
    }
}
