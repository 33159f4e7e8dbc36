//! What the pages show, computed from a snapshot of the store and cut to the viewer's scope.
//!
//! Every person-level view goes through [`Scope`]: admins and analysts see everything, a case
//! manager only the persons assigned to them, an agency liaison only their agency's source
//! records, and a law-enforcement liaison never a record flagged 42 CFR Part 2. Counts, needs,
//! timelines and identities are all computed from the rows the scope lets through, so nothing
//! leaks through an aggregate either.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use chrono::{Datelike, NaiveDate};
use familiar_engine::scoped::{self, RowScope, ScopedOptions};
use familiar_engine::series::{self, Persons};
use familiar_engine::{key_measures, MeasureOptions};
use familiar_model::measures::{KeyMeasures, DEFAULT_THRESHOLDS, DEFAULT_WINDOW_DAYS};
use familiar_model::{Agency, NeedFlags};
use familiar_store::{IdentityRow, InteractionRow, LinkDecision, User, UserRole};
use serde::Serialize;

use crate::{Config, WebStore};

/// How much of the data a user may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every record (admin, analyst).
    All,
    /// Only these persons' records (case manager).
    Persons(HashSet<String>),
    /// Only this agency's records; `no_part2` for law-enforcement agencies.
    Agency { agency: String, no_part2: bool },
    /// No person-level data (viewer).
    Aggregates,
}

impl Scope {
    pub fn for_user(u: &User, cfg: &Config) -> Scope {
        match u.role {
            UserRole::Admin | UserRole::Analyst => Scope::All,
            UserRole::CaseManager => Scope::Persons(u.assignments.iter().cloned().collect()),
            UserRole::AgencyLiaison => match &u.agency {
                Some(a) => Scope::Agency {
                    agency: a.clone(),
                    no_part2: cfg.law_enforcement_agencies.iter().any(|le| le == a),
                },
                None => Scope::Aggregates,
            },
            UserRole::Viewer => Scope::Aggregates,
        }
    }

    /// May this interaction row (and the identity with the same record id) be shown?
    pub fn sees(&self, r: &InteractionRow) -> bool {
        match self {
            Scope::All => true,
            Scope::Persons(ps) => r.person_id.as_ref().is_some_and(|p| ps.contains(p)),
            Scope::Agency { agency, no_part2 } => &r.agency == agency && !(*no_part2 && r.part2),
            Scope::Aggregates => false,
        }
    }

    pub fn person_level(&self) -> bool {
        !matches!(self, Scope::Aggregates)
    }

    /// The rows the engine may count for this scope (None: no person-level rows at all).
    pub fn rows(&self) -> Option<RowScope> {
        match self {
            Scope::All => Some(RowScope::All),
            Scope::Persons(ps) => {
                let mut v: Vec<String> = ps.iter().cloned().collect();
                v.sort();
                Some(RowScope::Persons(v))
            }
            Scope::Agency { agency, no_part2 } => Some(RowScope::Agency {
                agency: agency.clone(),
                no_part2: *no_part2,
            }),
            Scope::Aggregates => None,
        }
    }
}

/// Everything the pages read, loaded once and shared until it goes stale.
pub struct Snapshot {
    pub built_at: i64,
    pub agencies: Vec<Agency>,
    pub rows: Vec<InteractionRow>,
    /// The same rows as the engine's tables: every count below is a plan over these.
    pub engine: familiar_engine::Snapshot,
    pub identities: HashMap<i64, IdentityRow>,
    /// Person id → indices into `rows`.
    pub by_person: HashMap<String, Vec<usize>>,
    /// Record id → person id.
    pub links: HashMap<i64, String>,
    /// Person id → how many records it holds (the review queue's order).
    person_records: HashMap<String, u64>,
    pub latest: Option<NaiveDate>,
    /// The full key-measures table for the default window (suppressed before it is shown).
    pub measures: Option<KeyMeasures>,
    /// The public chart: interactions per month involving people at or above the first
    /// threshold across agencies in the window. (month start, count)
    pub monthly: Vec<(NaiveDate, u64)>,
    /// Lists already computed from this snapshot, by scope and filter: a list costs a pass over
    /// every row, and the snapshot never changes, so each is computed once.
    neighbor_lists: std::sync::Mutex<HashMap<String, Arc<NeighborList>>>,
    /// Per-person counts already computed, by scope, window and agency (the person pages read
    /// them one person at a time).
    person_count_cache: std::sync::Mutex<HashMap<String, Arc<HashMap<String, PersonCounts>>>>,
    place_lists: std::sync::Mutex<HashMap<String, Arc<Vec<PlaceRow>>>>,
}

