//! The cases the aarch64 run executes inside the emulated machine, and the
//! test driver (`/init`) generated from them.
//!
//! They are the cases of the x86_64 suite (crates/testutil/src/suite)
//! that need no network and no host-side helper, with the same arguments
//! and the same expectations per tender; the hostile unikernels' cases are
//! read from the unikernels themselves (`hostile list`), as there.
//! The driver prints `PASS NAME` or `FAIL NAME (why)` per case, then
//! `SUMMARY passed=N failed=M`, each line behind [`MARK`].

use crate::guest::Target;

/// Where the initramfs holds the tenders and the unikernels.
pub const BIN: &str = "/corten/bin";
pub const UNIKERNELS: &str = "/corten/unikernels";

/// Where the initramfs holds the host crates' unit-test executables.
pub const UNIT_TESTS: &str = "/corten/unit";

/// Where the initramfs holds the kernel's tun module (for taps).
pub const TUN_MODULE: &str = "/corten/tun.ko";

/// Prefix of every line the host reads.
pub const MARK: &str = "corten-cross:";

/// How a case must end.
#[derive(Debug, Clone)]
pub struct Expect {
    pub status: i32,
    /// Must appear in standard output.
    pub stdout: Option<&'static str>,
    /// Must appear in standard error.
    pub stderr: Option<&'static str>,
    /// Must appear in neither.
    pub absent: Option<&'static str>,
}

const fn status(status: i32) -> Expect {
    Expect {
        status,
        stdout: None,
        stderr: None,
        absent: None,
    }
}

const fn success() -> Expect {
    Expect {
        stdout: Some("SUCCESS"),
        ..status(0)
    }
}

const fn abort() -> Expect {
    Expect {
        stdout: Some("ABORT"),
        ..status(255)
    }
}

const fn tender_error(phrase: &'static str) -> Expect {
    Expect {
        stderr: Some(phrase),
        ..status(1)
    }
}

const SIGSEGV: i32 = 128 + 11;
const SIGSYS: i32 = 128 + 31;

/// How the driver runs a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum How {
    /// Runs the program to its end.
    Run,
    /// Starts the tender, sends `count` echo requests (busybox `ping -A`)
    /// to each of `to` at once, then waits for the tender's end. Every
    /// request must get its reply, and ARP must have resolved each
    /// address to the `--net-mac` of its interface.
    Ping { count: u32, to: &'static str },
    /// Runs the tender with `--dumpcore=/tmp/cores`; the core it writes
    /// there must be an ELF core file whose pc lies in the unikernel's
    /// image.
    Core,
}

/// One run of a program (a tender unless [`program`](Self::program) says
/// otherwise).
#[derive(Debug, Clone)]
pub struct Case {
    pub name: String,
    /// Shell words after the program's path; `@` stands for the
    /// unikernel directory (`@/hello` is hello built for this case's
    /// tender).
    pub args: String,
    pub expect: Expect,
    pub how: How,
    /// Shell commands run first (e.g. creating a tap).
    pub setup: String,
    /// `NAME=VALUE` words for the program's environment.
    pub env: &'static str,
    /// Another program of [`BIN`] than the case's tender.
    pub program: Option<&'static str>,
}

/// The tender's file name.
pub fn tender_name(t: Target) -> &'static str {
    match t {
        Target::Spt => "corten-spt",
        Target::Hvt => "corten-hvt",
    }
}

/// The `--mem` of the x86_64 suite (`Kind::suite_mem`).
fn suite_mem(t: Target) -> &'static str {
    match t {
        Target::Spt => "--mem=2",
        Target::Hvt => "--mem=4096",
    }
}

/// Backing files the driver creates before the cases:
/// (path, bytes).
pub const FILES: [(&str, u64); 5] = [
    ("/tmp/blk.img", 4096 * 1024),
    ("/tmp/misaligned.img", 2048 * 3),
    ("/tmp/odd.img", 521 * 3),
    ("/tmp/tiny.img", 256),
    ("/tmp/empty.img", 0),
];

/// mft_maxdevices: the most block devices a manifest holds, each on its
/// own 4 KiB file `/tmp/max/storageN.img` (the driver creates them).
pub const MAX_DEVICES: usize = 63;

/// The `--net-mac` of the guest's interface `i` (as the x86_64 suite).
fn mac(i: usize) -> String {
    format!("02:00:00:c0:de:{i:02x}")
}

