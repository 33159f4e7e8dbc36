//! Date and time parsing for mapped fields.
//!
//! A field's `format` list is tried in order. Each entry is one of:
//!
//! - a chrono strftime pattern (`"%m/%d/%Y %H:%M:%S"`, `"%Y-%m-%dT%H:%M:%S%z"`, `"%Y"`, ...).
//!   Patterns with a `%z` / `%:z` offset give an instant; without one, a local time that is
//!   interpreted in the source's time zone ([`local_to_utc`]). A date-only pattern gives a date
//!   (combined with the `start_time` column for `start`). Year-only or year-month patterns give a
//!   [`PartialDate`] (useful for DOBs).
//! - `"rfc3339"`: `2024-03-05T14:30:00-05:00` (also with a space instead of `T`, or `Z`).
//! - `"epoch"`: seconds since 1970-01-01 UTC (may have a fraction); `"epoch_ms"`: milliseconds.
//! - `"excel"`: an Excel serial day number in the 1900 date system (`45356.6041` =
//!   2024-03-05 14:30 local); the fraction is the time of day.
//!
//! When no format matches exactly, a date-only pattern is tried once more with a trailing time of
//! day (`"03/05/2024 14:30"` against `"%m/%d/%Y"`), so a date column exported as a SQL datetime
//! still reads. When the field has no formats at all, [`DEFAULT_FORMATS`] are used.
//!
//! Patterns are compiled once (chrono's items), and the common all-numeric patterns
//! (`%Y-%m-%d %H:%M:%S`, `%m/%d/%Y %H:%M`, ...) take a hand-written fast path that yields exactly
//! what chrono would, or defers to chrono.

use chrono::format::{parse_and_remainder, Fixed, Item, Numeric, Parsed, StrftimeItems};
use chrono::{
    DateTime, Duration, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset,
    TimeZone, Utc,
};
use chrono_tz::Tz;
use familiar_model::PartialDate;

/// Formats used when a date field lists none: ISO forms first, then US month-first forms.
pub const DEFAULT_FORMATS: &[&str] = &[
    "rfc3339",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y",
];

/// Layouts exports commonly use, tried only to suggest a format for a value that none of a
/// field's declared formats reads (never to read one).
const SUGGESTED_FORMATS: &[&str] = &[
    "rfc3339",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y",
    "%m/%d/%y %H:%M",
    "%m/%d/%y",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y",
    "%m-%d-%Y %H:%M",
    "%m-%d-%Y",
    "%d-%b-%Y %H:%M",
    "%d-%b-%Y",
    "%d-%b-%y",
    "%b %d %Y %I:%M%p",
    "%b %d %Y",
    "%Y%m%d%H%M%S",
    "%Y%m%d",
];

/// The common layouts (see `SUGGESTED_FORMATS`) that read `v`, in that order: what to offer
/// when none of a field's formats does. Several when the value is ambiguous (03/04/2024 reads
/// month-first and day-first).
pub fn suggest_formats(v: &str) -> Vec<&'static str> {
    static COMPILED: std::sync::OnceLock<Vec<DateFormat>> = std::sync::OnceLock::new();
    let compiled = COMPILED.get_or_init(|| {
        SUGGESTED_FORMATS
            .iter()
            .map(|f| DateFormat::compile(f).expect("suggested formats are valid"))
            .collect()
    });
    let v = v.trim();
    if v.is_empty() {
        return Vec::new();
    }
    SUGGESTED_FORMATS
        .iter()
        .zip(compiled)
        .filter(|(_, f)| f.parse(v).is_some())
        .map(|(name, _)| *name)
        .collect()
}

/// A parsed date/time value, before time-zone resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateValue {
    /// An instant (the value carried an offset, or was an epoch).
    Instant(DateTime<Utc>),
    /// A wall-clock date and time with no offset: local to the source's zone.
    Local(NaiveDateTime),
    /// A calendar date with no time.
    Date(NaiveDate),
    /// A year, or a year and month, only.
    Partial(PartialDate),
    /// A time of day only.
    Time(NaiveTime),
}

