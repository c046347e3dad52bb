//! Makes a change of the linker script rebuild the runtime, and with it
//! relink every unikernel (cargo does not track link arguments' files).

fn main() {
    println!("cargo:rerun-if-changed=link/solo5.ld");
}
