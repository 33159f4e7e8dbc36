//! The columnar snapshot of the canonical tables: Arrow in memory, Parquet on disk.
//!
//! Built from the store's current rows ([`Snapshot::build`]) and cached next to the store as
//! one Parquet file per table, each sealed under the store's key, plus a manifest naming the
//! store's data version ([`Snapshot::write_sealed`]); read back into memory when that version
//! still matches ([`Snapshot::open_cached`]). The tables name persons with their need flags
//! (mental health, substance use, 42 CFR Part 2 records) and the places of their events, so
//! the copy beside the store is sealed like the store's own rows; plain Parquet is written only
//! where asked ([`Snapshot::write`], `familiar snapshot --out DIR`). Every computation in this crate is a DataFusion plan over these
//! tables; [`Snapshot::context`] registers them in a fresh session.
//!
//! | table | one row per | key columns |
//! |---|---|---|
//! | `interactions` | interaction (an agency's event) | `interaction`, `agency`, `kind`, `local_date`, `start_utc`, `end_utc`, `location_key` |
//! | `involvements` | source record naming a party to an interaction | `interaction`, `record_id`, `agency`, `agency_ix`, `person`, `person_id`, `role`, need flags |
//! | `agencies` | agency the store knows | `ix`, `code`, `name` |
//!
//! `agency_ix` repeats `agency` as a small integer (`agencies.ix`): the heavy group-bys hash
//! integers instead of strings (measured: twice as fast on 10M rows).
//!
//! `interaction` and `person` are dense integers assigned when the snapshot is built (stable
//! within one snapshot only); `person_id` is the stable person id from linkage.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::NaiveDate;
use datafusion::arrow::array::{
    ArrayBuilder, ArrayRef, BooleanBuilder, Date32Builder, Int16Builder, Int64Builder, RecordBatch,
    StringBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::datasource::MemTable;
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};
use familiar_model::Agency;
use familiar_store::seal::Key;
use familiar_store::InteractionRow;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use serde::{Deserialize, Serialize};

use crate::{EngineError, Result};

/// Bumped whenever a table's columns change, so old Parquet snapshots are rebuilt.
pub const SNAPSHOT_SCHEMA_VERSION: u32 = 3;
/// Rows per Arrow batch.
const BATCH_ROWS: usize = 64 * 1024;
/// The canonical tables, in the order they are written.
pub const TABLES: [&str; 3] = ["interactions", "involvements", "agencies"];

/// What a snapshot was built from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub schema_version: u32,
    /// The store's data version when the snapshot was built (see `Store::data_version`).
    pub data_version: String,
    pub interactions: u64,
    pub involvements: u64,
    /// Newest interaction date, the default as-of.
    pub latest: Option<NaiveDate>,
}

/// The canonical tables: Arrow batches in memory (just built), plain Parquet files on disk, or
/// Parquet files opened from the sealed cache into memory (for both of the last, queries
/// decode only the columns and row groups they need).
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub manifest: Manifest,
    data: Data,
}

#[derive(Debug, Clone)]
enum Data {
    Memory(Vec<(&'static str, SchemaRef, Vec<RecordBatch>)>),
    Parquet(PathBuf),
    /// Each table's Parquet file, opened from the sealed cache, in memory (queries decode only
    /// the columns and row groups they need, as from a file).
    Bytes(Vec<(&'static str, bytes::Bytes)>),
}

fn date32(d: NaiveDate) -> i32 {
    (d - NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days() as i32
}

pub fn interactions_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("interaction", DataType::Int64, false),
        Field::new("agency", DataType::Utf8, false),
        Field::new("source", DataType::Utf8, false),
        Field::new("event_key", DataType::Utf8, false),
        Field::new("kind", DataType::Utf8, false),
        Field::new("local_date", DataType::Date32, false),
        Field::new("start_utc", DataType::Int64, false),
        Field::new("end_utc", DataType::Int64, true),
        Field::new("location_key", DataType::Utf8, true),
        Field::new("location_text", DataType::Utf8, true),
        Field::new("location_kind", DataType::Utf8, true),
        Field::new("call_type", DataType::Utf8, true),
        Field::new("disposition", DataType::Utf8, true),
        Field::new("incident_ref", DataType::Utf8, true),
        Field::new("transported", DataType::Boolean, true),
        Field::new("part2", DataType::Boolean, false),
    ]))
}

pub fn involvements_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("interaction", DataType::Int64, false),
        Field::new("record_id", DataType::Int64, false),
        Field::new("agency", DataType::Utf8, false),
        Field::new("agency_ix", DataType::Int16, false),
        Field::new("kind", DataType::Utf8, false),
        Field::new("local_date", DataType::Date32, false),
        Field::new("person", DataType::Int64, true),
        Field::new("person_id", DataType::Utf8, true),
        Field::new("role", DataType::Utf8, false),
        Field::new("mental_health", DataType::Boolean, false),
        Field::new("substance_use", DataType::Boolean, false),
        Field::new("housing_instability", DataType::Boolean, false),
        Field::new("part2", DataType::Boolean, false),
    ]))
}

