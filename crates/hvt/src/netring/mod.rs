//! Ring I/O for the network (`HVT_FEATURE_RING_IO`), as upstream's newer
//! solo5-hvt offers it: instead of one hypercall (a VM exit) per frame, the
//! guest puts requests into a shared ring that a host I/O thread serves.
//!
//! The negotiation (upstream's facts):
//! - offered only when a network device is attached: guest memory is
//!   enlarged by the ring's size rounded up to the 2 MiB guest page (capped
//!   at the architecture's maximum), the ring sits at the top, and the boot
//!   info's `mem_size` ends where the ring starts, so the guest's stack and
//!   heap stay below it;
//! - `host_features` gets `HVT_FEATURE_RING_IO` and `net_ring` the ring's
//!   guest-physical address; a guest that does not know the feature keeps
//!   using hypercalls (upstream guests use the ring whenever offered;
//!   Corten's runtime when started with `--corten:net-ring`);
//! - the guest kicks a sleeping I/O thread with a 32-bit write to port
//!   0x600 (aarch64: MMIO 0x1_0000_0100), which KVM turns into an eventfd
//!   signal (`KVM_IOEVENTFD`) without a VM exit; the thread sets
//!   `needs_kick` before it sleeps and spins [`HVT_RING_POLL_ITERS`] times
//!   before that.
//!
//! Corten additions: every guest-written field is checked ([`host`]); the
//! thread runs with all signals blocked and is covered by the seccomp
//! filter (installed with TSYNC after it started); at the end of the run
//! the pending entries are served before the process exits (upstream joins
//! the thread at halt).

#![deny(clippy::arithmetic_side_effects)]

pub mod host;

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{fence, AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use corten_abi::ring::{Ring, HVT_RING_POLL_ITERS};
use corten_tender::diag::EXIT_TENDER_ERROR;
use kvm_ioctls::VmFd;

use crate::arch;
use crate::devices::Devices;
use crate::diag;
use crate::guest_mem::SharedMemory;
use crate::vm::{kvm_ioctl, IoctlDir};
use host::{Counters, HostRing, RingError, Tap};

/// Where the ring goes: the mapping is `mapped` bytes, the guest's memory
/// ends (and the ring starts) at `ring_gpa`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    pub mapped: u64,
    pub ring_gpa: u64,
}

/// Bytes reserved at the top of the mapping: the ring, rounded up to the
/// guest page (2 MiB).
pub const fn reserve() -> u64 {
    (std::mem::size_of::<Ring>() as u64).next_multiple_of(arch::MEM_BLOCK)
}

/// The layout for a guest of `mem_size` bytes (already rounded to the
/// guest page) with a ring: upstream's arithmetic, including its cap
/// (`--mem=4096` leaves the guest 4094 MiB). `None` if too small for both.
pub fn plan(mem_size: u64) -> Option<Plan> {
    let mapped = mem_size.saturating_add(reserve()).min(arch::MEM_MAX);
    if mapped < reserve().saturating_mul(2) {
        return None;
    }
    Some(Plan {
        mapped,
        ring_gpa: mapped.checked_sub(reserve())?,
    })
}

/// Why the ring could not be set up (the guest then uses hypercalls).
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("eventfd: {0}")]
    EventFd(std::io::Error),
    #[error("KVM_IOEVENTFD on the ring's kick address: {0}")]
    IoEventFd(std::io::Error),
    #[error("could not start the I/O thread: {0}")]
    Spawn(std::io::Error),
    #[error("the I/O thread did not start")]
    NotReady,
    #[error(transparent)]
    Ring(#[from] RingError),
}

/// State shared between the vCPU thread and the I/O thread.
#[derive(Default)]
struct Control {
    ready: AtomicBool,
    stop: AtomicBool,
    drained: AtomicBool,
    counters: Counters,
}

/// A running ring: its I/O thread and kick eventfd.
pub struct NetRing {
    kick: OwnedFd,
    control: Arc<Control>,
    gpa: u64,
}

/// `_IOW(KVMIO, 0x79, struct kvm_ioeventfd)`
const KVM_IOEVENTFD: u64 = kvm_ioctl(
    IoctlDir::Write,
    0x79,
    std::mem::size_of::<kvm_bindings::kvm_ioeventfd>(),
);
const KVM_IOEVENTFD_FLAG_PIO: u32 = 1 << 1;