/// Every case for tender `t`, in the order they run.
pub fn cases(t: Target) -> Vec<Case> {
    let mem = suite_mem(t);
    let ext = t.name();
    let mut v: Vec<Case> = Vec::new();
    let expand = |args: String| {
        args.replace("@/", &format!("{UNIKERNELS}/"))
            .replace("{ext}", ext)
    };
    let mut case = |name: &str, args: String, expect: Expect| {
        v.push(Case {
            name: name.to_owned(),
            args: expand(args),
            expect,
            how: How::Run,
            setup: String::new(),
            env: "",
            program: None,
        })
    };
    let plain = |uk: &str, args: &str| format!("{mem} -- @/{uk}.{{ext}} {args}");
    let blk = "--block:storage=/tmp/blk.img";

    case(
        "version",
        "--version".into(),
        Expect {
            stderr: Some("ABI version 2"),
            ..status(0)
        },
    );
    case(
        "hello",
        plain("hello", "Hello_Solo5"),
        Expect {
            stdout: Some("Hello_Solo5"),
            ..success()
        },
    );
    case(
        "quiet",
        plain("quiet", "--solo5:quiet"),
        Expect {
            absent: Some("Solo5:"),
            ..success()
        },
    );
    case("output", plain("output", "Output_Solo5"), status(0));
    for name in ["globals", "tls", "fpu", "time"] {
        case(name, plain(name, ""), success());
    }
    case("ssp", plain("ssp", ""), abort());
    case("abort", plain("abort", ""), abort());
    case(
        "abort_panic",
        plain("abort", "panic"),
        Expect {
            stdout: Some("index out of bounds"),
            ..abort()
        },
    );
    // Faults: SIGSEGV under spt; under hvt the guest's abort or the
    // tender's message.
    let fault = |hvt: Expect| match t {
        Target::Spt => status(SIGSEGV),
        Target::Hvt => hvt,
    };
    case(
        "exception",
        plain("exception", ""),
        fault(Expect {
            stderr: Some("guest trap frame"),
            ..abort()
        }),
    );
    case("zeropage", plain("zeropage", ""), fault(abort()));
    case("notls", plain("notls", ""), fault(abort()));
    case(
        "xnow",
        plain("xnow", ""),
        fault(tender_error("host/guest translation fault")),
    );
    case("blk", format!("{mem} {blk} -- @/blk.{{ext}}"), success());
    case(
        "blk_4096",
        format!("{mem} {blk} --block-sector-size:storage=4096 -- @/blk.{{ext}}"),
        success(),
    );
    case(
        "blk_misaligned",
        format!(
            "{mem} --block:storage=/tmp/misaligned.img --block-sector-size:storage=4096 -- @/blk.{{ext}}"
        ),
        tender_error("Backing storage size must be block aligned"),
    );
    case(
        "blk_odd",
        format!(
            "{mem} --block:storage=/tmp/odd.img --block-sector-size:storage=521 -- @/blk.{{ext}}"
        ),
        tender_error("Block size must be a multiple of 2"),
    );
    case(
        "blk_too_small",
        format!(
            "{mem} --block:storage=/tmp/tiny.img --block-sector-size:storage=256 -- @/blk.{{ext}}"
        ),
        tender_error("Block size must be a multiple of 2 greater than or equal 512"),
    );
    case(
        "blk_empty",
        format!("{mem} --block:storage=/tmp/empty.img -- @/blk.{{ext}}"),
        tender_error("Backing storage must be at least 1 block"),
    );
    case(
        "device_not_attached",
        format!("{mem} @/blk.{{ext}}"),
        tender_error("Device 'storage' of type BLOCK_BASIC declared but not attached."),
    );
    case(
        "device_not_declared",
        format!("{mem} --block:disk=/tmp/blk.img @/blk.{{ext}}"),
        tender_error("Resource not declared in manifest: 'disk'"),
    );
    case(
        "bad_mem",
        format!("{blk} --mem=abc @/blk.{{ext}}"),
        tender_error("Malformed argument to --mem"),
    );
    case(
        "bad_option",
        "--frobnicate @/blk.{ext}".to_owned(),
        tender_error("Invalid option: `--frobnicate'"),
    );
    case(
        "device_attached_twice",
        format!("{mem} {blk} {blk} @/blk.{{ext}}"),
        tender_error("Device 'storage' is attached twice"),
    );
    case(
        "device_wrong_kind",
        format!("{mem} {blk} --net:storage=tap0 @/blk.{{ext}}"),
        tender_error("Resource not declared in manifest: 'storage'"),
    );
    case(
        "device_missing_file",
        format!("{mem} --block:storage=/tmp/nonexistent.img @/blk.{{ext}}"),
        tender_error("Could not open block device"),
    );
    case(
        "cmdline_too_long",
        format!("{blk} {mem} @/blk.{{ext}} {}", "x".repeat(8192)),
        tender_error("Guest command line too long (max=8191 characters)"),
    );
    case(
        "mem_too_small",
        format!("{blk} --mem=1 @/blk.{{ext}}"),
        match t {
            Target::Spt => tender_error("past guest memory"),
            // hvt rounds --mem up to its 2 MiB blocks, where blk fits.
            Target::Hvt => success(),
        },
    );
    let devices: Vec<String> = (0..MAX_DEVICES)
        .map(|i| format!("--block:storage{i}=/tmp/max/storage{i}.img"))
        .collect();
    case(
        "mft_maxdevices",
        format!("{mem} {} -- @/mft_maxdevices.{{ext}}", devices.join(" ")),
        success(),
    );
    match t {
        Target::Spt => {
            case("wnox", plain("wnox", ""), status(SIGSEGV));
            case("seccomp", plain("seccomp", ""), status(SIGSYS));
            case(
                "x_exec_heap",
                format!("{mem} --x-exec-heap -- @/hello.spt Hello_Solo5"),
                Expect {
                    stderr: Some("WARNING: The use of --x-exec-heap is dangerous"),
                    ..success()
                },
            );
            case(
                "huge_mem",
                "--mem=67108864 @/hello.spt".into(),
                tender_error("Error allocating guest memory"),
            );
        }
        Target::Hvt => {
            // The message of a bad MMIO access (hostile's mmio-* cases
            // only check that the tender stops the guest).
            case(
                "mmio_message",
                "--mem=64 -- @/hostile.hvt mmio-byte-write".into(),
                tender_error(
                    "Invalid guest MMIO access: address=0x100000010 (1-byte write): hypercalls \
                     are 4-byte writes to the hypercall MMIO addresses",
                ),
            );
        }
    }
    v.extend(net_cases(t, mem).into_iter().map(|mut c| {
        c.args = expand(c.args);
        c
    }));
    if t == Target::Hvt {
        for name in ["abort", "exception"] {
            v.push(Case {
                name: format!("dumpcore_{name}"),
                args: expand(format!("{mem} --dumpcore=/tmp/cores -- @/{name}.hvt")),
                expect: Expect {
                    stderr: Some("core.solo5-hvt."),
                    ..status(255)
                },
                how: How::Core,
                setup: "rm -rf /tmp/cores; mkdir -p /tmp/cores".into(),
                env: "",
                program: None,
            });
        }
    }
    v
}

