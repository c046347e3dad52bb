//! The error type of every fallible runtime call, mirroring Solo5's
//! `solo5_result_t`.

use core::fmt;

#[cfg(any(test, feature = "hvt"))]
use corten_abi::solo5::R_OK;
use corten_abi::solo5::{R_AGAIN, R_EINVAL, R_EUNSPEC};

/// Why a Solo5 operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// Nothing to do right now (e.g. no packet waiting); retry later,
    /// typically after [`crate::time::yield_until`] reports the device ready.
    Again,
    /// An argument was invalid: unknown device name or wrong device kind,
    /// a length or offset the device does not accept.
    Invalid,
    /// The tender reported an unspecified failure.
    Unspecified,
}

impl Error {
    /// The `solo5_result_t` value of this error.
    pub const fn code(self) -> u32 {
        match self {
            Error::Again => R_AGAIN,
            Error::Invalid => R_EINVAL,
            Error::Unspecified => R_EUNSPEC,
        }
    }

    /// Interprets a `solo5_result_t` a tender returned (hvt `ret` fields).
    /// Values the ABI does not define count as unspecified failures.
    #[cfg(any(test, feature = "hvt"))]
    pub(crate) fn check(code: i32) -> Result<(), Error> {
        match u32::try_from(code) {
            Ok(R_OK) => Ok(()),
            Ok(R_AGAIN) => Err(Error::Again),
            Ok(R_EINVAL) => Err(Error::Invalid),
            _ => Err(Error::Unspecified),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Error::Again => "operation would block, retry after yielding",
            Error::Invalid => {
                "invalid argument (unknown device, wrong device kind, or a length/offset the device rejects)"
            }
            Error::Unspecified => "the tender reported an unspecified error",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        assert_eq!(Error::check(0), Ok(()));
        for e in [Error::Again, Error::Invalid, Error::Unspecified] {
            assert_eq!(Error::check(e.code() as i32), Err(e));
        }
        assert_eq!(Error::check(-1), Err(Error::Unspecified));
        assert_eq!(Error::check(77), Err(Error::Unspecified));
    }
}
