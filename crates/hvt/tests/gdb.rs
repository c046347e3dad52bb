//! `--gdb`: a real gdb (when installed) drives the tender, on Corten-built
//! (hard-float) and upstream-built unikernels, with ring-3 execution as the
//! host chooses it (on PVM hosts the guest runs at CPL 3, where the tender
//! implements breakpoints and single steps itself).

#![cfg(target_arch = "x86_64")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, Command, Stdio};
use std::time::{Duration, Instant};

use common::{kvm_or_skip, tender, unikernel, Source, TempDir};

/// The tender's scratch pages of ring-3 execution (`arch/x86_64/ring3.rs`).
const SCRATCH: std::ops::Range<u64> = 0x2_0000..0x2_7000;

fn gdb_available() -> bool {
    let ok = Command::new("gdb")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok();
    if !ok {
        corten_testutil::skip_note(
            "gdb",
            "gdb tests: gdb is not installed (Debian package gdb)",
        );
    }
    ok
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// The unikernel `name` of `src`, or None (after printing why) when KVM,
/// gdb or the upstream build is missing.
fn kernel(src: Source, name: &str) -> Option<PathBuf> {
    if !kvm_or_skip("gdb") || !gdb_available() {
        return None;
    }
    unikernel(src, name)
}

struct Run {
    gdb: String,
    status: std::process::ExitStatus,
    stdout: String,
    stderr: String,
}

/// Starts the tender with `--gdb` on a free port (and `tender_args`) and
/// waits until it listens; returns it, the port and its standard error.
fn start_under_gdb(
    kernel: &Path,
    tender_args: &[&str],
    guest_args: &[&str],
) -> (Child, u16, ChildStderr) {
    let port = free_port();
    let mut child = Command::new(tender())
        .arg("--gdb")
        .arg(format!("--gdb-port={port}"))
        .args(tender_args)
        .arg(kernel)
        .args(guest_args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut err = child.stderr.take().unwrap();
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !String::from_utf8_lossy(&seen).contains("Waiting for a debugger") {
        assert!(
            Instant::now() < deadline,
            "tender never listened: {}",
            String::from_utf8_lossy(&seen)
        );
        let mut b = [0u8; 256];
        let n = err.read(&mut b).expect("read stderr");
        assert!(n > 0, "tender exited: {}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&b[..n]);
    }
    (child, port, err)
}

/// Runs `kernel` under `--gdb` and gdb with `script` (gdb commands, after
/// `target remote`).
fn debug(kernel: &Path, guest_args: &[&str], script: &[&str]) -> Run {
    let (mut child, port, mut err) = start_under_gdb(kernel, &[], guest_args);
    let rest = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    // Each command is one -ex (an error does not stop the later ones);
    // multi-line commands go through a sourced file.
    let tmp = TempDir::new("gdb");
    let mut cmd = Command::new("timeout");
    cmd.args(["120", "gdb", "-batch", "-nx", "-ex", "set pagination off"])
        .args(["-ex", &format!("target remote localhost:{port}")]);
    for (i, c) in script.iter().enumerate() {
        if c.contains('\n') {
            let file = tmp.path().join(format!("{i}.gdb"));
            std::fs::write(&file, c).unwrap();
            cmd.arg("-ex").arg(format!("source {}", file.display()));
        } else {
            cmd.args(["-ex", c]);
        }
    }
    let out = cmd.arg(kernel).output().expect("run gdb");
    let gdb =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    // gdb -batch detaches at its end; the guest then runs to its end.
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait") {
            break st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("tender did not end after gdb:\n{gdb}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    Run {
        gdb,
        status,
        stdout,
        stderr: rest.join().unwrap(),
    }
}

/// Every value gdb printed for `info registers NAME` (as numbers; the
/// line may follow other output without a newline).
fn register_values(gdb: &str, name: &str) -> Vec<u64> {
    gdb.lines()
        .filter_map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            let at = words.iter().position(|w| *w == name)?;
            let v = words.get(at + 1)?;
            u64::from_str_radix(v.strip_prefix("0x")?, 16).ok()
        })
        .collect()
}

/// The address of the first `rdtsc` in `function` of `kernel` (gdb's own
/// disassembler, no target needed).
fn first_rdtsc(kernel: &Path, function: &str) -> u64 {
    let out = Command::new("gdb")
        .args(["-batch", "-nx", "-ex", &format!("x/400i {function}")])
        .arg(kernel)
        .output()
        .expect("run gdb");
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.contains("rdtsc"))
        .unwrap_or_else(|| panic!("no rdtsc in {function}:\n{text}"));
    let addr = line
        .split_whitespace()
        .find(|w| w.starts_with("0x"))
        .unwrap_or_else(|| panic!("no address in `{line}`"));
    u64::from_str_radix(addr.trim_start_matches("0x").trim_end_matches(':'), 16).unwrap()
}

