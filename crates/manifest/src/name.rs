//! The rules for device names, shared by the JSON and the note readers.

use corten_abi::mft::MFT_NAME_MAX;
use thiserror::Error;

/// A device name that breaks a rule. The phrases are upstream's.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum NameError {
    #[error(".name may not be empty")]
    Empty,
    #[error("name too long ({len} bytes, maximum {MFT_NAME_MAX})")]
    TooLong { len: usize },
    #[error(
        "name is not alphanumeric ({} at offset {offset}); use only ASCII letters and digits",
        describe_byte(*byte)
    )]
    NotAlphanumeric { byte: u8, offset: usize },
}

/// Checks a device name: 1 to 67 bytes, ASCII letters and digits only.
pub fn check_name(name: &[u8]) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name.len() > MFT_NAME_MAX {
        return Err(NameError::TooLong { len: name.len() });
    }
    match name.iter().position(|b| !b.is_ascii_alphanumeric()) {
        Some(offset) => Err(NameError::NotAlphanumeric {
            byte: name.get(offset).copied().unwrap_or_default(),
            offset,
        }),
        None => Ok(()),
    }
}

fn describe_byte(byte: u8) -> String {
    if byte.is_ascii_graphic() || byte == b' ' {
        format!("'{}'", char::from(byte))
    } else {
        format!("byte {byte:#04x}")
    }
}

/// Longest part of a name quoted in a message; longer names are cut.
const QUOTE_MAX: usize = 80;

/// A name for a message: in double quotes, escaped, cut after 80 bytes.
pub(crate) fn quote(name: &[u8]) -> String {
    let shown = name.get(..QUOTE_MAX).unwrap_or(name);
    let more = if shown.len() < name.len() { "..." } else { "" };
    format!("\"{}{more}\"", shown.escape_ascii())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_alphanumeric_names_up_to_67_bytes() {
        assert_eq!(check_name(b"a"), Ok(()));
        assert_eq!(check_name(b"Storage0"), Ok(()));
        assert_eq!(check_name("z".repeat(67).as_bytes()), Ok(()));
    }

    #[test]
    fn rejects_empty() {
        assert_eq!(check_name(b""), Err(NameError::Empty));
    }

    #[test]
    fn rejects_68_bytes() {
        assert_eq!(
            check_name("z".repeat(68).as_bytes()),
            Err(NameError::TooLong { len: 68 })
        );
    }

    #[test]
    fn rejects_non_alphanumeric() {
        for (name, byte, offset) in [
            (&b"net-0"[..], b'-', 3),
            (b"net 0", b' ', 3),
            (b"_", b'_', 0),
            ("caf\u{e9}".as_bytes(), 0xc3, 3),
            (b"a\0", 0, 1),
        ] {
            assert_eq!(
                check_name(name),
                Err(NameError::NotAlphanumeric { byte, offset })
            );
        }
        assert_eq!(
            NameError::NotAlphanumeric {
                byte: 0xc3,
                offset: 3
            }
            .to_string(),
            "name is not alphanumeric (byte 0xc3 at offset 3); use only ASCII letters and digits"
        );
    }

    #[test]
    fn quote_escapes_and_cuts() {
        assert_eq!(quote(b"a\"b\n"), "\"a\\\"b\\n\"");
        let q = quote("x".repeat(100).as_bytes());
        assert_eq!(q, format!("\"{}...\"", "x".repeat(80)));
    }
}