impl DateValue {
    /// The date part as a [`PartialDate`] (for DOBs), in `tz` for instants.
    pub fn to_partial(self, tz: Tz) -> Option<PartialDate> {
        match self {
            DateValue::Instant(i) => Some(PartialDate::full(i.with_timezone(&tz).date_naive())),
            DateValue::Local(l) => Some(PartialDate::full(l.date())),
            DateValue::Date(d) => Some(PartialDate::full(d)),
            DateValue::Partial(p) => Some(p),
            DateValue::Time(_) => None,
        }
    }
}

/// One compiled entry of a field's `format` list.
#[derive(Debug, Clone)]
pub enum DateFormat {
    Rfc3339,
    Epoch,
    EpochMs,
    Excel,
    Pattern(Pattern),
}

/// A compiled strftime pattern.
#[derive(Debug, Clone)]
pub struct Pattern {
    pub source: String,
    items: Vec<Item<'static>>,
    fast: Option<Vec<FastOp>>,
    /// True when the pattern has no time-of-day and no offset (a date or partial date).
    date_only: bool,
    /// True when the pattern uses a 2-digit year (`%y`).
    pub two_digit_year: bool,
}

#[derive(Debug, Clone, Copy)]
enum FastOp {
    Lit(u8),
    Space,
    Num(NumField, usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NumField {
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
}

impl DateFormat {
    /// Compile one `format` entry; the error says what is wrong with it.
    pub fn compile(s: &str) -> Result<DateFormat, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "rfc3339" | "iso8601" => return Ok(DateFormat::Rfc3339),
            "epoch" | "epoch_s" | "unix" => return Ok(DateFormat::Epoch),
            "epoch_ms" => return Ok(DateFormat::EpochMs),
            "excel" => return Ok(DateFormat::Excel),
            _ => {}
        }
        if !s.contains('%') {
            return Err(format!(
                "{s:?} is not a date format: use a strftime pattern such as \"%m/%d/%Y %H:%M\", \
                 or one of \"rfc3339\", \"epoch\", \"epoch_ms\", \"excel\""
            ));
        }
        let items = StrftimeItems::new(s)
            .parse_to_owned()
            .map_err(|_| format!("{s:?} is not a valid strftime pattern"))?;
        let mut has_date = false;
        let mut has_time = false;
        let mut has_offset = false;
        let mut two_digit_year = false;
        for it in &items {
            match it {
                Item::Numeric(n, _) => match n {
                    Numeric::Year
                    | Numeric::YearDiv100
                    | Numeric::IsoYear
                    | Numeric::IsoYearDiv100
                    | Numeric::IsoYearMod100
                    | Numeric::Month
                    | Numeric::Day
                    | Numeric::Ordinal => has_date = true,
                    Numeric::YearMod100 => {
                        has_date = true;
                        two_digit_year = true
                    }
                    Numeric::Hour
                    | Numeric::Hour12
                    | Numeric::Minute
                    | Numeric::Second
                    | Numeric::Nanosecond => has_time = true,
                    Numeric::Timestamp => {
                        has_date = true;
                        has_time = true;
                        has_offset = true
                    }
                    _ => {}
                },
                Item::Fixed(f) => match f {
                    Fixed::ShortMonthName | Fixed::LongMonthName => has_date = true,
                    Fixed::LowerAmPm | Fixed::UpperAmPm => has_time = true,
                    Fixed::TimezoneOffset
                    | Fixed::TimezoneOffsetColon
                    | Fixed::TimezoneOffsetDoubleColon
                    | Fixed::TimezoneOffsetTripleColon
                    | Fixed::TimezoneOffsetColonZ
                    | Fixed::TimezoneOffsetZ
                    | Fixed::RFC2822
                    | Fixed::RFC3339 => {
                        has_offset = true;
                        has_date = true;
                        has_time = true
                    }
                    _ => {}
                },
                _ => {}
            }
        }
        if !has_date && !has_time {
            return Err(format!("{s:?} has no date or time fields"));
        }
        let fast = fast_ops(&items);
        Ok(DateFormat::Pattern(Pattern {
            source: s.to_string(),
            items,
            fast,
            date_only: !has_time && !has_offset,
            two_digit_year,
        }))
    }

    /// The text of this format as written in the mapping.
    pub fn name(&self) -> &str {
        match self {
            DateFormat::Rfc3339 => "rfc3339",
            DateFormat::Epoch => "epoch",
            DateFormat::EpochMs => "epoch_ms",
            DateFormat::Excel => "excel",
            DateFormat::Pattern(p) => &p.source,
        }
    }