fn expect_success(r: &Run) {
    assert!(r.status.success(), "tender: {:?}\n{}", r.status, r.stderr);
    assert!(r.stdout.contains("SUCCESS"), "{}\n{}", r.stdout, r.gdb);
}

/// Breakpoint, single step, registers, and the guest runs to its end.
fn breakpoint_and_step(src: Source, symbol: &str) {
    let Some(k) = kernel(src, "hello") else {
        return;
    };
    let brk = format!("break {symbol}");
    let r = debug(
        &k,
        &["Hello_Solo5"],
        &[
            "info registers rip",
            "stepi",
            "info registers rip",
            &brk,
            "continue",
            "info registers rip",
            "info registers cs",
            "info registers ss",
            "continue",
        ],
    );
    assert!(
        r.gdb.contains("Breakpoint 1,"),
        "no breakpoint hit:\n{}",
        r.gdb
    );
    assert!(
        r.gdb.contains("exited normally"),
        "guest did not finish:\n{}",
        r.gdb
    );
    expect_success(&r);
    // stepi moved the instruction pointer from the entry point.
    let rips = register_values(&r.gdb, "rip");
    assert!(rips.len() >= 3 && rips[0] != rips[1], "{rips:?}\n{}", r.gdb);
    // The guest's own selectors (RPL 0), not ring-3 execution's.
    for seg in ["cs", "ss"] {
        let v = register_values(&r.gdb, seg);
        assert!(v.len() == 1 && v[0] & 3 == 0, "{seg} {v:?}\n{}", r.gdb);
    }
}

#[test]
fn upstream_breakpoint_and_step() {
    breakpoint_and_step(Source::Upstream, "solo5_app_main");
}

#[test]
fn corten_breakpoint_and_step() {
    // corten-rt's entry into the application.
    breakpoint_and_step(Source::Corten, "__corten_app_main");
}

/// 300 single steps from the application's entry (through console
/// hypercalls): none of them shows the tender's scratch code, and the guest
/// still finishes.
fn steps_never_show_the_tender(src: Source, symbol: &str) {
    let Some(k) = kernel(src, "hello") else {
        return;
    };
    let brk = format!("break {symbol}");
    let steps = format!(
        "set $n = 0\nset $bad = 0\nwhile $n < 300\n  stepi\n  \
         if $pc >= {:#x} && $pc < {:#x}\n    set $bad = $bad + 1\n  end\n  \
         set $n = $n + 1\nend\nprintf \"STEPS %d IN-TENDER %d\\n\", $n, $bad\n",
        SCRATCH.start, SCRATCH.end
    );
    let r = debug(
        &k,
        &["Hello_Solo5"],
        &[&brk, "continue", "delete", &steps, "continue"],
    );
    assert!(
        r.gdb.contains("STEPS 300 IN-TENDER 0"),
        "steps showed the tender's code:\n{}",
        r.gdb
    );
    expect_success(&r);
}

#[test]
fn upstream_steps_never_show_the_tender() {
    steps_never_show_the_tender(Source::Upstream, "solo5_app_main");
}

#[test]
fn corten_steps_never_show_the_tender() {
    steps_never_show_the_tender(Source::Corten, "__corten_app_main");
}

/// Stepping an `rdtsc` (which the tender's #GP shim emulates at CPL 3)
/// stops right after it, like on a CPU that runs it natively.
fn step_over_rdtsc(src: Source, name: &str, function: &str) {
    let Some(k) = kernel(src, name) else {
        return;
    };
    let at = first_rdtsc(&k, function);
    let brk = format!("break *{at:#x}");
    let r = debug(
        &k,
        &[],
        &[
            &brk,
            "continue",
            "info registers rip",
            "stepi",
            "info registers rip",
            "delete",
            "continue",
        ],
    );
    let rips = register_values(&r.gdb, "rip");
    assert_eq!(rips, vec![at, at + 2], "{}", r.gdb);
    expect_success(&r);
}

