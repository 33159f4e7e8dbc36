//! Comparators: string similarity, nickname equivalence, phonetic codes, dates, digits.
//!
//! Every comparator here is symmetric (`f(a, b) == f(b, a)`) and bounded (similarities in
//! `[0, 1]`, distances `<= max(len)`): the similarity functions order their two arguments before
//! computing, so greedy steps inside Jaro can never make the result depend on argument order.

use rustc_hash::FxHashMap;
use std::sync::OnceLock;

/// Jaro similarity in `[0, 1]`.
pub fn jaro(a: &str, b: &str) -> f64 {
    let (a, b) = if a <= b { (a, b) } else { (b, a) };
    if a.is_ascii() && b.is_ascii() {
        jaro_bytes(a.as_bytes(), b.as_bytes())
    } else {
        let ac: Vec<char> = a.chars().collect();
        let bc: Vec<char> = b.chars().collect();
        jaro_slice(&ac, &bc)
    }
}

/// Jaro-Winkler similarity in `[0, 1]` (prefix scale 0.1, common prefix up to 4, boost applied
/// when Jaro > 0.7, as in the usual definition).
pub fn jaro_winkler(a: &str, b: &str) -> f64 {
    let (a, b) = if a <= b { (a, b) } else { (b, a) };
    if a.is_ascii() && b.is_ascii() {
        let j = jaro_bytes(a.as_bytes(), b.as_bytes());
        winkler(j, a.as_bytes(), b.as_bytes())
    } else {
        let ac: Vec<char> = a.chars().collect();
        let bc: Vec<char> = b.chars().collect();
        let j = jaro_slice(&ac, &bc);
        winkler(j, &ac, &bc)
    }
}

fn winkler<T: PartialEq>(j: f64, a: &[T], b: &[T]) -> f64 {
    if j <= 0.7 {
        return j;
    }
    let l = a.iter().zip(b).take(4).take_while(|(x, y)| x == y).count();
    (j + l as f64 * 0.1 * (1.0 - j)).min(1.0)
}

/// Jaro on bytes; bit-parallel when both strings have at most 64 bytes (same result as
/// `jaro_slice`: each character of `a` takes the first unmatched equal character of `b` in its
/// window).
fn jaro_bytes(a: &[u8], b: &[u8]) -> f64 {
    let (la, lb) = (a.len(), b.len());
    if la > 64 || lb > 64 || la == 0 || lb == 0 {
        return jaro_slice(a, b);
    }
    let window = (la.max(lb) / 2).saturating_sub(1);
    let mut pm = [0u64; 256];
    for (j, &c) in b.iter().enumerate() {
        pm[c as usize] |= 1u64 << j;
    }
    let mut bflag = 0u64;
    let mut aflag = 0u64;
    let mut m = 0u32;
    for (i, &c) in a.iter().enumerate() {
        let lo = i.saturating_sub(window);
        let hi = (i + window + 1).min(lb);
        if lo >= hi {
            continue;
        }
        let win = (if hi == 64 { u64::MAX } else { (1u64 << hi) - 1 }) & !((1u64 << lo) - 1);
        let cand = pm[c as usize] & win & !bflag;
        if cand != 0 {
            bflag |= cand & cand.wrapping_neg();
            aflag |= 1u64 << i;
            m += 1;
        }
    }
    if m == 0 {
        return 0.0;
    }
    let mut t = 0u32;
    let (mut af, mut bf) = (aflag, bflag);
    while af != 0 {
        let i = af.trailing_zeros() as usize;
        let j = bf.trailing_zeros() as usize;
        if a[i] != b[j] {
            t += 1;
        }
        af &= af - 1;
        bf &= bf - 1;
    }
    let m = f64::from(m);
    ((m / la as f64) + (m / lb as f64) + (m - f64::from(t / 2)) / m) / 3.0
}

