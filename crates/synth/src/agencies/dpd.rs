//! DPD — the police records system's person export: one pipe-delimited, windows-1252 file with
//! CRLF line ends; one row per person per incident or arrest, separate name fields, a role
//! column, a record-type column (incident / arrest), `MM/DD/YYYY HH:MM` local times.

use chrono::Datelike;
use rand::Rng;
use std::fmt::Write as _;
use std::io;

use familiar_model::mapping::{CodeRule, FieldSpec, Fields, FileFormat, SourceDef};

use super::{homeless_word, is_unhoused, rel, rng_for, Ctx, RecordMap, SourceOut};
use crate::badrows::{BadKind, BadRow};
use crate::codes::{self, pick};
use crate::geo::AddrStyle;
use crate::noise::{self, stable_id, PhoneStyle};
use crate::population::Home;
use crate::sim::{Ag, PRole, Sub};
use crate::writers::csv::{Corrupt, CsvWriter, Enc};

pub const SOURCE: &str = "dpd_rms";
const DIR: &str = "dpd";
const FILE: &str = "rms_persons_export.txt";
const COLUMNS: [&str; 25] = [
    "RECORD_TYPE",
    "RECORD_NO",
    "PERSON_SEQ",
    "REPORT_DATE",
    "OFFENSE",
    "LOCATION",
    "BEAT",
    "CAD_NO",
    "RELATED_NO",
    "ROLE",
    "LAST_NAME",
    "FIRST_NAME",
    "MIDDLE_NAME",
    "SUFFIX",
    "DOB",
    "RACE",
    "SEX",
    "ETHNICITY",
    "HOME_ADDRESS",
    "HOME_CITY",
    "HOME_ZIP",
    "PHONE",
    "MNI",
    "HOMELESS",
    "DISPOSITION",
];
const C_TYPE: usize = 0;
const C_NO: usize = 1;
const C_SEQ: usize = 2;
const C_DATE: usize = 3;
const C_LAST: usize = 10;

pub fn record_no(sub: Sub, year: i32, seq: u32) -> String {
    let p = if sub == Sub::Arrest { 'A' } else { 'I' };
    format!("{p}{:02}-{seq:06}", year % 100)
}

fn role_code(r: PRole) -> &'static str {
    match r {
        PRole::Suspect => "SUSPECT",
        PRole::Subject => "SUBJECT",
        PRole::Victim => "VICTIM",
        PRole::Complainant => "COMPLAINANT",
        PRole::ReportingParty => "REPORTING PARTY",
        PRole::Witness => "WITNESS",
        PRole::Arrestee => "ARRESTEE",
        _ => "INVOLVED",
    }
}

