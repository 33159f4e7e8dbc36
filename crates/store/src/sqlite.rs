//! The embedded SQLite store: one file, WAL, versioned migrations (`migrations/sqlite`).

use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use familiar_model::{Address, Agency, PartialDate, RawLayout, SourceIdentity};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row, Sqlite, Transaction};

use crate::row_seal::{RowSealer, SealedFields, Slot};

use crate::{
    Doing, FileMeta, IdentityRow, IngestTx, InteractionRow, LinkDecision, LinkState, Linkage,
    NewRecord, PersonEvent, QuarantineRow, Result, ReviewPair, RowCounts, SourceRow, Store,
    StoreCounts, StoreError,
};

/// Rows per multi-row INSERT; keeps every statement well under SQLite's 32,766 variables.
const ROWS_PER_STATEMENT: usize = 400;

pub struct SqliteStore {
    pool: SqlitePool,
    /// Seals source rows and the TOTP secrets of web accounts (see [`crate::seal`]).
    pub(crate) sealer: crate::seal::Sealer,
    /// The database file (None in memory).
    path: Option<std::path::PathBuf>,
}

/// The error for a rejected row `id` whose sealed values do not open under the store's key.
fn rejected_does_not_open(id: i64) -> StoreError {
    StoreError::Key(format!(
        "rejected row {id} does not open with the store's key (damaged, or sealed under another \
         key)"
    ))
}

/// What [`SqliteStore::rotate_key`] did.
#[derive(Debug, Clone)]
pub struct KeyRotation {
    /// Source rows and rejected rows re-sealed.
    pub rows: u64,
    /// TOTP secrets re-sealed.
    pub secrets: u64,
    /// Where the new key is.
    pub key_file: Option<std::path::PathBuf>,
    /// Where the old key file went (kept until deleted by hand).
    pub retired: Option<std::path::PathBuf>,
    /// The key came from `FAMILIAR_SECRET_KEY`: the operator must set it to the new key.
    pub from_env: bool,
    /// The write-ahead log was checkpointed and truncated (else values sealed under the old
    /// key may stay in it until the next checkpoint: another process was reading).
    pub checkpointed: bool,
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

impl SqliteStore {
    /// Open (creating if missing) and migrate the database at `path`.
    pub async fn open(path: &Path) -> Result<Self> {
        Self::open_sealed_by(path, crate::seal::Sealer::for_database(path)).await
    }

    /// As [`SqliteStore::open`], with the key file only, whatever the environment holds
    /// (tests of the key file).
    #[cfg(test)]
    pub(crate) async fn open_key_file_only(path: &Path) -> Result<Self> {
        Self::open_sealed_by(path, crate::seal::Sealer::key_file_only(path)).await
    }

    async fn open_sealed_by(path: &Path, sealer: crate::seal::Sealer) -> Result<Self> {
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            // Large pages: fewer B-tree splits and syscalls on bulk appends (new files only).
            .page_size(16384)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(30))
            .pragma("cache_size", "-262144")
            .pragma("temp_store", "memory");
        let mut store = Self::open_with(opts, &path.display().to_string(), sealer).await?;
        store.path = Some(path.to_path_buf());
        Ok(store)
    }

    /// A private in-memory database (tests).
    pub async fn in_memory() -> Result<Self> {
        let opts = SqliteConnectOptions::from_str("sqlite::memory:").map_err(|source| {
            StoreError::Open {
                path: ":memory:".into(),
                source,
            }
        })?;
        Self::open_with(opts, ":memory:", crate::seal::Sealer::ephemeral()).await
    }

    async fn open_with(
        opts: SqliteConnectOptions,
        shown: &str,
        sealer: crate::seal::Sealer,
    ) -> Result<Self> {
        // In-memory databases are per connection, so they get exactly one.
        let in_memory = shown == ":memory:";
        let max = if in_memory { 1 } else { 4 };
        let pool = SqlitePoolOptions::new()
            .max_connections(max)
            // A connection handed back while still inside a transaction is closed (which rolls
            // it back) instead of reused. sqlx can leave one so: a request cancelled between
            // `BEGIN IMMEDIATE` and the transaction's creation keeps the write lock, so every
            // other writer waits out the busy timeout ("database is locked") and that
            // connection refuses every later BEGIN. Measured under `wrk` on `familiar serve`,
            // whose audit append is such a transaction. An in-memory database lives in its one
            // connection, so it is kept.
            .after_release(move |conn, _meta| {
                Box::pin(async move {
                    use sqlx::Connection;
                    Ok(in_memory || !conn.is_in_transaction())
                })
            })
            .before_acquire(move |conn, _meta| {
                Box::pin(async move {
                    use sqlx::Connection;
                    Ok(in_memory || !conn.is_in_transaction())
                })
            })
            .connect_with(opts)
            .await
            .map_err(|source| StoreError::Open {
                path: shown.to_string(),
                source,
            })?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        Ok(SqliteStore {
            pool,
            sealer,
            path: None,
        })
    }

    /// The key that seals source rows and TOTP secrets, checked against the store's key check. With `create`
    /// (sealing), a store with neither key nor check gets both; otherwise a missing key, or one
    /// that is not the store's, is an error saying where the key is looked for.
    pub(crate) async fn sealing_key(&self, create: bool) -> Result<crate::seal::Key> {
        use crate::seal::{key_check, key_matches, CHECK_SETTING};
        if let Some(k) = self.sealer.checked() {
            return Ok(k);
        }
        let _deciding = self.sealer.deciding.lock().await;
        if let Some(k) = self.sealer.checked() {
            return Ok(k);
        }
        let check = self.key_check().await?;
        let unfinished = self
            .sealer
            .next_file()
            .filter(|n| n.exists())
            .map(|n| {
                format!(
                    "; {} exists: a key rotation did not finish, and if that key opens the store \
                     it is the store's key now",
                    n.display()
                )
            })
            .unwrap_or_default();
        let not_ours = || {
            StoreError::Key(format!(
                "the key from {} is not the one this store's rows and secrets were sealed with \
                 (restore that one; while no source row is sealed, `familiar user new-key` \
                 starts over){unfinished}",
                self.sealer.where_looked()
            ))
        };
        let key = match (self.sealer.load()?, check) {
            (Some(k), Some(c)) if key_matches(&k, &c) => k,
            (Some(_), Some(_)) => return Err(not_ours()),
            (None, Some(_)) => {
                return Err(StoreError::Key(format!(
                    "this store's rows and secrets are sealed, but there is no key: set {} (the \
                     key made with the store; a lost key cannot be recovered){unfinished}",
                    self.sealer.where_looked()
                )))
            }
            (Some(k), None) if !create => return Ok(k),
            (None, None) if !create => {
                return Err(StoreError::Key(format!(
                    "no key: set {}",
                    self.sealer.where_looked()
                )))
            }
            (loaded, None) => {
                let k = match loaded {
                    Some(k) => k,
                    None => self.sealer.create()?,
                };
                // record the check; a process that got there first decides
                sqlx::query("INSERT OR IGNORE INTO settings (key, value) VALUES (?, ?)")
                    .bind(CHECK_SETTING)
                    .bind(key_check(&k)?)
                    .execute(&self.pool)
                    .await
                    .doing("saving the key check")?;
                match self.key_check().await? {
                    Some(c) if key_matches(&k, &c) => k,
                    _ => return Err(not_ours()),
                }
            }
        };
        self.sealer.remember(key);
        Ok(key)
    }

    /// The key to seal the working files kept beside the store with (the analysis snapshot:
    /// [`crate::write_sealed_file`]): the store's key, checked. Never made here: a store with
    /// no key yet, or whose key is missing, is an error the caller may work around (commands
    /// that read only the readable columns do not need the key otherwise).
    pub async fn file_key(&self) -> Result<crate::seal::Key> {
        self.sealing_key(false).await
    }

    /// Seal a TOTP secret for `user`.
    pub(crate) async fn seal_secret(&self, plain: &str, user: &str) -> Result<String> {
        crate::seal::seal(&self.sealing_key(true).await?, plain, user)
    }

    /// The TOTP secret `stored` holds for `user` (opened if sealed).
    pub(crate) async fn open_secret(&self, stored: &str, user: &str) -> Result<String> {
        let key = if stored.starts_with(crate::seal::PREFIX) {
            Some(self.sealing_key(false).await?)
        } else {
            None
        };
        crate::seal::open(
            stored,
            user,
            || key.ok_or_else(|| StoreError::Key("no key".into())),
            &self.sealer.where_looked(),
        )
    }

    /// The store's key check, if a key was ever recorded.
    async fn key_check(&self) -> Result<Option<String>> {
        sqlx::query_scalar("SELECT value FROM settings WHERE key = ?")
            .bind(crate::seal::CHECK_SETTING)
            .fetch_optional(&self.pool)
            .await
            .doing("reading the key check")
    }

    /// Check the store's key now (when anything is sealed), so a missing or wrong key shows at
    /// start, not as failed logins.
    pub async fn verify_key(&self) -> Result<()> {
        if self.key_check().await?.is_some() {
            self.sealing_key(false).await?;
        }
        Ok(())
    }

