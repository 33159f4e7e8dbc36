//! DCSD — the jail's booking log as an Excel workbook (sheet "Bookings"): booking / release date
//! cells are real Excel date-times (serial numbers with a date format), DOB an Excel date,
//! separate name columns, aliases ("AKA", `;`-separated), jail id, SSN last four.

use chrono::Datelike;
use rand::seq::SliceRandom;
use rand::Rng;
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook, Worksheet, XlsxError};
use std::io;

use familiar_model::mapping::{CodeRule, FieldSpec, Fields, FileFormat, NameLayout, SourceDef};

use super::{homeless_word, rng_for, Ctx, RecordMap, SourceOut};
use crate::badrows::{BadKind, BadRow};
use crate::codes::{self, pick};
use crate::geo::AddrStyle;
use crate::names::{fold_accents, nicknames, Names};
use crate::noise::{self, stable_id};
use crate::population::{surname_string, Home, Person, NEED_MH};
use crate::sim::{Ag, NONE};
use crate::timefmt::{excel_date, excel_serial};

pub const SOURCE: &str = "dcsd_jail";
const DIR: &str = "dcsd";
const FILE: &str = "jail_bookings.xlsx";
pub const SHEET: &str = "Bookings";
const COLUMNS: [&str; 21] = [
    "Booking No",
    "Jail ID",
    "Last Name",
    "First Name",
    "Middle Name",
    "Sfx",
    "AKA",
    "DOB",
    "Sex",
    "Race",
    "SSN Last 4",
    "Street Address",
    "City",
    "St",
    "Zip",
    "Booked",
    "Released",
    "Arresting Agency",
    "Top Charge",
    "# Charges",
    "MH Screen",
];
const C_KEY: usize = 0;
const C_BOOKED: usize = 15;

pub fn booking_no(year: i32, seq: u32) -> String {
    format!("{year}{seq:06}")
}

pub fn source_def() -> SourceDef {
    SourceDef {
        parties: Vec::new(),
        name: SOURCE.into(),
        agency: "DCSD".into(),
        files: format!("{DIR}/{FILE}"),
        format: FileFormat::Xlsx,
        delimiter: None,
        encoding: None,
        sheet: Some(SHEET.into()),
        header_row: None,
        columns: None,
        widths: None,
        timezone: None,
        record_key: vec!["Booking No".into()],
        event_key: None,
        kind: "jail_booking".into(),
        role: Some("arrestee".into()),
        part2: false,
        fields: Fields {
            start: FieldSpec::column("Booked")
                .with_formats(&["excel", "%m/%d/%Y %H:%M"])
                .required(),
            end: Some(FieldSpec::column("Released").with_formats(&["excel", "%m/%d/%Y %H:%M"])),
            call_type: Some(FieldSpec::column("Top Charge")),
            mental_health: Some(FieldSpec::column("MH Screen").with_truthy(&["Y"])),
            first_name: Some(FieldSpec::column("First Name")),
            middle_name: Some(FieldSpec::column("Middle Name")),
            last_name: Some(FieldSpec::column("Last Name")),
            suffix: Some(FieldSpec::column("Sfx")),
            aliases: Some(FieldSpec {
                separator: Some(";".into()),
                ..FieldSpec::column("AKA").with_layout(NameLayout::LastCommaFirstMiddle)
            }),
            dob: Some(FieldSpec::column("DOB").with_formats(&["excel", "%m/%d/%Y"])),
            sex: Some(FieldSpec::column("Sex")),
            race: Some(FieldSpec::column("Race")),
            address: Some(FieldSpec::column("Street Address")),
            address_city: Some(FieldSpec::column("City")),
            address_zip: Some(FieldSpec::column("Zip")),
            agency_person_id: Some(FieldSpec::column("Jail ID")),
            ssn_last4: Some(FieldSpec::column("SSN Last 4")),
            ..Default::default()
        },
        codes: vec![CodeRule {
            field: "call_type".into(),
            values: vec!["POSSESS*".into(), "DWI".into(), "INTOXICATED*".into()],
            kind: None,
            flags: vec!["substance_use".into()],
        }],
    }
}

#[derive(Clone, Debug)]
enum XCell {
    Text(String),
    Date(f64),
    DateTime(f64),
    Num(f64),
    Blank,
}

