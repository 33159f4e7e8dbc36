//! Clustering that resists chaining.
//!
//! Edges (scored pairs above the threshold) are taken strongest first and merged with
//! union-find, but a merge is refused when the two clusters contradict each other:
//! a reviewer's cannot-link, conflicting hard identifiers, two records of one source when
//! `one_per_source` is on, or too little support between the clusters (their cross pairs scored
//! directly, not only the blocked ones). Reviewer must-links are applied first and override the
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
}

impl HardField {
    fn compatible(&self, x: u32, y: u32) -> bool {
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
}

#[derive(Debug, Clone)]
pub struct Clustering {
    /// Cluster label per record, numbered by the lowest-ranked member (0, 1, 2, ...).
    pub labels: Vec<u32>,
    /// Edges (indices into the sorted edge list) that merged two clusters.
    pub merged_by: Vec<Edge>,
    pub refused: RefusalCounts,
}

const MAX_HARD_VALUES: usize = 16;

struct Node {
    members: Vec<u32>,
    sources: Vec<u32>,
    hard: Vec<Vec<u32>>,
    cannot: Vec<u32>,
}

pub fn sort_edges(edges: &mut [Edge], rank: &[u32]) {
    edges.sort_unstable_by(|x, y| {
        let kx = (rank[x.a as usize].min(rank[x.b as usize]), rank[x.a as usize].max(rank[x.b as usize]));
        let ky = (rank[y.a as usize].min(rank[y.b as usize]), rank[y.a as usize].max(rank[y.b as usize]));
        y.weight.total_cmp(&x.weight).then(kx.cmp(&ky))
    });
}

pub fn cluster(n: usize, edges: &[Edge], ctx: &ClusterContext<'_>) -> Clustering {
    let mut edges: Vec<Edge> = edges.to_vec();
    sort_edges(&mut edges, ctx.rank);
    let mut parent: Vec<u32> = (0..n as u32).collect();
    let mut nodes: Vec<Option<Node>> = (0..n)
        .map(|i| {
            Some(Node {
                members: vec![i as u32],
                sources: if ctx.options.one_per_source { vec![ctx.sources[i]] } else { Vec::new() },
                hard: ctx
                    .hard
                    .iter()
                    .map(|h| if h.codes[i] == u32::MAX { Vec::new() } else { vec![h.codes[i]] })
                    .collect(),
                cannot: Vec::new(),
            })
        })
        .collect();
    for &(a, b) in ctx.cannot_link {
        if a != b && (a as usize) < n && (b as usize) < n {
            nodes[a as usize].as_mut().expect("root").cannot.push(b);
            nodes[b as usize].as_mut().expect("root").cannot.push(a);
        }
    }
    fn find(parent: &mut [u32], mut x: u32) -> u32 {
        while parent[x as usize] != x {
            let p = parent[x as usize];
            parent[x as usize] = parent[p as usize];
            x = p;
        }
        x
    }
    let mut refused = RefusalCounts::default();
    let mut merged_by = Vec::new();

    // must-links first, in a stable order
    let mut must: Vec<(u32, u32)> = ctx
        .must_link
        .iter()
        .filter(|(a, b)| a != b && (*a as usize) < n && (*b as usize) < n)
        .map(|&(a, b)| {
            let (x, y) = if ctx.rank[a as usize] < ctx.rank[b as usize] { (a, b) } else { (b, a) };
            (x, y)
        })
        .collect();
    must.sort_unstable_by_key(|&(a, b)| (ctx.rank[a as usize], ctx.rank[b as usize]));
    for (a, b) in must {
        let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
        if ra == rb {
            continue;
        }
        if cannot_conflict(&mut parent, &nodes, ra, rb) {
            refused.must_link_conflicts += 1;
            continue;
        }
        union(&mut parent, &mut nodes, ctx, ra, rb);
    }

    for e in &edges {
        let (ra, rb) = (find(&mut parent, e.a), find(&mut parent, e.b));
        if ra == rb {
            continue;
        }
        if cannot_conflict(&mut parent, &nodes, ra, rb) {
            refused.cannot_link += 1;
            continue;
        }
        let (na, nb) = (nodes[ra as usize].as_ref().expect("root"), nodes[rb as usize].as_ref().expect("root"));
        if ctx.options.one_per_source && na.sources.iter().any(|s| nb.sources.binary_search(s).is_ok()) {
            refused.one_per_source += 1;
            continue;
        }
        if ctx.hard.iter().enumerate().any(|(h, f)| {
            let (x, y) = (&na.hard[h], &nb.hard[h]);
            !x.is_empty() && !y.is_empty() && !x.iter().any(|&p| y.iter().any(|&q| f.compatible(p, q)))
        }) {
            refused.hard_identifier += 1;
            continue;
        }
        if (na.members.len() > 1 || nb.members.len() > 1) && !supported(na, nb, ctx) {
            refused.weak_support += 1;
            continue;
        }
        union(&mut parent, &mut nodes, ctx, ra, rb);
        merged_by.push(*e);
    }

    // labels by lowest rank
    let mut roots: Vec<u32> = (0..n as u32).map(|i| find(&mut parent, i)).collect();
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
    roots.clear();
    Clustering {
        labels,
        merged_by,
        refused,
    }
}

fn cannot_conflict(parent: &mut [u32], nodes: &[Option<Node>], ra: u32, rb: u32) -> bool {
    fn find(parent: &mut [u32], mut x: u32) -> u32 {
        while parent[x as usize] != x {
            let p = parent[x as usize];
            parent[x as usize] = parent[p as usize];
            x = p;
        }
        x
    }
    let (ca, cb) = (
        nodes[ra as usize].as_ref().expect("root").cannot.clone(),
        nodes[rb as usize].as_ref().expect("root").cannot.clone(),
    );
    ca.iter().any(|&x| find(parent, x) == rb) || cb.iter().any(|&x| find(parent, x) == ra)
}

fn supported(na: &Node, nb: &Node, ctx: &ClusterContext<'_>) -> bool {
    let Some(score) = ctx.scorer else { return true };
    let o = &ctx.options;
    if o.min_mean_probability.is_none() && o.min_pair_weight.is_none() {
        return true;
    }
    let cap = o.max_support_pairs.max(1);
    let ka = na.members.len().min((cap as f64).sqrt().ceil() as usize).max(1);
    let kb = nb.members.len().min((cap / ka).max(1));
    let mut sum = 0.0;
    let mut k = 0usize;
    for &x in &na.members[..ka] {
        for &y in &nb.members[..kb] {
            let w = score(x, y);
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

fn union(parent: &mut [u32], nodes: &mut [Option<Node>], ctx: &ClusterContext<'_>, ra: u32, rb: u32) {
    let (sa, sb) = (
        nodes[ra as usize].as_ref().expect("root").members.len(),
        nodes[rb as usize].as_ref().expect("root").members.len(),
    );
    // larger keeps the root; ties by rank of the root's first member
    let first_rank = |nodes: &[Option<Node>], r: u32| ctx.rank[nodes[r as usize].as_ref().expect("root").members[0] as usize];
    let (keep, gone) = if sa > sb || (sa == sb && first_rank(nodes, ra) < first_rank(nodes, rb)) {
        (ra, rb)
    } else {
        (rb, ra)
    };
    let g = nodes[gone as usize].take().expect("root");
    parent[gone as usize] = keep;
    let k = nodes[keep as usize].as_mut().expect("root");
    k.members.extend(g.members);
    if !g.sources.is_empty() {
        k.sources.extend(g.sources);
        k.sources.sort_unstable();
    }
    for (h, vals) in g.hard.into_iter().enumerate() {
        for v in vals {
            if k.hard[h].len() < MAX_HARD_VALUES && !k.hard[h].contains(&v) {
                k.hard[h].push(v);
            }
        }
    }
    k.cannot.extend(g.cannot);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn partition(labels: &[u32], keys: &[u32]) -> Vec<Vec<u32>> {
        let mut m: std::collections::BTreeMap<u32, Vec<u32>> = Default::default();
        for (i, &l) in labels.iter().enumerate() {
            m.entry(l).or_default().push(keys[i]);
        }
        let mut v: Vec<Vec<u32>> = m.into_values().map(|mut x| { x.sort(); x }).collect();
        v.sort();
        v
    }

    fn run(n: usize, keys: &[u32], src: &[u32], edges: &[Edge], opts: ClusterOptions, cannot: &[(u32, u32)]) -> Vec<Vec<u32>> {
        let rank: Vec<u32> = keys.to_vec();
        let scorer = |a: u32, b: u32| -> f64 {
            // symmetric, key-based pseudo score
            let (x, y) = (keys[a as usize].min(keys[b as usize]), keys[a as usize].max(keys[b as usize]));
            ((x * 7 + y * 13) % 11) as f64 - 4.0
        };
        let ctx = ClusterContext {
            rank: &rank,
            sources: src,
            hard: &[],
            must_link: &[],
            cannot_link: cannot,
            scorer: Some(&scorer),
            options: opts,
        };
        partition(&cluster(n, edges, &ctx).labels, keys)
    }

    proptest! {
        #[test]
        fn order_independent(
            n in 2usize..30,
            raw in proptest::collection::vec((0u32..30, 0u32..30, 0u8..6), 0..80),
            perm_seed in 0u64..1000,
            one in proptest::bool::ANY,
            support in proptest::bool::ANY,
        ) {
            let keys: Vec<u32> = (0..n as u32).collect();
            let src: Vec<u32> = (0..n as u32).map(|k| k % 3).collect();
            let edges: Vec<Edge> = raw.iter()
                .filter(|(a, b, _)| (*a as usize) < n && (*b as usize) < n && a != b)
                .map(|&(a, b, w)| Edge { a, b, weight: w as f64 }) // many ties on purpose
                .collect();
            let opts = ClusterOptions {
                one_per_source: one,
                min_mean_probability: support.then_some(0.4),
                min_pair_weight: None,
                max_support_pairs: 16,
            };
            let cannot = [(0u32, 1u32)];
            let base = run(n, &keys, &src, &edges, opts.clone(), &cannot);
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
            let cannot2 = [(pos_of_key[0], pos_of_key[1])];
            let other = run(n, &perm, &src2, &edges2, opts, &cannot2);
            prop_assert_eq!(base, other);
        }
    }

    #[test]
    fn refusals() {
        let keys: Vec<u32> = (0..4).collect();
        let e = |a, b, w| Edge { a, b, weight: w };
        // 0-1 strong, 1-2 weaker, 2-3; one per source with sources 0,1,0,1
        let opts = ClusterOptions { one_per_source: true, ..Default::default() };
        let p = run(4, &keys, &[0, 1, 0, 1], &[e(0, 1, 9.0), e(1, 2, 5.0), e(2, 3, 4.0)], opts, &[]);
        assert_eq!(p, vec![vec![0, 1], vec![2, 3]]);
        let p = run(4, &keys, &[0, 0, 0, 0], &[e(0, 2, 9.0), e(2, 1, 5.0)], ClusterOptions::default(), &[(0, 1)]);
        assert_eq!(p, vec![vec![0, 2], vec![1], vec![3]]);
    }
}