    /// Start a new key, for a key that is lost or not the store's: the key check goes, every
    /// account's TOTP secret is emptied (each needs `familiar user reset`), and the key file, if
    /// any, is moved aside (kept). The next secret sealed makes the new key. Returns the
    /// accounts affected and where the old key file went.
    pub async fn start_new_key(&self) -> Result<(u64, Option<std::path::PathBuf>)> {
        let _deciding = self.sealer.deciding.lock().await;
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .doing("starting a new key")?;
        // source rows are data, not credentials: under a new key they would be lost (checked
        // inside the transaction, so an ingest cannot commit sealed rows in between)
        let sealed_rows: i64 = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM source_records WHERE sealed = 1)
                 OR EXISTS (SELECT 1 FROM quarantine WHERE sealed = 1)",
        )
        .fetch_one(&mut *tx)
        .await
        .doing("looking for sealed rows")?;
        if sealed_rows != 0 {
            return Err(StoreError::Key(format!(
                "this store's source rows are sealed under its key, and a new key would make \
                 them unreadable: restore the key ({}) from where it is kept",
                self.sealer.where_looked()
            )));
        }
        sqlx::query("DELETE FROM settings WHERE key = ?")
            .bind(crate::seal::CHECK_SETTING)
            .execute(&mut *tx)
            .await
            .doing("removing the key check")?;
        let n = sqlx::query("UPDATE users SET totp_secret = '' WHERE totp_secret <> ''")
            .execute(&mut *tx)
            .await
            .doing("emptying TOTP secrets")?
            .rows_affected();
        let moved = self.sealer.retire_file()?;
        tx.commit().await.doing("committing a new key")?;
        Ok((n, moved))
    }

    /// What opens sealed rows, made the first time one is read (`slot`): a store whose rows
    /// are all in the clear (an older build's) reads without its key.
    async fn row_sealer<'a>(&self, slot: &'a mut Option<RowSealer>) -> Result<&'a mut RowSealer> {
        if slot.is_none() {
            *slot = Some(RowSealer::new(&self.sealing_key(false).await?));
        }
        Ok(slot.as_mut().expect("just made"))
    }

    /// Seal the source rows and rejected rows that builds before sealing stored in the clear
    /// (once: a setting records that none are left). The plain values are overwritten with
    /// `secure_delete` on, so SQLite zeroes what the update frees, and the write-ahead log is
    /// truncated; copies freed earlier may remain in free pages until a `VACUUM`. Returns how
    /// many rows were sealed and whether the log was checkpointed (else plain values may
    /// linger in it until the next checkpoint). Makes the key if the store has none.
    pub async fn seal_plain_rows(&self) -> Result<(u64, bool)> {
        const DONE: &str = "rows.all_sealed";
        const CHUNK: i64 = 2000;
        let done: Option<String> = sqlx::query_scalar("SELECT value FROM settings WHERE key = ?")
            .bind(DONE)
            .fetch_optional(&self.pool)
            .await
            .doing("reading whether rows are sealed")?;
        if done.is_some() {
            return Ok((0, true));
        }
        let key = self.sealing_key(true).await?;
        let mut sealer = RowSealer::new(&key);
        let mut conn = self
            .pool
            .acquire()
            .await
            .doing("taking a connection to seal rows")?;
        sqlx::query("PRAGMA secure_delete = ON")
            .execute(&mut *conn)
            .await
            .doing("turning on secure_delete")?;
        let mut n = 0u64;
        let mut after = i64::MIN;
        let result: Result<()> = async {
            loop {
                let rows = sqlx::query(
                    "SELECT id AS record_id, raw, has_identity, first_name, middle_name, last_name,
                        suffix, aliases, dob, phone, address_key, address_raw, agency_person_id,
                        ssn_last4
                     FROM source_records WHERE sealed = 0 AND id > ? ORDER BY id LIMIT ?",
                )
                .bind(after)
                .bind(CHUNK)
                .fetch_all(&mut *conn)
                .await
                .doing("reading rows to seal")?;
                let Some(last) = rows.last() else { break };
                after = last.get("record_id");
                let mut tx = sqlx::Connection::begin(&mut *conn)
                    .await
                    .doing("starting to seal rows")?;
                let mut fields = Vec::new();
                for r in &rows {
                    let id: i64 = r.get("record_id");
                    let raw: Vec<u8> = r.get("raw");
                    let identity = (r.get::<i64, _>("has_identity") == 1).then(|| {
                        plain_fields(r).encode_into(&mut fields);
                        sealer.seal(&fields, Slot::Identity(id))
                    });
                    sqlx::query(
                        "UPDATE source_records SET raw = ?, identity_sealed = ?, sealed = 1,
                            first_name = NULL, middle_name = NULL, last_name = NULL,
                            suffix = NULL, aliases = NULL, dob = NULL, phone = NULL,
                            address_key = NULL, address_raw = NULL, agency_person_id = NULL,
                            ssn_last4 = NULL
                         WHERE id = ? AND sealed = 0",
                    )
                    .bind(sealer.seal(&raw, Slot::Raw(id)))
                    .bind(identity)
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .doing("sealing a row")?;
                    n += 1;
                }
                tx.commit().await.doing("committing sealed rows")?;
            }
            let rejected = sqlx::query(
                "SELECT id, raw, reason FROM quarantine WHERE sealed = 0",
            )
            .fetch_all(&mut *conn)
            .await
            .doing("reading rejected rows to seal")?;
            let mut tx = sqlx::Connection::begin(&mut *conn)
                .await
                .doing("starting to seal rejected rows")?;
            for r in &rejected {
                let id: i64 = r.get("id");
                let raw: Vec<u8> = r.get("raw");
                let reason: String = r.get("reason");
                sqlx::query(
                    "UPDATE quarantine SET raw = ?, reason = ?, sealed = 1 WHERE id = ? AND sealed = 0",
                )
                .bind(sealer.seal(&raw, Slot::Rejected(id)))
                .bind(sealer.seal(reason.as_bytes(), Slot::RejectedReason(id)))
                .bind(id)
                .execute(&mut *tx)
                .await
                .doing("sealing a rejected row")?;
                n += 1;
            }
            sqlx::query("INSERT OR REPLACE INTO settings (key, value) VALUES (?, '1')")
                .bind(DONE)
                .execute(&mut *tx)
                .await
                .doing("recording that rows are sealed")?;
            tx.commit().await.doing("committing sealed rejected rows")
        }
        .await;
        sqlx::query("PRAGMA secure_delete = OFF")
            .execute(&mut *conn)
            .await
            .doing("turning off secure_delete")?;
        result?;
        if n == 0 {
            return Ok((0, true));
        }
        // the plain values also sit in the write-ahead log until it is checkpointed and
        // truncated (now, unless another process is reading: then at a later checkpoint)
        let (busy, log, done): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
            .fetch_one(&mut *conn)
            .await
            .doing("checkpointing the write-ahead log")?;
        Ok((n, busy == 0 && log == done))
    }

    /// Re-seal everything sealed (source rows, their identities, rejected rows, TOTP secrets)
    /// under a new key, in one transaction: for a key that may have been seen by someone it
    /// should not have been. The new key is written to `<db>.key.next` first; once the store
    /// is re-sealed it replaces `<db>.key` (the old file is kept aside, to be deleted once the
    /// store is known to open), or, when the key comes from `FAMILIAR_SECRET_KEY`, stays in
    /// `<db>.key.next` for the operator to move into the variable. Anything that fails leaves
    /// the store and its key as they were.
    pub async fn rotate_key(&self) -> Result<KeyRotation> {
        let old = self.sealing_key(false).await?;
        // rows from an older build first, so that every row ends under the new key
        self.seal_plain_rows().await?;
        let _deciding = self.sealer.deciding.lock().await;
        let new: crate::seal::Key = {
            use aes_gcm::aead::{KeyInit, OsRng};
            aes_gcm::Aes256Gcm::generate_key(&mut OsRng).into()
        };
        let next = self.sealer.write_next(&new)?;
        let resealed = self.reseal(&old, &new).await;
        let (rows, secrets) = match resealed {
            Ok(n) => n,
            Err(e) => {
                let _ = std::fs::remove_file(&next);
                return Err(e);
            }
        };
        // the store is sealed under the new key from here on; made durable (and the old
        // sealed values left in the write-ahead log truncated away) before the key files move
        self.sealer.remember(new);
        // old sealed values also sit in the write-ahead log until it is checkpointed; never an
        // error here: the key must move into place whatever happens
        let checkpointed = matches!(
            sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(TRUNCATE)")
                .fetch_one(&self.pool)
                .await,
            Ok((0, log, done)) if log == done
        );
        let (key_file, retired) = if self.sealer.key_in_env() {
            (Some(next), None)
        } else {
            let (file, retired) = self.sealer.install_next(&next)?;
            (Some(file), retired)
        };
        Ok(KeyRotation {
            rows,
            secrets,
            key_file,
            retired,
            from_env: self.sealer.key_in_env(),
            checkpointed,
        })
    }

    /// Open every sealed value with `old` and seal it with `new`, and record `new`'s key
    /// check, in one transaction; returns (rows, TOTP secrets) re-sealed.
    async fn reseal(&self, old: &crate::seal::Key, new: &crate::seal::Key) -> Result<(u64, u64)> {
        let mut conn = self
            .pool
            .acquire()
            .await
            .doing("taking a connection to re-seal")?;
        // the commit synced to disk before any key file moves (the pool's NORMAL may lose
        // the last commit on power loss), and what the old key sealed overwritten, not left
        // in freed space; both set back after, whatever happened
        sqlx::query("PRAGMA synchronous = FULL")
            .execute(&mut *conn)
            .await
            .doing("asking for a synced commit")?;
        sqlx::query("PRAGMA secure_delete = ON")
            .execute(&mut *conn)
            .await
            .doing("turning on secure_delete")?;
        let result = Self::reseal_on(&mut conn, old, new, &self.sealer.where_looked()).await;
        let _ = sqlx::query("PRAGMA secure_delete = OFF")
            .execute(&mut *conn)
            .await;
        let _ = sqlx::query("PRAGMA synchronous = NORMAL")
            .execute(&mut *conn)
            .await;
        result
    }

    async fn reseal_on(
        conn: &mut sqlx::SqliteConnection,
        old: &crate::seal::Key,
        new: &crate::seal::Key,
        where_looked: &str,
    ) -> Result<(u64, u64)> {
        const CHUNK: i64 = 2000;
        let (mut from, mut to) = (RowSealer::new(old), RowSealer::new(new));
        let mut tx = sqlx::Connection::begin_with(conn, "BEGIN IMMEDIATE")
            .await
            .doing("starting to re-seal")?;
        let mut rows = 0u64;
        let mut after = i64::MIN;
        loop {
            let batch = sqlx::query(
                "SELECT id, raw, identity_sealed FROM source_records
                 WHERE sealed = 1 AND id > ? ORDER BY id LIMIT ?",
            )
            .bind(after)
            .bind(CHUNK)
            .fetch_all(&mut *tx)
            .await
            .doing("reading rows to re-seal")?;
            let Some(last) = batch.last() else { break };
            after = last.get("id");
            for r in &batch {
                let id: i64 = r.get("id");
                let raw: Vec<u8> = r.get("raw");
                let raw = from
                    .open(&raw, Slot::Raw(id))
                    .ok_or_else(|| crate::row_seal::does_not_open(id))?;
                let identity = match r.get::<Option<Vec<u8>>, _>("identity_sealed") {
                    Some(b) => Some(
                        to.seal(
                            &from
                                .open(&b, Slot::Identity(id))
                                .ok_or_else(|| crate::row_seal::does_not_open(id))?,
                            Slot::Identity(id),
                        ),
                    ),
                    None => None,
                };
                sqlx::query("UPDATE source_records SET raw = ?, identity_sealed = ? WHERE id = ?")
                    .bind(to.seal(&raw, Slot::Raw(id)))
                    .bind(identity)
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .doing("re-sealing a row")?;
                rows += 1;
            }
        }
        let rejected = sqlx::query("SELECT id, raw, reason FROM quarantine WHERE sealed = 1")
            .fetch_all(&mut *tx)
            .await
            .doing("reading rejected rows to re-seal")?;
        for r in &rejected {
            let id: i64 = r.get("id");
            let (raw, reason): (Vec<u8>, Vec<u8>) = (r.get("raw"), r.get("reason"));
            let (raw, reason) = from
                .open(&raw, Slot::Rejected(id))
                .zip(from.open(&reason, Slot::RejectedReason(id)))
                .ok_or_else(|| rejected_does_not_open(id))?;
            sqlx::query("UPDATE quarantine SET raw = ?, reason = ? WHERE id = ?")
                .bind(to.seal(&raw, Slot::Rejected(id)))
                .bind(to.seal(&reason, Slot::RejectedReason(id)))
                .bind(id)
                .execute(&mut *tx)
                .await
                .doing("re-sealing a rejected row")?;
            rows += 1;
        }
        let users: Vec<(i64, String, String)> =
            sqlx::query_as("SELECT id, username, totp_secret FROM users WHERE totp_secret <> ''")
                .fetch_all(&mut *tx)
                .await
                .doing("reading TOTP secrets to re-seal")?;
        let mut secrets = 0u64;
        for (id, user, stored) in users {
            let plain = crate::seal::open(&stored, &user, || Ok(*old), where_looked)?;
            sqlx::query("UPDATE users SET totp_secret = ? WHERE id = ?")
                .bind(crate::seal::seal(new, &plain, &user)?)
                .bind(id)
                .execute(&mut *tx)
                .await
                .doing("re-sealing a TOTP secret")?;
            secrets += 1;
        }
        sqlx::query("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)")
            .bind(crate::seal::CHECK_SETTING)
            .bind(crate::seal::key_check(new)?)
            .execute(&mut *tx)
            .await
            .doing("saving the new key check")?;
        tx.commit().await.doing("committing the re-sealed store")?;
        Ok((rows, secrets))
    }

    /// Write a sealed backup of the store to `out`, which must not exist (see
    /// [`crate::backup`]): a consistent copy (`VACUUM INTO` a private temporary file beside the
    /// database, which is protected as the database is, removed after), checked to be under
    /// the key it is sealed with, then sealed whole into `out`. Returns the backup's size.
    pub async fn backup_to(&self, out: &Path) -> Result<u64> {
        // `out` is claimed first (never over a file); on failure only what this call made goes
        let out_file = crate::backup::create_private(out).map_err(|e| match e {
            StoreError::Backup(_) if out.exists() => StoreError::Backup(format!(
                "{} exists: a backup never replaces a file",
                out.display()
            )),
            e => e,
        })?;
        let result = self.backup_into(out_file).await;
        if result.is_err() {
            let _ = std::fs::remove_file(out);
        }
        result
    }

    async fn backup_into(&self, out: std::fs::File) -> Result<u64> {
        use sqlx::{ConnectOptions, Connection};
        let key = self.sealing_key(true).await?;
        let beside = match &self.path {
            Some(p) => p.clone(),
            None => std::env::temp_dir().join("familiar-memory.db"),
        };
        let tmp = crate::files::temp_beside(&beside);
        // made empty and private first: VACUUM INTO writes into an empty file as it finds it
        drop(crate::backup::create_private(&tmp)?);
        let result = async {
            let name = tmp.to_str().ok_or_else(|| {
                StoreError::Backup(format!("{} is not a UTF-8 path", tmp.display()))
            })?;
            match &self.path {
                // a connection of its own, with SQLite's default cache and temporary files on
                // disk: the pool's large cache would hold much of the store in memory
                Some(p) => {
                    let mut c = SqliteConnectOptions::new()
                        .filename(p)
                        .busy_timeout(Duration::from_secs(30))
                        .connect()
                        .await
                        .doing("opening a connection to copy the store")?;
                    sqlx::query("VACUUM INTO ?")
                        .bind(name)
                        .execute(&mut c)
                        .await
                        .doing("copying the store")?;
                    c.close().await.doing("closing the copying connection")?;
                }
                None => {
                    sqlx::query("VACUUM INTO ?")
                        .bind(name)
                        .execute(&self.pool)
                        .await
                        .doing("copying the store")?;
                }
            }
            // a key rotation may have committed between reading the key and the copy
            let mut c = SqliteConnectOptions::new()
                .filename(&tmp)
                .read_only(true)
                .connect()
                .await
                .doing("opening the copy")?;
            let check: Option<String> =
                sqlx::query_scalar("SELECT value FROM settings WHERE key = ?")
                    .bind(crate::seal::CHECK_SETTING)
                    .fetch_optional(&mut c)
                    .await
                    .doing("reading the copy's key check")?;
            c.close().await.doing("closing the copy")?;
            if !check.is_some_and(|c| crate::seal::key_matches(&key, &c)) {
                return Err(StoreError::Key(
                    "the store's key changed (rotated) during the backup: run it again".into(),
                ));
            }
            crate::backup::seal_file(&key, &tmp, out)
        }
        .await;
        let _ = std::fs::remove_file(&tmp);
        result
    }

    /// Restore the sealed backup `backup` as a new store at `db` (which must not exist, nor
    /// its `-wal` / `-shm` files), with `key` (the key of the store it was taken from): opened
    /// into a private temporary file beside `db`, synced, then linked into place, so a failure
    /// leaves nothing at `db`. With `write_key_file`, the key is also written to `<db>.key`
    /// (one already there must be the same key) so the restored store opens without the
    /// environment variable. Open the store after, and check its key
    /// ([`SqliteStore::verify_key`]).
    pub fn restore(
        backup: &Path,
        db: &Path,
        key: &crate::seal::Key,
        write_key_file: bool,
    ) -> Result<()> {
        let beside = |suffix: &str| crate::files::with_suffix(db, suffix);
        for p in [
            db.to_path_buf(),
            beside("-wal"),
            beside("-shm"),
            beside("-journal"),
        ] {
            if p.exists() {
                return Err(StoreError::Backup(format!(
                    "{} exists: a restore never replaces a file",
                    p.display()
                )));
            }
        }
        let key_file = crate::seal::key_file_for(db);
        let write_key = write_key_file
            && match crate::seal::read_key_file(&key_file) {
                Ok(k) if &k == key => false,
                Ok(_) => {
                    return Err(StoreError::Backup(format!(
                        "{} holds another key than the one given",
                        key_file.display()
                    )))
                }
                Err(e) if key_file.exists() => return Err(e),
                Err(_) => true,
            };
        let tmp = crate::files::temp_beside(db);
        crate::backup::open_file(key, backup, &tmp)?;
        // the key first: a store in place without its key file could not be restored again
        // (a re-run accepts a key file holding the same key)
        if write_key {
            if let Err(e) = crate::seal::write_key_file(&key_file, key) {
                let _ = std::fs::remove_file(&tmp);
                return Err(e);
            }
        }
        let linked = std::fs::hard_link(&tmp, db);
        let _ = std::fs::remove_file(&tmp);
        linked.map_err(|e| {
            StoreError::Backup(format!(
                "cannot create {}: {e} (the folder's file system must allow hard links)",
                db.display()
            ))
        })?;
        crate::files::sync_dir(db);
        Ok(())
    }

    /// Seal the TOTP secrets stored in the clear by builds before sealing; returns how many,
    /// and whether the write-ahead log was checkpointed (else old values may linger in it until
    /// the next checkpoint). The rows are rewritten with `secure_delete` on, so SQLite zeroes
    /// what the update frees; copies freed earlier may remain in free pages until a `VACUUM`.
    /// Run by the commands that manage accounts (`familiar user`, `serve`), which may create
    /// the key; other commands leave the store as it is.
    pub async fn seal_plain_secrets(&self) -> Result<(u64, bool)> {
        let mut plain: Vec<(i64, String, String)> =
            sqlx::query_as("SELECT id, username, totp_secret FROM users WHERE totp_secret <> ''")
                .fetch_all(&self.pool)
                .await
                .doing("reading TOTP secrets to seal")?;
        plain.retain(|(_, _, secret)| !crate::seal::is_sealed(secret));
        if plain.is_empty() {
            return Ok((0, true));
        }
        // the key first: deciding it reads the pool, which an in-memory store holds one
        // connection of
        let key = self.sealing_key(true).await?;
        let mut conn = self
            .pool
            .acquire()
            .await
            .doing("taking a connection to seal secrets")?;
        sqlx::query("PRAGMA secure_delete = ON")
            .execute(&mut *conn)
            .await
            .doing("turning on secure_delete")?;
        let mut n = 0;
        let mut result = Ok(());
        for (id, user, secret) in &plain {
            let sealed = match crate::seal::seal(&key, secret, user) {
                Ok(s) => s,
                Err(e) => {
                    result = Err(e);
                    break;
                }
            };
            match sqlx::query("UPDATE users SET totp_secret = ? WHERE id = ? AND totp_secret = ?")
                .bind(sealed)
                .bind(id)
                .bind(secret)
                .execute(&mut *conn)
                .await
            {
                Ok(r) => n += r.rows_affected(),
                Err(e) => {
                    result = Err(StoreError::Sql {
                        doing: "sealing a TOTP secret",
                        source: e,
                    });
                    break;
                }
            }
        }
        sqlx::query("PRAGMA secure_delete = OFF")
            .execute(&mut *conn)
            .await
            .doing("turning off secure_delete")?;
        result?;
        // the old values also sit in the write-ahead log until it is checkpointed
        let (busy, log, done): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
            .fetch_one(&mut *conn)
            .await
            .doing("checkpointing the write-ahead log")?;
        Ok((n, busy == 0 && log == done))
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Save a linkage: all links (`replace` None) or the links of some records only.
    async fn write_linkage(&self, linkage: &Linkage, replace: Option<&[i64]>) -> Result<i64> {
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .doing("starting the linkage transaction")?;
        let at = now();
        let decisions_through: Option<i64> = match linkage.decisions_through {
            Some(d) => Some(d),
            None => sqlx::query_scalar("SELECT MAX(id) FROM link_decisions")
                .fetch_one(&mut *tx)
                .await
                .doing("reading the newest decision")?,
        };
        let run_id = sqlx::query(
            "INSERT INTO link_runs (started_at, method, actor, stats, model, mode, decisions_through)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&at)
        .bind(&linkage.method)
        .bind(&linkage.actor)
        .bind(&linkage.stats)
        .bind(&linkage.model)
        .bind(if replace.is_some() { "incremental" } else { "full" })
        .bind(decisions_through)
        .execute(&mut *tx)
        .await
        .doing("recording the link run")?
        .last_insert_rowid();
        match replace {
            None => {
                sqlx::query("DELETE FROM person_links")
                    .execute(&mut *tx)
                    .await
                    .doing("clearing person links")?;
                sqlx::query("DELETE FROM review_pairs")
                    .execute(&mut *tx)
                    .await
                    .doing("clearing the review queue")?;
            }
            Some(ids) => {
                // the records whose links change, also those about to be written
                let mut all: Vec<i64> = ids.to_vec();
                all.extend(linkage.links.iter().map(|(r, _)| *r));
                all.sort_unstable();
                all.dedup();
                for chunk in all.chunks(ROWS_PER_STATEMENT) {
                    let marks = vec!["?"; chunk.len()].join(",");
                    let sql = format!("DELETE FROM person_links WHERE record_id IN ({marks})");
                    let mut q = sqlx::query(&sql);
                    for r in chunk {
                        q = q.bind(r);
                    }
                    q.execute(&mut *tx)
                        .await
                        .doing("dropping replaced person links")?;
                    let sql = format!(
                        "DELETE FROM review_pairs WHERE left_record IN ({marks}) OR right_record IN ({marks})"
                    );
                    let mut q = sqlx::query(&sql);
                    for _ in 0..2 {
                        for r in chunk {
                            q = q.bind(r);
                        }
                    }
                    q.execute(&mut *tx)
                        .await
                        .doing("dropping replaced review pairs")?;
                }
            }
        }
        for (i, chunk) in linkage.links.chunks(ROWS_PER_STATEMENT).enumerate() {
            let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT INTO person_links (record_id, person_id, method, run_id) ",
            );
            qb.push_values(chunk.iter().enumerate(), |mut b, (j, (rid, pid))| {
                let m = linkage
                    .link_methods
                    .get(i * ROWS_PER_STATEMENT + j)
                    .map(String::as_str)
                    .unwrap_or(linkage.method.as_str());
                b.push_bind(rid)
                    .push_bind(pid)
                    .push_bind(m)
                    .push_bind(run_id);
            });
            qb.build()
                .execute(&mut *tx)
                .await
                .doing("saving person links")?;
        }
        // Persons: every id in use is active; ids no longer in use are retired, never deleted.
        sqlx::query(
            "INSERT INTO persons (id, created_at, status)
             SELECT DISTINCT person_id, ?, 'active' FROM person_links WHERE run_id = ?
             ON CONFLICT(id) DO UPDATE SET status = 'active'",
        )
        .bind(&at)
        .bind(run_id)
        .execute(&mut *tx)
        .await
        .doing("saving persons")?;
        sqlx::query(
            "UPDATE persons SET status = 'retired'
             WHERE status = 'active' AND id NOT IN (SELECT DISTINCT person_id FROM person_links)",
        )
        .execute(&mut *tx)
        .await
        .doing("retiring persons")?;
        for chunk in linkage.review.chunks(ROWS_PER_STATEMENT) {
            let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT OR IGNORE INTO review_pairs (left_record, right_record, match_weight, match_probability, run_id) ",
            );
            qb.push_values(chunk, |mut b, p| {
                b.push_bind(p.left_record.min(p.right_record))
                    .push_bind(p.left_record.max(p.right_record))
                    .push_bind(p.match_weight)
                    .push_bind(p.match_probability)
                    .push_bind(run_id);
            });
            qb.build()
                .execute(&mut *tx)
                .await
                .doing("saving the review queue")?;
        }
        for e in &linkage.events {
            sqlx::query(
                "INSERT INTO person_events (run_id, at, kind, person_id, detail) VALUES (?, ?, ?, ?, ?)",
            )
            .bind(run_id)
            .bind(&at)
            .bind(&e.kind)
            .bind(&e.person_id)
            .bind(&e.detail)
            .execute(&mut *tx)
            .await
            .doing("saving person events")?;
        }
        tx.commit().await.doing("committing the linkage")?;
        Ok(run_id)
    }

    /// The rows of `head` (a SELECT ending in `WHERE` or `AND`) with `id IN ids`, a statement
    /// per [`ROWS_PER_STATEMENT`] ids.
    async fn rows_by_id(
        &self,
        head: &str,
        ids: &[i64],
    ) -> std::result::Result<Vec<sqlx::sqlite::SqliteRow>, sqlx::Error> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(ROWS_PER_STATEMENT) {
            let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(head);
            qb.push(" id IN (");
            let mut sep = qb.separated(", ");
            for id in chunk {
                sep.push_bind(id);
            }
            qb.push(")");
            out.extend(qb.build().fetch_all(&self.pool).await?);
        }
        Ok(out)
    }

    /// Close every connection, which checkpoints the WAL into the database file (otherwise a
    /// large ingest leaves a WAL as big as its data until the next open).
    pub async fn close(self) {
        self.pool.close().await;
    }
}

