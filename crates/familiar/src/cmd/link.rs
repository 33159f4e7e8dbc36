//! `familiar link`, `familiar link import`, `familiar link evaluate`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use familiar_store::{IdentityRow, LinkDecision, Linkage, PersonEvent, Store};
use serde::Serialize;

/// The linkage used when none is named.
pub const DEFAULT_METHOD: &str = "deterministic";

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    pub command: Option<LinkCommand>,
    /// Print a JSON summary.
    #[arg(long)]
    pub json: bool,
    /// `deterministic` is the stand-in: exact normalized first + last name + full DOB.
    #[arg(long, default_value = DEFAULT_METHOD)]
    pub method: String,
}

#[derive(clap::Subcommand)]
pub enum LinkCommand {
    /// Load a known record → person map (a master person index, or a truth file) as
    /// reviewer-grade decisions. CSV with columns `source,record_key,person_id`.
    Import {
        #[arg(long)]
        map: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Score the current linkage against a truth map (`source,record_key,person_id`).
    Evaluate {
        #[arg(long)]
        truth: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(db: &Path, args: Args) -> Result<()> {
    let store = super::open_existing(db).await?;
    match args.command {
        None => {
            let summary = link_store(&store, &args.method, "familiar").await?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&summary)?);
            } else {
                println!(
                    "linked {} identities into {} persons ({} new, {} kept their id, {} merged, {} split) with method {}",
                    summary.identities,
                    summary.persons,
                    summary.new_persons,
                    summary.kept_ids,
                    summary.merges,
                    summary.splits,
                    summary.method
                );
            }
            Ok(())
        }
        Some(LinkCommand::Import { map, json }) => {
            let s = import_map(&store, &map).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&s)?);
            } else {
                println!(
                    "imported {} links to {} persons from {} ({} rows name records not in the store)",
                    s.linked,
                    s.persons,
                    map.display(),
                    s.unknown_records
                );
            }
            Ok(())
        }
        Some(LinkCommand::Evaluate { truth, json }) => {
            let e = evaluate(&store, &truth).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&e)?);
            } else {
                println!(
                    "pairwise precision {:.4} recall {:.4} F1 {:.4}; B-cubed precision {:.4} recall {:.4} F1 {:.4} over {} records",
                    e.pairwise.precision,
                    e.pairwise.recall,
                    e.pairwise.f1,
                    e.bcubed.precision,
                    e.bcubed.recall,
                    e.bcubed.f1,
                    e.records
                );
            }
            Ok(())
        }
    }
}

#[derive(Debug, Serialize)]
pub struct LinkSummary {
    pub method: String,
    pub run_id: i64,
    pub identities: usize,
    pub persons: usize,
    pub new_persons: usize,
    pub kept_ids: usize,
    pub merges: usize,
    pub splits: usize,
}

/// The stand-in linkage key: exact normalized first + last name + full DOB. Identities without
/// all three stay alone (a person of their own) rather than being guessed at.
fn deterministic_key(r: &IdentityRow) -> Option<String> {
    let p = &r.identity;
    let norm = |s: &Option<String>| {
        s.as_ref()
            .map(|v| v.trim().to_uppercase())
            .filter(|v| !v.is_empty())
    };
    let dob = p.dob.filter(|d| d.is_full())?;
    Some(format!("{}|{}|{}", norm(&p.first)?, norm(&p.last)?, dob))
}

/// Group identities into clusters of record ids.
fn cluster(rows: &[IdentityRow], method: &str) -> Result<Vec<Vec<i64>>> {
    match method {
        "deterministic" => {
            let mut groups: BTreeMap<String, Vec<i64>> = BTreeMap::new();
            let mut singles = Vec::new();
            for r in rows {
                match deterministic_key(r) {
                    Some(k) => groups.entry(k).or_default().push(r.record_id),
                    None => singles.push(vec![r.record_id]),
                }
            }
            let mut out: Vec<Vec<i64>> = groups.into_values().collect();
            out.extend(singles);
            Ok(out)
        }
        other => bail!("unknown linkage method {other:?} (known: deterministic)"),
    }
}

