//! The epoll set and internal timerfd the spt bindings use for
//! `solo5_yield()`: the timerfd is registered with data
//! [`SPT_INTERNAL_TIMERFD`], each tap with its manifest index (the guest's
//! device handle), so the guest learns which handles are ready.

use std::os::fd::RawFd;

use corten_abi::spt::SPT_INTERNAL_TIMERFD;
use corten_tender::devices::NetDevice;

/// An epoll / timerfd setup problem.
#[derive(Debug, thiserror::Error)]
pub enum EventsError {
    #[error("epoll_create1() failed: {0}")]
    Epoll(std::io::Error),
    #[error("timerfd_create() failed: {0}")]
    Timerfd(std::io::Error),
    #[error("epoll_ctl(EPOLL_CTL_ADD, hostfd={fd}) failed: {source}")]
    Add { fd: RawFd, source: std::io::Error },
}

/// The descriptors handed to the guest in its boot info. They stay open
/// for the life of the process (the guest owns them after the jump).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Events {
    pub epollfd: RawFd,
    pub timerfd: RawFd,
}

fn add(epollfd: RawFd, fd: RawFd, data: u64) -> Result<(), EventsError> {
    let mut ev = libc::epoll_event {
        events: libc::EPOLLIN as u32,
        u64: data,
    };
    // SAFETY: registers `fd` with the epoll set; `ev` is valid for the call.
    if unsafe { libc::epoll_ctl(epollfd, libc::EPOLL_CTL_ADD, fd, &mut ev) } != 0 {
        return Err(EventsError::Add {
            fd,
            source: std::io::Error::last_os_error(),
        });
    }
    Ok(())
}

impl Events {
    /// Creates the epoll set and timerfd and registers the taps.
    pub fn new(nets: &[NetDevice]) -> Result<Events, EventsError> {
        // SAFETY: plain syscall; the result is checked.
        let epollfd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if epollfd < 0 {
            return Err(EventsError::Epoll(std::io::Error::last_os_error()));
        }
        // SAFETY: plain syscall; the result is checked.
        let timerfd = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if timerfd < 0 {
            return Err(EventsError::Timerfd(std::io::Error::last_os_error()));
        }
        add(epollfd, timerfd, SPT_INTERNAL_TIMERFD)?;
        for n in nets {
            add(epollfd, n.fd, n.handle)?;
        }
        Ok(Events { epollfd, timerfd })
    }
}
