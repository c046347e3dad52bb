//! corten-oci's one error type. Messages that containerd's shim and
//! conmon match keep runc's phrases ("does not exist", "container not
//! running", "already exists", "not stopped").

use std::io;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum OciError {
    #[error("{0}")]
    Usage(String),
    #[error(
        "invalid container id {0:?}: expected 1 to 1024 of [A-Za-z0-9_+.-], not starting with '.'"
    )]
    BadId(String),
    // runc's exact words: the shim matches them ("container does not
    // exist" is not-found, "container not running" a kill that is done).
    #[error("container does not exist")]
    NotExist(String),
    #[error("container with id exists: {0}")]
    Exists(String),
    #[error("container not running")]
    NotRunning(String),
    #[error("cannot start a container that has stopped")]
    StartStopped,
    #[error("cannot start an already running container")]
    StartRunning,
    #[error("cannot start a paused container: resume it")]
    StartPaused,
    #[error("container not paused")]
    NotPaused(String),
    #[error("cannot exec in a stopped container")]
    ExecStopped,
    #[error(
        "cannot exec in container {0}: it runs a unikernel, one program with no processes, \
         shell or file system to run a command in; its console is the container's log, and \
         kill stops it"
    )]
    ExecUnikernel(String),
    #[error("cannot delete container {id} that is not stopped: {status}")]
    DeleteNotStopped { id: String, status: &'static str },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{what}: {source}")]
    Sys { what: String, source: io::Error },
    #[error("{path}: invalid OCI runtime spec: {why}")]
    Spec { path: PathBuf, why: String },
    #[error("{path}: invalid container state: {why}")]
    State { path: PathBuf, why: String },
    #[error("unknown signal {0:?}")]
    Signal(String),
    #[error("{0}")]
    Image(String),
    #[error("container init: {0}")]
    Init(String),
    #[error("could not run runc for this non-unikernel bundle ({path}): {source}; set CORTEN_OCI_RUNC to runc's path")]
    Runc { path: PathBuf, source: io::Error },
}

impl OciError {
    pub fn io(path: impl Into<PathBuf>, source: io::Error) -> OciError {
        OciError::Io {
            path: path.into(),
            source,
        }
    }

    pub fn sys(what: impl Into<String>, source: io::Error) -> OciError {
        OciError::Sys {
            what: what.into(),
            source,
        }
    }

    /// `what` failed with the current `errno`.
    pub fn last_os(what: impl Into<String>) -> OciError {
        OciError::sys(what, io::Error::last_os_error())
    }
}