/// The network cases: taps in the emulated machine (no namespace needed:
/// the whole machine is the test's), the guest answering pings.
fn net_cases(t: Target, mem: &str) -> Vec<Case> {
    let net = |i: usize| format!("--net:service{i}=tap10{i} --net-mac:service{i}={}", mac(i));
    let base = |name: &str, args: String, expect: Expect, how: How, setup: &str| Case {
        name: name.to_owned(),
        args,
        expect,
        how,
        setup: setup.to_owned(),
        env: "",
        program: None,
    };
    let ping = |count, to| How::Ping { count, to };
    let mut v = vec![
        base(
            "net",
            format!("{mem} {} -- @/net.{{ext}} limit=1000", net(0)),
            success(),
            ping(1000, "10.0.0.2"),
            "tap tap100 10.0.0.1/24",
        ),
        base(
            "net_2if",
            format!(
                "{mem} {} {} -- @/net_2if.{{ext}} limit=1000",
                net(0),
                net(1)
            ),
            success(),
            ping(500, "10.0.0.2 10.1.0.2"),
            "tap tap100 10.0.0.1/24; tap tap101 10.1.0.1/24",
        ),
        base(
            "net_mtu",
            format!("{mem} --net:service0=tap102 -- @/net_mtu.{{ext}}"),
            Expect {
                stdout: Some("MTU is 9000"),
                ..success()
            },
            How::Run,
            "tap tap102 10.2.0.1/24 9000",
        ),
        base(
            "net_no_such_interface",
            format!("{mem} --net:service0=tap109 -- @/net.{{ext}}"),
            tender_error("no such interface"),
            How::Run,
            "",
        ),
        base(
            "net_interface_down",
            format!("{mem} --net:service0=tap108 -- @/net.{{ext}}"),
            tender_error("interface is down"),
            How::Run,
            "tunctl -d tap108 > /dev/null 2>&1; tunctl -t tap108 > /dev/null",
        ),
        base(
            "net_fd_not_open",
            format!("{mem} --net:service0=@77 -- @/net.{{ext}}"),
            tender_error("descriptor 77 is not open"),
            How::Run,
            "",
        ),
        base(
            "net_mac_only",
            format!("{mem} --net-mac:service0=02:00:00:00:00:01 -- @/net.{{ext}}"),
            tender_error("declared but not attached"),
            How::Run,
            "",
        ),
    ];
    if t == Target::Hvt {
        // The shared ring, offered explicitly (`auto` offers it only with
        // more than one CPU); the statistics show how the guest did I/O.
        for (name, ring, expect) in [
            ("net_ring", "on", "writes, "),
            ("net_hypercalls", "off", "net_write="),
        ] {
            let mut c = base(
                name,
                format!(
                    "{mem} --net-ring={ring} {} -- @/net.hvt --corten:net-ring limit=1000",
                    net(0)
                ),
                Expect {
                    stderr: Some(expect),
                    ..success()
                },
                ping(1000, "10.0.0.2"),
                "tap tap100 10.0.0.1/24",
            );
            c.env = "CORTEN_HVT_STATS=1";
            if ring == "off" {
                c.expect.absent = Some("net ring: ");
            }
            v.push(c);
        }
    }
    v
}

