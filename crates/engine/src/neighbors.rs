//! Per-person statistics for a window — the table every ranked list and selection rule reads —
//! and the ranked list itself.
//!
//! `person_stats` (registered in the session by [`person_stats`]) has one row per person with
//! at least one interaction in the window:
//!
//! | column | meaning |
//! |---|---|
//! | `person_id` | stable person id |
//! | `total` | distinct interactions, every agency |
//! | `agencies` | distinct agencies |
//! | `"a_CODE"` | distinct interactions with agency CODE (one column per agency) |
//! | `"k_kind"` | distinct interactions of each kind (`k_jail_booking`, `k_crisis_response`, ...) |
//! | `first_contact`, `last_contact` | dates, within the window |
//! | `recent_90`, `prior_90` | interactions in the last 90 days of the window, and the 90 before |
//! | `bed_days` | jail bed-days of bookings in the window (booking date to release or as-of) |
//! | `cost_variable`, `cost_step_fixed`, `cost_fixed`, `cost_total` | unit costs of those interactions |
//! | `mental_health`, `substance_use`, `housing_instability` | any record up to as-of flags it |

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate, NaiveTime};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::prelude::SessionContext;
use familiar_model::InteractionKind;
use serde::Serialize;

use crate::costs::{cost_expr, CostConfig};
use crate::measures::window_predicate;
use crate::query::{bools, f64s, i64s, materialize, run, strings};
use crate::Result;

/// The statistics' window and prices.
#[derive(Debug, Clone)]
pub struct StatsOptions {
    pub as_of: NaiveDate,
    pub window_days: u32,
    pub costs: CostConfig,
}

/// Agency codes of the snapshot, in code order.
pub async fn agency_codes(ctx: &SessionContext) -> Result<Vec<String>> {
    Ok(strings(
        &run(ctx, "SELECT code FROM agencies ORDER BY code").await?,
        "code",
    )?
    .into_iter()
    .flatten()
    .collect())
}

/// The kinds every `k_` column is made for.
pub fn kinds() -> Vec<&'static str> {
    InteractionKind::ALL.iter().map(|k| k.as_str()).collect()
}

/// Quote an identifier for SQL (agency codes are validated, but quote anyway).
pub fn ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// Jail bed-days of a booking (alias `t` of `interactions`): from booking to release, or to the
/// end of the as-of day while still in custody; at least 1. Other kinds: 0.
pub fn bed_days_expr(t: &str, as_of: NaiveDate) -> String {
    let hi = (as_of + Duration::days(1))
        .and_time(NaiveTime::MIN)
        .and_utc()
        .timestamp();
    format!(
        "CASE WHEN {t}.kind = 'jail_booking' \
           THEN GREATEST(1, CAST(CEIL(CAST(LEAST(COALESCE({t}.end_utc, {hi}), {hi}) - {t}.start_utc AS DOUBLE) / 86400.0) AS BIGINT)) \
           ELSE 0 END"
    )
}

