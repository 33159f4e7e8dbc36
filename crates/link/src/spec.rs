//! The linkage spec: which column is the id, which fields to compare and how, blocking rules,
//! training, threshold and clustering options. Written in TOML (see `examples/*.toml`) or built in
//! code (see [`crate::person::person_spec`]).
//!
//! ```toml
//! id_column = "rec_id"
//!
//! [[comparison]]
//! name = "given_name"
//! levels = ["exact", "jaro_winkler>=0.92", "jaro_winkler>=0.88", "jaro_winkler>=0.7"]
//! tf = true
//!
//! [blocking]
//! rules = [["postcode"], ["surname"], ["dmetaphone(surname)", "year(date_of_birth)"]]
//!
//! [training]
//! deterministic_rules = [["given_name", "surname", "date_of_birth"]]
//! recall = 0.7
//! em_sessions = [["date_of_birth"], ["postcode"]]
//! ```
//!
//! Level mini-language (the first level that holds wins; a null on either side is its own
//! neutral level, and a pair matching no level falls in "else"):
//! `exact`, `jaro_winkler>=T` (`jw>=T`), `jaro>=T`, `damerau_levenshtein<=K` (`dl<=K`),
//! `levenshtein<=K`, `token_jaccard>=T`, `first_token`, `token_overlap`, `nickname`,
//! `gender_variant` (juan / juana, mario / maria), `dmetaphone`, `initial`, `swapped` (needs
//! `swap_with`; when `exact` is declared too, a swapped match counts at most what the same
//! value would count as an exact match, term frequency included), `alias` (needs `aliases`),
//! `name_tokens` (needs `tokens_of`), and for dates `dm_swap`, `year_off<=K` (same
//! month/day), `within_days<=K`, `within_years<=K`, `same_year_month`,
//! `same_year`, `partial`.
//!
//! Key expressions (blocking rules, and `column` of a comparison): a column name, or
//! `substr(col,start,len)`, `first(col,n)`, `last(col,n)`, `initial(col)`, `dmetaphone(col)`,
//! `dmetaphone_alt(col)`, `nickname(col)`, `year(col)`, `year_month(col)`, `digits(col)`,
//! `last_digits(col,n)`, `first_token(col)`, `last_token(col)`, `concat(col1,col2,...)`,
//! `sorted_concat(col1,col2,...)` (the values sorted first: a key that ignores swaps).

use crate::error::LinkError;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// How records are paired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkType {
    /// Only pairs whose sources differ (two files, or several agencies without in-source dedupe).
    LinkOnly,
    /// All pairs, regardless of source.
    Dedupe,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    #[serde(default)]
    pub name: Option<String>,
    /// Column holding the record id (unique within a source).
    pub id_column: String,
    /// Column naming the source of each row (one file holding several agencies).
    #[serde(default)]
    pub source_column: Option<String>,
    /// Default: `link_only` when two files are given, else `dedupe`.
    #[serde(default)]
    pub link_type: Option<LinkType>,
    /// Values read as null (after trimming, case-insensitive), in addition to the empty string.
    #[serde(default)]
    pub null_values: Vec<String>,
    #[serde(rename = "comparison")]
    pub comparisons: Vec<ComparisonSpec>,
    #[serde(default)]
    pub blocking: BlockingSpec,
    #[serde(default)]
    pub training: TrainingSpec,
    #[serde(default)]
    pub threshold: ThresholdSpec,
    #[serde(default)]
    pub cluster: ClusterSpec,
    /// Evaluation only: never read before clustering is done.
    #[serde(default)]
    pub evaluation: EvaluationSpec,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComparisonSpec {
    pub name: String,
    /// Column or key expression compared (default: `name`).
    #[serde(default)]
    pub column: Option<String>,
    pub levels: Vec<String>,
    /// Term-frequency adjustment on the exact level.
    #[serde(default)]
    pub tf: bool,
    /// Lower bound of the per-value u used by the term-frequency adjustment.
    #[serde(default)]
    pub tf_min_u: Option<f64>,
    /// Count a value's frequency over the distinct values of this column (or key expression)
    /// among the records holding it, instead of over records: how many people share a value,
    /// not how often one person was recorded with it (a frequent caller's own name and home
    /// would otherwise look common).
    #[serde(default)]
    pub tf_distinct: Option<String>,
    /// Column whose values are compared crosswise for the `swapped` level.
    #[serde(default)]
    pub swap_with: Option<String>,
    /// Column holding `|`-separated alternative values (a.k.a.) for the `alias` level.
    #[serde(default)]
    pub aliases: Option<String>,
    /// Compare only when this column is equal on both sides; otherwise the null level.
    #[serde(default)]
    pub scope: Option<String>,
    /// Compare only when this column differs on the two sides (e.g. `source`: evidence that
    /// holds between agencies but not within one); otherwise the null level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apart: Option<String>,
    /// Column (or key expression, e.g. `concat(first,middle,last)`) whose words the
    /// `name_tokens` level compares.
    #[serde(default)]
    pub tokens_of: Option<String>,
    /// Prior m per declared level plus a last value for "else" (EM starts here; kept when EM
    /// cannot estimate it).
    #[serde(default)]
    pub m: Option<Vec<f64>>,
    /// Fixed u per declared level plus "else" (skips random sampling for this comparison).
    #[serde(default)]
    pub u: Option<Vec<f64>>,
    /// Levels (by label, e.g. `"else"`) that veto a link whatever the other fields say: their
    /// weight is set to -100 (twins: same surname, DOB and address, different first name).
    #[serde(default)]
    pub veto: Vec<String>,
}

