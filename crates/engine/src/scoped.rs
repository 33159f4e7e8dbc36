//! Counts over the rows one viewer may see: the web's role-scoped lists.
//!
//! A case manager sees only the records of the persons assigned to them, an agency liaison only
//! their agency's records (never a 42 CFR Part 2 record when the agency is law enforcement). Every
//! count here is computed from the `involvements` rows such a [`RowScope`] lets through, so
//! nothing outside the scope reaches a number either; the counting rule is the engine's own (a
//! distinct interaction in the window, `docs/counting.md`).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use datafusion::arrow::record_batch::RecordBatch;
use familiar_model::NeedFlags;
use serde::Serialize;

use crate::measures::window_predicate;
use crate::neighbors::{agency_codes, competition_ranks, ident};
use crate::query::{bools, i64s, run, strings};
use crate::snapshot::Snapshot;
use crate::Result;

/// Which involvement rows may be counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowScope {
    /// Every row.
    All,
    /// Only rows linked to these person ids.
    Persons(Vec<String>),
    /// Only this agency's rows; without Part 2 records when `no_part2`.
    Agency { agency: String, no_part2: bool },
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// One column `"a_CODE"` per agency: `aggregate` with `{}` replaced by the quoted code.
fn per_agency(agencies: &[String], aggregate: &str) -> Vec<String> {
    agencies
        .iter()
        .map(|a| {
            format!(
                "{} AS {}",
                aggregate.replace("{}", &quote(a)),
                ident(&format!("a_{a}"))
            )
        })
        .collect()
}

/// Per agency, the `"a_CODE"` column of `b`.
fn agency_columns(
    b: &[RecordBatch],
    agencies: &[String],
) -> Result<Vec<(String, Vec<Option<i64>>)>> {
    agencies
        .iter()
        .map(|a| Ok((a.clone(), i64s(b, &format!("a_{a}"))?)))
        .collect()
}

impl RowScope {
    /// The SQL condition on `involvements` (alias `v`).
    fn predicate(&self) -> String {
        match self {
            RowScope::All => "TRUE".into(),
            RowScope::Persons(ps) if ps.is_empty() => "FALSE".into(),
            RowScope::Persons(ps) => {
                let list: Vec<String> = ps.iter().map(|p| quote(p)).collect();
                format!("v.person_id IN ({})", list.join(", "))
            }
            RowScope::Agency { agency, no_part2 } => {
                let mut p = format!("v.agency = {}", quote(agency));
                if *no_part2 {
                    p.push_str(" AND NOT v.part2");
                }
                p
            }
        }
    }
}

/// What to count: the window ending at `as_of`, optionally one agency's rows only, or one
/// person's.
#[derive(Debug, Clone)]
pub struct ScopedOptions {
    pub as_of: NaiveDate,
    pub window_days: u32,
    pub agency: Option<String>,
    pub person_id: Option<String>,
}

impl ScopedOptions {
    fn filter(&self, scope: &RowScope) -> String {
        let mut f = format!(
            "{} AND {}",
            scope.predicate(),
            window_predicate("v.local_date", self.as_of, self.window_days)
        );
        if let Some(a) = &self.agency {
            f.push_str(&format!(" AND v.agency = {}", quote(a)));
        }
        if let Some(p) = &self.person_id {
            f.push_str(&format!(" AND v.person_id = {}", quote(p)));
        }
        f
    }
}

/// One person's counts over the rows in scope.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PersonCount {
    pub person_id: String,
    /// Distinct interactions.
    pub total: u64,
    /// Distinct interactions per agency (agencies with none left out).
    pub by_agency: BTreeMap<String, u64>,
    /// Any row counted carries the flag.
    pub needs: NeedFlags,
    /// The latest date among the rows counted.
    pub last: Option<NaiveDate>,
}

