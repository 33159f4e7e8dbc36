//! Errors of the linkage engine; each names the file / row / field it is about.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: row {row}: {message}")]
    Csv {
        path: PathBuf,
        row: u64,
        message: String,
    },
    #[error("{path}: {message}")]
    Parquet { path: PathBuf, message: String },
    #[error("{path}: unsupported input format (expected .csv, .tsv or .parquet)")]
    UnsupportedFormat { path: PathBuf },
    #[error("{path}: no column {column:?} (needed by {needed_by}); columns are: {available}")]
    MissingColumn {
        path: PathBuf,
        column: String,
        needed_by: String,
        available: String,
    },
    #[error("{path}: row {row}: empty record id in column {column:?}")]
    EmptyId {
        path: PathBuf,
        row: u64,
        column: String,
    },
    #[error("duplicate record id {id:?} in source {source_name:?}")]
    DuplicateId { source_name: String, id: String },
    #[error("spec {path}: {message}")]
    SpecParse { path: PathBuf, message: String },
    #[error("spec: {field}: {message}")]
    Spec { field: String, message: String },
    #[error(
        "blocking rule {rule} ({rule_text}) would create {pairs} candidate pairs, more than the limit \
         {max_pairs}; make the rule stricter (add a key) or raise blocking.max_pairs"
    )]
    BlockingTooLoose {
        rule: usize,
        rule_text: String,
        pairs: u64,
        max_pairs: u64,
    },
    #[error("{path}: row {row}: {message}")]
    Labels {
        path: PathBuf,
        row: u64,
        message: String,
    },
    #[error("cannot write {path}: {message}")]
    Write { path: PathBuf, message: String },
    #[error("unknown record {0:?}")]
    UnknownRecord(String),
}

impl LinkError {
    pub(crate) fn spec(field: impl Into<String>, message: impl Into<String>) -> Self {
        LinkError::Spec {
            field: field.into(),
            message: message.into(),
        }
    }
}