/// corten-elftool on the aarch64 unikernels.
pub fn elftool_cases() -> Vec<Case> {
    let run = |name: &str, args: String, expect: Expect| Case {
        name: name.to_owned(),
        args,
        expect,
        how: How::Run,
        setup: String::new(),
        env: "",
        program: Some("corten-elftool"),
    };
    vec![
        run(
            "query_abi",
            format!("query-abi {UNIKERNELS}/hello.hvt"),
            Expect {
                stdout: Some("\"target\": \"hvt\""),
                ..status(0)
            },
        ),
        run(
            "query_manifest",
            format!("query-manifest {UNIKERNELS}/blk.spt"),
            Expect {
                stdout: Some("\"name\": \"storage\""),
                ..status(0)
            },
        ),
        run("not_an_elf", "query-abi /init".into(), status(1)),
    ]
}

/// The hostile unikernels and their `--block` options (the driver reads
/// each one's case list from its `list` run).
pub const HOSTILE: [(&str, &str); 2] = [
    ("hostile", ""),
    ("hostile_blk", "--block:storage=/tmp/hostile.img"),
];

/// Quotes `s` for the shell: one word, nothing expanded.
pub fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn opt(s: Option<&str>) -> String {
    quote(s.unwrap_or(""))
}

/// The driver's line for case `c` of group `group`, run by `program`.
fn case_line(group: &str, program: &str, c: &Case) -> String {
    let e = &c.expect;
    let mut s = String::new();
    if !c.setup.is_empty() {
        s += &format!("{}\n", c.setup);
    }
    let head = format!(
        "{} {} {} {} {}",
        quote(&format!("{group}/{}", c.name)),
        e.status,
        opt(e.stdout),
        opt(e.stderr),
        opt(e.absent),
    );
    let program = match c.program {
        Some(p) => format!("{BIN}/{p}"),
        None => program.to_owned(),
    };
    let command = if c.env.is_empty() {
        format!("{program} {}", c.args)
    } else {
        format!("env {} {program} {}", c.env, c.args)
    };
    s += &match &c.how {
        How::Run => format!("check {head} {command}\n"),
        How::Ping { count, to } => format!("pings {head} {count} {} {command}\n", quote(to)),
        How::Core => format!("core {head} {command}\n"),
    };
    s
}

