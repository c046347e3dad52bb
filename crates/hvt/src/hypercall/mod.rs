//! Hypercall handlers. A hypercall is a 32-bit write of the guest-physical
//! address of its argument struct to the hypercall's port (x86_64) or MMIO
//! address (aarch64); the tender reads the struct, acts, and writes the
//! output fields back.
//!
//! Every guest-supplied address and length goes through [`GuestMemory`]'s
//! checks. What happens on bad input:
//! - a bad *value* (unknown handle, offset or length outside the device)
//!   is returned to the guest as `SOLO5_R_EINVAL`, as upstream does;
//! - a bad *address* (argument struct, data buffer or halt cookie outside
//!   guest memory, or an output in the host-read-only text) ends the tender
//!   with status 1
//!   and a message naming the hypercall and the range, as upstream does
//!   ("Invalid guest access"): there is no sane way to answer the guest.

#![deny(clippy::arithmetic_side_effects)]

mod block;
mod net;
pub mod poll;

use std::io;

use corten_abi::hvt::{HcHalt, HcPoll, HcPuts, HcWalltime, Hypercall, HVT_HALT_COOKIE_MAX};

use crate::devices::Devices;
use crate::guest_mem::{AsBytes, GuestAccessError, GuestMemory, GuestRange, Pod};
pub use poll::{PollError, Poller};