fn jaro_slice<T: PartialEq>(a: &[T], b: &[T]) -> f64 {
    let (la, lb) = (a.len(), b.len());
    if la == 0 && lb == 0 {
        return 1.0;
    }
    if la == 0 || lb == 0 {
        return 0.0;
    }
    let window = (la.max(lb) / 2).saturating_sub(1);
    let mut af_small = [false; 64];
    let mut bf_small = [false; 64];
    let mut af_big = Vec::new();
    let mut bf_big = Vec::new();
    let (af, bf): (&mut [bool], &mut [bool]) = if la <= 64 && lb <= 64 {
        (&mut af_small[..la], &mut bf_small[..lb])
    } else {
        af_big.resize(la, false);
        bf_big.resize(lb, false);
        (&mut af_big[..], &mut bf_big[..])
    };
    let mut m = 0usize;
    for i in 0..la {
        let lo = i.saturating_sub(window);
        let hi = (i + window + 1).min(lb);
        for j in lo..hi {
            if !bf[j] && a[i] == b[j] {
                af[i] = true;
                bf[j] = true;
                m += 1;
                break;
            }
        }
    }
    if m == 0 {
        return 0.0;
    }
    let mut t = 0usize;
    let mut k = 0usize;
    for i in 0..la {
        if af[i] {
            while !bf[k] {
                k += 1;
            }
            if a[i] != b[k] {
                t += 1;
            }
            k += 1;
        }
    }
    let m = m as f64;
    ((m / la as f64) + (m / lb as f64) + (m - (t / 2) as f64) / m) / 3.0
}

/// Optimal-string-alignment distance (Damerau-Levenshtein with adjacent transpositions, each
/// substring edited once), on characters.
pub fn damerau_levenshtein(a: &str, b: &str) -> usize {
    if a.is_ascii() && b.is_ascii() {
        osa(a.as_bytes(), b.as_bytes())
    } else {
        let ac: Vec<char> = a.chars().collect();
        let bc: Vec<char> = b.chars().collect();
        osa(&ac, &bc)
    }
}

/// `damerau_levenshtein(a, b) <= 1`, in linear time.
pub fn within_one_edit(a: &str, b: &str) -> bool {
    if !(a.is_ascii() && b.is_ascii()) {
        return damerau_levenshtein(a, b) <= 1;
    }
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (la, lb) = (a.len(), b.len());
    if la == lb {
        let Some(i) = (0..la).find(|&i| a[i] != b[i]) else {
            return true;
        };
        a[i + 1..] == b[i + 1..]
            || (i + 1 < la && a[i] == b[i + 1] && a[i + 1] == b[i] && a[i + 2..] == b[i + 2..])
    } else if la.abs_diff(lb) == 1 {
        let (s, l) = if la < lb { (a, b) } else { (b, a) };
        let i = (0..s.len()).find(|&i| s[i] != l[i]).unwrap_or(s.len());
        s[i..] == l[i + 1..]
    } else {
        false
    }
}

/// Levenshtein distance on characters.
pub fn levenshtein(a: &str, b: &str) -> usize {
    strsim::levenshtein(a, b)
}

fn osa<T: PartialEq>(a: &[T], b: &[T]) -> usize {
    let (la, lb) = (a.len(), b.len());
    if la == 0 {
        return lb;
    }
    if lb == 0 {
        return la;
    }
    // three rows: i-2, i-1, i (on the stack for short strings)
    let w = lb + 1;
    let (mut s2, mut s1, mut s0) = ([0usize; 33], [0usize; 33], [0usize; 33]);
    let (mut h2, mut h1, mut h0) = (Vec::new(), Vec::new(), Vec::new());
    let (mut prev2, mut prev, mut cur): (&mut [usize], &mut [usize], &mut [usize]) = if w <= 33 {
        (&mut s2[..w], &mut s1[..w], &mut s0[..w])
    } else {
        h2.resize(w, 0);
        h1.resize(w, 0);
        h0.resize(w, 0);
        (&mut h2[..], &mut h1[..], &mut h0[..])
    };
    for (j, x) in prev.iter_mut().enumerate() {
        *x = j;
    }
    for i in 1..=la {
        cur[0] = i;
        for j in 1..=lb {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(prev2[j - 2] + 1);
            }
            cur[j] = v;
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[lb]
}

/// Jaccard similarity of the whitespace-separated token sets, in `[0, 1]`.
pub fn token_jaccard(a: &str, b: &str) -> f64 {
    let mut ta: Vec<&str> = a.split_whitespace().collect();
    let mut tb: Vec<&str> = b.split_whitespace().collect();
    ta.sort_unstable();
    ta.dedup();
    tb.sort_unstable();
    tb.dedup();
    if ta.is_empty() && tb.is_empty() {
        return 1.0;
    }
    let inter = ta.iter().filter(|t| tb.binary_search(t).is_ok()).count();
    let union = ta.len() + tb.len() - inter;
    inter as f64 / union as f64
}

/// True when the values share a word of two or more characters (words split on anything not
/// alphanumeric).
pub fn token_overlap(a: &str, b: &str) -> bool {
    let words = |s: &str| -> Vec<String> {
        s.split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.chars().count() >= 2)
            .map(str::to_string)
            .collect()
    };
    let wb = words(b);
    words(a).iter().any(|w| wb.contains(w))
}

