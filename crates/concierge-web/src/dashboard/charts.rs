//! Server-rendered SVG charts for the overview: pure functions from numbers
//! to markup, no script, nothing loaded from elsewhere.
//!
//! Every piece of text that reaches the markup (labels, series names,
//! titles) goes through [`escape`]; numbers are formatted here, and a
//! number that is not finite is drawn as missing. Each chart is an
//! `<svg role="img">` with a `<title>` and a `<desc>`; the page shows the
//! same numbers in a table beside it for screen readers and for copying.
//! Colours are the Okabe–Ito palette (distinguishable with the common
//! colour-vision deficiencies); text and axes use `currentColor`, so the
//! charts follow the page's light or dark scheme.

use std::fmt::Write;

/// Width of every chart's coordinate system (the SVG scales to its box).
const WIDTH: f64 = 720.0;
/// Width of the label column of the bar charts.
const LABEL_W: f64 = 170.0;
/// Room right of the bars for the figures.
const FIGURE_W: f64 = 70.0;
/// One bar row.
const ROW_H: f64 = 26.0;
/// A bar's thickness.
const BAR_H: f64 = 16.0;
/// Labels longer than this many characters are cut (the full label stays
/// in the bar's tooltip and in the page's table).
const MAX_LABEL: usize = 24;

/// Okabe–Ito colours, for series.
pub(crate) const PALETTE: [&str; 7] = [
    "#E69F00", "#56B4E9", "#009E73", "#CC79A7", "#0072B2", "#D55E00", "#F0E442",
];
/// A bar under capacity.
const OK: &str = "#0072B2";
/// A bar at capacity.
const FULL: &str = "#E69F00";
/// A bar over capacity.
const OVER: &str = "#D55E00";
/// A paused or disabled volunteer's bar.
const MUTED: &str = "#999999";

/// Escapes text for SVG/HTML content and attribute values.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters are not allowed in XML 1.0 text.
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// `s` cut to `max` characters, with an ellipsis when cut.
fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// Keeps an element id to `[a-z0-9-]`.
fn safe_id(id: &str) -> String {
    let id: String = id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if id.is_empty() { "chart".into() } else { id }
}

/// A coordinate, with one decimal.
fn n(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.1}")
    } else {
        "0".into()
    }
}

/// A figure as people read it: whole numbers without decimals, others with
/// one (two below 1, so that small axis steps stay distinct).
pub(crate) fn figure(v: f64) -> String {
    if !v.is_finite() {
        return String::new();
    }
    if (v - v.round()).abs() < 1e-9 {
        format!("{v:.0}")
    } else if v.abs() < 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.1}")
    }
}

/// The axis of values from 0: its top and its ticks (0 included). Steps
/// are 1, 2 or 5 × 10ⁿ (whole numbers when `whole`), so the top is at
/// least `max` and there are at most about six ticks.
pub(crate) fn axis(max: f64, whole: bool) -> (f64, Vec<f64>) {
    let max = if max.is_finite() && max > 0.0 {
        max
    } else {
        0.0
    };
    let raw = if max > 0.0 { max / 5.0 } else { 1.0 };
    let exp = 10f64.powf(raw.log10().floor());
    let mut step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * exp)
        .find(|s| *s >= raw - 1e-12)
        .unwrap_or(10.0 * exp);
    if whole {
        step = step.ceil().max(1.0);
    }
    let count = ((max / step).ceil() as usize).max(1);
    let ticks: Vec<f64> = (0..=count).map(|i| i as f64 * step).collect();
    (count as f64 * step, ticks)
}

/// Which unit to show durations (seconds) in, by their largest value:
/// (divisor, unit name).
pub(crate) fn duration_unit(max_secs: f64) -> (f64, &'static str) {
    if max_secs.is_finite() && max_secs < 120.0 {
        (1.0, "seconds")
    } else if !max_secs.is_finite() || max_secs < 2.0 * 3600.0 {
        (60.0, "minutes")
    } else if max_secs < 72.0 * 3600.0 {
        (3600.0, "hours")
    } else {
        (86400.0, "days")
    }
}