impl NetRing {
    /// Creates the kick eventfd, binds it to the kick address in `vm`, and
    /// starts the I/O thread serving the ring at `ring_gpa` for the network
    /// devices in `devices`. Returns once the thread runs its loop (so that
    /// a seccomp filter installed afterwards meets no thread start-up
    /// system calls).
    pub fn start(
        vm: &VmFd,
        mem: SharedMemory,
        ring_gpa: u64,
        devices: &Devices,
    ) -> Result<NetRing, StartError> {
        let mut taps: Vec<Option<Tap>> = Vec::new();
        for (handle, dev) in devices.iter() {
            let crate::devices::Device::Net(net) = dev else {
                continue;
            };
            let i = handle as usize;
            if taps.len() <= i {
                taps.resize(i.saturating_add(1), None);
            }
            if let Some(slot) = taps.get_mut(i) {
                *slot = Some(Tap {
                    name: Arc::from(net.name.as_str()),
                    fd: net.fd,
                });
            }
        }
        let ring = HostRing::new(mem, ring_gpa, taps)?;

        // SAFETY: eventfd(2) with valid flags; the result is checked.
        let efd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) };
        if efd < 0 {
            return Err(StartError::EventFd(std::io::Error::last_os_error()));
        }
        // SAFETY: a fresh descriptor we own.
        let kick = unsafe { OwnedFd::from_raw_fd(efd) };
        register_kick(vm, kick.as_raw_fd())?;

        let control = Arc::new(Control::default());
        let thread_control = Arc::clone(&control);
        let kick_fd = kick.as_raw_fd();
        std::thread::Builder::new()
            .name("net-ring".into())
            .spawn(move || serve(ring, kick_fd, &thread_control))
            .map_err(StartError::Spawn)?;
        let started = Instant::now();
        while !control.ready.load(Ordering::Acquire) {
            if started.elapsed() > Duration::from_secs(5) {
                return Err(StartError::NotReady);
            }
            std::thread::yield_now();
        }
        Ok(NetRing {
            kick,
            control,
            gpa: ring_gpa,
        })
    }

    /// The ring's guest-physical address (the boot info's `net_ring`).
    pub fn gpa(&self) -> u64 {
        self.gpa
    }

    /// The kick eventfd (the I/O thread reads it; [`drain`](Self::drain)
    /// writes it).
    pub fn kick_fd(&self) -> RawFd {
        self.kick.as_raw_fd()
    }

    /// At the end of the run: lets the I/O thread serve what the guest
    /// submitted before it stopped (frames it sent just before halting),
    /// waiting at most 100 ms. Uses only `write` on the eventfd and the
    /// clock, which the seccomp filter allows.
    pub fn drain(&self) {
        self.control.stop.store(true, Ordering::Release);
        let one = 1u64.to_ne_bytes();
        // SAFETY: writes 8 bytes from a live buffer to our eventfd.
        let _ = unsafe { libc::write(self.kick.as_raw_fd(), one.as_ptr().cast(), one.len()) };
        let started = Instant::now();
        while !self.control.drained.load(Ordering::Acquire)
            && started.elapsed() < Duration::from_millis(100)
        {
            std::hint::spin_loop();
        }
    }

    /// One line for `CORTEN_HVT_STATS=1`.
    pub fn summary(&self) -> String {
        let c = &self.control.counters;
        format!(
            "net ring: {} writes, {} reads, {} dropped, {} wake-ups",
            c.writes.load(Ordering::Relaxed),
            c.reads.load(Ordering::Relaxed),
            c.dropped.load(Ordering::Relaxed),
            c.wakeups.load(Ordering::Relaxed)
        )
    }
}