fn opt_str(row: &sqlx::sqlite::SqliteRow, col: &str) -> Option<String> {
    row.get::<Option<String>, _>(col)
}

/// The columns `identity_row` reads, from `source_records s`: the identity (sealed, or in the
/// clear in rows from before sealing) and the interaction's place (a street address or an
/// intersection; not "homeless" or no location).
const IDENTITY_COLUMNS: &str = "s.id AS record_id, s.source, s.agency, s.record_key,
    s.sealed, s.identity_sealed,
    s.first_name, s.middle_name, s.last_name, s.suffix, s.aliases, s.dob, s.sex, s.race,
    s.ethnicity, s.phone, s.address_key, s.address_raw, s.address_kind, s.agency_person_id,
    s.ssn_last4, s.incident_ref,
    CASE WHEN s.location_kind IN ('street', 'intersection') THEN s.location_key END AS place";

/// An identity row as `identities` and `identities_of` select it; `sealer` opens sealed rows
/// (None when the store has no key: then a sealed row is an error).
fn identity_row(
    r: &sqlx::sqlite::SqliteRow,
    sealer: &mut Option<RowSealer>,
) -> Result<IdentityRow> {
    Ok(IdentityRow {
        record_id: r.get("record_id"),
        source: r.get("source"),
        agency: r.get("agency"),
        record_key: r.get("record_key"),
        identity: identity_from_row(r, sealer)?,
        place: r.get("place"),
        incident_ref: r.get("incident_ref"),
    })
}

