//! `familiar link`, `familiar link import`, `familiar link evaluate`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use familiar_link::{Constraints, IdEvent};
use familiar_store::{IdentityRow, LinkDecision, Linkage, PersonEvent, ReviewPair, Store};
use serde::Serialize;

/// An identity as the linker reads it: record id, source, identity, place and 911 call of the
/// interaction.
type PersonRec = familiar_link::AgencyIdentity;

fn person_rec(r: IdentityRow) -> PersonRec {
    let mut identity = r.identity;
    // The store keeps a home's premise key and its text as written; the apartment is read
    // again from the text by ingest's normalizer (the unit comparison needs it). A source's own
    // shelter words change what is a shelter, not the unit of a street address.
    if let Some(a) = identity.address.as_mut() {
        if a.unit.is_none() && a.kind == familiar_model::AddressKind::Street {
            a.unit = familiar_ingest::address::normalize(&a.raw, None, None).and_then(|n| n.unit);
        }
    }
    PersonRec {
        id: r.record_id as u64,
        source: r.source,
        identity,
        place: r.place,
        incident: r.incident_ref,
    }
}

/// The linkage used when none is named.
pub const DEFAULT_METHOD: &str = "model";

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Option<LinkCommand>,
    /// Print a JSON summary.
    #[arg(long)]
    pub json: bool,
    /// `model` (Fellegi–Sunter, learned from the data) or `deterministic` (the stand-in: exact
    /// normalized first + last name + full DOB).
    #[arg(long, default_value = DEFAULT_METHOD)]
    pub method: String,
    /// Only count the candidate pairs each blocking rule would create (nothing is scored or
    /// saved): check a large store before linking it.
    #[arg(long)]
    pub count_only: bool,
    /// Link only what is new since the last run (identities without a person, records whose
    /// person changed, new reviewer decisions) with the stored model; every other person keeps
    /// its records and id untouched. Without `--incremental` or `--full` this is chosen when a
    /// stored model fits and the new batch is small.
    #[arg(long, conflicts_with = "full")]
    pub incremental: bool,
    /// Retrain the model and relink every identity.
    #[arg(long)]
    pub full: bool,
}

/// Which kind of link run to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Incremental when a stored model fits and the new batch is small, else full.
    Auto,
    Full,
    Incremental,
}

/// Auto mode relinks in full when the new batch is more than this share of the identities.
pub const AUTO_MAX_NEW_SHARE: f64 = 0.10;
/// Auto mode retrains when the store has grown by more than this factor since the model was
/// trained (a model trained on a much smaller store misjudges how common values are).
pub const AUTO_MAX_GROWTH: f64 = 1.25;

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
    /// Why two records do or do not match: the match-weight waterfall (prior, each
    /// comparison's level and weight, total, probability).
    Explain {
        #[arg(long)]
        left: i64,
        #[arg(long)]
        right: i64,
        #[arg(long)]
        json: bool,
    },
    /// The model the last full run learned, for judging a linkage without a truth file: the
    /// prior, each comparison's levels with m, u and weight, the threshold, and the persons it
    /// made (how many, how large, how many pairs wait for review).
    Model {
        #[arg(long)]
        json: bool,
    },
    /// Score the current linkage against a truth map (`source,record_key,person_id`):
    /// pairwise and B-cubed metrics, blocking recall, and the worst false merges and missed
    /// links (record ids and match weights only).
    Evaluate {
        #[arg(long)]
        truth: PathBuf,
        #[arg(long)]
        json: bool,
        /// How many of the worst false merges and missed links to list.
        #[arg(long, default_value_t = 10)]
        worst: usize,
    },
}

pub async fn run(db: &Path, args: Args) -> Result<()> {
    let store = super::open_existing(db).await?;
    match args.command {
        None if args.count_only => {
            let recs: Vec<PersonRec> = store
                .identities()
                .await?
                .into_iter()
                .map(person_rec)
                .collect();
            let spec = familiar_link::person_spec();
            let max_pairs = spec.blocking.max_pairs;
            let table = familiar_link::person::identity_table(&recs)?;
            let mut linker =
                familiar_link::Linker::new(table, spec, familiar_link::spec::LinkType::Dedupe)?;
            let limited = linker.limit_blocking();
            let mut counts = linker.count_blocking();
            // pairs each rule adds to the rules before it (enumerated, nothing scored)
            let candidates = if limited.is_ok() {
                let (_, marginal) = linker
                    .blocker
                    .generate(&linker.pairing, |_, _, _| None::<()>);
                for (c, m) in counts.iter_mut().zip(&marginal) {
                    c.marginal_pairs = Some(*m);
                }
                Some(marginal.iter().sum::<u64>())
            } else {
                None
            };
            if args.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({
                        "identities": recs.len(),
                        "max_pairs_per_rule": max_pairs,
                        "candidate_pairs": candidates,
                        "rules": counts,
                        "refused": limited.err().map(|e| e.to_string()),
                    }))?
                );
            } else {
                println!(
                    "{} identities; candidate pairs per blocking rule (budget {max_pairs} per rule; the largest blocks of a rule over it are skipped):",
                    recs.len()
                );
                println!("  {:>14}  {:>14}  rule", "pairs", "new pairs");
                for c in &counts {
                    let new = c.marginal_pairs.map(|m| m.to_string()).unwrap_or_default();
                    println!("  {:>14}  {:>14}  {}", c.raw_pairs, new, c.rule);
                    if let Some(cap) = &c.skipped {
                        println!("      skipped: {}", cap.text());
                    }
                }
                if let Some(n) = candidates {
                    println!("{n} candidate pairs in all");
                }
                if let Err(e) = limited {
                    println!("refused: {e}");
                }
            }
            Ok(())
        }
        None => {
            let mode = if args.incremental {
                Mode::Incremental
            } else if args.full {
                Mode::Full
            } else {
                Mode::Auto
            };
            let summary = link_store_mode(&store, &args.method, "familiar", mode).await?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&summary)?);
            } else {
                print_summary(&summary);
            }
            Ok(())
        }
        Some(LinkCommand::Model { json }) => {
            let report = model_report(&store).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", model_text(&report));
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
        Some(LinkCommand::Explain { left, right, json }) => {
            let recs: Vec<PersonRec> = store
                .identities()
                .await?
                .into_iter()
                .map(person_rec)
                .collect();
            let (linker, from) = linker_for(&store, &recs).await?;
            let e = familiar_link::explain_identities(&linker, left as u64, right as u64)
                .with_context(|| format!("explaining records {left} and {right}"))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&e)?);
            } else {
                println!("model: {from}");
                print!("{e}");
            }
            Ok(())
        }
        Some(LinkCommand::Evaluate { truth, json, worst }) => {
            let e = evaluate(&store, &truth, worst).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&e)?);
            } else {
                let m = &e.metrics;
                println!(
                    "over {} records: pairwise precision {:.4} recall {:.4} F1 {:.4} (within a source F1 {:.4}, across sources F1 {:.4}); B-cubed F1 {:.4}",
                    e.records,
                    m.pairwise.precision,
                    m.pairwise.recall,
                    m.pairwise.f1,
                    m.within_source.f1,
                    m.cross_source.f1,
                    m.bcubed.f1
                );
                print!("{}", m.report_text());
                println!("(record ids; `familiar link explain --left ID --right ID` shows a pair's waterfall)");
            }
            Ok(())
        }
    }
}

