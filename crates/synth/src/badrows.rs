//! Rows ingest must reject (or count as duplicates), planned per source.

use rand::seq::SliceRandom;
use rand::Rng;

/// Kinds of bad rows, as written in `truth/bad_rows.csv`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum BadKind {
    BadDate,
    MissingRequired,
    Duplicate,
    UnbalancedQuote,
    InvalidEncoding,
    InvalidJson,
}

impl BadKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BadKind::BadDate => "bad_date",
            BadKind::MissingRequired => "missing_required",
            BadKind::Duplicate => "duplicate",
            BadKind::UnbalancedQuote => "unbalanced_quote",
            BadKind::InvalidEncoding => "invalid_encoding",
            BadKind::InvalidJson => "invalid_json",
        }
    }
}

/// Kinds applicable to a UTF-8 CSV file.
pub const CSV_UTF8: &[BadKind] = &[
    BadKind::BadDate,
    BadKind::MissingRequired,
    BadKind::Duplicate,
    BadKind::UnbalancedQuote,
    BadKind::InvalidEncoding,
];
/// Kinds applicable to a single-byte (windows-1252) CSV: every byte decodes.
pub const CSV_SINGLE_BYTE: &[BadKind] = &[
    BadKind::BadDate,
    BadKind::MissingRequired,
    BadKind::Duplicate,
    BadKind::UnbalancedQuote,
];
pub const XLSX: &[BadKind] = &[
    BadKind::BadDate,
    BadKind::MissingRequired,
    BadKind::Duplicate,
];
pub const JSONL: &[BadKind] = &[
    BadKind::BadDate,
    BadKind::MissingRequired,
    BadKind::Duplicate,
    BadKind::InvalidEncoding,
    BadKind::InvalidJson,
];

/// Share of rows that are bad.
pub const RATE: f64 = 0.002;
/// Events kept clean after each bad row (readers join at most a few lines to close a quote).
pub const MIN_GAP: usize = 8;

/// One bad row as reported in the truth file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRow {
    pub source: String,
    pub file: String,
    pub line: u64,
    pub kind: BadKind,
}

/// Choose after which events (positions in write order) a bad row goes, and its kind.
/// Every kind appears at least once when the source has 100+ rows; at most one bad row
/// follows an event, so a duplicate always copies a good row.
pub fn plan<R: Rng + ?Sized>(
    rng: &mut R,
    events: usize,
    rows: usize,
    kinds: &[BadKind],
) -> Vec<Option<BadKind>> {
    let mut out = vec![None; events];
    if events == 0 || kinds.is_empty() {
        return out;
    }
    let mut m = (rows as f64 * RATE).round() as usize;
    if rows >= 100 {
        m = m.max(kinds.len());
    }
    let m = m.min(events / 2);
    let mut ks: Vec<BadKind> = kinds
        .iter()
        .copied()
        .cycle()
        .take(m.min(kinds.len()))
        .collect();
    while ks.len() < m {
        ks.push(*kinds.choose(rng).unwrap());
    }
    ks.shuffle(rng);
    // One position per stratum, away from the stratum's end, so bad rows sit well apart: two
    // unbalanced quotes within a few lines could otherwise balance each other when a reader
    // looks ahead to close a quote.
    let mut pos = Vec::with_capacity(m);
    for k in 0..m {
        let lo = k * events / m;
        let hi = (k + 1) * events / m;
        let margin = MIN_GAP.min((hi - lo) / 2);
        pos.push(rng.gen_range(lo..hi - margin));
    }
    for (p, k) in pos.into_iter().zip(ks) {
        out[p] = Some(k);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn every_kind_once_and_rate() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
        let p = plan(&mut rng, 10_000, 12_000, CSV_UTF8);
        let bad: Vec<_> = p.iter().flatten().collect();
        assert_eq!(bad.len(), 24);
        for k in CSV_UTF8 {
            assert!(bad.contains(&k));
        }
        let small = plan(&mut rng, 150, 150, JSONL);
        assert_eq!(small.iter().flatten().count(), 5);
        // bad rows are spread out
        let at: Vec<usize> = p
            .iter()
            .enumerate()
            .filter(|(_, k)| k.is_some())
            .map(|(i, _)| i)
            .collect();
        assert!(at.windows(2).all(|w| w[1] - w[0] > MIN_GAP), "{at:?}");
    }
}
