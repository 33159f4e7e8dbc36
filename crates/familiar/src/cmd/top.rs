//! `familiar top` and `familiar places`: the ranked lists of familiar neighbors and familiar
//! places, computed by the engine. `top --rule NAME` runs a selection rule and records the run.

use std::path::Path;

use anyhow::{Context, Result};
use chrono::NaiveDate;
use familiar_engine::places::{places as rank_places, PlaceOptions};
use familiar_engine::rules::{evaluate, Rule, RuleResult};
use familiar_store::{NewRuleRun, Store};

use super::analysis::{self, Common};
use super::measures::parse_window;

#[derive(clap::Args)]
pub struct TopArgs {
    /// Rank by this agency's interactions only (default: all agencies together).
    #[arg(long, conflicts_with = "rule")]
    pub agency: Option<String>,
    /// Run this selection rule (see `familiar rules list`) instead of a plain ranking.
    #[arg(long)]
    pub rule: Option<String>,
    /// How many people to list (a rule's own limit applies first).
    #[arg(long, default_value_t = 25)]
    pub limit: usize,
    /// Window length, e.g. `365d` (a rule brings its own).
    #[arg(long, default_value = "365d", value_parser = parse_window)]
    pub window: u32,
    /// Last day of the window (default: the newest interaction date).
    #[arg(long)]
    pub as_of: Option<NaiveDate>,
    /// Only people with at least this many interactions in the window.
    #[arg(long, default_value_t = 1)]
    pub min: u32,
    /// Do not record this rule run in the store.
    #[arg(long)]
    pub no_record: bool,
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub common: Common,
}

#[derive(clap::Args)]
pub struct PlacesArgs {
    /// Only this agency's responses.
    #[arg(long)]
    pub agency: Option<String>,
    #[arg(long, default_value_t = 25)]
    pub limit: usize,
    #[arg(long, default_value = "365d", value_parser = parse_window)]
    pub window: u32,
    #[arg(long)]
    pub as_of: Option<NaiveDate>,
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub common: Common,
}

pub async fn top(db: &Path, a: TopArgs) -> Result<()> {
    let l = analysis::snapshot(db, &a.common).await?;
    let as_of = analysis::as_of(&l.snap, a.as_of)?;
    let costs = analysis::costs(&a.common)?;
    let (rule, recorded_text) = match &a.rule {
        Some(name) => {
            let (file, _) = analysis::rules(&a.common)?;
            let rule = file.get(name)?.clone();
            let text = toml::to_string(&rule).context("writing the rule as TOML")?;
            (rule, Some(text))
        }
        // An unknown --agency is refused by the rule itself, which names the known agencies.
        None => (Rule::ranking(a.agency.as_deref(), a.min, a.window), None),
    };
    // people tied with the last place are kept (see `rules::evaluate`)
    let result = evaluate(&l.snap, &rule, as_of, &costs, Some(a.limit)).await?;
    let mut run_id = None;
    if let (Some(text), Some(store), false) = (recorded_text, &l.store, a.no_record) {
        run_id = Some(record(store, &result, text).await?);
    }
    if a.json {
        #[derive(serde::Serialize)]
        struct Out<'a> {
            #[serde(flatten)]
            result: &'a RuleResult,
            currency: &'a str,
            recorded_run: Option<i64>,
        }
        println!(
            "{}",
            serde_json::to_string_pretty(&Out {
                result: &result,
                currency: &costs.currency,
                recorded_run: run_id
            })?
        );
        return Ok(());
    }
    println!(
        "{} v{} — {} — as of {as_of}, {} days: {} qualify{}",
        rule.name,
        rule.version,
        rule.description,
        rule.window_days,
        result.qualifying,
        run_id
            .map(|r| format!(" (recorded as run {r})"))
            .unwrap_or_default()
    );
    println!(
        "{:>4}  {:<10} {:>5}  {:<34} {:>4} {:>9}  {:<6} needs",
        "rank", "person", "total", "by agency", "bed", "var cost", "trend"
    );
    for p in &result.people {
        let s = &p.stats;
        let by: Vec<String> = s
            .by_agency
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        println!(
            "{:>4}  {:<10} {:>5}  {:<34} {:>4} {:>9.0}  {:<6} {}",
            p.rank,
            s.person_id,
            s.interactions,
            by.join(", "),
            s.jail_bed_days,
            s.cost.variable,
            s.trend.direction,
            s.needs.join(", ")
        );
    }
    Ok(())
}

async fn record(store: &dyn Store, r: &RuleResult, definition: String) -> Result<i64> {
    Ok(store
        .save_rule_run(&NewRuleRun {
            rule: r.rule.name.clone(),
            rule_version: r.rule.version,
            definition,
            as_of: r.as_of,
            data_version: r.data_version.clone(),
            actor: analysis::actor(),
            persons: r.people.iter().map(|p| p.stats.person_id.clone()).collect(),
            result: serde_json::to_string(r)?,
        })
        .await?)
}

pub async fn places(db: &Path, a: PlacesArgs) -> Result<()> {
    let l = analysis::snapshot(db, &a.common).await?;
    let as_of = analysis::as_of(&l.snap, a.as_of)?;
    let rows = rank_places(
        &l.snap,
        &PlaceOptions {
            as_of,
            window_days: a.window,
            agency: a.agency.clone(),
            limit: a.limit,
        },
    )
    .await?;
    if a.json {
        #[derive(serde::Serialize)]
        struct Out {
            places: Vec<familiar_engine::places::Place>,
            as_of: NaiveDate,
            window_days: u32,
        }
        println!(
            "{}",
            serde_json::to_string_pretty(&Out {
                places: rows,
                as_of,
                window_days: a.window
            })?
        );
        return Ok(());
    }
    println!(
        "{:>4}  {:<34} {:<12} {:>9} {:>7}  {:<28} top call types",
        "rank", "place", "kind", "responses", "people", "by agency"
    );
    for p in rows {
        let by: Vec<String> = p
            .by_agency
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        let calls: Vec<String> = p
            .top_call_types
            .iter()
            .map(|(t, n)| format!("{t} {n}"))
            .collect();
        println!(
            "{:>4}  {:<34} {:<12} {:>9} {:>7}  {:<28} {}",
            p.rank,
            p.example,
            p.kind,
            p.responses,
            p.distinct_people,
            by.join(", "),
            calls.join(", ")
        );
    }
    Ok(())
}