pub fn agencies_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("ix", DataType::Int16, false),
        Field::new("code", DataType::Utf8, false),
        Field::new("name", DataType::Utf8, false),
    ]))
}

/// Builds the two fact tables row by row, in batches.
struct Builder {
    // interactions
    i_id: Int64Builder,
    i_agency: StringBuilder,
    i_source: StringBuilder,
    i_event: StringBuilder,
    i_kind: StringBuilder,
    i_date: Date32Builder,
    i_start: Int64Builder,
    i_end: Int64Builder,
    i_loc: StringBuilder,
    i_loc_text: StringBuilder,
    i_loc_kind: StringBuilder,
    i_call: StringBuilder,
    i_disp: StringBuilder,
    i_incident: StringBuilder,
    i_transported: BooleanBuilder,
    i_part2: BooleanBuilder,
    // involvements
    v_interaction: Int64Builder,
    v_record: Int64Builder,
    v_agency: StringBuilder,
    v_agency_ix: Int16Builder,
    v_kind: StringBuilder,
    v_date: Date32Builder,
    v_person: Int64Builder,
    v_person_id: StringBuilder,
    v_role: StringBuilder,
    v_mh: BooleanBuilder,
    v_su: BooleanBuilder,
    v_hi: BooleanBuilder,
    v_part2: BooleanBuilder,
    interactions: Vec<RecordBatch>,
    involvements: Vec<RecordBatch>,
}

impl Builder {
    fn new() -> Self {
        Builder {
            i_id: Int64Builder::new(),
            i_agency: StringBuilder::new(),
            i_source: StringBuilder::new(),
            i_event: StringBuilder::new(),
            i_kind: StringBuilder::new(),
            i_date: Date32Builder::new(),
            i_start: Int64Builder::new(),
            i_end: Int64Builder::new(),
            i_loc: StringBuilder::new(),
            i_loc_text: StringBuilder::new(),
            i_loc_kind: StringBuilder::new(),
            i_call: StringBuilder::new(),
            i_disp: StringBuilder::new(),
            i_incident: StringBuilder::new(),
            i_transported: BooleanBuilder::new(),
            i_part2: BooleanBuilder::new(),
            v_interaction: Int64Builder::new(),
            v_record: Int64Builder::new(),
            v_agency: StringBuilder::new(),
            v_agency_ix: Int16Builder::new(),
            v_kind: StringBuilder::new(),
            v_date: Date32Builder::new(),
            v_person: Int64Builder::new(),
            v_person_id: StringBuilder::new(),
            v_role: StringBuilder::new(),
            v_mh: BooleanBuilder::new(),
            v_su: BooleanBuilder::new(),
            v_hi: BooleanBuilder::new(),
            v_part2: BooleanBuilder::new(),
            interactions: Vec::new(),
            involvements: Vec::new(),
        }
    }

    fn push_interaction(
        &mut self,
        id: i64,
        r: &InteractionRow,
        part2: bool,
        incident: Option<&str>,
    ) {
        self.i_id.append_value(id);
        self.i_agency.append_value(&r.agency);
        self.i_source.append_value(&r.source);
        self.i_event.append_value(&r.event_key);
        self.i_kind.append_value(&r.kind);
        self.i_date.append_value(date32(r.local_date));
        self.i_start.append_value(r.start_utc);
        self.i_end.append_option(r.end_utc);
        self.i_loc
            .append_option(r.location_key.as_deref().filter(|s| !s.is_empty()));
        self.i_loc_text.append_option(r.location_raw.as_deref());
        self.i_loc_kind.append_option(r.location_kind.as_deref());
        self.i_call.append_option(r.call_type.as_deref());
        self.i_disp.append_option(r.disposition.as_deref());
        self.i_incident.append_option(incident);
        self.i_transported.append_option(r.transported);
        self.i_part2.append_value(part2);
        if self.i_id.len() >= BATCH_ROWS {
            self.flush_interactions();
        }
    }

