//! Blocking: OR-ed rules, each a list of key expressions that must all be equal and non-null.
//!
//! A rule's candidate pairs are the pairs of records sharing its key; the union over rules is
//! generated with each pair produced once (by the first rule that finds it). Pair counts per rule
//! come cheaply from the key group sizes, before anything is scored.
//!
//! A rule that would create more than `max_pairs` pairs either has its largest blocks skipped
//! ([`Blocker::cap_blocks`]: the blocks above a size cap, chosen so the rest fits the budget, are
//! left out of that rule and reported) or is refused with a clear error
//! (`blocking.oversize = "refuse"`). The largest blocks are the most common key values, whose
//! agreement says least about a pair; records in them are still paired by the other rules.

use crate::data::{Table, NULL};
use crate::error::LinkError;
use crate::spec::KeyExpr;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};

/// Key of a record that takes no part in a rule (a key expression is null).
pub const NULL_KEY: u64 = u64::MAX;

/// Which pairs are allowed.
#[derive(Debug, Clone)]
pub struct Pairing {
    /// Only pairs whose `side` differs.
    pub link_only: bool,
    /// Source index per record.
    pub side: Vec<u32>,
}

impl Pairing {
    #[inline]
    pub fn allowed(&self, a: u32, b: u32) -> bool {
        a != b && (!self.link_only || self.side[a as usize] != self.side[b as usize])
    }

    /// Number of allowed pairs among all records.
    pub fn total_pairs(&self) -> f64 {
        let n = self.side.len() as f64;
        if !self.link_only {
            return n * (n - 1.0) / 2.0;
        }
        let mut per: Vec<f64> = Vec::new();
        for &s in &self.side {
            let s = s as usize;
            if per.len() <= s {
                per.resize(s + 1, 0.0);
            }
            per[s] += 1.0;
        }
        (n * n - per.iter().map(|x| x * x).sum::<f64>()) / 2.0
    }
}

/// A rule compiled against a table.
#[derive(Debug, Clone)]
pub struct CompiledRule {
    pub text: String,
    /// Table columns of the key expressions.
    pub cols: Vec<usize>,
    /// Raw columns the rule reads.
    pub base_columns: Vec<String>,
}

pub fn compile_rules(
    table: &mut Table,
    rules: &[Vec<String>],
) -> Result<Vec<CompiledRule>, LinkError> {
    rules
        .iter()
        .map(|r| {
            let mut cols = Vec::new();
            let mut base = Vec::new();
            for e in r {
                let k = KeyExpr::parse(e).map_err(|m| LinkError::spec("blocking", m))?;
                base.extend(k.columns().iter().map(|c| c.to_string()));
                cols.push(table.expr_column(&k)?);
            }
            Ok(CompiledRule {
                text: r.join(" & "),
                cols,
                base_columns: base,
            })
        })
        .collect()
}

