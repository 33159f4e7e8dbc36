//! End-to-end checks of a generated county, read back from disk the way ingest is told to read
//! it (by `sources.toml` alone): every flagged bad row is really bad and of its kind, every other
//! row is good, the record map covers exactly the person-referencing good rows, and the key
//! measures recomputed from the files equal `truth/expected_measures.json`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime};
use chrono_tz::America::New_York;

use familiar_model::mapping::{FieldSpec, FileFormat, SourceDef, SourcesConfig};
use familiar_model::measures::{in_window, round_share, KeyMeasures};
use familiar_synth::{generate, SynthOptions, SynthSummary};

struct County {
    dir: tempfile::TempDir,
    summary: SynthSummary,
    opts: SynthOptions,
}

/// One county shared by the tests of this file (crosses a year boundary: two files per split
/// source; big enough for every bad-row kind in every source).
fn county() -> &'static County {
    static C: OnceLock<County> = OnceLock::new();
    C.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let opts = SynthOptions {
            people: 12_000,
            days: 400,
            end_date: NaiveDate::from_ymd_opt(2025, 6, 30).unwrap(),
            seed: 11,
        };
        let summary = generate(&opts, dir.path()).unwrap();
        County { dir, summary, opts }
    })
}

fn config(dir: &Path) -> SourcesConfig {
    let text = std::fs::read_to_string(dir.join("sources.toml")).unwrap();
    toml::from_str(&text).unwrap()
}

/// Files matching a `dir/prefix*suffix` pattern (the only glob shape synth writes), sorted.
fn glob(root: &Path, pattern: &str) -> Vec<PathBuf> {
    let (dir, name) = pattern.rsplit_once('/').unwrap_or(("", pattern));
    let d = root.join(dir);
    let mut out: Vec<PathBuf> = match name.split_once('*') {
        None => vec![d.join(name)]
            .into_iter()
            .filter(|p| p.exists())
            .collect(),
        Some((pre, suf)) => std::fs::read_dir(&d)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                let n = p.file_name().unwrap().to_string_lossy();
                n.starts_with(pre) && n.ends_with(suf)
            })
            .collect(),
    };
    out.sort();
    out
}

/// A cell as read back.
#[derive(Clone, Debug, PartialEq)]
enum Cell {
    Text(String),
    Serial(f64),
}

impl Cell {
    fn text(&self) -> String {
        match self {
            Cell::Text(s) => s.trim().to_string(),
            Cell::Serial(f) => f.to_string(),
        }
    }
}

/// What a reader made of one physical row.
#[derive(Debug)]
enum Read {
    Row(BTreeMap<String, Cell>),
    InvalidEncoding,
    UnbalancedQuote,
    InvalidJson,
}

struct RawRow {
    file: String,
    line: u64,
    raw: Vec<u8>,
    read: Read,
}

fn decode_1252(b: &[u8]) -> String {
    // synth only writes ASCII and the Latin-1 range, where windows-1252 = ISO-8859-1
    b.iter().map(|&c| c as char).collect()
}

fn read_csv(root: &Path, path: &Path, def: &SourceDef) -> Vec<RawRow> {
    let bytes = std::fs::read(path).unwrap();
    let delim = def.delimiter.as_deref().unwrap_or(",").as_bytes()[0];
    let win = def.encoding.as_deref() == Some("windows-1252");
    let rel = path
        .strip_prefix(root)
        .unwrap()
        .to_string_lossy()
        .replace('\\', "/");
    let mut lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    if lines.last() == Some(&&b""[..]) {
        lines.pop();
    }
    let parse = |s: &str| -> Vec<String> {
        let mut r = csv::ReaderBuilder::new()
            .has_headers(false)
            .delimiter(delim)
            .from_reader(s.as_bytes());
        r.records()
            .next()
            .unwrap()
            .unwrap()
            .iter()
            .map(String::from)
            .collect()
    };
    let strip = |l: &[u8]| -> Vec<u8> { l.strip_suffix(b"\r").unwrap_or(l).to_vec() };
    let header = parse(&String::from_utf8(strip(lines[0])).unwrap());
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate().skip(1) {
        let raw = strip(l);
        let text = if win {
            Some(decode_1252(&raw))
        } else {
            String::from_utf8(raw.clone()).ok()
        };
        let read = match text {
            None => Read::InvalidEncoding,
            Some(t) if t.matches('"').count() % 2 == 1 => Read::UnbalancedQuote,
            Some(t) => {
                let f = parse(&t);
                assert_eq!(f.len(), header.len(), "{rel}:{} field count", i + 1);
                Read::Row(
                    header
                        .iter()
                        .cloned()
                        .zip(f.into_iter().map(Cell::Text))
                        .collect(),
                )
            }
        };
        out.push(RawRow {
            file: rel.clone(),
            line: i as u64 + 1,
            raw,
            read,
        });
    }
    out
}

