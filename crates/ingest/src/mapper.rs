//! Mapping a row to a [`NormalizedRecord`]: the semantics of every `sources.toml` field.
//!
//! # Values
//! A field reads its `column` (several `columns` are joined with one space, blank ones skipped)
//! or its constant `value`; the result is trimmed, and `NULL` / `\N` count as blank. When the
//! field has a `map`, a value equal to a key (case-insensitive, trimmed) is replaced by the
//! key's value; other values pass unchanged.
//!
//! # Keys
//! `record_key` = the trimmed values of its columns joined with `|` (the contract with the
//! synthetic truth files). `event_key` likewise (default: the record key). A blank key column
//! rejects the row (`missing_required`).
//!
//! # Rejections vs warnings
//! Only `start`, the key columns and fields marked `required = true` reject a row: blank →
//! `missing_required`; unreadable date → `bad_date`; a `kind` / `role` value that is not a
//! known kind / role → `bad_value`. Everything else that cannot be read (a DOB in no listed
//! format, an unknown sex code, a 3-digit phone...) is dropped from the record and counted as a
//! warning ([`Warnings`]).
//!
//! # Kind, role, flags
//! - kind: the `kind` field (after `map`) when it has a value; else the first matching code
//!   rule with a `kind`; else the source's `kind`.
//! - role: the `role` field when it has a value; else the source's `role` (default `subject`).
//! - need flags: a flag column whose value is truthy (`truthy`, default Y/YES/TRUE/1/T/X), or
//!   any matching code rule's `flags`.
//! - code rules match `call_type` / `disposition` / `units` values case-insensitively, before
//!   or after `map`; a trailing `*` matches a prefix, `*` alone any non-blank value.
//! - `transported`: truthy → true, other non-blank → false, blank → unknown.
//!
//! # Dates
//! See [`crate::datetime`]. Local times are in the source's zone; `local_date` is the date of
//! `start` in that zone. A date-only `start` combines with `start_time` (blank → midnight).
//! A DOB may be partial; a DOB before 1900 or after the interaction is implausible (dropped,
//! warned), except that a 2-digit-year pattern (`%y`) rolls a future DOB back a century.
//!
//! # Person
//! Name columns beat the split whole-name column part by part. Placeholder names (`UNKNOWN`,
//! `JOHN DOE`, `REFUSED`, ...) name nobody. The row has an identity when it has a first or
//! last name or an agency person id; otherwise `identity` is None.

use std::borrow::Cow;

use chrono::{Datelike, NaiveDate, NaiveTime};
use chrono_tz::Tz;
use familiar_model::mapping::{FieldSpec, Fields, NameLayout, SourceDef};
use familiar_model::{
    Address, InteractionKind, NeedFlags, NormalizedRecord, PartialDate, Role, SourceIdentity,
};
use std::sync::OnceLock;

use crate::address::AddressNormalizer;
use crate::datetime::{
    compile_formats, local_to_utc, parse_time_of_day, parse_with, DateFormat, DateValue,
};
use crate::error::{RejectKind, Rejection};
use crate::names::{self, canonical_suffix, is_placeholder, normalize_part};
use crate::reader::Row;
use crate::values::{
    is_truthy, normalize_phone, normalize_sex, normalize_ssn_last4, DEFAULT_TRUTHY,
};

/// Canonical field names, in [`Fields`] order.
pub const FIELD_NAMES: [&str; 32] = [
    "start",
    "end",
    "start_time",
    "location",
    "location_city",
    "location_zip",
    "call_type",
    "disposition",
    "units",
    "incident_ref",
    "kind",
    "role",
    "transported",
    "mental_health",
    "substance_use",
    "housing_instability",
    "name",
    "first_name",
    "middle_name",
    "last_name",
    "suffix",
    "aliases",
    "dob",
    "sex",
    "race",
    "ethnicity",
    "phone",
    "address",
    "address_city",
    "address_zip",
    "agency_person_id",
    "ssn_last4",
];

/// Slots into [`FIELD_NAMES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
pub(crate) enum F {
    Start,
    End,
    StartTime,
    Location,
    LocationCity,
    LocationZip,
    CallType,
    Disposition,
    Units,
    IncidentRef,
    Kind,
    Role,
    Transported,
    MentalHealth,
    SubstanceUse,
    HousingInstability,
    Name,
    FirstName,
    MiddleName,
    LastName,
    Suffix,
    Aliases,
    Dob,
    Sex,
    Race,
    Ethnicity,
    Phone,
    Address,
    AddressCity,
    AddressZip,
    AgencyPersonId,
    SsnLast4,
}

const N_FIELDS: usize = 32;

/// Date fields (take `format`).
pub(crate) const DATE_FIELDS: [&str; 4] = ["start", "end", "start_time", "dob"];
/// Boolean fields (take `truthy`).
pub(crate) const BOOL_FIELDS: [&str; 4] = [
    "transported",
    "mental_health",
    "substance_use",
    "housing_instability",
];
/// Fields code rules may test.
pub const CODE_FIELDS: [&str; 3] = ["call_type", "disposition", "units"];

/// The mapped fields of a [`Fields`] table, with their canonical names.
pub fn field_specs(f: &Fields) -> Vec<(&'static str, &FieldSpec)> {
    let opt = [
        &f.end,
        &f.start_time,
        &f.location,
        &f.location_city,
        &f.location_zip,
        &f.call_type,
        &f.disposition,
        &f.units,
        &f.incident_ref,
        &f.kind,
        &f.role,
        &f.transported,
        &f.mental_health,
        &f.substance_use,
        &f.housing_instability,
        &f.name,
        &f.first_name,
        &f.middle_name,
        &f.last_name,
        &f.suffix,
        &f.aliases,
        &f.dob,
        &f.sex,
        &f.race,
        &f.ethnicity,
        &f.phone,
        &f.address,
        &f.address_city,
        &f.address_zip,
        &f.agency_person_id,
        &f.ssn_last4,
    ];
    let mut v = vec![("start", &f.start)];
    for (i, s) in opt.iter().enumerate() {
        if let Some(s) = s {
            v.push((FIELD_NAMES[i + 1], s));
        }
    }
    v
}

/// A dispatch incident number as linkage compares it: letters and digits only, upper case
/// ("2023-00000033", "2023 00000033" and "202300000033" are one call; exports differ in the
/// separators they print). None for a value with no digit other than 0 ("N/A", "PENDING",
/// "0000"): a placeholder, which would otherwise make every row that carries it one call.
pub fn normalize_incident_ref(v: &str) -> Option<String> {
    let s: String = v
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_uppercase)
        .collect();
    s.chars()
        .any(|c| c.is_ascii_digit() && c != '0')
        .then_some(s)
}

/// Counters for values dropped without rejecting their row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Warnings {
    counts: [u64; Warning::ALL.len()],
}

/// What a warning counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Warning {
    DobUnparseable,
    DobImplausible,
    EndUnparseable,
    EndBeforeStart,
    SexUnrecognized,
    PhoneInvalid,
    SsnInvalid,
    PlaceholderName,
}

impl Warning {
    pub const ALL: [Warning; 8] = [
        Warning::DobUnparseable,
        Warning::DobImplausible,
        Warning::EndUnparseable,
        Warning::EndBeforeStart,
        Warning::SexUnrecognized,
        Warning::PhoneInvalid,
        Warning::SsnInvalid,
        Warning::PlaceholderName,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Warning::DobUnparseable => "dob_unparseable",
            Warning::DobImplausible => "dob_implausible",
            Warning::EndUnparseable => "end_unparseable",
            Warning::EndBeforeStart => "end_before_start",
            Warning::SexUnrecognized => "sex_unrecognized",
            Warning::PhoneInvalid => "phone_invalid",
            Warning::SsnInvalid => "ssn_invalid",
            Warning::PlaceholderName => "placeholder_name",
        }
    }
}

impl Warnings {
    #[inline]
    pub fn add(&mut self, w: Warning) {
        self.counts[w as usize] += 1;
    }
    pub fn get(&self, w: Warning) -> u64 {
        self.counts[w as usize]
    }
    pub fn clear(&mut self, w: Warning) {
        self.counts[w as usize] = 0;
    }
    pub fn merge(&mut self, o: &Warnings) {
        for (a, b) in self.counts.iter_mut().zip(o.counts.iter()) {
            *a += b;
        }
    }
    /// Non-zero counters by name.
    pub fn to_map(&self) -> std::collections::BTreeMap<String, u64> {
        Warning::ALL
            .iter()
            .filter(|w| self.get(**w) > 0)
            .map(|w| (w.as_str().to_string(), self.get(*w)))
            .collect()
    }
}