#[inline]
fn mix(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

/// Key per record for a rule (exact packing for one or two expressions, a 64-bit mix beyond).
pub fn rule_keys(table: &Table, rule: &CompiledRule) -> Vec<u64> {
    let cols: Vec<&[u32]> = rule
        .cols
        .iter()
        .map(|&c| table.columns[c].codes.as_slice())
        .collect();
    (0..table.len())
        .into_par_iter()
        .map(|i| {
            let mut k: u64 = 0;
            for (j, c) in cols.iter().enumerate() {
                let v = c[i];
                if v == NULL {
                    return NULL_KEY;
                }
                k = match (cols.len(), j) {
                    (1, _) => u64::from(v),
                    (2, 0) => u64::from(v) << 32,
                    (2, _) => k | u64::from(v),
                    _ => mix(k ^ mix(u64::from(v).wrapping_add(j as u64 * 0x9e37_79b9))),
                };
            }
            if k == NULL_KEY {
                k - 1
            } else {
                k
            }
        })
        .collect()
}

/// Records grouped by key: `order` holds record indices sorted by (key, index); `starts` the
/// start of each group of two or more records (plus a final end marker).
#[derive(Debug, Clone, Default)]
pub struct Groups {
    pub order: Vec<u32>,
    pub starts: Vec<u32>,
}

pub fn groups(keys: &[u64]) -> Groups {
    let mut kv: Vec<(u64, u32)> = keys
        .iter()
        .enumerate()
        .filter(|(_, &k)| k != NULL_KEY)
        .map(|(i, &k)| (k, i as u32))
        .collect();
    kv.par_sort_unstable();
    let mut order = Vec::new();
    let mut starts = Vec::new();
    let mut i = 0;
    while i < kv.len() {
        let mut j = i + 1;
        while j < kv.len() && kv[j].0 == kv[i].0 {
            j += 1;
        }
        if j - i >= 2 {
            starts.push(order.len() as u32);
            order.extend(kv[i..j].iter().map(|x| x.1));
        }
        i = j;
    }
    starts.push(order.len() as u32);
    Groups { order, starts }
}

impl Groups {
    pub fn len(&self) -> usize {
        self.starts.len().saturating_sub(1)
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn group(&self, g: usize) -> &[u32] {
        &self.order[self.starts[g] as usize..self.starts[g + 1] as usize]
    }
    /// Allowed pairs inside the groups (before removing pairs found by earlier rules).
    pub fn raw_pairs(&self, pairing: &Pairing) -> u64 {
        (0..self.len()).map(|g| self.group_pairs(g, pairing)).sum()
    }

    /// Allowed pairs inside group `g`.
    pub fn group_pairs(&self, g: usize, pairing: &Pairing) -> u64 {
        let m = self.group(g);
        let s = m.len() as u64;
        if !pairing.link_only {
            return s * (s - 1) / 2;
        }
        let mut sides: Vec<u32> = m.iter().map(|&i| pairing.side[i as usize]).collect();
        sides.sort_unstable();
        let mut same = 0u64;
        let mut k = 0;
        while k < sides.len() {
            let mut l = k + 1;
            while l < sides.len() && sides[l] == sides[k] {
                l += 1;
            }
            let c = (l - k) as u64;
            same += c * (c - 1) / 2;
            k = l;
        }
        s * (s - 1) / 2 - same
    }
}

/// Blocks of one rule left out to keep it within the pair budget.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockCap {
    /// 1-based rule number and its text.
    pub rule_number: usize,
    pub rule: String,
    /// Pairs the rule creates with every block, and the budget.
    pub raw_pairs: u64,
    pub max_pairs: u64,
    /// Blocks of more than this many records were skipped.
    pub max_block_records: u64,
    pub skipped_blocks: u64,
    /// Records in the skipped blocks (still paired by the other rules).
    pub skipped_records: u64,
    pub skipped_pairs: u64,
}

impl BlockCap {
    /// One line for reports, e.g. "rule 7 (first & initial(last)): 112 blocks with 52,000
    /// records skipped (blocks over 640 records; 62M of 112M pairs)".
    pub fn text(&self) -> String {
        format!(
            "rule {} ({}): {} blocks with {} records skipped (blocks over {} records; {} of its {} pairs left out to stay within {} pairs)",
            self.rule_number,
            self.rule,
            self.skipped_blocks,
            self.skipped_records,
            self.max_block_records,
            self.skipped_pairs,
            self.raw_pairs,
            self.max_pairs
        )
    }
}

/// Pair counts of one rule.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RuleCount {
    pub rule: String,
    /// Pairs the rule alone creates (without the blocks skipped by [`Blocker::cap_blocks`]).
    pub raw_pairs: u64,
    /// Pairs it adds to the rules before it (None when not enumerated).
    pub marginal_pairs: Option<u64>,
    /// Blocks of this rule skipped to stay within the pair budget, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<BlockCap>,
}

/// Keys and groups of a list of rules.
#[derive(Debug, Clone)]
pub struct Blocker {
    pub rules: Vec<CompiledRule>,
    /// Rule keys record by record: `keys[i * rules.len() + r]` (one cache line per record for
    /// the "did an earlier rule pair them" check).
    pub keys: Vec<u64>,
    pub groups: Vec<Groups>,
    /// Blocks skipped per rule (see [`Blocker::cap_blocks`]).
    pub caps: Vec<Option<BlockCap>>,
}

