//! Familiar places: locations ranked by responses in a window, with the responses per agency,
//! the distinct people named there, the commonest call types and the time span.
//!
//! Locations are grouped by the normalized address key ingest computes (see
//! `docs/sources.md`, "Addresses"): "123 Main St", "123 MAIN STREET APT 4" and "123 Main" share
//! the key `123 MAIN`, so a building's units count together. People experiencing homelessness
//! have no place key and are left out of this list.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;

use crate::measures::window_predicate;
use crate::neighbors::{agency_codes, ident};
use crate::query::{i64s, materialize, run, strings};
use crate::{Result, Snapshot};

#[derive(Debug, Clone)]
pub struct PlaceOptions {
    pub as_of: NaiveDate,
    pub window_days: u32,
    /// Only this agency's responses.
    pub agency: Option<String>,
    pub limit: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Place {
    pub rank: usize,
    /// The normalized address key the responses are grouped by.
    pub key: String,
    /// One address as an agency wrote it.
    pub example: String,
    /// street, shelter, group_home, business, intersection, ... as the source says.
    pub kind: String,
    pub responses: u64,
    pub by_agency: BTreeMap<String, u64>,
    pub distinct_people: u64,
    pub top_call_types: Vec<(String, u64)>,
    pub first: Option<String>,
    pub last: Option<String>,
}

pub async fn places(snap: &Snapshot, o: &PlaceOptions) -> Result<Vec<Place>> {
    let ctx = snap.context().await?;
    let agencies = agency_codes(&ctx).await?;
    let mut filter = window_predicate("local_date", o.as_of, o.window_days);
    if let Some(a) = &o.agency {
        filter.push_str(&format!(" AND agency = '{}'", a.replace('\'', "''")));
    }
    materialize(
        &ctx,
        "iw",
        &format!(
            "SELECT interaction, agency, location_key, location_text, location_kind, call_type,
                    local_date
             FROM interactions
             WHERE location_key IS NOT NULL AND COALESCE(location_kind, '') <> 'homeless'
               AND {filter}"
        ),
    )
    .await?;
    let per_agency: Vec<String> = agencies
        .iter()
        .map(|a| {
            format!(
                "SUM(CASE WHEN agency = '{a}' THEN 1 ELSE 0 END) AS {}",
                ident(&format!("a_{a}"))
            )
        })
        .collect();
    let b = run(
        &ctx,
        &format!(
            "WITH pl AS (
               SELECT location_key, COUNT(*) AS responses, MIN(local_date) AS first,
                      MAX(local_date) AS last, MIN(location_text) AS example,
                      MIN(location_kind) AS kind, {}
               FROM iw GROUP BY location_key),
             pp AS (
               SELECT iw.location_key, COUNT(DISTINCT v.person) AS people
               FROM iw JOIN involvements v ON v.interaction = iw.interaction
               WHERE v.person IS NOT NULL GROUP BY iw.location_key)
             SELECT pl.*, COALESCE(pp.people, 0) AS people
             FROM pl LEFT JOIN pp ON pl.location_key = pp.location_key
             ORDER BY responses DESC, pl.location_key LIMIT {}",
            per_agency.join(", "),
            o.limit
        ),
    )
    .await?;
    let keys = strings(&b, "location_key")?;
    let responses = i64s(&b, "responses")?;
    let people = i64s(&b, "people")?;
    let first = strings(&b, "first")?;
    let last = strings(&b, "last")?;
    let example = strings(&b, "example")?;
    let kind = strings(&b, "kind")?;
    let mut by: Vec<(String, Vec<Option<i64>>)> = Vec::new();
    for a in &agencies {
        by.push((a.clone(), i64s(&b, &format!("a_{a}"))?));
    }
    // Call types for the listed places only.
    let mut calls: BTreeMap<String, Vec<(String, u64)>> = BTreeMap::new();
    if !keys.is_empty() {
        let list: Vec<String> = keys
            .iter()
            .flatten()
            .map(|k| format!("'{}'", k.replace('\'', "''")))
            .collect();
        let c = run(
            &ctx,
            &format!(
                "SELECT location_key, call_type, COUNT(*) AS n FROM iw
                 WHERE call_type IS NOT NULL AND location_key IN ({})
                 GROUP BY location_key, call_type ORDER BY location_key, n DESC, call_type",
                list.join(", ")
            ),
        )
        .await?;
        for ((k, t), n) in strings(&c, "location_key")?
            .into_iter()
            .zip(strings(&c, "call_type")?)
            .zip(i64s(&c, "n")?)
        {
            let e = calls.entry(k.unwrap_or_default()).or_default();
            if e.len() < 3 {
                e.push((t.unwrap_or_default(), n.unwrap_or(0) as u64));
            }
        }
    }
    let ranks = crate::neighbors::competition_ranks(
        &responses
            .iter()
            .map(|r| r.unwrap_or(0) as u64)
            .collect::<Vec<_>>(),
    );
    Ok((0..keys.len())
        .map(|i| {
            let key = keys[i].clone().unwrap_or_default();
            Place {
                rank: ranks[i],
                example: example[i].clone().unwrap_or_else(|| key.clone()),
                kind: kind[i].clone().unwrap_or_else(|| "street".into()),
                responses: responses[i].unwrap_or(0) as u64,
                by_agency: by
                    .iter()
                    .filter_map(|(a, c)| c[i].filter(|n| *n > 0).map(|n| (a.clone(), n as u64)))
                    .collect(),
                distinct_people: people[i].unwrap_or(0) as u64,
                top_call_types: calls.remove(&key).unwrap_or_default(),
                first: first[i].clone(),
                last: last[i].clone(),
                key,
            }
        })
        .collect())
}
