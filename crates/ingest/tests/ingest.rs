//! End-to-end behaviour of the ingest crate: mapping files, preflight, readers and the driver,
//! on small synthetic fixtures written to temporary folders.

use std::path::Path;

use familiar_ingest::{
    load_config, preflight, read_source, ConfigError, FileError, IngestError, LoadedConfig,
    RejectKind, RowOutcome, SourcePlan, SourceReport,
};
use familiar_model::{AddressKind, InteractionKind, Role};

fn write(dir: &Path, rel: &str, bytes: &[u8]) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, bytes).unwrap();
}

fn load(dir: &Path, toml: &str) -> Result<LoadedConfig, ConfigError> {
    write(dir, "sources.toml", toml.as_bytes());
    load_config(&dir.join("sources.toml"))
}

fn run(plan: &SourcePlan) -> (Vec<RowOutcome>, SourceReport) {
    let mut out = Vec::new();
    let rep = read_source(plan, |o| -> Result<(), std::convert::Infallible> {
        out.push(o);
        Ok(())
    })
    .unwrap();
    (out, rep)
}

fn accepted(out: &[RowOutcome]) -> Vec<&familiar_model::NormalizedRecord> {
    out.iter()
        .filter_map(|o| match o {
            RowOutcome::Accepted { record, .. } => Some(record),
            _ => None,
        })
        .collect()
}

/// (row number, kind, column) of each rejection.
fn rejections(out: &[RowOutcome]) -> Vec<(u64, RejectKind, Option<String>)> {
    out.iter()
        .filter_map(|o| match o {
            RowOutcome::Rejected(r) => Some((r.row_number, r.kind, r.column.clone())),
            _ => None,
        })
        .collect()
}

const SIMPLE: &str = r#"
[[source]]
name = "calls"
agency = "DECC"
files = "calls.csv"
format = "csv"
record_key = ["id"]
kind = "call_911"

[source.fields]
start = { column = "when", format = "%Y-%m-%d %H:%M" }
name = { column = "name", layout = "last_comma_first_middle" }
kind = "type"
"#;

// ------------------------------------------------------------------------------------------
// Malformed mapping files.

#[test]
fn bad_toml_reports_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let e = load(
        dir.path(),
        "timezone = \"America/New_York\"\n\n[[source]\nname = 1\n",
    )
    .unwrap_err();
    match &e {
        ConfigError::Toml { line, column, .. } => {
            assert_eq!(*line, 3);
            assert!(*column >= 1);
        }
        other => panic!("{other:?}"),
    }
    let msg = e.to_string();
    assert!(msg.contains("sources.toml:3:"), "{msg}");
}

#[test]
fn unknown_keys_are_named_with_their_line() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "calls.csv", b"id,when,name,type\n");
    let e = load(
        dir.path(),
        &SIMPLE.replace("kind = \"type\"", "knd = \"type\""),
    )
    .unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("knd"), "{msg}");
    assert!(matches!(e, ConfigError::Toml { line: 13, .. }), "{e:?}");

    // Inside a field table serde only says "no variant matched": we say which key.
    let e = load(
        dir.path(),
        &SIMPLE.replace("format = \"%Y-%m-%d %H:%M\"", "formt = \"%Y-%m-%d %H:%M\""),
    )
    .unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("unknown key `formt`"), "{msg}");
    assert!(msg.contains("fields.start"), "{msg}");
    assert!(matches!(e, ConfigError::Toml { line: 11, .. }), "{e:?}");
}

#[test]
fn a_party_field_mistake_is_named_too() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "calls.csv", b"id,when,name,type\n");
    let with_party = SIMPLE.replace(
        "name = { column = \"name\", layout = \"last_comma_first_middle\" }\n",
        "",
    ) + "[[source.party]]\nname = \"caller\"\n[source.party.fields]\n\
           name = { colum = \"name\" }\n";
    let e = load(dir.path(), &with_party).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("unknown key `colum`"), "{msg}");
    assert!(msg.contains("party 1 fields.name"), "{msg}");
    // a person field left at the source's level beside parties is named
    let both = SIMPLE.to_string()
        + "[[source.party]]\nname = \"caller\"\n[source.party.fields]\nname = \"name\"\n";
    let e = load(dir.path(), &both).unwrap_err();
    assert!(
        e.to_string().contains("fields name describe a person"),
        "{e}"
    );
}

#[test]
fn semantic_problems_are_all_listed() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "calls.csv", b"id,when,name,type\n");
    let bad = SIMPLE
        .replace("agency = \"DECC\"", "agency = \"FBI\"\ntimezone = \"Mars/Olympus\"\nencoding = \"klingon\"\ndelimiter = \";;\"")
        .replace("kind = \"call_911\"", "kind = \"phone_call\"");
    let e = load(dir.path(), &bad).unwrap_err();
    let ConfigError::Invalid { problems, .. } = &e else {
        panic!("{e:?}")
    };
    let all = problems.join("\n");
    for want in [
        "agency \"FBI\" is not defined; known agencies: DECC, DPD, DFD, DCSD, HEART",
        "\"Mars/Olympus\" is not an IANA time zone",
        "\"klingon\" is not a known encoding label",
        "delimiter: \";;\" must be one character",
        "unknown interaction kind \"phone_call\"",
    ] {
        assert!(all.contains(want), "{want:?} missing from:\n{all}");
    }
    assert!(all.contains("source \"calls\""), "{all}");
}