#[derive(Debug, Serialize)]
pub struct LinkSummary {
    pub method: String,
    /// `full` or `incremental`, and why.
    pub mode: String,
    pub mode_reason: String,
    pub run_id: i64,
    pub identities: usize,
    /// Persons in the store after the run.
    pub persons: usize,
    pub new_persons: usize,
    pub kept_ids: usize,
    pub merges: usize,
    pub splits: usize,
    pub review_pairs: usize,
    /// Identities without a person before the run.
    pub new_identities: usize,
    /// Identities re-clustered (all of them in a full run).
    pub relinked_identities: usize,
    /// Incremental: existing persons the new batch reached (re-clustered with it).
    pub touched_persons: usize,
    pub candidate_pairs: u64,
    /// Blocks skipped to keep each blocking rule within its pair budget.
    pub skipped_blocks: Vec<familiar_link::BlockCap>,
    pub seconds: f64,
}

fn print_summary(s: &LinkSummary) {
    for c in &s.skipped_blocks {
        println!("blocking: {}", c.text());
    }
    if s.mode == "incremental" {
        println!(
            "incremental link ({}): {} new identities scored against the stored model; {} identities re-clustered ({} existing persons reached, {} candidate pairs); every other person untouched",
            s.mode_reason, s.new_identities, s.relinked_identities, s.touched_persons, s.candidate_pairs
        );
    } else {
        println!("full link ({})", s.mode_reason);
    }
    println!(
        "linked {} identities into {} persons ({} new, {} kept their id, {} merged, {} split) with method {} in {:.1}s; {} pairs wait for review",
        s.identities,
        s.persons,
        s.new_persons,
        s.kept_ids,
        s.merges,
        s.splits,
        s.method,
        s.seconds,
        s.review_pairs
    );
    if s.review_pairs > 0 {
        println!(
            "  familiar review list --order impact   # those touching the persons with most records first"
        );
    }
}

/// A person linker for explanations and evaluation: the model stored with the last full run
/// when it fits the built-in spec (so a pair is scored as the run scored it), else one trained
/// now. Returns the linker and where its model came from.
pub async fn linker_for(
    store: &dyn Store,
    recs: &[PersonRec],
) -> Result<(familiar_link::Linker, String)> {
    let state = store.link_state().await?;
    if let (Some(m), Some(run)) = (stored_model(&state), state.model_run) {
        let from = format!("stored with link run {run}");
        return Ok((
            m.linker(recs, &from).context("loading the stored model")?,
            from,
        ));
    }
    Ok((
        familiar_link::person_linker(recs).context("training the model")?,
        "trained now (no stored model fits)".into(),
    ))
}

/// The stored model, if there is one and it was trained for the built-in spec.
fn stored_model(state: &familiar_store::LinkState) -> Option<familiar_link::ModelState> {
    let m: familiar_link::ModelState = serde_json::from_str(state.model.as_deref()?).ok()?;
    m.fits(&familiar_link::person_spec()).then_some(m)
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

/// Reviewer decisions as model constraints, plus record → person assignments.
fn constraints_from(decisions: &[LinkDecision]) -> (Constraints, BTreeMap<i64, String>) {
    let mut c = Constraints::default();
    let mut assigned: BTreeMap<i64, String> = BTreeMap::new();
    for d in decisions {
        match (d.kind.as_str(), d.right_record) {
            ("match", Some(r)) => c.must_link.push((d.left_record as u64, r as u64)),
            ("non_match", Some(r)) => c.cannot_link.push((d.left_record as u64, r as u64)),
            ("assign", _) => {
                if let Some(p) = &d.person_id {
                    // Later decisions win.
                    assigned.insert(d.left_record, p.clone());
                }
                c.pinned.push(d.left_record as u64);
            }
            _ => {}
        }
    }
    // Records assigned to one person are linked to each other.
    let mut by_person: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for (r, p) in &assigned {
        by_person.entry(p).or_default().push(*r);
    }
    for rs in by_person.values() {
        for w in rs.windows(2) {
            c.must_link.push((w[0] as u64, w[1] as u64));
        }
    }
    (c, assigned)
}

/// Make clusters agree with assignments: a cluster holding records assigned to several persons
/// is cut along them (unassigned records go with the person most of its records belong to);
/// clusters assigned to the same person are joined. Returns (records, fixed person id).
fn apply_assignments(
    clusters: Vec<Vec<i64>>,
    assigned: &BTreeMap<i64, String>,
) -> Vec<(Vec<i64>, Option<String>)> {
    let mut fixed: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    let mut free = Vec::new();
    for c in clusters {
        let mut votes: BTreeMap<&str, usize> = BTreeMap::new();
        for r in &c {
            if let Some(p) = assigned.get(r) {
                *votes.entry(p).or_default() += 1;
            }
        }
        let Some((&major, _)) = votes.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0))) else {
            free.push(c);
            continue;
        };
        for r in c {
            let p = assigned.get(&r).map(String::as_str).unwrap_or(major);
            fixed.entry(p.to_string()).or_default().push(r);
        }
    }
    let mut out: Vec<(Vec<i64>, Option<String>)> = free.into_iter().map(|c| (c, None)).collect();
    out.extend(fixed.into_iter().map(|(p, mut rs)| {
        rs.sort_unstable();
        (rs, Some(p))
    }));
    out
}

