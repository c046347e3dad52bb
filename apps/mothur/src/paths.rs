//! mothur's file-name rules (source/utils.cpp):
//!
//! * `getSimpleName`: the part after the last `/` or `\`;
//! * `getRootName`: everything up to and including the last `.`
//!   (`s.fasta` -> `s.`, `seqs` -> `seqs`);
//! * `hasPath`: everything up to and including the last `~`, `/` or `\`;
//! * output names are `[filename]` followed by the pattern's pieces joined
//!   with `.`, the root supplying its own dot: `s.` + `phylip` + `dist` ->
//!   `s.phylip.dist`, and `seqs` + `dist` -> `seqsdist`.

use alloc::string::String;

/// Part after the last path separator.
pub fn simple_name(path: &str) -> &str {
    match path.rfind(['/', '\\']) {
        Some(i) => &path[i + 1..],
        None => path,
    }
}

/// Up to and including the last `.`.
pub fn root_name(name: &str) -> &str {
    match name.rfind('.') {
        Some(i) => &name[..=i],
        None => name,
    }
}

/// Directory part including the trailing separator (`""` if none).
pub fn has_path(path: &str) -> &str {
    match path.rfind(['~', '/', '\\']) {
        Some(i) => &path[..=i],
        None => "",
    }
}

/// Adds a trailing `/` to a non-empty directory.
pub fn dir_with_slash(dir: &str) -> String {
    let mut s = String::from(dir);
    if !s.is_empty() && !s.ends_with('/') && !s.ends_with('\\') {
        s.push('/');
    }
    s
}

/// The output name for input `input`: `outputdir` (or the input's own
/// directory) + root name + `tags` joined by `.`.
pub fn output_name(input: &str, outputdir: Option<&str>, tags: &[&str]) -> String {
    let mut s = match outputdir {
        Some(d) => dir_with_slash(d),
        None => String::from(has_path(input)),
    };
    s.push_str(root_name(simple_name(input)));
    for (i, t) in tags.iter().enumerate() {
        if i > 0 {
            s.push('.');
        }
        s.push_str(t);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(output_name("s.fasta", None, &["dist"]), "s.dist");
        assert_eq!(
            output_name("d/s.fasta", None, &["phylip", "dist"]),
            "d/s.phylip.dist"
        );
        assert_eq!(
            output_name("seqs", None, &["phylip", "dist"]),
            "seqsphylip.dist"
        );
        assert_eq!(
            output_name("a/s.x.fasta", Some("out"), &["an", "list"]),
            "out/s.x.an.list"
        );
    }
}
