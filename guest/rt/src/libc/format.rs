//! The printf engine: C99 conversion specifications formatted the way
//! glibc formats them, over any source of arguments ([`Args`]) into any
//! sink ([`Out`]).
//!
//! Supported: flags `-+ #0`, width and precision (numbers or `*`), length
//! modifiers `hh h l ll j z t L q`, conversions `d i u o x X c s p f F e E
//! g G %` (`%lc`/`%ls`, wide characters, are refused). Floats are correctly rounded (core's exact decimal conversion,
//! ties to even, as glibc in the default rounding mode). `%n` (a write
//! through a pointer, the classic format-string exploit) and `%a`/`%A` are
//! refused: [`format`] returns [`Unsupported`] and the caller aborts with
//! a message naming the conversion, rather than printing something else.

use alloc::string::String;
use core::fmt::Write;

/// Where the variadic arguments come from.
pub trait Args {
    /// The next integer or pointer argument (any size up to 64 bits; C
    /// promotes smaller ones to int, so they arrive in a 64-bit slot).
    fn int(&mut self) -> u64;
    /// The next `double` argument.
    fn double(&mut self) -> f64;
    /// The next `long double` argument, converted to `double`.
    fn long_double(&mut self) -> f64;
}

/// Where the formatted bytes go.
pub trait Out {
    fn put(&mut self, bytes: &[u8]);
}

/// A conversion this printf refuses, with its character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unsupported(pub u8);

#[derive(Default, Clone, Copy)]
struct Spec {
    left: bool,
    plus: bool,
    space: bool,
    alt: bool,
    zero: bool,
    width: usize,
    precision: Option<usize>,
}

impl Spec {
    /// The sign a signed conversion prints: `-`, or what `+`/space ask for.
    fn sign(&self, negative: bool) -> &'static [u8] {
        if negative {
            b"-"
        } else if self.plus {
            b"+"
        } else if self.space {
            b" "
        } else {
            b""
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Length {
    Char,
    Short,
    Int,
    Long,
    LongDouble,
}

/// Counts what passes through, so `format` can return C's byte count.
struct Counting<'a> {
    out: &'a mut dyn Out,
    n: usize,
}

impl Counting<'_> {
    fn put(&mut self, b: &[u8]) {
        self.n = self.n.saturating_add(b.len());
        self.out.put(b);
    }

    fn repeat(&mut self, byte: u8, count: usize) {
        let chunk = [byte; 32];
        let mut left = count;
        while left > 0 {
            let k = left.min(chunk.len());
            self.put(chunk.get(..k).unwrap_or_default());
            left -= k;
        }
    }

    /// Writes `prefix` (sign, 0x) and `body` padded to the spec's width.
    /// `zero_ok`: the `0` flag applies (numbers that are finite).
    fn padded(&mut self, s: &Spec, prefix: &[u8], body: &[u8], zero_ok: bool) {
        let len = prefix.len() + body.len();
        let pad = s.width.saturating_sub(len);
        if s.left {
            self.put(prefix);
            self.put(body);
            self.repeat(b' ', pad);
        } else if s.zero && zero_ok {
            self.put(prefix);
            self.repeat(b'0', pad);
            self.put(body);
        } else {
            self.repeat(b' ', pad);
            self.put(prefix);
            self.put(body);
        }
    }
}

/// Reads a decimal number at `fmt[*i..]`.
fn number(fmt: &[u8], i: &mut usize) -> usize {
    let mut v: usize = 0;
    while let Some(d) = fmt.get(*i).filter(|c| c.is_ascii_digit()) {
        v = v.saturating_mul(10).saturating_add(usize::from(d - b'0'));
        *i += 1;
    }
    v
}