impl Snapshot {
    pub async fn load(store: &dyn WebStore, built_at: i64) -> anyhow::Result<Snapshot> {
        let agencies = store.agencies().await?;
        let rows = store.interaction_rows().await?;
        let identities: HashMap<i64, IdentityRow> = store
            .identities()
            .await?
            .into_iter()
            .map(|i| (i.record_id, i))
            .collect();
        let links = store.person_links().await?;
        let mut snap = Snapshot::build(agencies, rows, identities, links, built_at);
        // The public key-measures table comes from the engine, the one implementation of
        // the counting rules (docs/counting.md), as does the public chart.
        if let Some(as_of) = snap.latest {
            snap.measures = Some(
                key_measures(
                    &snap.engine,
                    &MeasureOptions {
                        as_of,
                        window_days: DEFAULT_WINDOW_DAYS,
                        thresholds: DEFAULT_THRESHOLDS.to_vec(),
                    },
                )
                .await?,
            );
        }
        snap.monthly = snap
            .cohort_monthly(DEFAULT_THRESHOLDS[0], DEFAULT_WINDOW_DAYS, 24)
            .await?;
        Ok(snap)
    }

    pub fn build(
        agencies: Vec<Agency>,
        rows: Vec<InteractionRow>,
        identities: HashMap<i64, IdentityRow>,
        links: HashMap<i64, String>,
        built_at: i64,
    ) -> Snapshot {
        let mut by_person: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, r) in rows.iter().enumerate() {
            if let Some(p) = &r.person_id {
                by_person.entry(p.clone()).or_default().push(i);
            }
        }
        let latest = rows.iter().map(|r| r.local_date).max();
        let engine = familiar_engine::Snapshot::build(&agencies, &rows, "web");
        let mut person_records: HashMap<String, u64> = HashMap::new();
        for p in links.values() {
            *person_records.entry(p.clone()).or_default() += 1;
        }
        Snapshot {
            built_at,
            agencies,
            rows,
            engine,
            identities,
            by_person,
            links,
            person_records,
            latest,
            measures: None,
            monthly: Vec::new(),
            neighbor_lists: Default::default(),
            person_count_cache: Default::default(),
            place_lists: Default::default(),
        }
    }

    /// Interactions per month (the last `months` months up to `latest`) involving the people
    /// with `threshold`+ interactions across agencies in the window ending at `latest`.
    async fn cohort_monthly(
        &self,
        threshold: u32,
        window: u32,
        months: u32,
    ) -> anyhow::Result<Vec<(NaiveDate, u64)>> {
        let Some(as_of) = self.latest else {
            return Ok(Vec::new());
        };
        let counts = self.person_counts(&Scope::All, as_of, window, None).await?;
        let mut cohort: Vec<String> = counts
            .iter()
            .filter(|(_, c)| c.total >= u64::from(threshold))
            .map(|(p, _)| p.clone())
            .collect();
        cohort.sort();
        let month = |d: NaiveDate| NaiveDate::from_ymd_opt(d.year(), d.month(), 1).expect("day 1");
        let mut first = month(as_of);
        for _ in 1..months {
            first = month(first - chrono::Duration::days(1));
        }
        // No bars before the data begins.
        if let Some(earliest) = self.rows.iter().map(|r| r.local_date).min() {
            first = first.max(month(earliest));
        }
        let series = series::monthly(&self.engine, &Persons::Only(cohort), first, as_of).await?;
        Ok(series.into_iter().map(|m| (m.month, m.total)).collect())
    }

    /// Distinct interactions per person per agency in the window, over the rows `scope` sees
    /// (and only `agency`'s when given): the engine's count ([`scoped::person_counts`]),
    /// computed once per snapshot, scope, window and agency.
    pub async fn person_counts(
        &self,
        scope: &Scope,
        as_of: NaiveDate,
        window: u32,
        agency: Option<&str>,
    ) -> anyhow::Result<Arc<HashMap<String, PersonCounts>>> {
        let f = ListFilter {
            agency: agency.map(String::from),
            window,
            threshold: 0,
        };
        let key = format!("{}|{as_of}", cache_key(scope, &f));
        memo(&self.person_count_cache, key, || async {
            let Some(rows) = scope.rows() else {
                return Ok(HashMap::new());
            };
            let o = ScopedOptions {
                as_of,
                window_days: window,
                agency: f.agency.clone(),
                person_id: None,
            };
            Ok(scoped::person_counts(&self.engine, &rows, &o)
                .await?
                .into_iter()
                .map(|c| (c.person_id.clone(), c))
                .collect())
        })
        .await
    }

    pub fn agency_codes(&self) -> Vec<String> {
        self.agencies.iter().map(|a| a.code.clone()).collect()
    }

    /// The most frequent "LAST, FIRST" among the identities of `rows` the scope sees.
    fn display_name(&self, rows: &[usize], scope: &Scope) -> String {
        let mut names: BTreeMap<String, usize> = BTreeMap::new();
        for &i in rows {
            let r = &self.rows[i];
            if !scope.sees(r) {
                continue;
            }
            if let Some(id) = self.identities.get(&r.record_id) {
                let n = format_name(&id.identity);
                if !n.is_empty() {
                    *names.entry(n).or_default() += 1;
                }
            }
        }
        names
            .into_iter()
            .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
            .map(|(n, _)| n)
            .unwrap_or_else(|| "(no name recorded)".to_string())
    }
}

