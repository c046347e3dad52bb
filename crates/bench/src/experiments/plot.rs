//! One SVG per application: a panel per case, a bar per candidate (the
//! median) with its p10–p90 whisker, on a linear axis from 0; for dgemm
//! a dashed line marks the theoretical peak. Hand-written SVG.

use std::fmt::Write as _;

use super::report::App;

const LABEL_W: f64 = 230.0;
const PLOT_W: f64 = 440.0;
const ROW_H: f64 = 16.0;
const PANEL_GAP: f64 = 34.0;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A round axis maximum at or above `v`.
fn nice_max(v: f64) -> f64 {
    if v.is_nan() || v <= 0.0 {
        return 1.0;
    }
    let p = 10f64.powf(v.log10().floor());
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if v <= m * p {
            return m * p;
        }
    }
    10.0 * p
}

/// Decimals that show a tick step: 0.005 -> 3, 0.2 -> 1, 4 -> 0.
fn tick_decimals(step: f64) -> usize {
    if step.is_finite() && step > 0.0 {
        (-step.log10().floor()).max(0.0) as usize
    } else {
        0
    }
}

/// `v` with four significant digits.
fn sig4(v: f64) -> String {
    if !v.is_finite() || v == 0.0 {
        return format!("{v}");
    }
    let decimals = (3.0 - v.abs().log10().floor()).max(0.0) as usize;
    format!("{v:.decimals$}")
}

/// Colour of a candidate by what it is.
fn colour(label: &str) -> &'static str {
    if label.starts_with("native") || label.starts_with("mothur") {
        "#777"
    } else if label.starts_with("upstream") {
        "#d08c2c"
    } else if label.contains("hvt") {
        "#5b7fb8"
    } else {
        "#2a9d3a"
    }
}

/// The chart, or None when nothing was measured.
pub fn app(app: &App, title: &str, marker: Option<(f64, &str)>) -> Option<String> {
    let cases: Vec<_> = app
        .cases
        .iter()
        .filter(|c| c.series.iter().any(|s| !s.values.is_empty()))
        .collect();
    if cases.is_empty() {
        return None;
    }
    let rows: usize = cases.iter().map(|c| c.series.len()).sum();
    let height = 40.0 + rows as f64 * ROW_H + cases.len() as f64 * (PANEL_GAP + 20.0) + 10.0;
    let width = LABEL_W + PLOT_W + 60.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height:.0}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(
        s,
        r##"<rect width="100%" height="100%" fill="#fff"/><text x="10" y="20" font-size="13" font-weight="bold">{}</text>"##,
        esc(title)
    );
    let mut y = 40.0;
    for c in cases {
        let max = c
            .series
            .iter()
            .map(|sr| sr.summary().p90.max(sr.summary().median))
            .chain(marker.filter(|_| c.unit == "GFLOP/s").map(|m| m.0))
            .filter(|v| v.is_finite())
            .fold(0.0, f64::max);
        let axis = nice_max(max);
        let x_of = |v: f64| LABEL_W + (v / axis).clamp(0.0, 1.0) * PLOT_W;
        let _ = writeln!(
            s,
            r#"<text x="10" y="{:.1}" font-weight="bold">{} ({})</text>"#,
            y + 4.0,
            esc(&c.name),
            esc(c.unit)
        );
        y += 12.0;
        let top = y;
        for sr in &c.series {
            let sum = sr.summary();
            let mid = y + ROW_H / 2.0;
            let _ = writeln!(
                s,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
                LABEL_W - 6.0,
                mid + 4.0,
                esc(&sr.label)
            );
            if sr.values.is_empty() {
                let _ = writeln!(
                    s,
                    r##"<text x="{:.1}" y="{:.1}" fill="#d0342c">cannot run (see experiments.md)</text>"##,
                    LABEL_W + 4.0,
                    mid + 4.0
                );
            } else {
                let _ = writeln!(
                    s,
                    r#"<rect x="{LABEL_W}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{}"><title>{:.3}</title></rect>"#,
                    y + 2.0,
                    (x_of(sum.median) - LABEL_W).max(1.0),
                    ROW_H - 4.0,
                    colour(&sr.label),
                    sum.median
                );
                let _ = writeln!(
                    s,
                    r##"<line x1="{:.1}" y1="{mid:.1}" x2="{:.1}" y2="{mid:.1}" stroke="#000"/><text x="{:.1}" y="{:.1}" font-size="10">{}</text>"##,
                    x_of(sum.p10),
                    x_of(sum.p90),
                    x_of(sum.p90.max(sum.median)) + 4.0,
                    mid + 4.0,
                    sig4(sum.median)
                );
            }
            y += ROW_H;
        }
        // Axis with five ticks.
        let decimals = tick_decimals(axis / 5.0);
        for k in 0..=5 {
            let v = axis * f64::from(k) / 5.0;
            let x = x_of(v);
            let _ = writeln!(
                s,
                r##"<line x1="{x:.1}" y1="{top:.1}" x2="{x:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{x:.1}" y="{:.1}" text-anchor="middle" font-size="9">{v:.decimals$}</text>"##,
                y + 11.0,
            );
        }
        if let Some((v, what)) = marker.filter(|_| c.unit == "GFLOP/s") {
            let x = x_of(v);
            let _ = writeln!(
                s,
                r##"<line x1="{x:.1}" y1="{top:.1}" x2="{x:.1}" y2="{y:.1}" stroke="#d0342c" stroke-dasharray="3,2"><title>{}</title></line><text x="{x:.1}" y="{:.1}" text-anchor="middle" font-size="9" fill="#d0342c">peak {v:.1}</text>"##,
                esc(what),
                top - 2.0
            );
        }
        y += PANEL_GAP;
    }
    let _ = writeln!(s, "</svg>");
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_maxima_are_round() {
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(17.3), 20.0);
        assert_eq!(nice_max(83.0), 100.0);
        assert_eq!(nice_max(2.4), 2.5);
        assert_eq!(nice_max(0.31), 0.5);
        assert_eq!(esc("<a&b>"), "&lt;a&amp;b&gt;");
        assert_eq!(tick_decimals(0.005), 3);
        assert_eq!(tick_decimals(0.2), 1);
        assert_eq!(tick_decimals(4.0), 0);
        assert_eq!(sig4(0.003351), "0.003351");
        assert_eq!(sig4(17.5), "17.50");
        assert_eq!(sig4(108.9), "108.9");
    }
}