/// Pairs the model linked without being sure go to the review queue.
const REVIEW_BELOW_PROBABILITY: f64 = 0.99;

/// The review queue: a weak link (probability below [`REVIEW_BELOW_PROBABILITY`]) is worth a
/// reviewer's time only when it is what joins two groups of records that strong links hold
/// together; a weak pair inside one strongly linked group is settled already. One pair (the
/// strongest) per two groups.
fn review_pairs(
    pairs: &[familiar_link::ScoredPair],
    attached: &[familiar_link::ScoredPair],
) -> Vec<ReviewPair> {
    let mut parent: HashMap<u64, u64> = HashMap::new();
    fn find(parent: &mut HashMap<u64, u64>, x: u64) -> u64 {
        let p = *parent.entry(x).or_insert(x);
        if p == x {
            return x;
        }
        let r = find(parent, p);
        parent.insert(x, r);
        r
    }
    for p in pairs
        .iter()
        .filter(|p| p.match_probability >= REVIEW_BELOW_PROBABILITY)
    {
        let (a, b) = (find(&mut parent, p.a), find(&mut parent, p.b));
        if a != b {
            parent.insert(a.max(b), a.min(b));
        }
    }
    let mut best: BTreeMap<(u64, u64), &familiar_link::ScoredPair> = BTreeMap::new();
    for p in pairs
        .iter()
        .filter(|p| p.match_probability < REVIEW_BELOW_PROBABILITY)
    {
        let (a, b) = (find(&mut parent, p.a), find(&mut parent, p.b));
        if a == b {
            continue;
        }
        let key = (a.min(b), a.max(b));
        let e = best.entry(key).or_insert(p);
        if p.match_probability > e.match_probability {
            *e = p;
        }
    }
    // every attachment by the size prior or the name-only pass is a decision a reviewer
    // should see, however sure the link (a record ambiguous between two persons can link both
    // near-certainly)
    let mut queued: std::collections::HashSet<(u64, u64)> =
        best.values().map(|p| (p.a, p.b)).collect();
    let extra: Vec<&familiar_link::ScoredPair> = attached
        .iter()
        .filter(|p| queued.insert((p.a, p.b)))
        .collect();
    best.into_values()
        .chain(extra)
        .map(|p| ReviewPair {
            left_record: p.a as i64,
            right_record: p.b as i64,
            match_weight: p.match_weight,
            match_probability: p.match_probability,
        })
        .collect()
}

/// Link the store in the default mode (see [`Mode::Auto`]).
pub async fn link_store(store: &dyn Store, method: &str, actor: &str) -> Result<LinkSummary> {
    link_store_mode(store, method, actor, Mode::Auto).await
}

/// Person ids, links and events for clusters: ids carried over from `previous` by record
/// overlap, reviewer-assigned ids kept, new ids numbered above `in_use`.
struct Named {
    links: Vec<(i64, String)>,
    methods: Vec<String>,
    events: Vec<PersonEvent>,
    persons: usize,
    new_persons: usize,
    merges: usize,
    splits: usize,
}

fn name_persons(
    clusters: &[(Vec<i64>, Option<String>)],
    previous: &[(String, String)],
    in_use: u64,
    assigned: &BTreeMap<i64, String>,
    method: &str,
) -> Named {
    let keyed: Vec<Vec<String>> = clusters
        .iter()
        .map(|(c, _)| c.iter().map(i64::to_string).collect())
        .collect();
    let (assignment, id_events) = familiar_link::assign_stable_ids_above(
        previous,
        &keyed,
        &familiar_link::IdMinter::default(),
        in_use,
    );
    // Reviewer-grade assignments name their own person; no other cluster may reuse those ids.
    let fixed_ids: std::collections::HashSet<&str> =
        clusters.iter().filter_map(|(_, f)| f.as_deref()).collect();
    let mut minted = previous
        .iter()
        .map(|(_, p)| p.as_str())
        .chain(assignment.cluster_ids.iter().map(String::as_str))
        .filter_map(id_number)
        .max()
        .unwrap_or(0)
        .max(in_use);
    let mut links = Vec::new();
    let mut methods = Vec::new();
    for ((records, fixed), stable) in clusters.iter().zip(&assignment.cluster_ids) {
        let pid = match fixed {
            Some(p) => p.clone(),
            None if fixed_ids.contains(stable.as_str()) => {
                minted += 1;
                format!("P{minted:07}")
            }
            None => stable.clone(),
        };
        for r in records {
            links.push((*r, pid.clone()));
            methods.push(
                if assigned.contains_key(r) {
                    "review"
                } else {
                    method
                }
                .to_string(),
            );
        }
    }
    let events: Vec<PersonEvent> = id_events
        .iter()
        .map(|e| {
            let (kind, person) = match e {
                IdEvent::New { person_id, .. } => ("new", person_id.clone()),
                IdEvent::Merge { into, .. } => ("merge", into.clone()),
                IdEvent::Split { from, .. } => ("split", from.clone()),
                IdEvent::Retired { person_id, .. } => ("retire", person_id.clone()),
            };
            PersonEvent {
                kind: kind.into(),
                person_id: person,
                detail: serde_json::to_string(e).unwrap_or_default(),
            }
        })
        .collect();
    let count = |k: &str| events.iter().filter(|e| e.kind == k).count();
    Named {
        links,
        methods,
        persons: clusters.len(),
        new_persons: count("new"),
        merges: count("merge"),
        splits: count("split"),
        events,
    }
}

/// The number of a minted person id (`P0000123` → 123).
fn id_number(p: &str) -> Option<u64> {
    p.strip_prefix('P').and_then(|n| n.parse::<u64>().ok())
}

