//! Whether this machine can run hvt unikernels.

use std::fs::OpenOptions;

/// `Ok(())` when `/dev/kvm` can be opened read-write, else why not.
pub fn usable() -> Result<(), String> {
    match OpenOptions::new().read(true).write(true).open("/dev/kvm") {
        Ok(_) => Ok(()),
        Err(e) => Err(format!("/dev/kvm cannot be opened read-write: {e}")),
    }
}