impl ComparisonSpec {
    /// A comparison of `column` at `levels`, every option off (m and u learned).
    pub fn plain(name: &str, column: &str, levels: &[&str]) -> ComparisonSpec {
        ComparisonSpec {
            name: name.into(),
            column: Some(column.into()),
            levels: levels.iter().map(|l| l.to_string()).collect(),
            tf: false,
            tf_min_u: None,
            swap_with: None,
            aliases: None,
            scope: None,
            apart: None,
            tokens_of: None,
            tf_distinct: None,
            m: None,
            u: None,
            veto: Vec::new(),
        }
    }

    pub fn column_expr(&self) -> &str {
        self.column.as_deref().unwrap_or(&self.name)
    }
}

fn default_max_pairs() -> u64 {
    100_000_000
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockingSpec {
    /// OR-ed rules; each rule is a list of key expressions that must all be equal (and non-null).
    #[serde(default)]
    pub rules: Vec<Vec<String>>,
    /// Pair budget per rule: a rule that alone would create more pairs than this has its
    /// largest blocks skipped (reported), or is refused (`oversize = "refuse"`).
    #[serde(default = "default_max_pairs")]
    pub max_pairs: u64,
    /// What to do with a rule over `max_pairs`.
    #[serde(default)]
    pub oversize: Oversize,
}

/// What to do when a blocking rule would create more than `max_pairs` pairs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Oversize {
    /// Skip the rule's largest blocks (the most common key values) until it fits; report them.
    #[default]
    SkipLargestBlocks,
    /// Refuse to run.
    Refuse,
}

impl Default for BlockingSpec {
    fn default() -> Self {
        BlockingSpec {
            rules: Vec::new(),
            max_pairs: default_max_pairs(),
            oversize: Oversize::default(),
        }
    }
}

