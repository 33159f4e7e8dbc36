//! FEBRL4 end to end through the file door, with the shipped spec.
use familiar_link::{run_match, MatchOptions};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn febrl() -> Option<PathBuf> {
    let d = root().join("../shared/data/febrl");
    d.join("dataset4a.csv").exists().then_some(d)
}

/// Pairwise P/R/F1 of a clusters.csv against FEBRL truth, cross-source pairs only (as
/// `checks/lib/cluster_f1.py --link` computes it).
fn cluster_f1(path: &Path) -> (f64, f64, f64) {
    let mut rdr = csv::Reader::from_path(path).unwrap();
    let mut by_cluster: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    let mut by_truth: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for r in rdr.records() {
        let r = r.unwrap();
        let (src, id, cl) = (r[0].to_string(), r[1].to_string(), r[2].to_string());
        let n = id
            .trim_start_matches("rec-")
            .split('-')
            .next()
            .unwrap()
            .to_string();
        by_cluster
            .entry(cl)
            .or_default()
            .push((src.clone(), id.clone()));
        by_truth.entry(n).or_default().push((src, id));
    }
    let pairs = |g: &BTreeMap<String, Vec<(String, String)>>| {
        let mut out = BTreeSet::new();
        for m in g.values() {
            for i in 0..m.len() {
                for j in i + 1..m.len() {
                    if m[i].0 != m[j].0 {
                        let (a, b) = if m[i] < m[j] {
                            (&m[i], &m[j])
                        } else {
                            (&m[j], &m[i])
                        };
                        out.insert((a.clone(), b.clone()));
                    }
                }
            }
        }
        out
    };
    let (p, t) = (pairs(&by_cluster), pairs(&by_truth));
    let tp = p.intersection(&t).count() as f64;
    let (pr, rc) = (tp / p.len() as f64, tp / t.len() as f64);
    (pr, rc, 2.0 * pr * rc / (pr + rc))
}

#[test]
fn febrl4_unsupervised_f1() {
    let Some(d) = febrl() else {
        eprintln!("FEBRL data not found; skipped");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("clusters.csv");
    let pairs = tmp.path().join("pairs.csv");
    let opts = MatchOptions {
        spec: root().join("examples/febrl4.toml"),
        left: d.join("dataset4a.csv"),
        right: Some(d.join("dataset4b.csv")),
        out: Some(out.clone()),
        pairs: Some(pairs.clone()),
        ..Default::default()
    };
    let r = run_match(&opts).unwrap();
    let (p, rc, f1) = cluster_f1(&out);
    eprintln!(
        "febrl4 P {p:.4} R {rc:.4} F1 {f1:.4}; {:.0} ms",
        r.timings.total_ms
    );
    assert!(f1 >= 0.997, "F1 {f1}");
    let ev = r.evaluation.as_ref().expect("evaluation");
    assert!(
        (ev.pairwise.f1 - f1).abs() < 1e-9,
        "report F1 {} vs file F1 {f1}",
        ev.pairwise.f1
    );
    assert!(ev.blocking_recall.unwrap() > 0.99);
    // every missed true pair is listed (there are few), closest first, with why it was missed
    assert!(!ev.missed_links.is_empty() && ev.missed_links.len() as u64 == ev.missed_link_count);
    assert!(ev.missed_links.iter().all(|m| m.why.is_some()
        && m.left.starts_with("dataset4a:rec-")
        && m.right.starts_with("dataset4b:rec-")));
    assert!(ev
        .missed_links
        .windows(2)
        .all(|w| w[0].match_weight >= w[1].match_weight));
    assert!(ev.report_text().contains("missed links"));
    assert_eq!(r.counts.records, 10_000);
    // λ close to the truth (1 / 5000)
    let lambda = r.parameters.as_ref().unwrap().lambda;
    assert!(lambda > 1e-4 && lambda < 4e-4, "lambda {lambda}");
    // the report serializes, with f1 nested under pairwise
    let j = serde_json::to_value(&r).unwrap();
    assert!(j["evaluation"]["pairwise"]["f1"].as_f64().unwrap() >= 0.997);
    // pairs.csv has the documented header
    let head = std::fs::read_to_string(&pairs).unwrap();
    assert!(head
        .starts_with("left_source,left_id,right_source,right_id,match_weight,match_probability"));
    let head = std::fs::read_to_string(&out).unwrap();
    assert!(head.starts_with("source,record_id,cluster_id"));
}

#[test]
fn febrl4_count_only_and_guard() {
    let Some(d) = febrl() else { return };
    let opts = MatchOptions {
        spec: root().join("examples/febrl4.toml"),
        left: d.join("dataset4a.csv"),
        right: Some(d.join("dataset4b.csv")),
        count_only: true,
        ..Default::default()
    };
    let r = run_match(&opts).unwrap();
    assert!(r.count_only);
    assert!(r.parameters.is_none());
    assert_eq!(r.blocking.len(), 7);
    assert_eq!(
        r.blocking[0].raw_pairs,
        r.blocking[0].marginal_pairs.unwrap()
    );
    let total: u64 = r.blocking.iter().map(|b| b.marginal_pairs.unwrap()).sum();
    assert_eq!(total, r.counts.candidate_pairs);
    // blocking recall needs no scoring: reported with --count-only too
    let br = r
        .blocking_recall
        .expect("blocking recall with the truth column");
    assert!(br > 0.99 && br < 1.0, "{br}");
    // a rule over the budget has its largest blocks skipped, and says so
    let tmp = tempfile::tempdir().unwrap();
    let base = std::fs::read_to_string(root().join("examples/febrl4.toml")).unwrap();
    let sp = tmp.path().join("loose.toml");
    std::fs::write(
        &sp,
        base.replace("max_pairs = 5_000_000", "max_pairs = 50_000"),
    )
    .unwrap();
    let opts = MatchOptions {
        spec: sp,
        left: d.join("dataset4a.csv"),
        right: Some(d.join("dataset4b.csv")),
        truth_column: Some("rec_id".into()),
        ..Default::default()
    };
    let r = run_match(&opts).unwrap();
    let surname = r.blocking.iter().find(|b| b.rule == "surname").unwrap();
    let cap = surname.skipped.as_ref().expect("surname blocks skipped");
    assert!(cap.skipped_blocks > 0 && cap.skipped_records > 0);
    assert!(surname.raw_pairs <= 50_000 && cap.raw_pairs == 84_831);
    assert!(
        r.summary_text().contains("blocks with"),
        "{}",
        r.summary_text()
    );
    // the other rules still find nearly every match
    let f1 = r.evaluation.as_ref().unwrap().pairwise.f1;
    assert!(f1 > 0.99, "F1 {f1} with skipped blocks");
    // or refused before scoring, when the spec says so
    let sp = tmp.path().join("refuse.toml");
    std::fs::write(
        &sp,
        base.replace(
            "max_pairs = 5_000_000",
            "max_pairs = 50_000\noversize = \"refuse\"",
        ),
    )
    .unwrap();
    let err = run_match(&MatchOptions { spec: sp, ..opts })
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("surname") && err.contains("max_pairs"),
        "{err}"
    );
}

