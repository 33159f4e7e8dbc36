//! End-to-end tests of the analysis commands through the `familiar` binary, on one synthetic
//! county with truth-imported persons: places against truth, explained rankings, recorded rule
//! runs, read-only SQL, journeys, monthly series, costs and the snapshot cache.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::Value;

mod common;
use common::{json, ok, run};

struct County {
    _dir: tempfile::TempDir,
    county: PathBuf,
    db: PathBuf,
}

const AS_OF: &str = "2025-06-30";

/// One county for every test here: synth, ingest, import the true persons.
fn county() -> &'static County {
    static C: OnceLock<County> = OnceLock::new();
    C.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let county = dir.path().join("county");
        let db = dir.path().join("f.db");
        let (c, d) = (county.to_str().unwrap(), db.to_str().unwrap());
        ok(&[
            "synth",
            "--out",
            c,
            "--people",
            "4000",
            "--days",
            "730",
            "--seed",
            "3",
            "--end-date",
            AS_OF,
        ]);
        ok(&[
            "ingest",
            "--db",
            d,
            "--config",
            &format!("{c}/sources.toml"),
        ]);
        ok(&[
            "link",
            "import",
            "--db",
            d,
            "--map",
            &format!("{c}/truth/record_map.csv"),
        ]);
        County {
            _dir: dir,
            county,
            db,
        }
    })
}

fn db() -> &'static str {
    county().db.to_str().unwrap()
}

fn truth_rows(file: &str) -> Vec<csv::StringRecord> {
    let mut r = csv::Reader::from_path(county().county.join("truth").join(file)).unwrap();
    r.records().map(|x| x.unwrap()).collect()
}

#[test]
fn places_show_the_true_responses_and_people_of_shared_and_single_homes() {
    let p = json(&[
        "places",
        "--db",
        db(),
        "--as-of",
        AS_OF,
        "--limit",
        "400",
        "--json",
    ]);
    let places = p["places"].as_array().unwrap();
    assert!(!places.is_empty());
    // truth/top_addresses.csv: rank,address,responses (911 calls),distinct_people,kind
    let truth = truth_rows("top_addresses.csv");
    // Truth writes the street with its suffix ("12 OAK ST"); place keys drop it ("12 OAK").
    let find = |addr: &str| {
        places.iter().find(|x| {
            let k = x["key"].as_str().unwrap();
            k == addr || (addr.starts_with(&format!("{k} ")) && !addr[k.len() + 1..].contains(' '))
        })
    };
    let shared = truth
        .iter()
        .find(|t| &t[4] != "residence" && t[3].parse::<u64>().unwrap() > 1)
        .expect("truth lists a shared address");
    let got = find(&shared[1]).unwrap_or_else(|| panic!("{} is listed", &shared[1]));
    assert_eq!(
        got["by_agency"]["DECC"].as_u64().unwrap().to_string(),
        &shared[2],
        "911 calls at {}",
        &shared[1]
    );
    assert_eq!(
        got["distinct_people"].as_u64().unwrap().to_string(),
        &shared[3],
        "people at {}",
        &shared[1]
    );
    let home = truth
        .iter()
        .find(|t| &t[3] == "1")
        .expect("truth lists a one-person address");
    let got = find(&home[1]).unwrap_or_else(|| panic!("{} is listed", &home[1]));
    assert_eq!(got["distinct_people"], 1);
    assert_eq!(
        got["by_agency"]["DECC"].as_u64().unwrap().to_string(),
        &home[2]
    );
    // Ranked by responses, each with its span and call types.
    let r: Vec<u64> = places
        .iter()
        .map(|x| x["responses"].as_u64().unwrap())
        .collect();
    assert!(r.windows(2).all(|w| w[0] >= w[1]));
    assert!(places[0]["first"].is_string() && places[0]["top_call_types"].is_array());
}