pub fn source_def() -> SourceDef {
    SourceDef {
        parties: Vec::new(),
        name: SOURCE.into(),
        agency: "DPD".into(),
        files: format!("{DIR}/{FILE}"),
        format: FileFormat::Csv,
        delimiter: Some("|".into()),
        encoding: Some("windows-1252".into()),
        sheet: None,
        header_row: None,
        columns: None,
        widths: None,
        timezone: None,
        record_key: vec!["RECORD_NO".into(), "PERSON_SEQ".into()],
        event_key: Some(vec!["RECORD_NO".into()]),
        kind: "police_incident".into(),
        role: Some("subject".into()),
        part2: false,
        fields: Fields {
            start: FieldSpec::column("REPORT_DATE")
                .with_formats(&["%m/%d/%Y %H:%M"])
                .required(),
            location: Some(FieldSpec::column("LOCATION")),
            call_type: Some(FieldSpec::column("OFFENSE")),
            disposition: Some(FieldSpec::column("DISPOSITION")),
            incident_ref: Some(FieldSpec::column("CAD_NO")),
            kind: Some(
                FieldSpec::column("RECORD_TYPE")
                    .with_map(&[("INC", "police_incident"), ("ARR", "arrest")]),
            ),
            role: Some(FieldSpec::column("ROLE").with_map(&[
                ("SUSPECT", "subject"),
                ("SUBJECT", "subject"),
                ("VICTIM", "victim"),
                ("COMPLAINANT", "complainant"),
                ("REPORTING PARTY", "complainant"),
                ("WITNESS", "witness"),
                ("ARRESTEE", "arrestee"),
                ("INVOLVED", "other"),
            ])),
            housing_instability: Some(FieldSpec::column("HOMELESS").with_truthy(&["Y"])),
            first_name: Some(FieldSpec::column("FIRST_NAME")),
            middle_name: Some(FieldSpec::column("MIDDLE_NAME")),
            last_name: Some(FieldSpec::column("LAST_NAME")),
            suffix: Some(FieldSpec::column("SUFFIX")),
            dob: Some(FieldSpec::column("DOB").with_formats(&["%m/%d/%Y"])),
            sex: Some(FieldSpec::column("SEX")),
            race: Some(FieldSpec::column("RACE")),
            ethnicity: Some(FieldSpec::column("ETHNICITY")),
            phone: Some(FieldSpec::column("PHONE")),
            address: Some(FieldSpec::column("HOME_ADDRESS")),
            address_city: Some(FieldSpec::column("HOME_CITY")),
            address_zip: Some(FieldSpec::column("HOME_ZIP")),
            agency_person_id: Some(FieldSpec::column("MNI")),
            ..Default::default()
        },
        codes: vec![
            CodeRule {
                field: "call_type".into(),
                values: vec!["MENTAL*".into()],
                kind: None,
                flags: vec!["mental_health".into()],
            },
            CodeRule {
                field: "call_type".into(),
                values: vec![
                    "INTOXICATED*".into(),
                    "DRUG*".into(),
                    "OVERDOSE*".into(),
                    "DWI".into(),
                ],
                kind: None,
                flags: vec!["substance_use".into()],
            },
            CodeRule {
                field: "call_type".into(),
                values: vec!["PANHANDLING".into()],
                kind: None,
                flags: vec!["housing_instability".into()],
            },
        ],
    }
}

