//! `familiar review`: settle what the linkage model was unsure about. Every decision is stored
//! with who, when and why, overrides the model on every later `familiar link`, and applies at
//! once (the store is relinked unless `--no-relink`).

use std::collections::HashMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use familiar_store::{LinkDecision, Store};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: ReviewCommand,
}

#[derive(clap::Subcommand)]
pub enum ReviewCommand {
    /// Pairs waiting for a decision, least certain first (or, with `--order impact`, those
    /// touching the persons with most records first).
    List {
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// `uncertain`: least certain first. `impact`: pairs touching the persons with most
        /// records first (the familiar neighbors, whose counts a wrong link changes most),
        /// least certain first among equals: where a small team's review time goes furthest.
        #[arg(long, value_enum, default_value_t = Order::Uncertain)]
        order: Order,
        #[arg(long)]
        json: bool,
    },
    /// Decide a pair of records: the same person (`--match`) or not (`--non-match`).
    Decide {
        #[arg(long)]
        left: i64,
        #[arg(long)]
        right: i64,
        #[arg(
            long,
            conflicts_with = "non_match",
            required_unless_present = "non_match"
        )]
        r#match: bool,
        #[arg(long)]
        non_match: bool,
        #[command(flatten)]
        who: Who,
    },
    /// Merge two or more persons into one.
    Merge {
        #[arg(long = "person", required = true, num_args = 1..)]
        persons: Vec<String>,
        #[command(flatten)]
        who: Who,
    },
    /// Split records off a person: the listed records never again share a person with the
    /// person's other records.
    Split {
        #[arg(long)]
        person: String,
        #[arg(long = "record", required = true, num_args = 1..)]
        records: Vec<i64>,
        #[command(flatten)]
        who: Who,
    },
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    Uncertain,
    Impact,
}

#[derive(clap::Args)]
pub struct Who {
    /// Why (kept with the decision).
    #[arg(long)]
    pub reason: String,
    /// Who decides (default: $USER).
    #[arg(long)]
    pub actor: Option<String>,
    /// Record the decision without relinking now (it applies at the next `familiar link`).
    #[arg(long)]
    pub no_relink: bool,
}

impl Who {
    fn actor(&self) -> String {
        self.actor
            .clone()
            .or_else(|| std::env::var("USER").ok())
            .unwrap_or_else(|| "cli".into())
    }
}

fn decision(kind: &str, left: i64, right: i64, who: &Who) -> LinkDecision {
    LinkDecision {
        id: 0,
        at: String::new(),
        actor: who.actor(),
        kind: kind.into(),
        left_record: left,
        right_record: Some(right),
        person_id: None,
        reason: who.reason.clone(),
    }
}

pub async fn run(db: &Path, args: Args) -> Result<()> {
    let store = super::open_existing(db).await?;
    let who = match args.command {
        ReviewCommand::List { limit, order, json } => {
            return list(&store, limit, order, json).await
        }
        ReviewCommand::Decide {
            left,
            right,
            r#match,
            non_match: _,
            who,
        } => {
            let ids = store.current_identity_ids(&[left, right]).await?;
            for r in [left, right] {
                if !ids.contains(&r) {
                    bail!("record {r} is not a current identity in the store");
                }
            }
            let kind = if r#match { "match" } else { "non_match" };
            store
                .add_decision(&decision(kind, left, right, &who))
                .await?;
            println!(
                "recorded: records {left} and {right} are {}",
                kind.replace('_', "-")
            );
            who
        }
        ReviewCommand::Merge { persons, who } => {
            if persons.len() < 2 {
                bail!("name at least two persons to merge");
            }
            let members = members(&store).await?;
            let first_record = |p: &str| -> Result<i64> {
                members
                    .get(p)
                    .and_then(|rs| rs.first().copied())
                    .with_context(|| format!("no person {p} in the store"))
            };
            let anchor = first_record(&persons[0])?;
            for p in &persons[1..] {
                store
                    .add_decision(&decision("match", anchor, first_record(p)?, &who))
                    .await?;
            }
            println!("recorded: merge {}", persons.join(" + "));
            who
        }
        ReviewCommand::Split {
            person,
            records,
            who,
        } => {
            let members = members(&store).await?;
            let all = members
                .get(&person)
                .with_context(|| format!("no person {person} in the store"))?;
            for r in &records {
                if !all.contains(r) {
                    bail!("record {r} does not belong to {person}");
                }
            }
            let rest: Vec<i64> = all
                .iter()
                .copied()
                .filter(|r| !records.contains(r))
                .collect();
            if rest.is_empty() {
                bail!("splitting off every record of {person} leaves nothing to split from");
            }
            for a in &records {
                for b in &rest {
                    store
                        .add_decision(&decision("non_match", *a, *b, &who))
                        .await?;
                }
            }
            println!(
                "recorded: {} record(s) split off {person} ({} cannot-link decisions)",
                records.len(),
                records.len() * rest.len()
            );
            who
        }
    };
    if who.no_relink {
        println!("the decision applies at the next `familiar link`");
        return Ok(());
    }
    let s = super::link::link_store(&store, super::link::DEFAULT_METHOD, &who.actor()).await?;
    println!(
        "relinked: {} persons ({} new ids, {} merges, {} splits recorded)",
        s.persons, s.new_persons, s.merges, s.splits
    );
    Ok(())
}