/// The identity columns of a row stored in the clear (before sealing).
fn plain_fields(row: &sqlx::sqlite::SqliteRow) -> SealedFields {
    SealedFields {
        first: opt_str(row, "first_name"),
        middle: opt_str(row, "middle_name"),
        last: opt_str(row, "last_name"),
        suffix: opt_str(row, "suffix"),
        aliases: opt_str(row, "aliases"),
        dob: opt_str(row, "dob"),
        phone: opt_str(row, "phone"),
        address_key: opt_str(row, "address_key"),
        address_raw: opt_str(row, "address_raw"),
        agency_person_id: opt_str(row, "agency_person_id"),
        ssn_last4: opt_str(row, "ssn_last4"),
    }
}

fn identity_from_row(
    row: &sqlx::sqlite::SqliteRow,
    sealer: &mut Option<RowSealer>,
) -> Result<SourceIdentity> {
    let id: i64 = row.get("record_id");
    let f = if row.get::<i64, _>("sealed") == 1 {
        let blob: Option<Vec<u8>> = row.get("identity_sealed");
        let blob = blob.ok_or_else(|| {
            StoreError::Corrupt(format!("record {id} is sealed but holds no identity"))
        })?;
        let plain = sealer
            .as_mut()
            .and_then(|s| s.open(&blob, Slot::Identity(id)))
            .ok_or_else(|| crate::row_seal::does_not_open(id))?;
        SealedFields::decode(&plain).ok_or_else(|| {
            StoreError::Corrupt(format!("record {id}: the sealed identity does not decode"))
        })?
    } else {
        plain_fields(row)
    };
    let address = f.address_key.map(|key| Address {
        raw: f.address_raw.unwrap_or_default(),
        kind: match opt_str(row, "address_kind").as_deref() {
            Some("homeless") => familiar_model::AddressKind::Homeless,
            Some("shelter") => familiar_model::AddressKind::Shelter,
            Some("intersection") => familiar_model::AddressKind::Intersection,
            _ => familiar_model::AddressKind::Street,
        },
        key,
        ..Default::default()
    });
    Ok(SourceIdentity {
        first: f.first,
        middle: f.middle,
        last: f.last,
        suffix: f.suffix,
        aliases: f
            .aliases
            .and_then(|a| serde_json::from_str(&a).ok())
            .unwrap_or_default(),
        dob: f.dob.and_then(|d| PartialDate::from_str(&d).ok()),
        sex: opt_str(row, "sex"),
        race: opt_str(row, "race"),
        ethnicity: opt_str(row, "ethnicity"),
        phone: f.phone,
        address,
        agency_person_id: f.agency_person_id,
        ssn_last4: f.ssn_last4,
    })
}

#[async_trait]
impl Store for SqliteStore {
    async fn upsert_agencies(&self, agencies: &[Agency]) -> Result<()> {
        let mut tx = self.pool.begin().await.doing("starting a transaction")?;
        for a in agencies {
            sqlx::query(
                "INSERT INTO agencies (code, name, description) VALUES (?, ?, ?)
                 ON CONFLICT(code) DO UPDATE SET name = excluded.name, description = excluded.description",
            )
            .bind(&a.code)
            .bind(&a.name)
            .bind(&a.description)
            .execute(&mut *tx)
            .await
            .doing("saving agencies")?;
        }
        tx.commit().await.doing("committing agencies")
    }

