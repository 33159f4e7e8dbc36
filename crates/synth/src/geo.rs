//! A Durham-like street grid: streets, premises (houses, apartment buildings, businesses, the
//! group home, shelters) and the many ways one premise gets written down.

use rand::Rng;
use std::collections::BTreeSet;
use std::fmt::Write as _;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Suffix {
    St,
    Ave,
    Rd,
    Dr,
    Blvd,
    Ln,
    Ct,
    Pl,
    Cir,
    Pkwy,
    Way,
    Trl,
}

impl Suffix {
    pub fn abbr(self) -> &'static str {
        match self {
            Suffix::St => "ST",
            Suffix::Ave => "AVE",
            Suffix::Rd => "RD",
            Suffix::Dr => "DR",
            Suffix::Blvd => "BLVD",
            Suffix::Ln => "LN",
            Suffix::Ct => "CT",
            Suffix::Pl => "PL",
            Suffix::Cir => "CIR",
            Suffix::Pkwy => "PKWY",
            Suffix::Way => "WAY",
            Suffix::Trl => "TRL",
        }
    }
    pub fn long(self) -> &'static str {
        match self {
            Suffix::St => "STREET",
            Suffix::Ave => "AVENUE",
            Suffix::Rd => "ROAD",
            Suffix::Dr => "DRIVE",
            Suffix::Blvd => "BOULEVARD",
            Suffix::Ln => "LANE",
            Suffix::Ct => "COURT",
            Suffix::Pl => "PLACE",
            Suffix::Cir => "CIRCLE",
            Suffix::Pkwy => "PARKWAY",
            Suffix::Way => "WAY",
            Suffix::Trl => "TRAIL",
        }
    }
}

/// One street: optional pre-direction, name, suffix, ZIP.
#[derive(Debug, Clone, Copy)]
pub struct Street {
    pub dir: Option<char>,
    pub name: &'static str,
    pub suffix: Suffix,
    pub zip: &'static str,
}

use Suffix::*;

const ZIPS: [&str; 8] = [
    "27701", "27703", "27704", "27705", "27707", "27712", "27713", "27713",
];

