//! The file door: `familiar match --spec SPEC.toml --left A.csv [--right B.csv] --out clusters.csv`.

use crate::block::RuleCount;
use crate::cluster::{sort_edges, RefusalCounts};
use crate::data::Table;
use crate::error::LinkError;
use crate::eval::{evaluate_clusters, Evaluation};
use crate::io::{self, InputFile, PairRow, ReadPlan, TruthSpec};
use crate::linker::Linker;
use crate::model::{probability, Params};
use crate::spec::{referenced_columns, LinkType, Spec};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Options of `familiar match`.
#[derive(Debug, Clone, Default)]
pub struct MatchOptions {
    pub spec: PathBuf,
    pub left: PathBuf,
    /// With a right file: link the two (only cross-file pairs are candidates). Without: dedupe.
    pub right: Option<PathBuf>,
    /// `clusters.csv`: `source,record_id,cluster_id`.
    pub out: Option<PathBuf>,
    /// `pairs.csv`: every pair at or above the threshold.
    pub pairs: Option<PathBuf>,
    /// The CLI prints the report as JSON (the library ignores it).
    pub json: bool,
    /// Only count candidate pairs per blocking rule; score nothing.
    pub count_only: bool,
    /// Evaluate against this column (overrides `[evaluation] truth_column`).
    pub truth_column: Option<String>,
    /// Worst false merges / missed links to list when evaluating (default 10).
    pub inspect_limit: Option<usize>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InputSummary {
    pub path: String,
    pub source: String,
    pub records: usize,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Counts {
    pub records: usize,
    pub candidate_pairs: u64,
    pub pairs_above_threshold: usize,
    pub clusters: usize,
    pub multi_record_clusters: usize,
    pub largest_cluster: usize,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Timings {
    pub read_ms: f64,
    pub prepare_ms: f64,
    pub count_ms: f64,
    pub train_ms: f64,
    pub predict_ms: f64,
    pub cluster_ms: f64,
    pub evaluate_ms: f64,
    pub write_ms: f64,
    pub total_ms: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ThresholdSummary {
    pub match_weight: f64,
    pub match_probability: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MatchReport {
    pub spec: String,
    pub name: Option<String>,
    pub link_type: LinkType,
    pub count_only: bool,
    pub inputs: Vec<InputSummary>,
    pub counts: Counts,
    pub threshold: ThresholdSummary,
    /// Candidate pairs per blocking rule (raw from group sizes; marginal when enumerated).
    pub blocking: Vec<RuleCount>,
    pub parameters: Option<Params>,
    pub refused_merges: Option<RefusalCounts>,
    pub timings: Timings,
    /// Present when a truth column is known (evaluation only).
    pub evaluation: Option<Evaluation>,
    /// With a truth column: the share of true pairs some blocking rule generates (also with
    /// `--count-only`, where nothing else is evaluated).
    #[serde(default)]
    pub blocking_recall: Option<f64>,
    pub outputs: Vec<String>,
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

fn stem(p: &Path) -> String {
    p.file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("input")
        .to_string()
}

/// Run a whole match: read, train, predict, cluster, (evaluate), write.
pub fn run_match(opts: &MatchOptions) -> Result<MatchReport, LinkError> {
    let t_all = Instant::now();
    let spec = Spec::from_file(&opts.spec)?;
    let mut timings = Timings::default();

    // ---- read
    let t = Instant::now();
    let (table, inputs) = read_table(opts, &spec)?;
    timings.read_ms = ms(t);
    let link_type = link_type_of(opts, &spec);

    // ---- prepare
    let t = Instant::now();
    let mut linker = Linker::new(table, spec.clone(), link_type)?;
    timings.prepare_ms = ms(t);

    // ---- count
    let t = Instant::now();
    // the pair budget: skip the largest blocks of an oversized rule (reported) or refuse
    let limited = linker.limit_blocking();
    let mut blocking = linker.count_blocking();
    timings.count_ms = ms(t);
    let threshold = ThresholdSummary {
        match_weight: linker.threshold_weight(),
        match_probability: probability(linker.threshold_weight()),
    };
    let mut report = MatchReport {
        spec: opts.spec.display().to_string(),
        name: spec.name.clone(),
        link_type,
        count_only: opts.count_only,
        inputs,
        counts: Counts {
            records: linker.table.len(),
            ..Default::default()
        },
        threshold,
        blocking: blocking.clone(),
        parameters: None,
        refused_merges: None,
        timings: Timings::default(),
        evaluation: None,
        blocking_recall: None,
        outputs: Vec::new(),
    };
    if opts.count_only {
        if let Some(truth) = linker.table.truth.as_deref() {
            report.blocking_recall = linker.blocking_recall(truth);
        }
        if limited.is_ok() {
            let (_, marginal) = linker
                .blocker
                .generate(&linker.pairing, |_, _, _| None::<()>);
            for (c, m) in blocking.iter_mut().zip(&marginal) {
                c.marginal_pairs = Some(*m);
            }
            report.counts.candidate_pairs = marginal.iter().sum();
            report.blocking = blocking;
        }
        timings.total_ms = ms(t_all);
        report.timings = timings;
        return Ok(report);
    }
    limited?;

    // ---- train
    let t = Instant::now();
    let labels = read_training_labels(opts, &spec, &linker)?;
    linker.train(labels)?;
    timings.train_ms = ms(t);

    // ---- predict
    let t = Instant::now();
    let pred = linker.predict();
    timings.predict_ms = ms(t);
    for (c, m) in blocking.iter_mut().zip(&pred.marginal) {
        c.marginal_pairs = Some(*m);
    }
    report.blocking = blocking;

    // ---- cluster
    let t = Instant::now();
    let mut clustering = linker.cluster(&pred.edges, &pred.near, &[], &[]);
    let name_only = linker.name_only_decisions(&clustering.labels, &|_| true);
    linker.apply_name_only(&mut clustering, &name_only);
    timings.cluster_ms = ms(t);
    let labels = &clustering.labels;
    let n_clusters = labels.iter().copied().max().map_or(0, |m| m as usize + 1);
    let mut sizes = vec![0usize; n_clusters];
    for &l in labels {
        sizes[l as usize] += 1;
    }
    report.counts.candidate_pairs = pred.candidates;
    report.counts.pairs_above_threshold = pred.edges.len();
    report.counts.clusters = n_clusters;
    report.counts.multi_record_clusters = sizes.iter().filter(|&&s| s > 1).count();
    report.counts.largest_cluster = sizes.iter().copied().max().unwrap_or(0);
    report.refused_merges = Some(clustering.refused.clone());

    // ---- evaluate
    let t = Instant::now();
    if let Some(truth) = linker.table.truth.as_deref() {
        let mut ev = evaluate_clusters(
            labels,
            truth,
            &linker.table.source,
            link_type == LinkType::LinkOnly,
        );
        let in_scope = ev.pairwise.true_pairs.unwrap_or(0);
        ev.blocking_recall = Some(if in_scope > 0 {
            pred.true_candidates as f64 / in_scope as f64
        } else {
            1.0
        });
        // unknown truth is NULL (= u32::MAX), which the inspection leaves out
        let label = |i: u32| linker.table.record_label(i as usize);
        linker.inspect(
            &mut ev,
            labels,
            truth,
            opts.inspect_limit.unwrap_or(10),
            &label,
        );
        report.blocking_recall = ev.blocking_recall;
        report.evaluation = Some(ev);
    }
    timings.evaluate_ms = ms(t);

    // ---- write
    let t = Instant::now();
    let tab = &linker.table;
    if let Some(out) = &opts.out {
        io::write_clusters(
            out,
            (0..tab.len()).map(|i| {
                (
                    tab.source_names[tab.source[i] as usize].clone(),
                    tab.ids[i].to_string(),
                    labels[i].to_string(),
                )
            }),
        )?;
        report.outputs.push(out.display().to_string());
    }
    if let Some(pp) = &opts.pairs {
        let mut edges = pred.edges.clone();
        let rank: Vec<u32> = (0..tab.len() as u32).collect();
        sort_edges(&mut edges, &rank);
        io::write_pairs(
            pp,
            edges.iter().map(|e| PairRow {
                left_source: &tab.source_names[tab.source[e.a as usize] as usize],
                left_id: &tab.ids[e.a as usize],
                right_source: &tab.source_names[tab.source[e.b as usize] as usize],
                right_id: &tab.ids[e.b as usize],
                match_weight: e.weight,
                match_probability: probability(e.weight),
            }),
        )?;
        report.outputs.push(pp.display().to_string());
    }
    timings.write_ms = ms(t);
    report.parameters = linker.params.clone();
    timings.total_ms = ms(t_all);
    report.timings = timings;
    Ok(report)
}

/// Read the input files of `opts` as `spec` needs them (records in canonical order).
fn read_table(opts: &MatchOptions, spec: &Spec) -> Result<(Table, Vec<InputSummary>), LinkError> {
    let mut files = vec![InputFile {
        path: opts.left.clone(),
        source_name: stem(&opts.left),
    }];
    if let Some(r) = &opts.right {
        let mut rs = stem(r);
        if rs == files[0].source_name {
            files[0].source_name = "left".into();
            rs = "right".into();
        }
        files.push(InputFile {
            path: r.clone(),
            source_name: rs,
        });
    }
    let truth_column = opts
        .truth_column
        .clone()
        .or_else(|| spec.evaluation.truth_column.clone());
    let plan = ReadPlan {
        id_column: spec.id_column.clone(),
        source_column: spec.source_column.clone(),
        columns: referenced_columns(spec),
        truth: truth_column.map(|c| TruthSpec {
            column: c,
            prefix: spec.evaluation.truth_prefix.clone(),
            delimiter: spec.evaluation.truth_delimiter.clone(),
        }),
        nulls: spec.null_values.clone(),
    };
    let parts = io::read_inputs(&files, &plan)?;
    let table = Table::from_parts(parts)?;
    let inputs = files
        .iter()
        .map(|f| {
            let records = if spec.source_column.is_some() {
                0
            } else {
                let s = table.source_names.iter().position(|x| *x == f.source_name);
                s.map_or(0, |s| {
                    table.source.iter().filter(|&&x| x == s as u32).count()
                })
            };
            InputSummary {
                path: f.path.display().to_string(),
                source: f.source_name.clone(),
                records,
            }
        })
        .collect();
    Ok((table, inputs))
}

fn read_training_labels(
    opts: &MatchOptions,
    spec: &Spec,
    linker: &Linker,
) -> Result<Vec<(u32, u32, bool)>, LinkError> {
    let Some(ls) = &spec.training.labels else {
        return Ok(Vec::new());
    };
    let base = opts.spec.parent().unwrap_or(Path::new("."));
    let raw = io::read_labels(
        &base.join(&ls.path),
        &ls.left_id_column,
        &ls.right_id_column,
        &ls.label_column,
    )?;
    Ok(raw
        .into_iter()
        .filter_map(|(a, b, m)| {
            let ia = *linker.table.find_id(&a).first()?;
            let ib = *linker.table.find_id(&b).first()?;
            Some((ia as u32, ib as u32, m))
        })
        .collect())
}

fn link_type_of(opts: &MatchOptions, spec: &Spec) -> LinkType {
    spec.link_type.unwrap_or(if opts.right.is_some() {
        LinkType::LinkOnly
    } else {
        LinkType::Dedupe
    })
}

/// Read the files of `opts` and train the spec's model, without scoring or clustering: for
/// explaining pairs (`linker.explain_ids((source, id), (source, id))`) or scoring by hand.
/// Source names are the file stems (or "left" / "right" when both stems are equal).
pub fn load_linker(opts: &MatchOptions) -> Result<Linker, LinkError> {
    let spec = Spec::from_file(&opts.spec)?;
    let (table, _) = read_table(opts, &spec)?;
    let mut linker = Linker::new(table, spec.clone(), link_type_of(opts, &spec))?;
    linker.limit_blocking()?;
    let labels = read_training_labels(opts, &spec, &linker)?;
    linker.train(labels)?;
    Ok(linker)
}

impl MatchReport {
    /// A short human-readable summary (what the CLI prints without `--json`).
    pub fn summary_text(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{} records ({}), link type {:?}",
            self.counts.records,
            self.inputs
                .iter()
                .map(|i| format!("{}: {}", i.source, i.records))
                .collect::<Vec<_>>()
                .join(", "),
            self.link_type
        );
        let _ = writeln!(s, "blocking:");
        for (i, b) in self.blocking.iter().enumerate() {
            let _ = writeln!(
                s,
                "  {}. {:<40} {:>12} pairs{}",
                i + 1,
                b.rule,
                b.raw_pairs,
                b.marginal_pairs
                    .map(|m| format!(" ({m} new)"))
                    .unwrap_or_default()
            );
            if let Some(c) = &b.skipped {
                let _ = writeln!(s, "     skipped: {}", c.text());
            }
        }
        if self.count_only {
            if let Some(b) = self.blocking_recall {
                let _ = writeln!(s, "blocking recall {b:.4}");
            }
            return s;
        }
        if let Some(p) = &self.parameters {
            let _ = writeln!(s, "λ = {:.3e} ({})", p.lambda, p.lambda_from);
        }
        let _ = writeln!(
            s,
            "{} candidate pairs, {} at or above p = {:.3}; {} clusters ({} with several records, largest {})",
            self.counts.candidate_pairs,
            self.counts.pairs_above_threshold,
            self.threshold.match_probability,
            self.counts.clusters,
            self.counts.multi_record_clusters,
            self.counts.largest_cluster
        );
        if let Some(e) = &self.evaluation {
            let _ = writeln!(
                s,
                "pairwise precision {:.4} recall {:.4} F1 {:.4}; B-cubed F1 {:.4}; blocking recall {:.4}",
                e.pairwise.precision,
                e.pairwise.recall,
                e.pairwise.f1,
                e.bcubed.f1,
                e.blocking_recall.unwrap_or(f64::NAN)
            );
        }
        let _ = writeln!(s, "total {:.0} ms", self.timings.total_ms);
        s
    }
}
