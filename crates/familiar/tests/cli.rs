//! End-to-end tests through the `familiar` binary: synth → ingest → link → measures, the
//! reconciliation and idempotency promises, a kill mid-ingest, and bad input of every kind.

use std::path::{Path, PathBuf};

use serde_json::Value;

mod common;
use common::{bin, json, ok, run};
use std::process::Command;

fn synth(dir: &Path, people: &str, days: &str, seed: &str) -> PathBuf {
    let out = dir.join("county");
    ok(&[
        "synth",
        "--out",
        out.to_str().unwrap(),
        "--people",
        people,
        "--days",
        days,
        "--seed",
        seed,
        "--end-date",
        "2025-06-30",
    ]);
    out
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Bad rows listed by truth, per source.
fn truth_bad_rows(county: &Path) -> std::collections::HashMap<String, u64> {
    let mut m = std::collections::HashMap::new();
    let mut r = csv::Reader::from_path(county.join("truth/bad_rows.csv")).unwrap();
    let h = r.headers().unwrap().clone();
    let si = h.iter().position(|c| c == "source").unwrap();
    for rec in r.records() {
        *m.entry(rec.unwrap()[si].to_string()).or_default() += 1;
    }
    m
}

#[test]
fn synth_ingest_reconciles_with_truth_and_reingest_adds_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let county = synth(dir.path(), "3000", "400", "3");
    let db = dir.path().join("f.db");
    let cfg = county.join("sources.toml");
    let first = json(&["ingest", "--db", s(&db), "--config", s(&cfg), "--json"]);
    let bad = truth_bad_rows(&county);
    let sources = first["sources"].as_array().unwrap();
    assert_eq!(sources.len(), 5, "one entry per source");
    for src in sources {
        let name = src["source"].as_str().unwrap();
        let n = |k: &str| src[k].as_u64().unwrap();
        assert_eq!(
            n("read"),
            n("accepted") + n("rejected") + n("duplicate"),
            "{name} reconciles"
        );
        assert_eq!(
            n("rejected") + n("duplicate"),
            bad.get(name).copied().unwrap_or(0),
            "{name}: rejected + duplicate equals truth's bad rows"
        );
    }
    // The rejected rows name people: they stay sealed in the store, with no copy beside it
    // unless asked; `familiar rejects` writes every one out, and is audited.
    assert!(first["rejects_file"].is_null());
    assert!(!dir.path().join("f.db.rejects").exists());
    let rejected = first["totals"]["rejected"].as_u64().unwrap();
    assert!(rejected > 0);
    let rejects = dir.path().join("rejects.csv");
    ok(&["rejects", "--db", s(&db), "--out", s(&rejects)]);
    let n_rejects = csv::Reader::from_path(&rejects).unwrap().records().count() as u64;
    assert_eq!(n_rejects, rejected);
    // an export never overwrites a file (the store least of all)
    let o = run(&["rejects", "--db", s(&db), "--out", s(&db)]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("exists: give a new file"));
    let run = first["run_id"].as_i64().unwrap().to_string();
    let listed = ok(&["rejects", "--db", s(&db), "--run", &run]);
    let n_listed = csv::Reader::from_reader(listed.as_bytes())
        .records()
        .count() as u64;
    assert_eq!(n_listed, rejected);
    assert_eq!(
        ok(&["rejects", "--db", s(&db), "--run", "999"])
            .lines()
            .count(),
        1,
        "a run with no rejects lists only the header"
    );
    assert!(ok(&["audit", "export", "--db", s(&db)]).contains("rejects.export"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&rejects), 0o600, "rejected rows name people");
    }
    // The store holds no one's identity in the clear: the dates of birth and phone numbers of
    // the county's people (as the store would write them, and as many exports do) are nowhere
    // in its files.
    let stored: Vec<u8> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("f.db"))
        .filter(|p| p.is_file() && !p.to_string_lossy().ends_with(".key"))
        .flat_map(|p| std::fs::read(p).unwrap())
        .collect();
    let mut people = csv::Reader::from_path(county.join("truth/people.csv")).unwrap();
    let h = people.headers().unwrap().clone();
    let col = |n: &str| h.iter().position(|c| c == n).unwrap();
    let (dob, phone) = (col("dob"), col("phone"));
    let mut looked = 0;
    for p in people.records().take(50) {
        let p = p.unwrap();
        for v in [&p[dob], &p[phone]] {
            // (a date of birth within the county's two years is also some event's date)
            if v.len() >= 6 && !v.starts_with("202") {
                looked += 1;
                assert!(
                    !stored.windows(v.len()).any(|w| w == v.as_bytes()),
                    "a person's {v} is in the store in the clear"
                );
            }
        }
    }
    assert!(looked > 50, "the check looked at dates of birth and phones");

    // Blocking is counted before anything is scored.
    let counts = json(&["link", "--db", s(&db), "--count-only", "--json"]);
    let rules = counts["rules"].as_array().unwrap();
    assert!(rules.len() > 3);
    assert!(rules.iter().all(|r| r["raw_pairs"].is_u64()));
    assert!(counts["identities"].as_u64().unwrap() > 1000);

    let second = json(&["ingest", "--db", s(&db), "--config", s(&cfg), "--json"]);
    assert_eq!(second["totals"]["accepted"], 0);
    assert_eq!(second["totals"]["read"], first["totals"]["read"]);

    // Known links from truth give exactly the truth's key measures.
    ok(&[
        "link",
        "import",
        "--db",
        s(&db),
        "--map",
        s(&county.join("truth/record_map.csv")),
    ]);
    let m = json(&[
        "measures",
        "--db",
        s(&db),
        "--as-of",
        "2025-06-30",
        "--json",
    ]);
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(county.join("truth/expected_measures.json")).unwrap(),
    )
    .unwrap();
    for k in ["by_agency", "all_agencies", "interactions", "people"] {
        assert_eq!(m[k], expected[k], "{k} equals truth");
    }
    let e = json(&[
        "link",
        "evaluate",
        "--db",
        s(&db),
        "--truth",
        s(&county.join("truth/record_map.csv")),
        "--json",
    ]);
    assert_eq!(e["pairwise"]["f1"].as_f64().unwrap(), 1.0);
}