fn read_jsonl(root: &Path, path: &Path) -> Vec<RawRow> {
    let bytes = std::fs::read(path).unwrap();
    let rel = path
        .strip_prefix(root)
        .unwrap()
        .to_string_lossy()
        .replace('\\', "/");
    let mut out = Vec::new();
    for (i, l) in bytes.split(|&b| b == b'\n').enumerate() {
        if l.is_empty() {
            continue;
        }
        let read = match std::str::from_utf8(l) {
            Err(_) => Read::InvalidEncoding,
            Ok(t) => match serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(t) {
                Err(_) => Read::InvalidJson,
                Ok(m) => Read::Row(
                    m.into_iter()
                        .map(|(k, v)| {
                            let s = match v {
                                serde_json::Value::String(s) => s,
                                serde_json::Value::Null => String::new(),
                                other => other.to_string(),
                            };
                            (k, Cell::Text(s))
                        })
                        .collect(),
                ),
            },
        };
        out.push(RawRow {
            file: rel.clone(),
            line: i as u64 + 1,
            raw: l.to_vec(),
            read,
        });
    }
    out
}

fn read_xlsx(root: &Path, path: &Path, def: &SourceDef) -> Vec<RawRow> {
    use calamine::{open_workbook, Data, Reader, Xlsx};
    let mut wb: Xlsx<_> = open_workbook(path).unwrap();
    let range = wb.worksheet_range(def.sheet.as_deref().unwrap()).unwrap();
    let rel = path
        .strip_prefix(root)
        .unwrap()
        .to_string_lossy()
        .replace('\\', "/");
    let mut rows = range.rows();
    let header: Vec<String> = rows.next().unwrap().iter().map(|c| c.to_string()).collect();
    let mut out = Vec::new();
    for (i, r) in rows.enumerate() {
        let mut m = BTreeMap::new();
        let mut raw = Vec::new();
        for (h, c) in header.iter().zip(r.iter()) {
            let cell = match c {
                Data::DateTime(d) => Cell::Serial(d.as_f64()),
                Data::Float(f) => Cell::Serial(*f),
                Data::Int(n) => Cell::Serial(*n as f64),
                Data::Empty => Cell::Text(String::new()),
                other => Cell::Text(other.to_string()),
            };
            raw.extend_from_slice(format!("{cell:?}\u{1f}").as_bytes());
            m.insert(h.clone(), cell);
        }
        out.push(RawRow {
            file: rel.clone(),
            line: i as u64 + 2,
            raw,
            read: Read::Row(m),
        });
    }
    out
}

fn excel_date(serial: f64) -> NaiveDate {
    let secs = (serial * 86_400.0).round() as i64;
    (NaiveDate::from_ymd_opt(1899, 12, 30)
        .unwrap()
        .and_time(NaiveTime::MIN)
        + chrono::Duration::seconds(secs))
    .date()
}

