//! The mapping file (`sources.toml`): how an agency export becomes canonical records.
//!
//! A new export in a layout Familiar has never seen is onboarded with a mapping only, no code.
//! The format is documented with a complete example in `docs/sources.md`; the types below are
//! its schema (unknown keys are errors, so a typo fails before any data is written).
//!
//! ```toml
//! timezone = "America/New_York"
//!
//! [[source]]
//! name = "decc_cad"
//! agency = "DECC"
//! files = "decc/calls_*.csv"
//! format = "csv"
//! encoding = "windows-1252"
//! record_key = ["CallNo"]
//! kind = "call_911"
//! role = "caller"
//!
//! [source.fields]
//! start = { column = "CallReceived", format = "%m/%d/%Y %H:%M:%S" }
//! name = { column = "CallerName", layout = "last_comma_first_middle" }
//! phone = "CallerPhone"          # a plain string is the column name
//! location = "IncidentAddress"
//! call_type = "Nature"
//!
//! [[source.code]]
//! field = "call_type"
//! values = ["MENTAL*", "SUICID*"]
//! flags = ["mental_health"]
//! ```

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::agency::Agency;

/// The whole mapping file.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourcesConfig {
    /// IANA zone for local times that carry no offset (default "America/New_York").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// Agencies beyond (or overriding) the five defaults.
    #[serde(default, rename = "agency", skip_serializing_if = "Vec::is_empty")]
    pub agencies: Vec<Agency>,
    #[serde(default, rename = "source")]
    pub sources: Vec<SourceDef>,
}

/// File formats ingest reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileFormat {
    Csv,
    Xlsx,
    /// One JSON object per line.
    Jsonl,
    /// One JSON array of objects.
    Json,
    Parquet,
    /// Fixed-width text: `columns` and `widths` say where each column is.
    Fixed,
}

/// One agency export (one or more files of the same layout).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceDef {
    /// Unique name of this source; truth files and reports use it.
    pub name: String,
    /// Agency code (one of the defaults or an `[[agency]]`).
    pub agency: String,
    /// A path or glob, relative to the mapping file's folder.
    pub files: String,
    pub format: FileFormat,
    /// CSV field delimiter, one character (default ",").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
    /// Text encoding label (WHATWG names: "utf-8", "windows-1252", "latin1", "utf-16le", ...).
    /// Default "utf-8". Bytes invalid in it reject their row, never get mangled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    /// XLSX sheet name (default: the first sheet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sheet: Option<String>,
    /// CSV / XLSX: the 1-based line (sheet row) that holds the header, for exports that put a
    /// title or run date above it; the lines above are skipped. Default: the first non-blank.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header_row: Option<u64>,
    /// CSV / XLSX without a header line: the names of its columns, in order (every line is a
    /// row). Fixed-width files: the names of their columns, in order (required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<Vec<String>>,
    /// Fixed-width files: each column's width in characters, in the order of `columns`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub widths: Option<Vec<u32>>,
    /// Zone for this source's local times (default: the file's top-level `timezone`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// Columns whose values, joined, form the stable key of a row within the source.
    pub record_key: Vec<String>,
    /// Columns forming the interaction key (rows sharing it are one interaction). Default:
    /// `record_key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_key: Option<Vec<String>>,
    /// Interaction kind when no field or code says otherwise.
    pub kind: String,
    /// The person's role when no field says otherwise (default "subject").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Every record of this source is a 42 CFR Part 2 substance-use treatment record.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub part2: bool,
    pub fields: Fields,
    /// Code tables: values of a field that set the kind and / or need flags.
    #[serde(default, rename = "code", skip_serializing_if = "Vec::is_empty")]
    pub codes: Vec<CodeRule>,
    /// A row that names several people side by side (an incident export with arrestee and
    /// victim columns): one entry per person, each with its own person fields. Each party the
    /// row names becomes a record of its own, of the same interaction; a row naming none is
    /// kept as the interaction alone. Empty: the row is one record, its person in `fields`.
    #[serde(default, rename = "party", skip_serializing_if = "Vec::is_empty")]
    pub parties: Vec<PartyDef>,
}

