//! The floor for spt start-up: a static C hello-world process, compiled
//! at bench time with `gcc -static -O2` (package gcc + libc6-dev).

use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("writing {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("could not run gcc ({0}); install the Debian packages gcc and libc6-dev")]
    NoGcc(std::io::Error),
    #[error("`gcc -static` failed: {0}; the static C library is in the Debian package libc6-dev")]
    Compile(String),
}

const SOURCE: &str = "#include <stdio.h>\n\
int main(void) { puts(\"Hello, World\"); return 0; }\n";

/// Compiles the static hello world into `dir` and returns its path.
pub fn build_c_hello(dir: &Path) -> Result<PathBuf, BaselineError> {
    let src = dir.join("hello.c");
    let bin = dir.join("hello-static");
    std::fs::write(&src, SOURCE).map_err(|source| BaselineError::Write {
        path: src.clone(),
        source,
    })?;
    let out = Command::new("gcc")
        .args(["-static", "-O2", "-o"])
        .arg(&bin)
        .arg(&src)
        .output()
        .map_err(BaselineError::NoGcc)?;
    if !out.status.success() {
        let msg = String::from_utf8_lossy(&out.stderr);
        return Err(BaselineError::Compile(
            msg.lines().last().unwrap_or("no message").to_owned(),
        ));
    }
    Ok(bin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_a_static_hello_when_gcc_is_there() {
        let dir = std::env::temp_dir().join(format!("corten-bench-c-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        match build_c_hello(&dir) {
            Ok(bin) => {
                assert_eq!(crate::inventory::linkage(&bin), "static");
                let out = Command::new(&bin).output().unwrap();
                assert_eq!(out.stdout, b"Hello, World\n");
            }
            // Only a missing compiler is an acceptable outcome here.
            Err(BaselineError::NoGcc(e)) => eprintln!("SKIP: no gcc: {e}"),
            Err(e) => panic!("{e}"),
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
