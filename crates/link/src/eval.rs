//! Evaluation against true entity labels: pairwise precision / recall / F1 (overall,
//! within-source, cross-source), B-cubed, blocking recall, worst false merges and missed links.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Prf {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Pairs predicted together / truly together / both (pairwise metrics only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub predicted_pairs: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub true_pairs: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub true_positives: Option<u64>,
}

impl Prf {
    fn from_counts(tp: u64, pred: u64, truth: u64) -> Prf {
        let p = if pred > 0 {
            tp as f64 / pred as f64
        } else {
            1.0
        };
        let r = if truth > 0 {
            tp as f64 / truth as f64
        } else {
            1.0
        };
        Prf {
            precision: p,
            recall: r,
            f1: if p + r > 0.0 {
                2.0 * p * r / (p + r)
            } else {
                0.0
            },
            predicted_pairs: Some(pred),
            true_pairs: Some(truth),
            true_positives: Some(tp),
        }
    }
}

/// A pair worth a reviewer's look: record labels (ids, never names) and the model's weight.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairNote {
    pub left: String,
    pub right: String,
    pub match_weight: f64,
    pub match_probability: f64,
    /// Records on each side. False merge: the records of each of the two true entities inside
    /// the predicted cluster. Missed link: the records of the true entity in each of the two
    /// predicted clusters.
    #[serde(default)]
    pub left_records: usize,
    #[serde(default)]
    pub right_records: usize,
    /// Missed links only: why the model did not join the two pieces (see [`MissReason`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<MissReason>,
}

/// Why the best pair between two pieces of one true entity did not link them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MissReason {
    /// No blocking rule pairs the two records: the model never scored them.
    NotBlocked,
    /// Scored, but below the match threshold.
    BelowThreshold,
    /// At or above the threshold, but clustering refused the merge (a hard identifier, an
    /// ambiguous record, a reviewer's cannot-link, weak support, or the persons' phones or
    /// other profile fields).
    RefusedByClustering,
}

impl MissReason {
    pub fn text(self) -> &'static str {
        match self {
            MissReason::NotBlocked => "not blocked",
            MissReason::BelowThreshold => "below threshold",
            MissReason::RefusedByClustering => "refused by clustering",
        }
    }
}

/// Missed piece pairs (two clusters holding records of one true entity) by reason.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissCounts {
    pub not_blocked: u64,
    pub below_threshold: u64,
    pub refused_by_clustering: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Pairs in scope of the link type (cross-source only for link-only runs).
    pub pairwise: Prf,
    pub within_source: Prf,
    pub cross_source: Prf,
    pub all_pairs: Prf,
    pub bcubed: Prf,
    /// Share of true pairs (in scope) that some blocking rule generates.
    pub blocking_recall: Option<f64>,
    /// False merges, most confident first: for every predicted cluster holding several true
    /// entities, the strongest pair between each two of them (the bridge that explains the
    /// merge). See [`inspect_pairs`].
    pub worst_false_merges: Vec<PairNote>,
    /// Missed links, closest to linking first: for every true entity split over several
    /// clusters, the strongest pair between each two of its pieces.
    pub missed_links: Vec<PairNote>,
    /// All falsely merged entity pairs and missed piece pairs (the lists above are the top).
    #[serde(default)]
    pub false_merge_count: u64,
    #[serde(default)]
    pub missed_link_count: u64,
    /// Missed piece pairs by why their best pair was not linked.
    #[serde(default)]
    pub missed_by_reason: MissCounts,
}

fn c2(n: u64) -> u64 {
    n * n.saturating_sub(1) / 2
}

