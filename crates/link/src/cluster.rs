//! Clustering that resists chaining.
//!
//! Edges (scored pairs above the threshold) are taken strongest first and merged with
//! union-find, but a merge is refused when the two clusters contradict each other:
//! a reviewer's cannot-link, conflicting hard identifiers, two records of one source when
//! `one_per_source` is on, profile fields (a phone) that the link's own pair could not compare
//! and that disagree between the clusters by more than the link can carry, or too little
//! support between the clusters (their cross pairs scored directly, not only the blocked
//! ones). Reviewer must-links are applied first and override the
//! model.
//!
//! Ties are broken by each record's rank (a stable key order given by the caller), never by
//! input position, so shuffling the input gives the same clusters up to relabeling.

use crate::model::probability;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Edge {
    pub a: u32,
    pub b: u32,
    pub weight: f64,
}

/// How two hard-identifier values may differ and still belong to one person.
pub enum HardCompat {
    /// Equal codes only.
    Exact,
    /// Any rule on the two value codes (e.g. "at most one edit", "dates within 2 years").
    Custom(Box<dyn Fn(u32, u32) -> bool + Sync + Send>),
}

/// A hard identifier: one value code per record (`u32::MAX` = unknown).
pub struct HardField {
    pub name: String,
    pub codes: Vec<u32>,
    pub compat: HardCompat,
    /// Per value: whether it is precise (a full date against a year alone). When a cluster
    /// holds a precise value, only its precise values are weighed against another's: a year
    /// alone that a person's full date tolerates must not let that person join another full
    /// date the year also tolerates. None: every value counts.
    pub precise: Option<Vec<bool>>,
}

impl HardField {
    /// The values of a cluster weighed against another's: its precise ones when it has any.
    pub fn weighed<'a>(&'a self, values: &'a [u32]) -> impl Iterator<Item = u32> + Clone + 'a {
        let precise = (self.precise.as_deref()).filter(|p| values.iter().any(|&v| p[v as usize]));
        values
            .iter()
            .copied()
            .filter(move |&v| precise.is_none_or(|p| p[v as usize]))
    }

    /// Whether two clusters holding these values (distinct codes) conflict: both hold some,
    /// and none of one's weighed values is compatible with one of the other's.
    pub fn conflicts(&self, a: &[u32], b: &[u32]) -> bool {
        let (mut x, y) = (self.weighed(a), self.weighed(b));
        !a.is_empty() && !b.is_empty() && !x.any(|p| y.clone().any(|q| self.compatible(p, q)))
    }

    /// Whether two values (codes) of this field may belong to one person.
    pub fn compatible(&self, x: u32, y: u32) -> bool {
        x == y
            || match &self.compat {
                HardCompat::Exact => false,
                HardCompat::Custom(f) => f(x, y),
            }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ClusterOptions {
    pub one_per_source: bool,
    pub min_mean_probability: Option<f64>,
    pub min_pair_weight: Option<f64>,
    pub max_support_pairs: usize,
    /// The support check runs only when both clusters hold at least this many records (and
    /// one holds two or more): a bridge between two persons already formed is what chaining
    /// looks like, while a lone record joining is judged by its own link. 0 or 1: every merge
    /// into a multi-record cluster is checked.
    #[serde(default)]
    pub support_min_records: u32,
    /// A merge the support check refuses goes ahead when at least this many distinct records
    /// of each cluster hold a link at or above the threshold into the other: several
    /// independent links are not one bridge (a frequent person's records written with the
    /// name fields swapped score low against most of the person's records, yet each links
    /// strongly to the ones with the same phone). 0: off.
    #[serde(default)]
    pub support_bridges: u32,
    /// Detach a record whose links to two clusters that conflict on a hard identifier are about
    /// as strong (within this many bits): the evidence cannot tell which person it is (a
    /// name-only record when two people share the name).
    #[serde(default)]
    pub ambiguity_margin: Option<f64>,
    /// Attach records left on their own to frequent persons (see [`SizePrior`]); off when None.
    #[serde(default)]
    pub size_prior: Option<SizePrior>,
    /// The match weight a link must keep once profile fields are weighed over the clusters
    /// ([`ClusterContext::profile`]); None: they are not.
    #[serde(default)]
    pub threshold: Option<f64>,
}

/// The prior that a record is one of a person's grows with how many records that person has.
/// A pairwise match weight carries one prior for every pair (λ, the average), which
/// understates it for a person with many records: a record that names only "Mike Wright" away
/// from home is far likelier the Mike Wright who called 90 times than a random one. After
/// clustering, a record still on its own (that no link at or above the threshold reached, that
/// was detached as ambiguous between two persons, or whose only such links were to records
/// detached as ambiguous) is attached to a person P its links
/// reach (below the threshold; any, for an ambiguous record) when the median weight of the
/// record against P's members (up to 32) plus `min(log2(size(P) / matches_per_record),
/// max_bits)` clears `threshold`; P has at least two records and more than twice
/// `matches_per_record`; the runner-up among the (up to three) persons it links to most
/// strongly scores at least `margin` bits lower on the same scale; and no hard identifier,
/// cannot-link or `one_per_source` forbids it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SizePrior {
    /// λ·(N − 1): how many other records an average record matches (the prior's baseline).
    pub matches_per_record: f64,
    /// The most the size of a person may add (bits); also how far below the threshold the
    /// links considered reach.
    pub max_bits: f64,
    /// The match weight to clear.
    pub threshold: f64,
    /// How far ahead of the runner-up the chosen person must be (bits).
    pub margin: f64,
}

impl SizePrior {
    /// The bits a person of `size` records adds to a link into it.
    pub fn bonus(&self, size: u32) -> f64 {
        (f64::from(size) / self.matches_per_record.max(1e-9))
            .log2()
            .min(self.max_bits)
    }
}

/// A field that describes the person, not the event (`cluster.profile`): a phone.
pub struct ProfileField<'a> {
    /// Value code per record (`u32::MAX`: none).
    pub codes: &'a [u32],
    /// The field's weight for two records that both hold a value (the level they take).
    pub weight: &'a (dyn Fn(u32, u32) -> f64 + Sync),
}

impl ProfileField<'_> {
    /// Whether records `x` and `y` cannot compare this field (one holds no value).
    fn lacks(&self, x: u32, y: u32) -> bool {
        self.codes[x as usize] == u32::MAX || self.codes[y as usize] == u32::MAX
    }
}

/// Inputs beside the edges.
pub struct ClusterContext<'a> {
    /// Stable order of records (rank per record, all distinct): ties are broken on it.
    pub rank: &'a [u32],
    /// Source per record (for `one_per_source`).
    pub sources: &'a [u32],
    pub hard: &'a [HardField],
    pub must_link: &'a [(u32, u32)],
    pub cannot_link: &'a [(u32, u32)],
    /// Direct scoring of any pair (match weight), for the support check.
    pub scorer: Option<&'a (dyn Fn(u32, u32) -> f64 + Sync)>,
    /// Scored pairs below the threshold but within `size_prior.max_bits` of it (only read when
    /// `options.size_prior` is set).
    pub near: &'a [Edge],
    /// Fields weighed over whole clusters when a link's own pair of records could not compare
    /// them (see [`profile_shortfall`]); the weight a link must keep is the threshold.
    pub profile: &'a [ProfileField<'a>],
    pub options: ClusterOptions,
}

/// Why merges were refused.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RefusalCounts {
    pub cannot_link: u64,
    pub one_per_source: u64,
    pub hard_identifier: u64,
    pub weak_support: u64,
    /// Must-links skipped because they contradict a cannot-link.
    pub must_link_conflicts: u64,
    /// Records detached because they fit two conflicting persons about equally well (the size
    /// prior, when on, may still attach them to one).
    #[serde(default)]
    pub ambiguous_records: u64,
    /// Records attached to a frequent person by the size prior.
    #[serde(default)]
    pub attached_by_size: u64,
    /// Name-only records attached to the person their source knows under the name
    /// (`cluster.name_only`).
    #[serde(default)]
    pub attached_by_name: u64,
    /// Links refused because, weighed over both clusters, a profile field disagrees enough to
    /// take the link below the threshold (`cluster.profile`).
    #[serde(default)]
    pub profile_conflict: u64,
}

#[derive(Debug, Clone)]
pub struct Clustering {
    /// Cluster label per record, numbered by the lowest-ranked member (0, 1, 2, ...).
    pub labels: Vec<u32>,
    /// Edges (indices into the sorted edge list) that merged two clusters.
    pub merged_by: Vec<Edge>,
    pub refused: RefusalCounts,
    /// Records the size prior attached, each with its best link to the person (below the
    /// threshold for a lone record; any for an ambiguous one): decisions a reviewer should see.
    pub attached: Vec<Edge>,
}

const MAX_HARD_VALUES: usize = 16;