/// Register `x` (distinct person × interaction in the window, with the interaction's kind,
/// agency, date and bed-days) and `person_stats` in `ctx`.
pub async fn person_stats(ctx: &SessionContext, o: &StatsOptions) -> Result<Vec<String>> {
    let agencies = agency_codes(ctx).await?;
    o.costs.register(ctx, &agencies)?;
    let w = window_predicate("local_date", o.as_of, o.window_days);
    materialize(
        ctx,
        "x",
        &format!(
            "SELECT p.person, p.person_id, i.interaction, i.agency, i.kind, i.local_date,
                    i.transported,
                    {} AS bed_days
             FROM (SELECT DISTINCT person, person_id, interaction FROM involvements
                   WHERE person IS NOT NULL AND {w}) p
             JOIN interactions i ON p.interaction = i.interaction",
            bed_days_expr("i", o.as_of)
        ),
    )
    .await?;
    let r90 = o.as_of - Duration::days(90);
    let r180 = o.as_of - Duration::days(180);
    let mut cols = vec![
        "person, person_id, COUNT(*) AS total, COUNT(DISTINCT agency) AS agencies".to_string(),
        "MIN(local_date) AS first_contact, MAX(local_date) AS last_contact".into(),
        format!("SUM(CASE WHEN local_date > DATE '{r90}' THEN 1 ELSE 0 END) AS recent_90"),
        format!(
            "SUM(CASE WHEN local_date > DATE '{r180}' AND local_date <= DATE '{r90}' THEN 1 ELSE 0 END) AS prior_90"
        ),
        "SUM(bed_days) AS bed_days".into(),
    ];
    for a in &agencies {
        cols.push(format!(
            "SUM(CASE WHEN agency = '{a}' THEN 1 ELSE 0 END) AS {}",
            ident(&format!("a_{a}"))
        ));
    }
    for k in kinds() {
        cols.push(format!(
            "SUM(CASE WHEN kind = '{k}' THEN 1 ELSE 0 END) AS k_{k}"
        ));
    }
    let counts = format!(
        "SELECT {} FROM x GROUP BY person, person_id",
        cols.join(", ")
    );
    let costs = format!(
        "SELECT x.person, SUM({}) AS v, SUM({}) AS s, SUM({}) AS f
         FROM x LEFT JOIN unit_costs c ON c.agency = x.agency AND c.kind = x.kind
         GROUP BY x.person",
        cost_expr("variable"),
        cost_expr("step_fixed"),
        cost_expr("fixed")
    );
    let needs = format!(
        "SELECT person, BOOL_OR(mental_health) AS mh, BOOL_OR(substance_use) AS su,
                BOOL_OR(housing_instability) AS hi
         FROM involvements WHERE person IS NOT NULL AND local_date <= DATE '{}' GROUP BY person",
        o.as_of
    );
    materialize(
        ctx,
        "person_stats",
        &format!(
            "SELECT n.*, COALESCE(c.v, 0.0) AS cost_variable, COALESCE(c.s, 0.0) AS cost_step_fixed,
                    COALESCE(c.f, 0.0) AS cost_fixed,
                    COALESCE(c.v, 0.0) + COALESCE(c.s, 0.0) + COALESCE(c.f, 0.0) AS cost_total,
                    COALESCE(d.mh, false) AS mental_health, COALESCE(d.su, false) AS substance_use,
                    COALESCE(d.hi, false) AS housing_instability
             FROM ({counts}) n LEFT JOIN ({costs}) c ON n.person = c.person
                              LEFT JOIN ({needs}) d ON n.person = d.person"
        ),
    )
    .await?;
    Ok(agencies)
}

/// One person's row of `person_stats`, read back.
#[derive(Debug, Clone, Serialize)]
pub struct PersonStats {
    pub person_id: String,
    pub interactions: u64,
    pub by_agency: BTreeMap<String, u64>,
    pub by_kind: BTreeMap<String, u64>,
    pub distinct_agencies: u64,
    pub first_contact: Option<String>,
    pub last_contact: Option<String>,
    pub trend: Trend,
    pub jail_bed_days: u64,
    pub cost: Cost,
    pub needs: Vec<&'static str>,
}

/// Interactions in the last 90 days of the window against the 90 days before.
#[derive(Debug, Clone, Serialize)]
pub struct Trend {
    pub last_90_days: u64,
    pub previous_90_days: u64,
    /// "up", "down" or "flat".
    pub direction: &'static str,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Cost {
    /// Cash that would be saved if these interactions did not happen.
    pub variable: f64,
    /// Capacity (staff) freed, not cash.
    pub step_fixed: f64,
    /// Capacity (buildings, administration) freed, not cash.
    pub fixed: f64,
    pub total: f64,
}