fn default_recall() -> f64 {
    0.7
}
fn default_u_pairs() -> usize {
    1_000_000
}
fn default_seed() -> u64 {
    42
}
fn default_em_pairs() -> usize {
    2_000_000
}
fn default_em_iter() -> usize {
    30
}
fn default_em_tol() -> f64 {
    1e-4
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingSpec {
    /// Strict rules whose pairs are taken as matches to estimate λ (with `recall`).
    #[serde(default)]
    pub deterministic_rules: Vec<Vec<String>>,
    /// Assumed share of all true matches that the deterministic rules find.
    #[serde(default = "default_recall")]
    pub recall: f64,
    /// Fixed λ (probability that two random records match); overrides the estimate.
    #[serde(default)]
    pub lambda: Option<f64>,
    /// Random pairs sampled per comparison to estimate u.
    #[serde(default = "default_u_pairs")]
    pub u_max_pairs: usize,
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// EM sessions, each blocked on one rule; a comparison's m is estimated only in sessions
    /// whose rule does not use its columns.
    #[serde(default)]
    pub em_sessions: Vec<Vec<String>>,
    /// Pairs per EM session above which a deterministic sample is taken.
    #[serde(default = "default_em_pairs")]
    pub em_max_pairs: usize,
    #[serde(default = "default_em_iter")]
    pub em_max_iterations: usize,
    #[serde(default = "default_em_tol")]
    pub em_tolerance: f64,
    /// After EM, keep the "else" level's m at least this share of its prior m (the spec's `m`,
    /// or the default); 0 = off. Guards against EM deciding that true matches never disagree on a
    /// field (people do change phones and addresses).
    #[serde(default)]
    pub m_prior_floor: f64,
    /// Optional labelled pairs (CSV: `id_l,id_r,label` with label 1/0 or a clerical score);
    /// the m of every comparison is then taken from the labelled matches.
    #[serde(default)]
    pub labels: Option<LabelsSpec>,
    /// After training, re-estimate λ from the scored candidate pairs (EM on λ with m and u
    /// fixed): `"none"` (the default), `"global"`, or `"by_source"` (one λ per pair of
    /// sources: a crisis team's few, often-seen clients make two of its records far likelier
    /// to be one person than a 911 caller and a jail booking).
    #[serde(default)]
    pub prior_refit: PriorRefit,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriorRefit {
    #[default]
    None,
    Global,
    BySource,
}

impl Default for TrainingSpec {
    fn default() -> Self {
        TrainingSpec {
            deterministic_rules: Vec::new(),
            recall: default_recall(),
            lambda: None,
            u_max_pairs: default_u_pairs(),
            seed: default_seed(),
            em_sessions: Vec::new(),
            em_max_pairs: default_em_pairs(),
            em_max_iterations: default_em_iter(),
            em_tolerance: default_em_tol(),
            m_prior_floor: 0.0,
            labels: None,
            prior_refit: PriorRefit::None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelsSpec {
    /// Path, relative to the spec file.
    pub path: String,
    #[serde(default = "default_label_l")]
    pub left_id_column: String,
    #[serde(default = "default_label_r")]
    pub right_id_column: String,
    #[serde(default = "default_label_score")]
    pub label_column: String,
}
fn default_label_l() -> String {
    "unique_id_l".into()
}
fn default_label_r() -> String {
    "unique_id_r".into()
}
fn default_label_score() -> String {
    "clerical_match_score".into()
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThresholdSpec {
    /// Keep pairs with match probability >= this (default 0.5).
    #[serde(default)]
    pub match_probability: Option<f64>,
    /// Or: keep pairs with match weight >= this (log2 Bayes factor incl. prior).
    #[serde(default)]
    pub match_weight: Option<f64>,
}

impl ThresholdSpec {
    pub fn weight(&self) -> f64 {
        if let Some(w) = self.match_weight {
            return w;
        }
        let p = self
            .match_probability
            .unwrap_or(0.5)
            .clamp(1e-12, 1.0 - 1e-12);
        (p / (1.0 - p)).log2()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSpec {
    /// At most one record per source in a cluster (one-to-one data such as FEBRL4). Off by
    /// default: agencies hold many records per person.
    #[serde(default)]
    pub one_per_source: bool,
    /// Refuse a merge of two clusters (see `support_min_records` for which) when the mean match
    /// probability of their cross pairs (scored directly, not only blocked pairs) is below this.
    #[serde(default)]
    pub min_mean_probability: Option<f64>,
    /// Run the cross-pair checks (`min_mean_probability`, `min_pair_weight`) only when both
    /// clusters hold at least this many records (default 0; 0 or 1: whenever either holds two
    /// or more).
    #[serde(default)]
    pub support_min_records: u32,
    /// Let a merge the cross-pair checks refuse go ahead when at least this many distinct
    /// records of each cluster hold a link at or above the threshold into the other (several
    /// independent links, not one bridge). 0 (default): off.
    #[serde(default)]
    pub support_bridges: u32,
    /// Refuse a merge when any scored cross pair has a match weight below this.
    #[serde(default)]
    pub min_pair_weight: Option<f64>,
    /// Cross pairs scored per merge check (the first members of each cluster, in a stable order).
    #[serde(default = "default_support_pairs")]
    pub max_support_pairs: usize,
    /// Hard identifiers: a merge is refused when two clusters hold values that conflict.
    #[serde(default)]
    pub hard: Vec<HardSpec>,
    /// Leave a record on its own when its links to two persons that conflict on a hard
    /// identifier are within this many bits of each other (it fits both equally well).
    #[serde(default)]
    pub ambiguity_margin: Option<f64>,
    /// Attach a record that no link at or above the threshold reached to a frequent person
    /// when its best link there clears the threshold once the person's size is counted in the
    /// prior (see `cluster::SizePrior`). Off by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_prior: Option<SizePriorSpec>,
    /// Attach a record that carries a name and nothing else that tells people apart (a crisis
    /// team's "Yolanda") to the person its source sees under that name, when that person is
    /// far likelier than someone new (see `name_only::decide`). Off by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_only: Option<NameOnlySpec>,
    /// Comparisons whose values describe the person rather than the event (a phone): when a
    /// link joins two clusters and its own pair of records could not compare such a field (one
    /// of them has no value), the field is weighed over the clusters' values instead: the best
    /// weight any pair of them takes, when below zero (a disagreement counts as the model
    /// learned it does), is added to the link, which is refused below the threshold. A
    /// caller's new phone is not neutral against a person who always gave another. The
    /// cross-pair checks weigh pairs the same way, and when a field's best weight between the
    /// clusters is below zero they leave the link's own two records out. Each comparison once,
    /// compared on its own column only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub profile: Vec<String>,
}

/// See [`ClusterSpec::name_only`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NameOnlySpec {
    /// The comparison whose column holds the name (e.g. `first_name`); it needs an `exact`
    /// level.
    pub comparison: String,
    /// Comparisons a name-only record may still carry: what cannot contradict a person (where
    /// the interaction happened, the dispatch call). A record with a value in any other
    /// comparison's column, or in any alias column, is not name-only.
    #[serde(default)]
    pub context: Vec<String>,
    /// A comparison whose value may be an initial alone on a name-only record (e.g.
    /// `last_name`: "Travis F"): the name and the initial are then weighed together, against
    /// each person's commonest pair of name and initial (among its records with both).
    #[serde(default)]
    pub initial_of: Option<String>,
    /// A comparison whose whole value a name-only record may carry beside the name (e.g.
    /// `last_name`: a 911 caller who gives "Patricia Mitchell" and nothing else): the name and
    /// the value are weighed together, against each person's commonest such pair. A record
    /// whose value is a single letter is left to `initial_of`.
    #[serde(default)]
    pub surname: Option<String>,
    /// A `jw>=…` level of that comparison whose agreement counts as the same name misspelt
    /// ("yolandl" for "yolanda"); none: only the exact name counts.
    #[serde(default)]
    pub fuzzy_level: Option<String>,
    /// Further levels of that comparison at which a name counts as the person's written another
    /// way, each weighed with its own m: `nickname` ("jim" for James), other `jw>=…` levels.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub levels: Vec<String>,
    /// The posterior probability to clear (default: the spec's threshold).
    #[serde(default)]
    pub match_probability: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SizePriorSpec {
    /// The most a person's size may add to a link, in bits (default 4): links this far below
    /// the threshold are kept for the pass.
    #[serde(default = "default_size_prior_bits")]
    pub max_bits: f64,
    /// How far ahead of the runner-up person the chosen one must be, in bits (default 1).
    #[serde(default = "default_size_prior_margin")]
    pub margin: f64,
}

fn default_size_prior_bits() -> f64 {
    4.0
}

fn default_size_prior_margin() -> f64 {
    1.0
}

impl Default for SizePriorSpec {
    fn default() -> Self {
        SizePriorSpec {
            max_bits: default_size_prior_bits(),
            margin: default_size_prior_margin(),
        }
    }
}

fn default_support_pairs() -> usize {
    64
}

impl Default for ClusterSpec {
    fn default() -> Self {
        ClusterSpec {
            one_per_source: false,
            min_mean_probability: None,
            support_min_records: 0,
            support_bridges: 0,
            min_pair_weight: None,
            max_support_pairs: default_support_pairs(),
            hard: Vec::new(),
            ambiguity_margin: None,
            size_prior: None,
            name_only: None,
            profile: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HardSpec {
    /// Column or key expression.
    pub column: String,
    /// `exact` (conflict when the value sets are disjoint), `edit` (no two values within
    /// `tolerance` edits), `date_years` (no two dates within `tolerance` years), `dob` (no two
    /// dates that are equal, within `tolerance` days, a year apart on the same day and month,
    /// day/month swapped, or a partial date that agrees), `given_names` (the column is
    /// `concat(first, middle)`; values without a middle name take no part, and two values
    /// conflict when neither one's middle initials are among the other's first and middle
    /// initials: a different middle initial tells two people apart, a name split into fields
    /// another way does not).
    pub kind: HardKindSpec,
    #[serde(default)]
    pub tolerance: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HardKindSpec {
    Exact,
    Edit,
    DateYears,
    Dob,
    GivenNames,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvaluationSpec {
    /// Column holding the true entity label (evaluation only).
    #[serde(default)]
    pub truth_column: Option<String>,
    /// Regex-free extraction: the label is the text of `truth_column` between `truth_prefix`
    /// and the next `truth_delimiter` (e.g. `rec-` and `-` for FEBRL's `rec-N-dup-k`).
    #[serde(default)]
    pub truth_prefix: Option<String>,
    #[serde(default)]
    pub truth_delimiter: Option<String>,
}

impl Spec {
    pub fn from_toml_str(s: &str, path: &Path) -> Result<Spec, LinkError> {
        let spec: Spec = toml::from_str(s).map_err(|e| LinkError::SpecParse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        spec.validate()?;
        Ok(spec)
    }

    pub fn from_file(path: &Path) -> Result<Spec, LinkError> {
        let s = std::fs::read_to_string(path).map_err(|e| LinkError::Io {
            path: path.to_path_buf(),
            source: e,
        })?;
        Spec::from_toml_str(&s, path)
    }

    /// Static checks (levels parse, key expressions parse, limits).
    pub fn validate(&self) -> Result<(), LinkError> {
        if self.comparisons.is_empty() {
            return Err(LinkError::spec(
                "comparison",
                "at least one comparison is needed",
            ));
        }
        if self.comparisons.len() > crate::model::MAX_COMPARISONS {
            return Err(LinkError::spec(
                "comparison",
                format!("at most {} comparisons", crate::model::MAX_COMPARISONS),
            ));
        }
        for c in &self.comparisons {
            let f = format!("comparison {:?}", c.name);
            if c.levels.is_empty() || c.levels.len() > crate::model::MAX_LEVELS {
                return Err(LinkError::spec(
                    &f,
                    format!("needs 1..={} levels", crate::model::MAX_LEVELS),
                ));
            }
            for l in &c.levels {
                let lv = Level::parse(l).map_err(|m| LinkError::spec(&f, m))?;
                if matches!(lv, Level::Swapped | Level::Cross) && c.swap_with.is_none() {
                    return Err(LinkError::spec(
                        &f,
                        "levels `swapped` and `cross` need `swap_with`",
                    ));
                }
                if lv == Level::Alias && c.aliases.is_none() {
                    return Err(LinkError::spec(&f, "level `alias` needs `aliases`"));
                }
                if lv == Level::NameTokens && c.tokens_of.is_none() {
                    return Err(LinkError::spec(&f, "level `name_tokens` needs `tokens_of`"));
                }
            }
            KeyExpr::parse(c.column_expr()).map_err(|m| LinkError::spec(&f, m))?;
            for v in &c.veto {
                if v != "else" && !c.levels.contains(v) {
                    return Err(LinkError::spec(
                        &f,
                        format!("veto level {v:?} is not one of its levels or \"else\""),
                    ));
                }
            }
            for (what, v) in [("m", &c.m), ("u", &c.u)] {
                if let Some(v) = v {
                    if v.len() != c.levels.len() + 1 || v.iter().any(|x| !(*x > 0.0 && *x <= 1.0)) {
                        return Err(LinkError::spec(
                            &f,
                            format!("{what} needs one value in (0,1] per level plus one for else"),
                        ));
                    }
                }
            }
        }
        let mut names: Vec<&str> = self.comparisons.iter().map(|c| c.name.as_str()).collect();
        names.sort_unstable();
        if names.windows(2).any(|w| w[0] == w[1]) {
            return Err(LinkError::spec(
                "comparison",
                "comparison names must be unique",
            ));
        }
        for (i, r) in self.blocking.rules.iter().enumerate() {
            if r.is_empty() {
                return Err(LinkError::spec(
                    format!("blocking.rules[{i}]"),
                    "empty rule",
                ));
            }
            for e in r {
                KeyExpr::parse(e)
                    .map_err(|m| LinkError::spec(format!("blocking.rules[{i}]"), m))?;
            }
        }
        for (what, rules) in [
            (
                "training.deterministic_rules",
                &self.training.deterministic_rules,
            ),
            ("training.em_sessions", &self.training.em_sessions),
        ] {
            for (i, r) in rules.iter().enumerate() {
                if r.is_empty() {
                    return Err(LinkError::spec(format!("{what}[{i}]"), "empty rule"));
                }
                for e in r {
                    KeyExpr::parse(e).map_err(|m| LinkError::spec(format!("{what}[{i}]"), m))?;
                }
            }
        }
        if !(self.training.recall > 0.0 && self.training.recall <= 1.0) {
            return Err(LinkError::spec("training.recall", "must be in (0, 1]"));
        }
        if let Some(p) = self.threshold.match_probability {
            if !(p > 0.0 && p < 1.0) {
                return Err(LinkError::spec(
                    "threshold.match_probability",
                    "must be in (0, 1)",
                ));
            }
        }
        for h in &self.cluster.hard {
            KeyExpr::parse(&h.column).map_err(|m| LinkError::spec("cluster.hard", m))?;
        }
        if let Some(no) = &self.cluster.name_only {
            self.validate_name_only(no)?;
        }
        self.validate_profile()?;
        Ok(())
    }

    /// A profile field is weighed by its own column's values alone: no comparison whose level
    /// reads another column (scope, apart, swap, aliases, name tokens), and each once.
    fn validate_profile(&self) -> Result<(), LinkError> {
        const F: &str = "cluster.profile";
        for (k, x) in self.cluster.profile.iter().enumerate() {
            let c = self
                .comparisons
                .iter()
                .find(|c| &c.name == x)
                .ok_or_else(|| {
                    LinkError::spec(F, format!("names {x:?}, which is not a comparison"))
                })?;
            if self.cluster.profile[..k].contains(x) {
                return Err(LinkError::spec(F, format!("names {x:?} twice")));
            }
            // (the levels that read another column need one of these, checked above)
            let reads_other = c.scope.is_some()
                || c.apart.is_some()
                || c.swap_with.is_some()
                || c.aliases.is_some()
                || c.tokens_of.is_some();
            if reads_other {
                return Err(LinkError::spec(
                    F,
                    format!(
                        "comparison {x:?} reads another column (scope, apart, swap_with, aliases or \
                         tokens_of); a profile field is compared on its own values"
                    ),
                ));
            }
        }
        Ok(())
    }

    fn validate_name_only(&self, no: &NameOnlySpec) -> Result<(), LinkError> {
        const F: &str = "cluster.name_only";
        // it joins a record to a person its own source knows: within one source
        if self.cluster.one_per_source || self.link_type == Some(LinkType::LinkOnly) {
            return Err(LinkError::spec(
                F,
                "joins records within a source, so it cannot go with `one_per_source` or \
                 `link_type = \"link_only\"`",
            ));
        }
        let c = self
            .comparisons
            .iter()
            .find(|c| c.name == no.comparison)
            .ok_or_else(|| {
                LinkError::spec(F, format!("no comparison named {:?}", no.comparison))
            })?;
        if !c.levels.iter().any(|l| Level::parse(l) == Ok(Level::Exact)) {
            return Err(LinkError::spec(
                F,
                format!("comparison {:?} has no `exact` level", no.comparison),
            ));
        }
        // one surname comparison: a record is weighed by its initial or by the whole value,
        // never both
        if let (Some(i), Some(n)) = (&no.initial_of, &no.surname) {
            if i != n {
                return Err(LinkError::spec(
                    F,
                    format!("initial_of ({i:?}) and surname ({n:?}) must name the same comparison"),
                ));
            }
        }
        for (key, i) in [("initial_of", &no.initial_of), ("surname", &no.surname)] {
            if let Some(i) = i {
                if i == &no.comparison || !self.comparisons.iter().any(|c| &c.name == i) {
                    return Err(LinkError::spec(
                        F,
                        format!("{key} names {i:?}, which is not another comparison"),
                    ));
                }
            }
        }
        for x in &no.context {
            if !self.comparisons.iter().any(|c| &c.name == x) {
                return Err(LinkError::spec(
                    F,
                    format!("context names {x:?}, which is not a comparison"),
                ));
            }
        }
        if let Some(f) = &no.fuzzy_level {
            if !c.levels.contains(f) || !matches!(Level::parse(f), Ok(Level::JaroWinkler(_))) {
                return Err(LinkError::spec(
                    F,
                    format!(
                        "fuzzy_level {f:?} is not a `jw>=…` level of comparison {:?}",
                        no.comparison
                    ),
                ));
            }
        }
        for l in &no.levels {
            let kind_ok = matches!(Level::parse(l), Ok(Level::JaroWinkler(_) | Level::Nickname));
            if !c.levels.contains(l) || !kind_ok || c.veto.contains(l) {
                return Err(LinkError::spec(
                    F,
                    format!(
                        "levels: {l:?} is not a `nickname` or `jw>=…` level of comparison {:?} \
                         that no veto names",
                        no.comparison
                    ),
                ));
            }
        }
        if let Some(p) = no.match_probability {
            if !(p > 0.0 && p < 1.0) {
                return Err(LinkError::spec(F, "match_probability must be in (0, 1)"));
            }
        }
        Ok(())
    }
}

// ------------------------------------------------------------------------------- levels

/// One comparison level.
#[derive(Debug, Clone, PartialEq)]
pub enum Level {
    Exact,
    JaroWinkler(f64),
    Jaro(f64),
    DamerauLevenshtein(usize),
    Levenshtein(usize),
    TokenJaccard(f64),
    /// The first whitespace-separated token is equal (house number, postcode district).
    FirstToken,
    /// The values share a word of two or more letters (compound surnames: "garcia lopez" /
    /// "garcia-lopez" / "lopez").
    TokenOverlap,
    Nickname,
    /// Masculine and feminine forms of one given name (juan / juana, mario / maria): see
    /// [`crate::compare::gender_variants`].
    GenderVariant,
    Phonetic,
    Initial,
    Swapped,
    /// One side's value equals the other side's `swap_with` value, either way round (an
    /// event's place and the other record's home address).
    Cross,
    Alias,
    /// The words (two or more characters) of `tokens_of` on one side are all among those on
    /// the other, and at least two are shared: one name split into fields differently
    /// (`VASQUEZ RAMIREZ, PEDRO` read as last `VASQUEZ`, first `RAMIREZ`, middle `PEDRO`).
    NameTokens,
    DateDmSwap,
    DateYearOff(u32),
    DateWithinDays(u64),
    DateWithinYears(u32),
    DateSameYearMonth,
    DateSameYear,
    DatePartial,
}

impl Level {
    /// Whether two values take this level, for the levels the two texts alone decide (None for
    /// the others: dates, token sets, and levels that read other columns). The comparator
    /// keeps its own cached paths for Jaro–Winkler, edit distance and phonetic codes.
    pub fn hit_on_text(&self, a: &str, b: &str) -> Option<bool> {
        use crate::compare;
        Some(match self {
            Level::Exact => a == b,
            Level::JaroWinkler(t) => compare::jaro_winkler(a, b) >= *t,
            Level::Jaro(t) => compare::jaro(a, b) >= *t,
            Level::DamerauLevenshtein(1) => compare::within_one_edit(a, b),
            Level::DamerauLevenshtein(k) => compare::damerau_levenshtein(a, b) <= *k,
            Level::Levenshtein(k) => compare::levenshtein(a, b) <= *k,
            Level::TokenOverlap => compare::token_overlap(a, b),
            Level::FirstToken => {
                let (fa, fb) = (a.split_whitespace().next(), b.split_whitespace().next());
                fa.is_some() && fa == fb
            }
            Level::Nickname => compare::are_nicknames(a, b),
            Level::GenderVariant => compare::gender_variants(a, b),
            Level::Initial => compare::initial_match(a, b),
            Level::Phonetic => compare::phonetic_match(a, b),
            _ => return None,
        })
    }

    pub fn parse(s: &str) -> Result<Level, String> {
        let t: String = s
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_lowercase();
        let thr = |rest: &str| -> Result<f64, String> {
            let v: f64 = rest
                .parse()
                .map_err(|_| format!("bad threshold in level {s:?}"))?;
            if (0.0..=1.0).contains(&v) {
                Ok(v)
            } else {
                Err(format!("threshold in level {s:?} must be in [0, 1]"))
            }
        };
        let int = |rest: &str| -> Result<u64, String> {
            rest.parse()
                .map_err(|_| format!("bad number in level {s:?}"))
        };
        let l = if let Some(r) = t
            .strip_prefix("jaro_winkler>=")
            .or_else(|| t.strip_prefix("jw>="))
        {
            Level::JaroWinkler(thr(r)?)
        } else if let Some(r) = t.strip_prefix("jaro>=") {
            Level::Jaro(thr(r)?)
        } else if let Some(r) = t
            .strip_prefix("damerau_levenshtein<=")
            .or_else(|| t.strip_prefix("dl<="))
        {
            Level::DamerauLevenshtein(int(r)? as usize)
        } else if let Some(r) = t
            .strip_prefix("levenshtein<=")
            .or_else(|| t.strip_prefix("lev<="))
        {
            Level::Levenshtein(int(r)? as usize)
        } else if let Some(r) = t.strip_prefix("token_jaccard>=") {
            Level::TokenJaccard(thr(r)?)
        } else if let Some(r) = t.strip_prefix("year_off<=") {
            Level::DateYearOff(int(r)? as u32)
        } else if let Some(r) = t.strip_prefix("within_days<=") {
            Level::DateWithinDays(int(r)?)
        } else if let Some(r) = t.strip_prefix("within_years<=") {
            Level::DateWithinYears(int(r)? as u32)
        } else {
            match t.as_str() {
                "exact" => Level::Exact,
                "nickname" => Level::Nickname,
                "gender_variant" => Level::GenderVariant,
                "first_token" => Level::FirstToken,
                "token_overlap" => Level::TokenOverlap,
                "dmetaphone" | "phonetic" => Level::Phonetic,
                "initial" => Level::Initial,
                "swapped" => Level::Swapped,
                "cross" => Level::Cross,
                "alias" => Level::Alias,
                "name_tokens" => Level::NameTokens,
                "dm_swap" | "day_month_swap" => Level::DateDmSwap,
                "same_year_month" => Level::DateSameYearMonth,
                "same_year" => Level::DateSameYear,
                "partial" => Level::DatePartial,
                _ => return Err(format!("unknown level {s:?}")),
            }
        };
        Ok(l)
    }

    pub fn needs_date(&self) -> bool {
        matches!(
            self,
            Level::DateDmSwap
                | Level::DateYearOff(_)
                | Level::DateWithinDays(_)
                | Level::DateWithinYears(_)
                | Level::DateSameYearMonth
                | Level::DateSameYear
                | Level::DatePartial
        )
    }
}

// ------------------------------------------------------------------------------- key expressions

/// A key expression over one column.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum KeyExpr {
    Col(String),
    Substr(String, usize, usize),
    Last(String, usize),
    Dmetaphone(String),
    DmetaphoneAlt(String),
    Nickname(String),
    Year(String),
    YearMonth(String),
    Digits(String),
    LastDigits(String, usize),
    FirstToken(String),
    LastToken(String),
    /// Several columns joined with " | " (nulls as empty; null when all are null).
    Concat(Vec<String>),
    /// As `Concat`, the non-null values sorted first (a key that ignores first/last swaps).
    SortedConcat(Vec<String>),
}

impl KeyExpr {
    pub fn parse(s: &str) -> Result<KeyExpr, String> {
        let s = s.trim();
        let Some(open) = s.find('(') else {
            if s.is_empty() {
                return Err("empty key expression".into());
            }
            return Ok(KeyExpr::Col(s.to_string()));
        };
        if !s.ends_with(')') {
            return Err(format!("bad key expression {s:?}"));
        }
        let func = s[..open].trim().to_lowercase();
        let args: Vec<&str> = s[open + 1..s.len() - 1].split(',').map(str::trim).collect();
        if func == "concat" || func == "sorted_concat" {
            if args.len() < 2 || args.iter().any(|a| a.is_empty() || a.contains('(')) {
                return Err(format!("{s:?}: {func} takes two or more column names"));
            }
            let cols = args.iter().map(|a| a.to_string()).collect();
            return Ok(if func == "concat" {
                KeyExpr::Concat(cols)
            } else {
                KeyExpr::SortedConcat(cols)
            });
        }
        let col = args
            .first()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| format!("{s:?}: missing column"))?
            .to_string();
        let n = |i: usize| -> Result<usize, String> {
            args.get(i)
                .ok_or_else(|| format!("{s:?}: missing argument {}", i + 1))?
                .parse()
                .map_err(|_| format!("{s:?}: argument {} is not a number", i + 1))
        };
        let want = |k: usize| -> Result<(), String> {
            if args.len() == k {
                Ok(())
            } else {
                Err(format!("{s:?}: {func} takes {k} argument(s)"))
            }
        };
        Ok(match func.as_str() {
            "substr" => {
                want(3)?;
                KeyExpr::Substr(col, n(1)?, n(2)?)
            }
            "first" => {
                want(2)?;
                KeyExpr::Substr(col, 0, n(1)?)
            }
            "initial" => {
                want(1)?;
                KeyExpr::Substr(col, 0, 1)
            }
            "last" => {
                want(2)?;
                KeyExpr::Last(col, n(1)?)
            }
            "dmetaphone" => {
                want(1)?;
                KeyExpr::Dmetaphone(col)
            }
            "dmetaphone_alt" => {
                want(1)?;
                KeyExpr::DmetaphoneAlt(col)
            }
            "nickname" => {
                want(1)?;
                KeyExpr::Nickname(col)
            }
            "year" => {
                want(1)?;
                KeyExpr::Year(col)
            }
            "year_month" => {
                want(1)?;
                KeyExpr::YearMonth(col)
            }
            "digits" => {
                want(1)?;
                KeyExpr::Digits(col)
            }
            "last_digits" => {
                want(2)?;
                KeyExpr::LastDigits(col, n(1)?)
            }
            "first_token" => {
                want(1)?;
                KeyExpr::FirstToken(col)
            }
            "last_token" => {
                want(1)?;
                KeyExpr::LastToken(col)
            }
            _ => return Err(format!("unknown function {func:?} in {s:?}")),
        })
    }

    pub fn column(&self) -> &str {
        match self {
            KeyExpr::Col(c)
            | KeyExpr::Substr(c, _, _)
            | KeyExpr::Last(c, _)
            | KeyExpr::Dmetaphone(c)
            | KeyExpr::DmetaphoneAlt(c)
            | KeyExpr::Nickname(c)
            | KeyExpr::Year(c)
            | KeyExpr::YearMonth(c)
            | KeyExpr::Digits(c)
            | KeyExpr::LastDigits(c, _)
            | KeyExpr::FirstToken(c)
            | KeyExpr::LastToken(c) => c,
            KeyExpr::Concat(cs) | KeyExpr::SortedConcat(cs) => &cs[0],
        }
    }

    /// Every raw column the expression reads.
    pub fn columns(&self) -> Vec<&str> {
        match self {
            KeyExpr::Concat(cs) | KeyExpr::SortedConcat(cs) => {
                cs.iter().map(String::as_str).collect()
            }
            _ => vec![self.column()],
        }
    }

    /// Apply to one normalized value; None = null key.
    pub fn apply(&self, v: &str) -> Option<String> {
        use crate::compare;
        let out = match self {
            KeyExpr::Col(_) => v.to_string(),
            KeyExpr::Substr(_, start, len) => v.chars().skip(*start).take(*len).collect(),
            KeyExpr::Last(_, n) => {
                let c: Vec<char> = v.chars().collect();
                c[c.len().saturating_sub(*n)..].iter().collect()
            }
            KeyExpr::Dmetaphone(_) => compare::double_metaphone(v).0,
            KeyExpr::DmetaphoneAlt(_) => compare::double_metaphone(v).1,
            KeyExpr::Nickname(_) => compare::nickname_key(v).to_string(),
            KeyExpr::Year(_) => compare::parse_date(v).map(|d| d.year.to_string())?,
            KeyExpr::YearMonth(_) => {
                let d = compare::parse_date(v)?;
                format!("{}-{:02}", d.year, d.month?)
            }
            KeyExpr::Digits(_) => compare::digits(v),
            KeyExpr::LastDigits(_, n) => compare::last_digits(v, *n)?,
            KeyExpr::FirstToken(_) => v.split_whitespace().next()?.to_string(),
            KeyExpr::LastToken(_) => v.split_whitespace().last()?.to_string(),
            KeyExpr::Concat(_) | KeyExpr::SortedConcat(_) => v.to_string(),
        };
        (!out.is_empty()).then_some(out)
    }

    pub fn is_identity(&self) -> bool {
        matches!(self, KeyExpr::Col(_))
    }

    /// Canonical text (used to share derived columns).
    pub fn canonical(&self) -> String {
        match self {
            KeyExpr::Col(c) => c.clone(),
            KeyExpr::Substr(c, s, l) => format!("substr({c},{s},{l})"),
            KeyExpr::Last(c, n) => format!("last({c},{n})"),
            KeyExpr::Dmetaphone(c) => format!("dmetaphone({c})"),
            KeyExpr::DmetaphoneAlt(c) => format!("dmetaphone_alt({c})"),
            KeyExpr::Nickname(c) => format!("nickname({c})"),
            KeyExpr::Year(c) => format!("year({c})"),
            KeyExpr::YearMonth(c) => format!("year_month({c})"),
            KeyExpr::Digits(c) => format!("digits({c})"),
            KeyExpr::LastDigits(c, n) => format!("last_digits({c},{n})"),
            KeyExpr::FirstToken(c) => format!("first_token({c})"),
            KeyExpr::LastToken(c) => format!("last_token({c})"),
            KeyExpr::Concat(cs) => format!("concat({})", cs.join(",")),
            KeyExpr::SortedConcat(cs) => format!("sorted_concat({})", cs.join(",")),
        }
    }
}

/// Every raw column a spec reads (besides id / source / truth).
pub fn referenced_columns(spec: &Spec) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut add = |expr: &str, why: String| {
        if let Ok(k) = KeyExpr::parse(expr) {
            for c in k.columns() {
                if !out.iter().any(|(x, _)| x == c) {
                    out.push((c.to_string(), why.clone()));
                }
            }
        }
    };
    for c in &spec.comparisons {
        add(c.column_expr(), format!("comparison {:?}", c.name));
        for o in [
            &c.swap_with,
            &c.aliases,
            &c.scope,
            &c.apart,
            &c.tokens_of,
            &c.tf_distinct,
        ]
        .into_iter()
        .flatten()
        {
            add(o, format!("comparison {:?}", c.name));
        }
    }
    for (i, r) in spec.blocking.rules.iter().enumerate() {
        for e in r {
            add(e, format!("blocking rule {}", i + 1));
        }
    }
    for r in spec
        .training
        .deterministic_rules
        .iter()
        .chain(&spec.training.em_sessions)
    {
        for e in r {
            add(e, "training".into());
        }
    }
    for h in &spec.cluster.hard {
        add(&h.column, "cluster.hard".into());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_only_is_checked_against_the_spec() {
        let spec_with = |top: &str, cluster: &str| {
            let s = format!(
                r#"
id_column = "id"
{top}
[[comparison]]
name = "first_name"
column = "first"
levels = ["exact", "jw>=0.92"]
[[comparison]]
name = "dob"
column = "dob"
levels = ["exact"]
[blocking]
rules = [["first"]]
{cluster}
"#
            );
            Spec::from_toml_str(&s, Path::new("s.toml"))
        };
        let spec = |cluster: &str| spec_with("", cluster);
        let ok = r#"[cluster.name_only]
comparison = "first_name"
fuzzy_level = "jw>=0.92"
"#;
        let got = spec(ok).unwrap();
        assert_eq!(got.cluster.name_only.unwrap().comparison, "first_name");
        let e = spec_with("link_type = \"link_only\"", ok)
            .unwrap_err()
            .to_string();
        assert!(e.contains("link_only"), "{e}");
        for (bad, why) in [
            ("[cluster.name_only]\ncomparison = \"last\"\n", "no comparison named"),
            (
                "[cluster.name_only]\ncomparison = \"dob\"\nfuzzy_level = \"jw>=0.92\"\n",
                "is not a `jw>=",
            ),
            (
                "[cluster.name_only]\ncomparison = \"first_name\"\ncontext = [\"place\"]\n",
                "not a comparison",
            ),
            (
                "[cluster]\none_per_source = true\n[cluster.name_only]\ncomparison = \"first_name\"\n",
                "one_per_source",
            ),
            (
                "[cluster.name_only]\ncomparison = \"first_name\"\nmatch_probability = 1.0\n",
                "(0, 1)",
            ),
            (
                "[cluster.name_only]\ncomparison = \"first_name\"\ninitial_of = \"first_name\"\n",
                "not another comparison",
            ),
            (
                "[cluster.name_only]\ncomparison = \"first_name\"\nsurname = \"surname\"\n",
                "surname names \"surname\", which is not another comparison",
            ),
            (
                "[cluster]\nprofile = [\"phone\"]\n",
                "names \"phone\", which is not a comparison",
            ),
            (
                "[cluster]\nprofile = [\"dob\", \"dob\"]\n",
                "names \"dob\" twice",
            ),
            (
                "[cluster.name_only]\ncomparison = \"first_name\"\nlevels = [\"nickname\"]\n",
                "is not a `nickname` or `jw>=…` level",
            ),
            (
                "[cluster.name_only]\ncomparison = \"first_name\"\ninitial_of = \"dob\"\nsurname = \"first_name\"\n",
                "must name the same comparison",
            ),
        ] {
            let e = spec(bad).unwrap_err().to_string();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn parse_levels_and_keys() {
        assert_eq!(
            Level::parse("jw >= 0.92").unwrap(),
            Level::JaroWinkler(0.92)
        );
        assert_eq!(Level::parse("dl<=1").unwrap(), Level::DamerauLevenshtein(1));
        assert!(Level::parse("bogus").is_err());
        assert_eq!(
            KeyExpr::parse("substr(surname, 0, 2)").unwrap(),
            KeyExpr::Substr("surname".into(), 0, 2)
        );
        assert_eq!(
            KeyExpr::parse("year(dob)").unwrap().apply("19800312"),
            Some("1980".into())
        );
        assert_eq!(
            KeyExpr::parse("last_digits(phone,7)")
                .unwrap()
                .apply("(303) 555-1234"),
            Some("5551234".into())
        );
        assert!(KeyExpr::parse("nope(x)").is_err());
    }
}