/// Cluster-implied pairwise and B-cubed metrics. `truth` labels may be `u32::MAX` (unknown:
/// the record is its own entity). `link_only` sets which pairs count as "pairwise".
pub fn evaluate_clusters(
    pred: &[u32],
    truth: &[u32],
    source: &[u32],
    link_only: bool,
) -> Evaluation {
    let n = pred.len();
    // unknown truth -> unique labels
    let mut next = truth
        .iter()
        .filter(|&&t| t != u32::MAX)
        .max()
        .map_or(0, |m| m + 1);
    let truth: Vec<u32> = truth
        .iter()
        .map(|&t| {
            if t == u32::MAX {
                next += 1;
                next - 1
            } else {
                t
            }
        })
        .collect();
    let mut cp: FxHashMap<u32, u64> = FxHashMap::default();
    let mut ct: FxHashMap<u32, u64> = FxHashMap::default();
    let mut cpt: FxHashMap<(u32, u32), u64> = FxHashMap::default();
    let mut cps: FxHashMap<(u32, u32), u64> = FxHashMap::default();
    let mut cts: FxHashMap<(u32, u32), u64> = FxHashMap::default();
    let mut cpts: FxHashMap<(u32, u32, u32), u64> = FxHashMap::default();
    for i in 0..n {
        *cp.entry(pred[i]).or_default() += 1;
        *ct.entry(truth[i]).or_default() += 1;
        *cpt.entry((pred[i], truth[i])).or_default() += 1;
        *cps.entry((pred[i], source[i])).or_default() += 1;
        *cts.entry((truth[i], source[i])).or_default() += 1;
        *cpts.entry((pred[i], truth[i], source[i])).or_default() += 1;
    }
    let sum = |m: &dyn Fn() -> Vec<u64>| m().into_iter().map(c2).sum::<u64>();
    let (p_all, t_all, tp_all) = (
        sum(&|| cp.values().copied().collect()),
        sum(&|| ct.values().copied().collect()),
        sum(&|| cpt.values().copied().collect()),
    );
    let (p_w, t_w, tp_w) = (
        sum(&|| cps.values().copied().collect()),
        sum(&|| cts.values().copied().collect()),
        sum(&|| cpts.values().copied().collect()),
    );
    let all_pairs = Prf::from_counts(tp_all, p_all, t_all);
    let within = Prf::from_counts(tp_w, p_w, t_w);
    let cross = Prf::from_counts(tp_all - tp_w, p_all - p_w, t_all - t_w);
    // B-cubed over records
    let (mut bp, mut br) = (0.0, 0.0);
    for i in 0..n {
        let inter = cpt[&(pred[i], truth[i])] as f64;
        bp += inter / cp[&pred[i]] as f64;
        br += inter / ct[&truth[i]] as f64;
    }
    let (bp, br) = if n > 0 {
        (bp / n as f64, br / n as f64)
    } else {
        (1.0, 1.0)
    };
    let bcubed = Prf {
        precision: bp,
        recall: br,
        f1: if bp + br > 0.0 {
            2.0 * bp * br / (bp + br)
        } else {
            0.0
        },
        ..Default::default()
    };
    Evaluation {
        pairwise: if link_only {
            cross.clone()
        } else {
            all_pairs.clone()
        },
        within_source: within,
        cross_source: cross,
        all_pairs,
        bcubed,
        ..Default::default()
    }
}

/// How the inspection reaches the model: the match weight of any two records (the same
/// comparison code `explain` uses), whether blocking pairs them, the threshold, and how a record
/// is named in the report (an id, never a name).
pub struct PairModel<'a> {
    pub score: &'a (dyn Fn(u32, u32) -> f64 + Sync),
    pub blocked: &'a (dyn Fn(u32, u32) -> bool + Sync),
    pub threshold: f64,
    pub label: &'a (dyn Fn(u32) -> String + Sync),
}

/// Records per side compared when looking for the strongest pair between two groups (the
/// first ones in record order): bounds the work on a huge cluster.
pub const MAX_GROUP_SIDE: usize = 200;

struct Found {
    a: u32,
    b: u32,
    weight: f64,
    na: usize,
    nb: usize,
}