/// Every linked person with at least one interaction in scope, by person id.
pub async fn person_counts(
    snap: &Snapshot,
    scope: &RowScope,
    o: &ScopedOptions,
) -> Result<Vec<PersonCount>> {
    let ctx = snap.context().await?;
    let agencies = agency_codes(&ctx).await?;
    let per_agency = per_agency(
        &agencies,
        "COUNT(DISTINCT CASE WHEN v.agency = {} THEN v.interaction END)",
    );
    let b = run(
        &ctx,
        &format!(
            "SELECT MIN(v.person_id) AS person_id, COUNT(DISTINCT v.interaction) AS total, {},
                    BOOL_OR(v.mental_health) AS mh, BOOL_OR(v.substance_use) AS su,
                    BOOL_OR(v.housing_instability) AS hi, MAX(v.local_date) AS last
             FROM involvements v
             WHERE v.person IS NOT NULL AND {}
             GROUP BY v.person ORDER BY person_id",
            per_agency.join(", "),
            o.filter(scope)
        ),
    )
    .await?;
    let ids = strings(&b, "person_id")?;
    let total = i64s(&b, "total")?;
    let (mh, su, hi) = (bools(&b, "mh")?, bools(&b, "su")?, bools(&b, "hi")?);
    let last = strings(&b, "last")?;
    let by = agency_columns(&b, &agencies)?;
    let count = |x: Option<i64>| x.unwrap_or(0).max(0) as u64;
    Ok(ids
        .into_iter()
        .enumerate()
        .filter_map(|(i, id)| {
            Some(PersonCount {
                person_id: id?,
                total: count(total[i]),
                by_agency: by
                    .iter()
                    .map(|(a, v)| (a.clone(), count(v[i])))
                    .filter(|(_, n)| *n > 0)
                    .collect(),
                needs: NeedFlags {
                    mental_health: mh[i].unwrap_or(false),
                    substance_use: su[i].unwrap_or(false),
                    housing_instability: hi[i].unwrap_or(false),
                },
                last: last[i].as_deref().and_then(|d| d.parse().ok()),
            })
        })
        .collect())
}

/// One incident location's counts over the rows in scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScopedPlace {
    /// Competition rank by interactions (ties share a rank).
    pub rank: usize,
    pub key: String,
    /// An address as a source wrote it.
    pub example: String,
    pub kind: String,
    /// Distinct interactions.
    pub interactions: u64,
    /// Distinct linked persons among the rows in scope.
    pub people: u64,
    /// Agencies with an interaction there, in code order.
    pub agencies: Vec<String>,
}