/// The opening of a chart, with its title and description.
fn open(out: &mut String, id: &str, height: f64, title: &str, desc: &str) {
    let id = safe_id(id);
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {w} {h}" width="100%" role="img" aria-labelledby="{id}-title {id}-desc" font-family="system-ui, sans-serif" font-size="12" fill="currentColor"><title id="{id}-title">{t}</title><desc id="{id}-desc">{d}</desc>"#,
        w = n(WIDTH),
        h = n(height),
        t = escape(title),
        d = escape(desc),
    );
}

/// The chart drawn when there is nothing to draw.
fn empty(id: &str, title: &str, desc: &str) -> String {
    let mut out = String::new();
    open(&mut out, id, 40.0, title, desc);
    let _ = write!(
        out,
        r#"<text x="{x}" y="25" text-anchor="middle">No data</text></svg>"#,
        x = n(WIDTH / 2.0)
    );
    out
}

/// A legend of coloured squares, in one line at `y`.
fn legend(out: &mut String, x0: f64, y: f64, items: &[(&str, &str)]) {
    let mut x = x0;
    for (name, color) in items {
        let _ = write!(
            out,
            r#"<rect x="{x}" y="{ry}" width="12" height="12" fill="{c}"/><text x="{tx}" y="{ty}">{name}</text>"#,
            x = n(x),
            ry = n(y - 10.0),
            c = color,
            tx = n(x + 16.0),
            ty = n(y),
            name = escape(name),
        );
        // A rough text width: the legend only needs to not overlap.
        x += 16.0 + 7.0 * name.chars().count() as f64 + 18.0;
    }
}

/// Vertical grid lines and their figures for a horizontal value axis
/// from `x0` (value 0) to `x1` (value `top`), between `y0` and `y1`.
fn x_grid(out: &mut String, x0: f64, x1: f64, y0: f64, y1: f64, top: f64, ticks: &[f64]) {
    for t in ticks {
        let x = x0 + (x1 - x0) * t / top;
        let _ = write!(
            out,
            r#"<line x1="{x}" y1="{y0}" x2="{x}" y2="{y1}" stroke="currentColor" stroke-opacity="0.2"/><text x="{x}" y="{ty}" text-anchor="middle" font-size="11">{f}</text>"#,
            x = n(x),
            y0 = n(y0),
            y1 = n(y1),
            ty = n(y1 + 14.0),
            f = figure(*t),
        );
    }
}

/// One bar chart row's label at the left.
fn row_label(out: &mut String, y: f64, label: &str, note: &str) {
    let text = if note.is_empty() {
        cut(label, MAX_LABEL)
    } else {
        format!(
            "{} ({note})",
            cut(label, MAX_LABEL.saturating_sub(note.len() + 3))
        )
    };
    let _ = write!(
        out,
        r#"<text x="{x}" y="{y}" text-anchor="end">{t}</text>"#,
        x = n(LABEL_W - 8.0),
        y = n(y + BAR_H - 4.0),
        t = escape(&text),
    );
}

/// A series of a stacked bar chart.
#[derive(Debug, Clone)]
pub(crate) struct Series {
    /// Shown in the legend and tooltips.
    pub(crate) name: String,
    /// A fill colour (one of [`PALETTE`]).
    pub(crate) color: &'static str,
}

/// One bar of a stacked bar chart: one value per series.
#[derive(Debug, Clone)]
pub(crate) struct StackedRow {
    /// The bar's label.
    pub(crate) label: String,
    /// Values in the order of the series; missing ones count as 0.
    pub(crate) values: Vec<u64>,
}