/// Every stored row reads back, through its file's layout, as exactly the columns the reader
/// gave for that file and line: CSV, pipe-delimited Windows-1252, XLSX and JSON lines.
#[test]
fn stored_rows_read_back_as_their_source_columns() {
    use familiar_ingest::reader::FileReader;
    use familiar_store::Store;
    use std::collections::HashMap;

    let dir = tempfile::tempdir().unwrap();
    let county = synth(dir.path(), "1500", "200", "11");
    let db = dir.path().join("f.db");
    let cfg_path = county.join("sources.toml");
    let r = json(&["ingest", "--db", s(&db), "--config", s(&cfg_path), "--json"]);
    let accepted = r["totals"]["accepted"].as_u64().unwrap();

    // (file, line) -> columns, straight from the readers.
    let cfg = familiar_ingest::load_config(&cfg_path).unwrap();
    let mut want: HashMap<(String, u64), Vec<(String, String)>> = HashMap::new();
    let mut formats = std::collections::BTreeSet::new();
    for plan in &cfg.sources {
        formats.insert(format!("{:?}", plan.def.format));
        for f in &plan.files {
            let mut rd = FileReader::open(f, &plan.read_options()).ok().unwrap();
            while let Some(row) = rd.next_row() {
                if let Ok(row) = row {
                    let cols = row
                        .columns()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect();
                    want.insert((f.display().to_string(), row.row_number), cols);
                }
            }
        }
    }
    assert_eq!(
        formats.len(),
        3,
        "CSV, XLSX and JSON lines all covered: {formats:?}"
    );

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = familiar_store::SqliteStore::open(&db).await.unwrap();
        let ids = store.record_ids().await.unwrap();
        assert_eq!(ids.len() as u64, accepted);
        for id in ids.values() {
            let row = store.source_row(*id).await.unwrap().expect("stored row");
            let cols = &want[&(row.file.clone(), row.row_number)];
            assert_eq!(&row.fields, cols, "{} line {}", row.file, row.row_number);
        }
        store.close().await;
    });
}

#[test]
fn a_changed_row_becomes_a_new_version_not_a_loss() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("calls.csv");
    std::fs::write(
        &data,
        "id,when,who\n1,2025-01-02 10:00,\"DOE, JANE\"\n2,2025-01-03 11:00,\n",
    )
    .unwrap();
    let cfg = dir.path().join("sources.toml");
    std::fs::write(
        &cfg,
        r#"
[[source]]
name = "calls"
agency = "DECC"
files = "calls.csv"
format = "csv"
record_key = ["id"]
kind = "call_911"
role = "caller"
[source.fields]
start = { column = "when", format = "%Y-%m-%d %H:%M" }
name = { column = "who", layout = "last_comma_first_middle" }
"#,
    )
    .unwrap();
    let db = dir.path().join("f.db");
    let a = json(&["ingest", "--db", s(&db), "--config", s(&cfg), "--json"]);
    assert_eq!(a["totals"]["accepted"], 2);
    std::fs::write(
        &data,
        "id,when,who\n1,2025-01-02 10:00,\"DOE, JANET\"\n2,2025-01-03 11:00,\n",
    )
    .unwrap();
    let b = json(&["ingest", "--db", s(&db), "--config", s(&cfg), "--json"]);
    assert_eq!(b["totals"]["accepted"], 1, "the changed row is kept");
    assert_eq!(b["totals"]["duplicate"], 1);
    assert_eq!(b["sources"][0]["new_versions"], 1);
}

fn write_config(dir: &Path, body: &str) -> PathBuf {
    let p = dir.join("sources.toml");
    std::fs::write(&p, body).unwrap();
    p
}

const CSV_SOURCE: &str = r#"
[[source]]
name = "calls"
agency = "DECC"
files = "calls.csv"
format = "csv"
record_key = ["id"]
kind = "call_911"
[source.fields]
start = { column = "when", format = "%Y-%m-%d %H:%M" }
last_name = "last"
"#;

/// A failing ingest must say why on stderr and leave no store behind.
fn fails_cleanly(dir: &Path, cfg: &Path, want: &[&str]) {
    let db = dir.join("f.db");
    let o = run(&["ingest", "--db", s(&db), "--config", s(cfg)]);
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(!o.status.success(), "should fail");
    for w in want {
        assert!(err.contains(w), "stderr {err:?} should mention {w:?}");
    }
    assert!(!db.exists(), "nothing written on a bad input: {err}");
}

#[test]
fn malformed_config_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("calls.csv"), "id,when,last\n").unwrap();
    let cfg = write_config(
        dir.path(),
        &CSV_SOURCE.replace("kind = \"call_911\"", "kind = call_911"),
    );
    // file:line:column of the offending value
    fails_cleanly(dir.path(), &cfg, &["sources.toml:8:"]);
    let cfg = write_config(dir.path(), &CSV_SOURCE.replace("DECC", "NOPE"));
    fails_cleanly(dir.path(), &cfg, &["NOPE"]);
}

#[test]
fn missing_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), CSV_SOURCE);
    fails_cleanly(dir.path(), &cfg, &["calls.csv"]);
}

#[test]
fn empty_file_is_an_error_and_header_only_is_zero_rows() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("calls.csv"), "").unwrap();
    let cfg = write_config(dir.path(), CSV_SOURCE);
    fails_cleanly(dir.path(), &cfg, &["calls.csv", "empty"]);

    std::fs::write(dir.path().join("calls.csv"), "id,when,last\n").unwrap();
    let db = dir.path().join("f.db");
    let r = json(&["ingest", "--db", s(&db), "--config", s(&cfg), "--json"]);
    assert_eq!(r["totals"]["read"], 0);
}

#[test]
fn wrong_delimiter_gets_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("calls.csv"),
        "id;when;last\n1;2025-01-01 10:00;DOE\n",
    )
    .unwrap();
    let cfg = write_config(dir.path(), CSV_SOURCE);
    fails_cleanly(dir.path(), &cfg, &["calls.csv", "delimiter"]);
}

