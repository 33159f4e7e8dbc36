//! Incremental linking: a new batch of identities against existing persons, without relinking
//! the world.
//!
//! A full run stores its trained model ([`ModelState`]: the spec it was trained for, λ and every
//! level's m, u and weight). An incremental run rebuilds the same comparisons and blocking keys
//! over all current identities (cheap: interning and hashing), takes the stored weights instead
//! of training (term-frequency adjustments are recomputed from today's value counts), and then:
//!
//! 1. scores only the candidate pairs that touch a new record (same blocking rules, same
//!    first-rule-wins pairs: [`crate::block::Blocker::generate_touching`]);
//! 2. grows the affected set to whole connected components: every existing person a new record
//!    links to (at or above the threshold, or by a reviewer's must-link) joins with all its
//!    records, and their pairs are scored in turn, until no pair at or above the threshold
//!    leaves the set;
//! 3. re-clusters the affected set with the same clustering (hard identifiers, ambiguity,
//!    reviewer constraints) as a full run.
//!
//! Persons outside the affected set are not touched: their records, ids and links stay as they
//! are. Because clustering decisions depend only on the pairs inside a connected component of
//! the above-threshold graph, the affected components come out as a full run with the same model
//! would cluster them; what an incremental run does not do is retrain (λ, m and u stay those of
//! the last full run) or revisit components no new record reaches.
//!
//! The size prior (`cluster.size_prior`) is the exception to "as a full run would": a pair below
//! the threshold brings the person at its other end into the affected set only from a new
//! record, so a record re-clustered here does not see every person a full run would weigh it
//! against, and a lone record no new record reaches is not reconsidered when a person it nearly
//! matches grows. `familiar link --full` decides those again.

use crate::cluster::RefusalCounts;
use crate::error::LinkError;
use crate::linker::Linker;
use crate::model::{ComparisonParams, LevelParams, Params, SourcePrior, Weights};
use crate::person::{identity_table, Constraints, IdentityRecord, ScoredPair};
use crate::spec::{LinkType, Spec};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Version of the stored model format; also raised when the same parameters score pairs
/// differently (2: the `swapped` cap; 3: a record's own name is not its alias, lisa / lisaa is
/// not a gender variant), so that a model stored before is not used to link incrementally
/// against persons it did not form.
pub const MODEL_STATE_VERSION: u32 = 3;

/// A trained model as stored with a link run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelState {
    pub version: u32,
    /// The spec the model was trained for: a model only applies to the same spec.
    pub spec: Spec,
    pub lambda: f64,
    pub prior_weight: f64,
    /// λ per pair of sources (`prior_refit = "by_source"`), by source name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub source_priors: Vec<SourcePrior>,
    /// Per comparison: each level's m, u and weight (veto levels included).
    pub comparisons: Vec<StoredComparison>,
    /// Identities the model was trained on.
    pub trained_on: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredComparison {
    pub name: String,
    pub levels: Vec<LevelParams>,
}

impl ModelState {
    /// The model of a trained linker.
    pub fn of(l: &Linker) -> Option<ModelState> {
        let p = l.params.as_ref()?;
        Some(ModelState {
            version: MODEL_STATE_VERSION,
            spec: l.spec.clone(),
            lambda: p.lambda,
            prior_weight: p.prior_weight,
            source_priors: p.source_priors.clone(),
            comparisons: p
                .comparisons
                .iter()
                .map(|c| StoredComparison {
                    name: c.name.clone(),
                    levels: c.levels.clone(),
                })
                .collect(),
            trained_on: l.table.len(),
        })
    }

    /// True when the model was trained for `spec` (same comparisons, levels, blocking,
    /// threshold and clustering).
    pub fn fits(&self, spec: &Spec) -> bool {
        self.version == MODEL_STATE_VERSION
            && serde_json::to_value(&self.spec).ok() == serde_json::to_value(spec).ok()
    }

    pub fn params(&self, from: &str) -> Params {
        Params {
            lambda: self.lambda,
            lambda_from: from.to_string(),
            prior_weight: self.prior_weight,
            comparisons: self
                .comparisons
                .iter()
                .map(|c| ComparisonParams {
                    name: c.name.clone(),
                    tf: false,
                    levels: c.levels.clone(),
                    m_from: vec![from.to_string()],
                })
                .collect(),
            em_sessions: Vec::new(),
            source_priors: self.source_priors.clone(),
        }
    }

    /// A linker over `records` that scores with this model (no training).
    pub fn linker<R: IdentityRecord>(
        &self,
        records: &[R],
        from: &str,
    ) -> Result<Linker, LinkError> {
        let table = identity_table(records)?;
        let mut l = Linker::new(table, self.spec.clone(), LinkType::Dedupe)?;
        l.limit_blocking()?;
        let mut params = self.params(from);
        for (c, p) in l.cmp.comps.iter().zip(params.comparisons.iter_mut()) {
            p.tf = c.tf;
        }
        let w = Weights::from_params(&params, &l.table, &l.cmp).ok_or_else(|| {
            LinkError::spec(
                "stored model",
                "the stored model does not fit the spec's comparisons",
            )
        })?;
        l.set_model(params, w);
        l.model_records = self.trained_on;
        Ok(l)
    }
}