/// Words of two or more characters (split on anything not alphanumeric), sorted and distinct.
pub fn name_words(s: &str) -> Vec<&str> {
    let mut w: Vec<&str> = s
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 2)
        .collect();
    w.sort_unstable();
    w.dedup();
    w
}

/// True when the smaller of two sorted distinct word sets is contained in the larger and they
/// share at least two words (the `name_tokens` level).
pub fn words_subset<T: Ord>(a: &[T], b: &[T]) -> bool {
    let (small, large) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if small.len() < 2 {
        return false;
    }
    let (mut i, mut j) = (0, 0);
    while i < small.len() && j < large.len() {
        match small[i].cmp(&large[j]) {
            std::cmp::Ordering::Less => return false,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                i += 1;
                j += 1;
            }
        }
    }
    i == small.len()
}

/// The same name written in another order or split into fields differently: the words of one
/// are all among the words of the other, two or more of them shared.
pub fn name_tokens_agree(a: &str, b: &str) -> bool {
    words_subset(&name_words(a), &name_words(b))
}

/// True when one value is an initial (one letter, optionally followed by '.') equal to the first
/// letter of the other value.
pub fn initial_match(a: &str, b: &str) -> bool {
    fn initial(s: &str) -> Option<char> {
        let t = s.trim_end_matches('.');
        let mut it = t.chars();
        let c = it.next()?;
        if it.next().is_none() && c.is_alphabetic() {
            Some(c)
        } else {
            None
        }
    }
    match (initial(a), initial(b)) {
        (Some(x), _) => b.starts_with(x),
        (_, Some(y)) => a.starts_with(y),
        _ => false,
    }
}

// ------------------------------------------------------------------------------- nicknames

struct NickTable {
    groups: FxHashMap<&'static str, Vec<u16>>,
    heads: Vec<&'static str>,
}

fn nick_table() -> &'static NickTable {
    static T: OnceLock<NickTable> = OnceLock::new();
    T.get_or_init(|| {
        let mut groups: FxHashMap<&'static str, Vec<u16>> = FxHashMap::default();
        let mut heads = Vec::new();
        for line in include_str!("data/nicknames.txt").lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let gid = heads.len() as u16;
            let mut names = line.split_whitespace();
            let head = names.next().expect("non-empty line");
            heads.push(head);
            for n in std::iter::once(head).chain(names) {
                let e = groups.entry(n).or_default();
                if !e.contains(&gid) {
                    e.push(gid);
                }
            }
        }
        NickTable { groups, heads }
    })
}

/// Nickname groups a (lower-case) given name belongs to.
pub fn nickname_groups(name: &str) -> &'static [u16] {
    nick_table()
        .groups
        .get(name)
        .map(|v| v.as_slice())
        .unwrap_or(&[])
}

/// True when the two (lower-case) given names are different forms of the same name
/// (robert / bob, william / bill, elizabeth / betsy, ...). Equal names are not nicknames.
pub fn are_nicknames(a: &str, b: &str) -> bool {
    if a == b {
        return false;
    }
    let (ga, gb) = (nickname_groups(a), nickname_groups(b));
    ga.iter().any(|g| gb.contains(g))
}

/// True when the two (lower-case) given names are the masculine and feminine forms of one name:
/// one is the other with a final `a` (juan / juana, paul / paula, robert / roberta; not after an
/// `a`: lisa / lisaa is a typo) or the two differ only in a final o / a (mario / maria, antonio
/// / antonia). Such names are usually two
/// relatives, not one person misspelt, though a string measure scores them close; the model
/// learns what the level is worth. Endings such as -e, -ine or -ette are left out: they join as
/// many spellings of one name (lynn / lynne, christin / christine) as pairs of relatives.
pub fn gender_variants(a: &str, b: &str) -> bool {
    if a == b || a.chars().count() < 3 || b.chars().count() < 3 {
        return false;
    }
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if let Some(end) = long.strip_prefix(short) {
        // lisa / lisaa is a doubled letter: no feminine form adds an `a` to one
        return end == "a" && !short.ends_with('a');
    }
    let (sa, sb) = (a.strip_suffix('o'), b.strip_suffix('a'));
    let (ta, tb) = (a.strip_suffix('a'), b.strip_suffix('o'));
    matches!((sa, sb), (Some(x), Some(y)) if x == y)
        || matches!((ta, tb), (Some(x), Some(y)) if x == y)
}