#[test]
fn every_bad_row_kind_is_rejected_with_its_row_and_the_rest_kept() {
    let dir = tempfile::tempdir().unwrap();
    let mut body: Vec<u8> = b"id,when,last\n".to_vec();
    body.extend_from_slice(b"1,2025-01-01 10:00,DOE\n"); // line 2 ok
    body.extend_from_slice(b"2,2025-13-45 10:00,DOE\n"); // 3 bad date
    body.extend_from_slice(b",2025-01-01 10:00,DOE\n"); // 4 missing key
    body.extend_from_slice(b"5,2025-01-01 10:00,\"DOE\n"); // 5 unbalanced quote
    body.extend_from_slice(b"6,2025-01-01 10:00,D\xffOE\n"); // 6 invalid UTF-8
    body.extend_from_slice(b"7,2025-01-01 10:00,DOE,EXTRA\n"); // 7 field count
    body.extend_from_slice(b"1,2025-01-01 10:00,DOE\n"); // 8 duplicate of line 2
    body.extend_from_slice(b"9,2025-01-02 10:00,ROE\n"); // 9 ok
    std::fs::write(dir.path().join("calls.csv"), &body).unwrap();
    let cfg = write_config(dir.path(), CSV_SOURCE);
    let db = dir.path().join("f.db");
    let rejects = dir.path().join("rejects.csv");
    let r = json(&[
        "ingest",
        "--db",
        s(&db),
        "--config",
        s(&cfg),
        "--json",
        "--rejects-out",
        s(&rejects),
    ]);
    let src = &r["sources"][0];
    assert_eq!(src["read"], 8);
    assert_eq!(src["accepted"], 2);
    assert_eq!(src["duplicate"], 1);
    assert_eq!(src["rejected"], 5);
    let kinds = &src["rejected_by_kind"];
    for k in [
        "bad_date",
        "missing_required",
        "unbalanced_quote",
        "invalid_encoding",
        "field_count",
    ] {
        assert_eq!(kinds[k], 1, "{k} in {kinds}");
    }
    // The report names each rejected row by its line.
    let mut rows: Vec<(u64, String)> = csv::Reader::from_path(r["rejects_file"].as_str().unwrap())
        .unwrap()
        .records()
        .map(|x| {
            let x = x.unwrap();
            (x[1].parse().unwrap(), x[2].to_string())
        })
        .collect();
    rows.sort();
    let lines: Vec<u64> = rows.iter().map(|r| r.0).collect();
    assert_eq!(lines, vec![3, 4, 5, 6, 7]);
    assert_eq!(r["rejects_file"].as_str(), Some(s(&rejects)));
    let audit = ok(&["audit", "export", "--db", s(&db)]);
    assert!(
        audit.contains("rejects.export") && audit.contains("5 rows, run 1"),
        "{audit}"
    );
    // an existing file is refused before anything is ingested
    std::fs::write(
        dir.path().join("calls.csv"),
        b"id,when,last\n10,2025-01-03 10:00,X\n",
    )
    .unwrap();
    let o = run(&[
        "ingest",
        "--db",
        s(&db),
        "--config",
        s(&cfg),
        "--rejects-out",
        s(&rejects),
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("exists: give a new file"));
    assert_eq!(
        json(&["ingest", "--db", s(&db), "--config", s(&cfg), "--json"])["totals"]["accepted"],
        1,
        "the refused run stored nothing"
    );
}

#[test]
fn check_reads_every_row_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut body: Vec<u8> = b"id,when,last\n".to_vec();
    body.extend_from_slice(b"1,2025-01-01 10:00,DOE\n"); // line 2 ok
    body.extend_from_slice(b"2,2025-13-45 10:00,DOE\n"); // 3 bad date
    body.extend_from_slice(b"7,2025-01-01 10:00,DOE,EXTRA\n"); // 4 field count
    body.extend_from_slice(b"1,2025-01-01 10:00,DOE\n"); // 5 the key of line 2 again
    body.extend_from_slice(b"9,2025-01-02 10:00,UNKNOWN\n"); // 6 names nobody
    body.extend_from_slice(b"10,2999-01-01 10:00,ROE\n"); // 7 a date after today
    std::fs::write(dir.path().join("calls.csv"), &body).unwrap();
    let cfg = write_config(dir.path(), CSV_SOURCE);
    let db = dir.path().join("f.db");
    let r = json(&[
        "ingest",
        "--check",
        "--db",
        s(&db),
        "--config",
        s(&cfg),
        "--json",
    ]);
    let src = &r["sources"][0];
    assert_eq!(
        (&src["read"], &src["accepted"], &src["rejected"]),
        (&6.into(), &4.into(), &2.into())
    );
    assert_eq!(src["repeated_keys"], 1);
    assert_eq!(src["first_date"], "2025-01-01");
    assert_eq!(src["last_date"], "2999-01-01");
    assert_eq!(src["future_dates"], 1);
    // the named rows all carry a last name (the only identifier mapped)
    assert_eq!(
        src["identifiers"]["last_name"],
        4 - src["unnamed"].as_u64().unwrap()
    );
    assert_eq!(src["identifiers"]["dob"], 0);
    assert_eq!(src["rejected_by_kind"]["bad_date"], 1);
    assert_eq!(src["rejected_by_kind"]["field_count"], 1);
    let first: Vec<&str> = src["first_rejections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(first.len(), 2);
    assert!(first[0].contains("calls.csv: row 3: bad_date"), "{first:?}");
    assert!(!db.exists(), "--check opens no store");
    let text = ok(&["ingest", "--check", "--db", s(&db), "--config", s(&cfg)]);
    assert!(text.contains("nothing was stored"), "{text}");
    assert!(text.contains("row 4: field_count"), "{text}");
    assert!(
        text.contains("2025-01-01 .. 2999-01-01  (1 after today"),
        "{text}"
    );
}

#[test]
fn legacy_encoding_is_decoded_not_mangled() {
    let dir = tempfile::tempdir().unwrap();
    // "PEÑA" in windows-1252: Ñ = 0xD1.
    std::fs::write(
        dir.path().join("calls.csv"),
        b"id,when,last\n1,2025-01-01 10:00,PE\xd1A\n",
    )
    .unwrap();
    let cfg = write_config(
        dir.path(),
        &CSV_SOURCE.replace(
            "format = \"csv\"",
            "format = \"csv\"\nencoding = \"windows-1252\"",
        ),
    );
    let db = dir.path().join("f.db");
    let r = json(&["ingest", "--db", s(&db), "--config", s(&cfg), "--json"]);
    assert_eq!(r["totals"]["accepted"], 1);
    assert_eq!(r["totals"]["rejected"], 0);
    // Declared as UTF-8 instead, the same byte is rejected with a reason, not mangled.
    let cfg = write_config(dir.path(), CSV_SOURCE);
    let db2 = dir.path().join("g.db");
    let r = json(&["ingest", "--db", s(&db2), "--config", s(&cfg), "--json"]);
    assert_eq!(r["sources"][0]["rejected_by_kind"]["invalid_encoding"], 1);
}

/// Kill the process mid-ingest, re-run, and compare with a clean run: same counts, same store.
#[test]
#[cfg(unix)]
fn killed_ingest_leaves_nothing_and_the_rerun_matches_a_clean_run() {
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let county = synth(dir.path(), "40000", "730", "7");
    let cfg = county.join("sources.toml");

    let clean_db = dir.path().join("clean.db");
    let clean = json(&[
        "ingest",
        "--db",
        s(&clean_db),
        "--config",
        s(&cfg),
        "--json",
    ]);

    let db = dir.path().join("killed.db");
    let mut killed_mid_run = false;
    // Kill at a few different moments; at least one must land while rows are being written.
    for delay_ms in [400u64, 900, 1600] {
        let _ = std::fs::remove_file(&db);
        let mut child = bin()
            .args(["ingest", "--db", s(&db), "--config", s(&cfg), "--json"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let t = Instant::now();
        while t.elapsed() < Duration::from_millis(delay_ms) {
            std::thread::sleep(Duration::from_millis(20));
        }
        let wal = PathBuf::from(format!("{}-wal", db.display()));
        let writing = wal.metadata().map(|m| m.len() > 0).unwrap_or(false);
        // SIGKILL: no destructors, no rollback by us.
        let _ = Command::new("kill")
            .args(["-9", &child.id().to_string()])
            .status();
        let status = child.wait().unwrap();
        if !status.success() && writing {
            killed_mid_run = true;
            break;
        }
    }
    assert!(
        killed_mid_run,
        "the ingest finished before it could be killed; make the county bigger"
    );

    let rerun = json(&["ingest", "--db", s(&db), "--config", s(&cfg), "--json"]);
    assert_eq!(
        rerun["totals"], clean["totals"],
        "the re-run counts equal a clean run's"
    );
    for (a, b) in rerun["sources"]
        .as_array()
        .unwrap()
        .iter()
        .zip(clean["sources"].as_array().unwrap())
    {
        for k in ["read", "accepted", "rejected", "duplicate"] {
            assert_eq!(a[k], b[k], "{} {k}", a["source"]);
        }
    }
    let m1 = json(&["measures", "--db", s(&db), "--json"]);
    let m2 = json(&["measures", "--db", s(&clean_db), "--json"]);
    assert_eq!(m1["interactions"], m2["interactions"]);
}

#[test]
fn demo_prints_the_key_measures_table() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo");
    let text = ok(&[
        "demo",
        "--no-serve",
        "--people",
        "3000",
        "--days",
        "400",
        "--out",
        s(&out),
    ]);
    assert!(text.contains("Key measures"), "{text}");
    for col in [
        "5+",
        "10+",
        "20+",
        "40+",
        "DECC",
        "DPD",
        "DFD",
        "DCSD",
        "HEART",
        "all agencies",
    ] {
        assert!(text.contains(col), "demo table lacks {col}: {text}");
    }
}

/// `source|record_key` → person id, read straight from the store file with the sqlite3 shell.
/// Run one SQL statement on the store with the `sqlite3` shell; its standard output.
fn sqlite(db: &Path, sql: &str) -> String {
    let o = std::process::Command::new("sqlite3")
        .arg(db)
        .arg(sql)
        .output()
        .expect("sqlite3");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

/// `'…'` with quotes doubled, for SQL.
fn quoted(v: &str) -> String {
    format!("'{}'", v.replace('\'', "''"))
}

fn person_of(db: &Path) -> std::collections::HashMap<String, String> {
    let out = std::process::Command::new("sqlite3")
        .arg(db)
        .arg("SELECT r.source || '|' || r.record_key, l.person_id FROM person_links l JOIN source_records r ON r.id = l.record_id")
        .output()
        .expect("sqlite3");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.rsplit_once('|'))
        .map(|(k, p)| (k.to_string(), p.to_string()))
        .collect()
}

#[test]
fn person_ids_survive_new_data_and_a_manual_split_survives_relinking() {
    let dir = tempfile::tempdir().unwrap();
    let county = synth(dir.path(), "2000", "400", "11");
    let full = std::fs::read_to_string(county.join("sources.toml")).unwrap();
    // First load: everything but the crisis team's export.
    let partial: String = full
        .split("\n[[source]]")
        .enumerate()
        .filter(|(_, b)| !b.contains("name = \"heart_responses\""))
        .map(|(i, b)| {
            if i == 0 {
                b.to_string()
            } else {
                format!("\n[[source]]{b}")
            }
        })
        .collect();
    std::fs::write(county.join("partial.toml"), partial).unwrap();
    let db = dir.path().join("f.db");
    ok(&[
        "ingest",
        "--db",
        s(&db),
        "--config",
        s(&county.join("partial.toml")),
    ]);
    let o = run(&["link", "model", "--db", s(&db)]);
    assert!(!o.status.success(), "no model before the first run");
    assert!(String::from_utf8_lossy(&o.stderr).contains("no model is stored yet"));
    ok(&["link", "--db", s(&db)]);
    let before = person_of(&db);
    assert!(!before.is_empty());
    // The learned model, as an analyst without a truth file sees it.
    let m = json(&["link", "model", "--db", s(&db), "--json"]);
    assert_eq!(m["fits_current_spec"], true);
    let comps = m["comparisons"].as_array().unwrap();
    assert!(comps.iter().any(|c| c["name"] == "dob"));
    for c in comps {
        for l in c["levels"].as_array().unwrap() {
            let (mp, up) = (l["m"].as_f64().unwrap(), l["u"].as_f64().unwrap());
            assert!(
                (0.0..=1.0).contains(&mp) && (0.0..=1.0).contains(&up),
                "{l}"
            );
        }
    }
    let p = &m["persons"];
    assert_eq!(p["records"].as_u64().unwrap() as usize, before.len());
    let persons: std::collections::HashSet<&String> = before.values().collect();
    assert_eq!(p["persons"].as_u64().unwrap() as usize, persons.len());
    let by_size: u64 = [
        "one_record",
        "two_to_four",
        "five_to_nineteen",
        "twenty_or_more",
    ]
    .iter()
    .map(|k| p[*k].as_u64().unwrap())
    .sum();
    assert_eq!(by_size as usize, persons.len());
    assert!(ok(&["link", "model", "--db", s(&db)]).contains("pairs wait for review"));
    // a model stored by another version is said to be so, and the persons still shown
    let saved = sqlite(&db, "SELECT model FROM link_runs WHERE model IS NOT NULL");
    let set = |v: &str| {
        sqlite(
            &db,
            &format!(
                "UPDATE link_runs SET model = {} WHERE model IS NOT NULL",
                quoted(v)
            ),
        );
    };
    set(r#"{"version": 1, "from": "elsewhere"}"#);
    let other = ok(&["link", "model", "--db", s(&db)]);
    assert!(
        other.contains("a format this build does not read"),
        "{other}"
    );
    assert!(other.contains("pairs wait for review"), "{other}");
    set(saved.trim());
    assert_eq!(
        json(&["link", "model", "--db", s(&db), "--json"])["unreadable"],
        Value::Null
    );

    // A reviewer splits one record off a multi-record person.
    let mut members: std::collections::HashMap<&str, Vec<&str>> = Default::default();
    for (k, p) in &before {
        members.entry(p).or_default().push(k);
    }
    let (person, recs) = members
        .iter()
        .filter(|(_, r)| r.len() >= 3)
        .min_by_key(|(p, _)| p.to_string())
        .expect("a person with 3+ records");
    let ids = json(&["review", "--db", s(&db), "list", "--limit", "0", "--json"]);
    assert!(ids["waiting"].is_u64());
    // by impact: pairs touching the persons with most records first, each side's count right
    let by_impact = json(&[
        "review",
        "--db",
        s(&db),
        "list",
        "--order",
        "impact",
        "--limit",
        "1000",
        "--json",
    ]);
    let pairs = by_impact["pairs"].as_array().unwrap();
    assert_eq!(
        pairs.len() as u64,
        ids["waiting"].as_u64().unwrap().min(1000)
    );
    let records_of = |p: &str| before.values().filter(|q| q.as_str() == p).count() as u64;
    let stakes: Vec<u64> = pairs
        .iter()
        .map(|p| {
            let side = |k: &str| {
                let n = p[k]["person_records"].as_u64().unwrap();
                if let Some(person) = p[k]["person"].as_str() {
                    assert_eq!(n, records_of(person), "{p}");
                }
                n
            };
            side("left").max(side("right"))
        })
        .collect();
    assert!(stakes.windows(2).all(|w| w[0] >= w[1]), "{stakes:?}");
    assert!(
        stakes.len() > 1 && stakes[0] > stakes[stakes.len() - 1],
        "the queue needs pairs of different stakes to show an order: {stakes:?}"
    );
    let record_id = |key: &str| -> String {
        sqlite(
            &db,
            &format!(
                "SELECT id FROM source_records WHERE current = 1 AND source || '|' || record_key = {}",
                quoted(key)
            ),
        )
        .trim()
        .to_string()
    };
    // each side is named by its source and key, which are that record's
    for p in pairs.iter().take(5) {
        for k in ["left", "right"] {
            let key = format!(
                "{}|{}",
                p[k]["source"].as_str().unwrap(),
                p[k]["record_key"].as_str().unwrap()
            );
            assert_eq!(record_id(&key), p[k]["record"].to_string(), "{p}");
        }
    }
    let mut recs = recs.clone();
    recs.sort();
    let split_key = recs[0].to_string();
    let split_id = record_id(&split_key);
    ok(&[
        "review",
        "--db",
        s(&db),
        "split",
        "--person",
        person,
        "--record",
        &split_id,
        "--reason",
        "different date of birth on the ID card",
        "--actor",
        "tester",
    ]);
    let after_split = person_of(&db);
    assert_ne!(after_split[&split_key], after_split[&recs[1].to_string()]);

    // More data arrives; relink.
    ok(&[
        "ingest",
        "--db",
        s(&db),
        "--config",
        s(&county.join("sources.toml")),
    ]);
    ok(&["link", "--db", s(&db)]);
    let after = person_of(&db);
    assert_ne!(
        after[&split_key],
        after[&recs[1].to_string()],
        "the manual split survives relinking"
    );
    // Every person whose records were not merged with or split from another person's keeps
    // its id: same id for all its old records, and no other old person's records joined it.
    let mut old_by_new: std::collections::HashMap<&str, std::collections::HashSet<&str>> =
        Default::default();
    for (k, p) in &after_split {
        old_by_new.entry(&after[k]).or_default().insert(p);
    }
    let mut kept = 0;
    for (p, keys) in after_split.iter().fold(
        std::collections::HashMap::<&str, Vec<&str>>::new(),
        |mut m, (k, p)| {
            m.entry(p).or_default().push(k);
            m
        },
    ) {
        let news: std::collections::HashSet<&str> =
            keys.iter().map(|k| after[*k].as_str()).collect();
        if news.len() == 1 {
            let n = *news.iter().next().unwrap();
            if old_by_new[n].len() == 1 {
                assert_eq!(n, p, "unchanged person {p} keeps its id");
                kept += 1;
            }
        }
    }
    assert!(kept > 100, "most persons are unchanged ({kept})");

    // Evaluation lists the worst pairs by record id, with the model's weights.
    let ev = json(&[
        "link",
        "--db",
        s(&db),
        "evaluate",
        "--truth",
        s(&county.join("truth/record_map.csv")),
        "--json",
        "--worst",
        "5",
    ]);
    let br = ev["blocking_recall"].as_f64().expect("blocking recall");
    assert!(br > 0.9 && br <= 1.0, "blocking recall {br}");
    let missed = ev["missed_links"].as_array().unwrap();
    assert!(!missed.is_empty() && missed.len() <= 5);
    assert_eq!(
        ev["missed_link_count"].as_u64().unwrap(),
        ["not_blocked", "below_threshold", "refused_by_clustering"]
            .iter()
            .map(|k| ev["missed_by_reason"][k].as_u64().unwrap())
            .sum::<u64>()
    );
    for p in missed
        .iter()
        .chain(ev["worst_false_merges"].as_array().unwrap())
    {
        for side in ["left", "right"] {
            let id = p[side].as_str().unwrap();
            assert!(id.parse::<i64>().is_ok(), "a record id, not a name: {id}");
        }
        assert!(p["match_weight"].is_f64());
    }
    let w: Vec<f64> = missed
        .iter()
        .map(|p| p["match_weight"].as_f64().unwrap())
        .collect();
    assert!(w.windows(2).all(|x| x[0] >= x[1]), "closest first: {w:?}");
}

/// Rows of a query on the store file, with the sqlite3 shell (columns split on `|`).
fn sql(db: &Path, query: &str) -> Vec<Vec<String>> {
    let out = std::process::Command::new("sqlite3")
        .arg(db)
        .arg(query)
        .output()
        .expect("sqlite3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.split('|').map(str::to_string).collect())
        .collect()
}

/// Pairwise agreement (F1) of two partitions of the same records.
fn partition_f1(
    a: &std::collections::HashMap<String, String>,
    b: &std::collections::HashMap<String, String>,
) -> f64 {
    use std::collections::HashMap;
    let c2 = |n: u64| n * n.saturating_sub(1) / 2;
    let (mut ca, mut cb, mut cab) = (
        HashMap::<&str, u64>::new(),
        HashMap::<&str, u64>::new(),
        HashMap::<(&str, &str), u64>::new(),
    );
    for (k, pa) in a {
        let Some(pb) = b.get(k) else { continue };
        *ca.entry(pa).or_default() += 1;
        *cb.entry(pb).or_default() += 1;
        *cab.entry((pa, pb)).or_default() += 1;
    }
    let (na, nb, nab): (u64, u64, u64) = (
        ca.values().map(|&n| c2(n)).sum(),
        cb.values().map(|&n| c2(n)).sum(),
        cab.values().map(|&n| c2(n)).sum(),
    );
    let (p, r) = (nab as f64 / nb as f64, nab as f64 / na as f64);
    2.0 * p * r / (p + r)
}

#[test]
fn incremental_link_attaches_a_new_batch_and_agrees_with_a_full_relink() {
    let dir = tempfile::tempdir().unwrap();
    let county = synth(dir.path(), "4000", "730", "21");
    // The first load holds everything but the 2025 exports of the 911 center and the fire
    // department; they arrive as the next batch.
    let later = dir.path().join("later");
    std::fs::create_dir(&later).unwrap();
    let batch = [
        county.join("decc/cad_calls_2025.csv"),
        county.join("dfd/ems_fire_runs_2025.csv"),
    ];
    for f in &batch {
        std::fs::rename(f, later.join(f.file_name().unwrap())).unwrap();
    }
    let (inc, full) = (dir.path().join("inc.db"), dir.path().join("full.db"));
    let config = county.join("sources.toml");
    for db in [&inc, &full] {
        ok(&["ingest", "--db", s(db), "--config", s(&config)]);
        let out = ok(&["link", "--db", s(db)]);
        assert!(out.contains("full link"), "{out}");
    }
    let before = person_of(&inc);
    for f in &batch {
        std::fs::rename(later.join(f.file_name().unwrap()), f).unwrap();
    }
    for db in [&inc, &full] {
        ok(&["ingest", "--db", s(db), "--config", s(&config)]);
    }
    let out = ok(&["link", "--db", s(&inc), "--incremental"]);
    assert!(out.contains("incremental link"), "{out}");
    ok(&["link", "--db", s(&full), "--full"]);
    let (after, relinked) = (person_of(&inc), person_of(&full));
    let new_records: Vec<&String> = after.keys().filter(|k| !before.contains_key(*k)).collect();
    assert!(
        new_records.len() > 1000,
        "a real batch ({})",
        new_records.len()
    );

    // Every new record is attached, most of them to persons that existed before.
    let old_ids: std::collections::HashSet<&str> = before.values().map(String::as_str).collect();
    let to_old = new_records
        .iter()
        .filter(|k| old_ids.contains(after[**k].as_str()))
        .count();
    assert!(
        to_old * 2 > new_records.len(),
        "{to_old} of {} new records joined an existing person",
        new_records.len()
    );

    // Persons the batch did not reach are untouched: their links still carry the first run,
    // and each keeps exactly its records and its id.
    let first_run = sql(&inc, "SELECT MIN(id) FROM link_runs")[0][0].clone();
    let untouched: std::collections::HashSet<String> = sql(
        &inc,
        &format!(
            "SELECT r.source || '|' || r.record_key FROM person_links l JOIN source_records r ON r.id = l.record_id WHERE l.run_id = {first_run}"
        ),
    )
    .into_iter()
    .map(|r| r.join("|"))
    .collect();
    assert!(
        untouched.len() > before.len() / 3,
        "{} untouched",
        untouched.len()
    );
    let members = |m: &std::collections::HashMap<String, String>| {
        let mut g: std::collections::HashMap<String, std::collections::BTreeSet<String>> =
            Default::default();
        for (k, p) in m {
            g.entry(p.clone()).or_default().insert(k.clone());
        }
        g
    };
    let (mb, ma) = (members(&before), members(&after));
    for k in &untouched {
        let p = &before[k];
        assert_eq!(&after[k], p, "an untouched record keeps its person");
        assert_eq!(
            mb[p], ma[p],
            "an untouched person keeps exactly its records"
        );
    }
    // Any person whose records did not change keeps its id (untouched or re-clustered).
    let by_records: std::collections::HashMap<&std::collections::BTreeSet<String>, &String> =
        mb.iter().map(|(p, r)| (r, p)).collect();
    let mut same = 0;
    for (p, recs) in &ma {
        if let Some(old) = by_records.get(recs) {
            assert_eq!(*old, p, "a person with the same records keeps its id");
            same += 1;
        }
    }
    assert!(
        same * 2 > mb.len(),
        "{same} of {} persons unchanged",
        mb.len()
    );

    // Close to a full relink (which retrains the model on the new data too): pairwise
    // agreement measured 0.9997 on this county and 0.9988-0.9994 on the 20k-person county of
    // BENCHMARKS.md (the same split, and June 2025 alone as the batch).
    let f1 = partition_f1(&relinked, &after);
    assert!(f1 >= 0.99, "incremental vs full relink pairwise F1 {f1:.5}");
    let truth = county.join("truth/record_map.csv");
    let score = |db: &Path| {
        json(&[
            "link",
            "--db",
            s(db),
            "evaluate",
            "--truth",
            s(&truth),
            "--json",
        ])["pairwise"]["f1"]
            .as_f64()
            .unwrap()
    };
    let (fi, ff) = (score(&inc), score(&full));
    eprintln!(
        "incremental vs full: agreement F1 {f1:.5}; truth F1 {fi:.4} vs {ff:.4}; {same} of {} persons unchanged; {to_old} of {} new records joined existing persons; {} links untouched",
        mb.len(),
        new_records.len(),
        untouched.len()
    );
    assert!(fi >= ff - 0.005, "incremental F1 {fi:.4} vs full {ff:.4}");

    // Nothing new: an incremental run changes nothing; the default picks it by itself.
    let out = ok(&["link", "--db", s(&inc)]);
    assert!(
        out.contains("incremental link") && out.contains(" 0 new identities"),
        "{out}"
    );
    assert_eq!(person_of(&inc), after);

    // A reviewer's decision applies through an incremental relink too: two records of one
    // person declared different people end up in different persons, and nothing else moves.
    let pair = sql(
        &inc,
        "SELECT a.record_id, b.record_id FROM person_links a JOIN person_links b
           ON a.person_id = b.person_id AND a.record_id < b.record_id LIMIT 1",
    );
    let (l, r) = (pair[0][0].clone(), pair[0][1].clone());
    // a record that is not a current identity cannot be decided on
    let o = bin()
        .args([
            "review",
            "--db",
            s(&inc),
            "decide",
            "--left",
            &l,
            "--right",
            "999999999",
        ])
        .args(["--non-match", "--reason", "x", "--actor", "tester"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("record 999999999 is not a current identity"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    ok(&[
        "review",
        "--db",
        s(&inc),
        "decide",
        "--left",
        &l,
        "--right",
        &r,
        "--non-match",
        "--reason",
        "two people",
        "--actor",
        "tester",
    ]);
    let modes = sql(&inc, "SELECT mode FROM link_runs ORDER BY id DESC LIMIT 1");
    assert_eq!(
        modes[0][0], "incremental",
        "the review's relink is incremental"
    );
    let person = |id: &str| {
        sql(
            &inc,
            &format!("SELECT person_id FROM person_links WHERE record_id = {id}"),
        )[0][0]
            .clone()
    };
    assert_ne!(person(&l), person(&r), "the non-match decision holds");
    let kept = sql(
        &inc,
        &format!("SELECT COUNT(*) FROM person_links WHERE run_id = {first_run}"),
    )[0][0]
        .parse::<usize>()
        .unwrap();
    assert!(
        kept * 10 > untouched.len() * 9,
        "links elsewhere stay: {kept} of {}",
        untouched.len()
    );
}

#[test]
fn a_closed_output_pipe_stops_the_command_quietly() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("county");
    let mut child = bin()
        .args([
            "synth",
            "--out",
            s(&out),
            "--people",
            "2000",
            "--days",
            "60",
        ])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    assert!(child.wait().unwrap().success());
    // `familiar sql` prints many lines; read one, then close the pipe as `head -1` would.
    let db = dir.path().join("f.db");
    ok(&[
        "ingest",
        "--db",
        s(&db),
        "--config",
        s(&out.join("sources.toml")),
    ]);
    let mut child = bin()
        .args(["sql", "--db", s(&db), "SELECT * FROM involvements"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.contains("interaction"));
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.is_empty(),
        "a closed pipe ends the command silently: {err}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            o.status.signal(),
            Some(13),
            "stopped by SIGPIPE, like other tools"
        );
    }
}

/// A key in `FAMILIAR_SECRET_KEY` seals the accounts' secrets and no key file is made; the
/// store then refuses to go on without that key, or with another.
#[test]
fn the_secret_key_can_come_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("f.db");
    let add = |name: &str, key: Option<&str>| {
        let mut c = bin();
        if let Some(k) = key {
            c.env("FAMILIAR_SECRET_KEY", k);
        }
        c.args(["user", "add", name, "--role", "analyst", "--db", s(&db)])
            .output()
            .unwrap()
    };
    let key = "ab".repeat(32);
    let o = add("ana", Some(&key));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        !dir.path().join("f.db.key").exists(),
        "no key file beside the store"
    );
    let sealed = std::process::Command::new("sqlite3")
        .arg(&db)
        .arg("SELECT totp_secret FROM users WHERE username = 'ana'")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&sealed.stdout).starts_with("aes256gcm:"));
    let o = add("bob", None);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("there is no key"));
    assert!(!dir.path().join("f.db.key").exists(), "and none is made");
    let o = add("bob", Some(&"cd".repeat(32)));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not the one"));
    assert!(add("bob", Some(&key)).status.success());
}