/// The test driver, run by busybox as `/init` with `tenders` selected and
/// the unit-test executables `units` of [`UNIT_TESTS`].
pub fn driver(tenders: &[Target], units: &[String]) -> String {
    let mut s = String::from(DRIVER_HEAD);
    for (path, len) in FILES {
        s += &format!("mkfile {path} {len}\n");
    }
    s += &format!(
        "mkdir -p /tmp/max; i=0; while [ $i -lt {MAX_DEVICES} ]; do \
         mkfile /tmp/max/storage$i.img 4096; i=$((i+1)); done\n"
    );
    s += &format!("insmod {TUN_MODULE} || echo \"$M tun.ko did not load\"\n");
    for c in elftool_cases() {
        s += &case_line("elftool", "", &c);
    }
    // The host crates' unit tests, on aarch64 (one thread: the machine
    // has two CPUs and TCG).
    for u in units {
        s += &format!(
            "check {} 0 'test result: ok' '' '' {UNIT_TESTS}/{u} --test-threads=1\n",
            quote(&format!("unit/{u}"))
        );
    }
    for &t in tenders {
        let tender = format!("{BIN}/{}", tender_name(t));
        if t == Target::Hvt {
            s += &format!(
                "if [ ! -c /dev/kvm ]; then echo \"{MARK} FAIL hvt/kvm (no /dev/kvm in the guest)\"; \
                 fail=$((fail+1)); else\n"
            );
        }
        for c in cases(t) {
            s += &case_line(t.name(), &tender, &c);
        }

        for (uk, dev) in HOSTILE {
            s += &format!(
                "hostile {} {tender} {} {UNIKERNELS}/{uk}.{}\n",
                quote(t.name()),
                quote(dev),
                t.name()
            );
        }
        if t == Target::Hvt {
            s += "fi\n";
        }
    }
    s += DRIVER_TAIL;
    s
}