/// Horizontal stacked bars: one bar per row, one segment per series, the
/// total at the end of each bar.
pub(crate) fn stacked_bars(
    id: &str,
    title: &str,
    desc: &str,
    series: &[Series],
    rows: &[StackedRow],
) -> String {
    let totals: Vec<u64> = rows
        .iter()
        .map(|r| r.values.iter().take(series.len()).sum())
        .collect();
    let max = totals.iter().copied().max().unwrap_or(0);
    if rows.is_empty() || series.is_empty() || max == 0 {
        return empty(id, title, desc);
    }
    let (top, ticks) = axis(max as f64, true);
    let (x0, x1) = (LABEL_W, WIDTH - FIGURE_W);
    let y_top = 34.0;
    let y_end = y_top + ROW_H * rows.len() as f64;
    let height = y_end + 24.0;
    let mut out = String::new();
    open(&mut out, id, height, title, desc);
    let items: Vec<(&str, &str)> = series.iter().map(|s| (s.name.as_str(), s.color)).collect();
    legend(&mut out, x0, 16.0, &items);
    x_grid(&mut out, x0, x1, y_top - 4.0, y_end, top, &ticks);
    for (i, (row, total)) in rows.iter().zip(&totals).enumerate() {
        let y = y_top + ROW_H * i as f64;
        row_label(&mut out, y, &row.label, "");
        let mut x = x0;
        for (s, v) in series.iter().zip(&row.values) {
            if *v == 0 {
                continue;
            }
            let w = (x1 - x0) * (*v as f64) / top;
            let _ = write!(
                out,
                r#"<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="{c}"><title>{l}, {s}: {v}</title></rect>"#,
                x = n(x),
                y = n(y),
                w = n(w),
                h = n(BAR_H),
                c = s.color,
                l = escape(&row.label),
                s = escape(&s.name),
            );
            x += w;
        }
        let _ = write!(
            out,
            r#"<text x="{x}" y="{y}">{total}</text>"#,
            x = n(x + 6.0),
            y = n(y + BAR_H - 4.0),
        );
    }
    out.push_str("</svg>");
    out
}

/// A line of a line chart.
#[derive(Debug, Clone)]
pub(crate) struct Line {
    /// Shown in the legend and tooltips.
    pub(crate) name: String,
    /// Stroke colour.
    pub(crate) color: &'static str,
    /// One value per x label; `None` (or not finite) is a gap.
    pub(crate) points: Vec<Option<f64>>,
}

/// Lines over evenly spaced x labels, each point marked (so a lone point
/// between gaps is still seen), gaps left open. `unit` names the values
/// on the y axis.
pub(crate) fn line_chart(
    id: &str,
    title: &str,
    desc: &str,
    x_labels: &[String],
    lines: &[Line],
    unit: &str,
) -> String {
    let value = |p: &Option<f64>| p.filter(|v| v.is_finite()).map(|v| v.max(0.0));
    let max = lines
        .iter()
        .flat_map(|l| l.points.iter().take(x_labels.len()).filter_map(value))
        .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
    let Some(max) = max else {
        return empty(id, title, desc);
    };
    let (top, ticks) = axis(max, false);
    let height = 280.0;
    let (x0, x1) = (64.0, WIDTH - 24.0);
    let (y0, y1) = (36.0, height - 44.0);
    let count = x_labels.len();
    let x_at = |i: usize| {
        if count <= 1 {
            (x0 + x1) / 2.0
        } else {
            x0 + (x1 - x0) * i as f64 / (count - 1) as f64
        }
    };
    let y_at = |v: f64| y1 - (y1 - y0) * v / top;
    let mut out = String::new();
    open(&mut out, id, height, title, desc);
    let items: Vec<(&str, &str)> = lines.iter().map(|l| (l.name.as_str(), l.color)).collect();
    legend(&mut out, x0, 16.0, &items);
    for t in &ticks {
        let _ = write!(
            out,
            r#"<line x1="{x0}" y1="{y}" x2="{x1}" y2="{y}" stroke="currentColor" stroke-opacity="0.2"/><text x="{tx}" y="{ty}" text-anchor="end" font-size="11">{f}</text>"#,
            x0 = n(x0),
            x1 = n(x1),
            y = n(y_at(*t)),
            tx = n(x0 - 6.0),
            ty = n(y_at(*t) + 4.0),
            f = figure(*t),
        );
    }
    let _ = write!(
        out,
        r#"<text x="14" y="{y}" transform="rotate(-90 14 {y})" text-anchor="middle" font-size="11">{u}</text>"#,
        y = n((y0 + y1) / 2.0),
        u = escape(unit),
    );
    // At most about 12 x labels, whatever the number of points.
    let every = count.div_ceil(12).max(1);
    for (i, label) in x_labels.iter().enumerate() {
        if i % every != 0 && i + 1 != count {
            continue;
        }
        let _ = write!(
            out,
            r#"<text x="{x}" y="{y}" text-anchor="middle" font-size="11">{l}</text>"#,
            x = n(x_at(i)),
            y = n(y1 + 16.0),
            l = escape(&cut(label, 12)),
        );
    }
    for line in lines {
        let mut d = String::new();
        let mut pen_down = false;
        for (i, p) in line.points.iter().take(count).enumerate() {
            match value(p) {
                Some(v) => {
                    let _ = write!(
                        d,
                        "{}{} {} ",
                        if pen_down { "L" } else { "M" },
                        n(x_at(i)),
                        n(y_at(v))
                    );
                    pen_down = true;
                }
                None => pen_down = false,
            }
        }
        let _ = write!(
            out,
            r#"<path d="{d}" fill="none" stroke="{c}" stroke-width="2.5" stroke-linejoin="round"/>"#,
            d = d.trim_end(),
            c = line.color,
        );
        for (i, p) in line.points.iter().take(count).enumerate() {
            if let Some(v) = value(p) {
                let _ = write!(
                    out,
                    r#"<circle cx="{x}" cy="{y}" r="4" fill="{c}"><title>{l}, {name}: {f} {u}</title></circle>"#,
                    x = n(x_at(i)),
                    y = n(y_at(v)),
                    c = line.color,
                    l = escape(&x_labels[i]),
                    name = escape(&line.name),
                    f = figure(v),
                    u = escape(unit),
                );
            }
        }
    }
    out.push_str("</svg>");
    out
}

