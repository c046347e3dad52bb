//! The hand-made corpus under tests/corpus: every malformed file is
//! rejected with exactly the message in its `.expected` file, every valid
//! one is accepted and loaded as its `.expected` summary says, and the
//! committed files are exactly what the generator
//! (`cargo run -p corten-elf --example gen-corpus`) writes.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap

mod support;

use std::collections::BTreeSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use support::corpus::{self, Case};

fn corpus_dir(kind: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/corpus")
        .join(kind)
}

/// The `.elf` files committed in `dir`, by name without extension.
fn committed(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect()
}

fn check_committed_equal_generated(kind: &str, cases: &[Case]) {
    let dir = corpus_dir(kind);
    let mut want = BTreeSet::new();
    for c in cases {
        let elf = format!("{}.elf", c.name);
        let exp = format!("{}.expected", c.name);
        let on_disk = std::fs::read(dir.join(&elf))
            .unwrap_or_else(|e| panic!("{kind}/{elf}: {e} (run the gen-corpus example)"));
        assert!(
            on_disk == c.bytes,
            "{kind}/{elf} differs from the generator's; rerun `cargo run -p corten-elf --example gen-corpus`"
        );
        let text = std::fs::read_to_string(dir.join(&exp)).unwrap();
        assert_eq!(
            text,
            corpus::expected_file_text(c),
            "{kind}/{exp} differs from the generator's"
        );
        want.insert(elf);
        want.insert(exp);
    }
    assert_eq!(
        committed(&dir),
        want,
        "tests/corpus/{kind} holds files the generator does not write"
    );
}

#[test]
fn committed_corpus_is_what_the_generator_writes() {
    let malformed = corpus::malformed_cases();
    let valid = corpus::valid_cases();
    assert!(
        malformed.len() >= 30,
        "only {} malformed cases",
        malformed.len()
    );
    let names: BTreeSet<_> = malformed.iter().chain(&valid).map(|c| c.name).collect();
    assert_eq!(
        names.len(),
        malformed.len() + valid.len(),
        "duplicate case names"
    );
    check_committed_equal_generated("malformed", &malformed);
    check_committed_equal_generated("valid", &valid);
}

/// Runs the loader on each committed `.elf` of `kind` read from disk
/// through `File`, returning (name, outcome, expectation).
fn run_committed(kind: &str) -> Vec<(String, Result<String, String>, String)> {
    let dir = corpus_dir(kind);
    let mut out = Vec::new();
    for name in committed(&dir) {
        let Some(stem) = name.strip_suffix(".elf") else {
            continue;
        };
        let file = File::open(dir.join(&name)).unwrap();
        let outcome = corpus::run_loader(&name, &file);
        let expected = std::fs::read_to_string(dir.join(format!("{stem}.expected")))
            .unwrap_or_else(|e| panic!("{kind}/{stem}.expected: {e}"));
        out.push((name, outcome, corpus::parse_expected_file(&expected)));
    }
    out
}

#[test]
fn malformed_files_fail_with_their_expected_message() {
    let results = run_committed("malformed");
    assert!(results.len() >= 30);
    let mut wrong = Vec::new();
    for (name, outcome, expected) in results {
        match outcome {
            Ok(_) => wrong.push(format!("{name}: accepted, expected: {expected}")),
            Err(msg) if msg != expected => {
                wrong.push(format!("{name}:\n   got: {msg}\n  want: {expected}"))
            }
            Err(_) => {}
        }
    }
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}

#[test]
fn valid_files_load_as_expected() {
    let results = run_committed("valid");
    assert!(results.len() >= 5);
    let mut wrong = Vec::new();
    for (name, outcome, expected) in results {
        match outcome {
            Err(msg) => wrong.push(format!("{name}: rejected: {msg}")),
            Ok(summary) if summary.trim_end() != expected.trim_end() => {
                wrong.push(format!("{name}:\n   got:\n{summary}\n  want:\n{expected}"))
            }
            Ok(_) => {}
        }
    }
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}

/// Every message names the structure and keeps to one line.
#[test]
fn messages_are_single_line_and_name_the_file() {
    for c in corpus::malformed_cases() {
        let name = format!("{}.elf", c.name);
        let msg = corpus::run_loader(&name, c.bytes.as_slice()).unwrap_err();
        assert!(msg.starts_with(&format!("{name}: ")), "{msg}");
        assert!(!msg.contains('\n'), "{msg}");
    }
}