impl Blocker {
    pub fn new(table: &Table, rules: Vec<CompiledRule>) -> Blocker {
        let per_rule: Vec<Vec<u64>> = rules.iter().map(|r| rule_keys(table, r)).collect();
        let groups = per_rule.iter().map(|k| groups(k)).collect();
        let nr = rules.len();
        let mut keys = vec![NULL_KEY; table.len() * nr];
        if nr > 0 {
            keys.par_chunks_mut(nr).enumerate().for_each(|(i, row)| {
                for (r, k) in per_rule.iter().enumerate() {
                    row[r] = k[i];
                }
            });
        }
        let caps = vec![None; nr];
        Blocker {
            rules,
            keys,
            groups,
            caps,
        }
    }

    /// Keep every rule within `max_pairs` pairs by skipping its largest blocks: for a rule over
    /// the budget, the largest block size S such that all blocks of at most S records fit is
    /// kept, and blocks above S are left out of that rule (their records' keys for the rule
    /// become null, so no later rule treats their pairs as already generated and blocking
    /// recall counts them as not covered by it). Deterministic: whole size classes are kept
    /// or skipped. Returns what was skipped, also kept in `self.caps`.
    pub fn cap_blocks(&mut self, pairing: &Pairing, max_pairs: u64) -> Vec<BlockCap> {
        let nr = self.rules.len();
        let mut out = Vec::new();
        for r in 0..nr {
            let g = &self.groups[r];
            let pairs: Vec<u64> = (0..g.len())
                .into_par_iter()
                .map(|gi| g.group_pairs(gi, pairing))
                .collect();
            let raw: u64 = pairs.iter().sum();
            if raw <= max_pairs {
                continue;
            }
            // pairs per block size, smallest blocks first
            let mut by_size: Vec<(usize, u64)> = (0..g.len())
                .map(|gi| (g.group(gi).len(), pairs[gi]))
                .collect();
            by_size.sort_unstable();
            let mut cap = 1usize;
            let mut acc = 0u64;
            let mut i = 0;
            while i < by_size.len() {
                let size = by_size[i].0;
                let mut class = 0u64;
                let mut j = i;
                while j < by_size.len() && by_size[j].0 == size {
                    class += by_size[j].1;
                    j += 1;
                }
                if acc + class > max_pairs {
                    break;
                }
                acc += class;
                cap = size;
                i = j;
            }
            let mut kept = Groups::default();
            let mut rep = BlockCap {
                rule_number: r + 1,
                rule: self.rules[r].text.clone(),
                raw_pairs: raw,
                max_pairs,
                max_block_records: cap as u64,
                ..Default::default()
            };
            for (gi, &gp) in pairs.iter().enumerate() {
                let m = g.group(gi);
                if m.len() > cap {
                    rep.skipped_blocks += 1;
                    rep.skipped_records += m.len() as u64;
                    rep.skipped_pairs += gp;
                    for &x in m {
                        self.keys[x as usize * nr + r] = NULL_KEY;
                    }
                } else {
                    kept.starts.push(kept.order.len() as u32);
                    kept.order.extend_from_slice(m);
                }
            }
            kept.starts.push(kept.order.len() as u32);
            self.groups[r] = kept;
            self.caps[r] = Some(rep.clone());
            out.push(rep);
        }
        out
    }

    #[inline]
    fn rec_keys(&self, i: u32) -> &[u64] {
        let nr = self.rules.len();
        &self.keys[i as usize * nr..(i as usize + 1) * nr]
    }

    /// Raw pair count per rule (cheap: from group sizes).
    pub fn count(&self, pairing: &Pairing) -> Vec<RuleCount> {
        self.rules
            .iter()
            .zip(&self.groups)
            .zip(&self.caps)
            .map(|((r, g), cap)| RuleCount {
                rule: r.text.clone(),
                raw_pairs: g.raw_pairs(pairing),
                marginal_pairs: None,
                skipped: cap.clone(),
            })
            .collect()
    }