/// Formats `fmt` (without its NUL) with `args` into `out`; returns the
/// number of bytes produced.
///
/// `cstr` reads the NUL-terminated string argument of `%s` at an address,
/// at most `max` bytes (`None`: no limit); it is a parameter so that the
/// engine itself never dereferences a pointer.
pub fn format(
    fmt: &[u8],
    args: &mut dyn Args,
    out: &mut dyn Out,
    cstr: &mut dyn FnMut(u64, Option<usize>) -> &'static [u8],
) -> Result<usize, Unsupported> {
    let mut w = Counting { out, n: 0 };
    let mut i = 0;
    while i < fmt.len() {
        let literal_end = fmt
            .get(i..)
            .and_then(|r| r.iter().position(|&c| c == b'%'))
            .map_or(fmt.len(), |p| i + p);
        w.put(fmt.get(i..literal_end).unwrap_or_default());
        i = literal_end + 1;
        if literal_end >= fmt.len() {
            break;
        }
        let mut s = Spec::default();
        while let Some(&c) = fmt.get(i) {
            match c {
                b'-' => s.left = true,
                b'+' => s.plus = true,
                b' ' => s.space = true,
                b'#' => s.alt = true,
                b'0' => s.zero = true,
                _ => break,
            }
            i += 1;
        }
        if fmt.get(i) == Some(&b'*') {
            i += 1;
            let v = args.int() as i32;
            if v < 0 {
                s.left = true;
            }
            s.width = v.unsigned_abs() as usize;
        } else {
            s.width = number(fmt, &mut i);
        }
        if fmt.get(i) == Some(&b'.') {
            i += 1;
            if fmt.get(i) == Some(&b'*') {
                i += 1;
                let v = args.int() as i32;
                s.precision = usize::try_from(v).ok();
            } else {
                s.precision = Some(number(fmt, &mut i));
            }
        }
        let mut len = Length::Int;
        while let Some(&c) = fmt.get(i) {
            len = match (c, len) {
                (b'h', Length::Short) => Length::Char,
                (b'h', _) => Length::Short,
                (b'l' | b'j' | b'z' | b't' | b'q', _) => Length::Long,
                (b'L', _) => Length::LongDouble,
                _ => break,
            };
            i += 1;
        }
        let Some(&conv) = fmt.get(i) else {
            // A lone '%' at the end: glibc prints nothing for it.
            break;
        };
        i += 1;
        // Wide characters and strings (`%lc`, `%ls`) are not supported.
        if matches!(conv, b'c' | b's') && len == Length::Long {
            return Err(Unsupported(conv));
        }
        match conv {
            b'%' => w.put(b"%"),
            b'd' | b'i' => {
                let raw = args.int();
                let v: i64 = match len {
                    Length::Char => i64::from(raw as i8),
                    Length::Short => i64::from(raw as i16),
                    Length::Int => i64::from(raw as i32),
                    _ => raw as i64,
                };
                integer(&mut w, &s, s.sign(v < 0), v.unsigned_abs(), 10, false);
            }
            b'u' | b'o' | b'x' | b'X' => {
                let raw = args.int();
                let v: u64 = match len {
                    Length::Char => u64::from(raw as u8),
                    Length::Short => u64::from(raw as u16),
                    Length::Int => u64::from(raw as u32),
                    _ => raw,
                };
                let base = match conv {
                    b'u' => 10,
                    b'o' => 8,
                    _ => 16,
                };
                let prefix: &[u8] = match conv {
                    b'x' if s.alt && v != 0 => b"0x",
                    b'X' if s.alt && v != 0 => b"0X",
                    _ => b"",
                };
                integer(&mut w, &s, prefix, v, base, conv == b'X');
            }
            b'p' => {
                let v = args.int();
                if v == 0 {
                    let s = Spec { zero: false, ..s };
                    w.padded(&s, b"", b"(nil)", false);
                } else {
                    let s = Spec { alt: false, ..s };
                    integer(&mut w, &s, b"0x", v, 16, false);
                }
            }
            b'c' => {
                let b = [args.int() as u8];
                w.padded(&Spec { zero: false, ..s }, b"", &b, false);
            }
            b's' => {
                let p = args.int();
                let body: &[u8] = if p == 0 {
                    // glibc prints "(null)" unless the precision cuts it.
                    if s.precision.is_some_and(|p| p < 6) {
                        b""
                    } else {
                        b"(null)"
                    }
                } else {
                    cstr(p, s.precision)
                };
                w.padded(&Spec { zero: false, ..s }, b"", body, false);
            }
            b'f' | b'F' | b'e' | b'E' | b'g' | b'G' => {
                let v = if len == Length::LongDouble {
                    args.long_double()
                } else {
                    args.double()
                };
                float(&mut w, &s, v, conv);
            }
            other => return Err(Unsupported(other)),
        }
    }
    Ok(w.n)
}

