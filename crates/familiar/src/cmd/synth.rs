//! `familiar synth`

use std::path::PathBuf;

use anyhow::{Context, Result};
use chrono::NaiveDate;
use familiar_synth::SynthOptions;

#[derive(clap::Args)]
pub struct Args {
    /// Folder to write the county into (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Residents of the county.
    #[arg(long, default_value_t = 20_000)]
    pub people: u32,
    /// Days of history.
    #[arg(long, default_value_t = 730)]
    pub days: u32,
    /// Last day of history (default 2025-12-31).
    #[arg(long)]
    pub end_date: Option<NaiveDate>,
    /// Random seed: the same options always write the same bytes.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

pub fn options(a: &Args) -> SynthOptions {
    let mut o = SynthOptions {
        people: a.people,
        days: a.days,
        seed: a.seed,
        ..SynthOptions::default()
    };
    if let Some(d) = a.end_date {
        o.end_date = d;
    }
    o
}

pub fn run(a: Args) -> Result<()> {
    let t = std::time::Instant::now();
    let s = familiar_synth::generate(&options(&a), &a.out)
        .with_context(|| format!("writing the synthetic county to {}", a.out.display()))?;
    let rows: u64 = s.files.iter().map(|f| f.2).sum();
    println!(
        "wrote a synthetic county of {} people: {} files, {} rows ({} deliberately bad), {} interactions, in {:.1}s",
        s.people,
        s.files.len(),
        rows,
        s.bad_rows,
        s.interactions,
        t.elapsed().as_secs_f64()
    );
    println!(
        "mapping: {}   truth: {}",
        a.out.join("sources.toml").display(),
        a.out.join("truth").display()
    );
    Ok(())
}
