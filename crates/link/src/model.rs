//! Fellegi–Sunter: compiled comparisons, u by random sampling, λ from deterministic rules, m by
//! EM over the histogram of distinct comparison vectors, term-frequency adjustments.
//!
//! Level indices: 0 is the null level (either side null; weight 0), `1..=k` the declared levels
//! in order, `k + 1` "else". A comparison vector packs 4 bits per comparison into a `u64`.

use crate::block::{Blocker, Pairing};
use crate::compare::{self, DateVal};
use crate::data::{Table, NULL};
use crate::error::LinkError;
use crate::spec::{ComparisonSpec, KeyExpr, Level};
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

pub const MAX_COMPARISONS: usize = 16;
/// Declared levels per comparison (plus null and else = 16 = 4 bits).
pub const MAX_LEVELS: usize = 14;

const M_FLOOR: f64 = 1e-6;

/// A comparison bound to table columns, with per-value features precomputed.
#[derive(Debug, Clone)]
pub struct CompiledComparison {
    pub name: String,
    pub col: usize,
    pub swap_col: Option<usize>,
    pub alias_col: Option<usize>,
    pub scope_col: Option<usize>,
    /// Compared only when this column differs on the two sides (`apart`).
    pub apart_col: Option<usize>,
    /// Column whose words the `name_tokens` level compares.
    pub tokens_col: Option<usize>,
    /// Term frequencies count distinct values of this column per value (`tf_distinct`).
    pub tf_distinct_col: Option<usize>,
    pub levels: Vec<Level>,
    /// Labels of all levels: "null", declared..., "else".
    pub labels: Vec<String>,
    /// Level index of `exact`, if declared.
    pub exact: Option<u8>,
    /// The level two equal values always take: `exact` when it is the first level (a level
    /// tried before it, such as `initial` for middle names, can take equal values too).
    pub equal: Option<u8>,
    /// Level index of `swapped`, if declared (with `exact`: capped at the exact weight).
    pub swapped: Option<u8>,
    pub tf: bool,
    pub tf_min_u: f64,
    /// Raw columns read (for EM session exclusion).
    pub base_columns: Vec<String>,
    dm: Option<Vec<(u32, u32)>>,
    dates: Option<Vec<CDate>>,
    /// Main-column code -> swap-column code of the same text (for `swapped`).
    swap_cross: Option<Vec<u32>>,
    /// Sorted distinct token hashes per value (for `token_jaccard`), flat: value `v` owns
    /// `tokens.1[tokens.0[v]..tokens.0[v + 1]]`.
    tokens: Option<(Vec<u32>, Vec<u32>)>,
    /// Sorted distinct word hashes per value of `tokens_col` (for `name_tokens`), flat as
    /// `tokens`.
    name_words: Option<(Vec<u32>, Vec<u64>)>,
    prior_m: Option<Vec<f64>>,
    fixed_u: Option<Vec<f64>>,
    /// Level indices whose weight is forced to `VETO_WEIGHT`.
    pub veto: Vec<u8>,
}

/// Weight of a vetoed level.
pub const VETO_WEIGHT: f64 = -100.0;

impl CompiledComparison {
    pub fn n_levels(&self) -> usize {
        self.levels.len() + 2
    }
    pub fn else_level(&self) -> u8 {
        (self.levels.len() + 1) as u8
    }
}

pub fn compile_comparison(
    table: &mut Table,
    spec: &ComparisonSpec,
) -> Result<CompiledComparison, LinkError> {
    let f = format!("comparison {:?}", spec.name);
    let expr = KeyExpr::parse(spec.column_expr()).map_err(|m| LinkError::spec(&f, m))?;
    let col = table.expr_column(&expr)?;
    let mut base_columns: Vec<String> = expr.columns().iter().map(|c| c.to_string()).collect();
    let mut other = |c: &Option<String>| -> Result<Option<usize>, LinkError> {
        match c {
            None => Ok(None),
            Some(e) => {
                let k = KeyExpr::parse(e).map_err(|m| LinkError::spec(&f, m))?;
                base_columns.extend(k.columns().iter().map(|c| c.to_string()));
                Ok(Some(table.expr_column(&k)?))
            }
        }
    };
    let swap_col = other(&spec.swap_with)?;
    let alias_col = other(&spec.aliases)?;
    let scope_col = other(&spec.scope)?;
    let apart_col = other(&spec.apart)?;
    let tokens_col = other(&spec.tokens_of)?;
    let tf_distinct_col = other(&spec.tf_distinct)?;
    let levels: Vec<Level> = spec
        .levels
        .iter()
        .map(|l| Level::parse(l).map_err(|m| LinkError::spec(&f, m)))
        .collect::<Result<_, _>>()?;
    let mut labels = vec!["null".to_string()];
    labels.extend(spec.levels.iter().cloned());
    labels.push("else".into());
    let exact = levels
        .iter()
        .position(|l| *l == Level::Exact)
        .map(|p| (p + 1) as u8);
    let swapped = levels
        .iter()
        .position(|l| *l == Level::Swapped)
        .map(|p| (p + 1) as u8);
    let values = &table.columns[col].values;
    let dm = levels.contains(&Level::Phonetic).then(|| {
        let mut codes: FxHashMap<String, u32> = FxHashMap::default();
        codes.insert(String::new(), 0);
        let raw: Vec<(String, String)> = values
            .par_iter()
            .map(|v| compare::double_metaphone(v))
            .collect();
        raw.into_iter()
            .map(|(p, a)| {
                let n = codes.len() as u32;
                let pc = *codes.entry(p).or_insert(n);
                let n = codes.len() as u32;
                let ac = *codes.entry(a).or_insert(n);
                (pc, ac)
            })
            .collect()
    });
    let dates = levels.iter().any(Level::needs_date).then(|| {
        values
            .par_iter()
            .map(|v| CDate::from(compare::parse_date(v).as_ref()))
            .collect()
    });
    let swap_cross = swap_col.map(|sc| {
        let other: FxHashMap<&str, u32> = table.columns[sc]
            .values
            .iter()
            .enumerate()
            .map(|(i, v)| (&**v, i as u32))
            .collect();
        values
            .iter()
            .map(|v| other.get(&**v).copied().unwrap_or(NULL))
            .collect()
    });
    let tokens = levels
        .iter()
        .any(|l| matches!(l, Level::TokenJaccard(_)))
        .then(|| {
            let per: Vec<Vec<u32>> = values.par_iter().map(|v| token_hashes(v)).collect();
            flatten(per)
        });
    let name_words = tokens_col
        .filter(|_| levels.contains(&Level::NameTokens))
        .map(|tc| {
            let per: Vec<Vec<u64>> = table.columns[tc]
                .values
                .par_iter()
                .map(|v| {
                    let mut h: Vec<u64> = compare::name_words(v).iter().map(|w| fnv64(w)).collect();
                    h.sort_unstable();
                    h.dedup();
                    h
                })
                .collect();
            flatten(per)
        });
    Ok(CompiledComparison {
        name: spec.name.clone(),
        col,
        swap_col,
        alias_col,
        scope_col,
        apart_col,
        tokens_col,
        tf_distinct_col,
        name_words,
        levels,
        labels,
        exact,
        equal: exact.filter(|&e| e == 1),
        swapped,
        tf: spec.tf,
        tf_min_u: spec.tf_min_u.unwrap_or(0.0),
        base_columns,
        dm,
        dates,
        swap_cross,
        tokens,
        prior_m: spec.m.clone(),
        fixed_u: spec.u.clone(),
        veto: spec
            .veto
            .iter()
            .filter_map(|v| {
                if v == "else" {
                    Some((spec.levels.len() + 1) as u8)
                } else {
                    spec.levels
                        .iter()
                        .position(|l| l == v)
                        .map(|p| (p + 1) as u8)
                }
            })
            .collect(),
    })
}

/// The comparison engine: compiled comparisons over a table, with record codes laid out row by
/// row for cache-friendly pair scoring.
#[derive(Debug, Clone)]
pub struct Comparator {
    pub comps: Vec<CompiledComparison>,
    /// Distinct table columns used, and per record their codes (`rows[i * stride + slot]`).
    pub slot_cols: Vec<usize>,
    pub stride: usize,
    pub rows: Vec<u32>,
    pub(crate) slots: Vec<[Option<usize>; 6]>,
}

