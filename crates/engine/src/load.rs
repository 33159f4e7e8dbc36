//! Getting a current snapshot for a store: reuse the sealed Parquet snapshot beside the store
//! when it was built from the store's current data version, otherwise rebuild it and write it
//! back.

use std::path::Path;

use familiar_store::seal::Key;
use familiar_store::Store;

use crate::{Result, Snapshot};

/// How a snapshot was obtained, for the caller to report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// Read from the sealed Parquet files: the store has not changed since they were written.
    Cached,
    /// Rebuilt from the store (and written back when a directory was given).
    Rebuilt,
}

/// The current snapshot of `store`. `cache` is where the sealed Parquet copy is kept (usually
/// [`Snapshot::dir_for`] the store file) and the key it is sealed with (the store's:
/// `SqliteStore::file_key`); None keeps everything in memory.
pub async fn load(
    store: &dyn Store,
    cache: Option<(&Path, &Key)>,
) -> Result<(Snapshot, Freshness)> {
    let version = store.data_version().await?;
    if let Some((dir, key)) = cache {
        if let Some(s) = Snapshot::open_cached(dir, &version, key) {
            return Ok((s, Freshness::Cached));
        }
    }
    let agencies = store.agencies().await?;
    let rows = store.interaction_rows().await?;
    let snap = Snapshot::build(&agencies, &rows, &version);
    if let Some((dir, key)) = cache {
        // A snapshot that cannot be cached is still correct: report, don't fail.
        if let Err(e) = snap.write_sealed(dir, key) {
            tracing::warn!("could not write the snapshot cache: {e}");
        }
    }
    Ok((snap, Freshness::Rebuilt))
}
