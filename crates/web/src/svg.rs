//! Server-side SVG charts. Styling is by presentation attributes and classes from the embedded
//! stylesheet (the CSP forbids inline `style`); every text node is escaped here.

use std::collections::BTreeMap;
use std::fmt::Write;

use chrono::{Datelike, NaiveDate};

use crate::data::Contact;

/// Escape text for SVG/HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn nice_max(v: u64) -> u64 {
    let v = v.max(1);
    let mag = 10u64.pow((v as f64).log10().floor() as u32);
    for m in [1, 2, 5, 10] {
        if v <= m * mag {
            return m * mag;
        }
    }
    10 * mag
}

/// The public monthly bar chart. `None` months are suppressed (drawn as an empty dashed bar).
pub fn monthly_bars(series: &[(NaiveDate, Option<u64>)], min_cell: u64) -> String {
    let (w, h, left, bottom, top) = (760.0, 260.0, 48.0, 34.0, 12.0);
    let max = nice_max(series.iter().filter_map(|(_, v)| *v).max().unwrap_or(0));
    let n = series.len().max(1) as f64;
    let plot_w = w - left - 8.0;
    let plot_h = h - bottom - top;
    let bw = plot_w / n;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" class="bars" role="img" aria-labelledby="chart-title"><title id="chart-title">Familiar neighbor interactions per month</title>"#
    );
    for i in 0..=4 {
        let v = max * i / 4;
        let y = top + plot_h - plot_h * (v as f64) / (max as f64);
        let _ = write!(
            s,
            r#"<line x1="{left}" x2="{x2}" y1="{y:.1}" y2="{y:.1}" class="grid"/><text x="{tx}" y="{ty:.1}" class="axis" text-anchor="end">{v}</text>"#,
            x2 = w - 8.0,
            tx = left - 6.0,
            ty = y + 4.0
        );
    }
    for (i, (m, v)) in series.iter().enumerate() {
        let x = left + bw * i as f64 + bw * 0.15;
        let bwi = bw * 0.7;
        let label = format!("{} {}", MONTHS[m.month0() as usize], m.year() % 100);
        match v {
            Some(v) => {
                let bh = plot_h * (*v as f64) / (max as f64);
                let _ = write!(
                    s,
                    r#"<rect x="{x:.1}" y="{y:.1}" width="{bwi:.1}" height="{bh:.1}" class="bar"><title>{label}: {v}</title></rect>"#,
                    y = top + plot_h - bh
                );
            }
            None => {
                let bh = plot_h * 0.08;
                let _ = write!(
                    s,
                    r#"<rect x="{x:.1}" y="{y:.1}" width="{bwi:.1}" height="{bh:.1}" class="bar suppressed"><title>{label}: suppressed (fewer than {min_cell})</title></rect>"#,
                    y = top + plot_h - bh
                );
            }
        }
        if series.len() <= 12 || i % 2 == 0 {
            let _ = write!(
                s,
                r#"<text x="{cx:.1}" y="{ly}" class="axis" text-anchor="middle">{label}</text>"#,
                cx = x + bwi / 2.0,
                ly = h - bottom + 16.0,
                label = esc(&label)
            );
        }
    }
    s.push_str("</svg>");
    s
}

