//! Familiar's store: one narrow trait, [`Store`], and its implementations.
//!
//! SQLite (one file, WAL, versioned migrations) is the embedded default; PostgreSQL slots in
//! behind the same trait and the same contract tests (`tests/contract.rs`).
//!
//! The store never interprets data: ingest normalizes, linkage decides who is who, the engine
//! counts. The store keeps everything, loses nothing, and makes every batch atomic.

pub mod access;
mod backup;
mod bulk;
mod files;
mod row_seal;
pub mod seal;
mod sqlite;

use async_trait::async_trait;
use familiar_model::{Agency, NormalizedRecord, RawLayout, SourceIdentity};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

pub use access::{
    AccessStore, AuditEntry, AuditQuery, AuditVerify, NewAudit, NewUser, User, UserRole,
};
pub use backup::{read_sealed_file, write_sealed_file};
pub use files::{create_private, leftover_copies, temp_beside};
pub use sqlite::{KeyRotation, SqliteStore};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database {path}: {source}")]
    Open {
        path: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error while {doing}: {source}")]
    Sql {
        doing: &'static str,
        #[source]
        source: sqlx::Error,
    },
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    /// The key that seals source rows and secrets at rest is missing, unreadable or not this
    /// store's, or a sealed value does not open with it.
    #[error("secret key: {0}")]
    Key(String),
    /// A backup could not be written, or does not open.
    #[error("backup: {0}")]
    Backup(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// Shorthand to attach what we were doing to a sqlx error.
pub(crate) trait Doing<T> {
    fn doing(self, what: &'static str) -> Result<T>;
}
impl<T> Doing<T> for std::result::Result<T, sqlx::Error> {
    fn doing(self, what: &'static str) -> Result<T> {
        self.map_err(|source| StoreError::Sql {
            doing: what,
            source,
        })
    }
}

/// One run of a named, versioned selection rule, as recorded so the list can be reproduced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewRuleRun {
    pub rule: String,
    pub rule_version: u32,
    /// The rule's definition as it was run (TOML), so a later edit cannot change history.
    pub definition: String,
    pub as_of: chrono::NaiveDate,
    pub data_version: String,
    pub actor: String,
    /// The selected person ids, in rank order.
    pub persons: Vec<String>,
    /// The full result as JSON (counts and each person's qualification).
    pub result: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleRun {
    pub id: i64,
    pub at: String,
    #[serde(flatten)]
    pub run: NewRuleRun,
}

/// What is already stored for one source row key: the newest version and its content hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownVersion {
    pub version: i64,
    /// SHA-256 of the stored row's bytes ([`familiar_model::raw::content_hash`]).
    pub content_hash: [u8; 32],
    /// The stored row's id (None for a row staged earlier in the same run).
    pub record_id: Option<i64>,
}

/// Row key → what is stored for it. Fx hashing: a million short keys per source, no
/// adversarial input (keys come from the agency's own export).
pub type KnownKeys = HashMap<String, KnownVersion, rustc_hash::FxBuildHasher>;

/// One file about to be ingested.
#[derive(Debug, Clone)]
pub struct FileMeta {
    pub source: String,
    pub path: String,
    pub sha256: String,
    pub bytes: u64,
}

/// Per-file (and per-source) reconciliation: `read = accepted + rejected + duplicate`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowCounts {
    pub read: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub duplicate: u64,
}

impl RowCounts {
    pub fn add(&mut self, o: RowCounts) {
        self.read += o.read;
        self.accepted += o.accepted;
        self.rejected += o.rejected;
        self.duplicate += o.duplicate;
    }
    pub fn reconciles(&self) -> bool {
        self.read == self.accepted + self.rejected + self.duplicate
    }
}

/// An accepted row to persist, borrowed from the caller: the row as received and its normalized
/// form. Its content hash is not stored: it is [`familiar_model::raw::content_hash`] of `raw`.
#[derive(Debug, Clone, Copy)]
pub struct NewRecord<'a> {
    pub version: i64,
    /// The stored row this version replaces, when known (found by key otherwise).
    pub supersedes: Option<i64>,
    pub file_id: i64,
    pub row_number: u64,
    /// The row's bytes as read (see [`familiar_model::raw`]): read back as column → value with
    /// its file's layout ([`IngestTx::finish_file`], [`Store::source_row`]).
    pub raw: &'a [u8],
    pub record: &'a NormalizedRecord,
}

/// A rejected row, kept byte for byte with the reason.
#[derive(Debug, Clone, Serialize)]
pub struct QuarantineRow {
    pub file_id: i64,
    pub source: String,
    pub row_number: u64,
    pub kind: String,
    pub field: Option<String>,
    pub reason: String,
    pub raw: Vec<u8>,
}

