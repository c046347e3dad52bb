//! `create`: checks the bundle, prepares the container's init and leaves
//! it blocked until `start`.
//!
//! ```text
//! corten-oci create                         init (clone: new namespaces)
//!   spec, image::inspect (not a unikernel → runc)
//!   state dir + exec.fifo, console pty
//!   setns into the namespaces given by path
//!   clone(CLONE_NEW*) ───────────────────►  waits for "go"
//!   cgroup: mkdir, limit, move init
//!   "go" ────────────────────────────────►  setsid, console, mounts::prepare,
//!                                           open unikernel + disks in rootfs
//!   ◄──────────────────────────── "ok" / an error message
//!   state, pid file; exit 0                 open(exec.fifo) blocks
//!                                           ... `start` opens it ...
//!                                           pivot_root, hostname, user,
//!                                           exec /.corten/corten-{spt,hvt}
//! ```
//!
//! containerd's shim is a child subreaper, so once `create` exits the init
//! is the shim's child, and the tender's exit status is the container's.

use std::ffi::CString;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use corten_abi::note::AbiTarget;

use crate::error::OciError;
use crate::image::{self, Plan};
use crate::spec::Spec;
use crate::state::NetSetup;
use crate::state::{self, Dir, State};
use crate::{cgroup, console, mounts, net, rootfs, runc, tenders};

pub struct Request<'a> {
    pub root: &'a Path,
    pub id: &'a str,
    pub bundle: &'a Path,
    pub pid_file: Option<&'a Path>,
    pub console_socket: Option<&'a Path>,
    /// `run` without a console socket: a terminal bundle's console is the
    /// caller's own stdio (a unikernel's console is a byte stream; it
    /// needs no pty of its own).
    pub stdio_console: bool,
}

fn pipe() -> Result<(File, File), OciError> {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(OciError::last_os("pipe2"));
    }
    // SAFETY: fresh descriptors we own.
    Ok(unsafe { (File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])) })
}

/// The clone(2) flag of a namespace type of the spec.
fn clone_flag(kind: &str) -> Result<libc::c_int, OciError> {
    Ok(match kind {
        "mount" => libc::CLONE_NEWNS,
        "network" => libc::CLONE_NEWNET,
        "pid" => libc::CLONE_NEWPID,
        "ipc" => libc::CLONE_NEWIPC,
        "uts" => libc::CLONE_NEWUTS,
        "cgroup" => libc::CLONE_NEWCGROUP,
        other => {
            return Err(OciError::Usage(format!(
                "namespace {other:?} is not supported by corten-oci (user and time namespaces \
                 are not: run the container without them)"
            )))
        }
    })
}

pub fn run(req: &Request<'_>, argv: &[String]) -> Result<(), OciError> {
    let bundle = std::fs::canonicalize(req.bundle).map_err(|e| OciError::io(req.bundle, e))?;
    let spec = Spec::load(&bundle)?;
    let root_dir = rootfs::open_root(&spec.rootfs)?;
    let Some(plan) = image::inspect(&spec, &root_dir)? else {
        return runc::exec(argv);
    };
    if spec.terminal && req.console_socket.is_none() && !req.stdio_console {
        return Err(OciError::Usage(
            "process.terminal is set: --console-socket is required".into(),
        ));
    }
    let dir = Dir::create(req.root, req.id)?;
    drop(root_dir);
    match create(req, &dir, &bundle, &spec, &plan) {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = dir.remove();
            Err(e)
        }
    }
}

