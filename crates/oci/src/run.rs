//! `run`: create and start in one command, as runc does. In the
//! foreground it stays the container init's parent: every signal it gets
//! goes to the container, it exits with the container's status, and it
//! deletes the container afterwards unless told `--keep`. `--detach`
//! returns once the container is started.

use crate::error::OciError;
use crate::{commands, create, pid1, state};

pub struct Request<'a> {
    pub create: create::Request<'a>,
    pub detach: bool,
    pub keep: bool,
}

/// The exit status `run` ends with.
pub fn run(req: &Request<'_>, argv: &[String]) -> Result<u8, OciError> {
    let root = req.create.root;
    let id = req.create.id;
    // Blocked before the init exists, so nothing sent to `run` is lost;
    // the container's init starts with none blocked (create.rs).
    let signals = pid1::all_signals();
    let mut old = pid1::all_signals();
    if !req.detach {
        // SAFETY: changes this single-threaded process's mask; `old` keeps
        // the previous one.
        unsafe { libc::sigprocmask(libc::SIG_BLOCK, &signals, &mut old) };
    }
    let restore = || {
        // SAFETY: puts back the mask saved above.
        unsafe { libc::sigprocmask(libc::SIG_SETMASK, &old, std::ptr::null_mut()) };
    };
    if let Err(e) = create::run(&req.create, argv) {
        restore();
        return Err(e);
    }
    if let Err(e) = commands::start(root, id, argv) {
        restore();
        let _ = commands::delete(root, id, true, argv);
        return Err(e);
    }
    if req.detach {
        return Ok(0);
    }
    let pid = match state::Dir::open(root, id)? {
        Some((_dir, st)) => st.pid,
        None => return Err(OciError::NotExist(id.to_owned())),
    };
    let code = pid1::supervise(pid, &signals);
    restore();
    if !req.keep {
        commands::delete(root, id, false, argv)?;
    }
    Ok(u8::try_from(code).unwrap_or(255))
}