impl Comparator {
    pub fn new(table: &Table, comps: Vec<CompiledComparison>) -> Comparator {
        let mut slot_cols: Vec<usize> = Vec::new();
        let mut slot_of = |c: usize| -> usize {
            if let Some(p) = slot_cols.iter().position(|&x| x == c) {
                p
            } else {
                slot_cols.push(c);
                slot_cols.len() - 1
            }
        };
        let slots: Vec<[Option<usize>; 6]> = comps
            .iter()
            .map(|c| {
                [
                    Some(slot_of(c.col)),
                    c.swap_col.map(&mut slot_of),
                    c.alias_col.map(&mut slot_of),
                    c.scope_col.map(&mut slot_of),
                    c.tokens_col.map(&mut slot_of),
                    c.apart_col.map(&mut slot_of),
                ]
            })
            .collect();
        let stride = slot_cols.len();
        let n = table.len();
        let mut rows = vec![0u32; n * stride];
        rows.par_chunks_mut(stride.max(1))
            .enumerate()
            .for_each(|(i, r)| {
                for (s, &c) in slot_cols.iter().enumerate() {
                    r[s] = table.columns[c].codes[i];
                }
            });
        Comparator {
            comps,
            slot_cols,
            stride,
            rows,
            slots,
        }
    }

    #[inline]
    pub fn row(&self, i: u32) -> &[u32] {
        let s = i as usize * self.stride;
        &self.rows[s..s + self.stride]
    }

    /// Level of comparison `ci` for records `a`, `b`.
    pub fn level(&self, table: &Table, ci: usize, a: u32, b: u32) -> u8 {
        let ra = self.row(a);
        let rb = self.row(b);
        self.level_rows(table, ci, ra, rb)
    }

    #[inline]
    pub(crate) fn level_rows(&self, table: &Table, ci: usize, ra: &[u32], rb: &[u32]) -> u8 {
        let c = &self.comps[ci];
        let [main, swap, alias, scope, words, apart] = self.slots[ci];
        let main = main.expect("main slot");
        if let Some(s) = scope {
            if ra[s] == NULL || ra[s] != rb[s] {
                return 0;
            }
        }
        if let Some(s) = apart {
            if ra[s] != NULL && ra[s] == rb[s] {
                return 0;
            }
        }
        let (x, y) = (ra[main], rb[main]);
        if x == NULL || y == NULL {
            // one side's place is missing, but its home may still be the other's place
            if let Some(k) = c.levels.iter().position(|l| matches!(l, Level::Cross)) {
                if cross_hit(c, swap, x, y, ra, rb) {
                    return (k + 1) as u8;
                }
            }
            return 0;
        }
        if x == y {
            if let Some(e) = c.equal {
                return e;
            }
        }
        let values = &table.columns[c.col].values;
        let mut strs: Option<(&str, &str)> = None;
        let mut sv = || *strs.get_or_insert_with(|| (&*values[x as usize], &*values[y as usize]));
        let mut jw: Option<f64> = None;
        let mut dl: Option<usize> = None;
        for (k, l) in c.levels.iter().enumerate() {
            let hit = match l {
                Level::Exact => x == y,
                Level::JaroWinkler(t) => {
                    let (va, vb) = sv();
                    *jw.get_or_insert_with(|| compare::jaro_winkler(va, vb)) >= *t
                }
                Level::DamerauLevenshtein(1) if dl.is_none() => {
                    let (va, vb) = sv();
                    compare::within_one_edit(va, vb)
                }
                Level::DamerauLevenshtein(k) => {
                    let (va, vb) = sv();
                    *dl.get_or_insert_with(|| compare::damerau_levenshtein(va, vb)) <= *k
                }
                Level::Jaro(_)
                | Level::Levenshtein(_)
                | Level::TokenOverlap
                | Level::FirstToken
                | Level::Nickname
                | Level::GenderVariant
                | Level::Initial => {
                    let (va, vb) = sv();
                    l.hit_on_text(va, vb) == Some(true)
                }
                Level::TokenJaccard(t) => {
                    let (off, data) = c.tokens.as_ref().expect("tokens");
                    let ta = &data[off[x as usize] as usize..off[x as usize + 1] as usize];
                    let tb = &data[off[y as usize] as usize..off[y as usize + 1] as usize];
                    jaccard_sorted(ta, tb) >= *t
                }
                Level::Phonetic => {
                    let dm = c.dm.as_ref().expect("phonetic codes");
                    let (pa, aa) = dm[x as usize];
                    let (pb, ab) = dm[y as usize];
                    pa != 0
                        && pb != 0
                        && (pa == pb || pa == ab || aa == pb || (aa != 0 && aa == ab))
                }
                Level::Swapped => {
                    let s = swap.expect("swap slot");
                    let cross = c.swap_cross.as_ref().expect("swap map");
                    let (cx, cy) = (cross[x as usize], cross[y as usize]);
                    cx != NULL && cy != NULL && cx == rb[s] && cy == ra[s]
                }
                Level::Cross => cross_hit(c, swap, x, y, ra, rb),
                Level::NameTokens => {
                    let s = words.expect("tokens_of slot");
                    let (off, data) = c.name_words.as_ref().expect("name words");
                    let (wa, wb) = (ra[s], rb[s]);
                    wa != NULL
                        && wb != NULL
                        && compare::words_subset(
                            &data[off[wa as usize] as usize..off[wa as usize + 1] as usize],
                            &data[off[wb as usize] as usize..off[wb as usize + 1] as usize],
                        )
                }
                Level::Alias => {
                    let s = alias.expect("alias slot");
                    let av = &table.columns[c.alias_col.expect("alias col")].values;
                    let (aa, ab) = (ra[s], rb[s]);
                    let la = (aa != NULL).then(|| &*av[aa as usize]);
                    let lb = (ab != NULL).then(|| &*av[ab as usize]);
                    let (va, vb) = sv();
                    alias_hit(va, vb, la, lb)
                }
                _ => {
                    let d = c.dates.as_ref().expect("dates");
                    let (da, db) = (d[x as usize], d[y as usize]);
                    da.valid() && db.valid() && date_level(l, &da, &db)
                }
            };
            if hit {
                return (k + 1) as u8;
            }
        }
        c.else_level()
    }

    /// Packed comparison vector of a pair.
    pub fn vector(&self, table: &Table, a: u32, b: u32) -> u64 {
        let ra = self.row(a);
        let rb = self.row(b);
        let mut v = 0u64;
        for ci in 0..self.comps.len() {
            v |= u64::from(self.level_rows(table, ci, ra, rb)) << (4 * ci);
        }
        v
    }

    /// Match weight of a pair, or None as soon as it can no longer reach `threshold`
    /// (`suffix_max[ci]` = the largest weight comparisons `ci..` can still add).
    #[inline]
    pub fn score_pruned(
        &self,
        table: &Table,
        w: &Weights,
        suffix_max: &[f64],
        a: u32,
        b: u32,
        threshold: f64,
    ) -> Option<f64> {
        let ra = self.row(a);
        let rb = self.row(b);
        let mut s = w.prior_of(&table.source, a, b);
        for ci in 0..self.comps.len() {
            let l = self.level_rows(table, ci, ra, rb);
            s += w.w[ci][l as usize]
                + w.adjustment(&self.comps[ci], ci, l, || {
                    let slot = self.slots[ci][0].expect("main slot");
                    (ra[slot], rb[slot])
                });
            if s + suffix_max[ci + 1] < threshold {
                return None;
            }
        }
        Some(s)
    }

    /// Code of the compared value of record `a` in comparison `ci`.
    #[inline]
    pub fn code(&self, ci: usize, a: u32) -> u32 {
        self.row(a)[self.slots[ci][0].expect("main slot")]
    }
}

/// FNV-1a, 64 bits.
fn fnv64(t: &str) -> u64 {
    let mut x: u64 = 0xcbf2_9ce4_8422_2325;
    for b in t.bytes() {
        x ^= u64::from(b);
        x = x.wrapping_mul(0x100_0000_01b3);
    }
    x
}

fn token_hashes(v: &str) -> Vec<u32> {
    let mut h: Vec<u32> = v
        .split_whitespace()
        .filter(|t| *t != "|")
        .map(|t| {
            // FNV-1a
            let mut x: u64 = 0xcbf2_9ce4_8422_2325;
            for b in t.bytes() {
                x ^= u64::from(b);
                x = x.wrapping_mul(0x100_0000_01b3);
            }
            (x ^ (x >> 32)) as u32
        })
        .collect();
    h.sort_unstable();
    h.dedup();
    h
}

