//! ratios.svg: every ratio of the run on one log-scale axis (1 = as fast
//! as the reference), with its 95 % interval and goal, hand-written SVG.

use std::fmt::Write as _;

use crate::results::Results;

const PLOT_W: f64 = 400.0;
const ROW_H: f64 = 22.0;
const TOP: f64 = 40.0;
/// The axis spans ratios 1/16 .. 16.
const SPAN_LOG2: i32 = 4;
/// Average advance of an 11-pixel sans-serif character (for the width
/// of the label column).
const CHAR_W: f64 = 6.2;

/// Horizontal position of `ratio` on the axis starting at `left`.
fn x_of(left: f64, ratio: f64) -> f64 {
    let span = f64::from(SPAN_LOG2);
    let l = ratio.max(1e-9).log2().clamp(-span, span);
    left + PLOT_W / 2.0 + l / span * (PLOT_W / 2.0 - 10.0)
}

/// "A · U / B · U" shortened to "A / B · U" when both sides ran the
/// same unikernel.
fn row_label(id: &str, num: &str, den: &str) -> String {
    match (num.rsplit_once(" · "), den.rsplit_once(" · ")) {
        (Some((a, ua)), Some((b, ub))) if ua == ub => format!("{id}: {a} / {b} · {ua}"),
        _ => format!("{id}: {num} / {den}"),
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The chart, or None when there is no ratio to draw.
pub fn ratios(r: &Results) -> Option<String> {
    let rows: Vec<_> = r
        .metrics
        .iter()
        .flat_map(|m| m.comparisons.iter().map(move |c| (m, c)))
        .filter(|(_, c)| c.ratio.value.is_finite())
        .collect();
    if rows.is_empty() {
        return None;
    }
    let labels: Vec<String> = rows
        .iter()
        .map(|(m, c)| row_label(&m.id, &c.numerator, &c.denominator))
        .collect();
    let longest = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    let label_w = longest as f64 * CHAR_W + 20.0;
    let x_of = |ratio: f64| x_of(label_w, ratio);
    let height = TOP + ROW_H * rows.len() as f64 + 40.0;
    let width = label_w + PLOT_W + 20.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(
        s,
        r##"<rect width="100%" height="100%" fill="#fff"/><text x="10" y="18" font-size="13" font-weight="bold">Ratios of medians, measured side by side ({}, {})</text>"##,
        esc(&r.machine.cpu_model),
        esc(&r.machine.date)
    );
    // Axis: ticks at powers of two.
    let bottom = TOP + ROW_H * rows.len() as f64;
    for k in -SPAN_LOG2..=SPAN_LOG2 {
        let x = x_of(2f64.powi(k));
        let label = if k >= 0 {
            format!("{}", 1 << k)
        } else {
            format!("1/{}", 1 << -k)
        };
        let _ = writeln!(
            s,
            r##"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{bottom}" stroke="{}" stroke-width="1"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{label}</text>"##,
            if k == 0 { "#000" } else { "#ddd" },
            bottom + 14.0
        );
    }
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">ratio (log scale; below 1: the first candidate is faster)</text>"#,
        label_w + PLOT_W / 2.0,
        bottom + 30.0
    );
    for (i, ((_, c), label)) in rows.iter().zip(&labels).enumerate() {
        let y = TOP + ROW_H * i as f64;
        let mid = y + ROW_H / 2.0;
        let colour = match c.met() {
            Some(true) => "#2a9d3a",
            Some(false) => "#d0342c",
            None => "#5b7fb8",
        };
        let (x0, x1) = (x_of(1.0), x_of(c.ratio.value));
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            label_w - 8.0,
            mid + 4.0,
            esc(label)
        );
        let _ = writeln!(
            s,
            r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{colour}" opacity="0.8"><title>{:.3}</title></rect>"#,
            x0.min(x1),
            y + 5.0,
            (x1 - x0).abs().max(1.0),
            ROW_H - 10.0,
            c.ratio.value
        );
        if c.ratio.low.is_finite() && c.ratio.high.is_finite() {
            let _ = writeln!(
                s,
                r##"<line x1="{:.1}" y1="{mid:.1}" x2="{:.1}" y2="{mid:.1}" stroke="#000" stroke-width="1.5"/>"##,
                x_of(c.ratio.low),
                x_of(c.ratio.high)
            );
        }
        if let Some(g) = &c.goal {
            let gx = x_of(g.max_ratio);
            let _ = writeln!(
                s,
                r##"<line x1="{gx:.1}" y1="{:.1}" x2="{gx:.1}" y2="{:.1}" stroke="#000" stroke-width="2" stroke-dasharray="2,2"><title>goal: at most {}</title></line>"##,
                y + 2.0,
                y + ROW_H - 2.0,
                g.max_ratio
            );
        }
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" font-size="10">{:.2}</text>"#,
            x1.max(x0) + 4.0,
            y + 4.0 + 9.0,
            c.ratio.value
        );
    }
    let _ = writeln!(s, "</svg>");
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_is_logarithmic_and_clamped() {
        let one = x_of(100.0, 1.0);
        assert_eq!(one, 100.0 + PLOT_W / 2.0);
        assert!((x_of(100.0, 2.0) - one - (one - x_of(100.0, 0.5))).abs() < 1e-9);
        assert_eq!(x_of(0.0, 1000.0), x_of(0.0, 16.0));
        assert_eq!(x_of(0.0, 0.0), x_of(0.0, 1.0 / 16.0));
        assert_eq!(esc("a<b & c>"), "a&lt;b &amp; c&gt;");
    }

    #[test]
    fn labels_share_the_unikernel() {
        assert_eq!(
            row_label("m", "corten · hello (C)", "upstream · hello (C)"),
            "m: corten / upstream · hello (C)"
        );
        assert_eq!(
            row_label("m", "corten · hello (C)", "static C hello"),
            "m: corten · hello (C) / static C hello"
        );
    }
}
