//! Address normalization: one-line addresses as agencies type them → [`Address`] with a premise
//! `key` that places group on.
//!
//! # Rules, in the order they apply
//!
//! 1. **Text.** Upper case; `.` `'` and other punctuation become spaces (the apostrophe is
//!    dropped: `MARY'S` → `MARYS`); `#`, `/`, `&`, `@` and `,` are kept as separate tokens; a `-`
//!    inside a word or number is kept (`123-B`, `GARCIA-LOPEZ`); whitespace collapses.
//! 2. **Homeless / unknown.** A value that is only `HOMELESS`, `TRANSIENT`, `NO FIXED ADDRESS`,
//!    `NFA`, `NO FIXED ABODE`, `UNHOUSED`, `UNKNOWN`, `UNK`, `NONE`, `N/A`, `NO ADDRESS`,
//!    `REFUSED`, ..., or that contains the word `HOMELESS` or `TRANSIENT` anywhere, is
//!    [`AddressKind::Homeless`] with an empty `key` (it is not a place to group on).
//! 3. **City, state, ZIP.** With commas, the first comma part is the street line; later parts
//!    give city, a 2-letter state (dropped) and the ZIP. Without commas, a trailing
//!    `STATE ZIP` / `STATE` is removed, and words after the street suffix become the city. City
//!    and ZIP columns, when mapped, win over what the line says. ZIP = the first 5 digits of a
//!    5- or 9-digit value.
//! 4. **Shelters.** A value containing a known shelter phrase (default [`DEFAULT_SHELTER_WORDS`]:
//!    `SHELTER`, `RESCUE MISSION`, `URBAN MINISTRIES`, ...; the list is configurable) is
//!    [`AddressKind::Shelter`]; if a house number remains after removing the phrase, the key is
//!    the street key below, else the shelter's name (read like a street name).
//! 5. **Intersections and blocks.** `MAIN ST / 5TH ST` (also `&`, `@`, `AT`, `AND`) is
//!    [`AddressKind::Intersection`], key = the two street keys sorted and joined with ` & `
//!    (`5TH & MAIN`), so the order the call-taker typed does not matter. `100 BLK MAIN ST` (also
//!    `BLOCK`, `BLOCK OF`) is an intersection-kind block with key `100 BLK MAIN`.
//! 6. **Street addresses.** The house number is the first word when it starts with a digit
//!    (`123`, `123A`, `123-125`, `123 1/2`); an all-zero number is dropped. Unit designators
//!    (`APT`, `UNIT`, `#`, `STE`, `SUITE`, `RM`, `LOT`, `SPC`, `TRLR`, `BLDG`, `FL`, ...) and the
//!    word after them go to `unit` (`#4`, `APT 4` → `4`); so does a lone word with a digit or a
//!    single letter after the street suffix (`123 MAIN ST 4B`). Words after the unit are
//!    dropped.
//! 7. **Street name.** The last word, when it is a USPS street suffix and not the only word, is
//!    abbreviated (`STREET` → `ST`, `AVENUE` → `AVE`, `BOULEVARD` → `BLVD`, ... [`SUFFIXES`]);
//!    directionals in front (followed by a name) or at the end are abbreviated (`NORTH` → `N`,
//!    `SOUTHWEST` → `SW`); spelled ordinals become numerals (`FIFTH` → `5TH`); `SAINT` → `ST`,
//!    `MOUNT` → `MT`, `FORT` → `FT`, `HIGHWAY` → `HWY`, `ROUTE` → `RTE` inside the name.
//! 8. **The key** is `NUMBER [PREDIR] NAME [POSTDIR]`: the street **without its suffix** and
//!    without the unit, so `123 Main St`, `123 MAIN STREET APT 4` and `123 Main` all group as
//!    `123 MAIN`. The trade-off: `123 Main St` and `123 Main Ave` share a key (rare in one county,
//!    while a missing or mistyped suffix is common in CAD data). `street` keeps the suffix for
//!    display. With no house number the key is the street / place name alone (`WALMART`).
//!
//! Normalizing is idempotent: normalizing [`render`] of a normalized address gives the same key
//! (property-tested). (The key itself is not meant to be re-normalized: `100 OAK PARK AVE` has
//! key `100 OAK PARK`, which read as an address would lose `PARK` as a suffix.)

use familiar_model::{Address, AddressKind};

/// Shelter / group-living phrases recognised by default.
pub const DEFAULT_SHELTER_WORDS: &[&str] = &[
    "SHELTER",
    "RESCUE MISSION",
    "URBAN MINISTRIES",
    "SALVATION ARMY",
    "HOMELESS SERVICES",
    "EMERGENCY HOUSING",
];