/// Set-up and the helpers `check` and `hostile`.
const DRIVER_HEAD: &str = r#"#!/bin/busybox sh
# Generated by xtask/src/cross/cases.rs: the aarch64 test driver.
/bin/busybox mkdir -p /proc /sys /dev /tmp /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
M=corten-cross:
pass=0
fail=0
echo "$M BEGIN $(uname -m) $(uname -r)"
mkfile() { head -c "$2" /dev/zero > "$1"; }
# hostile_blk's backing file: every byte 0x5a ('Z'), as in the x86_64 suite.
mkfill() { head -c "$2" /dev/zero | tr '\000' Z > "$1"; }
# Each run has a limit, so one hung tender cannot stall the rest.
runit() { timeout -s KILL 120 "$@" > /tmp/out 2> /tmp/err; }
report() {
  if [ -z "$2" ]; then
    pass=$((pass+1)); echo "$M PASS $1"
  else
    fail=$((fail+1)); echo "$M FAIL $1 ($2)"
    cat /tmp/out /tmp/err | head -n 15 | sed 's/^/    | /'
    # Long outputs (unit tests): where they failed.
    cat /tmp/out /tmp/err | grep -A 4 -E 'panicked|^failures:' | head -n 30 | sed 's/^/    | /'
  fi
}
# judge STATUS WANT STDOUT STDERR ABSENT: why the run in /tmp/out and
# /tmp/err that ended with STATUS is not as expected ("" if it is).
judge() {
  st=$1; want=$2; out=$3; err=$4; absent=$5
  if [ "$st" -ne "$want" ]; then
    echo "status $st, expected $want"
  elif [ -n "$out" ] && ! grep -qF -- "$out" /tmp/out; then
    echo "no '$out' in stdout"
  elif [ -n "$err" ] && ! grep -qF -- "$err" /tmp/err; then
    echo "no '$err' in stderr"
  elif [ -n "$absent" ] && cat /tmp/out /tmp/err | grep -qF -- "$absent"; then
    echo "'$absent' in the output"
  fi
}
# check NAME STATUS STDOUT STDERR ABSENT PROGRAM ARGS...
check() {
  name=$1; want=$2; out=$3; err=$4; absent=$5; shift 5
  runit "$@"; st=$?
  report "$name" "$(judge "$st" "$want" "$out" "$err" "$absent")"
}
# tap NAME ADDRESS [MTU]: a fresh tap, up, with ADDRESS.
# (busybox ip has no tuntap; its tunctl makes persistent taps.)
tap() {
  tunctl -d "$1" > /dev/null 2>&1
  { tunctl -t "$1" > /dev/null && ip addr add "$2" dev "$1" && ip link set "$1" up; } \
    || echo "$M tap $1 could not be made"
  [ -z "$3" ] || ip link set "$1" mtu "$3"
}
# carrier IFACE: waits up to 10 s for IFACE's carrier (the tender has
# attached the tap).
carrier() {
  i=0
  while [ "$(cat /sys/class/net/$1/carrier 2>/dev/null)" != 1 ] && [ $i -lt 200 ]; do
    i=$((i+1)); sleep 0.05
  done
}
# pinger DEST COUNT: COUNT - 1 echo requests, the neighbour entry
# (the ARP answer), then one more while the guest surely still runs (the
# kernel forgets neighbours when the tap goes down).
pinger() {
  ping -A -q -c $(($2 - 1)) -w 100 "$1" > /tmp/ping1.$1 2>&1
  ip neigh show to "$1" > /tmp/neigh.$1 2>&1
  ping -A -q -c 1 -w 10 "$1" > /tmp/ping2.$1 2>&1
}
# pings NAME STATUS STDOUT STDERR ABSENT COUNT DESTINATIONS PROGRAM ARGS...
# Destination 10.N.0.2 is the guest's interface N behind tap10N, with the
# MAC 02:00:00:c0:de:0N (its --net-mac).
pings() {
  name=$1; want=$2; out=$3; err=$4; absent=$5; count=$6; to=$7; shift 7
  timeout -s KILL 120 "$@" > /tmp/out 2> /tmp/err &
  tender=$!
  pids=""
  for d in $to; do
    n=${d#10.}; n=${n%%.*}
    carrier tap10$n
    pinger "$d" "$count" &
    pids="$pids $!"
  done
  wait $tender; st=$?
  # The guest answered before it exited: give the pingers a moment to
  # read the last replies, then stop them (SIGINT: ping prints its
  # statistics), so a guest that ended early costs no ping deadline.
  i=0
  for p in $pids; do
    while kill -0 $p 2>/dev/null && [ $i -lt 50 ]; do i=$((i+1)); sleep 0.1; done
    kill -INT $(pgrep -P $p) $p 2>/dev/null; wait $p
  done
  why=$(judge "$st" "$want" "$out" "$err" "$absent")
  for d in $to; do
    n=${d#10.}; n=${n%%.*}; first=$((count - 1))
    [ -n "$why" ] && break
    if ! grep -q "$first packets transmitted, $first packets received" /tmp/ping1.$d \
       || ! grep -q "1 packets transmitted, 1 packets received" /tmp/ping2.$d; then
      why="pings to $d: $(cat /tmp/ping1.$d /tmp/ping2.$d | grep transmitted | tr '\n' ' ')"
    elif ! grep -qi "lladdr 02:00:00:c0:de:0$n" /tmp/neigh.$d; then
      why="ARP did not resolve $d to its --net-mac: $(cat /tmp/neigh.$d)"
    fi
  done
  report "$name" "$why"
}
# core NAME STATUS STDOUT STDERR ABSENT PROGRAM ARGS...: as check, and the
# core file in /tmp/cores is an ELF core whose pc (NT_PRSTATUS pr_reg
# index 32, after the ELF header, two program headers and the note
# header) lies in the unikernel's image.
core() {
  name=$1; want=$2; out=$3; err=$4; absent=$5; shift 5
  runit "$@"; st=$?
  why=$(judge "$st" "$want" "$out" "$err" "$absent")
  file=$(ls /tmp/cores/core.solo5-hvt.* 2>/dev/null | head -n 1)
  if [ -z "$why" ]; then
    if [ -z "$file" ] || [ ! -f "$file" ]; then
      why="no core file in /tmp/cores"
    elif [ "$(head -c 4 "$file" | tail -c 3)" != ELF ]; then
      why="$file is no ELF file"
    elif [ "$(od -An -tu2 -j16 -N2 "$file" | tr -d ' ')" != 4 ]; then
      why="$file is not ET_CORE"
    else
      pc=$(od -An -tx8 -j$((64 + 2 * 56 + 20 + 112 + 32 * 8)) -N8 "$file" | tr -d ' ')
      # After an exception the core holds the faulting pc the guest
      # reported ("trap: ... pc=0x..."), not the handler's.
      fault=$(sed -n 's/.*trap: .* pc=0x\([0-9a-f]*\).*/\1/p' /tmp/out | head -n 1)
      if [ $((0x$pc)) -lt $((0x100000)) ] || [ $((0x$pc)) -ge $((0x10000000)) ]; then
        why="pc 0x$pc outside the image"
      elif [ -n "$fault" ] && [ $((0x$pc)) -ne $((0x$fault)) ]; then
        why="pc 0x$pc in the core, but the guest faulted at 0x$fault"
      fi
    fi
  fi
  report "$name" "$why"
}
# hostile KIND TENDER DEVICE KERNEL: every case the unikernel lists,
# judged as crates/testutil/src/suite/hostile.rs judges it.
hostile() {
  kind=$1; tender=$2; dev=$3; kernel=$4; base=${kernel##*/}; base=${base%.*}
  prog=${tender##*/}
  mkfill /tmp/hostile.img 65536
  runit "$tender" --mem=64 $dev -- "$kernel" list; st=$?
  if [ "$st" -ne 2 ]; then report "$kind/$base/list" "status $st, expected 2"; return; fi
  sed -n '/^usage:/,$p' /tmp/out | tail -n +2 | grep -v '^Solo5' > /tmp/cases
  n=0
  while read case expect rest; do
    n=$((n+1)); expect=${expect%:}
    mkfill /tmp/hostile.img 65536
    runit "$tender" --mem=64 $dev -- "$kernel" "$case"; st=$?
    success=0; grep -q SUCCESS /tmp/out && [ "$st" -eq 0 ] && success=1
    terr=0; [ "$st" -eq 1 ] && grep -q "^$prog: " /tmp/err && terr=1
    why=""
    case "$expect" in
      Sigsys) [ "$st" -eq 159 ] || why="status $st, expected SIGSYS (159)";;
      TenderError) [ "$terr" -eq 1 ] || why="status $st, expected a tender error";;
      Refused) { [ "$success" -eq 1 ] || { [ "$terr" -eq 1 ] && ! grep -q FAILURE /tmp/out; }; } \
                 || why="status $st, expected refused";;
      Allowed) [ "$success" -eq 1 ] || why="status $st, expected SUCCESS";;
      Status*) s=${expect#Status(}; s=${s%)}; [ "$st" -eq "$s" ] || why="status $st, expected $s";;
      *) why="unknown expectation $expect";;
    esac
    [ -z "$why" ] && [ "$expect" != Sigsys ] && [ "$st" -ge 128 ] && why="died of a signal ($st)"
    if [ -n "$dev" ] && [ -z "$why" ] && [ "$expect" != Allowed ]; then
      [ "$(tr -d Z < /tmp/hostile.img | wc -c)" -eq 0 ] || why="a refused request changed the backing file"
    fi
    [ "$(wc -c < /tmp/hostile.img)" -eq 65536 ] || why="the backing file changed size"
    report "$kind/$base/$case" "$why"
  done < /tmp/cases
  [ "$n" -gt 5 ] || report "$kind/$base/list" "only $n cases listed"
}
"#;

