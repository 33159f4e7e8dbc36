//! Human-readable tables for the terminal.

use familiar_model::measures::{KeyMeasures, ALL_AGENCIES};
use std::fmt::Write;

/// The seed's "Key Measures" table: people with N+ interactions, per agency and across agencies.
pub fn measures_table(m: &KeyMeasures) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Key measures: people with N or more interactions in the {} days ending {}",
        m.window_days, m.as_of
    );
    let _ = write!(s, "{:<14}", "agency");
    for t in &m.thresholds {
        let _ = write!(s, "{:>8}", format!("{t}+"));
    }
    let _ = writeln!(s, "{:>14}{:>10}", "interactions", "people");
    let row = |s: &mut String, name: &str, counts: &std::collections::BTreeMap<String, u64>| {
        let _ = write!(s, "{name:<14}");
        for t in &m.thresholds {
            let _ = write!(s, "{:>8}", counts.get(&t.to_string()).copied().unwrap_or(0));
        }
        let _ = writeln!(
            s,
            "{:>14}{:>10}",
            m.interactions.get(name).copied().unwrap_or(0),
            m.people.get(name).copied().unwrap_or(0)
        );
    };
    for (agency, counts) in &m.by_agency {
        row(&mut s, agency, counts);
    }
    let _ = write!(s, "{:<14}", "all agencies");
    for t in &m.thresholds {
        let _ = write!(
            s,
            "{:>8}",
            m.all_agencies.get(&t.to_string()).copied().unwrap_or(0)
        );
    }
    let _ = writeln!(
        s,
        "{:>14}{:>10}",
        m.interactions.get(ALL_AGENCIES).copied().unwrap_or(0),
        m.people.get(ALL_AGENCIES).copied().unwrap_or(0)
    );
    if let (Some(t), Some(share)) = (m.thresholds.first(), m.share.get(ALL_AGENCIES)) {
        if let Some(x) = share.get(&t.to_string()) {
            let _ = writeln!(
                s,
                "People with {t}+ interactions across agencies account for {:.1}% of all interactions.",
                x * 100.0
            );
        }
    }
    s
}