/// Per-root data, kept only where an option needs it (members are a linked list).
struct Forest {
    parent: Vec<u32>,
    size: Vec<u32>,
    /// Members of a root: head, then `next` links; `tail` for O(1) concatenation.
    head: Vec<u32>,
    tail: Vec<u32>,
    next: Vec<u32>,
    sources: Vec<Vec<u32>>,
    hard: Vec<Vec<Vec<u32>>>,
    /// Per root, per profile field: one record for each distinct value (up to
    /// `MAX_HARD_VALUES`).
    profile: Vec<Vec<Vec<u32>>>,
    cannot: Vec<Vec<u32>>,
}

const END: u32 = u32::MAX;

impl Forest {
    fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let p = self.parent[x as usize];
            self.parent[x as usize] = self.parent[p as usize];
            x = p;
        }
        x
    }

    fn members(&self, root: u32, limit: usize) -> Vec<u32> {
        let mut out = Vec::new();
        let mut x = self.head[root as usize];
        while x != END && out.len() < limit {
            out.push(x);
            x = self.next[x as usize];
        }
        out
    }

    fn cannot_conflict(&mut self, ra: u32, rb: u32) -> bool {
        let ca = std::mem::take(&mut self.cannot[ra as usize]);
        let cb = std::mem::take(&mut self.cannot[rb as usize]);
        let hit = ca.iter().any(|&x| self.find(x) == rb) || cb.iter().any(|&x| self.find(x) == ra);
        self.cannot[ra as usize] = ca;
        self.cannot[rb as usize] = cb;
        hit
    }

    fn union(&mut self, ctx: &ClusterContext<'_>, ra: u32, rb: u32) {
        let (sa, sb) = (self.size[ra as usize], self.size[rb as usize]);
        // larger keeps the root; ties by rank of the first member
        let fr = |f: &Forest, r: u32| ctx.rank[f.head[r as usize] as usize];
        let (keep, gone) = if sa > sb || (sa == sb && fr(self, ra) < fr(self, rb)) {
            (ra, rb)
        } else {
            (rb, ra)
        };
        let (k, g) = (keep as usize, gone as usize);
        self.parent[g] = keep;
        self.size[k] += self.size[g];
        let t = self.tail[k];
        self.next[t as usize] = self.head[g];
        self.tail[k] = self.tail[g];
        if !self.sources.is_empty() {
            let gs = std::mem::take(&mut self.sources[g]);
            self.sources[k].extend(gs);
            self.sources[k].sort_unstable();
        }
        if !self.hard.is_empty() {
            let gh = std::mem::take(&mut self.hard[g]);
            for (h, vals) in gh.into_iter().enumerate() {
                for v in vals {
                    if self.hard[k][h].len() < MAX_HARD_VALUES && !self.hard[k][h].contains(&v) {
                        self.hard[k][h].push(v);
                    }
                }
            }
        }
        if !self.profile.is_empty() {
            let gp = std::mem::take(&mut self.profile[g]);
            for (i, recs) in gp.into_iter().enumerate() {
                let codes = ctx.profile[i].codes;
                for r in recs {
                    let have = &self.profile[k][i];
                    if have.len() < MAX_HARD_VALUES
                        && !have.iter().any(|&x| codes[x as usize] == codes[r as usize])
                    {
                        self.profile[k][i].push(r);
                    }
                }
            }
        }
        let gc = std::mem::take(&mut self.cannot[g]);
        self.cannot[k].extend(gc);
    }
}

/// How many profile fields are weighed: none unless the options give the threshold to keep.
fn profile_fields(ctx: &ClusterContext<'_>) -> usize {
    if ctx.options.threshold.is_some() {
        ctx.profile.len()
    } else {
        0
    }
}

/// The profile fields record `r` holds against the person rooted at `root` (see
/// [`profile_best`]).
fn profile_penalties(f: &Forest, ctx: &ClusterContext<'_>, r: u32, root: u32) -> Vec<(usize, f64)> {
    ctx.profile[..profile_fields(ctx)]
        .iter()
        .enumerate()
        .filter(|(_, p)| p.codes[r as usize] != u32::MAX)
        .filter_map(|(i, p)| Some((i, profile_best(p, &[r], &f.profile[root as usize][i])?)))
        .collect()
}

/// The best weight any of `ours` takes against any of `theirs` (records, a value each), when
/// below zero: what a field weighed over two persons takes off a link. None when either holds
/// no value, or as many as are kept (the one that agrees may have been left out).
fn profile_best(fld: &ProfileField<'_>, ours: &[u32], theirs: &[u32]) -> Option<f64> {
    let kept = |v: &[u32]| !v.is_empty() && v.len() < MAX_HARD_VALUES;
    if !kept(ours) || !kept(theirs) {
        return None;
    }
    let best = ours
        .iter()
        .flat_map(|&x| theirs.iter().map(move |&y| (fld.weight)(x, y)))
        .fold(f64::NEG_INFINITY, f64::max);
    Some(best.min(0.0))
}

/// Per record, per field: the record's own entry as a list of one (none: empty); nothing when
/// there are no fields.
fn own_values(
    n: usize,
    fields: usize,
    entry: impl Fn(usize, usize) -> Option<u32>,
) -> Vec<Vec<Vec<u32>>> {
    if fields == 0 {
        return Vec::new();
    }
    (0..n)
        .map(|i| {
            (0..fields)
                .map(|f| entry(i, f).into_iter().collect())
                .collect()
        })
        .collect()
}

/// Per profile field, the best weight between the values of the clusters rooted at `ra` and
/// `rb`, when below zero (see [`profile_best`]); empty when no profile is weighed.
fn profile_bests(f: &Forest, ctx: &ClusterContext<'_>, ra: u32, rb: u32) -> Vec<Option<f64>> {
    if f.profile.is_empty() {
        return Vec::new();
    }
    let (pa, pb) = (&f.profile[ra as usize], &f.profile[rb as usize]);
    ctx.profile
        .iter()
        .enumerate()
        .map(|(i, p)| profile_best(p, &pa[i], &pb[i]))
        .collect()
}

/// What the profile fields take off a pair of records `x`, `y` of the two clusters whose
/// [`profile_bests`] are `bests` (≤ 0): for each field the pair could not compare (one has no
/// value) while both clusters hold values, the best weight any pair of those values takes. A
/// link between records where one gave no phone then still counts the person's phones.
fn profile_shortfall(ctx: &ClusterContext<'_>, bests: &[Option<f64>], x: u32, y: u32) -> f64 {
    bests
        .iter()
        .zip(ctx.profile)
        .filter(|(_, p)| p.lacks(x, y))
        .filter_map(|(b, _)| *b)
        .sum()
}

pub fn sort_edges(edges: &mut [Edge], rank: &[u32]) {
    use rayon::slice::ParallelSliceMut;
    edges.par_sort_unstable_by(|x, y| {
        let kx = (
            rank[x.a as usize].min(rank[x.b as usize]),
            rank[x.a as usize].max(rank[x.b as usize]),
        );
        let ky = (
            rank[y.a as usize].min(rank[y.b as usize]),
            rank[y.a as usize].max(rank[y.b as usize]),
        );
        y.weight.total_cmp(&x.weight).then(kx.cmp(&ky))
    });
}

pub fn cluster(n: usize, edges: &[Edge], ctx: &ClusterContext<'_>) -> Clustering {
    let mut edges: Vec<Edge> = edges.to_vec();
    sort_edges(&mut edges, ctx.rank);
    let first = merge(n, &edges, ctx, true);
    let mut ambiguous = first.ambiguous.clone();
    let (f, merged_by, refused) = if first.ambiguous.is_empty() {
        (first.forest, first.merged_by, first.refused)
    } else {
        // Cluster again without the ambiguous records' links. Every other edge is taken again
        // with the same refusals: a record that had joined through an ambiguous one still
        // joins by its own links (only records with no other link fall off). A record whose two
        // conflicting clusters were joined in the first pass (so not ambiguous) is ambiguous
        // after all if they come apart without the links just removed: cluster again until no
        // such record is left (the set only grows).
        let mut out = vec![false; n];
        loop {
            for &z in &ambiguous {
                out[z as usize] = true;
            }
            let kept: Vec<Edge> = edges
                .iter()
                .filter(|e| !out[e.a as usize] && !out[e.b as usize])
                .copied()
                .collect();
            let mut second = merge(n, &kept, ctx, false);
            let apart: Vec<u32> = first
                .candidates
                .iter()
                .filter(|&&(z, other)| {
                    !out[z as usize] && second.forest.find(z) != second.forest.find(other)
                })
                .map(|&(z, _)| z)
                .collect();
            if apart.is_empty() {
                let mut refused = second.refused;
                refused.ambiguous_records = ambiguous.len() as u64;
                break (second.forest, second.merged_by, refused);
            }
            ambiguous.extend(apart);
            ambiguous.sort_unstable();
            ambiguous.dedup();
        }
    };
    let mut f = f;
    let mut refused = refused;
    let attached = match &ctx.options.size_prior {
        Some(sp) => attach_to_frequent(&mut f, n, &edges, &ambiguous, ctx, sp),
        None => Vec::new(),
    };
    refused.attached_by_size = attached.len() as u64;
    // labels by lowest rank
    let roots: Vec<u32> = (0..n as u32).map(|i| f.find(i)).collect();
    let mut by_rank: Vec<u32> = (0..n as u32).collect();
    by_rank.sort_unstable_by_key(|&i| ctx.rank[i as usize]);
    let mut label_of_root = vec![u32::MAX; n];
    let mut next = 0u32;
    let mut labels = vec![0u32; n];
    for &i in &by_rank {
        let r = roots[i as usize] as usize;
        if label_of_root[r] == u32::MAX {
            label_of_root[r] = next;
            next += 1;
        }
        labels[i as usize] = label_of_root[r];
    }
    Clustering {
        labels,
        merged_by,
        refused,
        attached,
    }
}

