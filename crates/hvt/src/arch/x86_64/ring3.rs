//! Ring-3 execution (work in progress).

use crate::vm::Vm;

pub struct Ring3 {}

/// Whether ring-3 execution is wanted.
pub fn enabled() -> bool {
    false
}

impl Ring3 {
    pub fn new() -> Ring3 {
        Ring3 {}
    }

    pub fn after_exit(&mut self, _vm: &mut Vm) {}
}
