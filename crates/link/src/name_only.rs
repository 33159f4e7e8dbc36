//! Records that carry a name and nothing else that tells people apart.
//!
//! A crisis team writes "Yolanda" (or "Yolandl") and a street corner. No pair score can link
//! that: a first name alone does not clear any sensible threshold against one record, and the
//! size prior ([`crate::cluster::SizePrior`]) weighs the record against a person's records as
//! if any Yolanda in the county were as likely. What does tell is who the source sees: the
//! question is "which of the people this agency already knows under that name, or someone it has
//! not met yet?", answered with counts the data gives:
//!
//! - a person P known to source S under the name (the commonest name among P's records)
//!   is weighed by `n(P, S)`, P's records in S, times the chance of the record's spelling
//!   given P's name (`m` of the exact level, or of the level at which the two names agree:
//!   misspelt, a nickname);
//! - someone S has not met yet is weighed by `N1(S)`, the people S has met exactly once
//!   (Good–Turing: the share of S's next records that are a new person is about the share of
//!   people seen once so far), times how common the name is among all persons (the persons
//!   whose name is the record's, or agrees with it at one of the levels, over all persons,
//!   with the same `m` per level).
//!
//! The record joins the likeliest person when that person's share of the total clears the
//! threshold. A common name ("Mark", with ten Marks among a crisis team's clients) stays
//! alone; a rare one seen often by that agency joins. Nothing is learned from labels: every
//! count is the clustering's own, taken before any name-only record of this run moves (an
//! incremental run counts the records earlier runs joined where they are, a full run decides
//! them all again from lone).
//!
//! The modal name stands for the person, and a pair of names counts at the fuzzy level only
//! when no level the comparison tries first takes it: "daniela" is Daniel's gender variant, not
//! his name misspelt.

use crate::data::NULL;
use rustc_hash::FxHashMap;

/// Inputs; one entry per record in every slice.
pub struct NameOnlyInput<'a> {
    /// Person per record (any numbering; each record of a person shares the label).
    pub labels: &'a [u32],
    pub sources: &'a [u32],
    /// Name code per record ([`NULL`]: none).
    pub names: &'a [u32],
    /// Records that may move: name-only, no reviewer decision (those not alone in their person
    /// are passed over here).
    pub movable: &'a [bool],
    /// The level (an index into `m_levels`) at which two distinct name codes agree, if any:
    /// the name misspelt, a nickname (`None`: exact only).
    pub level_of: Option<&'a (dyn Fn(u32, u32) -> Option<usize> + Sync)>,
    /// A key two names must share to agree at any level (the surname, when a name is a
    /// first name and a surname), so that only those are tried; `None`: every pair is tried.
    pub bucket: Option<&'a (dyn Fn(u32) -> u32 + Sync)>,
    /// P(the record gives the person's name exactly / at each level | the person).
    pub m_exact: f64,
    pub m_levels: &'a [f64],
    /// Posterior probability to clear.
    pub threshold: f64,
}

/// One decision: `record` joins the person labelled `person`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NameOnlyAttach {
    pub record: u32,
    pub person: u32,
    /// A member of that person (the lowest record index), for reporting the link.
    pub member: u32,
    pub posterior: f64,
}

