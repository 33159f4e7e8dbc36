//! Errors and row rejections.
//!
//! Three layers, from coarse to fine:
//!
//! - [`ConfigError`]: the mapping file is wrong (bad TOML, unknown agency, a glob that matches
//!   nothing, a file whose header lacks a mapped column). Nothing has been read or written yet.
//! - [`IngestError`]: a whole file cannot be read (I/O, an unreadable workbook), or the caller's
//!   row sink failed. Reading stops.
//! - [`Rejection`]: one row cannot be used (bad date, missing required field, invalid bytes, ...).
//!   Reading goes on; the row's raw bytes are kept so it can be quarantined losslessly.
//!
//! Every message names the file, and where it applies the row, the column and why.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Why a row was rejected. The string form (`as_str`) is stable: it is stored in quarantine
/// tables and shown in reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RejectKind {
    /// A date / time the source's formats cannot read (`start`, or a `required` date field).
    BadDate,
    /// A blank key column, blank `start`, or blank `required` field.
    MissingRequired,
    /// Bytes that are not valid in the declared encoding.
    InvalidEncoding,
    /// A `"` that opens a quoted field which never closes (within a few lines).
    UnbalancedQuote,
    /// A CSV row with more or fewer fields than the header.
    FieldCount,
    /// A JSON-lines line that is not a JSON object.
    InvalidJson,
    /// A value a field cannot take (an unknown interaction kind or role).
    BadValue,
}

impl RejectKind {
    pub const ALL: [RejectKind; 7] = [
        RejectKind::BadDate,
        RejectKind::MissingRequired,
        RejectKind::InvalidEncoding,
        RejectKind::UnbalancedQuote,
        RejectKind::FieldCount,
        RejectKind::InvalidJson,
        RejectKind::BadValue,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RejectKind::BadDate => "bad_date",
            RejectKind::MissingRequired => "missing_required",
            RejectKind::InvalidEncoding => "invalid_encoding",
            RejectKind::UnbalancedQuote => "unbalanced_quote",
            RejectKind::FieldCount => "field_count",
            RejectKind::InvalidJson => "invalid_json",
            RejectKind::BadValue => "bad_value",
        }
    }
}

impl fmt::Display for RejectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One rejected row. `raw` holds the row's bytes exactly as they were in the file (for a CSV
/// row spanning several lines, the lines with their original line breaks; for an XLSX row, the
/// row's JSON rendering), so quarantine loses nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub kind: RejectKind,
    /// The canonical field concerned (`start`, `record_key`, `dob`, ...), if any.
    pub field: Option<&'static str>,
    /// The source column concerned, if any.
    pub column: Option<String>,
    /// Human explanation, e.g. `value "13/45/2024" matches none of the formats ["%m/%d/%Y"]`.
    pub reason: String,
    /// 1-based physical line (CSV, JSON lines) or sheet row (XLSX) where the row starts.
    pub row_number: u64,
    pub file: Arc<Path>,
    pub raw: Vec<u8>,
}

impl Rejection {
    /// A rejection of a whole row (no one field to blame): its bytes, where it is, and why.
    pub(crate) fn whole_row(
        kind: RejectKind,
        reason: String,
        file: &Arc<Path>,
        row_number: u64,
        raw: &[u8],
    ) -> Rejection {
        Rejection {
            kind,
            field: None,
            column: None,
            reason,
            row_number,
            file: file.clone(),
            raw: raw.to_vec(),
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: row {}: {}",
            self.file.display(),
            self.row_number,
            self.kind
        )?;
        match (&self.field, &self.column) {
            (Some(fl), Some(c)) => write!(f, " in field {fl} (column {c:?})")?,
            (Some(fl), None) => write!(f, " in field {fl}")?,
            (None, Some(c)) => write!(f, " in column {c:?}")?,
            (None, None) => {}
        }
        write!(f, ": {}", self.reason)
    }
}

impl std::error::Error for Rejection {}

/// A file that cannot be used as a whole (found by preflight or when reading starts).
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{}: empty file: no header row", file.display())]
    Empty { file: PathBuf },
    #[error(transparent)]
    MissingColumns(Box<MissingColumns>),
    #[error("{}: cannot read: {message}", file.display())]
    Unreadable { file: PathBuf, message: String },
}

/// A header lacks columns the mapping reads.
#[derive(Debug, thiserror::Error)]
#[error(
    "{}: source {source_name:?}: column{} {} not in the header{}; the header has {} column{}: {}{}",
    file.display(),
    if missing.len() == 1 { "" } else { "s" },
    quoted_list(missing),
    match sheet { Some(s) => format!(" of sheet {s:?}"), None => String::new() },
    header.len(),
    if header.len() == 1 { "" } else { "s" },
    quoted_list(header),
    match hint { Some(h) => format!(" ({h})"), None => String::new() }
)]
pub struct MissingColumns {
    pub file: PathBuf,
    pub source_name: String,
    pub sheet: Option<String>,
    pub missing: Vec<String>,
    pub header: Vec<String>,
    /// e.g. "is the delimiter right? the header looks ';'-delimited".
    pub hint: Option<String>,
}

fn quoted_list(v: &[String]) -> String {
    let mut s = String::new();
    for (i, c) in v.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        s.push_str(&format!("{c:?}"));
    }
    s
}

/// The mapping file is unusable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}: cannot read the mapping file: {source}", file.display())]
    Io {
        file: PathBuf,
        source: std::io::Error,
    },
    /// TOML syntax or schema error (unknown key, wrong type), with its position.
    #[error("{}:{line}:{column}: {message}", file.display())]
    Toml {
        file: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    /// Semantic problems found by validation; all of them are listed.
    #[error("{}: invalid mapping:\n  - {}", file.display(), problems.join("\n  - "))]
    Invalid {
        file: PathBuf,
        problems: Vec<String>,
    },
    #[error(transparent)]
    File(#[from] FileError),
    #[error("{}: I/O error: {source}", file.display())]
    DataIo {
        file: PathBuf,
        source: std::io::Error,
    },
}

/// Reading a source failed as a whole.
#[derive(Debug, thiserror::Error)]
pub enum IngestError<E> {
    #[error("{}: I/O error: {source}", file.display())]
    Io {
        file: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    File(#[from] FileError),
    /// The caller's row callback returned an error; reading stopped there.
    #[error("row sink failed: {0}")]
    Sink(E),
}