/// Link every identity in the store, keep person ids stable, save atomically.
pub async fn link_store(store: &dyn Store, method: &str, actor: &str) -> Result<LinkSummary> {
    let rows = store.identities().await?;
    let clusters = cluster(&rows, method)?;
    let previous = store.person_links().await?;
    let assigned = assign_stable_ids(&clusters, &previous);
    let persons = clusters.len();
    let stats = serde_json::json!({
        "identities": rows.len(),
        "persons": persons,
        "new": assigned.new_persons,
        "kept": assigned.kept,
        "merges": assigned.merges,
        "splits": assigned.splits,
    });
    let run_id = store
        .save_linkage(&Linkage {
            method: method.to_string(),
            actor: actor.to_string(),
            links: assigned.links,
            link_methods: vec![],
            events: assigned.events,
            stats: stats.to_string(),
        })
        .await?;
    Ok(LinkSummary {
        method: method.to_string(),
        run_id,
        identities: rows.len(),
        persons,
        new_persons: assigned.new_persons,
        kept_ids: assigned.kept,
        merges: assigned.merges,
        splits: assigned.splits,
    })
}

pub struct Assigned {
    pub links: Vec<(i64, String)>,
    pub events: Vec<PersonEvent>,
    pub new_persons: usize,
    pub kept: usize,
    pub merges: usize,
    pub splits: usize,
}

/// Map new clusters onto existing person ids by record overlap: each old id goes to the new
/// cluster holding most of its records (ties: the cluster with the smallest record id); a
/// cluster that receives no old id gets a new one. Merges and splits are recorded.
pub fn assign_stable_ids(clusters: &[Vec<i64>], previous: &HashMap<i64, String>) -> Assigned {
    // overlap[old id] = [(cluster index, shared records)]
    let mut overlap: BTreeMap<&str, BTreeMap<usize, usize>> = BTreeMap::new();
    for (ci, c) in clusters.iter().enumerate() {
        for rid in c {
            if let Some(pid) = previous.get(rid) {
                *overlap
                    .entry(pid.as_str())
                    .or_default()
                    .entry(ci)
                    .or_default() += 1;
            }
        }
    }
    // Best cluster for each old id; a cluster may be claimed by several (a merge): the id with
    // the most shared records keeps it, ties by the smaller id.
    let mut claims: BTreeMap<usize, Vec<(usize, &str)>> = BTreeMap::new();
    for (pid, cs) in &overlap {
        let (&ci, &n) = cs
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
            .expect("non-empty");
        claims.entry(ci).or_default().push((n, pid));
    }
    let mut next = previous
        .values()
        .filter_map(|p| p.strip_prefix('P').and_then(|n| n.parse::<u64>().ok()))
        .max()
        .unwrap_or(0)
        + 1;
    let mut links = Vec::new();
    let mut events = Vec::new();
    let (mut new_persons, mut kept, mut merges, mut splits) = (0, 0, 0, 0);
    let mut order: Vec<usize> = (0..clusters.len()).collect();
    order.sort_by_key(|&ci| clusters[ci].iter().min().copied().unwrap_or(i64::MAX));
    for ci in order {
        let pid = match claims.get_mut(&ci) {
            Some(cl) => {
                cl.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
                let keep = cl[0].1.to_string();
                kept += 1;
                for (_, absorbed) in &cl[1..] {
                    merges += 1;
                    events.push(PersonEvent {
                        kind: "merge".into(),
                        person_id: keep.clone(),
                        detail: serde_json::json!({"absorbed": absorbed, "reason": "linkage joined their records"}).to_string(),
                    });
                }
                keep
            }
            None => {
                let id = format!("P{next:07}");
                next += 1;
                // A new cluster made of records that belonged to a kept person is a split.
                let from: Vec<&String> = {
                    let mut v: Vec<&String> = clusters[ci]
                        .iter()
                        .filter_map(|r| previous.get(r))
                        .collect();
                    v.sort();
                    v.dedup();
                    v
                };
                if from.is_empty() {
                    new_persons += 1;
                    events.push(PersonEvent {
                        kind: "new".into(),
                        person_id: id.clone(),
                        detail: "{}".into(),
                    });
                } else {
                    splits += 1;
                    events.push(PersonEvent {
                        kind: "split".into(),
                        person_id: id.clone(),
                        detail: serde_json::json!({"from": from, "reason": "linkage separated these records"}).to_string(),
                    });
                }
                id
            }
        };
        for rid in &clusters[ci] {
            links.push((*rid, pid.clone()));
        }
    }
    links.sort();
    Assigned {
        links,
        events,
        new_persons,
        kept,
        merges,
        splits,
    }
}

