//! Host programs corten-oci runs (runc, ip, tc), found on PATH or, when
//! the engine gives its runtime no PATH (podman's `rm` does not), where
//! Debian installs them.

use std::path::PathBuf;

const FALLBACK: [&str; 4] = ["/usr/sbin", "/sbin", "/usr/bin", "/bin"];

/// The path of program `name`; `name` itself if it is nowhere (running it
/// then fails with a message naming it).
pub fn program(name: &str) -> PathBuf {
    let dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.into_iter()
        .chain(FALLBACK.iter().map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_sh_and_keeps_unknown_names() {
        assert!(program("sh").is_absolute());
        assert_eq!(
            program("no-such-program-x"),
            PathBuf::from("no-such-program-x")
        );
    }
}
