//! `familiar journey`, `series`, `costs`, `sql`, `rules` and `snapshot`: the analyst's other
//! views of the canonical tables, all computed by the engine.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use chrono::{Datelike, NaiveDate};
use familiar_engine::query::{self, Format};
use familiar_engine::rules::evaluate;
use familiar_engine::series::{monthly, Persons};
use familiar_store::{AccessStore, NewAudit, Store};

use super::analysis::{self, Common};
use super::measures::parse_window;

#[derive(clap::Args)]
pub struct JourneyArgs {
    /// The person id (as `familiar top` lists it).
    pub person: String,
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub common: Common,
}

pub async fn journey(db: &Path, a: JourneyArgs) -> Result<()> {
    let l = analysis::snapshot(db, &a.common).await?;
    let Some(j) = familiar_engine::journey::journey(&l.snap, &a.person).await? else {
        bail!("no interactions name person {:?}", a.person);
    };
    // The source identity records behind the person (record ids, keys, and what they say).
    let mut records = Vec::new();
    if let Some(store) = &l.store {
        records = store.identities_of(&a.person).await?;
        audit(store, "person.journey", &a.person, "").await?;
    }
    if a.json {
        #[derive(serde::Serialize)]
        struct Out<'a> {
            #[serde(flatten)]
            journey: &'a familiar_engine::journey::Journey,
            source_records: &'a [familiar_store::IdentityRow],
        }
        println!(
            "{}",
            serde_json::to_string_pretty(&Out {
                journey: &j,
                source_records: &records
            })?
        );
        return Ok(());
    }
    println!("person {} — {} interactions", j.person_id, j.steps.len());
    for s in &j.steps {
        let stay = match (s.kind.as_str(), s.end_utc) {
            ("jail_booking", Some(end)) => format!(
                " (in custody until {})",
                chrono::DateTime::from_timestamp(end, 0)
                    .map(|d| d.date_naive().to_string())
                    .unwrap_or_default()
            ),
            ("jail_booking", None) => " (in custody)".into(),
            _ => String::new(),
        };
        let incident = s
            .incident_ref
            .as_deref()
            .map(|i| format!("  [call {i}]"))
            .unwrap_or_default();
        println!(
            "{}  {:<6} {:<16} {:<10} {:<28} {:<24} {}{}{}",
            s.date,
            s.agency,
            s.kind,
            s.role,
            s.call_type.as_deref().unwrap_or(""),
            s.place.as_deref().unwrap_or(""),
            s.disposition.as_deref().unwrap_or(""),
            stay,
            incident
        );
    }
    if !j.needs.is_empty() {
        println!("\nneeds");
        let mut by: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for n in &j.needs {
            by.entry(n.need)
                .or_default()
                .push(format!("{} {} (record {})", n.agency, n.date, n.record_id));
        }
        for (need, from) in by {
            println!("  {need}: {} records — first {}", from.len(), from[0]);
        }
    }
    if !records.is_empty() {
        println!("\nsource records");
        for r in &records {
            println!(
                "  record {:<8} {:<6} {:<8} {}",
                r.record_id, r.agency, r.source, r.record_key
            );
        }
    }
    Ok(())
}

async fn audit(
    store: &familiar_store::SqliteStore,
    action: &str,
    target: &str,
    detail: &str,
) -> Result<()> {
    store
        .append_audit(&NewAudit {
            actor: analysis::actor(),
            action: action.into(),
            target: target.into(),
            source: "cli".into(),
            outcome: "ok".into(),
            detail: detail.into(),
        })
        .await?;
    Ok(())
}

#[derive(clap::Args)]
pub struct SeriesArgs {
    /// Count interactions of the people a selection rule lists (as of --to).
    #[arg(long, conflicts_with = "persons")]
    pub rule: Option<String>,
    /// Count interactions of these person ids (comma-separated, or @FILE with one id per line).
    #[arg(long)]
    pub persons: Option<String>,
    /// First month (default: 23 months before --to).
    #[arg(long)]
    pub from: Option<NaiveDate>,
    /// Last month (default: the newest interaction's month).
    #[arg(long)]
    pub to: Option<NaiveDate>,
    #[arg(long)]
    pub json: bool,
    /// Write CSV (month,agency...,total) instead of a table.
    #[arg(long, conflicts_with = "json")]
    pub csv: bool,
    #[command(flatten)]
    pub common: Common,
}