/// What is new since the last run, for choosing and driving an incremental run.
struct Delta {
    /// Identities without a person.
    new: usize,
    /// Linked records that are no longer current identities (superseded), excluding records
    /// linked by an assignment only.
    removed: Vec<i64>,
    /// Identities whose persons must be re-clustered: same person as a removed record, or named
    /// by a decision taken since the last run.
    touched: Vec<u64>,
}

fn delta(
    rows: &[IdentityRow],
    links: &HashMap<i64, String>,
    decisions: &[LinkDecision],
    decisions_through: Option<i64>,
    assigned: &BTreeMap<i64, String>,
) -> Delta {
    let ids: std::collections::HashSet<i64> = rows.iter().map(|r| r.record_id).collect();
    let new = rows
        .iter()
        .filter(|r| !links.contains_key(&r.record_id))
        .count();
    let mut removed: Vec<i64> = links
        .keys()
        .filter(|r| !ids.contains(r) && !assigned.contains_key(r))
        .copied()
        .collect();
    removed.sort_unstable();
    let lost: std::collections::HashSet<&str> = removed.iter().map(|r| links[r].as_str()).collect();
    let mut touched: Vec<u64> = rows
        .iter()
        .filter(|r| {
            links
                .get(&r.record_id)
                .is_some_and(|p| lost.contains(p.as_str()))
        })
        .map(|r| r.record_id as u64)
        .collect();
    for d in decisions
        .iter()
        .filter(|d| decisions_through.is_none_or(|t| d.id > t))
    {
        touched.push(d.left_record as u64);
        if let Some(r) = d.right_record {
            touched.push(r as u64);
        }
    }
    touched.sort_unstable();
    touched.dedup();
    Delta {
        new,
        removed,
        touched,
    }
}

/// Link the store, keep person ids stable, save atomically: in full (train the model, cluster
/// every identity) or incrementally (see [`familiar_link::incremental`]).
pub async fn link_store_mode(
    store: &dyn Store,
    method: &str,
    actor: &str,
    mode: Mode,
) -> Result<LinkSummary> {
    let rows = store.identities().await?;
    let n_rows = rows.len();
    let identity_ids: std::collections::HashSet<i64> = rows.iter().map(|r| r.record_id).collect();
    let decisions = store.decisions().await?;
    let decisions_through = decisions.iter().map(|d| d.id).max();
    let (constraints, assigned) = constraints_from(&decisions);
    let state = store.link_state().await?;
    let links_before = store.person_links().await?;
    let d = delta(
        &rows,
        &links_before,
        &decisions,
        state.decisions_through,
        &assigned,
    );
    let model = if method == "model" {
        stored_model(&state)
    } else {
        None
    };
    let batch = d.new + d.removed.len();
    let (incremental, reason) = match (mode, &model) {
        _ if method != "model" => (false, format!("method {method}")),
        _ if links_before.is_empty() => (false, "nothing linked before".to_string()),
        (Mode::Full, _) => (false, "--full".to_string()),
        (Mode::Incremental, None) => bail!(
            "no stored model fits the built-in linkage spec (none was stored, or the spec changed since): run a full `familiar link` first"
        ),
        (Mode::Incremental, Some(_)) => (true, "--incremental".to_string()),
        (Mode::Auto, None) => (false, "no stored model fits the built-in spec".to_string()),
        (Mode::Auto, Some(m)) => {
            let share = batch as f64 / n_rows.max(1) as f64;
            let growth = n_rows as f64 / m.trained_on.max(1) as f64;
            if share > AUTO_MAX_NEW_SHARE {
                (
                    false,
                    format!(
                        "the new batch is {:.0}% of the identities (more than {:.0}%): retrained",
                        share * 100.0,
                        AUTO_MAX_NEW_SHARE * 100.0
                    ),
                )
            } else if growth > AUTO_MAX_GROWTH {
                (
                    false,
                    format!(
                        "the store grew {growth:.2}× since the model was trained: retrained"
                    ),
                )
            } else {
                (
                    true,
                    format!(
                        "{batch} new or changed identities, {:.1}% of the store; stored model of link run {}",
                        share * 100.0,
                        state.model_run.unwrap_or_default()
                    ),
                )
            }
        }
    };
    if incremental {
        let model = model.expect("checked above");
        return link_incremental(
            store,
            actor,
            rows,
            &links_before,
            &d,
            (&constraints, &assigned, decisions_through),
            &model,
            &state,
            reason,
        )
        .await;
    }
    let t = std::time::Instant::now();
    let mut stored_model_json = None;
    let mut candidate_pairs = 0;
    let mut skipped_blocks = Vec::new();
    let (clusters, review, model_stats) = match method {
        "model" => {
            // the rows move into the linker's records (a large store holds no second copy)
            let recs: Vec<PersonRec> = rows.into_iter().map(person_rec).collect();
            let res = familiar_link::try_link_identities(&recs, &constraints)
                .context("linking identities")?;
            let review = review_pairs(&res.pairs, &res.attached);
            stored_model_json = res.model.as_ref().map(serde_json::to_string).transpose()?;
            candidate_pairs = res.candidate_pairs;
            skipped_blocks = res.block_caps.clone();
            let stats = serde_json::json!({
                "candidate_pairs": res.candidate_pairs,
                "skipped_blocks": res.block_caps,
                "pairs_above_threshold": res.pairs.len(),
                "refused_merges": res.refused_merges,
                "parameters": res.params,
            });
            let clusters = res
                .clusters
                .into_iter()
                .map(|c| c.into_iter().map(|r| r as i64).collect())
                .collect();
            (clusters, review, stats)
        }
        "deterministic" => {
            let mut groups: BTreeMap<String, Vec<i64>> = BTreeMap::new();
            let mut singles = Vec::new();
            for r in &rows {
                match deterministic_key(r) {
                    Some(k) => groups.entry(k).or_default().push(r.record_id),
                    None => singles.push(vec![r.record_id]),
                }
            }
            let mut out: Vec<Vec<i64>> = groups.into_values().collect();
            out.extend(singles);
            (out, vec![], serde_json::json!({}))
        }
        other => bail!("unknown linkage method {other:?} (known: model, deterministic)"),
    };
    let link_seconds = t.elapsed().as_secs_f64();
    // Assignments also cover records without a usable identity (linked by import only).
    let mut clusters = clusters;
    clusters.extend(
        assigned
            .keys()
            .filter(|r| !identity_ids.contains(r))
            .map(|r| vec![*r]),
    );
    let clusters = apply_assignments(clusters, &assigned);

    let previous: Vec<(String, String)> = links_before
        .iter()
        .map(|(r, p)| (r.to_string(), p.clone()))
        .collect();
    let named = name_persons(&clusters, &previous, 0, &assigned, method);
    let persons = named.persons;
    let kept_ids = persons - named.new_persons;
    let stats = serde_json::json!({
        "mode": "full",
        "mode_reason": reason,
        "identities": n_rows,
        "persons": persons,
        "new": named.new_persons,
        "merges": named.merges,
        "splits": named.splits,
        "review_pairs": review.len(),
        "decisions_applied": decisions.len(),
        "seconds": link_seconds,
        "model": model_stats,
    });
    let run_id = store
        .save_linkage(&Linkage {
            method: method.to_string(),
            actor: actor.to_string(),
            links: named.links,
            link_methods: named.methods,
            events: named.events,
            stats: stats.to_string(),
            review,
            model: stored_model_json,
            decisions_through,
        })
        .await?;
    let review_pairs = store.review_queue().await?.len();
    Ok(LinkSummary {
        method: method.to_string(),
        mode: "full".into(),
        mode_reason: reason,
        run_id,
        identities: n_rows,
        persons,
        new_persons: named.new_persons,
        kept_ids,
        merges: named.merges,
        splits: named.splits,
        review_pairs,
        new_identities: d.new,
        relinked_identities: n_rows,
        touched_persons: 0,
        candidate_pairs,
        skipped_blocks,
        seconds: link_seconds,
    })
}

