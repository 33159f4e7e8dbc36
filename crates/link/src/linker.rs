//! The pipeline over one table: compile the spec, count blocking, train, predict, cluster,
//! explain. `matching::run_match` (files) and `person::link_identities` (the store) both drive
//! this.

use crate::block::{compile_rules, BlockCap, Blocker, Pairing, RuleCount};
use crate::cluster::{
    self, ClusterContext, ClusterOptions, Clustering, Edge, HardCompat, HardField,
};
use crate::compare;
use crate::data::{Table, NULL};
use crate::error::LinkError;
use crate::explain::{self, Explanation};
use crate::model::{self, Comparator, Params, TrainInput, Weights};
use crate::spec::{HardKindSpec, KeyExpr, LinkType, Oversize, PriorRefit, Spec};
use serde::{Deserialize, Serialize};

/// Initials of a `first | middle` value: (of every given name, of the middle names only).
fn given_initials(v: &str) -> (Vec<char>, Vec<char>) {
    let mut parts = v.splitn(2, '|');
    // a word's initial, and those of the formal names it is a nickname of: a middle name
    // written "CHUY" in one record and "JESUS" in another is one name (first names too: a
    // middle initial "A" fits a first name "SANDY", short for Alexandra)
    let initials = |s: &str| -> Vec<char> {
        let mut out: Vec<char> = Vec::new();
        for w in s
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
        {
            let lower = w.to_lowercase();
            let forms =
                std::iter::once(lower.as_str()).chain(crate::compare::nickname_heads(&lower));
            for c in forms.filter_map(|f| f.chars().next()) {
                if !out.contains(&c) {
                    out.push(c);
                }
            }
        }
        out
    };
    let first = initials(parts.next().unwrap_or(""));
    let middle = initials(parts.next().unwrap_or(""));
    let mut all = first;
    all.extend(&middle);
    (all, middle)
}

/// Two `first | middle` values may be one person: one's middle initials are among the other's
/// first and middle initials (or either has no middle name).
fn given_names_compatible(a: &(Vec<char>, Vec<char>), b: &(Vec<char>, Vec<char>)) -> bool {
    let ((all_a, mid_a), (all_b, mid_b)) = (a, b);
    mid_a.is_empty()
        || mid_b.is_empty()
        || mid_a.iter().any(|i| all_b.contains(i))
        || mid_b.iter().any(|i| all_a.contains(i))
}

/// A compiled spec over a table.
pub struct Linker {
    pub spec: Spec,
    pub table: Table,
    pub link_type: LinkType,
    pub pairing: Pairing,
    pub cmp: Comparator,
    pub blocker: Blocker,
    pub params: Option<Params>,
    pub weights: Option<Weights>,
    hard_cols: Vec<(usize, HardKindSpec, f64, String)>,
    /// How many records the model's λ was estimated over (the table's size unless the model
    /// came from an earlier run): the size prior's baseline is λ times that, less one.
    pub model_records: usize,
}

/// Result of scoring the blocked pairs.
#[derive(Debug, Clone, Default)]
pub struct Prediction {
    /// Pairs at or above the threshold.
    pub edges: Vec<Edge>,
    /// Candidate pairs scored.
    pub candidates: u64,
    /// Marginal pairs per blocking rule.
    pub marginal: Vec<u64>,
    /// With truth: true pairs among the candidates, and those scored below the threshold
    /// (record a, record b, weight).
    pub true_candidates: u64,
    pub missed_true: Vec<Edge>,
    /// Pairs below the threshold but within the size prior's reach of it (empty unless the
    /// spec's `cluster.size_prior` is set).
    pub near: Vec<Edge>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TrainSummary {
    pub deterministic_pairs: Option<u64>,
}

impl Linker {
    pub fn new(mut table: Table, spec: Spec, link_type: LinkType) -> Result<Linker, LinkError> {
        spec.validate()?;
        let comps = spec
            .comparisons
            .iter()
            .map(|c| model::compile_comparison(&mut table, c))
            .collect::<Result<Vec<_>, _>>()?;
        let rules = compile_rules(&mut table, &spec.blocking.rules)?;
        let mut hard_cols = Vec::new();
        for h in &spec.cluster.hard {
            let k = KeyExpr::parse(&h.column).map_err(|m| LinkError::spec("cluster.hard", m))?;
            hard_cols.push((
                table.expr_column(&k)?,
                h.kind,
                h.tolerance,
                h.column.clone(),
            ));
        }
        let cmp = Comparator::new(&table, comps);
        let blocker = Blocker::new(&table, rules);
        let n_records = table.len();
        let pairing = Pairing {
            link_only: link_type == LinkType::LinkOnly,
            side: table.source.clone(),
        };
        Ok(Linker {
            spec,
            table,
            link_type,
            pairing,
            cmp,
            blocker,
            params: None,
            weights: None,
            model_records: n_records,
            hard_cols,
        })
    }