    /// True for a pattern with no time of day (and no offset).
    pub fn is_date_only(&self) -> bool {
        matches!(self, DateFormat::Pattern(p) if p.date_only)
    }

    /// True for a pattern that can produce a calendar date (not a time-only pattern).
    pub fn can_give_date(&self) -> bool {
        match self {
            DateFormat::Pattern(p) => p.items.iter().any(|i| {
                matches!(
                    i,
                    Item::Numeric(
                        Numeric::Year
                            | Numeric::YearMod100
                            | Numeric::YearDiv100
                            | Numeric::IsoYear
                            | Numeric::Timestamp,
                        _
                    ) | Item::Fixed(Fixed::RFC2822 | Fixed::RFC3339)
                )
            }),
            _ => true,
        }
    }

    /// Parse one (already trimmed) value with this format only.
    pub fn parse(&self, s: &str) -> Option<DateValue> {
        match self {
            DateFormat::Rfc3339 => parse_rfc3339(s),
            DateFormat::Epoch => parse_epoch(s, 1000.0),
            DateFormat::EpochMs => parse_epoch(s, 1.0),
            DateFormat::Excel => parse_excel(s),
            DateFormat::Pattern(p) => p.parse(s),
        }
    }
}

impl Pattern {
    fn parse(&self, s: &str) -> Option<DateValue> {
        if let Some(ops) = &self.fast {
            if let Some(v) = run_fast(ops, s.as_bytes()) {
                return Some(v);
            }
        }
        let mut parsed = Parsed::new();
        chrono::format::parse(&mut parsed, s, self.items.iter()).ok()?;
        from_parsed(&parsed)
    }

    /// Parse a date-only pattern followed by a time of day ("2024-03-05 14:30:00").
    fn parse_with_trailing_time(&self, s: &str) -> Option<DateValue> {
        if !self.date_only {
            return None;
        }
        let mut parsed = Parsed::new();
        let rest = parse_and_remainder(&mut parsed, s, self.items.iter()).ok()?;
        let rest = rest.trim_start();
        let rest = rest
            .strip_prefix('T')
            .or_else(|| rest.strip_prefix('t'))
            .unwrap_or(rest);
        if rest.is_empty() {
            return None;
        }
        let t = parse_time_of_day(rest)?;
        let d = parsed.to_naive_date().ok()?;
        Some(DateValue::Local(d.and_time(t)))
    }
}

/// Compile a list of formats (empty → [`DEFAULT_FORMATS`]).
pub fn compile_formats(list: &[String]) -> Result<Vec<DateFormat>, String> {
    if list.is_empty() {
        return Ok(DEFAULT_FORMATS
            .iter()
            .map(|f| DateFormat::compile(f).expect("default formats are valid"))
            .collect());
    }
    list.iter().map(|f| DateFormat::compile(f)).collect()
}

/// Try each format in order; then date-only patterns with a trailing time.
pub fn parse_with(formats: &[DateFormat], s: &str) -> Option<(DateValue, usize)> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    for (i, f) in formats.iter().enumerate() {
        if let Some(v) = f.parse(s) {
            return Some((v, i));
        }
    }
    for (i, f) in formats.iter().enumerate() {
        if let DateFormat::Pattern(p) = f {
            if let Some(v) = p.parse_with_trailing_time(s) {
                return Some((v, i));
            }
        }
    }
    None
}

fn from_parsed(p: &Parsed) -> Option<DateValue> {
    if p.timestamp().is_some() || p.offset().is_some() {
        if let Ok(dt) = p.to_datetime() {
            return Some(DateValue::Instant(dt.with_timezone(&Utc)));
        }
        if p.offset().is_none() {
            // %s alone: seconds since the epoch, UTC.
            let naive = p.to_naive_datetime_with_offset(0).ok()?;
            return Some(DateValue::Instant(naive.and_utc()));
        }
        return None;
    }
    let has_time = p.hour_div_12().is_some() || p.hour_mod_12().is_some();
    let date = p.to_naive_date();
    match (date, has_time) {
        (Ok(d), true) => Some(DateValue::Local(d.and_time(p.to_naive_time().ok()?))),
        (Ok(d), false) => Some(DateValue::Date(d)),
        (Err(_), true) => {
            if p.year().is_some() || p.month().is_some() || p.day().is_some() {
                return None;
            }
            p.to_naive_time().ok().map(DateValue::Time)
        }
        (Err(_), false) => {
            let year = p.year()?;
            if p.day().is_some() {
                return None;
            }
            let month = p.month();
            if month.is_some_and(|m| !(1..=12).contains(&m)) {
                return None;
            }
            Some(DateValue::Partial(PartialDate {
                year,
                month,
                day: None,
            }))
        }
    }
}