/// Jaccard similarity of two sorted distinct sets.
fn jaccard_sorted(a: &[u32], b: &[u32]) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let (mut i, mut j, mut inter) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                inter += 1;
                i += 1;
                j += 1;
            }
        }
    }
    inter as f64 / (a.len() + b.len() - inter) as f64
}

/// Whether one record's name is among the other's aliases, or the two share an alias. A
/// record's own name in its alias list (booking systems often list it under AKA) is not an
/// alias: it would count the names' agreement a second time.
fn alias_hit(va: &str, vb: &str, la: Option<&str>, lb: Option<&str>) -> bool {
    let split = |l: Option<&str>, own: &str| -> Vec<String> {
        l.map(|s| {
            s.split('|')
                .map(compare::normalize)
                .filter(|x| !x.is_empty() && x != own)
                .collect()
        })
        .unwrap_or_default()
    };
    let (aa, ab) = (split(la, va), split(lb, vb));
    ab.iter().any(|x| x == va) || aa.iter().any(|x| x == vb) || aa.iter().any(|x| ab.contains(x))
}

/// A parsed date in 12 bytes (month / day 0 = unknown; `days` = i32::MIN when not a valid full
/// calendar date; year i32::MIN = no date).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CDate {
    year: i32,
    month: u8,
    day: u8,
    days: i32,
}

impl From<Option<&DateVal>> for CDate {
    fn from(d: Option<&DateVal>) -> Self {
        match d {
            None => CDate {
                year: i32::MIN,
                month: 0,
                day: 0,
                days: i32::MIN,
            },
            Some(d) => CDate {
                year: d.year,
                month: d.month.unwrap_or(0).min(255) as u8,
                day: d.day.unwrap_or(0).min(255) as u8,
                days: d.days.map_or(i32::MIN, |x| x as i32),
            },
        }
    }
}

impl CDate {
    fn valid(&self) -> bool {
        self.year != i32::MIN
    }
    fn full(&self) -> bool {
        self.month != 0 && self.day != 0
    }
    fn days_apart(&self, o: &CDate) -> Option<u32> {
        (self.days != i32::MIN && o.days != i32::MIN).then(|| self.days.abs_diff(o.days))
    }
}

fn date_level(l: &Level, a: &CDate, b: &CDate) -> bool {
    match l {
        Level::DateDmSwap => {
            a.year == b.year
                && a.full()
                && b.full()
                && a.month == b.day
                && a.day == b.month
                && a.month != a.day
        }
        Level::DateYearOff(k) => {
            a.full()
                && b.full()
                && a.month == b.month
                && a.day == b.day
                && a.year.abs_diff(b.year) <= *k
        }
        Level::DateWithinDays(k) => a.days_apart(b).is_some_and(|d| u64::from(d) <= *k),
        Level::DateWithinYears(k) => a
            .days_apart(b)
            .is_some_and(|d| f64::from(d) <= f64::from(*k) * 365.25),
        Level::DateSameYearMonth => a.full() && b.full() && a.year == b.year && a.month == b.month,
        Level::DateSameYear => a.full() && b.full() && a.year == b.year,
        Level::DatePartial => {
            !(a.full() && b.full())
                && a.year == b.year
                && (a.month == 0 || b.month == 0 || a.month == b.month)
        }
        _ => false,
    }
}

#[inline]
pub fn level_of(v: u64, ci: usize) -> usize {
    ((v >> (4 * ci)) & 15) as usize
}

// ------------------------------------------------------------------------------- parameters

/// Learned parameters of one level.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LevelParams {
    pub label: String,
    pub m: f64,
    pub u: f64,
    /// log2(m / u).
    pub weight: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ComparisonParams {
    pub name: String,
    pub tf: bool,
    /// Levels `1..=k` and else (the null level has weight 0 and is not listed).
    pub levels: Vec<LevelParams>,
    /// Where m came from: EM session names, "labels", or "prior".
    pub m_from: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Params {
    /// Probability that two random records (allowed pair) match.
    pub lambda: f64,
    pub lambda_from: String,
    pub prior_weight: f64,
    pub comparisons: Vec<ComparisonParams>,
    pub em_sessions: Vec<EmSessionReport>,
    /// With `prior_refit = "by_source"`: λ per pair of sources (a pair of sources not listed
    /// takes the global prior).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub source_priors: Vec<SourcePrior>,
}

/// λ of one pair of sources, re-estimated on its scored candidate pairs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourcePrior {
    pub left: String,
    pub right: String,
    /// All allowed pairs between the two sources (within one source when equal).
    pub pairs: f64,
    /// Candidate pairs scored.
    pub candidates: u64,
    /// Σ match probability over the candidates at this λ.
    pub expected_matches: f64,
    pub lambda: f64,
    pub weight: f64,
}

/// Prior weight per (source of a, source of b), indexed `sa * n + sb`.
#[derive(Debug, Clone)]
pub struct PairPrior {
    pub n: usize,
    pub w: Vec<f64>,
}

