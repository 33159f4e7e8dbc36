//! One module per subcommand. Each has an `Args` (clap) and a `run`.

pub mod analysis;
pub mod audit;
pub mod backup;
pub mod bench_data;
pub mod demo;
pub mod explore;
pub mod ingest;
pub mod link;
pub mod matching;
pub mod measures;
pub mod review;
pub mod serve;
pub mod synth;
pub mod top;
pub mod user;

use std::path::Path;

use anyhow::{Context, Result};
use familiar_store::SqliteStore;

/// Open (creating and migrating if needed) the store at `db`.
pub async fn open_store(db: &Path) -> Result<SqliteStore> {
    warn_of_leftover_copies(db);
    SqliteStore::open(db)
        .await
        .with_context(|| format!("opening the store {}", db.display()))
}

/// A backup or restore that died leaves its working copy beside the store (`<db>.tmp-…`):
/// the store's tables with only the names sealed. Nothing else removes it, so say so.
fn warn_of_leftover_copies(db: &Path) {
    for p in familiar_store::leftover_copies(db) {
        eprintln!(
            "warning: {} is left from a backup or restore that did not finish (a copy of the \
             store whose readable tables are not sealed): delete it",
            p.display()
        );
    }
    // Before the snapshot beside the store was sealed, its tables were plain Parquet; an
    // interrupted write leaves a working folder beside it.
    let snapshot = familiar_engine::Snapshot::dir_for(db);
    let plain = std::fs::read_dir(&snapshot)
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().ends_with(".parquet"));
    if plain {
        eprintln!(
            "warning: {} holds plain Parquet tables written by an earlier version: the next \
             analysis command replaces them with sealed ones (or delete the folder)",
            snapshot.display()
        );
    }
    // (`<db>.snapshot-tmp` is an earlier version's working folder)
    let mut unfinished = familiar_store::leftover_copies(&snapshot);
    unfinished.push(snapshot.with_extension("snapshot-tmp"));
    for p in unfinished.into_iter().filter(|p| p.exists()) {
        eprintln!(
            "warning: {} is left from a snapshot write that did not finish: delete it",
            p.display()
        );
    }
    // Before rejected rows were written out only on request, every ingest left them here.
    let rejects = std::path::PathBuf::from(format!("{}.rejects", db.display()));
    if rejects.is_dir() {
        eprintln!(
            "warning: {} holds rejected rows in the clear, written by an earlier version (the \
             store keeps them sealed; `familiar rejects --out FILE` writes them when needed): \
             delete it",
            rejects.display()
        );
    }
}

/// Open a store that must already exist (commands that only read).
pub async fn open_existing(db: &Path) -> Result<SqliteStore> {
    if !db.exists() {
        anyhow::bail!(
            "no store at {} (run `familiar ingest --db {} --config sources.toml` first)",
            db.display(),
            db.display()
        );
    }
    open_store(db).await
}