pub async fn series(db: &Path, a: SeriesArgs) -> Result<()> {
    let l = analysis::snapshot(db, &a.common).await?;
    let to = analysis::as_of(&l.snap, a.to)?;
    let from = a.from.unwrap_or_else(|| {
        let m = to.year() * 12 + to.month0() as i32 - 23;
        NaiveDate::from_ymd_opt(m.div_euclid(12), m.rem_euclid(12) as u32 + 1, 1).expect("month")
    });
    if from > to {
        bail!("--from {from} is after --to {to}");
    }
    let (persons, label) = if let Some(name) = &a.rule {
        let (file, _) = analysis::rules(&a.common)?;
        let rule = file.get(name)?;
        let r = evaluate(&l.snap, rule, to, &analysis::costs(&a.common)?, None).await?;
        let ids: Vec<String> = r.people.iter().map(|p| p.stats.person_id.clone()).collect();
        let label = format!(
            "{} people listed by rule {} v{} as of {to}",
            ids.len(),
            rule.name,
            rule.version
        );
        (Persons::Only(ids), label)
    } else if let Some(p) = &a.persons {
        let ids: Vec<String> = match p.strip_prefix('@') {
            Some(file) => std::fs::read_to_string(file)
                .with_context(|| format!("reading {file}"))?
                .lines()
                .map(|l| l.trim().to_string())
                .filter(|l| !l.is_empty() && l != "person_id")
                .collect(),
            None => p
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
        };
        let label = format!("{} given people", ids.len());
        (Persons::Only(ids), label)
    } else {
        (Persons::Everyone, "every interaction".to_string())
    };
    let months = monthly(&l.snap, &persons, from, to).await?;
    if a.json {
        #[derive(serde::Serialize)]
        struct Out<'a> {
            persons: &'a str,
            months: &'a [familiar_engine::series::Month],
        }
        println!(
            "{}",
            serde_json::to_string_pretty(&Out {
                persons: &label,
                months: &months
            })?
        );
        return Ok(());
    }
    let agencies: Vec<String> = months
        .first()
        .map(|m| m.by_agency.keys().cloned().collect())
        .unwrap_or_default();
    if a.csv {
        let mut w = csv::Writer::from_writer(std::io::stdout());
        let mut head = vec!["month".to_string()];
        head.extend(agencies.iter().cloned());
        head.push("total".into());
        w.write_record(&head)?;
        for m in &months {
            let mut row = vec![m.month.format("%Y-%m").to_string()];
            row.extend(agencies.iter().map(|a| m.by_agency[a].to_string()));
            row.push(m.total.to_string());
            w.write_record(&row)?;
        }
        w.flush()?;
        return Ok(());
    }
    println!("interactions per month — {label}");
    print!("{:<8}", "month");
    for ag in &agencies {
        print!(" {ag:>7}");
    }
    println!(" {:>7}", "total");
    for m in &months {
        print!("{:<8}", m.month.format("%Y-%m"));
        for ag in &agencies {
            print!(" {:>7}", m.by_agency[ag]);
        }
        println!(" {:>7}", m.total);
    }
    Ok(())
}

#[derive(clap::Args)]
pub struct CostsArgs {
    #[arg(long)]
    pub as_of: Option<NaiveDate>,
    #[arg(long, default_value = "365d", value_parser = parse_window)]
    pub window: u32,
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub common: Common,
}

