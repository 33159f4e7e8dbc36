//! `familiar top` and `familiar places`: the ranked lists of familiar neighbors and familiar
//! places. (They share the web workspace's computations in `familiar_web::data` until the
//! engine grows its own — see the familiar-neighbors issue.)

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Result};
use familiar_web::data::{self, ListQuery, Scope, Snapshot};
use serde::Serialize;

#[derive(clap::Args)]
pub struct TopArgs {
    /// Rank by this agency's interactions only (default: all agencies together).
    #[arg(long)]
    pub agency: Option<String>,
    /// How many people to list.
    #[arg(long, default_value_t = 25)]
    pub limit: usize,
    /// Window length in days ending at the newest interaction, e.g. `365d`.
    #[arg(long, default_value = "365d")]
    pub window: String,
    /// Only people with at least this many interactions in the window.
    #[arg(long, default_value_t = 1)]
    pub min: u32,
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args)]
pub struct PlacesArgs {
    #[arg(long)]
    pub agency: Option<String>,
    #[arg(long, default_value_t = 25)]
    pub limit: usize,
    #[arg(long, default_value = "365d")]
    pub window: String,
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct TopPerson {
    rank: usize,
    person_id: String,
    interactions: u64,
    by_agency: BTreeMap<String, u64>,
    distinct_agencies: usize,
    needs: Vec<&'static str>,
    last_contact: Option<chrono::NaiveDate>,
    /// Why this person is on the list, in words and numbers.
    qualification: String,
}

#[derive(Serialize)]
struct TopOutput {
    people: Vec<TopPerson>,
    as_of: Option<chrono::NaiveDate>,
    window_days: u32,
    agency: Option<String>,
    min_interactions: u32,
}

async fn snapshot(db: &Path) -> Result<Snapshot> {
    let store = super::open_existing(db).await?;
    Snapshot::load(&store, chrono::Utc::now().timestamp()).await
}

pub async fn top(db: &Path, a: TopArgs) -> Result<()> {
    let snap = snapshot(db).await?;
    let f = ListQuery {
        agency: a.agency.clone(),
        window: Some(a.window.clone()),
        threshold: Some(a.min.to_string()),
    }
    .validate(&snap, a.min)
    .or_else(|e| bail!("{e}"))?;
    let list = data::neighbors(&snap, &Scope::All, &f);
    let scope = f.agency.as_deref().unwrap_or("all agencies");
    let people: Vec<TopPerson> = list
        .rows
        .into_iter()
        .take(a.limit)
        .map(|r| {
            let by_agency: BTreeMap<String, u64> = list
                .agencies
                .iter()
                .cloned()
                .zip(r.counts.iter().copied())
                .filter(|(_, n)| *n > 0)
                .collect();
            let parts: Vec<String> = by_agency.iter().map(|(k, v)| format!("{k} {v}")).collect();
            TopPerson {
                rank: r.rank,
                qualification: format!(
                    "rank {} by interactions with {scope}: {} in the {} days ending {} ({}), at least {} required",
                    r.rank,
                    r.total,
                    f.window,
                    list.as_of.map(|d| d.to_string()).unwrap_or_default(),
                    parts.join(", "),
                    f.threshold
                ),
                distinct_agencies: by_agency.len(),
                person_id: r.person_id,
                interactions: r.total,
                by_agency,
                needs: r.needs,
                last_contact: r.last,
            }
        })
        .collect();
    let out = TopOutput {
        people,
        as_of: list.as_of,
        window_days: f.window,
        agency: f.agency.clone(),
        min_interactions: f.threshold,
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!(
        "{:>4}  {:<10} {:>6}  {:<40} needs",
        "rank", "person", "total", "by agency"
    );
    for p in &out.people {
        let by: Vec<String> = p
            .by_agency
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        println!(
            "{:>4}  {:<10} {:>6}  {:<40} {}",
            p.rank,
            p.person_id,
            p.interactions,
            by.join(", "),
            p.needs.join(", ")
        );
    }
    Ok(())
}

pub async fn places(db: &Path, a: PlacesArgs) -> Result<()> {
    let snap = snapshot(db).await?;
    let f = ListQuery {
        agency: a.agency.clone(),
        window: Some(a.window.clone()),
        threshold: Some("1".into()),
    }
    .validate(&snap, 1)
    .or_else(|e| bail!("{e}"))?;
    let mut rows = data::places(&snap, &Scope::All, &f);
    rows.truncate(a.limit);
    if a.json {
        #[derive(Serialize)]
        struct Out {
            places: Vec<data::PlaceRow>,
            as_of: Option<chrono::NaiveDate>,
            window_days: u32,
        }
        println!(
            "{}",
            serde_json::to_string_pretty(&Out {
                places: rows,
                as_of: snap.latest,
                window_days: f.window,
            })?
        );
        return Ok(());
    }
    println!(
        "{:>4}  {:<36} {:<12} {:>12} {:>7}  agencies",
        "rank", "place", "kind", "interactions", "people"
    );
    for p in rows {
        println!(
            "{:>4}  {:<36} {:<12} {:>12} {:>7}  {}",
            p.rank,
            p.key,
            p.kind,
            p.interactions,
            p.people,
            p.agencies.join(", ")
        );
    }
    Ok(())
}
