//! Where the test unikernels are: Corten-built ones from `cargo xtask
//! build`, and (locally) upstream-built ones.

use std::path::PathBuf;

/// The workspace root.
pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Which build of the test unikernels a suite runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// `target/unikernels/NAME.EXT` (or `$CORTEN_UNIKERNEL_DIR`), built by
    /// `cargo xtask build`.
    Corten,
    /// `$SOLO5_UPSTREAM_TESTS/test_NAME/test_NAME.EXT` (local only).
    Upstream,
}

/// The unikernel `name` (e.g. "hello") of `source` for the tender whose
/// file extension is `ext` ("spt", "hvt"), or `None` (after printing why)
/// when the upstream suite is not configured. A missing Corten unikernel
/// is a failure, never a skip.
pub fn unikernel(source: Source, name: &str, ext: &str) -> Option<PathBuf> {
    match source {
        Source::Corten => {
            let dir = std::env::var_os("CORTEN_UNIKERNEL_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| workspace().join("target/unikernels"));
            let p = dir.join(format!("{name}.{ext}"));
            assert!(
                p.exists(),
                "{} is missing: run `cargo xtask build` first",
                p.display()
            );
            Some(p)
        }
        Source::Upstream => {
            let Some(dir) = std::env::var_os("SOLO5_UPSTREAM_TESTS") else {
                crate::skip_note(
                    "upstream",
                    &format!(
                        "upstream compatibility tests (`{name}` and the rest of this suite): set \
                         SOLO5_UPSTREAM_TESTS to a directory of upstream-built tests \
                         (test_NAME/test_NAME.{ext}) to run them"
                    ),
                );
                return None;
            };
            // Upstream names one test unikernel differently.
            let file = if name == "buggyelf" {
                format!("test_buggyelf/buggyelf.{ext}")
            } else {
                format!("test_{name}/test_{name}.{ext}")
            };
            let p = PathBuf::from(dir).join(file);
            assert!(p.exists(), "{} is missing", p.display());
            Some(p)
        }
    }
}