fn fast_ops(items: &[Item<'_>]) -> Option<Vec<FastOp>> {
    let mut ops = Vec::new();
    let mut seen = [false; 6];
    for it in items {
        match it {
            Item::Literal(l) => ops.extend(l.bytes().map(FastOp::Lit)),
            Item::OwnedLiteral(l) => ops.extend(l.bytes().map(FastOp::Lit)),
            Item::Space(_) | Item::OwnedSpace(_) => ops.push(FastOp::Space),
            Item::Numeric(n, _) => {
                let (f, w) = match n {
                    Numeric::Year => (NumField::Year, 4),
                    Numeric::Month => (NumField::Month, 2),
                    Numeric::Day => (NumField::Day, 2),
                    Numeric::Hour => (NumField::Hour, 2),
                    Numeric::Minute => (NumField::Minute, 2),
                    Numeric::Second => (NumField::Second, 2),
                    _ => return None,
                };
                let slot = f as usize;
                if seen[slot] {
                    return None;
                }
                seen[slot] = true;
                ops.push(FastOp::Num(f, w));
            }
            _ => return None,
        }
    }
    // Only full dates (with optional H:M[:S]) take the fast path.
    let [y, m, d, h, mi, s] = seen;
    if !(y && m && d) || (mi && !h) || (s && !mi) || (h && !mi) {
        return None;
    }
    if ops
        .iter()
        .any(|o| matches!(o, FastOp::Lit(b) if !b.is_ascii()))
    {
        return None;
    }
    Some(ops)
}

/// Same semantics as chrono's parser for this subset: whitespace before numbers and at spaces is
/// skipped, numbers take 1..=width digits. Returns None to defer to chrono.
fn run_fast(ops: &[FastOp], b: &[u8]) -> Option<DateValue> {
    let mut i = 0usize;
    let mut v = [0u32; 6];
    let mut has_time = false;
    for op in ops {
        match *op {
            FastOp::Lit(c) => {
                if b.get(i) != Some(&c) {
                    return None;
                }
                i += 1;
            }
            FastOp::Space => {
                while i < b.len() && b[i].is_ascii_whitespace() {
                    i += 1;
                }
            }
            FastOp::Num(f, w) => {
                while i < b.len() && b[i].is_ascii_whitespace() {
                    i += 1;
                }
                let start = i;
                let mut n = 0u32;
                while i < b.len() && i - start < w && b[i].is_ascii_digit() {
                    n = n * 10 + (b[i] - b'0') as u32;
                    i += 1;
                }
                if i == start {
                    return None;
                }
                if f == NumField::Year && i - start != 4 {
                    return None;
                }
                if f == NumField::Hour {
                    has_time = true;
                }
                v[f as usize] = n;
            }
        }
    }
    if i != b.len() {
        return None;
    }
    let d = NaiveDate::from_ymd_opt(v[0] as i32, v[1], v[2])?;
    if has_time {
        let t = NaiveTime::from_hms_opt(v[3], v[4], v[5])?;
        Some(DateValue::Local(d.and_time(t)))
    } else {
        Some(DateValue::Date(d))
    }
}

fn parse_rfc3339(s: &str) -> Option<DateValue> {
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(DateValue::Instant(dt.with_timezone(&Utc)));
    }
    // Common near-misses: "+0500" offsets, "UTC" suffix.
    for f in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z"] {
        if let Ok(dt) = DateTime::<FixedOffset>::parse_from_str(s, f) {
            return Some(DateValue::Instant(dt.with_timezone(&Utc)));
        }
    }
    if let Some(t) = s.strip_suffix(" UTC").or_else(|| s.strip_suffix(" GMT")) {
        for f in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
            if let Ok(n) = NaiveDateTime::parse_from_str(t, f) {
                return Some(DateValue::Instant(n.and_utc()));
            }
        }
    }
    None
}