#[test]
fn upstream_step_over_rdtsc() {
    step_over_rdtsc(Source::Upstream, "time", "tscclock_monotonic");
}

#[test]
fn corten_step_over_rdtsc() {
    step_over_rdtsc(Source::Corten, "time", "__corten_app_main");
}

/// Hard-float code: a breakpoint on the application and steps through its
/// SSE arithmetic (Corten's fpu test, upstream's test_fpu).
fn sse_under_gdb(src: Source, symbol: &str) {
    let Some(k) = kernel(src, "fpu") else {
        return;
    };
    let brk = format!("break {symbol}");
    let r = debug(
        &k,
        &[],
        &[
            &brk,
            "continue",
            "stepi 200",
            "info registers rip",
            "continue",
        ],
    );
    assert!(r.gdb.contains("Breakpoint 1,"), "{}", r.gdb);
    expect_success(&r);
}

#[test]
fn upstream_sse_under_gdb() {
    sse_under_gdb(Source::Upstream, "solo5_app_main");
}

#[test]
fn corten_sse_under_gdb() {
    sse_under_gdb(Source::Corten, "__corten_app_main");
}

/// gdb cannot put breakpoints into, or write, the tender's own pages below
/// the image (page tables, boot info, ring-3 shims).
#[test]
fn tender_pages_refuse_breakpoints_and_writes() {
    let Some(k) = kernel(Source::Corten, "hello") else {
        return;
    };
    let brk = format!("break *{:#x}", SCRATCH.start + 0x2000);
    let write = format!("set {{char}}{:#x} = 0", SCRATCH.start);
    let r = debug(
        &k,
        &["Hello_Solo5"],
        &[&write, &brk, "continue", "delete", "continue"],
    );
    assert!(
        r.gdb.contains("Cannot insert breakpoint"),
        "breakpoint accepted:\n{}",
        r.gdb
    );
    assert!(
        r.gdb.contains("Cannot access memory"),
        "write accepted:\n{}",
        r.gdb
    );
}

/// gdb reads a large range in requests that fit the packet size: a dump
/// of the unikernel's text (several packets long) matches its file.
#[test]
fn large_reads_by_gdb_work() {
    let Some(k) = kernel(Source::Corten, "hello") else {
        return;
    };
    let tmp = TempDir::new("gdb-dump");
    let out = tmp.path().join("image.bin");
    let (start, len) = first_segment(&k);
    assert!(
        len > 4 * 2048,
        "{len:#x}: too short to need several requests"
    );
    let dump = format!(
        "dump binary memory {} {start:#x} {:#x}",
        out.display(),
        start + len as u64
    );
    let r = debug(&k, &["Hello_Solo5"], &[&dump, "continue"]);
    expect_success(&r);
    let dumped = std::fs::read(&out).unwrap_or_else(|e| panic!("{e}:\n{}", r.gdb));
    assert!(dumped == image_bytes(&k, start, len), "{}", r.gdb);
}

/// A client of the gdb remote protocol over TCP (checksummed packets,
/// acknowledgements), for requests gdb itself would not send.
struct Remote {
    stream: std::net::TcpStream,
    /// Received and not yet taken.
    pending: Vec<u8>,
}

/// Longest reply a request may get: a bounded stub answers any `m` within
/// its advertised packet size (4096 bytes here), whatever length is asked.
const MAX_REPLY: usize = 16 << 10;
/// How long a reply may take.
const REPLY_TIME: Duration = Duration::from_secs(5);

impl Remote {
    fn connect(port: u16) -> Remote {
        let stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream.set_nodelay(true).unwrap();
        Remote {
            stream,
            pending: Vec::new(),
        }
    }

    /// Sends `$BODY#CS`.
    fn send_packet(&mut self, body: &[u8]) {
        use std::io::Write;
        let sum = body.iter().fold(0u8, |s, &b| s.wrapping_add(b));
        let mut packet = vec![b'$'];
        packet.extend_from_slice(body);
        packet.extend_from_slice(format!("#{sum:02x}").as_bytes());
        self.stream.write_all(&packet).expect("send packet");
    }

