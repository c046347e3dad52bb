//! corten-oci's command line on its own (no engine): version, features,
//! runc's errors and their JSON log line, and hostile bundles (a config
//! that lies, a unikernel path that links out of the rootfs) refused with
//! a precise message before anything is created.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use corten_testutil::{wait_with_timeout, Outcome, TempDir};

fn oci(args: &[&str]) -> Outcome {
    let mut cmd = Command::new(common::oci());
    cmd.args(args)
        .env("CORTEN_OCI_RUNC", "/nonexistent/runc")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    wait_with_timeout(cmd.spawn().unwrap(), Duration::from_secs(20))
}

#[test]
fn version_and_features() {
    let v = oci(&["--version"]);
    assert_eq!(v.status, 0);
    assert!(v.stdout.starts_with("corten-oci version "), "{}", v.stdout);
    assert!(v.stdout.contains("spec: 1.0.2"), "{}", v.stdout);
    let f = oci(&["features"]);
    assert_eq!(f.status, 0);
    let j: serde_json::Value = serde_json::from_str(&f.stdout).unwrap();
    assert_eq!(j["ociVersionMin"], "1.0.0");
    assert!(j["linux"]["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n == "network"));
}

#[test]
fn unknown_containers_get_runcs_words_in_the_json_log() {
    let dir = TempDir::new("oci-cli");
    let root = dir.path().join("root");
    let log = dir.path().join("log.json");
    for cmd in [
        vec!["state", "nope"],
        vec!["start", "nope"],
        vec!["kill", "nope", "9"],
        vec!["delete", "nope"],
    ] {
        let mut args = vec![
            "--root",
            root.to_str().unwrap(),
            "--log",
            log.to_str().unwrap(),
            "--log-format",
            "json",
        ];
        args.extend(cmd.iter());
        let out = oci(&args);
        assert_eq!(out.status, 1, "{cmd:?}: {}", out.output());
        assert!(
            out.stderr.contains("container does not exist"),
            "{cmd:?}: {}",
            out.output()
        );
    }
    let text = std::fs::read_to_string(&log).unwrap();
    let last: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(last["level"], "error");
    assert_eq!(last["msg"], "container does not exist");
    assert!(last["time"].as_str().unwrap().ends_with('Z'));
}

#[test]
fn bad_command_lines_are_usage_errors() {
    for bad in [
        &["frob", "x"][..],
        &["kill", "c1", "SIGFROB"],
        &["state"],
        &["state", "../etc"],
        &["--log-format", "yaml", "state", "c1"],
    ] {
        let out = oci(bad);
        assert_eq!(out.status, 1, "{bad:?}: {}", out.output());
        assert!(
            out.stderr.starts_with("corten-oci: "),
            "{bad:?}: {}",
            out.output()
        );
    }
}

fn bundle(dir: &Path, config: &str) {
    std::fs::create_dir_all(dir.join("rootfs")).unwrap();
    std::fs::write(dir.join("config.json"), config).unwrap();
}

#[test]
fn hostile_bundles_are_refused_before_anything_is_created() {
    let dir = TempDir::new("oci-hostile");
    let root = dir.path().join("root");
    let b = dir.path().join("b");
    let create = |id: &str| {
        oci(&[
            "--root",
            root.to_str().unwrap(),
            "create",
            "--bundle",
            b.to_str().unwrap(),
            id,
        ])
    };
    // Not JSON, wrong types, no program.
    for (config, says) in [
        ("{", "invalid OCI runtime spec"),
        (
            r#"{"root": {"path": "rootfs"}, "process": {"args": "x"}}"#,
            "process.args",
        ),
        (
            r#"{"root": {"path": "rootfs"}, "process": {"args": []}}"#,
            "process.args is empty",
        ),
        (
            r#"{"root": {"path": "rootfs"}, "process": {"args": ["/u.spt"]}, "annotations": {"io.corten.unikernel": "/u.spt"}}"#,
            "unikernel /u.spt",
        ),
    ] {
        bundle(&b, config);
        let out = create("h1");
        assert_eq!(out.status, 1, "{config}: {}", out.output());
        assert!(out.stderr.contains(says), "{config}: {}", out.output());
        assert!(!root.join("h1").exists(), "{config}: state was created");
    }
    // The image's unikernel is a symlink to a host file: resolved inside
    // the rootfs, where it does not exist.
    let host_file = dir.path().join("host.spt");
    std::fs::copy(common::unikernel("hello", "spt"), &host_file).unwrap();
    bundle(
        &b,
        r#"{"root": {"path": "rootfs"}, "process": {"args": ["/u.spt"]}, "annotations": {"io.corten.unikernel": "/u.spt"}}"#,
    );
    std::os::unix::fs::symlink(&host_file, b.join("rootfs/u.spt")).unwrap();
    let out = create("h2");
    assert_eq!(out.status, 1, "{}", out.output());
    assert!(out.stderr.contains("No such file"), "{}", out.output());
    assert!(!root.join("h2").exists());
    // A memory annotation that is not a number.
    std::fs::remove_file(b.join("rootfs/u.spt")).unwrap();
    std::fs::copy(&host_file, b.join("rootfs/u.spt")).unwrap();
    bundle(
        &b,
        r#"{"root": {"path": "rootfs"}, "process": {"args": ["/u.spt"]}, "annotations": {"io.corten.mem": "lots"}}"#,
    );
    let out = create("h3");
    assert_eq!(out.status, 1, "{}", out.output());
    assert!(
        out.stderr.contains("io.corten.mem=\"lots\""),
        "{}",
        out.output()
    );
}

#[test]
fn a_corrupt_state_is_an_error_and_delete_force_clears_it() {
    let dir = TempDir::new("oci-corrupt");
    let root = dir.path().join("root");
    std::fs::create_dir_all(root.join("c1")).unwrap();
    std::fs::write(root.join("c1/corten.json"), "{ not json").unwrap();
    let r = root.to_str().unwrap();
    let out = oci(&["--root", r, "state", "c1"]);
    assert_eq!(out.status, 1, "{}", out.output());
    assert!(
        out.stderr.contains("invalid container state"),
        "{}",
        out.output()
    );
    let out = oci(&["--root", r, "delete", "c1"]);
    assert_eq!(out.status, 1, "{}", out.output());
    let out = oci(&["--root", r, "delete", "--force", "c1"]);
    assert_eq!(out.status, 0, "{}", out.output());
    assert!(!root.join("c1").exists());
}

#[test]
fn output_that_cannot_be_written_is_an_error_not_a_panic() {
    let dir = TempDir::new("oci-full");
    let root = dir.path().join("root");
    for args in [
        &["--version"][..],
        &["features"],
        &["--help"],
        &["--root", root.to_str().unwrap(), "list"],
        &["--root", root.to_str().unwrap(), "list", "--format", "json"],
    ] {
        let mut cmd = Command::new(common::oci());
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create("/dev/full").unwrap())
            .stderr(Stdio::piped());
        let out = wait_with_timeout(cmd.spawn().unwrap(), Duration::from_secs(20));
        assert_eq!(out.status, 1, "{args:?}: {}", out.output());
        assert!(
            out.stderr
                .contains("corten-oci: writing to standard output: No space left on device"),
            "{args:?}: {}",
            out.output()
        );
        assert!(
            !out.stderr.contains("panicked"),
            "{args:?}: {}",
            out.output()
        );
    }
}