fn format_name(p: &familiar_model::SourceIdentity) -> String {
    match (&p.last, &p.first) {
        (Some(l), Some(f)) => format!("{l}, {f}"),
        (Some(l), None) => l.clone(),
        (None, Some(f)) => f.clone(),
        (None, None) => String::new(),
    }
}

/// One person's counts over the rows a scope sees ([`scoped::person_counts`]).
pub type PersonCounts = scoped::PersonCount;

/// A snapshot cache: rebuilt when older than the configured number of seconds.
#[derive(Default)]
pub struct Cache {
    inner: tokio::sync::Mutex<Option<Arc<Snapshot>>>,
}

impl Cache {
    pub async fn get(
        &self,
        store: &dyn WebStore,
        now: i64,
        max_age: i64,
    ) -> anyhow::Result<Arc<Snapshot>> {
        let mut g = self.inner.lock().await;
        if let Some(s) = g.as_ref() {
            if now - s.built_at < max_age && now >= s.built_at {
                return Ok(s.clone());
            }
        }
        let s = Arc::new(Snapshot::load(store, now).await?);
        *g = Some(s.clone());
        Ok(s)
    }

    pub async fn invalidate(&self) {
        *self.inner.lock().await = None;
    }
}

// ---------------------------------------------------------------------------------------------
// Filters. Every value a user types is parsed into a typed value here; nothing they type ever
// reaches SQL (the store binds every parameter) or the page unescaped.

/// Raw query parameters of the list pages.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct ListQuery {
    pub agency: Option<String>,
    pub window: Option<String>,
    pub threshold: Option<String>,
}

/// Validated filters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListFilter {
    /// None = all agencies.
    pub agency: Option<String>,
    pub window: u32,
    pub threshold: u32,
}