pub async fn costs(db: &Path, a: CostsArgs) -> Result<()> {
    let l = analysis::snapshot(db, &a.common).await?;
    let as_of = analysis::as_of(&l.snap, a.as_of)?;
    let cfg = analysis::costs(&a.common)?;
    let rows = familiar_engine::costs::agency_totals(&l.snap, &cfg, as_of, a.window).await?;
    let sum = |f: fn(&familiar_engine::costs::AgencyCost) -> f64| rows.iter().map(f).sum::<f64>();
    let (v, s, f) = (sum(|r| r.variable), sum(|r| r.step_fixed), sum(|r| r.fixed));
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "cost_file": {"name": cfg.name, "version": cfg.version, "currency": cfg.currency},
                "as_of": as_of, "window_days": a.window,
                "by_agency_kind": rows,
                "cash_that_would_be_saved": (v * 100.0).round() / 100.0,
                "capacity_freed": {"step_fixed": (s * 100.0).round() / 100.0, "fixed": (f * 100.0).round() / 100.0,
                                    "bed_days": rows.iter().map(|r| r.bed_days).sum::<u64>(),
                                    "interactions": rows.iter().map(|r| r.interactions).sum::<u64>()},
            }))?
        );
        return Ok(());
    }
    println!(
        "costs to systems, {} days ending {as_of} — {} ({})",
        a.window, cfg.name, cfg.version
    );
    println!(
        "{:<6} {:<16} {:>8} {:>8} {:>12} {:>12} {:>12}",
        "agency", "kind", "count", "bed-days", "variable", "step-fixed", "fixed"
    );
    for r in &rows {
        println!(
            "{:<6} {:<16} {:>8} {:>8} {:>12.2} {:>12.2} {:>12.2}{}",
            r.agency,
            r.kind,
            r.interactions,
            r.bed_days,
            r.variable,
            r.step_fixed,
            r.fixed,
            if r.priced { "" } else { "  (not priced)" }
        );
    }
    println!(
        "\ncash that would be saved (variable): {} {v:.2}\ncapacity freed, not cash: step-fixed {s:.2}, fixed {f:.2}",
        cfg.currency
    );
    Ok(())
}

#[derive(clap::Args)]
pub struct SqlArgs {
    /// One read-only SQL statement over the canonical tables: interactions, involvements,
    /// agencies (see docs/analysis.md). DDL, DML and SET are refused.
    pub query: String,
    /// csv, json, parquet or table.
    #[arg(long, default_value = "table")]
    pub format: Format,
    /// Write to this file instead of standard output (required for parquet).
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub common: Common,
}

pub async fn sql(db: &Path, a: SqlArgs) -> Result<()> {
    let l = analysis::snapshot(db, &a.common).await?;
    let ctx = l.snap.context().await?;
    let (schema, batches) = query::analyst_query(&ctx, &a.query).await?;
    if let Some(store) = &l.store {
        // The query text can hold a person id; never names (the tables carry none).
        let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
        audit(
            store,
            "sql.query",
            "canonical tables",
            &serde_json::json!({"sql": a.query, "rows": rows}).to_string(),
        )
        .await?;
    }
    match (a.format, &a.out) {
        (Format::Parquet, Some(p)) => query::write_parquet_file(p, &schema, &batches)?,
        (Format::Parquet, None) => bail!("--format parquet needs --out FILE"),
        (f, Some(p)) => {
            let mut file = std::io::BufWriter::new(
                std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
            );
            query::write_text(&mut file, &schema, &batches, f)?;
            file.flush()?;
        }
        (f, None) => {
            let stdout = std::io::stdout();
            let mut lock = stdout.lock();
            query::write_text(&mut lock, &schema, &batches, f)?;
        }
    }
    Ok(())
}

#[derive(clap::Args)]
pub struct RulesArgs {
    #[command(subcommand)]
    pub what: RulesCmd,
    #[command(flatten)]
    pub common: Common,
}

#[derive(clap::Subcommand)]
pub enum RulesCmd {
    /// The rules in the rule file, with their conditions.
    List,
    /// Recorded runs of rules, newest first.
    Runs {
        #[arg(long)]
        rule: Option<String>,
    },
    /// One recorded run: the rule as it was, the as-of and data versions, and its list.
    Show {
        run: i64,
        #[arg(long)]
        json: bool,
    },
}

