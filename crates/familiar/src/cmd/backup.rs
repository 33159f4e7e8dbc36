//! `familiar backup` and `familiar restore`: the store as one sealed file, and back.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use familiar_store::seal::{key_from_env, read_key_file, KEY_VAR};
use familiar_store::{AccessStore, NewAudit, SqliteStore};

use super::serve::cli_actor;

#[derive(clap::Args)]
pub struct BackupArgs {
    /// The backup file to write (never over an existing file). It is sealed whole under the
    /// store's key: keep the key apart from it, and back the key up on its own.
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(clap::Args)]
pub struct RestoreArgs {
    /// The backup file (written by `familiar backup`).
    #[arg(long)]
    pub from: PathBuf,
    /// The key of the store the backup was taken from (a file of 64 hex digits, mode 0600);
    /// copied to `<db>.key`. Without it the key is `$FAMILIAR_SECRET_KEY`.
    #[arg(long)]
    pub key_file: Option<PathBuf>,
}

pub async fn backup(db: &Path, args: BackupArgs) -> Result<()> {
    let store = super::open_existing(db).await?;
    // a store from an older build: its rows are sealed (and its key made) first
    super::user::seal_plain_rows(&store, db).await?;
    let t = std::time::Instant::now();
    let bytes = store
        .backup_to(&args.out)
        .await
        .with_context(|| format!("backing up {}", db.display()))?;
    store
        .append_audit(&NewAudit {
            actor: cli_actor(),
            action: "store.backup".into(),
            target: args.out.display().to_string(),
            source: "cli".into(),
            outcome: "ok".into(),
            detail: serde_json::json!({ "bytes": bytes }).to_string(),
        })
        .await?;
    println!(
        "wrote {} ({:.1} MB, sealed under the store's key) in {:.1}s",
        args.out.display(),
        bytes as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

pub async fn restore(db: &Path, args: RestoreArgs) -> Result<()> {
    let (key, write_key_file) = match &args.key_file {
        Some(f) => (read_key_file(f)?, true),
        None => match key_from_env()? {
            Some(k) => (k, false),
            None => bail!(
                "no key to open the backup with: give --key-file (the store's `<db>.key`) or set \
                 ${KEY_VAR}"
            ),
        },
    };
    SqliteStore::restore(&args.from, db, &key, write_key_file)
        .with_context(|| format!("restoring {}", args.from.display()))?;
    let store = super::open_existing(db).await?;
    store.verify_key().await?;
    let counts = familiar_store::Store::counts(&store).await?;
    store
        .append_audit(&NewAudit {
            actor: cli_actor(),
            action: "store.restore".into(),
            target: args.from.display().to_string(),
            source: "cli".into(),
            outcome: "ok".into(),
            detail: serde_json::json!({ "records": counts.source_records }).to_string(),
        })
        .await?;
    println!(
        "restored {} into {}: {} source records, {} persons",
        args.from.display(),
        db.display(),
        counts.source_records,
        counts.persons
    );
    if write_key_file {
        println!(
            "its key is in {}",
            familiar_store::seal::key_file_for(db).display()
        );
    }
    Ok(())
}