fn create(
    req: &Request<'_>,
    dir: &Dir,
    bundle: &Path,
    spec: &Spec,
    plan: &Plan,
) -> Result<(), OciError> {
    let fifo = dir.path.join(state::FIFO);
    let c = CString::new(fifo.as_os_str().as_bytes()).unwrap_or_default();
    // SAFETY: mkfifo of a NUL-terminated path; checked.
    if unsafe { libc::mkfifo(c.as_ptr(), 0o600) } != 0 {
        return Err(OciError::io(&fifo, std::io::Error::last_os_error()));
    }
    let tender = tenders::path(plan.target)?;
    let console = match (spec.terminal, req.console_socket) {
        (true, Some(sock)) => Some(console::Pty::open_and_send(sock)?),
        _ => None,
    };
    // Namespaces given by path are joined here (the init inherits them);
    // the others are created by the clone. A mount namespace is always
    // created: the init's root is its own.
    let mut flags = libc::CLONE_NEWNS;
    for ns in &spec.namespaces {
        let flag = clone_flag(&ns.kind)?;
        match &ns.path {
            Some(p) => {
                let f = File::open(p).map_err(|e| OciError::io(p, e))?;
                // SAFETY: setns on a namespace descriptor we own; checked.
                if unsafe { libc::setns(f.as_raw_fd(), flag) } != 0 {
                    return Err(OciError::last_os(format!(
                        "joining {} namespace {}",
                        ns.kind,
                        p.display()
                    )));
                }
                flags &= !flag;
            }
            None => flags |= flag,
        }
    }
    let (go_rx, mut go_tx) = pipe()?;
    let (mut ready_rx, ready_tx) = pipe()?;
    let init = Init {
        newroot: dir.path.join("root"),
        fifo,
        spec,
        plan,
        tender: &tender,
        console: console.as_ref().map(|p| &p.slave),
        new_uts: flags & libc::CLONE_NEWUTS != 0,
        new_pid: flags & libc::CLONE_NEWPID != 0,
    };
    // SAFETY: clone without CLONE_VM is fork with new namespaces; this
    // process is single-threaded, so the child may run ordinary code.
    let pid = unsafe {
        libc::syscall(
            libc::SYS_clone,
            (flags | libc::SIGCHLD) as libc::c_ulong,
            0usize,
            0usize,
            0usize,
            0usize,
        )
    };
    if pid < 0 {
        return Err(OciError::last_os("clone of the container init"));
    }
    if pid == 0 {
        // SAFETY: the child's copy of the lock descriptor, closed so that
        // only `create` holds the lock; this copy is never used again.
        unsafe { libc::close(dir.lock_fd()) };
        drop(go_tx);
        drop(ready_rx);
        init.run(go_rx, ready_tx);
    }
    let pid = pid as i32;
    drop(go_rx);
    drop(ready_tx);
    let kill_init = |e: OciError| {
        // SAFETY: kill and waitpid of our own child.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
            libc::waitpid(pid, std::ptr::null_mut(), 0);
        }
        e
    };
    let cgroups = match &spec.cgroups_path {
        Some(p) => cgroup::enter(p, pid, spec.memory_limit).map_err(kill_init)?,
        None => Vec::new(),
    };
    let fail = |e: OciError| {
        let e = kill_init(e);
        let _ = cgroup::remove(&cgroups);
        e
    };
    go_tx
        .write_all(b"g")
        .map_err(|e| fail(OciError::sys("starting the container init", e)))?;
    drop(go_tx);
    let mut answer = String::new();
    ready_rx
        .read_to_string(&mut answer)
        .map_err(|e| fail(OciError::sys("waiting for the container init", e)))?;
    if answer != "ok" {
        let why = if answer.is_empty() {
            "it exited before it was ready".to_owned()
        } else {
            answer
        };
        return Err(fail(OciError::Init(why)));
    }
    let start_time = state::proc_stat(pid).map(|(_, t)| t).unwrap_or(0);
    let st = State {
        id: req.id.to_owned(),
        bundle: bundle.to_owned(),
        rootfs: spec.rootfs.clone(),
        pid,
        start_time,
        created: crate::time::now_rfc3339(),
        annotations: spec.annotations.clone(),
        cgroups: cgroups.clone(),
        started: false,
        tender: tenders::name(plan.target).to_owned(),
        guest_mem_mib: plan.mem_mib.unwrap_or(corten_abi::mem::DEFAULT_MEM_MIB),
        net: pod_netns(spec)
            .filter(|_| !plan.nets.is_empty())
            .map(|netns| NetSetup {
                netns,
                ifaces: plan.nets.iter().map(|(_, iface)| iface.clone()).collect(),
            }),
    };
    dir.save(&st).map_err(fail)?;
    if let Some(p) = req.pid_file {
        state::write_atomic(p, pid.to_string().as_bytes()).map_err(fail)?;
    }
    Ok(())
}

