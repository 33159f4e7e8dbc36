//! A plain-Rust implementation of the key-measures table, kept as an independent oracle: the
//! engine computes measures in SQL ([`crate::measures`]); the tests check the two agree on
//! random data. See `familiar_model::measures` for the counting rules.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::NaiveDate;
use familiar_model::measures::{in_window, round_share, KeyMeasures, ALL_AGENCIES};

/// Interned involvement facts.
#[derive(Debug, Default, Clone)]
pub struct Facts {
    agencies: Vec<String>,
    agency_ix: HashMap<String, u16>,
    persons: Vec<String>,
    person_ix: HashMap<String, u32>,
    events: HashMap<(u16, String, String), u32>,
    rows: Vec<FactRow>,
}

#[derive(Debug, Clone, Copy)]
struct FactRow {
    agency: u16,
    event: u32,
    date: NaiveDate,
    person: Option<u32>,
}

impl Facts {
    pub fn new() -> Self {
        Self::default()
    }

    /// Declare an agency so it appears in the table even with no rows.
    pub fn declare_agency(&mut self, code: &str) -> u16 {
        if let Some(&i) = self.agency_ix.get(code) {
            return i;
        }
        let i = self.agencies.len() as u16;
        self.agencies.push(code.to_string());
        self.agency_ix.insert(code.to_string(), i);
        i
    }

    /// Add one involvement: `agency`'s interaction `(source, event_key)` on `date`, naming
    /// `person` (None when the row names nobody or the identity is unlinked).
    pub fn push(
        &mut self,
        agency: &str,
        source: &str,
        event_key: &str,
        date: NaiveDate,
        person: Option<&str>,
    ) {
        let agency = self.declare_agency(agency);
        let next = self.events.len() as u32;
        let event = *self
            .events
            .entry((agency, source.to_string(), event_key.to_string()))
            .or_insert(next);
        let person = person.map(|p| {
            if let Some(&i) = self.person_ix.get(p) {
                i
            } else {
                let i = self.persons.len() as u32;
                self.persons.push(p.to_string());
                self.person_ix.insert(p.to_string(), i);
                i
            }
        });
        self.rows.push(FactRow {
            agency,
            event,
            date,
            person,
        });
    }
}

pub use crate::measures::MeasureOptions;