#[test]
fn an_agency_table_adds_an_agency() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "calls.csv", b"id,when,name,type\n");
    let toml = format!(
        "[[agency]]\ncode = \"ED\"\nname = \"Hospital ED\"\n{}",
        SIMPLE.replace("agency = \"DECC\"", "agency = \"ED\"")
    );
    let cfg = load(dir.path(), &toml).unwrap();
    assert_eq!(cfg.sources[0].agency.code, "ED");
    assert_eq!(cfg.agencies.len(), 6);
    let e = load(dir.path(), &toml.replace("code = \"ED\"", "code = \"ed\"")).unwrap_err();
    assert!(e.to_string().contains("code must be upper-case"), "{e}");
}

#[test]
fn a_glob_that_matches_nothing_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let e = load(
        dir.path(),
        &SIMPLE.replace("calls.csv", "exports/calls_*.csv"),
    )
    .unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("files \"exports/calls_*.csv\" matches no file"),
        "{msg}"
    );
}

#[test]
fn duplicate_source_names_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "calls.csv", b"id,when,name,type\n");
    let two = format!(
        "{SIMPLE}\n{}",
        &SIMPLE[SIMPLE.find("[[source]]").unwrap()..]
    );
    let e = load(dir.path(), &two).unwrap_err();
    assert!(
        e.to_string().contains("name is used by an earlier source"),
        "{e}"
    );
}

// ------------------------------------------------------------------------------------------
// Preflight: headers.

#[test]
fn empty_file_is_an_error_and_header_only_is_fine() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "calls.csv", b"");
    let cfg = load(dir.path(), SIMPLE).unwrap();
    let e = preflight(&cfg).unwrap_err();
    assert!(
        matches!(e, ConfigError::File(FileError::Empty { .. })),
        "{e:?}"
    );
    let msg = e.to_string();
    assert!(
        msg.contains("calls.csv: empty file: no header row"),
        "{msg}"
    );
    let e = read_source(&cfg.sources[0], |_| -> Result<(), ()> { Ok(()) }).unwrap_err();
    assert!(matches!(e, IngestError::File(FileError::Empty { .. })));

    write(dir.path(), "calls.csv", b"id,when,name,type\r\n");
    preflight(&cfg).unwrap();
    let (out, rep) = run(&cfg.sources[0]);
    assert!(out.is_empty());
    assert_eq!((rep.rows(), rep.accepted()), (0, 0));
}

#[test]
fn a_missing_column_is_named_with_the_header() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "calls.csv", b"id,when,nom,type\n");
    let cfg = load(dir.path(), SIMPLE).unwrap();
    let msg = preflight(&cfg).unwrap_err().to_string();
    assert!(msg.contains("column \"name\" not in the header"), "{msg}");
    assert!(msg.contains("\"id\", \"when\", \"nom\", \"type\""), "{msg}");
    assert!(msg.contains("calls.csv"), "{msg}");
    // Header names match case-insensitively when unambiguous.
    write(dir.path(), "calls.csv", b"ID, When ,NAME,Type\n");
    preflight(&cfg).unwrap();
}

#[test]
fn a_wrong_delimiter_gets_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "calls.csv",
        b"id;when;name;type\n1;2024-01-01 10:00;A;\n",
    );
    let cfg = load(dir.path(), SIMPLE).unwrap();
    let msg = preflight(&cfg).unwrap_err().to_string();
    assert!(msg.contains("is the delimiter right?"), "{msg}");
    assert!(msg.contains("';'-delimited"), "{msg}");
    assert!(msg.contains("delimiter = \";\""), "{msg}");
}

// ------------------------------------------------------------------------------------------
// Rows.

