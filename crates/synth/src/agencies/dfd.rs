//! DFD — fire / EMS runs: one CSV per year, UTF-8; `YYYYMMDD` date plus a separate `HHMM` time,
//! NFIRS incident-type codes (EMS vs fire), the patient as upper-case "LAST FIRST MIDDLE",
//! primary impression, transported Y/N.

use chrono::Datelike;
use rand::Rng;
use std::fmt::Write as _;
use std::io;

use familiar_model::mapping::{CodeRule, FieldSpec, Fields, FileFormat, NameLayout, SourceDef};

use super::{homeless_word, rel, rng_for, Ctx, RecordMap, SourceOut};
use crate::badrows::{BadKind, BadRow};
use crate::codes::{self, pick};
use crate::geo::AddrStyle;
use crate::noise::{self, PhoneStyle};
use crate::population::{Home, Sex};
use crate::sim::{Ag, Sub};
use crate::writers::csv::{Corrupt, CsvWriter, Enc};

pub const SOURCE: &str = "dfd_runs";
const DIR: &str = "dfd";
const COLUMNS: [&str; 17] = [
    "IncidentNumber",
    "IncidentDate",
    "AlarmTime",
    "IncidentType",
    "Station",
    "Unit",
    "IncidentAddress",
    "PatientName",
    "PatientDOB",
    "Gender",
    "PatientAddress",
    "PatientPhone",
    "SSN4",
    "PrimaryImpression",
    "Transported",
    "Disposition",
    "CADNumber",
];
const C_KEY: usize = 0;
const C_DATE: usize = 1;
const C_ADDR: usize = 6;
const C_NAME: usize = 7;

/// NFIRS incident types written, and the kinds they map to.
const NFIRS: [(&str, &str); 8] = [
    ("321", "ems_run"),
    ("322", "ems_run"),
    ("111", "fire_incident"),
    ("131", "fire_incident"),
    ("142", "fire_incident"),
    ("151", "fire_incident"),
    ("743", "fire_incident"),
    ("745", "fire_incident"),
];

pub fn incident_no(year: i32, seq: u32) -> String {
    format!("F{:02}-{seq:06}", year % 100)
}

pub fn source_def() -> SourceDef {
    SourceDef {
        parties: Vec::new(),
        name: SOURCE.into(),
        agency: "DFD".into(),
        files: format!("{DIR}/ems_fire_runs_*.csv"),
        format: FileFormat::Csv,
        delimiter: Some(",".into()),
        encoding: Some("utf-8".into()),
        sheet: None,
        header_row: None,
        columns: None,
        widths: None,
        timezone: None,
        record_key: vec!["IncidentNumber".into()],
        event_key: None,
        kind: "ems_run".into(),
        role: Some("patient".into()),
        part2: false,
        fields: Fields {
            start: FieldSpec::column("IncidentDate")
                .with_formats(&["%Y%m%d"])
                .required(),
            start_time: Some(FieldSpec::column("AlarmTime").with_formats(&["%H%M"])),
            location: Some(FieldSpec::column("IncidentAddress")),
            call_type: Some(FieldSpec::column("PrimaryImpression")),
            disposition: Some(FieldSpec::column("Disposition")),
            units: Some(FieldSpec::column("Unit")),
            incident_ref: Some(FieldSpec::column("CADNumber")),
            kind: Some(FieldSpec::column("IncidentType").with_map(&NFIRS)),
            transported: Some(FieldSpec::column("Transported").with_truthy(&["Y"])),
            name: Some(FieldSpec::column("PatientName").with_layout(NameLayout::LastFirstMiddle)),
            dob: Some(FieldSpec::column("PatientDOB").with_formats(&["%Y%m%d"])),
            sex: Some(FieldSpec::column("Gender").with_map(&[("Male", "M"), ("Female", "F")])),
            phone: Some(FieldSpec::column("PatientPhone")),
            address: Some(FieldSpec::column("PatientAddress")),
            ssn_last4: Some(FieldSpec::column("SSN4")),
            ..Default::default()
        },
        codes: vec![
            CodeRule {
                field: "call_type".into(),
                values: vec!["Behavioral*".into(), "Suicidal*".into(), "Anxiety".into()],
                kind: None,
                flags: vec!["mental_health".into()],
            },
            CodeRule {
                field: "call_type".into(),
                values: vec!["Alcohol*".into(), "Opioid*".into(), "Drug*".into()],
                kind: None,
                flags: vec!["substance_use".into()],
            },
        ],
    }
}

