//! Small-cell suppression for everything the public sees.
//!
//! # The rule
//!
//! A count of people (or of interactions) between 1 and `min_cell − 1` is never published.
//! The default `min_cell` is 11: the CMS cell-size suppression policy (no cell of 1–10
//! beneficiaries) that HIPAA-covered partners and most health departments follow. A cohort of
//! 15–20 neighbors is exactly the size that makes a table of 5+/10+/20+/40+ counts identifying,
//! so the dashboard applies the rule to every cell, zeros excepted (0 is shown).
//!
//! # Complementary suppression
//!
//! Hiding the small cells is not enough when the published cells are related:
//!
//! - **Nested thresholds.** In one row, the people with 40+ interactions are among those with
//!   20+, who are among those with 10+, ... and all are among the people with any interaction.
//!   So `10+ − 20+` is itself a count of people (those with 10–19) and must not be small either.
//! - **Across agencies.** Anyone with N+ interactions with one agency has N+ across agencies, so
//!   the "all agencies" cell for a lower or equal threshold contains every agency cell to its
//!   right: `all(5+) − DPD(5+)` is a count of people too.
//! - **Totals.** Interactions across agencies are the sum of each agency's interactions, so one
//!   hidden agency total could be recovered by subtraction.
//!
//! [`protect`] takes the cells, the containment pairs (`X ⊇ Y`) and the sums
//! (`total = Σ parts`) and hides cells until, for what remains published:
//!
//! 1. every published cell is 0 or ≥ `min_cell`;
//! 2. for every published pair `X ⊇ Y`, `X − Y` is 0 or ≥ `min_cell` (else `Y`, the narrower
//!    cell, is hidden too);
//! 3. in every sum, the hidden cells are never exactly one, and, when the total is published,
//!    the hidden parts add up to 0 or ≥ `min_cell` (else the smallest published part is hidden).
//!
//! A hidden cell `Y` is then only known to lie between its largest published subset and its
//! smallest published superset, and those differ by 0 or ≥ `min_cell`. [`check_protected`]
//! re-derives everything an attacker can pin down from the published cells and the relations,
//! independently of [`protect`], and the tests run it on hand-made and random counties.

use std::collections::BTreeMap;

use familiar_model::measures::{KeyMeasures, ALL_AGENCIES};
use familiar_model::Agency;
use serde::Serialize;

/// The default minimum cell size (publish 0 or ≥ 11).
pub const DEFAULT_MIN_CELL: u64 = 11;

fn small(v: u64, min: u64) -> bool {
    v >= 1 && v < min
}

/// Decide which cells may be published. `contains` lists `(superset, subset)` index pairs,
/// `sums` lists `(total, parts)`. Returns `shown[i]`.
pub fn protect(
    values: &[u64],
    contains: &[(usize, usize)],
    sums: &[(usize, Vec<usize>)],
    min: u64,
) -> Vec<bool> {
    let mut shown: Vec<bool> = values.iter().map(|&v| !small(v, min)).collect();
    loop {
        let mut changed = false;
        for &(x, y) in contains {
            if shown[x] && shown[y] && small(values[x].saturating_sub(values[y]), min) {
                shown[y] = false;
                changed = true;
            }
        }
        for (total, parts) in sums {
            let hidden_parts: Vec<usize> = parts.iter().copied().filter(|&p| !shown[p]).collect();
            let unknown = hidden_parts.len() + usize::from(!shown[*total]);
            let hidden_sum: u64 = hidden_parts.iter().map(|&p| values[p]).sum();
            let exposed = unknown == 1 || (shown[*total] && small(hidden_sum, min));
            if exposed {
                // Hide the smallest published part (non-zero first), else the total.
                let next = parts
                    .iter()
                    .copied()
                    .filter(|&p| shown[p])
                    .min_by_key(|&p| (values[p] == 0, values[p]));
                match next {
                    Some(p) => shown[p] = false,
                    None => shown[*total] = false,
                }
                changed = true;
            }
        }
        if !changed {
            return shown;
        }
    }
}