#[test]
fn every_reject_kind_and_resync_after_an_unbalanced_quote() {
    let dir = tempfile::tempdir().unwrap();
    let data: &[u8] = b"id,when,name,type\n\
1,2024-01-01 10:00,\"SMITH, JOHN\",\n\
2,2024-13-45 10:00,\"DOE, JANE\",\n\
,2024-01-01 10:00,\"ROE, RICK\",\n\
4,2024-01-01 10:00,\"ROE, RICK,\n\
5,2024-01-01 11:00,\"POE, EDGAR\",\n\
6,2024-01-01 12:00,\"JOS\xFF, ANA\",\n\
7,2024-01-01 13:00,\"LEE, ANN\",,extra\n\
8,2024-01-01 14:00,\"LEE, ANN\",jaywalking\n\
\n\
9,2024-01-01 15:00,\"MULTI\nLINE, ANN\",arrest\n\
10,2024-01-01 16:00,,\n\n";
    write(dir.path(), "calls.csv", data);
    let cfg = load(dir.path(), SIMPLE).unwrap();
    preflight(&cfg).unwrap();
    let (out, rep) = run(&cfg.sources[0]);
    assert_eq!(
        rejections(&out),
        vec![
            (3, RejectKind::BadDate, Some("when".into())),
            (4, RejectKind::MissingRequired, Some("id".into())),
            (5, RejectKind::UnbalancedQuote, None),
            (7, RejectKind::InvalidEncoding, Some("name".into())),
            (8, RejectKind::FieldCount, None),
            (9, RejectKind::BadValue, Some("type".into())),
        ]
    );
    let ok = accepted(&out);
    let keys: Vec<&str> = ok.iter().map(|r| r.record_key.as_str()).collect();
    assert_eq!(keys, vec!["1", "5", "9", "10"]);
    let rows: Vec<u64> = out
        .iter()
        .filter_map(|o| match o {
            RowOutcome::Accepted { raw, .. } => Some(raw.row_number),
            _ => None,
        })
        .collect();
    assert_eq!(rows, vec![2, 6, 11, 13]);
    assert_eq!(ok[2].kind, InteractionKind::Arrest);
    assert_eq!(
        ok[2].identity.as_ref().unwrap().first.as_deref(),
        Some("ANN")
    );
    assert_eq!(
        ok[2].identity.as_ref().unwrap().last.as_deref(),
        Some("MULTI LINE")
    );
    assert!(ok[3].identity.is_none());

    assert_eq!((rep.rows(), rep.accepted(), rep.rejected()), (10, 4, 6));
    let by = rep.rejected_by_kind();
    assert_eq!(by.get("unbalanced_quote"), Some(&1));
    assert_eq!(by.get("bad_date"), Some(&1));

    // Rejections keep the row's bytes exactly and explain themselves.
    let RowOutcome::Rejected(r) = &out[3] else {
        panic!()
    };
    assert_eq!(r.raw, b"4,2024-01-01 10:00,\"ROE, RICK,");
    let RowOutcome::Rejected(r) = &out[5] else {
        panic!()
    };
    assert_eq!(r.raw, b"6,2024-01-01 12:00,\"JOS\xFF, ANA\",");
    let msg = r.to_string();
    assert!(msg.contains("calls.csv: row 7: invalid_encoding"), "{msg}");
    assert!(msg.contains("0xFF"), "{msg}");
    let RowOutcome::Rejected(r) = &out[1] else {
        panic!()
    };
    assert!(r.to_string().contains("\"2024-13-45 10:00\""), "{r}");
}

#[test]
fn required_fields_reject_blank_values() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "calls.csv",
        b"id,when,name,type\n1,2024-01-01 10:00,,\n2,2024-01-01 10:00,\"A, B\",\n",
    );
    let toml = SIMPLE.replace(
        "layout = \"last_comma_first_middle\" }",
        "layout = \"last_comma_first_middle\", required = true }",
    );
    let cfg = load(dir.path(), &toml).unwrap();
    let (out, _) = run(&cfg.sources[0]);
    assert_eq!(
        rejections(&out),
        vec![(2, RejectKind::MissingRequired, Some("name".into()))]
    );
}

#[test]
fn invalid_json_lines_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "runs.jsonl",
        b"{\"id\": 1, \"t\": \"2024-01-01T10:00:00Z\"}\n{\"id\": 2, \"t\": \n\"oops\"\n{\"id\": 3, \"t\": \"2024-01-01T11:00:00Z\", \"x\": {\"a\": 1}}\n",
    );
    let toml = r#"
[[source]]
name = "runs"
agency = "DFD"
files = "runs.jsonl"
format = "jsonl"
record_key = ["id"]
kind = "ems_run"
[source.fields]
start = { column = "t", format = "rfc3339" }
"#;
    let cfg = load(dir.path(), toml).unwrap();
    preflight(&cfg).unwrap();
    let (out, rep) = run(&cfg.sources[0]);
    assert_eq!(
        rejections(&out),
        vec![
            (2, RejectKind::InvalidJson, None),
            (3, RejectKind::InvalidJson, None)
        ]
    );
    assert_eq!(rep.accepted(), 2);
    let RowOutcome::Accepted { raw, .. } = &out[3] else {
        panic!()
    };
    let layout = rep.files[0].layout.as_ref().unwrap();
    assert_eq!(
        layout.fields(&raw.raw).unwrap(),
        [
            ("id", "3"),
            ("t", "2024-01-01T11:00:00Z"),
            ("x", r#"{"a":1}"#)
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
    );
}

#[test]
fn windows_1252_names_decode() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "calls.csv",
        b"id,when,name,type\n1,2024-01-01 10:00,\"Pe\xF1a, Jos\xE9\",\n",
    );
    let toml = SIMPLE.replace(
        "format = \"csv\"",
        "format = \"csv\"\nencoding = \"windows-1252\"",
    );
    let cfg = load(dir.path(), &toml).unwrap();
    let (out, rep) = run(&cfg.sources[0]);
    let RowOutcome::Accepted { record, raw } = &out[0] else {
        panic!("{out:?}")
    };
    let id = record.identity.as_ref().unwrap();
    assert_eq!(id.first.as_deref(), Some("JOSÉ"));
    assert_eq!(id.last.as_deref(), Some("PEÑA"));
    assert_eq!(
        raw.raw, b"1,2024-01-01 10:00,\"Pe\xF1a, Jos\xE9\",",
        "the bytes as in the file"
    );
    let fields = rep.files[0]
        .layout
        .as_ref()
        .unwrap()
        .fields(&raw.raw)
        .unwrap();
    assert_eq!(fields[2], ("name".to_string(), "Peña, José".to_string()));
}