/// USPS street suffixes (Publication 28, C1): every common spelling → the standard abbreviation.
pub const SUFFIXES: &[(&str, &str)] = &[
    ("ALLEY", "ALY"),
    ("ALY", "ALY"),
    ("ANNEX", "ANX"),
    ("ANX", "ANX"),
    ("ARCADE", "ARC"),
    ("AVENUE", "AVE"),
    ("AVE", "AVE"),
    ("AV", "AVE"),
    ("AVEN", "AVE"),
    ("AVN", "AVE"),
    ("AVNUE", "AVE"),
    ("BAYOU", "BYU"),
    ("BEACH", "BCH"),
    ("BEND", "BND"),
    ("BND", "BND"),
    ("BLUFF", "BLF"),
    ("BOTTOM", "BTM"),
    ("BOULEVARD", "BLVD"),
    ("BLVD", "BLVD"),
    ("BOUL", "BLVD"),
    ("BOULV", "BLVD"),
    ("BRANCH", "BR"),
    ("BRIDGE", "BRG"),
    ("BROOK", "BRK"),
    ("BYPASS", "BYP"),
    ("BYP", "BYP"),
    ("CAUSEWAY", "CSWY"),
    ("CENTER", "CTR"),
    ("CENTRE", "CTR"),
    ("CTR", "CTR"),
    ("CIRCLE", "CIR"),
    ("CIR", "CIR"),
    ("CIRC", "CIR"),
    ("CIRCL", "CIR"),
    ("CRCL", "CIR"),
    ("CLIFF", "CLF"),
    ("CLUB", "CLB"),
    ("COMMON", "CMN"),
    ("COMMONS", "CMNS"),
    ("CORNER", "COR"),
    ("CORNERS", "CORS"),
    ("COURSE", "CRSE"),
    ("COURT", "CT"),
    ("CT", "CT"),
    ("CRT", "CT"),
    ("COURTS", "CTS"),
    ("COVE", "CV"),
    ("CV", "CV"),
    ("CREEK", "CRK"),
    ("CRK", "CRK"),
    ("CRESCENT", "CRES"),
    ("CRES", "CRES"),
    ("CREST", "CRST"),
    ("CROSSING", "XING"),
    ("XING", "XING"),
    ("CROSSROAD", "XRD"),
    ("DALE", "DL"),
    ("DAM", "DM"),
    ("DIVIDE", "DV"),
    ("DRIVE", "DR"),
    ("DR", "DR"),
    ("DRV", "DR"),
    ("DRIV", "DR"),
    ("ESTATE", "EST"),
    ("ESTATES", "ESTS"),
    ("EXPRESSWAY", "EXPY"),
    ("EXPY", "EXPY"),
    ("EXPWY", "EXPY"),
    ("EXTENSION", "EXT"),
    ("EXT", "EXT"),
    ("FALLS", "FLS"),
    ("FERRY", "FRY"),
    ("FIELD", "FLD"),
    ("FIELDS", "FLDS"),
    ("FLAT", "FLT"),
    ("FLATS", "FLTS"),
    ("FOREST", "FRST"),
    ("FORGE", "FRG"),
    ("FORK", "FRK"),
    ("FORKS", "FRKS"),
    ("FREEWAY", "FWY"),
    ("FWY", "FWY"),
    ("GARDEN", "GDN"),
    ("GARDENS", "GDNS"),
    ("GDNS", "GDNS"),
    ("GATEWAY", "GTWY"),
    ("GLEN", "GLN"),
    ("GREEN", "GRN"),
    ("GROVE", "GRV"),
    ("GRV", "GRV"),
    ("HARBOR", "HBR"),
    ("HAVEN", "HVN"),
    ("HEIGHTS", "HTS"),
    ("HTS", "HTS"),
    ("HIGHWAY", "HWY"),
    ("HWY", "HWY"),
    ("HIGHWY", "HWY"),
    ("HILL", "HL"),
    ("HILLS", "HLS"),
    ("HOLLOW", "HOLW"),
    ("ISLAND", "IS"),
    ("JUNCTION", "JCT"),
    ("KNOLL", "KNL"),
    ("KNOLLS", "KNLS"),
    ("LAKE", "LK"),
    ("LAKES", "LKS"),
    ("LANDING", "LNDG"),
    ("LANE", "LN"),
    ("LN", "LN"),
    ("LOOP", "LOOP"),
    ("MALL", "MALL"),
    ("MANOR", "MNR"),
    ("MEADOW", "MDW"),
    ("MEADOWS", "MDWS"),
    ("MILL", "ML"),
    ("MILLS", "MLS"),
    ("MOTORWAY", "MTWY"),
    ("OVAL", "OVAL"),
    ("OVERPASS", "OPAS"),
    ("PARK", "PARK"),
    ("PARKWAY", "PKWY"),
    ("PKWY", "PKWY"),
    ("PKY", "PKWY"),
    ("PASS", "PASS"),
    ("PATH", "PATH"),
    ("PIKE", "PIKE"),
    ("PINES", "PNES"),
    ("PLACE", "PL"),
    ("PL", "PL"),
    ("PLAZA", "PLZ"),
    ("PLZ", "PLZ"),
    ("POINT", "PT"),
    ("PT", "PT"),
    ("POINTE", "PTE"),
    ("PORT", "PRT"),
    ("PRAIRIE", "PR"),
    ("RIDGE", "RDG"),
    ("RDG", "RDG"),
    ("RIVER", "RIV"),
    ("ROAD", "RD"),
    ("RD", "RD"),
    ("ROADS", "RDS"),
    ("ROW", "ROW"),
    ("RUN", "RUN"),
    ("SHOAL", "SHL"),
    ("SHORE", "SHR"),
    ("SKYWAY", "SKWY"),
    ("SPRING", "SPG"),
    ("SPRINGS", "SPGS"),
    ("SQUARE", "SQ"),
    ("SQ", "SQ"),
    ("STATION", "STA"),
    ("STREET", "ST"),
    ("ST", "ST"),
    ("STR", "ST"),
    ("STRT", "ST"),
    ("STREETS", "STS"),
    ("SUMMIT", "SMT"),
    ("TERRACE", "TER"),
    ("TER", "TER"),
    ("TERR", "TER"),
    ("TRACE", "TRCE"),
    ("TRACK", "TRAK"),
    ("TRAIL", "TRL"),
    ("TRL", "TRL"),
    ("TURNPIKE", "TPKE"),
    ("TPKE", "TPKE"),
    ("UNDERPASS", "UPAS"),
    ("UNION", "UN"),
    ("VALLEY", "VLY"),
    ("VIADUCT", "VIA"),
    ("VIEW", "VW"),
    ("VILLAGE", "VLG"),
    ("VILLE", "VL"),
    ("VISTA", "VIS"),
    ("WALK", "WALK"),
    ("WAY", "WAY"),
    ("WY", "WAY"),
    ("WELLS", "WLS"),
];