/// The strongest pair between every two groups of `groups`.
fn bridges(groups: &[Vec<u32>], model: &PairModel<'_>) -> Vec<Found> {
    let mut out = Vec::new();
    for x in 0..groups.len() {
        for y in x + 1..groups.len() {
            let (ga, gb) = (&groups[x], &groups[y]);
            let mut best: Option<(f64, u32, u32)> = None;
            for &a in ga.iter().take(MAX_GROUP_SIDE) {
                for &b in gb.iter().take(MAX_GROUP_SIDE) {
                    let w = (model.score)(a, b);
                    let (lo, hi) = (a.min(b), a.max(b));
                    let better = match best {
                        None => true,
                        Some((bw, ba, bb)) => w > bw || (w == bw && (lo, hi) < (ba, bb)),
                    };
                    if better {
                        best = Some((w, lo, hi));
                    }
                }
            }
            if let Some((w, a, b)) = best {
                let (na, nb) = if ga.contains(&a) {
                    (ga.len(), gb.len())
                } else {
                    (gb.len(), ga.len())
                };
                out.push(Found {
                    a,
                    b,
                    weight: w,
                    na,
                    nb,
                });
            }
        }
    }
    out
}

/// Group `items` (record indices) by `key`, keeping groups of records with a known key; each
/// group sorted, groups ordered by their first record.
fn group_by(items: &[u32], key: &[u32]) -> Vec<Vec<u32>> {
    let known = |i: &u32| key[*i as usize] != u32::MAX;
    // the common cases without sorting: no known key, or one key for all
    let mut it = items.iter().filter(|i| known(i));
    let Some(first) = it.next() else {
        return Vec::new();
    };
    let k0 = key[*first as usize];
    if it.all(|i| key[*i as usize] == k0) {
        let mut g: Vec<u32> = items.iter().copied().filter(|i| known(i)).collect();
        g.sort_unstable();
        return vec![g];
    }
    let mut v: Vec<(u32, u32)> = items
        .iter()
        .filter(|i| known(i))
        .map(|&i| (key[i as usize], i))
        .collect();
    v.sort_unstable();
    let mut out: Vec<Vec<u32>> = Vec::new();
    for (j, &(k, i)) in v.iter().enumerate() {
        if j == 0 || v[j - 1].0 != k {
            out.push(Vec::new());
        }
        out.last_mut().expect("pushed").push(i);
    }
    out.sort_unstable_by_key(|g| g[0]);
    out
}

/// All records grouped by `key` (known keys only), groups of two or more.
fn groups_of(key: &[u32]) -> Vec<Vec<u32>> {
    use rayon::prelude::*;
    let mut v: Vec<(u32, u32)> = (0..key.len() as u32)
        .filter(|&i| key[i as usize] != u32::MAX)
        .map(|i| (key[i as usize], i))
        .collect();
    v.par_sort_unstable();
    let mut out = Vec::new();
    let mut j = 0;
    while j < v.len() {
        let mut e = j + 1;
        while e < v.len() && v[e].0 == v[j].0 {
            e += 1;
        }
        if e - j >= 2 {
            out.push(v[j..e].iter().map(|x| x.1).collect::<Vec<u32>>());
        }
        j = e;
    }
    out
}

