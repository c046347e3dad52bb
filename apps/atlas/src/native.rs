//! The native (Linux, std) platform: the command line from argv, the
//! clock from `Instant`, the output on stdout.

extern crate std;

use std::process::ExitCode;
use std::string::String;
use std::time::Instant;

struct Native(Instant);

impl crate::Platform for Native {
    fn now_ns(&self) -> u64 {
        u64::try_from(self.0.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

/// `main` of the native binaries; `blas` names the library linked.
pub fn main(blas: &str) -> ExitCode {
    let args: std::vec::Vec<String> = std::env::args().skip(1).collect();
    let o = match crate::parse(args.iter().map(String::as_str)) {
        Ok(o) => o,
        Err(e) => {
            std::eprintln!("{blas}-native: {e}");
            return ExitCode::from(2);
        }
    };
    let mut out = String::new();
    let r = crate::run(&o, &Native(Instant::now()), &mut out);
    std::print!("{out}");
    match r {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            std::eprintln!("{blas}-native: {e}");
            ExitCode::FAILURE
        }
    }
}