    /// Candidate pairs per blocking rule, from group sizes (nothing scored).
    pub fn count_blocking(&self) -> Vec<RuleCount> {
        self.blocker.count(&self.pairing)
    }

    /// Refuse rules creating more than `blocking.max_pairs` pairs.
    pub fn guard(&self, counts: &[RuleCount]) -> Result<(), LinkError> {
        self.blocker.guard(counts, self.spec.blocking.max_pairs)
    }

    /// Keep every blocking rule within `blocking.max_pairs`: skip the largest blocks of a rule
    /// over it (`oversize = "skip_largest_blocks"`, the default; returned and kept in
    /// `blocker.caps`) or refuse (`oversize = "refuse"`). Call before training and scoring.
    pub fn limit_blocking(&mut self) -> Result<Vec<BlockCap>, LinkError> {
        match self.spec.blocking.oversize {
            Oversize::Refuse => {
                let counts = self.count_blocking();
                self.guard(&counts)?;
                Ok(Vec::new())
            }
            Oversize::SkipLargestBlocks => Ok(self
                .blocker
                .cap_blocks(&self.pairing, self.spec.blocking.max_pairs)),
        }
    }

    /// Blocks skipped by [`Linker::limit_blocking`].
    pub fn block_caps(&self) -> Vec<BlockCap> {
        self.blocker.caps.iter().flatten().cloned().collect()
    }

    /// Estimate λ, u and m. `labels` are labelled pairs (record index a, b, is_match).
    pub fn train(&mut self, labels: Vec<(u32, u32, bool)>) -> Result<TrainSummary, LinkError> {
        let tspec = &self.spec.training;
        let det_pairs = if tspec.deterministic_rules.is_empty() || tspec.lambda.is_some() {
            None
        } else {
            let rules = compile_rules(&mut self.table, &tspec.deterministic_rules)?;
            let mut b = Blocker::new(&self.table, rules);
            match self.spec.blocking.oversize {
                Oversize::Refuse => {
                    let counts = b.count(&self.pairing);
                    b.guard(&counts, self.spec.blocking.max_pairs)?;
                }
                Oversize::SkipLargestBlocks => {
                    b.cap_blocks(&self.pairing, self.spec.blocking.max_pairs);
                }
            }
            let (_, marginal) = b.generate(&self.pairing, |_, _, _| None::<()>);
            Some(marginal.iter().sum())
        };
        let mut sessions = Vec::new();
        for s in &tspec.em_sessions {
            let rules = compile_rules(&mut self.table, std::slice::from_ref(s))?;
            let cols = rules[0].base_columns.clone();
            sessions.push((Blocker::new(&self.table, rules), cols));
        }
        let (params, weights) = model::train(TrainInput {
            table: &self.table,
            cmp: &self.cmp,
            pairing: &self.pairing,
            spec: &self.spec.training,
            det_pairs,
            sessions,
            labels,
        });
        self.params = Some(params);
        self.weights = Some(weights);
        if self.spec.training.lambda.is_none() {
            match self.spec.training.prior_refit {
                PriorRefit::None => {}
                PriorRefit::Global => self.refit_prior(false),
                PriorRefit::BySource => self.refit_prior(true),
            }
        }
        Ok(TrainSummary {
            deterministic_pairs: det_pairs,
        })
    }