const DIRECTIONALS: &[(&str, &str)] = &[
    ("NORTH", "N"),
    ("SOUTH", "S"),
    ("EAST", "E"),
    ("WEST", "W"),
    ("NORTHEAST", "NE"),
    ("NORTHWEST", "NW"),
    ("SOUTHEAST", "SE"),
    ("SOUTHWEST", "SW"),
    ("N", "N"),
    ("S", "S"),
    ("E", "E"),
    ("W", "W"),
    ("NE", "NE"),
    ("NW", "NW"),
    ("SE", "SE"),
    ("SW", "SW"),
];

const NAME_WORDS: &[(&str, &str)] = &[
    ("FIRST", "1ST"),
    ("SECOND", "2ND"),
    ("THIRD", "3RD"),
    ("FOURTH", "4TH"),
    ("FIFTH", "5TH"),
    ("SIXTH", "6TH"),
    ("SEVENTH", "7TH"),
    ("EIGHTH", "8TH"),
    ("NINTH", "9TH"),
    ("TENTH", "10TH"),
    ("ELEVENTH", "11TH"),
    ("TWELFTH", "12TH"),
    ("THIRTEENTH", "13TH"),
    ("FOURTEENTH", "14TH"),
    ("FIFTEENTH", "15TH"),
    ("SIXTEENTH", "16TH"),
    ("SEVENTEENTH", "17TH"),
    ("EIGHTEENTH", "18TH"),
    ("NINETEENTH", "19TH"),
    ("TWENTIETH", "20TH"),
    ("SAINT", "ST"),
    ("MOUNT", "MT"),
    ("FORT", "FT"),
    ("HIGHWAY", "HWY"),
    ("ROUTE", "RTE"),
    ("BLOCK", "BLK"),
];

const UNIT_WORDS: &[&str] = &[
    "APT",
    "APARTMENT",
    "UNIT",
    "#",
    "STE",
    "SUITE",
    "RM",
    "ROOM",
    "LOT",
    "SPC",
    "SPACE",
    "TRLR",
    "TRAILER",
    "BLDG",
    "BUILDING",
    "FL",
    "FLOOR",
    "DEPT",
    "OFC",
    "OFFICE",
];

const CONNECTORS: &[&str] = &["/", "&", "@", "AT", "AND"];

const US_STATES: &[&str] = &[
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN", "IA",
    "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM",
    "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA",
    "WV", "WI", "WY", "PR",
];

