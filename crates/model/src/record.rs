//! The canonical shape of one ingested row.
//!
//! # What counts as one interaction
//!
//! An **interaction** is one agency touching one person (or one place) at one time. It is keyed by
//! `(source, event_key)`: the agency's own incident / call / run / booking number. A source row
//! is one *involvement* of one person in that interaction (or of no one, for a place-only 911
//! call). So:
//!
//! - a 911 call that dispatches police and HEART is one DECC interaction (the call) plus one DPD
//!   and one HEART interaction (each agency's own response record);
//! - a police incident with two people involved is one DPD interaction that counts once for each
//!   of the two people;
//! - the same person listed twice in one incident (two roles) still counts once for that incident;
//! - a jail booking is one DCSD interaction; its bed-days are a measure of the booking, not more
//!   interactions;
//! - an EMS run is one DFD interaction whether or not it ends in a transport (`transported`).
//!
//! Person counts in the key measures are the number of distinct `(source, event_key)` per person
//! per agency whose local start date falls in the window.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What kind of contact an interaction is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InteractionKind {
    /// A call to 911 (or a non-emergency line) handled by the communications center.
    Call911,
    /// A unit dispatched / responding to a call (when an agency reports responses, not incidents).
    Dispatch,
    /// A police incident or field contact.
    PoliceIncident,
    /// A custodial arrest.
    Arrest,
    /// A fire / EMS run (medical or fire); `transported` tells whether it ended in a transport.
    EmsRun,
    /// A fire incident with no patient care.
    FireIncident,
    /// A jail booking (start = booked, end = released).
    JailBooking,
    /// A crisis-team (e.g. HEART) response.
    CrisisResponse,
    /// Anything else an added agency reports (ED visit, shelter stay, ...).
    Other,
}

impl InteractionKind {
    pub const ALL: [InteractionKind; 9] = [
        InteractionKind::Call911,
        InteractionKind::Dispatch,
        InteractionKind::PoliceIncident,
        InteractionKind::Arrest,
        InteractionKind::EmsRun,
        InteractionKind::FireIncident,
        InteractionKind::JailBooking,
        InteractionKind::CrisisResponse,
        InteractionKind::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            InteractionKind::Call911 => "call_911",
            InteractionKind::Dispatch => "dispatch",
            InteractionKind::PoliceIncident => "police_incident",
            InteractionKind::Arrest => "arrest",
            InteractionKind::EmsRun => "ems_run",
            InteractionKind::FireIncident => "fire_incident",
            InteractionKind::JailBooking => "jail_booking",
            InteractionKind::CrisisResponse => "crisis_response",
            InteractionKind::Other => "other",
        }
    }
}

impl fmt::Display for InteractionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error for a string that names no known enum value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {value:?}; expected one of: {expected}")]
pub struct UnknownValue {
    pub what: &'static str,
    pub value: String,
    pub expected: String,
}

impl FromStr for InteractionKind {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim().to_ascii_lowercase();
        InteractionKind::ALL
            .into_iter()
            .find(|k| k.as_str() == t)
            .ok_or_else(|| UnknownValue {
                what: "interaction kind",
                value: s.to_string(),
                expected: InteractionKind::ALL.map(|k| k.as_str()).join(", "),
            })
    }
}

/// The person's part in an interaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Caller,
    Subject,
    Patient,
    Arrestee,
    Victim,
    Complainant,
    Witness,
    Client,
    Other,
}

impl Role {
    pub const ALL: [Role; 9] = [
        Role::Caller,
        Role::Subject,
        Role::Patient,
        Role::Arrestee,
        Role::Victim,
        Role::Complainant,
        Role::Witness,
        Role::Client,
        Role::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Caller => "caller",
            Role::Subject => "subject",
            Role::Patient => "patient",
            Role::Arrestee => "arrestee",
            Role::Victim => "victim",
            Role::Complainant => "complainant",
            Role::Witness => "witness",
            Role::Client => "client",
            Role::Other => "other",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim().to_ascii_lowercase();
        Role::ALL
            .into_iter()
            .find(|k| k.as_str() == t)
            .ok_or_else(|| UnknownValue {
                what: "role",
                value: s.to_string(),
                expected: Role::ALL.map(|k| k.as_str()).join(", "),
            })
    }
}