    fn push_involvement(
        &mut self,
        interaction: i64,
        agency_ix: i16,
        person: Option<i64>,
        r: &InteractionRow,
    ) {
        self.v_interaction.append_value(interaction);
        self.v_record.append_value(r.record_id);
        self.v_agency.append_value(&r.agency);
        self.v_agency_ix.append_value(agency_ix);
        self.v_kind.append_value(&r.kind);
        self.v_date.append_value(date32(r.local_date));
        self.v_person.append_option(person);
        self.v_person_id.append_option(r.person_id.as_deref());
        self.v_role.append_value(&r.role);
        self.v_mh.append_value(r.needs & 1 != 0);
        self.v_su.append_value(r.needs & 2 != 0);
        self.v_hi.append_value(r.needs & 4 != 0);
        self.v_part2.append_value(r.part2);
        if self.v_interaction.len() >= BATCH_ROWS {
            self.flush_involvements();
        }
    }

    fn flush_interactions(&mut self) {
        if self.i_id.is_empty() {
            return;
        }
        let cols: Vec<ArrayRef> = vec![
            Arc::new(self.i_id.finish()),
            Arc::new(self.i_agency.finish()),
            Arc::new(self.i_source.finish()),
            Arc::new(self.i_event.finish()),
            Arc::new(self.i_kind.finish()),
            Arc::new(self.i_date.finish()),
            Arc::new(self.i_start.finish()),
            Arc::new(self.i_end.finish()),
            Arc::new(self.i_loc.finish()),
            Arc::new(self.i_loc_text.finish()),
            Arc::new(self.i_loc_kind.finish()),
            Arc::new(self.i_call.finish()),
            Arc::new(self.i_disp.finish()),
            Arc::new(self.i_incident.finish()),
            Arc::new(self.i_transported.finish()),
            Arc::new(self.i_part2.finish()),
        ];
        self.interactions
            .push(RecordBatch::try_new(interactions_schema(), cols).expect("interactions columns"));
    }

    fn flush_involvements(&mut self) {
        if self.v_interaction.is_empty() {
            return;
        }
        let cols: Vec<ArrayRef> = vec![
            Arc::new(self.v_interaction.finish()),
            Arc::new(self.v_record.finish()),
            Arc::new(self.v_agency.finish()),
            Arc::new(self.v_agency_ix.finish()),
            Arc::new(self.v_kind.finish()),
            Arc::new(self.v_date.finish()),
            Arc::new(self.v_person.finish()),
            Arc::new(self.v_person_id.finish()),
            Arc::new(self.v_role.finish()),
            Arc::new(self.v_mh.finish()),
            Arc::new(self.v_su.finish()),
            Arc::new(self.v_hi.finish()),
            Arc::new(self.v_part2.finish()),
        ];
        self.involvements
            .push(RecordBatch::try_new(involvements_schema(), cols).expect("involvements columns"));
    }
}

fn agencies_batch(agencies: &[Agency]) -> RecordBatch {
    let mut ix = Int16Builder::new();
    let mut code = StringBuilder::new();
    let mut name = StringBuilder::new();
    for (i, a) in agencies.iter().enumerate() {
        ix.append_value(i as i16);
        code.append_value(&a.code);
        name.append_value(&a.name);
    }
    RecordBatch::try_new(
        agencies_schema(),
        vec![
            Arc::new(ix.finish()),
            Arc::new(code.finish()),
            Arc::new(name.finish()),
        ],
    )
    .expect("agencies columns")
}

