//! Identity noise: how one agency writes one person on one row. Rates differ by agency (the
//! jail copies legal names from ID, a crisis team writes what the client says).

use chrono::{Datelike, Duration, NaiveDate};
use rand::seq::SliceRandom;
use rand::Rng;

use crate::names::{fold_accents, nicknames};
use crate::population::{Person, Surname};

/// Per-agency noise rates (probabilities per row).
#[derive(Debug, Clone, Copy)]
pub struct Profile {
    /// Use a nickname when one exists.
    pub nickname: f64,
    /// One-character edit in the first or last name.
    pub typo: f64,
    /// First and last swapped.
    pub swap: f64,
    /// Middle name written in full / as an initial (else omitted).
    pub middle_full: f64,
    pub middle_initial: f64,
    /// Keep a Jr/Sr suffix.
    pub suffix: f64,
    /// Keep accents (when the legal name has them).
    pub accents: f64,
    /// For a compound surname: both parts / hyphenated (else one part).
    pub compound_full: f64,
    pub compound_hyphen: f64,
    /// Keep using the old surname after a recent change.
    pub maiden_lag: f64,
    /// DOB written at all.
    pub dob: f64,
}

pub const DECC: Profile = Profile {
    nickname: 0.30,
    typo: 0.04,
    swap: 0.01,
    middle_full: 0.0,
    middle_initial: 0.3,
    suffix: 0.3,
    accents: 0.4,
    compound_full: 0.45,
    compound_hyphen: 0.05,
    maiden_lag: 0.3,
    dob: 0.12,
};
pub const DPD: Profile = Profile {
    nickname: 0.12,
    typo: 0.02,
    swap: 0.01,
    middle_full: 0.5,
    middle_initial: 0.3,
    suffix: 0.8,
    accents: 0.75,
    compound_full: 0.6,
    compound_hyphen: 0.15,
    maiden_lag: 0.2,
    dob: 0.93,
};
pub const DFD: Profile = Profile {
    nickname: 0.15,
    typo: 0.03,
    swap: 0.015,
    middle_full: 0.0,
    middle_initial: 0.4,
    suffix: 0.0,
    accents: 0.0,
    compound_full: 0.5,
    compound_hyphen: 0.1,
    maiden_lag: 0.3,
    dob: 0.85,
};
pub const DCSD: Profile = Profile {
    nickname: 0.03,
    typo: 0.01,
    swap: 0.005,
    middle_full: 0.8,
    middle_initial: 0.15,
    suffix: 0.95,
    accents: 0.0,
    compound_full: 0.7,
    compound_hyphen: 0.15,
    maiden_lag: 0.1,
    dob: 0.995,
};
pub const HEART: Profile = Profile {
    nickname: 0.35,
    typo: 0.05,
    swap: 0.0,
    middle_full: 0.0,
    middle_initial: 0.0,
    suffix: 0.0,
    accents: 0.6,
    compound_full: 0.5,
    compound_hyphen: 0.1,
    maiden_lag: 0.5,
    dob: 0.35,
};

/// A name as written on one row (case not yet applied).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NameView {
    pub first: String,
    pub middle: String,
    pub last: String,
    pub suffix: &'static str,
}

impl NameView {
    pub fn upper(mut self) -> Self {
        self.first = self.first.to_uppercase();
        self.middle = self.middle.to_uppercase();
        self.last = self.last.to_uppercase();
        self
    }

    /// "LAST SFX, FIRST M"
    pub fn last_comma_first(&self) -> String {
        let mut s = String::with_capacity(32);
        s.push_str(&self.last);
        if !self.suffix.is_empty() {
            s.push(' ');
            s.push_str(self.suffix);
        }
        s.push_str(", ");
        s.push_str(&self.first);
        if !self.middle.is_empty() {
            s.push(' ');
            s.push_str(&self.middle);
        }
        s
    }

    /// "LAST FIRST MIDDLE"
    pub fn last_first_middle(&self) -> String {
        let mut s = String::with_capacity(32);
        s.push_str(&self.last);
        s.push(' ');
        s.push_str(&self.first);
        if !self.middle.is_empty() {
            s.push(' ');
            s.push_str(&self.middle);
        }
        s
    }
}

fn text(p: &Person, s: &'static str, keep_accents: bool) -> String {
    if p.accents && keep_accents {
        s.to_string()
    } else {
        fold_accents(s)
    }
}

fn surname_text<R: Rng + ?Sized>(
    p: &Person,
    s: Surname,
    prof: &Profile,
    keep: bool,
    rng: &mut R,
) -> String {
    match s.1 {
        None => text(p, s.0, keep),
        Some(b) => {
            let x: f64 = rng.gen();
            let (a, b) = (text(p, s.0, keep), text(p, b, keep));
            if x < prof.compound_full {
                format!("{a} {b}")
            } else if x < prof.compound_full + prof.compound_hyphen {
                format!("{a}-{b}")
            } else if x < 0.93 {
                a
            } else {
                b
            }
        }
    }
}