/// `per_unit_ms`: milliseconds per unit (1000 for seconds, 1 for milliseconds).
fn parse_epoch(s: &str, per_unit_ms: f64) -> Option<DateValue> {
    let b = s.as_bytes();
    let digits_ok = !b.is_empty()
        && b.iter()
            .enumerate()
            .all(|(i, c)| c.is_ascii_digit() || *c == b'.' || (i == 0 && *c == b'-'));
    if !digits_ok {
        return None;
    }
    let ms: i64 = if let Ok(n) = s.parse::<i64>() {
        n.checked_mul(per_unit_ms as i64)?
    } else {
        let f: f64 = s.parse().ok()?;
        if !f.is_finite() {
            return None;
        }
        (f * per_unit_ms).round() as i64
    };
    DateTime::<Utc>::from_timestamp_millis(ms).map(DateValue::Instant)
}

/// An Excel serial day number (1900 date system, with Excel's fictitious 1900-02-29) as a local
/// date-time, rounded to the second.
pub fn excel_serial_to_naive(serial: f64) -> Option<NaiveDateTime> {
    if !serial.is_finite() || !(0.0..2_958_466.0).contains(&serial) {
        return None;
    }
    let base = NaiveDate::from_ymd_opt(1899, 12, 30)?.and_time(NaiveTime::MIN);
    // Serials before 1900-03-01 are off by one because of Excel's fictitious 1900-02-29.
    let s = if serial < 60.0 { serial + 1.0 } else { serial };
    let secs = (s * 86_400.0).round() as i64;
    base.checked_add_signed(Duration::seconds(secs))
}

fn parse_excel(s: &str) -> Option<DateValue> {
    if !s.bytes().all(|c| c.is_ascii_digit() || c == b'.') {
        return None;
    }
    let f: f64 = s.parse().ok()?;
    if f < 1.0 {
        return None;
    }
    let n = excel_serial_to_naive(f)?;
    if f.fract() == 0.0 {
        Some(DateValue::Date(n.date()))
    } else {
        Some(DateValue::Local(n))
    }
}

/// Parse a time of day: `HHMM`, `HMM`, `HH:MM`, `HH:MM:SS`, `HH:MM:SS.fff`, optionally followed by
/// `AM` / `PM` (and a trailing `Z` is ignored).
pub fn parse_time_of_day(s: &str) -> Option<NaiveTime> {
    let s = s.trim();
    let s = s.strip_suffix('Z').unwrap_or(s).trim_end();
    let (body, ampm) = {
        let up = s.as_bytes();
        if up.len() > 2 {
            let tail = [up[up.len() - 2] | 32, up[up.len() - 1] | 32];
            match &tail {
                b"am" => (s[..s.len() - 2].trim_end(), Some(false)),
                b"pm" => (s[..s.len() - 2].trim_end(), Some(true)),
                _ => (s, None),
            }
        } else {
            (s, None)
        }
    };
    let (h, m, sec, nano) = if body.contains(':') {
        let mut parts = body.split(':');
        let h: u32 = num(parts.next()?, 2)?;
        let m: u32 = num(parts.next()?, 2)?;
        let (sec, nano) = match parts.next() {
            None => (0, 0),
            Some(sp) => {
                let (whole, frac) = match sp.split_once('.') {
                    Some((w, f)) => (w, Some(f)),
                    None => (sp, None),
                };
                let sec: u32 = num(whole, 2)?;
                let nano = match frac {
                    None => 0,
                    Some(f) if !f.is_empty() && f.bytes().all(|c| c.is_ascii_digit()) => {
                        let f = &f[..f.len().min(9)];
                        f.parse::<u32>().ok()? * 10u32.pow(9 - f.len() as u32)
                    }
                    Some(_) => return None,
                };
                (sec, nano)
            }
        };
        if parts.next().is_some() {
            return None;
        }
        (h, m, sec, nano)
    } else {
        let ok_len = (3..=4).contains(&body.len()) || (body.len() == 6 && ampm.is_none());
        if !ok_len {
            return None;
        }
        if !body.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        if body.len() == 6 {
            let n: u32 = body.parse().ok()?;
            (n / 10000, n / 100 % 100, n % 100, 0)
        } else {
            let n: u32 = body.parse().ok()?;
            (n / 100, n % 100, 0, 0)
        }
    };
    let h = match ampm {
        None => h,
        Some(pm) => {
            if !(1..=12).contains(&h) {
                return None;
            }
            (h % 12) + if pm { 12 } else { 0 }
        }
    };
    NaiveTime::from_hms_nano_opt(h, m, sec, nano)
}

