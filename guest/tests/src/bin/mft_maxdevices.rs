//! 63 block devices, storage0 to storage62 (the most a manifest holds):
//! acquires every one of them.
#![no_std]
#![no_main]

use core::fmt::Write;

use corten_rt::block::BlockDevice;
use corten_rt::println;

corten_rt::manifest! {
    block "storage0", block "storage1", block "storage2", block "storage3", block "storage4", block "storage5", block "storage6", block "storage7", block "storage8", block "storage9", block "storage10", block "storage11", block "storage12", block "storage13", block "storage14", block "storage15", block "storage16", block "storage17", block "storage18", block "storage19", block "storage20", block "storage21", block "storage22", block "storage23", block "storage24", block "storage25", block "storage26", block "storage27", block "storage28", block "storage29", block "storage30", block "storage31", block "storage32", block "storage33", block "storage34", block "storage35", block "storage36", block "storage37", block "storage38", block "storage39", block "storage40", block "storage41", block "storage42", block "storage43", block "storage44", block "storage45", block "storage46", block "storage47", block "storage48", block "storage49", block "storage50", block "storage51", block "storage52", block "storage53", block "storage54", block "storage55", block "storage56", block "storage57", block "storage58", block "storage59", block "storage60", block "storage61", block "storage62"
}
corten_rt::entry!(main);

struct Name {
    buf: [u8; 16],
    len: usize,
}

impl Write for Name {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let end = self.len + s.len();
        self.buf
            .get_mut(self.len..end)
            .ok_or(core::fmt::Error)?
            .copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

fn main(_: &corten_rt::Start) -> i32 {
    corten_tests::banner("mft_maxdevices");
    let count = corten_rt::manifest::get().devices().count();
    if count != 63 {
        println!("FAILURE: the manifest has {count} devices, expected 63");
        return corten_rt::EXIT_FAILURE;
    }
    for i in 0..63 {
        let mut name = Name {
            buf: [0; 16],
            len: 0,
        };
        let _ = write!(name, "storage{i}");
        let name = core::str::from_utf8(&name.buf[..name.len]).unwrap_or("");
        match BlockDevice::acquire(name) {
            Ok(d) if d.handle() == i + 1 => {}
            Ok(d) => {
                println!(
                    "FAILURE: {name} has handle {}, expected {}",
                    d.handle(),
                    i + 1
                );
                return corten_rt::EXIT_FAILURE;
            }
            Err(e) => {
                println!("FAILURE: could not acquire {name}: {e}");
                return corten_rt::EXIT_FAILURE;
            }
        }
    }
    println!("acquired all 63 block devices");
    println!("SUCCESS");
    corten_rt::EXIT_SUCCESS
}