impl Snapshot {
    /// Build the tables from the store's current involvement rows (any order). Rows of one
    /// interaction `(agency, source, event_key)` become one `interactions` row, described by
    /// its lowest record id; every row becomes one `involvements` row.
    pub fn build(agencies: &[Agency], rows: &[InteractionRow], data_version: &str) -> Snapshot {
        // Group rows by interaction, first-seen order after sorting by record id, so the
        // numbering is deterministic for a given store.
        let mut order: Vec<usize> = (0..rows.len()).collect();
        order.sort_by_key(|&i| rows[i].record_id);
        let mut interaction_of: HashMap<(&str, &str, &str), i64> = HashMap::new();
        let mut first_row: Vec<usize> = Vec::new();
        let mut part2: Vec<bool> = Vec::new();
        // the first incident number any row of the interaction cites (not only its first row's)
        let mut incident: Vec<Option<&str>> = Vec::new();
        let mut row_interaction = vec![0i64; rows.len()];
        for &i in &order {
            let r = &rows[i];
            let next = first_row.len() as i64;
            let id = *interaction_of
                .entry((r.agency.as_str(), r.source.as_str(), r.event_key.as_str()))
                .or_insert(next);
            if id == next {
                first_row.push(i);
                part2.push(false);
                incident.push(None);
            }
            part2[id as usize] |= r.part2;
            let inc = &mut incident[id as usize];
            if inc.is_none() {
                *inc = r.incident_ref.as_deref();
            }
            row_interaction[i] = id;
        }
        // Agencies the rows name but the list lacks still get an index (and a row).
        let mut agencies: Vec<Agency> = agencies.to_vec();
        for r in rows {
            if !agencies.iter().any(|a| a.code == r.agency) {
                agencies.push(Agency::new(&r.agency, &r.agency, ""));
            }
        }
        let agency_ix: HashMap<&str, i16> = agencies
            .iter()
            .enumerate()
            .map(|(i, a)| (a.code.as_str(), i as i16))
            .collect();
        let mut person_of: HashMap<&str, i64> = HashMap::new();
        let mut b = Builder::new();
        for (id, &i) in first_row.iter().enumerate() {
            b.push_interaction(id as i64, &rows[i], part2[id], incident[id]);
        }
        b.flush_interactions();
        let mut latest: Option<NaiveDate> = None;
        for &i in &order {
            let r = &rows[i];
            latest = latest.max(Some(r.local_date));
            let person = r.person_id.as_deref().map(|p| {
                let next = person_of.len() as i64;
                *person_of.entry(p).or_insert(next)
            });
            b.push_involvement(row_interaction[i], agency_ix[r.agency.as_str()], person, r);
        }
        b.flush_involvements();
        let manifest = Manifest {
            schema_version: SNAPSHOT_SCHEMA_VERSION,
            data_version: data_version.to_string(),
            interactions: first_row.len() as u64,
            involvements: rows.len() as u64,
            latest,
        };
        Snapshot {
            manifest,
            data: Data::Memory(vec![
                ("interactions", interactions_schema(), b.interactions),
                ("involvements", involvements_schema(), b.involvements),
                (
                    "agencies",
                    agencies_schema(),
                    vec![agencies_batch(&agencies)],
                ),
            ]),
        }
    }

    /// Assemble a snapshot from batches already in the canonical schemas (benchmarks, tests,
    /// and data prepared elsewhere).
    pub fn from_batches(
        manifest: Manifest,
        interactions: Vec<RecordBatch>,
        involvements: Vec<RecordBatch>,
        agencies: &[Agency],
    ) -> Snapshot {
        Snapshot {
            manifest,
            data: Data::Memory(vec![
                ("interactions", interactions_schema(), interactions),
                ("involvements", involvements_schema(), involvements),
                (
                    "agencies",
                    agencies_schema(),
                    vec![agencies_batch(agencies)],
                ),
            ]),
        }
    }

    /// The snapshot directory kept beside a store file: `f.db` → `f.db.snapshot/`.
    pub fn dir_for(db: &Path) -> PathBuf {
        let mut s = db.as_os_str().to_owned();
        s.push(".snapshot");
        PathBuf::from(s)
    }

    /// Write every table as plain Parquet (snappy) plus `manifest.json`, atomically: into a
    /// temporary folder beside `dir` that then replaces it (an existing `dir` must be a
    /// snapshot folder). The folder is the owner's only (0700); the files in it are not
    /// sealed.
    pub fn write(&self, dir: &Path) -> Result<()> {
        self.write_with(dir, None)
    }

    /// [`Snapshot::write`], each table sealed under `key` (`<table>.parquet.sealed`, see
    /// `familiar_store::write_sealed_file`): the cache beside the store.
    pub fn write_sealed(&self, dir: &Path, key: &Key) -> Result<()> {
        self.write_with(dir, Some(key))
    }

