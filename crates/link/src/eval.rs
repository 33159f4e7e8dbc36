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

/// A pair worth a reviewer's look.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairNote {
    pub left: String,
    pub right: String,
    pub match_weight: f64,
    pub match_probability: f64,
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
    /// Highest-weight merged pairs that are not the same entity.
    pub worst_false_merges: Vec<PairNote>,
    /// Highest-weight true pairs left in different clusters.
    pub missed_links: Vec<PairNote>,
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
}