/// Re-derive what the published cells reveal and fail if any derivable count is small.
///
/// An attacker knows the published values and the relations. From them they can pin down a
/// hidden cell when its published lower and upper bounds meet, or when it is the only unknown
/// in a sum. Every value known that way, every difference of two known cells in a containment
/// pair, and the sum of the unknown parts of a sum with a known total must be 0 or ≥ `min`.
pub fn check_protected(
    values: &[u64],
    contains: &[(usize, usize)],
    sums: &[(usize, Vec<usize>)],
    shown: &[bool],
    min: u64,
) -> Result<(), String> {
    let mut known: Vec<Option<u64>> = values
        .iter()
        .zip(shown)
        .map(|(&v, &s)| s.then_some(v))
        .collect();
    loop {
        let mut changed = false;
        for y in 0..values.len() {
            if known[y].is_some() {
                continue;
            }
            let lo = contains
                .iter()
                .filter(|&&(x, _)| x == y)
                .filter_map(|&(_, sub)| known[sub])
                .max()
                .unwrap_or(0);
            let hi = contains
                .iter()
                .filter(|&&(_, sub)| sub == y)
                .filter_map(|&(x, _)| known[x])
                .min();
            if hi == Some(lo) {
                known[y] = Some(lo);
                changed = true;
            }
        }
        for (total, parts) in sums {
            let unknown: Vec<usize> = std::iter::once(*total)
                .chain(parts.iter().copied())
                .filter(|&i| known[i].is_none())
                .collect();
            if unknown.len() == 1 {
                let u = unknown[0];
                let known_parts: u64 = parts.iter().filter_map(|&p| known[p]).sum();
                known[u] = Some(if u == *total {
                    known_parts
                } else {
                    known[*total].unwrap_or(0).saturating_sub(known_parts)
                });
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    for (i, k) in known.iter().enumerate() {
        if let Some(v) = k {
            if small(*v, min) {
                return Err(format!("cell {i} = {v} is derivable"));
            }
            if *v != values[i] {
                return Err(format!("cell {i}: derived {v}, true {}", values[i]));
            }
        }
    }
    for &(x, y) in contains {
        if let (Some(a), Some(b)) = (known[x], known[y]) {
            if small(a.saturating_sub(b), min) {
                return Err(format!(
                    "cells {x} ⊇ {y}: the difference {} is derivable",
                    a - b
                ));
            }
        }
    }
    for (total, parts) in sums {
        if let Some(t) = known[*total] {
            let rest: u64 = t - parts.iter().filter_map(|&p| known[p]).sum::<u64>();
            if small(rest, min) {
                return Err(format!(
                    "sum {total}: the hidden parts add up to {rest}, which is derivable"
                ));
            }
        }
    }
    Ok(())
}

/// One published row of the key-measures table. `None` = suppressed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PublicRow {
    /// Agency code, or `ALL`.
    pub code: String,
    pub name: String,
    /// People with at least one interaction.
    pub people: Option<u64>,
    /// People with N or more interactions, one per threshold.
    pub counts: Vec<Option<u64>>,
    pub interactions: Option<u64>,
}

/// The key-measures table as the public may see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PublicMeasures {
    pub as_of: chrono::NaiveDate,
    pub window_days: u32,
    pub thresholds: Vec<u32>,
    pub min_cell: u64,
    pub rows: Vec<PublicRow>,
    pub all: PublicRow,
    /// Cells hidden (primary and complementary).
    pub suppressed: usize,
}

/// The cells of a key-measures table, with their relations, in a fixed layout:
/// rows = agencies then ALL; per row `people, t1.., tk`; then one interactions cell per row.
pub struct MeasureGrid {
    pub codes: Vec<String>,
    pub k: usize,
    pub values: Vec<u64>,
    pub contains: Vec<(usize, usize)>,
    pub sums: Vec<(usize, Vec<usize>)>,
}

impl MeasureGrid {
    pub fn from_measures(m: &KeyMeasures) -> MeasureGrid {
        let codes: Vec<String> = m.by_agency.keys().cloned().collect();
        let k = m.thresholds.len();
        let width = k + 1;
        let n_rows = codes.len() + 1;
        let cell = |r: usize, c: usize| r * width + c;
        let inter = |r: usize| n_rows * width + r;
        let mut values = vec![0u64; n_rows * width + n_rows];
        let row_counts = |code: &str| -> (u64, Vec<u64>, u64) {
            let counts = if code == ALL_AGENCIES {
                &m.all_agencies
            } else {
                &m.by_agency[code]
            };
            (
                m.people.get(code).copied().unwrap_or(0),
                m.thresholds
                    .iter()
                    .map(|t| counts.get(&t.to_string()).copied().unwrap_or(0))
                    .collect(),
                m.interactions.get(code).copied().unwrap_or(0),
            )
        };
        for (r, code) in codes
            .iter()
            .map(String::as_str)
            .chain(std::iter::once(ALL_AGENCIES))
            .enumerate()
        {
            let (people, counts, interactions) = row_counts(code);
            values[cell(r, 0)] = people;
            for (j, v) in counts.into_iter().enumerate() {
                values[cell(r, j + 1)] = v;
            }
            values[inter(r)] = interactions;
        }
        let all = codes.len();
        let mut contains = Vec::new();
        for r in 0..n_rows {
            for c in 0..width {
                for c2 in c + 1..width {
                    contains.push((cell(r, c), cell(r, c2)));
                }
            }
        }
        for a in 0..codes.len() {
            for c in 0..width {
                for c2 in c..width {
                    contains.push((cell(all, c), cell(a, c2)));
                }
            }
        }
        let sums = vec![(inter(all), (0..codes.len()).map(inter).collect())];
        MeasureGrid {
            codes,
            k,
            values,
            contains,
            sums,
        }
    }

    pub fn cell(&self, row: usize, col: usize) -> usize {
        row * (self.k + 1) + col
    }

    pub fn interactions(&self, row: usize) -> usize {
        (self.codes.len() + 1) * (self.k + 1) + row
    }
}

/// Suppress a key-measures table for publication. `agencies` gives display names (and order).
pub fn public_measures(m: &KeyMeasures, agencies: &[Agency], min: u64) -> PublicMeasures {
    let g = MeasureGrid::from_measures(m);
    let shown = protect(&g.values, &g.contains, &g.sums, min);
    let pick = |i: usize| shown[i].then_some(g.values[i]);
    let names: BTreeMap<&str, &str> = agencies
        .iter()
        .map(|a| (a.code.as_str(), a.name.as_str()))
        .collect();
    let make_row = |r: usize, code: &str, name: String| PublicRow {
        code: code.to_string(),
        name,
        people: pick(g.cell(r, 0)),
        counts: (1..=g.k).map(|c| pick(g.cell(r, c))).collect(),
        interactions: pick(g.interactions(r)),
    };
    let mut rows: Vec<PublicRow> = g
        .codes
        .iter()
        .enumerate()
        .map(|(r, code)| {
            make_row(
                r,
                code,
                names
                    .get(code.as_str())
                    .unwrap_or(&code.as_str())
                    .to_string(),
            )
        })
        .collect();
    // Agencies in the store's order (the seed's), unknown ones last.
    let order: BTreeMap<&str, usize> = agencies
        .iter()
        .enumerate()
        .map(|(i, a)| (a.code.as_str(), i))
        .collect();
    rows.sort_by_key(|r| {
        (
            order.get(r.code.as_str()).copied().unwrap_or(usize::MAX),
            r.code.clone(),
        )
    });
    let all = make_row(g.codes.len(), ALL_AGENCIES, "All agencies".to_string());
    PublicMeasures {
        as_of: m.as_of,
        window_days: m.window_days,
        thresholds: m.thresholds.clone(),
        min_cell: min,
        rows,
        all,
        suppressed: shown.iter().filter(|s| !**s).count(),
    }
}

/// Primary suppression for a series with no published total (the monthly chart).
pub fn suppress_series(values: &[u64], min: u64) -> Vec<Option<u64>> {
    values
        .iter()
        .map(|&v| (!small(v, min)).then_some(v))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use proptest::prelude::*;

    /// Build a KeyMeasures from per-person per-agency counts, the way the engine counts.
    pub(crate) fn measures_from_people(
        agencies: &[&str],
        people: &[Vec<u64>],
        thresholds: &[u32],
        interactions: &[u64],
    ) -> KeyMeasures {
        let mut by_agency = BTreeMap::new();
        let mut people_map = BTreeMap::new();
        let mut inter = BTreeMap::new();
        for (a, code) in agencies.iter().enumerate() {
            let mut row = BTreeMap::new();
            for &t in thresholds {
                row.insert(
                    t.to_string(),
                    people.iter().filter(|p| p[a] >= u64::from(t)).count() as u64,
                );
            }
            by_agency.insert(code.to_string(), row);
            people_map.insert(
                code.to_string(),
                people.iter().filter(|p| p[a] > 0).count() as u64,
            );
            inter.insert(code.to_string(), interactions[a]);
        }
        let mut all = BTreeMap::new();
        for &t in thresholds {
            all.insert(
                t.to_string(),
                people
                    .iter()
                    .filter(|p| p.iter().sum::<u64>() >= u64::from(t))
                    .count() as u64,
            );
        }
        people_map.insert(
            ALL_AGENCIES.to_string(),
            people.iter().filter(|p| p.iter().sum::<u64>() > 0).count() as u64,
        );
        inter.insert(ALL_AGENCIES.to_string(), interactions.iter().sum());
        KeyMeasures {
            as_of: NaiveDate::from_ymd_opt(2025, 6, 30).unwrap(),
            window_days: 365,
            thresholds: thresholds.to_vec(),
            by_agency,
            all_agencies: all,
            interactions: inter,
            people: people_map,
            share: BTreeMap::new(),
        }
    }

    fn check(m: &KeyMeasures, min: u64) -> Vec<bool> {
        let g = MeasureGrid::from_measures(m);
        let shown = protect(&g.values, &g.contains, &g.sums, min);
        check_protected(&g.values, &g.contains, &g.sums, &shown, min)
            .unwrap_or_else(|e| panic!("{e}\nvalues {:?}\nshown {:?}", g.values, shown));
        shown
    }

    #[test]
    fn a_row_with_one_small_top_cell() {
        // One agency row: people 200, 5+ 74, 10+ 19, 20+ 8, 40+ 4 (the seed's HEART figures).
        let values = vec![200, 74, 19, 8, 4];
        let contains: Vec<(usize, usize)> = (0..5)
            .flat_map(|a| (a + 1..5).map(move |b| (a, b)))
            .collect();
        let shown = protect(&values, &contains, &[], 11);
        // 8 and 4 are small; 19 − 0 is fine; 74 − 19 = 55 fine.
        assert_eq!(shown, vec![true, true, true, false, false]);
        check_protected(&values, &contains, &[], &shown, 11).unwrap();
    }

    #[test]
    fn a_small_band_between_two_large_cells_is_hidden() {
        // 10+ = 30 and 20+ = 25: 5 people have 10-19, a small cell that subtraction would show.
        let values = vec![300, 60, 30, 25, 12];
        let contains: Vec<(usize, usize)> = (0..5)
            .flat_map(|a| (a + 1..5).map(move |b| (a, b)))
            .collect();
        let shown = protect(&values, &contains, &[], 11);
        assert!(shown[2], "10+ stays");
        assert!(!shown[3], "20+ hidden: 30 − 25 = 5");
        // 40+ = 12 is not small, 30 − 12 = 18 fine, 25 − 12 = 13 (25 is hidden anyway).
        assert!(shown[4]);
        check_protected(&values, &contains, &[], &shown, 11).unwrap();
    }

    #[test]
    fn a_hidden_total_part_is_not_recoverable_by_subtraction() {
        // Interactions: total 1000 = 600 + 395 + 5. Hiding the 5 alone would let 1000−600−395
        // reveal it; the next smallest part must go too.
        let values = vec![1000, 600, 395, 5];
        let sums = vec![(0, vec![1, 2, 3])];
        let shown = protect(&values, &[], &sums, 11);
        assert_eq!(shown, vec![true, true, false, false]);
        check_protected(&values, &[], &sums, &shown, 11).unwrap();
        // Two small parts that add up to a small number: a third part must go.
        let values = vec![1000, 600, 391, 4, 5];
        let sums = vec![(0, vec![1, 2, 3, 4])];
        let shown = protect(&values, &[], &sums, 11);
        assert_eq!(shown, vec![true, true, false, false, false]);
        check_protected(&values, &[], &sums, &shown, 11).unwrap();
    }

    #[test]
    fn the_checker_catches_unprotected_tables() {
        let values = vec![300, 60, 30, 25];
        let contains: Vec<(usize, usize)> = (0..4)
            .flat_map(|a| (a + 1..4).map(move |b| (a, b)))
            .collect();
        assert!(check_protected(&values, &contains, &[], &[true; 4], 11).is_err());
        let values = vec![1000, 600, 395, 5];
        let sums = vec![(0, vec![1, 2, 3])];
        assert!(check_protected(&values, &[], &sums, &[true, true, true, false], 11).is_err());
    }

    /// A county where HEART and DCSD have a handful of frequent users: those cells are hidden
    /// and no published cell, difference or total gives them away.
    #[test]
    fn a_county_with_small_cells() {
        let agencies = ["DECC", "DPD", "DFD", "DCSD", "HEART"];
        let mut people = Vec::new();
        // 400 light users spread over agencies.
        for i in 0..400u64 {
            let mut p = vec![0; 5];
            p[(i % 5) as usize] = 1 + i % 3;
            people.push(p);
        }
        // 40 people with 5-9 DECC calls, 15 with 10-19, 12 with 20-39, 3 with 40+.
        for (n, c) in [(40, 6), (15, 12), (12, 25), (3, 45)] {
            for _ in 0..n {
                people.push(vec![c, 0, 0, 0, 0]);
            }
        }
        // HEART: 7 people with 5+, 2 of them 10+.
        for c in [5, 6, 6, 7, 8, 11, 14] {
            people.push(vec![0, 0, 0, 0, c]);
        }
        // DCSD: 12 people with 5+ bookings, one of them 10+ (12 − 1 is not small but 1 is).
        for c in [5, 5, 5, 5, 6, 6, 6, 7, 7, 8, 9, 10] {
            people.push(vec![0, 0, 0, c, 0]);
        }
        let m = measures_from_people(
            &agencies,
            &people,
            &[5, 10, 20, 40],
            &[5000, 3000, 2000, 300, 7],
        );
        let shown = check(&m, 11);
        let p = public_measures(&m, &[], 11);
        let heart = p.rows.iter().find(|r| r.code == "HEART").unwrap();
        assert_eq!(
            heart.counts,
            vec![None, None, Some(0), Some(0)],
            "HEART 5+ = 7, 10+ = 2 hidden"
        );
        assert_eq!(heart.interactions, None, "7 interactions is small");
        let dcsd = p.rows.iter().find(|r| r.code == "DCSD").unwrap();
        assert_eq!(dcsd.counts[1], None, "DCSD 10+ = 1 hidden");
        assert_eq!(dcsd.counts[0], Some(12));
        let decc = p.rows.iter().find(|r| r.code == "DECC").unwrap();
        assert_eq!(decc.counts[3], None, "DECC 40+ = 3 hidden");
        // With HEART's 7 interactions hidden, one more agency total is hidden (the smallest,
        // DCSD's 300), so the across-agency total cannot give HEART's away.
        assert_eq!(dcsd.interactions, None);
        assert_eq!(p.all.interactions, Some(10307));
        // All-agency 5+ includes HEART's and DCSD's people; its published value is fine, but
        // all(40+) = 3 is small and hidden.
        assert_eq!(p.all.counts[3], None);
        assert!(shown.iter().filter(|s| !**s).count() >= 6);
        // Nothing published is in 1..=10.
        for r in p.rows.iter().chain(std::iter::once(&p.all)) {
            for v in r
                .counts
                .iter()
                .chain([&r.people, &r.interactions])
                .flatten()
            {
                assert!(*v == 0 || *v >= 11, "{} published {v}", r.code);
            }
        }
    }

    #[test]
    fn a_min_cell_of_one_publishes_everything() {
        let m = measures_from_people(&["A"], &[vec![3], vec![7]], &[5], &[10]);
        let p = public_measures(&m, &[], 1);
        assert_eq!(p.suppressed, 0);
        assert_eq!(p.rows[0].counts, vec![Some(1)]);
    }

    #[test]
    fn series_suppression_hides_small_months_only() {
        assert_eq!(
            suppress_series(&[0, 3, 11, 40], 11),
            vec![Some(0), None, Some(11), Some(40)]
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]
        /// Random small counties: whatever is published, nothing small can be derived.
        #[test]
        fn random_counties_are_protected(
            people in proptest::collection::vec(
                proptest::collection::vec(prop_oneof![3 => Just(0u64), 2 => 1u64..8, 1 => 5u64..60], 3),
                0..120,
            ),
            interactions in proptest::collection::vec(0u64..400, 3),
            min in prop_oneof![Just(11u64), Just(5u64), 2u64..30],
        ) {
            let m = measures_from_people(&["A", "B", "C"], &people, &[5, 10, 20, 40], &interactions);
            let g = MeasureGrid::from_measures(&m);
            let shown = protect(&g.values, &g.contains, &g.sums, min);
            prop_assert!(check_protected(&g.values, &g.contains, &g.sums, &shown, min).is_ok(),
                "{:?}", check_protected(&g.values, &g.contains, &g.sums, &shown, min));
            // Never hides more than needed to be safe trivially: zero tables stay fully shown.
            if g.values.iter().all(|&v| v == 0) {
                prop_assert!(shown.iter().all(|s| *s));
            }
        }
    }
}