/// One of the people a row names side by side (see [`SourceDef::parties`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartyDef {
    /// Appended to the row's record key (`<key>|<name>`): the party's record key.
    pub name: String,
    /// The party's role when no field says otherwise (default: the source's `role`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Where the party's person fields come from.
    pub fields: PersonFields,
}

/// The fields that describe one person of a row (see [`PartyDef`]): as in [`Fields`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<FieldSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transported: Option<FieldSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mental_health: Option<FieldSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub substance_use: Option<FieldSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub housing_instability: Option<FieldSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<FieldSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<FieldSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<FieldSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<FieldSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suffix: Option<FieldSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aliases: Option<FieldSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dob: Option<FieldSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sex: Option<FieldSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub race: Option<FieldSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ethnicity: Option<FieldSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<FieldSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<FieldSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_city: Option<FieldSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_zip: Option<FieldSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agency_person_id: Option<FieldSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssn_last4: Option<FieldSpec>,
}

impl Fields {
    /// The source-level fields that describe the row's person (see [`PersonFields`]), by
    /// name: with parties declared, these belong in each party instead.
    pub fn person_fields_set(&self) -> Vec<&'static str> {
        self.person().names_set()
    }

    fn person(&self) -> PersonFields {
        PersonFields {
            role: self.role.clone(),
            transported: self.transported.clone(),
            mental_health: self.mental_health.clone(),
            substance_use: self.substance_use.clone(),
            housing_instability: self.housing_instability.clone(),
            name: self.name.clone(),
            first_name: self.first_name.clone(),
            middle_name: self.middle_name.clone(),
            last_name: self.last_name.clone(),
            suffix: self.suffix.clone(),
            aliases: self.aliases.clone(),
            dob: self.dob.clone(),
            sex: self.sex.clone(),
            race: self.race.clone(),
            ethnicity: self.ethnicity.clone(),
            phone: self.phone.clone(),
            address: self.address.clone(),
            address_city: self.address_city.clone(),
            address_zip: self.address_zip.clone(),
            agency_person_id: self.agency_person_id.clone(),
            ssn_last4: self.ssn_last4.clone(),
        }
    }

    /// These fields with the person's taken from `p` (the interaction's kept).
    pub fn with_person(&self, p: &PersonFields) -> Fields {
        let p = p.clone();
        Fields {
            role: p.role,
            transported: p.transported,
            mental_health: p.mental_health,
            substance_use: p.substance_use,
            housing_instability: p.housing_instability,
            name: p.name,
            first_name: p.first_name,
            middle_name: p.middle_name,
            last_name: p.last_name,
            suffix: p.suffix,
            aliases: p.aliases,
            dob: p.dob,
            sex: p.sex,
            race: p.race,
            ethnicity: p.ethnicity,
            phone: p.phone,
            address: p.address,
            address_city: p.address_city,
            address_zip: p.address_zip,
            agency_person_id: p.agency_person_id,
            ssn_last4: p.ssn_last4,
            ..self.clone()
        }
    }
}

impl PersonFields {
    /// The names of the fields given.
    pub fn names_set(&self) -> Vec<&'static str> {
        [
            ("role", &self.role),
            ("transported", &self.transported),
            ("mental_health", &self.mental_health),
            ("substance_use", &self.substance_use),
            ("housing_instability", &self.housing_instability),
            ("name", &self.name),
            ("first_name", &self.first_name),
            ("middle_name", &self.middle_name),
            ("last_name", &self.last_name),
            ("suffix", &self.suffix),
            ("aliases", &self.aliases),
            ("dob", &self.dob),
            ("sex", &self.sex),
            ("race", &self.race),
            ("ethnicity", &self.ethnicity),
            ("phone", &self.phone),
            ("address", &self.address),
            ("address_city", &self.address_city),
            ("address_zip", &self.address_zip),
            ("agency_person_id", &self.agency_person_id),
            ("ssn_last4", &self.ssn_last4),
        ]
        .into_iter()
        .filter(|(_, f)| f.is_some())
        .map(|(n, _)| n)
        .collect()
    }
}