const DRIVER_TAIL: &str = r#"echo "$M SUMMARY passed=$pass failed=$fail"
sync
poweroff -f
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_single_quotes() {
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
    }

    #[test]
    fn cases_name_their_unikernels_per_tender() {
        let spt = cases(Target::Spt);
        let hello = spt.iter().find(|c| c.name == "hello").unwrap();
        assert_eq!(
            hello.args,
            format!("--mem=2 -- {UNIKERNELS}/hello.spt Hello_Solo5")
        );
        let hvt = cases(Target::Hvt);
        assert!(hvt.iter().any(|c| c.how == How::Core));
        assert!(hvt.iter().all(|c| !c.args.contains(".spt")));
        assert!(hvt.iter().all(|c| !c.args.contains("@/")));
        let xnow = hvt.iter().find(|c| c.name == "xnow").unwrap();
        assert_eq!(xnow.expect.status, 1);
    }

    #[test]
    fn the_driver_runs_every_case_and_powers_off() {
        let d = driver(&Target::ALL, &["corten_hvt-lib".to_owned()]);
        assert!(d.contains("'unit/corten_hvt-lib'"));
        for t in Target::ALL {
            for c in cases(t) {
                assert!(d.contains(&format!("'{}/{}'", t.name(), c.name)));
            }
        }
        assert!(d.contains("hostile 'hvt'"));
        assert!(d.trim_end().ends_with("poweroff -f"));
    }
}