    /// Error when a rule would create more than `max_pairs` pairs.
    pub fn guard(&self, counts: &[RuleCount], max_pairs: u64) -> Result<(), LinkError> {
        for (i, c) in counts.iter().enumerate() {
            if c.raw_pairs > max_pairs {
                return Err(LinkError::BlockingTooLoose {
                    rule: i + 1,
                    rule_text: c.rule.clone(),
                    pairs: c.raw_pairs,
                    max_pairs,
                });
            }
        }
        Ok(())
    }

    /// True when an earlier rule than `r` already pairs `a` and `b`.
    #[inline]
    fn earlier(&self, r: usize, a: u32, b: u32) -> bool {
        let (ka, kb) = (self.rec_keys(a), self.rec_keys(b));
        ka[..r]
            .iter()
            .zip(&kb[..r])
            .any(|(x, y)| *x != NULL_KEY && x == y)
    }

    /// Visit every candidate pair once (a < b), in parallel; `f` returns what to keep.
    /// Returns the kept items (in a deterministic order) and the marginal pair count per rule.
    pub fn generate<T, F>(&self, pairing: &Pairing, f: F) -> (Vec<T>, Vec<u64>)
    where
        T: Send,
        F: Fn(u32, u32, usize) -> Option<T> + Sync,
    {
        let mut out = Vec::new();
        let mut marginal = Vec::new();
        for r in 0..self.rules.len() {
            let counter = AtomicU64::new(0);
            let g = &self.groups[r];
            let part: Vec<T> = (0..g.len())
                .into_par_iter()
                .flat_map_iter(|gi| {
                    let m = g.group(gi);
                    let mut local = Vec::new();
                    let mut n = 0u64;
                    for x in 0..m.len() {
                        for y in x + 1..m.len() {
                            let (a, b) = (m[x], m[y]);
                            if !pairing.allowed(a, b) || self.earlier(r, a, b) {
                                continue;
                            }
                            n += 1;
                            if let Some(t) = f(a, b, r) {
                                local.push(t);
                            }
                        }
                    }
                    counter.fetch_add(n, Ordering::Relaxed);
                    local
                })
                .collect();
            out.extend(part);
            marginal.push(counter.into_inner());
        }
        (out, marginal)
    }

    /// Pairs of a single rule (no earlier-rule check), optionally subsampled to about
    /// `keep_fraction` by a deterministic hash of the pair.
    pub fn generate_rule<T, F>(
        &self,
        r: usize,
        pairing: &Pairing,
        keep_fraction: f64,
        seed: u64,
        f: F,
    ) -> Vec<T>
    where
        T: Send,
        F: Fn(u32, u32) -> Option<T> + Sync,
    {
        let g = &self.groups[r];
        let cut = if keep_fraction >= 1.0 {
            u64::MAX
        } else {
            (keep_fraction.max(0.0) * u64::MAX as f64) as u64
        };
        (0..g.len())
            .into_par_iter()
            .flat_map_iter(|gi| {
                let m = g.group(gi);
                let mut local = Vec::new();
                for x in 0..m.len() {
                    for y in x + 1..m.len() {
                        let (a, b) = (m[x], m[y]);
                        if !pairing.allowed(a, b) {
                            continue;
                        }
                        if cut != u64::MAX && mix(seed ^ (u64::from(a) << 32 | u64::from(b))) > cut
                        {
                            continue;
                        }
                        if let Some(t) = f(a, b) {
                            local.push(t);
                        }
                    }
                }
                local
            })
            .collect()
    }

