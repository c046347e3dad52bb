//! Number parsing (`strtol` and friends) and error messages (`strerror`,
//! `perror`), with C's semantics: leading white space, optional sign,
//! base prefixes for base 0 and 16, `endptr` after the last digit used
//! (or at the start when there is none), saturation with `ERANGE`.

/// The parse of `s` in `base`: (negative, magnitude saturated to u64,
/// overflowed, bytes consumed; 0 when no digit).
pub(crate) fn parse_integer(s: &[u8], base: u32) -> Option<(bool, u64, bool, usize)> {
    if base == 1 || base > 36 {
        return None;
    }
    let mut i = 0;
    while s
        .get(i)
        .is_some_and(|&c| c == b' ' || (b'\t'..=b'\r').contains(&c))
    {
        i += 1;
    }
    let negative = s.get(i) == Some(&b'-');
    if matches!(s.get(i), Some(b'+' | b'-')) {
        i += 1;
    }
    let hex_prefix = s.get(i) == Some(&b'0')
        && matches!(s.get(i + 1), Some(b'x' | b'X'))
        && s.get(i + 2).is_some_and(|c| c.is_ascii_hexdigit());
    let base = match base {
        0 if hex_prefix => {
            i += 2;
            16
        }
        0 if s.get(i) == Some(&b'0') => 8,
        0 => 10,
        16 if hex_prefix => {
            i += 2;
            16
        }
        b => b,
    };
    let start = i;
    let (mut v, mut over) = (0u64, false);
    while let Some(d) = s.get(i).and_then(|&c| (c as char).to_digit(base)) {
        match v
            .checked_mul(u64::from(base))
            .and_then(|x| x.checked_add(u64::from(d)))
        {
            Some(x) => v = x,
            None => over = true,
        }
        i += 1;
    }
    Some((
        negative,
        if over { u64::MAX } else { v },
        over,
        if i == start { 0 } else { i },
    ))
}

/// The C entry points (not in host unit tests, where they would replace
/// the host C library's).
#[cfg(not(test))]
mod c {
    use core::ffi::c_char;

    use super::parse_integer;
    use crate::libc::process::{set_errno, EINVAL, ENOMEM};

    const ERANGE: i32 = 34;

    /// # Safety
    /// `s` is a C string.
    unsafe fn bytes<'a>(s: *const c_char) -> &'a [u8] {
        // SAFETY: caller's contract.
        unsafe { core::ffi::CStr::from_ptr(s) }.to_bytes()
    }

    /// # Safety
    /// `end` is NULL or writable.
    unsafe fn set_end(end: *mut *mut c_char, s: *const c_char, used: usize) {
        if !end.is_null() {
            // SAFETY: caller's contract; `used` is within the string.
            unsafe { end.write(s.add(used).cast_mut()) };
        }
    }

    /// The shared part of `strtol`/`strtoul`: parses, sets `*end`, and
    /// gives (negative, magnitude, overflowed), or None (errno EINVAL) for
    /// a bad base.
    ///
    /// # Safety
    /// C `strto*` contract.
    unsafe fn strto(
        s: *const c_char,
        end: *mut *mut c_char,
        base: i32,
    ) -> Option<(bool, u64, bool)> {
        // SAFETY: C contract.
        let text = unsafe { bytes(s) };
        let parsed = u32::try_from(base)
            .ok()
            .and_then(|b| parse_integer(text, b));
        // SAFETY: C contract.
        unsafe { set_end(end, s, parsed.map_or(0, |p| p.3)) };
        if parsed.is_none() {
            set_errno(EINVAL);
        }
        parsed.map(|(neg, mag, over, _)| (neg, mag, over))
    }

    /// # Safety
    /// C `strtol` contract.
    #[no_mangle]
    pub unsafe extern "C" fn strtol(s: *const c_char, end: *mut *mut c_char, base: i32) -> i64 {
        // SAFETY: C contract.
        let Some((neg, mag, over)) = (unsafe { strto(s, end, base) }) else {
            return 0;
        };
        let limit = if neg { 1u64 << 63 } else { i64::MAX as u64 };
        if over || mag > limit {
            set_errno(ERANGE);
            return if neg { i64::MIN } else { i64::MAX };
        }
        if neg {
            (mag as i64).wrapping_neg()
        } else {
            mag as i64
        }
    }