/// (direction, name, suffix). Durham-flavoured names plus generic ones; none of the words is
/// also a surname in [`crate::names`] (a public page listing places must not look like it
/// lists people).
static STREET_NAMES: &[(Option<char>, &str, Suffix)] = &[
    (Some('N'), "ROXBORO", St),
    (Some('S'), "ROXBORO", St),
    (Some('E'), "MAIN", St),
    (Some('W'), "MAIN", St),
    (None, "FAYETTEVILLE", St),
    (None, "HIGHLAND", St),
    (None, "ASPEN", Ave),
    (None, "DRIVER", St),
    (None, "GUESS", Rd),
    (None, "HILLANDALE", Rd),
    (Some('N'), "DUKE", St),
    (None, "BROAD", St),
    (None, "GREGSON", St),
    (None, "CHAPEL HILL", Rd),
    (None, "UNIVERSITY", Dr),
    (None, "CORNWALLIS", Rd),
    (None, "HOPE VALLEY", Rd),
    (None, "GARRETT", Rd),
    (None, "ANGIER", Ave),
    (None, "ELLIS", Rd),
    (None, "GEER", St),
    (None, "LAKEWOOD", Ave),
    (None, "MOREHEAD", Ave),
    (None, "PETTIGREW", St),
    (None, "CHESTNUT", St),
    (None, "DUNBAR", St),
    (None, "ENO", St),
    (None, "RIDGEWAY", Ave),
    (Some('N'), "MIAMI", Blvd),
    (Some('S'), "MIAMI", Blvd),
    (None, "LIBERTY", St),
    (None, "CLUB", Blvd),
    (None, "PARK", Ave),
    (None, "OAK", St),
    (None, "MAPLE", St),
    (None, "PINE", St),
    (None, "CEDAR", St),
    (None, "ELM", St),
    (None, "WILLOW", Dr),
    (None, "DOGWOOD", Rd),
    (None, "MAGNOLIA", Ln),
    (None, "LAUREL", Ave),
    (None, "SPRUCE", St),
    (None, "HICKORY", St),
    (None, "LAKE", Dr),
    (None, "HILL", St),
    (None, "RIDGE", Rd),
    (None, "FOREST", Dr),
    (None, "MEADOW", Ln),
    (None, "SPRING", St),
    (None, "CHURCH", St),
    (None, "MILL", Rd),
    (None, "CREEK", Trl),
    (None, "FARRINGTON", Rd),
    (None, "ERWIN", Rd),
    (None, "CARVER", St),
    (None, "GLENN", Rd),
    (None, "OLD OXFORD", Rd),
    (None, "INFINITY", Rd),
    (None, "AVONDALE", Dr),
    (None, "MONTROSE", St),
    (None, "FOXCROFT", St),
    (None, "MULBERRY", St),
    (None, "PEABODY", St),
    (None, "VICKERS", Ave),
    (None, "BACON", St),
    (None, "COLUMBIA", Ave),
    (None, "LINWOOD", Ave),
    (None, "ROLLING HILLS", Rd),
    (None, "TANGLEWOOD", St),
    (None, "ASHBURY", Ave),
    (None, "ROSE OF SHARON", Rd),
    (None, "CARPENTER FLETCHER", Rd),
    (None, "STADIUM", Dr),
    (None, "WOODCROFT", Pkwy),
    (None, "SOUTHPOINT", Dr),
    (None, "RIVERSIDE", Pkwy),
    (None, "WELLONS VILLAGE", Way),
    (None, "BRIGGS", Ave),
    (None, "NEWBERRY", St),
    (None, "OWEN", St),
    (None, "PRIMITIVE", St),
    (None, "ROSEDALE", Ave),
    (None, "SHEPHERD", St),
    (None, "SOUTH", St),
    (None, "TRAVIS", St),
    (None, "WABASH", St),
    (None, "ZION", Ave),
    (None, "BELT", St),
    (None, "CECIL", St),
    (None, "DAKOTA", St),
    (None, "EXPRESS", Dr),
    (None, "FARGO", St),
    (None, "GRANT", St),
    (None, "HAYTI", Pl),
    (None, "IREDELL", St),
    (None, "JUNIPER", Ct),
    (None, "KENT", St),
    (None, "LOWE", St),
    (None, "MONMOUTH", Ave),
    (None, "NINTH", St),
    (None, "ONSLOW", St),
    (None, "POPLAR", Cir),
    (None, "QUAIL RIDGE", Rd),
    (None, "ROCKWOOD", Dr),
    (None, "SEDGEFIELD", St),
    (None, "TRINITY", Ave),
    (None, "UPLAND", St),
    (None, "VALLEY RUN", Dr),
    (None, "WESTGATE", St),
    (None, "YORKTOWN", Cir),
    (None, "ASHE", St),
    (None, "BEN FRANKLIN", Blvd),
    (None, "COLE MILL", Rd),
    (None, "DEARBORN", Dr),
    (None, "EDGEMONT", Cir),
    (None, "FALCONBRIDGE", Rd),
    (None, "GRANDALE", Dr),
    (None, "HARDEE", St),
    (None, "KENTWOOD", Dr),
    (None, "LEBANON", Cir),
    (None, "MERRICK", St),
    (None, "NEW HOPE COMMONS", Dr),
    (None, "OLD CHAPEL HILL", Rd),
    (None, "PILOT", St),
    (None, "REVERE", Rd),
    (None, "SHERRON", Rd),
    (None, "TOWNSEND", St),
    (None, "WAKE FOREST", Rd),
];

pub fn streets() -> Vec<Street> {
    STREET_NAMES
        .iter()
        .enumerate()
        .map(|(i, &(dir, name, suffix))| Street {
            dir,
            name,
            suffix,
            zip: ZIPS[i % ZIPS.len()],
        })
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PremiseKind {
    House,
    Apartments,
    Commercial,
    GroupHome,
    Shelter,
}

impl PremiseKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PremiseKind::House => "residence",
            PremiseKind::Apartments => "apartments",
            PremiseKind::Commercial => "commercial",
            PremiseKind::GroupHome => "group_home",
            PremiseKind::Shelter => "shelter",
        }
    }
}