/// Incident locations (not "homeless") with at least `min_interactions` in scope, most first
/// (ties by key), at most `limit`. A place is the interaction's location, as `places::places`
/// counts it (the rows of one interaction share it), for the interactions with a row in scope.
pub async fn places(
    snap: &Snapshot,
    scope: &RowScope,
    o: &ScopedOptions,
    min_interactions: u64,
    limit: usize,
) -> Result<Vec<ScopedPlace>> {
    let ctx = snap.context().await?;
    let agencies = agency_codes(&ctx).await?;
    let per_agency = per_agency(&agencies, "MAX(CASE WHEN v.agency = {} THEN 1 ELSE 0 END)");
    let b = run(
        &ctx,
        &format!(
            "SELECT i.location_key AS key, MIN(i.location_text) AS example,
                    MIN(COALESCE(i.location_kind, 'street')) AS kind,
                    COUNT(DISTINCT v.interaction) AS interactions,
                    COUNT(DISTINCT v.person) AS people, {}
             FROM involvements v JOIN interactions i ON i.interaction = v.interaction
             WHERE i.location_key IS NOT NULL AND i.location_key <> ''
               AND COALESCE(i.location_kind, '') <> 'homeless' AND {}
             GROUP BY i.location_key
             HAVING COUNT(DISTINCT v.interaction) >= {min_interactions}
             ORDER BY interactions DESC, key LIMIT {limit}",
            per_agency.join(", "),
            o.filter(scope)
        ),
    )
    .await?;
    let keys = strings(&b, "key")?;
    let example = strings(&b, "example")?;
    let kind = strings(&b, "kind")?;
    let n = i64s(&b, "interactions")?;
    let people = i64s(&b, "people")?;
    let flags = agency_columns(&b, &agencies)?;
    let mut out: Vec<ScopedPlace> = keys
        .into_iter()
        .enumerate()
        .filter_map(|(i, k)| {
            let key = k?;
            Some(ScopedPlace {
                rank: 0,
                example: example[i].clone().unwrap_or_else(|| key.clone()),
                kind: kind[i].clone().unwrap_or_else(|| "street".into()),
                interactions: n[i].unwrap_or(0).max(0) as u64,
                people: people[i].unwrap_or(0).max(0) as u64,
                agencies: flags
                    .iter()
                    .filter(|(_, v)| v[i].unwrap_or(0) > 0)
                    .map(|(a, _)| a.clone())
                    .collect(),
                key,
            })
        })
        .collect();
    let totals: Vec<u64> = out.iter().map(|p| p.interactions).collect();
    for (p, r) in out.iter_mut().zip(competition_ranks(&totals)) {
        p.rank = r;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::test_row;
    use familiar_model::Agency;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn snap() -> Snapshot {
        // P1: two DPD rows of one incident, another DPD incident, a Part 2 HEART record;
        // P2: one HEART record; an unlinked DPD row at P1's corner
        let mut rows = vec![
            test_row(1, "DPD", "e1", d("2025-06-01"), Some("P1")),
            test_row(2, "DPD", "e1", d("2025-06-01"), Some("P1")),
            test_row(3, "DPD", "e2", d("2025-06-02"), Some("P1")),
            test_row(4, "HEART", "h1", d("2025-06-03"), Some("P1")),
            test_row(5, "HEART", "h2", d("2025-06-04"), Some("P2")),
            test_row(6, "DPD", "e3", d("2025-06-05"), None),
            test_row(7, "DPD", "e4", d("2023-01-05"), Some("P2")),
        ];
        rows[3].part2 = true;
        rows[3].needs = 2;
        for r in rows.iter_mut() {
            r.location_key = Some(
                if r.agency == "DPD" {
                    "MAIN & 5TH"
                } else {
                    "1 ELM ST"
                }
                .into(),
            );
            r.location_raw = r.location_key.clone();
        }
        rows[5].location_kind = Some("homeless".into());
        Snapshot::build(
            &[
                Agency::new("DPD", "Police", ""),
                Agency::new("HEART", "Crisis", ""),
            ],
            &rows,
            "test",
        )
    }

    fn opts(agency: Option<&str>) -> ScopedOptions {
        ScopedOptions {
            as_of: NaiveDate::from_ymd_opt(2025, 6, 30).unwrap(),
            window_days: 365,
            agency: agency.map(String::from),
            person_id: None,
        }
    }

    #[tokio::test]
    async fn counts_follow_the_scope() {
        let s = snap();
        let all = person_counts(&s, &RowScope::All, &opts(None))
            .await
            .unwrap();
        assert_eq!(all.len(), 2, "P2's 2023 record is outside the window");
        let p1 = &all[0];
        assert_eq!((p1.person_id.as_str(), p1.total), ("P1", 3));
        assert_eq!(p1.by_agency["DPD"], 2);
        assert!(p1.needs.substance_use);
        assert_eq!(p1.last, NaiveDate::from_ymd_opt(2025, 6, 3));
        // a police liaison: DPD rows only, no Part 2 record (none is DPD's here anyway)
        let le = RowScope::Agency {
            agency: "HEART".into(),
            no_part2: true,
        };
        let heart = person_counts(&s, &le, &opts(None)).await.unwrap();
        assert_eq!(heart.len(), 1, "P1's only HEART record is Part 2");
        assert_eq!(heart[0].person_id, "P2");
        // a case manager with P2 only
        let cm = RowScope::Persons(vec!["P2".into()]);
        let mine = person_counts(&s, &cm, &opts(None)).await.unwrap();
        assert_eq!(mine.len(), 1);
        assert_eq!(mine[0].by_agency.get("DPD"), None);
        // no persons: nothing
        let none = person_counts(&s, &RowScope::Persons(vec![]), &opts(None))
            .await
            .unwrap();
        assert!(none.is_empty());
        // one agency's rows
        let dpd = person_counts(&s, &RowScope::All, &opts(Some("DPD")))
            .await
            .unwrap();
        assert_eq!(dpd.len(), 1);
        assert_eq!(dpd[0].total, 2);
        assert!(!dpd[0].needs.substance_use);
        // one person's
        let one = ScopedOptions {
            person_id: Some("P2".into()),
            ..opts(None)
        };
        let p2 = person_counts(&s, &RowScope::All, &one).await.unwrap();
        assert_eq!(p2.len(), 1);
        assert_eq!(p2[0].by_agency.get("HEART"), Some(&1));
        // quotes in values are data, not SQL
        let odd = RowScope::Persons(vec!["P1' OR '1'='1".into()]);
        assert!(person_counts(&s, &odd, &opts(None))
            .await
            .unwrap()
            .is_empty());
    }

    #[tokio::test]
    async fn places_count_interactions_and_people_in_scope() {
        let s = snap();
        let all = places(&s, &RowScope::All, &opts(None), 1, 10)
            .await
            .unwrap();
        let keys: Vec<(&str, u64, u64)> = all
            .iter()
            .map(|p| (p.key.as_str(), p.interactions, p.people))
            .collect();
        // the homeless-kind row is no place; the corner has e1 and e2 (one person)
        assert_eq!(keys, [("1 ELM ST", 2, 2), ("MAIN & 5TH", 2, 1)]);
        assert_eq!(all[0].agencies, ["HEART"]);
        assert_eq!((all[0].rank, all[1].rank), (1, 1), "tied");
        let cm = RowScope::Persons(vec!["P2".into()]);
        let mine = places(&s, &cm, &opts(None), 1, 10).await.unwrap();
        assert_eq!(mine.len(), 1);
        assert_eq!((mine[0].interactions, mine[0].people), (1, 1));
        let busy = places(&s, &RowScope::All, &opts(None), 2, 1).await.unwrap();
        assert_eq!(busy.len(), 1);
    }
}