/// What an incremental run starts from.
pub struct IncrementalInput<'a, R: IdentityRecord> {
    /// Every current identity (new and already linked).
    pub records: &'a [R],
    /// Person of each identity linked before; identities not in it are the new batch.
    pub previous: &'a HashMap<u64, String>,
    /// Identities whose persons must be re-clustered even if no new record reaches them (their
    /// person lost a record, or a reviewer decided about them since the last run).
    pub touched: &'a [u64],
    pub constraints: &'a Constraints,
    pub model: &'a ModelState,
    /// Where the model came from (shown by explanations), e.g. "stored model of link run 4".
    pub model_from: &'a str,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct IncrementalResult {
    /// The re-clustered identities, by person (each sorted; persons by smallest id). Every
    /// identity not listed keeps its person.
    pub clusters: Vec<Vec<u64>>,
    /// Pairs at or above the threshold inside the affected set.
    pub pairs: Vec<ScoredPair>,
    /// The links by which the size prior attached a record to a person (all reviewed).
    pub attached: Vec<ScoredPair>,
    pub refused_merges: RefusalCounts,
    /// Identities without a person before.
    pub new_identities: usize,
    /// Existing persons pulled into the affected set.
    pub touched_persons: usize,
    /// Identities re-clustered (new ones and all records of the touched persons).
    pub affected_identities: usize,
    /// Candidate pairs scored.
    pub candidate_pairs: u64,
    /// Rounds of growing the affected set until it was closed.
    pub rounds: usize,
    /// Blocks skipped to keep each blocking rule within its pair budget.
    pub block_caps: Vec<crate::block::BlockCap>,
}

