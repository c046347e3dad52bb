//! Clocks and waiting.
//!
//! Times are nanoseconds. The monotonic clock has an arbitrary start and
//! never goes back; the wall clock counts from the Unix epoch.

use core::time::Duration;

use crate::{platform, Handle};

/// Nanoseconds.
pub type Time = corten_abi::solo5::Time;

/// Nanoseconds in a second.
pub const NSEC_PER_SEC: Time = 1_000_000_000;

/// Monotonic time now.
pub fn monotonic() -> Time {
    platform::monotonic()
}

/// Wall-clock time now, nanoseconds since 1970-01-01 UTC. (On hvt it is the
/// host's time at boot advanced by the monotonic clock, so later changes of
/// the host clock are not seen.)
pub fn wall() -> Time {
    platform::wall()
}

/// A set of device handles, as [`yield_until`] returns it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HandleSet(pub u64);

impl HandleSet {
    /// Whether `handle` is in the set.
    pub fn contains(&self, handle: Handle) -> bool {
        handle < 64 && self.0 & (1 << handle) != 0
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }
}

/// Gives the CPU back to the host until the monotonic clock reaches
/// `deadline` or a network device has input, whichever comes first, and
/// returns the devices that have input. A deadline in the past returns at
/// once (after checking for input).
pub fn yield_until(deadline: Time) -> HandleSet {
    HandleSet(platform::yield_until(deadline))
}

/// Waits for `d` (returning early if a device has input).
pub fn yield_for(d: Duration) -> HandleSet {
    let ns = Time::try_from(d.as_nanos()).unwrap_or(Time::MAX);
    yield_until(monotonic().saturating_add(ns))
}

/// Sleeps for `d`, however many device events arrive meanwhile.
pub fn sleep(d: Duration) {
    let ns = Time::try_from(d.as_nanos()).unwrap_or(Time::MAX);
    let deadline = monotonic().saturating_add(ns);
    while monotonic() < deadline {
        yield_until(deadline);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handle_set() {
        let s = HandleSet(0b1010);
        assert!(s.contains(1) && s.contains(3));
        assert!(!s.contains(0) && !s.contains(2));
        assert!(!s.contains(64) && !s.contains(u64::MAX));
        assert!(HandleSet::default().is_empty());
    }
}
