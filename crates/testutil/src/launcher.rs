//! Hostile launchers: a tender started with standard descriptors closed.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::{wait_with_timeout, TempDir};

/// Runs `program ARGS` through `sh -c 'exec ... REDIRS'`, so the shell's
/// redirections (`>&-` and so on) close descriptors before the program
/// starts.
pub fn run_with_closed(program: &Path, redirs: &str, args: &[String]) -> crate::Outcome {
    let mut script = String::from("exec \"$0\"");
    for i in 1..=args.len() {
        script.push_str(&format!(" \"${i}\""));
    }
    script.push(' ');
    script.push_str(redirs);
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(script).arg(program).args(args);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    wait_with_timeout(cmd.spawn().unwrap(), Duration::from_secs(60))
}

/// With every combination of closed standard descriptors, `tender` runs
/// `kernel` (a unikernel with block device `storage`) with `ok_case`
/// successfully and fails a bad option with status 1 — and neither the
/// disk nor the kernel file is ever written (console output or an error
/// message landing in a file that took a standard descriptor's number).
pub fn closed_descriptors_never_reach_a_disk(tender: &Path, kernel: &Path, ok_case: &str) {
    let dir = TempDir::new("closed-stdio");
    let kernel_before = std::fs::read(kernel).unwrap();
    for redirs in ["<&- >&-", ">&-", ">&- 2>&-", "<&- >&- 2>&-", "2>&-", "<&-"] {
        let disk = dir.file("d.img", 1 << 20, 0);
        let storage = format!("--block:storage={}", disk.display());
        let good = [
            storage.clone(),
            kernel.display().to_string(),
            ok_case.to_owned(),
        ];
        assert_eq!(
            run_with_closed(tender, redirs, &good).status,
            0,
            "{redirs}: the control case must still succeed"
        );
        let bad = [storage, "--mem=x".to_owned(), kernel.display().to_string()];
        assert_eq!(
            run_with_closed(tender, redirs, &bad).status,
            1,
            "{redirs}: a bad option is still an error"
        );
        let after = std::fs::read(&disk).unwrap();
        assert_eq!(after.len(), 1 << 20, "{redirs}: the disk changed size");
        assert!(
            after.iter().all(|&b| b == 0),
            "{redirs}: the disk was written"
        );
        assert_eq!(
            std::fs::read(kernel).unwrap(),
            kernel_before,
            "{redirs}: the kernel file changed"
        );
    }
}

/// Paths that are not regular files, each with the word the refusal must
/// contain: a FIFO nobody writes to (opening it for reading would block
/// forever), a directory and a character device. The FIFO lives in `dir`.
pub fn non_regular_files(dir: &TempDir) -> Vec<(std::path::PathBuf, &'static str)> {
    let fifo = dir.path().join("fifo");
    let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: mkfifo on a NUL-terminated path we own.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
    vec![
        (fifo, "FIFO (named pipe), not a regular file"),
        (dir.path().to_path_buf(), "Is a directory"),
        (
            std::path::PathBuf::from("/dev/null"),
            "character device, not a regular file",
        ),
    ]
}

/// Runs `cmd` with `arg` appended and checks it ends within 10 s with
/// status 1 and `phrase` on stderr (never a hang on a FIFO).
pub fn refuses_quickly(mut cmd: Command, arg: &Path, phrase: &str) {
    cmd.arg(arg)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let o = wait_with_timeout(cmd.spawn().unwrap(), Duration::from_secs(10));
    assert_eq!(o.status, 1, "{}: {}", arg.display(), o.output());
    assert!(
        o.stderr.contains(phrase),
        "{}: expected `{phrase}` in: {}",
        arg.display(),
        o.stderr
    );
}

/// A pipe handed over as a network device (`--net:service0=@0` with stdin
/// a pipe, `@1` with stdout one) is refused at once with a message,
/// instead of a guest spinning on a descriptor that never yields a frame.
pub fn pipe_as_network_device_is_refused(tender: &Path, net_kernel: &Path) {
    for fd in ["@0", "@1"] {
        let mut cmd = Command::new(tender);
        cmd.arg(format!("--net:service0={fd}"))
            .arg(net_kernel)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let o = wait_with_timeout(cmd.spawn().unwrap(), Duration::from_secs(10));
        assert_eq!(o.status, 1, "{fd}: {}", o.output());
        assert!(
            o.stderr.contains("is a pipe or FIFO, not a network device"),
            "{fd}: {}",
            o.stderr
        );
    }
}

/// Two users of one disk: while another process (this test) holds the
/// image's lock, `tender` refuses to attach it, naming the file and the
/// holder; once the lock is released, the same command runs.
pub fn a_locked_disk_is_refused(tender: &Path, kernel: &Path, ok_case: &str) {
    let dir = TempDir::new("locked-disk");
    let disk = dir.file("d.img", 1 << 20, 0);
    // The test process itself holds the lock (as another tender would),
    // so nothing is left running afterwards.
    let holder = std::fs::File::open(&disk).unwrap();
    let fd = std::os::fd::AsRawFd::as_raw_fd(&holder);
    // SAFETY: flock on a descriptor this function owns.
    let locked = unsafe { libc::flock(fd, libc::LOCK_EX) };
    assert_eq!(locked, 0, "flock");
    let run = || {
        let mut cmd = Command::new(tender);
        cmd.arg(format!("--block:storage={}", disk.display()))
            .arg(kernel)
            .arg(ok_case)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        wait_with_timeout(cmd.spawn().unwrap(), Duration::from_secs(30))
    };
    let o = run();
    let visible = lock_listed_for(std::process::id());
    drop(holder);
    assert_eq!(o.status, 1, "{}", o.output());
    // The holder is named where /proc/locks shows it (it hides locks of
    // processes outside the pid namespace /proc belongs to, and numbers
    // them as that namespace does).
    let expected = if visible {
        format!(
            "{} is in use by process {}",
            disk.display(),
            std::process::id()
        )
    } else {
        eprintln!("note: /proc/locks does not list this process's lock; the holder may go unnamed");
        format!("{} is in use", disk.display())
    };
    assert!(
        o.stderr.contains(&expected),
        "want {expected:?} in {}",
        o.stderr
    );
    let o = run();
    assert_eq!(o.status, 0, "after the holder left: {}", o.output());
}

/// Whether /proc/locks lists a lock held by process `pid`.
fn lock_listed_for(pid: u32) -> bool {
    let pid = pid.to_string();
    std::fs::read_to_string("/proc/locks").is_ok_and(|locks| {
        locks
            .lines()
            .any(|l| l.split_whitespace().nth(4) == Some(pid.as_str()))
    })
}
