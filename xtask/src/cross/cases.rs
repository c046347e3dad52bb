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

/// One run of a tender.
#[derive(Debug, Clone)]
pub struct Case {
    pub name: &'static str,
    /// Shell words after the tender's path; `@` stands for the unikernel
    /// directory (`@/hello` is hello built for this case's tender).
    pub args: String,
    pub expect: Expect,
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

/// Every case for tender `t`, in the order they run.
pub fn cases(t: Target) -> Vec<Case> {
    let mem = suite_mem(t);
    let ext = t.name();
    let mut v = Vec::new();
    let mut case = |name: &'static str, args: String, expect: Expect| {
        v.push(Case {
            name,
            args: args
                .replace("@/", &format!("{UNIKERNELS}/"))
                .replace("{ext}", ext),
            expect,
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
    match t {
        Target::Spt => {
            case("wnox", plain("wnox", ""), status(SIGSEGV));
            case("seccomp", plain("seccomp", ""), status(SIGSYS));
        }
        Target::Hvt => {}
    }
    v
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

/// The test driver, run by busybox as `/init` with `tenders` selected.
pub fn driver(tenders: &[Target]) -> String {
    let mut s = String::from(DRIVER_HEAD);
    for (path, len) in FILES {
        s += &format!("mkfile {path} {len}\n");
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
            let e = &c.expect;
            s += &format!(
                "check {} {} {} {} {} {tender} {}\n",
                quote(&format!("{}/{}", t.name(), c.name)),
                e.status,
                opt(e.stdout),
                opt(e.stderr),
                opt(e.absent),
                c.args
            );
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
  fi
}
# check NAME STATUS STDOUT STDERR ABSENT TENDER ARGS...
check() {
  name=$1; want=$2; out=$3; err=$4; absent=$5; shift 5
  runit "$@"; st=$?
  why=""
  [ "$st" -eq "$want" ] || why="status $st, expected $want"
  [ -z "$why" ] && [ -n "$out" ] && ! grep -qF -- "$out" /tmp/out && why="no '$out' in stdout"
  [ -z "$why" ] && [ -n "$err" ] && ! grep -qF -- "$err" /tmp/err && why="no '$err' in stderr"
  [ -z "$why" ] && [ -n "$absent" ] && cat /tmp/out /tmp/err | grep -qF -- "$absent" && why="'$absent' in the output"
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
        assert!(hvt.iter().all(|c| !c.args.contains(".spt")));
        assert!(hvt.iter().all(|c| !c.args.contains('@')));
        let xnow = hvt.iter().find(|c| c.name == "xnow").unwrap();
        assert_eq!(xnow.expect.status, 1);
    }

    #[test]
    fn the_driver_runs_every_case_and_powers_off() {
        let d = driver(&Target::ALL);
        for t in Target::ALL {
            for c in cases(t) {
                assert!(d.contains(&format!("'{}/{}'", t.name(), c.name)));
            }
        }
        assert!(d.contains("hostile 'hvt'"));
        assert!(d.trim_end().ends_with("poweroff -f"));
    }
}