    fn write_with(&self, dir: &Path, key: Option<&Key>) -> Result<()> {
        // a folder of its own, beside which the new copy is made and renamed into place
        let Some(name) = dir.file_name() else {
            return Err(EngineError::Invalid(format!(
                "{}: give the snapshot a folder of its own",
                dir.display()
            )));
        };
        // an existing folder is replaced only if it is a snapshot (the sealed cache is always
        // ours to replace)
        if key.is_none() && dir.exists() && !dir.join("manifest.json").is_file() {
            return Err(EngineError::Invalid(format!(
                "{} exists and is not a snapshot folder: give a new folder",
                dir.display()
            )));
        }
        // beside the folder as named, whatever trailing separator `dir` was written with
        let tmp = familiar_store::temp_beside(&dir.with_file_name(name));
        std::fs::create_dir(&tmp).map_err(|e| EngineError::io(&tmp, e))?;
        restrict(&tmp);
        let written = self.write_tables(&tmp, key);
        if written.is_err() {
            let _ = std::fs::remove_dir_all(&tmp);
        }
        written?;
        if dir.exists() {
            std::fs::remove_dir_all(dir).map_err(|e| EngineError::io(dir, e))?;
        }
        std::fs::rename(&tmp, dir).map_err(|e| EngineError::io(dir, e))?;
        Ok(())
    }

    fn write_tables(&self, tmp: &Path, key: Option<&Key>) -> Result<()> {
        for name in TABLES {
            match key {
                None => {
                    let path = tmp.join(format!("{name}.parquet"));
                    match &self.data {
                        Data::Memory(tables) => {
                            let (_, schema, batches) = table(tables, name);
                            let file =
                                File::create(&path).map_err(|e| EngineError::io(&path, e))?;
                            write_parquet(file, &path, schema.clone(), batches)?;
                        }
                        Data::Parquet(from) => {
                            let src = from.join(format!("{name}.parquet"));
                            std::fs::copy(&src, &path).map_err(|e| EngineError::io(&src, e))?;
                        }
                        Data::Bytes(files) => {
                            std::fs::write(&path, file_bytes(files, name))
                                .map_err(|e| EngineError::io(&path, e))?;
                        }
                    }
                }
                Some(key) => {
                    let path = tmp.join(format!("{name}.parquet.sealed"));
                    let bytes = match &self.data {
                        Data::Memory(tables) => {
                            let (_, schema, batches) = table(tables, name);
                            let mut buf = Vec::new();
                            write_parquet(&mut buf, &path, schema.clone(), batches)?;
                            buf
                        }
                        Data::Parquet(from) => {
                            let src = from.join(format!("{name}.parquet"));
                            std::fs::read(&src).map_err(|e| EngineError::io(&src, e))?
                        }
                        Data::Bytes(files) => file_bytes(files, name).to_vec(),
                    };
                    let head = sealed_header(name, &self.manifest.data_version);
                    familiar_store::write_sealed_file(key, &path, &[head.as_bytes(), &bytes])?;
                }
            }
        }
        let m = tmp.join("manifest.json");
        std::fs::write(
            &m,
            serde_json::to_vec_pretty(&self.manifest).expect("manifest serializes"),
        )
        .map_err(|e| EngineError::io(&m, e))?;
        Ok(())
    }

    /// Open a snapshot directory written by [`Snapshot::write`]: the manifest is read and
    /// checked now, each table's columns when a session first registers it.
    pub fn read(dir: &Path) -> Result<Snapshot> {
        let m = dir.join("manifest.json");
        let text = std::fs::read(&m).map_err(|e| EngineError::io(&m, e))?;
        let manifest: Manifest =
            serde_json::from_slice(&text).map_err(|e| EngineError::Snapshot {
                path: m.clone(),
                why: format!("manifest is not valid: {e}"),
            })?;
        if manifest.schema_version != SNAPSHOT_SCHEMA_VERSION {
            return Err(EngineError::Snapshot {
                path: m,
                why: format!(
                    "schema version {} (this build reads {SNAPSHOT_SCHEMA_VERSION})",
                    manifest.schema_version
                ),
            });
        }
        for name in TABLES {
            let p = dir.join(format!("{name}.parquet"));
            if !p.is_file() {
                let why = if dir.join(format!("{name}.parquet.sealed")).is_file() {
                    "missing: this is the sealed copy beside a store (read it with --db, or \
                     write a plain one with `familiar snapshot --out DIR`)"
                } else {
                    "missing"
                };
                return Err(EngineError::Snapshot {
                    path: p,
                    why: why.into(),
                });
            }
        }
        Ok(Snapshot {
            manifest,
            data: Data::Parquet(dir.to_path_buf()),
        })
    }

