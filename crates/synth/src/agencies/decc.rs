//! DECC — the 911 center's CAD call export: one CSV per year, UTF-8, comma-delimited, RFC 3339
//! times with offsets, the caller (when named) as "LAST, FIRST M".

use chrono::Datelike;
use rand::Rng;
use std::fmt::Write as _;
use std::io;

use familiar_model::mapping::{CodeRule, FieldSpec, Fields, FileFormat, NameLayout, SourceDef};

use super::{rel, rng_for, Ctx, RecordMap, SourceOut};
use crate::badrows::{BadKind, BadRow};
use crate::codes::{self, pick};
use crate::geo::AddrStyle;
use crate::noise::{self, PhoneStyle};
use crate::sim::{Ag, NONE};
use crate::timefmt::rfc3339;
use crate::writers::csv::{Corrupt, CsvWriter, Enc};

pub const SOURCE: &str = "decc_cad";
const DIR: &str = "decc";
const COLUMNS: [&str; 11] = [
    "CallNo",
    "Priority",
    "CallType",
    "CallReceived",
    "IncidentAddress",
    "CallerName",
    "CallerPhone",
    "CallerDOB",
    "Disposition",
    "Units",
    "Closed",
];
const C_KEY: usize = 0;
const C_START: usize = 3;
const C_ADDR: usize = 4;
const C_NAME: usize = 5;

pub fn call_no(year: i32, seq: u32) -> String {
    format!("{year}-{seq:08}")
}

pub fn source_def() -> SourceDef {
    SourceDef {
        parties: Vec::new(),
        name: SOURCE.into(),
        agency: "DECC".into(),
        files: format!("{DIR}/cad_calls_*.csv"),
        format: FileFormat::Csv,
        delimiter: None,
        encoding: Some("utf-8".into()),
        sheet: None,
        header_row: None,
        columns: None,
        widths: None,
        timezone: None,
        record_key: vec!["CallNo".into()],
        event_key: None,
        kind: "call_911".into(),
        role: Some("caller".into()),
        part2: false,
        fields: Fields {
            start: FieldSpec::column("CallReceived")
                .with_formats(&["rfc3339"])
                .required(),
            end: Some(FieldSpec::column("Closed").with_formats(&["rfc3339"])),
            location: Some(FieldSpec::column("IncidentAddress")),
            call_type: Some(FieldSpec::column("CallType")),
            disposition: Some(FieldSpec::column("Disposition")),
            units: Some(FieldSpec::column("Units")),
            incident_ref: Some(FieldSpec::column("CallNo")),
            name: Some(
                FieldSpec::column("CallerName").with_layout(NameLayout::LastCommaFirstMiddle),
            ),
            phone: Some(FieldSpec::column("CallerPhone")),
            dob: Some(FieldSpec::column("CallerDOB").with_formats(&["%Y-%m-%d"])),
            ..Default::default()
        },
        codes: vec![
            CodeRule {
                field: "call_type".into(),
                values: vec!["MENTAL*".into(), "SUICID*".into()],
                kind: None,
                flags: vec!["mental_health".into()],
            },
            CodeRule {
                field: "call_type".into(),
                values: vec!["OVERDOSE*".into(), "INTOXICATED*".into()],
                kind: None,
                flags: vec!["substance_use".into()],
            },
            CodeRule {
                field: "call_type".into(),
                values: vec!["PANHANDLING*".into()],
                kind: None,
                flags: vec!["housing_instability".into()],
            },
        ],
    }
}