/// The worst false merges and missed links of a clustering (`pred`, one label per record)
/// against `truth` (`u32::MAX` = unknown, left out), at most `n` of each, and their totals.
///
/// A false merge is a predicted cluster holding records of two true entities; it is reported by
/// its bridge, the strongest-scoring pair between the two, and the list is ordered by that
/// weight, highest first. Those are the merges the model is surest of: the review queue only
/// holds uncertain pairs, so a confident wrong merge is found nowhere else, and it is the one a
/// threshold change would not undo (a comparison that cannot tell the two people apart is).
///
/// A missed link is a true entity split over two predicted clusters, reported by the strongest
/// pair between the two pieces with why it did not link ([`MissReason`]), highest weight first:
/// pairs just under the threshold or refused by clustering come before records the model could
/// never have joined.
pub fn inspect_pairs(
    pred: &[u32],
    truth: &[u32],
    n: usize,
    model: &PairModel<'_>,
) -> (Vec<PairNote>, Vec<PairNote>, u64, u64, MissCounts) {
    use rayon::prelude::*;
    // only clusters and entities of two or more records can hold a false merge or a miss
    let by_pred = groups_of(pred);
    let by_truth = groups_of(truth);
    // false merges: clusters with several true entities
    let mut merges: Vec<Found> = by_pred
        .par_iter()
        .flat_map_iter(|c| {
            let parts = group_by(c, truth);
            if parts.len() < 2 {
                Vec::new()
            } else {
                bridges(&parts, model)
            }
        })
        .collect();
    let mut misses: Vec<Found> = by_truth
        .par_iter()
        .flat_map_iter(|t| {
            let pieces = group_by(t, pred);
            if pieces.len() < 2 {
                Vec::new()
            } else {
                bridges(&pieces, model)
            }
        })
        .collect();
    let order = |x: &Found, y: &Found| {
        y.weight
            .total_cmp(&x.weight)
            .then((x.na + x.nb).cmp(&(y.na + y.nb)).reverse())
            .then((x.a, x.b).cmp(&(y.a, y.b)))
    };
    merges.sort_by(order);
    misses.sort_by(order);
    let why = |f: &Found| -> MissReason {
        if !(model.blocked)(f.a, f.b) {
            MissReason::NotBlocked
        } else if f.weight < model.threshold {
            MissReason::BelowThreshold
        } else {
            MissReason::RefusedByClustering
        }
    };
    let mut counts = MissCounts::default();
    for f in &misses {
        match why(f) {
            MissReason::NotBlocked => counts.not_blocked += 1,
            MissReason::BelowThreshold => counts.below_threshold += 1,
            MissReason::RefusedByClustering => counts.refused_by_clustering += 1,
        }
    }
    let note = |f: &Found, w: Option<MissReason>| PairNote {
        left: (model.label)(f.a),
        right: (model.label)(f.b),
        match_weight: f.weight,
        match_probability: crate::model::probability(f.weight),
        left_records: f.na,
        right_records: f.nb,
        why: w,
    };
    (
        merges.iter().take(n).map(|f| note(f, None)).collect(),
        misses
            .iter()
            .take(n)
            .map(|f| note(f, Some(why(f))))
            .collect(),
        merges.len() as u64,
        misses.len() as u64,
        counts,
    )
}

/// Share of true pairs (records with the same known `truth` label, and allowed by `in_scope`)
/// that `covered` says some blocking rule generates.
pub fn blocking_recall(
    truth: &[u32],
    in_scope: &(dyn Fn(u32, u32) -> bool + Sync),
    covered: &(dyn Fn(u32, u32) -> bool + Sync),
) -> Option<f64> {
    use rayon::prelude::*;
    let groups = groups_of(truth);
    let (hit, tot) = groups
        .par_iter()
        .map(|g| {
            let (mut h, mut t) = (0u64, 0u64);
            for x in 0..g.len() {
                for y in x + 1..g.len() {
                    if in_scope(g[x], g[y]) {
                        t += 1;
                        h += u64::from(covered(g[x], g[y]));
                    }
                }
            }
            (h, t)
        })
        .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    (tot > 0).then(|| hit as f64 / tot as f64)
}

impl Evaluation {
    /// Fill the worst-pairs fields from [`inspect_pairs`].
    pub fn inspect(&mut self, pred: &[u32], truth: &[u32], n: usize, model: &PairModel<'_>) {
        let (fm, ml, nf, nm, why) = inspect_pairs(pred, truth, n, model);
        self.worst_false_merges = fm;
        self.missed_links = ml;
        self.false_merge_count = nf;
        self.missed_link_count = nm;
        self.missed_by_reason = why;
    }