fn num(s: &str, max_len: usize) -> Option<u32> {
    let s = s.trim();
    if s.is_empty() || s.len() > max_len || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Interpret a wall-clock time in `tz`. An ambiguous time (the repeated hour when clocks go back)
/// takes the earlier instant; a nonexistent one (the skipped hour when clocks go forward) is
/// shifted forward by the gap (02:30 on a spring-forward night becomes 03:30).
pub fn local_to_utc(naive: NaiveDateTime, tz: Tz) -> DateTime<Utc> {
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(a, b) => a.min(b).with_timezone(&Utc),
        LocalResult::None => {
            // Read the wall time with the offset in force just before the gap: 02:30 EST is
            // 03:30 EDT, i.e. the time shifted forward by the gap's length.
            for step in 1..=24 {
                let earlier = naive - Duration::minutes(15 * step);
                let off = match tz.from_local_datetime(&earlier) {
                    LocalResult::Single(t) => t.offset().fix(),
                    LocalResult::Ambiguous(a, _) => a.offset().fix(),
                    LocalResult::None => continue,
                };
                return (naive - Duration::seconds(off.local_minus_utc() as i64)).and_utc();
            }
            // No zone has a gap longer than 6 hours; treat the time as UTC as a last resort.
            naive.and_utc()
        }
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_common_layout_is_suggested_for_a_date_no_format_reads() {
        assert_eq!(suggest_formats("2024-07-04 23:30"), vec!["%Y-%m-%d %H:%M"]);
        // month-first and day-first both read it: both are offered
        assert_eq!(
            suggest_formats(" 07/04/2024 23:30 "),
            vec!["%m/%d/%Y %H:%M", "%d/%m/%Y %H:%M"]
        );
        assert_eq!(suggest_formats("13/04/2024"), vec!["%d/%m/%Y"]);
        assert_eq!(suggest_formats("04-JUL-2024"), vec!["%d-%b-%Y"]);
        assert_eq!(suggest_formats("20240704"), vec!["%Y%m%d"]);
        for nothing in ["", "N/A", "2025-13-45 12:00", "yesterday"] {
            assert!(suggest_formats(nothing).is_empty(), "{nothing}");
        }
    }

    use super::*;
    use proptest::prelude::*;

    fn p(f: &str, s: &str) -> Option<DateValue> {
        DateFormat::compile(f).unwrap().parse(s)
    }

    fn local(y: i32, m: u32, d: u32, h: u32, mi: u32, s: u32) -> DateValue {
        DateValue::Local(
            NaiveDate::from_ymd_opt(y, m, d)
                .unwrap()
                .and_hms_opt(h, mi, s)
                .unwrap(),
        )
    }

    #[test]
    fn strftime_patterns() {
        assert_eq!(
            p("%m/%d/%Y %H:%M:%S", "03/05/2024 14:30:00"),
            Some(local(2024, 3, 5, 14, 30, 0))
        );
        assert_eq!(
            p("%m/%d/%Y %H:%M:%S", "3/5/2024 14:30:00"),
            Some(local(2024, 3, 5, 14, 30, 0))
        );
        assert_eq!(
            p("%Y%m%d%H%M", "202403051430"),
            Some(local(2024, 3, 5, 14, 30, 0))
        );
        assert_eq!(
            p("%d-%b-%Y %I:%M %p", "05-Mar-2024 02:30 PM"),
            Some(local(2024, 3, 5, 14, 30, 0))
        );
        assert_eq!(
            p("%Y-%m-%d", "2024-03-05"),
            Some(DateValue::Date(
                NaiveDate::from_ymd_opt(2024, 3, 5).unwrap()
            ))
        );
        assert_eq!(p("%m/%d/%Y", "02/30/2024"), None);
        assert_eq!(p("%m/%d/%Y", "13/45/2024"), None);
        assert_eq!(p("%m/%d/%Y", "yesterday"), None);
        // Offsets give instants.
        let v = p("%Y-%m-%dT%H:%M:%S%z", "2024-03-05T14:30:00-0500").unwrap();
        assert_eq!(
            v,
            DateValue::Instant("2024-03-05T19:30:00Z".parse().unwrap())
        );
        let v = p("%Y-%m-%d %H:%M:%S%:z", "2024-03-05 14:30:00+01:00").unwrap();
        assert_eq!(
            v,
            DateValue::Instant("2024-03-05T13:30:00Z".parse().unwrap())
        );
    }

    #[test]
    fn partial_dates() {
        assert_eq!(
            p("%Y", "1980"),
            Some(DateValue::Partial(PartialDate {
                year: 1980,
                month: None,
                day: None
            }))
        );
        assert_eq!(
            p("%Y-%m", "1980-07"),
            Some(DateValue::Partial(PartialDate {
                year: 1980,
                month: Some(7),
                day: None
            }))
        );
        assert_eq!(
            p("%m/%Y", "07/1980"),
            Some(DateValue::Partial(PartialDate {
                year: 1980,
                month: Some(7),
                day: None
            }))
        );
        assert_eq!(p("%m/%Y", "13/1980"), None);
    }

    #[test]
    fn keywords() {
        let i = |s: &str| DateValue::Instant(s.parse().unwrap());
        assert_eq!(
            p("rfc3339", "2024-03-05T14:30:00-05:00"),
            Some(i("2024-03-05T19:30:00Z"))
        );
        assert_eq!(
            p("rfc3339", "2024-03-05 14:30:00Z"),
            Some(i("2024-03-05T14:30:00Z"))
        );
        assert_eq!(p("epoch", "1709649000"), Some(i("2024-03-05T14:30:00Z")));
        assert_eq!(
            p("epoch_ms", "1709649000500"),
            Some(i("2024-03-05T14:30:00.5Z"))
        );
        assert_eq!(p("epoch", "soon"), None);
        // 45356 = 2024-03-05 in Excel's 1900 system.
        assert_eq!(
            p("excel", "45356"),
            Some(DateValue::Date(
                NaiveDate::from_ymd_opt(2024, 3, 5).unwrap()
            ))
        );
        assert_eq!(
            p("excel", "45356.6041666667"),
            Some(local(2024, 3, 5, 14, 30, 0))
        );
        assert_eq!(p("excel", "-3"), None);
    }

    #[test]
    fn bad_patterns_are_rejected_at_compile_time() {
        assert!(DateFormat::compile("%Q").is_err());
        assert!(DateFormat::compile("mm/dd/yyyy").is_err());
        assert!(DateFormat::compile("%%").is_err());
    }

    #[test]
    fn trailing_time_on_a_date_pattern() {
        let f = compile_formats(&["%m/%d/%Y".to_string()]).unwrap();
        assert_eq!(
            parse_with(&f, "03/05/2024 14:30").map(|x| x.0),
            Some(local(2024, 3, 5, 14, 30, 0))
        );
        assert_eq!(parse_with(&f, "03/05/2024 junk"), None);
    }

    #[test]
    fn times_of_day() {
        let t = |h, m, s| NaiveTime::from_hms_opt(h, m, s).unwrap();
        assert_eq!(parse_time_of_day("1432"), Some(t(14, 32, 0)));
        assert_eq!(parse_time_of_day("932"), Some(t(9, 32, 0)));
        assert_eq!(parse_time_of_day("14:32"), Some(t(14, 32, 0)));
        assert_eq!(parse_time_of_day("14:32:07"), Some(t(14, 32, 7)));
        assert_eq!(parse_time_of_day("2:32 PM"), Some(t(14, 32, 0)));
        assert_eq!(parse_time_of_day("12:05 am"), Some(t(0, 5, 0)));
        assert_eq!(parse_time_of_day("2532"), None);
        assert_eq!(parse_time_of_day("14"), None);
        assert_eq!(parse_time_of_day("ab:cd"), None);
    }

    #[test]
    fn dst_gaps_and_overlaps() {
        let tz: Tz = "America/New_York".parse().unwrap();
        // Spring forward 2024-03-10 02:30 does not exist → 03:30 EDT = 07:30Z.
        let gap = NaiveDate::from_ymd_opt(2024, 3, 10)
            .unwrap()
            .and_hms_opt(2, 30, 0)
            .unwrap();
        assert_eq!(
            local_to_utc(gap, tz),
            "2024-03-10T07:30:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        // Fall back 2024-11-03 01:30 happens twice → the earlier (EDT) = 05:30Z.
        let amb = NaiveDate::from_ymd_opt(2024, 11, 3)
            .unwrap()
            .and_hms_opt(1, 30, 0)
            .unwrap();
        assert_eq!(
            local_to_utc(amb, tz),
            "2024-11-03T05:30:00Z".parse::<DateTime<Utc>>().unwrap()
        );
    }

    #[test]
    fn fast_path_agrees_with_chrono() {
        let f = DateFormat::compile("%m/%d/%Y %H:%M").unwrap();
        let DateFormat::Pattern(pat) = &f else {
            panic!()
        };
        assert!(pat.fast.is_some());
        for s in [
            "1/2/2024 3:04",
            "01/02/2024 03:04",
            "01/02/2024  03:04",
            "01/02/24 03:04",
            "01/02/2024 03:04:05",
            "01/02/2024 3:4",
            " 01/02/2024 03:04",
            "01/02/2024 24:00",
        ] {
            let mut parsed = Parsed::new();
            let chrono = chrono::format::parse(&mut parsed, s, pat.items.iter())
                .ok()
                .and_then(|_| from_parsed(&parsed));
            assert_eq!(pat.parse(s), chrono, "{s:?}");
        }
    }

    const PATTERNS: &[&str] = &[
        "%Y-%m-%d %H:%M:%S",
        "%m/%d/%Y %H:%M:%S",
        "%m/%d/%Y %I:%M:%S %p",
        "%d.%m.%Y %H:%M:%S",
        "%Y%m%d%H%M%S",
        "%b %d, %Y %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S%z",
        "%Y-%m-%dT%H:%M:%S%:z",
        "rfc3339",
        "epoch",
        "epoch_ms",
    ];

    proptest! {
        /// Formatting a datetime with a pattern and parsing it back gives the same instant.
        #[test]
        fn format_then_parse_round_trips(
            secs in 0i64..4_102_444_800, // 1970..2100
            offset_min in -720i32..=840,
            which in 0..PATTERNS.len(),
        ) {
            let tz: Tz = "America/New_York".parse().unwrap();
            let pat = PATTERNS[which];
            let f = DateFormat::compile(pat).unwrap();
            let instant = DateTime::<Utc>::from_timestamp(secs, 0).unwrap();
            let off = FixedOffset::east_opt(offset_min * 60).unwrap();
            let text = match pat {
                "rfc3339" => instant.with_timezone(&off).to_rfc3339(),
                "epoch" => secs.to_string(),
                "epoch_ms" => (secs * 1000).to_string(),
                p if p.contains("%z") || p.contains("%:z") => {
                    instant.with_timezone(&off).format(p).to_string()
                }
                p => instant.naive_utc().format(p).to_string(),
            };
            let v = f.parse(&text);
            prop_assert!(v.is_some(), "{} did not parse {:?}", pat, text);
            let got = match v.unwrap() {
                DateValue::Instant(i) => i,
                // Local patterns were formatted from the UTC wall clock: read them back as UTC.
                DateValue::Local(n) => n.and_utc(),
                other => panic!("unexpected {other:?}"),
            };
            prop_assert_eq!(got, instant);
            // Local times survive the zone round trip too, except in the skipped DST hour.
            let local = instant.with_timezone(&tz).naive_local();
            prop_assert_eq!(local_to_utc(local, tz).with_timezone(&tz).naive_local().date(), local.date());
        }

        #[test]
        fn time_of_day_never_panics(s in "\\PC{0,12}") {
            let _ = parse_time_of_day(&s);
        }

        #[test]
        fn parsing_never_panics(s in "\\PC{0,30}", which in 0..PATTERNS.len()) {
            let f = DateFormat::compile(PATTERNS[which]).unwrap();
            let _ = f.parse(&s);
            let _ = parse_excel(&s);
        }
    }
}