impl PairPrior {
    /// The matrix for a table's sources from stored priors; pairs of sources not listed
    /// take `global`. None when no priors are given.
    pub fn resolve(priors: &[SourcePrior], source_names: &[String], global: f64) -> Option<Self> {
        if priors.is_empty() {
            return None;
        }
        let n = source_names.len();
        let mut w = vec![global; n * n];
        let ix = |name: &str| source_names.iter().position(|s| s == name);
        for p in priors {
            if let (Some(a), Some(b)) = (ix(&p.left), ix(&p.right)) {
                if p.weight.is_finite() {
                    w[a * n + b] = p.weight;
                    w[b * n + a] = p.weight;
                }
            }
        }
        Some(PairPrior { n, w })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EmSessionReport {
    pub rule: String,
    pub pairs: u64,
    pub sampled_pairs: u64,
    pub distinct_vectors: usize,
    pub iterations: usize,
    pub lambda: f64,
    pub log_likelihood: Vec<f64>,
    /// Comparisons whose m this session estimated.
    pub estimated: Vec<String>,
}

/// Match weights ready for scoring.
#[derive(Debug, Clone)]
pub struct Weights {
    pub prior: f64,
    /// Per pair of sources, when λ was re-estimated by source; else `prior` for every pair.
    pub pair_prior: Option<PairPrior>,
    /// Per comparison, per level.
    pub w: Vec<Vec<f64>>,
    /// Per comparison: TF adjustment per value code (empty when TF is off).
    pub tf_adj: Vec<Vec<f32>>,
}

impl Weights {
    /// Weights from stored parameters (a model trained on an earlier run): the level weights
    /// and prior as stored, the term-frequency adjustments recomputed from `table`'s value
    /// frequencies with the stored u of the exact level. None when `params` does not fit `cmp`
    /// (another spec).
    pub fn from_params(params: &Params, table: &Table, cmp: &Comparator) -> Option<Weights> {
        if params.comparisons.len() != cmp.comps.len() {
            return None;
        }
        let mut w = Vec::with_capacity(cmp.comps.len());
        let mut tf_adj = Vec::with_capacity(cmp.comps.len());
        for (ci, (c, p)) in cmp.comps.iter().zip(&params.comparisons).enumerate() {
            if p.name != c.name || p.levels.len() + 1 != c.n_levels() {
                return None;
            }
            let mut lw = vec![0.0];
            lw.extend(p.levels.iter().map(|l| l.weight));
            if lw.iter().any(|x| !x.is_finite()) {
                return None;
            }
            w.push(lw);
            let ue = c.exact.map_or(0.0, |e| p.levels[e as usize - 1].u);
            tf_adj.push(tf_adjustments(table, cmp, ci, ue));
        }
        Some(Weights {
            prior: params.prior_weight,
            pair_prior: PairPrior::resolve(
                &params.source_priors,
                &table.source_names,
                params.prior_weight,
            ),
            w,
            tf_adj,
        })
    }

    /// Prior weight of the pair (a, b).
    #[inline]
    pub fn prior_of(&self, source: &[u32], a: u32, b: u32) -> f64 {
        match &self.pair_prior {
            None => self.prior,
            Some(p) => p.w[source[a as usize] as usize * p.n + source[b as usize] as usize],
        }
    }

    /// What is added to level `l`'s weight of comparison `ci` for a pair whose value codes
    /// (main column) `codes` gives: on `exact`, the term-frequency adjustment of the value; on
    /// `swapped`, whatever brings it down to the exact level's weight for the value (TF
    /// included) when it is above. Two names agreeing crosswise are no stronger evidence than
    /// the same names agreeing in place, though the crosswise coincidence is rarer among
    /// non-matches (its u is small): "JOHNSON JAMES" is a James Johnson written in the wrong
    /// fields, as likely any James Johnson as a correctly written one is. Of the two values
    /// (JAMES and JOHNSON, for the first-name comparison) the commoner one is the in-place
    /// reading, and taking it keeps the score symmetric.
    #[inline]
    pub fn adjustment(
        &self,
        c: &CompiledComparison,
        ci: usize,
        l: u8,
        codes: impl FnOnce() -> (u32, u32),
    ) -> f64 {
        let tf = &self.tf_adj[ci];
        if Some(l) == c.exact {
            return if tf.is_empty() {
                0.0
            } else {
                f64::from(tf[codes().0 as usize])
            };
        }
        match (c.swapped, c.exact) {
            (Some(sw), Some(ex)) if sw == l => {
                let exact = self.w[ci][ex as usize]
                    + if tf.is_empty() {
                        0.0
                    } else {
                        let (x, y) = codes();
                        f64::from(tf[x as usize].min(tf[y as usize]))
                    };
                (exact - self.w[ci][l as usize]).min(0.0)
            }
            _ => 0.0,
        }
    }

    /// Sum of the comparison weights of a vector (Bayes factor in bits, no prior).
    #[inline]
    pub fn evidence(&self, cmp: &Comparator, v: u64, a: u32, b: u32) -> f64 {
        let mut s = 0.0;
        for (ci, w) in self.w.iter().enumerate() {
            let l = level_of(v, ci);
            s += w[l]
                + self.adjustment(&cmp.comps[ci], ci, l as u8, || {
                    (cmp.code(ci, a), cmp.code(ci, b))
                });
        }
        s
    }

    /// `out[ci]` = the largest total weight comparisons `ci..` can add (TF included).
    pub fn suffix_max(&self, cmp: &Comparator) -> Vec<f64> {
        let nc = self.w.len();
        let mut out = vec![0.0; nc + 1];
        for ci in (0..nc).rev() {
            let mut m = self.w[ci].iter().copied().fold(0.0f64, f64::max);
            if let Some(e) = cmp.comps[ci].exact {
                let tf = self.tf_adj[ci].iter().copied().fold(0.0f32, f32::max);
                m = m.max(self.w[ci][e as usize] + f64::from(tf));
            }
            out[ci] = out[ci + 1] + m;
        }
        out
    }

    /// One comparison's weight for the pair (a, b): its level's, with the TF adjustment.
    pub fn field_weight(&self, cmp: &Comparator, table: &Table, ci: usize, a: u32, b: u32) -> f64 {
        let l = cmp.level(table, ci, a, b);
        self.w[ci][l as usize]
            + self.adjustment(&cmp.comps[ci], ci, l, || (cmp.code(ci, a), cmp.code(ci, b)))
    }

    /// Match weight of the pair (a, b) with comparison vector `v`.
    #[inline]
    pub fn score_vector(&self, cmp: &Comparator, table: &Table, v: u64, a: u32, b: u32) -> f64 {
        self.prior_of(&table.source, a, b) + self.evidence(cmp, v, a, b)
    }
}

pub fn probability(weight: f64) -> f64 {
    let b = weight.exp2();
    if b.is_infinite() {
        1.0
    } else {
        b / (1.0 + b)
    }
}

/// The `cross` level: a's value is b's swap-column value or the other way round (a 911 call's
/// place is the other record's home). Either main value may be missing (`NULL`).
#[inline]
fn cross_hit(
    c: &CompiledComparison,
    swap: Option<usize>,
    x: u32,
    y: u32,
    ra: &[u32],
    rb: &[u32],
) -> bool {
    let s = swap.expect("swap slot");
    let cross = c.swap_cross.as_ref().expect("swap map");
    let of = |v: u32| if v == NULL { NULL } else { cross[v as usize] };
    let (cx, cy) = (of(x), of(y));
    (cx != NULL && cx == rb[s]) || (cy != NULL && cy == ra[s])
}

/// λ as a prior weight: log2 of its odds.
pub fn prior_weight(lambda: f64) -> f64 {
    (lambda / (1.0 - lambda)).log2()
}

/// Per-value lists as one array and offsets (`data[off[i]..off[i + 1]]` is value i's).
fn flatten<T>(per: Vec<Vec<T>>) -> (Vec<u32>, Vec<T>) {
    let mut off = Vec::with_capacity(per.len() + 1);
    let mut data = Vec::new();
    off.push(0u32);
    for t in per {
        data.extend(t);
        off.push(data.len() as u32);
    }
    (off, data)
}

/// Default m before EM: decreasing over the declared levels, small for else.
pub fn default_m(n_declared: usize) -> Vec<f64> {
    let mut v = vec![0.0];
    let mut raw: Vec<f64> = (0..n_declared)
        .map(|i| if i == 0 { 6.0 } else { 0.5f64.powi(i as i32) })
        .collect();
    raw.push(0.3);
    let s: f64 = raw.iter().sum();
    v.extend(raw.iter().map(|x| x / s));
    v
}

// ------------------------------------------------------------------------------- u sampling

struct SplitMix(u64);
impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next()) * n as u128) >> 64) as usize
    }
}