    async fn agencies(&self) -> Result<Vec<Agency>> {
        let rows = sqlx::query("SELECT code, name, description FROM agencies ORDER BY rowid")
            .fetch_all(&self.pool)
            .await
            .doing("reading agencies")?;
        Ok(rows
            .iter()
            .map(|r| Agency {
                code: r.get("code"),
                name: r.get("name"),
                description: r.get("description"),
            })
            .collect())
    }

    async fn begin_ingest(
        &self,
        config_path: &str,
        config_sha256: &str,
    ) -> Result<Box<dyn IngestTx>> {
        // the key first (made if the store has none): every row is sealed as it is written;
        // rows an earlier build stored in the clear are sealed now
        let key = self.sealing_key(true).await?;
        self.seal_plain_rows().await?;
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .doing("starting the ingest transaction")?;
        // a key rotation may have committed between the key's check and this transaction
        let check: Option<String> = sqlx::query_scalar("SELECT value FROM settings WHERE key = ?")
            .bind(crate::seal::CHECK_SETTING)
            .fetch_optional(&mut *tx)
            .await
            .doing("reading the key check")?;
        if !check.is_some_and(|c| crate::seal::key_matches(&key, &c)) {
            return Err(StoreError::Key(
                "the store's key changed (rotated) while this command started: run it again".into(),
            ));
        }
        let run_id = sqlx::query(
            "INSERT INTO ingest_runs (started_at, config_path, config_sha256) VALUES (?, ?, ?)",
        )
        .bind(now())
        .bind(config_path)
        .bind(config_sha256)
        .execute(&mut *tx)
        .await
        .doing("recording the ingest run")?
        .last_insert_rowid();
        let next_id: i64 =
            sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM source_records")
                .fetch_one(&mut *tx)
                .await
                .doing("reading the next record id")?;
        let next_quarantine_id: i64 =
            sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM quarantine")
                .fetch_one(&mut *tx)
                .await
                .doing("reading the next rejected row id")?;
        Ok(Box::new(SqliteIngest {
            tx,
            run_id,
            next_id,
            run_first_id: next_id,
            written_sources: Default::default(),
            seen_locations: Default::default(),
            sealer: RowSealer::new(&key),
            next_quarantine_id,
        }))
    }

    async fn identities(&self) -> Result<Vec<IdentityRow>> {
        // the `identities` view's columns and the interaction's place, streamed: a county's
        // identities are converted one by one rather than held twice
        let sql = format!(
            "SELECT {IDENTITY_COLUMNS} FROM source_records s
             WHERE s.has_identity = 1 AND s.current = 1 ORDER BY s.id"
        );
        let mut sealer = None;
        let mut rows = sqlx::query(&sql).fetch(&self.pool);
        let mut out = Vec::new();
        while let Some(r) = std::future::poll_fn(|cx| rows.as_mut().poll_next(cx)).await {
            let r = r.doing("reading identities")?;
            if r.get::<i64, _>("sealed") == 1 {
                self.row_sealer(&mut sealer).await?;
            }
            out.push(identity_row(&r, &mut sealer)?);
        }
        Ok(out)
    }