#[test]
fn top_explains_every_person_and_matches_truth() {
    let t = json(&[
        "top",
        "--db",
        db(),
        "--as-of",
        AS_OF,
        "--limit",
        "25",
        "--json",
    ]);
    let people = t["people"].as_array().unwrap();
    let counts: Vec<u64> = people
        .iter()
        .map(|p| p["interactions"].as_u64().unwrap())
        .collect();
    // 25, and anyone level with the 25th
    assert!(people.len() >= 25);
    assert!(counts[25..].iter().all(|&c| c == counts[24]), "{counts:?}");
    for p in people {
        let q = p["qualification"].as_str().unwrap();
        let n = p["interactions"].as_u64().unwrap();
        // competition ranks: one more than the people with more interactions
        let above = counts.iter().filter(|&&c| c > n).count();
        assert_eq!(p["rank"], above + 1);
        let level = counts.iter().filter(|&&c| c == n).count();
        assert_eq!(q.contains("(tied with"), level > 1, "{q}");
        assert!(
            q.contains(&format!("{n} interactions")) && q.contains(AS_OF),
            "{q}"
        );
        let by: u64 = p["by_agency"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum();
        assert_eq!(by, n, "per-agency counts add up");
        assert!(p["trend"]["direction"].is_string() && p["cost"]["variable"].is_number());
    }
    // truth/top_people.csv ranks the same people by the same counts (persons are imported).
    let truth = truth_rows("top_people.csv");
    let h = csv::Reader::from_path(county().county.join("truth/top_people.csv"))
        .unwrap()
        .headers()
        .unwrap()
        .clone();
    let ti = h
        .iter()
        .position(|c| c == "total" || c == "interactions")
        .expect("a total column");
    let want: Vec<u64> = truth
        .iter()
        .take(25)
        .map(|r| r[ti].parse().unwrap())
        .collect();
    assert_eq!(counts[..25], want[..], "the top-25 counts equal truth's");
}

#[test]
fn a_rule_run_is_recorded_and_can_be_shown_again() {
    let r = json(&[
        "top",
        "--db",
        db(),
        "--as-of",
        AS_OF,
        "--rule",
        "cross-agency",
        "--json",
    ]);
    let run_id = r["recorded_run"].as_i64().expect("the run is recorded");
    assert_eq!(r["rule"]["name"], "cross-agency");
    for p in r["people"].as_array().unwrap() {
        assert!(p["interactions"].as_u64().unwrap() >= 10);
        assert!(p["distinct_agencies"].as_u64().unwrap() >= 2);
        let checks = p["checks"].as_array().unwrap();
        assert!(checks
            .iter()
            .all(|c| c["value"].as_f64() >= c["required"].as_f64()));
    }
    let shown = json(&["rules", "show", &run_id.to_string(), "--db", db(), "--json"]);
    assert_eq!(
        shown["people"], r["people"],
        "the recorded list is the list"
    );
    assert_eq!(shown["data_version"], r["data_version"]);
    let runs = ok(&["rules", "runs", "--db", db()]);
    assert!(runs.contains("cross-agency"));
    // FUSE-style rule: both kinds at or above 4 for everyone listed.
    let f = json(&[
        "top",
        "--db",
        db(),
        "--as-of",
        AS_OF,
        "--rule",
        "fuse",
        "--no-record",
        "--json",
    ]);
    assert!(f["recorded_run"].is_null());
    for p in f["people"].as_array().unwrap() {
        assert!(p["by_kind"]["jail_booking"].as_u64().unwrap() >= 4);
        assert!(p["by_kind"]["crisis_response"].as_u64().unwrap() >= 4);
    }
    // A rule file with a mistake names the file and the rule.
    let bad = county().county.join("bad_rules.toml");
    std::fs::write(
        &bad,
        "[[rule]]\nname = \"x\"\nversion = 1\nmin_by_kind = { jail = 2 }\n",
    )
    .unwrap();
    let o = run(&[
        "top",
        "--db",
        db(),
        "--rule",
        "x",
        "--rules",
        bad.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("bad_rules.toml") && err.contains("jail"),
        "{err}"
    );
}

#[test]
fn sql_is_read_only_and_agrees_with_measures() {
    let m = json(&["measures", "--db", db(), "--as-of", AS_OF, "--json"]);
    let q = format!(
        "SELECT agency, COUNT(*) AS n FROM interactions WHERE local_date > DATE '2024-06-30' AND local_date <= DATE '{AS_OF}' GROUP BY agency ORDER BY agency"
    );
    let rows = json(&["sql", "--db", db(), &q, "--format", "json"]);
    for r in rows.as_array().unwrap() {
        assert_eq!(r["n"], m["interactions"][r["agency"].as_str().unwrap()]);
    }
    let csv = ok(&[
        "sql",
        "--db",
        db(),
        "SELECT code FROM agencies ORDER BY code",
        "--format",
        "csv",
    ]);
    assert!(csv.starts_with("code\n") && csv.contains("HEART"));
    for bad in [
        "DROP TABLE interactions",
        "CREATE TABLE t AS SELECT 1",
        "INSERT INTO agencies VALUES ('X', 'Y')",
    ] {
        let o = run(&["sql", "--db", db(), bad]);
        assert!(!o.status.success(), "{bad} must be refused");
    }
    let out = county().county.join("q.parquet");
    ok(&[
        "sql",
        "--db",
        db(),
        "SELECT * FROM involvements LIMIT 10",
        "--format",
        "parquet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(std::fs::read(&out).unwrap().starts_with(b"PAR1"));
    // The query is in the audit log.
    let audit = ok(&["audit", "export", "--db", db()]);
    assert!(audit.contains("sql.query"), "audited");
}

#[test]
fn a_journey_lists_every_interaction_and_where_needs_came_from() {
    let t = json(&[
        "top",
        "--db",
        db(),
        "--as-of",
        AS_OF,
        "--limit",
        "1",
        "--window",
        "3650d",
        "--json",
    ]);
    let p = &t["people"][0];
    let id = p["person_id"].as_str().unwrap();
    let j = json(&["journey", id, "--db", db(), "--json"]);
    let steps = j["steps"].as_array().unwrap();
    let distinct: std::collections::HashSet<(String, String, String)> = steps
        .iter()
        .map(|s| {
            (
                s["agency"].to_string(),
                s["source"].to_string(),
                s["event_key"].to_string(),
            )
        })
        .collect();
    assert_eq!(distinct.len() as u64, p["interactions"].as_u64().unwrap());
    let starts: Vec<i64> = steps
        .iter()
        .map(|s| s["start_utc"].as_i64().unwrap())
        .collect();
    assert!(starts.windows(2).all(|w| w[0] <= w[1]), "in time order");
    for n in j["needs"].as_array().unwrap() {
        let rec = n["record_id"].as_i64().unwrap();
        assert!(steps.iter().any(|s| s["record_id"].as_i64() == Some(rec)));
    }
    assert!(!j["source_records"].as_array().unwrap().is_empty());
    // Each step carries the 911 call it came from: the call itself and the responses that cite
    // it share the number, across agencies.
    let mut agencies_by_call: std::collections::HashMap<&str, std::collections::HashSet<&str>> =
        Default::default();
    for s in steps {
        if let Some(call) = s["incident_ref"].as_str() {
            assert!(
                call.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()),
                "{call}"
            );
            agencies_by_call
                .entry(call)
                .or_default()
                .insert(s["agency"].as_str().unwrap());
        }
    }
    assert!(
        agencies_by_call.values().any(|a| a.len() >= 2),
        "no call shared by two agencies among {} calls",
        agencies_by_call.len()
    );
    let text = ok(&["journey", id, "--db", db()]);
    assert!(text.contains("[call "), "{text}");
    let o = run(&["journey", "NO-SUCH-PERSON", "--db", db()]);
    assert!(!o.status.success());
}

#[test]
fn monthly_series_add_up_to_the_interactions() {
    let s = json(&[
        "series",
        "--db",
        db(),
        "--from",
        "2024-07-01",
        "--to",
        AS_OF,
        "--json",
    ]);
    let months = s["months"].as_array().unwrap();
    assert_eq!(months.len(), 12);
    let total: u64 = months.iter().map(|m| m["total"].as_u64().unwrap()).sum();
    let m = json(&["measures", "--db", db(), "--as-of", AS_OF, "--json"]);
    assert_eq!(total, m["interactions"]["ALL"].as_u64().unwrap());
    // A rule's people: never more than everyone, month by month.
    let r = json(&[
        "series",
        "--db",
        db(),
        "--rule",
        "seed-5",
        "--from",
        "2024-07-01",
        "--to",
        AS_OF,
        "--json",
    ]);
    for (a, b) in r["months"].as_array().unwrap().iter().zip(months) {
        assert!(a["total"].as_u64() <= b["total"].as_u64());
    }
}

#[test]
fn costs_keep_cash_apart_from_capacity() {
    let c = json(&["costs", "--db", db(), "--as-of", AS_OF, "--json"]);
    let rows = c["by_agency_kind"].as_array().unwrap();
    let v: f64 = rows.iter().map(|r| r["variable"].as_f64().unwrap()).sum();
    assert!((v - c["cash_that_would_be_saved"].as_f64().unwrap()).abs() < 0.05);
    assert!(c["capacity_freed"]["bed_days"].as_u64().unwrap() > 0);
    let jail = rows.iter().find(|r| r["kind"] == "jail_booking").unwrap();
    let per_day = jail["variable"].as_f64().unwrap() / jail["bed_days"].as_f64().unwrap();
    assert!(
        (per_day - 110.19 * 0.20).abs() < 0.01,
        "bed-day variable part {per_day}"
    );
    assert!(
        rows.iter().any(|r| r["priced"] == false),
        "unpriced kinds are shown as such"
    );
}

#[test]
fn the_snapshot_is_cached_and_rebuilt_when_the_store_changes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("f.db");
    let d = db.to_str().unwrap();
    let c = county().county.to_str().unwrap();
    ok(&[
        "ingest",
        "--db",
        d,
        "--config",
        &format!("{c}/sources.toml"),
    ]);
    ok(&["measures", "--db", d, "--json"]);
    let manifest = |db: &Path| -> Value {
        let p = PathBuf::from(format!("{}.snapshot/manifest.json", db.display()));
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    };
    let before = manifest(&db);
    ok(&["measures", "--db", d, "--json"]);
    assert_eq!(manifest(&db), before);
    ok(&[
        "link",
        "import",
        "--db",
        d,
        "--map",
        &format!("{c}/truth/record_map.csv"),
    ]);
    let m = json(&["measures", "--db", d, "--json"]);
    assert_ne!(
        manifest(&db)["data_version"],
        before["data_version"],
        "rebuilt after linkage"
    );
    // The copy beside the store is sealed: no plain Parquet, and not even an agency's code
    // (in every row) readable in its files.
    let cache = PathBuf::from(format!("{d}.snapshot"));
    let mut sealed = 0;
    for f in std::fs::read_dir(&cache).unwrap() {
        let p = f.unwrap().path();
        let name = p.file_name().unwrap().to_str().unwrap().to_string();
        if name == "manifest.json" {
            continue;
        }
        assert!(name.ends_with(".parquet.sealed"), "{name} beside the store");
        let bytes = std::fs::read(&p).unwrap();
        assert!(
            !bytes.windows(4).any(|w| w == b"DECC"),
            "{name} is readable"
        );
        sealed += 1;
    }
    assert_eq!(sealed, 3, "one sealed file per table");
    assert!(ok(&["snapshot", "--db", d]).contains("already current"));
    // A plain copy is written only where asked, and audited; read directly, it gives the
    // same table.
    let plain = dir.path().join("plain");
    ok(&["snapshot", "--db", d, "--out", plain.to_str().unwrap()]);
    assert!(plain.join("interactions.parquet").is_file());
    let again = json(&["measures", "--snapshot", plain.to_str().unwrap(), "--json"]);
    assert_eq!(again, m);
    assert!(ok(&["audit", "export", "--db", d]).contains("snapshot.export"));
    // A cache that does not open (another key, or altered) is rebuilt, not an error.
    let t = cache.join("interactions.parquet.sealed");
    let mut bytes = std::fs::read(&t).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    std::fs::write(&t, bytes).unwrap();
    assert_eq!(json(&["measures", "--db", d, "--json"]), m);
    assert!(ok(&["snapshot", "--db", d]).contains("already current"));
}
