//! The driver the CLI calls: read every file of a source, map every row, hand each outcome to
//! a callback, and count.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use familiar_model::{NormalizedRecord, RawLayout};
use serde::Serialize;

use crate::config::{missing_columns, SourcePlan};
use crate::error::{IngestError, RejectKind, Rejection};
use crate::mapper::Warnings;
use crate::reader::{FileReader, OpenError};

/// A row as received, for lineage and duplicate detection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRow {
    pub file: Arc<Path>,
    pub row_number: u64,
    /// The row's bytes as read (see [`familiar_model::raw`]); the file's
    /// [`FileReport::layout`] reads them back as column → value.
    pub raw: Vec<u8>,
    /// SHA-256 of `raw` (equal for byte-identical rows).
    pub content_hash: [u8; 32],
}

/// What became of one row.
// Accepted is the common case; boxing its record would cost an allocation per row.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum RowOutcome {
    Accepted {
        record: NormalizedRecord,
        raw: RawRow,
    },
    Rejected(Rejection),
}

impl RowOutcome {
    pub fn row_number(&self) -> u64 {
        match self {
            RowOutcome::Accepted { raw, .. } => raw.row_number,
            RowOutcome::Rejected(r) => r.row_number,
        }
    }
}

/// Counts for one file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FileReport {
    pub file: PathBuf,
    /// Hex SHA-256 of the whole file.
    pub sha256: String,
    pub bytes: u64,
    /// Rows read = accepted + rejected (blank lines and the header are not rows; an accepted
    /// row of a source with `[[source.party]]` counts once per declared party, one record each).
    pub rows: u64,
    pub accepted: u64,
    pub rejected: u64,
    /// Rejections by [`RejectKind::as_str`].
    pub rejected_by_kind: BTreeMap<String, u64>,
    /// Values dropped without rejecting their row, by [`crate::mapper::Warning::as_str`].
    pub warnings: BTreeMap<String, u64>,
    /// How the file's rows' raw bytes read back as column → value (None only before reading).
    pub layout: Option<RawLayout>,
}

/// Counts for one source (all its files).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SourceReport {
    pub source: String,
    pub agency: String,
    pub files: Vec<FileReport>,
}

impl SourceReport {
    pub fn rows(&self) -> u64 {
        self.files.iter().map(|f| f.rows).sum()
    }
    pub fn accepted(&self) -> u64 {
        self.files.iter().map(|f| f.accepted).sum()
    }
    pub fn rejected(&self) -> u64 {
        self.files.iter().map(|f| f.rejected).sum()
    }
    pub fn rejected_by_kind(&self) -> BTreeMap<String, u64> {
        let mut m = BTreeMap::new();
        for f in &self.files {
            for (k, v) in &f.rejected_by_kind {
                *m.entry(k.clone()).or_insert(0) += v;
            }
        }
        m
    }
    pub fn warnings(&self) -> BTreeMap<String, u64> {
        let mut m = BTreeMap::new();
        for f in &self.files {
            for (k, v) in &f.warnings {
                *m.entry(k.clone()).or_insert(0) += v;
            }
        }
        m
    }
}

/// Read every file of `plan` in order, calling `on_row` for each row. Stops at the first file
/// that cannot be read, or the first error `on_row` returns.
pub fn read_source<E>(
    plan: &SourcePlan,
    mut on_row: impl FnMut(RowOutcome) -> Result<(), E>,
) -> Result<SourceReport, IngestError<E>> {
    let mut rep = SourceReport {
        source: plan.def.name.clone(),
        agency: plan.agency.code.clone(),
        files: Vec::with_capacity(plan.files.len()),
    };
    for f in &plan.files {
        rep.files.push(read_file(plan, f, &mut on_row)?);
    }
    Ok(rep)
}