/// The person's name as this agency writes it on `date`.
pub fn name_view<R: Rng + ?Sized>(
    p: &Person,
    prof: &Profile,
    date: NaiveDate,
    rng: &mut R,
) -> NameView {
    let keep = rng.gen_bool(prof.accents);
    let mut surname = p.surname_on(date);
    if let Some((old, changed)) = p.maiden {
        if date >= changed && (date - changed).num_days() < 730 && rng.gen_bool(prof.maiden_lag) {
            surname = old;
        }
    }
    let mut last = surname_text(p, surname, prof, keep, rng);
    let nicks = nicknames(p.first);
    let mut first = if !nicks.is_empty() && rng.gen_bool(prof.nickname) {
        text(p, nicks.choose(rng).unwrap(), keep)
    } else {
        text(p, p.first, keep)
    };
    let middle = match p.middle {
        Some(m) => {
            let x: f64 = rng.gen();
            if x < prof.middle_full {
                text(p, m, keep)
            } else if x < prof.middle_full + prof.middle_initial {
                fold_accents(&m[..m.char_indices().nth(1).map_or(m.len(), |(i, _)| i)])
            } else {
                String::new()
            }
        }
        None => String::new(),
    };
    if rng.gen_bool(prof.typo) {
        if rng.gen_bool(0.5) {
            first = typo(&first, rng);
        } else {
            last = typo(&last, rng);
        }
    }
    if rng.gen_bool(prof.swap) {
        std::mem::swap(&mut first, &mut last);
    }
    let suffix = match p.suffix {
        Some(s) if rng.gen_bool(prof.suffix) => s,
        _ => "",
    };
    NameView {
        first,
        middle,
        last,
        suffix,
    }
}

/// One-character edit (substitute, delete, insert, transpose) on letters, case preserved.
pub fn typo<R: Rng + ?Sized>(s: &str, rng: &mut R) -> String {
    let mut c: Vec<char> = s.chars().collect();
    let letters: Vec<usize> = (0..c.len()).filter(|&i| c[i].is_alphabetic()).collect();
    if letters.len() < 3 {
        return s.to_string();
    }
    // never touch the first letter (keeps blocking keys realistic: most typos are inside)
    let i = letters[rng.gen_range(1..letters.len())];
    let upper = c[i].is_uppercase();
    let mut letter = (b'a' + rng.gen_range(0..26u8)) as char;
    if upper {
        letter = letter.to_ascii_uppercase();
    }
    match rng.gen_range(0..4) {
        0 => {
            if c[i].eq_ignore_ascii_case(&letter) {
                letter = if letter.is_ascii_uppercase() {
                    'E'
                } else {
                    'e'
                };
                if c[i].eq_ignore_ascii_case(&letter) {
                    letter = if upper { 'A' } else { 'a' };
                }
            }
            c[i] = letter;
        }
        1 => {
            if letters.len() > 3 {
                c.remove(i);
            } else {
                c.insert(i, c[i]);
            }
        }
        2 => c.insert(i, c[i]),
        _ => {
            if i + 1 < c.len() && c[i + 1].is_alphabetic() && c[i + 1] != c[i] {
                c.swap(i, i + 1);
            } else {
                c.insert(i, letter);
            }
        }
    }
    let out: String = c.into_iter().collect();
    if out == s {
        format!("{s}{}", if upper { 'E' } else { 'e' })
    } else {
        out
    }
}

/// The DOB as written on `date` (None = left blank): exact mostly; day/month swapped 1%,
/// year ±1 2%, a few days off 2% (never a birth date after the row's own date).
pub fn dob_view<R: Rng + ?Sized>(
    p: &Person,
    prof: &Profile,
    date: NaiveDate,
    rng: &mut R,
) -> Option<NaiveDate> {
    if !rng.gen_bool(prof.dob) {
        return None;
    }
    let d = p.dob;
    let x: f64 = rng.gen();
    let noisy = if x < 0.01 {
        if d.day() <= 12 && d.day() != d.month() {
            NaiveDate::from_ymd_opt(d.year(), d.day(), d.month())
        } else {
            None
        }
    } else if x < 0.03 {
        let y = if rng.gen_bool(0.5) { 1 } else { -1 };
        NaiveDate::from_ymd_opt(d.year() + y, d.month(), d.day())
    } else if x < 0.05 {
        let k = rng.gen_range(1..4) * if rng.gen_bool(0.5) { 1 } else { -1 };
        Some(d + Duration::days(k))
    } else {
        None
    };
    Some(noisy.filter(|n| *n < date).unwrap_or(d))
}

/// Phone spellings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhoneStyle {
    Digits,
    Paren,
    Dashes,
    Dots,
}

pub fn phone(n: u64, style: PhoneStyle) -> String {
    let (a, e, l) = (n / 10_000_000, (n / 10_000) % 1000, n % 10_000);
    match style {
        PhoneStyle::Digits => format!("{a}{e:03}{l:04}"),
        PhoneStyle::Paren => format!("({a}) {e:03}-{l:04}"),
        PhoneStyle::Dashes => format!("{a}-{e:03}-{l:04}"),
        PhoneStyle::Dots => format!("{a}.{e:03}.{l:04}"),
    }
}

/// A stable scrambled number for person `i` (bijective below 9,000,000).
pub fn stable_id(i: u32, salt: u64) -> u64 {
    (u64::from(i) * 2_654_435_761 + salt) % 9_000_000 + 1_000_000
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn typo_changes_exactly_a_little() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        for _ in 0..500 {
            let t = typo("JOHNSON", &mut rng);
            assert_ne!(t, "JOHNSON");
            assert!(t.starts_with('J'));
            assert!((t.len() as i64 - 7).abs() <= 1, "{t}");
            assert!(t.chars().all(|c| c.is_ascii_uppercase()), "{t}");
        }
        assert_eq!(typo("Li", &mut rng), "Li");
    }

    #[test]
    fn phones_and_ids() {
        assert_eq!(phone(9_195_550_134, PhoneStyle::Paren), "(919) 555-0134");
        assert_eq!(phone(9_195_550_134, PhoneStyle::Dots), "919.555.0134");
        assert_eq!(phone(9_195_550_134, PhoneStyle::Digits), "9195550134");
        let mut ids: Vec<u64> = (0..100_000).map(|i| stable_id(i, 7)).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 100_000);
    }
}