/// Person id → its record ids (sorted).
async fn members(store: &dyn Store) -> Result<HashMap<String, Vec<i64>>> {
    let mut m: HashMap<String, Vec<i64>> = HashMap::new();
    for (r, p) in store.person_links().await? {
        m.entry(p).or_default().push(r);
    }
    for v in m.values_mut() {
        v.sort_unstable();
    }
    Ok(m)
}

async fn list(store: &dyn Store, limit: usize, order: Order, json: bool) -> Result<()> {
    let mut q = store.review_queue().await?;
    let links = store.person_links().await?;
    let mut records: HashMap<&str, u64> = HashMap::new();
    for p in links.values() {
        *records.entry(p.as_str()).or_default() += 1;
    }
    let person_records = |r: i64| -> u64 {
        links
            .get(&r)
            .and_then(|p| records.get(p.as_str()))
            .copied()
            .unwrap_or(1)
    };
    if order == Order::Impact {
        // the store's order (least certain first) is kept among pairs of equal impact
        q.sort_by_cached_key(|p| {
            std::cmp::Reverse(person_records(p.left_record).max(person_records(p.right_record)))
        });
    }
    // only the pairs shown are named: reading every identity would open every sealed row
    let shown: Vec<i64> = q
        .iter()
        .take(limit)
        .flat_map(|p| [p.left_record, p.right_record])
        .collect();
    let ids = store.record_keys(&shown).await?;
    let rows: Vec<serde_json::Value> = q
        .iter()
        .take(limit)
        .map(|p| {
            let side = |r: i64| {
                let (s, k) = ids.get(&r).cloned().unwrap_or_default();
                serde_json::json!({
                    "record": r,
                    "source": s,
                    "record_key": k,
                    "person": links.get(&r),
                    "person_records": person_records(r),
                })
            };
            serde_json::json!({
                "left": side(p.left_record),
                "right": side(p.right_record),
                "match_weight": p.match_weight,
                "match_probability": p.match_probability,
            })
        })
        .collect();
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({"waiting": q.len(), "pairs": rows}))?
        );
        return Ok(());
    }
    let which = match order {
        Order::Uncertain => "least certain",
        Order::Impact => "with most records at stake",
    };
    println!(
        "{} pairs wait for review; the {} {which} (records of each side's person in brackets):",
        q.len(),
        rows.len()
    );
    for r in &rows {
        println!(
            "  {:>8} {:<16} [{:>4}] ~ {:>8} {:<16} [{:>4}] p={:.3}   familiar link explain --left {} --right {}",
            r["left"]["record"].as_i64().unwrap_or(0),
            r["left"]["source"].as_str().unwrap_or(""),
            r["left"]["person_records"].as_u64().unwrap_or(0),
            r["right"]["record"].as_i64().unwrap_or(0),
            r["right"]["source"].as_str().unwrap_or(""),
            r["right"]["person_records"].as_u64().unwrap_or(0),
            r["match_probability"].as_f64().unwrap_or(0.0),
            r["left"]["record"],
            r["right"]["record"],
        );
    }
    Ok(())
}
