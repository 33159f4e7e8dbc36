//! Shared plumbing for the commands that read the engine: open the store, get a current
//! snapshot (cached beside the store, sealed under its key), load the rule and cost files.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use chrono::NaiveDate;
use familiar_engine::costs::CostConfig;
use familiar_engine::load::Freshness;
use familiar_engine::rules::RuleFile;
use familiar_engine::Snapshot;
use familiar_store::SqliteStore;

/// Options every analysis command shares.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct Common {
    /// Read a plain Parquet snapshot folder instead of the store (one written by `familiar
    /// snapshot --out DIR`, or prepared elsewhere in the documented schema).
    #[arg(long, global = false)]
    pub snapshot: Option<PathBuf>,
    /// Unit-cost file (default: the sample shipped in config/costs.toml).
    #[arg(long, env = "FAMILIAR_COSTS")]
    pub costs: Option<PathBuf>,
    /// Selection-rule file (default: the sample shipped in config/rules.toml).
    #[arg(long, env = "FAMILIAR_RULES")]
    pub rules: Option<PathBuf>,
}

pub struct Loaded {
    pub snap: Snapshot,
    pub store: Option<SqliteStore>,
}

/// The current snapshot: from `--snapshot DIR` (plain Parquet, as `familiar snapshot --out`
/// writes), or from the store (rebuilding the sealed copy beside it when the store changed).
pub async fn snapshot(db: &Path, c: &Common) -> Result<Loaded> {
    if let Some(dir) = &c.snapshot {
        let snap =
            Snapshot::read(dir).with_context(|| format!("reading snapshot {}", dir.display()))?;
        return Ok(Loaded { snap, store: None });
    }
    let store = super::open_existing(db).await?;
    let dir = Snapshot::dir_for(db);
    let key = cache_key(&store).await;
    let (snap, fresh) =
        familiar_engine::load(&store, key.as_ref().map(|k| (dir.as_path(), k))).await?;
    if fresh == Freshness::Rebuilt {
        tracing::info!(
            "snapshot rebuilt: {} interactions, {} involvements",
            snap.manifest.interactions,
            snap.manifest.involvements
        );
    }
    Ok(Loaded {
        snap,
        store: Some(store),
    })
}

/// The key the snapshot cache is sealed with; None (said once) when the store's key is not at
/// hand: the commands that count read only readable columns, so they still run, without a
/// cache.
pub async fn cache_key(store: &SqliteStore) -> Option<familiar_store::seal::Key> {
    match store.file_key().await {
        Ok(k) => Some(k),
        Err(e) => {
            eprintln!("note: the snapshot is built in memory and not cached: {e}");
            None
        }
    }
}

pub fn as_of(snap: &Snapshot, given: Option<NaiveDate>) -> Result<NaiveDate> {
    match given {
        Some(d) => Ok(d),
        None => snap
            .manifest
            .latest
            .context("the store holds no interactions yet: run `familiar ingest` first"),
    }
}

pub fn costs(c: &Common) -> Result<CostConfig> {
    match &c.costs {
        None => Ok(CostConfig::sample()),
        Some(p) => {
            let text =
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            Ok(CostConfig::parse(&text, &p.display().to_string())?)
        }
    }
}

pub fn rules(c: &Common) -> Result<(RuleFile, String)> {
    match &c.rules {
        None => Ok((
            RuleFile::sample(),
            familiar_engine::rules::SAMPLE.to_string(),
        )),
        Some(p) => {
            let text =
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            Ok((RuleFile::parse(&text, &p.display().to_string())?, text))
        }
    }
}

/// Who is running a command, for recorded runs and the audit log.
pub fn actor() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .map(|u| format!("cli:{u}"))
        .unwrap_or_else(|_| "cli".into())
}