    async fn identities_of(&self, person_id: &str) -> Result<Vec<IdentityRow>> {
        let sql = format!(
            "SELECT {IDENTITY_COLUMNS}
             FROM person_links p JOIN source_records s ON s.id = p.record_id
             WHERE p.person_id = ? AND s.has_identity = 1 AND s.current = 1 ORDER BY s.id"
        );
        let rows = sqlx::query(&sql)
            .bind(person_id)
            .fetch_all(&self.pool)
            .await
            .doing("reading a person's identities")?;
        let mut sealer = None;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            if r.get::<i64, _>("sealed") == 1 {
                self.row_sealer(&mut sealer).await?;
            }
            out.push(identity_row(r, &mut sealer)?);
        }
        Ok(out)
    }

    async fn record_ids(&self) -> Result<HashMap<(String, String), i64>> {
        let rows =
            sqlx::query("SELECT id, source, record_key FROM source_records WHERE current = 1")
                .fetch_all(&self.pool)
                .await
                .doing("reading record ids")?;
        Ok(rows
            .iter()
            .map(|r| ((r.get("source"), r.get("record_key")), r.get("id")))
            .collect())
    }

    async fn record_keys(&self, ids: &[i64]) -> Result<HashMap<i64, (String, String)>> {
        let rows = self
            .rows_by_id(
                "SELECT id, source, record_key FROM source_records WHERE",
                ids,
            )
            .await
            .doing("reading record keys")?;
        Ok(rows
            .iter()
            .map(|r| (r.get("id"), (r.get("source"), r.get("record_key"))))
            .collect())
    }

    async fn current_identity_ids(&self, ids: &[i64]) -> Result<std::collections::HashSet<i64>> {
        let rows = self
            .rows_by_id(
                "SELECT id FROM source_records WHERE current = 1 AND has_identity = 1 AND",
                ids,
            )
            .await
            .doing("reading current identities")?;
        Ok(rows.iter().map(|r| r.get("id")).collect())
    }

    async fn person_links(&self) -> Result<HashMap<i64, String>> {
        let rows = sqlx::query("SELECT record_id, person_id FROM person_links")
            .fetch_all(&self.pool)
            .await
            .doing("reading person links")?;
        Ok(rows
            .iter()
            .map(|r| (r.get("record_id"), r.get("person_id")))
            .collect())
    }

    async fn save_linkage(&self, linkage: &Linkage) -> Result<i64> {
        self.write_linkage(linkage, None).await
    }

    async fn save_linkage_update(&self, linkage: &Linkage, replace: &[i64]) -> Result<i64> {
        self.write_linkage(linkage, Some(replace)).await
    }

    async fn link_state(&self) -> Result<LinkState> {
        let last =
            sqlx::query("SELECT id, decisions_through FROM link_runs ORDER BY id DESC LIMIT 1")
                .fetch_optional(&self.pool)
                .await
                .doing("reading the last link run")?;
        let model = sqlx::query(
            "SELECT id, model FROM link_runs WHERE model IS NOT NULL ORDER BY id DESC LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await
        .doing("reading the stored linkage model")?;
        Ok(LinkState {
            last_run: last.as_ref().map(|r| r.get("id")),
            decisions_through: last.as_ref().and_then(|r| r.get("decisions_through")),
            model: model.as_ref().map(|r| r.get("model")),
            model_run: model.as_ref().map(|r| r.get("id")),
        })
    }

    async fn review_queue(&self) -> Result<Vec<ReviewPair>> {
        let rows = sqlx::query(
            "SELECT q.left_record, q.right_record, q.match_weight, q.match_probability
             FROM review_pairs q
             WHERE NOT EXISTS (
                SELECT 1 FROM link_decisions d WHERE d.active = 1 AND d.right_record IS NOT NULL
                  AND ((d.left_record = q.left_record AND d.right_record = q.right_record)
                    OR (d.left_record = q.right_record AND d.right_record = q.left_record)))
             ORDER BY abs(q.match_probability - 0.5), q.left_record, q.right_record",
        )
        .fetch_all(&self.pool)
        .await
        .doing("reading the review queue")?;
        Ok(rows
            .iter()
            .map(|r| ReviewPair {
                left_record: r.get("left_record"),
                right_record: r.get("right_record"),
                match_weight: r.get("match_weight"),
                match_probability: r.get("match_probability"),
            })
            .collect())
    }

    async fn add_decision(&self, d: &LinkDecision) -> Result<i64> {
        let id = sqlx::query(
            "INSERT INTO link_decisions (at, actor, kind, left_record, right_record, person_id, reason)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(if d.at.is_empty() { now() } else { d.at.clone() })
        .bind(&d.actor)
        .bind(&d.kind)
        .bind(d.left_record)
        .bind(d.right_record)
        .bind(&d.person_id)
        .bind(&d.reason)
        .execute(&self.pool)
        .await
        .doing("saving a link decision")?
        .last_insert_rowid();
        Ok(id)
    }

    async fn add_decisions(&self, ds: &[LinkDecision]) -> Result<()> {
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .doing("starting a decisions transaction")?;
        let at = now();
        for chunk in ds.chunks(ROWS_PER_STATEMENT) {
            let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT INTO link_decisions (at, actor, kind, left_record, right_record, person_id, reason) ",
            );
            qb.push_values(chunk, |mut b, d| {
                b.push_bind(if d.at.is_empty() {
                    at.clone()
                } else {
                    d.at.clone()
                })
                .push_bind(&d.actor)
                .push_bind(&d.kind)
                .push_bind(d.left_record)
                .push_bind(d.right_record)
                .push_bind(&d.person_id)
                .push_bind(&d.reason);
            });
            qb.build()
                .execute(&mut *tx)
                .await
                .doing("saving link decisions")?;
        }
        tx.commit().await.doing("committing link decisions")
    }

    async fn decisions(&self) -> Result<Vec<LinkDecision>> {
        let rows = sqlx::query(
            "SELECT id, at, actor, kind, left_record, right_record, person_id, reason
             FROM link_decisions WHERE active = 1 ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await
        .doing("reading link decisions")?;
        Ok(rows
            .iter()
            .map(|r| LinkDecision {
                id: r.get("id"),
                at: r.get("at"),
                actor: r.get("actor"),
                kind: r.get("kind"),
                left_record: r.get("left_record"),
                right_record: r.get("right_record"),
                person_id: r.get("person_id"),
                reason: r.get("reason"),
            })
            .collect())
    }

    async fn person_events(&self, person_id: &str) -> Result<Vec<PersonEvent>> {
        let rows = sqlx::query(
            "SELECT kind, person_id, detail FROM person_events WHERE person_id = ? ORDER BY id",
        )
        .bind(person_id)
        .fetch_all(&self.pool)
        .await
        .doing("reading person events")?;
        Ok(rows
            .iter()
            .map(|r| PersonEvent {
                kind: r.get("kind"),
                person_id: r.get("person_id"),
                detail: r.get("detail"),
            })
            .collect())
    }

    async fn interaction_rows(&self) -> Result<Vec<InteractionRow>> {
        let mut conn = self
            .pool
            .acquire()
            .await
            .doing("taking a connection to read interactions")?;
        let mut handle = conn
            .lock_handle()
            .await
            .doing("locking the connection to read interactions")?;
        crate::bulk::interaction_rows(handle.as_raw_handle())
    }

    async fn data_version(&self) -> Result<String> {
        let (ingest, link, decisions): (i64, i64, i64) = sqlx::query_as(
            "SELECT (SELECT COALESCE(MAX(id), 0) FROM ingest_runs WHERE finished_at IS NOT NULL),
                    (SELECT COALESCE(MAX(id), 0) FROM link_runs),
                    (SELECT COUNT(*) FROM link_decisions)",
        )
        .fetch_one(&self.pool)
        .await
        .doing("reading the data version")?;
        Ok(format!(
            "ingest {ingest}, link {link}, decisions {decisions}"
        ))
    }

    async fn save_rule_run(&self, run: &crate::NewRuleRun) -> Result<i64> {
        let persons = serde_json::to_string(&run.persons).expect("strings serialize");
        let id = sqlx::query(
            "INSERT INTO rule_runs
               (at, rule, rule_version, definition, as_of, data_version, actor, persons, result)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(now())
        .bind(&run.rule)
        .bind(i64::from(run.rule_version))
        .bind(&run.definition)
        .bind(run.as_of.to_string())
        .bind(&run.data_version)
        .bind(&run.actor)
        .bind(persons)
        .bind(&run.result)
        .execute(&self.pool)
        .await
        .doing("recording a rule run")?
        .last_insert_rowid();
        Ok(id)
    }

    async fn rule_runs(&self, name: Option<&str>) -> Result<Vec<crate::RuleRun>> {
        let rows =
            sqlx::query("SELECT * FROM rule_runs WHERE (?1 IS NULL OR rule = ?1) ORDER BY id DESC")
                .bind(name)
                .fetch_all(&self.pool)
                .await
                .doing("reading rule runs")?;
        rows.iter()
            .map(|r| {
                let as_of: String = r.get("as_of");
                let persons: String = r.get("persons");
                Ok(crate::RuleRun {
                    id: r.get("id"),
                    at: r.get("at"),
                    run: crate::NewRuleRun {
                        rule: r.get("rule"),
                        rule_version: r.get::<i64, _>("rule_version") as u32,
                        definition: r.get("definition"),
                        as_of: chrono::NaiveDate::parse_from_str(&as_of, "%Y-%m-%d").map_err(
                            |_| StoreError::Corrupt(format!("bad rule-run date {as_of:?}")),
                        )?,
                        data_version: r.get("data_version"),
                        actor: r.get("actor"),
                        persons: serde_json::from_str(&persons)
                            .map_err(|e| StoreError::Corrupt(format!("rule run persons: {e}")))?,
                        result: r.get("result"),
                    },
                })
            })
            .collect()
    }

    async fn latest_date(&self) -> Result<Option<chrono::NaiveDate>> {
        let d: Option<String> =
            sqlx::query_scalar("SELECT MAX(local_date) FROM source_records WHERE current = 1")
                .fetch_one(&self.pool)
                .await
                .doing("reading the latest date")?;
        Ok(d.and_then(|d| chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok()))
    }

    async fn counts(&self) -> Result<StoreCounts> {
        let q = |sql: &'static str| {
            let pool = self.pool.clone();
            async move {
                sqlx::query_scalar::<_, i64>(sql)
                    .fetch_one(&pool)
                    .await
                    .doing("counting rows")
            }
        };
        Ok(StoreCounts {
            source_records: q("SELECT COUNT(*) FROM source_records").await?,
            current_records: q("SELECT COUNT(*) FROM source_records WHERE current = 1").await?,
            interactions: q("SELECT COUNT(*) FROM source_records").await?,
            identities: q("SELECT COUNT(*) FROM source_records WHERE has_identity = 1").await?,
            quarantine: q("SELECT COUNT(*) FROM quarantine").await?,
            ingest_runs: q("SELECT COUNT(*) FROM ingest_runs WHERE finished_at IS NOT NULL")
                .await?,
            persons: q("SELECT COUNT(*) FROM persons WHERE status = 'active'").await?,
            person_links: q("SELECT COUNT(*) FROM person_links").await?,
        })
    }

    async fn source_row(&self, record_id: i64) -> Result<Option<SourceRow>> {
        let Some(r) = sqlx::query(
            "SELECT r.source, r.record_key, r.version, r.row_number, r.raw, r.sealed, f.path, f.layout
             FROM source_records r JOIN source_files f ON f.id = r.file_id WHERE r.id = ?",
        )
        .bind(record_id)
        .fetch_optional(&self.pool)
        .await
        .doing("reading a source row")?
        else {
            return Ok(None);
        };
        let layout: Option<String> = r.get("layout");
        let layout: RawLayout = layout
            .as_deref()
            .and_then(|l| serde_json::from_str(l).ok())
            .ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "record {record_id}: its file has no readable layout"
                ))
            })?;
        let mut raw: Vec<u8> = r.get("raw");
        if r.get::<i64, _>("sealed") == 1 {
            raw = self
                .row_sealer(&mut None)
                .await?
                .open(&raw, Slot::Raw(record_id))
                .ok_or_else(|| crate::row_seal::does_not_open(record_id))?;
        }
        let fields = layout
            .fields(&raw)
            .map_err(|e| StoreError::Corrupt(format!("record {record_id}: {e}")))?;
        Ok(Some(SourceRow {
            record_id,
            source: r.get("source"),
            record_key: r.get("record_key"),
            version: r.get("version"),
            file: r.get("path"),
            row_number: r.get::<i64, _>("row_number") as u64,
            raw,
            fields,
        }))
    }

    async fn quarantine_rows(&self, run_id: Option<i64>) -> Result<Vec<QuarantineRow>> {
        let rows = sqlx::query(
            "SELECT id, file_id, source, row_number, kind, field, reason, raw, sealed
             FROM quarantine WHERE ?1 IS NULL OR run_id = ?1 ORDER BY id",
        )
        .bind(run_id)
        .fetch_all(&self.pool)
        .await
        .doing("reading quarantine")?;
        let mut sealer = None;
        if rows.iter().any(|r| r.get::<i64, _>("sealed") == 1) {
            self.row_sealer(&mut sealer).await?;
        }
        rows.iter()
            .map(|r| {
                let id: i64 = r.get("id");
                let (raw, reason) = match sealer.as_mut().filter(|_| r.get::<i64, _>("sealed") == 1)
                {
                    Some(s) => {
                        let (raw, reason): (Vec<u8>, Vec<u8>) = (r.get("raw"), r.get("reason"));
                        let (raw, reason) = s
                            .open(&raw, Slot::Rejected(id))
                            .zip(s.open(&reason, Slot::RejectedReason(id)))
                            .ok_or_else(|| {
                                StoreError::Key(format!(
                                    "the rejected row {} of {} (file {}) does not open with the \
                                     store's key (damaged, or sealed under another key)",
                                    r.get::<i64, _>("row_number"),
                                    r.get::<String, _>("source"),
                                    r.get::<i64, _>("file_id")
                                ))
                            })?;
                        (raw, String::from_utf8_lossy(&reason).into_owned())
                    }
                    None => (r.get("raw"), r.get("reason")),
                };
                Ok(QuarantineRow {
                    file_id: r.get("file_id"),
                    source: r.get("source"),
                    row_number: r.get::<i64, _>("row_number") as u64,
                    kind: r.get("kind"),
                    field: r.get("field"),
                    reason,
                    raw,
                })
            })
            .collect()
    }
}

struct SqliteIngest {
    tx: Transaction<'static, Sqlite>,
    run_id: i64,
    next_id: i64,
    /// The first record id of this run: rows below it are from earlier runs.
    run_first_id: i64,
    /// Sources this run has written rows of (the others have none at or above `run_first_id`).
    written_sources: rustc_hash::FxHashSet<String>,
    /// Location keys already upserted in this run.
    seen_locations: rustc_hash::FxHashSet<String>,
    /// Seals the rows written, opens the rows read (see [`crate::row_seal`]).
    sealer: RowSealer,
    /// The id the next rejected row gets.
    next_quarantine_id: i64,
}

#[async_trait]
impl IngestTx for SqliteIngest {
    fn run_id(&self) -> i64 {
        self.run_id
    }

    async fn known_versions(&mut self, source: &str) -> Result<crate::KnownKeys> {
        let mut handle = self
            .tx
            .lock_handle()
            .await
            .doing("locking the connection to read row keys")?;
        // Rows this run wrote are only scanned for when it wrote rows of this source: a fresh
        // store's ingest scans nothing, however many sources came before.
        let earlier = (i64::MIN, self.run_first_id);
        let this_run = (self.run_first_id, i64::MAX);
        let ranges: &[(i64, i64)] = if self.written_sources.contains(source) {
            &[earlier, this_run]
        } else {
            &[earlier]
        };
        crate::bulk::known_versions(handle.as_raw_handle(), source, ranges, &mut self.sealer)
    }