#[derive(Debug, Clone)]
pub(crate) struct CField {
    pub name: &'static str,
    pub columns: Vec<String>,
    pub constant: Option<String>,
    /// (key upper-cased and trimmed, value)
    pub map: Vec<(String, String)>,
    pub formats: Vec<DateFormat>,
    pub truthy: Vec<String>,
    pub separator: String,
    pub required: bool,
    pub layout: Option<NameLayout>,
}

#[derive(Debug, Clone)]
struct CCode {
    field: usize,
    /// (upper-cased value, is prefix)
    patterns: Vec<(String, bool)>,
    kind: Option<InteractionKind>,
    flags: NeedFlags,
}

/// A source definition compiled for fast mapping (formats parsed, codes upper-cased).
#[derive(Debug, Clone)]
pub struct Compiled {
    pub(crate) source: String,
    pub(crate) agency: String,
    pub(crate) tz: Tz,
    slots: [Option<CField>; N_FIELDS],
    record_key: Vec<String>,
    event_key: Option<Vec<String>>,
    kind: InteractionKind,
    role: Role,
    part2: bool,
    codes: Vec<CCode>,
    pub(crate) address: AddressNormalizer,
    /// `[[source.party]]`: each party's name and its own compiled mapping (the source's fields
    /// with the party's person fields); empty for a one-person source.
    parties: Vec<(String, Compiled)>,
}

impl Compiled {
    /// Compile; errors are human messages naming the field (the caller adds the source name).
    pub fn new(def: &SourceDef, agency: &str, tz: Tz) -> Result<Compiled, Vec<String>> {
        let mut errs = Vec::new();
        let kind = match def.kind.parse::<InteractionKind>() {
            Ok(k) => k,
            Err(e) => {
                errs.push(format!("kind: {e}"));
                InteractionKind::Other
            }
        };
        let role = match def.role.as_deref().unwrap_or("subject").parse::<Role>() {
            Ok(r) => r,
            Err(e) => {
                errs.push(format!("role: {e}"));
                Role::Other
            }
        };
        let mut slots: [Option<CField>; N_FIELDS] = Default::default();
        for (name, spec) in field_specs(&def.fields) {
            match compile_field(name, spec) {
                Ok(c) => {
                    let i = FIELD_NAMES.iter().position(|n| *n == name).expect("known");
                    slots[i] = Some(c);
                }
                Err(mut e) => errs.append(&mut e),
            }
        }
        if def.record_key.is_empty() {
            errs.push("record_key: list at least one column".into());
        }
        if def.record_key.iter().any(|c| c.trim().is_empty()) {
            errs.push("record_key: a column name is blank".into());
        }
        if let Some(ek) = &def.event_key {
            if ek.is_empty() || ek.iter().any(|c| c.trim().is_empty()) {
                errs.push("event_key: list at least one column, none blank".into());
            }
        }
        let mut codes = Vec::new();
        for (i, rule) in def.codes.iter().enumerate() {
            let at = format!("code rule {} (field {:?})", i + 1, rule.field);
            let Some(fi) = CODE_FIELDS.iter().position(|f| *f == rule.field) else {
                errs.push(format!(
                    "{at}: field must be one of {}",
                    CODE_FIELDS.join(", ")
                ));
                continue;
            };
            let slot = FIELD_NAMES
                .iter()
                .position(|n| *n == CODE_FIELDS[fi])
                .expect("known");
            if slots[slot].is_none() {
                errs.push(format!(
                    "{at}: fields.{} is not mapped, so this rule can never match",
                    rule.field
                ));
            }
            if rule.values.is_empty() || rule.values.iter().any(|v| v.trim().is_empty()) {
                errs.push(format!("{at}: values must be non-empty"));
            }
            let kind = match &rule.kind {
                None => None,
                Some(k) => match k.parse::<InteractionKind>() {
                    Ok(k) => Some(k),
                    Err(e) => {
                        errs.push(format!("{at}: kind: {e}"));
                        None
                    }
                },
            };
            let mut flags = NeedFlags::default();
            for f in &rule.flags {
                if !flags.set(f) {
                    errs.push(format!(
                        "{at}: unknown flag {f:?}; expected one of {}",
                        NeedFlags::NAMES.join(", ")
                    ));
                }
            }
            if rule.kind.is_none() && rule.flags.is_empty() {
                errs.push(format!("{at}: sets neither kind nor flags"));
            }
            codes.push(CCode {
                field: slot,
                patterns: rule
                    .values
                    .iter()
                    .map(|v| {
                        let v = v.trim().to_uppercase();
                        match v.strip_suffix('*') {
                            Some(p) => (p.trim_end().to_string(), true),
                            None => (v, false),
                        }
                    })
                    .collect(),
                kind,
                flags,
            });
        }
        let mut parties = Vec::new();
        // each party compiles the whole source again: its messages about the source's own
        // fields are the source's, said once
        let own = errs.clone();
        if !def.parties.is_empty() {
            let shared = def.fields.person_fields_set();
            if !shared.is_empty() {
                errs.push(format!(
                    "fields {} describe a person: with [[source.party]] each party gives its own",
                    shared.join(", ")
                ));
            }
            for (i, p) in def.parties.iter().enumerate() {
                let at = format!("party {} ({:?})", i + 1, p.name);
                let name = p.name.trim();
                if name.is_empty() || name.contains('|') {
                    errs.push(format!("{at}: name must be non-blank and without '|'"));
                }
                if def.parties[..i].iter().any(|q| q.name.trim() == name) {
                    errs.push(format!("{at}: another party has this name"));
                }
                if p.fields.names_set().is_empty() {
                    errs.push(format!("{at}: give the party's fields (name, dob, ...)"));
                }
                let one = SourceDef {
                    parties: Vec::new(),
                    role: p.role.clone().or_else(|| def.role.clone()),
                    fields: def.fields.with_person(&p.fields),
                    ..def.clone()
                };
                match Compiled::new(&one, agency, tz) {
                    Ok(c) => parties.push((name.to_string(), c)),
                    Err(e) => errs.extend(
                        e.into_iter()
                            .filter(|m| !own.contains(m))
                            .map(|m| format!("{at}: {m}")),
                    ),
                }
            }
        }
        if !errs.is_empty() {
            errs.dedup();
            return Err(errs);
        }
        Ok(Compiled {
            parties,
            source: def.name.clone(),
            agency: agency.to_string(),
            tz,
            slots,
            record_key: def.record_key.clone(),
            event_key: def.event_key.clone(),
            kind,
            role,
            part2: def.part2,
            codes,
            address: AddressNormalizer::default(),
        })
    }

    /// Every column the mapping reads (key columns first), without duplicates.
    pub fn columns(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut push = |c: &String| {
            if !out.contains(c) {
                out.push(c.clone());
            }
        };
        self.record_key.iter().for_each(&mut push);
        if let Some(e) = &self.event_key {
            e.iter().for_each(&mut push);
        }
        for f in self.slots.iter().flatten() {
            f.columns.iter().for_each(&mut push);
        }
        for (_, p) in &self.parties {
            p.columns().iter().for_each(&mut push);
        }
        out
    }

    /// Columns whose absence from a JSON-lines file is certainly a mistake: keys, start,
    /// required fields.
    pub fn essential_columns(&self) -> Vec<String> {
        let mut out = self.record_key.clone();
        if let Some(e) = &self.event_key {
            out.extend(e.iter().cloned());
        }
        for f in self.slots.iter().flatten() {
            if f.name == "start" || f.required {
                out.extend(f.columns.iter().cloned());
            }
        }
        for (_, p) in &self.parties {
            out.extend(p.essential_columns());
        }
        let mut seen = std::collections::HashSet::new();
        out.retain(|c| seen.insert(c.clone()));
        out
    }