    /// Read every table of a snapshot directory into memory.
    pub fn read_into_memory(dir: &Path) -> Result<Snapshot> {
        let s = Snapshot::read(dir)?;
        let mut tables = Vec::new();
        for (name, schema) in TABLES.iter().zip(table_schemas()) {
            let path = dir.join(format!("{name}.parquet"));
            let file = File::open(&path).map_err(|e| EngineError::io(&path, e))?;
            let batches = read_parquet(file, &path, &schema)?;
            tables.push((*name, schema, batches));
        }
        Ok(Snapshot {
            manifest: s.manifest,
            data: Data::Memory(tables),
        })
    }

    /// The cached snapshot in `dir` (written by [`Snapshot::write_sealed`]) if it was built
    /// from `data_version`, its files opened into memory; None when missing, stale or
    /// unreadable (the caller rebuilds; a cache sealed under a key since rotated does not
    /// open).
    pub fn open_cached(dir: &Path, data_version: &str, key: &Key) -> Option<Snapshot> {
        let m: Manifest =
            serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).ok()?).ok()?;
        if m.data_version != data_version || m.schema_version != SNAPSHOT_SCHEMA_VERSION {
            return None;
        }
        let mut tables = Vec::new();
        for (name, schema) in TABLES.iter().zip(table_schemas()) {
            let path = dir.join(format!("{name}.parquet.sealed"));
            let read = familiar_store::read_sealed_file(key, &path)
                .map_err(EngineError::from)
                .and_then(|b| {
                    // the table and data version sealed with the file: an older file of the
                    // same key put beside this manifest is not taken for a current one
                    let head = sealed_header(name, data_version);
                    if !b.starts_with(head.as_bytes()) {
                        return Err(EngineError::Snapshot {
                            path: path.clone(),
                            why: "sealed for another table or data version".into(),
                        });
                    }
                    let b = bytes::Bytes::from(b).slice(head.len()..);
                    check_columns(b.clone(), &path, &schema)?;
                    Ok(b)
                });
            match read {
                Ok(b) => tables.push((*name, b)),
                Err(e) => {
                    if path.exists() {
                        tracing::warn!("the snapshot cache is rebuilt: {e}");
                    }
                    return None;
                }
            }
        }
        Some(Snapshot {
            manifest: m,
            data: Data::Bytes(tables),
        })
    }

    /// A fresh DataFusion session with the canonical tables registered (read-only: the
    /// tables are in-memory copies; nothing here writes back to the store).
    pub async fn context(&self) -> Result<SessionContext> {
        let cfg = SessionConfig::new()
            .with_target_partitions(partitions())
            .with_information_schema(true);
        let ctx = SessionContext::new_with_config(cfg);
        match &self.data {
            Data::Memory(tables) => {
                for (name, schema, batches) in tables {
                    let parts = split_partitions(batches, partitions());
                    let t = MemTable::try_new(schema.clone(), parts)?;
                    ctx.register_table(*name, Arc::new(t))?;
                }
            }
            Data::Parquet(dir) => {
                for name in TABLES {
                    let p = dir.join(format!("{name}.parquet"));
                    let path = p.to_str().ok_or_else(|| EngineError::Snapshot {
                        path: p.clone(),
                        why: "path is not valid UTF-8".into(),
                    })?;
                    ctx.register_parquet(name, path, ParquetReadOptions::default())
                        .await?;
                }
            }
            Data::Bytes(files) => {
                use datafusion::execution::object_store::ObjectStoreUrl;
                use datafusion::object_store::{memory::InMemory, path::Path as ObjectPath};
                use datafusion::object_store::{ObjectStoreExt, PutPayload};
                // a store of this session's own: the files are shared, not copied
                let store = InMemory::new();
                for (name, b) in files {
                    store
                        .put(
                            &ObjectPath::from(format!("{name}.parquet")),
                            PutPayload::from_bytes(b.clone()),
                        )
                        .await
                        .map_err(datafusion::error::DataFusionError::from)?;
                }
                let url = ObjectStoreUrl::parse("memory://")?;
                ctx.register_object_store(url.as_ref(), Arc::new(store));
                for name in TABLES {
                    ctx.register_parquet(
                        name,
                        &format!("memory:///{name}.parquet"),
                        ParquetReadOptions::default(),
                    )
                    .await?;
                }
            }
        }
        Ok(ctx)
    }
}

fn partitions() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// Deal batches round-robin into `n` partitions so scans run on every core.
fn split_partitions(batches: &[RecordBatch], n: usize) -> Vec<Vec<RecordBatch>> {
    let mut parts: Vec<Vec<RecordBatch>> = vec![Vec::new(); n.max(1)];
    let n = parts.len();
    for (i, b) in batches.iter().enumerate() {
        parts[i % n].push(b.clone());
    }
    parts
}