pub async fn rules(db: &Path, a: RulesArgs) -> Result<()> {
    match a.what {
        RulesCmd::List => {
            let (file, _) = analysis::rules(&a.common)?;
            for r in &file.rules {
                println!("{} v{} — {}", r.name, r.version, r.description);
                println!("  {}", toml::to_string(r)?.replace('\n', "\n  ").trim_end());
            }
        }
        RulesCmd::Runs { rule } => {
            let store = super::open_existing(db).await?;
            println!(
                "{:>4}  {:<20} {:<22} {:>3} {:<10} {:>6}  data version",
                "run", "at", "rule", "v", "as of", "people"
            );
            for r in store.rule_runs(rule.as_deref()).await? {
                println!(
                    "{:>4}  {:<20} {:<22} {:>3} {:<10} {:>6}  {}",
                    r.id,
                    r.at,
                    r.run.rule,
                    r.run.rule_version,
                    r.run.as_of,
                    r.run.persons.len(),
                    r.run.data_version
                );
            }
        }
        RulesCmd::Show { run, json } => {
            let store = super::open_existing(db).await?;
            let Some(r) = store
                .rule_runs(None)
                .await?
                .into_iter()
                .find(|r| r.id == run)
            else {
                bail!("no recorded rule run {run} (see `familiar rules runs`)");
            };
            let now = store.data_version().await?;
            if json {
                println!("{}", r.run.result);
                return Ok(());
            }
            println!(
                "run {} at {} by {}: rule {} v{} as of {} over data version {}{}",
                r.id,
                r.at,
                r.run.actor,
                r.run.rule,
                r.run.rule_version,
                r.run.as_of,
                r.run.data_version,
                if now == r.run.data_version {
                    " (the store is unchanged since)".to_string()
                } else {
                    format!(" (the store is now at {now})")
                }
            );
            println!("{}", r.run.definition.trim_end());
            for (i, p) in r.run.persons.iter().enumerate() {
                println!("{:>4}  {p}", i + 1);
            }
        }
    }
    Ok(())
}

#[derive(clap::Args)]
pub struct SnapshotArgs {
    /// Also write the snapshot as plain Parquet into this folder, for other tools. Unlike the
    /// sealed copy beside the store (`DB.snapshot/`), its files are readable by anyone who can
    /// read the folder: they name persons, their need flags and their events' places.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub async fn snapshot(db: &Path, a: SnapshotArgs) -> Result<()> {
    let store = super::open_existing(db).await?;
    let cache = familiar_engine::Snapshot::dir_for(db);
    if let Some(dir) = &a.out {
        // compared as the folders they are, not as the text given
        let full = |p: &Path| {
            p.canonicalize()
                .or_else(|_| std::path::absolute(p))
                .unwrap_or_else(|_| p.to_path_buf())
        };
        if full(dir) == full(&cache) {
            anyhow::bail!(
                "{} is where the sealed copy is kept: give another folder for the plain one",
                dir.display()
            );
        }
    }
    let key = if a.out.is_some() {
        analysis::cache_key(&store).await
    } else {
        Some(store.file_key().await.context(
            "the snapshot beside the store is sealed under the store's key, which is needed",
        )?)
    };
    let (snap, fresh) =
        familiar_engine::load(&store, key.as_ref().map(|k| (cache.as_path(), k))).await?;
    println!(
        "snapshot {} ({}{}): {} interactions, {} involvements, data version {}",
        cache.display(),
        if key.is_some() {
            "sealed, "
        } else {
            "not cached, "
        },
        match fresh {
            familiar_engine::load::Freshness::Cached => "already current",
            familiar_engine::load::Freshness::Rebuilt => "rebuilt",
        },
        snap.manifest.interactions,
        snap.manifest.involvements,
        snap.manifest.data_version
    );
    if let Some(dir) = a.out {
        snap.write(&dir)?;
        audit(
            &store,
            "snapshot.export",
            &dir.display().to_string(),
            &format!(
                "{} interactions, data version {}",
                snap.manifest.interactions, snap.manifest.data_version
            ),
        )
        .await?;
        println!(
            "plain Parquet copy: {} (it names persons and their need flags: keep it private)",
            dir.display()
        );
    }
    Ok(())
}