#[test]
fn utf16_files_with_a_bom_read_whatever_the_declared_encoding() {
    let dir = tempfile::tempdir().unwrap();
    let text = "id,when,name,type\r\n1,2024-01-01 10:00,\"Peña, José\",\r\n";
    let mut bytes = vec![0xFF, 0xFE];
    for u in text.encode_utf16() {
        bytes.extend_from_slice(&u.to_le_bytes());
    }
    write(dir.path(), "calls.csv", &bytes);
    let cfg = load(dir.path(), SIMPLE).unwrap();
    preflight(&cfg).unwrap();
    let (out, rep) = run(&cfg.sources[0]);
    let ok = accepted(&out);
    assert_eq!(ok.len(), 1);
    assert_eq!(
        ok[0].identity.as_ref().unwrap().last.as_deref(),
        Some("PEÑA")
    );
    assert_eq!(rep.files[0].bytes, bytes.len() as u64);
}

#[test]
fn content_hashes_follow_the_bytes() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "calls.csv",
        b"id,when,name,type\n1,2024-01-01 10:00,A,\n1,2024-01-01 10:00,A,\r\n1,2024-01-01 10:00,B,\n",
    );
    let cfg = load(dir.path(), SIMPLE).unwrap();
    let (out, rep) = run(&cfg.sources[0]);
    let h: Vec<[u8; 32]> = out
        .iter()
        .map(|o| match o {
            RowOutcome::Accepted { raw, .. } => raw.content_hash,
            _ => panic!(),
        })
        .collect();
    assert_eq!(h[0], h[1], "identical rows (line ending aside) hash alike");
    assert_ne!(h[0], h[2]);
    assert_eq!(rep.files[0].sha256.len(), 64);
    assert_eq!(rep.files[0].bytes, 85);
}

// ------------------------------------------------------------------------------------------
// The documented example mapping, against tiny fixtures of every format.

fn example_fixtures(dir: &Path) {
    let example = include_str!("../examples/sources.example.toml");
    write(dir, "sources.toml", example.as_bytes());
    // DECC: Windows-1252 CSV.
    write(
        dir,
        "decc/calls_2024.csv",
        b"CallNo,CallReceived,CallClosed,CallerName,CallerPhone,IncidentAddress,City,Nature,Disposition\r\n\
C1,03/05/2024 14:30:00,03/05/2024 14:50:00,\"PE\xD1A, JOS\xC9 L\",(919) 555-0101,123 Main Street Apt 4,Durham,MENTAL SUBJECT,ADVISED\r\n\
C2,03/05/2024 15:00:00,,,,Main St / 5th St,Durham,OVERDOSE,TRANSPORTED\r\n",
    );
    // DPD: pipe-delimited.
    write(
        dir,
        "dpd/incidents.txt",
        b"IncidentNo|PersonSeq|ReportDate|ReportTime|Type|Involvement|FirstName|MiddleName|LastName|Suffix|DOB|Sex|Race|StreetNo|StreetName|StreetType|Zip|IncidentLocation|Offense\n\
P1|1|20240305|0930|ARR|A|John|Allen|Smith|Jr.|1980-02-29|1|W|12|North Elm|Street|27701|100 BLK Elm St|TRESPASS\n\
P1|2|20240305|0930|INC|V|Mary||Jones||1975|2|B|||||100 BLK Elm St|TRESPASS\n",
    );
    // DFD: JSON lines.
    write(
        dir,
        "dfd/runs_2024.jsonl",
        br#"{"run_id": "R1", "dispatched_at": 1709649000, "patient_name": "John A. Smith Jr.", "patient_dob": "02/29/1980", "patient_id": 77, "disposition_code": "TX", "bh_flag": "Y", "sud_flag": "suspected", "address": "HOMELESS", "zip": "27701", "primary_impression": "Behavioral", "units": ["M1", "E3"], "cad_no": " c1 "}
{"run_id": "R2", "dispatched_at": 1709650000, "patient_name": "Unknown", "disposition_code": "REFUSED", "address": "Urban Ministries of Durham"}
"#,
    );
    // DCSD: a workbook with a date cell and a text date.
    {
        use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        ws.set_name("Bookings").unwrap();
        let cols = [
            "BookingNo",
            "BookedAt",
            "ReleasedAt",
            "InmateName",
            "AKA",
            "DOB",
            "Sex",
            "SSN",
            "InmateID",
            "HomeAddress",
            "Homeless",
            "TopCharge",
        ];
        for (i, c) in cols.iter().enumerate() {
            ws.write_string(0, i as u16, *c).unwrap();
        }
        let f = Format::new().set_num_format("mm/dd/yyyy hh:mm");
        let booked = ExcelDateTime::parse_from_str("2024-03-05 23:15:00").unwrap();
        ws.write_number(1, 0, 240001.0).unwrap();
        ws.write_datetime_with_format(1, 1, &booked, &f).unwrap();
        ws.write_string(1, 2, "03/07/2024 08:00").unwrap();
        ws.write_string(1, 3, "SMITH JR, JOHN ALLEN").unwrap();
        ws.write_string(1, 4, "JOHNNY SMITH|J. A. SMITH").unwrap();
        ws.write_string(1, 5, "1980-02-29").unwrap();
        ws.write_string(1, 6, "M").unwrap();
        ws.write_string(1, 7, "123-45-6789").unwrap();
        ws.write_number(1, 8, 5551.0).unwrap();
        ws.write_string(1, 9, "Homeless").unwrap();
        ws.write_string(1, 10, "Y").unwrap();
        ws.write_string(1, 11, "TRESPASS").unwrap();
        wb.save(dir.join("dcsd/bookings.xlsx")).unwrap_or_else(|_| {
            std::fs::create_dir_all(dir.join("dcsd")).unwrap();
            wb.save(dir.join("dcsd/bookings.xlsx")).unwrap()
        });
    }
    // HEART: UTF-8 CSV with a BOM.
    write(
        dir,
        "heart/responses.csv",
        "\u{feff}ResponseID,Arrived,Client,Location,Reason,Outcome\n\
H1,2024-03-05T22:10:00-05:00,Dana R.,Main St & 5th St,Welfare check,Shelter referral\n"
            .as_bytes(),
    );
    write(
        dir,
        "recovery/visits.csv",
        b"VisitID,VisitDate,First,Last,BirthYear\nV1,2024-03-06,John,Smith,1980\n",
    );
}