/// The local start date of a row per the source's start spec, or None if it does not parse.
fn start_date(
    row: &BTreeMap<String, Cell>,
    spec: &FieldSpec,
    time: Option<&FieldSpec>,
) -> Option<NaiveDate> {
    let cell = row.get(&spec.columns[0])?;
    for f in &spec.formats {
        let s = cell.text();
        let d = match (f.as_str(), cell) {
            ("excel", Cell::Serial(x)) => Some(excel_date(*x)),
            ("excel", _) => None,
            ("rfc3339", _) => DateTime::parse_from_rfc3339(&s)
                .ok()
                .map(|t| t.with_timezone(&New_York).date_naive()),
            ("epoch", _) => s
                .parse::<i64>()
                .ok()
                .and_then(|e| DateTime::from_timestamp(e, 0))
                .map(|t| t.with_timezone(&New_York).date_naive()),
            (fmt, _) if fmt.contains("%H") => NaiveDateTime::parse_from_str(&s, fmt)
                .ok()
                .map(|t| t.date()),
            (fmt, _) => NaiveDate::parse_from_str(&s, fmt)
                .ok()
                .filter(|_| match time {
                    None => true,
                    Some(ts) => {
                        let t = row
                            .get(&ts.columns[0])
                            .map(|c| c.text())
                            .unwrap_or_default();
                        ts.formats
                            .iter()
                            .any(|tf| NaiveTime::parse_from_str(&t, tf).is_ok())
                    }
                }),
        };
        if d.is_some() {
            return d;
        }
    }
    None
}

/// A good row as ingest will accept it.
#[derive(Debug, Clone)]
struct Good {
    source: String,
    agency: String,
    key: String,
    event: String,
    date: NaiveDate,
    named: bool,
}

struct Classified {
    good: Vec<Good>,
    /// (source, file, line) → kind
    bad: BTreeMap<(String, String, u64), String>,
    rows_per_source: BTreeMap<String, u64>,
}

fn join_key(row: &BTreeMap<String, Cell>, cols: &[String]) -> Option<String> {
    let parts: Vec<String> = cols
        .iter()
        .map(|c| row.get(c).map(|v| v.text()).unwrap_or_default())
        .collect();
    if parts.iter().any(|p| p.is_empty()) {
        None
    } else {
        Some(parts.join("|"))
    }
}

/// A row names someone when a name or agency person id is present and the name is not a
/// placeholder ("DOE JOHN" for an unidentified patient names nobody).
fn named(row: &BTreeMap<String, Cell>, def: &SourceDef) -> bool {
    let f = &def.fields;
    if let Some(n) = &f.name {
        let v = row.get(&n.columns[0]).map(|c| c.text()).unwrap_or_default();
        if v == "DOE JOHN" || v == "DOE JANE" {
            return false;
        }
    }
    [&f.name, &f.first_name, &f.last_name, &f.agency_person_id]
        .into_iter()
        .flatten()
        .any(|s| row.get(&s.columns[0]).is_some_and(|c| !c.text().is_empty()))
}

fn classify(root: &Path) -> Classified {
    let cfg = config(root);
    let mut good = Vec::new();
    let mut bad = BTreeMap::new();
    let mut rows_per_source = BTreeMap::new();
    for def in &cfg.sources {
        let mut seen: BTreeSet<String> = BTreeSet::new();
        let files = glob(root, &def.files);
        assert!(
            !files.is_empty(),
            "{}: no files for {}",
            def.name,
            def.files
        );
        for path in files {
            let rows = match def.format {
                FileFormat::Csv => read_csv(root, &path, def),
                FileFormat::Jsonl => read_jsonl(root, &path),
                FileFormat::Xlsx => read_xlsx(root, &path, def),
                FileFormat::Json | FileFormat::Parquet | FileFormat::Fixed => {
                    unreachable!("synth writes no {:?}", def.format)
                }
            };
            let mut prev: Option<Vec<u8>> = None;
            for r in rows {
                *rows_per_source.entry(def.name.clone()).or_insert(0) += 1;
                let kind = match &r.read {
                    Read::InvalidEncoding => Some("invalid_encoding"),
                    Read::UnbalancedQuote => Some("unbalanced_quote"),
                    Read::InvalidJson => Some("invalid_json"),
                    Read::Row(row) => {
                        let key = join_key(row, &def.record_key);
                        let start_blank = row
                            .get(&def.fields.start.columns[0])
                            .is_none_or(|c| c.text().is_empty());
                        match key {
                            None => Some("missing_required"),
                            Some(_) if start_blank => Some("missing_required"),
                            Some(k) => match start_date(
                                row,
                                &def.fields.start,
                                def.fields.start_time.as_ref(),
                            ) {
                                None => Some("bad_date"),
                                Some(date) => {
                                    if seen.contains(&k) {
                                        assert_eq!(
                                            prev.as_ref(),
                                            Some(&r.raw),
                                            "{}:{} key {k} reused by a different row",
                                            r.file,
                                            r.line
                                        );
                                        Some("duplicate")
                                    } else {
                                        seen.insert(k.clone());
                                        let ek = def.event_key.as_ref().unwrap_or(&def.record_key);
                                        good.push(Good {
                                            source: def.name.clone(),
                                            agency: def.agency.clone(),
                                            event: join_key(row, ek).unwrap(),
                                            key: k,
                                            date,
                                            named: named(row, def),
                                        });
                                        None
                                    }
                                }
                            },
                        }
                    }
                };
                if let Some(k) = kind {
                    bad.insert((def.name.clone(), r.file.clone(), r.line), k.to_string());
                }
                prev = Some(r.raw);
            }
        }
    }
    Classified {
        good,
        bad,
        rows_per_source,
    }
}

