//! Stable person ids across re-runs: map new clusters onto existing ids by record overlap.
//!
//! Each previous id goes to the new cluster holding most of its records (largest overlap first;
//! ties broken by id, then by the cluster's smallest record key), each cluster keeps at most one
//! previous id, and clusters with none get a freshly minted id. Merges (a cluster holding records
//! of several previous ids), splits (a previous id's records now in several clusters), new ids and
//! retired ids are reported with reasons. Everything is deterministic.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum IdEvent {
    /// A cluster without previous records got a new id.
    New {
        person_id: String,
        records: usize,
        reason: String,
    },
    /// Records of `absorbed` ids now belong to `into`.
    Merge {
        into: String,
        absorbed: Vec<String>,
        reason: String,
    },
    /// The records of `from` are now spread over `into` (which includes `from` if it survived).
    Split {
        from: String,
        into: Vec<String>,
        reason: String,
    },
    /// A previous id that no new cluster kept.
    Retired { person_id: String, reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    /// Person id per new cluster (same order as the input clusters).
    pub cluster_ids: Vec<String>,
    /// Record key -> person id.
    pub records: BTreeMap<String, String>,
}

/// How new ids look: `prefix` followed by a zero-padded number larger than any existing one
/// with that prefix.
#[derive(Debug, Clone)]
pub struct IdMinter {
    pub prefix: String,
    pub width: usize,
}

impl Default for IdMinter {
    fn default() -> Self {
        IdMinter {
            prefix: "P".into(),
            width: 7,
        }
    }
}

/// See the module docs. `previous`: (record key, person id) of the last run;
/// `new_clusters`: record keys per new cluster.
pub fn assign_stable_ids(
    previous: &[(String, String)],
    new_clusters: &[Vec<String>],
) -> (Assignment, Vec<IdEvent>) {
    assign_stable_ids_with(previous, new_clusters, &IdMinter::default())
}

pub fn assign_stable_ids_with(
    previous: &[(String, String)],
    new_clusters: &[Vec<String>],
    minter: &IdMinter,
) -> (Assignment, Vec<IdEvent>) {
    assign_stable_ids_above(previous, new_clusters, minter, 0)
}