#[test]
fn the_example_mapping_validates_and_reads_every_format() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("dcsd")).unwrap();
    example_fixtures(dir.path());
    let cfg = load_config(&dir.path().join("sources.toml")).unwrap();
    assert_eq!(cfg.sources.len(), 6);
    assert!(cfg.agencies.iter().any(|a| a.code == "RECOVERY"));
    preflight(&cfg).unwrap();

    let mut all = std::collections::BTreeMap::new();
    for plan in &cfg.sources {
        let (out, rep) = run(plan);
        assert_eq!(rep.rejected(), 0, "{}: {:?}", plan.name(), rejections(&out));
        all.insert(plan.name().to_string(), out);
    }
    let get = |s: &str| accepted(&all[s]).into_iter().cloned().collect::<Vec<_>>();

    let decc = get("decc_cad");
    assert_eq!(decc.len(), 2);
    assert_eq!(decc[0].incident_ref.as_deref(), Some("C1"));
    let id = decc[0].identity.as_ref().unwrap();
    assert_eq!(
        (
            id.first.as_deref(),
            id.middle.as_deref(),
            id.last.as_deref()
        ),
        (Some("JOSÉ"), Some("L"), Some("PEÑA"))
    );
    assert_eq!(id.phone.as_deref(), Some("9195550101"));
    assert_eq!(decc[0].role, Role::Caller);
    assert!(decc[0].needs.mental_health);
    assert_eq!(decc[0].start.to_rfc3339(), "2024-03-05T19:30:00+00:00");
    assert_eq!(
        decc[0].end.unwrap().to_rfc3339(),
        "2024-03-05T19:50:00+00:00"
    );
    let loc = decc[0].location.as_ref().unwrap();
    assert_eq!(
        (loc.key.as_str(), loc.city.as_deref()),
        ("123 MAIN", Some("DURHAM"))
    );
    assert!(decc[1].needs.substance_use && decc[1].identity.is_none());
    assert_eq!(
        decc[1].location.as_ref().unwrap().kind,
        AddressKind::Intersection
    );

    let dpd = get("dpd_incidents");
    assert_eq!(dpd[0].record_key, "P1|1");
    assert_eq!(dpd[0].event_key, "P1");
    assert_eq!(
        (dpd[0].kind, dpd[0].role),
        (InteractionKind::Arrest, Role::Arrestee)
    );
    assert_eq!(
        (dpd[1].kind, dpd[1].role),
        (InteractionKind::PoliceIncident, Role::Victim)
    );
    assert_eq!(dpd[0].start.to_rfc3339(), "2024-03-05T14:30:00+00:00");
    let id = dpd[0].identity.as_ref().unwrap();
    assert_eq!(id.suffix.as_deref(), Some("JR"));
    assert_eq!(id.sex.as_deref(), Some("M"));
    assert_eq!(id.address.as_ref().unwrap().key, "12 N ELM");
    assert_eq!(
        dpd[1].identity.as_ref().unwrap().dob.unwrap().to_string(),
        "1975"
    );
    assert_eq!(dpd[1].identity.as_ref().unwrap().address, None);

    let dfd = get("dfd_ems");
    assert_eq!(dfd[0].transported, Some(true));
    assert!(dfd[0].needs.mental_health && dfd[0].needs.substance_use);
    assert_eq!(dfd[0].units.as_deref(), Some("[\"M1\",\"E3\"]"));
    // the 911 call it came from, trimmed and upper-cased like the call's own number
    assert_eq!(dfd[0].incident_ref.as_deref(), Some("C1"));
    assert_eq!(dfd[1].incident_ref, None);
    assert_eq!(
        dfd[0].location.as_ref().unwrap().kind,
        AddressKind::Homeless
    );
    assert_eq!(
        dfd[0]
            .identity
            .as_ref()
            .unwrap()
            .agency_person_id
            .as_deref(),
        Some("77")
    );
    assert_eq!(dfd[1].transported, Some(false));
    assert!(dfd[1].identity.is_none());
    assert_eq!(dfd[1].location.as_ref().unwrap().kind, AddressKind::Shelter);

    let dcsd = get("dcsd_bookings");
    assert_eq!(dcsd[0].record_key, "240001");
    assert_eq!(dcsd[0].start.to_rfc3339(), "2024-03-06T04:15:00+00:00");
    assert_eq!(dcsd[0].local_date.to_string(), "2024-03-05");
    assert_eq!(
        dcsd[0].end.unwrap().to_rfc3339(),
        "2024-03-07T13:00:00+00:00"
    );
    let id = dcsd[0].identity.as_ref().unwrap();
    assert_eq!(id.aliases, vec!["JOHNNY SMITH", "J A SMITH"]);
    assert_eq!(id.ssn_last4.as_deref(), Some("6789"));
    assert_eq!(id.agency_person_id.as_deref(), Some("5551"));
    assert!(dcsd[0].needs.housing_instability);

    let heart = get("heart_responses");
    let id = heart[0].identity.as_ref().unwrap();
    assert_eq!(
        (id.first.as_deref(), id.last.as_deref()),
        (Some("DANA"), Some("R"))
    );
    assert!(heart[0].needs.housing_instability);
    assert_eq!(heart[0].location.as_ref().unwrap().key, "5TH & MAIN");

    let rec = get("recovery_visits");
    assert!(rec[0].part2 && rec[0].needs.substance_use);
    assert_eq!(rec[0].agency, "RECOVERY");
}