/// u per level (index 0 unused) from random pairs: the exact level analytically from value
/// counts, the others from `n_pairs` sampled non-exact pairs.
pub fn estimate_u(
    table: &Table,
    cmp: &Comparator,
    ci: usize,
    pairing: &Pairing,
    n_pairs: usize,
    seed: u64,
) -> Vec<f64> {
    let c = &cmp.comps[ci];
    let nl = c.n_levels();
    if let Some(u) = &c.fixed_u {
        let mut v = vec![0.0];
        v.extend(u.iter().copied());
        return v;
    }
    let nonnull: Vec<u32> = (0..table.len() as u32)
        .filter(|&i| cmp.code(ci, i) != NULL)
        .collect();
    let mut u = vec![0.0; nl];
    if nonnull.len() < 2 {
        for x in u.iter_mut().skip(1) {
            *x = 1.0 / (nl - 1) as f64;
        }
        return u;
    }
    // exact share, analytically (not for scoped comparisons, whose pairs are restricted)
    // (and only when every equal pair takes the exact level)
    let analytic_exact = c.equal.is_some() && c.scope_col.is_none();
    let mut p_exact = 0.0;
    // `apart`: only pairs whose apart values differ count, as only cross-side pairs do when
    // linking two files (a record with no apart value is a side of its own)
    let apart = c.apart_col.map(|a| &table.columns[a].codes);
    let two_sided = pairing.link_only || apart.is_some();
    if analytic_exact {
        let mut per: FxHashMap<(u32, u32), f64> = FxHashMap::default();
        let mut side_n: FxHashMap<u32, f64> = FxHashMap::default();
        let mut val_n: FxHashMap<u32, f64> = FxHashMap::default();
        for &i in &nonnull {
            let s = if pairing.link_only {
                pairing.side[i as usize]
            } else if let Some(codes) = apart {
                match codes[i as usize] {
                    NULL => u32::MAX - i,
                    x => x,
                }
            } else {
                0
            };
            let code = cmp.code(ci, i);
            *per.entry((s, code)).or_default() += 1.0;
            *side_n.entry(s).or_default() += 1.0;
            *val_n.entry(code).or_default() += 1.0;
        }
        let n = nonnull.len() as f64;
        let (agree, total) = if two_sided {
            let same_v: f64 = per.values().map(|x| x * x).sum();
            let all_v: f64 = val_n.values().map(|x| x * x).sum();
            let tot = n * n - side_n.values().map(|x| x * x).sum::<f64>();
            (all_v - same_v, tot)
        } else {
            (
                val_n.values().map(|x| x * (x - 1.0)).sum::<f64>(),
                n * (n - 1.0),
            )
        };
        p_exact = if total > 0.0 { agree / total } else { 0.0 };
    }
    // Small dictionaries: enumerate value pairs weighted by their counts (exact, and cheaper
    // than sampling). Only for comparisons that read one column.
    let dict = table.columns[c.col].values.len();
    if c.swap_col.is_none()
        && c.tokens_col.is_none()
        && c.alias_col.is_none()
        && c.scope_col.is_none()
        && c.apart_col.is_none()
        && dict * dict <= n_pairs
    {
        let sides: Vec<u32> = if pairing.link_only {
            let mut s: Vec<u32> = nonnull.iter().map(|&i| pairing.side[i as usize]).collect();
            s.sort_unstable();
            s.dedup();
            s
        } else {
            vec![0]
        };
        // counts[side][code]
        let mut cnt = vec![vec![0f64; dict]; sides.len()];
        for &i in &nonnull {
            let s = if pairing.link_only {
                sides.binary_search(&pairing.side[i as usize]).unwrap_or(0)
            } else {
                0
            };
            cnt[s][cmp.code(ci, i) as usize] += 1.0;
        }
        let tot: Vec<f64> = (0..dict).map(|v| cnt.iter().map(|c| c[v]).sum()).collect();
        let slot = cmp.slots[ci][0].expect("main slot");
        let mut acc = vec![0f64; nl];
        let mut ra = vec![NULL; cmp.stride];
        let mut rb = vec![NULL; cmp.stride];
        for x in 0..dict {
            if tot[x] == 0.0 {
                continue;
            }
            for y in x..dict {
                if tot[y] == 0.0 {
                    continue;
                }
                // allowed ordered-pair weight between value x and value y
                let w = if pairing.link_only {
                    let mut same = 0.0;
                    for c in &cnt {
                        same += c[x] * c[y];
                    }
                    let all = tot[x] * tot[y];
                    if x == y {
                        (all - same) / 2.0
                    } else {
                        all - same
                    }
                } else if x == y {
                    tot[x] * (tot[x] - 1.0) / 2.0
                } else {
                    tot[x] * tot[y]
                };
                if w <= 0.0 {
                    continue;
                }
                ra[slot] = x as u32;
                rb[slot] = y as u32;
                acc[cmp.level_rows(table, ci, &ra, &rb) as usize] += w;
            }
        }
        let s: f64 = acc[1..].iter().sum();
        if s > 0.0 {
            for l in 1..nl {
                u[l] = acc[l].max(1e-3) / s;
            }
            let s: f64 = u[1..].iter().sum();
            for x in u.iter_mut().skip(1) {
                *x /= s;
            }
            return u;
        }
    }
    let mut rng = SplitMix(seed ^ (ci as u64).wrapping_mul(0x2545_f491_4f6c_dd1d));
    let mut counts = vec![0u64; nl];
    let mut got = 0usize;
    let mut tries = 0usize;
    let max_tries = n_pairs.saturating_mul(20).max(1000);
    // draw pairs in batches, score in parallel
    while got < n_pairs && tries < max_tries {
        let batch = (n_pairs - got).clamp(1024, 1 << 18);
        let pairs: Vec<(u32, u32)> = (0..batch)
            .map(|_| {
                let a = nonnull[rng.below(nonnull.len())];
                let b = nonnull[rng.below(nonnull.len())];
                (a, b)
            })
            .collect();
        tries += batch;
        let lv: Vec<u8> = pairs
            .par_iter()
            .map(|&(a, b)| {
                if !pairing.allowed(a, b) {
                    return 255;
                }
                let l = cmp.level(table, ci, a, b);
                if l == 0 || (analytic_exact && Some(l) == c.exact) {
                    255
                } else {
                    l
                }
            })
            .collect();
        for l in lv {
            if l != 255 && got < n_pairs {
                counts[l as usize] += 1;
                got += 1;
            }
        }
    }
    let total: f64 = got.max(1) as f64;
    let rest = 1.0 - p_exact;
    for (l, x) in u.iter_mut().enumerate().skip(1) {
        if analytic_exact && Some(l as u8) == c.exact {
            *x = p_exact;
        } else {
            *x = rest * (counts[l] as f64).max(0.5) / total;
        }
    }
    if analytic_exact {
        if let Some(e) = c.exact {
            u[e as usize] = u[e as usize].max(0.5 / (nonnull.len() as f64).powi(2));
        }
    }
    let s: f64 = u[1..].iter().sum();
    for x in u.iter_mut().skip(1) {
        *x /= s;
    }
    u
}

/// Per value code of `codes`: the number of distinct non-null `by` codes among its records (at
/// least 1 for a value that occurs).
pub fn distinct_counts(codes: &[u32], by: &[u32], n_values: usize) -> Vec<u32> {
    let mut pairs: Vec<(u32, u32)> = codes
        .iter()
        .zip(by)
        .filter(|(&v, _)| v != NULL)
        .map(|(&v, &w)| (v, w))
        .collect();
    pairs.par_sort_unstable();
    pairs.dedup();
    let mut out = vec![0u32; n_values];
    let mut seen = vec![false; n_values];
    for (v, w) in pairs {
        seen[v as usize] = true;
        if w != NULL {
            out[v as usize] += 1;
        }
    }
    for (o, s) in out.iter_mut().zip(seen) {
        if s && *o == 0 {
            *o = 1;
        }
    }
    out
}

/// TF adjustment per value code of comparison `ci`: log2(u_exact / max(freq(v), tf_min_u)),
/// the frequency over records, or over distinct `tf_distinct` values.
pub fn tf_adjustments(table: &Table, cmp: &Comparator, ci: usize, u_exact: f64) -> Vec<f32> {
    let c = &cmp.comps[ci];
    if !c.tf || c.exact.is_none() {
        return Vec::new();
    }
    let col = &table.columns[c.col];
    let counts = match c.tf_distinct_col {
        None => col.counts(),
        Some(dc) => distinct_counts(&col.codes, &table.columns[dc].codes, col.values.len()),
    };
    let n: f64 = counts.iter().map(|&x| f64::from(x)).sum();
    counts
        .iter()
        .map(|&k| {
            let f = (f64::from(k) / n.max(1.0)).max(c.tf_min_u).max(1e-12);
            (u_exact / f).log2() as f32
        })
        .collect()
}

/// Weights of a comparison's levels (index 0 = null, last = else) from m and u: log2(m/u),
/// vetoed levels at [`VETO_WEIGHT`], and no declared level below the else level. A declared level
/// is some agreement; when EM finds (almost) no true match in it, typically because the training
/// blocks hold few such pairs, log2(m/u) would call near-agreement stronger evidence against a
/// match than total disagreement (an address one typo apart weighed below a different
/// address). Such a level gets the else level's weight instead.
pub fn level_weights(m: &[f64], u: &[f64], veto: &[u8]) -> Vec<f64> {
    let raw = |l: usize| (m[l].max(M_FLOOR) / u[l].max(1e-12)).log2();
    let last = m.len() - 1;
    let floor = raw(last);
    (0..m.len())
        .map(|l| {
            if l == 0 {
                0.0
            } else if veto.contains(&(l as u8)) {
                VETO_WEIGHT
            } else if l < last {
                raw(l).max(floor)
            } else {
                raw(l)
            }
        })
        .collect()
}

// ------------------------------------------------------------------------------- EM

/// Distinct comparison vectors and how many pairs have each, sorted by vector.
#[derive(Debug, Clone, Default)]
pub struct Histogram {
    pub vectors: Vec<u64>,
    pub counts: Vec<f64>,
}

impl Histogram {
    pub fn from_vectors(vs: Vec<u64>) -> Histogram {
        let mut map: FxHashMap<u64, f64> = FxHashMap::default();
        for v in vs {
            *map.entry(v).or_default() += 1.0;
        }
        let mut e: Vec<(u64, f64)> = map.into_iter().collect();
        e.sort_unstable_by_key(|x| x.0);
        Histogram {
            vectors: e.iter().map(|x| x.0).collect(),
            counts: e.iter().map(|x| x.1).collect(),
        }
    }
    pub fn total(&self) -> f64 {
        self.counts.iter().sum()
    }
}

#[derive(Debug, Clone)]
pub struct EmOutcome {
    pub m: Vec<Vec<f64>>,
    pub lambda: f64,
    pub log_likelihood: Vec<f64>,
    pub iterations: usize,
}