/// Needs a source says a person has at this interaction (never inferred from nothing).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NeedFlags {
    #[serde(default)]
    pub mental_health: bool,
    #[serde(default)]
    pub substance_use: bool,
    #[serde(default)]
    pub housing_instability: bool,
}

impl NeedFlags {
    pub const NAMES: [&'static str; 3] = ["mental_health", "substance_use", "housing_instability"];

    /// Set the flag with this name; false if the name is unknown.
    pub fn set(&mut self, name: &str) -> bool {
        match name.trim().to_ascii_lowercase().as_str() {
            "mental_health" => self.mental_health = true,
            "substance_use" => self.substance_use = true,
            "housing_instability" | "housing" => self.housing_instability = true,
            _ => return false,
        }
        true
    }

    pub fn union(self, o: NeedFlags) -> NeedFlags {
        NeedFlags {
            mental_health: self.mental_health || o.mental_health,
            substance_use: self.substance_use || o.substance_use,
            housing_instability: self.housing_instability || o.housing_instability,
        }
    }

    /// Bits for compact storage: 1 = mental health, 2 = substance use, 4 = housing.
    pub fn bits(self) -> u8 {
        (self.mental_health as u8)
            | (self.substance_use as u8) << 1
            | (self.housing_instability as u8) << 2
    }

    pub fn from_bits(b: u8) -> NeedFlags {
        NeedFlags {
            mental_health: b & 1 != 0,
            substance_use: b & 2 != 0,
            housing_instability: b & 4 != 0,
        }
    }

    pub fn names(self) -> Vec<&'static str> {
        let mut v = Vec::new();
        if self.mental_health {
            v.push("mental_health");
        }
        if self.substance_use {
            v.push("substance_use");
        }
        if self.housing_instability {
            v.push("housing_instability");
        }
        v
    }
}

/// A date that may be known only to the year or the month (common for DOBs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PartialDate {
    pub year: i32,
    pub month: Option<u32>,
    pub day: Option<u32>,
}

impl PartialDate {
    pub fn full(d: NaiveDate) -> Self {
        use chrono::Datelike;
        PartialDate {
            year: d.year(),
            month: Some(d.month()),
            day: Some(d.day()),
        }
    }

    pub fn to_date(self) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(self.year, self.month?, self.day?)
    }

    pub fn is_full(self) -> bool {
        self.month.is_some() && self.day.is_some()
    }
}

impl fmt::Display for PartialDate {
    /// `YYYY`, `YYYY-MM` or `YYYY-MM-DD`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}", self.year)?;
        if let Some(m) = self.month {
            write!(f, "-{m:02}")?;
            if let Some(d) = self.day {
                write!(f, "-{d:02}")?;
            }
        }
        Ok(())
    }
}

impl FromStr for PartialDate {
    type Err = String;
    /// Parses the `Display` form back.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.trim().split('-').collect();
        let num = |p: &str| {
            p.parse::<u32>()
                .map_err(|_| format!("not a partial date: {s:?}"))
        };
        let year = parts
            .first()
            .and_then(|y| y.parse::<i32>().ok())
            .ok_or_else(|| format!("not a partial date: {s:?}"))?;
        let month = parts.get(1).map(|m| num(m)).transpose()?;
        let day = parts.get(2).map(|d| num(d)).transpose()?;
        if parts.len() > 3 || month.is_some_and(|m| !(1..=12).contains(&m)) {
            return Err(format!("not a partial date: {s:?}"));
        }
        let pd = PartialDate { year, month, day };
        if pd.day.is_some() && pd.to_date().is_none() {
            return Err(format!("not a calendar date: {s:?}"));
        }
        Ok(pd)
    }
}

/// How an address is to be understood.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AddressKind {
    /// A street address.
    #[default]
    Street,
    /// "HOMELESS", "TRANSIENT", "NO FIXED ADDRESS", "UNKNOWN": not a place to link people on.
    Homeless,
    /// A known shelter / group-living premise (many unrelated people share it).
    Shelter,
    /// An intersection or block ("MAIN ST / 5TH ST", "100 BLK MAIN ST").
    Intersection,
}

impl AddressKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AddressKind::Street => "street",
            AddressKind::Homeless => "homeless",
            AddressKind::Shelter => "shelter",
            AddressKind::Intersection => "intersection",
        }
    }
}