/// See the module docs.
pub fn link_incremental<R: IdentityRecord>(
    inp: &IncrementalInput<'_, R>,
) -> Result<IncrementalResult, LinkError> {
    let new_identities = inp
        .records
        .iter()
        .filter(|r| !inp.previous.contains_key(&r.id()))
        .count();
    if inp.records.is_empty() || (new_identities == 0 && inp.touched.is_empty()) {
        // nothing new: nothing to score or re-cluster
        return Ok(IncrementalResult::default());
    }
    let l = inp.model.linker(inp.records, inp.model_from)?;
    let n = l.table.len();
    let id_of = |i: u32| -> u64 { l.table.ids[i as usize].parse().unwrap_or_default() };
    let mut index: HashMap<u64, u32> = HashMap::with_capacity(n);
    for i in 0..n as u32 {
        index.insert(id_of(i), i);
    }
    // previous persons as member lists
    let mut person_ix: HashMap<&str, u32> = HashMap::new();
    let mut members: Vec<Vec<u32>> = Vec::new();
    let mut person_of: Vec<u32> = vec![u32::MAX; n];
    for i in 0..n as u32 {
        if let Some(p) = inp.previous.get(&id_of(i)) {
            let k = *person_ix.entry(p.as_str()).or_insert_with(|| {
                members.push(Vec::new());
                (members.len() - 1) as u32
            });
            members[k as usize].push(i);
            person_of[i as usize] = k;
        }
    }
    // reviewer must-links as adjacency (they join components like edges do)
    let map_pairs = |v: &[(u64, u64)]| -> Vec<(u32, u32)> {
        v.iter()
            .filter_map(|(a, b)| Some((*index.get(a)?, *index.get(b)?)))
            .collect()
    };
    let must = map_pairs(&inp.constraints.must_with_pinned());
    let cannot = map_pairs(&inp.constraints.cannot_link);
    let mut must_adj: HashMap<u32, Vec<u32>> = HashMap::new();
    for &(a, b) in &must {
        must_adj.entry(a).or_default().push(b);
        must_adj.entry(b).or_default().push(a);
    }

    let mut in_set = vec![false; n];
    let mut person_in = vec![false; members.len()];
    let mut touched_persons = 0usize;
    let mut frontier: Vec<u32> = Vec::new();
    let add = |i: u32,
               in_set: &mut Vec<bool>,
               person_in: &mut Vec<bool>,
               frontier: &mut Vec<u32>,
               touched: &mut usize| {
        let p = person_of[i as usize];
        if p != u32::MAX {
            if !person_in[p as usize] {
                person_in[p as usize] = true;
                *touched += 1;
                for &m in &members[p as usize] {
                    if !in_set[m as usize] {
                        in_set[m as usize] = true;
                        frontier.push(m);
                    }
                }
            }
        } else if !in_set[i as usize] {
            in_set[i as usize] = true;
            frontier.push(i);
        }
    };
    for i in 0..n as u32 {
        if person_of[i as usize] == u32::MAX {
            add(
                i,
                &mut in_set,
                &mut person_in,
                &mut frontier,
                &mut touched_persons,
            );
        }
    }
    for id in inp.touched {
        if let Some(&i) = index.get(id) {
            add(
                i,
                &mut in_set,
                &mut person_in,
                &mut frontier,
                &mut touched_persons,
            );
        }
    }
    let thr = l.threshold_weight();
    // pairs this far below the threshold are kept for the size prior (the threshold when off)
    let keep = l.keep_weight();
    let w = l.weights.as_ref().expect("model set");
    let suffix = w.suffix_max(&l.cmp);
    let mut done = vec![false; n];
    let mut edges = Vec::new();
    let mut near = Vec::new();
    let mut candidates = 0u64;
    let mut rounds = 0usize;
    while !frontier.is_empty() {
        rounds += 1;
        let mut flag = vec![false; n];
        for &i in &frontier {
            flag[i as usize] = true;
        }
        let (found, visited) = l
            .blocker
            .generate_touching(&l.pairing, &flag, &done, |a, b, _| {
                let s = l.cmp.score_pruned(&l.table, w, &suffix, a, b, keep)?;
                (s >= keep).then_some(crate::cluster::Edge { a, b, weight: s })
            });
        candidates += visited;
        for &i in &frontier {
            done[i as usize] = true;
        }
        let current = std::mem::take(&mut frontier);
        for e in &found {
            // a link below the threshold brings in the person at its other end only for a new
            // record (which the size prior may attach there); persons already linked keep the
            // records they have
            let reach = e.weight >= thr
                || person_of[e.a as usize] == u32::MAX
                || person_of[e.b as usize] == u32::MAX;
            if !reach {
                continue;
            }
            for x in [e.a, e.b] {
                if !in_set[x as usize] {
                    add(
                        x,
                        &mut in_set,
                        &mut person_in,
                        &mut frontier,
                        &mut touched_persons,
                    );
                }
            }
        }
        for i in current {
            if let Some(adj) = must_adj.get(&i) {
                for &x in adj {
                    if !in_set[x as usize] {
                        add(
                            x,
                            &mut in_set,
                            &mut person_in,
                            &mut frontier,
                            &mut touched_persons,
                        );
                    }
                }
            }
        }
        for e in found {
            if e.weight >= thr {
                edges.push(e);
            } else {
                near.push(e);
            }
        }
    }
    let inside = |v: Vec<(u32, u32)>| -> Vec<(u32, u32)> {
        v.into_iter()
            .filter(|&(a, b)| in_set[a as usize] && in_set[b as usize])
            .collect()
    };
    near.retain(|e| in_set[e.a as usize] && in_set[e.b as usize]);
    let decided = crate::cluster::reviewed(n, &must, &cannot);
    let mut clustering = l.cluster(&edges, &near, &inside(must), &inside(cannot));
    // The name-only pass weighs a record against every person, so it sees the whole store:
    // the set as just clustered, every other record under its person (labels past `n`). Only
    // records of the set move; a person outside it that gains one joins the result whole.
    let mut labels: Vec<u32> = (0..n)
        .map(|i| {
            if in_set[i] {
                clustering.labels[i]
            } else {
                n as u32 + person_of[i]
            }
        })
        .collect();
    let name_only = l.name_only_decisions(&labels, &|r| in_set[r as usize] && !decided[r as usize]);
    for d in &name_only {
        let target = labels[d.member as usize];
        labels[d.record as usize] = target;
        if target >= n as u32 {
            let k = (target - n as u32) as usize;
            if !person_in[k] {
                person_in[k] = true;
                touched_persons += 1;
            }
            for &m in &members[k] {
                in_set[m as usize] = true;
            }
        }
        l.report_name_only(&mut clustering, d);
    }
    let mut by_label: HashMap<u32, Vec<u64>> = HashMap::new();
    let mut affected = 0usize;
    for (i, _) in in_set.iter().enumerate().filter(|x| *x.1) {
        affected += 1;
        by_label.entry(labels[i]).or_default().push(id_of(i as u32));
    }
    let mut clusters: Vec<Vec<u64>> = by_label.into_values().collect();
    for c in clusters.iter_mut() {
        c.sort_unstable();
    }
    clusters.sort_unstable_by_key(|c| c[0]);
    let pairs = edges
        .iter()
        .map(|e| crate::person::scored_pair(e, id_of))
        .collect();
    let attached = clustering
        .attached
        .iter()
        .map(|e| crate::person::scored_pair(e, id_of))
        .collect();
    Ok(IncrementalResult {
        clusters,
        pairs,
        attached,
        refused_merges: clustering.refused,
        new_identities,
        touched_persons,
        affected_identities: affected,
        candidate_pairs: candidates,
        rounds,
        block_caps: l.block_caps(),
    })
}