    /// The human-readable report both `familiar link evaluate` and `familiar match` print.
    pub fn report_text(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let p = |x: &Prf| format!("P {:.4} R {:.4} F1 {:.4}", x.precision, x.recall, x.f1);
        let _ = writeln!(s, "pairwise         {}", p(&self.pairwise));
        let _ = writeln!(s, "  within source  {}", p(&self.within_source));
        let _ = writeln!(s, "  across sources {}", p(&self.cross_source));
        let _ = writeln!(s, "B-cubed          {}", p(&self.bcubed));
        if let Some(b) = self.blocking_recall {
            let _ = writeln!(
                s,
                "blocking recall  {b:.4} (share of true pairs some blocking rule generates)"
            );
        }
        let _ = writeln!(
            s,
            "false merges: {} (true entities sharing a predicted one); the most confident:",
            self.false_merge_count
        );
        for x in &self.worst_false_merges {
            let _ = writeln!(
                s,
                "  {:>24} ~ {:<24} weight {:>7.2} p {:.4}  joins {} + {} records",
                x.left,
                x.right,
                x.match_weight,
                x.match_probability,
                x.left_records,
                x.right_records
            );
        }
        let m = &self.missed_by_reason;
        let _ = writeln!(
            s,
            "missed links: {} (pieces of one true entity in two predicted ones: {} not blocked, {} below threshold, {} refused by clustering); the closest:",
            self.missed_link_count, m.not_blocked, m.below_threshold, m.refused_by_clustering
        );
        for x in &self.missed_links {
            let _ = writeln!(
                s,
                "  {:>24} ~ {:<24} weight {:>7.2} p {:.4}  pieces of {} + {} records  {}",
                x.left,
                x.right,
                x.match_weight,
                x.match_probability,
                x.left_records,
                x.right_records,
                x.why.map_or("", MissReason::text)
            );
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts() {
        // truth: {0,1,2} {3}; pred: {0,1} {2,3}
        let e = evaluate_clusters(&[0, 0, 1, 1], &[7, 7, 7, 8], &[0, 1, 0, 1], false);
        assert_eq!(e.all_pairs.true_pairs, Some(3));
        assert_eq!(e.all_pairs.predicted_pairs, Some(2));
        assert_eq!(e.all_pairs.true_positives, Some(1));
        assert!((e.pairwise.f1 - 2.0 * 0.5 * (1.0 / 3.0) / (0.5 + 1.0 / 3.0)).abs() < 1e-12);
        // within source 0: {0,2} true; predicted none within a source
        assert_eq!(e.within_source.true_pairs, Some(1));
        assert_eq!(e.within_source.predicted_pairs, Some(0));
        let l = evaluate_clusters(&[0, 0, 1, 1], &[7, 7, 7, 8], &[0, 1, 0, 1], true);
        assert_eq!(l.pairwise, l.cross_source);
        assert!(e.bcubed.precision > 0.0 && e.bcubed.precision <= 1.0);
    }

    #[test]
    fn worst_pairs_bridges_and_reasons() {
        // truth: {0,1,2} {3,4}; pred: {0,1,3} {2} {4}
        let pred = [0, 0, 1, 0, 2];
        let truth = [7, 7, 7, 8, 8];
        // weight = 10 - |a - b| (so nearer records score higher)
        let score = |a: u32, b: u32| 10.0 - f64::from(a.abs_diff(b));
        let blocked = |a: u32, b: u32| a.abs_diff(b) <= 2;
        let label = |a: u32| format!("r{a}");
        let model = PairModel {
            score: &score,
            blocked: &blocked,
            threshold: 8.5,
            label: &label,
        };
        let (fm, ml, nf, nm, why) = inspect_pairs(&pred, &truth, 10, &model);
        // cluster {0,1,3} holds 7 and 8: bridge is the strongest pair 1-3 (weight 8)
        assert_eq!(nf, 1);
        assert_eq!((fm[0].left.as_str(), fm[0].right.as_str()), ("r1", "r3"));
        assert_eq!((fm[0].left_records, fm[0].right_records), (2, 1));
        // 7 is split {0,1} | {2}: best pair 1-2 (9, above threshold: refused by clustering);
        // 8 is split {3} | {4}: pair 3-4 (9, refused)
        assert_eq!(nm, 2);
        assert!(ml
            .iter()
            .all(|x| x.why == Some(MissReason::RefusedByClustering)));
        assert_eq!(why.refused_by_clustering, 2);
        let all = |_: u32, _: u32| true;
        assert_eq!(blocking_recall(&truth, &all, &blocked), Some(1.0));
        let none = |_: u32, _: u32| false;
        assert_eq!(blocking_recall(&truth, &all, &none), Some(0.0));
        let mut e = evaluate_clusters(&pred, &truth, &[0; 5], false);
        e.inspect(&pred, &truth, 1, &model);
        assert_eq!(e.missed_links.len(), 1);
        assert!(e.report_text().contains("r1 ~ r3"));
    }
}