    /// Re-estimate λ from every candidate pair's evidence (m and u fixed): once over all
    /// pairs, then, `by_source`, per pair of sources shrunk toward the global λ by a few
    /// pseudo-matches so a small pair of sources does not swing on a handful of pairs.
    fn refit_prior(&mut self, by_source: bool) {
        /// Expected matches a pair of sources' λ is shrunk by (toward the global λ).
        const PSEUDO_MATCHES: f64 = 5.0;
        /// More sources than this: one λ (the matrix would be large and thin).
        const MAX_SOURCES: usize = 16;
        let n = self.table.source_names.len();
        let by_source = by_source && n > 1 && n <= MAX_SOURCES;
        let strata = if by_source { n * n } else { 1 };
        let hist = model::EvidenceHistogram::new(strata);
        {
            let w = self.weights();
            let source = &self.table.source;
            self.blocker.generate(&self.pairing, |a, b, _| {
                let v = self.cmp.vector(&self.table, a, b);
                let (sa, sb) = (source[a as usize] as usize, source[b as usize] as usize);
                let st = if by_source {
                    sa.min(sb) * n + sa.max(sb)
                } else {
                    0
                };
                hist.add(st, w.evidence(&self.cmp, v, a, b));
                None::<()>
            });
        }
        let params = self.params.as_mut().expect("trained");
        let total = self.pairing.total_pairs().max(1.0);
        let all = hist.counts(None);
        let (global, expected) = model::refit_lambda(&all, total, params.lambda, 0.0, 0.0);
        params.lambda_from = format!(
            "re-estimated on {} candidate pairs ({expected:.0} expected matches; from {:.3e}, {})",
            all.iter().sum::<u64>(),
            params.lambda,
            params.lambda_from
        );
        params.lambda = global;
        params.prior_weight = model::prior_weight(global);
        let mut priors = Vec::new();
        if by_source {
            let mut count = vec![0f64; n];
            for &s in &self.table.source {
                count[s as usize] += 1.0;
            }
            for sa in 0..n {
                for sb in sa..n {
                    let pairs = if sa == sb {
                        if self.pairing.link_only {
                            continue;
                        }
                        count[sa] * (count[sa] - 1.0) / 2.0
                    } else {
                        count[sa] * count[sb]
                    };
                    if pairs <= 0.0 {
                        continue;
                    }
                    let c = hist.counts(Some(sa * n + sb));
                    let (lambda, expected_matches) =
                        model::refit_lambda(&c, pairs, global, PSEUDO_MATCHES, global);
                    priors.push(model::SourcePrior {
                        left: self.table.source_names[sa].clone(),
                        right: self.table.source_names[sb].clone(),
                        pairs,
                        candidates: c.iter().sum(),
                        expected_matches,
                        lambda,
                        weight: model::prior_weight(lambda),
                    });
                }
            }
        }
        params.source_priors = priors;
        let w = self.weights.as_mut().expect("trained");
        w.prior = params.prior_weight;
        w.pair_prior = model::PairPrior::resolve(
            &params.source_priors,
            &self.table.source_names,
            params.prior_weight,
        );
    }

    /// Set parameters directly (e.g. a model trained elsewhere).
    pub fn set_model(&mut self, params: Params, weights: Weights) {
        self.params = Some(params);
        self.weights = Some(weights);
    }

    fn weights(&self) -> &Weights {
        self.weights.as_ref().expect("train() before scoring")
    }

    /// Match weight of any pair of records (blocked or not).
    pub fn score(&self, a: u32, b: u32) -> f64 {
        let v = self.cmp.vector(&self.table, a, b);
        self.weights().score_vector(&self.cmp, &self.table, v, a, b)
    }

    pub fn threshold_weight(&self) -> f64 {
        self.spec.threshold.weight()
    }

    /// The lowest weight a pair needs to be kept: the threshold, less the size prior's reach.
    pub fn keep_weight(&self) -> f64 {
        self.threshold_weight()
            - self
                .spec
                .cluster
                .size_prior
                .map_or(0.0, |s| s.max_bits.max(0.0))
    }