#[cfg(unix)]
fn restrict(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700));
}
#[cfg(not(unix))]
fn restrict(_: &Path) {}

/// The schemas of [`TABLES`], in their order.
fn table_schemas() -> [SchemaRef; 3] {
    [
        interactions_schema(),
        involvements_schema(),
        agencies_schema(),
    ]
}

/// What a sealed table file holds before its Parquet bytes: which table, of which data version.
fn sealed_header(table: &str, data_version: &str) -> String {
    format!("familiar snapshot\n{table}\n{data_version}\n")
}

/// The Parquet file of table `name`.
fn file_bytes<'a>(files: &'a [(&'static str, bytes::Bytes)], name: &str) -> &'a bytes::Bytes {
    &files
        .iter()
        .find(|t| t.0 == name)
        .expect("every canonical table is cached")
        .1
}

/// Whether the Parquet file `file` (`path`, for errors) has `want`'s columns (names and types;
/// nullability may differ), from its footer alone.
fn check_columns(file: bytes::Bytes, path: &Path, want: &SchemaRef) -> Result<()> {
    let got = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| EngineError::parquet(path, e))?
        .schema()
        .clone();
    if same_columns(&got, want) {
        Ok(())
    } else {
        Err(EngineError::Snapshot {
            path: path.to_path_buf(),
            why: "columns differ from this build's schema".into(),
        })
    }
}

fn same_columns(got: &Schema, want: &Schema) -> bool {
    got.fields().len() == want.fields().len()
        && got
            .fields()
            .iter()
            .zip(want.fields())
            .all(|(g, w)| g.name() == w.name() && g.data_type() == w.data_type())
}

/// The batches of `(name, schema, batches)` named `name`.
fn table<'a>(
    tables: &'a [(&'static str, SchemaRef, Vec<RecordBatch>)],
    name: &str,
) -> (&'a str, &'a SchemaRef, &'a [RecordBatch]) {
    let t = tables
        .iter()
        .find(|t| t.0 == name)
        .expect("every canonical table is built");
    (t.0, &t.1, &t.2)
}

/// Write `batches` as Parquet (snappy) to `file` (`path`, for errors).
pub(crate) fn write_parquet<W: std::io::Write + Send>(
    file: W,
    path: &Path,
    schema: SchemaRef,
    batches: &[RecordBatch],
) -> Result<()> {
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    let mut w = ArrowWriter::try_new(file, schema, Some(props))
        .map_err(|e| EngineError::parquet(path, e))?;
    for b in batches {
        w.write(b).map_err(|e| EngineError::parquet(path, e))?;
    }
    w.close().map_err(|e| EngineError::parquet(path, e))?;
    Ok(())
}

/// Read a Parquet table from `file` (`path`, for errors), checking its columns are `want`'s.
fn read_parquet<R: parquet::file::reader::ChunkReader + 'static>(
    file: R,
    path: &Path,
    want: &SchemaRef,
) -> Result<Vec<RecordBatch>> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| EngineError::parquet(path, e))?
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(|e| EngineError::parquet(path, e))?;
    let mut out = Vec::new();
    for b in reader {
        let b = b.map_err(|e| EngineError::Snapshot {
            path: path.to_path_buf(),
            why: e.to_string(),
        })?;
        // Same column names and types as this build's schema (nullability may differ).
        if !same_columns(&b.schema(), want) {
            return Err(EngineError::Snapshot {
                path: path.to_path_buf(),
                why: "columns differ from this build's schema".into(),
            });
        }
        out.push(RecordBatch::try_new(want.clone(), b.columns().to_vec())?);
    }
    Ok(out)
}

/// A bare 911 call row for tests: one interaction `event` of `agency` on `date`, naming `person`.
#[cfg(test)]
pub(crate) fn test_row(
    id: i64,
    agency: &str,
    event: &str,
    date: NaiveDate,
    person: Option<&str>,
) -> InteractionRow {
    InteractionRow {
        record_id: id,
        agency: agency.into(),
        source: agency.to_lowercase(),
        event_key: event.into(),
        kind: "call_911".into(),
        start_utc: 0,
        local_date: date,
        end_utc: None,
        location_key: None,
        location_raw: None,
        location_kind: None,
        call_type: None,
        disposition: None,
        incident_ref: None,
        role: "subject".into(),
        needs: 0,
        transported: None,
        part2: false,
        person_id: person.map(str::to_string),
    }
}