    /// Group of rule `r` holding records with key `k`, if the key is shared by two or more.
    fn group_of_key(&self, r: usize, k: u64) -> Option<usize> {
        let g = &self.groups[r];
        let nr = self.rules.len();
        let key_of = |gi: usize| self.keys[g.order[g.starts[gi] as usize] as usize * nr + r];
        let (mut lo, mut hi) = (0usize, g.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            if key_of(mid) < k {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        (lo < g.len() && key_of(lo) == k).then_some(lo)
    }

    /// Visit once every candidate pair with at least one record in `flag` and none in `done`
    /// (the same pairs, and the same rule for each, as [`Blocker::generate`] restricted to
    /// them), in parallel; `f(a, b, rule)` with `a < b` returns what to keep. Work is
    /// proportional to the flagged records times the size of their blocks, not to the whole
    /// table: this is how a new batch is scored against existing records.
    /// Returns the kept items (deterministic order) and the number of pairs visited.
    pub fn generate_touching<T, F>(
        &self,
        pairing: &Pairing,
        flag: &[bool],
        done: &[bool],
        f: F,
    ) -> (Vec<T>, u64)
    where
        T: Send,
        F: Fn(u32, u32, usize) -> Option<T> + Sync,
    {
        let nr = self.rules.len();
        let flagged: Vec<u32> = (0..flag.len() as u32)
            .filter(|&i| flag[i as usize] && !done[i as usize])
            .collect();
        let mut out = Vec::new();
        let mut visited = 0u64;
        for r in 0..nr {
            let mut gids: Vec<usize> = flagged
                .iter()
                .filter_map(|&i| {
                    let k = self.keys[i as usize * nr + r];
                    (k != NULL_KEY).then(|| self.group_of_key(r, k)).flatten()
                })
                .collect();
            gids.sort_unstable();
            gids.dedup();
            let counter = AtomicU64::new(0);
            let g = &self.groups[r];
            let part: Vec<T> = gids
                .into_par_iter()
                .flat_map_iter(|gi| {
                    let m = g.group(gi);
                    let mut local = Vec::new();
                    let mut n = 0u64;
                    for &a in m.iter().filter(|&&a| flag[a as usize] && !done[a as usize]) {
                        for &b in m {
                            if b == a || done[b as usize] || (flag[b as usize] && b < a) {
                                continue;
                            }
                            let (x, y) = (a.min(b), a.max(b));
                            if !pairing.allowed(x, y) || self.earlier(r, x, y) {
                                continue;
                            }
                            n += 1;
                            if let Some(t) = f(x, y, r) {
                                local.push(t);
                            }
                        }
                    }
                    counter.fetch_add(n, Ordering::Relaxed);
                    local
                })
                .collect();
            out.extend(part);
            visited += counter.into_inner();
        }
        (out, visited)
    }

    /// True when some rule pairs `a` and `b` (used for blocking recall).
    pub fn covers(&self, a: u32, b: u32) -> bool {
        let (ka, kb) = (self.rec_keys(a), self.rec_keys(b));
        ka.iter().zip(kb).any(|(x, y)| *x != NULL_KEY && x == y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{ColumnBuilder, TableParts};

    fn table(vals: &[(&str, &str)]) -> Table {
        let mut a = ColumnBuilder::new("a");
        let mut b = ColumnBuilder::new("b");
        for (x, y) in vals {
            a.push(Some(x), &[]);
            b.push(Some(y), &[]);
        }
        Table::from_parts(TableParts {
            ids: (0..vals.len()).map(|i| format!("{i:03}").into()).collect(),
            source: vec![0; vals.len()],
            source_names: vec!["s".into()],
            columns: vec![a.finish(), b.finish()],
            truth: None,
        })
        .unwrap()
    }

    #[test]
    fn first_rule_wins_and_counts() {
        let mut t = table(&[("x", "1"), ("x", "1"), ("x", "2"), ("y", "2"), ("", "2")]);
        let rules = compile_rules(&mut t, &[vec!["a".into()], vec!["b".into()]]).unwrap();
        let bl = Blocker::new(&t, rules);
        let pairing = Pairing {
            link_only: false,
            side: vec![0; 5],
        };
        let c = bl.count(&pairing);
        assert_eq!(c[0].raw_pairs, 3);
        assert_eq!(c[1].raw_pairs, 1 + 3);
        let (pairs, marginal) = bl.generate(&pairing, |a, b, r| Some((a, b, r)));
        assert_eq!(marginal, vec![3, 3]);
        let mut ab: Vec<(u32, u32)> = pairs.iter().map(|p| (p.0, p.1)).collect();
        ab.sort();
        ab.dedup();
        assert_eq!(ab.len(), 6);
        assert!(bl.guard(&c, 3).is_err());
        assert!(bl.guard(&c, 4).is_ok());
    }

    #[test]
    fn oversized_blocks_are_skipped_not_refused() {
        // rule a: block "x" of 4 (6 pairs), block "y" of 2 (1 pair); rule b pairs everyone
        let mut t = table(&[
            ("x", "1"),
            ("x", "1"),
            ("x", "1"),
            ("x", "1"),
            ("y", "1"),
            ("y", "1"),
        ]);
        let rules = compile_rules(&mut t, &[vec!["a".into()], vec!["b".into()]]).unwrap();
        let mut bl = Blocker::new(&t, rules);
        let pairing = Pairing {
            link_only: false,
            side: vec![0; 6],
        };
        let caps = bl.cap_blocks(&pairing, 10);
        // rule a (7 pairs) fits; rule b (15 pairs) has one block of 6: all skipped
        assert_eq!(caps.len(), 1);
        assert_eq!(caps[0].rule_number, 2);
        assert_eq!((caps[0].skipped_blocks, caps[0].skipped_records), (1, 6));
        assert_eq!(caps[0].max_block_records, 1);
        let c = bl.count(&pairing);
        assert_eq!((c[0].raw_pairs, c[1].raw_pairs), (7, 0));
        assert!(c[1].skipped.is_some() && c[0].skipped.is_none());
        // rule a's pairs are still generated, and none twice
        let (pairs, marginal) = bl.generate(&pairing, |a, b, r| Some((a, b, r)));
        assert_eq!(marginal, vec![7, 0]);
        assert_eq!(pairs.len(), 7);
        assert!(bl.covers(0, 1) && !bl.covers(0, 4));
        // a cap that keeps the small block of rule a and skips the large one
        let mut t = table(&[
            ("x", "1"),
            ("x", "2"),
            ("x", "3"),
            ("x", "4"),
            ("y", "5"),
            ("y", "5"),
        ]);
        let rules = compile_rules(&mut t, &[vec!["a".into()], vec!["b".into()]]).unwrap();
        let mut bl = Blocker::new(&t, rules);
        let caps = bl.cap_blocks(&pairing, 3);
        assert_eq!(caps[0].max_block_records, 2);
        assert_eq!((caps[0].skipped_blocks, caps[0].skipped_pairs), (1, 6));
        // the pair in the kept block of rule a is found by rule a; rule b adds nothing new
        let (_, marginal) = bl.generate(&pairing, |_, _, _| None::<()>);
        assert_eq!(marginal, vec![1, 0]);
    }

    proptest::proptest! {
        /// Pairs touching flagged records, done records excluded, are exactly those of the
        /// full generation with that filter, each once and with the same rule.
        #[test]
        fn touching_is_the_full_generation_filtered(
            vals in proptest::collection::vec((0u8..4, 0u8..4), 2..40),
            flags in proptest::collection::vec(0u8..3, 40),
        ) {
            let strs: Vec<(String, String)> =
                vals.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
            let refs: Vec<(&str, &str)> = strs.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
            let mut t = table(&refs);
            let rules = compile_rules(&mut t, &[vec!["a".into()], vec!["b".into()]]).unwrap();
            let bl = Blocker::new(&t, rules);
            let n = vals.len();
            let pairing = Pairing { link_only: false, side: vec![0; n] };
            let flag: Vec<bool> = (0..n).map(|i| flags[i] == 1).collect();
            let done: Vec<bool> = (0..n).map(|i| flags[i] == 2).collect();
            let (all, _) = bl.generate(&pairing, |a, b, r| Some((a.min(b), a.max(b), r)));
            let mut want: Vec<(u32, u32, usize)> = all
                .into_iter()
                .filter(|&(a, b, _)| {
                    (flag[a as usize] || flag[b as usize]) && !done[a as usize] && !done[b as usize]
                })
                .collect();
            want.sort_unstable();
            let (got, visited) = bl.generate_touching(&pairing, &flag, &done, |a, b, r| Some((a, b, r)));
            let mut got = got;
            got.sort_unstable();
            proptest::prop_assert_eq!(visited as usize, got.len());
            proptest::prop_assert_eq!(got, want);
        }
    }
}
