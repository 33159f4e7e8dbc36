//! Same options → byte-identical files; another seed → different files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use familiar_synth::{generate, SynthError, SynthOptions};

fn files(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, d: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for e in std::fs::read_dir(d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.insert(
                    p.strip_prefix(root).unwrap().to_path_buf(),
                    std::fs::read(&p).unwrap(),
                );
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn opts(seed: u64) -> SynthOptions {
    SynthOptions {
        people: 2_500,
        days: 120,
        end_date: NaiveDate::from_ymd_opt(2025, 1, 31).unwrap(),
        seed,
    }
}

#[test]
fn same_options_same_bytes_other_seed_other_bytes() {
    let (a, b, c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let sa = generate(&opts(7), a.path()).unwrap();
    let sb = generate(&opts(7), b.path()).unwrap();
    generate(&opts(8), c.path()).unwrap();
    let (fa, fb, fc) = (files(a.path()), files(b.path()), files(c.path()));
    assert_eq!(fa.keys().collect::<Vec<_>>(), fb.keys().collect::<Vec<_>>());
    for (p, bytes) in &fa {
        assert!(
            bytes == &fb[p],
            "{} differs between identical runs",
            p.display()
        );
    }
    assert_eq!(sa.interactions, sb.interactions);
    assert_eq!(sa.bad_rows, sb.bad_rows);
    for p in [
        "decc/cad_calls_2025.csv",
        "dcsd/jail_bookings.xlsx",
        "heart/heart_responses.jsonl",
        "truth/people.csv",
    ] {
        let p = PathBuf::from(p);
        assert!(
            fa[&p] != fc[&p],
            "{} is the same for another seed",
            p.display()
        );
    }
    // expected files are all there
    for p in [
        "sources.toml",
        "truth/record_map.csv",
        "truth/bad_rows.csv",
        "truth/expected_measures.json",
        "truth/top_people.csv",
        "truth/top_addresses.csv",
        "truth/people.csv",
        "dpd/rms_persons_export.txt",
        "decc/cad_calls_2024.csv",
        "dfd/ems_fire_runs_2025.csv",
    ] {
        assert!(fa.contains_key(&PathBuf::from(p)), "missing {p}");
    }
}

#[test]
fn rerun_into_the_same_folder_replaces_year_files() {
    let d = tempfile::tempdir().unwrap();
    generate(&opts(3), d.path()).unwrap();
    assert!(d.path().join("decc/cad_calls_2024.csv").exists());
    let later = SynthOptions {
        end_date: NaiveDate::from_ymd_opt(2026, 6, 30).unwrap(),
        ..opts(3)
    };
    generate(&later, d.path()).unwrap();
    assert!(
        !d.path().join("decc/cad_calls_2024.csv").exists(),
        "stale year file left behind"
    );
    assert!(d.path().join("decc/cad_calls_2026.csv").exists());
}

#[test]
fn invalid_options_are_errors() {
    let d = tempfile::tempdir().unwrap();
    let e = generate(
        &SynthOptions {
            people: 10,
            ..opts(1)
        },
        d.path(),
    )
    .unwrap_err();
    assert!(matches!(e, SynthError::InvalidOptions(_)), "{e}");
    let e = generate(&SynthOptions { days: 0, ..opts(1) }, d.path()).unwrap_err();
    assert!(e.to_string().contains("days"), "{e}");
}
