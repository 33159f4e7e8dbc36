//! Readers for agency exports (CSV in any encoding, XLSX, JSON lines), the mapping config, field
//! parsers and quarantine reasons.
//!
//! # Flow
//!
//! ```no_run
//! use familiar_ingest::{load_config, preflight, read_source, RowOutcome};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let cfg = load_config("exports/sources.toml".as_ref())?; // parse + validate, globs resolved
//! preflight(&cfg)?;                                          // every header has every column
//! for plan in &cfg.sources {
//!     let report = read_source(plan, |outcome| -> Result<(), std::io::Error> {
//!         match outcome {
//!             RowOutcome::Accepted { record, raw } => { /* store record + raw lineage */ }
//!             RowOutcome::Rejected(rejection) => { /* quarantine rejection.raw with reason */ }
//!         }
//!         Ok(())
//!     })?;
//!     println!("{}: {} read, {} accepted", report.source, report.rows(), report.accepted());
//! }
//! # Ok(()) }
//! ```
//!
//! The mapping semantics are documented in [`mapper`]; readers in [`reader`]; dates in
//! [`datetime`]; names in [`names`]; addresses in [`address`]. A complete commented mapping file
//! is `crates/ingest/examples/sources.example.toml`.

pub mod address;
pub mod config;
pub mod datetime;
pub mod driver;
pub mod error;
pub mod mapper;
pub mod names;
pub mod reader;
pub mod values;

pub use config::{load_config, parse_config, preflight, LoadedConfig, SourcePlan};
pub use driver::{map_row, read_file, read_source, FileReport, RawRow, RowOutcome, SourceReport};
pub use error::{ConfigError, FileError, IngestError, RejectKind, Rejection};
pub use mapper::{Mapper, Warning, Warnings};
pub use reader::{file_sha256, Row, RowData};