/// What the run loop does after a hypercall.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Continue,
    /// The guest halted with this status; `cookie` is the guest address of
    /// its trap frame (or other cookie), already checked to be readable.
    Halt {
        status: i32,
        cookie: Option<u64>,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum HypercallError {
    #[error("guest made an invalid hypercall: number {0} does not exist")]
    Unknown(u32),
    #[error("guest hypercall {call}: {what} is invalid: {source}")]
    Access {
        call: &'static str,
        what: &'static str,
        source: GuestAccessError,
    },
    #[error("block device '{name}': {op} of {len} bytes at offset {offset} failed: {source}")]
    BlockIo {
        name: String,
        op: &'static str,
        len: u64,
        offset: u64,
        source: io::Error,
    },
    #[error("network device '{name}': {op} failed: {source}")]
    NetIo {
        name: String,
        op: &'static str,
        source: io::Error,
    },
    #[error("network device '{name}': wrote only {written} of {len} bytes")]
    NetShortWrite {
        name: String,
        written: usize,
        len: u64,
    },
    #[error(transparent)]
    Poll(#[from] PollError),
    #[error("could not write guest output to stdout: {0}")]
    Console(io::Error),
}

impl HypercallError {
    /// For `map_err`: hypercall `call` named guest memory (`what`) that
    /// cannot be accessed.
    pub(crate) fn access(
        call: &'static str,
        what: &'static str,
    ) -> impl Fn(GuestAccessError) -> HypercallError + Copy {
        move |source| HypercallError::Access { call, what, source }
    }
}

/// `size_of::<T>()` as a guest length.
pub(crate) const fn size_of<T>() -> u64 {
    std::mem::size_of::<T>() as u64
}

/// Reads the argument struct of hypercall `call`, after checking that all
/// of it is writable too when the call has output fields.
pub(crate) fn read_args<T: Pod>(
    mem: &GuestMemory,
    call: &'static str,
    gpa: u64,
    has_output: bool,
) -> Result<T, HypercallError> {
    let access = HypercallError::access(call, "the argument struct");
    if has_output {
        mem.check_writable(gpa, size_of::<T>()).map_err(access)?;
    }
    mem.read::<T>(gpa).map_err(access)
}

/// Writes one output field at `gpa + offset`.
pub(crate) fn put<T: AsBytes>(
    mem: &mut GuestMemory,
    call: &'static str,
    gpa: u64,
    offset: usize,
    value: T,
) -> Result<(), HypercallError> {
    mem.write(gpa.saturating_add(offset as u64), value)
        .map_err(HypercallError::access(call, "an output field"))
}

/// The hypercall handlers and the state they need.
pub struct Hypercalls {
    pub devices: Devices,
    pub poller: Poller,
}

impl Hypercalls {
    pub fn new(devices: Devices) -> Result<Hypercalls, HypercallError> {
        let mut poller = Poller::new()?;
        for (handle, fd) in devices.net_fds() {
            poller.register(fd, handle)?;
        }
        Ok(Hypercalls { devices, poller })
    }

    /// Runs hypercall `nr` with its argument struct at `gpa`.
    pub fn dispatch(
        &mut self,
        mem: &mut GuestMemory,
        nr: u32,
        gpa: u64,
    ) -> Result<Outcome, HypercallError> {
        match Hypercall::from_nr(nr) {
            Some(Hypercall::Walltime) => walltime(mem, gpa),
            Some(Hypercall::Puts) => puts(mem, gpa),
            Some(Hypercall::Poll) => self.poll(mem, gpa),
            Some(Hypercall::BlockWrite) => block::write(&self.devices, mem, gpa),
            Some(Hypercall::BlockRead) => block::read(&self.devices, mem, gpa),
            Some(Hypercall::NetWrite) => net::write(&self.devices, mem, gpa),
            Some(Hypercall::NetRead) => net::read(&self.devices, mem, gpa),
            Some(Hypercall::Halt) => halt(mem, gpa),
            None => Err(HypercallError::Unknown(nr)),
        }
        .map(|o| o.unwrap_or(Outcome::Continue))
    }

    fn poll(&mut self, mem: &mut GuestMemory, gpa: u64) -> Result<Option<Outcome>, HypercallError> {
        const CALL: &str = "POLL";
        let args: HcPoll = read_args(mem, CALL, gpa, true)?;
        let ready = self.poller.wait(args.timeout_nsecs)?;
        put(
            mem,
            CALL,
            gpa,
            std::mem::offset_of!(HcPoll, ready_set),
            ready.set,
        )?;
        put(
            mem,
            CALL,
            gpa,
            std::mem::offset_of!(HcPoll, ret),
            ready.count as i32,
        )?;
        Ok(None)
    }
}

fn walltime(mem: &mut GuestMemory, gpa: u64) -> Result<Option<Outcome>, HypercallError> {
    const CALL: &str = "WALLTIME";
    let _: HcWalltime = read_args(mem, CALL, gpa, true)?;
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec; CLOCK_REALTIME always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
    let nsecs = (ts.tv_sec as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(ts.tv_nsec as u64);
    put(
        mem,
        CALL,
        gpa,
        std::mem::offset_of!(HcWalltime, nsecs),
        nsecs,
    )?;
    Ok(None)
}

fn puts(mem: &mut GuestMemory, gpa: u64) -> Result<Option<Outcome>, HypercallError> {
    const CALL: &str = "PUTS";
    let args: HcPuts = read_args(mem, CALL, gpa, false)?;
    let text = mem
        .range(args.data, args.len)
        .map_err(HypercallError::access(CALL, "the text to print"))?;
    write_all(1, text).map_err(HypercallError::Console)?;
    Ok(None)
}

/// Writes all of `text` to `fd`, straight from guest memory (retrying on
/// EINTR and short writes).
fn write_all(fd: i32, mut text: GuestRange<'_>) -> io::Result<()> {
    while !text.is_empty() {
        let n = text.write_to(fd)?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        text = text.after(n);
    }
    Ok(())
}

fn halt(mem: &mut GuestMemory, gpa: u64) -> Result<Option<Outcome>, HypercallError> {
    const CALL: &str = "HALT";
    let args: HcHalt = read_args(mem, CALL, gpa, false)?;
    // A non-zero cookie must point at HVT_HALT_COOKIE_MAX readable bytes;
    // otherwise the halt is refused like any bad address (as upstream).
    let cookie = match args.cookie {
        0 => None,
        c => {
            mem.check(c, HVT_HALT_COOKIE_MAX as u64)
                .map_err(HypercallError::access(CALL, "the cookie (512 bytes)"))?;
            Some(c)
        }
    };
    Ok(Some(Outcome::Halt {
        status: args.exit_status,
        cookie,
    }))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::guest_mem::HostProt;

    pub(crate) fn mem() -> GuestMemory {
        GuestMemory::new(4 << 20).unwrap()
    }

    #[test]
    fn walltime_writes_a_plausible_time() {
        let mut m = mem();
        let mut h = Hypercalls::new(Devices::new()).unwrap();
        assert_eq!(
            h.dispatch(&mut m, Hypercall::Walltime as u32, 0x2000)
                .unwrap(),
            Outcome::Continue
        );
        let ns = m.read::<u64>(0x2000).unwrap();
        // After 2020-01-01.
        assert!(ns > 1_577_836_800_000_000_000);
    }

    #[test]
    fn argument_structs_outside_memory_are_errors() {
        let mut m = mem();
        let mut h = Hypercalls::new(Devices::new()).unwrap();
        for nr in 1..=8 {
            let err = h.dispatch(&mut m, nr, (4 << 20) - 4).unwrap_err();
            assert!(
                matches!(err, HypercallError::Access { .. }),
                "hypercall {nr}: {err}"
            );
        }
        assert!(matches!(
            h.dispatch(&mut m, 0, 0x1000),
            Err(HypercallError::Unknown(0))
        ));
        assert!(matches!(
            h.dispatch(&mut m, 9, 0x1000),
            Err(HypercallError::Unknown(9))
        ));
    }

    #[test]
    fn outputs_into_read_only_memory_are_refused() {
        let mut m = mem();
        m.protect(0x100000, 0x101000, HostProt::ReadOnly).unwrap();
        let mut h = Hypercalls::new(Devices::new()).unwrap();
        let err = h
            .dispatch(&mut m, Hypercall::Walltime as u32, 0x100ff8)
            .unwrap_err();
        assert!(err.to_string().contains("read-only"), "{err}");
    }

    #[test]
    fn puts_checks_the_text_range() {
        let mut m = mem();
        m.write(
            0x2000,
            HcPuts {
                data: (4 << 20) - 2,
                len: 3,
            },
        )
        .unwrap();
        let mut h = Hypercalls::new(Devices::new()).unwrap();
        let err = h
            .dispatch(&mut m, Hypercall::Puts as u32, 0x2000)
            .unwrap_err();
        assert!(err.to_string().contains("text to print"), "{err}");
        m.write(
            0x2000,
            HcPuts {
                data: u64::MAX,
                len: 2,
            },
        )
        .unwrap();
        assert!(h.dispatch(&mut m, Hypercall::Puts as u32, 0x2000).is_err());
    }

    #[test]
    fn halt_returns_status_and_checked_cookie() {
        let mut m = mem();
        let mut h = Hypercalls::new(Devices::new()).unwrap();
        m.write::<u64>(0x3000, 0x5000).unwrap();
        m.write::<i32>(0x3008, 255).unwrap();
        assert_eq!(
            h.dispatch(&mut m, Hypercall::Halt as u32, 0x3000).unwrap(),
            Outcome::Halt {
                status: 255,
                cookie: Some(0x5000)
            }
        );
        // A cookie whose 512 bytes run past the end is refused.
        m.write::<u64>(0x3000, (4 << 20) - 100).unwrap();
        let err = h
            .dispatch(&mut m, Hypercall::Halt as u32, 0x3000)
            .unwrap_err();
        assert!(err.to_string().contains("cookie"), "{err}");
    }

    #[test]
    fn poll_times_out_and_reports_nothing() {
        let mut m = mem();
        let mut h = Hypercalls::new(Devices::new()).unwrap();
        m.write::<u64>(0x3000, 1_000_000).unwrap();
        m.write::<u64>(0x3008, 0xdead).unwrap();
        m.write::<i32>(0x3010, 77).unwrap();
        h.dispatch(&mut m, Hypercall::Poll as u32, 0x3000).unwrap();
        assert_eq!(m.read::<u64>(0x3008).unwrap(), 0);
        assert_eq!(m.read::<i32>(0x3010).unwrap(), 0);
    }
}
