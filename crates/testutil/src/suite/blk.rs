//! Block devices and the device rules of the shared front end
//! (corten-tender): upstream's blk cases, 63 devices, and the tender
//! errors of a unikernel that declares one block device `storage`.

use super::run;
use crate::tender::Kind;
use crate::{Outcome, Source, TempDir, Tender};

/// Runs blk on a fresh backing file of `len` bytes, with
/// `--block-sector-size` `sector` if given, and checks how it ended.
fn blk_case(
    t: &Tender,
    src: Source,
    len: usize,
    sector: Option<&str>,
    check: impl FnOnce(&Outcome),
) {
    let tmp = TempDir::new("blk");
    let img = tmp.file("storage.img", len, 0);
    let dev = format!("--block:storage={}", img.display());
    let size = sector.map(|s| format!("--block-sector-size:storage={s}"));
    let before: Vec<&str> = std::iter::once(dev.as_str())
        .chain(size.as_deref())
        .collect();
    if let Some(o) = run(t, src, "blk", &before, &[]) {
        check(&o);
    }
}

pub fn blk(t: &Tender, src: Source) {
    blk_case(t, src, 4096 * 1024, None, Outcome::expect_success);
}

pub fn blk_4096(t: &Tender, src: Source) {
    blk_case(t, src, 4096 * 1024, Some("4096"), Outcome::expect_success);
}

pub fn blk_misaligned(t: &Tender, src: Source) {
    blk_case(t, src, 2048 * 3, Some("4096"), |o| {
        o.expect_tender_error("Backing storage size must be block aligned");
        assert!(
            o.stderr.contains("6144 bytes"),
            "size not reported:\n{}",
            o.stderr
        );
    });
}

pub fn blk_odd(t: &Tender, src: Source) {
    blk_case(t, src, 521 * 3, Some("521"), |o| {
        o.expect_tender_error("Block size must be a multiple of 2")
    });
}

pub fn blk_too_small(t: &Tender, src: Source) {
    blk_case(t, src, 256, Some("256"), |o| {
        o.expect_tender_error("Block size must be a multiple of 2 greater than or equal 512")
    });
    // An empty file holds no sector at all.
    blk_case(t, src, 0, None, |o| {
        o.expect_tender_error("Backing storage must be at least 1 block")
    });
}

/// 63 block devices: the most a manifest holds.
pub fn mft_maxdevices(t: &Tender, src: Source) {
    let tmp = TempDir::new("maxdev");
    let devs: Vec<String> = (0..63)
        .map(|i| {
            let f = tmp.file(&format!("storage{i}.img"), 4096, 0);
            format!("--block:storage{i}={}", f.display())
        })
        .collect();
    let before: Vec<&str> = devs.iter().map(String::as_str).collect();
    if let Some(o) = run(t, src, "mft_maxdevices", &before, &[]) {
        o.expect_success();
    }
}

/// Tender errors on a unikernel that declares one block device `storage`.
pub fn device_errors(t: &Tender, src: Source) {
    let Some(k) = t.runnable(src, "blk") else {
        return;
    };
    let tmp = TempDir::new("deverr");
    let img = tmp.file("storage.img", 4096, 0);
    let block = |name: &str| format!("--block:{name}={}", img.display());
    let with = |opts: &[&str]| {
        let mut a: Vec<std::ffi::OsString> = opts.iter().map(Into::into).collect();
        a.push(k.clone().into_os_string());
        t.run(a)
    };
    let storage = block("storage");

    let o = with(&[]);
    o.expect_tender_error("Device 'storage' of type BLOCK_BASIC declared but not attached.");
    assert!(o
        .stderr
        .contains("All declared devices must be attached. See --help for syntax."));

    let o = with(&[&block("disk")]);
    o.expect_tender_error("Resource not declared in manifest: 'disk'");
    assert!(
        o.stderr.contains("'storage' (BLOCK_BASIC)"),
        "declared devices not listed:\n{}",
        o.stderr
    );

    with(&[&storage, &storage]).expect_tender_error("Device 'storage' is attached twice");
    with(&[&storage, "--net:storage=tap0"])
        .expect_tender_error("Resource not declared in manifest: 'storage'");
    let missing = format!(
        "--block:storage={}",
        tmp.path().join("nonexistent.img").display()
    );
    with(&[&missing]).expect_tender_error("Could not open block device");

    for bad in [
        "--mem=0",
        "--mem=abc",
        "--mem=",
        "--mem=99999999999999999999",
    ] {
        with(&[&storage, bad]).expect_tender_error("Malformed argument to --mem");
    }
    let o = with(&["--frobnicate"]);
    o.expect_tender_error("Invalid option: `--frobnicate'");
    let usage = format!("usage: {}", t.name());
    assert!(o.stderr.contains(&usage), "no usage:\n{}", o.stderr);

    // Guest command line limit: 8191 characters.
    let mut a: Vec<std::ffi::OsString> = vec![storage.as_str().into(), t.kind.suite_mem().into()];
    a.push(k.clone().into_os_string());
    a.push("x".repeat(8192).into());
    t.run(a)
        .expect_tender_error("Guest command line too long (max=8191 characters)");

    // Too little memory for the unikernel; hvt rounds `--mem` up to its
    // 2 MiB pages, where the guest fits.
    let o = with(&[&storage, "--mem=1"]);
    match t.kind {
        Kind::Spt => o.expect_tender_error("past guest memory"),
        Kind::Hvt => o.expect_success(),
    }
}