    async fn add_file(&mut self, f: &FileMeta) -> Result<i64> {
        Ok(sqlx::query(
            "INSERT INTO source_files (run_id, source, path, sha256, bytes) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(self.run_id)
        .bind(&f.source)
        .bind(&f.path)
        .bind(&f.sha256)
        .bind(f.bytes as i64)
        .execute(&mut *self.tx)
        .await
        .doing("recording a source file")?
        .last_insert_rowid())
    }

    async fn insert_records(&mut self, rows: &[NewRecord<'_>]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let first_id = self.next_id;
        self.next_id += rows.len() as i64;
        let mut last: Option<&str> = None;
        for r in rows {
            let source = r.record.source.as_str();
            if last != Some(source) {
                last = Some(source);
                if !self.written_sources.contains(source) {
                    self.written_sources.insert(source.to_string());
                }
            }
        }
        let mut handle = self
            .tx
            .lock_handle()
            .await
            .doing("locking the connection for a bulk insert")?;
        crate::bulk::insert_records(
            handle.as_raw_handle(),
            rows,
            first_id,
            &mut self.seen_locations,
            &mut self.sealer,
        )
    }

    async fn quarantine(&mut self, rows: &[QuarantineRow]) -> Result<()> {
        for chunk in rows.chunks(ROWS_PER_STATEMENT) {
            let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT INTO quarantine (id, run_id, file_id, source, row_number, kind, field, reason, raw, sealed) ",
            );
            let run_id = self.run_id;
            // ids given here, not by SQLite, so each sealed value is bound to its own row
            let first = self.next_quarantine_id;
            self.next_quarantine_id += chunk.len() as i64;
            let sealed: Vec<(i64, Vec<u8>, Vec<u8>)> = chunk
                .iter()
                .enumerate()
                .map(|(i, q)| {
                    let id = first + i as i64;
                    (
                        id,
                        self.sealer.seal(&q.raw, Slot::Rejected(id)),
                        self.sealer
                            .seal(q.reason.as_bytes(), Slot::RejectedReason(id)),
                    )
                })
                .collect();
            qb.push_values(
                chunk.iter().zip(&sealed),
                |mut b, (q, (id, raw, reason))| {
                    b.push_bind(*id)
                        .push_bind(run_id)
                        .push_bind(q.file_id)
                        .push_bind(q.source.as_str())
                        .push_bind(q.row_number as i64)
                        .push_bind(q.kind.as_str())
                        .push_bind(q.field.as_deref())
                        .push_bind(&reason[..])
                        .push_bind(&raw[..])
                        .push_bind(1i64);
                },
            );
            qb.build()
                .execute(&mut *self.tx)
                .await
                .doing("saving rejected rows")?;
        }
        Ok(())
    }

    async fn finish_file(
        &mut self,
        file_id: i64,
        c: RowCounts,
        sha256: &str,
        bytes: u64,
        layout: &RawLayout,
    ) -> Result<()> {
        let layout = serde_json::to_string(layout).expect("a layout serializes");
        sqlx::query(
            "UPDATE source_files SET rows_read = ?, accepted = ?, rejected = ?, duplicate = ?,
             sha256 = ?, bytes = ?, layout = ? WHERE id = ?",
        )
        .bind(c.read as i64)
        .bind(c.accepted as i64)
        .bind(c.rejected as i64)
        .bind(c.duplicate as i64)
        .bind(sha256)
        .bind(bytes as i64)
        .bind(layout)
        .bind(file_id)
        .execute(&mut *self.tx)
        .await
        .doing("recording file counts")?;
        Ok(())
    }

    async fn commit(mut self: Box<Self>, report: &str) -> Result<i64> {
        sqlx::query("UPDATE ingest_runs SET finished_at = ?, report = ? WHERE id = ?")
            .bind(now())
            .bind(report)
            .bind(self.run_id)
            .execute(&mut *self.tx)
            .await
            .doing("closing the ingest run")?;
        let run_id = self.run_id;
        self.tx.commit().await.doing("committing the ingest run")?;
        Ok(run_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FileMeta, NewRecord, QuarantineRow, Store};
    use chrono::{NaiveDate, TimeZone, Utc};
    use familiar_model::{InteractionKind, NeedFlags, NormalizedRecord, Role};

    const RAW: &[u8] = b"2025-0042,ZAWADZKIEWICZ QUENTINA,1979-04-11,9195550147,4417 OKEECHOBEE RD";
    const REJECTED: &[u8] = b"2025-0043,ZAWADZKIEWICZ QUENTINA,not a date";
    /// A reason quoting the value it refused.
    const REASON: &str = "value \"1979-04-31\" is not a date";
    /// What names the person in `RAW` and the record: none of it may be in the file.
    const SECRETS: [&[u8]; 5] = [
        b"ZAWADZKIEWICZ",
        b"QUENTINA",
        b"9195550147",
        b"OKEECHOBEE",
        b"1979-04",
    ];

    fn record(key: &str) -> NormalizedRecord {
        NormalizedRecord {
            source: "decc".into(),
            agency: "DECC".into(),
            record_key: key.into(),
            event_key: key.into(),
            kind: InteractionKind::Call911,
            start: Utc.with_ymd_and_hms(2025, 3, 4, 15, 0, 0).unwrap(),
            local_date: NaiveDate::from_ymd_opt(2025, 3, 4).unwrap(),
            end: None,
            location: None,
            call_type: Some("WELFARE CHECK".into()),
            disposition: None,
            units: None,
            incident_ref: None,
            role: Role::Caller,
            needs: NeedFlags::default(),
            transported: None,
            part2: false,
            identity: Some(SourceIdentity {
                first: Some("QUENTINA".into()),
                last: Some("ZAWADZKIEWICZ".into()),
                dob: PartialDate::from_str("1979-04-11").ok(),
                phone: Some("9195550147".into()),
                sex: Some("F".into()),
                aliases: vec!["Q ZAWADZKIEWICZ".into()],
                address: Some(Address {
                    raw: "4417 OKEECHOBEE RD".into(),
                    key: "4417 OKEECHOBEE RD".into(),
                    ..Default::default()
                }),
                ..Default::default()
            }),
        }
    }

    /// One ingest run: two records (RAW each) and one rejected row.
    async fn ingest(s: &SqliteStore, keys: [&str; 2]) {
        let mut tx = s.begin_ingest("sources.toml", "00").await.unwrap();
        let file_id = tx
            .add_file(&FileMeta {
                source: "decc".into(),
                path: "decc.csv".into(),
                sha256: "00".into(),
                bytes: 1,
            })
            .await
            .unwrap();
        let recs: Vec<NormalizedRecord> = keys.iter().map(|k| record(k)).collect();
        let rows: Vec<NewRecord> = recs
            .iter()
            .enumerate()
            .map(|(i, r)| NewRecord {
                version: 1,
                supersedes: None,
                file_id,
                row_number: i as u64 + 2,
                raw: RAW,
                record: r,
            })
            .collect();
        tx.insert_records(&rows).await.unwrap();
        tx.quarantine(&[QuarantineRow {
            file_id,
            source: "decc".into(),
            row_number: 4,
            kind: "bad_date".into(),
            field: Some("dob".into()),
            reason: REASON.into(),
            raw: REJECTED.to_vec(),
        }])
        .await
        .unwrap();
        let layout = RawLayout::Delimited {
            delimiter: b',',
            encoding: "utf-8".into(),
            header: ["CallNo", "Name", "DOB", "Phone", "Address"]
                .map(String::from)
                .to_vec(),
        };
        tx.finish_file(file_id, crate::RowCounts::default(), "00", 1, &layout)
            .await
            .unwrap();
        tx.commit("{}").await.unwrap();
    }

    /// The bytes of the store's files (the database and any write-ahead log), not the key.
    fn stored_bytes(dir: &Path) -> Vec<u8> {
        let mut all = Vec::new();
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with("a.db") && !name.contains(".key") {
                // a journal SQLite removes between the listing and the read is no longer there
                match std::fs::read(&p) {
                    Ok(b) => all.extend(b),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => panic!("{}: {e}", p.display()),
                }
            }
        }
        all
    }

    fn holds(hay: &[u8], needle: &[u8]) -> bool {
        hay.windows(needle.len()).any(|w| w == needle)
    }

    /// Read back in the clear: both identities, the first row's bytes, the rejected row.
    async fn assert_reads_back(s: &SqliteStore) {
        let ids = s.identities().await.unwrap();
        assert_eq!(ids.len(), 2);
        for i in &ids {
            assert_eq!(i.identity, record("x").identity.unwrap());
        }
        let row = s.source_row(ids[0].record_id).await.unwrap().unwrap();
        assert_eq!(row.raw, RAW);
        let q = s.quarantine_rows(None).await.unwrap();
        assert_eq!(q.len(), 1);
        assert_eq!(q[0].raw, REJECTED);
        assert_eq!(q[0].reason, REASON);
    }

    /// Names, dates of birth, phones, addresses and the rows as read are sealed in the file
    /// and read back in the clear; without the store's key they are refused, never re-keyed.
    #[tokio::test]
    async fn source_rows_are_sealed_at_rest() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("a.db");
        let key_file = dir.path().join("a.db.key");
        let s = SqliteStore::open_key_file_only(&db).await.unwrap();
        ingest(&s, ["2025-0042", "2025-0044"]).await;
        assert!(key_file.exists(), "the first ingest makes the key");
        assert_reads_back(&s).await;
        // the same rows again: recognised as duplicates through their sealed bytes
        let mut tx = s.begin_ingest("sources.toml", "00").await.unwrap();
        let known = tx.known_versions("decc").await.unwrap();
        assert_eq!(
            known["2025-0042"].content_hash,
            familiar_model::raw::content_hash(RAW)
        );
        drop(tx);
        s.close().await;
        let bytes = stored_bytes(dir.path());
        assert!(
            holds(&bytes, b"WELFARE CHECK"),
            "the interaction is in the clear"
        );
        for secret in SECRETS {
            assert!(
                !holds(&bytes, secret),
                "{} is in the file",
                String::from_utf8_lossy(secret)
            );
        }

        // without the key: refused, and no new key is made
        std::fs::rename(&key_file, dir.path().join("kept")).unwrap();
        let s = SqliteStore::open_key_file_only(&db).await.unwrap();
        let e = s.identities().await.unwrap_err().to_string();
        assert!(e.contains("no key") && e.contains("a.db.key"), "{e}");
        assert!(s.source_row(1).await.is_err());
        assert!(s.quarantine_rows(None).await.is_err());
        assert!(s.begin_ingest("sources.toml", "00").await.is_err());
        assert!(!key_file.exists(), "no second key");
        // nor may a new key replace it: the rows would be lost
        let e = s.start_new_key().await.unwrap_err().to_string();
        assert!(e.contains("unreadable"), "{e}");
        drop(s);
        std::fs::rename(dir.path().join("kept"), &key_file).unwrap();
        let s = SqliteStore::open_key_file_only(&db).await.unwrap();
        assert_reads_back(&s).await;

        // a sealed identity copied onto another row does not open there
        sqlx::query(
            "UPDATE source_records SET identity_sealed =
                (SELECT identity_sealed FROM source_records WHERE id = 1) WHERE id = 2",
        )
        .execute(&s.pool)
        .await
        .unwrap();
        let e = s.identities().await.unwrap_err().to_string();
        assert!(e.contains("record 2 does not open"), "{e}");
    }