/// One building (a premise). Units (apartments) are carried by the location, not here.
#[derive(Debug, Clone)]
pub struct Premise {
    pub number: u32,
    pub street: u16,
    pub kind: PremiseKind,
    /// Number of units (apartments), 0 for a single-unit premise.
    pub units: u16,
}

/// Where something happened or where someone lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Loc {
    Premise { id: u32, unit: u16 },
    Intersection(u16, u16),
}

/// How an agency writes addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddrStyle {
    /// Geo-verified CAD: "1012 N ROXBORO ST APT 4" — always the same for a premise.
    Cad,
    /// Typed by hand, upper case: suffix / direction abbreviated or not, "#4" / "APT 4".
    Upper,
    /// Typed by hand, title case: "1012 North Roxboro Street, Apt 4".
    Title,
}

pub struct Geo {
    pub streets: Vec<Street>,
    pub premises: Vec<Premise>,
    pub group_home: u32,
    pub shelters: Vec<u32>,
    pub commercial: Vec<u32>,
    used: BTreeSet<(u16, u32)>,
}

impl Geo {
    pub fn new() -> Self {
        Geo {
            streets: streets(),
            premises: Vec::new(),
            group_home: 0,
            shelters: Vec::new(),
            commercial: Vec::new(),
            used: BTreeSet::new(),
        }
    }

    /// Add a premise at a fresh (street, number).
    pub fn add<R: Rng + ?Sized>(&mut self, rng: &mut R, kind: PremiseKind, units: u16) -> u32 {
        loop {
            let street = rng.gen_range(0..self.streets.len()) as u16;
            let number = match rng.gen_range(0..10) {
                0..=5 => rng.gen_range(100..2500),
                6..=8 => rng.gen_range(2500..5999),
                _ => rng.gen_range(6000..9999),
            };
            if self.used.insert((street, number)) {
                let id = self.premises.len() as u32;
                self.premises.push(Premise {
                    number,
                    street,
                    kind,
                    units,
                });
                match kind {
                    PremiseKind::Commercial => self.commercial.push(id),
                    PremiseKind::Shelter => self.shelters.push(id),
                    PremiseKind::GroupHome => self.group_home = id,
                    _ => {}
                }
                return id;
            }
        }
    }

    pub fn premise(&self, id: u32) -> &Premise {
        &self.premises[id as usize]
    }

    /// The CAD form of a premise without unit: "1012 N ROXBORO ST" (the place key in truth).
    pub fn premise_key(&self, id: u32) -> String {
        let mut s = String::with_capacity(32);
        self.write_loc(
            &mut s,
            Loc::Premise { id, unit: 0 },
            AddrStyle::Cad,
            &mut NoRng,
        );
        s
    }

    /// Write a location in an agency's style. `rng` picks the hand-typed variants.
    pub fn write_loc<R: Rng + ?Sized>(
        &self,
        out: &mut String,
        loc: Loc,
        style: AddrStyle,
        rng: &mut R,
    ) {
        match loc {
            Loc::Premise { id, unit } => {
                let p = &self.premises[id as usize];
                let _ = write!(out, "{} ", p.number);
                self.write_street(out, p.street, style, rng);
                if unit > 0 {
                    match style {
                        AddrStyle::Cad => {
                            let _ = write!(out, " APT {unit}");
                        }
                        AddrStyle::Upper => {
                            let _ = match rng.gen_range(0..3) {
                                0 => write!(out, " APT {unit}"),
                                1 => write!(out, " #{unit}"),
                                _ => write!(out, " UNIT {unit}"),
                            };
                        }
                        AddrStyle::Title => {
                            let _ = match rng.gen_range(0..3) {
                                0 => write!(out, ", Apt {unit}"),
                                1 => write!(out, " #{unit}"),
                                _ => write!(out, " Apt. {unit}"),
                            };
                        }
                    }
                }
            }
            Loc::Intersection(a, b) => {
                self.write_street(out, a, style, rng);
                out.push_str(match style {
                    AddrStyle::Cad => " / ",
                    AddrStyle::Upper => " & ",
                    AddrStyle::Title => " and ",
                });
                self.write_street(out, b, style, rng);
            }
        }
    }