fn lookup(table: &[(&str, &'static str)], t: &str) -> Option<&'static str> {
    table.iter().find(|(k, _)| *k == t).map(|(_, v)| *v)
}

/// The standard abbreviation of a street suffix written in any listed form (or already
/// abbreviated).
fn suffix(t: &str) -> Option<&'static str> {
    lookup(SUFFIXES, t).or_else(|| SUFFIXES.iter().find(|(_, v)| *v == t).map(|(_, v)| *v))
}

fn directional(t: &str) -> Option<&'static str> {
    lookup(DIRECTIONALS, t)
}

fn is_unit_word(t: &str) -> bool {
    UNIT_WORDS.contains(&t)
}

/// Normalizes addresses with a configurable list of shelter phrases.
#[derive(Debug, Clone)]
pub struct AddressNormalizer {
    /// Shelter phrases as token lists.
    shelters: Vec<Vec<String>>,
}

impl Default for AddressNormalizer {
    fn default() -> Self {
        AddressNormalizer::new(DEFAULT_SHELTER_WORDS)
    }
}

impl AddressNormalizer {
    /// A normalizer recognising these shelter phrases (case-insensitive, whole words).
    pub fn new<S: AsRef<str>>(shelter_words: &[S]) -> Self {
        AddressNormalizer {
            shelters: shelter_words
                .iter()
                .map(|w| tokenize(w.as_ref()))
                .filter(|t| !t.is_empty())
                .collect(),
        }
    }

    /// Normalize a one-line address with optional city / ZIP columns. None when blank.
    pub fn normalize(&self, raw: &str, city: Option<&str>, zip: Option<&str>) -> Option<Address> {
        let raw_trim = raw.trim();
        let city_col = city.and_then(normalize_city);
        let zip_col = zip.and_then(normalize_zip);
        if raw_trim.is_empty() {
            if city_col.is_none() && zip_col.is_none() {
                return None;
            }
            return Some(Address {
                raw: String::new(),
                city: city_col,
                zip: zip_col,
                kind: AddressKind::Street,
                ..Default::default()
            });
        }
        let mut a = Address {
            raw: raw_trim.to_string(),
            ..Default::default()
        };
        let mut buf = String::with_capacity(raw_trim.len() + 8);
        tokenize_into(raw_trim, &mut buf);
        let toks = tokens_of(&buf);
        if is_homeless(&toks) {
            a.kind = AddressKind::Homeless;
            a.city = city_col;
            a.zip = zip_col;
            return Some(a);
        }

        // Shelters: remove the phrase; what is left may still be a street address.
        let mut shelter = false;
        let mut rest = Vec::new();
        if self
            .shelters
            .iter()
            .any(|p| find_phrase(&toks, p).is_some())
        {
            rest = toks.clone();
            for phrase in &self.shelters {
                while let Some(pos) = find_phrase(&rest, phrase) {
                    shelter = true;
                    rest.drain(pos..pos + phrase.len());
                }
            }
        }
        let (mut base, orig) = if shelter {
            (trim_connectors(rest), Some(toks))
        } else {
            (trim_connectors(toks), None)
        };
        // "A / / B" is "A / B".
        base.dedup_by(|a, b| CONNECTORS.contains(a) && CONNECTORS.contains(b));
        // "100 MAIN ST / 5TH ST": a street address with a cross-street note; the note goes
        // (before city / state / ZIP are looked for at the end).
        // "WALMART / 100 ELM ST": a place name, then its address; the address stays.
        if let Some(ci) = (1..base.len()).find(|&i| CONNECTORS.contains(&base[i])) {
            if base.first().is_some_and(|t| is_house_number(t)) {
                if base.get(ci + 1).is_some_and(|t| !is_unit_word(t)) {
                    base.truncate(ci);
                }
            } else if base.get(ci + 1).is_some_and(|t| is_house_number(t)) {
                base.drain(..=ci);
                if let Some(cj) = base.iter().position(|t| CONNECTORS.contains(t)) {
                    base.truncate(cj);
                }
            }
        }

        // City / state / ZIP.
        let (street_toks, line_city, line_zip) = split_locality(base);
        a.city = city_col.or(line_city);
        a.zip = zip_col.or(line_zip);
        if !shelter && is_homeless(&street_toks) {
            // "UNKNOWN, DURHAM NC"
            a.kind = AddressKind::Homeless;
            return Some(a);
        }
        // A shelter known by name (no house number once the phrase is removed): the name,
        // shelter words included, is read like a street name.
        let street_toks = if shelter && !street_toks.first().is_some_and(|t| is_house_number(t)) {
            split_locality(orig.expect("kept for shelters")).0
        } else {
            street_toks
        };

        let mut street_toks = trim_connectors(street_toks);

        // Intersections.
        if let Some(ci) = street_toks
            .iter()
            .enumerate()
            .position(|(i, t)| i > 0 && CONNECTORS.contains(t))
        {
            let left = &street_toks[..ci];
            let right = &street_toks[ci + 1..];
            let right = right
                .iter()
                .position(|t| CONNECTORS.contains(t))
                .map_or(right, |j| &right[..j]);
            let left_is_numbered = left.first().is_some_and(|t| is_house_number(t));
            let right_is_numbered = right.first().is_some_and(|t| is_house_number(t));
            let unit_right = right.first().is_some_and(|t| is_unit_word(t));
            if left_is_numbered && !right.is_empty() && !unit_right {
                // "100 MAIN ST / 5TH ST": a street address with a cross-street note.
                street_toks.truncate(ci);
            } else if right_is_numbered {
                // "WALMART / 100 ELM ST": a place name, then its address.
                street_toks = right.to_vec();
            } else if !right.is_empty() && !unit_right {
                // Units make no sense at a corner: drop them from both sides.
                let (ls, lk) = street_name(split_unit(left).0);
                let (rs, rk) = street_name(split_unit(right).0);
                let has_alpha = |k: &str| k.chars().any(|c| c.is_alphabetic());
                if has_alpha(&lk) && has_alpha(&rk) {
                    a.kind = if shelter {
                        AddressKind::Shelter
                    } else {
                        AddressKind::Intersection
                    };
                    let (first, second) = if lk <= rk { (lk, rk) } else { (rk, lk) };
                    a.street = Some(format!("{ls} & {rs}"));
                    a.key = format!("{first} & {second}");
                    return Some(a);
                }
            }
            // Not an intersection after all: drop the connector words.
            street_toks.retain(|t| !CONNECTORS.contains(t));
        }

        // House number (and "1/2").
        // All-zero "numbers" are placeholders.
        let mut i = street_toks
            .iter()
            .take_while(|t| t.bytes().all(|b| b == b'0'))
            .count();
        let mut number = None;
        if street_toks.get(i).is_some_and(|t| is_house_number(t)) {
            let mut n = street_toks[i].to_string();
            i += 1;
            if street_toks.get(i).is_some_and(|t| is_fraction(t)) {
                n.push(' ');
                n.push_str(street_toks[i]);
                i += 1;
            }
            number = Some(n);
        }

        // Blocks: "100 BLK MAIN ST", "100 BLOCK OF MAIN ST".
        // (A block is not a premise, so a shelter phrase does not make it a shelter.)
        let is_block = street_toks
            .get(i)
            .is_some_and(|t| *t == "BLK" || *t == "BLOCK");
        if let (true, Some(n)) = (is_block, &number) {
            let mut j = i + 1;
            if street_toks.get(j).is_some_and(|t| *t == "OF") {
                j += 1;
            }
            let (body, unit) = split_unit(&street_toks[j..]);
            let (s, k) = street_name(body);
            if !k.is_empty() {
                a.unit = unit;
                a.kind = AddressKind::Intersection;
                a.key = format!("{n} BLK {k}");
                a.number = number;
                a.street = Some(s);
                return Some(a);
            }
        }

        let (body, unit) = split_unit(&street_toks[i..]);
        let (s, k) = street_name(body);
        a.unit = unit;
        a.kind = if shelter {
            AddressKind::Shelter
        } else {
            AddressKind::Street
        };
        a.key = match (&number, k.is_empty()) {
            (Some(n), false) => format!("{n} {k}"),
            (Some(n), true) => n.clone(),
            (None, _) => k,
        };
        a.street = (!s.is_empty()).then_some(s);
        a.number = number;
        Some(a)
    }
}

/// Normalize with the default shelter list.
pub fn normalize(raw: &str, city: Option<&str>, zip: Option<&str>) -> Option<Address> {
    static DEFAULT: std::sync::OnceLock<AddressNormalizer> = std::sync::OnceLock::new();
    DEFAULT
        .get_or_init(AddressNormalizer::default)
        .normalize(raw, city, zip)
}

/// One-line form of a normalized address: `NUMBER STREET UNIT u`, `A & B` for intersections,
/// `NUMBER BLK STREET` for blocks, `HOMELESS` for homeless.
pub fn render(a: &Address) -> String {
    let n = a.number.as_deref().unwrap_or("");
    let street = a.street.as_deref().unwrap_or("");
    // Blocks are the intersection-kind addresses with a house number.
    let block = a.kind == AddressKind::Intersection && !n.is_empty();
    match a.kind {
        AddressKind::Homeless => "HOMELESS".to_string(),
        _ => {
            let mut out = if block {
                format!("{n} BLK {street}")
            } else {
                [n, street]
                    .iter()
                    .filter(|s| !s.is_empty())
                    .copied()
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            if let Some(u) = &a.unit {
                out.push_str(" UNIT ");
                out.push_str(u);
            }
            out
        }
    }
}

/// Rule 1: write `s` normalized into `buf` as tokens separated by single spaces.
fn tokenize_into(s: &str, buf: &mut String) {
    buf.clear();
    let mut tok = 0; // where the current token starts in buf
    fn end_token(buf: &mut String, tok: &mut usize) {
        while buf.len() > *tok && buf.ends_with('-') {
            buf.pop();
        }
        if buf.len() > *tok {
            buf.push(' ');
        }
        *tok = buf.len();
    }
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_alphanumeric() {
            if c.is_ascii() {
                buf.push(c.to_ascii_uppercase());
            } else {
                buf.extend(c.to_uppercase());
            }
        } else if c == '-' {
            // Kept inside a word; leading and trailing hyphens are dropped.
            if buf.len() > tok {
                buf.push('-');
            }
        } else if c == '\'' || c == '’' {
            // dropped: MARY'S → MARYS
        } else if c == '/'
            && buf.len() > tok
            && buf[tok..].bytes().all(|b| b.is_ascii_digit())
            && chars.peek().is_some_and(|n| n.is_ascii_digit())
        {
            buf.push('/'); // a fraction like 1/2
        } else if matches!(c, '#' | '/' | '&' | '@' | ',') {
            end_token(buf, &mut tok);
            buf.push(c);
            buf.push(' ');
            tok = buf.len();
        } else {
            end_token(buf, &mut tok);
        }
    }
    end_token(buf, &mut tok);
}

/// The tokens of a [`tokenize_into`] buffer, with name words standardized
/// (FIFTH → 5TH, SAINT → ST, ...: everywhere, so a re-read sees the same words).
fn tokens_of(buf: &str) -> Vec<&str> {
    buf.split(' ')
        .filter(|t| !t.is_empty())
        .map(|t| lookup(NAME_WORDS, t).unwrap_or(t))
        .collect()
}

/// Owned tokens of `s` (for configuration and tests).
fn tokenize(s: &str) -> Vec<String> {
    let mut buf = String::new();
    tokenize_into(s, &mut buf);
    tokens_of(&buf).into_iter().map(str::to_string).collect()
}

/// A house number: starts with a digit and is not an ordinal street name (`5TH`, `21ST`):
/// `123`, `123A`, `123-125`, `12-B`.
fn is_house_number(t: &str) -> bool {
    let b = t.as_bytes();
    if !b.first().is_some_and(|c| c.is_ascii_digit()) {
        return false;
    }
    let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    let rest = &t[digits..];
    !matches!(rest, "ST" | "ND" | "RD" | "TH")
}

fn is_fraction(t: &str) -> bool {
    matches!(t.split_once('/'), Some((a, b)) if !a.is_empty() && !b.is_empty()
        && a.bytes().all(|c| c.is_ascii_digit()) && b.bytes().all(|c| c.is_ascii_digit()))
}

fn is_homeless(toks: &[&str]) -> bool {
    // Connectors, punctuation and all-zero "house numbers" around the words do not count.
    let junk = |t: &&str| {
        CONNECTORS.contains(t) || matches!(*t, "-" | "#" | ",") || t.bytes().all(|b| b == b'0')
    };
    let toks = {
        let s = toks.iter().position(|t| !junk(t)).unwrap_or(toks.len());
        let e = toks.iter().rposition(|t| !junk(t)).map_or(s, |e| e + 1);
        &toks[s..e.max(s)]
    };
    if toks.len() > 4 && !toks.iter().any(|t| *t == "HOMELESS" || *t == "TRANSIENT") {
        return false;
    }
    // The words (and "/") joined with spaces, in a stack buffer.
    let mut buf = [0u8; 48];
    let mut n = 0;
    for t in toks
        .iter()
        .filter(|t| **t == "/" || t.chars().any(char::is_alphanumeric))
    {
        let extra = usize::from(n > 0);
        if n + extra + t.len() > buf.len() {
            return toks.iter().any(|t| *t == "HOMELESS" || *t == "TRANSIENT");
        }
        if extra == 1 {
            buf[n] = b' ';
            n += 1;
        }
        buf[n..n + t.len()].copy_from_slice(t.as_bytes());
        n += t.len();
    }
    let key = std::str::from_utf8(&buf[..n]).unwrap_or("?");
    if matches!(
        key,
        "" | "HOMELESS"
            | "TRANSIENT"
            | "NO FIXED ADDRESS"
            | "NO FIXED ABODE"
            | "NO FIXED RESIDENCE"
            | "NFA"
            | "UNHOUSED"
            | "UNKNOWN"
            | "UNK"
            | "UNKNOWN ADDRESS"
            | "ADDRESS UNKNOWN"
            | "NONE"
            | "NA"
            | "N / A"
            | "NULL"
            | "NO ADDRESS"
            | "NOT GIVEN"
            | "NOT PROVIDED"
            | "REFUSED"
            | "DECLINED"
    ) {
        return true;
    }
    toks.iter().any(|t| *t == "HOMELESS" || *t == "TRANSIENT")
}

fn normalize_city(s: &str) -> Option<String> {
    let mut buf = String::with_capacity(s.len() + 4);
    tokenize_into(s, &mut buf);
    let t: Vec<&str> = tokens_of(&buf)
        .into_iter()
        .filter(|t| t.chars().any(|c| c.is_alphanumeric()))
        .collect();
    (!t.is_empty()).then(|| t.join(" "))
}

/// First 5 digits of a 5- or 9-digit ZIP; None otherwise.
pub fn normalize_zip(s: &str) -> Option<String> {
    let d: String = s.chars().filter(|c| c.is_ascii_digit()).collect();
    let others = s
        .chars()
        .any(|c| !(c.is_ascii_digit() || c == '-' || c.is_whitespace()));
    if others || !(d.len() == 5 || d.len() == 9) || d.starts_with("00000") {
        return None;
    }
    Some(d[..5].to_string())
}

fn is_zip_token(t: &str) -> bool {
    let b = t.as_bytes();
    (b.len() == 5 && b.iter().all(u8::is_ascii_digit))
        || (b.len() == 10 && b[5] == b'-' && b[..5].iter().chain(&b[6..]).all(u8::is_ascii_digit))
}

/// Rule 3: split the street line from city / state / ZIP.
fn split_locality(toks: Vec<&str>) -> (Vec<&str>, Option<String>, Option<String>) {
    if !toks.contains(&",") {
        return strip_tail(toks);
    }
    let mut parts: Vec<Vec<&str>> = vec![vec![]];
    for t in toks {
        if t == "," {
            parts.push(vec![]);
        } else {
            parts.last_mut().expect("non-empty").push(t);
        }
    }
    let mut parts: Vec<Vec<&str>> = parts.into_iter().filter(|p| !p.is_empty()).collect();
    if parts.is_empty() {
        return (vec![], None, None);
    }
    let mut street = parts.remove(0);
    let mut zip = None;
    let mut city_parts: Vec<&str> = Vec::new();
    {
        for mut p in parts {
            // A unit in its own comma part ("123 MAIN ST, APT 4, DURHAM") belongs to the street.
            if p.first().is_some_and(|t| is_unit_word(t)) {
                street.extend(p);
                continue;
            }
            if p.last().is_some_and(|t| is_zip_token(t)) {
                zip = p.pop().and_then(normalize_zip);
            }
            if p.last().is_some_and(|t| US_STATES.contains(t)) {
                p.pop();
            }
            if !p.is_empty() && city_parts.is_empty() {
                city_parts = p;
            }
        }
    }
    let city = (!city_parts.is_empty()).then(|| city_parts.join(" "));
    let (street, tail_city, tail_zip) = strip_tail(street);
    (street, city.or(tail_city), zip.or(tail_zip))
}

/// Without commas: a trailing `STATE ZIP` / `STATE`, and the city words between it and the
/// street suffix.
fn strip_tail(mut toks: Vec<&str>) -> (Vec<&str>, Option<String>, Option<String>) {
    // A trailing designator with no value ("... APT") or connector is noise.
    while toks
        .last()
        .is_some_and(|t| is_unit_word(t) || CONNECTORS.contains(t) || *t == "-")
    {
        toks.pop();
    }
    let mut zip = None;
    let mut had_state = false;
    if toks.len() > 2 && toks.last().is_some_and(|t| is_zip_token(t)) {
        let n = toks.len();
        if US_STATES.contains(&toks[n - 2]) {
            zip = toks.pop().and_then(normalize_zip);
            toks.pop();
            had_state = true;
        }
    } else if toks.len() > 3
        && toks.last().is_some_and(|t| {
            // Not CT, WY...: those are street suffixes too.
            t.len() == 2 && US_STATES.contains(t) && suffix(t).is_none()
        })
        && toks[1..toks.len() - 1].iter().any(|t| suffix(t).is_some())
        // "UNIT MD" is a unit, not Maryland; "CT & RI" is a corner.
        && !is_unit_word(toks[toks.len() - 2])
        && !toks.iter().any(|t| CONNECTORS.contains(t))
    {
        toks.pop();
        had_state = true;
    }
    let mut city = None;
    if had_state {
        // Words after the last street suffix (and an optional directional / unit) are the city.
        if let Some(si) = (1..toks.len()).rev().find(|&i| suffix(toks[i]).is_some()) {
            let mut j = si + 1;
            if toks.get(j).is_some_and(|t| directional(t).is_some()) {
                j += 1;
            }
            if toks.get(j).is_some_and(|t| is_unit_word(t)) {
                j += 2;
            }
            if j < toks.len() {
                city = Some(toks[j..].join(" "));
                toks.truncate(j);
            }
        }
    }
    (toks, city, zip)
}

fn find_phrase(toks: &[&str], phrase: &[String]) -> Option<usize> {
    if phrase.is_empty() || toks.len() < phrase.len() {
        return None;
    }
    (0..=toks.len() - phrase.len()).find(|&i| {
        toks[i..i + phrase.len()]
            .iter()
            .zip(phrase)
            .all(|(a, b)| *a == b.as_str())
    })
}

fn trim_connectors(mut t: Vec<&str>) -> Vec<&str> {
    let junk = |s: &str| CONNECTORS.contains(&s) || s == "-" || s == "#" || s == ",";
    while t.last().is_some_and(|s| junk(s)) {
        t.pop();
    }
    while t.first().is_some_and(|s| junk(s)) {
        t.remove(0);
    }
    t
}

/// Rule 6: split a unit designator and its value (or a trailing unit after the suffix).
fn split_unit<'t, 'a>(toks: &'t [&'a str]) -> (&'t [&'a str], Option<String>) {
    let mut toks = toks;
    let mut unit = None;
    if let Some(ui) = toks.iter().position(|t| is_unit_word(t)) {
        let mut rest = toks[ui + 1..]
            .iter()
            .filter(|t| **t != "#" && !is_unit_word(t));
        unit = rest
            .next()
            .map(|u| u.trim_start_matches('#').to_string())
            .filter(|u| !u.is_empty());
        // (A designator with no value is ignored.)
        toks = &toks[..ui];
    }
    // "123 MAIN ST 4B" / "123 MAIN ST B": a lone word with a digit, or one letter, after a
    // suffix (dropped from the street even when a designator already gave the unit).
    if toks.len() >= 3 {
        let n = toks.len();
        let last = toks[n - 1];
        let unitish = last.bytes().any(|b| b.is_ascii_digit())
            || (last.len() == 1 && directional(last).is_none());
        if unitish && suffix(toks[n - 2]).is_some() {
            return (&toks[..n - 1], unit.or_else(|| Some(last.to_string())));
        }
    }
    (toks, unit)
}