/// True when the clusters rooted at `ra` and `rb` hold hard-identifier values that conflict.
fn hard_conflict(f: &Forest, ctx: &ClusterContext<'_>, ra: u32, rb: u32) -> bool {
    if f.hard.is_empty() {
        return false;
    }
    let (ha, hb) = (&f.hard[ra as usize], &f.hard[rb as usize]);
    ctx.hard
        .iter()
        .enumerate()
        .any(|(h, fld)| fld.conflicts(&ha[h], &hb[h]))
}

/// With `one_per_source`: true when the clusters rooted at `ra` and `rb` share a source.
fn sources_overlap(f: &Forest, ctx: &ClusterContext<'_>, ra: u32, rb: u32) -> bool {
    ctx.options.one_per_source && {
        let (x, y) = (&f.sources[ra as usize], &f.sources[rb as usize]);
        x.iter().any(|s| y.binary_search(s).is_ok())
    }
}

/// Records a reviewer decided something about (a must-link, a cannot-link, or pinned: a link
/// to itself): they move only by those decisions.
pub(crate) fn reviewed(n: usize, must: &[(u32, u32)], cannot: &[(u32, u32)]) -> Vec<bool> {
    let mut out = vec![false; n];
    for &(a, b) in must.iter().chain(cannot) {
        for x in [a, b] {
            if let Some(v) = out.get_mut(x as usize) {
                *v = true;
            }
        }
    }
    out
}

/// The size-prior pass (see [`SizePrior`]); returns the links by which it attached records.
/// Decisions are taken on the clusters as they stand, then applied in rank order.
fn attach_to_frequent(
    f: &mut Forest,
    n: usize,
    strong: &[Edge],
    ambiguous: &[u32],
    ctx: &ClusterContext<'_>,
    sp: &SizePrior,
) -> Vec<Edge> {
    // records some link at or above the threshold reached were decided by the clustering
    // (joined or refused): left alone. A record found ambiguous is not: its links fit two
    // persons about equally, which is where the size of each should decide.
    // Nor is a record whose only such links were to ambiguous records: it was left alone
    // when they were detached, not by a decision about it.
    let mut is_ambiguous = vec![false; n];
    for &z in ambiguous {
        is_ambiguous[z as usize] = true;
    }
    let mut decided = vec![false; n];
    for e in strong {
        if !is_ambiguous[e.a as usize] && !is_ambiguous[e.b as usize] {
            decided[e.a as usize] = true;
            decided[e.b as usize] = true;
        }
    }
    for (d, r) in decided
        .iter_mut()
        .zip(reviewed(n, ctx.must_link, ctx.cannot_link))
    {
        *d |= r;
    }
    let rank = |x: u32| ctx.rank[x as usize];
    // per lone record: the persons its links below the threshold reach, each with its best
    // link (weight, member; ties to the lower-ranked member)
    let mut reach: rustc_hash::FxHashMap<u32, Vec<(u32, f64, u32)>> = Default::default();
    let ambiguous_links = strong
        .iter()
        .filter(|e| is_ambiguous[e.a as usize] || is_ambiguous[e.b as usize]);
    for e in ctx.near.iter().chain(ambiguous_links) {
        for (r, s) in [(e.a, e.b), (e.b, e.a)] {
            if decided[r as usize] || f.find(r) != r || f.size[r as usize] != 1 {
                continue;
            }
            let root = f.find(s);
            // a lone ambiguous record is no person to join, nor a rival to one: it is itself
            // waiting for the size prior
            if is_ambiguous[s as usize] && f.size[root as usize] == 1 {
                continue;
            }
            let v = reach.entry(r).or_default();
            match v.iter_mut().find(|x| x.0 == root) {
                Some(x) => {
                    if e.weight > x.1 || (e.weight == x.1 && rank(s) < rank(x.2)) {
                        (x.1, x.2) = (e.weight, s);
                    }
                }
                None => v.push((root, e.weight, s)),
            }
        }
    }
    // A person's evidence is the median weight of the record against its members (up to
    // `MEMBERS`), not the best single link: the best of many members' variants would grow
    // with the person's size, which the prior already counts. The `PERSONS` persons scored
    // are those whose best link plus size bonus is highest.
    const MEMBERS: usize = 32;
    const PERSONS: usize = 3;
    let mut attach: Vec<(Edge, f64)> = Vec::new();
    for (r, mut roots) in reach {
        let size = |root: u32| f.size[root as usize];
        roots.sort_unstable_by(|x, y| {
            (y.1 + sp.bonus(size(y.0)))
                .total_cmp(&(x.1 + sp.bonus(size(x.0))))
                .then(rank(f.head[x.0 as usize]).cmp(&rank(f.head[y.0 as usize])))
        });
        roots.truncate(PERSONS);
        let mut scored: Vec<(f64, u32, Edge, f64)> = roots
            .iter()
            .map(|&(root, best, member)| {
                // a profile field the record holds, weighed against the person's values where
                // a member has none (see `profile_shortfall`)
                let lacking = profile_penalties(f, ctx, r, root);
                let evidence = match ctx.scorer {
                    Some(score) => {
                        let mut w: Vec<f64> = f
                            .members(root, MEMBERS)
                            .iter()
                            .map(|&x| {
                                score(r, x)
                                    + lacking
                                        .iter()
                                        .filter(|&&(i, _)| {
                                            ctx.profile[i].codes[x as usize] == u32::MAX
                                        })
                                        .map(|x| x.1)
                                        .sum::<f64>()
                            })
                            .collect();
                        w.sort_unstable_by(f64::total_cmp);
                        w.get(w.len() / 2).copied().unwrap_or(best)
                    }
                    None => best,
                };
                let link = Edge {
                    a: r,
                    b: member,
                    weight: best,
                };
                let penalty: f64 = lacking.iter().map(|x| x.1).sum();
                (evidence + sp.bonus(size(root)), root, link, penalty)
            })
            .collect();
        scored.sort_unstable_by(|x, y| y.0.total_cmp(&x.0));
        let (score, root, link, penalty) = scored[0];
        let runner_up = scored.get(1).map_or(f64::NEG_INFINITY, |x| x.0);
        if score >= sp.threshold
            && score > runner_up
            && score - runner_up >= sp.margin
            && size(root) >= 2
            && sp.bonus(size(root)) > 1.0
        {
            attach.push((link, penalty));
        }
    }
    // applied in rank order, each checked against the person as it stands by then (two lone
    // records attached to one person must not conflict with each other either, nor a phone
    // one of them brought weigh less against the other than when it was scored)
    attach.sort_unstable_by_key(|x| rank(x.0.a));
    let mut done = Vec::new();
    for (e, penalty) in attach {
        let (rr, rt) = (f.find(e.a), f.find(e.b));
        if rr == rt || f.cannot_conflict(rr, rt) || hard_conflict(f, ctx, rr, rt) {
            continue;
        }
        let now: f64 = profile_penalties(f, ctx, e.a, rt).iter().map(|x| x.1).sum();
        if now < penalty {
            continue;
        }
        if sources_overlap(f, ctx, rr, rt) {
            continue;
        }
        f.union(ctx, rr, rt);
        done.push(e);
    }
    done
}

struct Merged {
    forest: Forest,
    merged_by: Vec<Edge>,
    refused: RefusalCounts,
    /// Records found ambiguous (sorted); empty unless `find_ambiguous`.
    ambiguous: Vec<u32>,
    /// Every (record, member of the conflicting cluster) flagged on the way, including those
    /// whose two clusters were joined later (so not in `ambiguous`).
    candidates: Vec<(u32, u32)>,
}

