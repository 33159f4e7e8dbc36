//! `familiar measures`

use std::path::Path;

use anyhow::{bail, Context, Result};
use chrono::NaiveDate;
use familiar_engine::{key_measures, Facts, MeasureOptions};
use familiar_model::measures::{KeyMeasures, DEFAULT_THRESHOLDS, DEFAULT_WINDOW_DAYS};
use familiar_store::Store;

use crate::output;

#[derive(clap::Args)]
pub struct Args {
    /// Last day of the window (default: the newest interaction date in the store).
    #[arg(long)]
    pub as_of: Option<NaiveDate>,
    /// Window length, e.g. `365d` or `365`.
    #[arg(long, default_value = "365d", value_parser = parse_window)]
    pub window: u32,
    /// Thresholds, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = DEFAULT_THRESHOLDS.to_vec())]
    pub thresholds: Vec<u32>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub fn parse_window(s: &str) -> Result<u32, String> {
    let t = s.trim().trim_end_matches('d');
    match t.parse::<u32>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!(
            "window must be a number of days like 365d, got {s:?}"
        )),
    }
}

/// Load every involvement with its person into the engine's fact table.
pub async fn load_facts(store: &dyn Store) -> Result<Facts> {
    let mut facts = Facts::new();
    for a in store.agencies().await? {
        facts.declare_agency(&a.code);
    }
    for r in store.interaction_rows().await? {
        facts.push(
            &r.agency,
            &r.source,
            &r.event_key,
            r.local_date,
            r.person_id.as_deref(),
        );
    }
    Ok(facts)
}

pub async fn compute(
    store: &dyn Store,
    as_of: Option<NaiveDate>,
    window: u32,
    thresholds: Vec<u32>,
) -> Result<KeyMeasures> {
    if thresholds.is_empty() {
        bail!("at least one threshold is needed");
    }
    let facts = load_facts(store).await?;
    let as_of = match as_of {
        Some(d) => d,
        None => facts
            .latest_date()
            .context("the store holds no interactions yet: run `familiar ingest` first")?,
    };
    let mut thresholds = thresholds;
    thresholds.sort_unstable();
    thresholds.dedup();
    Ok(key_measures(
        &facts,
        &MeasureOptions {
            as_of,
            window_days: window,
            thresholds,
        },
    ))
}

pub async fn run(db: &Path, args: Args) -> Result<()> {
    let store = crate::cmd::open_existing(db).await?;
    let m = compute(&store, args.as_of, args.window, args.thresholds).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&m)?);
    } else {
        print!("{}", output::measures_table(&m));
    }
    Ok(())
}

impl Default for Args {
    fn default() -> Self {
        Args {
            as_of: None,
            window: DEFAULT_WINDOW_DAYS,
            thresholds: DEFAULT_THRESHOLDS.to_vec(),
            json: false,
        }
    }
}