/// A stored source row read back: where it came from, its bytes, and column → value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceRow {
    pub record_id: i64,
    pub source: String,
    pub record_key: String,
    pub version: i64,
    /// The file's path as given at ingest.
    pub file: String,
    pub row_number: u64,
    /// The row's bytes exactly as stored.
    pub raw: Vec<u8>,
    /// `(column, value)` in the row's own order, values as the reader saw them.
    pub fields: Vec<(String, String)>,
}

/// A stored identity, for linkage.
#[derive(Debug, Clone, Serialize)]
pub struct IdentityRow {
    pub record_id: i64,
    pub source: String,
    pub agency: String,
    pub record_key: String,
    pub identity: SourceIdentity,
    /// Where the row's interaction happened, when it is a street address (its location key):
    /// linkage compares it with other rows' homes and places.
    pub place: Option<String>,
    /// The dispatch (CAD) incident number of the row's interaction, when its source maps one:
    /// rows of different agencies with the same number come from the same call.
    pub incident_ref: Option<String>,
}

/// One person-involvement in an interaction, the unit the engine counts.
#[derive(Debug, Clone)]
pub struct InteractionRow {
    pub record_id: i64,
    pub agency: String,
    pub source: String,
    pub event_key: String,
    pub kind: String,
    pub start_utc: i64,
    pub local_date: chrono::NaiveDate,
    pub end_utc: Option<i64>,
    pub location_key: Option<String>,
    pub location_raw: Option<String>,
    pub location_kind: Option<String>,
    pub call_type: Option<String>,
    pub disposition: Option<String>,
    /// The dispatch (CAD) incident number the row cites, normalized (see `Fields::incident_ref`).
    pub incident_ref: Option<String>,
    pub role: String,
    pub needs: u8,
    pub transported: Option<bool>,
    pub part2: bool,
    pub person_id: Option<String>,
}

/// A change to a person id's history.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PersonEvent {
    /// new | merge | split | retire
    pub kind: String,
    pub person_id: String,
    /// JSON: the other ids involved, the records moved, and why.
    pub detail: String,
}

/// A reviewer-grade decision that overrides the model.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LinkDecision {
    pub id: i64,
    pub at: String,
    pub actor: String,
    /// match | non_match | assign
    pub kind: String,
    pub left_record: i64,
    pub right_record: Option<i64>,
    pub person_id: Option<String>,
    pub reason: String,
}

/// The whole result of one linkage run, saved atomically.
#[derive(Debug, Clone, Default)]
pub struct Linkage {
    /// `link`, `deterministic`, `import`, ...
    pub method: String,
    /// Who ran it (a user name or "familiar").
    pub actor: String,
    /// record id → person id for every linked identity.
    pub links: Vec<(i64, String)>,
    /// How each link was made, parallel to `links` (`model`, `review`, `import`).
    pub link_methods: Vec<String>,
    pub events: Vec<PersonEvent>,
    /// JSON statistics of the run.
    pub stats: String,
    /// Pairs for the review queue (replaces the previous queue).
    pub review: Vec<ReviewPair>,
    /// The trained model (JSON), kept for later incremental runs.
    pub model: Option<String>,
    /// The newest decision id this linkage applied (None: every decision stored now).
    pub decisions_through: Option<i64>,
}

/// What the last link runs left for the next one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LinkState {
    /// The newest link run (any method) and the newest decision it applied.
    pub last_run: Option<i64>,
    pub decisions_through: Option<i64>,
    /// The newest stored model (JSON) and the run that trained it.
    pub model: Option<String>,
    pub model_run: Option<i64>,
}

/// A pair the model was unsure about, waiting for a reviewer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ReviewPair {
    pub left_record: i64,
    pub right_record: i64,
    pub match_weight: f64,
    pub match_probability: f64,
}

/// Counts of what the store holds, for reports and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StoreCounts {
    pub source_records: i64,
    pub current_records: i64,
    pub interactions: i64,
    pub identities: i64,
    pub quarantine: i64,
    pub ingest_runs: i64,
    pub persons: i64,
    pub person_links: i64,
}

/// The storage boundary. One implementation per backend; one contract suite for all.
#[async_trait]
pub trait Store: Send + Sync {
    /// Register (insert or update) agencies.
    async fn upsert_agencies(&self, agencies: &[Agency]) -> Result<()>;
    async fn agencies(&self) -> Result<Vec<Agency>>;

    /// Start an ingest run. Nothing it writes is visible until [`IngestTx::commit`]; dropping
    /// the transaction (or the process dying) leaves no trace.
    async fn begin_ingest(
        &self,
        config_path: &str,
        config_sha256: &str,
    ) -> Result<Box<dyn IngestTx>>;