/// A normalized address. `key` is what places group on (see `ingest::address` for the rules).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Address {
    /// As the source wrote it (after decoding), for display to authorized users.
    pub raw: String,
    /// House number, if any.
    pub number: Option<String>,
    /// Normalized street name with standard suffix abbreviations, upper case: "MAIN ST".
    pub street: Option<String>,
    /// Unit / apartment, normalized: "4", "B".
    pub unit: Option<String>,
    pub city: Option<String>,
    /// 5-digit ZIP.
    pub zip: Option<String>,
    pub kind: AddressKind,
    /// Premise key: "123 MAIN ST" (number + street, no unit); places group on this.
    pub key: String,
}

/// A person as one agency recorded them on one row. Linkage turns these into persons.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SourceIdentity {
    pub first: Option<String>,
    pub middle: Option<String>,
    pub last: Option<String>,
    /// "JR", "SR", "II", "III", "IV".
    pub suffix: Option<String>,
    /// Other names the agency records for this person ("a.k.a.").
    #[serde(default)]
    pub aliases: Vec<String>,
    pub dob: Option<PartialDate>,
    /// "M", "F", "X" or None.
    pub sex: Option<String>,
    pub race: Option<String>,
    pub ethnicity: Option<String>,
    /// Digits only (10 digits for US numbers when complete).
    pub phone: Option<String>,
    /// The person's own (home / mailing) address, not the incident location.
    pub address: Option<Address>,
    /// The agency's own person id (jail id, EMS patient id, ...).
    pub agency_person_id: Option<String>,
    /// SSN last four digits, or a hash of the full SSN (never the SSN itself).
    pub ssn_last4: Option<String>,
}

impl SourceIdentity {
    /// True when the row names nobody usable for linkage (no name at all).
    pub fn is_empty(&self) -> bool {
        self.first.is_none() && self.last.is_none() && self.agency_person_id.is_none()
    }
}

/// One accepted row, normalized. Produced by `ingest`, persisted by `store`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NormalizedRecord {
    /// Source name as declared in `sources.toml` (`[[source]] name`).
    pub source: String,
    /// Agency code.
    pub agency: String,
    /// Stable key of this row within its source (from the configured key columns).
    pub record_key: String,
    /// Key of the interaction this row belongs to (several rows may share one incident).
    pub event_key: String,
    pub kind: InteractionKind,
    /// When the interaction started (UTC instant).
    pub start: DateTime<Utc>,
    /// The local calendar date of `start` in the source's time zone; windows are cut on it.
    pub local_date: NaiveDate,
    /// When it ended (release from jail, unit cleared), if known.
    pub end: Option<DateTime<Utc>>,
    /// Where the interaction happened.
    pub location: Option<Address>,
    /// Call type / nature code / offense / primary impression, as coded by the source.
    pub call_type: Option<String>,
    pub disposition: Option<String>,
    /// Responding units, as the source lists them.
    pub units: Option<String>,
    /// The dispatch (CAD) incident number, letters and digits only, upper-cased (see
    /// `Fields::incident_ref`).
    #[serde(default)]
    pub incident_ref: Option<String>,
    pub role: Role,
    pub needs: NeedFlags,
    /// EMS runs: whether the patient was transported.
    pub transported: Option<bool>,
    /// 42 CFR Part 2: this record comes from a substance-use treatment program and must never
    /// reach law-enforcement roles.
    #[serde(default)]
    pub part2: bool,
    /// The person the row names, if any.
    pub identity: Option<SourceIdentity>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_and_role_round_trip() {
        for k in InteractionKind::ALL {
            assert_eq!(k.as_str().parse::<InteractionKind>().unwrap(), k);
        }
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
        }
        let e = "bogus".parse::<Role>().unwrap_err();
        assert!(e.to_string().contains("caller"));
    }

    #[test]
    fn need_bits_round_trip() {
        for b in 0..8u8 {
            assert_eq!(NeedFlags::from_bits(b).bits(), b);
        }
        let mut n = NeedFlags::default();
        assert!(n.set("housing"));
        assert!(!n.set("nonsense"));
        assert_eq!(n.names(), vec!["housing_instability"]);
    }

    #[test]
    fn partial_date_display_parse() {
        for s in ["1980", "1980-02", "1980-02-29"] {
            assert_eq!(s.parse::<PartialDate>().unwrap().to_string(), s);
        }
        assert!("1981-02-29".parse::<PartialDate>().is_err());
        assert!("1981-13".parse::<PartialDate>().is_err());
        assert!("x".parse::<PartialDate>().is_err());
    }
}