pub fn write(ctx: &Ctx, map: &mut RecordMap) -> io::Result<SourceOut> {
    let county = ctx.county;
    let plan = &ctx.plans[Ag::Dfd.idx()];
    let dir = ctx.create_dir(DIR)?;
    let mut rng = rng_for(ctx.seed, 200 + Ag::Dfd.idx() as u64);
    let mut files = Vec::new();
    let mut bad = Vec::new();
    let mut cur: Option<(i32, CsvWriter, String)> = None;
    let mut f: Vec<String> = vec![String::new(); COLUMNS.len()];
    for (k, &eid) in plan.order.iter().enumerate() {
        let e = &county.events[eid as usize];
        let year = e.t.year();
        if cur.as_ref().map(|c| c.0) != Some(year) {
            if let Some((_, w, name)) = cur.take() {
                files.push((name, w.finish()?));
            }
            let name = format!("ems_fire_runs_{year}.csv");
            let w = CsvWriter::create(&dir.join(&name), b',', Enc::Utf8, false, &COLUMNS)?;
            cur = Some((year, w, rel(DIR, &name)));
        }
        let (_, w, file) = cur.as_mut().unwrap();
        for s in f.iter_mut() {
            s.clear();
        }
        let key = incident_no(year, plan.seq[k]);
        f[C_KEY].push_str(&key);
        let _ = write!(f[C_DATE], "{}", e.t.format("%Y%m%d"));
        let _ = write!(f[2], "{}", e.t.format("%H%M"));
        let fire = e.sub == Sub::Fire;
        f[3].push_str(if fire {
            e.code
        } else if e.code == "Trauma - MVC" {
            "322"
        } else {
            "321"
        });
        let station = rng.gen_range(1..19);
        let _ = write!(f[4], "Station {station}");
        let _ = write!(f[5], "{}{station}", if fire { "E" } else { "M" });
        county
            .geo
            .write_loc(&mut f[C_ADDR], e.loc, AddrStyle::Upper, &mut rng);
        let party = e.parties().first().copied();
        if e.placeholder > 0 {
            let female = e.placeholder == 2;
            f[C_NAME].push_str(if female { "DOE JANE" } else { "DOE JOHN" });
            f[9].push_str(if female { "Female" } else { "Male" });
        }
        if let Some(party) = party {
            let p = ctx.person(party.person);
            let nv = noise::name_view(p, &noise::DFD, e.t.date(), &mut rng).upper();
            f[C_NAME].push_str(&nv.last_first_middle());
            if let Some(d) = noise::dob_view(p, &noise::DFD, e.t.date(), &mut rng) {
                let _ = write!(f[8], "{}", d.format("%Y%m%d"));
            }
            f[9].push_str(if p.sex == Sex::Female {
                "Female"
            } else {
                "Male"
            });
            if rng.gen_bool(0.85) {
                match p.home {
                    Home::At(l) => county
                        .geo
                        .write_loc(&mut f[10], l, AddrStyle::Upper, &mut rng),
                    Home::Street => f[10].push_str(homeless_word(eid)),
                }
            }
            if let Some(ph) = p.phone {
                if rng.gen_bool(0.6) {
                    let style = if rng.gen_bool(0.5) {
                        PhoneStyle::Paren
                    } else {
                        PhoneStyle::Dots
                    };
                    f[11].push_str(&noise::phone(ph, style));
                }
            }
            if rng.gen_bool(0.3) {
                let _ = write!(f[12], "{:04}", p.ssn4);
            }
        }
        if !fire {
            f[13].push_str(e.code);
        }
        f[14].push_str(if e.transported { "Y" } else { "N" });
        f[15].push_str(if fire {
            pick(
                &mut rng,
                &[
                    ("Alarm Reset", 4.0),
                    ("Fire Control/Extinguished", 2.0),
                    ("No Fire Found", 1.0),
                ],
            )
        } else if party.is_none() && e.placeholder == 0 {
            pick(
                &mut rng,
                &[
                    ("No Patient Found", 2.0),
                    ("Patient Refused", 1.0),
                    ("Cancelled En Route", 1.0),
                ],
            )
        } else if e.transported {
            "Transported by EMS"
        } else {
            pick(&mut rng, codes::DFD_EMS_DISPOSITIONS)
        });
        f[16].push_str(&ctx.cad_no(e.link));
        w.row(&f)?;
        if let Some(party) = party {
            map.add(SOURCE, &key, party.person)?;
        }

        if let Some((kind, seq)) = plan.bad[k] {
            let line = match kind {
                BadKind::Duplicate => w.duplicate()?,
                _ => {
                    f[C_KEY].clear();
                    f[C_KEY].push_str(&incident_no(year, seq));
                    let target = if f[C_NAME].is_empty() { C_ADDR } else { C_NAME };
                    match kind {
                        BadKind::BadDate => {
                            f[C_DATE] = match rng.gen_range(0..4) {
                                0 => format!("{year}0230"),
                                1 => format!("{year}1345"),
                                2 => "N/A".into(),
                                _ => "00000000".into(),
                            };
                            w.row(&f)?
                        }
                        BadKind::MissingRequired => {
                            let c = if rng.gen_bool(0.5) { C_KEY } else { C_DATE };
                            f[c].clear();
                            w.row(&f)?
                        }
                        BadKind::UnbalancedQuote => {
                            w.row_corrupt(&f, Corrupt::OpenQuote(target))?
                        }
                        BadKind::InvalidEncoding => w.row_corrupt(&f, Corrupt::BadByte(target))?,
                        BadKind::InvalidJson | BadKind::Duplicate => unreachable!("handled above"),
                    }
                }
            };
            bad.push(BadRow {
                source: SOURCE.into(),
                file: file.clone(),
                line,
                kind,
            });
        }
    }
    if let Some((_, w, name)) = cur.take() {
        files.push((name, w.finish()?));
    }
    Ok(SourceOut {
        def: source_def(),
        files,
        bad,
    })
}
