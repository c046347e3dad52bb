//! Command-line behaviour that needs no unikernel.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{spt, TempDir};

#[test]
fn version_prints_abi_line_and_exits_0() {
    let o = spt(["--version"]);
    assert_eq!(o.status, 0);
    assert!(o.stdout.is_empty());
    assert!(
        o.stderr.starts_with("corten-spt tender, version "),
        "{}",
        o.stderr
    );
    assert!(
        o.stderr.lines().any(|l| l == "ABI version 2"),
        "{}",
        o.stderr
    );
}

#[test]
fn help_prints_usage_and_exits_1() {
    let o = spt(["--mem=2", "--help", "whatever.spt"]);
    assert_eq!(o.status, 1);
    assert!(o.stderr.starts_with("usage: corten-spt "), "{}", o.stderr);
    for opt in [
        "--mem=",
        "--block:NAME=PATH",
        "--block-sector-size:",
        "--net:NAME=IFACE",
        "--net-mac:",
        "--x-exec-heap",
        "--x-hugepages",
    ] {
        assert!(o.stderr.contains(opt), "usage lacks {opt}:\n{}", o.stderr);
    }
}

#[test]
fn missing_kernel() {
    for a in [&[][..], &["--mem=2"][..], &["--mem=2", "--"][..]] {
        let o = spt(a);
        o.expect_tender_error("Missing KERNEL operand");
        assert!(o.stderr.contains("usage: corten-spt"));
    }
}

#[test]
fn kernel_that_cannot_be_opened() {
    spt(["/nonexistent/unikernel.spt"])
        .expect_tender_error("/nonexistent/unikernel.spt: Could not open");
}

#[test]
fn kernel_that_is_not_an_elf() {
    let d = TempDir::new("notelf");
    let f = d.file("script.spt", 0, 0);
    std::fs::write(&f, "#!/bin/sh\necho hi\n").unwrap();
    let o = spt([f.as_os_str()]);
    assert_eq!(o.status, 1, "{}", o.output());
    assert!(
        o.stderr.contains("script.spt"),
        "file not named:\n{}",
        o.stderr
    );
    // A host executable is an ELF, but not a Solo5 one.
    let o = spt(["/bin/true"]);
    assert_eq!(o.status, 1, "{}", o.output());
    assert!(
        o.stderr.starts_with("corten-spt: /bin/true"),
        "{}",
        o.stderr
    );
}

#[test]
fn program_name_comes_from_argv0() {
    let d = TempDir::new("argv0");
    let link = d.path().join("solo5-spt");
    std::os::unix::fs::symlink(common::TENDER.program(), &link).unwrap();
    let o = corten_testutil::wait_with_timeout(
        std::process::Command::new(&link)
            .arg("/nonexistent.spt")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
        std::time::Duration::from_secs(10),
    );
    assert_eq!(o.status, 1);
    assert!(
        o.stderr
            .starts_with("solo5-spt: /nonexistent.spt: Could not open"),
        "{}",
        o.stderr
    );
}

#[test]
fn tender_is_position_independent() {
    // Guest memory lives at fixed low addresses; the tender must be a PIE
    // so the kernel loads it far above them.
    let b = std::fs::read(common::TENDER.program()).unwrap();
    assert_eq!(&b[..4], b"\x7fELF");
    assert_eq!(
        u16::from_le_bytes([b[16], b[17]]),
        3,
        "e_type must be ET_DYN (PIE)"
    );
}

#[test]
fn net_mac_must_be_a_unicast_station_address() {
    let k = common::TENDER
        .unikernel(corten_testutil::Source::Corten, "net")
        .unwrap();
    let k = k.to_string_lossy().into_owned();
    for (mac, phrase) in [
        ("00:00:00:00:00:00", "all-zero MAC address"),
        ("01:00:5e:00:00:01", "multicast (or broadcast)"),
        ("ff:ff:ff:ff:ff:ff", "multicast (or broadcast)"),
        ("33:33:00:00:00:01", "multicast (or broadcast)"),
    ] {
        let opt = format!("--net-mac:service0={mac}");
        spt([opt.as_str(), "--net:service0=@0", k.as_str()]).expect_tender_error(phrase);
    }
}
