//! The guest command line: runtime options, then the application's part.
//!
//! The tender joins the arguments after the kernel path with single spaces.
//! Leading `--solo5:LEVEL` words (LEVEL one of `quiet`, `error`, `warn`,
//! `info`, `debug`) set the runtime's log level and are removed; the first
//! other word starts the application's command line. `quiet` is the same as
//! `error`: errors are still printed.
//!
//! Corten's own runtime options may be mixed in with them:
//! `--corten:net-ring` makes hvt network I/O use the tender's shared ring
//! when it offers one (see `platform::ring`; off by default).

use crate::log::Level;

const OPTIONS: [(&[u8], Level); 5] = [
    (b"--solo5:quiet", Level::Error),
    (b"--solo5:error", Level::Error),
    (b"--solo5:warn", Level::Warn),
    (b"--solo5:info", Level::Info),
    (b"--solo5:debug", Level::Debug),
];

const NET_RING: &[u8] = b"--corten:net-ring";

/// Runtime options found at the start of a command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Parsed<'a> {
    /// The log level the last option asked for, if any.
    pub level: Option<Level>,
    /// `--corten:net-ring` was given.
    pub net_ring: bool,
    /// What follows the runtime options, leading spaces removed.
    pub app: &'a [u8],
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

fn skip_spaces(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|&&b| is_space(b)).count();
    s.get(n..).unwrap_or_default()
}

/// Splits the runtime options off the start of `cmdline`.
pub fn parse<'a>(cmdline: &'a [u8]) -> Parsed<'a> {
    let mut rest = skip_spaces(cmdline);
    let mut level = None;
    let mut net_ring = false;
    let word = |s: &'a [u8], w: &[u8]| -> Option<&'a [u8]> {
        let after = s.strip_prefix(w)?;
        after.first().is_none_or(|&b| is_space(b)).then_some(after)
    };
    'words: loop {
        for (w, l) in OPTIONS {
            if let Some(after) = word(rest, w) {
                level = Some(l);
                rest = skip_spaces(after);
                continue 'words;
            }
        }
        if let Some(after) = word(rest, NET_RING) {
            net_ring = true;
            rest = skip_spaces(after);
            continue;
        }
        break;
    }
    Parsed {
        level,
        net_ring,
        app: rest,
    }
}

/// The words of an application command line, split on whitespace.
pub fn words(app: &str) -> impl Iterator<Item = &str> {
    app.split(|c: char| c.is_ascii_whitespace())
        .filter(|w| !w.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_options() {
        let p = parse(b"Hello_Solo5");
        assert_eq!(p.level, None);
        assert_eq!(p.app, b"Hello_Solo5");
        assert_eq!(parse(b"").app, b"");
    }

    #[test]
    fn options_are_removed_last_wins() {
        let p = parse(b"  --solo5:quiet --solo5:debug  app arg");
        assert_eq!(p.level, Some(Level::Debug));
        assert_eq!(p.app, b"app arg");
        let p = parse(b"--solo5:quiet");
        assert_eq!(p.level, Some(Level::Error));
        assert_eq!(p.app, b"");
    }

    #[test]
    fn option_must_be_a_whole_word() {
        let p = parse(b"--solo5:quieter x");
        assert_eq!(p.level, None);
        assert_eq!(p.app, b"--solo5:quieter x");
    }

    #[test]
    fn options_after_app_words_are_the_apps() {
        let p = parse(b"limit --solo5:quiet");
        assert_eq!(p.level, None);
        assert_eq!(p.app, b"limit --solo5:quiet");
    }

    #[test]
    fn unknown_option_stops_parsing() {
        let p = parse(b"--solo5:warn --solo5:bogus --solo5:debug");
        assert_eq!(p.level, Some(Level::Warn));
        assert_eq!(p.app, b"--solo5:bogus --solo5:debug");
    }

    #[test]
    fn corten_options_mix_with_solo5_ones() {
        let p = parse(b"--solo5:quiet --corten:net-ring limit");
        assert_eq!(p.level, Some(Level::Error));
        assert!(p.net_ring);
        assert_eq!(p.app, b"limit");
        assert!(!parse(b"--corten:net-ringx").net_ring);
        assert!(!parse(b"x --corten:net-ring").net_ring);
    }

    #[test]
    fn words_split() {
        let w: Vec<&str> = words(" a  b\tc ").collect();
        assert_eq!(w, ["a", "b", "c"]);
    }
}
