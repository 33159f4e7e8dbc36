//! Getting a current snapshot for a store: reuse the Parquet snapshot beside the store when it
//! was built from the store's current data version, otherwise rebuild it and write it back.

use std::path::Path;

use familiar_store::Store;

use crate::{Result, Snapshot};

/// How a snapshot was obtained, for the caller to report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// Read from the Parquet files: the store has not changed since they were written.
    Cached,
    /// Rebuilt from the store (and written back when a directory was given).
    Rebuilt,
}

/// The current snapshot of `store`. `cache_dir` (usually [`Snapshot::dir_for`] the store file)
/// holds the Parquet copy; None keeps everything in memory.
pub async fn load(store: &dyn Store, cache_dir: Option<&Path>) -> Result<(Snapshot, Freshness)> {
    let version = store.data_version().await?;
    if let Some(dir) = cache_dir {
        if let Some(s) = Snapshot::open_cached(dir, &version) {
            return Ok((s, Freshness::Cached));
        }
    }
    let agencies = store.agencies().await?;
    let rows = store.interaction_rows().await?;
    let snap = Snapshot::build(&agencies, &rows, &version);
    if let Some(dir) = cache_dir {
        // A snapshot that cannot be cached is still correct: report, don't fail.
        if let Err(e) = snap.write(dir) {
            tracing::warn!("could not write the snapshot cache: {e}");
        }
    }
    Ok((snap, Freshness::Rebuilt))
}
