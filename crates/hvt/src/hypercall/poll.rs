//! The wait set behind HVT_HYPERCALL_POLL: an epoll set of the attached
//! network devices plus an internal timerfd for the deadline.
//!
//! Why a timerfd and `epoll_pwait` rather than `ppoll`/`epoll_pwait2`:
//! - the deadline keeps nanosecond precision (Solo5 timeouts are in ns) and,
//!   unlike the timeout of `ppoll`/`epoll_pwait2`, a timerfd is not subject
//!   to the task's timer slack (50 µs by default);
//! - the timer runs independently of the wait, so a wait interrupted by a
//!   signal (EINTR) can simply be restarted;
//! - `epoll_pwait` and `timerfd_settime` are exactly the calls urunc's
//!   seccomp allow-list grants solo5-hvt; `ppoll` and `epoll_pwait2` are not
//!   on it and would kill the tender with SIGSYS there.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use corten_abi::solo5::HandleSet;

use crate::sys::retry;

/// epoll user data of the internal timer (never a valid handle).
const TIMER_TOKEN: u64 = u64::MAX;

#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error("could not create the wait set for the poll hypercall: {0}")]
    Create(io::Error),
    #[error("could not add {what} to the wait set: {source}")]
    Add { what: String, source: io::Error },
    #[error("could not arm the poll timer: {0}")]
    Timer(io::Error),
    #[error("waiting for network input failed: {0}")]
    Wait(io::Error),
}

/// The wait set.
pub struct Poller {
    epoll: OwnedFd,
    timer: OwnedFd,
    /// Registered descriptors (net devices), for sizing the event buffer.
    registered: usize,
}

/// What a poll returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ready {
    /// Bit n set: handle n is readable.
    pub set: HandleSet,
    /// Number of ready handles.
    pub count: u32,
}

