//! CPU placement of the ping measurement. Where the pinger and a tender
//! run decides whether a reply needs a cross-CPU wake-up (an IPI, costly
//! under nested virtualisation) or not, and the scheduler keeps each
//! process where it first ran: left alone, one tender may land in the
//! fast case and another in the slow one for the whole run. So the pinger
//! gets one CPU and every tender another, the same for all of them.

use std::io;

/// The CPUs the calling thread may run on.
pub fn allowed() -> io::Result<Vec<usize>> {
    // SAFETY: an all-zero cpu_set_t is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: sched_getaffinity writes at most size_of::<cpu_set_t>() bytes
    // into `set`; pid 0 is the calling thread.
    let r = unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    let max = 8 * std::mem::size_of::<libc::cpu_set_t>();
    // SAFETY: CPU_ISSET reads bit `cpu` of `set`, cpu < its size in bits.
    Ok((0..max)
        .filter(|&cpu| unsafe { libc::CPU_ISSET(cpu, &set) })
        .collect())
}

/// Restricts the calling thread (and processes it starts later) to
/// `cpus`.
pub fn pin(cpus: &[usize]) -> io::Result<()> {
    // SAFETY: an all-zero cpu_set_t is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    let max = 8 * std::mem::size_of::<libc::cpu_set_t>();
    for &cpu in cpus.iter().filter(|&&c| c < max) {
        // SAFETY: sets bit `cpu` < the set's size in bits.
        unsafe { libc::CPU_SET(cpu, &mut set) };
    }
    // SAFETY: sched_setaffinity reads the set; pid 0 is the calling thread.
    let r = unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The pinger's CPU and the tenders' CPU, when there are two to choose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Placement {
    pub pinger: usize,
    pub tenders: usize,
}

impl Placement {
    /// First allowed CPU for the pinger, last for the tenders; None with
    /// a single CPU.
    pub fn choose(allowed: &[usize]) -> Option<Placement> {
        match (allowed.first(), allowed.last()) {
            (Some(&p), Some(&t)) if p != t => Some(Placement {
                pinger: p,
                tenders: t,
            }),
            _ => None,
        }
    }
}

/// Puts the calling thread back on its former CPUs when dropped.
pub struct Restore(Vec<usize>);

impl Restore {
    /// Pins the calling thread to `cpu`, remembering where it was allowed.
    pub fn pin_to(cpu: usize) -> io::Result<Restore> {
        let before = allowed()?;
        pin(&[cpu])?;
        Ok(Restore(before))
    }
}

impl Drop for Restore {
    fn drop(&mut self) {
        let _ = pin(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placement_needs_two_cpus() {
        assert_eq!(
            Placement::choose(&[0, 1, 2]),
            Some(Placement {
                pinger: 0,
                tenders: 2
            })
        );
        assert_eq!(Placement::choose(&[3]), None);
        assert_eq!(Placement::choose(&[]), None);
    }

    #[test]
    fn pin_and_restore_on_a_thread() {
        std::thread::spawn(|| {
            let before = allowed().unwrap();
            assert!(!before.is_empty());
            let first = before[0];
            {
                let _r = Restore::pin_to(first).unwrap();
                assert_eq!(allowed().unwrap(), vec![first]);
            }
            assert_eq!(allowed().unwrap(), before);
        })
        .join()
        .unwrap();
    }
}