fn classified() -> &'static Classified {
    static C: OnceLock<Classified> = OnceLock::new();
    C.get_or_init(|| classify(county().dir.path()))
}

fn read_truth_csv(path: &Path) -> Vec<BTreeMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let h = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            h.iter()
                .map(String::from)
                .zip(rec.unwrap().iter().map(String::from))
                .collect()
        })
        .collect()
}

#[test]
fn sources_toml_parses_and_names_existing_files() {
    let c = county();
    let cfg = config(c.dir.path());
    assert_eq!(cfg.timezone.as_deref(), Some("America/New_York"));
    let agencies: BTreeSet<&str> = cfg.sources.iter().map(|s| s.agency.as_str()).collect();
    assert_eq!(
        agencies,
        BTreeSet::from(["DCSD", "DECC", "DFD", "DPD", "HEART"])
    );
    let formats: BTreeSet<String> = cfg
        .sources
        .iter()
        .map(|s| format!("{:?}", s.format))
        .collect();
    assert_eq!(formats.len(), 3, "csv, xlsx and jsonl");
    assert!(cfg
        .sources
        .iter()
        .any(|s| s.encoding.as_deref() == Some("windows-1252")));
    assert!(cfg
        .sources
        .iter()
        .any(|s| s.delimiter.as_deref() == Some("|")));
    for s in &cfg.sources {
        let files = glob(c.dir.path(), &s.files);
        assert!(!files.is_empty(), "{} matches nothing", s.files);
        assert!(!s.record_key.is_empty());
    }
    // the year-split sources really are split (the county spans 2024-2025)
    assert_eq!(glob(c.dir.path(), "decc/cad_calls_*.csv").len(), 2);
    // every file in the summary exists and its row count matches what is on disk
    let per_source = &classified().rows_per_source;
    for s in &cfg.sources {
        let n: u64 = c
            .summary
            .files
            .iter()
            .filter(|f| f.0 == s.name)
            .map(|f| f.2)
            .sum();
        assert_eq!(n, per_source[&s.name], "{}", s.name);
    }
    for f in &c.summary.files {
        assert!(f.1.exists(), "{}", f.1.display());
    }
}