    /// Current identities (newest version of each row that names someone).
    async fn identities(&self) -> Result<Vec<IdentityRow>>;
    /// The current identities linked to one person (by record id), for a person's page: read
    /// through the person index, not by scanning every identity.
    async fn identities_of(&self, person_id: &str) -> Result<Vec<IdentityRow>>;
    /// Current record ids by (source, record_key).
    async fn record_ids(&self) -> Result<HashMap<(String, String), i64>>;
    /// (source, record_key) of the given record ids (any version); ids not stored are absent.
    /// For naming a few records without reading (and opening) every identity.
    async fn record_keys(&self, ids: &[i64]) -> Result<HashMap<i64, (String, String)>>;
    /// Those of `ids` that are current identities (the newest version of a row naming someone).
    async fn current_identity_ids(&self, ids: &[i64]) -> Result<std::collections::HashSet<i64>>;
    /// Current person links: record id → person id.
    async fn person_links(&self) -> Result<HashMap<i64, String>>;
    /// Replace all person links with a new linkage, atomically, recording the run and events
    /// and replacing the review queue with `linkage.review`.
    async fn save_linkage(&self, linkage: &Linkage) -> Result<i64>;
    /// Change the links of some records only, atomically: the links of `replace` (record ids)
    /// are dropped, `linkage.links` are written, every other link is left as it is (its run and
    /// method too). Review pairs touching `replace` are replaced by `linkage.review`; persons
    /// left without records are retired. The run is recorded as `incremental`.
    async fn save_linkage_update(&self, linkage: &Linkage, replace: &[i64]) -> Result<i64>;
    /// The newest link run, the decisions it applied, and the newest stored model.
    async fn link_state(&self) -> Result<LinkState>;
    /// Pairs waiting for review that no decision has settled yet, least certain first.
    async fn review_queue(&self) -> Result<Vec<ReviewPair>>;

    async fn add_decision(&self, d: &LinkDecision) -> Result<i64>;
    /// Many decisions in one transaction (an imported person index has one per record).
    async fn add_decisions(&self, ds: &[LinkDecision]) -> Result<()>;
    /// Active decisions, oldest first.
    async fn decisions(&self) -> Result<Vec<LinkDecision>>;
    async fn person_events(&self, person_id: &str) -> Result<Vec<PersonEvent>>;

    /// Every current interaction row with its person (if linked).
    async fn interaction_rows(&self) -> Result<Vec<InteractionRow>>;
    /// The newest local date of any interaction, if any.
    async fn latest_date(&self) -> Result<Option<chrono::NaiveDate>>;
    /// A token that changes whenever ingest, linkage or a reviewer's decision changes what the
    /// canonical tables hold; the engine rebuilds its snapshot when it differs.
    async fn data_version(&self) -> Result<String>;
    /// Record one run of a selection rule (see the engine's rules), returning its id.
    async fn save_rule_run(&self, run: &NewRuleRun) -> Result<i64>;
    /// Recorded rule runs, newest first (`name` filters by rule).
    async fn rule_runs(&self, name: Option<&str>) -> Result<Vec<RuleRun>>;

    async fn counts(&self) -> Result<StoreCounts>;
    /// Rejected rows, byte for byte, of one ingest run (or of every run).
    async fn quarantine_rows(&self, run_id: Option<i64>) -> Result<Vec<QuarantineRow>>;
    /// A stored source row (any version) as received, with its columns by name; None when no
    /// row has this id.
    async fn source_row(&self, record_id: i64) -> Result<Option<SourceRow>>;
}

/// One open ingest run.
#[async_trait]
pub trait IngestTx: Send {
    /// The run's id (valid after commit too).
    fn run_id(&self) -> i64;
    /// What is stored (or staged in this run) for each row key of a source.
    async fn known_versions(&mut self, source: &str) -> Result<KnownKeys>;
    async fn add_file(&mut self, file: &FileMeta) -> Result<i64>;
    /// Persist accepted rows. Rows with `version > 1` supersede the earlier version.
    async fn insert_records(&mut self, rows: &[NewRecord<'_>]) -> Result<()>;
    async fn quarantine(&mut self, run_rows: &[QuarantineRow]) -> Result<()>;
    /// Record a file's counts, its SHA-256 and size once it has been read to the end, and the
    /// layout its rows' raw bytes read back with.
    async fn finish_file(
        &mut self,
        file_id: i64,
        counts: RowCounts,
        sha256: &str,
        bytes: u64,
        layout: &RawLayout,
    ) -> Result<()>;
    /// Make the run durable. `report` is the run's JSON summary.
    async fn commit(self: Box<Self>, report: &str) -> Result<i64>;
}
