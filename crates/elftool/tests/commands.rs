//! The commands, run as a user runs them, against hand-written golden
//! files (see tests/golden/README.md).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use corten_abi::note::MFT1_NOTE_TYPE;
use support::*;

// ---- gen-manifest -------------------------------------------------------

#[test]
fn gen_manifest_c_is_upstream_format() {
    for name in ["net3", "empty"] {
        let out = elftool(&[
            "gen-manifest",
            &golden(&format!("{name}.json")).to_string_lossy(),
            "-",
        ]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_eq!(
            text(&out.stdout),
            golden_text(&format!("{name}.c")),
            "{name}"
        );
        assert!(out.stderr.is_empty());
    }
}

#[test]
fn gen_manifest_reads_stdin_and_writes_files() {
    let dir = scratch("gen_files");
    let source = std::fs::read(golden("net3.json")).unwrap();
    // An existing, longer output file is replaced entirely.
    let output = write_file(&dir, "manifest.c", &vec![b'x'; 4096]);
    let out = elftool_stdin(&["gen-manifest", "-", &output], &source);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty());
    assert_eq!(
        std::fs::read_to_string(&output).unwrap(),
        golden_text("net3.c")
    );
    // A new file is created.
    let fresh = dir.join("new.c").to_string_lossy().into_owned();
    let out = elftool(&[
        "gen-manifest",
        &golden("empty.json").to_string_lossy(),
        &fresh,
    ]);
    assert!(out.status.success());
    assert_eq!(
        std::fs::read_to_string(&fresh).unwrap(),
        golden_text("empty.c")
    );
    // /dev/null, as upstream's test suite uses it.
    let out = elftool(&[
        "gen-manifest",
        &golden("net3.json").to_string_lossy(),
        "/dev/null",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn gen_manifest_failure_leaves_output_alone() {
    let dir = scratch("gen_failure");
    let output = write_file(&dir, "manifest.c", b"previous contents\n");
    let bad = write_file(&dir, "bad.json", b"{\"type\": \"solo5.manifest\"}");
    let out = elftool(&["gen-manifest", &bad, &output]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        format!("corten-elftool: {bad}:1: missing .version\n")
    );
    assert_eq!(std::fs::read(&output).unwrap(), b"previous contents\n");
}

#[test]
fn gen_manifest_rust_is_golden() {
    let out = elftool(&[
        "gen-manifest",
        "--rust",
        &golden("net3.json").to_string_lossy(),
        "-",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), golden_text("net3.rs"));
}

#[test]
fn gen_manifest_note_layout() {
    let note = gen_note("net3.json");
    // Elf64_Nhdr + "Solo5\0" padded to 8, 4 bytes of padding, struct mft.
    assert_eq!(note.len(), 12 + 8 + 4 + 8 + 4 * 104);
    let u32_at = |at: usize| u32::from_le_bytes(note[at..at + 4].try_into().unwrap());
    assert_eq!(u32_at(0), 6, "n_namesz");
    assert_eq!(
        u32_at(4) as usize,
        note.len() - 20,
        "n_descsz counts the padding"
    );
    assert_eq!(u32_at(8), MFT1_NOTE_TYPE);
    assert_eq!(&note[12..20], b"Solo5\0\0\0");
    assert_eq!(&note[20..24], &[0; 4]);
    assert_eq!((u32_at(24), u32_at(28)), (1, 4), "version, entries");
    let entry = |i: usize| &note[32 + i * 104..32 + (i + 1) * 104];
    assert_eq!(&entry(0)[..68], &[0; 68][..]);
    assert_eq!(
        u32::from_le_bytes(entry(0)[68..72].try_into().unwrap()),
        1 << 30
    );
    assert_eq!(&entry(3)[..8], b"storage\0");
    assert_eq!(u32::from_le_bytes(entry(3)[68..72].try_into().unwrap()), 1);
    assert_eq!(u32::from_le_bytes(entry(1)[68..72].try_into().unwrap()), 2);
}

#[test]
fn gen_manifest_errors_name_source_line_and_device() {
    let dir = scratch("gen_errors");
    let cases: &[(&str, &str)] = &[
        (
            "{\n  \"type\": \"solo5.manifest\",\n  \"version\": 1,\n  \"devices\": [\n    { \"name\": \"disk\", \"type\": \"BLOCK_BASIC\" },\n    { \"name\": \"disk\", \"type\": \"NET_BASIC\" }\n  ]\n}\n",
            ":6: .devices[1] (\"disk\"): duplicate name, already used by .devices[0]",
        ),
        (
            "{\n  \"type\": \"solo5.manifest\",\n  \"version\": 1,\n  \"devices\": [\n    { \"name\": \"disk\", \"type\": \"BLOCK\" }\n  ]\n}\n",
            ":5: .devices[0] (\"disk\"): unknown device type \"BLOCK\", expected \"BLOCK_BASIC\" or \"NET_BASIC\"",
        ),
        (
            "{\n  \"type\": \"solo5.manifest\",\n  \"version\": 1,\n  \"devices\": [\n    { \"name\": \"my-disk\", \"type\": \"BLOCK_BASIC\" }\n  ]\n}\n",
            ":5: .devices[0] (\"my-disk\"): name is not alphanumeric ('-' at offset 2); use only ASCII letters and digits",
        ),
        (
            "{\n  \"type\": \"solo5.manifest\",\n  \"version\": 1,\n  \"devices\": [\n",
            ":5: JSON parse error: EOF while parsing a list",
        ),
    ];
    for (i, (json, expected)) in cases.iter().enumerate() {
        let source = write_file(&dir, &format!("{i}.json"), json.as_bytes());
        let out = elftool(&["gen-manifest", &source, "-"]);
        assert_eq!(out.status.code(), Some(1), "{json}");
        assert!(out.stdout.is_empty(), "nothing written on error");
        let err = text(&out.stderr);
        assert!(
            err.starts_with(&format!("corten-elftool: {source}{expected}")),
            "{err}"
        );
    }
}

#[test]
fn gen_manifest_too_many_entries_as_upstream_test_greps() {
    let dir = scratch("gen_too_many");
    let devices = |n: usize| -> String {
        let list: Vec<String> = (1..=n)
            .map(|i| format!("    {{ \"name\": \"storage{i}\", \"type\": \"BLOCK_BASIC\" }}"))
            .collect();
        format!(
            "{{\n  \"type\": \"solo5.manifest\",\n  \"version\": 1,\n  \"devices\": [\n{}\n  ]\n}}\n",
            list.join(",\n")
        )
    };
    let ok = write_file(&dir, "63.json", devices(63).as_bytes());
    let out = elftool(&["gen-manifest", &ok, "/dev/null"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let bad = write_file(&dir, "64.json", devices(64).as_bytes());
    let out = elftool(&["gen-manifest", &bad, "/dev/null"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("too many entries, maximum 63"));
}

#[test]
fn gen_manifest_open_errors_use_upstream_phrases() {
    let out = elftool(&["gen-manifest", "/nonexistent/m.json", "-"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "corten-elftool: /nonexistent/m.json: Could not open for reading: No such file or directory\n"
    );
    let out = elftool(&[
        "gen-manifest",
        &golden("net3.json").to_string_lossy(),
        "/nonexistent/m.c",
    ]);
    assert_eq!(
        text(&out.stderr),
        "corten-elftool: /nonexistent/m.c: Could not open for writing: No such file or directory\n"
    );
}

// ---- query-manifest / query-abi ---------------------------------------

#[test]
fn query_manifest_is_upstream_format() {
    let dir = scratch("query_manifest");
    for name in ["net3", "empty"] {
        let image = unikernel(
            host_machine(),
            &abi1_note(1, 2),
            &gen_note(&format!("{name}.json")),
        );
        let path = write_file(&dir, &format!("{name}.hvt"), &image);
        let out = elftool(&["query-manifest", &path]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_eq!(
            text(&out.stdout),
            golden_text(&format!("{name}.query.json"))
        );
        assert!(out.stderr.is_empty());
    }
}

#[test]
fn query_abi_is_upstream_format() {
    let dir = scratch("query_abi");
    let empty = gen_note("empty.json");
    for (target, golden_name) in [(1, "abi-hvt.json"), (2, "abi-spt.json")] {
        let path = write_file(
            &dir,
            golden_name,
            &unikernel(host_machine(), &abi1_note(target, 2), &empty),
        );
        let out = elftool(&["query-abi", &path]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_eq!(text(&out.stdout), golden_text(golden_name));
    }
    let path = write_file(
        &dir,
        "odd",
        &unikernel(host_machine(), &abi1_note(77, 9), &empty),
    );
    let out = elftool(&["query-abi", &path]);
    assert!(out.status.success());
    assert_eq!(
        text(&out.stdout),
        "{\n  \"type\": \"solo5.abi\",\n  \"target\": \"unknown\",\n  \"version\": 9\n}\n"
    );
}

#[test]
fn query_reads_both_architectures() {
    let dir = scratch("query_arch");
    let note = gen_note("net3.json");
    for machine in [EM_X86_64, EM_AARCH64] {
        let path = write_file(
            &dir,
            &format!("k{machine}"),
            &unikernel(machine, &abi1_note(2, 2), &note),
        );
        let out = elftool(&["query-manifest", &path]);
        assert!(out.status.success(), "{machine}: {}", text(&out.stderr));
        assert_eq!(text(&out.stdout), golden_text("net3.query.json"));
    }
}

#[test]
fn query_errors() {
    let dir = scratch("query_errors");
    let out = elftool(&["query-manifest", "/nonexistent/k.hvt"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "corten-elftool: /nonexistent/k.hvt: Could not open: No such file or directory\n"
    );

    let no_mft = write_file(
        &dir,
        "no-mft",
        &unikernel(host_machine(), &abi1_note(1, 2), &[]),
    );
    let out = elftool(&["query-manifest", &no_mft]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        format!("corten-elftool: {no_mft}: No Solo5 manifest found in executable\n")
    );
    // The ABI is still there.
    assert!(elftool(&["query-abi", &no_mft]).status.success());

    // A manifest note whose entry 2 repeats entry 1's name.
    let mut note = gen_note("net3.json");
    let entry2 = 32 + 2 * 104;
    note[entry2..entry2 + 8].copy_from_slice(b"service0");
    let dup = write_file(
        &dir,
        "dup",
        &unikernel(host_machine(), &abi1_note(1, 2), &note),
    );
    let out = elftool(&["query-manifest", &dup]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        format!(
            "corten-elftool: {dup}: Manifest validation failed: manifest note: entry 2 (\"service0\"): duplicate name, already used by entry 1\n"
        )
    );
    assert!(out.stdout.is_empty());

    let garbage = write_file(&dir, "garbage", &[b'?'; 128]);
    let out = elftool(&["query-abi", &garbage]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).starts_with(&format!("corten-elftool: {garbage}: ELF header: magic")));
}

// ---- validate -------------------------------------------------------------

#[test]
fn validate_accepts_a_good_unikernel() {
    let dir = scratch("validate_ok");
    let note = gen_note("net3.json");
    let path = write_file(
        &dir,
        "k.spt",
        &unikernel(host_machine(), &abi1_note(2, 2), &note),
    );
    let out = elftool(&["validate", &path]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        format!("{path}: OK: spt unikernel, ABI version 2, 3 devices, fits in 512 MiB\n")
    );
    let out = elftool(&["validate", "--target=spt", "--mem=2", &path]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn validate_rejects_each_defect() {
    let dir = scratch("validate_bad");
    let note = gen_note("net3.json");
    let hvt = write_file(
        &dir,
        "k.hvt",
        &unikernel(host_machine(), &abi1_note(1, 2), &note),
    );

    let out = elftool(&["validate", "--target", "spt", &hvt]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.starts_with(&format!("corten-elftool: {hvt}: ")),
        "{err}"
    );
    assert!(err.contains("abi_target 1 (hvt)"), "{err}");

    let v1 = write_file(
        &dir,
        "v1",
        &unikernel(host_machine(), &abi1_note(1, 1), &note),
    );
    let out = elftool(&["validate", &v1]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("abi_version 1"),
        "{}",
        text(&out.stderr)
    );

    let virtio = write_file(
        &dir,
        "virtio",
        &unikernel(host_machine(), &abi1_note(3, 2), &note),
    );
    let out = elftool(&["validate", &virtio]);
    assert_eq!(
        text(&out.stderr),
        format!("corten-elftool: {virtio}: Solo5 ABI1 note: abi_target 3 (virtio) does not run on Corten's tenders, expected 1 (hvt) or 2 (spt)\n")
    );

    let no_mft = write_file(
        &dir,
        "no-mft",
        &unikernel(host_machine(), &abi1_note(1, 2), &[]),
    );
    let out = elftool(&["validate", &no_mft]);
    assert_eq!(
        text(&out.stderr),
        format!("corten-elftool: {no_mft}: No Solo5 manifest found in executable\n")
    );

    // The image ends at 0x101000: 1 MiB would be too small, but corten-hvt
    // rounds --mem=1 up to one 2 MiB page, and validate says what the
    // tender does (one rule, corten_abi::mem).
    let out = elftool(&["validate", "--mem=1", &hvt]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("fits in 2 MiB (--mem=1 adjusted to 2 MiB"),
        "{}",
        text(&out.stdout)
    );
    // More than an hvt guest can address: refused, as corten-hvt refuses.
    for mem in ["--mem=4098", "--mem=65536"] {
        let out = elftool(&["validate", mem, &hvt]);
        assert_eq!(out.status.code(), Some(1));
        assert!(
            text(&out.stderr).contains("corten-hvt gives a guest at most 4096 MiB"),
            "{}",
            text(&out.stderr)
        );
    }

    // Another architecture than the host's: a tender could not run it.
    let other = if host_machine() == EM_X86_64 {
        EM_AARCH64
    } else {
        EM_X86_64
    };
    let foreign = write_file(&dir, "foreign", &unikernel(other, &abi1_note(1, 2), &note));
    let out = elftool(&["validate", &foreign]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("e_machine"),
        "{}",
        text(&out.stderr)
    );
}

// ---- command line ---------------------------------------------------------

#[test]
fn bad_arguments_print_usage_and_exit_1() {
    for args in [
        &[][..],
        &["frobnicate"],
        &["gen-manifest", "only-one"],
        &["query-abi"],
        &["query-manifest", "a", "b"],
        &["validate", "--target=xen", "k"],
    ] {
        let out = elftool(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(out.stdout.is_empty());
        let err = text(&out.stderr);
        assert!(err.contains("usage: corten-elftool COMMAND ...\n"), "{err}");
        assert!(err.contains(&format!(
            "corten-elftool version {}\n",
            corten_manifest::GENERATOR_VERSION
        )));
    }
}

#[test]
fn program_name_follows_argv0() {
    let dir = scratch("argv0");
    let link = dir.join("solo5-elftool");
    std::os::unix::fs::symlink(BIN, &link).unwrap();
    let out = std::process::Command::new(&link).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).starts_with("usage: solo5-elftool COMMAND ...\nsolo5-elftool version ")
    );
    let out = std::process::Command::new(&link)
        .args(["query-abi", "/nonexistent"])
        .output()
        .unwrap();
    assert!(text(&out.stderr).starts_with("solo5-elftool: /nonexistent: Could not open"));
}

#[test]
fn help_and_version() {
    let out = elftool(&["--help"]);
    assert!(out.status.success());
    assert!(text(&out.stdout).starts_with("usage: corten-elftool COMMAND ...\n"));
    let out = elftool(&["--version"]);
    assert!(out.status.success());
    assert_eq!(
        text(&out.stdout),
        format!(
            "corten-elftool version {}\nABI version 2\n",
            corten_manifest::GENERATOR_VERSION
        )
    );
}

#[test]
fn images_that_are_not_regular_files_are_refused_without_hanging() {
    let d = corten_testutil::TempDir::new("elftool-nonregular");
    for (path, phrase) in corten_testutil::launcher::non_regular_files(&d) {
        for command in ["query-manifest", "query-abi", "validate"] {
            let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_corten-elftool"));
            cmd.arg(command);
            corten_testutil::launcher::refuses_quickly(cmd, &path, phrase);
        }
    }
}

#[test]
fn results_for_a_closed_stdout_are_an_error_not_a_silent_success() {
    use corten_testutil::launcher::run_with_closed;
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_corten-elftool"));
    let dir = scratch("closed-stdout");
    let kernel = write_file(
        &dir,
        "k.hvt",
        &unikernel(host_machine(), &abi1_note(1, 2), &gen_note("empty.json")),
    );
    let manifest = write_file(
        &dir,
        "m.json",
        br#"{"type":"solo5.manifest","version":1,"devices":[]}"#,
    );
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    for args in [
        s(&["query-manifest", &kernel]),
        s(&["query-abi", &kernel]),
        s(&["validate", &kernel]),
        s(&["gen-manifest", &manifest, "-"]),
    ] {
        let o = run_with_closed(bin, ">&-", &args);
        assert_eq!(o.status, 1, "{args:?}: {}", o.output());
        assert!(
            o.stderr.contains("standard output is closed"),
            "{args:?}: {}",
            o.stderr
        );
        // Closed stderr too: still a failure, never a silent 0.
        assert_eq!(
            run_with_closed(bin, ">&- 2>&-", &args).status,
            1,
            "{args:?}"
        );
        // An intentional /dev/null is not an error.
        let o = run_with_closed(bin, ">/dev/null", &args);
        assert_eq!(o.status, 0, "{args:?}: {}", o.output());
    }
    // A file output needs no stdout.
    let out = dir.join("m.c").display().to_string();
    assert_eq!(
        run_with_closed(bin, ">&-", &s(&["gen-manifest", &manifest, &out])).status,
        0
    );
}
