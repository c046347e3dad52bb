//! C++ `ostream << double` in the default float field, i.e. C's `%.<p>g`.
//!
//! mothur prints column distances with `toString(double)` (default
//! precision 6) and phylip distances with `setprecision(4)`; its
//! `outFile.setf(ios::fixed, ios::showpoint)` passes `showpoint` as the
//! *mask*, so it sets nothing and the float field stays general (`%g`).
//!
//! `%g` rounds the exact binary value to `p` significant digits with ties
//! to even (glibc), then drops trailing zeros. Rust's `{:.*e}` does the
//! same exact rounding, so we take its digits and lay them out like `%g`.

use alloc::string::String;
use core::fmt::Write;

/// Appends `x` formatted as C's `%.{prec}g` (prec >= 1).
pub fn push_g(out: &mut String, x: f64, prec: usize) {
    let prec = prec.max(1);
    if x.is_nan() {
        out.push_str(if x.is_sign_negative() { "-nan" } else { "nan" });
        return;
    }
    if x.is_infinite() {
        out.push_str(if x < 0.0 { "-inf" } else { "inf" });
        return;
    }
    if x == 0.0 {
        out.push_str(if x.is_sign_negative() { "-0" } else { "0" });
        return;
    }
    // Scientific with prec significant digits: "d.ddddde-X".
    let mut sci = String::new();
    let _ = write!(sci, "{:.*e}", prec - 1, x);
    let (mant, exp) = match sci.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (sci.as_str(), 0),
    };
    let p = i32::try_from(prec).unwrap_or(i32::MAX);
    if exp < -4 || exp >= p {
        out.push_str(strip_zeros(mant));
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let a = exp.unsigned_abs();
        if a < 10 {
            out.push('0');
        }
        let _ = write!(out, "{}", a);
    } else {
        // Fixed with prec-1-exp decimals: rounding happens at the same digit.
        let decimals = usize::try_from(p - 1 - exp).unwrap_or(0);
        let mut fixed = String::new();
        let _ = write!(fixed, "{:.*}", decimals, x);
        out.push_str(strip_zeros(&fixed));
    }
}

/// `%.{prec}g` as a new string.
pub fn g(x: f64, prec: usize) -> String {
    let mut s = String::new();
    push_g(&mut s, x, prec);
    s
}

fn strip_zeros(s: &str) -> &str {
    if !s.contains('.') {
        return s;
    }
    let t = s.trim_end_matches('0');
    t.strip_suffix('.').unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_printf_g() {
        assert_eq!(g(0.00681663265, 6), "0.00681663");
        assert_eq!(g(0.2612, 4), "0.2612");
        assert_eq!(g(0.168, 4), "0.168");
        assert_eq!(g(0.006821, 4), "0.006821");
        assert_eq!(g(1.0, 4), "1");
        assert_eq!(g(0.0, 4), "0");
        assert_eq!(g(0.015625, 4), "0.01562"); // tie to even
        assert_eq!(g(0.046875, 4), "0.04688");
        assert_eq!(g(0.00001234, 4), "1.234e-05");
        assert_eq!(g(123456789.0, 6), "1.23457e+08");
        assert_eq!(g(0.99999, 4), "1");
        assert_eq!(g(0.0001, 6), "0.0001");
        assert_eq!(g(100.0, 6), "100");
        assert_eq!(g(f64::from(0.03f32), 6), "0.03");
    }
}