/// Decide, for every movable record, whether it joins a person (see the module docs).
/// Decisions are taken on the persons as they stand; the result is in record order.
pub fn decide(inp: &NameOnlyInput<'_>) -> Vec<NameOnlyAttach> {
    let n = inp.labels.len();
    if !inp.movable.iter().any(|&m| m) {
        return Vec::new();
    }
    // per person: records, records per source, name counts, lowest member
    #[derive(Default)]
    struct Person {
        size: u32,
        by_source: Vec<(u32, u32)>,
        names: Vec<(u32, u32)>,
        member: u32,
    }
    let mut persons: FxHashMap<u32, Person> = FxHashMap::default();
    for r in 0..n {
        let p = persons.entry(inp.labels[r]).or_insert_with(|| Person {
            member: r as u32,
            ..Person::default()
        });
        p.size += 1;
        bump(&mut p.by_source, inp.sources[r]);
        if inp.names[r] != NULL {
            bump(&mut p.names, inp.names[r]);
        }
    }
    // a person's name: the commonest among its records (ties: the lower code, for a stable
    // answer)
    let modal = |p: &Person| -> Option<u32> {
        p.names
            .iter()
            .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
            .map(|x| x.0)
    };
    let mut with_name: FxHashMap<u32, f64> = FxHashMap::default();
    // persons known to a source under a name: (source, name) -> [(label, n(P, S))]
    let mut known: FxHashMap<(u32, u32), Vec<(u32, u32)>> = FxHashMap::default();
    // people each source has seen exactly once
    let mut seen_once: FxHashMap<u32, f64> = FxHashMap::default();
    let mut labels: Vec<u32> = persons.keys().copied().collect();
    labels.sort_unstable();
    for &l in &labels {
        let p = &persons[&l];
        for &(s, k) in &p.by_source {
            if k == 1 {
                *seen_once.entry(s).or_default() += 1.0;
            }
        }
        if let Some(name) = modal(p) {
            *with_name.entry(name).or_default() += 1.0;
            for &(s, k) in &p.by_source {
                known.entry((s, name)).or_default().push((l, k));
            }
        }
    }
    // the share of a name is over the persons that have one (in the tier of a name and an
    // initial, persons without a surname have none and are not counted)
    let total_persons: f64 = with_name.values().sum();
    let all_names: Vec<(u32, f64)> = {
        let mut v: Vec<(u32, f64)> = with_name.iter().map(|(&k, &c)| (k, c)).collect();
        v.sort_unstable_by_key(|x| x.0);
        v
    };
    // the records weighed: movable, with a name, alone in their person
    let lone: Vec<usize> = (0..n)
        .filter(|&r| inp.movable[r] && inp.names[r] != NULL && persons[&inp.labels[r]].size == 1)
        .collect();
    // names that agree at a level with each name such a record carries
    let mut near: FxHashMap<u32, Vec<(u32, f64)>> = FxHashMap::default();
    if let Some(level_of) = inp.level_of {
        // without a bucket, every name is in one
        let key = |w: u32| inp.bucket.map_or(0, |b| b(w));
        let mut buckets: FxHashMap<u32, Vec<u32>> = FxHashMap::default();
        for &(w, _) in &all_names {
            buckets.entry(key(w)).or_default().push(w);
        }
        for &r in &lone {
            let v = inp.names[r];
            near.entry(v).or_insert_with(|| {
                buckets
                    .get(&key(v))
                    .map_or(&[][..], |b| &b[..])
                    .iter()
                    .filter(|&&w| w != v)
                    .filter_map(|&w| level_of(v, w).map(|l| (w, inp.m_levels[l])))
                    .collect()
            });
        }
    }
    let mut out = Vec::new();
    for r in lone {
        let (v, own, s) = (inp.names[r], inp.labels[r], inp.sources[r]);
        let none = Vec::new();
        let close = near.get(&v).unwrap_or(&none);
        // the record is one of the persons counted: leave it out of its own name's count
        let freq = |name: u32| {
            let c = with_name.get(&name).copied().unwrap_or(0.0) - f64::from(name == v);
            c.max(0.0) / (total_persons - 1.0).max(1.0)
        };
        let mut candidates: Vec<(u32, f64)> = Vec::new();
        let mut add = |name: u32, m: f64| {
            for &(l, k) in known.get(&(s, name)).unwrap_or(&Vec::new()) {
                if l != own && persons[&l].size >= 2 {
                    candidates.push((l, f64::from(k) * m));
                }
            }
        };
        add(v, inp.m_exact);
        for &(w, m) in close {
            add(w, m);
        }
        if candidates.is_empty() {
            continue;
        }
        // the record itself is one of the people its source saw once
        let once = seen_once.get(&s).copied().unwrap_or(0.0).max(1.0);
        let new =
            once * (freq(v) * inp.m_exact + close.iter().map(|&(w, m)| freq(w) * m).sum::<f64>());
        let sum: f64 = candidates.iter().map(|c| c.1).sum::<f64>() + new;
        // ties go to the person with the lower first record (labels differ between a full
        // and an incremental run; records do not)
        let &(best, weight) = candidates
            .iter()
            .max_by(|a, b| {
                a.1.total_cmp(&b.1)
                    .then(persons[&b.0].member.cmp(&persons[&a.0].member))
            })
            .expect("non-empty");
        let posterior = weight / sum;
        if posterior >= inp.threshold {
            out.push(NameOnlyAttach {
                record: r as u32,
                person: best,
                member: persons[&best].member,
                posterior,
            });
        }
    }
    out
}

