//! The process personality: both tenders refuse `READ_IMPLIES_EXEC`
//! (inherited from a parent, e.g. `setarch --read-implies-exec`), under
//! which every readable mapping is also executable — guest memory
//! included, on spt and on hvt alike. `personality(2)` is on urunc's
//! allow-list, so hvt may ask under it.

/// Why the tender will not run under this personality.
#[derive(Debug, thiserror::Error)]
pub enum PersonalityError {
    /// Upstream spt's phrase ("Cowardly refusing to run with a
    /// sys_personality of READ_IMPLIES_EXEC"), and what to do.
    #[error(
        "Cowardly refusing to run with a sys_personality of READ_IMPLIES_EXEC: every \
         readable guest page would be executable; run the tender without that personality \
         (e.g. not under `setarch --read-implies-exec`)"
    )]
    ReadImpliesExec,
    #[error("could not read the process personality: {0}")]
    Query(std::io::Error),
}

/// Refuses to run when `READ_IMPLIES_EXEC` would make PROT_READ imply
/// PROT_EXEC.
pub fn refuse_read_implies_exec() -> Result<(), PersonalityError> {
    // SAFETY: personality(0xffffffff) only queries the current persona.
    let persona = unsafe { libc::personality(0xffff_ffff) };
    if persona < 0 {
        return Err(PersonalityError::Query(std::io::Error::last_os_error()));
    }
    if persona & libc::READ_IMPLIES_EXEC != 0 {
        return Err(PersonalityError::ReadImpliesExec);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On x86_64 the kernel clears READ_IMPLIES_EXEC when it execs a
    /// 64-bit binary, so `setarch --read-implies-exec` cannot reach the
    /// check; set the persona in a forked child instead.
    #[test]
    fn read_implies_exec_is_refused() {
        assert!(refuse_read_implies_exec().is_ok());
        // SAFETY: the child only makes raw syscalls and _exit()s.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0);
        if pid == 0 {
            // SAFETY: sets this (child) process's persona.
            unsafe { libc::personality(libc::READ_IMPLIES_EXEC as libc::c_ulong) };
            let code = match refuse_read_implies_exec() {
                Err(PersonalityError::ReadImpliesExec) => 0,
                _ => 1,
            };
            // SAFETY: _exit is async-signal-safe.
            unsafe { libc::_exit(code) };
        }
        let mut status = 0;
        // SAFETY: waits for the child forked above.
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
    }

    #[test]
    fn message_keeps_upstreams_phrase() {
        let m = PersonalityError::ReadImpliesExec.to_string();
        assert!(
            m.contains("Cowardly refusing to run with a sys_personality of READ_IMPLIES_EXEC"),
            "{m}"
        );
    }
}
