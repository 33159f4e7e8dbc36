//! `familiar measures`

use std::path::Path;

use anyhow::{bail, Result};
use chrono::NaiveDate;
use familiar_engine::{key_measures, MeasureOptions};
use familiar_model::measures::{KeyMeasures, DEFAULT_THRESHOLDS, DEFAULT_WINDOW_DAYS};

use super::analysis::{self, Common};
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
    #[command(flatten)]
    pub common: Common,
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

pub async fn compute(
    db: &Path,
    common: &Common,
    as_of: Option<NaiveDate>,
    window: u32,
    thresholds: Vec<u32>,
) -> Result<KeyMeasures> {
    if thresholds.is_empty() {
        bail!("at least one threshold is needed");
    }
    let l = analysis::snapshot(db, common).await?;
    let as_of = analysis::as_of(&l.snap, as_of)?;
    Ok(key_measures(
        &l.snap,
        &MeasureOptions {
            as_of,
            window_days: window,
            thresholds,
        },
    )
    .await?)
}

pub async fn run(db: &Path, args: Args) -> Result<()> {
    let m = compute(db, &args.common, args.as_of, args.window, args.thresholds).await?;
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
            common: Common::default(),
        }
    }
}