pub fn write(ctx: &Ctx, map: &mut RecordMap) -> io::Result<SourceOut> {
    let county = ctx.county;
    let plan = &ctx.plans[Ag::Dpd.idx()];
    let dir = ctx.create_dir(DIR)?;
    let mut rng = rng_for(ctx.seed, 200 + Ag::Dpd.idx() as u64);
    let file = rel(DIR, FILE);
    let mut w = CsvWriter::create(&dir.join(FILE), b'|', Enc::Windows1252, true, &COLUMNS)?;
    let mut bad = Vec::new();
    let mut f: Vec<String> = vec![String::new(); COLUMNS.len()];
    for (k, &eid) in plan.order.iter().enumerate() {
        let e = &county.events[eid as usize];
        let year = e.t.year();
        let no = record_no(e.sub, year, plan.seq[k]);
        let related = if e.sub == Sub::Arrest {
            let inc = &county.events[e.link as usize];
            record_no(inc.sub, inc.t.year(), ctx.seq_of(e.link))
        } else {
            String::new()
        };
        let cad = if e.sub == Sub::Incident {
            ctx.cad_no(e.link)
        } else {
            String::new()
        };
        let mut loc = String::new();
        county
            .geo
            .write_loc(&mut loc, e.loc, AddrStyle::Upper, &mut rng);
        let beat = format!("{}{}", rng.gen_range(1..6), rng.gen_range(10..40));
        let disp = if e.sub == Sub::Arrest {
            "CUSTODIAL ARREST"
        } else {
            pick(&mut rng, codes::DPD_DISPOSITIONS)
        };
        for (n, party) in e.parties().iter().enumerate() {
            for s in f.iter_mut() {
                s.clear();
            }
            let p = ctx.person(party.person);
            f[C_TYPE].push_str(if e.sub == Sub::Arrest { "ARR" } else { "INC" });
            f[C_NO].push_str(&no);
            let _ = write!(f[C_SEQ], "{}", n + 1);
            let _ = write!(f[C_DATE], "{}", e.t.format("%m/%d/%Y %H:%M"));
            f[4].push_str(e.code);
            f[5].push_str(&loc);
            f[6].push_str(&beat);
            f[7].push_str(&cad);
            f[8].push_str(&related);
            f[9].push_str(role_code(party.role));
            let nv = noise::name_view(p, &noise::DPD, e.t.date(), &mut rng).upper();
            f[C_LAST].push_str(&nv.last);
            f[11].push_str(&nv.first);
            f[12].push_str(&nv.middle);
            f[13].push_str(nv.suffix);
            if let Some(d) = noise::dob_view(p, &noise::DPD, e.t.date(), &mut rng) {
                let _ = write!(f[14], "{}", d.format("%m/%d/%Y"));
            }
            f[15].push_str(p.race.code());
            f[16].push_str(p.sex.code());
            f[17].push_str(if rng.gen_bool(0.05) {
                "U"
            } else if p.hispanic {
                "H"
            } else {
                "N"
            });
            let unhoused = is_unhoused(p, county);
            if rng.gen_bool(0.92) {
                match p.home {
                    Home::At(l) if !(unhoused && rng.gen_bool(0.3)) => {
                        county
                            .geo
                            .write_loc(&mut f[18], l, AddrStyle::Upper, &mut rng);
                        f[19].push_str("DURHAM");
                        f[20].push_str(county.geo.zip(l));
                    }
                    _ => f[18].push_str(homeless_word(party.person ^ eid)),
                }
            }
            if let Some(ph) = p.phone {
                if rng.gen_bool(0.5) {
                    let style = if rng.gen_bool(0.5) {
                        PhoneStyle::Dashes
                    } else {
                        PhoneStyle::Paren
                    };
                    f[21].push_str(&noise::phone(ph, style));
                }
            }
            let mni = if rng.gen_bool(0.08) {
                10_000_000 + u64::from(eid) * 3 + n as u64
            } else {
                stable_id(party.person, 17)
            };
            let _ = write!(f[22], "M{mni}");
            f[23].push_str(if unhoused && rng.gen_bool(0.9) {
                "Y"
            } else {
                "N"
            });
            f[24].push_str(disp);
            w.row(&f)?;
            map.add(SOURCE, &format!("{no}|{}", n + 1), party.person)?;
        }

        if let Some((kind, seq)) = plan.bad[k] {
            let line = match kind {
                BadKind::Duplicate => w.duplicate()?,
                _ => {
                    f[C_NO].clear();
                    f[C_NO].push_str(&record_no(e.sub, year, seq));
                    f[C_SEQ].clear();
                    f[C_SEQ].push('1');
                    match kind {
                        BadKind::BadDate => {
                            f[C_DATE] = match rng.gen_range(0..4) {
                                0 => format!("13/45/{year} 10:15"),
                                1 => format!("02/30/{year} 08:00"),
                                2 => "N/A".into(),
                                _ => "99/99/9999 99:99".into(),
                            };
                            w.row(&f)?
                        }
                        BadKind::MissingRequired => {
                            if rng.gen_bool(0.5) {
                                f[C_DATE].clear();
                            } else {
                                f[C_NO].clear();
                                f[C_SEQ].clear();
                            }
                            w.row(&f)?
                        }
                        BadKind::UnbalancedQuote => {
                            w.row_corrupt(&f, Corrupt::OpenQuote(C_LAST))?
                        }
                        _ => unreachable!("not a windows-1252 CSV kind"),
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
    let rows = w.finish()?;
    Ok(SourceOut {
        def: source_def(),
        files: vec![(file, rows)],
        bad,
    })
}