/// The incremental run: score the new batch with the stored model, re-cluster the persons it
/// reaches, save only their links.
#[allow(clippy::too_many_arguments)]
async fn link_incremental(
    store: &dyn Store,
    actor: &str,
    rows: Vec<IdentityRow>,
    links_before: &HashMap<i64, String>,
    d: &Delta,
    (constraints, assigned, decisions_through): (&Constraints, &BTreeMap<i64, String>, Option<i64>),
    model: &familiar_link::ModelState,
    state: &familiar_store::LinkState,
    reason: String,
) -> Result<LinkSummary> {
    let t = std::time::Instant::now();
    let n_rows = rows.len();
    let identity_ids: std::collections::HashSet<i64> = rows.iter().map(|r| r.record_id).collect();
    let recs: Vec<PersonRec> = rows.into_iter().map(person_rec).collect();
    let previous: HashMap<u64, String> = links_before
        .iter()
        .filter(|(r, _)| identity_ids.contains(r))
        .map(|(r, p)| (*r as u64, p.clone()))
        .collect();
    let from = format!(
        "stored with link run {}",
        state.model_run.unwrap_or_default()
    );
    let res = familiar_link::link_incremental(&familiar_link::IncrementalInput {
        records: &recs,
        previous: &previous,
        touched: &d.touched,
        constraints,
        model,
        model_from: &from,
    })
    .context("linking the new batch")?;
    let link_seconds = t.elapsed().as_secs_f64();
    let review = review_pairs(&res.pairs, &res.attached);
    let mut clusters: Vec<Vec<i64>> = res
        .clusters
        .iter()
        .map(|c| c.iter().map(|&r| r as i64).collect())
        .collect();
    // The persons re-clustered, as they were: their records without an identity (linked by an
    // assignment only) come along, and removed records count as theirs for the id history.
    let affected: std::collections::HashSet<i64> = clusters.iter().flatten().copied().collect();
    let old_pids: std::collections::HashSet<&str> = affected
        .iter()
        .chain(&d.removed)
        .filter_map(|r| links_before.get(r).map(String::as_str))
        .collect();
    let carried: Vec<i64> = assigned
        .keys()
        .filter(|r| {
            !identity_ids.contains(r)
                && links_before
                    .get(r)
                    .is_none_or(|p| old_pids.contains(p.as_str()))
        })
        .copied()
        .collect();
    clusters.extend(carried.iter().map(|r| vec![*r]));
    let clusters = apply_assignments(clusters, assigned);
    let mut replace: Vec<i64> = clusters.iter().flat_map(|(c, _)| c.clone()).collect();
    replace.extend(&d.removed);
    let previous_part: Vec<(String, String)> = replace
        .iter()
        .filter_map(|r| links_before.get(r).map(|p| (r.to_string(), p.clone())))
        .collect();
    let in_use = links_before
        .values()
        .filter_map(|p| id_number(p))
        .max()
        .unwrap_or(0);
    let named = name_persons(&clusters, &previous_part, in_use, assigned, "model");
    // persons after the run: the untouched ones plus the re-clustered ones
    let replace_set: std::collections::HashSet<i64> = replace.iter().copied().collect();
    let persons = links_before
        .iter()
        .filter(|(r, _)| !replace_set.contains(r))
        .map(|(_, p)| p.as_str())
        .chain(named.links.iter().map(|(_, p)| p.as_str()))
        .collect::<std::collections::HashSet<&str>>()
        .len();
    let kept_ids = named.persons - named.new_persons;
    let stats = serde_json::json!({
        "mode": "incremental",
        "mode_reason": reason,
        "identities": n_rows,
        "new_identities": res.new_identities,
        "removed_records": d.removed.len(),
        "touched_records": d.touched.len(),
        "relinked_identities": res.affected_identities,
        "touched_persons": res.touched_persons,
        "rounds": res.rounds,
        "skipped_blocks": res.block_caps,
        "candidate_pairs": res.candidate_pairs,
        "pairs_above_threshold": res.pairs.len(),
        "refused_merges": res.refused_merges,
        "persons": persons,
        "new": named.new_persons,
        "merges": named.merges,
        "splits": named.splits,
        "review_pairs": review.len(),
        "seconds": link_seconds,
        "model_run": state.model_run,
    });
    let run_id = store
        .save_linkage_update(
            &Linkage {
                method: "model".into(),
                actor: actor.to_string(),
                links: named.links,
                link_methods: named.methods,
                events: named.events,
                stats: stats.to_string(),
                review,
                model: None,
                decisions_through,
            },
            &replace,
        )
        .await?;
    // the queue as a whole: pairs elsewhere stay from earlier runs
    let review_pairs = store.review_queue().await?.len();
    Ok(LinkSummary {
        method: "model".into(),
        mode: "incremental".into(),
        mode_reason: reason,
        run_id,
        identities: n_rows,
        persons,
        new_persons: named.new_persons,
        kept_ids,
        merges: named.merges,
        splits: named.splits,
        review_pairs,
        new_identities: res.new_identities,
        relinked_identities: res.affected_identities,
        touched_persons: res.touched_persons,
        candidate_pairs: res.candidate_pairs,
        skipped_blocks: res.block_caps.clone(),
        seconds: link_seconds,
    })
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
    let decisions: Vec<LinkDecision> = links
        .iter()
        .map(|(rid, pid)| LinkDecision {
            id: 0,
            at: String::new(),
            actor: actor.clone(),
            kind: "assign".into(),
            left_record: *rid,
            right_record: None,
            person_id: Some(pid.clone()),
            reason: "known link imported from a record map".into(),
        })
        .collect();
    store.add_decisions(&decisions).await?;
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
            review: vec![],
            ..Default::default()
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
pub struct Evaluation {
    /// Records scored: current records named by the truth file.
    pub records: usize,
    /// Pairwise (all pairs), within-source, cross-source and B-cubed metrics.
    #[serde(flatten)]
    pub metrics: familiar_link::Evaluation,
}

/// Score a clustering given as record → predicted label, against record → true label.
pub fn score(
    pred: &HashMap<i64, String>,
    truth: &HashMap<i64, String>,
    source: &HashMap<i64, String>,
) -> Evaluation {
    let mut ids: Vec<i64> = truth
        .keys()
        .filter(|r| pred.contains_key(r))
        .copied()
        .collect();
    ids.sort_unstable();
    let intern = |m: &HashMap<i64, String>| -> Vec<u32> {
        let mut ix: HashMap<&str, u32> = HashMap::new();
        ids.iter()
            .map(|r| {
                let k = m.get(r).map(String::as_str).unwrap_or("");
                let n = ix.len() as u32;
                *ix.entry(k).or_insert(n)
            })
            .collect()
    };
    let metrics =
        familiar_link::evaluate_clusters(&intern(pred), &intern(truth), &intern(source), false);
    Evaluation {
        records: ids.len(),
        metrics,
    }
}

/// Score the store's linkage against a truth map; with the model, list the `worst` false merges
/// and missed links (pairs scored by the model, as `link explain` scores them) and the blocking
/// recall.
pub async fn evaluate(store: &dyn Store, truth_path: &Path, worst: usize) -> Result<Evaluation> {
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
    let source = identities
        .iter()
        .map(|r| (r.record_id, r.source.clone()))
        .collect();
    let mut ev = score(&pred, &truth, &source);
    if identities.len() >= 2 {
        let recs: Vec<PersonRec> = identities.into_iter().map(person_rec).collect();
        let (linker, _) = linker_for(store, &recs).await?;
        let tab = &linker.table;
        let rid = |i: usize| -> i64 { tab.ids[i].parse().unwrap_or_default() };
        // one label per table record; records the map does not name are unknown (u32::MAX)
        let labels = |m: &HashMap<i64, String>| -> Vec<u32> {
            let mut intern: HashMap<&str, u32> = HashMap::new();
            (0..tab.len())
                .map(|i| match m.get(&rid(i)) {
                    Some(p) => {
                        let n = intern.len() as u32;
                        *intern.entry(p.as_str()).or_insert(n)
                    }
                    None => u32::MAX,
                })
                .collect()
        };
        let pred_l = labels(&pred);
        let truth_l = labels(&truth);
        ev.metrics.blocking_recall = linker.blocking_recall(&truth_l);
        let label = |i: u32| tab.ids[i as usize].to_string();
        linker.inspect(&mut ev.metrics, &pred_l, &truth_l, worst, &label);
    }
    Ok(ev)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pairs: &[(i64, &str)]) -> HashMap<i64, String> {
        pairs.iter().map(|(r, p)| (*r, p.to_string())).collect()
    }

    #[test]
    fn assignments_cut_and_join_clusters() {
        let assigned: BTreeMap<i64, String> = [(1, "A"), (3, "B"), (5, "A")]
            .iter()
            .map(|(r, p)| (*r, p.to_string()))
            .collect();
        let out = apply_assignments(vec![vec![1, 2, 3], vec![4], vec![5, 6]], &assigned);
        let find = |p: &str| {
            out.iter()
                .find(|(_, f)| f.as_deref() == Some(p))
                .unwrap()
                .0
                .clone()
        };
        // Cluster {1,2,3} holds A and B: cut; 2 goes with A (tie broken by id); {5,6} joins A.
        assert_eq!(find("A"), vec![1, 2, 5, 6]);
        assert_eq!(find("B"), vec![3]);
        assert!(out.iter().any(|(c, f)| c == &vec![4] && f.is_none()));
    }

    #[test]
    fn decisions_become_constraints() {
        let d = |kind: &str, l: i64, r: Option<i64>, p: Option<&str>| LinkDecision {
            id: 0,
            at: String::new(),
            actor: "t".into(),
            kind: kind.into(),
            left_record: l,
            right_record: r,
            person_id: p.map(str::to_string),
            reason: String::new(),
        };
        let (c, a) = constraints_from(&[
            d("match", 1, Some(2), None),
            d("non_match", 3, Some(4), None),
            d("assign", 7, None, Some("X")),
            d("assign", 9, None, Some("X")),
            d("assign", 11, None, Some("Y")),
        ]);
        assert!(c.must_link.contains(&(1, 2)) && c.must_link.contains(&(7, 9)));
        assert_eq!(c.cannot_link, vec![(3, 4)]);
        assert_eq!(a[&9], "X");
        // every assigned record is pinned, one alone under its person too
        assert_eq!(c.pinned, vec![7, 9, 11]);
    }

    #[test]
    fn scores_pairs_and_bcubed() {
        let truth = m(&[(1, "a"), (2, "a"), (3, "a"), (4, "b")]);
        let src = m(&[(1, "x"), (2, "y"), (3, "y"), (4, "y")]);
        let perfect = score(&truth, &truth, &src);
        assert_eq!(perfect.metrics.pairwise.f1, 1.0);
        assert_eq!(perfect.metrics.bcubed.f1, 1.0);
        let pred = m(&[(1, "x"), (2, "x"), (3, "y"), (4, "y")]);
        let e = score(&pred, &truth, &src);
        // predicted pairs {1,2},{3,4}; true pairs {1,2},{1,3},{2,3}
        assert!((e.metrics.pairwise.precision - 0.5).abs() < 1e-9);
        assert!((e.metrics.pairwise.recall - 1.0 / 3.0).abs() < 1e-9);
        assert_eq!(e.records, 4);
    }
}