/// Compute the key-measures table.
pub fn key_measures(facts: &Facts, opts: &MeasureOptions) -> KeyMeasures {
    let n_ag = facts.agencies.len();
    // Distinct (person, event) and distinct events in the window.
    let mut person_events: HashSet<(u32, u32)> = HashSet::new();
    let mut events_in_window: Vec<HashSet<u32>> = vec![HashSet::new(); n_ag];
    let mut event_people: HashMap<u32, Vec<u32>> = HashMap::new();
    let mut event_agency: HashMap<u32, u16> = HashMap::new();
    for r in &facts.rows {
        if !in_window(r.date, opts.as_of, opts.window_days) {
            continue;
        }
        events_in_window[r.agency as usize].insert(r.event);
        event_agency.insert(r.event, r.agency);
        if let Some(p) = r.person {
            if person_events.insert((p, r.event)) {
                event_people.entry(r.event).or_default().push(p);
            }
        }
    }
    // counts[person][agency]
    let mut counts: HashMap<u32, Vec<u64>> = HashMap::new();
    for &(p, e) in &person_events {
        let a = event_agency[&e] as usize;
        counts.entry(p).or_insert_with(|| vec![0; n_ag])[a] += 1;
    }

    let th_key = |t: u32| t.to_string();
    let mut by_agency = BTreeMap::new();
    let mut interactions = BTreeMap::new();
    let mut people = BTreeMap::new();
    let mut share = BTreeMap::new();
    let total_events: u64 = events_in_window.iter().map(|s| s.len() as u64).sum();

    for (ai, code) in facts.agencies.iter().enumerate() {
        let mut row = BTreeMap::new();
        let mut srow = BTreeMap::new();
        let n_events = events_in_window[ai].len() as u64;
        for &t in &opts.thresholds {
            let qualifying: HashSet<u32> = counts
                .iter()
                .filter(|(_, c)| c[ai] >= u64::from(t))
                .map(|(p, _)| *p)
                .collect();
            row.insert(th_key(t), qualifying.len() as u64);
            let covered = events_in_window[ai]
                .iter()
                .filter(|e| {
                    event_people
                        .get(e)
                        .is_some_and(|ps| ps.iter().any(|p| qualifying.contains(p)))
                })
                .count() as u64;
            srow.insert(th_key(t), ratio(covered, n_events));
        }
        by_agency.insert(code.clone(), row);
        share.insert(code.clone(), srow);
        interactions.insert(code.clone(), n_events);
        people.insert(
            code.clone(),
            counts.values().filter(|c| c[ai] > 0).count() as u64,
        );
    }

    let totals: HashMap<u32, u64> = counts.iter().map(|(p, c)| (*p, c.iter().sum())).collect();
    let mut all = BTreeMap::new();
    let mut sall = BTreeMap::new();
    for &t in &opts.thresholds {
        let qualifying: HashSet<u32> = totals
            .iter()
            .filter(|(_, n)| **n >= u64::from(t))
            .map(|(p, _)| *p)
            .collect();
        all.insert(th_key(t), qualifying.len() as u64);
        let covered = events_in_window
            .iter()
            .flatten()
            .filter(|e| {
                event_people
                    .get(e)
                    .is_some_and(|ps| ps.iter().any(|p| qualifying.contains(p)))
            })
            .count() as u64;
        sall.insert(th_key(t), ratio(covered, total_events));
    }
    interactions.insert(ALL_AGENCIES.to_string(), total_events);
    people.insert(ALL_AGENCIES.to_string(), counts.len() as u64);
    share.insert(ALL_AGENCIES.to_string(), sall);

    KeyMeasures {
        as_of: opts.as_of,
        window_days: opts.window_days,
        thresholds: opts.thresholds.clone(),
        by_agency,
        all_agencies: all,
        interactions,
        people,
        share,
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        round_share(a as f64 / b as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn opts() -> MeasureOptions {
        MeasureOptions {
            as_of: d("2025-06-30"),
            window_days: 365,
            thresholds: vec![2, 3],
        }
    }

    #[test]
    fn counts_distinct_events_per_person_and_agency() {
        let mut f = Facts::new();
        f.declare_agency("HEART");
        // P1: three DPD incidents, one of them listed twice (two roles) -> 3.
        f.push("DPD", "dpd", "e1", d("2025-01-01"), Some("P1"));
        f.push("DPD", "dpd", "e1", d("2025-01-01"), Some("P1"));
        f.push("DPD", "dpd", "e2", d("2025-02-01"), Some("P1"));
        f.push("DPD", "dpd", "e3", d("2025-03-01"), Some("P1"));
        // P2: two DPD incidents, one shared with P1's e3 -> 2.
        f.push("DPD", "dpd", "e3", d("2025-03-01"), Some("P2"));
        f.push("DPD", "dpd", "e4", d("2025-03-02"), Some("P2"));
        // P2 also one DECC call -> all-agency total 3.
        f.push("DECC", "cad", "c1", d("2025-03-02"), Some("P2"));
        // An unnamed call and an out-of-window incident.
        f.push("DECC", "cad", "c2", d("2025-03-02"), None);
        f.push("DPD", "dpd", "e9", d("2024-06-30"), Some("P1"));
        let m = key_measures(&f, &opts());
        assert_eq!(m.by_agency["DPD"]["2"], 2);
        assert_eq!(m.by_agency["DPD"]["3"], 1);
        assert_eq!(
            m.by_agency["HEART"]["2"], 0,
            "declared agency appears with zeros"
        );
        assert_eq!(m.all_agencies["3"], 2);
        assert_eq!(m.interactions["DPD"], 4);
        assert_eq!(m.interactions["DECC"], 2);
        assert_eq!(m.interactions["ALL"], 6);
        assert_eq!(m.people["ALL"], 2);
        // DPD >= 3: only P1; events involving P1 in window: e1 e2 e3 of 4.
        assert_eq!(m.share["DPD"]["3"], 0.75);
    }

    #[test]
    fn window_edges() {
        let mut f = Facts::new();
        f.push("DPD", "s", "in-first", d("2024-07-01"), Some("P"));
        f.push("DPD", "s", "in-last", d("2025-06-30"), Some("P"));
        f.push("DPD", "s", "out-before", d("2024-06-30"), Some("P"));
        f.push("DPD", "s", "out-after", d("2025-07-01"), Some("P"));
        let m = key_measures(&f, &opts());
        assert_eq!(m.interactions["DPD"], 2);
        assert_eq!(m.by_agency["DPD"]["2"], 1);
        assert_eq!(m.by_agency["DPD"]["3"], 0);
    }
}