    /// Score all blocked pairs; keep those at or above the threshold (and, for the size prior,
    /// those within its reach below).
    pub fn predict(&self) -> Prediction {
        let thr = self.threshold_weight();
        let keep = self.keep_weight();
        let truth = self.table.truth.as_deref();
        let w = self.weights();
        let suffix = w.suffix_max(&self.cmp);
        let (kept, marginal) = self.blocker.generate(&self.pairing, |a, b, _| {
            let is_true =
                truth.is_some_and(|t| t[a as usize] != NULL && t[a as usize] == t[b as usize]);
            if is_true {
                let v = self.cmp.vector(&self.table, a, b);
                let s = w.score_vector(&self.cmp, &self.table, v, a, b);
                return Some((Edge { a, b, weight: s }, true));
            }
            let s = self.cmp.score_pruned(&self.table, w, &suffix, a, b, keep)?;
            (s >= keep).then_some((Edge { a, b, weight: s }, false))
        });
        let candidates = marginal.iter().sum();
        let mut p = Prediction {
            candidates,
            marginal,
            ..Default::default()
        };
        for (e, t) in kept {
            if t {
                p.true_candidates += 1;
            }
            if e.weight >= thr {
                p.edges.push(e);
            } else {
                if t {
                    p.missed_true.push(e);
                }
                if e.weight >= keep && keep < thr {
                    p.near.push(e);
                }
            }
        }
        p
    }

    /// Hard-identifier fields for clustering.
    pub fn hard_fields(&self) -> Vec<HardField> {
        self.hard_cols
            .iter()
            .map(|(col, kind, tol, name)| {
                let c = &self.table.columns[*col];
                let compat = match kind {
                    HardKindSpec::Exact => HardCompat::Exact,
                    HardKindSpec::Edit => {
                        let vals = c.values.clone();
                        let k = *tol as usize;
                        HardCompat::Custom(Box::new(move |x, y| {
                            compare::damerau_levenshtein(&vals[x as usize], &vals[y as usize]) <= k
                        }))
                    }
                    HardKindSpec::Dob => {
                        let dates: Vec<Option<compare::DateVal>> =
                            c.values.iter().map(|v| compare::parse_date(v)).collect();
                        let tol = *tol;
                        HardCompat::Custom(Box::new(move |x, y| {
                            match (&dates[x as usize], &dates[y as usize]) {
                                (Some(a), Some(b)) => {
                                    a.days_apart(b).is_some_and(|d| d as f64 <= tol)
                                        || a.year_off_by(b, 1)
                                        || a.day_month_swapped(b)
                                        || a.partial_agree(b)
                                        || a.year_only_within(b, 1)
                                        || a.text == b.text
                                }
                                _ => true,
                            }
                        }))
                    }
                    HardKindSpec::GivenNames => {
                        let parts: Vec<(Vec<char>, Vec<char>)> =
                            c.values.iter().map(|v| given_initials(v)).collect();
                        HardCompat::Custom(Box::new(move |x, y| {
                            given_names_compatible(&parts[x as usize], &parts[y as usize])
                        }))
                    }
                    HardKindSpec::DateYears => {
                        let dates: Vec<Option<compare::DateVal>> =
                            c.values.iter().map(|v| compare::parse_date(v)).collect();
                        let tol = *tol;
                        HardCompat::Custom(Box::new(move |x, y| {
                            match (&dates[x as usize], &dates[y as usize]) {
                                (Some(a), Some(b)) => match a.days_apart(b) {
                                    Some(d) => d as f64 <= tol * 365.25,
                                    None => f64::from(a.year.abs_diff(b.year)) <= tol.ceil(),
                                },
                                _ => true,
                            }
                        }))
                    }
                };
                let codes = match kind {
                    HardKindSpec::GivenNames => {
                        let has_middle: Vec<bool> = c
                            .values
                            .iter()
                            .map(|v| !given_initials(v).1.is_empty())
                            .collect();
                        c.codes
                            .iter()
                            .map(|&x| {
                                if x != NULL && has_middle[x as usize] {
                                    x
                                } else {
                                    NULL
                                }
                            })
                            .collect()
                    }
                    _ => c.codes.clone(),
                };
                // a full date is precise; a year or a year and month alone is not
                let precise =
                    matches!(kind, HardKindSpec::Dob | HardKindSpec::DateYears).then(|| {
                        c.values
                            .iter()
                            .map(|v| compare::parse_date(v).is_some_and(|d| d.is_full()))
                            .collect()
                    });
                HardField {
                    name: name.clone(),
                    codes,
                    compat,
                    precise,
                }
            })
            .collect()
    }