impl ListQuery {
    pub fn validate(&self, snap: &Snapshot, default_threshold: u32) -> Result<ListFilter, String> {
        let agency = match self.agency.as_deref().map(str::trim) {
            None | Some("") | Some("ALL") => None,
            Some(a) => {
                if !snap.agencies.iter().any(|x| x.code == a) {
                    return Err("unknown agency".into());
                }
                Some(a.to_string())
            }
        };
        let num = |v: &Option<String>, default: u32, max: u32, what: &str| -> Result<u32, String> {
            match v.as_deref().map(str::trim) {
                None | Some("") => Ok(default),
                Some(s) => match s.trim_end_matches('d').parse::<u32>() {
                    Ok(n) if (1..=max).contains(&n) => Ok(n),
                    _ => Err(format!("{what} must be a whole number from 1 to {max}")),
                },
            }
        };
        Ok(ListFilter {
            agency,
            window: num(&self.window, DEFAULT_WINDOW_DAYS, 3660, "window")?,
            threshold: num(&self.threshold, default_threshold, 100_000, "threshold")?,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Views.

#[derive(Debug, Clone, Serialize)]
pub struct NeighborRow {
    pub rank: usize,
    pub person_id: String,
    pub name: String,
    pub total: u64,
    /// One count per agency, in `agencies` order.
    pub counts: Vec<u64>,
    pub needs: Vec<&'static str>,
    pub last: Option<NaiveDate>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NeighborList {
    pub as_of: Option<NaiveDate>,
    pub filter: ListFilter,
    pub agencies: Vec<String>,
    pub rows: Vec<NeighborRow>,
}

fn cache_key(scope: &Scope, f: &ListFilter) -> String {
    let scope = match scope {
        // Sorted, so equal sets give equal keys.
        Scope::Persons(ps) => {
            let mut v: Vec<&String> = ps.iter().collect();
            v.sort();
            format!("persons:{v:?}")
        }
        other => format!("{other:?}"),
    };
    format!("{scope}|{f:?}")
}

/// The value cached under `key`, or `compute`d and cached: every list is computed once per
/// snapshot (which never changes), scope and filter. Two requests that miss together both
/// compute it; the second insert is the same value.
async fn memo<T, F, Fut>(
    cache: &std::sync::Mutex<HashMap<String, Arc<T>>>,
    key: String,
    compute: F,
) -> anyhow::Result<Arc<T>>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<T>>,
{
    if let Some(v) = cache.lock().expect("cache lock").get(&key) {
        return Ok(Arc::clone(v));
    }
    let v = Arc::new(compute().await?);
    cache
        .lock()
        .expect("cache lock")
        .insert(key, Arc::clone(&v));
    Ok(v)
}

/// [`neighbors`], computed once per snapshot, scope and filter.
pub async fn neighbors_cached(
    snap: &Snapshot,
    scope: &Scope,
    f: &ListFilter,
) -> anyhow::Result<Arc<NeighborList>> {
    memo(&snap.neighbor_lists, cache_key(scope, f), || {
        neighbors(snap, scope, f)
    })
    .await
}

/// [`places`], computed once per snapshot, scope and filter.
pub async fn places_cached(
    snap: &Snapshot,
    scope: &Scope,
    f: &ListFilter,
) -> anyhow::Result<Arc<Vec<PlaceRow>>> {
    memo(&snap.place_lists, cache_key(scope, f), || {
        places(snap, scope, f)
    })
    .await
}

/// People at or above the threshold, most interactions first.
pub async fn neighbors(
    snap: &Snapshot,
    scope: &Scope,
    f: &ListFilter,
) -> anyhow::Result<NeighborList> {
    let agencies = snap.agency_codes();
    let Some(as_of) = snap.latest else {
        return Ok(NeighborList {
            as_of: None,
            filter: f.clone(),
            agencies,
            rows: vec![],
        });
    };
    let counts = snap
        .person_counts(scope, as_of, f.window, f.agency.as_deref())
        .await?;
    let mut list: Vec<(String, PersonCounts)> = counts
        .iter()
        .filter(|(_, c)| c.total >= u64::from(f.threshold))
        .map(|(p, c)| (p.clone(), c.clone()))
        .collect();
    list.sort_by(|a, b| b.1.total.cmp(&a.1.total).then(a.0.cmp(&b.0)));
    let totals: Vec<u64> = list.iter().map(|(_, c)| c.total).collect();
    let ranks = familiar_engine::neighbors::competition_ranks(&totals);
    let rows = list
        .into_iter()
        .enumerate()
        .map(|(i, (pid, c))| NeighborRow {
            rank: ranks[i],
            name: snap.display_name(&snap.by_person[&pid], scope),
            counts: agencies
                .iter()
                .map(|a| c.by_agency.get(a).copied().unwrap_or(0))
                .collect(),
            total: c.total,
            needs: c.needs.names(),
            last: c.last,
            person_id: pid,
        })
        .collect();
    Ok(NeighborList {
        as_of: Some(as_of),
        filter: f.clone(),
        agencies,
        rows,
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct Contact {
    pub record_id: i64,
    pub date: NaiveDate,
    pub start_utc: i64,
    pub agency: String,
    pub source: String,
    pub event_key: String,
    pub kind: String,
    pub role: String,
    pub call_type: Option<String>,
    pub disposition: Option<String>,
    pub location: Option<String>,
    /// The CAD call number the record cites (the 911 call a response came from).
    pub incident_ref: Option<String>,
    pub needs: Vec<&'static str>,
    pub part2: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct RecordIdentity {
    pub record_id: i64,
    pub agency: String,
    pub source: String,
    pub record_key: String,
    pub name: String,
    pub dob: Option<String>,
    pub sex: Option<String>,
    pub agency_person_id: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PersonView {
    pub person_id: String,
    pub name: String,
    pub needs: Vec<&'static str>,
    pub counts_365: BTreeMap<String, u64>,
    pub contacts: Vec<Contact>,
    pub identities: Vec<RecordIdentity>,
}

/// Only these characters may appear in a person id taken from a URL.
pub fn valid_person_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// A person's journey, or None when the person does not exist or the scope sees none of their
/// records (the two look the same, so a URL does not reveal who exists).
pub async fn person(
    snap: &Snapshot,
    scope: &Scope,
    pid: &str,
) -> anyhow::Result<Option<PersonView>> {
    if !scope.person_level() || !valid_person_id(pid) {
        return Ok(None);
    }
    let Some(idx) = snap.by_person.get(pid) else {
        return Ok(None);
    };
    let visible: Vec<usize> = idx
        .iter()
        .copied()
        .filter(|&i| scope.sees(&snap.rows[i]))
        .collect();
    if visible.is_empty() {
        return Ok(None);
    }
    let mut needs = NeedFlags::default();
    let mut contacts: Vec<Contact> = visible
        .iter()
        .map(|&i| {
            let r = &snap.rows[i];
            needs = needs.union(NeedFlags::from_bits(r.needs));
            Contact {
                record_id: r.record_id,
                date: r.local_date,
                start_utc: r.start_utc,
                agency: r.agency.clone(),
                source: r.source.clone(),
                event_key: r.event_key.clone(),
                kind: r.kind.clone(),
                role: r.role.clone(),
                call_type: r.call_type.clone(),
                disposition: r.disposition.clone(),
                location: r.location_raw.clone(),
                incident_ref: r.incident_ref.clone(),
                needs: NeedFlags::from_bits(r.needs).names(),
                part2: r.part2,
            }
        })
        .collect();
    contacts.sort_by_key(|c| (c.start_utc, c.record_id));
    let mut identities: Vec<RecordIdentity> = visible
        .iter()
        .filter_map(|&i| snap.identities.get(&snap.rows[i].record_id))
        .map(|id| RecordIdentity {
            record_id: id.record_id,
            agency: id.agency.clone(),
            source: id.source.clone(),
            record_key: id.record_key.clone(),
            name: format_name(&id.identity),
            dob: id.identity.dob.map(|d| d.to_string()),
            sex: id.identity.sex.clone(),
            agency_person_id: id.identity.agency_person_id.clone(),
        })
        .collect();
    identities.sort_by_key(|i| i.record_id);
    let counts_365 = match snap.latest {
        Some(as_of) => snap
            .person_counts(scope, as_of, DEFAULT_WINDOW_DAYS, None)
            .await?
            .get(pid)
            .map(|c| c.by_agency.clone())
            .unwrap_or_default(),
        None => BTreeMap::new(),
    };
    Ok(Some(PersonView {
        person_id: pid.to_string(),
        name: snap.display_name(&visible, scope),
        needs: needs.names(),
        counts_365,
        contacts,
        identities,
    }))
}

/// A place as the workspace lists it: the engine's scoped place, with its rank.
pub type PlaceRow = familiar_engine::scoped::ScopedPlace;

/// Incident locations with the most interactions in the window (homeless / no fixed address
/// is not a place), counted by the engine over the rows the scope sees; at most 200.
pub async fn places(
    snap: &Snapshot,
    scope: &Scope,
    f: &ListFilter,
) -> anyhow::Result<Vec<PlaceRow>> {
    let (Some(as_of), Some(rows)) = (snap.latest, scope.rows()) else {
        return Ok(vec![]);
    };
    let o = ScopedOptions {
        as_of,
        window_days: f.window,
        agency: f.agency.clone(),
        person_id: None,
    };
    Ok(scoped::places(&snap.engine, &rows, &o, u64::from(f.threshold), 200).await?)
}

#[derive(Debug, Clone, Serialize)]
pub struct ReviewSide {
    pub record_id: i64,
    pub person_id: Option<String>,
    /// How many records the person holds (what a wrong link here misattributes at most).
    pub person_records: Option<u64>,
    pub agency: String,
    pub source: String,
    pub record_key: String,
    pub name: String,
    pub dob: Option<String>,
    pub sex: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReviewPair {
    pub score: u32,
    pub why: Vec<&'static str>,
    pub left: ReviewSide,
    pub right: ReviewSide,
}

impl ReviewSide {
    /// "1 record", "12 records".
    pub fn records_label(&self) -> Option<String> {
        self.person_records
            .map(|n| format!("{n} record{}", if n == 1 { "" } else { "s" }))
    }
}

fn side(snap: &Snapshot, id: &IdentityRow) -> ReviewSide {
    let person_id = snap.links.get(&id.record_id).cloned();
    ReviewSide {
        record_id: id.record_id,
        person_records: person_id
            .as_ref()
            .and_then(|p| snap.person_records.get(p))
            .copied(),
        person_id,
        agency: id.agency.clone(),
        source: id.source.clone(),
        record_key: id.record_key.clone(),
        name: format_name(&id.identity),
        dob: id.identity.dob.map(|d| d.to_string()),
        sex: id.identity.sex.clone(),
    }
}

/// The review queue: first the pairs the linkage model was unsure of, those touching the
/// persons with most records first (the familiar neighbors, whose counts a wrong link changes
/// most; the store's order, least certain first, among equals), then near misses it did not
/// link (see [`near_misses`]).
pub fn review_queue(
    snap: &Snapshot,
    model_pairs: &[familiar_store::ReviewPair],
    decisions: &[LinkDecision],
    limit: usize,
) -> Vec<ReviewPair> {
    // the stake of a pair: records of the larger person it touches (a record with no person
    // counts one); the store's order kept among equals; sides built for the pairs shown only
    let stake = |r: i64| {
        snap.links
            .get(&r)
            .and_then(|p| snap.person_records.get(p))
            .copied()
            .unwrap_or(1)
    };
    let mut chosen: Vec<&familiar_store::ReviewPair> = model_pairs
        .iter()
        .filter(|p| {
            snap.identities.contains_key(&p.left_record)
                && snap.identities.contains_key(&p.right_record)
        })
        .collect();
    chosen
        .sort_by_cached_key(|p| std::cmp::Reverse(stake(p.left_record).max(stake(p.right_record))));
    let mut out: Vec<ReviewPair> = chosen
        .into_iter()
        .take(limit)
        .map(|p| ReviewPair {
            score: (p.match_probability * 100.0).round() as u32,
            why: vec!["the linkage model was unsure of this link"],
            left: side(snap, &snap.identities[&p.left_record]),
            right: side(snap, &snap.identities[&p.right_record]),
        })
        .collect();
    if out.len() < limit {
        out.extend(near_misses(snap, decisions, limit - out.len()));
    }
    out
}

/// Near-miss pairs for a reviewer: two identities in different persons that share a surname
/// and birth year (the blocking key), scored on first name, full date of birth and sex. Pairs
/// with a decision already are left out.
pub fn near_misses(snap: &Snapshot, decisions: &[LinkDecision], limit: usize) -> Vec<ReviewPair> {
    let decided: HashSet<(i64, i64)> = decisions
        .iter()
        .filter_map(|d| {
            d.right_record
                .map(|r| (d.left_record.min(r), d.left_record.max(r)))
        })
        .collect();
    let mut blocks: BTreeMap<(String, i32), Vec<&IdentityRow>> = BTreeMap::new();
    for id in snap.identities.values() {
        let (Some(last), Some(dob)) = (&id.identity.last, id.identity.dob) else {
            continue;
        };
        blocks
            .entry((last.trim().to_uppercase(), dob.year))
            .or_default()
            .push(id);
    }
    let mut out = Vec::new();
    for ids in blocks.values_mut() {
        if ids.len() < 2 || ids.len() > 60 {
            continue;
        }
        ids.sort_by_key(|i| i.record_id);
        for (a_i, a) in ids.iter().enumerate() {
            for b in &ids[a_i + 1..] {
                let pa = snap.links.get(&a.record_id);
                let pb = snap.links.get(&b.record_id);
                if pa.is_some() && pa == pb {
                    continue;
                }
                if decided.contains(&(a.record_id, b.record_id)) {
                    continue;
                }
                let (x, y) = (&a.identity, &b.identity);
                let mut score = 1;
                let mut why = vec!["same surname and birth year"];
                let up = |s: &Option<String>| s.as_deref().map(|v| v.trim().to_uppercase());
                if up(&x.first).is_some() && up(&x.first) == up(&y.first) {
                    score += 3;
                    why.push("same first name");
                } else if up(&x.first)
                    .and_then(|f| f.chars().next())
                    .is_some_and(|c| up(&y.first).is_some_and(|g| g.starts_with(c)))
                {
                    score += 1;
                    why.push("same first initial");
                }
                if x.dob.is_some_and(|d| d.is_full()) && x.dob == y.dob {
                    score += 3;
                    why.push("same date of birth");
                }
                if x.sex.is_some() && x.sex == y.sex {
                    score += 1;
                    why.push("same sex");
                }
                if score >= 4 {
                    out.push(ReviewPair {
                        score,
                        why,
                        left: side(snap, a),
                        right: side(snap, b),
                    });
                }
            }
        }
    }
    out.sort_by(|a, b| {
        b.score
            .cmp(&a.score)
            .then(a.left.record_id.cmp(&b.left.record_id))
            .then(a.right.record_id.cmp(&b.right.record_id))
    });
    out.truncate(limit);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(
        id: i64,
        agency: &str,
        ev: &str,
        date: &str,
        person: Option<&str>,
        part2: bool,
    ) -> InteractionRow {
        InteractionRow {
            record_id: id,
            agency: agency.into(),
            source: agency.to_lowercase(),
            event_key: ev.into(),
            kind: "other".into(),
            start_utc: id,
            local_date: NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap(),
            end_utc: None,
            location_key: Some("1 MAIN ST".into()),
            location_raw: Some("1 Main St".into()),
            location_kind: Some("street".into()),
            call_type: None,
            disposition: None,
            incident_ref: None,
            role: "subject".into(),
            needs: if part2 { 2 } else { 1 },
            transported: None,
            part2,
            person_id: person.map(String::from),
        }
    }

    fn snap() -> Snapshot {
        let rows = vec![
            row(1, "DPD", "e1", "2025-06-01", Some("P1"), false),
            row(2, "DPD", "e1", "2025-06-01", Some("P1"), false), // same incident twice
            row(3, "DPD", "e2", "2025-06-02", Some("P1"), false),
            row(4, "HEART", "h1", "2025-06-03", Some("P1"), true),
            row(5, "HEART", "h2", "2025-06-04", Some("P2"), false),
        ];
        Snapshot::build(
            vec![
                Agency::new("DPD", "Police", ""),
                Agency::new("HEART", "Crisis", ""),
            ],
            rows,
            HashMap::new(),
            HashMap::new(),
            0,
        )
    }

    /// Unsure links touching the persons with most records come first, the store's order
    /// (least certain first) kept among equals; each side shows its person's record count.
    #[test]
    fn the_review_queue_puts_the_most_recorded_persons_first() {
        let ident = |id: i64| {
            (
                id,
                IdentityRow {
                    record_id: id,
                    source: "dpd".into(),
                    agency: "DPD".into(),
                    record_key: format!("k{id}"),
                    identity: Default::default(),
                    place: None,
                    incident_ref: None,
                },
            )
        };
        let identities: HashMap<i64, IdentityRow> = (1..=6).map(ident).collect();
        let links: HashMap<i64, String> = [
            (1, "P1"),
            (2, "P1"),
            (3, "P1"),
            (4, "P2"),
            (5, "P3"),
            (6, "P3"),
        ]
        .into_iter()
        .map(|(r, p)| (r, p.to_string()))
        .collect();
        let snap = Snapshot::build(vec![], vec![], identities, links, 0);
        let pair = |l, r, p| familiar_store::ReviewPair {
            left_record: l,
            right_record: r,
            match_weight: 0.0,
            match_probability: p,
        };
        let store_order = [pair(4, 5, 0.5), pair(1, 4, 0.6), pair(5, 6, 0.7)];
        let q = review_queue(&snap, &store_order, &[], 3);
        let order: Vec<(i64, i64)> = q
            .iter()
            .map(|p| (p.left.record_id, p.right.record_id))
            .collect();
        assert_eq!(order, vec![(1, 4), (4, 5), (5, 6)]);
        assert_eq!(q[0].left.person_records, Some(3));
        assert_eq!(q[0].right.person_records, Some(1));
        assert_eq!(q[2].right.person_records, Some(2));
        assert_eq!(q[0].left.records_label().as_deref(), Some("3 records"));
        assert_eq!(q[0].right.records_label().as_deref(), Some("1 record"));
        // the limit applies after ordering
        let q = review_queue(&snap, &store_order, &[], 1);
        assert_eq!((q[0].left.record_id, q.len()), (1, 1));
    }

    #[tokio::test]
    async fn counts_are_distinct_interactions_in_scope() {
        let s = snap();
        let f = ListFilter {
            agency: None,
            window: 365,
            threshold: 1,
        };
        let all = neighbors(&s, &Scope::All, &f).await.unwrap();
        assert_eq!(all.rows[0].person_id, "P1");
        assert_eq!(all.rows[0].total, 3);
        assert!(all.rows[0].needs.contains(&"substance_use"));
        let dpd = neighbors(
            &s,
            &Scope::Agency {
                agency: "DPD".into(),
                no_part2: true,
            },
            &f,
        )
        .await
        .unwrap();
        assert_eq!(dpd.rows.len(), 1);
        assert_eq!(dpd.rows[0].total, 2);
        assert!(!dpd.rows[0].needs.contains(&"substance_use"));
        let cm = neighbors(&s, &Scope::Persons(["P2".to_string()].into()), &f)
            .await
            .unwrap();
        assert_eq!(cm.rows.len(), 1);
        assert_eq!(cm.rows[0].person_id, "P2");
    }

    #[tokio::test]
    async fn part2_records_never_reach_law_enforcement() {
        let s = snap();
        let heart_le = Scope::Agency {
            agency: "HEART".into(),
            no_part2: true,
        };
        let p = person(&s, &heart_le, "P1").await.unwrap();
        assert!(p.is_none(), "P1's only HEART record is Part 2");
        let heart = Scope::Agency {
            agency: "HEART".into(),
            no_part2: false,
        };
        assert_eq!(
            person(&s, &heart, "P1")
                .await
                .unwrap()
                .unwrap()
                .contacts
                .len(),
            1
        );
        let p = person(&s, &Scope::All, "P1").await.unwrap().unwrap();
        assert_eq!(p.contacts.len(), 4);
        assert!(person(&s, &Scope::Aggregates, "P1")
            .await
            .unwrap()
            .is_none());
        assert!(person(&s, &Scope::All, "P1' OR 1=1")
            .await
            .unwrap()
            .is_none());
    }

    #[test]
    fn filters_are_validated() {
        let s = snap();
        let q = |a: &str, w: &str, t: &str| ListQuery {
            agency: Some(a.into()),
            window: Some(w.into()),
            threshold: Some(t.into()),
        };
        assert!(q("DPD", "90d", "5").validate(&s, 5).is_ok());
        assert!(q("ALL", "", "").validate(&s, 5).is_ok());
        assert!(q("DPD' OR '1'='1", "", "").validate(&s, 5).is_err());
        assert!(q("", "1; DROP TABLE users", "").validate(&s, 5).is_err());
        assert!(q("", "0", "").validate(&s, 5).is_err());
        assert!(q("", "", "-1").validate(&s, 5).is_err());
    }
}