    /// # Safety
    /// C `strtoul` contract (a `-` negates in unsigned arithmetic, as C says).
    #[no_mangle]
    pub unsafe extern "C" fn strtoul(s: *const c_char, end: *mut *mut c_char, base: i32) -> u64 {
        // SAFETY: C contract.
        let Some((neg, mag, over)) = (unsafe { strto(s, end, base) }) else {
            return 0;
        };
        if over {
            set_errno(ERANGE);
            return u64::MAX;
        }
        if neg {
            mag.wrapping_neg()
        } else {
            mag
        }
    }

    /// # Safety
    /// C `strtoll` contract (long is 64 bits here).
    #[no_mangle]
    pub unsafe extern "C" fn strtoll(s: *const c_char, end: *mut *mut c_char, base: i32) -> i64 {
        // SAFETY: C contract.
        unsafe { strtol(s, end, base) }
    }

    /// # Safety
    /// C `strtoull` contract.
    #[no_mangle]
    pub unsafe extern "C" fn strtoull(s: *const c_char, end: *mut *mut c_char, base: i32) -> u64 {
        // SAFETY: C contract.
        unsafe { strtoul(s, end, base) }
    }

    /// # Safety
    /// C `atoi` contract.
    #[no_mangle]
    pub unsafe extern "C" fn atoi(s: *const c_char) -> i32 {
        // SAFETY: C contract.
        unsafe { strtol(s, core::ptr::null_mut(), 10) as i32 }
    }

    /// # Safety
    /// C `atol` contract.
    #[no_mangle]
    pub unsafe extern "C" fn atol(s: *const c_char) -> i64 {
        // SAFETY: C contract.
        unsafe { strtol(s, core::ptr::null_mut(), 10) }
    }

    /// glibc's message for the errno values this runtime can produce.
    fn message(e: i32) -> &'static [u8] {
        match e {
            0 => b"Success\0",
            ENOMEM => b"Cannot allocate memory\0",
            EINVAL => b"Invalid argument\0",
            ERANGE => b"Numerical result out of range\0",
            13 => b"Permission denied\0",
            38 => b"Function not implemented\0",
            _ => b"Unknown error\0",
        }
    }

    #[no_mangle]
    pub extern "C" fn strerror(e: i32) -> *const c_char {
        message(e).as_ptr().cast()
    }

    /// # Safety
    /// C `perror` contract.
    #[no_mangle]
    pub unsafe extern "C" fn perror(s: *const c_char) {
        // SAFETY: reading our own errno.
        let e = unsafe { *crate::libc::process::__errno_location() };
        let msg = message(e);
        let msg = msg.get(..msg.len() - 1).unwrap_or_default();
        let mut line = alloc::vec::Vec::new();
        if !s.is_null() {
            // SAFETY: C contract.
            let prefix = unsafe { bytes(s) };
            if !prefix.is_empty() {
                line.extend_from_slice(prefix);
                line.extend_from_slice(b": ");
            }
        }
        line.extend_from_slice(msg);
        line.push(b'\n');
        crate::libc::stdio::write_stderr(&line);
    }
}

#[cfg(test)]
mod tests {
    use super::parse_integer;

    #[test]
    fn integers_as_c_parses_them() {
        assert_eq!(parse_integer(b"  42xyz", 10), Some((false, 42, false, 4)));
        assert_eq!(parse_integer(b"-0x1F", 0), Some((true, 31, false, 5)));
        assert_eq!(
            parse_integer(b"0x", 0),
            Some((false, 0, false, 1)),
            "0 then an x"
        );
        assert_eq!(parse_integer(b"017", 0), Some((false, 15, false, 3)));
        assert_eq!(parse_integer(b"zz", 36), Some((false, 1295, false, 2)));
        assert_eq!(parse_integer(b"abc", 10), Some((false, 0, false, 0)));
        assert_eq!(
            parse_integer(b"99999999999999999999", 10).map(|r| r.2),
            Some(true)
        );
        assert_eq!(parse_integer(b"1", 1), None);
        assert_eq!(parse_integer(b"1", 37), None);
    }
}