    /// Resolve column names against a header: exact match first, then a unique
    /// case-insensitive match of the trimmed names.
    pub fn bind(&self, names: &[String]) -> Result<Mapper<'_>, Vec<String>> {
        let mut missing = Vec::new();
        let mut find = |c: &str| -> usize {
            if let Some(i) = names.iter().position(|n| n == c) {
                return i;
            }
            let ci: Vec<usize> = names
                .iter()
                .enumerate()
                .filter(|(_, n)| n.trim().eq_ignore_ascii_case(c.trim()))
                .map(|(i, _)| i)
                .collect();
            if ci.len() == 1 {
                return ci[0];
            }
            if !missing.iter().any(|m: &String| m == c) {
                missing.push(c.to_string());
            }
            usize::MAX
        };
        let key: Vec<(usize, &str)> = self
            .record_key
            .iter()
            .map(|c| (find(c), c.as_str()))
            .collect();
        let event: Option<Vec<(usize, &str)>> = self
            .event_key
            .as_ref()
            .map(|e| e.iter().map(|c| (find(c), c.as_str())).collect());
        let mut cols: [Vec<usize>; N_FIELDS] = Default::default();
        for (i, f) in self.slots.iter().enumerate() {
            if let Some(f) = f {
                cols[i] = f.columns.iter().map(|c| find(c)).collect();
            }
        }
        let mut parties = Vec::with_capacity(self.parties.len());
        for (name, p) in &self.parties {
            match p.bind(names) {
                Ok(m) => parties.push((name.as_str(), m)),
                Err(more) => {
                    for c in more {
                        if !missing.contains(&c) {
                            missing.push(c);
                        }
                    }
                }
            }
        }
        if !missing.is_empty() {
            return Err(missing);
        }
        Ok(Mapper {
            c: self,
            key,
            event,
            cols,
            parties,
        })
    }
}

fn compile_field(name: &'static str, spec: &FieldSpec) -> Result<CField, Vec<String>> {
    let mut errs = Vec::new();
    let at = format!("fields.{name}");
    if spec.columns.is_empty() && spec.value.is_none() {
        errs.push(format!(
            "{at}: give a column (or columns, or a constant value)"
        ));
    }
    if !spec.columns.is_empty() && spec.value.is_some() {
        errs.push(format!(
            "{at}: give either columns or a constant value, not both"
        ));
    }
    if spec.columns.iter().any(|c| c.trim().is_empty()) {
        errs.push(format!("{at}: a column name is blank"));
    }
    if name == "start" && spec.value.is_some() {
        errs.push(format!("{at}: start must come from a column"));
    }
    let is_date = DATE_FIELDS.contains(&name);
    if !spec.formats.is_empty() && !is_date {
        errs.push(format!(
            "{at}: format applies only to date fields ({})",
            DATE_FIELDS.join(", ")
        ));
    }
    if spec.layout.is_some() && name != "name" && name != "aliases" {
        errs.push(format!("{at}: layout applies only to name"));
    }
    if !spec.truthy.is_empty() && !BOOL_FIELDS.contains(&name) {
        errs.push(format!(
            "{at}: truthy applies only to {}",
            BOOL_FIELDS.join(", ")
        ));
    }
    if spec.separator.is_some() && name != "aliases" {
        errs.push(format!("{at}: separator applies only to aliases"));
    }
    if spec.separator.as_deref() == Some("") {
        errs.push(format!("{at}: separator is empty"));
    }
    let mut formats = Vec::new();
    if is_date {
        if name == "start_time" {
            // Time-of-day formats; none = the built-in HHMM / HH:MM[:SS] [AM|PM] reader.
            for f in &spec.formats {
                match DateFormat::compile(f) {
                    Ok(df) => formats.push(df),
                    Err(e) => errs.push(format!("{at}: format {e}")),
                }
            }
        } else {
            match compile_formats(&spec.formats) {
                Ok(f) => {
                    for df in &f {
                        if !df.can_give_date() {
                            errs.push(format!(
                                "{at}: format {:?} has no year, so it cannot give a date",
                                df.name()
                            ));
                        }
                    }
                    formats = f
                }
                Err(e) => errs.push(format!("{at}: format {e}")),
            }
        }
    }
    // Values of kind / role maps must be kinds / roles.
    for (k, v) in &spec.map {
        let bad = match name {
            "kind" => v.parse::<InteractionKind>().err().map(|e| e.to_string()),
            "role" => v.parse::<Role>().err().map(|e| e.to_string()),
            _ => None,
        };
        if let Some(e) = bad {
            errs.push(format!("{at}: map {k:?} → {v:?}: {e}"));
        }
    }
    if !errs.is_empty() {
        return Err(errs);
    }
    Ok(CField {
        name,
        columns: spec.columns.clone(),
        constant: spec.value.clone(),
        map: spec
            .map
            .iter()
            .map(|(k, v)| (k.trim().to_uppercase(), v.clone()))
            .collect(),
        formats,
        truthy: if spec.truthy.is_empty() {
            DEFAULT_TRUTHY.iter().map(|s| s.to_string()).collect()
        } else {
            spec.truthy.iter().map(|s| s.trim().to_string()).collect()
        },
        separator: spec.separator.clone().unwrap_or_else(|| ";".into()),
        required: spec.required,
        layout: spec.layout,
    })
}

/// A compiled source bound to one file's columns: maps its rows.
#[derive(Debug)]
pub struct Mapper<'c> {
    c: &'c Compiled,
    key: Vec<(usize, &'c str)>,
    event: Option<Vec<(usize, &'c str)>>,
    cols: [Vec<usize>; N_FIELDS],
    /// Each party's name and mapper (see [`Compiled::parties`]).
    parties: Vec<(&'c str, Mapper<'c>)>,
}

#[inline]
fn blank(s: &str) -> bool {
    s.is_empty() || s.eq_ignore_ascii_case("NULL") || s == "\\N"
}

fn eq_upper(key_upper: &str, v: &str) -> bool {
    if v.is_ascii() && key_upper.is_ascii() {
        key_upper.eq_ignore_ascii_case(v)
    } else {
        key_upper == v.to_uppercase()
    }
}

/// A field's value before and after `map`.
type RawAndMapped<'a> = (Cow<'a, str>, Cow<'a, str>);

/// `map` applied to a value (unchanged when no key matches).
fn apply_map<'a>(f: &'a CField, v: Cow<'a, str>) -> Cow<'a, str> {
    if !f.map.is_empty() {
        if let Some((_, to)) = f.map.iter().find(|(k, _)| eq_upper(k, &v)) {
            return Cow::Borrowed(to.trim());
        }
    }
    v
}

fn code_match(patterns: &[(String, bool)], v: &str) -> bool {
    if v.is_empty() {
        return false;
    }
    patterns.iter().any(|(p, prefix)| {
        if *prefix {
            if p.is_empty() {
                return true;
            }
            if v.is_ascii() && p.is_ascii() {
                v.len() >= p.len() && v.as_bytes()[..p.len()].eq_ignore_ascii_case(p.as_bytes())
            } else {
                v.to_uppercase().starts_with(p.as_str())
            }
        } else {
            eq_upper(p, v)
        }
    })
}

fn iso_cell_formats() -> &'static [DateFormat] {
    static F: OnceLock<Vec<DateFormat>> = OnceLock::new();
    F.get_or_init(|| {
        [
            "%Y-%m-%d %H:%M:%S",
            "%Y-%m-%d",
            "%Y-%m-%dT%H:%M:%S%.f",
            "%Y-%m-%d %H:%M:%S%.f",
            "rfc3339",
            "%H:%M:%S",
            "%H:%M:%S%.f",
        ]
        .iter()
        .map(|f| DateFormat::compile(f).expect("valid"))
        .collect()
    })
}

impl<'c> Mapper<'c> {
    /// The trimmed, joined value of a field before `map` (blank → "").
    fn raw_value<'r>(&self, f: &'c CField, slot: usize, row: &Row<'r>) -> Cow<'r, str>
    where
        'c: 'r,
    {
        if let Some(c) = &f.constant {
            return Cow::Borrowed(c.as_str());
        }
        let idx = &self.cols[slot];
        if idx.len() == 1 {
            let v = row.value(idx[0]).unwrap_or("").trim();
            return Cow::Borrowed(if blank(v) { "" } else { v });
        }
        let mut out = String::new();
        for &i in idx {
            let v = row.value(i).unwrap_or("").trim();
            if !blank(v) {
                if !out.is_empty() {
                    out.push(' ');
                }
                out.push_str(v);
            }
        }
        Cow::Owned(out)
    }