#[derive(Debug, Serialize)]
pub struct ImportSummary {
    pub rows: usize,
    pub linked: usize,
    pub persons: usize,
    pub unknown_records: usize,
}

/// Read a `source,record_key,person_id` CSV.
fn read_map(path: &Path) -> Result<Vec<(String, String, String)>> {
    let mut rdr = csv::Reader::from_path(path)
        .with_context(|| format!("opening the map file {}", path.display()))?;
    let headers = rdr.headers()?.clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim() == name)
            .with_context(|| {
                format!(
                    "{}: no column {name:?} (need source,record_key,person_id; found {:?})",
                    path.display(),
                    headers.iter().collect::<Vec<_>>()
                )
            })
    };
    let (s, k, p) = (col("source")?, col("record_key")?, col("person_id")?);
    let mut out = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.with_context(|| format!("{}: row {}", path.display(), i + 2))?;
        let get = |j: usize| rec.get(j).unwrap_or("").trim().to_string();
        if get(p).is_empty() {
            bail!("{}: row {}: empty person_id", path.display(), i + 2);
        }
        out.push((get(s), get(k), get(p)));
    }
    Ok(out)
}

pub async fn import_map(store: &dyn Store, path: &Path) -> Result<ImportSummary> {
    let map = read_map(path)?;
    // Any current record may be assigned, even one whose name ingest could not use (an EMS
    // "John Doe" the county's person index has since identified).
    let ids = store.record_ids().await?;
    let mut links: BTreeMap<i64, String> = BTreeMap::new();
    let mut unknown = 0;
    for (source, key, person) in &map {
        match ids.get(&(source.clone(), key.clone())) {
            Some(rid) => {
                links.insert(*rid, person.clone());
            }
            None => unknown += 1,
        }
    }
    let actor = format!("import:{}", path.display());
    for (rid, pid) in &links {
        store
            .add_decision(&LinkDecision {
                id: 0,
                at: String::new(),
                actor: actor.clone(),
                kind: "assign".into(),
                left_record: *rid,
                right_record: None,
                person_id: Some(pid.clone()),
                reason: "known link imported from a record map".into(),
            })
            .await?;
    }
    // Identities the map does not name keep their current person, if any.
    let mut all = store.person_links().await?;
    for (rid, pid) in &links {
        all.insert(*rid, pid.clone());
    }
    let persons = {
        let mut v: Vec<&String> = links.values().collect();
        v.sort();
        v.dedup();
        v.len()
    };
    let mut link_list: Vec<(i64, String)> = all.into_iter().collect();
    link_list.sort();
    let methods = link_list
        .iter()
        .map(|(rid, _)| {
            if links.contains_key(rid) {
                "import".to_string()
            } else {
                "model".to_string()
            }
        })
        .collect();
    store
        .save_linkage(&Linkage {
            method: "import".into(),
            actor,
            links: link_list,
            link_methods: methods,
            events: vec![],
            stats:
                serde_json::json!({"rows": map.len(), "linked": links.len(), "unknown": unknown})
                    .to_string(),
        })
        .await?;
    Ok(ImportSummary {
        rows: map.len(),
        linked: links.len(),
        persons,
        unknown_records: unknown,
    })
}