/// One pass of strongest-first merging over sorted `edges`; ambiguous records are looked for
/// only when `find_ambiguous` (the second pass, over the edges left once they are detached,
/// does not look again). Reviewer must-links apply first in every pass.
fn merge(n: usize, edges: &[Edge], ctx: &ClusterContext<'_>, find_ambiguous: bool) -> Merged {
    let mut f = Forest {
        parent: (0..n as u32).collect(),
        size: vec![1; n],
        head: (0..n as u32).collect(),
        tail: (0..n as u32).collect(),
        next: vec![END; n],
        sources: if ctx.options.one_per_source {
            (0..n).map(|i| vec![ctx.sources[i]]).collect()
        } else {
            Vec::new()
        },
        // a hard field keeps value codes; a profile field, a record for each value
        hard: own_values(n, ctx.hard.len(), |i, h| {
            let c = ctx.hard[h].codes[i];
            (c != u32::MAX).then_some(c)
        }),
        profile: own_values(n, profile_fields(ctx), |i, p| {
            (ctx.profile[p].codes[i] != u32::MAX).then_some(i as u32)
        }),
        cannot: vec![Vec::new(); n],
    };
    for &(a, b) in ctx.cannot_link {
        if a != b && (a as usize) < n && (b as usize) < n {
            f.cannot[a as usize].push(b);
            f.cannot[b as usize].push(a);
        }
    }
    let mut refused = RefusalCounts::default();
    let mut merged_by = Vec::new();
    let adjacency = if ctx.options.support_bridges > 0 && ctx.scorer.is_some() {
        Adjacency::new(n, edges)
    } else {
        Adjacency::default()
    };

    // must-links first, in a stable order
    let mut must: Vec<(u32, u32)> = ctx
        .must_link
        .iter()
        .filter(|(a, b)| a != b && (*a as usize) < n && (*b as usize) < n)
        .map(|&(a, b)| {
            if ctx.rank[a as usize] < ctx.rank[b as usize] {
                (a, b)
            } else {
                (b, a)
            }
        })
        .collect();
    must.sort_unstable_by_key(|&(a, b)| (ctx.rank[a as usize], ctx.rank[b as usize]));
    for (a, b) in must {
        let (ra, rb) = (f.find(a), f.find(b));
        if ra == rb {
            continue;
        }
        if f.cannot_conflict(ra, rb) {
            refused.must_link_conflicts += 1;
            continue;
        }
        f.union(ctx, ra, rb);
    }

    // weight of the edge by which a record joined a cluster as a singleton (+inf: must-link)
    let margin = if find_ambiguous {
        ctx.options.ambiguity_margin
    } else {
        None
    };
    let mut join_w: Vec<f64> = if margin.is_some() {
        vec![f64::NAN; n]
    } else {
        Vec::new()
    };
    if margin.is_some() {
        for &(a, b) in ctx.must_link {
            for x in [a, b] {
                if (x as usize) < n {
                    join_w[x as usize] = f64::INFINITY;
                }
            }
        }
    }
    // (record, a member of the conflicting cluster it also fit)
    let mut ambiguous: Vec<(u32, u32)> = Vec::new();

    for e in edges {
        let (ra, rb) = (f.find(e.a), f.find(e.b));
        if ra == rb {
            continue;
        }
        if f.cannot_conflict(ra, rb) {
            refused.cannot_link += 1;
            continue;
        }
        if sources_overlap(&f, ctx, ra, rb) {
            refused.one_per_source += 1;
            continue;
        }
        if hard_conflict(&f, ctx, ra, rb) {
            refused.hard_identifier += 1;
            flag_ambiguous(&mut ambiguous, &join_w, margin, e);
            continue;
        }
        // a person's phones against the other's, where this link's own pair had none to
        // compare: a record that fits two persons whose phones differ about equally is as
        // ambiguous as one between two dates of birth
        let (sa, sb) = (f.size[ra as usize], f.size[rb as usize]);
        let checked = sa.max(sb) > 1 && sa.min(sb) >= ctx.options.support_min_records;
        // (weighed over the two persons only where something reads it)
        let lacks = !f.profile.is_empty() && ctx.profile.iter().any(|p| p.lacks(e.a, e.b));
        let bests = if lacks || checked {
            profile_bests(&f, ctx, ra, rb)
        } else {
            Vec::new()
        };
        let short = profile_shortfall(ctx, &bests, e.a, e.b);
        if short < 0.0 && ctx.options.threshold.is_some_and(|t| e.weight + short < t) {
            refused.profile_conflict += 1;
            flag_ambiguous(&mut ambiguous, &join_w, margin, e);
            continue;
        }
        if checked
            && !supported(&f, ra, rb, ctx, e, &bests)
            && !bridged(&mut f, &adjacency, ra, rb, ctx, &bests)
        {
            refused.weak_support += 1;
            continue;
        }
        if margin.is_some() {
            if f.size[ra as usize] == 1 && join_w[e.a as usize].is_nan() {
                join_w[e.a as usize] = e.weight + short;
            }
            if f.size[rb as usize] == 1 && join_w[e.b as usize].is_nan() {
                join_w[e.b as usize] = e.weight + short;
            }
        }
        f.union(ctx, ra, rb);
        merged_by.push(*e);
    }
    // Two clusters that conflicted when the record's second link came up may have been joined
    // later through records that bridge them (a date of birth a year off each way): the record
    // fits one person then, and is not ambiguous.
    let mut kept: Vec<u32> = ambiguous
        .iter()
        .filter(|&&(z, other)| f.find(z) != f.find(other))
        .map(|&(z, _)| z)
        .collect();
    kept.sort_unstable();
    kept.dedup();
    Merged {
        forest: f,
        merged_by,
        refused,
        candidates: ambiguous,
        ambiguous: kept,
    }
}

/// A link refused because its two clusters conflict: each end that joined its cluster by a
/// link not more than `margin` stronger fits both about equally (record, a member of the other).
fn flag_ambiguous(ambiguous: &mut Vec<(u32, u32)>, join_w: &[f64], margin: Option<f64>, e: &Edge) {
    let Some(m) = margin else { return };
    for (z, other) in [(e.a, e.b), (e.b, e.a)] {
        let j = join_w[z as usize];
        if j.is_finite() && e.weight >= j - m {
            ambiguous.push((z, other));
        }
    }
}

/// The records each record links to at or above the threshold, with the link's weight
/// (compressed rows).
#[derive(Default)]
struct Adjacency {
    offsets: Vec<u32>,
    neighbours: Vec<(u32, f32)>,
}

impl Adjacency {
    fn new(n: usize, edges: &[Edge]) -> Adjacency {
        let mut offsets = vec![0u32; n + 1];
        for e in edges {
            offsets[e.a as usize + 1] += 1;
            offsets[e.b as usize + 1] += 1;
        }
        for i in 0..n {
            offsets[i + 1] += offsets[i];
        }
        let mut fill = offsets.clone();
        let mut neighbours = vec![(0u32, 0.0f32); offsets[n] as usize];
        for e in edges {
            for (x, y) in [(e.a, e.b), (e.b, e.a)] {
                neighbours[fill[x as usize] as usize] = (y, e.weight as f32);
                fill[x as usize] += 1;
            }
        }
        Adjacency {
            offsets,
            neighbours,
        }
    }

    fn of(&self, x: u32) -> &[(u32, f32)] {
        match self.offsets.get(x as usize..x as usize + 2) {
            Some(r) => &self.neighbours[r[0] as usize..r[1] as usize],
            None => &[],
        }
    }
}

/// True when at least `support_bridges` distinct records of each of the clusters rooted at
/// `ra` and `rb` link (at or above the threshold, once the profile fields the pair could not
/// compare are weighed over the two clusters, `bests`) into the other; the smaller cluster's
/// members are walked, up to a bound, and the walk stops as soon as the answer is known.
fn bridged(
    f: &mut Forest,
    adj: &Adjacency,
    ra: u32,
    rb: u32,
    ctx: &ClusterContext<'_>,
    bests: &[Option<f64>],
) -> bool {
    const MEMBERS: usize = 256;
    let need = ctx.options.support_bridges;
    if need == 0 || adj.offsets.is_empty() {
        return false;
    }
    let (small, other) = if f.size[ra as usize] <= f.size[rb as usize] {
        (ra, rb)
    } else {
        (rb, ra)
    };
    let need = need as usize;
    let (mut here, mut there): (Vec<u32>, Vec<u32>) = (Vec::new(), Vec::new());
    for x in f.members(small, MEMBERS) {
        for &(y, w) in adj.of(x) {
            if f.find(y) != other {
                continue;
            }
            if let Some(t) = ctx.options.threshold {
                let short = profile_shortfall(ctx, bests, x, y);
                // (w is kept as f32: a link that carried the shortfall in f64 still counts)
                if short < 0.0 && f64::from(w) + short < t - 1e-4 {
                    continue;
                }
            }
            if !here.contains(&x) {
                here.push(x);
            }
            if !there.contains(&y) && there.len() < need {
                there.push(y);
            }
            if here.len() >= need && there.len() >= need {
                return true;
            }
        }
    }
    false
}