    /// The field's value after `map`; None when the field is not mapped.
    fn value<'r>(&self, id: F, row: &Row<'r>) -> Option<(&'c CField, Cow<'r, str>)>
    where
        'c: 'r,
    {
        let slot = id as usize;
        let f = self.c.slots[slot].as_ref()?;
        let v = self.raw_value(f, slot, row);
        Some((f, apply_map(f, v)))
    }

    /// Non-blank text value.
    fn text(&self, id: F, row: &Row<'_>) -> Option<String> {
        let (_, v) = self.value(id, row)?;
        (!v.is_empty()).then(|| v.into_owned())
    }

    fn is_datetime_cell(&self, id: F, row: &Row<'_>) -> bool {
        let idx = &self.cols[id as usize];
        idx.len() == 1 && row.is_datetime_cell(idx[0])
    }

    fn column_name(&self, id: F) -> Option<&'c str> {
        let f = self.c.slots[id as usize].as_ref()?;
        match (&f.constant, f.columns.len()) {
            (Some(_), _) => None,
            (None, 1) => Some(f.columns[0].as_str()),
            _ => None,
        }
    }

    fn columns_label(&self, id: F) -> Option<String> {
        let f = self.c.slots[id as usize].as_ref()?;
        if f.constant.is_some() {
            return None;
        }
        Some(f.columns.join("+"))
    }

    fn key(
        &self,
        cols: &[(usize, &'c str)],
        row: &Row<'_>,
        field: &'static str,
    ) -> Result<String, Rejection> {
        let mut out = String::new();
        for (i, &(idx, name)) in cols.iter().enumerate() {
            let v = row.value(idx).unwrap_or("").trim();
            if v.is_empty() {
                return Err(row.reject(
                    RejectKind::MissingRequired,
                    Some(field),
                    Some(name),
                    format!("{field} column {name:?} is blank"),
                ));
            }
            if i > 0 {
                out.push('|');
            }
            out.push_str(v);
        }
        Ok(out)
    }

    /// Parse a date field's value (XLSX date cells first as ISO text).
    fn date(&self, id: F, f: &CField, v: &str, row: &Row<'_>) -> Option<(DateValue, bool)> {
        if self.is_datetime_cell(id, row) {
            if let Some((d, _)) = parse_with(iso_cell_formats(), v) {
                return Some((d, false));
            }
        }
        let (d, i) = parse_with(&f.formats, v)?;
        let two_digit = matches!(&f.formats[i], DateFormat::Pattern(p) if p.two_digit_year);
        Some((d, two_digit))
    }

    fn bad_date(&self, id: F, f: &CField, v: &str, row: &Row<'_>) -> Rejection {
        let names: Vec<&str> = f.formats.iter().map(|x| x.name()).collect();
        let col = self.columns_label(id);
        // a common layout that reads it, to add to the field's formats
        let hint = match crate::datetime::suggest_formats(v).as_slice() {
            [] => String::new(),
            [one] => format!(" (it reads as {one:?}: add that format?)"),
            many => format!(" (it reads as any of {many:?}: which does the export use?)"),
        };
        row.reject(
            RejectKind::BadDate,
            Some(f.name),
            col.as_deref(),
            format!("value {v:?} matches none of the formats {names:?}{hint}"),
        )
    }

    /// Whether rows name several people side by side (`[[source.party]]`): map them with
    /// [`Mapper::map_parties`].
    pub fn has_parties(&self) -> bool {
        !self.parties.is_empty()
    }

    /// Map a row that names several people side by side: one record per declared party (key
    /// `<record key>|<party>`), a party the row leaves blank included (a record of the
    /// interaction with no person): every version of the row then makes the same keys, so a
    /// newer version replaces each party's record, a party blanked out included. Any party's
    /// bad value rejects the whole row, as a one-person row's would.
    pub fn map_parties(
        &self,
        row: &Row<'_>,
        w: &mut Warnings,
    ) -> Result<Vec<NormalizedRecord>, Rejection> {
        // the interaction once (its rejections and warnings are the row's), then each
        // party's person fields on a copy of it
        let base = self.map(row, w)?;
        let mut out = Vec::with_capacity(self.parties.len());
        for (name, m) in &self.parties {
            let mut r = base.clone();
            m.fill_person(row, &mut r, w)?;
            r.record_key.push('|');
            r.record_key.push_str(name);
            out.push(r);
        }
        Ok(out)
    }

    /// The row's role: its column (after `map`), else the mapping's default.
    fn role(&self, row: &Row<'_>) -> Result<Role, Rejection> {
        match self.value(F::Role, row) {
            Some((f, v)) if !v.is_empty() => v.parse::<Role>().map_err(|e| {
                row.reject(
                    RejectKind::BadValue,
                    Some(f.name),
                    self.columns_label(F::Role).as_deref(),
                    e.to_string(),
                )
            }),
            _ => Ok(self.c.role),
        }
    }

    /// Add the need flags the row's flag columns set.
    fn column_flags(&self, row: &Row<'_>, needs: &mut NeedFlags) {
        for (id, flag) in [
            (F::MentalHealth, "mental_health"),
            (F::SubstanceUse, "substance_use"),
            (F::HousingInstability, "housing_instability"),
        ] {
            if let Some((f, v)) = self.value(id, row) {
                if is_truthy(&v, &f.truthy) {
                    needs.set(flag);
                }
            }
        }
    }

    /// Set `r`'s person fields (role, need flags from columns, transported, identity) from
    /// this mapping's: a party's, over the record of its row's interaction.
    fn fill_person(
        &self,
        row: &Row<'_>,
        r: &mut NormalizedRecord,
        w: &mut Warnings,
    ) -> Result<(), Rejection> {
        for (slot, f) in self.c.slots.iter().enumerate().skip(F::Role as usize) {
            let Some(f) = f else { continue };
            if f.required && self.raw_value(f, slot, row).is_empty() {
                let col = f.constant.is_none().then(|| f.columns.join("+"));
                return Err(row.reject(
                    RejectKind::MissingRequired,
                    Some(f.name),
                    col.as_deref(),
                    format!("required field {} is blank", f.name),
                ));
            }
        }
        r.role = self.role(row)?;
        self.column_flags(row, &mut r.needs);
        if let Some((f, v)) = self.value(F::Transported, row) {
            if !v.is_empty() {
                r.transported = Some(is_truthy(&v, &f.truthy));
            }
        }
        r.identity = self.identity(row, r.local_date, w);
        Ok(())
    }

    /// Map one row. `w` counts values dropped without rejecting the row.
    pub fn map(&self, row: &Row<'_>, w: &mut Warnings) -> Result<NormalizedRecord, Rejection> {
        let c = self.c;
        let record_key = self.key(&self.key, row, "record_key")?;
        let event_key = match &self.event {
            Some(e) => self.key(e, row, "event_key")?,
            None => record_key.clone(),
        };

        // Required fields.
        for (slot, f) in c.slots.iter().enumerate() {
            let Some(f) = f else { continue };
            if !(f.required || slot == F::Start as usize) {
                continue;
            }
            if self.raw_value(f, slot, row).is_empty() {
                let col = if f.constant.is_none() {
                    Some(f.columns.join("+"))
                } else {
                    None
                };
                return Err(row.reject(
                    RejectKind::MissingRequired,
                    Some(f.name),
                    col.as_deref(),
                    format!("required field {} is blank", f.name),
                ));
            }
        }

        // Start.
        let (sf, sv) = self.value(F::Start, row).expect("start is always mapped");
        let start = match self.date(F::Start, sf, &sv, row) {
            Some((DateValue::Instant(i), _)) => i,
            Some((DateValue::Local(l), _)) => local_to_utc(l, c.tz),
            Some((DateValue::Date(d), _)) => {
                let t = self.start_time(row)?;
                local_to_utc(d.and_time(t), c.tz)
            }
            Some((DateValue::Partial(_) | DateValue::Time(_), _)) | None => {
                return Err(self.bad_date(F::Start, sf, &sv, row))
            }
        };
        let local_date = start.with_timezone(&c.tz).date_naive();

        // End.
        let end = match self.value(F::End, row) {
            Some((f, v)) if !v.is_empty() => match self.date(F::End, f, &v, row) {
                Some((DateValue::Instant(i), _)) => Some(i),
                Some((DateValue::Local(l), _)) => Some(local_to_utc(l, c.tz)),
                Some((DateValue::Date(d), _)) => {
                    Some(local_to_utc(d.and_time(NaiveTime::MIN), c.tz))
                }
                _ => {
                    if f.required {
                        return Err(self.bad_date(F::End, f, &v, row));
                    }
                    w.add(Warning::EndUnparseable);
                    None
                }
            },
            _ => None,
        };
        let end = match end {
            Some(e) if e < start => {
                w.add(Warning::EndBeforeStart);
                Some(e)
            }
            e => e,
        };

        // Kind.
        let code_values: [(F, Option<RawAndMapped<'_>>); 3] =
            [F::CallType, F::Disposition, F::Units].map(|id| {
                let slot = id as usize;
                let v = self.c.slots[slot].as_ref().map(|f| {
                    let raw = self.raw_value(f, slot, row);
                    let mapped = apply_map(f, raw.clone());
                    (raw, mapped)
                });
                (id, v)
            });
        let mut code_kind: Option<InteractionKind> = None;
        let mut needs = NeedFlags::default();
        for rule in &c.codes {
            let hit = code_values.iter().any(|(id, v)| {
                *id as usize == rule.field
                    && v.as_ref().is_some_and(|(raw, mapped)| {
                        code_match(&rule.patterns, raw) || code_match(&rule.patterns, mapped)
                    })
            });
            if hit {
                if code_kind.is_none() {
                    code_kind = rule.kind;
                }
                needs = needs.union(rule.flags);
            }
        }
        let kind = match self.value(F::Kind, row) {
            Some((f, v)) if !v.is_empty() => v.parse::<InteractionKind>().map_err(|e| {
                row.reject(
                    RejectKind::BadValue,
                    Some(f.name),
                    self.columns_label(F::Kind).as_deref(),
                    e.to_string(),
                )
            })?,
            _ => code_kind.unwrap_or(c.kind),
        };
        let role = self.role(row)?;
        self.column_flags(row, &mut needs);
        let transported = match self.value(F::Transported, row) {
            Some((f, v)) if !v.is_empty() => Some(is_truthy(&v, &f.truthy)),
            _ => None,
        };

        let location = self.address(F::Location, F::LocationCity, F::LocationZip, row);
        let [(_, ct), (_, disp), (_, units)] = code_values;
        let owned = |x: Option<(Cow<'_, str>, Cow<'_, str>)>| {
            x.and_then(|(_, m)| (!m.is_empty()).then(|| m.into_owned()))
        };
        let identity = self.identity(row, local_date, w);

        Ok(NormalizedRecord {
            source: c.source.clone(),
            agency: c.agency.clone(),
            record_key,
            event_key,
            kind,
            start,
            local_date,
            end,
            location,
            call_type: owned(ct),
            disposition: owned(disp),
            units: owned(units),
            incident_ref: self
                .value(F::IncidentRef, row)
                .and_then(|(_, v)| normalize_incident_ref(&v)),
            role,
            needs,
            transported,
            part2: c.part2,
            identity,
        })
    }

    fn start_time(&self, row: &Row<'_>) -> Result<NaiveTime, Rejection> {
        let Some((f, v)) = self.value(F::StartTime, row) else {
            return Ok(NaiveTime::MIN);
        };
        if v.is_empty() {
            return Ok(NaiveTime::MIN);
        }
        if self.is_datetime_cell(F::StartTime, row) {
            if let Some((d, _)) = parse_with(iso_cell_formats(), &v) {
                match d {
                    DateValue::Time(t) => return Ok(t),
                    DateValue::Local(l) => return Ok(l.time()),
                    _ => {}
                }
            }
        }
        let t = if f.formats.is_empty() {
            parse_time_of_day(&v)
        } else {
            parse_with(&f.formats, &v).and_then(|(d, _)| match d {
                DateValue::Time(t) => Some(t),
                DateValue::Local(l) => Some(l.time()),
                _ => None,
            })
        };
        t.ok_or_else(|| {
            let col = self.column_name(F::StartTime);
            let expected = if f.formats.is_empty() {
                "HHMM, HH:MM or HH:MM:SS (optionally AM/PM)".to_string()
            } else {
                format!(
                    "{:?}",
                    f.formats.iter().map(|x| x.name()).collect::<Vec<_>>()
                )
            };
            row.reject(
                RejectKind::BadDate,
                Some("start_time"),
                col,
                format!("value {v:?} is not a time of day ({expected})"),
            )
        })
    }

    fn address(&self, line: F, city: F, zip: F, row: &Row<'_>) -> Option<Address> {
        let l = self.value(line, row).map(|x| x.1);
        let ci = self.value(city, row).map(|x| x.1);
        let z = self.value(zip, row).map(|x| x.1);
        if l.is_none() && ci.is_none() && z.is_none() {
            return None;
        }
        self.c.address.normalize(
            l.as_deref().unwrap_or(""),
            ci.as_deref().filter(|s| !s.is_empty()),
            z.as_deref().filter(|s| !s.is_empty()),
        )
    }

    fn name_part(&self, id: F, row: &Row<'_>) -> Option<String> {
        let (_, v) = self.value(id, row)?;
        if v.is_empty() || is_placeholder(&v) {
            return None;
        }
        normalize_part(&v)
    }

    fn identity(
        &self,
        row: &Row<'_>,
        start_date: NaiveDate,
        w: &mut Warnings,
    ) -> Option<SourceIdentity> {
        // Name: whole-name column split, then part columns win part by part.
        let mut name = names::PersonName::default();
        let mut placeholder = false;
        if let Some((f, v)) = self.value(F::Name, row) {
            if !v.is_empty() {
                if is_placeholder(&v) {
                    placeholder = true;
                } else {
                    name = names::split_name(&v, f.layout);
                }
            }
        }
        let first = self.name_part(F::FirstName, row);
        let middle = self.name_part(F::MiddleName, row);
        let mut last = self.name_part(F::LastName, row);
        let mut suffix = self
            .value(F::Suffix, row)
            .and_then(|(_, v)| canonical_suffix(&v).map(str::to_string));
        // "SMITH JR" in a last-name column.
        if let Some(l) = &last {
            if let Some((head, tail)) = l.rsplit_once(' ') {
                if let Some(s) = canonical_suffix(tail) {
                    suffix = suffix.or(Some(s.to_string()));
                    last = Some(head.to_string());
                }
            }
        }
        name.first = first.or(name.first);
        name.middle = middle.or(name.middle);
        name.last = last.or(name.last);
        name.suffix = suffix.or(name.suffix);
        if let (Some(f), Some(l)) = (&name.first, &name.last) {
            if is_placeholder(&format!("{f} {l}")) {
                name = names::PersonName::default();
                placeholder = true;
            }
        }
        if placeholder && name.is_empty() {
            w.add(Warning::PlaceholderName);
        }

        let aliases = match self.value(F::Aliases, row) {
            Some((f, v)) if !v.is_empty() => {
                let mut out: Vec<String> = Vec::new();
                for a in v.split(f.separator.as_str()) {
                    if is_placeholder(a) {
                        continue;
                    }
                    if let Some(n) = normalize_part(a) {
                        if !out.contains(&n) {
                            out.push(n);
                        }
                    }
                }
                out
            }
            _ => Vec::new(),
        };

        let dob = match self.value(F::Dob, row) {
            Some((f, v)) if !v.is_empty() => match self.date(F::Dob, f, &v, row) {
                Some((d, two_digit)) => match d.to_partial(self.c.tz) {
                    Some(p) => plausible_dob(p, two_digit, start_date, w),
                    None => {
                        w.add(Warning::DobUnparseable);
                        None
                    }
                },
                None => {
                    w.add(Warning::DobUnparseable);
                    None
                }
            },
            _ => None,
        };

        let sex = match self.value(F::Sex, row) {
            Some((_, v)) if !v.is_empty() => {
                let s = normalize_sex(&v);
                if s.is_none() && !is_placeholder(&v) && !v.eq_ignore_ascii_case("U") {
                    w.add(Warning::SexUnrecognized);
                }
                s.map(str::to_string)
            }
            _ => None,
        };
        let phone = match self.value(F::Phone, row) {
            Some((_, v)) if !v.is_empty() => {
                let p = normalize_phone(&v);
                if p.is_none() {
                    w.add(Warning::PhoneInvalid);
                }
                p
            }
            _ => None,
        };
        let ssn_last4 = match self.value(F::SsnLast4, row) {
            Some((_, v)) if !v.is_empty() => {
                let p = normalize_ssn_last4(&v);
                if p.is_none() {
                    w.add(Warning::SsnInvalid);
                }
                p
            }
            _ => None,
        };
        let agency_person_id = self
            .text(F::AgencyPersonId, row)
            .filter(|s| !is_placeholder(s));
        let id = SourceIdentity {
            first: name.first,
            middle: name.middle,
            last: name.last,
            suffix: name.suffix,
            aliases,
            dob,
            sex,
            race: self.text(F::Race, row),
            ethnicity: self.text(F::Ethnicity, row),
            phone,
            address: self.address(F::Address, F::AddressCity, F::AddressZip, row),
            agency_person_id,
            ssn_last4,
        };
        (!id.is_empty()).then_some(id)
    }
}

fn plausible_dob(
    mut p: PartialDate,
    two_digit_year: bool,
    on: NaiveDate,
    w: &mut Warnings,
) -> Option<PartialDate> {
    let after = |p: &PartialDate| match p.to_date() {
        Some(d) => d > on,
        None => p.year > on.year(),
    };
    if two_digit_year && after(&p) {
        p.year -= 100;
    }
    if p.year < 1900 || after(&p) {
        w.add(Warning::DobImplausible);
        return None;
    }
    Some(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::RowData;
    use familiar_model::mapping::{CodeRule, FileFormat};
    use familiar_model::AddressKind;
    use std::path::Path;

    fn def(fields: Fields) -> SourceDef {
        SourceDef {
            parties: Vec::new(),
            name: "t".into(),
            agency: "DPD".into(),
            files: "x.csv".into(),
            format: FileFormat::Csv,
            delimiter: None,
            encoding: None,
            sheet: None,
            header_row: None,
            columns: None,
            widths: None,
            timezone: None,
            record_key: vec!["id".into()],
            event_key: None,
            kind: "police_incident".into(),
            role: None,
            part2: false,
            fields,
            codes: vec![],
        }
    }

    fn tz() -> Tz {
        "America/New_York".parse().unwrap()
    }

    fn map(
        d: &SourceDef,
        pairs: &[(&str, &str)],
    ) -> Result<(NormalizedRecord, Warnings), Rejection> {
        let c = Compiled::new(d, "DPD", tz()).unwrap();
        let data = RowData::new(Path::new("f.csv"), 2, pairs);
        let row = data.as_row();
        let m = c.bind(&data.names).unwrap();
        let mut w = Warnings::default();
        m.map(&row, &mut w).map(|r| (r, w))
    }

    fn start_only() -> Fields {
        Fields {
            start: FieldSpec::column("when").with_formats(&["%m/%d/%Y %H:%M"]),
            ..Default::default()
        }
    }

    /// An incident row naming an arrestee and a victim side by side.
    fn two_party_def() -> SourceDef {
        use familiar_model::mapping::{PartyDef, PersonFields};
        let mut d = def(Fields {
            end: Some(FieldSpec::column("cleared").with_formats(&["%m/%d/%Y %H:%M"])),
            ..start_only()
        });
        d.role = Some("subject".into());
        d.parties = vec![
            PartyDef {
                name: "arrestee".into(),
                role: Some("arrestee".into()),
                fields: PersonFields {
                    name: Some(
                        FieldSpec::column("ArrName").with_layout(NameLayout::LastCommaFirstMiddle),
                    ),
                    dob: Some(FieldSpec::column("ArrDOB").with_formats(&["%Y-%m-%d"])),
                    ..Default::default()
                },
            },
            PartyDef {
                name: "victim".into(),
                role: None,
                fields: PersonFields {
                    name: Some(
                        FieldSpec::column("VicName").with_layout(NameLayout::LastCommaFirstMiddle),
                    ),
                    role: Some(FieldSpec::column("VicRole")),
                    dob: Some(FieldSpec::column("VicDOB").with_formats(&["%Y-%m-%d"])),
                    ..Default::default()
                },
            },
        ];
        d
    }

    fn map_parties(
        d: &SourceDef,
        pairs: &[(&str, &str)],
    ) -> Result<(Vec<NormalizedRecord>, Warnings), Rejection> {
        let c = Compiled::new(d, "DPD", tz()).unwrap();
        let data = RowData::new(Path::new("f.csv"), 2, pairs);
        let m = c.bind(&data.names).unwrap();
        assert!(m.has_parties());
        let mut w = Warnings::default();
        m.map_parties(&data.as_row(), &mut w).map(|r| (r, w))
    }

    #[test]
    fn a_row_naming_two_parties_is_two_records_of_one_interaction() {
        let d = two_party_def();
        fn row<'a>(
            arr: &'a str,
            vic: &'a str,
            vic_role: &'a str,
            vic_dob: &'a str,
        ) -> Vec<(&'a str, &'a str)> {
            vec![
                ("id", "I-9"),
                ("when", "07/04/2024 23:30"),
                ("cleared", "07/04/2024 22:00"),
                ("ArrName", arr),
                ("ArrDOB", "1980-02-03"),
                ("VicName", vic),
                ("VicRole", vic_role),
                ("VicDOB", vic_dob),
            ]
        }
        let (rs, w) = map_parties(&d, &row("SMITH, JOHN", "ROE, MARY", "", "19xx")).unwrap();
        assert_eq!(rs.len(), 2);
        assert_eq!(rs[0].record_key, "I-9|arrestee");
        assert_eq!(rs[1].record_key, "I-9|victim");
        assert!(rs.iter().all(|r| r.event_key == "I-9"));
        assert_eq!(rs[0].role, Role::Arrestee);
        assert_eq!(
            rs[1].role,
            Role::Subject,
            "the source's role when the party has none"
        );
        let id = |r: &NormalizedRecord| r.identity.clone().unwrap();
        assert_eq!(id(&rs[0]).last.as_deref(), Some("SMITH"));
        assert_eq!(id(&rs[0]).dob.map(|d| d.year), Some(1980));
        assert_eq!(id(&rs[1]).first.as_deref(), Some("MARY"));
        assert!(id(&rs[1]).dob.is_none());
        // the interaction's warning (cleared before it started) once, the victim's dob once
        assert_eq!(w.get(Warning::EndBeforeStart), 1);
        assert_eq!(w.get(Warning::DobUnparseable), 1);

        // a per-row role from the party's own column
        let (rs, _) = map_parties(&d, &row("SMITH, JOHN", "ROE, MARY", "victim", "")).unwrap();
        assert_eq!(rs[1].role, Role::Victim);
        // only the arrestee named: the victim's record names no one
        let (rs, _) = map_parties(&d, &row("SMITH, JOHN", "", "", "")).unwrap();
        assert_eq!(rs.len(), 2);
        assert!(rs[0].identity.is_some());
        assert_eq!(rs[1].record_key, "I-9|victim");
        assert!(rs[1].identity.is_none());
        // nobody named (a placeholder is no one): the same two keys, no person
        let (rs, _) = map_parties(&d, &row("", "UNKNOWN", "", "")).unwrap();
        assert_eq!(rs.len(), 2);
        assert!(rs.iter().all(|r| r.identity.is_none()));
        // a party's field marked required rejects a row that leaves it blank
        let mut strict = two_party_def();
        strict.parties[0].fields.name.as_mut().unwrap().required = true;
        let e = map_parties(&strict, &row("", "ROE, MARY", "", "")).unwrap_err();
        assert_eq!(e.kind, RejectKind::MissingRequired);
        assert_eq!(e.column.as_deref(), Some("ArrName"));
        // a party's bad value rejects the row, naming its column
        let e = map_parties(&d, &row("SMITH, JOHN", "ROE, MARY", "bystander?", "")).unwrap_err();
        assert_eq!(e.kind, RejectKind::BadValue);
        assert_eq!(e.column.as_deref(), Some("VicRole"));
        // and the interaction's bad value, once
        let mut bad = row("SMITH, JOHN", "ROE, MARY", "", "");
        bad[1].1 = "13/45/2024 99:00";
        assert_eq!(map_parties(&d, &bad).unwrap_err().kind, RejectKind::BadDate);
        // every party's columns are the mapping's
        let cols = Compiled::new(&d, "DPD", tz()).unwrap().columns();
        for c in ["ArrName", "ArrDOB", "VicName", "VicRole", "VicDOB", "when"] {
            assert!(cols.iter().any(|x| x == c), "{c} in {cols:?}");
        }
    }

    /// A party fills the slots from `role` on (`fill_person`): they must be exactly the fields
    /// a party may give.
    #[test]
    fn the_person_slots_are_the_party_fields() {
        use familiar_model::mapping::PersonFields;
        let f = || Some(FieldSpec::column("x"));
        let all = PersonFields {
            role: f(),
            transported: f(),
            mental_health: f(),
            substance_use: f(),
            housing_instability: f(),
            name: f(),
            first_name: f(),
            middle_name: f(),
            last_name: f(),
            suffix: f(),
            aliases: f(),
            dob: f(),
            sex: f(),
            race: f(),
            ethnicity: f(),
            phone: f(),
            address: f(),
            address_city: f(),
            address_zip: f(),
            agency_person_id: f(),
            ssn_last4: f(),
        };
        assert_eq!(all.names_set(), FIELD_NAMES[F::Role as usize..].to_vec());
    }

    #[test]
    fn parties_are_checked_when_the_mapping_is_compiled() {
        let err = |d: &SourceDef| Compiled::new(d, "DPD", tz()).unwrap_err().join("\n");
        let mut d = two_party_def();
        d.fields.phone = Some(FieldSpec::column("Phone"));
        assert!(
            err(&d).contains("fields phone describe a person"),
            "{}",
            err(&d)
        );
        let mut d = two_party_def();
        d.parties[1].name = "arrestee".into();
        assert!(
            err(&d).contains("another party has this name"),
            "{}",
            err(&d)
        );
        let mut d = two_party_def();
        d.parties[0].name = "a|b".into();
        assert!(err(&d).contains("without '|'"), "{}", err(&d));
        let mut d = two_party_def();
        d.parties[0].role = Some("boss".into());
        assert!(
            err(&d).contains("party 1 (\"arrestee\"): role"),
            "{}",
            err(&d)
        );
        let mut d = two_party_def();
        d.parties[0].fields = Default::default();
        assert!(err(&d).contains("give the party's fields"), "{}", err(&d));
        // a mistake in the source's own fields is said once, not again per party
        let mut d = two_party_def();
        d.kind = "picnic".into();
        let e = err(&d);
        assert_eq!(e.matches("picnic").count(), 1, "{e}");
    }

    #[test]
    fn keys_dates_and_defaults() {
        let mut d = def(start_only());
        d.record_key = vec!["id".into(), "seq".into()];
        d.event_key = Some(vec!["id".into()]);
        let (r, _) = map(
            &d,
            &[("id", " 17 "), ("seq", "2"), ("when", "07/04/2024 23:30")],
        )
        .unwrap();
        assert_eq!(r.record_key, "17|2");
        assert_eq!(r.event_key, "17");
        assert_eq!(r.start.to_rfc3339(), "2024-07-05T03:30:00+00:00");
        assert_eq!(r.local_date, NaiveDate::from_ymd_opt(2024, 7, 4).unwrap());
        assert_eq!(r.kind, InteractionKind::PoliceIncident);
        assert_eq!(r.role, Role::Subject);
        assert!(r.identity.is_none());

        let e = map(
            &d,
            &[("id", "17"), ("seq", " "), ("when", "07/04/2024 23:30")],
        )
        .unwrap_err();
        assert_eq!(e.kind, RejectKind::MissingRequired);
        assert_eq!(e.column.as_deref(), Some("seq"));
        let e = map(&d, &[("id", "17"), ("seq", "1"), ("when", "")]).unwrap_err();
        assert_eq!(e.kind, RejectKind::MissingRequired);
        assert_eq!(e.field, Some("start"));
        let e = map(
            &d,
            &[("id", "17"), ("seq", "1"), ("when", "13/45/2024 99:00")],
        )
        .unwrap_err();
        assert_eq!(e.kind, RejectKind::BadDate);
        assert_eq!(e.column.as_deref(), Some("when"));
        assert!(e.reason.contains("13/45/2024"), "{}", e.reason);
        assert!(!e.reason.contains("reads as"), "{}", e.reason);
        // a date in another common layout: the reason offers it
        let e = map(
            &d,
            &[("id", "17"), ("seq", "1"), ("when", "2024-07-04 23:30")],
        )
        .unwrap_err();
        assert!(
            e.reason
                .contains("(it reads as \"%Y-%m-%d %H:%M\": add that format?)"),
            "{}",
            e.reason
        );
    }

    #[test]
    fn start_time_combines_with_a_date() {
        let d = def(Fields {
            start: FieldSpec::column("day").with_formats(&["%Y%m%d"]),
            start_time: Some(FieldSpec::column("time")),
            ..Default::default()
        });
        let (r, _) = map(&d, &[("id", "1"), ("day", "20240105"), ("time", "1432")]).unwrap();
        assert_eq!(r.start.to_rfc3339(), "2024-01-05T19:32:00+00:00");
        let (r, _) = map(&d, &[("id", "1"), ("day", "20240105"), ("time", "")]).unwrap();
        assert_eq!(r.start.to_rfc3339(), "2024-01-05T05:00:00+00:00");
        let e = map(&d, &[("id", "1"), ("day", "20240105"), ("time", "25:99")]).unwrap_err();
        assert_eq!((e.kind, e.field), (RejectKind::BadDate, Some("start_time")));
    }

    #[test]
    fn kinds_roles_flags_and_codes() {
        let mut d = def(Fields {
            start: FieldSpec::column("when").with_formats(&["%m/%d/%Y %H:%M"]),
            call_type: Some(FieldSpec::column("nature")),
            kind: Some(FieldSpec::column("k").with_map(&[("ARR", "arrest")])),
            role: Some(FieldSpec::column("r").with_map(&[("V", "victim")])),
            mental_health: Some(FieldSpec::column("mh")),
            transported: Some(FieldSpec::column("tx").with_truthy(&["transported"])),
            ..Default::default()
        });
        d.codes = vec![
            CodeRule {
                field: "call_type".into(),
                values: vec!["MENTAL*".into(), "suicide".into()],
                kind: Some("crisis_response".into()),
                flags: vec!["mental_health".into()],
            },
            CodeRule {
                field: "call_type".into(),
                values: vec!["*".into()],
                kind: None,
                flags: vec!["housing".into()],
            },
        ];
        let base = |nature, k, r, mh, tx| {
            vec![
                ("id", "1"),
                ("when", "01/01/2024 10:00"),
                ("nature", nature),
                ("k", k),
                ("r", r),
                ("mh", mh),
                ("tx", tx),
            ]
        };
        let (r, _) = map(&d, &base("Mental Subject", "", "", "", "")).unwrap();
        assert_eq!(r.kind, InteractionKind::CrisisResponse);
        assert!(r.needs.mental_health && r.needs.housing_instability);
        assert_eq!(r.call_type.as_deref(), Some("Mental Subject"));
        assert_eq!(r.transported, None);
        let (r, _) = map(&d, &base("SUICIDE", "arr", "v", "n", "Transported")).unwrap();
        assert_eq!(r.kind, InteractionKind::Arrest);
        assert_eq!(r.role, Role::Victim);
        assert_eq!(r.transported, Some(true));
        let (r, _) = map(&d, &base("", "", "", "Y", "no")).unwrap();
        assert_eq!(r.kind, InteractionKind::PoliceIncident);
        assert!(r.needs.mental_health && !r.needs.housing_instability);
        assert_eq!(r.transported, Some(false));
        let e = map(&d, &base("", "jaywalk", "", "", "")).unwrap_err();
        assert_eq!(
            (e.kind, e.column.as_deref()),
            (RejectKind::BadValue, Some("k"))
        );
        let e = map(&d, &base("", "", "bystander", "", "")).unwrap_err();
        assert_eq!(e.kind, RejectKind::BadValue);
    }

    #[test]
    fn identity_fields() {
        let d = def(Fields {
            start: FieldSpec::column("when").with_formats(&["%m/%d/%Y %H:%M"]),
            name: Some(FieldSpec::column("name").with_layout(NameLayout::LastCommaFirstMiddle)),
            aliases: Some(FieldSpec::column("aka")),
            dob: Some(FieldSpec::column("dob").with_formats(&["%m/%d/%Y", "%Y"])),
            sex: Some(FieldSpec::column("sex").with_map(&[("1", "M"), ("2", "F")])),
            phone: Some(FieldSpec::column("phone")),
            ssn_last4: Some(FieldSpec::column("ssn")),
            address: Some(FieldSpec {
                columns: vec!["stno".into(), "street".into()],
                ..Default::default()
            }),
            address_zip: Some(FieldSpec::column("zip")),
            ..Default::default()
        });
        let row = |name, dob| {
            vec![
                ("id", "1"),
                ("when", "01/01/2024 10:00"),
                ("name", name),
                ("aka", "Johnny Smith; UNKNOWN ;  j smith"),
                ("dob", dob),
                ("sex", "2"),
                ("phone", "+1 (919) 555-0100"),
                ("ssn", "123-45-6789"),
                ("stno", "12"),
                ("street", "North Elm Street Apt 3"),
                ("zip", "27701-0001"),
            ]
        };
        let (r, w) = map(&d, &row("SMITH JR, JOHN A", "02/29/1980")).unwrap();
        let id = r.identity.unwrap();
        assert_eq!(
            (
                id.first.as_deref(),
                id.middle.as_deref(),
                id.last.as_deref(),
                id.suffix.as_deref()
            ),
            (Some("JOHN"), Some("A"), Some("SMITH"), Some("JR"))
        );
        assert_eq!(id.aliases, vec!["JOHNNY SMITH", "J SMITH"]);
        assert_eq!(id.dob.unwrap().to_string(), "1980-02-29");
        assert_eq!(id.sex.as_deref(), Some("F"));
        assert_eq!(id.phone.as_deref(), Some("9195550100"));
        assert_eq!(id.ssn_last4.as_deref(), Some("6789"));
        let a = id.address.unwrap();
        assert_eq!(
            (a.key.as_str(), a.unit.as_deref(), a.zip.as_deref()),
            ("12 N ELM", Some("3"), Some("27701"))
        );
        assert_eq!(a.kind, AddressKind::Street);
        assert_eq!(w, Warnings::default());

        // Partial DOB; unparseable DOB is a warning, not a reject.
        let (r, _) = map(&d, &row("SMITH, JOHN", "1980")).unwrap();
        assert_eq!(r.identity.unwrap().dob.unwrap().to_string(), "1980");
        let (r, w) = map(&d, &row("SMITH, JOHN", "someday")).unwrap();
        assert_eq!(r.identity.unwrap().dob, None);
        assert_eq!(w.get(Warning::DobUnparseable), 1);
        let (r, w) = map(&d, &row("SMITH, JOHN", "01/01/2030")).unwrap();
        assert_eq!(r.identity.unwrap().dob, None);
        assert_eq!(w.get(Warning::DobImplausible), 1);
        // Placeholders name nobody.
        let (r, w) = map(&d, &row("DOE, JOHN", "")).unwrap();
        assert!(r.identity.is_none());
        assert_eq!(w.get(Warning::PlaceholderName), 1);
    }

    #[test]
    fn separate_name_columns_and_constants() {
        let d = def(Fields {
            start: FieldSpec::column("when").with_formats(&["%m/%d/%Y %H:%M"]),
            first_name: Some(FieldSpec::column("fn")),
            last_name: Some(FieldSpec::column("ln")),
            agency_person_id: Some(FieldSpec::column("pid")),
            race: Some(FieldSpec {
                value: Some("W".into()),
                ..Default::default()
            }),
            ..Default::default()
        });
        let (r, _) = map(
            &d,
            &[
                ("id", "1"),
                ("when", "01/01/2024 10:00"),
                ("fn", "josé"),
                ("ln", "peña jr."),
                ("pid", ""),
            ],
        )
        .unwrap();
        let id = r.identity.unwrap();
        assert_eq!(id.first.as_deref(), Some("JOSÉ"));
        assert_eq!(id.last.as_deref(), Some("PEÑA"));
        assert_eq!(id.suffix.as_deref(), Some("JR"));
        assert_eq!(id.race.as_deref(), Some("W"));
        let (r, _) = map(
            &d,
            &[
                ("id", "1"),
                ("when", "01/01/2024 10:00"),
                ("fn", "John"),
                ("ln", "Doe"),
                ("pid", "J-77"),
            ],
        )
        .unwrap();
        let id = r.identity.unwrap();
        assert_eq!(
            (id.first, id.agency_person_id.as_deref()),
            (None, Some("J-77"))
        );
    }

    #[test]
    fn required_fields_reject_when_blank() {
        let mut f = start_only();
        f.phone = Some(FieldSpec::column("phone").required());
        let d = def(f);
        let e = map(
            &d,
            &[("id", "1"), ("when", "01/01/2024 10:00"), ("phone", " ")],
        )
        .unwrap_err();
        assert_eq!(
            (e.kind, e.field, e.column.as_deref()),
            (RejectKind::MissingRequired, Some("phone"), Some("phone"))
        );
        let e = map(
            &d,
            &[("id", "1"), ("when", "01/01/2024 10:00"), ("phone", "NULL")],
        )
        .unwrap_err();
        assert_eq!(e.kind, RejectKind::MissingRequired);
    }

    #[test]
    fn compile_errors_name_the_field() {
        let mut f = start_only();
        f.start.formats = vec!["%Q".into()];
        f.phone = Some(FieldSpec::column("p").with_formats(&["%Y"]));
        f.kind = Some(FieldSpec::column("k").with_map(&[("x", "bogus")]));
        let mut d = def(f);
        d.kind = "nope".into();
        d.codes = vec![CodeRule {
            field: "disposition".into(),
            values: vec!["X".into()],
            kind: None,
            flags: vec!["hungry".into()],
        }];
        let e = Compiled::new(&d, "DPD", tz()).unwrap_err().join("\n");
        for want in [
            "kind: unknown interaction kind",
            "fields.start: format",
            "fields.phone: format applies only",
            "map \"x\"",
            "not mapped",
            "unknown flag \"hungry\"",
        ] {
            assert!(e.contains(want), "{want:?} not in:\n{e}");
        }
    }

    #[test]
    fn incident_refs_keep_letters_and_digits() {
        assert_eq!(
            normalize_incident_ref(" 2023-00000033 ").as_deref(),
            Some("202300000033")
        );
        assert_eq!(
            normalize_incident_ref("c1").as_deref(),
            normalize_incident_ref("C-1").as_deref()
        );
        for placeholder in [" - ", "N/A", "pending", "0", "0000-000"] {
            assert_eq!(normalize_incident_ref(placeholder), None, "{placeholder}");
        }
    }

    proptest::proptest! {
        /// Normalizing is idempotent and ignores separators and case.
        #[test]
        fn incident_ref_normalization_is_stable(v in "[a-zA-Z0-9 ./#-]{0,20}") {
            let n = normalize_incident_ref(&v);
            if let Some(x) = &n {
                proptest::prop_assert_eq!(normalize_incident_ref(x), Some(x.clone()));
                proptest::prop_assert!(x.chars().all(|c| c.is_ascii_alphanumeric() && !c.is_ascii_lowercase()));
            }
            let spaced: String = v.chars().flat_map(|c| [c, '-']).collect();
            proptest::prop_assert_eq!(normalize_incident_ref(&spaced.to_lowercase()), n);
        }

        /// A row makes one record per declared party, with the same keys whatever the names
        /// hold, all of the row's one interaction.
        #[test]
        fn a_row_makes_one_record_per_party(
            arr in "[A-Za-z ,.'-]{0,16}",
            vic in "[A-Za-z ,.'-]{0,16}",
        ) {
            let d = two_party_def();
            let pairs = [
                ("id", "I-7"),
                ("when", "07/04/2024 23:30"),
                ("cleared", ""),
                ("ArrName", arr.as_str()),
                ("ArrDOB", ""),
                ("VicName", vic.as_str()),
                ("VicRole", ""),
                ("VicDOB", ""),
            ];
            let (rs, _) = map_parties(&d, &pairs).unwrap();
            let keys: Vec<&str> = rs.iter().map(|r| r.record_key.as_str()).collect();
            proptest::prop_assert_eq!(keys, vec!["I-7|arrestee", "I-7|victim"]);
            proptest::prop_assert!(rs.iter().all(|r| r.event_key == "I-7"));
            // a blank party names no one
            for (r, col) in rs.iter().zip([arr.as_str(), vic.as_str()]) {
                if col.trim().is_empty() {
                    proptest::prop_assert!(r.identity.is_none());
                }
            }
        }
    }
}