/// An integer conversion: `prefix` is the sign or `0x`.
fn integer(w: &mut Counting<'_>, s: &Spec, prefix: &[u8], v: u64, base: u64, upper: bool) {
    let digits: &[u8; 16] = if upper {
        b"0123456789ABCDEF"
    } else {
        b"0123456789abcdef"
    };
    let mut buf = [0u8; 64];
    let mut at = buf.len();
    let mut x = v;
    while x > 0 {
        at -= 1;
        if let Some(slot) = buf.get_mut(at) {
            *slot = digits.get((x % base) as usize).copied().unwrap_or(b'?');
        }
        x /= base;
    }
    let mut body = alloc::vec::Vec::new();
    let ndigits = buf.len() - at;
    let min = s.precision.unwrap_or(1);
    // "%.0d" of 0 prints no digits; '#' with octal forces a leading 0.
    let mut zeros = min.saturating_sub(ndigits);
    if base == 8 && s.alt && zeros == 0 && buf.get(at) != Some(&b'0') {
        zeros = 1;
    }
    body.resize(zeros, b'0');
    body.extend_from_slice(buf.get(at..).unwrap_or_default());
    // With a precision the '0' flag is ignored (C99 7.19.6.1).
    let zero_ok = s.precision.is_none();
    w.padded(s, prefix, &body, zero_ok);
}

/// `x` in C's `%e` style with `p` digits after the point: mantissa and
/// decimal exponent, e.g. ("1.500", 2).
fn exp_parts(x: f64, p: usize) -> (String, i32) {
    let mut t = String::new();
    let _ = write!(t, "{:.*e}", p, x);
    match t.split_once('e') {
        Some((m, e)) => (String::from(m), e.parse().unwrap_or(0)),
        None => (t, 0),
    }
}

fn push_exponent(body: &mut String, e: i32, upper: bool) {
    body.push(if upper { 'E' } else { 'e' });
    body.push(if e < 0 { '-' } else { '+' });
    let _ = write!(body, "{:02}", e.unsigned_abs());
}

/// Removes trailing zeros of a fraction, and the point if nothing is left.
fn trim_fraction(body: &mut String) {
    if body.contains('.') {
        while body.ends_with('0') {
            body.pop();
        }
        if body.ends_with('.') {
            body.pop();
        }
    }
}

