//! `familiar match`: link two files or deduplicate one, with a spec, no store.

use std::path::PathBuf;

use anyhow::Result;
use familiar_link::{run_match, MatchOptions};

#[derive(clap::Args)]
pub struct Args {
    /// The linkage spec (TOML): id column, fields and comparisons, blocking rules, threshold.
    #[arg(long)]
    pub spec: PathBuf,
    /// The first (or only) file: CSV or Parquet.
    #[arg(long)]
    pub left: PathBuf,
    /// A second file to link against the first; without it the first is deduplicated.
    #[arg(long)]
    pub right: Option<PathBuf>,
    /// Write `source,record_id,cluster_id` here.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Write scored pairs above the threshold here.
    #[arg(long)]
    pub pairs: Option<PathBuf>,
    /// Print the full report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Only count candidate pairs per blocking rule (nothing is scored).
    #[arg(long)]
    pub count_only: bool,
    /// A column holding the true entity id, to evaluate against (pairwise and B-cubed metrics,
    /// blocking recall, the worst false merges and missed links).
    #[arg(long)]
    pub truth_column: Option<String>,
    /// How many of the worst false merges and missed links to list.
    #[arg(long, default_value_t = 10)]
    pub worst: usize,
}

pub fn run(a: Args) -> Result<()> {
    let report = run_match(&MatchOptions {
        spec: a.spec,
        left: a.left,
        right: a.right,
        out: a.out,
        pairs: a.pairs,
        json: a.json,
        count_only: a.count_only,
        truth_column: a.truth_column,
        inspect_limit: Some(a.worst),
    })?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    for r in &report.blocking {
        println!("{}", serde_json::to_string(r)?);
    }
    if report.count_only {
        if let Some(b) = report.blocking_recall {
            println!("blocking recall {b:.4} (share of true pairs some blocking rule generates)");
        }
    }
    let c = &report.counts;
    println!(
        "{} records, {} candidate pairs, {} pairs above the threshold, {} clusters ({} with 2+ records, largest {}) in {:.0} ms",
        c.records,
        c.candidate_pairs,
        c.pairs_above_threshold,
        c.clusters,
        c.multi_record_clusters,
        c.largest_cluster,
        report.timings.total_ms
    );
    if let Some(e) = &report.evaluation {
        print!("{}", e.report_text());
    }
    for o in &report.outputs {
        println!("wrote {o}");
    }
    Ok(())
}
