//! Familiar's analytics engine: every count an analyst, a dashboard or an evaluator reads —
//! key measures, ranked lists, selection rules, places, journeys, costs, monthly series and
//! ad-hoc SQL — computed as Apache DataFusion plans over a columnar [`Snapshot`] of the
//! canonical tables (Arrow in memory, Parquet on disk).
//!
//! The counting rules are written once, in `familiar_model::measures`; this crate implements
//! them in SQL. `reference` (test-only) keeps a plain-Rust implementation of the key measures that the
//! tests use as an independent oracle for the SQL.
//!
//! Keep computations as SQL / DataFusion plans (not loops over rows): the same plans are meant
//! to run distributed on Ballista later. Rust code here only assembles small results.

pub mod costs;
pub mod journey;
pub mod load;
pub mod measures;
pub mod neighbors;
pub mod places;
pub mod query;
#[cfg(test)]
mod reference;
pub mod rules;
pub mod scoped;
pub mod series;
pub mod snapshot;

use std::path::{Path, PathBuf};

pub use datafusion::arrow;
pub use load::load;
pub use measures::{key_measures, MeasureOptions};
pub use snapshot::{Manifest, Snapshot};

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Parquet {
        path: PathBuf,
        #[source]
        source: Box<parquet::errors::ParquetError>,
    },
    #[error("snapshot {path}: {why}")]
    Snapshot { path: PathBuf, why: String },
    #[error("query failed: {0}")]
    DataFusion(Box<datafusion::error::DataFusionError>),
    #[error("arrow: {0}")]
    Arrow(Box<datafusion::arrow::error::ArrowError>),
    #[error(transparent)]
    Store(#[from] familiar_store::StoreError),
    #[error("{file}: {why}")]
    Config { file: String, why: String },
    #[error("{0}")]
    Invalid(String),
}

impl EngineError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        EngineError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
    pub(crate) fn parquet(path: &Path, source: parquet::errors::ParquetError) -> Self {
        EngineError::Parquet {
            path: path.to_path_buf(),
            source: Box::new(source),
        }
    }
}

impl From<datafusion::error::DataFusionError> for EngineError {
    fn from(e: datafusion::error::DataFusionError) -> Self {
        EngineError::DataFusion(Box::new(e))
    }
}

impl From<datafusion::arrow::error::ArrowError> for EngineError {
    fn from(e: datafusion::arrow::error::ArrowError) -> Self {
        EngineError::Arrow(Box::new(e))
    }
}

pub type Result<T> = std::result::Result<T, EngineError>;