/// A blocking key for nickname-equivalent names: the formal name of the first group the name is
/// in, or the name itself.
pub fn nickname_key(name: &str) -> &str {
    let t = nick_table();
    match t.groups.get(name).and_then(|g| g.first()) {
        Some(&g) => t.heads[g as usize],
        None => name,
    }
}

/// The formal names of every nickname group the (lower-case) name is in (none when in none).
pub fn nickname_heads(name: &str) -> Vec<&'static str> {
    let t = nick_table();
    nickname_groups(name)
        .iter()
        .map(|&g| t.heads[g as usize])
        .collect()
}

/// Number of nickname groups embedded (for tests and docs).
pub fn nickname_group_count() -> usize {
    nick_table().heads.len()
}

// ------------------------------------------------------------------------------- phonetic

/// Double Metaphone (primary, alternate) codes, up to 4 characters each; empty for no letters.
pub fn double_metaphone(s: &str) -> (String, String) {
    static DM: OnceLock<rphonetic::DoubleMetaphone> = OnceLock::new();
    let dm = DM.get_or_init(rphonetic::DoubleMetaphone::default);
    // rphonetic slices by byte index: give it ASCII letters only (common accents folded).
    let letters: String = s.chars().filter_map(fold_ascii).collect();
    if letters.is_empty() {
        return (String::new(), String::new());
    }
    match std::panic::catch_unwind(|| dm.double_metaphone(&letters)) {
        Ok(r) => (r.primary(), r.alternate()),
        Err(_) => (String::new(), String::new()),
    }
}

/// ASCII letter for a letter (Latin-1 / Latin Extended-A accents folded), None otherwise.
fn fold_ascii(c: char) -> Option<char> {
    if c.is_ascii_alphabetic() {
        return Some(c);
    }
    let f = match c {
        'à'..='å' | 'À'..='Å' | 'ā' | 'ă' | 'ą' => 'a',
        'ç' | 'Ç' | 'ć' | 'č' => 'c',
        'è'..='ë' | 'È'..='Ë' | 'ē' | 'ė' | 'ę' | 'ě' => 'e',
        'ì'..='ï' | 'Ì'..='Ï' | 'ī' | 'į' | 'ı' => 'i',
        'ñ' | 'Ñ' | 'ń' | 'ň' => 'n',
        'ò'..='ö' | 'ø' | 'Ò'..='Ö' | 'Ø' | 'ō' | 'ő' => 'o',
        'ù'..='ü' | 'Ù'..='Ü' | 'ū' | 'ů' | 'ű' => 'u',
        'ý' | 'ÿ' | 'Ý' => 'y',
        'š' | 'ś' | 'ß' => 's',
        'ž' | 'ź' | 'ż' => 'z',
        'ł' => 'l',
        'ř' => 'r',
        'ď' => 'd',
        'ť' => 't',
        _ => return None,
    };
    Some(f)
}

/// True when any Double Metaphone code of `a` equals any code of `b` (non-empty).
pub fn phonetic_match(a: &str, b: &str) -> bool {
    let (pa, aa) = double_metaphone(a);
    let (pb, ab) = double_metaphone(b);
    codes_match(&pa, &aa, &pb, &ab)
}

pub(crate) fn codes_match(pa: &str, aa: &str, pb: &str, ab: &str) -> bool {
    if pa.is_empty() || pb.is_empty() {
        return false;
    }
    pa == pb || pa == ab || aa == pb || (!aa.is_empty() && aa == ab)
}

// ------------------------------------------------------------------------------- dates

/// A parsed (possibly partial) date. `text` is the canonical digits `YYYY`, `YYYYMM` or
/// `YYYYMMDD`; `days` is set for valid full calendar dates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateVal {
    pub year: i32,
    pub month: Option<u32>,
    pub day: Option<u32>,
    pub text: String,
    pub days: Option<i64>,
}