    /// Cluster the edges with the spec's options and reviewer constraints (record indices);
    /// `near` are the pairs below the threshold that the size prior may use
    /// ([`Prediction::near`]).
    pub fn cluster(
        &self,
        edges: &[Edge],
        near: &[Edge],
        must_link: &[(u32, u32)],
        cannot_link: &[(u32, u32)],
    ) -> Clustering {
        let rank: Vec<u32> = (0..self.table.len() as u32).collect();
        let hard = self.hard_fields();
        let scorer = |a: u32, b: u32| self.score(a, b);
        let c = &self.spec.cluster;
        // profile fields: each comparison's own weight for a pair of records
        let profile_ci: Vec<usize> = c
            .profile
            .iter()
            .filter_map(|name| self.cmp.comps.iter().position(|x| &x.name == name))
            .collect();
        let field_weights: Vec<Box<dyn Fn(u32, u32) -> f64 + Sync>> = profile_ci
            .iter()
            .map(|&ci| {
                Box::new(move |a: u32, b: u32| {
                    self.weights()
                        .field_weight(&self.cmp, &self.table, ci, a, b)
                }) as Box<dyn Fn(u32, u32) -> f64 + Sync>
            })
            .collect();
        let profile: Vec<crate::cluster::ProfileField<'_>> = if self.params.is_some() {
            profile_ci
                .iter()
                .zip(&field_weights)
                .map(|(&ci, w)| crate::cluster::ProfileField {
                    codes: &self.table.columns[self.cmp.comps[ci].col].codes,
                    weight: w.as_ref(),
                })
                .collect()
        } else {
            Vec::new()
        };
        let ctx = ClusterContext {
            rank: &rank,
            sources: &self.table.source,
            hard: &hard,
            must_link,
            cannot_link,
            scorer: Some(&scorer),
            near,
            profile: &profile,
            options: ClusterOptions {
                one_per_source: c.one_per_source,
                min_mean_probability: c.min_mean_probability,
                min_pair_weight: c.min_pair_weight,
                max_support_pairs: c.max_support_pairs,
                support_min_records: c.support_min_records,
                support_bridges: c.support_bridges,
                ambiguity_margin: c.ambiguity_margin,
                size_prior: c.size_prior.and_then(|sp| {
                    let lambda = self.params.as_ref()?.lambda;
                    Some(crate::cluster::SizePrior {
                        matches_per_record: lambda * (self.model_records.max(1) - 1) as f64,
                        max_bits: sp.max_bits,
                        threshold: self.threshold_weight(),
                        margin: sp.margin,
                    })
                }),
                threshold: (!profile.is_empty()).then(|| self.threshold_weight()),
            },
        };
        cluster::cluster(self.table.len(), edges, &ctx)
    }