// ------------------------------------------------------------------------------------------
// Parquet.

#[test]
fn parquet_exports_read_typed_and_text_columns_and_reject_bad_rows() {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Date32Array, Int64Array, RecordBatch, StringArray};
    use arrow_array::{Float64Array, TimestampMicrosecondArray};

    let dir = tempfile::tempdir().unwrap();
    // a text time stamp (the second row's is unreadable), a typed local timestamp, a date of
    // birth as a typed date and a phone stored as a double
    let cols: Vec<(&str, ArrayRef)> = vec![
        (
            "IncidentNo",
            Arc::new(Int64Array::from(vec![101, 102, 103])),
        ),
        (
            "Reported",
            Arc::new(StringArray::from(vec![
                Some("03/05/2024 14:30"),
                Some("03/45/2024 14:31"),
                Some("03/05/2024 14:32"),
            ])),
        ),
        (
            "Cleared",
            Arc::new(TimestampMicrosecondArray::from(vec![
                Some(1_709_650_800_000_000),
                None,
                None,
            ])),
        ),
        (
            "Subject",
            Arc::new(StringArray::from(vec![
                Some("SMITH, JOHN A"),
                Some("DOE, JANE"),
                Some("UNKNOWN"),
            ])),
        ),
        (
            "DOB",
            Arc::new(Date32Array::from(vec![Some(3_000), None, None])),
        ),
        (
            "Phone",
            Arc::new(Float64Array::from(vec![Some(9195550142.0), None, None])),
        ),
    ];
    let batch = RecordBatch::try_from_iter(cols).unwrap();
    std::fs::create_dir_all(dir.path().join("dpd")).unwrap();
    let f = std::fs::File::create(dir.path().join("dpd/incidents.parquet")).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(f, batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();

    let cfg = load(
        dir.path(),
        r#"
[[source]]
name = "dpd_rms"
agency = "DPD"
files = "dpd/*.parquet"
format = "parquet"
timezone = "America/New_York"
record_key = ["IncidentNo"]
kind = "police_incident"

[source.fields]
start = { column = "Reported", format = "%m/%d/%Y %H:%M" }
end = { column = "Cleared", format = "%m/%d/%Y %H:%M" }
name = { column = "Subject", layout = "last_comma_first_middle" }
dob = { column = "DOB", format = "%m/%d/%Y" }
phone = "Phone"
"#,
    )
    .unwrap();
    preflight(&cfg).unwrap();
    let (out, rep) = run(&cfg.sources[0]);
    assert_eq!(
        rejections(&out),
        vec![(2, RejectKind::BadDate, Some("Reported".into()))]
    );
    assert_eq!((rep.rows(), rep.accepted(), rep.rejected()), (3, 2, 1));
    let ok = accepted(&out);
    assert_eq!(ok[0].record_key, "101");
    // 14:30 local in New York is 19:30 UTC; so is a zone-less typed timestamp's 15:00 (20:00),
    // read whatever the field's format list says
    assert_eq!(ok[0].start.to_rfc3339(), "2024-03-05T19:30:00+00:00");
    assert_eq!(ok[0].end.unwrap().to_rfc3339(), "2024-03-05T20:00:00+00:00");
    let id = ok[0].identity.as_ref().unwrap();
    assert_eq!(id.last.as_deref(), Some("SMITH"));
    assert_eq!(
        id.dob.as_ref().map(|d| d.to_string()).as_deref(),
        Some("1978-03-20")
    );
    assert_eq!(id.phone.as_deref(), Some("9195550142"));
    assert!(ok[1].identity.is_none(), "UNKNOWN names nobody");
    // the rejected row is kept as its values joined as one CSV record
    let RowOutcome::Rejected(r) = &out[1] else {
        panic!()
    };
    assert_eq!(r.raw, b"102,03/45/2024 14:31,,\"DOE, JANE\",,");
    let msg = r.to_string();
    assert!(msg.contains("incidents.parquet: row 2: bad_date"), "{msg}");

    // a file that is not Parquet stops the run before anything is read, naming the file
    write(
        dir.path(),
        "dpd/notes.parquet",
        b"IncidentNo,Reported\n1,2\n",
    );
    let toml = std::fs::read_to_string(dir.path().join("sources.toml")).unwrap();
    let cfg = load(dir.path(), &toml).unwrap();
    let msg = preflight(&cfg).unwrap_err().to_string();
    assert!(msg.contains("notes.parquet"), "{msg}");
    assert!(msg.contains("not a readable Parquet file"), "{msg}");
}