fn bump(v: &mut Vec<(u32, u32)>, key: u32) {
    match v.iter_mut().find(|x| x.0 == key) {
        Some(x) => x.1 += 1,
        None => v.push((key, 1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Names: 0 yolanda, 1 yolandl (a misspelling), 2 mark, 3..: other names.
    fn fuzzy(a: u32, b: u32) -> Option<usize> {
        matches!((a.min(b), a.max(b)), (0, 1)).then_some(0)
    }

    struct County {
        labels: Vec<u32>,
        sources: Vec<u32>,
        names: Vec<u32>,
    }

    impl County {
        /// A person of `k` records in `source` (and `elsewhere` more in source 9) named `name`.
        fn person(&mut self, name: u32, source: u32, k: u32, elsewhere: u32) -> u32 {
            let label = self.labels.iter().max().map_or(0, |m| m + 1);
            for i in 0..k + elsewhere {
                self.labels.push(label);
                self.sources.push(if i < k { source } else { 9 });
                self.names.push(name);
            }
            label
        }
        fn run(&self, record: usize, threshold: f64) -> Vec<NameOnlyAttach> {
            // names tried only within a bucket the fuzzy pairs share decide the same
            let all = self.run_with(record, threshold, &fuzzy, None);
            let bucket = |v: u32| u32::from(v >= 2);
            assert_eq!(all, self.run_with(record, threshold, &fuzzy, Some(&bucket)));
            all
        }
        /// `record` decided with levels 0 (m 0.05) and 1 (m 0.02) as `level_of` gives them.
        fn run_with(
            &self,
            record: usize,
            threshold: f64,
            level_of: &(dyn Fn(u32, u32) -> Option<usize> + Sync),
            bucket: Option<&(dyn Fn(u32) -> u32 + Sync)>,
        ) -> Vec<NameOnlyAttach> {
            let mut movable = vec![false; self.labels.len()];
            movable[record] = true;
            decide(&NameOnlyInput {
                labels: &self.labels,
                sources: &self.sources,
                names: &self.names,
                movable: &movable,
                level_of: Some(level_of),
                bucket,
                m_exact: 0.9,
                m_levels: &[0.05, 0.02],
                threshold,
            })
        }
    }

    /// 300 people with names 3.. seen once by source 1, and 50 more elsewhere only.
    fn county() -> County {
        let mut c = County {
            labels: Vec::new(),
            sources: Vec::new(),
            names: Vec::new(),
        };
        for i in 0..300 {
            c.person(3 + i % 150, 1, 1, 0);
        }
        for i in 0..50 {
            c.person(3 + i, 0, 0, 1);
        }
        c
    }

    /// A name that agrees with the person's at another level (a nickname, level 1) joins the
    /// same way, weighed with that level's m; a name no level takes stays alone.
    #[test]
    fn a_name_at_another_level_joins_too() {
        let mut c = county();
        let yolanda = c.person(0, 1, 8, 40);
        let r = c.labels.len();
        c.person(2, 1, 1, 0);
        let run = |level_of: &(dyn Fn(u32, u32) -> Option<usize> + Sync)| {
            c.run_with(r, 0.8, level_of, None)
        };
        // name 2 is a nickname of name 0 here
        let nick = |a: u32, b: u32| match (a.min(b), a.max(b)) {
            (0, 1) => Some(0),
            (0, 2) => Some(1),
            _ => None,
        };
        let got = run(&nick);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].person, yolanda);
        assert!(run(&fuzzy).is_empty(), "no level takes the pair");
    }

    #[test]
    fn a_rare_name_the_source_sees_often_joins_that_person() {
        let mut c = county();
        let yolanda = c.person(0, 1, 8, 40);
        let r = c.labels.len();
        c.person(1, 1, 1, 0);
        let got = c.run(r, 0.8);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].person, yolanda);
        assert!(got[0].posterior > 0.9, "{}", got[0].posterior);
    }

    #[test]
    fn a_common_name_stays_alone() {
        let mut c = county();
        // a frequent Mark, and many people named Mark across the county
        c.person(2, 1, 3, 20);
        for _ in 0..60 {
            c.person(2, 0, 0, 1);
        }
        let r = c.labels.len();
        c.person(2, 1, 1, 0);
        assert!(c.run(r, 0.8).is_empty());
    }

    #[test]
    fn two_people_the_source_knows_under_the_name_split_the_posterior() {
        let mut c = county();
        c.person(0, 1, 8, 10);
        c.person(0, 1, 7, 10);
        let r = c.labels.len();
        c.person(0, 1, 1, 0);
        assert!(c.run(r, 0.8).is_empty());
        // at a threshold under a half, the one seen more often
        let got = c.run(r, 0.4);
        assert_eq!(got.len(), 1);
        assert_eq!(c.labels[got[0].member as usize], got[0].person);
        assert_eq!(c.labels.iter().filter(|&&l| l == got[0].person).count(), 18);
    }

    #[test]
    fn a_person_other_sources_know_is_not_a_candidate_of_this_source() {
        let mut c = county();
        // Yolanda is known to source 0 only: for source 1 she is someone new
        c.person(0, 0, 8, 40);
        let r = c.labels.len();
        c.person(1, 1, 1, 0);
        assert!(c.run(r, 0.5).is_empty());
    }

    #[test]
    fn only_movable_lone_records_move() {
        let mut c = county();
        c.person(0, 1, 8, 40);
        let r = c.labels.len();
        // a "Yolandl" with another record is a person already
        c.person(1, 1, 2, 0);
        assert!(c.run(r, 0.8).is_empty());
        let none = vec![false; c.labels.len()];
        assert!(decide(&NameOnlyInput {
            labels: &c.labels,
            sources: &c.sources,
            names: &c.names,
            movable: &none,
            level_of: Some(&fuzzy),
            bucket: None,
            m_exact: 0.9,
            m_levels: &[0.05],
            threshold: 0.5,
        })
        .is_empty());
    }

    proptest::proptest! {
        /// Above a half, the person chosen has most of the mass, so what is decided does not
        /// depend on how persons are numbered nor on the order of the records.
        #[test]
        fn decisions_do_not_depend_on_numbering_or_order(
            recs in proptest::collection::vec((0u32..12, 0u32..3, 0u32..6), 2..80),
            movable_every in 1usize..4,
            seed in 0u64..1000,
        ) {
            let labels: Vec<u32> = recs.iter().map(|r| r.0).collect();
            let sources: Vec<u32> = recs.iter().map(|r| r.1).collect();
            let names: Vec<u32> = recs.iter().map(|r| r.2).collect();
            let movable: Vec<bool> = (0..recs.len()).map(|i| i % movable_every == 0).collect();
            let run = |labels: &[u32], sources: &[u32], names: &[u32], movable: &[bool]| {
                decide(&NameOnlyInput {
                    labels,
                    sources,
                    names,
                    movable,
                    level_of: Some(&fuzzy),
                    bucket: None,
                    m_exact: 0.9,
                    m_levels: &[0.05],
                    threshold: 0.6,
                })
            };
            let base = run(&labels, &sources, &names, &movable);
            // renumber persons and reverse-rotate the records
            let n = recs.len();
            let shift = (seed as usize) % n;
            let perm: Vec<usize> = (0..n).map(|i| (n - 1 - i + shift) % n).collect();
            let relabel = |l: u32| (l * 7 + seed as u32) % 1009;
            let labels2: Vec<u32> = perm.iter().map(|&i| relabel(labels[i])).collect();
            let sources2: Vec<u32> = perm.iter().map(|&i| sources[i]).collect();
            let names2: Vec<u32> = perm.iter().map(|&i| names[i]).collect();
            let movable2: Vec<bool> = perm.iter().map(|&i| movable[i]).collect();
            let other = run(&labels2, &sources2, &names2, &movable2);
            let mut a: Vec<(usize, u32)> = base.iter().map(|d| (d.record as usize, relabel(d.person))).collect();
            let mut b: Vec<(usize, u32)> = other.iter().map(|d| (perm[d.record as usize], d.person)).collect();
            a.sort_unstable();
            b.sort_unstable();
            proptest::prop_assert_eq!(a, b);
            for d in &base {
                proptest::prop_assert!(d.posterior >= 0.6 && d.posterior <= 1.0);
                proptest::prop_assert_eq!(labels[d.member as usize], d.person);
                proptest::prop_assert!(d.person != labels[d.record as usize]);
            }
        }
    }
}