    /// The name-only pass (`cluster.name_only`, see [`crate::name_only`]) over a clustering
    /// of every record: which lone name-only records join a person. `may_move` narrows the
    /// records considered (an incremental run: those it re-clustered; reviewer decisions).
    /// Empty when the spec has no `name_only` or the model is not trained.
    pub fn name_only_decisions(
        &self,
        labels: &[u32],
        may_move: &dyn Fn(u32) -> bool,
    ) -> Vec<crate::name_only::NameOnlyAttach> {
        use crate::spec::Level;
        let (Some(no), Some(params)) = (&self.spec.cluster.name_only, &self.params) else {
            return Vec::new();
        };
        // linking two files joins records across them only; the pass joins within a source
        if self.link_type == LinkType::LinkOnly || self.spec.cluster.one_per_source {
            return Vec::new();
        }
        let Some(ci) = self.cmp.comps.iter().position(|c| c.name == no.comparison) else {
            return Vec::new();
        };
        let comp = &self.cmp.comps[ci];
        let m_of = |label: &str| {
            params.comparisons[ci]
                .levels
                .iter()
                .find(|l| l.label == label)
                .map(|l| l.m)
        };
        let Some(m_exact) = m_of("exact") else {
            return Vec::new();
        };
        // the levels at which a name counts as the person's written another way (misspelt, a
        // nickname), each with its m, by their place among the comparison's levels: a pair of
        // names takes the first of the comparison's levels that holds, and counts only when
        // that level is listed ("daniela" is Daniel's gender variant, not his name misspelt)
        let listed: Vec<&str> = no
            .fuzzy_level
            .iter()
            .chain(&no.levels)
            .map(String::as_str)
            .collect();
        let mut at: Vec<(usize, f64)> = Vec::new();
        for (k, label) in self.spec.comparisons[ci].levels.iter().enumerate() {
            if listed.contains(&label.as_str()) {
                if let Some(m) = m_of(label) {
                    at.push((k, m));
                }
            }
        }
        let m_levels: Vec<f64> = at.iter().map(|x| x.1).collect();
        let last = at.last().map(|x| x.0);
        let name_col = &self.table.columns[comp.col];
        // the comparison whose value may be an initial alone on a name-only record, where it
        // counts with the name ("Travis F")
        let position = |name: &Option<String>| {
            name.as_ref()
                .and_then(|n| self.cmp.comps.iter().position(|c| &c.name == n))
        };
        let initial = position(&no.initial_of);
        // the comparison whose whole value may stand beside the name ("Patricia Mitchell")
        let surname = position(&no.surname);
        // what a name-only record may not carry: every other comparison's column unless it
        // is context, and every alias column (a context comparison's own column may be the
        // full name, which a name-only record has; its aliases would say more)
        let telling: Vec<usize> = self
            .cmp
            .comps
            .iter()
            .enumerate()
            .flat_map(|(i, c)| {
                let own = i != ci
                    && Some(i) != initial
                    && Some(i) != surname
                    && !no.context.contains(&c.name);
                own.then_some(c.col).into_iter().chain(c.alias_col)
            })
            .collect();
        // (`decide` keeps only the records alone in their person)
        let bare = |r: usize| {
            name_col.codes[r] != NULL
                && telling
                    .iter()
                    .all(|&c| self.table.columns[c].codes[r] == NULL)
                && may_move(r as u32)
        };
        // the listed level two different names take, if any
        let level_on_text = |x: &str, y: &str| -> Option<usize> {
            let last = last?;
            for (k, l) in comp.levels[..=last].iter().enumerate() {
                let hit = match *l {
                    Level::Exact => continue,
                    Level::JaroWinkler(t) => {
                        let (lx, ly) = (x.chars().count(), y.chars().count());
                        // Jaro–Winkler at t needs Jaro at (t − 0.4) / 0.6 (the prefix adds at
                        // most 0.4 of what Jaro lacks), which needs the shorter name to be at
                        // least 3·that − 2 of the longer: skip the rest unscored
                        let need = 3.0 * (t - 0.4) / 0.6 - 2.0 - 1e-9;
                        (lx.min(ly) as f64) >= need * lx.max(ly) as f64
                            && compare::jaro_winkler(x, y) >= t
                    }
                    _ => l.hit_on_text(x, y) == Some(true),
                };
                if hit {
                    return at.iter().position(|a| a.0 == k);
                }
            }
            None
        };
        let threshold = no.match_probability.unwrap_or_else(|| {
            let odds = self.threshold_weight().exp2();
            odds / (1.0 + odds)
        });
        let tier = |names: &[u32],
                    movable: &[bool],
                    level_of: &(dyn Fn(u32, u32) -> Option<usize> + Sync),
                    bucket: Option<&(dyn Fn(u32) -> u32 + Sync)>| {
            crate::name_only::decide(&crate::name_only::NameOnlyInput {
                labels,
                sources: &self.table.source,
                names,
                movable,
                level_of: last.is_some().then_some(level_of),
                bucket,
                m_exact,
                m_levels: &m_levels,
                threshold,
            })
        };
        let initial_col = initial.map(|i| &self.table.columns[self.cmp.comps[i].col]);
        let initial_of = |r: usize| initial_col.and_then(|c| c.value(r));
        let surname_col = surname.map(|i| &self.table.columns[self.cmp.comps[i].col]);
        let surname_of = |r: usize| surname_col.and_then(|c| c.value(r));
        // the name alone
        let movable: Vec<bool> = (0..labels.len())
            .map(|r| bare(r) && initial_of(r).is_none() && surname_of(r).is_none())
            .collect();
        let first_level = |a: u32, b: u32| {
            level_on_text(&name_col.values[a as usize], &name_col.values[b as usize])
        };
        let mut decisions = tier(&name_col.codes, &movable, &first_level, None);
        let first_of = |r: usize| Some(name_col.codes[r]).filter(|&c| c != NULL);
        // the name and an initial ("travis f", for Travis Fisher too)
        if let Some(ic) = initial_col {
            let p = Paired::new(labels.len(), |r| {
                Some((first_of(r)?, ic.value(r)?.chars().next()?))
            });
            let movable: Vec<bool> = (0..labels.len())
                .map(|r| bare(r) && initial_of(r).is_some_and(|v| v.chars().count() == 1))
                .collect();
            decisions.extend(tier(
                &p.names,
                &movable,
                &|a, b| p.level(a, b, &first_level),
                Some(&|a| p.second(a) as u32),
            ));
        }
        // the name and the whole surname ("patricia mitchell" from a 911 caller)
        if let Some(sc) = surname_col {
            let p = Paired::new(labels.len(), |r| {
                Some((first_of(r)?, Some(sc.codes[r]).filter(|&c| c != NULL)?))
            });
            let movable: Vec<bool> = (0..labels.len())
                .map(|r| bare(r) && surname_of(r).is_some_and(|v| v.chars().count() > 1))
                .collect();
            decisions.extend(tier(
                &p.names,
                &movable,
                &|a, b| p.level(a, b, &first_level),
                Some(&|a| p.second(a)),
            ));
        }
        decisions.sort_unstable_by_key(|d| d.record);
        // a hard identifier the record carries (a spec may make one of a context column)
        // must not conflict with any of the person's
        let hard = self.hard_fields();
        if hard.is_empty() || decisions.is_empty() {
            return decisions;
        }
        let mut members: rustc_hash::FxHashMap<u32, Vec<u32>> = Default::default();
        for d in &decisions {
            members.entry(d.person).or_default();
        }
        for (r, l) in labels.iter().enumerate() {
            if let Some(v) = members.get_mut(l) {
                v.push(r as u32);
            }
        }
        // as the clustering weighs two clusters
        decisions
            .into_iter()
            .filter(|d| {
                hard.iter().all(|h| {
                    let x = h.codes[d.record as usize];
                    let mut theirs: Vec<u32> = members[&d.person]
                        .iter()
                        .map(|&m| h.codes[m as usize])
                        .filter(|&y| y != NULL)
                        .collect();
                    theirs.sort_unstable();
                    theirs.dedup();
                    x == NULL || !h.conflicts(&[x], &theirs)
                })
            })
            .collect()
    }