/// A person's journey: one lane per agency, one mark per contact, over the span of contacts.
pub fn timeline(contacts: &[Contact], agencies: &[String]) -> String {
    let mut lanes: Vec<String> = agencies
        .iter()
        .filter(|a| contacts.iter().any(|c| &c.agency == *a))
        .cloned()
        .collect();
    for c in contacts {
        if !lanes.contains(&c.agency) {
            lanes.push(c.agency.clone());
        }
    }
    let lane_h = 34.0;
    let (w, left, top) = (760.0, 70.0, 10.0);
    let h = top + lane_h * lanes.len().max(1) as f64 + 30.0;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" class="timeline" role="img" aria-label="Contacts over time by agency">"#
    );
    if contacts.is_empty() {
        s.push_str("</svg>");
        return s;
    }
    let first = contacts.iter().map(|c| c.date).min().expect("non-empty");
    let last = contacts.iter().map(|c| c.date).max().expect("non-empty");
    let span = ((last - first).num_days().max(1)) as f64;
    let plot_w = w - left - 16.0;
    let x_of = |d: NaiveDate| left + plot_w * ((d - first).num_days() as f64) / span;
    for (i, lane) in lanes.iter().enumerate() {
        let y = top + lane_h * i as f64 + lane_h / 2.0;
        let _ = write!(
            s,
            r#"<line x1="{left}" x2="{x2}" y1="{y}" y2="{y}" class="lane"/><text x="{tx}" y="{ty}" class="axis" text-anchor="end">{name}</text>"#,
            x2 = w - 16.0,
            tx = left - 8.0,
            ty = y + 4.0,
            name = esc(lane)
        );
    }
    // Several contacts on one day in one lane share a mark whose size grows with the count.
    let mut marks: BTreeMap<(usize, NaiveDate), Vec<&Contact>> = BTreeMap::new();
    for c in contacts {
        let lane = lanes.iter().position(|l| l == &c.agency).unwrap_or(0);
        marks.entry((lane, c.date)).or_default().push(c);
    }
    for ((lane, date), cs) in marks {
        let y = top + lane_h * lane as f64 + lane_h / 2.0;
        let r = (3.5 + (cs.len() as f64).sqrt() * 1.5).min(10.0);
        let mut tip = format!("{date}: {} contact(s)", cs.len());
        for c in cs.iter().take(5) {
            tip.push_str(&format!(
                "\n{} {}{}",
                c.kind,
                c.role,
                c.call_type
                    .as_deref()
                    .map(|t| format!(" · {t}"))
                    .unwrap_or_default()
            ));
        }
        let class = if cs.iter().any(|c| c.part2) {
            "mark part2"
        } else {
            "mark"
        };
        let _ = write!(
            s,
            r#"<circle cx="{cx:.1}" cy="{y}" r="{r:.1}" class="{class} lane{ln}"><title>{tip}</title></circle>"#,
            cx = x_of(date),
            ln = lane % 8,
            tip = esc(&tip)
        );
    }
    let axis_y = top + lane_h * lanes.len() as f64 + 18.0;
    let _ = write!(
        s,
        r#"<text x="{left}" y="{axis_y}" class="axis">{first}</text><text x="{x2}" y="{axis_y}" class="axis" text-anchor="end">{last}</text></svg>"#,
        x2 = w - 16.0
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(date: &str, agency: &str, call: &str) -> Contact {
        Contact {
            record_id: 1,
            date: NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap(),
            start_utc: 0,
            agency: agency.into(),
            source: "s".into(),
            event_key: "e".into(),
            kind: "call_911".into(),
            role: "caller".into(),
            call_type: Some(call.into()),
            disposition: None,
            location: None,
            incident_ref: None,
            needs: vec![],
            part2: false,
        }
    }

    #[test]
    fn timeline_escapes_text_and_has_a_lane_per_agency() {
        let cs = vec![
            contact("2025-01-01", "DECC", "<script>alert(1)</script>"),
            contact("2025-03-01", "DPD", "WELFARE"),
        ];
        let svg = timeline(&cs, &["DECC".into(), "DPD".into(), "HEART".into()]);
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("&lt;script&gt;"));
        assert_eq!(svg.matches("class=\"lane\"").count(), 2);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    }

    #[test]
    fn bars_mark_suppressed_months() {
        let m = |d: &str| NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap();
        let svg = monthly_bars(&[(m("2025-01-01"), Some(40)), (m("2025-02-01"), None)], 11);
        assert!(svg.contains("suppressed"));
        assert!(svg.contains("Jan 25: 40"));
        assert_eq!(nice_max(40), 50);
        assert_eq!(nice_max(0), 1);
        assert_eq!(nice_max(100), 100);
    }
}