fn float(w: &mut Counting<'_>, s: &Spec, v: f64, conv: u8) {
    let upper = conv.is_ascii_uppercase();
    let sign = s.sign(v.is_sign_negative());
    if !v.is_finite() {
        let body: &[u8] = match (v.is_nan(), upper) {
            (true, false) => b"nan",
            (true, true) => b"NAN",
            (false, false) => b"inf",
            (false, true) => b"INF",
        };
        w.padded(s, sign, body, false);
        return;
    }
    let x = v.abs();
    let p = s.precision.unwrap_or(6);
    let mut body = String::new();
    match conv.to_ascii_lowercase() {
        b'f' => {
            let _ = write!(body, "{:.*}", p, x);
            if s.alt && p == 0 {
                body.push('.');
            }
        }
        b'e' => {
            let (m, e) = exp_parts(x, p);
            body.push_str(&m);
            if s.alt && p == 0 {
                body.push('.');
            }
            push_exponent(&mut body, e, upper);
        }
        _ => {
            // %g: P significant digits; %e style when the exponent X of
            // the rounded value is < -4 or >= P, else %f with P-1-X
            // decimals; trailing zeros removed unless '#'.
            let p = if p == 0 { 1 } else { p };
            let (m, e) = exp_parts(x, p - 1);
            let big_p = i64::try_from(p).unwrap_or(i64::MAX);
            if e < -4 || i64::from(e) >= big_p {
                body.push_str(&m);
                if !s.alt {
                    trim_fraction(&mut body);
                }
                push_exponent(&mut body, e, upper);
            } else {
                let decimals = usize::try_from(big_p - 1 - i64::from(e)).unwrap_or(0);
                let _ = write!(body, "{:.*}", decimals, x);
                if !s.alt {
                    trim_fraction(&mut body);
                } else if !body.contains('.') {
                    body.push('.');
                }
            }
        }
    }
    w.padded(s, sign, body.as_bytes(), true);
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    /// Arguments given in order, each as an integer or a double.
    enum A {
        I(u64),
        F(f64),
    }

    struct List(Vec<A>, usize);

    impl Args for List {
        fn int(&mut self) -> u64 {
            self.1 += 1;
            match self.0.get(self.1 - 1) {
                Some(A::I(v)) => *v,
                _ => panic!("argument {} is not an integer", self.1),
            }
        }
        fn double(&mut self) -> f64 {
            self.1 += 1;
            match self.0.get(self.1 - 1) {
                Some(A::F(v)) => *v,
                _ => panic!("argument {} is not a double", self.1),
            }
        }
        fn long_double(&mut self) -> f64 {
            self.double()
        }
    }

    impl Out for Vec<u8> {
        fn put(&mut self, bytes: &[u8]) {
            self.extend_from_slice(bytes);
        }
    }

    fn ours(fmt: &str, args: Vec<A>) -> String {
        let mut out = Vec::new();
        let n = format(
            fmt.as_bytes(),
            &mut List(args, 0),
            &mut out,
            &mut |p, max| {
                // SAFETY: tests pass the address of a leaked C string.
                let s = unsafe { std::ffi::CStr::from_ptr(p as usize as *const core::ffi::c_char) };
                let b: &'static [u8] = s.to_bytes();
                &b[..max.map_or(b.len(), |m| m.min(b.len()))]
            },
        )
        .unwrap();
        assert_eq!(n, out.len());
        String::from_utf8(out).unwrap()
    }

    extern "C" {
        fn snprintf(buf: *mut u8, n: usize, fmt: *const u8, ...) -> i32;
    }

    fn cfmt(fmt: &str) -> std::ffi::CString {
        std::ffi::CString::new(fmt).unwrap()
    }

    /// glibc's answer for one double argument.
    fn glibc_f(fmt: &str, v: f64) -> String {
        let mut buf = [0u8; 512];
        let f = cfmt(fmt);
        // SAFETY: the buffer is 512 bytes; the format takes one double.
        let n = unsafe { snprintf(buf.as_mut_ptr(), buf.len(), f.as_ptr().cast(), v) };
        String::from_utf8(buf[..n as usize].to_vec()).unwrap()
    }

    /// glibc's answer for one 64-bit integer argument.
    fn glibc_i(fmt: &str, v: u64) -> String {
        let mut buf = [0u8; 512];
        let f = cfmt(fmt);
        // SAFETY: as above, one integer argument.
        let n = unsafe { snprintf(buf.as_mut_ptr(), buf.len(), f.as_ptr().cast(), v) };
        String::from_utf8(buf[..n as usize].to_vec()).unwrap()
    }

    #[test]
    fn floats_match_glibc() {
        let values = [
            0.0,
            -0.0,
            1.0,
            0.5,
            1.5,
            2.5,
            0.125,
            1e-5,
            1.0e-4,
            123456.789,
            1e15,
            1e16,
            1e300,
            core::f64::consts::PI,
            -core::f64::consts::E,
            9.9999999,
            0.00009999,
            5e-324,
            1.7976931348623157e308,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            100.0,
            999999.5,
            0.3,
        ];
        let formats = [
            "%f", "%.0f", "%.1f", "%.3f", "%10.2f", "%-10.2f|", "%010.2f", "%+f", "% f", "%#.0f",
            "%e", "%.0e", "%.3e", "%E", "%12.4e", "%#.0e", "%g", "%.0g", "%.1g", "%.3g", "%.10g",
            "%G", "%#g", "%#.3g", "%10g", "%-12g|", "%012g", "%+.2e", "%.17g", "%.15g", "%5.1f",
        ];
        for f in formats {
            for &v in &values {
                if f == "%#g" && v == 999999.5 {
                    // glibc 2.36 prints "1.e+06" here: its '#' path loses
                    // the zeros when rounding carries into a new digit.
                    // C99 7.19.6.1 asks for P significant digits kept.
                    assert_eq!(ours(f, vec![A::F(v)]), "1.00000e+06");
                    continue;
                }
                assert_eq!(
                    ours(f, vec![A::F(v)]),
                    glibc_f(f, v),
                    "format {f} value {v:e}"
                );
            }
        }
    }

    #[test]
    fn integers_match_glibc() {
        let values = [
            0u64,
            1,
            7,
            42,
            255,
            256,
            65535,
            1 << 31,
            u32::MAX as u64,
            u64::MAX,
            (-1i64) as u64,
            (-42i64) as u64,
            1234567890123,
        ];
        let formats = [
            "%d", "%i", "%5d", "%-5d|", "%05d", "%+d", "% d", "%.3d", "%.0d", "%8.3d", "%ld",
            "%lld", "%hd", "%hhd", "%u", "%lu", "%x", "%X", "%#x", "%#X", "%08x", "%#010x", "%o",
            "%#o", "%#.0o", "%lx", "%zu", "%hhu", "%-#8lx|", "%.0x", "%jd", "%p", "%20p|",
        ];
        for f in formats {
            for &v in &values {
                assert_eq!(
                    ours(f, vec![A::I(v)]),
                    glibc_i(f, v),
                    "format {f} value {v}"
                );
            }
        }
    }

    #[test]
    fn strings_chars_and_stars() {
        let hello = std::ffi::CString::new("hello").unwrap().into_raw() as u64;
        assert_eq!(ours("[%s]", vec![A::I(hello)]), "[hello]");
        assert_eq!(ours("[%.3s]", vec![A::I(hello)]), "[hel]");
        assert_eq!(ours("[%8s]", vec![A::I(hello)]), "[   hello]");
        assert_eq!(ours("[%-8s]", vec![A::I(hello)]), "[hello   ]");
        assert_eq!(ours("[%s]", vec![A::I(0)]), "[(null)]");
        assert_eq!(
            ours("[%c%c]", vec![A::I(b'o' as u64), A::I(b'k' as u64)]),
            "[ok]"
        );
        assert_eq!(
            ours("%*d|%-*d|", vec![A::I(5), A::I(42), A::I(4), A::I(7)]),
            "   42|7   |"
        );
        assert_eq!(ours("%*d", vec![A::I((-4i64) as u64), A::I(1)]), "1   ");
        assert_eq!(ours("%.*f", vec![A::I(2), A::F(1.23456)]), "1.23");
        assert_eq!(
            ours("%.*f", vec![A::I((-1i64) as u64), A::F(1.0)]),
            "1.000000"
        );
        assert_eq!(ours("100%% sure", vec![]), "100% sure");
        assert_eq!(ours("end %", vec![]), "end ");
        assert_eq!(
            ours("%s=%d (%5.1f%%)\n", vec![A::I(hello), A::I(3), A::F(42.25)]),
            "hello=3 ( 42.2%)\n"
        );
    }

    #[test]
    fn refuses_n_and_hex_floats() {
        let mut out = Vec::new();
        let mut none = |_: u64, _: Option<usize>| -> &'static [u8] { b"" };
        for (f, c) in [
            ("%n", b'n'),
            ("%a", b'a'),
            ("x%A", b'A'),
            ("%k", b'k'),
            ("%ls", b's'),
            ("%lc", b'c'),
        ] {
            let r = format(
                f.as_bytes(),
                &mut List(vec![A::I(0), A::F(0.0)], 0),
                &mut out,
                &mut none,
            );
            assert_eq!(r, Err(Unsupported(c)), "{f}");
        }
    }
}
