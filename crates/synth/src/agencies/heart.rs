//! HEART — crisis-team responses as JSON lines: epoch-second times, the client as "First L" or
//! a first name only, an optional client id, partial (year-only) dates of birth, boolean need
//! flags.

use chrono::Datelike;
use rand::Rng;
use serde::Serialize;
use std::io;

use familiar_model::mapping::{FieldSpec, Fields, FileFormat, NameLayout, SourceDef};

use super::{rel, rng_for, Ctx, RecordMap, SourceOut};
use crate::badrows::{BadKind, BadRow};
use crate::codes::{self, pick};
use crate::geo::AddrStyle;
use crate::noise::{self, stable_id, PhoneStyle};
use crate::population::{NEED_HOUSING, NEED_MH, NEED_SU};
use crate::sim::Ag;
use crate::timefmt::epoch;
use crate::writers::jsonl::JsonlWriter;

pub const SOURCE: &str = "heart_responses";
const DIR: &str = "heart";
const FILE: &str = "heart_responses.jsonl";

pub fn response_id(year: i32, seq: u32) -> String {
    format!("HRT-{:02}-{seq:05}", year % 100)
}

pub fn source_def() -> SourceDef {
    SourceDef {
        parties: Vec::new(),
        name: SOURCE.into(),
        agency: "HEART".into(),
        files: format!("{DIR}/{FILE}"),
        format: FileFormat::Jsonl,
        delimiter: None,
        encoding: Some("utf-8".into()),
        sheet: None,
        header_row: None,
        columns: None,
        widths: None,
        timezone: None,
        record_key: vec!["response_id".into()],
        event_key: None,
        kind: "crisis_response".into(),
        role: Some("client".into()),
        part2: false,
        fields: Fields {
            start: FieldSpec::column("received")
                .with_formats(&["epoch"])
                .required(),
            end: Some(FieldSpec::column("cleared").with_formats(&["epoch"])),
            location: Some(FieldSpec::column("location")),
            call_type: Some(FieldSpec::column("reason")),
            disposition: Some(FieldSpec::column("outcome")),
            units: Some(FieldSpec::column("team")),
            incident_ref: Some(FieldSpec::column("call_ref")),
            mental_health: Some(
                FieldSpec::column("behavioral_health").with_truthy(&["true", "Y", "1"]),
            ),
            substance_use: Some(
                FieldSpec::column("substance_use").with_truthy(&["true", "Y", "1"]),
            ),
            housing_instability: Some(
                FieldSpec::column("unhoused").with_truthy(&["true", "Y", "1"]),
            ),
            name: Some(FieldSpec::column("client").with_layout(NameLayout::FirstLastInitial)),
            agency_person_id: Some(FieldSpec::column("client_id")),
            dob: Some(FieldSpec::column("dob").with_formats(&["%Y-%m-%d", "%Y"])),
            phone: Some(FieldSpec::column("phone")),
            ..Default::default()
        },
        codes: vec![],
    }
}

/// The start time: a number normally, a string when broken on purpose.
#[derive(Serialize)]
#[serde(untagged)]
enum Received<'a> {
    Epoch(i64),
    Text(&'a str),
}

#[derive(Serialize)]
struct Row<'a> {
    response_id: &'a str,
    call_ref: Option<&'a str>,
    received: Received<'a>,
    cleared: Option<i64>,
    team: &'a str,
    location: &'a str,
    client: &'a str,
    client_id: Option<&'a str>,
    dob: Option<&'a str>,
    phone: Option<&'a str>,
    reason: &'a str,
    outcome: &'a str,
    behavioral_health: bool,
    substance_use: bool,
    unhoused: bool,
}