/// `familiar user rotate-key` re-seals an ingested store under a new key: with a key file the
/// file is replaced (the old one kept aside); with the key in the environment the new key is
/// left for the operator, and the old variable stops opening the store.
#[test]
fn a_rotated_key_opens_the_store_and_the_old_one_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let county = synth(dir.path(), "300", "60", "4");
    let cfg = county.join("sources.toml");
    let run = |db: &Path, key: Option<&str>, args: &[&str]| {
        let mut c = bin();
        if let Some(k) = key {
            c.env("FAMILIAR_SECRET_KEY", k);
        }
        let o = c.args(args).arg("--db").arg(db).output().unwrap();
        (
            o.status.success(),
            String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr),
        )
    };
    let ingest = ["ingest", "--config", s(&cfg)];

    // the key in a file beside the store
    let db = dir.path().join("f.db");
    assert!(run(&db, None, &ingest).0);
    let old = std::fs::read_to_string(dir.path().join("f.db.key")).unwrap();
    let (ok, before) = run(&db, None, &["measures", "--json"]);
    assert!(ok, "{before}");
    let cache = dir.path().join("f.db.snapshot");
    assert!(cache.join("interactions.parquet.sealed").is_file());
    let (ok, out) = run(&db, None, &["user", "rotate-key"]);
    assert!(!ok && out.contains("--yes"), "{out}");
    let (ok, out) = run(&db, None, &["user", "rotate-key", "--yes"]);
    assert!(ok && out.contains("re-sealed"), "{out}");
    let new = std::fs::read_to_string(dir.path().join("f.db.key")).unwrap();
    assert_ne!(old, new);
    // the snapshot sealed under the old key is gone, and made again under the new one
    assert!(!cache.exists());
    let (ok, after) = run(&db, None, &["measures", "--json"]);
    assert!(ok && after == before, "{after}");
    assert!(cache.join("interactions.parquet.sealed").is_file());
    let (ok, out) = run(&db, None, &["link"]);
    assert!(ok, "{out}");

    // the key in the environment
    let db = dir.path().join("g.db");
    let key = "ab".repeat(32);
    assert!(run(&db, Some(&key), &ingest).0);
    let (ok, out) = run(&db, Some(&key), &["user", "rotate-key", "--yes"]);
    assert!(ok && out.contains("g.db.key.next"), "{out}");
    let (ok, out) = run(&db, Some(&key), &["link"]);
    assert!(!ok && out.contains("not the one"), "{out}");
    let next = std::fs::read_to_string(dir.path().join("g.db.key.next")).unwrap();
    let (ok, out) = run(&db, Some(next.trim()), &["link"]);
    assert!(ok, "{out}");
}

