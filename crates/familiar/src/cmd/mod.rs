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
    SqliteStore::open(db)
        .await
        .with_context(|| format!("opening the store {}", db.display()))
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