    /// Report a name-only attachment beside the size prior's (a reviewer should see it).
    pub fn report_name_only(
        &self,
        clustering: &mut Clustering,
        d: &crate::name_only::NameOnlyAttach,
    ) {
        clustering.attached.push(Edge {
            a: d.record,
            b: d.member,
            weight: self.score(d.record, d.member),
        });
        clustering.refused.attached_by_name += 1;
    }

    /// Apply name-only decisions to a clustering of every record: each record joins its
    /// person, labels are renumbered by the lowest record, and the links are reported beside
    /// the size prior's (a reviewer should see them).
    pub fn apply_name_only(
        &self,
        clustering: &mut Clustering,
        decisions: &[crate::name_only::NameOnlyAttach],
    ) {
        if decisions.is_empty() {
            return;
        }
        for d in decisions {
            clustering.labels[d.record as usize] = clustering.labels[d.member as usize];
            self.report_name_only(clustering, d);
        }
        let mut renumber = vec![u32::MAX; clustering.labels.len()];
        let mut next = 0u32;
        for l in clustering.labels.iter_mut() {
            let slot = &mut renumber[*l as usize];
            if *slot == u32::MAX {
                *slot = next;
                next += 1;
            }
            *l = *slot;
        }
    }

    /// Fill `ev`'s worst false merges and missed links (at most `n` of each) for the clustering
    /// `pred` against `truth` (one label per record, `u32::MAX` = unknown), scoring pairs with
    /// the trained model exactly as [`Linker::explain`] does; `label` names a record.
    pub fn inspect(
        &self,
        ev: &mut crate::eval::Evaluation,
        pred: &[u32],
        truth: &[u32],
        n: usize,
        label: &(dyn Fn(u32) -> String + Sync),
    ) {
        let score = |a: u32, b: u32| self.score(a, b);
        let blocked = |a: u32, b: u32| self.pairing.allowed(a, b) && self.blocker.covers(a, b);
        ev.inspect(
            pred,
            truth,
            n,
            &crate::eval::PairModel {
                score: &score,
                blocked: &blocked,
                threshold: self.threshold_weight(),
                label,
            },
        );
    }