pub fn write(ctx: &Ctx, map: &mut RecordMap) -> io::Result<SourceOut> {
    let county = ctx.county;
    let plan = &ctx.plans[Ag::Heart.idx()];
    let dir = ctx.create_dir(DIR)?;
    let mut rng = rng_for(ctx.seed, 200 + Ag::Heart.idx() as u64);
    let file = rel(DIR, FILE);
    let mut w = JsonlWriter::create(&dir.join(FILE))?;
    let mut bad = Vec::new();
    for (k, &eid) in plan.order.iter().enumerate() {
        let e = &county.events[eid as usize];
        let year = e.t.year();
        let id = response_id(year, plan.seq[k]);
        let cad = ctx.cad_no(e.link);
        let mut location = String::new();
        county
            .geo
            .write_loc(&mut location, e.loc, AddrStyle::Title, &mut rng);
        let team = codes::HEART_TEAMS[rng.gen_range(0..codes::HEART_TEAMS.len())];
        let outcome = pick(&mut rng, codes::HEART_OUTCOMES);
        let party = e.parties().first().copied();
        let (mut client, mut client_id, mut dob, mut phone) = (String::new(), None, None, None);
        if let Some(party) = party {
            let p = ctx.person(party.person);
            let nv = noise::name_view(p, &noise::HEART, e.t.date(), &mut rng);
            client.push_str(&nv.first);
            if rng.gen_bool(0.7) {
                if let Some(c) = nv.last.chars().next() {
                    client.push(' ');
                    client.extend(c.to_uppercase());
                }
            }
            if rng.gen_bool(0.6) {
                client_id = Some(format!("HC{}", stable_id(party.person, 41)));
            }
            dob = noise::dob_view(p, &noise::HEART, e.t.date(), &mut rng).map(|d| {
                if rng.gen_bool(0.6) {
                    format!("{}", d.year())
                } else {
                    d.format("%Y-%m-%d").to_string()
                }
            });
            if let Some(ph) = p.phone {
                if rng.gen_bool(0.3) {
                    let style = if rng.gen_bool(0.5) {
                        PhoneStyle::Dots
                    } else {
                        PhoneStyle::Digits
                    };
                    phone = Some(noise::phone(ph, style));
                }
            }
        }
        let mut row = Row {
            response_id: &id,
            call_ref: (!cad.is_empty()).then_some(cad.as_str()),
            received: Received::Epoch(epoch(e.t)),
            cleared: e.end.map(epoch),
            team,
            location: &location,
            client: &client,
            client_id: client_id.as_deref(),
            dob: dob.as_deref(),
            phone: phone.as_deref(),
            reason: e.code,
            outcome,
            behavioral_health: e.needs & NEED_MH != 0,
            substance_use: e.needs & NEED_SU != 0,
            unhoused: e.needs & NEED_HOUSING != 0,
        };
        w.row(&row)?;
        if let Some(party) = party {
            map.add(SOURCE, &id, party.person)?;
        }

        if let Some((kind, seq)) = plan.bad[k] {
            let bad_id = response_id(year, seq);
            let bad_date = match rng.gen_range(0..3) {
                0 => "N/A".to_string(),
                1 => format!("{year}-02-30 10:15"),
                _ => format!("13/45/{year}"),
            };
            if kind != BadKind::Duplicate {
                row.response_id = &bad_id;
            }
            let line = match kind {
                BadKind::Duplicate => w.duplicate()?,
                BadKind::BadDate => {
                    row.received = Received::Text(&bad_date);
                    w.row(&row)?
                }
                BadKind::MissingRequired => {
                    if rng.gen_bool(0.5) {
                        row.response_id = "";
                    } else {
                        row.received = Received::Text("");
                    }
                    w.row(&row)?
                }
                BadKind::InvalidEncoding => {
                    let key = if client.is_empty() {
                        "location"
                    } else {
                        "client"
                    };
                    w.row_bad_byte(&row, key)?
                }
                BadKind::InvalidJson => w.row_truncated(&row, rng.gen_range(0.2..0.9))?,
                BadKind::UnbalancedQuote => unreachable!("not a JSONL kind"),
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