/// The support check: records of the two clusters scored across (each pair with the profile
/// fields it could not compare weighed over the clusters, `bests`): a person whose phones all
/// differ from the other's is not supported by records that gave none, nor by the link `e`'s
/// own two records.
fn supported(
    f: &Forest,
    ra: u32,
    rb: u32,
    ctx: &ClusterContext<'_>,
    e: &Edge,
    bests: &[Option<f64>],
) -> bool {
    let Some(score) = ctx.scorer else { return true };
    let o = &ctx.options;
    if o.min_mean_probability.is_none() && o.min_pair_weight.is_none() {
        return true;
    }
    let cap = o.max_support_pairs.max(1);
    let ka = (f.size[ra as usize] as usize)
        .min((cap as f64).sqrt().ceil() as usize)
        .max(1);
    let kb = (f.size[rb as usize] as usize).min((cap / ka).max(1));
    // two persons whose phones differ: the link's own two records have had their say, and
    // what is asked is whether the rest of each person agrees
    let conflict = bests.iter().any(|b| b.is_some_and(|w| w < 0.0));
    let others = |root: u32, k: usize| -> Vec<u32> {
        let m = f.members(root, k + 1);
        let rest: Vec<u32> = m
            .iter()
            .copied()
            .filter(|&x| x != e.a && x != e.b)
            .collect();
        if !conflict || rest.is_empty() {
            m.into_iter().take(k).collect()
        } else {
            rest.into_iter().take(k).collect()
        }
    };
    let (ma, mb) = (others(ra, ka), others(rb, kb));
    let mut sum = 0.0;
    let mut k = 0usize;
    for &x in &ma {
        for &y in &mb {
            let w = score(x, y) + profile_shortfall(ctx, bests, x, y);
            if let Some(min) = o.min_pair_weight {
                if w < min {
                    return false;
                }
            }
            sum += probability(w);
            k += 1;
        }
    }
    match o.min_mean_probability {
        Some(p) => sum / k.max(1) as f64 >= p,
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A context with only the ranks, sources and options; tests add the rest.
    fn context<'a>(
        rank: &'a [u32],
        sources: &'a [u32],
        options: ClusterOptions,
    ) -> ClusterContext<'a> {
        ClusterContext {
            rank,
            sources,
            hard: &[],
            must_link: &[],
            cannot_link: &[],
            scorer: None,
            near: &[],
            profile: &[],
            options,
        }
    }

    fn partition(labels: &[u32], keys: &[u32]) -> Vec<Vec<u32>> {
        let mut m: std::collections::BTreeMap<u32, Vec<u32>> = Default::default();
        for (i, &l) in labels.iter().enumerate() {
            m.entry(l).or_default().push(keys[i]);
        }
        let mut v: Vec<Vec<u32>> = m
            .into_values()
            .map(|mut x| {
                x.sort();
                x
            })
            .collect();
        v.sort();
        v
    }

    fn run(
        n: usize,
        keys: &[u32],
        src: &[u32],
        edges: &[Edge],
        near: &[Edge],
        opts: ClusterOptions,
        cannot: &[(u32, u32)],
    ) -> Vec<Vec<u32>> {
        let rank: Vec<u32> = keys.to_vec();
        let scorer = |a: u32, b: u32| -> f64 {
            // symmetric, key-based pseudo score
            let (x, y) = (
                keys[a as usize].min(keys[b as usize]),
                keys[a as usize].max(keys[b as usize]),
            );
            ((x * 7 + y * 13) % 11) as f64 - 4.0
        };
        // a hard identifier that follows the record (its key), so that merges are refused and
        // records found ambiguous whatever the order: none, or a "year" within one of another
        let codes: Vec<u32> = keys
            .iter()
            .map(|&k| [u32::MAX, 1, 2, 3, 7][(k % 5) as usize])
            .collect();
        let hard = [HardField {
            name: "year".into(),
            codes,
            compat: HardCompat::Custom(Box::new(|a, b| a.abs_diff(b) <= 1)),
            precise: None,
        }];
        // a profile field that follows the key too: none, or one of three phones
        let phones: Vec<u32> = keys
            .iter()
            .map(|&k| [u32::MAX, 1, 2, 3][(k / 2 % 4) as usize])
            .collect();
        let phone_weight = same_phone(&phones);
        let profile = [ProfileField {
            codes: &phones,
            weight: &phone_weight,
        }];
        let ctx = ClusterContext {
            hard: &hard,
            cannot_link: cannot,
            scorer: Some(&scorer),
            near,
            profile: if opts.threshold.is_some() {
                &profile
            } else {
                &[]
            },
            ..context(&rank, src, opts)
        };
        partition(&cluster(n, edges, &ctx).labels, keys)
    }

    proptest! {
        #[test]
        fn order_independent(
            n in 2usize..30,
            raw in proptest::collection::vec((0u32..30, 0u32..30, 0u8..6), 0..80),
            raw_near in proptest::collection::vec((0u32..30, 0u32..30, 0u8..4), 0..40),
            perm_seed in 0u64..1000,
            one in proptest::bool::ANY,
            support in proptest::bool::ANY,
            support_min_records in 0u32..4,
        ) {
            let keys: Vec<u32> = (0..n as u32).collect();
            let src: Vec<u32> = (0..n as u32).map(|k| k % 3).collect();
            let edges: Vec<Edge> = raw.iter()
                .filter(|(a, b, _)| (*a as usize) < n && (*b as usize) < n && a != b)
                .map(|&(a, b, w)| Edge { a, b, weight: w as f64 }) // many ties on purpose
                .collect();
            let near: Vec<Edge> = raw_near.iter()
                .filter(|(a, b, _)| (*a as usize) < n && (*b as usize) < n && a != b)
                .map(|&(a, b, w)| Edge { a, b, weight: -(w as f64) })
                .collect();
            let opts = ClusterOptions {
                one_per_source: one,
                min_mean_probability: support.then_some(0.4),
                support_min_records,
                support_bridges: if support { 2 } else { 0 },
                min_pair_weight: None,
                max_support_pairs: 16,
                ambiguity_margin: support.then_some(2.0),
                size_prior: support.then_some(SizePrior {
                    matches_per_record: 1.0,
                    max_bits: 3.0,
                    threshold: 0.0,
                    margin: 0.5,
                }),
                threshold: support.then_some(1.0),
            };
            let cannot = [(0u32, 1u32)];
            let base = run(n, &keys, &src, &edges, &near, opts.clone(), &cannot);
            // shuffle record positions: position p holds key perm[p]
            let mut perm: Vec<u32> = keys.clone();
            let mut s = perm_seed.wrapping_mul(6364136223846793005).wrapping_add(1);
            for i in (1..n).rev() {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let j = (s >> 33) as usize % (i + 1);
                perm.swap(i, j);
            }
            let mut pos_of_key = vec![0u32; n];
            for (p, &k) in perm.iter().enumerate() { pos_of_key[k as usize] = p as u32; }
            let src2: Vec<u32> = perm.iter().map(|&k| src[k as usize]).collect();
            let mut edges2: Vec<Edge> = edges.iter().map(|e| Edge { a: pos_of_key[e.a as usize], b: pos_of_key[e.b as usize], weight: e.weight }).collect();
            edges2.reverse();
            let mut near2: Vec<Edge> = near.iter().map(|e| Edge { a: pos_of_key[e.b as usize], b: pos_of_key[e.a as usize], weight: e.weight }).collect();
            near2.reverse();
            let cannot2 = [(pos_of_key[0], pos_of_key[1])];
            let other = run(n, &perm, &src2, &edges2, &near2, opts, &cannot2);
            prop_assert_eq!(base, other);
        }
    }

    const NO_YEAR: u32 = u32::MAX;

    /// Records in rank order, one source, with a birth-year hard identifier (`NO_YEAR`:
    /// unknown; years at most `within` apart are compatible), clustered with `margin`.
    fn by_birth_year(
        years: &[u32],
        within: u32,
        edges: &[Edge],
        margin: Option<f64>,
    ) -> Clustering {
        let n = years.len();
        let hard = [HardField {
            name: "dob".into(),
            codes: years.to_vec(),
            compat: HardCompat::Custom(Box::new(move |a, b| a.abs_diff(b) <= within)),
            precise: None,
        }];
        let rank: Vec<u32> = (0..n as u32).collect();
        let sources = vec![0; n];
        let ctx = ClusterContext {
            hard: &hard,
            ..context(
                &rank,
                &sources,
                ClusterOptions {
                    ambiguity_margin: margin,
                    ..Default::default()
                },
            )
        };
        cluster(n, edges, &ctx)
    }

    /// Records with phones (`NONE`: no phone), linked by `edges`, clustered with the phone as
    /// a profile field (same phone +3, another −5) and a threshold of 2.
    fn with_phones(
        phones: &[u32],
        edges: &[Edge],
        near: &[Edge],
        size_prior: Option<SizePrior>,
    ) -> Clustering {
        with_phones_and(phones, edges, near, size_prior, None)
    }

    /// A profile weight for phone codes: +3 for the same phone, −5 for another.
    fn same_phone(phones: &[u32]) -> impl Fn(u32, u32) -> f64 + Sync + '_ {
        move |a, b| {
            if phones[a as usize] == phones[b as usize] {
                3.0
            } else {
                -5.0
            }
        }
    }

    /// As [`with_phones`], finding ambiguous records within `margin`.
    fn with_phones_and(
        phones: &[u32],
        edges: &[Edge],
        near: &[Edge],
        size_prior: Option<SizePrior>,
        margin: Option<f64>,
    ) -> Clustering {
        let n = phones.len();
        let rank: Vec<u32> = (0..n as u32).collect();
        let sources = vec![0; n];
        let weight = same_phone(phones);
        let profile = [ProfileField {
            codes: phones,
            weight: &weight,
        }];
        // a member without a phone scores 2.5 against anyone (the names agree)
        let scorer = |_: u32, _: u32| 2.5;
        let ctx = ClusterContext {
            scorer: Some(&scorer),
            near,
            profile: &profile,
            ..context(
                &rank,
                &sources,
                ClusterOptions {
                    threshold: Some(2.0),
                    size_prior,
                    ambiguity_margin: margin,
                    ..Default::default()
                },
            )
        };
        cluster(n, edges, &ctx)
    }

    const NONE: u32 = u32::MAX;

    #[test]
    fn a_phone_the_person_never_gave_weighs_against_a_link_without_one() {
        let e = |a, b, w| Edge { a, b, weight: w };
        // 0 and 1 share phone 7; 2 has no phone; 3 calls with phone 9 and links only to 2
        let edges = |w| [e(0, 1, 9.0), e(1, 2, 8.0), e(2, 3, w)];
        let c = with_phones(&[7, 7, NONE, 9], &edges(4.0), &[], None);
        assert_eq!(
            c.labels,
            vec![0, 0, 0, 1],
            "phone 9 joined the person of phone 7"
        );
        assert_eq!(c.refused.profile_conflict, 1);
        // the same phone, or none, joins; so does a link strong enough to carry the conflict
        for (phones, w) in [
            ([7, 7, NONE, 7], 4.0),
            ([7, 7, NONE, NONE], 4.0),
            ([7, 7, NONE, 9], 7.5),
        ] {
            let c = with_phones(&phones, &edges(w), &[], None);
            assert_eq!(c.labels, vec![0, 0, 0, 0], "{phones:?} at {w}");
            assert_eq!(c.refused.profile_conflict, 0);
        }
        // a person with two phones takes either
        let c = with_phones(&[7, 9, NONE, 9], &edges(4.0), &[], None);
        assert_eq!(c.labels, vec![0, 0, 0, 0]);
        // a link between two records that both have phones already weighed them
        let c = with_phones(&[7, 7, NONE, 9], &[e(0, 1, 9.0), e(1, 3, 4.0)], &[], None);
        assert_eq!(c.labels, vec![0, 0, 1, 0]);
    }

    #[test]
    fn a_record_between_two_persons_whose_phones_differ_is_ambiguous() {
        let e = |a, b, w| Edge { a, b, weight: w };
        // persons {0, 1} (phone 7) and {2, 3} (phone 9); 4 has no phone and links to both
        let edges = [e(0, 1, 9.0), e(2, 3, 9.0), e(4, 1, 5.0), e(4, 3, 4.8)];
        let phones = [7, 7, 9, 9, NONE];
        let plain = with_phones(&phones, &edges, &[], None);
        assert_eq!(plain.labels, vec![0, 0, 1, 1, 0]);
        assert_eq!(plain.refused.profile_conflict, 1);
        let careful = with_phones_and(&phones, &edges, &[], None, Some(1.0));
        assert_eq!(
            careful.labels,
            vec![0, 0, 1, 1, 2],
            "left alone: it fits both"
        );
        assert_eq!(careful.refused.ambiguous_records, 1);
    }

    #[test]
    fn the_size_prior_weighs_a_phone_the_person_never_gave() {
        let e = |a, b, w| Edge { a, b, weight: w };
        // a person of six (phone 7 on two), and a lone record whose only link is below the
        // threshold (near); members score 2.5 against it
        let edges: Vec<Edge> = (1..6).map(|k| e(0, k, 9.0)).collect();
        let near = [e(5, 6, 1.0)];
        let sp = Some(SizePrior {
            matches_per_record: 1.0,
            max_bits: 3.0,
            threshold: 2.0,
            margin: 1.0,
        });
        let with_last = |last: u32| {
            let mut p = vec![7, 7, NONE, NONE, NONE, NONE];
            p.push(last);
            with_phones(&p, &edges, &near, sp)
        };
        let none = with_last(NONE);
        assert_eq!(
            none.labels[6], none.labels[0],
            "no phone: the prior attaches it"
        );
        let same = with_last(7);
        assert_eq!(same.labels[6], same.labels[0], "the person's phone");
        // another phone: 2.5 − 5 + the size bonus is below the threshold
        let other = with_last(9);
        assert_ne!(
            other.labels[6], other.labels[0],
            "a phone the person never gave"
        );
        // a person with no phone takes one lone record with a phone, and then not another
        // whose phone differs from the first's
        let near = [e(5, 6, 1.0), e(4, 7, 1.0)];
        let mut phones = vec![NONE; 6];
        phones.extend([8, 9]);
        let c = with_phones(&phones, &edges, &near, sp);
        assert_eq!(c.labels[6], c.labels[0]);
        assert_ne!(
            c.labels[7], c.labels[0],
            "two callers' phones on one person"
        );
        phones[7] = 8;
        let c = with_phones(&phones, &edges, &near, sp);
        assert_eq!(c.labels[7], c.labels[0], "the same phone twice");
    }

    #[test]
    fn ambiguous_record_is_left_alone() {
        // record 0 (name only) links to 1 (born 1990) and 2 (born 1960), which conflict
        let e = |a, b, w| Edge { a, b, weight: w };
        let edges = [e(0, 1, 5.0), e(0, 2, 4.5)];
        let run = |margin| by_birth_year(&[NO_YEAR, 1990, 1960], 2, &edges, margin);
        let plain = run(None);
        assert_eq!(plain.labels, vec![0, 0, 1]);
        assert_eq!(plain.refused.hard_identifier, 1);
        let careful = run(Some(1.0));
        assert_eq!(careful.labels, vec![0, 1, 2]);
        assert_eq!(careful.refused.ambiguous_records, 1);
        // a clear winner is kept
        let far = run(Some(0.2));
        assert_eq!(far.labels, vec![0, 0, 1]);
    }

    #[test]
    fn detaching_an_ambiguous_record_keeps_the_links_of_the_others() {
        // 0 (name only) fits 1 (born 1990) and 2 (born 1960); 3 joined 1's person through 0 but
        // also has its own, weaker link to 1
        let e = |a, b, w| Edge { a, b, weight: w };
        let edges = [e(0, 1, 5.0), e(0, 2, 4.8), e(0, 3, 4.5), e(1, 3, 4.0)];
        let c = by_birth_year(&[NO_YEAR, 1990, 1960, NO_YEAR], 2, &edges, Some(1.0));
        assert_eq!(c.refused.ambiguous_records, 1);
        assert_eq!(c.labels[1], c.labels[3], "3 keeps its own link to 1");
        assert_ne!(c.labels[0], c.labels[1]);
        assert_ne!(c.labels[0], c.labels[2]);
    }

    #[test]
    fn a_record_between_clusters_joined_later_is_not_ambiguous() {
        // 0 (name only) fits 1 (born 1946) and 2 (born 1948), which conflict until 3 (born
        // 1947, a year from each) joins them: one person, and 0 is one of its records
        let e = |a, b, w| Edge { a, b, weight: w };
        let edges = [e(0, 1, 5.0), e(0, 2, 4.8), e(3, 1, 4.0), e(3, 2, 4.0)];
        let c = by_birth_year(&[NO_YEAR, 1946, 1948, 1947], 1, &edges, Some(1.0));
        assert_eq!(c.refused.ambiguous_records, 0);
        assert_eq!(c.labels, vec![0, 0, 0, 0]);
    }

    #[test]
    fn a_bridge_that_turns_out_ambiguous_leaves_the_record_it_bridged_ambiguous_too() {
        // 0 = z (name only) fits 1 (born 1946) and 2 (born 1948); 3 = y (born 1947) bridges
        // them but also fits 4 (born 1980), so y is ambiguous and its links go; without them
        // 1 and 2 conflict again, and z is ambiguous after all
        let e = |a, b, w| Edge { a, b, weight: w };
        let edges = [
            e(0, 1, 5.0),
            e(0, 2, 4.8),
            e(3, 1, 4.5),
            e(3, 2, 4.4),
            e(3, 4, 4.3),
        ];
        let c = by_birth_year(&[NO_YEAR, 1946, 1948, 1947, 1980], 1, &edges, Some(1.0));
        assert_eq!(c.refused.ambiguous_records, 2);
        assert_eq!(c.labels, vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn a_year_alone_does_not_bridge_two_full_dates() {
        // 0: born 1983-07-31; 1: "1982" (a year alone, tolerated by 0 and by 2); 2: born
        // 1981-02-02. 1 joins 0; the person {0, 1} then stands by its full date against 2's.
        let e = |a, b, w| Edge { a, b, weight: w };
        let edges = [e(0, 1, 10.0), e(1, 2, 9.0)];
        let compat = |a: u32, b: u32| matches!((a.min(b), a.max(b)), (0, 1) | (1, 2));
        let run = |precise: Option<Vec<bool>>| {
            let hard = [HardField {
                name: "dob".into(),
                codes: vec![0, 1, 2],
                compat: HardCompat::Custom(Box::new(compat)),
                precise,
            }];
            let ctx = ClusterContext {
                hard: &hard,
                ..context(&[0, 1, 2], &[0; 3], ClusterOptions::default())
            };
            cluster(3, &edges, &ctx)
        };
        let c = run(Some(vec![true, false, true]));
        assert_eq!(c.labels, vec![0, 0, 1]);
        assert_eq!(c.refused.hard_identifier, 1);
        // without precision every value counts, and the year bridges them
        assert_eq!(run(None).labels, vec![0, 0, 0]);
    }

    /// The size prior of the tests: an average record matches 2 others (so ten records add
    /// log2(5) bits), at most 4 bits, threshold 2.
    fn size_prior_options(margin: f64) -> ClusterOptions {
        ClusterOptions {
            size_prior: Some(SizePrior {
                matches_per_record: 2.0,
                max_bits: 4.0,
                threshold: 2.0,
                margin,
            }),
            ..Default::default()
        }
    }

    /// The size prior: a lone record whose links all fall below the threshold joins a person
    /// with many records when its typical link there, plus the size's bits, clears it; not a
    /// small person, not when two persons are close, not across a hard identifier.
    #[test]
    fn a_lone_record_joins_a_frequent_person() {
        // 0..=9: one person of ten records (strong links in a chain); 10..=11: a person of two;
        // 12: the lone record under test
        let n = 13;
        let e = |a, b, w| Edge { a, b, weight: w };
        let mut strong: Vec<Edge> = (0..9).map(|i| e(i, i + 1, 20.0)).collect();
        strong.push(e(10, 11, 20.0));
        let rank: Vec<u32> = (0..n as u32).collect();
        // the record scores 0.5 against every member of the big person, 1.5 against the small
        let scorer = |a: u32, b: u32| -> f64 {
            let other = if a == 12 { b } else { a };
            if other < 10 {
                0.5
            } else {
                1.5
            }
        };
        let dob: Vec<u32> = (0..n as u32)
            .map(|i| if i < 10 { 1980 } else { u32::MAX })
            .collect();
        let run = |near: &[Edge], record_dob: u32, margin: f64| {
            let mut codes = dob.clone();
            codes[12] = record_dob;
            let hard = [HardField {
                name: "dob".into(),
                codes,
                compat: HardCompat::Exact,
                precise: None,
            }];
            let ctx = ClusterContext {
                hard: &hard,
                scorer: Some(&scorer),
                near,
                ..context(&rank, &[0; 13], size_prior_options(margin))
            };
            let c = cluster(n, &strong, &ctx);
            (
                c.labels[12] == c.labels[0],
                c.labels[12] == c.labels[10],
                c.refused.attached_by_size,
            )
        };
        // 0.5 + log2(10 / 2) = 2.82 clears 2.0; the small person: 1.5 + log2(2 / 2) = 1.5
        let both = [e(12, 3, 1.0), e(12, 11, 1.5)];
        assert_eq!(run(&both, u32::MAX, 1.0), (true, false, 1));
        // only the small person in reach: nothing
        assert_eq!(run(&[e(12, 11, 1.5)], u32::MAX, 1.0), (false, false, 0));
        // the runner-up within the margin: left alone
        assert_eq!(run(&both, u32::MAX, 1.5), (false, false, 0));
        // a conflicting date of birth: left alone
        assert_eq!(run(&both, 1990, 1.0), (false, false, 0));
        // a record some strong link reached is the clustering's to decide
        let mut with_strong = strong.clone();
        with_strong.push(e(12, 11, 3.0));
        let ctx_hard: [HardField; 0] = [];
        let ctx = ClusterContext {
            hard: &ctx_hard,
            scorer: Some(&scorer),
            near: &both,
            ..context(&rank, &[0; 13], size_prior_options(1.0))
        };
        let c = cluster(n, &with_strong, &ctx);
        assert_eq!(c.labels[12], c.labels[11]);
        assert_eq!(c.refused.attached_by_size, 0);
    }

    /// A `dob` hard identifier: records 0..=9 born 1980, 10..=`last_1960` born 1960, the rest
    /// unknown.
    fn born_1980_and_1960(n: usize, last_1960: u32) -> [HardField; 1] {
        let codes: Vec<u32> = (0..n as u32)
            .map(|i| match i {
                0..=9 => 1980,
                _ if i <= last_1960 => 1960,
                _ => u32::MAX,
            })
            .collect();
        [HardField {
            name: "dob".into(),
            codes,
            compat: HardCompat::Exact,
            precise: None,
        }]
    }

    /// A record that fits two persons equally (ambiguous, so detached) goes to the one with
    /// many records when the size prior is on, and stays alone when the two are the same size.
    #[test]
    fn an_ambiguous_record_goes_to_the_frequent_person() {
        // 0..=9: a person of ten records born 1980; 10..=11: a person of two born 1960 (or,
        // in the second run, 10..=19 a second person of ten); 20: the name-only record
        let n = 21;
        let e = |a, b, w| Edge { a, b, weight: w };
        let rank: Vec<u32> = (0..n as u32).collect();
        let scorer = |_: u32, _: u32| 5.0;
        let hard = born_1980_and_1960(n, 19);
        let run = |second: u32| {
            let mut edges: Vec<Edge> = (0..9).map(|i| e(i, i + 1, 20.0)).collect();
            edges.extend((10..10 + second - 1).map(|i| e(i, i + 1, 20.0)));
            edges.push(e(20, 4, 5.0));
            edges.push(e(20, 11, 5.0));
            let ctx = ClusterContext {
                hard: &hard,
                scorer: Some(&scorer),
                ..context(
                    &rank,
                    &[0; 21],
                    ClusterOptions {
                        ambiguity_margin: Some(1.0),
                        ..size_prior_options(1.0)
                    },
                )
            };
            cluster(n, &edges, &ctx)
        };
        // 5 + log2(10 / 2) against 5 + log2(2 / 2): the person of ten
        let c = run(2);
        assert_eq!(c.refused.ambiguous_records, 1);
        assert_eq!(c.labels[20], c.labels[0]);
        assert_eq!(c.refused.attached_by_size, 1);
        // two persons of ten: nothing tells them apart
        let c = run(10);
        assert_ne!(c.labels[20], c.labels[0]);
        assert_ne!(c.labels[20], c.labels[10]);
        assert_eq!(c.refused.attached_by_size, 0);
    }

    /// A record whose only strong link was to an ambiguous record is left alone when that one
    /// is detached; it goes to the size prior like any lone record, and the lone ambiguous
    /// record is no candidate for it (it fits that record best, yet that is no person).
    #[test]
    fn a_record_linked_only_to_an_ambiguous_one_goes_to_the_size_prior() {
        // 0..=9: a person of ten born 1980; 10..=11: a person of two born 1960; 20: name-only,
        // fits both (ambiguous); 21: linked strongly to 20 only, and below the threshold to 3
        let n = 22;
        let e = |a, b, w| Edge { a, b, weight: w };
        let rank: Vec<u32> = (0..n as u32).collect();
        let hard = born_1980_and_1960(n, 11);
        let mut edges: Vec<Edge> = (0..9).map(|i| e(i, i + 1, 20.0)).collect();
        edges.extend([
            e(10, 11, 20.0),
            e(20, 4, 5.0),
            e(20, 11, 5.0),
            e(21, 20, 4.5),
        ]);
        let near = [e(21, 3, 1.0)];
        // scored directly, 21 fits 20 far better than anyone
        let scorer = |a: u32, b: u32| {
            if a.min(b) == 20 && a.max(b) == 21 {
                12.0
            } else {
                5.0
            }
        };
        let ctx = ClusterContext {
            hard: &hard,
            scorer: Some(&scorer),
            near: &near,
            ..context(
                &rank,
                &[0; 22],
                ClusterOptions {
                    ambiguity_margin: Some(1.0),
                    ..size_prior_options(1.0)
                },
            )
        };
        let c = cluster(n, &edges, &ctx);
        assert_eq!(c.refused.ambiguous_records, 1);
        assert_eq!(c.labels[21], c.labels[0]);
        // 20's own best fit is 21, a lone record at the time (the pass decides once): alone
        assert_ne!(c.labels[20], c.labels[0]);
        assert_eq!(c.refused.attached_by_size, 1);
    }

    /// Two lone records that each fit a frequent person but conflict with each other: only the
    /// first (by rank) is attached, and the link that attached it is reported.
    #[test]
    fn lone_records_attached_to_one_person_do_not_conflict() {
        let n = 12;
        let e = |a, b, w| Edge { a, b, weight: w };
        let strong: Vec<Edge> = (0..9).map(|i| e(i, i + 1, 20.0)).collect();
        let rank: Vec<u32> = (0..n as u32).collect();
        let scorer = |_: u32, _: u32| 0.5;
        // the person has no date of birth; the two lone records have different ones
        let mut codes = vec![u32::MAX; n];
        codes[10] = 1990;
        codes[11] = 1960;
        let hard = [HardField {
            name: "dob".into(),
            codes,
            compat: HardCompat::Exact,
            precise: None,
        }];
        let near = [e(10, 4, 1.0), e(11, 6, 1.0)];
        let ctx = ClusterContext {
            hard: &hard,
            scorer: Some(&scorer),
            near: &near,
            ..context(&rank, &[0; 12], size_prior_options(1.0))
        };
        let c = cluster(n, &strong, &ctx);
        assert_eq!(c.labels[10], c.labels[0]);
        assert_ne!(c.labels[11], c.labels[0]);
        assert_eq!(c.attached, vec![e(10, 4, 1.0)]);
        assert_eq!(c.refused.attached_by_size, 1);
    }

    /// Two persons {0,1,2,3} and {4,5,6,7}, each held by strong links, and `across` (edges to
    /// them from records 8.. too), clustered with `options` over `scorer` and `profile`.
    fn two_formed_persons(
        n: usize,
        across: &[Edge],
        scorer: &(dyn Fn(u32, u32) -> f64 + Sync),
        profile: &[ProfileField<'_>],
        options: ClusterOptions,
    ) -> Clustering {
        let e = |a, b, w| Edge { a, b, weight: w };
        let mut edges = vec![
            e(0, 1, 20.0),
            e(1, 2, 20.0),
            e(2, 3, 20.0),
            e(4, 5, 18.0),
            e(5, 6, 18.0),
            e(6, 7, 18.0),
        ];
        edges.extend_from_slice(across);
        let rank: Vec<u32> = (0..n as u32).collect();
        let sources = vec![0; n];
        let ctx = ClusterContext {
            scorer: Some(scorer),
            profile,
            ..context(
                &rank,
                &sources,
                ClusterOptions {
                    max_support_pairs: 64,
                    ..options
                },
            )
        };
        cluster(n, &edges, &ctx)
    }

    /// Cross pairs score `linked` on the pairs given, 18 within a person, -12 across.
    fn cross_scorer(linked: &'static [(u32, u32)]) -> impl Fn(u32, u32) -> f64 + Sync {
        move |a: u32, b: u32| {
            let group = |x: u32| x.min(8) / 4;
            if linked.contains(&(a.min(b), a.max(b))) {
                16.0
            } else if group(a) == group(b) {
                18.0
            } else {
                -12.0
            }
        }
    }

    /// One strong link between two persons already formed does not join them when their
    /// records, scored across, are clearly different people; persons smaller than
    /// `support_min_records` are not checked.
    #[test]
    fn a_single_bridge_does_not_join_two_formed_persons() {
        // 3-4 is the bridge (a namesake record); 8 joins {4,5,6,7} through one link, though
        // it scores low against the others
        let e = |a, b, w| Edge { a, b, weight: w };
        let across = [e(3, 4, 16.0), e(8, 4, 15.0)];
        let scorer = cross_scorer(&[(3, 4), (4, 8)]);
        let run_with = |support_min_records: u32, min_mean: f64| {
            let options = ClusterOptions {
                min_mean_probability: Some(min_mean),
                support_min_records,
                ..Default::default()
            };
            two_formed_persons(9, &across, &scorer, &[], options)
        };
        let checked = run_with(2, 0.1);
        assert_eq!(checked.labels, vec![0, 0, 0, 0, 1, 1, 1, 1, 1]);
        assert_eq!(checked.refused.weak_support, 1);
        // a lone record is judged by its own link: 8 fits one of four (mean 0.25), and joins
        // under a stricter mean unless lone records are checked too
        assert_eq!(run_with(2, 0.3).labels, checked.labels);
        let lone_checked = run_with(1, 0.3);
        assert_eq!(lone_checked.labels, vec![0, 0, 0, 0, 1, 1, 1, 1, 2]);
        assert_eq!(lone_checked.refused.weak_support, 2);
        // persons of four are below the bar: the bridge joins them
        let unchecked = run_with(5, 0.1);
        assert_eq!(unchecked.labels, vec![0; 9]);
        assert_eq!(unchecked.refused.weak_support, 0);
    }

    /// Two links across from two records on each side are not a lone bridge: the merge the
    /// mean refuses goes ahead with `support_bridges` = 2, not with 3, nor on one link.
    #[test]
    fn several_links_across_are_not_one_bridge() {
        let e = |a, b, w| Edge { a, b, weight: w };
        let scorer = cross_scorer(&[(3, 4), (2, 5)]);
        let run_with = |across: &[Edge], support_bridges: u32| {
            let options = ClusterOptions {
                min_mean_probability: Some(0.3),
                support_min_records: 2,
                support_bridges,
                ..Default::default()
            };
            two_formed_persons(8, across, &scorer, &[], options).labels
        };
        let two = [e(3, 4, 16.0), e(2, 5, 15.5)];
        let apart = vec![0, 0, 0, 0, 1, 1, 1, 1];
        assert_eq!(run_with(&two, 2), vec![0; 8]);
        assert_eq!(run_with(&two, 0), apart);
        assert_eq!(run_with(&two, 3), apart);
        assert_eq!(run_with(&two[..1], 2), apart);
    }

    /// [`two_formed_persons`] with phones (a profile field, [`same_phone`]): cross pairs score
    /// `names`, plus the phones' weight where both records hold one; support as the built-in
    /// spec (bridges 2) with `min_mean`, threshold 2.
    fn two_persons_with_phones(
        phones: &[u32],
        across: &[Edge],
        names: impl Fn(u32, u32) -> f64 + Sync,
        min_mean: f64,
    ) -> Clustering {
        let weight = same_phone(phones);
        let profile = [ProfileField {
            codes: phones,
            weight: &weight,
        }];
        let scorer = |a: u32, b: u32| {
            let n = if a / 4 == b / 4 { 18.0 } else { names(a, b) };
            if phones[a as usize] != NONE && phones[b as usize] != NONE {
                n + weight(a, b)
            } else {
                n
            }
        };
        let options = ClusterOptions {
            min_mean_probability: Some(min_mean),
            support_min_records: 2,
            support_bridges: 2,
            threshold: Some(2.0),
            ..Default::default()
        };
        two_formed_persons(8, across, &scorer, &profile, options)
    }

    /// The support check and the links across weigh the two persons' phones where a pair had
    /// none to compare: records that gave no phone do not make two persons whose phones all
    /// differ look alike, and a second link across that the phones take below the threshold
    /// is not a second bridge.
    #[test]
    fn support_weighs_the_persons_phones() {
        let e = |a, b, w| Edge { a, b, weight: w };
        // 3-4 carries the phones' conflict (16 - 5); 2-5 does not (6 - 5 < 2); the names agree
        // across (2.5)
        let across = [e(3, 4, 16.0), e(2, 5, 6.0)];
        let run_with = |phones: &[u32]| two_persons_with_phones(phones, &across, |_, _| 2.5, 0.3);
        let c = run_with(&[7, 7, NONE, NONE, NONE, NONE, 9, 9]);
        assert_eq!(c.labels, vec![0, 0, 0, 0, 1, 1, 1, 1]);
        assert_eq!(c.refused.weak_support, 1);
        assert_eq!(c.refused.profile_conflict, 1);
        // one phone, or none on one side: one person
        for phones in [
            [7, 7, NONE, NONE, NONE, NONE, 7, 7],
            [7, 7, NONE, NONE, NONE, NONE, NONE, NONE],
        ] {
            let c = run_with(&phones);
            assert_eq!(c.labels, vec![0; 8], "{phones:?}");
            assert_eq!(c.refused.weak_support, 0);
        }
    }

    /// "SANCHEZ, RICARDO R" with one man's phone, linked to the same name without a phone in
    /// another man's records: when the two persons' phones differ, the support check asks the
    /// rest of each person, not the link's own two records.
    #[test]
    fn a_bridge_between_persons_whose_phones_differ_needs_the_rest() {
        let e = |a, b, w| Edge { a, b, weight: w };
        // record 3 has the name the other person goes by (16); the rest of the two persons look
        // alike by little (-3)
        let names = |a: u32, b: u32| if a.min(b) == 3 { 16.0 } else { -3.0 };
        let run_with =
            |phones: &[u32]| two_persons_with_phones(phones, &[e(3, 4, 16.0)], names, 0.2);
        let c = run_with(&[7, 7, 7, 7, NONE, 9, 9, 9]);
        assert_eq!(c.labels, vec![0, 0, 0, 0, 1, 1, 1, 1]);
        assert_eq!(c.refused.weak_support, 1);
        // the other person gave no phone: nothing says two, and the bridge's own pairs count
        let c = run_with(&[7, 7, 7, 7, NONE, NONE, NONE, NONE]);
        assert_eq!(c.labels, vec![0; 8]);
        assert_eq!(c.refused.weak_support, 0);
    }

    #[test]
    fn refusals() {
        let keys: Vec<u32> = (0..4).collect();
        let e = |a, b, w| Edge { a, b, weight: w };
        // 0-1 strong, 1-2 weaker, 2-3; one per source with sources 0,1,0,1
        let opts = ClusterOptions {
            one_per_source: true,
            ..Default::default()
        };
        let p = run(
            4,
            &keys,
            &[0, 1, 0, 1],
            &[e(0, 1, 9.0), e(1, 2, 5.0), e(2, 3, 4.0)],
            &[],
            opts,
            &[],
        );
        assert_eq!(p, vec![vec![0, 1], vec![2, 3]]);
        let p = run(
            4,
            &keys,
            &[0, 0, 0, 0],
            &[e(0, 2, 9.0), e(2, 1, 5.0)],
            &[],
            ClusterOptions::default(),
            &[(0, 1)],
        );
        assert_eq!(p, vec![vec![0, 2], vec![1], vec![3]]);
    }
}