#[cfg(test)]
mod person_rec_tests {
    use super::*;
    use familiar_model::{Address, AddressKind, SourceIdentity};

    fn row(raw: &str, kind: AddressKind) -> IdentityRow {
        IdentityRow {
            record_id: 7,
            source: "dfd".into(),
            agency: "DFD".into(),
            record_key: "F1".into(),
            identity: SourceIdentity {
                address: Some(Address {
                    raw: raw.into(),
                    key: "4569 GRANDALE".into(),
                    kind,
                    ..Default::default()
                }),
                ..Default::default()
            },
            place: None,
            incident_ref: None,
        }
    }

    /// The store keeps no unit: the linker reads it again from the home's text.
    #[test]
    fn a_homes_unit_is_read_from_its_text() {
        let unit = |raw, kind| person_rec(row(raw, kind)).identity.address.unwrap().unit;
        assert_eq!(
            unit("4569 GRANDALE DR #38", AddressKind::Street).as_deref(),
            Some("38")
        );
        assert_eq!(
            unit("4569 Grandale Drive Apt 38", AddressKind::Street).as_deref(),
            Some("38")
        );
        assert_eq!(unit("4569 GRANDALE DR", AddressKind::Street), None);
        assert_eq!(unit("HOMELESS", AddressKind::Homeless), None);
    }
}