#[test]
fn bad_rows_are_exactly_the_rows_ingest_must_reject() {
    let c = county();
    let truth: BTreeMap<(String, String, u64), String> =
        read_truth_csv(&c.dir.path().join("truth/bad_rows.csv"))
            .into_iter()
            .map(|r| {
                (
                    (
                        r["source"].clone(),
                        r["file"].clone(),
                        r["line"].parse().unwrap(),
                    ),
                    r["kind"].clone(),
                )
            })
            .collect();
    let found = &classified().bad;
    assert_eq!(truth.len() as u64, c.summary.bad_rows);
    for (k, kind) in &truth {
        assert_eq!(
            found.get(k),
            Some(kind),
            "{k:?} flagged {kind} but reads as {:?}",
            found.get(k)
        );
    }
    for (k, kind) in found {
        assert!(
            truth.contains_key(k),
            "{k:?} reads as {kind} but is not in bad_rows.csv"
        );
    }
    // every applicable kind appears in every source, at a small rate
    let cfg = config(c.dir.path());
    for s in &cfg.sources {
        let kinds: BTreeSet<&str> = truth
            .iter()
            .filter(|(k, _)| k.0 == s.name)
            .map(|(_, v)| v.as_str())
            .collect();
        let mut want = vec!["bad_date", "missing_required", "duplicate"];
        match s.format {
            FileFormat::Csv => {
                want.push("unbalanced_quote");
                if s.encoding.as_deref() != Some("windows-1252") {
                    want.push("invalid_encoding");
                }
            }
            FileFormat::Jsonl => want.extend(["invalid_encoding", "invalid_json"]),
            _ => {}
        }
        for k in want {
            assert!(kinds.contains(k), "{} lacks {k}: {kinds:?}", s.name);
        }
        let n = truth.keys().filter(|k| k.0 == s.name).count() as f64;
        let rows = classified().rows_per_source[&s.name] as f64;
        assert!(n / rows < 0.02, "{}: {n} bad of {rows}", s.name);
    }
}

#[test]
fn flagged_lines_point_at_the_real_lines() {
    let c = county();
    for r in read_truth_csv(&c.dir.path().join("truth/bad_rows.csv")) {
        if r["file"].ends_with(".xlsx") {
            continue; // covered by the classifier
        }
        let bytes = std::fs::read(c.dir.path().join(&r["file"])).unwrap();
        let lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
        let n: usize = r["line"].parse().unwrap();
        let line = lines[n - 1];
        match r["kind"].as_str() {
            "duplicate" => assert_eq!(line, lines[n - 2], "{r:?}"),
            "unbalanced_quote" => {
                assert_eq!(line.iter().filter(|&&b| b == b'"').count() % 2, 1, "{r:?}");
                // the following lines balance (a reader looking ahead a few lines to close the
                // quote must not find another stray one)
                for next in lines.iter().skip(n).take(6).filter(|l| !l.is_empty()) {
                    assert_eq!(next.iter().filter(|&&b| b == b'"').count() % 2, 0, "{r:?}");
                }
            }
            "invalid_encoding" => {
                assert!(std::str::from_utf8(line).is_err(), "{r:?}");
                assert!(line.contains(&0xFF));
            }
            "invalid_json" => assert!(serde_json::from_slice::<serde_json::Value>(line).is_err()),
            _ => {}
        }
    }
}

#[test]
fn record_map_covers_exactly_the_person_referencing_good_rows() {
    let c = county();
    let map = read_truth_csv(&c.dir.path().join("truth/record_map.csv"));
    let keys: BTreeSet<(String, String)> = map
        .iter()
        .map(|r| (r["source"].clone(), r["record_key"].clone()))
        .collect();
    assert_eq!(keys.len(), map.len(), "a key listed twice");
    let named: BTreeSet<(String, String)> = classified()
        .good
        .iter()
        .filter(|g| g.named)
        .map(|g| (g.source.clone(), g.key.clone()))
        .collect();
    let missing: Vec<_> = named.difference(&keys).take(5).collect();
    let extra: Vec<_> = keys.difference(&named).take(5).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "not in map: {missing:?}; not named: {extra:?}"
    );
    let people = read_truth_csv(&c.dir.path().join("truth/people.csv"));
    assert_eq!(people.len() as u32, c.opts.people);
    let ids: BTreeSet<&str> = people.iter().map(|p| p["person_id"].as_str()).collect();
    assert!(map.iter().all(|r| ids.contains(r["person_id"].as_str())));
}

