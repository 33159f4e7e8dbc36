//! Local time in the county's zone and the date/time spellings agencies use.

use chrono::{
    Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Timelike,
};
use chrono_tz::America::New_York;
use std::fmt::Write as _;

/// The county's IANA zone (written to `sources.toml`).
pub const TZ_NAME: &str = "America/New_York";

/// Make a local time unambiguous: a time in the spring-forward gap or the fall-back overlap is
/// moved two hours later (same calendar date), so every written local time names one instant.
pub fn fix_local(t: NaiveDateTime) -> NaiveDateTime {
    match New_York.from_local_datetime(&t) {
        LocalResult::Single(_) => t,
        _ => t + Duration::hours(2),
    }
}

/// Seconds east of UTC at an (unambiguous) local time.
pub fn offset_secs(t: NaiveDateTime) -> i32 {
    match New_York.from_local_datetime(&t) {
        LocalResult::Single(dt) => dt.offset().fix().local_minus_utc(),
        LocalResult::Ambiguous(a, _) => a.offset().fix().local_minus_utc(),
        LocalResult::None => -5 * 3600,
    }
}

/// Unix seconds of a local time.
pub fn epoch(t: NaiveDateTime) -> i64 {
    t.and_utc().timestamp() - i64::from(offset_secs(t))
}

/// RFC 3339 with the local offset: `2025-03-04T14:22:05-05:00`.
pub fn rfc3339(out: &mut String, t: NaiveDateTime) {
    let off = offset_secs(t);
    let sign = if off < 0 { '-' } else { '+' };
    let a = off.abs();
    let _ = write!(
        out,
        "{}{}{:02}:{:02}",
        t.format("%Y-%m-%dT%H:%M:%S"),
        sign,
        a / 3600,
        (a % 3600) / 60
    );
}

/// Excel serial day number (1900 date system) of a local time, to the second.
pub fn excel_serial(t: NaiveDateTime) -> f64 {
    let base = NaiveDate::from_ymd_opt(1899, 12, 30).unwrap();
    let days = (t.date() - base).num_days() as f64;
    days + f64::from(t.num_seconds_from_midnight()) / 86_400.0
}

pub fn excel_date(d: NaiveDate) -> f64 {
    let base = NaiveDate::from_ymd_opt(1899, 12, 30).unwrap();
    (d - base).num_days() as f64
}

/// The last second of a local date.
pub fn end_of_day(d: NaiveDate) -> NaiveDateTime {
    d.and_time(NaiveTime::from_hms_opt(23, 59, 59).unwrap())
}

/// `t + secs`, kept on `t`'s calendar date (clamped to 23:59:59) and made unambiguous.
pub fn same_day_after(t: NaiveDateTime, secs: i64) -> NaiveDateTime {
    let u = (t + Duration::seconds(secs)).min(end_of_day(t.date()));
    fix_local(u)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn dst_gap_and_overlap_are_moved_within_the_day() {
        let gap = dt("2025-03-09 02:30:00");
        assert_eq!(fix_local(gap), dt("2025-03-09 04:30:00"));
        let overlap = dt("2025-11-02 01:30:00");
        assert_eq!(fix_local(overlap), dt("2025-11-02 03:30:00"));
        let plain = dt("2025-07-01 12:00:00");
        assert_eq!(fix_local(plain), plain);
    }

    #[test]
    fn formats() {
        let mut s = String::new();
        rfc3339(&mut s, dt("2025-03-04 14:22:05"));
        assert_eq!(s, "2025-03-04T14:22:05-05:00");
        s.clear();
        rfc3339(&mut s, dt("2025-07-04 09:00:00"));
        assert_eq!(s, "2025-07-04T09:00:00-04:00");
        assert_eq!(epoch(dt("2025-01-01 00:00:00")), 1_735_707_600);
        assert_eq!(excel_serial(dt("2025-01-01 12:00:00")), 45658.5);
        assert_eq!(
            same_day_after(dt("2025-01-01 23:50:00"), 3600),
            dt("2025-01-01 23:59:59")
        );
    }
}