    /// Sends `$BODY#CS` and waits for the stub's `+`.
    fn send(&mut self, body: &[u8]) {
        self.send_packet(body);
        let ack = self.take(|got| (!got.is_empty()).then_some(1), body);
        assert_eq!(ack, b"+", "no ack for `{}`", String::from_utf8_lossy(body));
    }

    /// Receives until `complete` finds a whole message at the start of
    /// what arrived (and says how long it is), within [`REPLY_TIME`] and
    /// [`MAX_REPLY`] bytes; takes that message.
    fn take(&mut self, complete: impl Fn(&[u8]) -> Option<usize>, request: &[u8]) -> Vec<u8> {
        let request = String::from_utf8_lossy(request);
        let deadline = Instant::now() + REPLY_TIME;
        loop {
            if let Some(n) = complete(&self.pending) {
                return self.pending.drain(..n).collect();
            }
            assert!(
                self.pending.len() <= MAX_REPLY,
                "unbounded reply to `{request}`: more than {MAX_REPLY} bytes"
            );
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "no complete reply to `{request}` within {REPLY_TIME:?} ({} bytes so far)",
                self.pending.len()
            );
            self.stream.set_read_timeout(Some(left)).unwrap();
            let mut b = [0u8; 4096];
            match self.stream.read(&mut b) {
                Ok(0) => panic!("the stub closed the connection after `{request}`"),
                Ok(n) => self.pending.extend_from_slice(&b[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(e) => panic!("reading the reply to `{request}`: {e}"),
            }
        }
    }

    /// One request and its reply's body (checksum checked, acknowledged).
    fn request(&mut self, body: &[u8]) -> String {
        use std::io::Write;
        self.send(body);
        let complete = |got: &[u8]| {
            let hash = got.iter().position(|&b| b == b'#')?;
            (got.len() >= hash + 3).then_some(hash + 3)
        };
        let reply = self.take(complete, body);
        let text = String::from_utf8(reply).expect("ASCII reply");
        let (packet, sum) = text.split_once('#').unwrap();
        let packet = packet
            .strip_prefix('$')
            .unwrap_or_else(|| panic!("not a packet: {text}"));
        let expected = packet.bytes().fold(0u8, |s, b| s.wrapping_add(b));
        assert_eq!(u8::from_str_radix(sum, 16).unwrap(), expected, "{text}");
        self.stream.write_all(b"+").unwrap();
        expand_runs(packet)
    }
}

/// Undoes the protocol's run-length encoding: `X*N` is X and then
/// N - 29 more of it.
fn expand_runs(packet: &str) -> String {
    let mut out = String::new();
    let mut chars = packet.chars();
    while let Some(c) = chars.next() {
        if c == '*' {
            let last = out.chars().last().expect("a run with nothing to repeat");
            let n = chars.next().expect("a run without a count") as usize - 29;
            out.extend(std::iter::repeat_n(last, n));
        } else {
            out.push(c);
        }
    }
    out
}

fn is_error(reply: &str) -> bool {
    reply.len() == 3 && reply.starts_with('E') && reply[1..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// Memory requests past the end of guest memory, wrapping around the
/// address space or longer than the packet size get an error at once, and
/// replies stay within the packet size (gdbstub calls the target once per
/// packet-buffer chunk of the requested length, and a 16 EiB `m` once
/// streamed 222 MB in 12 minutes); in-bounds requests still work, and the
/// session survives every refusal.
#[test]
fn memory_requests_are_bounded() {
    if !kvm_or_skip("gdb") {
        return;
    }
    let Some(k) = unikernel(Source::Corten, "hello") else {
        return;
    };
    const END: u64 = 4096 << 20;
    let (child, port, mut err) = start_under_gdb(&k, &["--mem=4096"], &["Hello_Solo5"]);
    let mut child = KillOnDrop(child);
    let stderr = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let mut gdb = Remote::connect(port);

    let refused: Vec<Vec<u8>> = [
        "m0,ffffffffffffffff".to_owned(),
        "m100000,ffffffffffffffff".to_owned(),
        format!("m{:x},1000", END - 0x10),
        format!("m{END:x},1"),
        format!("m{:x},1", END + 0x1000),
        "mffffffffffffffff,ffffffffffffffff".to_owned(),
        "mfffffffffffffff0,20".to_owned(),
        "m100000,801".to_owned(),
        format!("M{:x},4:00000000", END - 2),
        format!("M{END:x},1:00"),
        "Mfffffffffffffffe,4:00000000".to_owned(),
        "M0,1:00".to_owned(),
    ]
    .into_iter()
    .map(String::into_bytes)
    .chain([
        // Binary writes: X ADDR,LEN:BYTES.
        [format!("X{:x},4:", END - 2).as_bytes(), &[0, 0, 0, 0]].concat(),
        [b"Xffffffffffffffff,2:".as_slice(), &[0, 0]].concat(),
    ])
    .collect();
    for body in &refused {
        let reply = gdb.request(body);
        assert!(
            is_error(&reply),
            "`{}` got `{}` instead of an error",
            String::from_utf8_lossy(body),
            &reply[..reply.len().min(64)]
        );
    }

    // What lies inside guest memory is still read, up to its end.
    let hex = |reply: &str| reply.bytes().all(|b| b.is_ascii_hexdigit());
    let last = gdb.request(format!("m{:x},10", END - 0x10).as_bytes());
    assert!(last.len() == 0x20 && hex(&last), "{last}");
    let tail = gdb.request(format!("m{:x},10", END - 8).as_bytes());
    assert!(
        tail.len() == 0x10 && hex(&tail),
        "short read at the end: {tail}"
    );
    let image = gdb.request(b"m100000,800");
    assert!(image.len() == 0x1000 && hex(&image), "{}", image.len());
    assert_eq!(hex_bytes(&image), image_bytes(&k, 0x10_0000, 0x800));
    // Registers and a write inside the image.
    let regs = gdb.request(b"g");
    assert!(regs.len() > 100 && hex(&regs), "{regs}");
    assert_eq!(
        gdb.request(format!("M100000,4:{}", &image[..8]).as_bytes()),
        "OK"
    );

    // Kill: the tender ends at once.
    gdb.send(b"k");
    let status = child.wait_briefly();
    let stderr = stderr.join().unwrap();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("gdb killed the guest"), "{stderr}");
}

/// A request gdbstub cannot parse (a length no address can hold) ends the
/// session, and the tender with it: status 1 and a message, at once.
#[test]
fn unparsable_request_ends_the_run() {
    if !kvm_or_skip("gdb") {
        return;
    }
    let Some(k) = unikernel(Source::Corten, "hello") else {
        return;
    };
    let (child, port, mut err) = start_under_gdb(&k, &[], &["Hello_Solo5"]);
    let mut child = KillOnDrop(child);
    let mut gdb = Remote::connect(port);
    gdb.send_packet(b"m0,10000000000000000");
    let status = child.wait_briefly();
    let mut stderr = String::new();
    err.read_to_string(&mut stderr).unwrap();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("gdb: session failed"), "{stderr}");
}

/// A tender that a failing test must not leave running.
struct KillOnDrop(Child);

impl KillOnDrop {
    /// Waits (at most 10 s) for the tender to end.
    fn wait_briefly(&mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(st) = self.0.try_wait().unwrap() {
                return st;
            }
            assert!(Instant::now() < deadline, "the tender did not end");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn parse_elf(kernel: &Path) -> (Vec<u8>, corten_elf::Elf) {
    let file = std::fs::read(kernel).unwrap();
    let name = kernel.display().to_string();
    let elf = corten_elf::Elf::parse(&name, file.as_slice(), corten_elf::Arch::host()).unwrap();
    (file, elf)
}

/// Guest address and file size of `kernel`'s first segment.
fn first_segment(kernel: &Path) -> (u64, usize) {
    let (_, elf) = parse_elf(kernel);
    let s = &elf.segments()[0];
    (s.vaddr, s.filesz as usize)
}

/// `len` bytes of `kernel`'s image at guest address `addr`, from its file.
fn image_bytes(kernel: &Path, addr: u64, len: usize) -> Vec<u8> {
    let (file, elf) = parse_elf(kernel);
    let name = kernel.display();
    let s = elf
        .segments()
        .iter()
        .find(|s| s.vaddr <= addr && addr + len as u64 <= s.vaddr + s.filesz)
        .unwrap_or_else(|| panic!("no segment holds {addr:#x}+{len:#x} in {name}"));
    let at = (s.offset + addr - s.vaddr) as usize;
    file[at..at + len].to_vec()
}

fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len() / 2)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}