#[test]
fn expected_measures_match_a_recount_from_the_files() {
    let c = county();
    let root = c.dir.path();
    let expected: KeyMeasures = serde_json::from_str(
        &std::fs::read_to_string(root.join("truth/expected_measures.json")).unwrap(),
    )
    .unwrap();
    let person: BTreeMap<(String, String), String> =
        read_truth_csv(&root.join("truth/record_map.csv"))
            .into_iter()
            .map(|r| {
                (
                    (r["source"].clone(), r["record_key"].clone()),
                    r["person_id"].clone(),
                )
            })
            .collect();
    let as_of = c.opts.end_date;
    let codes = ["DECC", "DPD", "DFD", "DCSD", "HEART"];
    // interactions: (agency, source, event) → people involved
    let mut events: BTreeMap<(String, String, String), BTreeSet<String>> = BTreeMap::new();
    for g in classified()
        .good
        .iter()
        .filter(|g| in_window(g.date, as_of, 365))
    {
        let e = events
            .entry((g.agency.clone(), g.source.clone(), g.event.clone()))
            .or_default();
        if let Some(p) = person.get(&(g.source.clone(), g.key.clone())) {
            e.insert(p.clone());
        }
    }
    let mut per: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for ((agency, _, _), ps) in &events {
        for p in ps {
            *per.entry(p.clone())
                .or_default()
                .entry(agency.clone())
                .or_default() += 1;
        }
    }
    let total = |p: &str| per[p].values().sum::<u64>();
    for t in [5u64, 10, 20, 40] {
        let k = t.to_string();
        for a in codes {
            let n = per
                .values()
                .filter(|m| m.get(a).copied().unwrap_or(0) >= t)
                .count() as u64;
            assert_eq!(expected.by_agency[a][&k], n, "{a} {t}+");
            let ev: Vec<_> = events.iter().filter(|(e, _)| e.0 == a).collect();
            let hit = ev
                .iter()
                .filter(|(_, ps)| ps.iter().any(|p| per[p].get(a).copied().unwrap_or(0) >= t))
                .count();
            let share = if ev.is_empty() {
                0.0
            } else {
                round_share(hit as f64 / ev.len() as f64)
            };
            assert_eq!(expected.share[a][&k], share, "share {a} {t}");
        }
        let n = per.keys().filter(|p| total(p) >= t).count() as u64;
        assert_eq!(expected.all_agencies[&k], n, "all {t}+");
        let hit = events
            .values()
            .filter(|ps| ps.iter().any(|p| total(p) >= t))
            .count();
        assert_eq!(
            expected.share["ALL"][&k],
            round_share(hit as f64 / events.len() as f64)
        );
    }
    for a in codes {
        let n = events.keys().filter(|e| e.0 == a).count() as u64;
        assert_eq!(expected.interactions[a], n, "{a} interactions");
        let ppl = per
            .values()
            .filter(|m| m.get(a).copied().unwrap_or(0) >= 1)
            .count() as u64;
        assert_eq!(expected.people[a], ppl, "{a} people");
    }
    assert_eq!(expected.interactions["ALL"], events.len() as u64);
    assert_eq!(expected.people["ALL"], per.len() as u64);
    assert!(expected.by_agency["DPD"]["5"] > 0 && expected.all_agencies["40"] > 0);

    // top people agree with the recount
    let top = read_truth_csv(&root.join("truth/top_people.csv"));
    assert_eq!(top.len(), 100);
    let mut ranked: Vec<(u64, &String)> = per.keys().map(|p| (total(p), p)).collect();
    ranked.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    for (row, (n, p)) in top.iter().zip(ranked) {
        assert_eq!(&row["person_id"], p);
        assert_eq!(row["interactions"].parse::<u64>().unwrap(), n);
    }
    // the group home is among the busiest addresses
    let addrs = read_truth_csv(&root.join("truth/top_addresses.csv"));
    let gh = addrs
        .iter()
        .find(|r| r["kind"] == "group_home")
        .expect("group home listed");
    assert!(
        gh["distinct_people"].parse::<u32>().unwrap() >= 10,
        "{gh:?}"
    );
}

#[test]
fn the_windows_1252_file_has_accented_names() {
    let c = county();
    let bytes = std::fs::read(c.dir.path().join("dpd/rms_persons_export.txt")).unwrap();
    assert!(std::str::from_utf8(&bytes).is_err(), "not UTF-8");
    let text = decode_1252(&bytes);
    assert!(text.contains("\r\n"));
    assert!(
        text.chars().any(|ch| "ÁÉÍÓÚÑ".contains(ch)),
        "no accented capital letters"
    );
    // compound Hispanic surnames appear in some form
    assert!(text.lines().any(|l| l
        .split('|')
        .nth(10)
        .is_some_and(|last| last.contains(' ') || last.contains('-'))));
}