/// Canonical fields and where each comes from. Every entry is optional except `start`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fields {
    // --- the interaction ---
    pub start: FieldSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<FieldSpec>,
    /// A separate time-of-day column to combine with a date-only `start` (e.g. "1432" or "14:32").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<FieldSpec>,
    /// Incident location: a one-line address (or several columns joined with spaces).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<FieldSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location_city: Option<FieldSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location_zip: Option<FieldSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_type: Option<FieldSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disposition: Option<FieldSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub units: Option<FieldSpec>,
    /// The dispatch (CAD) incident number the row belongs to, as the 911 center numbers it: the
    /// call number in the 911 export, the CAD reference in police, fire/EMS and crisis-team
    /// exports. Rows of different agencies with the same number come from the same call, which
    /// linkage uses as evidence that they name the same person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident_ref: Option<FieldSpec>,
    /// Per-row kind; values (after `map`) must be interaction kinds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<FieldSpec>,
    /// Per-row role; values (after `map`) must be roles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<FieldSpec>,
    /// EMS transport: values in `truthy` mean transported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transported: Option<FieldSpec>,
    /// Need flags straight from a column: values in `truthy` set the flag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mental_health: Option<FieldSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub substance_use: Option<FieldSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub housing_instability: Option<FieldSpec>,

    // --- the person ---
    /// A whole name in one column; `layout` says how to split it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<FieldSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<FieldSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<FieldSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<FieldSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suffix: Option<FieldSpec>,
    /// Aliases; several in one cell split on `separator` (default ";").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aliases: Option<FieldSpec>,
    /// Date of birth; formats may be partial ("%Y", "%Y-%m").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dob: Option<FieldSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sex: Option<FieldSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub race: Option<FieldSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ethnicity: Option<FieldSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<FieldSpec>,
    /// The person's home address (one line, or several columns joined).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<FieldSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_city: Option<FieldSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_zip: Option<FieldSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agency_person_id: Option<FieldSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssn_last4: Option<FieldSpec>,
}

/// How one canonical field is read. In TOML either a column name (`phone = "Phone"`) or a table.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(from = "FieldSpecRepr", into = "FieldSpecRepr")]
pub struct FieldSpec {
    /// Source columns; several are joined with a space (e.g. house number + street).
    pub columns: Vec<String>,
    /// A constant instead of a column.
    pub value: Option<String>,
    /// Date/time formats tried in order: chrono strftime patterns, or one of "rfc3339",
    /// "epoch" (seconds), "epoch_ms", "excel" (serial day number). Partial DOB patterns allowed.
    pub formats: Vec<String>,
    /// How a whole-name column is laid out.
    pub layout: Option<NameLayout>,
    /// Value translation (keys compared case-insensitively after trimming).
    pub map: BTreeMap<String, String>,
    /// Values meaning "yes" for boolean fields (default: Y, YES, TRUE, 1, T, X).
    pub truthy: Vec<String>,
    /// Split a multi-valued cell (aliases) on this.
    pub separator: Option<String>,
    /// A blank value rejects the row ("missing required field").
    pub required: bool,
}

impl FieldSpec {
    /// A spec reading one column.
    pub fn column(c: &str) -> Self {
        FieldSpec {
            columns: vec![c.to_string()],
            ..Default::default()
        }
    }
    pub fn with_formats(mut self, f: &[&str]) -> Self {
        self.formats = f.iter().map(|s| s.to_string()).collect();
        self
    }
    pub fn with_layout(mut self, l: NameLayout) -> Self {
        self.layout = Some(l);
        self
    }
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }
    pub fn with_map(mut self, pairs: &[(&str, &str)]) -> Self {
        self.map = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self
    }
    pub fn with_truthy(mut self, t: &[&str]) -> Self {
        self.truthy = t.iter().map(|s| s.to_string()).collect();
        self
    }
}