/// Rule 7: the normalized street (with suffix) and its key form (without suffix).
fn street_name(toks: &[&str]) -> (String, String) {
    let mut t = toks;
    // Skip punctuation-only tokens at the ends (inner ones are filtered below).
    while t
        .first()
        .is_some_and(|x| !x.chars().any(char::is_alphanumeric))
    {
        t = &t[1..];
    }
    while t
        .last()
        .is_some_and(|x| !x.chars().any(char::is_alphanumeric))
    {
        t = &t[..t.len() - 1];
    }
    let words = |t: &[&str]| {
        t.iter()
            .filter(|x| x.chars().any(char::is_alphanumeric))
            .count()
    };
    if t.is_empty() {
        return (String::new(), String::new());
    }
    let mut post: Option<&'static str> = None;
    if words(t) >= 2 {
        if let Some(d) = directional(t[t.len() - 1]) {
            post = Some(d);
            t = &t[..t.len() - 1];
        }
    }
    while t
        .last()
        .is_some_and(|x| !x.chars().any(char::is_alphanumeric))
    {
        t = &t[..t.len() - 1];
    }
    let mut suf: Option<&'static str> = None;
    if words(t) >= 2 {
        if let Some(s) = suffix(t[t.len() - 1]) {
            suf = Some(s);
            t = &t[..t.len() - 1];
        }
    }
    while t
        .last()
        .is_some_and(|x| !x.chars().any(char::is_alphanumeric))
    {
        t = &t[..t.len() - 1];
    }
    let mut pre: Option<&'static str> = None;
    if words(t) >= 2 {
        if let Some(d) = directional(t[0]) {
            pre = Some(d);
            t = &t[1..];
        }
    }
    let name = t
        .iter()
        .copied()
        .filter(|x| x.chars().any(char::is_alphanumeric));
    let cap: usize = toks.iter().map(|x| x.len() + 1).sum::<usize>() + 8;
    let mut key = String::with_capacity(cap);
    let push = |s: &mut String, w: &str| {
        if !s.is_empty() {
            s.push(' ');
        }
        s.push_str(w);
    };
    for w in pre.into_iter().chain(name).chain(post) {
        push(&mut key, w);
    }
    let mut full = String::with_capacity(cap);
    let name = t
        .iter()
        .copied()
        .filter(|x| x.chars().any(char::is_alphanumeric));
    for w in pre.into_iter().chain(name).chain(suf).chain(post) {
        push(&mut full, w);
    }
    (full, key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn n(s: &str) -> Address {
        normalize(s, None, None).unwrap()
    }

    #[test]
    fn street_forms_group_together() {
        for s in [
            "123 Main St",
            "123 MAIN STREET APT 4",
            "123 main st.",
            "123 Main",
            "123  Main   Street, Apt. 4",
            "123 MAIN ST #4",
            "123 Main St, Durham, NC 27701",
            "123 MAIN ST DURHAM NC 27701",
        ] {
            assert_eq!(n(s).key, "123 MAIN", "{s:?}");
        }
        let a = n("123 MAIN STREET APT 4");
        assert_eq!(a.number.as_deref(), Some("123"));
        assert_eq!(a.street.as_deref(), Some("MAIN ST"));
        assert_eq!(a.unit.as_deref(), Some("4"));
        assert_eq!(a.kind, AddressKind::Street);
        let b = n("123 Main St, Durham, NC 27701-1234");
        assert_eq!(b.city.as_deref(), Some("DURHAM"));
        assert_eq!(b.zip.as_deref(), Some("27701"));
        let c = n("123 MAIN ST DURHAM NC 27701");
        assert_eq!(c.city.as_deref(), Some("DURHAM"));
        assert_eq!(c.street.as_deref(), Some("MAIN ST"));
    }

    #[test]
    fn directionals_suffixes_ordinals() {
        let a = n("500 North Fifth Avenue Southwest");
        assert_eq!(a.street.as_deref(), Some("N 5TH AVE SW"));
        assert_eq!(a.key, "500 N 5TH SW");
        assert_eq!(n("100 North St").street.as_deref(), Some("NORTH ST"));
        assert_eq!(
            n("1 Saint Marys Road").street.as_deref(),
            Some("ST MARYS RD")
        );
        assert_eq!(n("1 St. Mary's Rd").key, "1 ST MARYS");
        assert_eq!(n("77 Park Avenue").street.as_deref(), Some("PARK AVE"));
        assert_eq!(n("12 Broadway").key, "12 BROADWAY");
        assert_eq!(n("12 Court").key, n("12 Court St").key);
    }

    #[test]
    fn units() {
        assert_eq!(n("10 Elm Ct Apt 2B").unit.as_deref(), Some("2B"));
        assert_eq!(n("10 Elm Ct Unit #2B").unit.as_deref(), Some("2B"));
        assert_eq!(n("10 Elm Ct Ste 300").unit.as_deref(), Some("300"));
        assert_eq!(n("10 Elm Ct 2B").unit.as_deref(), Some("2B"));
        assert_eq!(n("10 Elm Ct #2B").unit.as_deref(), Some("2B"));
        assert_eq!(n("10 ELM COURT # 2B").unit.as_deref(), Some("2B"));
        assert_eq!(n("10 Elm Ct 2B").key, "10 ELM");
        assert_eq!(
            n("10 Elm Ct, Apt 2B, Durham").city.as_deref(),
            Some("DURHAM")
        );
        assert_eq!(n("10 Elm Ct, Apt 2B, Durham").unit.as_deref(), Some("2B"));
        assert_eq!(n("123 1/2 Main St").number.as_deref(), Some("123 1/2"));
    }

    #[test]
    fn intersections_and_blocks() {
        let a = n("Main St / 5th St");
        assert_eq!(a.kind, AddressKind::Intersection);
        assert_eq!(a.key, "5TH & MAIN");
        assert_eq!(n("FIFTH STREET & MAIN").key, "5TH & MAIN");
        assert_eq!(n("5th St at Main St").key, "5TH & MAIN");
        let w = n("Walmart / 1525 N Pointe Dr");
        assert_eq!(
            (w.kind, w.key.as_str()),
            (AddressKind::Street, "1525 N POINTE")
        );
        assert_eq!(n("100 Main St / 5th St").key, "100 MAIN");
        let b = n("100 BLK Main Street");
        assert_eq!(b.kind, AddressKind::Intersection);
        assert_eq!(b.key, "100 BLK MAIN");
        assert_eq!(n("100 block of Main St").key, "100 BLK MAIN");
    }

    #[test]
    fn homeless_and_shelters() {
        for s in [
            "HOMELESS",
            "Transient",
            "no fixed address",
            "N/A",
            "unknown",
            "NONE",
            "Homeless - downtown",
        ] {
            let a = n(s);
            assert_eq!(a.kind, AddressKind::Homeless, "{s:?}");
            assert_eq!(a.key, "");
        }
        let s = n("Urban Ministries of Durham");
        assert_eq!(s.kind, AddressKind::Shelter);
        assert_eq!(s.key, "URBAN MINISTRIES OF DURHAM");
        let s = n("1110 E Main St - Rescue Mission");
        assert_eq!(s.kind, AddressKind::Shelter);
        assert_eq!(s.key, "1110 E MAIN");
        let custom = AddressNormalizer::new(&["HOPE HOUSE"]);
        assert_eq!(
            custom.normalize("Hope House", None, None).unwrap().kind,
            AddressKind::Shelter
        );
        assert_eq!(
            custom.normalize("Men's Shelter", None, None).unwrap().kind,
            AddressKind::Street
        );
        assert!(normalize("   ", None, None).is_none());
    }

    #[test]
    fn columns_win() {
        let a = normalize(
            "123 Main St, Durham NC 27701",
            Some("bahama"),
            Some("27503"),
        )
        .unwrap();
        assert_eq!(a.city.as_deref(), Some("BAHAMA"));
        assert_eq!(a.zip.as_deref(), Some("27503"));
        assert_eq!(normalize_zip("2770"), None);
        assert_eq!(normalize_zip("277011234"), Some("27701".into()));
    }

    fn word() -> impl Strategy<Value = String> {
        prop_oneof![
            3 => "[A-Za-z]{1,7}",
            2 => "[0-9]{1,5}[A-Z]?",
            1 => prop::sample::select(vec![
                "St", "Street", "AVENUE", "n", "North", "sw", "Apt", "#", "/", "&", "at", "BLK",
                "block", "of", "Suite", "Shelter", "Rescue", "Mission", "homeless", ",", "NC",
                "27701", "1/2", "Fifth", "Saint", "-", ".", "'", "Unit", "Court", "E",
            ]).prop_map(str::to_string),
        ]
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,60}") {
            let _ = normalize(&s, Some(&s), Some(&s));
        }

        /// Normalizing a normalized address (its one-line form) keeps the key.
        #[test]
        fn key_is_idempotent(words in prop::collection::vec(word(), 1..9)) {
            let raw = words.join(" ");
            if let Some(a) = normalize(&raw, None, None) {
                let again = normalize(&render(&a), None, None);
                let k2 = again.as_ref().map(|b| b.key.clone()).unwrap_or_default();
                prop_assert_eq!(&k2, &a.key, "raw {:?} rendered {:?}", raw, render(&a));
            }
        }
    }
}