/// Read one file of `plan` (any path: it need not be in `plan.files`).
pub fn read_file<E>(
    plan: &SourcePlan,
    path: &Path,
    on_row: &mut impl FnMut(RowOutcome) -> Result<(), E>,
) -> Result<FileReport, IngestError<E>> {
    let opts = plan.read_options();
    let mut reader = FileReader::open(path, &opts).map_err(|e| match e {
        OpenError::Io(file, source) => IngestError::Io { file, source },
        OpenError::File(f) => IngestError::File(f),
    })?;
    let names = reader.names().to_vec();
    let mapper = plan
        .bind(&names)
        .map_err(|missing| IngestError::File(missing_columns(plan, path, names, missing)))?;
    let mut rep = FileReport {
        file: path.to_path_buf(),
        ..Default::default()
    };
    // JSON lines: the layout holds no names (each line has its keys), so it is known here too.
    rep.layout = Some(reader.raw_layout());
    let mut warnings = Warnings::default();
    let mut by_kind = [0u64; RejectKind::ALL.len()];
    let mut reject = |r: Rejection, rep: &mut FileReport| {
        rep.rejected += 1;
        by_kind[RejectKind::ALL
            .iter()
            .position(|k| *k == r.kind)
            .expect("all")] += 1;
        RowOutcome::Rejected(r)
    };
    while let Some(next) = reader.next_row() {
        rep.rows += 1;
        let outcome = match next {
            Err(r) => reject(r, &mut rep),
            Ok(row) if mapper.has_parties() => match mapper.map_parties(&row, &mut warnings) {
                Ok(records) => {
                    let raw = RawRow {
                        file: row.file.clone(),
                        row_number: row.row_number,
                        raw: row.raw.to_vec(),
                        content_hash: row.content_hash(),
                    };
                    let n = records.len() as u64;
                    rep.rows += n - 1;
                    rep.accepted += n;
                    for record in records {
                        on_row(RowOutcome::Accepted {
                            record,
                            raw: raw.clone(),
                        })
                        .map_err(IngestError::Sink)?;
                    }
                    continue;
                }
                Err(r) => reject(r, &mut rep),
            },
            Ok(row) => match mapper.map(&row, &mut warnings) {
                Ok(record) => {
                    rep.accepted += 1;
                    RowOutcome::Accepted {
                        record,
                        raw: RawRow {
                            file: row.file.clone(),
                            row_number: row.row_number,
                            raw: row.raw.to_vec(),
                            content_hash: row.content_hash(),
                        },
                    }
                }
                Err(r) => reject(r, &mut rep),
            },
        };
        on_row(outcome).map_err(IngestError::Sink)?;
    }
    if let Some(e) = reader.take_io_error() {
        return Err(IngestError::Io {
            file: path.to_path_buf(),
            source: e,
        });
    }
    let (sha, bytes) = reader.finish().map_err(|e| IngestError::Io {
        file: path.to_path_buf(),
        source: e,
    })?;
    rep.sha256 = sha;
    rep.bytes = bytes;
    rep.rejected_by_kind = RejectKind::ALL
        .iter()
        .zip(by_kind)
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| (k.as_str().to_string(), n))
        .collect();
    rep.warnings = warnings.to_map();
    Ok(rep)
}

/// Map one row with a plan into its records (one, or one per party: see
/// [`crate::mapper::Mapper::map_parties`]); binds the mapping to the row's columns each call:
/// for one-offs and tests ([`read_source`] binds once per file).
pub fn map_row(
    plan: &SourcePlan,
    row: &crate::reader::Row<'_>,
) -> Result<Vec<NormalizedRecord>, Rejection> {
    let mapper = plan.bind(row.names).map_err(|missing| Rejection {
        kind: RejectKind::MissingRequired,
        field: None,
        column: missing.first().cloned(),
        reason: format!("the row has no column(s) {missing:?}"),
        row_number: row.row_number,
        file: row.file.clone(),
        raw: row.raw.to_vec(),
    })?;
    if mapper.has_parties() {
        mapper.map_parties(row, &mut Warnings::default())
    } else {
        mapper.map(row, &mut Warnings::default()).map(|r| vec![r])
    }
}
