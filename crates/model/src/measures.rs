//! The key-measures table: the seed's "74 neighbors 5 or more times, 19 10 or more, ...".
//!
//! # Counting rules (in full, with bed-days, costs and places: `docs/counting.md`)
//!
//! - The window is `window_days` local calendar days ending on `as_of`, inclusive:
//!   `as_of - window_days < local_date <= as_of`. `local_date` is the interaction's start in its
//!   source's time zone.
//! - A person's count for an agency is the number of distinct interactions `(source, event_key)`
//!   of that agency in the window in which the person is involved in any role (caller, subject,
//!   patient, ...). Interactions naming nobody count toward the agency's total, never a person.
//! - `all_agencies` sums each person's per-agency counts, then applies the thresholds.
//! - A jail booking counts once, by its booking date; its bed-days are reported separately.
//!   Interactions during a jail stay are counted like any other (the synthetic county makes none).
//! - `by_agency` lists every agency the store knows (the defaults plus configured ones), with
//!   zeros where no one qualifies, so the table has the same shape every month.
//! - `share` is the fraction of the agency's interactions in the window that involve at least one
//!   person at or above the threshold (rounded to 4 decimals).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Default thresholds, from the seed.
pub const DEFAULT_THRESHOLDS: [u32; 4] = [5, 10, 20, 40];
/// Default window, from the seed ("in the past calendar year").
pub const DEFAULT_WINDOW_DAYS: u32 = 365;
/// The key used for the across-agencies row in `interactions` and `share`.
pub const ALL_AGENCIES: &str = "ALL";

/// People at or above each threshold, keyed by the threshold written as a string ("5").
pub type ThresholdCounts = BTreeMap<String, u64>;

/// What `familiar measures --json` prints and `truth/expected_measures.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyMeasures {
    pub as_of: NaiveDate,
    pub window_days: u32,
    pub thresholds: Vec<u32>,
    /// Agency code → threshold → number of people.
    pub by_agency: BTreeMap<String, ThresholdCounts>,
    /// Threshold → number of people, counting every agency together.
    pub all_agencies: ThresholdCounts,
    /// Agency code (and "ALL") → interactions in the window.
    pub interactions: BTreeMap<String, u64>,
    /// Agency code (and "ALL") → distinct people with at least one interaction in the window.
    pub people: BTreeMap<String, u64>,
    /// Agency code (and "ALL") → threshold → share of interactions involving those people.
    pub share: BTreeMap<String, BTreeMap<String, f64>>,
}

/// Window test shared by every implementation of the counting rules.
pub fn in_window(date: NaiveDate, as_of: NaiveDate, window_days: u32) -> bool {
    date <= as_of && (as_of - date).num_days() < i64::from(window_days)
}

/// Round a share the way every producer of [`KeyMeasures`] must.
pub fn round_share(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_is_inclusive_of_as_of_and_exactly_window_days_long() {
        let as_of = NaiveDate::from_ymd_opt(2025, 6, 30).unwrap();
        let days: Vec<_> = (0..400)
            .map(|i| as_of - chrono::Duration::days(i))
            .filter(|d| in_window(*d, as_of, 365))
            .collect();
        assert_eq!(days.len(), 365);
        assert_eq!(days[0], as_of);
        assert!(!in_window(as_of + chrono::Duration::days(1), as_of, 365));
    }
}