    /// Share of true pairs (in scope of the link type) that some blocking rule generates.
    pub fn blocking_recall(&self, truth: &[u32]) -> Option<f64> {
        crate::eval::blocking_recall(truth, &|a, b| self.pairing.allowed(a, b), &|a, b| {
            self.blocker.covers(a, b)
        })
    }

    /// The match-weight waterfall of a pair.
    pub fn explain(&self, a: u32, b: u32) -> Explanation {
        explain::explain(self, a, b)
    }

    /// Explain a pair given by (source, id) of each side.
    pub fn explain_ids(&self, a: (&str, &str), b: (&str, &str)) -> Result<Explanation, LinkError> {
        let ia = self
            .table
            .find(a.0, a.1)
            .ok_or_else(|| LinkError::UnknownRecord(format!("{}:{}", a.0, a.1)))?;
        let ib = self
            .table
            .find(b.0, b.1)
            .ok_or_else(|| LinkError::UnknownRecord(format!("{}:{}", b.0, b.1)))?;
        Ok(self.explain(ia as u32, ib as u32))
    }
}

/// Name-only records keyed by a first name paired with a second value (a surname's initial, or
/// the whole surname): each distinct pair a name code of its own, a person's commonest pair
/// standing for it.
struct Paired<K> {
    /// Pair code per record (`NULL`: no pair).
    names: Vec<u32>,
    keys: Vec<(u32, K)>,
}

impl<K: Copy + Eq + std::hash::Hash> Paired<K> {
    fn new(n: usize, pair_of: impl Fn(usize) -> Option<(u32, K)>) -> Self {
        let mut keys: Vec<(u32, K)> = Vec::new();
        let mut code_of: rustc_hash::FxHashMap<(u32, K), u32> = Default::default();
        let names = (0..n)
            .map(|r| match pair_of(r) {
                Some(pair) => *code_of.entry(pair).or_insert_with(|| {
                    keys.push(pair);
                    (keys.len() - 1) as u32
                }),
                None => NULL,
            })
            .collect();
        Paired { names, keys }
    }

    /// The second value of pair code `a`.
    fn second(&self, a: u32) -> K {
        self.keys[a as usize].1
    }

    /// The level at which two pair codes agree: their second values equal and their first
    /// names agreeing at that level.
    fn level(
        &self,
        a: u32,
        b: u32,
        first_level: &dyn Fn(u32, u32) -> Option<usize>,
    ) -> Option<usize> {
        let ((fa, xa), (fb, xb)) = (self.keys[a as usize], self.keys[b as usize]);
        if xa == xb {
            first_level(fa, fb)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ok(a: &str, b: &str) -> bool {
        given_names_compatible(&given_initials(a), &given_initials(b))
    }

    #[test]
    fn middle_initials_tell_people_apart_but_not_a_resplit_name() {
        // father and son: same first name, different middle initial
        assert!(!ok("john | a", "john | b"));
        assert!(ok("john | a", "john | anthony"));
        // "VASQUEZ RAMIREZ, PEDRO C" read as first RAMIREZ, middle PEDRO C
        assert!(ok("ramirez | pedro c", "pedro | c"));
        // no middle name: nothing to compare
        assert!(ok("john | ", "john | b"));
        // a middle name and its nickname
        assert!(ok("perez | jesus", "perez | chuy"));
        assert!(ok("john | william", "john | bill"));
        assert!(!ok("john | bill", "john | c"));
    }

    proptest! {
        #[test]
        fn given_names_compatibility_is_symmetric(
            a in "[a-c]{1,2}( [a-c]{1,2})? \\| ([a-c]( [a-c])?)?",
            b in "[a-c]{1,2}( [a-c]{1,2})? \\| ([a-c]( [a-c])?)?",
        ) {
            prop_assert_eq!(ok(&a, &b), ok(&b, &a));
            prop_assert!(ok(&a, &a));
        }
    }
}