/// Days since 1970-01-01 of a valid proleptic Gregorian date.
pub fn days_from_civil(y: i32, m: u32, d: u32) -> Option<i64> {
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return None;
    }
    let y = i64::from(y) - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => 0,
    }
}

/// Parse a date: `YYYYMMDD`, `YYYY-MM-DD` (also `/` or `.`), `YYYY-MM`, `YYYY`, or US
/// `MM/DD/YYYY`. An 8-digit value with an impossible month/day still parses (its `days` is None)
/// so string-level comparisons can use it; anything else unparseable is None.
pub fn parse_date(s: &str) -> Option<DateVal> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let num = |t: &str| -> Option<u32> {
        if !t.is_empty() && t.len() <= 4 && t.bytes().all(|c| c.is_ascii_digit()) {
            t.parse().ok()
        } else {
            None
        }
    };
    let (y, m, d): (i32, Option<u32>, Option<u32>);
    if s.bytes().all(|c| c.is_ascii_digit()) {
        match s.len() {
            8 => {
                y = s[0..4].parse().ok()?;
                m = Some(s[4..6].parse().ok()?);
                d = Some(s[6..8].parse().ok()?);
            }
            6 => {
                y = s[0..4].parse().ok()?;
                m = Some(s[4..6].parse().ok()?);
                d = None;
            }
            4 => {
                y = s.parse().ok()?;
                m = None;
                d = None;
            }
            _ => return None,
        }
    } else {
        let s = s.split(['T', ' ']).next().unwrap_or(s);
        let parts: Vec<&str> = s.split(['-', '/', '.']).collect();
        match parts.as_slice() {
            [a, b, c] if a.len() == 4 => {
                y = num(a)? as i32;
                m = Some(num(b)?);
                d = Some(num(c)?);
            }
            [a, b, c] if c.len() == 4 => {
                // US order: month / day / year
                y = num(c)? as i32;
                m = Some(num(a)?);
                d = Some(num(b)?);
            }
            [a, b] if a.len() == 4 => {
                y = num(a)? as i32;
                m = Some(num(b)?);
                d = None;
            }
            _ => return None,
        }
    }
    if m.is_some_and(|m| m == 0 || m > 99) || d.is_some_and(|d| d > 99) {
        return None;
    }
    let text = match (m, d) {
        (Some(m), Some(d)) => format!("{y:04}{m:02}{d:02}"),
        (Some(m), None) => format!("{y:04}{m:02}"),
        _ => format!("{y:04}"),
    };
    let days = match (m, d) {
        (Some(m), Some(d)) => days_from_civil(y, m, d),
        _ => None,
    };
    Some(DateVal {
        year: y,
        month: m,
        day: d,
        text,
        days,
    })
}

impl DateVal {
    pub fn is_full(&self) -> bool {
        self.month.is_some() && self.day.is_some()
    }
    /// Day and month swapped, year equal (both full, day != month).
    pub fn day_month_swapped(&self, o: &DateVal) -> bool {
        self.year == o.year
            && self.is_full()
            && o.is_full()
            && self.month == o.day
            && self.day == o.month
            && self.month != self.day
    }
    /// |years apart| <= k with month and day equal (both full).
    pub fn year_off_by(&self, o: &DateVal, k: u32) -> bool {
        self.is_full()
            && o.is_full()
            && self.month == o.month
            && self.day == o.day
            && self.year.abs_diff(o.year) <= k
    }
    /// Calendar distance in days (both valid full dates).
    pub fn days_apart(&self, o: &DateVal) -> Option<u64> {
        Some(self.days?.abs_diff(o.days?))
    }
    pub fn same_year_month(&self, o: &DateVal) -> bool {
        self.year == o.year && self.month.is_some() && self.month == o.month
    }
    /// One side is a year alone, within `k` years of the other's: a birth year worked out from
    /// an age ("41") is a year off whenever the birthday has not come yet that year.
    pub fn year_only_within(&self, o: &DateVal, k: u32) -> bool {
        (self.month.is_none() || o.month.is_none()) && self.year.abs_diff(o.year) <= k
    }
    /// One side is partial (year or year-month) and agrees with the other on what it has.
    pub fn partial_agree(&self, o: &DateVal) -> bool {
        if self.is_full() && o.is_full() {
            return false;
        }
        self.year == o.year && (self.month.is_none() || o.month.is_none() || self.month == o.month)
    }
}