struct Sheet<'w> {
    ws: &'w mut Worksheet,
    date: Format,
    datetime: Format,
    row: u32,
    last: Vec<XCell>,
}

impl<'w> Sheet<'w> {
    fn write(&mut self, cells: &[XCell], good: bool) -> Result<u64, XlsxError> {
        self.row += 1;
        for (c, cell) in cells.iter().enumerate() {
            let c = c as u16;
            match cell {
                XCell::Text(s) if !s.is_empty() => {
                    self.ws.write_string(self.row, c, s.as_str())?;
                }
                XCell::Date(v) => {
                    self.ws
                        .write_number_with_format(self.row, c, *v, &self.date)?;
                }
                XCell::DateTime(v) => {
                    self.ws
                        .write_number_with_format(self.row, c, *v, &self.datetime)?;
                }
                XCell::Num(v) => {
                    self.ws.write_number(self.row, c, *v)?;
                }
                _ => {}
            }
        }
        if good {
            self.last = cells.to_vec();
        }
        Ok(u64::from(self.row) + 1)
    }
}

/// The aliases the jail has on file for a person (stable per person).
fn aliases(ctx: &Ctx, names: &Names, i: u32, p: &Person) -> Vec<String> {
    let mut rng = rng_for(ctx.seed ^ 0xA11A5, u64::from(i));
    let n = match rng.gen_range(0..100) {
        0..=39 => 0,
        40..=74 => 1,
        75..=92 => 2,
        _ => 3,
    };
    let last = fold_accents(&surname_string(p.last)).to_uppercase();
    let first = fold_accents(p.first).to_uppercase();
    let mut out: Vec<String> = Vec::new();
    for _ in 0..n {
        let a = match rng.gen_range(0..5) {
            0 => match nicknames(p.first).choose(&mut rng) {
                Some(nk) => format!("{last}, {}", fold_accents(nk).to_uppercase()),
                None => format!("{}, {first}", noise::typo(&last, &mut rng)),
            },
            1 => match p.maiden {
                Some((old, _)) => format!(
                    "{}, {first}",
                    fold_accents(&surname_string(old)).to_uppercase()
                ),
                None => format!(
                    "{last}, {first} {}",
                    if rng.gen_bool(0.5) { "JR" } else { "II" }
                ),
            },
            2 => format!("{}, {first}", noise::typo(&last, &mut rng)),
            3 => match p.middle {
                Some(m) => format!("{last}, {}", fold_accents(m).to_uppercase()),
                None => format!("{first}, {last}"),
            },
            _ => {
                let other = fold_accents(names.surname.pick(&mut rng)).to_uppercase();
                format!("{other}, {first}")
            }
        };
        if !out.contains(&a) {
            out.push(a);
        }
    }
    out
}

pub fn write(ctx: &Ctx, map: &mut RecordMap) -> io::Result<SourceOut> {
    write_xlsx(ctx, map).map_err(|e| match e {
        XlsxError::IoError(e) => e,
        other => io::Error::other(other.to_string()),
    })
}