#[cfg(test)]
mod sealed_cache_tests {
    use super::*;

    fn snapshot(version: &str) -> Snapshot {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let mut rows = vec![
            test_row(1, "HEART", "h1", d("2025-06-03"), Some("P0000042")),
            test_row(2, "HEART", "h2", d("2025-06-04"), None),
        ];
        rows[0].part2 = true;
        rows[0].location_key = Some("1 ELM ST".into());
        Snapshot::build(&[Agency::new("HEART", "Crisis", "")], &rows, version)
    }

    fn tables(s: &Snapshot) -> Vec<(&'static str, SchemaRef, Vec<RecordBatch>)> {
        match &s.data {
            Data::Memory(t) => t.clone(),
            Data::Bytes(files) => TABLES
                .iter()
                .zip(table_schemas())
                .map(|(name, schema)| {
                    let b = file_bytes(files, name).clone();
                    let batches = read_parquet(b, Path::new(name), &schema).unwrap();
                    (*name, schema, batches)
                })
                .collect(),
            Data::Parquet(_) => panic!("opened into memory"),
        }
    }

    #[test]
    fn the_cache_is_sealed_and_opens_only_current_under_its_key() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("f.db.snapshot");
        let key = [7u8; 32];
        let snap = snapshot("ingest 1");
        snap.write_sealed(&cache, &key).unwrap();
        // nothing the tables hold is readable in the files
        for name in TABLES {
            let bytes = std::fs::read(cache.join(format!("{name}.parquet.sealed"))).unwrap();
            for needle in [&b"P0000042"[..], b"ELM ST", b"HEART"] {
                assert!(!bytes.windows(needle.len()).any(|w| w == needle));
            }
            assert!(!cache.join(format!("{name}.parquet")).exists());
        }
        let back = Snapshot::open_cached(&cache, "ingest 1", &key).expect("opens");
        assert_eq!(back.manifest, snap.manifest);
        for ((n1, _, b1), (n2, _, b2)) in tables(&back).iter().zip(tables(&snap).iter()) {
            assert_eq!(n1, n2);
            let rows = |b: &[RecordBatch]| b.iter().map(|x| x.num_rows()).sum::<usize>();
            assert_eq!(rows(b1), rows(b2), "{n1}");
            let one = |b: &[RecordBatch]| {
                datafusion::arrow::compute::concat_batches(&b[0].schema(), b).unwrap()
            };
            assert_eq!(one(b1), one(b2), "{n1}");
        }
        // another data version, another key, an older file put beside this manifest, or an
        // altered file: not used
        assert!(Snapshot::open_cached(&cache, "ingest 2", &key).is_none());
        let older = dir.path().join("older");
        snapshot("ingest 0").write_sealed(&older, &key).unwrap();
        let swap = |from: &Path, to: &Path| {
            let f = "agencies.parquet.sealed";
            std::fs::copy(from.join(f), to.join(f)).unwrap();
        };
        let kept = dir.path().join("kept");
        std::fs::create_dir(&kept).unwrap();
        swap(&cache, &kept);
        swap(&older, &cache);
        assert!(Snapshot::open_cached(&cache, "ingest 1", &key).is_none());
        swap(&kept, &cache);
        assert!(Snapshot::open_cached(&cache, "ingest 1", &key).is_some());
        assert!(Snapshot::open_cached(&cache, "ingest 1", &[8u8; 32]).is_none());
        let f = cache.join("involvements.parquet.sealed");
        let mut bytes = std::fs::read(&f).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0x40;
        std::fs::write(&f, bytes).unwrap();
        assert!(Snapshot::open_cached(&cache, "ingest 1", &key).is_none());
        // a plain copy is written only where asked, into a folder of its own or over a
        // snapshot, never over another folder
        let plain = dir.path().join("plain");
        snap.write(&plain).unwrap();
        assert!(plain.join("interactions.parquet").is_file());
        let read = Snapshot::read_into_memory(&plain).unwrap();
        assert_eq!(read.manifest, snap.manifest);
        snap.write(&plain).unwrap();
        let other = dir.path().join("other");
        std::fs::create_dir(&other).unwrap();
        std::fs::write(other.join("keep.txt"), "mine").unwrap();
        assert!(snap.write(&other).is_err());
        assert!(other.join("keep.txt").is_file());
        let e = Snapshot::read(&cache).unwrap_err().to_string();
        assert!(e.contains("the sealed copy beside a store"), "{e}");
    }
}