    /// Rows an earlier build stored in the clear read as they are, and the next ingest seals
    /// them in place (overwriting the plain values).
    #[tokio::test]
    async fn rows_stored_in_the_clear_are_sealed_by_the_next_ingest() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("a.db");
        let s = SqliteStore::open_key_file_only(&db).await.unwrap();
        ingest(&s, ["2025-0042", "2025-0044"]).await;
        // as an earlier build wrote them
        sqlx::query(
            "UPDATE source_records SET sealed = 0, identity_sealed = NULL, raw = ?,
                first_name = 'QUENTINA', last_name = 'ZAWADZKIEWICZ', dob = '1979-04-11',
                phone = '9195550147', aliases = '[\"Q ZAWADZKIEWICZ\"]',
                address_key = '4417 OKEECHOBEE RD', address_raw = '4417 OKEECHOBEE RD'",
        )
        .bind(RAW)
        .execute(&s.pool)
        .await
        .unwrap();
        sqlx::query("UPDATE quarantine SET sealed = 0, raw = ?, reason = ?")
            .bind(REJECTED)
            .bind(REASON)
            .execute(&s.pool)
            .await
            .unwrap();
        sqlx::query("DELETE FROM settings WHERE key = 'rows.all_sealed'")
            .execute(&s.pool)
            .await
            .unwrap();
        assert_reads_back(&s).await;
        // rows in the clear read without the key (it is asked for at the first sealed row)
        s.close().await;
        let key_file = dir.path().join("a.db.key");
        std::fs::rename(&key_file, dir.path().join("kept")).unwrap();
        let s = SqliteStore::open_key_file_only(&db).await.unwrap();
        assert_reads_back(&s).await;
        drop(s);
        std::fs::rename(dir.path().join("kept"), &key_file).unwrap();
        let s = SqliteStore::open_key_file_only(&db).await.unwrap();
        // the next ingest seals them
        s.begin_ingest("sources.toml", "00").await.unwrap();
        let plain: i64 = sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM source_records WHERE sealed = 0 OR first_name IS NOT NULL)
                  + (SELECT COUNT(*) FROM quarantine WHERE sealed = 0)",
        )
        .fetch_one(&s.pool)
        .await
        .unwrap();
        assert_eq!(plain, 0);
        assert_reads_back(&s).await;
        s.close().await;
        let bytes = stored_bytes(dir.path());
        for secret in SECRETS {
            assert!(
                !holds(&bytes, secret),
                "{} is in the file",
                String::from_utf8_lossy(secret)
            );
        }
    }

    /// A rotation re-seals rows, rejected rows and TOTP secrets under a new key: the old key
    /// no longer opens the store, the new one does, and an unfinished rotation is never
    /// silently overwritten.
    #[tokio::test]
    async fn a_key_rotation_reseals_everything_under_a_new_key() {
        use crate::{AccessStore, NewUser, UserRole};
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("a.db");
        let key_file = dir.path().join("a.db.key");
        let s = SqliteStore::open_key_file_only(&db).await.unwrap();
        ingest(&s, ["2025-0042", "2025-0044"]).await;
        s.create_user(&NewUser {
            username: "ana".into(),
            password_hash: "$argon2id$x".into(),
            role: Some(UserRole::Viewer),
            totp_secret: "JBSWY3DPEHPK3PXP".into(),
            ..Default::default()
        })
        .await
        .unwrap();
        let old_key = std::fs::read_to_string(&key_file).unwrap();
        let sealed_before: Vec<u8> =
            sqlx::query_scalar("SELECT identity_sealed FROM source_records WHERE id = 1")
                .fetch_one(&s.pool)
                .await
                .unwrap();

        // an unfinished earlier rotation is reported, and nothing changes
        let next = dir.path().join("a.db.key.next");
        std::fs::write(&next, "left over").unwrap();
        let e = s.rotate_key().await.unwrap_err().to_string();
        assert!(e.contains("did not finish"), "{e}");
        assert_eq!(std::fs::read_to_string(&key_file).unwrap(), old_key);
        std::fs::remove_file(&next).unwrap();

        let r = s.rotate_key().await.unwrap();
        assert_eq!(
            (r.rows, r.secrets),
            (3, 1),
            "two rows, one rejected row, one secret"
        );
        assert!(!next.exists());
        assert_eq!(r.key_file.as_deref(), Some(key_file.as_path()));
        let retired = r.retired.expect("the old key file is kept aside");
        assert_eq!(std::fs::read_to_string(&retired).unwrap(), old_key);
        assert_ne!(std::fs::read_to_string(&key_file).unwrap(), old_key);
        let sealed_after: Vec<u8> =
            sqlx::query_scalar("SELECT identity_sealed FROM source_records WHERE id = 1")
                .fetch_one(&s.pool)
                .await
                .unwrap();
        assert_ne!(sealed_before, sealed_after);
        assert!(r.checkpointed, "no other reader");
        // this process and a fresh one read everything with the new key
        assert_reads_back(&s).await;
        s.close().await;
        // what the old key sealed is nowhere in the store's files (overwritten in place; with
        // `secure_delete`, also where a row moves and frees its old cell)
        assert!(
            !holds(&stored_bytes(dir.path()), &sealed_before),
            "an old sealed value is still in the store's files"
        );
        let s = SqliteStore::open_key_file_only(&db).await.unwrap();
        assert_reads_back(&s).await;
        let u = s.user_by_name("ana").await.unwrap().unwrap();
        assert_eq!(s.totp_secret(&u).await.unwrap(), "JBSWY3DPEHPK3PXP");
        ingest(&s, ["2025-0046", "2025-0048"]).await;
        assert_eq!(s.identities().await.unwrap().len(), 4);
        // the old key opens nothing
        drop(s);
        std::fs::rename(&key_file, dir.path().join("new")).unwrap();
        std::fs::rename(&retired, &key_file).unwrap();
        let s = SqliteStore::open_key_file_only(&db).await.unwrap();
        let e = s.identities().await.unwrap_err().to_string();
        assert!(e.contains("is not the one"), "{e}");
    }

    /// A backup is the whole store sealed: nothing in it reads without the key, it restores to
    /// a store that reads as the original, and an altered, cut or foreign-keyed backup is
    /// refused without leaving a store behind.
    #[tokio::test]
    async fn a_sealed_backup_restores_and_refuses_tampering() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("a.db");
        let s = SqliteStore::open_key_file_only(&db).await.unwrap();
        ingest(&s, ["2025-0042", "2025-0044"]).await;
        let bak = dir.path().join("backup.fambak");
        let size = s.backup_to(&bak).await.unwrap();
        assert_eq!(size, std::fs::metadata(&bak).unwrap().len());
        assert!(
            size as usize > 2 * crate::backup::CHUNK,
            "several chunks: {size}"
        );
        let e = s.backup_to(&bak).await.unwrap_err().to_string();
        assert!(e.contains("exists"), "{e}");
        assert_eq!(
            std::fs::metadata(&bak).unwrap().len(),
            size,
            "a refused backup leaves the existing file alone"
        );
        let sealed = std::fs::read(&bak).unwrap();
        for clear in [&b"WELFARE CHECK"[..], b"SQLite format", b"decc.csv"] {
            assert!(!holds(&sealed, clear), "{}", String::from_utf8_lossy(clear));
        }
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".tmp-"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&bak).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let key = crate::seal::read_key_file(&dir.path().join("a.db.key")).unwrap();

        // restored elsewhere, with the key written beside it: reads as the original
        let other = dir.path().join("restored");
        std::fs::create_dir(&other).unwrap();
        let db2 = other.join("a.db");
        SqliteStore::restore(&bak, &db2, &key, true).unwrap();
        let s2 = SqliteStore::open_key_file_only(&db2).await.unwrap();
        s2.verify_key().await.unwrap();
        assert_reads_back(&s2).await;
        assert_eq!(
            s2.interaction_rows().await.unwrap().len(),
            s.interaction_rows().await.unwrap().len()
        );
        let e = SqliteStore::restore(&bak, &db2, &key, false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("exists"), "{e}");
        // the key put back first, then the store restored beside it: accepted
        let db3 = other.join("b.db");
        crate::seal::write_key_file(&other.join("b.db.key"), &key).unwrap();
        SqliteStore::restore(&bak, &db3, &key, true).unwrap();
        // a stale write-ahead log where the store is to go would be replayed onto it: refused
        std::fs::write(other.join("c.db-wal"), b"stale").unwrap();
        let e = SqliteStore::restore(&bak, &other.join("c.db"), &key, false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("c.db-wal exists"), "{e}");
        std::fs::write(other.join("d.db-journal"), b"stale").unwrap();
        let e = SqliteStore::restore(&bak, &other.join("d.db"), &key, false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("d.db-journal exists"), "{e}");

        // refused: another key, a flipped byte, a cut file, chunks swapped
        let refused = |bytes: &[u8], key: &crate::seal::Key, why: &str| {
            let f = dir.path().join(format!("bad-{why}.fambak"));
            std::fs::write(&f, bytes).unwrap();
            let to = dir.path().join(format!("bad-{why}.db"));
            let e = SqliteStore::restore(&f, &to, key, false)
                .unwrap_err()
                .to_string();
            assert!(e.contains("does not open"), "{why}: {e}");
            assert!(!to.exists(), "{why}: no store is left behind");
        };
        let other_key: crate::seal::Key = {
            use aes_gcm::aead::{KeyInit, OsRng};
            aes_gcm::Aes256Gcm::generate_key(&mut OsRng).into()
        };
        refused(&sealed, &other_key, "key");
        let mut flipped = sealed.clone();
        flipped[100] ^= 1;
        refused(&flipped, &key, "flipped");
        let chunk = 4 + crate::backup::CHUNK + 16;
        refused(&sealed[..16 + chunk], &key, "cut");
        let mut swapped = sealed[..16].to_vec();
        swapped.extend_from_slice(&sealed[16 + chunk..16 + 2 * chunk]);
        swapped.extend_from_slice(&sealed[16..16 + chunk]);
        swapped.extend_from_slice(&sealed[16 + 2 * chunk..]);
        refused(&swapped, &key, "swapped");
        let e = SqliteStore::restore(&db, &dir.path().join("x.db"), &key, false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a Familiar backup"), "{e}");
    }
}
