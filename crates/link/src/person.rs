//! The person door for the store: a built-in spec for [`SourceIdentity`] and
//! [`link_identities`], which clusters agency identities into persons.
//!
//! Agency data holds many records per person within one source, HEART often records a first
//! name and a last initial only, the jail has SSN last-4 and aliases, and common names and twins
//! (same surname, DOB and address, different first name) are the hard negatives. The spec is
//! therefore precision-first: a high threshold, hard identifiers (SSN last-4, DOBs years apart,
//! JR/SR, middle initials) that refuse merges, and a clustering that leaves alone a record
//! fitting two people equally well. λ comes from the deterministic rules; learning it per pair
//! of sources instead ([`PriorRefit::BySource`]) calibrates it (on the synthetic counties within
//! 0.1 bit of the truth) but lost F1 on the 330k-person county, so it is left to specs. Where a row's interaction happened (its place) is compared with the other row's
//! home and place: what links the identities that carry little more than a first name.

use crate::cluster::RefusalCounts;
use crate::data::{ColumnBuilder, Table, TableParts};
use crate::error::LinkError;
use crate::explain::Explanation;
use crate::linker::Linker;
use crate::model::{probability, Params};
use crate::spec::*;
use familiar_model::{AddressKind, SourceIdentity};
use serde::{Deserialize, Serialize};

/// One agency identity to link: its id, its source's name, the identity, and where the row's
/// interaction happened (a street address or intersection key: a 911 call's address, a crisis team's visit),
/// when known. Implemented for `(id, source, identity)` (no place) and
/// `(id, source, identity, place)`.
pub trait IdentityRecord: Sync {
    fn id(&self) -> u64;
    fn source(&self) -> &str;
    fn identity(&self) -> &SourceIdentity;
    fn place(&self) -> Option<&str> {
        None
    }
    /// The dispatch (CAD) incident number of the row's interaction, when its source has one.
    fn incident(&self) -> Option<&str> {
        None
    }
}

/// An agency identity with everything the built-in spec reads: what the store's identities
/// become for linkage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgencyIdentity {
    pub id: u64,
    pub source: String,
    pub identity: SourceIdentity,
    pub place: Option<String>,
    pub incident: Option<String>,
}

impl IdentityRecord for AgencyIdentity {
    fn id(&self) -> u64 {
        self.id
    }
    fn source(&self) -> &str {
        &self.source
    }
    fn identity(&self) -> &SourceIdentity {
        &self.identity
    }
    fn place(&self) -> Option<&str> {
        self.place.as_deref()
    }
    fn incident(&self) -> Option<&str> {
        self.incident.as_deref()
    }
}

impl IdentityRecord for (u64, String, SourceIdentity) {
    fn id(&self) -> u64 {
        self.0
    }
    fn source(&self) -> &str {
        &self.1
    }
    fn identity(&self) -> &SourceIdentity {
        &self.2
    }
}

impl IdentityRecord for (u64, String, SourceIdentity, Option<String>) {
    fn id(&self) -> u64 {
        self.0
    }
    fn source(&self) -> &str {
        &self.1
    }
    fn identity(&self) -> &SourceIdentity {
        &self.2
    }
    fn place(&self) -> Option<&str> {
        self.3.as_deref()
    }
}

/// Reviewer decisions, by identity id: must-link pairs are merged whatever the model says;
/// cannot-link pairs are never put in one person; pinned records (assigned to a person by a
/// reviewer or a known-links import) are never moved by the passes after clustering (the size
/// prior, the name-only pass) nor detached as ambiguous.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Constraints {
    pub must_link: Vec<(u64, u64)>,
    pub cannot_link: Vec<(u64, u64)>,
    #[serde(default)]
    pub pinned: Vec<u64>,
}