/// KVM_IOEVENTFD: a 32-bit write to the architecture's kick address
/// signals `efd` instead of exiting (no datamatch, as upstream).
fn register_kick(vm: &VmFd, efd: RawFd) -> Result<(), StartError> {
    let (addr, flags) = match arch::NET_RING_KICK {
        arch::NetRingKick::Pio(port) => (u64::from(port), KVM_IOEVENTFD_FLAG_PIO),
        arch::NetRingKick::Mmio(addr) => (addr, 0),
    };
    let ev = kvm_bindings::kvm_ioeventfd {
        addr,
        len: 4,
        fd: efd,
        flags,
        ..Default::default()
    };
    // SAFETY: KVM_IOEVENTFD on our VM descriptor reads one kvm_ioeventfd,
    // which `ev` is; the result is checked.
    let rc = unsafe { libc::ioctl(vm.as_raw_fd(), KVM_IOEVENTFD as _, &ev) };
    if rc != 0 {
        return Err(StartError::IoEventFd(std::io::Error::last_os_error()));
    }
    Ok(())
}

/// Blocks the asynchronous signals in the calling thread: SIGINT/SIGTERM
/// and gdb's SIGALRM belong to the vCPU thread (KVM_RUN must see them).
/// Synchronous ones stay deliverable: a blocked SIGSYS from the seccomp
/// filter would kill the process without the handler's message.
fn block_signals() {
    // SAFETY: a zeroed sigset filled by sigfillset and edited with
    // sigdelset; pthread_sigmask only changes this thread's mask.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut set);
        for sig in [
            libc::SIGSYS,
            libc::SIGSEGV,
            libc::SIGBUS,
            libc::SIGILL,
            libc::SIGFPE,
        ] {
            libc::sigdelset(&mut set, sig);
        }
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
}

/// Waits for a kick: one blocking 8-byte read of the eventfd.
fn wait_for_kick(kick: RawFd) {
    let mut v = [0u8; 8];
    // SAFETY: reads at most 8 bytes into a live buffer. Errors (EINTR
    // cannot happen with signals blocked) just end the wait.
    let _ = unsafe { libc::read(kick, v.as_mut_ptr().cast(), v.len()) };
}

/// The I/O thread: spin, then sleep until kicked; serve entries. A guest
/// error ends the tender here with status 1, like a bad hypercall.
fn serve(mut ring: HostRing, kick: RawFd, control: &Control) {
    block_signals();
    control.ready.store(true, Ordering::Release);
    loop {
        let mut found = false;
        for _ in 0..HVT_RING_POLL_ITERS {
            if ring.has_work() {
                found = true;
                break;
            }
            std::hint::spin_loop();
        }
        if !found {
            // Ask for a kick, then look once more: the guest may have
            // published between the last look and the flag (both sides
            // store, then load the other's field, with a full fence).
            ring.set_needs_kick(true);
            fence(Ordering::SeqCst);
            if !ring.has_work() && !control.stop.load(Ordering::Acquire) {
                wait_for_kick(kick);
                control.counters.wakeups.fetch_add(1, Ordering::Relaxed);
            }
            ring.set_needs_kick(false);
        }
        if let Err(e) = ring.process(&control.counters) {
            fatal(&e);
        }
        if control.stop.load(Ordering::Acquire) {
            // The vCPU is stopped: what it published is visible now.
            if let Err(e) = ring.process(&control.counters) {
                fatal(&e);
            }
            control.drained.store(true, Ordering::Release);
            // Park; the process is about to exit.
            loop {
                wait_for_kick(kick);
            }
        }
    }
}

fn fatal(e: &RingError) -> ! {
    diag::print(format_args!("{e}"));
    diag::exit(EXIT_TENDER_ERROR)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    #[test]
    fn plans_follow_upstream() {
        assert_eq!(reserve(), 2 * MIB);
        assert_eq!(
            plan(512 * MIB),
            Some(Plan {
                mapped: 514 * MIB,
                ring_gpa: 512 * MIB
            })
        );
        // The smallest guest still gets its 2 MiB.
        assert_eq!(
            plan(2 * MIB),
            Some(Plan {
                mapped: 4 * MIB,
                ring_gpa: 2 * MIB
            })
        );
        // At the maximum the ring comes out of the guest's share.
        assert_eq!(
            plan(arch::MEM_MAX),
            Some(Plan {
                mapped: arch::MEM_MAX,
                ring_gpa: arch::MEM_MAX - 2 * MIB
            })
        );
    }

    #[test]
    fn ioctl_number() {
        assert_eq!(std::mem::size_of::<kvm_bindings::kvm_ioeventfd>(), 64);
        assert_eq!(KVM_IOEVENTFD, 0x4040_ae79);
    }
}