fn cents(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// `person_stats` rows from batches already read (every column of `person_stats` present).
pub fn read_stats(b: &[RecordBatch], agencies: &[String]) -> Result<Vec<PersonStats>> {
    let ids = strings(b, "person_id")?;
    let total = i64s(b, "total")?;
    let distinct = i64s(b, "agencies")?;
    let first = strings(b, "first_contact")?;
    let last = strings(b, "last_contact")?;
    let recent = i64s(b, "recent_90")?;
    let prior = i64s(b, "prior_90")?;
    let bed = i64s(b, "bed_days")?;
    let cv = f64s(b, "cost_variable")?;
    let cs = f64s(b, "cost_step_fixed")?;
    let cf = f64s(b, "cost_fixed")?;
    let mh = bools(b, "mental_health")?;
    let su = bools(b, "substance_use")?;
    let hi = bools(b, "housing_instability")?;
    let mut per_agency = Vec::new();
    for a in agencies {
        per_agency.push((a.clone(), i64s(b, &format!("a_{a}"))?));
    }
    let mut per_kind = Vec::new();
    for k in kinds() {
        per_kind.push((k.to_string(), i64s(b, &format!("k_{k}"))?));
    }
    let u = |v: Option<i64>| v.unwrap_or(0).max(0) as u64;
    Ok((0..ids.len())
        .map(|i| {
            let (r, p) = (u(recent[i]), u(prior[i]));
            let mut needs = Vec::new();
            if mh[i] == Some(true) {
                needs.push("mental_health");
            }
            if su[i] == Some(true) {
                needs.push("substance_use");
            }
            if hi[i] == Some(true) {
                needs.push("housing_instability");
            }
            let (v, s, f) = (
                cv[i].unwrap_or(0.0),
                cs[i].unwrap_or(0.0),
                cf[i].unwrap_or(0.0),
            );
            PersonStats {
                person_id: ids[i].clone().unwrap_or_default(),
                interactions: u(total[i]),
                by_agency: per_agency
                    .iter()
                    .filter(|(_, c)| u(c[i]) > 0)
                    .map(|(a, c)| (a.clone(), u(c[i])))
                    .collect(),
                by_kind: per_kind
                    .iter()
                    .filter(|(_, c)| u(c[i]) > 0)
                    .map(|(k, c)| (k.clone(), u(c[i])))
                    .collect(),
                distinct_agencies: u(distinct[i]),
                first_contact: first[i].clone(),
                last_contact: last[i].clone(),
                trend: Trend {
                    last_90_days: r,
                    previous_90_days: p,
                    direction: match r.cmp(&p) {
                        std::cmp::Ordering::Greater => "up",
                        std::cmp::Ordering::Less => "down",
                        std::cmp::Ordering::Equal => "flat",
                    },
                },
                jail_bed_days: u(bed[i]),
                cost: Cost {
                    variable: cents(v),
                    step_fixed: cents(s),
                    fixed: cents(f),
                    total: cents(v + s + f),
                },
                needs,
            }
        })
        .collect())
}

/// Competition ranks of values sorted from highest to lowest (9, 7, 7, 5 -> 1, 2, 2, 4): equal
/// values share the rank of the first of them. Every ranked list (CLI and web) numbers this way.
pub fn competition_ranks(sorted_desc: &[u64]) -> Vec<usize> {
    let mut out = Vec::with_capacity(sorted_desc.len());
    for (i, v) in sorted_desc.iter().enumerate() {
        let r = if i > 0 && sorted_desc[i - 1] == *v {
            out[i - 1]
        } else {
            i + 1
        };
        out.push(r);
    }
    out
}

#[cfg(test)]
mod rank_tests {
    use super::competition_ranks;
    use proptest::prelude::*;

    #[test]
    fn ties_share_the_first_rank() {
        assert_eq!(
            competition_ranks(&[9, 7, 7, 5, 5, 5, 2]),
            [1, 2, 2, 4, 4, 4, 7]
        );
        assert!(competition_ranks(&[]).is_empty());
    }

    proptest! {
        /// A rank is one more than the number of strictly larger values.
        #[test]
        fn rank_counts_the_larger_values(mut v in proptest::collection::vec(0u64..20, 0..50)) {
            v.sort_unstable_by(|a, b| b.cmp(a));
            let r = competition_ranks(&v);
            for (i, x) in v.iter().enumerate() {
                prop_assert_eq!(r[i], 1 + v.iter().filter(|y| *y > x).count());
            }
        }
    }
}