// ------------------------------------------------------------------------------------------
// Report-style exports: a title above the header, or no header at all.

#[test]
fn header_row_and_columns_onboard_report_exports() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "calls.csv",
        b"CAD CALLS FOR SERVICE\nPrinted 07/01/2025\nid,when,name,type\n1,2024-01-01 10:00,\"SMITH, JOHN\",\n2,2024-13-01 10:00,\"DOE, JANE\",\n",
    );
    // without header_row the title is taken for the header, and preflight names the columns
    // it found
    let cfg = load(dir.path(), SIMPLE).unwrap();
    let msg = preflight(&cfg).unwrap_err().to_string();
    assert!(msg.contains("CAD CALLS FOR SERVICE"), "{msg}");
    assert!(
        msg.contains("the header looks to be on line 3, below a title: set header_row = 3"),
        "{msg}"
    );
    let with_row = SIMPLE.replace("kind = \"call_911\"", "kind = \"call_911\"\nheader_row = 3");
    let cfg = load(dir.path(), &with_row).unwrap();
    preflight(&cfg).unwrap();
    let (out, rep) = run(&cfg.sources[0]);
    assert_eq!(
        rejections(&out),
        vec![(5, RejectKind::BadDate, Some("when".into()))]
    );
    assert_eq!((rep.rows(), rep.accepted(), rep.rejected()), (2, 1, 1));
    assert_eq!(accepted(&out)[0].record_key, "1");

    // the same rows with no header line, named in the mapping
    write(
        dir.path(),
        "calls.csv",
        b"1,2024-01-01 10:00,\"SMITH, JOHN\",\n2,2024-01-02 10:00,\"ROE, JANE\",\n",
    );
    let named = SIMPLE.replace(
        "kind = \"call_911\"",
        "kind = \"call_911\"\ncolumns = [\"id\", \"when\", \"name\", \"type\"]",
    );
    let cfg = load(dir.path(), &named).unwrap();
    preflight(&cfg).unwrap();
    let (out, rep) = run(&cfg.sources[0]);
    assert_eq!((rep.rows(), rep.accepted()), (2, 2));
    let ok = accepted(&out);
    assert_eq!(
        ok[1].identity.as_ref().unwrap().last.as_deref(),
        Some("ROE")
    );

    // misuse is named before anything is read
    let bad = SIMPLE.replace(
        "kind = \"call_911\"",
        "kind = \"call_911\"\nheader_row = 0\ncolumns = [\"id\", \"when\", \"ID\", \" \"]",
    );
    let ConfigError::Invalid { problems, .. } = load(dir.path(), &bad).unwrap_err() else {
        panic!()
    };
    let all = problems.join("\n");
    for want in [
        "header_row is 1-based",
        "header_row and columns exclude each other",
        "columns: \"ID\" is named twice",
        "columns: name 4 is blank",
    ] {
        assert!(all.contains(want), "{want:?} missing from:\n{all}");
    }
    let jsonl = SIMPLE
        .replace("format = \"csv\"", "format = \"jsonl\"")
        .replace("kind = \"call_911\"", "kind = \"call_911\"\nheader_row = 2");
    let ConfigError::Invalid { problems, .. } = load(dir.path(), &jsonl).unwrap_err() else {
        panic!()
    };
    assert!(
        problems
            .join("\n")
            .contains("header_row applies only to format = \"csv\", \"xlsx\" or \"fixed\""),
        "{problems:?}"
    );
}