/// The network namespace the container joins by path (the pod's), whose
/// interfaces outlive the container.
fn pod_netns(spec: &Spec) -> Option<PathBuf> {
    spec.namespaces
        .iter()
        .find(|n| n.kind == "network")
        .and_then(|n| n.path.clone())
}

/// Everything the init needs, prepared by `create` before the clone.
struct Init<'a> {
    newroot: PathBuf,
    fifo: PathBuf,
    spec: &'a Spec,
    plan: &'a Plan,
    tender: &'a Path,
    console: Option<&'a OwnedFd>,
    new_uts: bool,
    /// The init is pid 1 of a new pid namespace (see pid1.rs).
    new_pid: bool,
}

impl Init<'_> {
    /// The child side of the clone: never returns.
    fn run(self, mut go: File, mut ready: File) -> ! {
        clean_signals();
        let mut byte = [0u8; 1];
        if go.read_exact(&mut byte).is_err() {
            // create died or gave up: nothing to do.
            exit(1);
        }
        drop(go);
        // Whatever else the caller left open (the shim's sockets and
        // pipes) does not reach the tender: every descriptor above stderr
        // closes on exec, except those `prepare` opens for the tender.
        // SAFETY: close_range only sets flags on this process's fds.
        unsafe {
            libc::syscall(
                libc::SYS_close_range,
                3u32,
                u32::MAX,
                libc::CLOSE_RANGE_CLOEXEC,
            )
        };
        let argv = match self.prepare() {
            Ok(argv) => argv,
            Err(e) => {
                let _ = ready.write_all(e.to_string().as_bytes());
                exit(1);
            }
        };
        let _ = ready.write_all(b"ok");
        drop(ready);
        // Blocks until `start` opens the fifo for reading.
        let started = mounts::open_fifo_for_write(&self.fifo)
            .and_then(|mut f| f.write_all(b"0").map_err(|e| OciError::io(&self.fifo, e)));
        let result = started.and_then(|()| self.exec(&argv));
        if let Err(e) = result {
            let _ = writeln!(std::io::stderr(), "corten-oci: container init: {e}");
        }
        exit(1)
    }

    /// Everything that can fail before `start`; the tender's argv.
    fn prepare(&self) -> Result<Vec<CString>, OciError> {
        // SAFETY: setsid has no preconditions; a new session for the
        // container, as runc gives it.
        unsafe { libc::setsid() };
        if let Some(slave) = self.console {
            console::make_controlling(slave)?;
        }
        let name = tenders::name(self.plan.target);
        mounts::prepare(&mounts::Layout {
            newroot: &self.newroot,
            rootfs: &self.spec.rootfs,
            tender: self.tender,
            tender_name: name,
            kvm: self.plan.target == AbiTarget::Hvt,
            mounts: &self.spec.mounts,
        })?;
        // The unikernel and its disks, opened as the container sees them
        // (volumes mounted above), handed to the tender as descriptors.
        let rootfs = rootfs::open_root(&self.newroot.join("rootfs"))?;
        let open = |p: &str, write: bool| -> Result<File, OciError> {
            let f = rootfs::open_in(&rootfs, p, write)
                .map_err(|e| OciError::Image(format!("{p} (in the container): {e}")))?;
            mounts::inherit(&f)?;
            Ok(f)
        };
        let mut argv = vec![format!("/.corten/{name}")];
        if let Some(m) = self.plan.mem_mib {
            argv.push(format!("--mem={m}"));
        }
        let mut keep = Vec::new();
        for (dev, path) in &self.plan.blocks {
            let f = open(path, true)?;
            argv.push(format!("--block:{dev}={}", mounts::fd_path(&f)));
            keep.push(f);
        }
        let mut net_args = Vec::new();
        for (i, (dev, iface)) in self.plan.nets.iter().enumerate() {
            let pod = net::inspect(iface)?;
            let tap = net::plumb(&pod, &format!("ctap{i}"))?;
            mounts::inherit(&tap)?;
            argv.push(format!("--net:{dev}=@{}", tap.as_raw_fd()));
            argv.push(format!("--net-mac:{dev}={}", pod.mac));
            if i == 0 && self.plan.ip_args {
                net_args = net::unikernel_args(&pod);
            }
            keep.push(tap);
        }
        let kernel = open(&self.plan.kernel, false)?;
        argv.push("--".to_owned());
        argv.push(mounts::fd_path(&kernel));
        argv.extend(net_args);
        argv.extend(self.plan.args.iter().cloned());
        keep.push(kernel);
        // The descriptors must outlive this function: the tender opens them.
        std::mem::forget(keep);
        std::mem::forget(rootfs);
        argv.into_iter()
            .map(|a| {
                CString::new(a).map_err(|_| OciError::Image("an argument holds a NUL byte".into()))
            })
            .collect()
    }

    fn exec(&self, argv: &[CString]) -> Result<(), OciError> {
        mounts::enter(&self.newroot)?;
        if let (true, Some(h)) = (self.new_uts, &self.spec.hostname) {
            // SAFETY: sethostname reads `len` bytes of `h`.
            if unsafe { libc::sethostname(h.as_ptr().cast(), h.len()) } != 0 {
                return Err(OciError::last_os("sethostname"));
            }
        }
        set_user(&self.spec.user)?;
        let env: Vec<CString> = self
            .spec
            .env
            .iter()
            .filter_map(|e| CString::new(e.as_bytes()).ok())
            .collect();
        let mut argp: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
        argp.push(std::ptr::null());
        let mut envp: Vec<*const libc::c_char> = env.iter().map(|e| e.as_ptr()).collect();
        envp.push(std::ptr::null());
        if self.new_pid {
            return crate::pid1::run(&argp, &envp, &argv[0]);
        }
        // SAFETY: argv and envp are NULL-terminated arrays of live C strings.
        unsafe { libc::execve(argp[0], argp.as_ptr(), envp.as_ptr()) };
        Err(OciError::last_os(format!(
            "exec {}",
            argv[0].to_string_lossy()
        )))
    }
}