/// One volunteer of the load chart.
#[derive(Debug, Clone)]
pub(crate) struct LoadRow {
    /// Their name.
    pub(crate) label: String,
    /// Open cases.
    pub(crate) load: u64,
    /// Capacity.
    pub(crate) capacity: u64,
    /// A short flag shown with the name (`paused`, `disabled`), or empty.
    pub(crate) note: String,
}

/// Load against capacity: one bar per volunteer (blue under capacity,
/// orange at it, red over it, grey when flagged) with a mark at their
/// capacity.
pub(crate) fn load_bars(id: &str, title: &str, desc: &str, rows: &[LoadRow]) -> String {
    if rows.is_empty() {
        return empty(id, title, desc);
    }
    let max = rows
        .iter()
        .map(|r| r.load.max(r.capacity))
        .max()
        .unwrap_or(0);
    let (top, ticks) = axis(max as f64, true);
    let (x0, x1) = (LABEL_W, WIDTH - FIGURE_W);
    let y_top = 34.0;
    let y_end = y_top + ROW_H * rows.len() as f64;
    let height = y_end + 24.0;
    let mut out = String::new();
    open(&mut out, id, height, title, desc);
    legend(
        &mut out,
        x0,
        16.0,
        &[
            ("under capacity", OK),
            ("at capacity", FULL),
            ("over capacity", OVER),
            ("paused or disabled", MUTED),
        ],
    );
    x_grid(&mut out, x0, x1, y_top - 4.0, y_end, top, &ticks);
    for (i, r) in rows.iter().enumerate() {
        let y = y_top + ROW_H * i as f64;
        row_label(&mut out, y, &r.label, &r.note);
        let color = if !r.note.is_empty() {
            MUTED
        } else if r.load > r.capacity {
            OVER
        } else if r.load == r.capacity {
            FULL
        } else {
            OK
        };
        let w = (x1 - x0) * r.load as f64 / top;
        let _ = write!(
            out,
            r#"<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="{color}"><title>{l}: {load} open of {cap}</title></rect>"#,
            x = n(x0),
            y = n(y),
            w = n(w),
            h = n(BAR_H),
            l = escape(&r.label),
            load = r.load,
            cap = r.capacity,
        );
        let cx = x0 + (x1 - x0) * r.capacity as f64 / top;
        let _ = write!(
            out,
            r#"<line x1="{x}" y1="{ya}" x2="{x}" y2="{yb}" stroke="currentColor" stroke-width="3"><title>capacity {cap}</title></line><text x="{tx}" y="{ty}">{load}/{cap}</text>"#,
            x = n(cx),
            ya = n(y - 3.0),
            yb = n(y + BAR_H + 3.0),
            cap = r.capacity,
            tx = n(x0 + (x1 - x0) * (r.load.max(r.capacity) as f64) / top + 8.0),
            ty = n(y + BAR_H - 4.0),
            load = r.load,
        );
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str = r#"<script>alert("x")</script> & 'y' <img src=x onerror=alert(1)>"#;

    /// Every `<` in the markup opens one of our own elements.
    fn only_our_tags(svg: &str) {
        let allowed = [
            "svg", "title", "desc", "rect", "text", "line", "path", "circle", "/",
        ];
        for (i, _) in svg.match_indices('<') {
            let rest = &svg[i + 1..];
            assert!(
                allowed.iter().any(|t| rest.starts_with(t)),
                "unexpected tag at {i}: {}",
                &rest[..rest.len().min(30)]
            );
        }
        assert!(!svg.contains("<script"), "{svg}");
        assert!(!svg.contains("<img"), "{svg}");
        assert!(svg.starts_with("<svg ") && svg.ends_with("</svg>"));
    }

    /// The numbers in the `attr="…"` attributes of the markup.
    fn attr_values(svg: &str, attr: &str) -> Vec<f64> {
        let marker = format!(" {attr}=\"");
        svg.match_indices(&marker)
            .filter_map(|(i, _)| {
                let rest = &svg[i + marker.len()..];
                rest[..rest.find('"')?].parse().ok()
            })
            .collect()
    }

    #[test]
    fn escape_covers_markup_and_quotes() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(escape("São Paulo"), "São Paulo");
        assert_eq!(escape("a\u{0}b"), "a\u{FFFD}b");
    }

    #[test]
    fn hostile_labels_come_out_escaped_in_every_chart() {
        let s = stacked_bars(
            "open",
            HOSTILE,
            HOSTILE,
            &[Series {
                name: HOSTILE.into(),
                color: PALETTE[0],
            }],
            &[StackedRow {
                label: HOSTILE.into(),
                values: vec![3],
            }],
        );
        only_our_tags(&s);
        assert!(
            s.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"),
            "{s}"
        );

        let l = line_chart(
            "rt\"><script>",
            HOSTILE,
            HOSTILE,
            &[HOSTILE.to_owned()],
            &[Line {
                name: HOSTILE.into(),
                color: PALETTE[1],
                points: vec![Some(1.0)],
            }],
            HOSTILE,
        );
        only_our_tags(&l);
        // The id is reduced to safe characters.
        assert!(l.contains(r#"id="rtscript-title""#), "{l}");

        let b = load_bars(
            "load",
            HOSTILE,
            HOSTILE,
            &[LoadRow {
                label: HOSTILE.into(),
                load: 2,
                capacity: 3,
                note: "paused".into(),
            }],
        );
        only_our_tags(&b);
        assert!(b.contains("&lt;script&gt;"));
    }

    #[test]
    fn axis_steps_are_round_and_cover_the_maximum() {
        assert_eq!(axis(0.0, true), (1.0, vec![0.0, 1.0]));
        assert_eq!(axis(1.0, true), (1.0, vec![0.0, 1.0]));
        assert_eq!(axis(3.0, true), (3.0, vec![0.0, 1.0, 2.0, 3.0]));
        assert_eq!(axis(10.0, true).0, 10.0);
        assert_eq!(axis(11.0, true), (15.0, vec![0.0, 5.0, 10.0, 15.0]));
        assert_eq!(axis(97.0, true).0, 100.0);
        assert_eq!(axis(1234.0, true).0, 1500.0);
        let (top, ticks) = axis(0.37, false);
        assert!((top - 0.4).abs() < 1e-9, "{top}");
        assert_eq!(ticks.len(), 5);
        for max in [0.5, 1.0, 7.0, 19.0, 250.0, 99_999.0] {
            let (top, ticks) = axis(max, true);
            assert!(top >= max, "{max}");
            assert!(ticks.len() <= 7, "{max}: {ticks:?}");
            assert_eq!(ticks.first(), Some(&0.0));
            assert_eq!(ticks.last(), Some(&top));
        }
        assert_eq!(axis(f64::NAN, false).0, 1.0);
        assert_eq!(axis(-5.0, false).0, 1.0);
    }

    #[test]
    fn duration_units_follow_the_largest_value() {
        assert_eq!(duration_unit(5.0).1, "seconds");
        assert_eq!(duration_unit(90.0 * 60.0).1, "minutes");
        assert_eq!(duration_unit(5.0 * 3600.0).1, "hours");
        assert_eq!(duration_unit(4.0 * 86400.0).1, "days");
        assert_eq!(duration_unit(f64::NAN).1, "minutes");
    }

    #[test]
    fn stacked_bars_scale_segments_to_the_axis() {
        let series = vec![
            Series {
                name: "new".into(),
                color: PALETTE[0],
            },
            Series {
                name: "assigned".into(),
                color: PALETTE[1],
            },
        ];
        let rows = vec![
            StackedRow {
                label: "DE".into(),
                values: vec![6, 4],
            },
            StackedRow {
                label: "FR".into(),
                values: vec![0, 5],
            },
        ];
        let svg = stacked_bars("open", "Open cases", "by country", &series, &rows);
        only_our_tags(&svg);
        // The axis runs to 10 over LABEL_W..WIDTH-FIGURE_W = 480 units:
        // legend squares (12) and then segments of 6, 4 and 5 cases.
        let widths = attr_values(&svg, "width");
        let per_case = (WIDTH - FIGURE_W - LABEL_W) / 10.0;
        let bars: Vec<f64> = widths.into_iter().filter(|w| *w != 12.0).collect();
        assert_eq!(bars.len(), 3, "{svg}");
        for (w, cases) in bars.iter().zip([6.0, 4.0, 5.0]) {
            assert!((w - per_case * cases).abs() < 0.1, "{w} vs {cases}");
        }
        // The second segment starts where the first ends.
        assert!(svg.contains(&format!(r#"x="{}""#, n(LABEL_W + per_case * 6.0))));
        // Totals at the bars' ends; a zero segment draws nothing.
        assert!(svg.contains(">10</text>") && svg.contains(">5</text>"));
        assert_eq!(svg.matches("<title>FR, new").count(), 0);
        assert!(svg.contains("<title>DE, new: 6</title>"));
        assert!(
            svg.contains(r#"role="img""#)
                && svg.contains("<desc id=\"open-desc\">by country</desc>")
        );
    }

    #[test]
    fn empty_data_says_so() {
        for svg in [
            stacked_bars("a", "t", "d", &[], &[]),
            stacked_bars(
                "a",
                "t",
                "d",
                &[Series {
                    name: "new".into(),
                    color: PALETTE[0],
                }],
                &[StackedRow {
                    label: "DE".into(),
                    values: vec![0],
                }],
            ),
            line_chart("b", "t", "d", &[], &[], "hours"),
            line_chart(
                "b",
                "t",
                "d",
                &["w1".into(), "w2".into()],
                &[Line {
                    name: "median".into(),
                    color: PALETTE[0],
                    points: vec![None, Some(f64::NAN)],
                }],
                "hours",
            ),
            load_bars("c", "t", "d", &[]),
        ] {
            only_our_tags(&svg);
            assert!(svg.contains(">No data</text>"), "{svg}");
            assert!(!svg.contains("<rect") && !svg.contains("<path"));
        }
    }

    #[test]
    fn a_single_point_is_drawn_in_the_middle() {
        let svg = line_chart(
            "rt",
            "t",
            "d",
            &["2026-11-23".into()],
            &[Line {
                name: "median".into(),
                color: PALETTE[0],
                points: vec![Some(3.0)],
            }],
            "hours",
        );
        only_our_tags(&svg);
        assert_eq!(svg.matches("<circle").count(), 1);
        let cx = attr_values(&svg, "cx");
        assert_eq!(cx.len(), 1);
        assert!((cx[0] - (64.0 + WIDTH - 24.0) / 2.0).abs() < 0.1);
        assert!(svg.contains("<title>2026-11-23, median: 3 hours</title>"));
    }

    #[test]
    fn lines_break_at_gaps_and_scale_to_the_axis() {
        let labels: Vec<String> = (1..=5).map(|i| format!("w{i}")).collect();
        let svg = line_chart(
            "rt",
            "t",
            "d",
            &labels,
            &[Line {
                name: "p90".into(),
                color: PALETTE[0],
                points: vec![Some(0.0), Some(10.0), None, Some(5.0), Some(8.0)],
            }],
            "hours",
        );
        only_our_tags(&svg);
        // Two runs: w1–w2, and w4–w5.
        let d_start = svg.find(" d=\"").unwrap() + 4;
        let d = &svg[d_start..d_start + svg[d_start..].find('"').unwrap()];
        assert_eq!(d.matches('M').count(), 2, "{d}");
        assert_eq!(d.matches('L').count(), 2, "{d}");
        // 10 is the top of the axis (y0 = 36), 0 the bottom (y1 = 236).
        let cy = attr_values(&svg, "cy");
        assert_eq!(cy.len(), 4);
        assert!(
            (cy[0] - 236.0).abs() < 0.1 && (cy[1] - 36.0).abs() < 0.1,
            "{cy:?}"
        );
        assert!((cy[2] - 136.0).abs() < 0.1, "{cy:?}");
    }

    #[test]
    fn load_bars_mark_capacity_and_flag_paused_volunteers() {
        let rows = vec![
            LoadRow {
                label: "Ana".into(),
                load: 2,
                capacity: 4,
                note: String::new(),
            },
            LoadRow {
                label: "Bo".into(),
                load: 5,
                capacity: 4,
                note: String::new(),
            },
            LoadRow {
                label: "Cy".into(),
                load: 4,
                capacity: 4,
                note: String::new(),
            },
            LoadRow {
                label: "Di".into(),
                load: 1,
                capacity: 3,
                note: "paused".into(),
            },
        ];
        let svg = load_bars("load", "Load", "d", &rows);
        only_our_tags(&svg);
        assert!(svg.contains(&format!(r#"fill="{OK}"><title>Ana: 2 open of 4"#)));
        assert!(svg.contains(&format!(r#"fill="{OVER}"><title>Bo: 5 open of 4"#)));
        assert!(svg.contains(&format!(r#"fill="{FULL}"><title>Cy: 4 open of 4"#)));
        assert!(svg.contains(&format!(r#"fill="{MUTED}"><title>Di: 1 open of 3"#)));
        assert!(svg.contains(">Di (paused)</text>"));
        // The axis runs to 5; capacity 4 sits at 4/5 of the bar area.
        let mark = n(LABEL_W + (WIDTH - FIGURE_W - LABEL_W) * 4.0 / 5.0);
        assert!(
            svg.contains(&format!(r#"<line x1="{mark}" y1="31.0" x2="{mark}""#)),
            "{svg}"
        );
        assert_eq!(svg.matches("<title>capacity ").count(), 4);
    }

    #[test]
    fn long_labels_are_cut_but_kept_whole_in_tooltips() {
        let long = "Maria da Conceição Albuquerque de Souza";
        let svg = load_bars(
            "load",
            "t",
            "d",
            &[LoadRow {
                label: long.into(),
                load: 1,
                capacity: 2,
                note: String::new(),
            }],
        );
        assert!(svg.contains(&format!("<title>{}: 1 open of 2", escape(long))));
        assert!(svg.contains("…</text>"));
        assert_eq!(cut("abc", 3), "abc");
        assert_eq!(cut("abcd", 3), "ab…");
    }

    #[test]
    fn figures_drop_needless_decimals() {
        assert_eq!(figure(3.0), "3");
        assert_eq!(figure(2.54), "2.5");
        assert_eq!(figure(f64::INFINITY), "");
    }
}