#[cfg(test)]
mod review_tests {
    use super::*;
    use familiar_link::ScoredPair;

    fn pair(a: u64, b: u64, p: f64) -> ScoredPair {
        ScoredPair {
            a,
            b,
            match_weight: (p / (1.0 - p)).log2(),
            match_probability: p,
        }
    }

    #[test]
    fn the_queue_takes_the_uncertain_band_once_per_pair_of_groups_and_every_attachment() {
        // 1-2 and 3-4 are near-certain groups; 2-3 and 1-4 both join them (one entry, the
        // likelier); 5 is attached by the size prior near-certainly: still queued
        let pairs = [
            pair(1, 2, 0.999),
            pair(3, 4, 0.999),
            pair(2, 3, 0.9),
            pair(1, 4, 0.85),
            pair(5, 1, 0.995),
        ];
        let attached = [pair(5, 1, 0.995)];
        let q = review_pairs(&pairs, &attached);
        let got: Vec<(i64, i64)> = q.iter().map(|r| (r.left_record, r.right_record)).collect();
        assert_eq!(got, vec![(2, 3), (5, 1)]);
        // an attachment already in the band is queued once
        let q = review_pairs(&[pair(1, 2, 0.9)], &[pair(1, 2, 0.9)]);
        assert_eq!(q.len(), 1);
    }
}

/// What `familiar link model` reports.
#[derive(Debug, Serialize)]
pub struct ModelReport {
    /// The link run that trained the model.
    pub trained_by_run: i64,
    /// The newest link run, whose persons `persons` counts (a later run may not have used the
    /// model: `link import`, or the deterministic method).
    pub persons_of_run: Option<i64>,
    /// Set when the stored model cannot be read by this build (written by another version):
    /// the next full run retrains; the parameters below are then empty.
    pub unreadable: Option<String>,
    /// Identities it was trained on.
    pub trained_on: usize,
    /// Whether it is the built-in spec's (a stored model of another spec is shown, not used).
    pub fits_current_spec: bool,
    /// λ: the share of random pairs of records that are the same person.
    pub lambda: f64,
    /// log2(λ / (1 − λ)), the prior in every match weight.
    pub prior_weight: f64,
    pub threshold_weight: f64,
    pub threshold_probability: f64,
    pub comparisons: Vec<ModelComparison>,
    /// Warnings about the learned parameters (exact agreement that counts against a match:
    /// check that the field means the same in every source).
    pub warnings: Vec<String>,
    pub persons: PersonSizes,
    pub review_pairs: usize,
}

#[derive(Debug, Serialize)]
pub struct ModelComparison {
    pub name: String,
    pub levels: Vec<familiar_link::model::LevelParams>,
}

/// Persons by how many records each holds.
#[derive(Debug, Default, Serialize)]
pub struct PersonSizes {
    pub persons: usize,
    pub records: usize,
    pub one_record: usize,
    pub two_to_four: usize,
    pub five_to_nineteen: usize,
    pub twenty_or_more: usize,
    /// The largest persons' record counts (a very large one is worth a look: one bad bridge
    /// shows up here first).
    pub largest: Vec<usize>,
}