#[test]
fn same_clusters_whatever_the_row_order() {
    let Some(d) = febrl() else { return };
    let tmp = tempfile::tempdir().unwrap();
    // reverse and rotate the rows of both files (keeping file names, hence source names)
    let mut shuffled = Vec::new();
    for (k, name) in ["dataset4a.csv", "dataset4b.csv"].iter().enumerate() {
        let text = std::fs::read_to_string(d.join(name)).unwrap();
        let mut lines: Vec<&str> = text.lines().collect();
        let header = lines.remove(0);
        lines.reverse();
        lines.rotate_left(1234 * (k + 1));
        let dir = tmp.path().join(format!("s{k}"));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, format!("{header}\n{}\n", lines.join("\n"))).unwrap();
        shuffled.push(p);
    }
    let run = |l: PathBuf, r: PathBuf, out: PathBuf| {
        run_match(&MatchOptions {
            spec: root().join("examples/febrl4.toml"),
            left: l,
            right: Some(r),
            out: Some(out.clone()),
            ..Default::default()
        })
        .unwrap();
        let mut rdr = csv::Reader::from_path(out).unwrap();
        let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for rec in rdr.records() {
            let rec = rec.unwrap();
            g.entry(rec[2].to_string())
                .or_default()
                .insert(format!("{}:{}", &rec[0], &rec[1]));
        }
        g.into_values().collect::<BTreeSet<_>>()
    };
    let a = run(
        d.join("dataset4a.csv"),
        d.join("dataset4b.csv"),
        tmp.path().join("a.csv"),
    );
    let b = run(
        shuffled[0].clone(),
        shuffled[1].clone(),
        tmp.path().join("b.csv"),
    );
    assert_eq!(a, b);
}

#[test]
fn explain_a_febrl4_pair() {
    let Some(d) = febrl() else { return };
    let l = familiar_link::load_linker(&MatchOptions {
        spec: root().join("examples/febrl4.toml"),
        left: d.join("dataset4a.csv"),
        right: Some(d.join("dataset4b.csv")),
        ..Default::default()
    })
    .unwrap();
    let e = l
        .explain_ids(("dataset4a", "rec-561-org"), ("dataset4b", "rec-561-dup-0"))
        .unwrap();
    let text = e.to_string();
    eprintln!("{text}");
    assert!(e.probability > 0.99, "{text}");
    assert_eq!(e.terms.len(), 8);
    let sum = e.prior_weight
        + e.terms
            .iter()
            .map(|t| t.weight + t.tf_adjustment)
            .sum::<f64>();
    assert!((sum - e.total_weight).abs() < 1e-9);
    assert!(text.contains("given_name") && text.contains("prior"));
    // serializable
    let j = serde_json::to_value(&e).unwrap();
    assert!(j["terms"][0]["level_label"].is_string());
    let other = l
        .explain_ids(
            ("dataset4a", "rec-561-org"),
            ("dataset4b", "rec-2642-dup-0"),
        )
        .unwrap();
    assert!(other.probability < 0.01);
    assert!(l
        .explain_ids(("dataset4a", "nope"), ("dataset4b", "rec-561-dup-0"))
        .is_err());
}