/// EM with u fixed: estimates λ and the m of comparisons marked `free`; comparisons not free
/// (used by the session's blocking rule) are left out of the likelihood.
pub fn em(
    hist: &Histogram,
    m0: &[Vec<f64>],
    u: &[Vec<f64>],
    lambda0: f64,
    free: &[bool],
    max_iter: usize,
    tol: f64,
) -> EmOutcome {
    let nc = m0.len();
    let mut m: Vec<Vec<f64>> = m0.to_vec();
    let mut lambda = lambda0.clamp(1e-9, 1.0 - 1e-9);
    let mut ll_trace = Vec::new();
    let mut iterations = 0;
    let e_step = |m: &[Vec<f64>], lambda: f64| -> (Vec<f64>, f64) {
        let mut post = Vec::with_capacity(hist.vectors.len());
        let mut ll = 0.0;
        for (&v, &n) in hist.vectors.iter().zip(&hist.counts) {
            let (mut pm, mut pu) = (lambda, 1.0 - lambda);
            for ci in 0..nc {
                if !free[ci] {
                    continue;
                }
                let l = level_of(v, ci);
                if l == 0 {
                    continue;
                }
                pm *= m[ci][l];
                pu *= u[ci][l];
            }
            let tot = pm + pu;
            ll += n * tot.max(f64::MIN_POSITIVE).ln();
            post.push(if tot > 0.0 { pm / tot } else { 0.0 });
        }
        (post, ll)
    };
    for it in 0..max_iter {
        let (post, ll) = e_step(&m, lambda);
        ll_trace.push(ll);
        iterations = it + 1;
        // M-step
        let total: f64 = hist.counts.iter().sum();
        let matched: f64 = post.iter().zip(&hist.counts).map(|(p, n)| p * n).sum();
        let new_lambda = (matched / total.max(1e-300)).clamp(1e-9, 1.0 - 1e-9);
        let mut new_m = m.clone();
        for ci in 0..nc {
            if !free[ci] {
                continue;
            }
            let nl = m[ci].len();
            let mut acc = vec![0.0; nl];
            for ((&v, &n), &p) in hist.vectors.iter().zip(&hist.counts).zip(&post) {
                let l = level_of(v, ci);
                if l != 0 {
                    acc[l] += p * n;
                }
            }
            let s: f64 = acc.iter().sum();
            if s > 0.0 {
                for l in 1..nl {
                    new_m[ci][l] = acc[l] / s;
                }
            }
        }
        let delta = new_m
            .iter()
            .zip(&m)
            .flat_map(|(a, b)| a.iter().zip(b).map(|(x, y)| (x - y).abs()))
            .fold((new_lambda - lambda).abs(), f64::max);
        m = new_m;
        lambda = new_lambda;
        if delta < tol {
            let (_, ll) = e_step(&m, lambda);
            ll_trace.push(ll);
            break;
        }
    }
    EmOutcome {
        m,
        lambda,
        log_likelihood: ll_trace,
        iterations,
    }
}

// ------------------------------------------------------------------------------- training

/// Everything the model needs at training time.
pub struct TrainInput<'a> {
    pub table: &'a Table,
    pub cmp: &'a Comparator,
    pub pairing: &'a Pairing,
    pub spec: &'a crate::spec::TrainingSpec,
    /// λ from deterministic rules (already counted), if any.
    pub det_pairs: Option<u64>,
    /// Compiled EM session blockers (one rule each) with the raw columns each reads.
    pub sessions: Vec<(Blocker, Vec<String>)>,
    /// Labelled pairs (a, b, is_match).
    pub labels: Vec<(u32, u32, bool)>,
}

pub fn train(inp: TrainInput<'_>) -> (Params, Weights) {
    let nc = inp.cmp.comps.len();
    let total_pairs = inp.pairing.total_pairs().max(1.0);
    // u
    let u: Vec<Vec<f64>> = (0..nc)
        .into_par_iter()
        .map(|ci| {
            estimate_u(
                inp.table,
                inp.cmp,
                ci,
                inp.pairing,
                inp.spec.u_max_pairs,
                inp.spec.seed,
            )
        })
        .collect();
    // λ
    let (mut lambda, mut lambda_from) = match (inp.spec.lambda, inp.det_pairs) {
        (Some(l), _) => (l, "fixed in spec".to_string()),
        (None, Some(n)) if n > 0 => (
            (n as f64 / inp.spec.recall / total_pairs).clamp(1e-12, 0.5),
            format!(
                "{n} pairs from deterministic rules / recall {}",
                inp.spec.recall
            ),
        ),
        _ => (f64::NAN, String::new()),
    };
    // m: priors
    let priors: Vec<Vec<f64>> = inp
        .cmp
        .comps
        .iter()
        .map(|c| match &c.prior_m {
            Some(m) => {
                let mut v = vec![0.0];
                v.extend(m.iter().copied());
                let s: f64 = v.iter().sum();
                v.iter().map(|x| x / s).collect()
            }
            None => default_m(c.levels.len()),
        })
        .collect();
    let mut sums: Vec<Vec<f64>> = priors.iter().map(|p| vec![0.0; p.len()]).collect();
    let mut n_est = vec![0usize; nc];
    let mut m_from: Vec<Vec<String>> = vec![Vec::new(); nc];
    let mut reports = Vec::new();
    let mut em_lambda_estimates = Vec::new();
    for (blocker, cols) in &inp.sessions {
        let raw = blocker.groups[0].raw_pairs(inp.pairing);
        let frac = if raw as f64 > inp.spec.em_max_pairs as f64 {
            inp.spec.em_max_pairs as f64 / raw as f64
        } else {
            1.0
        };
        let vecs = blocker.generate_rule(0, inp.pairing, frac, inp.spec.seed, |a, b| {
            Some(inp.cmp.vector(inp.table, a, b))
        });
        let sampled = vecs.len() as u64;
        let hist = Histogram::from_vectors(vecs);
        let free: Vec<bool> = inp
            .cmp
            .comps
            .iter()
            .map(|c| !c.base_columns.iter().any(|b| cols.contains(b)))
            .collect();
        let lambda0 = if lambda.is_finite() {
            (lambda * total_pairs / (raw as f64).max(1.0)).clamp(0.01, 0.5)
        } else {
            0.1
        };
        let rule = blocker.rules[0].text.clone();
        if sampled < 20 {
            reports.push(EmSessionReport {
                rule,
                pairs: raw,
                sampled_pairs: sampled,
                distinct_vectors: hist.vectors.len(),
                iterations: 0,
                lambda: f64::NAN,
                log_likelihood: Vec::new(),
                estimated: Vec::new(),
            });
            continue;
        }
        let out = em(
            &hist,
            &priors,
            &u,
            lambda0,
            &free,
            inp.spec.em_max_iterations,
            inp.spec.em_tolerance,
        );
        let mut estimated = Vec::new();
        for ci in 0..nc {
            if free[ci] {
                for (s, x) in sums[ci].iter_mut().zip(&out.m[ci]) {
                    *s += x;
                }
                n_est[ci] += 1;
                m_from[ci].push(rule.clone());
                estimated.push(inp.cmp.comps[ci].name.clone());
            }
        }
        em_lambda_estimates.push(out.lambda * raw as f64 / total_pairs);
        reports.push(EmSessionReport {
            rule,
            pairs: raw,
            sampled_pairs: sampled,
            distinct_vectors: hist.vectors.len(),
            iterations: out.iterations,
            lambda: out.lambda,
            log_likelihood: out.log_likelihood,
            estimated,
        });
    }
    let mut m: Vec<Vec<f64>> = (0..nc)
        .map(|ci| {
            if n_est[ci] > 0 {
                sums[ci].iter().map(|x| x / n_est[ci] as f64).collect()
            } else {
                m_from[ci].push("prior".into());
                priors[ci].clone()
            }
        })
        .collect();
    if inp.spec.m_prior_floor > 0.0 {
        for ci in 0..nc {
            // the else level only: EM tends to decide true matches never disagree
            let l = m[ci].len() - 1;
            let f = inp.spec.m_prior_floor * priors[ci][l];
            if m[ci][l] < f {
                m[ci][l] = f;
                let s: f64 = m[ci][1..].iter().sum();
                for x in m[ci].iter_mut().skip(1) {
                    *x /= s;
                }
            }
        }
    }
    // labelled pairs override m
    let positives: Vec<u64> = inp
        .labels
        .iter()
        .filter(|x| x.2)
        .map(|&(a, b, _)| inp.cmp.vector(inp.table, a, b))
        .collect();
    if positives.len() >= 10 {
        for ci in 0..nc {
            let nl = m[ci].len();
            let mut acc = vec![0.5; nl];
            acc[0] = 0.0;
            for &v in &positives {
                let l = level_of(v, ci);
                if l != 0 {
                    acc[l] += 1.0;
                }
            }
            let s: f64 = acc.iter().sum();
            m[ci] = acc.iter().map(|x| x / s).collect();
            m_from[ci] = vec![format!("labels ({} matching pairs)", positives.len())];
        }
    }
    if !lambda.is_finite() {
        lambda = em_lambda_estimates.iter().copied().fold(f64::NAN, f64::max);
        lambda_from = "EM sessions (expected matches in the largest session / all pairs)".into();
        if !lambda.is_finite() || lambda <= 0.0 {
            lambda = 1e-4;
            lambda_from = "default 1e-4 (no deterministic rules, no EM)".into();
        }
    }
    let prior = prior_weight(lambda);
    let w: Vec<Vec<f64>> = (0..nc)
        .map(|ci| level_weights(&m[ci], &u[ci], &inp.cmp.comps[ci].veto))
        .collect();
    let tf_adj: Vec<Vec<f32>> = (0..nc)
        .map(|ci| {
            let ue = inp.cmp.comps[ci]
                .exact
                .map(|e| u[ci][e as usize])
                .unwrap_or(0.0);
            tf_adjustments(inp.table, inp.cmp, ci, ue)
        })
        .collect();
    let comparisons = inp
        .cmp
        .comps
        .iter()
        .enumerate()
        .map(|(ci, c)| ComparisonParams {
            name: c.name.clone(),
            tf: c.tf,
            levels: (1..c.n_levels())
                .map(|l| LevelParams {
                    label: c.labels[l].clone(),
                    m: m[ci][l],
                    u: u[ci][l],
                    weight: w[ci][l],
                })
                .collect(),
            m_from: m_from[ci].clone(),
        })
        .collect();
    (
        Params {
            lambda,
            lambda_from,
            prior_weight: prior,
            comparisons,
            em_sessions: reports,
            source_priors: Vec::new(),
        },
        Weights {
            prior,
            pair_prior: None,
            w,
            tf_adj,
        },
    )
}