async fn model_report(store: &dyn Store) -> Result<ModelReport> {
    let state = store.link_state().await?;
    let (Some(text), Some(run)) = (state.model.as_deref(), state.model_run) else {
        bail!("no model is stored yet: run `familiar link` first");
    };
    let parsed = serde_json::from_str::<familiar_link::ModelState>(text);
    let spec = familiar_link::person_spec();
    let persons = person_sizes(store).await?;
    let review_pairs = store.review_queue().await?.len();
    let m = match parsed {
        Ok(m) => m,
        Err(e) => {
            return Ok(ModelReport {
                trained_by_run: run,
                persons_of_run: state.last_run,
                unreadable: Some(format!(
                    "the stored model is in a format this build does not read ({e}): the next \
                     full run retrains"
                )),
                trained_on: 0,
                fits_current_spec: false,
                lambda: f64::NAN,
                prior_weight: f64::NAN,
                threshold_weight: f64::NAN,
                threshold_probability: f64::NAN,
                comparisons: Vec::new(),
                warnings: Vec::new(),
                persons,
                review_pairs,
            })
        }
    };
    let threshold_weight = m.spec.threshold.weight();
    Ok(ModelReport {
        trained_by_run: run,
        persons_of_run: state.last_run,
        unreadable: None,
        trained_on: m.trained_on,
        fits_current_spec: m.fits(&spec),
        lambda: m.lambda,
        prior_weight: m.prior_weight,
        threshold_weight,
        threshold_probability: familiar_link::model::probability(threshold_weight),
        warnings: model_warnings(&m.comparisons),
        comparisons: m
            .comparisons
            .iter()
            .map(|c| ModelComparison {
                name: c.name.clone(),
                levels: c.levels.clone(),
            })
            .collect(),
        persons,
        review_pairs,
    })
}

/// The current persons by size.
async fn person_sizes(store: &dyn Store) -> Result<PersonSizes> {
    let links = store.person_links().await?;
    let mut size: HashMap<&str, usize> = HashMap::new();
    for p in links.values() {
        *size.entry(p.as_str()).or_default() += 1;
    }
    let mut sizes: Vec<usize> = size.into_values().collect();
    sizes.sort_unstable_by(|a, b| b.cmp(a));
    Ok(PersonSizes {
        persons: sizes.len(),
        records: sizes.iter().sum(),
        one_record: sizes.iter().filter(|&&n| n == 1).count(),
        two_to_four: sizes.iter().filter(|&&n| (2..5).contains(&n)).count(),
        five_to_nineteen: sizes.iter().filter(|&&n| (5..20).contains(&n)).count(),
        twenty_or_more: sizes.iter().filter(|&&n| n >= 20).count(),
        largest: sizes.iter().take(5).copied().collect(),
    })
}

/// Exact agreement that is no evidence for a match: the field likely holds different things in
/// different sources (or one placeholder value in many rows).
fn model_warnings(comparisons: &[familiar_link::incremental::StoredComparison]) -> Vec<String> {
    let mut out = Vec::new();
    for c in comparisons {
        for l in &c.levels {
            if l.label == "exact" && l.weight <= 0.0 {
                out.push(format!(
                    "{}: exact agreement counts against a match (weight {:.2}): check that the \
                     field is mapped to the same thing in every source",
                    c.name, l.weight
                ));
            }
        }
    }
    out
}

fn model_text(r: &ModelReport) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    if let Some(why) = &r.unreadable {
        let _ = writeln!(s, "model of link run {}: {why}", r.trained_by_run);
        persons_text(&mut s, r);
        return s;
    }
    let _ = writeln!(
        s,
        "model of link run {} (trained on {} identities{})",
        r.trained_by_run,
        r.trained_on,
        if r.fits_current_spec {
            ""
        } else {
            "; trained for another spec, so the next run retrains"
        }
    );
    let _ = writeln!(
        s,
        "prior: λ = {:.3e} (1 pair in {:.0} is the same person), {:+.2} bits",
        r.lambda,
        1.0 / r.lambda.max(f64::MIN_POSITIVE),
        r.prior_weight
    );
    let _ = writeln!(
        s,
        "threshold: match probability {:.2} (weight {:+.2} bits)\n",
        r.threshold_probability, r.threshold_weight
    );
    let _ = writeln!(
        s,
        "{:<18} {:<16} {:>9} {:>11} {:>8}",
        "comparison", "level", "m", "u", "weight"
    );
    for c in &r.comparisons {
        for (i, l) in c.levels.iter().enumerate() {
            let _ = writeln!(
                s,
                "{:<18} {:<16} {:>9.4} {:>11.3e} {:>+8.2}",
                if i == 0 { c.name.as_str() } else { "" },
                l.label,
                l.m,
                l.u,
                l.weight
            );
        }
    }
    for w in &r.warnings {
        let _ = writeln!(s, "warning: {w}");
    }
    s.push('\n');
    persons_text(&mut s, r);
    s
}

fn persons_text(s: &mut String, r: &ModelReport) {
    use std::fmt::Write;
    if let Some(last) = r.persons_of_run.filter(|&l| l != r.trained_by_run) {
        let _ = writeln!(
            s,
            "the persons are those of link run {last}, a later run than the model's (an import \
             or another method may not have used it)"
        );
    }
    let p = &r.persons;
    let _ = writeln!(
        s,
        "{} records in {} persons: {} of one record, {} of 2-4, {} of 5-19, {} of 20 or more; \
         the largest hold {}",
        p.records,
        p.persons,
        p.one_record,
        p.two_to_four,
        p.five_to_nineteen,
        p.twenty_or_more,
        p.largest
            .iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let _ = writeln!(s, "{} pairs wait for review", r.review_pairs);
}

#[cfg(test)]
mod model_tests {
    use super::*;
    use familiar_link::incremental::StoredComparison;
    use familiar_link::model::LevelParams;

    fn level(label: &str, m: f64, u: f64) -> LevelParams {
        LevelParams {
            label: label.into(),
            m,
            u,
            weight: (m / u).log2(),
        }
    }

    #[test]
    fn exact_agreement_that_is_no_evidence_is_pointed_out() {
        let comps = vec![
            StoredComparison {
                name: "dob".into(),
                levels: vec![level("exact", 0.9, 0.001), level("else", 0.1, 0.999)],
            },
            StoredComparison {
                name: "sex".into(),
                levels: vec![level("exact", 0.4, 0.5), level("else", 0.6, 0.5)],
            },
        ];
        let w = model_warnings(&comps);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].starts_with("sex: exact agreement counts against a match"));
    }
}