/// `familiar backup` writes the store as one sealed file; `familiar restore` makes a new store
/// from it that answers as the original did, with the key given as a file or in the
/// environment, and refuses without one.
#[test]
fn a_backup_restores_to_a_store_with_the_same_measures() {
    let dir = tempfile::tempdir().unwrap();
    let county = synth(dir.path(), "300", "60", "6");
    let db = dir.path().join("f.db");
    let cfg = county.join("sources.toml");
    ok(&["ingest", "--db", s(&db), "--config", s(&cfg)]);
    ok(&["link", "--db", s(&db)]);
    let bak = dir.path().join("f.fambak");
    ok(&["backup", "--db", s(&db), "--out", s(&bak)]);
    let measures =
        |db: &Path| json(&["measures", "--db", s(db), "--as-of", "2025-06-30", "--json"]);
    let want = measures(&db);

    // a working copy left by a backup that died, and the plain rejects folder of an earlier
    // version, are pointed out by the next command
    let left = dir.path().join("f.db.tmp-0123456789abcdef");
    std::fs::write(&left, b"copy").unwrap();
    let old_rejects = dir.path().join("f.db.rejects");
    std::fs::create_dir(&old_rejects).unwrap();
    let o = bin()
        .args(["measures", "--db", s(&db), "--json"])
        .output()
        .unwrap();
    assert!(o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("f.db.tmp-0123456789abcdef is left from a backup"),
        "{err}"
    );
    assert!(
        err.contains("f.db.rejects holds rejected rows in the clear"),
        "{err}"
    );
    std::fs::remove_file(&left).unwrap();
    std::fs::remove_dir(&old_rejects).unwrap();

    // the plain snapshot cache of an earlier version is pointed out, then replaced by a
    // sealed one
    let cache = dir.path().join("f.db.snapshot");
    let _ = std::fs::remove_dir_all(&cache);
    std::fs::create_dir(&cache).unwrap();
    std::fs::write(cache.join("manifest.json"), "{}").unwrap();
    std::fs::write(cache.join("interactions.parquet"), "PAR1").unwrap();
    let o = bin()
        .args([
            "measures",
            "--db",
            s(&db),
            "--as-of",
            "2025-06-30",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("holds plain Parquet tables"), "{err}");
    assert_eq!(serde_json::from_slice::<Value>(&o.stdout).unwrap(), want);
    assert!(!cache.join("interactions.parquet").exists());
    assert!(cache.join("interactions.parquet.sealed").is_file());

    // without a key: refused, nothing made
    let restored = dir.path().join("r.db");
    let o = bin()
        .args(["restore", "--db", s(&restored), "--from", s(&bak)])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--key-file"));
    assert!(!restored.exists());
    // with the key file
    let key_file = dir.path().join("f.db.key");
    ok(&[
        "restore",
        "--db",
        s(&restored),
        "--from",
        s(&bak),
        "--key-file",
        s(&key_file),
    ]);
    assert_eq!(measures(&restored), want);
    // with the key in the environment
    let key = std::fs::read_to_string(&key_file).unwrap();
    let again = dir.path().join("e.db");
    let o = bin()
        .env("FAMILIAR_SECRET_KEY", key.trim())
        .args(["restore", "--db", s(&again), "--from", s(&bak)])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = bin()
        .env("FAMILIAR_SECRET_KEY", key.trim())
        .args(["link", "--db", s(&again), "--json"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// An incident export that names an arrestee and a victim side by side: each declared party is
/// a record of the same interaction (with no person when the row leaves it blank), the keys
/// are the same in every version of a row, and the counts reconcile per record.
#[test]
fn a_row_naming_two_people_side_by_side_is_two_records_of_one_incident() {
    let dir = tempfile::tempdir().unwrap();
    let rows = |i1_victim: &str| {
        format!(
            "IncidentNo,Reported,Address,ArrName,ArrDOB,VicName,VicDOB\n\
             I-1,2025-01-02 10:00,12 ELM ST,\"SMITH, JOHN\",1980-02-03,{i1_victim},1975-05-06\n\
             I-2,2025-01-03 11:00,12 ELM ST,\"SMITH, JOHN\",1980-02-03,,\n\
             I-3,2025-01-04 12:00,9 OAK AVE,,,,\n\
             I-4,2025-13-45 12:00,9 OAK AVE,\"SMITH, JOHN\",,,\n\
             I-5,2025-01-06 13:00,9 OAK AVE,,,\"ROE, MARY\",1975-05-06\n"
        )
    };
    std::fs::write(dir.path().join("incidents.csv"), rows("\"ROE, MARY\"")).unwrap();
    let cfg = write_config(
        dir.path(),
        r#"
[[source]]
name = "incidents"
agency = "DPD"
files = "incidents.csv"
format = "csv"
record_key = ["IncidentNo"]
kind = "police_incident"
[source.fields]
start = { column = "Reported", format = "%Y-%m-%d %H:%M" }
location = "Address"
[[source.party]]
name = "arrestee"
role = "arrestee"
[source.party.fields]
name = { column = "ArrName", layout = "last_comma_first_middle" }
dob = { column = "ArrDOB", format = "%Y-%m-%d" }
[[source.party]]
name = "victim"
role = "victim"
[source.party.fields]
name = { column = "VicName", layout = "last_comma_first_middle" }
dob = { column = "VicDOB", format = "%Y-%m-%d" }
"#,
    );
    let db = dir.path().join("f.db");
    let ingest = || json(&["ingest", "--db", s(&db), "--config", s(&cfg), "--json"]);
    let check = json(&["ingest", "--check", "--config", s(&cfg), "--json"]);
    let r = ingest();
    let src = &r["sources"][0];
    // four good rows, two records each; I-4 rejected once
    assert_eq!(src["accepted"], 8, "{r}");
    assert_eq!(src["rejected"], 1);
    assert_eq!(src["read"], 9, "one per record");
    assert_eq!(
        check["sources"][0]["accepted"], 8,
        "--check counts as the ingest does: {check}"
    );
    let again = ingest();
    assert_eq!(again["sources"][0]["duplicate"], 8);
    assert_eq!(again["sources"][0]["accepted"], 0);
    let q = |sql: &str| json(&["sql", "--db", s(&db), sql, "--format", "json"]);
    assert_eq!(
        q("SELECT count(*) AS n FROM interactions")[0]["n"],
        4,
        "one interaction per incident"
    );
    let roles = q("SELECT role, count(*) AS n FROM involvements GROUP BY role ORDER BY role");
    assert_eq!(
        roles,
        serde_json::json!([{"role": "arrestee", "n": 4}, {"role": "victim", "n": 4}])
    );
    let i1 = q(
        "SELECT count(*) AS n FROM involvements v JOIN interactions i \
         ON i.interaction = v.interaction WHERE i.event_key = 'I-1'",
    );
    assert_eq!(
        i1[0]["n"], 2,
        "both parties of I-1 are on its one interaction"
    );
    // the victim taken off I-1: both of its records get a new version (the victim's now
    // naming no one), the other rows are duplicates
    std::fs::write(dir.path().join("incidents.csv"), rows("")).unwrap();
    let edited = ingest();
    let e = &edited["sources"][0];
    assert_eq!(
        (&e["accepted"], &e["duplicate"]),
        (&2.into(), &6.into()),
        "{edited}"
    );
    assert_eq!(e["new_versions"], 2);
    assert_eq!(q("SELECT count(*) AS n FROM involvements")[0]["n"], 8);
    // the rejected row is kept once per run, with its line
    let rejects = ok(&["rejects", "--db", s(&db), "--run", "1"]);
    assert_eq!(rejects.lines().count(), 2, "{rejects}");
    assert!(rejects.contains("incidents,5,bad_date"), "{rejects}");
}