// ------------------------------------------------------------------------------- digits

/// The digits of a value, in order.
pub fn digits(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_digit()).collect()
}

/// The last `n` digits (None when fewer than `n` digits).
pub fn last_digits(s: &str, n: usize) -> Option<String> {
    let d = digits(s);
    (d.len() >= n).then(|| d[d.len() - n..].to_string())
}

/// Lower-case, fold common Latin accents ("José" → "jose"), trim, collapse inner whitespace.
pub fn normalize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for w in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        for c in w.chars() {
            if c.is_ascii() {
                out.push(c.to_ascii_lowercase());
            } else if let Some(f) = fold_ascii(c) {
                out.push(f.to_ascii_lowercase());
            } else {
                out.extend(c.to_lowercase());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn gender_variant_examples() {
        for (a, b) in [
            ("juan", "juana"),
            ("juana", "juan"),
            ("mario", "maria"),
            ("antonia", "antonio"),
            ("daniel", "daniela"),
            ("paul", "paula"),
            ("robert", "roberta"),
        ] {
            assert!(gender_variants(a, b), "{a} / {b}");
        }
        for (a, b) in [
            ("juan", "juan"),
            ("john", "joan"),
            ("maria", "marie"),
            ("jo", "joa"),
            ("mario", "marco"),
            ("anna", "annabelle"),
            ("lynn", "lynne"),
            ("christin", "christine"),
            ("nicol", "nicole"),
            ("lisa", "lisaa"),
            ("maria", "mariaa"),
        ] {
            assert!(!gender_variants(a, b), "{a} / {b}");
        }
    }

    #[test]
    fn name_tokens_examples() {
        assert!(name_tokens_agree(
            "ramirez | pedro c | vasquez",
            "pedro c vasquez ramirez"
        ));
        assert!(name_tokens_agree("g |  | le mei", "mei | grace | le"));
        assert!(!name_tokens_agree("john | smith", "james | smith"));
        assert!(!name_tokens_agree("juana lopez perez", "maria lopez perez"));
        // one shared word is not enough
        assert!(!name_tokens_agree("smith", "john smith"));
    }

    #[test]
    fn known_values() {
        assert!((jaro_winkler("martha", "marhta") - 0.9611).abs() < 1e-3);
        assert!((jaro("dixon", "dicksonx") - 0.7667).abs() < 1e-3);
        assert_eq!(damerau_levenshtein("ca", "ac"), 1);
        assert_eq!(damerau_levenshtein("kitten", "sitting"), 3);
        assert_eq!(jaro_winkler("", ""), 1.0);
        assert_eq!(jaro_winkler("a", ""), 0.0);
        assert!(initial_match("j", "john"));
        assert!(initial_match("john", "j."));
        assert!(!initial_match("john", "jane"));
    }

    #[test]
    fn nicknames() {
        assert!(nickname_group_count() > 150);
        assert!(are_nicknames("robert", "bob"));
        assert!(are_nicknames("bobby", "rob"));
        assert!(are_nicknames("william", "bill"));
        assert!(are_nicknames("elizabeth", "betsy"));
        assert!(are_nicknames("margaret", "peggy"));
        assert!(!are_nicknames("robert", "william"));
        assert_eq!(nickname_key("bob"), "robert");
        assert!(are_nicknames("jesus", "chuy"));
        assert_eq!(normalize("  José   PEÑA "), "jose pena");
    }

    #[test]
    fn phonetic() {
        assert!(phonetic_match("smith", "smyth"));
        assert!(phonetic_match("catherine", "kathryn"));
        assert!(!phonetic_match("smith", "jones"));
    }

    #[test]
    fn dates() {
        let a = parse_date("19800312").unwrap();
        let b = parse_date("1980-12-03").unwrap();
        assert!(a.day_month_swapped(&b));
        let c = parse_date("03/12/1981").unwrap();
        assert!(a.year_off_by(&c, 1));
        assert_eq!(parse_date("19801332").unwrap().days, None);
        assert_eq!(days_from_civil(1970, 1, 1), Some(0));
        assert_eq!(days_from_civil(2000, 3, 1), Some(11017));
        let p = parse_date("1980").unwrap();
        assert!(p.partial_agree(&a));
        assert_eq!(parse_date("garbage"), None);
    }

    #[test]
    fn a_year_alone_is_within_a_year_of_a_date() {
        let d = |s: &str| parse_date(s).unwrap();
        assert!(d("1982").year_only_within(&d("1983-07-31"), 1));
        assert!(d("1983-07-31").year_only_within(&d("1982"), 1));
        assert!(d("1982").year_only_within(&d("1983"), 1));
        assert!(!d("1982").year_only_within(&d("1980"), 1));
        assert!(!d("1982").year_only_within(&d("1984-01-01"), 1));
        // a year and month is not a year alone: it must agree on the year
        assert!(!d("1982-07").year_only_within(&d("1983-07-31"), 1));
        // two full dates are for the other rules
        assert!(!d("1982-07-31").year_only_within(&d("1983-07-31"), 1));
    }

    proptest! {
        #[test]
        fn name_tokens_symmetric_and_order_free(
            a in proptest::collection::vec("[a-d]{1,3}", 0..5),
            b in proptest::collection::vec("[a-d]{1,3}", 0..5),
            k in 0usize..5,
        ) {
            let (x, y) = (a.join(" "), b.join(" | "));
            prop_assert_eq!(name_tokens_agree(&x, &y), name_tokens_agree(&y, &x));
            // word order and separators do not matter
            let mut r = a.clone();
            let n = r.len();
            r.rotate_left(k.min(n));
            prop_assert_eq!(name_tokens_agree(&x, &y), name_tokens_agree(&r.join(","), &y));
            // a name with two or more words agrees with itself, reordered
            let words = name_words(&x).len();
            prop_assert_eq!(name_tokens_agree(&x, &r.join(" ")), words >= 2);
        }

        #[test]
        fn comparators_symmetric_and_bounded(a in "[a-e]{0,12}", b in "[a-e]{0,12}", u in "\\PC{0,8}") {
            let jw = jaro_winkler(&a, &b);
            prop_assert!((0.0..=1.0).contains(&jw));
            prop_assert_eq!(jw, jaro_winkler(&b, &a));
            let j = jaro(&a, &b);
            prop_assert!((0.0..=1.0).contains(&j));
            prop_assert_eq!(j, jaro(&b, &a));
            let d = damerau_levenshtein(&a, &b);
            prop_assert_eq!(d, damerau_levenshtein(&b, &a));
            prop_assert!(d <= a.len().max(b.len()));
            prop_assert_eq!(damerau_levenshtein(&a, &a), 0);
            let t = token_jaccard(&a, &u);
            prop_assert!((0.0..=1.0).contains(&t));
            prop_assert_eq!(t, token_jaccard(&u, &a));
            let ju = jaro_winkler(&a, &u);
            prop_assert!((0.0..=1.0).contains(&ju));
            prop_assert_eq!(ju, jaro_winkler(&u, &a));
            prop_assert_eq!(initial_match(&a, &b), initial_match(&b, &a));
            prop_assert_eq!(token_overlap(&a, &u), token_overlap(&u, &a));
            prop_assert_eq!(are_nicknames(&a, &b), are_nicknames(&b, &a));
            prop_assert_eq!(gender_variants(&a, &b), gender_variants(&b, &a));
            prop_assert!(!gender_variants(&a, &a));
            prop_assert_eq!(phonetic_match(&a, &u), phonetic_match(&u, &a));
        }

        #[test]
        fn bit_parallel_jaro_matches_reference(a in "[a-f ]{0,70}", b in "[a-f ]{0,70}") {
            prop_assert_eq!(jaro_bytes(a.as_bytes(), b.as_bytes()), jaro_slice(a.as_bytes(), b.as_bytes()));
            let ac: Vec<char> = a.chars().collect();
            let bc: Vec<char> = b.chars().collect();
            prop_assert_eq!(osa(a.as_bytes(), b.as_bytes()), osa(&ac, &bc));
            prop_assert_eq!(osa(a.as_bytes(), b.as_bytes()), strsim::osa_distance(&a, &b));
            prop_assert_eq!(within_one_edit(&a, &b), osa(a.as_bytes(), b.as_bytes()) <= 1);
            let (c, d) = (&a[..a.len().min(6)], &b[..b.len().min(6)]);
            prop_assert_eq!(within_one_edit(c, d), osa(c.as_bytes(), d.as_bytes()) <= 1);
        }
    }
}