/// Bins of the evidence histogram used to re-estimate λ: 1/16 bit wide over [-64, 96).
const EV_LO: f64 = -64.0;
const EV_BINS: usize = 160 * 16;

/// Bin of an evidence value (clamped).
#[inline]
pub fn evidence_bin(e: f64) -> usize {
    (((e - EV_LO) * 16.0).floor().max(0.0) as usize).min(EV_BINS - 1)
}

/// Evidence histograms of the candidate pairs per stratum (a pair of sources, or one stratum
/// for all), filled concurrently.
pub struct EvidenceHistogram {
    pub strata: usize,
    bins: Vec<std::sync::atomic::AtomicU64>,
}

impl EvidenceHistogram {
    pub fn new(strata: usize) -> Self {
        EvidenceHistogram {
            strata,
            bins: (0..strata * EV_BINS)
                .map(|_| std::sync::atomic::AtomicU64::new(0))
                .collect(),
        }
    }

    #[inline]
    pub fn add(&self, stratum: usize, evidence: f64) {
        self.bins[stratum * EV_BINS + evidence_bin(evidence)]
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Counts of one stratum (or of all strata with `None`) per bin.
    pub fn counts(&self, stratum: Option<usize>) -> Vec<u64> {
        let mut out = vec![0u64; EV_BINS];
        for s in 0..self.strata {
            if stratum.is_some_and(|x| x != s) {
                continue;
            }
            for (o, b) in out
                .iter_mut()
                .zip(&self.bins[s * EV_BINS..(s + 1) * EV_BINS])
            {
                *o += b.load(std::sync::atomic::Ordering::Relaxed);
            }
        }
        out
    }
}

/// EM for λ alone with m and u fixed: λ ← (Σ P(match | evidence, λ) + pseudo) / (pairs +
/// pseudo / anchor), over candidate pairs binned by evidence; pairs outside the candidates
/// count as non-matches. `pseudo` expected matches at the `anchor` rate shrink a small
/// stratum's estimate toward the anchor (0 = none). Returns (λ, expected matches).
pub fn refit_lambda(
    counts: &[u64],
    pairs: f64,
    start: f64,
    pseudo: f64,
    anchor: f64,
) -> (f64, f64) {
    let centres: Vec<(f64, f64)> = counts
        .iter()
        .enumerate()
        .filter(|(_, &c)| c > 0)
        .map(|(i, &c)| (EV_LO + (i as f64 + 0.5) / 16.0, c as f64))
        .collect();
    let denom = pairs + if pseudo > 0.0 { pseudo / anchor } else { 0.0 };
    if denom <= 0.0 {
        return (start, 0.0);
    }
    let expected = |lambda: f64| -> f64 {
        let prior = prior_weight(lambda);
        centres
            .iter()
            .map(|&(e, c)| c * probability(prior + e))
            .sum()
    };
    let mut lambda = start.clamp(1e-12, 0.5);
    for _ in 0..1000 {
        let next = ((expected(lambda) + pseudo) / denom).clamp(1e-12, 0.5);
        let done = (next.ln() - lambda.ln()).abs() < 1e-7;
        lambda = next;
        if done {
            break;
        }
    }
    (lambda, expected(lambda))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn em_log_likelihood_non_decreasing(
            raw in proptest::collection::vec((0u64..4, 0u64..4, 0u64..3, 1u32..500), 3..40),
            lam in 0.01f64..0.6,
        ) {
            // three comparisons: 3 declared levels (+null, else) for the first two, 1 for the third
            let mut vs = Vec::new();
            for (a, b, c, n) in raw {
                let v = (a + 1) | ((b + 1) << 4) | (c << 8);
                for _ in 0..n { vs.push(v); }
            }
            let hist = Histogram::from_vectors(vs);
            let m0 = vec![default_m(3), default_m(3), default_m(1)];
            let u = vec![vec![0.0, 0.05, 0.1, 0.25, 0.6], vec![0.0, 0.02, 0.08, 0.2, 0.7], vec![0.0, 0.3, 0.7]];
            let free = vec![true, true, true];
            let out = em(&hist, &m0, &u, lam, &free, 60, 0.0);
            for w in out.log_likelihood.windows(2) {
                prop_assert!(w[1] >= w[0] - 1e-7 * w[0].abs().max(1.0), "{:?}", out.log_likelihood);
            }
            let free2 = vec![true, false, true];
            let out2 = em(&hist, &m0, &u, lam, &free2, 60, 0.0);
            for w in out2.log_likelihood.windows(2) {
                prop_assert!(w[1] >= w[0] - 1e-7 * w[0].abs().max(1.0));
            }
            prop_assert_eq!(&out2.m[1], &m0[1]);
        }
    }

    proptest! {
        /// No declared level weighs less than else (unless vetoed); null is 0.
        #[test]
        fn level_weights_never_below_else(
            m in proptest::collection::vec(0.0f64..1.0, 3..8),
            u in proptest::collection::vec(1e-9f64..1.0, 3..8),
        ) {
            let k = m.len().min(u.len());
            let (m, u) = (&m[..k], &u[..k]);
            let w = level_weights(m, u, &[]);
            prop_assert_eq!(w[0], 0.0);
            for l in 1..k - 1 {
                prop_assert!(w[l] >= w[k - 1]);
            }
            let v = level_weights(m, u, &[(k - 1) as u8]);
            prop_assert_eq!(v[k - 1], VETO_WEIGHT);
        }
    }

    /// A comparison named `name` over the `place` column of [`place_table`].
    fn place_spec(name: &str, levels: &[&str]) -> ComparisonSpec {
        ComparisonSpec::plain(name, "place", levels)
    }

    fn place_table(vals: &[(&str, &str)]) -> Table {
        use crate::data::{ColumnBuilder, TableParts};
        let mut p = ColumnBuilder::new("place");
        let mut h = ColumnBuilder::new("home");
        for (x, y) in vals {
            p.push(Some(x), &[]);
            h.push(Some(y), &[]);
        }
        Table::from_parts(TableParts {
            ids: (0..vals.len()).map(|i| format!("{i:03}").into()).collect(),
            source: vec![0; vals.len()],
            source_names: vec!["s".into()],
            columns: vec![p.finish(), h.finish()],
            truth: None,
        })
        .unwrap()
    }

