//! Splink's labelled sets through the file door (skipped when the data is absent).
use familiar_link::{run_match, MatchOptions};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn partition(path: &Path) -> BTreeSet<BTreeSet<String>> {
    let mut rdr = csv::Reader::from_path(path).unwrap();
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for rec in rdr.records() {
        let rec = rec.unwrap();
        g.entry(rec[2].to_string())
            .or_default()
            .insert(rec[1].to_string());
    }
    g.into_values().collect()
}

#[test]
fn fake_1000_with_labels_and_any_row_order() {
    let data = root().join("../shared/data/splink_fake_1000/fake_1000.csv");
    if !data.exists() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("a.csv");
    let r = run_match(&MatchOptions {
        spec: root().join("examples/fake_1000.toml"),
        left: data.clone(),
        out: Some(out.clone()),
        ..Default::default()
    })
    .unwrap();
    let ev = r.evaluation.as_ref().unwrap();
    eprintln!(
        "fake_1000 P {:.4} R {:.4} F1 {:.4}",
        ev.pairwise.precision, ev.pairwise.recall, ev.pairwise.f1
    );
    assert!(ev.pairwise.f1 > 0.93, "{:?}", ev.pairwise);
    assert!(ev.pairwise.precision > 0.98);
    assert!(r.parameters.as_ref().unwrap().comparisons[0].m_from[0].starts_with("labels"));
    // the same file with its rows reversed (same name, other folder) gives the same clusters
    let text = std::fs::read_to_string(&data).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let header = lines.remove(0);
    lines.reverse();
    let dir = tmp.path().join("rev");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("fake_1000.csv"),
        format!("{header}\n{}\n", lines.join("\n")),
    )
    .unwrap();
    let out2 = tmp.path().join("b.csv");
    run_match(&MatchOptions {
        spec: root().join("examples/fake_1000.toml"),
        left: dir.join("fake_1000.csv"),
        out: Some(out2.clone()),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(partition(&out), partition(&out2));
}

#[test]
fn historical_50k_parquet() {
    let data = root()
        .join("../shared/data/splink_historical_50k/historical_figures_with_errors_50k.parquet");
    if !data.exists() {
        return;
    }
    let r = run_match(&MatchOptions {
        spec: root().join("examples/historical_50k.toml"),
        left: data,
        ..Default::default()
    })
    .unwrap();
    assert_eq!(r.counts.records, 50_578);
    let ev = r.evaluation.as_ref().unwrap();
    eprintln!("historical_50k {:?} bcubed {:?}", ev.pairwise, ev.bcubed);
    assert!(ev.pairwise.precision > 0.9);
}