#[derive(Debug, Serialize)]
pub struct Prf {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

impl Prf {
    fn new(tp: f64, pred: f64, truth: f64) -> Prf {
        let precision = if pred > 0.0 { tp / pred } else { 1.0 };
        let recall = if truth > 0.0 { tp / truth } else { 1.0 };
        let f1 = if precision + recall > 0.0 {
            2.0 * precision * recall / (precision + recall)
        } else {
            0.0
        };
        Prf {
            precision,
            recall,
            f1,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Evaluation {
    pub records: usize,
    pub true_pairs: u64,
    pub predicted_pairs: u64,
    pub pairwise: Prf,
    pub bcubed: Prf,
}

/// Score clusterings given as (record → predicted label, record → true label).
pub fn score(pred: &HashMap<i64, String>, truth: &HashMap<i64, String>) -> Evaluation {
    let pairs = |n: u64| n * n.saturating_sub(1) / 2;
    let mut cell: HashMap<(&str, &str), u64> = HashMap::new();
    let mut psize: HashMap<&str, u64> = HashMap::new();
    let mut tsize: HashMap<&str, u64> = HashMap::new();
    for (rid, t) in truth {
        let Some(p) = pred.get(rid) else { continue };
        *cell.entry((p, t)).or_default() += 1;
        *psize.entry(p).or_default() += 1;
        *tsize.entry(t).or_default() += 1;
    }
    let tp: u64 = cell.values().map(|&n| pairs(n)).sum();
    let pp: u64 = psize.values().map(|&n| pairs(n)).sum();
    let tt: u64 = tsize.values().map(|&n| pairs(n)).sum();
    let records: u64 = psize.values().sum();
    // B-cubed: per record, |pred ∩ true| / |pred| and / |true|; summed per cell.
    let (mut bp, mut br) = (0.0, 0.0);
    for (&(p, t), &n) in &cell {
        bp += (n * n) as f64 / psize[p] as f64;
        br += (n * n) as f64 / tsize[t] as f64;
    }
    let r = records.max(1) as f64;
    let (bp, br) = (bp / r, br / r);
    Evaluation {
        records: records as usize,
        true_pairs: tt,
        predicted_pairs: pp,
        pairwise: Prf::new(tp as f64, pp as f64, tt as f64),
        bcubed: Prf {
            precision: bp,
            recall: br,
            f1: if bp + br > 0.0 {
                2.0 * bp * br / (bp + br)
            } else {
                0.0
            },
        },
    }
}

pub async fn evaluate(store: &dyn Store, truth_path: &Path) -> Result<Evaluation> {
    let map = read_map(truth_path)?;
    let ids = store.record_ids().await?;
    let identities: Vec<IdentityRow> = store.identities().await?;
    let links = store.person_links().await?;
    let mut truth = HashMap::new();
    for (s, k, p) in map {
        if let Some(rid) = ids.get(&(s, k)) {
            truth.insert(*rid, p);
        }
    }
    // Unlinked identities are their own singleton clusters.
    let pred: HashMap<i64, String> = identities
        .iter()
        .map(|r| {
            (
                r.record_id,
                links
                    .get(&r.record_id)
                    .cloned()
                    .unwrap_or_else(|| format!("unlinked:{}", r.record_id)),
            )
        })
        .collect();
    if truth.is_empty() {
        bail!(
            "no row of {} names a record in the store (columns source,record_key,person_id)",
            truth_path.display()
        );
    }
    Ok(score(&pred, &truth))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pairs: &[(i64, &str)]) -> HashMap<i64, String> {
        pairs.iter().map(|(r, p)| (*r, p.to_string())).collect()
    }

    #[test]
    fn stable_ids_survive_a_relink_and_new_records_join() {
        let prev = m(&[(1, "P0000001"), (2, "P0000001"), (3, "P0000002")]);
        let a = assign_stable_ids(&[vec![1, 2, 4], vec![3], vec![5]], &prev);
        let got: HashMap<i64, String> = a.links.into_iter().collect();
        assert_eq!(got[&4], "P0000001");
        assert_eq!(got[&3], "P0000002");
        assert_eq!(got[&5], "P0000003");
        assert_eq!((a.kept, a.new_persons, a.merges, a.splits), (2, 1, 0, 0));
    }

    #[test]
    fn merges_and_splits_are_recorded() {
        let prev = m(&[(1, "P0000001"), (2, "P0000001"), (3, "P0000002")]);
        let merged = assign_stable_ids(&[vec![1, 2, 3]], &prev);
        assert_eq!(merged.merges, 1);
        assert!(merged.links.iter().all(|(_, p)| p == "P0000001"));
        let split = assign_stable_ids(&[vec![1], vec![2], vec![3]], &prev);
        assert_eq!(split.splits, 1);
        let got: HashMap<i64, String> = split.links.into_iter().collect();
        assert_eq!(got[&1], "P0000001");
        assert_ne!(got[&2], "P0000001");
    }

    #[test]
    fn scores_pairs_and_bcubed() {
        let truth = m(&[(1, "a"), (2, "a"), (3, "a"), (4, "b")]);
        let perfect = score(&truth, &truth);
        assert_eq!(perfect.pairwise.f1, 1.0);
        assert_eq!(perfect.bcubed.f1, 1.0);
        let pred = m(&[(1, "x"), (2, "x"), (3, "y"), (4, "y")]);
        let e = score(&pred, &truth);
        // predicted pairs {1,2},{3,4}; true pairs {1,2},{1,3},{2,3}
        assert!((e.pairwise.precision - 0.5).abs() < 1e-9);
        assert!((e.pairwise.recall - 1.0 / 3.0).abs() < 1e-9);
    }
}