#[test]
fn json_array_exports_are_read_element_by_element() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "calls.json",
        b"[\n  {\"id\": \"1\", \"when\": \"2024-01-01 10:00\", \"name\": \"SMITH, JOHN\", \"type\": null},\n  {\"id\": \"2\", \"when\": \"yesterday\", \"name\": \"ROE, JANE\"},\n  {\"id\": \"3\", \"when\": \"2024-01-01 11:00\",\n   \"name\": \"POE, EDGAR\"}\n]\n",
    );
    let cfg = load(
        dir.path(),
        &SIMPLE
            .replace("calls.csv", "calls.json")
            .replace("format = \"csv\"", "format = \"json\""),
    )
    .unwrap();
    preflight(&cfg).unwrap();
    let (out, rep) = run(&cfg.sources[0]);
    assert_eq!(
        rejections(&out),
        vec![(3, RejectKind::BadDate, Some("when".into()))]
    );
    assert_eq!((rep.rows(), rep.accepted(), rep.rejected()), (3, 2, 1));
    let ok = accepted(&out);
    assert_eq!(ok[1].record_key, "3");
    assert_eq!(
        ok[1].identity.as_ref().unwrap().last.as_deref(),
        Some("POE")
    );
    // JSON lines declared as an array are refused at preflight, with the way out
    write(
        dir.path(),
        "calls.json",
        b"{\"id\": \"1\"}\n{\"id\": \"2\"}\n",
    );
    let msg = preflight(&cfg).unwrap_err().to_string();
    assert!(msg.contains("use format = \"jsonl\""), "{msg}");
}

#[test]
fn fixed_width_extracts_are_cut_by_the_mapping() {
    let dir = tempfile::tempdir().unwrap();
    // a jail system's extract: a printed header line, then booking number (6), name (20),
    // booked (12, YYYYMMDDhhmm), filler (2), date of birth (8)
    write(
        dir.path(),
        "dcsd/book.txt",
        b"BOOKNO NAME                BOOKED      --DOB\n\
B00001SMITH, JOHN A       2024030514300019800101\n\
B00002ROE, JANE           2024031309xx00\n\
B00003POE, EDGAR          202403141200  19490119 LATE NOTE\n\
B00004DOE, RICK           202403151200\n",
    );
    let toml = r#"
[[source]]
name = "dcsd_jms"
agency = "DCSD"
files = "dcsd/book.txt"
format = "fixed"
encoding = "windows-1252"
header_row = 1
columns = ["BookNo", "Name", "Booked", "_filler", "DOB"]
widths = [6, 20, 12, 2, 8]
record_key = ["BookNo"]
kind = "jail_booking"
role = "arrestee"

[source.fields]
start = { column = "Booked", format = "%Y%m%d%H%M" }
name = { column = "Name", layout = "last_comma_first_middle" }
dob = { column = "DOB", format = "%Y%m%d" }
"#;
    let cfg = load(dir.path(), toml).unwrap();
    preflight(&cfg).unwrap();
    let (out, rep) = run(&cfg.sources[0]);
    assert_eq!(
        rejections(&out),
        vec![
            (3, RejectKind::BadDate, Some("Booked".into())),
            (4, RejectKind::FieldCount, None),
        ]
    );
    assert_eq!((rep.rows(), rep.accepted(), rep.rejected()), (4, 2, 2));
    let ok = accepted(&out);
    assert_eq!(ok[0].record_key, "B00001");
    let id = ok[0].identity.as_ref().unwrap();
    assert_eq!(
        (id.first.as_deref(), id.last.as_deref()),
        (Some("JOHN"), Some("SMITH"))
    );
    assert_eq!(
        id.dob.as_ref().map(|d| d.to_string()).as_deref(),
        Some("1980-01-01")
    );
    // a line cut short has no date of birth
    assert!(ok[1].identity.as_ref().unwrap().dob.is_none());

    // a layout that does not add up is named before anything is read
    let bad = toml.replace("widths = [6, 20, 12, 2, 8]", "widths = [6, 20, 12, 0]");
    let ConfigError::Invalid { problems, .. } = load(dir.path(), &bad).unwrap_err() else {
        panic!()
    };
    assert!(
        problems
            .join("\n")
            .contains("columns names 5 columns but widths gives 4 widths"),
        "{problems:?}"
    );
    let bad = toml.replace("widths = [6, 20, 12, 2, 8]\n", "");
    let ConfigError::Invalid { problems, .. } = load(dir.path(), &bad).unwrap_err() else {
        panic!()
    };
    assert!(
        problems
            .join("\n")
            .contains("needs columns (the names) and widths"),
        "{problems:?}"
    );
}

#[test]
fn encodings_are_refused_where_they_cannot_apply() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "calls.csv", b"id,when,name,type\n");
    for (format, encoding, want) in [
        (
            "xlsx",
            "windows-1252",
            "encoding applies only to text formats",
        ),
        ("parquet", "utf-8", "encoding applies only to text formats"),
        ("json", "shift_jis", "is not read for format = \"json\""),
        (
            "csv\"\ndelimiter = \"|",
            "big5",
            "can be part of a character in Big5",
        ),
    ] {
        let toml = SIMPLE.replace(
            "format = \"csv\"",
            &format!("format = \"{format}\"\nencoding = \"{encoding}\""),
        );
        let ConfigError::Invalid { problems, .. } = load(dir.path(), &toml).unwrap_err() else {
            panic!("{format}")
        };
        assert!(problems.join("\n").contains(want), "{format}: {problems:?}");
    }
    // a single-byte legacy encoding is fine for a JSON array
    let toml = SIMPLE.replace(
        "format = \"csv\"",
        "format = \"json\"\nencoding = \"windows-1252\"",
    );
    assert!(load(dir.path(), &toml).is_ok());
}