fn write_xlsx(ctx: &Ctx, map: &mut RecordMap) -> Result<SourceOut, XlsxError> {
    let county = ctx.county;
    let plan = &ctx.plans[Ag::Dcsd.idx()];
    let dir = ctx.create_dir(DIR)?;
    let mut rng = rng_for(ctx.seed, 200 + Ag::Dcsd.idx() as u64);
    let names = Names::new();
    let file = super::rel(DIR, FILE);

    let mut wb = Workbook::new();
    let props = DocProperties::new()
        .set_author("DCSO Detention Records")
        .set_creation_datetime(&ExcelDateTime::from_ymd(2026, 1, 2)?);
    wb.set_properties(&props);
    let ws = wb.add_worksheet();
    ws.set_name(SHEET)?;
    let bold = Format::new().set_bold();
    for (c, h) in COLUMNS.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &bold)?;
    }
    let mut sheet = Sheet {
        ws,
        date: Format::new().set_num_format("mm/dd/yyyy"),
        datetime: Format::new().set_num_format("mm/dd/yyyy hh:mm"),
        row: 0,
        last: Vec::new(),
    };
    let mut bad = Vec::new();
    let mut cells: Vec<XCell> = Vec::with_capacity(COLUMNS.len());
    for (k, &eid) in plan.order.iter().enumerate() {
        let e = &county.events[eid as usize];
        let year = e.t.year();
        let key = booking_no(year, plan.seq[k]);
        let party = e.parties()[0];
        let p = ctx.person(party.person);
        let nv = noise::name_view(p, &noise::DCSD, e.t.date(), &mut rng).upper();
        cells.clear();
        cells.push(XCell::Text(key.clone()));
        let jail_id = if rng.gen_bool(0.04) {
            20_000_000 + u64::from(eid)
        } else {
            stable_id(party.person, 29)
        };
        cells.push(XCell::Text(format!("J{jail_id}")));
        cells.push(XCell::Text(nv.last));
        cells.push(XCell::Text(nv.first));
        cells.push(XCell::Text(nv.middle));
        cells.push(XCell::Text(nv.suffix.to_string()));
        let aka = if rng.gen_bool(0.7) {
            aliases(ctx, &names, party.person, p).join("; ")
        } else {
            String::new()
        };
        cells.push(XCell::Text(aka));
        cells.push(
            match noise::dob_view(p, &noise::DCSD, e.t.date(), &mut rng) {
                Some(d) => XCell::Date(excel_date(d)),
                None => XCell::Blank,
            },
        );
        cells.push(XCell::Text(p.sex.code().into()));
        cells.push(XCell::Text(if p.hispanic && rng.gen_bool(0.5) {
            "H".into()
        } else {
            p.race.code().into()
        }));
        cells.push(if rng.gen_bool(0.88) {
            XCell::Text(format!("{:04}", p.ssn4))
        } else {
            XCell::Blank
        });
        match p.home {
            Home::At(l) if rng.gen_bool(0.95) => {
                let mut s = String::new();
                county.geo.write_loc(&mut s, l, AddrStyle::Upper, &mut rng);
                cells.push(XCell::Text(s));
                cells.push(XCell::Text("DURHAM".into()));
                cells.push(XCell::Text("NC".into()));
                cells.push(XCell::Text(county.geo.zip(l).into()));
            }
            _ => {
                cells.push(XCell::Text(homeless_word(eid).into()));
                cells.push(XCell::Blank);
                cells.push(XCell::Blank);
                cells.push(XCell::Blank);
            }
        }
        cells.push(XCell::DateTime(excel_serial(e.t)));
        cells.push(match e.end {
            Some(r) => XCell::DateTime(excel_serial(r)),
            None => XCell::Blank,
        });
        let agency = if e.link != NONE {
            "DPD"
        } else {
            pick(&mut rng, codes::ARRESTING_AGENCIES)
        };
        cells.push(XCell::Text(agency.into()));
        cells.push(XCell::Text(e.code.into()));
        cells.push(XCell::Num(f64::from(rng.gen_range(1..5u8))));
        cells.push(XCell::Text(
            if e.needs & NEED_MH != 0 { "Y" } else { "N" }.into(),
        ));
        sheet.write(&cells, true)?;
        map.add(SOURCE, &key, party.person)?;

        if let Some((kind, seq)) = plan.bad[k] {
            let line = match kind {
                BadKind::Duplicate => {
                    let last = sheet.last.clone();
                    sheet.write(&last, false)?
                }
                BadKind::BadDate => {
                    cells[C_KEY] = XCell::Text(booking_no(year, seq));
                    cells[C_BOOKED] = XCell::Text(match rng.gen_range(0..3) {
                        0 => "N/A".to_string(),
                        1 => format!("{year}-02-30"),
                        _ => format!("13/45/{year} 10:15"),
                    });
                    sheet.write(&cells, false)?
                }
                BadKind::MissingRequired => {
                    cells[C_KEY] = XCell::Text(booking_no(year, seq));
                    let c = if rng.gen_bool(0.5) { C_KEY } else { C_BOOKED };
                    cells[c] = XCell::Blank;
                    sheet.write(&cells, false)?
                }
                _ => unreachable!("not an XLSX kind"),
            };
            bad.push(BadRow {
                source: SOURCE.into(),
                file: file.clone(),
                line,
                kind,
            });
        }
    }
    let rows = u64::from(sheet.row);
    sheet.ws.set_freeze_panes(1, 0)?;
    wb.save(dir.join(FILE))?;
    Ok(SourceOut {
        def: source_def(),
        files: vec![(file, rows)],
        bad,
    })
}
