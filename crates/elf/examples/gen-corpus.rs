//! Writes the hand-made ELF corpus: `tests/corpus/{malformed,valid}/NAME.elf`
//! plus `NAME.expected` (the exact message, or the summary of an accepted
//! image). Run from anywhere:
//!
//! ```sh
//! cargo run -p corten-elf --example gen-corpus            # the repo's tests/corpus
//! cargo run -p corten-elf --example gen-corpus -- DIR     # somewhere else
//! ```
//!
//! The `corpus` test fails if the committed files differ from what this
//! writes, so rerun it (and commit) after changing a case.

#[path = "../tests/support/corpus.rs"]
mod corpus;

use std::path::{Path, PathBuf};

fn main() -> std::io::Result<()> {
    let root = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus"));
    for (dir, cases) in [
        ("malformed", corpus::malformed_cases()),
        ("valid", corpus::valid_cases()),
    ] {
        let dir = root.join(dir);
        // Start clean so a renamed or removed case leaves nothing behind.
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::create_dir_all(&dir)?;
        for c in &cases {
            std::fs::write(dir.join(format!("{}.elf", c.name)), &c.bytes)?;
            std::fs::write(
                dir.join(format!("{}.expected", c.name)),
                corpus::expected_file_text(c),
            )?;
        }
        println!("{}: {} files", dir.display(), cases.len());
    }
    Ok(())
}