/// As [`assign_stable_ids_with`] for a part of the records (an incremental run): new ids are
/// numbered above `in_use` as well as above every previous id given, so they cannot collide
/// with ids of persons outside the part.
pub fn assign_stable_ids_above(
    previous: &[(String, String)],
    new_clusters: &[Vec<String>],
    minter: &IdMinter,
    in_use: u64,
) -> (Assignment, Vec<IdEvent>) {
    let prev: BTreeMap<&str, &str> = previous
        .iter()
        .map(|(r, p)| (r.as_str(), p.as_str()))
        .collect();
    let mut prev_size: BTreeMap<&str, usize> = BTreeMap::new();
    for p in prev.values() {
        *prev_size.entry(p).or_default() += 1;
    }
    // overlap[cluster][pid]
    let overlaps: Vec<BTreeMap<&str, usize>> = new_clusters
        .iter()
        .map(|c| {
            let mut m = BTreeMap::new();
            for r in c {
                if let Some(p) = prev.get(r.as_str()) {
                    *m.entry(*p).or_default() += 1;
                }
            }
            m
        })
        .collect();
    let min_key: Vec<&str> = new_clusters
        .iter()
        .map(|c| c.iter().map(String::as_str).min().unwrap_or(""))
        .collect();
    let mut cands: Vec<(usize, &str, usize)> = Vec::new();
    for (ci, m) in overlaps.iter().enumerate() {
        for (p, &k) in m {
            cands.push((k, p, ci));
        }
    }
    cands.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then(a.1.cmp(b.1))
            .then(min_key[a.2].cmp(min_key[b.2]))
    });
    let mut cluster_pid: Vec<Option<String>> = vec![None; new_clusters.len()];
    let mut used: BTreeSet<&str> = BTreeSet::new();
    for (_, p, ci) in cands {
        if cluster_pid[ci].is_none() && !used.contains(p) {
            cluster_pid[ci] = Some(p.to_string());
            used.insert(p);
        }
    }
    // mint new ids in order of the clusters' smallest record key
    let mut max_n: u64 = in_use;
    for p in prev_size.keys() {
        if let Some(n) = p
            .strip_prefix(minter.prefix.as_str())
            .and_then(|x| x.parse::<u64>().ok())
        {
            max_n = max_n.max(n);
        }
    }
    let mut order: Vec<usize> = (0..new_clusters.len()).collect();
    order.sort_by(|&a, &b| min_key[a].cmp(min_key[b]).then(a.cmp(&b)));
    let mut events = Vec::new();
    for &ci in &order {
        if cluster_pid[ci].is_none() {
            max_n += 1;
            let id = format!("{}{:0w$}", minter.prefix, max_n, w = minter.width);
            let reason = if overlaps[ci].is_empty() {
                "no record of this cluster had a person id before".to_string()
            } else {
                let from: Vec<&str> = overlaps[ci].keys().copied().collect();
                format!(
                    "its records split off from {}, whose id stayed with a larger part",
                    from.join(", ")
                )
            };
            events.push(IdEvent::New {
                person_id: id.clone(),
                records: new_clusters[ci].len(),
                reason,
            });
            cluster_pid[ci] = Some(id);
        }
    }
    let cluster_ids: Vec<String> = cluster_pid
        .into_iter()
        .map(|x| x.expect("assigned"))
        .collect();
    // merges
    for &ci in &order {
        let m = &overlaps[ci];
        if m.len() > 1 {
            let into = cluster_ids[ci].clone();
            let absorbed: Vec<String> = m
                .keys()
                .filter(|p| **p != into)
                .map(|p| p.to_string())
                .collect();
            let detail: Vec<String> = m
                .iter()
                .map(|(p, k)| format!("{k} of {p}'s {} records", prev_size[p]))
                .collect();
            events.push(IdEvent::Merge {
                into,
                absorbed,
                reason: format!("one cluster now holds {}", detail.join(", ")),
            });
        }
    }
    // splits
    let mut spread: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (ci, m) in overlaps.iter().enumerate() {
        for p in m.keys() {
            spread.entry(p).or_default().push(ci);
        }
    }
    for (p, cs) in &spread {
        if cs.len() > 1 {
            let mut into: Vec<String> = cs.iter().map(|&c| cluster_ids[c].clone()).collect();
            into.sort();
            let detail: Vec<String> = cs
                .iter()
                .map(|&c| format!("{} → {}", overlaps[c][p], cluster_ids[c]))
                .collect();
            events.push(IdEvent::Split {
                from: p.to_string(),
                into,
                reason: format!(
                    "its {} records now fall in {} clusters ({})",
                    prev_size[p],
                    cs.len(),
                    detail.join(", ")
                ),
            });
        }
    }
    // retired
    let kept: BTreeSet<&str> = cluster_ids.iter().map(String::as_str).collect();
    for p in prev_size.keys() {
        if !kept.contains(p) {
            let reason = if spread.contains_key(p) {
                "all its remaining records joined clusters that kept another id".to_string()
            } else {
                "none of its records is present any more".to_string()
            };
            events.push(IdEvent::Retired {
                person_id: p.to_string(),
                reason,
            });
        }
    }
    let mut records = BTreeMap::new();
    for (ci, c) in new_clusters.iter().enumerate() {
        for r in c {
            records.insert(r.clone(), cluster_ids[ci].clone());
        }
    }
    (
        Assignment {
            cluster_ids,
            records,
        },
        events,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Re-running on the same clusters keeps every id and reports nothing; every record gets
        /// exactly one id and clusters get distinct ids.
        #[test]
        fn idempotent_and_one_id_per_cluster(labels in proptest::collection::vec(0u8..12, 1..60), relabel in proptest::collection::vec(0u8..12, 1..60)) {
            let clusters = |lab: &[u8]| -> Vec<Vec<String>> {
                let mut m: BTreeMap<u8, Vec<String>> = BTreeMap::new();
                for (i, &l) in lab.iter().enumerate() {
                    m.entry(l).or_default().push(format!("r{i:03}"));
                }
                m.into_values().collect()
            };
            let first = clusters(&labels);
            let (a, _) = assign_stable_ids(&[], &first);
            let mut ids = a.cluster_ids.clone();
            ids.sort();
            ids.dedup();
            prop_assert_eq!(ids.len(), first.len());
            let prev: Vec<(String, String)> = a.records.iter().map(|(r, p)| (r.clone(), p.clone())).collect();
            let (b, ev) = assign_stable_ids(&prev, &first);
            prop_assert_eq!(&b.cluster_ids, &a.cluster_ids);
            prop_assert!(ev.is_empty());
            // a different clustering of (partly) the same records: ids stay unique
            let second = clusters(&relabel);
            let (c, _) = assign_stable_ids(&prev, &second);
            let mut ids = c.cluster_ids.clone();
            ids.sort();
            ids.dedup();
            prop_assert_eq!(ids.len(), second.len());
        }
    }

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn merge_split_new() {
        let prev = vec![
            ("a".to_string(), "P0000001".to_string()),
            ("b".into(), "P0000001".into()),
            ("c".into(), "P0000002".into()),
            ("d".into(), "P0000003".into()),
            ("e".into(), "P0000003".into()),
            ("f".into(), "P0000003".into()),
        ];
        // a,b,c merge; d,e stay; f splits off; g new
        let clusters = vec![s(&["a", "b", "c"]), s(&["d", "e"]), s(&["f"]), s(&["g"])];
        let (asg, ev) = assign_stable_ids(&prev, &clusters);
        assert_eq!(asg.cluster_ids[0], "P0000001");
        assert_eq!(asg.cluster_ids[1], "P0000003");
        assert_eq!(asg.cluster_ids[2], "P0000004");
        assert_eq!(asg.cluster_ids[3], "P0000005");
        assert!(ev.iter().any(|e| matches!(e, IdEvent::Merge { into, absorbed, .. } if into == "P0000001" && absorbed == &s(&["P0000002"]))));
        assert!(ev
            .iter()
            .any(|e| matches!(e, IdEvent::Split { from, .. } if from == "P0000003")));
        assert!(ev
            .iter()
            .any(|e| matches!(e, IdEvent::Retired { person_id, .. } if person_id == "P0000002")));
        assert_eq!(
            ev.iter()
                .filter(|e| matches!(e, IdEvent::New { .. }))
                .count(),
            2
        );
        // deterministic and stable on a re-run with the same clusters
        let prev2: Vec<(String, String)> = asg
            .records
            .iter()
            .map(|(r, p)| (r.clone(), p.clone()))
            .collect();
        let (asg2, ev2) = assign_stable_ids(&prev2, &clusters);
        assert_eq!(asg2.cluster_ids, asg.cluster_ids);
        assert!(ev2.is_empty());
    }
}