fn set_user(user: &crate::spec::User) -> Result<(), OciError> {
    let groups: Vec<libc::gid_t> = user.additional_gids.clone();
    // SAFETY: setgroups reads `groups.len()` gids; the others take numbers.
    unsafe {
        if libc::setgroups(groups.len(), groups.as_ptr()) != 0 {
            return Err(OciError::last_os("setgroups"));
        }
        if libc::setgid(user.gid) != 0 {
            return Err(OciError::last_os("setgid"));
        }
        if libc::setuid(user.uid) != 0 {
            return Err(OciError::last_os("setuid"));
        }
    }
    Ok(())
}

/// The container starts with no signal blocked or ignored, whatever its
/// caller had (`run` blocks every signal to forward them; a shell's
/// background job ignores SIGINT and SIGQUIT): a tender that ignored
/// SIGTERM would never stop on `kill`.
fn clean_signals() {
    // SAFETY: sigset_t is plain data; sigemptyset initialises it.
    let mut none: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: `none` is a valid sigset_t; setting this process's mask and
    // default dispositions has no memory-safety preconditions (SIGKILL,
    // SIGSTOP and numbers past the last signal just fail).
    unsafe {
        libc::sigemptyset(&mut none);
        libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
        for sig in 1..libc::SIGRTMAX() {
            libc::signal(sig, libc::SIG_DFL);
        }
    }
}

fn exit(code: i32) -> ! {
    // SAFETY: _exit ends the init without running the parent's atexit
    // handlers or flushing its copied buffers twice.
    unsafe { libc::_exit(code) }
}