pub fn write(ctx: &Ctx, map: &mut RecordMap) -> io::Result<SourceOut> {
    let county = ctx.county;
    let plan = &ctx.plans[Ag::Decc.idx()];
    let dir = ctx.create_dir(DIR)?;
    let mut rng = rng_for(ctx.seed, 200 + Ag::Decc.idx() as u64);

    // Which agencies each call dispatched (for the Units column).
    let mut mask = vec![0u8; plan.order.len()];
    for e in county
        .events
        .iter()
        .filter(|e| !e.dead && e.ag != Ag::Decc && e.link != NONE)
    {
        let l = &county.events[e.link as usize];
        if l.ag == Ag::Decc {
            mask[ctx.pos[e.link as usize] as usize] |= 1 << e.ag.idx();
        }
    }

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
            let name = format!("cad_calls_{year}.csv");
            let w = CsvWriter::create(&dir.join(&name), b',', Enc::Utf8, false, &COLUMNS)?;
            cur = Some((year, w, rel(DIR, &name)));
        }
        let (_, w, file) = cur.as_mut().unwrap();
        for s in f.iter_mut() {
            s.clear();
        }
        let key = call_no(year, plan.seq[k]);
        f[C_KEY].push_str(&key);
        let _ = write!(f[1], "{}", codes::priority(e.code));
        f[2].push_str(e.code);
        rfc3339(&mut f[C_START], e.t);
        county
            .geo
            .write_loc(&mut f[C_ADDR], e.loc, AddrStyle::Cad, &mut rng);
        if let Some(party) = e.parties().first() {
            let p = ctx.person(party.person);
            let nv = noise::name_view(p, &noise::DECC, e.t.date(), &mut rng).upper();
            f[C_NAME].push_str(&nv.last_comma_first());
            if let Some(ph) = p.phone {
                if rng.gen_bool(0.9) {
                    let style = if rng.gen_bool(0.6) {
                        PhoneStyle::Digits
                    } else {
                        PhoneStyle::Paren
                    };
                    f[6].push_str(&noise::phone(ph, style));
                }
            }
            if let Some(d) = noise::dob_view(p, &noise::DECC, e.t.date(), &mut rng) {
                let _ = write!(f[7], "{}", d.format("%Y-%m-%d"));
            }
        }
        let m = mask[k];
        let disp = if m != 0 {
            pick(&mut rng, &[("DISPATCHED", 6.0), ("REPORT TAKEN", 1.0)])
        } else {
            pick(
                &mut rng,
                &[
                    ("CLEARED", 3.0),
                    ("NO ACTION", 1.0),
                    ("INFO PROVIDED", 1.0),
                    ("GONE ON ARRIVAL", 1.0),
                    ("UNFOUNDED", 0.5),
                ],
            )
        };
        f[8].push_str(disp);
        let mut units = Vec::new();
        if m & (1 << Ag::Dpd.idx()) != 0 {
            units.push(format!("D{}", rng.gen_range(110..460)));
        }
        if m & (1 << Ag::Dfd.idx()) != 0 {
            units.push(format!("M{}", rng.gen_range(1..20)));
        }
        if m & (1 << Ag::Heart.idx()) != 0 {
            units.push(format!("H{}", rng.gen_range(1..6)));
        }
        f[9].push_str(&units.join(";"));
        if let Some(end) = e.end {
            rfc3339(&mut f[10], end);
        }
        w.row(&f)?;
        if let Some(party) = e.parties().first() {
            map.add(SOURCE, &key, party.person)?;
        }

        if let Some((kind, seq)) = plan.bad[k] {
            let line = match kind {
                BadKind::Duplicate => w.duplicate()?,
                _ => {
                    f[C_KEY].clear();
                    f[C_KEY].push_str(&call_no(year, seq));
                    let target = if f[C_NAME].is_empty() { C_ADDR } else { C_NAME };
                    match kind {
                        BadKind::BadDate => {
                            f[C_START] = match rng.gen_range(0..4) {
                                0 => format!("{year}-02-30T10:15:00-05:00"),
                                1 => "N/A".into(),
                                2 => format!("13/45/{year} 10:15"),
                                _ => "0000-00-00T00:00:00".into(),
                            };
                            w.row(&f)?
                        }
                        BadKind::MissingRequired => {
                            let c = if rng.gen_bool(0.5) { C_KEY } else { C_START };
                            f[c].clear();
                            w.row_corrupt(&f, Corrupt::None)?
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