impl Constraints {
    /// Must-links plus a link of each pinned record to itself: the clustering reads a record
    /// in any must-link as decided by a reviewer.
    pub(crate) fn must_with_pinned(&self) -> Vec<(u64, u64)> {
        self.must_link
            .iter()
            .copied()
            .chain(self.pinned.iter().map(|&r| (r, r)))
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoredPair {
    pub a: u64,
    pub b: u64,
    pub match_weight: f64,
    pub match_probability: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LinkResult {
    /// Identity ids per person (each sorted; persons ordered by their smallest id).
    pub clusters: Vec<Vec<u64>>,
    /// Pairs at or above the threshold (the review queue takes those below near-certainty).
    pub pairs: Vec<ScoredPair>,
    /// The links by which the size prior attached a record (alone, or ambiguous between two
    /// persons) to a person with many records: a reviewer sees every one.
    pub attached: Vec<ScoredPair>,
    pub params: Option<Params>,
    /// The trained model, to store for incremental runs.
    pub model: Option<crate::incremental::ModelState>,
    pub refused_merges: RefusalCounts,
    pub candidate_pairs: u64,
    /// Blocks skipped to keep each blocking rule within its pair budget.
    pub block_caps: Vec<crate::block::BlockCap>,
}

/// A scored edge between two records as a pair of identity ids (the smaller first).
pub(crate) fn scored_pair(e: &crate::Edge, id_of: impl Fn(u32) -> u64) -> ScoredPair {
    let (a, b) = (id_of(e.a), id_of(e.b));
    ScoredPair {
        a: a.min(b),
        b: a.max(b),
        match_weight: e.weight,
        match_probability: probability(e.weight),
    }
}

fn cmp(name: &str, column: &str, levels: &[&str], m: &[f64]) -> ComparisonSpec {
    ComparisonSpec {
        m: Some(m.to_vec()),
        ..ComparisonSpec::plain(name, column, levels)
    }
}

fn rules(r: &[&[&str]]) -> Vec<Vec<String>> {
    r.iter()
        .map(|x| x.iter().map(|s| s.to_string()).collect())
        .collect()
}

/// The built-in spec over the columns [`identity_table`] makes from `SourceIdentity`:
/// `first, middle, last, suffix, full_name, aliases, dob, sex, phone, address_key,
/// address_unit, agency_id, source, ssn_last4`, `place` (where the row's interaction happened, see
/// [`IdentityRecord::place`]) and `incident` (its 911 call, [`IdentityRecord::incident`]).
pub fn person_spec() -> Spec {
    let mut first = cmp(
        "first_name",
        "first",
        &[
            "exact",
            "nickname",
            // juan / juana: a string measure scores them close, but they are two relatives
            // (often at one address and phone): a level of their own, vetoed below
            "gender_variant",
            "jw>=0.92",
            "initial",
            "dmetaphone",
            "jw>=0.80",
            "swapped",
            "name_tokens",
        ],
        &[
            0.80, 0.05, 0.005, 0.05, 0.03, 0.02, 0.02, 0.005, 0.005, 0.015,
        ],
    );
    // Term frequencies count people, not records: how many surnames go with a first name
    // (a frequent caller's own name is not a common name), and likewise below.
    first.tf = true;
    first.tf_min_u = Some(1e-4);
    first.tf_distinct = Some("last".into());
    first.swap_with = Some("last".into());
    // one name split into fields another way ("VASQUEZ RAMIREZ PEDRO C" read as last VASQUEZ,
    // first RAMIREZ, middle PEDRO C): the same words, so not a different first name
    first.tokens_of = Some("concat(first,middle,last)".into());
    // twins: same surname, DOB, address and phone, different first name -> never linked;
    // a brother and sister (juan / juana) share all but the given name's ending
    first.veto = vec!["else".into(), "gender_variant".into()];
    let mut last = cmp(
        "last_name",
        "last",
        &[
            "exact",
            "jw>=0.92",
            "token_overlap",
            "dmetaphone",
            "initial",
            "jw>=0.80",
            "swapped",
        ],
        &[0.82, 0.05, 0.03, 0.02, 0.03, 0.02, 0.005, 0.025],
    );
    last.tf = true;
    last.tf_min_u = Some(1e-4);
    last.tf_distinct = Some("first".into());
    last.swap_with = Some("first".into());
    // an initial ("R") before exact: "r" = "r" says as little as "r" = "ruben", far less
    // than two full middle names that agree
    let middle = cmp(
        "middle_name",
        "middle",
        &["initial", "exact"],
        &[0.2, 0.7, 0.1],
    );
    let mut suffix = cmp("suffix", "suffix", &["exact"], &[0.95, 0.05]);
    suffix.veto = vec!["else".into()];
    let mut dob = cmp(
        "dob",
        "dob",
        &[
            "exact",
            "dm_swap",
            "dl<=1",
            "year_off<=1",
            "within_days<=31",
            "partial",
        ],
        &[0.85, 0.02, 0.05, 0.02, 0.01, 0.03, 0.02],
    );
    dob.tf = true;
    dob.tf_distinct = Some("first".into());
    let sex = cmp("sex", "sex", &["exact"], &[0.97, 0.03]);
    let phone = cmp("phone", "last_digits(phone,7)", &["exact"], &[0.9, 0.1]);
    let mut address = cmp(
        "address",
        "address_key",
        &["exact", "jw>=0.90"],
        &[0.55, 0.1, 0.35],
    );
    address.tf = true;
    address.tf_distinct = Some("first".into());
    // The apartment, compared only between two homes in one building (the address key leaves
    // the unit out): neighbours in one complex share a key, not a door.
    let mut unit = cmp("address_unit", "address_unit", &["exact"], &[0.9, 0.1]);
    unit.scope = Some("address_key".into());
    let mut agency = cmp("agency_person_id", "agency_id", &["exact"], &[0.9, 0.1]);
    agency.scope = Some("source".into());
    let ssn = cmp(
        "ssn_last4",
        "ssn_last4",
        &["exact", "dl<=1"],
        &[0.95, 0.03, 0.02],
    );
    let mut alias = cmp("alias", "full_name", &["alias"], &[0.3, 0.7]);
    alias.aliases = Some("aliases".into());
    // Where the row's interaction happened, against the other row's interaction place
    // (`exact`, with term frequencies: a shelter or the jail says little) or home address
    // either way round (`cross`: a 911 call or crisis-team visit at the person's home).
    // Agencies that record only a first name, or a first name and a last initial, are linked
    // by this more than by anything else.
    let mut place = cmp(
        "event_place",
        "place",
        &["exact", "cross"],
        &[0.3, 0.4, 0.3],
    );
    place.swap_with = Some("address_key".into());
    place.tf = true;
    place.tf_distinct = Some("first".into());
    // The same 911 call: a crisis team's, police or EMS record naming the call it was
    // dispatched from, and the call itself. Its weight is learned like any other (the caller is
    // often someone else, so the names still decide); what it adds is a candidate pair and
    // strong evidence for a record with little more than a first name, away from home.
    // Within one agency rows of one call are different people (the suspect and the victim of
    // one police incident), so only pairs from two sources are compared.
    let mut incident = cmp("same_incident", "incident", &["exact"], &[0.05, 0.95]);
    incident.apart = Some("source".into());
    Spec {
        name: Some("familiar person (built-in)".into()),
        id_column: "identity_id".into(),
        source_column: Some("source".into()),
        link_type: Some(LinkType::Dedupe),
        null_values: vec!["unknown".into(), "unk".into(), "none".into(), "n/a".into()],
        comparisons: vec![
            first, last, middle, suffix, dob, sex, phone, address, unit, agency, ssn, alias, place,
            incident,
        ],
        blocking: BlockingSpec {
            rules: rules(&[
                &["source", "agency_id"],
                &["dob", "initial(first)"],
                &["first", "last"],
                &["sorted_concat(first,last)"],
                &["nickname(first)", "last"],
                &["dmetaphone(last)", "year(dob)"],
                &["first", "initial(last)"],
                &["last", "dob"],
                &["last_digits(phone,7)"],
                &["ssn_last4", "initial(last)"],
                &["last", "address_key"],
                &["nickname(first)", "place"],
                &["dob", "address_key"],
                // a misspelt first name where the surname and the place agree; a compound
                // surname written whole in one agency and in part in another (same first
                // name, same home); names in scrambled fields with a date of birth
                &["last", "place"],
                &["first", "address_key"],
                &["dob"],
                // a first name and a birth year only (crisis teams often write the year)
                &["first", "year(dob)"],
                &["incident"],
            ]),
            max_pairs: 50_000_000,
            oversize: Oversize::SkipLargestBlocks,
        },
        training: TrainingSpec {
            deterministic_rules: rules(&[&["first", "last", "dob"], &["ssn_last4", "last", "dob"]]),
            recall: 0.6,
            u_max_pairs: 200_000,
            // the third session holds the records with a last initial only, so the levels they
            // reach (a partial date of birth, a place) are estimated on them too
            em_sessions: rules(&[&["dob"], &["first", "last"], &["first", "initial(last)"]]),
            em_max_pairs: 500_000,
            m_prior_floor: 0.5,
            ..TrainingSpec::default()
        },
        threshold: ThresholdSpec {
            match_probability: Some(0.8),
            match_weight: None,
        },
        // Chaining is held back by hard identifiers (below), the first-name / suffix vetoes,
        // and a support check between persons already formed: two persons of two or more
        // records each are not joined by one strong link when their records, scored across,
        // are on average clearly different people (mean match probability under 0.1 — a
        // bridge, such as one record with a namesake's exact name), unless two or more records
        // on each side link across at or above the threshold (several links, not one bridge:
        // a frequent person's records with the name fields swapped score low against most of
        // the person's records, yet link strongly to those with the same phone). The mean is
        // kept that loose on purpose: a frequent person's records under nicknames, typos or a
        // first name only score low against each other yet belong together, and a stricter
        // mean split such persons. The persons' phones (`profile`, below) count in the check:
        // when they all differ, the bridge's own two records are left out of the mean.
        cluster: ClusterSpec {
            one_per_source: false,
            min_mean_probability: Some(0.1),
            support_min_records: 2,
            support_bridges: 2,
            min_pair_weight: None,
            max_support_pairs: 64,
            ambiguity_margin: Some(1.0),
            size_prior: Some(SizePriorSpec::default()),
            // "Yolanda" at a street corner: the person the crisis team sees under that name,
            // when the name is rare enough that someone new is far less likely
            name_only: Some(NameOnlySpec {
                comparison: "first_name".into(),
                // where it happened, the call, and the full name (the alias comparison's
                // column: the name itself; aliases still make a record not name-only); a
                // record with a sex is not name-only: it can contradict
                context: vec!["event_place".into(), "same_incident".into(), "alias".into()],
                // HEART's "Travis F": the first name and the surname's initial together
                initial_of: Some("last_name".into()),
                // a 911 caller's "Patricia Mitchell" and nothing else: the whole name
                surname: Some("last_name".into()),
                fuzzy_level: Some("jw>=0.92".into()),
                // "Jim Jackson" for the James Jackson the 911 center hears from
                levels: vec!["nickname".into()],
                // the likelier reading wins: a record joins the person when that is at least as
                // likely as everyone else and someone new together. A name-only record is a leaf (no
                // other link runs through it), so it cannot chain two persons; and a stricter
                // bar leaves every doubtful call out, which undercounts frequent people
                // (BENCHMARKS.md, session 11)
                match_probability: Some(0.5),
            }),
            // a phone is the person's, not the call's: a link between a record with a phone
            // and one without still weighs the person's phones
            profile: vec!["phone".into()],
            hard: vec![
                HardSpec {
                    column: "ssn_last4".into(),
                    kind: HardKindSpec::Edit,
                    tolerance: 1.0,
                },
                // equal, within a month, a year off on the same day, day/month swapped, or a
                // year alone within a year (worked out from an age, it is a year off whenever
                // the birthday has not come yet)
                HardSpec {
                    column: "dob".into(),
                    kind: HardKindSpec::Dob,
                    tolerance: 31.0,
                },
                // a different middle initial, unless the name was split into fields another way
                HardSpec {
                    column: "concat(first,middle)".into(),
                    kind: HardKindSpec::GivenNames,
                    tolerance: 0.0,
                },
                HardSpec {
                    column: "suffix".into(),
                    kind: HardKindSpec::Exact,
                    tolerance: 0.0,
                },
            ],
        },
        evaluation: EvaluationSpec::default(),
    }
}

/// Build the table `person_spec` reads from agency identities.
pub fn identity_table<R: IdentityRecord>(records: &[R]) -> Result<Table, LinkError> {
    let names = [
        "first",
        "middle",
        "last",
        "suffix",
        "full_name",
        "aliases",
        "dob",
        "sex",
        "phone",
        "address_key",
        "address_unit",
        "agency_id",
        "source",
        "ssn_last4",
        "place",
        "incident",
    ];
    let mut cols: Vec<ColumnBuilder> = names
        .iter()
        .map(|n| ColumnBuilder::with_capacity(n, records.len()))
        .collect();
    let nulls: Vec<String> = person_spec().null_values;
    let mut source_names: Vec<String> = Vec::new();
    let mut source = Vec::with_capacity(records.len());
    let mut ids = Vec::with_capacity(records.len());
    for r in records {
        let (id, src, si) = (r.id(), r.source(), r.identity());
        let s = match source_names.iter().position(|x| x == src) {
            Some(i) => i,
            None => {
                source_names.push(src.to_string());
                source_names.len() - 1
            }
        };
        source.push(s as u32);
        ids.push(id.to_string().into_boxed_str());
        let full = match (&si.first, &si.last) {
            (Some(f), Some(l)) => Some(format!("{f} {l}")),
            _ => None,
        };
        let aliases = (!si.aliases.is_empty()).then(|| si.aliases.join("|"));
        let dob = si.dob.map(|d| d.to_string());
        let home = si
            .address
            .as_ref()
            .filter(|a| a.kind == AddressKind::Street && !a.key.trim().is_empty());
        let addr = home.map(|a| a.key.clone());
        let unit = home.and_then(|a| a.unit.as_deref());
        let vals: [Option<&str>; 16] = [
            si.first.as_deref(),
            si.middle.as_deref(),
            si.last.as_deref(),
            si.suffix.as_deref(),
            full.as_deref(),
            aliases.as_deref(),
            dob.as_deref(),
            si.sex.as_deref(),
            si.phone.as_deref(),
            addr.as_deref(),
            unit,
            si.agency_person_id.as_deref(),
            Some(src),
            si.ssn_last4.as_deref(),
            r.place().filter(|p| !p.trim().is_empty()),
            r.incident().filter(|p| !p.trim().is_empty()),
        ];
        for (c, v) in cols.iter_mut().zip(vals) {
            c.push(v, &nulls);
        }
    }
    Table::from_parts(TableParts {
        ids,
        source,
        source_names,
        columns: cols.into_iter().map(ColumnBuilder::finish).collect(),
        truth: None,
    })
}

/// A trained linker over agency identities (for explanations and re-use).
pub fn person_linker<R: IdentityRecord>(records: &[R]) -> Result<Linker, LinkError> {
    person_linker_with(records, person_spec())
}

/// As [`person_linker`] with another spec over the same columns (e.g. `person_spec()` with a
/// different threshold).
pub fn person_linker_with<R: IdentityRecord>(
    records: &[R],
    spec: Spec,
) -> Result<Linker, LinkError> {
    let table = identity_table(records)?;
    let mut l = Linker::new(table, spec, LinkType::Dedupe)?;
    l.limit_blocking()?;
    l.train(Vec::new())?;
    Ok(l)
}

fn index_of(l: &Linker, id: u64) -> Option<u32> {
    l.table.find_id(&id.to_string()).first().map(|&i| i as u32)
}

/// Cluster agency identities into persons. Reviewer constraints override the model.
pub fn link_identities<R: IdentityRecord>(records: &[R], constraints: &Constraints) -> LinkResult {
    match try_link_identities(records, constraints) {
        Ok(r) => r,
        // The built-in spec is valid and tables built here are well-formed; the only failure is
        // a duplicate identity id, in which case every identity stays on its own.
        Err(_) => {
            let mut ids: Vec<u64> = records.iter().map(|r| r.id()).collect();
            ids.sort_unstable();
            ids.dedup();
            LinkResult {
                clusters: ids.into_iter().map(|i| vec![i]).collect(),
                pairs: Vec::new(),
                attached: Vec::new(),
                params: None,
                model: None,
                refused_merges: RefusalCounts::default(),
                candidate_pairs: 0,
                block_caps: Vec::new(),
            }
        }
    }
}

/// As [`link_identities`], reporting errors (duplicate identity ids, a blocking rule too loose).
pub fn try_link_identities<R: IdentityRecord>(
    records: &[R],
    constraints: &Constraints,
) -> Result<LinkResult, LinkError> {
    try_link_identities_with(records, constraints, person_spec())
}

/// As [`try_link_identities`] with another spec over the columns of [`identity_table`].
pub fn try_link_identities_with<R: IdentityRecord>(
    records: &[R],
    constraints: &Constraints,
    spec: Spec,
) -> Result<LinkResult, LinkError> {
    if records.len() < 2 {
        return Ok(LinkResult {
            clusters: records.iter().map(|r| vec![r.id()]).collect(),
            pairs: Vec::new(),
            attached: Vec::new(),
            params: None,
            model: None,
            refused_merges: RefusalCounts::default(),
            candidate_pairs: 0,
            block_caps: Vec::new(),
        });
    }
    let l = person_linker_with(records, spec)?;
    let pred = l.predict();
    let map = |v: &[(u64, u64)]| -> Vec<(u32, u32)> {
        v.iter()
            .filter_map(|&(a, b)| Some((index_of(&l, a)?, index_of(&l, b)?)))
            .collect()
    };
    let must = map(&constraints.must_with_pinned());
    let cannot = map(&constraints.cannot_link);
    let mut clustering = l.cluster(&pred.edges, &pred.near, &must, &cannot);
    let decided = crate::cluster::reviewed(l.table.len(), &must, &cannot);
    let name_only = l.name_only_decisions(&clustering.labels, &|r| !decided[r as usize]);
    l.apply_name_only(&mut clustering, &name_only);
    let id_of = |i: u32| -> u64 { l.table.ids[i as usize].parse().unwrap_or_default() };
    let n_clusters = clustering
        .labels
        .iter()
        .copied()
        .max()
        .map_or(0, |m| m as usize + 1);
    let mut clusters: Vec<Vec<u64>> = vec![Vec::new(); n_clusters];
    for (i, &c) in clustering.labels.iter().enumerate() {
        clusters[c as usize].push(id_of(i as u32));
    }
    for c in clusters.iter_mut() {
        c.sort_unstable();
    }
    clusters.sort_unstable_by_key(|c| c[0]);
    let pairs = pred.edges.iter().map(|e| scored_pair(e, id_of)).collect();
    let attached = clustering
        .attached
        .iter()
        .map(|e| scored_pair(e, id_of))
        .collect();
    Ok(LinkResult {
        clusters,
        pairs,
        attached,
        params: l.params.clone(),
        model: crate::incremental::ModelState::of(&l),
        refused_merges: clustering.refused,
        candidate_pairs: pred.candidates,
        block_caps: l.block_caps(),
    })
}

/// The waterfall of two identities under a trained person linker.
pub fn explain_identities(l: &Linker, a: u64, b: u64) -> Result<Explanation, LinkError> {
    let ia = index_of(l, a).ok_or_else(|| LinkError::UnknownRecord(a.to_string()))?;
    let ib = index_of(l, b).ok_or_else(|| LinkError::UnknownRecord(b.to_string()))?;
    Ok(l.explain(ia, ib))
}