/// The serialized forms of [`FieldSpec`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FieldSpecRepr {
    Column(String),
    Table(FieldSpecTable),
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldSpecTable {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<OneOrMany>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layout: Option<NameLayout>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub map: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub truthy: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub separator: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub required: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl From<FieldSpecRepr> for FieldSpec {
    fn from(r: FieldSpecRepr) -> Self {
        match r {
            FieldSpecRepr::Column(c) => FieldSpec::column(&c),
            FieldSpecRepr::Table(t) => {
                let mut columns = t.columns;
                if let Some(c) = t.column {
                    columns.insert(0, c);
                }
                FieldSpec {
                    columns,
                    value: t.value,
                    formats: match t.format {
                        None => vec![],
                        Some(OneOrMany::One(s)) => vec![s],
                        Some(OneOrMany::Many(v)) => v,
                    },
                    layout: t.layout,
                    map: t.map,
                    truthy: t.truthy,
                    separator: t.separator,
                    required: t.required,
                }
            }
        }
    }
}

impl From<FieldSpec> for FieldSpecRepr {
    fn from(f: FieldSpec) -> Self {
        let simple = f.columns.len() == 1
            && f.value.is_none()
            && f.formats.is_empty()
            && f.layout.is_none()
            && f.map.is_empty()
            && f.truthy.is_empty()
            && f.separator.is_none()
            && !f.required;
        if simple {
            return FieldSpecRepr::Column(f.columns[0].clone());
        }
        let (column, columns) = if f.columns.len() == 1 {
            (Some(f.columns[0].clone()), vec![])
        } else {
            (None, f.columns)
        };
        FieldSpecRepr::Table(FieldSpecTable {
            column,
            columns,
            value: f.value,
            format: match f.formats.len() {
                0 => None,
                1 => Some(OneOrMany::One(f.formats[0].clone())),
                _ => Some(OneOrMany::Many(f.formats)),
            },
            layout: f.layout,
            map: f.map,
            truthy: f.truthy,
            separator: f.separator,
            required: f.required,
        })
    }
}

/// Layouts of a whole name in one column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NameLayout {
    /// "LAST, FIRST MIDDLE" (suffix may follow LAST or come last: "SMITH JR, JOHN A").
    LastCommaFirstMiddle,
    /// "First Middle Last" ("John A. Smith Jr.").
    FirstMiddleLast,
    /// "LAST FIRST MIDDLE" separated by spaces, no comma.
    LastFirstMiddle,
    /// "First L" / "First L." — first name and last initial (crisis teams).
    FirstLastInitial,
    /// First name only.
    FirstOnly,
}

/// A code-table rule: when `field`'s value matches one of `values`, set `kind` and/or `flags`.
/// Values compare case-insensitively; a trailing `*` matches a prefix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeRule {
    /// "call_type" or "disposition".
    pub field: String,
    pub values: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"
timezone = "America/New_York"

[[source]]
name = "decc_cad"
agency = "DECC"
files = "decc/calls_*.csv"
format = "csv"
record_key = ["CallNo"]
kind = "call_911"
role = "caller"

[source.fields]
start = { column = "CallReceived", format = ["%m/%d/%Y %H:%M:%S", "rfc3339"] }
name = { column = "CallerName", layout = "last_comma_first_middle" }
phone = "CallerPhone"
location = { columns = ["StNo", "StName"] }

[[source.code]]
field = "call_type"
values = ["MENTAL*"]
flags = ["mental_health"]
"#;

    #[test]
    fn parses_the_documented_example() {
        let c: SourcesConfig = toml::from_str(EXAMPLE).unwrap();
        let s = &c.sources[0];
        assert_eq!(s.fields.start.columns, vec!["CallReceived"]);
        assert_eq!(s.fields.start.formats.len(), 2);
        assert_eq!(
            s.fields.phone.as_ref().unwrap().columns,
            vec!["CallerPhone"]
        );
        assert_eq!(
            s.fields.name.as_ref().unwrap().layout,
            Some(NameLayout::LastCommaFirstMiddle)
        );
        assert_eq!(s.fields.location.as_ref().unwrap().columns.len(), 2);
        assert_eq!(s.codes[0].flags, vec!["mental_health"]);
    }

    #[test]
    fn round_trips_through_toml() {
        let c: SourcesConfig = toml::from_str(EXAMPLE).unwrap();
        let text = toml::to_string(&c).unwrap();
        let back: SourcesConfig = toml::from_str(&text).unwrap();
        assert_eq!(c, back);
    }

    #[test]
    fn unknown_key_is_an_error_with_its_name() {
        let bad = EXAMPLE.replace("phone = ", "phonee = ");
        let e = toml::from_str::<SourcesConfig>(&bad)
            .unwrap_err()
            .to_string();
        assert!(e.contains("phonee"), "{e}");
    }
}
