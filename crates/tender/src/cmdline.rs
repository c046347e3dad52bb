//! The guest command line: the arguments after KERNEL joined by single
//! spaces, NUL-terminated, in at most [`CMDLINE_SIZE`] bytes (spt and hvt
//! both reserve 8192).

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;

/// Bytes reserved for the command line in guest memory, terminator included.
pub const CMDLINE_SIZE: usize = corten_abi::spt::SPT_CMDLINE_SIZE;
const _: () = assert!(CMDLINE_SIZE == corten_abi::hvt::HVT_CMDLINE_SIZE);

/// The joined arguments do not fit.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "Guest command line too long (max={max} characters): the arguments after KERNEL \
     join to {len} characters; pass fewer or shorter arguments"
)]
pub struct CmdlineError {
    pub len: usize,
    pub max: usize,
}

/// Joins `args` with spaces and appends the terminator.
pub fn guest_cmdline(args: &[OsString]) -> Result<Vec<u8>, CmdlineError> {
    let max = CMDLINE_SIZE - 1;
    let len = args.iter().map(|a| a.len()).sum::<usize>() + args.len().saturating_sub(1);
    if len > max {
        return Err(CmdlineError { len, max });
    }
    let mut out = Vec::with_capacity(len + 1);
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        out.extend_from_slice(a.as_bytes());
    }
    out.push(0);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_with_spaces() {
        let a: Vec<OsString> = ["Hello_Solo5", "x", ""]
            .iter()
            .map(OsString::from)
            .collect();
        assert_eq!(guest_cmdline(&a).unwrap(), b"Hello_Solo5 x \0");
        assert_eq!(guest_cmdline(&[]).unwrap(), b"\0");
    }

    #[test]
    fn limit_is_8191_characters() {
        let fits = vec![OsString::from("a".repeat(8191))];
        assert_eq!(guest_cmdline(&fits).unwrap().len(), 8192);
        let two = vec![
            OsString::from("a".repeat(4095)),
            OsString::from("b".repeat(4095)),
        ];
        assert_eq!(guest_cmdline(&two).unwrap().len(), 8192);
        let over = vec![
            OsString::from("a".repeat(4096)),
            OsString::from("b".repeat(4095)),
        ];
        let e = guest_cmdline(&over).unwrap_err();
        assert_eq!(
            e,
            CmdlineError {
                len: 8192,
                max: 8191
            }
        );
        assert!(e
            .to_string()
            .contains("Guest command line too long (max=8191 characters)"));
    }
}