    proptest! {
        /// `exact`: the same place; `cross`: one side's place is the other's home, either way
        /// round. Symmetric.
        #[test]
        fn cross_level_is_symmetric(vals in proptest::collection::vec(("[a-c]?", "[a-c]?"), 2..12)) {
            let refs: Vec<(&str, &str)> = vals.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
            let mut t = place_table(&refs);
            let spec = ComparisonSpec {
                swap_with: Some("home".into()),
                ..place_spec("place", &["exact", "cross"])
            };
            let c = compile_comparison(&mut t, &spec).unwrap();
            let cmp = Comparator::new(&t, vec![c]);
            let n = t.len() as u32;
            for a in 0..n {
                for b in 0..n {
                    let l = cmp.level(&t, 0, a, b);
                    prop_assert_eq!(l, cmp.level(&t, 0, b, a));
                    let (pa, ha) = (&vals[a as usize].0, &vals[a as usize].1);
                    let (pb, hb) = (&vals[b as usize].0, &vals[b as usize].1);
                    let crossed = (!pa.is_empty() && pa == hb) || (!pb.is_empty() && pb == ha);
                    let want = if pa.is_empty() || pb.is_empty() {
                        // a missing place, unless the other's place is this one's home
                        if crossed { 2 } else { 0 }
                    } else if pa == pb {
                        1
                    } else if (!hb.is_empty() && pa == hb) || (!ha.is_empty() && pb == ha) {
                        2
                    } else {
                        3
                    };
                    prop_assert_eq!(l, want, "{:?} vs {:?}", vals[a as usize], vals[b as usize]);
                }
            }
        }
    }

    /// `apart`: pairs whose apart values are equal are not compared (the null level), and u
    /// counts only the pairs that are: here 4 of the 8 ordered cross-side pairs agree.
    #[test]
    fn apart_compares_only_across_and_its_u_counts_only_those_pairs() {
        // "place" holds the incident, "home" stands in for the source
        let mut t = place_table(&[("1", "a"), ("1", "a"), ("1", "b"), ("2", "b")]);
        let spec = ComparisonSpec {
            apart: Some("home".into()),
            ..place_spec("incident", &["exact"])
        };
        let c = compile_comparison(&mut t, &spec).unwrap();
        let cmp = Comparator::new(&t, vec![c]);
        assert_eq!(cmp.level(&t, 0, 0, 1), 0, "same side: not compared");
        assert_eq!(cmp.level(&t, 0, 0, 2), 1, "across, same incident");
        assert_eq!(cmp.level(&t, 0, 1, 3), 2, "across, another incident");
        assert_eq!(cmp.level(&t, 0, 2, 3), 0);
        let pairing = Pairing {
            link_only: false,
            side: vec![0; 4],
        };
        let u = estimate_u(&t, &cmp, 0, &pairing, 1000, 7);
        assert!((u[1] - 0.5).abs() < 1e-9, "{u:?}");
    }

    /// A booking that lists its own name under AKA does not make that name an alias: the names'
    /// agreement is counted by the name comparisons, once.
    #[test]
    fn a_records_own_name_is_not_its_alias() {
        let own = Some("john johnson|johnny j");
        assert!(!alias_hit("john johnson", "john johnson", None, own));
        assert!(!alias_hit("john johnson", "john johnson", own, None));
        assert!(alias_hit("johnny j", "john johnson", None, own));
        assert!(alias_hit("john johnson", "johnny j", own, None));
        // a shared alias other than either name still counts
        assert!(alias_hit("john johnson", "jj smith", own, Some("johnny j")));
        assert!(!alias_hit(
            "jj smith",
            "jj smith",
            Some("jj smith"),
            Some("jj smith")
        ));
    }

    /// Two equal values take the first level that holds for them: with `initial` before
    /// `exact` (middle names), "r" = "r" is an initial agreement, "ruben" = "ruben" exact;
    /// u of exact then counts only the equal full names.
    #[test]
    fn equal_values_take_the_first_level_that_holds() {
        let mut t = place_table(&[("r", "a"), ("r", "a"), ("ruben", "a"), ("ruben", "a")]);
        let spec = place_spec("middle", &["initial", "exact"]);
        let c = compile_comparison(&mut t, &spec).unwrap();
        let cmp = Comparator::new(&t, vec![c]);
        assert_eq!(cmp.level(&t, 0, 0, 1), 1, "two equal initials");
        assert_eq!(cmp.level(&t, 0, 0, 2), 1, "an initial and the name");
        assert_eq!(cmp.level(&t, 0, 2, 3), 2, "two equal full names");
        let pairing = Pairing {
            link_only: false,
            side: vec![0; 4],
        };
        // of the 6 pairs: 1 equal full name, 5 initial agreements
        let u = estimate_u(&t, &cmp, 0, &pairing, 100_000, 7);
        assert!((u[2] - 1.0 / 6.0).abs() < 0.02, "{u:?}");
        assert!((u[1] - 5.0 / 6.0).abs() < 0.02, "{u:?}");
    }

    #[test]
    fn refit_lambda_recovers_the_share_of_matching_pairs() {
        // 1e6 pairs: 200 candidates with overwhelming evidence of a match, 5000 with strong
        // evidence against, the rest never compared (non-matches)
        let mut counts = vec![0u64; EV_BINS];
        counts[evidence_bin(30.0)] = 200;
        counts[evidence_bin(-25.0)] = 5000;
        let (lambda, expected) = refit_lambda(&counts, 1e6, 1e-3, 0.0, 0.0);
        assert!((lambda - 2e-4).abs() < 1e-6, "{lambda}");
        assert!((expected - 200.0).abs() < 0.5, "{expected}");
        // the start does not matter
        let (again, _) = refit_lambda(&counts, 1e6, 1e-8, 0.0, 0.0);
        assert!((again - lambda).abs() < 1e-7);
        // pseudo-matches pull a thin stratum toward the anchor
        let mut thin = vec![0u64; EV_BINS];
        thin[evidence_bin(30.0)] = 1;
        let (raw, _) = refit_lambda(&thin, 1e6, 1e-3, 0.0, 0.0);
        let (shrunk, _) = refit_lambda(&thin, 1e6, 1e-3, 5.0, 1e-4);
        assert!(raw < shrunk && shrunk < 1e-4, "{raw} {shrunk}");
    }

    proptest! {
        /// λ stays a probability and never falls when the evidence for matches grows.
        #[test]
        fn refit_lambda_is_bounded_and_monotone(
            bins in proptest::collection::vec((0usize..EV_BINS, 1u64..1000), 1..20),
            shift in 1usize..200,
        ) {
            let mut a = vec![0u64; EV_BINS];
            let mut b = vec![0u64; EV_BINS];
            for &(i, c) in &bins {
                a[i] += c;
                b[(i + shift).min(EV_BINS - 1)] += c;
            }
            let pairs = 1e7;
            let (la, _) = refit_lambda(&a, pairs, 1e-4, 0.0, 0.0);
            let (lb, _) = refit_lambda(&b, pairs, 1e-4, 0.0, 0.0);
            prop_assert!((1e-12..=0.5).contains(&la));
            prop_assert!(lb >= la * (1.0 - 1e-6), "{} < {}", lb, la);
        }
    }

    #[test]
    fn pair_priors_follow_source_names_and_default_to_the_global_prior() {
        let p = |l: &str, r: &str, w: f64| SourcePrior {
            left: l.into(),
            right: r.into(),
            pairs: 1.0,
            candidates: 1,
            expected_matches: 1.0,
            lambda: 0.0,
            weight: w,
        };
        let stored = [p("heart", "heart", -7.0), p("decc", "heart", -12.0)];
        // today's table lists the sources in another order and has one more
        let names: Vec<String> = ["jail", "heart", "decc"].map(String::from).to_vec();
        let m = PairPrior::resolve(&stored, &names, -10.0).unwrap();
        let at = |a: usize, b: usize| m.w[a * m.n + b];
        assert_eq!(at(1, 1), -7.0);
        assert_eq!((at(1, 2), at(2, 1)), (-12.0, -12.0));
        assert_eq!((at(0, 1), at(2, 2), at(0, 0)), (-10.0, -10.0, -10.0));
        assert!(PairPrior::resolve(&[], &names, -10.0).is_none());
    }

    #[test]
    fn term_frequencies_can_count_people_not_records() {
        // value 0: one person recorded five times; value 1: three people once each
        let codes = [0, 0, 0, 0, 0, 1, 1, 1, NULL];
        let by = [7, 7, 7, 7, NULL, 1, 2, 3, 4];
        assert_eq!(distinct_counts(&codes, &by, 3), vec![1, 3, 0]);
        // a value whose records all lack the companion still counts once
        assert_eq!(distinct_counts(&[2, 2], &[NULL, NULL], 3), vec![0, 0, 1]);
    }

    #[test]
    fn default_m_sums_to_one() {
        let m = default_m(4);
        assert!((m.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(m[1] > m[2] && m[2] > m[3]);
        assert!((probability(0.0) - 0.5).abs() < 1e-12);
    }
}