fn cvt(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

impl Poller {
    pub fn new() -> Result<Poller, PollError> {
        // SAFETY: plain syscall; the result is checked.
        let epoll =
            cvt(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) }).map_err(PollError::Create)?;
        // SAFETY: `epoll` is a fresh descriptor we own.
        let epoll = unsafe { OwnedFd::from_raw_fd(epoll) };
        // SAFETY: plain syscall; the result is checked.
        let timer = cvt(unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        })
        .map_err(PollError::Create)?;
        // SAFETY: `timer` is a fresh descriptor we own.
        let timer = unsafe { OwnedFd::from_raw_fd(timer) };
        let poller = Poller {
            epoll,
            timer,
            registered: 0,
        };
        poller
            .add(poller.timer.as_raw_fd(), TIMER_TOKEN)
            .map_err(|source| PollError::Add {
                what: "the poll timer".into(),
                source,
            })?;
        Ok(poller)
    }

    fn add(&self, fd: RawFd, token: u64) -> io::Result<()> {
        let mut ev = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: token,
        };
        // SAFETY: `ev` is a valid epoll_event for the duration of the call.
        cvt(unsafe { libc::epoll_ctl(self.epoll.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut ev) })
            .map(|_| ())
    }

    /// Adds a network device's descriptor, reported as `handle`.
    pub fn register(&mut self, fd: RawFd, handle: u64) -> Result<(), PollError> {
        self.add(fd, handle).map_err(|source| PollError::Add {
            what: format!("network device handle {handle}"),
            source,
        })?;
        self.registered = self.registered.saturating_add(1);
        Ok(())
    }

    /// The epoll descriptor (for the seccomp filter).
    pub fn epoll_fd(&self) -> RawFd {
        self.epoll.as_raw_fd()
    }

    /// The timer descriptor (for the seccomp filter).
    pub fn timer_fd(&self) -> RawFd {
        self.timer.as_raw_fd()
    }

    /// Waits until a registered device is readable or `timeout_ns` has
    /// passed, whichever comes first.
    pub fn wait(&mut self, timeout_ns: u64) -> Result<Ready, PollError> {
        // A zero timeout is a poll: look without arming the timer (its
        // expiry is most of what a timed wait costs), and without even a
        // system call when there is nothing to look at (no network device:
        // a system call is itself an exit to the host's hypervisor under
        // nested KVM PVM).
        if timeout_ns == 0 {
            if self.registered == 0 {
                return Ok(Ready { set: 0, count: 0 });
            }
            return self.wait_events(0);
        }
        let secs = timeout_ns / 1_000_000_000;
        let nsecs = timeout_ns % 1_000_000_000;
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                // time_t is 64-bit on every Linux target corten-hvt has.
                tv_sec: i64::try_from(secs).unwrap_or(i64::MAX) as _,
                // A zero it_value would disarm the timer and the wait could
                // block forever; the lowest bit makes it fire "now".
                tv_nsec: (nsecs | 1) as libc::c_long,
            },
        };
        // SAFETY: `spec` is valid; re-arming also clears any earlier expiry.
        cvt(unsafe {
            libc::timerfd_settime(self.timer.as_raw_fd(), 0, &spec, std::ptr::null_mut())
        })
        .map_err(PollError::Timer)?;
        self.wait_events(-1)
    }

    /// epoll_pwait on the set (`timeout_ms` -1: until the timer or a device
    /// fires; 0: only what is ready now).
    fn wait_events(&mut self, timeout_ms: libc::c_int) -> Result<Ready, PollError> {
        const MAX_EVENTS: usize = corten_abi::mft::MFT_MAX_ENTRIES + 1;
        let mut events = [libc::epoll_event { events: 0, u64: 0 }; MAX_EVENTS];
        let want = self.registered.saturating_add(1).min(MAX_EVENTS) as libc::c_int;
        // SAFETY: `events` has room for `want` entries. An interrupted wait
        // is restarted: the timer keeps running, so the deadline stays.
        let n = retry(|| unsafe {
            libc::epoll_pwait(
                self.epoll.as_raw_fd(),
                events.as_mut_ptr(),
                want,
                timeout_ms,
                std::ptr::null(),
            ) as isize
        })
        .map_err(PollError::Wait)?;
        let mut ready = Ready { set: 0, count: 0 };
        for ev in events.iter().take(n) {
            let token = ev.u64;
            if token == TIMER_TOKEN {
                continue;
            }
            if let Some(bit) = 1u64.checked_shl(token as u32).filter(|_| token < 64) {
                ready.set |= bit;
                ready.count = ready.count.saturating_add(1);
            }
        }
        Ok(ready)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    /// A pipe: (read end, write end).
    fn pipe() -> (OwnedFd, OwnedFd) {
        let mut fds = [0; 2];
        // SAFETY: `fds` has room for two descriptors.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        // SAFETY: fresh descriptors we own from here on.
        unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
    }

    /// Makes the pipe's read end readable.
    fn poke(wr: &OwnedFd) {
        // SAFETY: writes one byte from a live buffer.
        let n = unsafe { libc::write(wr.as_raw_fd(), b"x".as_ptr().cast(), 1) };
        assert_eq!(n, 1);
    }

    #[test]
    fn times_out_with_nothing_ready() {
        let mut p = Poller::new().unwrap();
        let start = Instant::now();
        let r = p.wait(20_000_000).unwrap();
        let took = start.elapsed();
        assert_eq!(r, Ready { set: 0, count: 0 });
        assert!(took >= Duration::from_millis(20), "slept only {took:?}");
        assert!(took < Duration::from_secs(2));
    }

    #[test]
    fn zero_timeout_returns_at_once() {
        let mut p = Poller::new().unwrap();
        let start = Instant::now();
        p.wait(0).unwrap();
        assert!(start.elapsed() < Duration::from_millis(500));
    }

    #[test]
    fn zero_timeout_reports_ready_handles_and_leaves_the_timer_alone() {
        let (rd, wr) = pipe();
        let mut p = Poller::new().unwrap();
        p.register(rd.as_raw_fd(), 5).unwrap();
        assert_eq!(p.wait(0).unwrap(), Ready { set: 0, count: 0 });
        poke(&wr);
        assert_eq!(
            p.wait(0).unwrap(),
            Ready {
                set: 1 << 5,
                count: 1
            }
        );
        let mut cur = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
        };
        // SAFETY: `cur` is a valid itimerspec to write into.
        assert_eq!(unsafe { libc::timerfd_gettime(p.timer_fd(), &mut cur) }, 0);
        assert_eq!(
            (cur.it_value.tv_sec, cur.it_value.tv_nsec),
            (0, 0),
            "timer armed"
        );
    }

    #[test]
    fn reports_readable_handles() {
        let (rd, wr) = pipe();
        let mut p = Poller::new().unwrap();
        p.register(rd.as_raw_fd(), 3).unwrap();
        assert_eq!(p.wait(1_000_000).unwrap().count, 0);
        poke(&wr);
        let start = Instant::now();
        let r = p.wait(10_000_000_000).unwrap();
        assert!(start.elapsed() < Duration::from_secs(1));
        assert_eq!(
            r,
            Ready {
                set: 1 << 3,
                count: 1
            }
        );
    }
}