    fn write_street<R: Rng + ?Sized>(
        &self,
        out: &mut String,
        street: u16,
        style: AddrStyle,
        rng: &mut R,
    ) {
        let s = &self.streets[street as usize];
        let (long_dir, long_suffix) = match style {
            AddrStyle::Cad => (false, false),
            _ => (rng.gen_bool(0.3), rng.gen_bool(0.35)),
        };
        let title = style == AddrStyle::Title;
        if let Some(d) = s.dir {
            if long_dir {
                let w = match d {
                    'N' => "NORTH",
                    'S' => "SOUTH",
                    'E' => "EAST",
                    _ => "WEST",
                };
                push_cased(out, w, title);
            } else {
                out.push(d);
            }
            out.push(' ');
        }
        push_cased(out, s.name, title);
        out.push(' ');
        let suf = if long_suffix {
            s.suffix.long()
        } else {
            s.suffix.abbr()
        };
        push_cased(out, suf, title);
    }

    pub fn zip(&self, loc: Loc) -> &'static str {
        match loc {
            Loc::Premise { id, .. } => self.streets[self.premises[id as usize].street as usize].zip,
            Loc::Intersection(a, _) => self.streets[a as usize].zip,
        }
    }
}

impl Default for Geo {
    fn default() -> Self {
        Self::new()
    }
}

/// Push an upper-case word, title-cased when asked ("CHAPEL HILL" → "Chapel Hill").
pub fn push_cased(out: &mut String, upper: &str, title: bool) {
    if !title {
        out.push_str(upper);
        return;
    }
    let mut start = true;
    for c in upper.chars() {
        if start {
            out.push(c);
        } else {
            out.extend(c.to_lowercase());
        }
        start = c == ' ' || c == '-';
    }
}

/// An `Rng` for code paths that never draw (the CAD style is deterministic).
struct NoRng;

impl rand::RngCore for NoRng {
    fn next_u32(&mut self) -> u32 {
        0
    }
    fn next_u64(&mut self) -> u64 {
        0
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        dest.fill(0)
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand::Error> {
        dest.fill(0);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn one_premise_many_spellings() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut g = Geo::new();
        let id = g.add(&mut rng, PremiseKind::Apartments, 40);
        let key = g.premise_key(id);
        assert!(key.chars().next().unwrap().is_ascii_digit());
        assert!(key
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == ' '));
        let mut forms = BTreeSet::new();
        for _ in 0..200 {
            let mut s = String::new();
            g.write_loc(
                &mut s,
                Loc::Premise { id, unit: 4 },
                AddrStyle::Title,
                &mut rng,
            );
            forms.insert(s);
        }
        assert!(forms.len() >= 3, "{forms:?}");
        let mut cad = String::new();
        g.write_loc(
            &mut cad,
            Loc::Premise { id, unit: 4 },
            AddrStyle::Cad,
            &mut rng,
        );
        assert_eq!(cad, format!("{key} APT 4"));
    }
}

#[cfg(test)]
mod no_surname_streets {
    use super::*;

    /// A public page that lists busy places must not appear to list people.
    #[test]
    fn no_street_word_is_a_long_surname() {
        let surnames: std::collections::BTreeSet<String> = [
            crate::names::SURNAMES,
            crate::names::HISP_SURNAMES,
            crate::names::ASIAN_SURNAMES,
        ]
        .iter()
        .flat_map(|t| {
            t.iter()
                .map(|(n, _)| crate::names::fold_accents(n).to_uppercase())
        })
        .collect();
        for s in streets() {
            for w in s.name.split(' ') {
                assert!(
                    w.len() <= 5 || !surnames.contains(w),
                    "street word {w} is a surname"
                );
            }
        }
    }
}
