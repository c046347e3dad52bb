//! `gen-manifest --rust` output compiles against corten-abi, and the
//! static it declares holds exactly the bytes `gen-manifest --note` writes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;
use std::process::Command;

use support::*;

const MAIN: &str = r#"
include!(concat!(env!("CARGO_MANIFEST_DIR"), "/manifest.rs"));

fn main() {
    let size = core::mem::size_of_val(&SOLO5_MANIFEST);
    // SAFETY: Mft1Note is repr(C) plain data with no padding bytes (its
    // layout is pinned by corten-abi), so every byte is initialised.
    let bytes = unsafe {
        core::slice::from_raw_parts(&SOLO5_MANIFEST as *const _ as *const u8, size)
    };
    for b in bytes {
        print!("{b:02x}");
    }
}
"#;

#[test]
fn generated_rust_compiles_and_matches_the_note() {
    let dir = scratch("rust_output");
    for name in ["net3.json", "empty.json"] {
        let source = golden(name).to_string_lossy().into_owned();
        let rust = elftool(&["gen-manifest", "--rust", &source, "-"]);
        assert!(rust.status.success(), "{}", text(&rust.stderr));
        let note = elftool(&["gen-manifest", "--note", &source, "-"]);
        assert!(note.status.success());

        let project = dir.join(name.trim_end_matches(".json"));
        std::fs::create_dir_all(project.join("src")).unwrap();
        let abi = Path::new(env!("CARGO_MANIFEST_DIR")).join("../abi");
        std::fs::write(
            project.join("Cargo.toml"),
            format!(
                "[package]\nname = \"manifest-check\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n\
                 [dependencies]\ncorten-abi = {{ path = {:?} }}\n\n[workspace]\n",
                abi.to_string_lossy()
            ),
        )
        .unwrap();
        std::fs::write(project.join("manifest.rs"), &rust.stdout).unwrap();
        std::fs::write(project.join("src/main.rs"), MAIN).unwrap();

        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let out = Command::new(cargo)
            .args(["run", "--quiet", "--offline"])
            .current_dir(&project)
            .env("CARGO_TARGET_DIR", dir.join("target"))
            .env_remove("RUSTFLAGS")
            .output()
            .unwrap();
        assert!(out.status.success(), "{name}: {}", text(&out.stderr));
        let hex: String = note.stdout.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(text(&out.stdout), hex, "{name}: static bytes == note bytes");
    }
}
