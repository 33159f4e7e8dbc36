//! Access control and the audit log: users, sessions, login failures, the hash-chained audit
//! log, and the small amount of dashboard content an admin edits.
//!
//! The store keeps what the web layer decides; it never hashes passwords or checks TOTP codes
//! (that is `familiar-web`'s job). It does own the audit chain, so that no caller can append a
//! row without linking it to the previous one:
//!
//! ```text
//! hash(row) = SHA-256( prev_hash ‖ 0x00 ‖ for each of id, at, actor, action, target, source,
//!                      outcome, detail: u64-LE(byte length) ‖ bytes )
//! ```
//!
//! `prev_hash` of the first row is 64 zeros. Ids are contiguous from 1. [`AccessStore::verify_audit`]
//! walks the rows in id order and reports the first row whose id, `prev_hash` or `hash` does not
//! fit: an edited field, a deleted row, a reordered row, or a truncated tail (checked against
//! `audit_head`). Triggers make the table append-only for ordinary SQL; the chain catches what
//! goes around them.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use std::fmt;
use std::str::FromStr;

use crate::{Doing, Result, SqliteStore, StoreError};

/// The `prev_hash` of the first audit row.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What a user may do. See `familiar-web`'s route table for what each role reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserRole {
    /// Everything, including users, the audit log and the public dashboard's text.
    Admin,
    /// Person-level data across agencies, linkage review, sources.
    Analyst,
    /// Only the persons assigned to them.
    CaseManager,
    /// Only their agency's source records.
    AgencyLiaison,
    /// Aggregates only.
    Viewer,
}

impl UserRole {
    pub const ALL: [UserRole; 5] = [
        UserRole::Admin,
        UserRole::Analyst,
        UserRole::CaseManager,
        UserRole::AgencyLiaison,
        UserRole::Viewer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            UserRole::Admin => "admin",
            UserRole::Analyst => "analyst",
            UserRole::CaseManager => "case_manager",
            UserRole::AgencyLiaison => "agency_liaison",
            UserRole::Viewer => "viewer",
        }
    }
}

impl fmt::Display for UserRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for UserRole {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        let t = s.trim().to_ascii_lowercase().replace('-', "_");
        UserRole::ALL
            .into_iter()
            .find(|r| r.as_str() == t)
            .ok_or_else(|| {
                format!(
                    "unknown role {s:?}; expected one of: {}",
                    UserRole::ALL.map(|r| r.as_str()).join(", ")
                )
            })
    }
}

/// A stored user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: i64,
    pub username: String,
    /// Argon2id PHC string.
    #[serde(skip_serializing)]
    pub password_hash: String,
    pub role: UserRole,
    /// The TOTP secret as stored: sealed (see [`crate::seal`]); [`AccessStore::totp_secret`]
    /// opens it.
    #[serde(skip_serializing)]
    pub totp_sealed: String,
    /// The last accepted TOTP time step (codes are single-use).
    #[serde(skip_serializing)]
    pub totp_last_step: i64,
    /// agency_liaison: their agency code.
    pub agency: Option<String>,
    /// case_manager: the person ids they may see.
    pub assignments: Vec<String>,
    pub disabled: bool,
    pub created_at: String,
}

/// A user to create.
#[derive(Debug, Clone, Default)]
pub struct NewUser {
    pub username: String,
    pub password_hash: String,
    pub role: Option<UserRole>,
    pub totp_secret: String,
    pub agency: Option<String>,
    pub assignments: Vec<String>,
}

/// A login session. The token itself is never stored: only its SHA-256 (hex).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub token_hash: String,
    pub user_id: i64,
    pub csrf: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub last_seen: i64,
    pub ip: String,
}

/// An audit event to append.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAudit {
    /// User name, `anonymous`, or `cli:<os user>`.
    pub actor: String,
    /// Dotted verb: `login`, `person.view`, `neighbors.export`, `review.decide`, ...
    pub action: String,
    /// What was acted on: a person id, a path, a user name.
    pub target: String,
    /// Where from: client IP, or `cli`.
    pub source: String,
    /// `ok`, `denied`, `failed`, ...
    pub outcome: String,
    /// Free text / JSON; never a name, DOB or address of a person.
    pub detail: String,
}

/// One stored audit row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    /// RFC 3339, UTC, milliseconds.
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub source: String,
    pub outcome: String,
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditEntry {
    /// The hash this row must carry given its fields and `prev_hash`.
    pub fn expected_hash(&self) -> String {
        chain_hash(
            &self.prev_hash,
            &[
                &self.id.to_string(),
                &self.at,
                &self.actor,
                &self.action,
                &self.target,
                &self.source,
                &self.outcome,
                &self.detail,
            ],
        )
    }
}

/// Which audit rows to read.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Only rows with a smaller id (paging backwards from the newest).
    pub before_id: Option<i64>,
    /// Only this actor.
    pub actor: Option<String>,
    /// Only actions starting with this.
    pub action_prefix: Option<String>,
    /// At most this many rows (0 = all). Rows come newest first when a limit is set, oldest
    /// first otherwise.
    pub limit: u32,
}

/// The first row where the chain does not hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditBreak {
    /// The id of the first bad row (for a truncated tail: the first missing id).
    pub id: i64,
    pub reason: String,
}

/// What [`AccessStore::verify_audit`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditVerify {
    /// Rows checked.
    pub rows: u64,
    /// Hash of the last row (the value to record elsewhere as an external anchor).
    pub head_hash: String,
    pub first_break: Option<AuditBreak>,
}

impl AuditVerify {
    pub fn intact(&self) -> bool {
        self.first_break.is_none()
    }
}

/// A line of the public dashboard's "What have we been doing?" (`done`) or "What's next?"
/// (`next`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Milestone {
    pub section: String,
    pub position: i64,
    pub text: String,
}

/// One ingested file, for the web's Sources page (the [`crate::Store`] trait has no listing of
/// ingest runs yet).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IngestFile {
    pub run_id: i64,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub file_id: i64,
    pub source: String,
    pub path: String,
    pub sha256: String,
    pub bytes: i64,
    pub rows_read: i64,
    pub accepted: i64,
    pub rejected: i64,
    pub duplicate: i64,
}

/// Users, sessions, lockout counters, the audit chain and dashboard settings.
#[async_trait]
pub trait AccessStore: Send + Sync {
    async fn create_user(&self, u: &NewUser) -> Result<i64>;
    async fn user_by_name(&self, username: &str) -> Result<Option<User>>;
    async fn user_by_id(&self, id: i64) -> Result<Option<User>>;
    async fn users(&self) -> Result<Vec<User>>;
    /// Disable or enable; also ends the user's sessions. False if there is no such user.
    async fn set_user_disabled(&self, username: &str, disabled: bool) -> Result<bool>;
    /// New password hash and TOTP secret; ends sessions and clears failures.
    async fn reset_credentials(
        &self,
        username: &str,
        password_hash: &str,
        totp_secret: &str,
    ) -> Result<bool>;
    /// Replace a user's agency and assigned persons.
    async fn set_scope(
        &self,
        username: &str,
        agency: Option<&str>,
        assignments: &[String],
    ) -> Result<bool>;
    /// Accept TOTP step `step` for the user if it is newer than the last one accepted
    /// (atomically). False means the code was already used.
    async fn accept_totp_step(&self, user_id: i64, step: i64) -> Result<bool>;
    /// The user's TOTP secret, opened (an error when the store's key is missing or wrong).
    async fn totp_secret(&self, user: &User) -> Result<String>;

    async fn record_login_failure(&self, username: &str, at: i64) -> Result<()>;
    /// Failures for this user name at or after `since` (unix seconds).
    async fn login_failures_since(&self, username: &str, since: i64) -> Result<u32>;
    async fn clear_login_failures(&self, username: &str) -> Result<()>;
    /// Record a failed login from a client address; entries older than `forget_before` are
    /// dropped on the way (the table only ever answers "how many lately").
    async fn record_address_failure(
        &self,
        address: &str,
        at: i64,
        forget_before: i64,
    ) -> Result<()>;
    /// Failures from this address at or after `since` (unix seconds).
    async fn address_failures_since(&self, address: &str, since: i64) -> Result<u32>;

    async fn create_session(&self, s: &Session) -> Result<()>;
    async fn session(&self, token_hash: &str) -> Result<Option<Session>>;
    async fn touch_session(&self, token_hash: &str, at: i64) -> Result<()>;
    async fn delete_session(&self, token_hash: &str) -> Result<()>;
    /// Remove sessions idle since before `idle_before` or created before `created_before`.
    async fn purge_sessions(&self, idle_before: i64, created_before: i64) -> Result<u64>;

    /// Append one event to the chain (atomically with the head).
    async fn append_audit(&self, e: &NewAudit) -> Result<AuditEntry>;
    async fn audit_entries(&self, q: &AuditQuery) -> Result<Vec<AuditEntry>>;
    async fn verify_audit(&self) -> Result<AuditVerify>;

    async fn setting(&self, key: &str) -> Result<Option<String>>;
    async fn set_setting(&self, key: &str, value: &str) -> Result<()>;
    async fn milestones(&self) -> Result<Vec<Milestone>>;
    /// Replace the lines of one section (`done` or `next`) in order.
    async fn set_milestones(&self, section: &str, lines: &[String]) -> Result<()>;

    /// Every file of every committed ingest run, newest run first.
    async fn ingest_files(&self) -> Result<Vec<IngestFile>>;
}

fn now_text() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The chain hash: SHA-256 over `prev_hash`, a zero byte, then each field as a little-endian
/// u64 length followed by its bytes (so no two field lists encode alike).
pub fn chain_hash(prev_hash: &str, fields: &[&str]) -> String {
    let mut msg =
        Vec::with_capacity(prev_hash.len() + 1 + fields.iter().map(|f| f.len() + 8).sum::<usize>());
    msg.extend_from_slice(prev_hash.as_bytes());
    msg.push(0);
    for f in fields {
        msg.extend_from_slice(&(f.len() as u64).to_le_bytes());
        msg.extend_from_slice(f.as_bytes());
    }
    let d = sha256::digest(&msg);
    let mut s = String::with_capacity(64);
    for b in d {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

fn user_from_row(r: &sqlx::sqlite::SqliteRow) -> Result<User> {
    let role: String = r.get("role");
    Ok(User {
        id: r.get("id"),
        username: r.get("username"),
        password_hash: r.get("password_hash"),
        role: role
            .parse()
            .map_err(|e: String| StoreError::Corrupt(format!("users.role: {e}")))?,
        totp_sealed: r.get("totp_secret"),
        totp_last_step: r.get("totp_last_step"),
        agency: r.get("agency"),
        assignments: Vec::new(),
        disabled: r.get::<i64, _>("disabled") != 0,
        created_at: r.get("created_at"),
    })
}

fn audit_from_row(r: &sqlx::sqlite::SqliteRow) -> AuditEntry {
    AuditEntry {
        id: r.get("id"),
        at: r.get("at"),
        actor: r.get("actor"),
        action: r.get("action"),
        target: r.get("target"),
        source: r.get("source"),
        outcome: r.get("outcome"),
        detail: r.get("detail"),
        prev_hash: r.get("prev_hash"),
        hash: r.get("hash"),
    }
}

impl SqliteStore {
    async fn load_assignments(&self, mut u: User) -> Result<User> {
        u.assignments = sqlx::query_scalar(
            "SELECT person_id FROM user_assignments WHERE user_id = ? ORDER BY person_id",
        )
        .bind(u.id)
        .fetch_all(self.pool())
        .await
        .doing("reading user assignments")?;
        Ok(u)
    }
}

#[async_trait]
impl AccessStore for SqliteStore {
    async fn create_user(&self, u: &NewUser) -> Result<i64> {
        let role = u
            .role
            .ok_or_else(|| StoreError::Corrupt("a new user needs a role".into()))?;
        let sealed = self.seal_secret(&u.totp_secret, &u.username).await?;
        let mut tx = self.pool().begin().await.doing("starting a transaction")?;
        let at = now_text();
        let id = sqlx::query(
            "INSERT INTO users (username, password_hash, role, totp_secret, agency, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&u.username)
        .bind(&u.password_hash)
        .bind(role.as_str())
        .bind(&sealed)
        .bind(&u.agency)
        .bind(&at)
        .bind(&at)
        .execute(&mut *tx)
        .await
        .doing("creating a user")?
        .last_insert_rowid();
        for p in &u.assignments {
            sqlx::query(
                "INSERT OR IGNORE INTO user_assignments (user_id, person_id) VALUES (?, ?)",
            )
            .bind(id)
            .bind(p)
            .execute(&mut *tx)
            .await
            .doing("saving user assignments")?;
        }
        tx.commit().await.doing("committing a new user")?;
        Ok(id)
    }

    async fn user_by_name(&self, username: &str) -> Result<Option<User>> {
        let row = sqlx::query("SELECT * FROM users WHERE username = ?")
            .bind(username)
            .fetch_optional(self.pool())
            .await
            .doing("reading a user")?;
        match row {
            Some(r) => Ok(Some(self.load_assignments(user_from_row(&r)?).await?)),
            None => Ok(None),
        }
    }

    async fn user_by_id(&self, id: i64) -> Result<Option<User>> {
        let row = sqlx::query("SELECT * FROM users WHERE id = ?")
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .doing("reading a user")?;
        match row {
            Some(r) => Ok(Some(self.load_assignments(user_from_row(&r)?).await?)),
            None => Ok(None),
        }
    }

    async fn users(&self) -> Result<Vec<User>> {
        let rows = sqlx::query("SELECT * FROM users ORDER BY username")
            .fetch_all(self.pool())
            .await
            .doing("reading users")?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(self.load_assignments(user_from_row(r)?).await?);
        }
        Ok(out)
    }

    async fn set_user_disabled(&self, username: &str, disabled: bool) -> Result<bool> {
        let mut tx = self.pool().begin().await.doing("starting a transaction")?;
        let n = sqlx::query("UPDATE users SET disabled = ?, updated_at = ? WHERE username = ?")
            .bind(disabled as i64)
            .bind(now_text())
            .bind(username)
            .execute(&mut *tx)
            .await
            .doing("disabling a user")?
            .rows_affected();
        sqlx::query(
            "DELETE FROM sessions WHERE user_id IN (SELECT id FROM users WHERE username = ?)",
        )
        .bind(username)
        .execute(&mut *tx)
        .await
        .doing("ending a user's sessions")?;
        tx.commit().await.doing("committing a user change")?;
        Ok(n > 0)
    }

    async fn reset_credentials(
        &self,
        username: &str,
        password_hash: &str,
        totp_secret: &str,
    ) -> Result<bool> {
        let sealed = self.seal_secret(totp_secret, username).await?;
        let mut tx = self.pool().begin().await.doing("starting a transaction")?;
        let n = sqlx::query(
            "UPDATE users SET password_hash = ?, totp_secret = ?, totp_last_step = 0, updated_at = ?
             WHERE username = ?",
        )
        .bind(password_hash)
        .bind(&sealed)
        .bind(now_text())
        .bind(username)
        .execute(&mut *tx)
        .await
        .doing("resetting credentials")?
        .rows_affected();
        sqlx::query(
            "DELETE FROM sessions WHERE user_id IN (SELECT id FROM users WHERE username = ?)",
        )
        .bind(username)
        .execute(&mut *tx)
        .await
        .doing("ending a user's sessions")?;
        sqlx::query("DELETE FROM login_failures WHERE username = ?")
            .bind(username)
            .execute(&mut *tx)
            .await
            .doing("clearing login failures")?;
        tx.commit().await.doing("committing a credential reset")?;
        Ok(n > 0)
    }

    async fn set_scope(
        &self,
        username: &str,
        agency: Option<&str>,
        assignments: &[String],
    ) -> Result<bool> {
        let mut tx = self.pool().begin().await.doing("starting a transaction")?;
        let id: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE username = ?")
            .bind(username)
            .fetch_optional(&mut *tx)
            .await
            .doing("reading a user")?;
        let Some(id) = id else {
            return Ok(false);
        };
        sqlx::query("UPDATE users SET agency = ?, updated_at = ? WHERE id = ?")
            .bind(agency)
            .bind(now_text())
            .bind(id)
            .execute(&mut *tx)
            .await
            .doing("saving a user's agency")?;
        sqlx::query("DELETE FROM user_assignments WHERE user_id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await
            .doing("clearing user assignments")?;
        for p in assignments {
            sqlx::query(
                "INSERT OR IGNORE INTO user_assignments (user_id, person_id) VALUES (?, ?)",
            )
            .bind(id)
            .bind(p)
            .execute(&mut *tx)
            .await
            .doing("saving user assignments")?;
        }
        tx.commit().await.doing("committing a user's scope")?;
        Ok(true)
    }

    async fn totp_secret(&self, user: &User) -> Result<String> {
        self.open_secret(&user.totp_sealed, &user.username).await
    }

    async fn accept_totp_step(&self, user_id: i64, step: i64) -> Result<bool> {
        let n =
            sqlx::query("UPDATE users SET totp_last_step = ? WHERE id = ? AND totp_last_step < ?")
                .bind(step)
                .bind(user_id)
                .bind(step)
                .execute(self.pool())
                .await
                .doing("recording a TOTP step")?
                .rows_affected();
        Ok(n > 0)
    }

    async fn record_login_failure(&self, username: &str, at: i64) -> Result<()> {
        sqlx::query("INSERT INTO login_failures (username, at) VALUES (?, ?)")
            .bind(username)
            .bind(at)
            .execute(self.pool())
            .await
            .doing("recording a login failure")?;
        Ok(())
    }

    async fn login_failures_since(&self, username: &str, since: i64) -> Result<u32> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM login_failures WHERE username = ? AND at >= ?",
        )
        .bind(username)
        .bind(since)
        .fetch_one(self.pool())
        .await
        .doing("counting login failures")?;
        Ok(n as u32)
    }

    async fn clear_login_failures(&self, username: &str) -> Result<()> {
        sqlx::query("DELETE FROM login_failures WHERE username = ?")
            .bind(username)
            .execute(self.pool())
            .await
            .doing("clearing login failures")?;
        Ok(())
    }

    async fn record_address_failure(
        &self,
        address: &str,
        at: i64,
        forget_before: i64,
    ) -> Result<()> {
        sqlx::query("DELETE FROM login_failures_by_address WHERE at < ?")
            .bind(forget_before)
            .execute(self.pool())
            .await
            .doing("forgetting old login failures")?;
        sqlx::query("INSERT INTO login_failures_by_address (address, at) VALUES (?, ?)")
            .bind(address)
            .bind(at)
            .execute(self.pool())
            .await
            .doing("recording a login failure")?;
        Ok(())
    }

    async fn address_failures_since(&self, address: &str, since: i64) -> Result<u32> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM login_failures_by_address WHERE address = ? AND at >= ?",
        )
        .bind(address)
        .bind(since)
        .fetch_one(self.pool())
        .await
        .doing("counting login failures")?;
        Ok(n as u32)
    }

    async fn create_session(&self, s: &Session) -> Result<()> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, csrf, created_at, last_seen, ip)
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&s.token_hash)
        .bind(s.user_id)
        .bind(&s.csrf)
        .bind(s.created_at)
        .bind(s.last_seen)
        .bind(&s.ip)
        .execute(self.pool())
        .await
        .doing("creating a session")?;
        Ok(())
    }

    async fn session(&self, token_hash: &str) -> Result<Option<Session>> {
        let row = sqlx::query("SELECT * FROM sessions WHERE token_hash = ?")
            .bind(token_hash)
            .fetch_optional(self.pool())
            .await
            .doing("reading a session")?;
        Ok(row.map(|r| Session {
            token_hash: r.get("token_hash"),
            user_id: r.get("user_id"),
            csrf: r.get("csrf"),
            created_at: r.get("created_at"),
            last_seen: r.get("last_seen"),
            ip: r.get("ip"),
        }))
    }

    async fn touch_session(&self, token_hash: &str, at: i64) -> Result<()> {
        sqlx::query("UPDATE sessions SET last_seen = ? WHERE token_hash = ?")
            .bind(at)
            .bind(token_hash)
            .execute(self.pool())
            .await
            .doing("touching a session")?;
        Ok(())
    }

    async fn delete_session(&self, token_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = ?")
            .bind(token_hash)
            .execute(self.pool())
            .await
            .doing("ending a session")?;
        Ok(())
    }

    async fn purge_sessions(&self, idle_before: i64, created_before: i64) -> Result<u64> {
        Ok(
            sqlx::query("DELETE FROM sessions WHERE last_seen < ? OR created_at < ?")
                .bind(idle_before)
                .bind(created_before)
                .execute(self.pool())
                .await
                .doing("ending expired sessions")?
                .rows_affected(),
        )
    }

    async fn append_audit(&self, e: &NewAudit) -> Result<AuditEntry> {
        // BEGIN IMMEDIATE takes the write lock first, so two appends never read the same head.
        let mut tx = self
            .pool()
            .begin_with("BEGIN IMMEDIATE")
            .await
            .doing("starting the audit transaction")?;
        let head = sqlx::query("SELECT last_id, last_hash FROM audit_head WHERE singleton = 1")
            .fetch_one(&mut *tx)
            .await
            .doing("reading the audit head")?;
        let last_id: i64 = head.get("last_id");
        let prev_hash: String = head.get("last_hash");
        let mut entry = AuditEntry {
            id: last_id + 1,
            at: now_text(),
            actor: e.actor.clone(),
            action: e.action.clone(),
            target: e.target.clone(),
            source: e.source.clone(),
            outcome: e.outcome.clone(),
            detail: e.detail.clone(),
            prev_hash,
            hash: String::new(),
        };
        entry.hash = entry.expected_hash();
        sqlx::query(
            "INSERT INTO audit_log (id, at, actor, action, target, source, outcome, detail, prev_hash, hash)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(entry.id)
        .bind(&entry.at)
        .bind(&entry.actor)
        .bind(&entry.action)
        .bind(&entry.target)
        .bind(&entry.source)
        .bind(&entry.outcome)
        .bind(&entry.detail)
        .bind(&entry.prev_hash)
        .bind(&entry.hash)
        .execute(&mut *tx)
        .await
        .doing("appending to the audit log")?;
        sqlx::query("UPDATE audit_head SET last_id = ?, last_hash = ? WHERE singleton = 1")
            .bind(entry.id)
            .bind(&entry.hash)
            .execute(&mut *tx)
            .await
            .doing("moving the audit head")?;
        tx.commit().await.doing("committing an audit row")?;
        Ok(entry)
    }

    async fn audit_entries(&self, q: &AuditQuery) -> Result<Vec<AuditEntry>> {
        let order = if q.limit > 0 { "DESC" } else { "ASC" };
        let sql = format!(
            "SELECT * FROM audit_log
             WHERE (?1 IS NULL OR id < ?1)
               AND (?2 IS NULL OR actor = ?2)
               AND (?3 IS NULL OR substr(action, 1, length(?3)) = ?3)
             ORDER BY id {order} LIMIT ?4"
        );
        let limit: i64 = if q.limit > 0 { i64::from(q.limit) } else { -1 };
        let rows = sqlx::query(&sql)
            .bind(q.before_id)
            .bind(&q.actor)
            .bind(&q.action_prefix)
            .bind(limit)
            .fetch_all(self.pool())
            .await
            .doing("reading the audit log")?;
        Ok(rows.iter().map(audit_from_row).collect())
    }

    async fn verify_audit(&self) -> Result<AuditVerify> {
        let rows = sqlx::query("SELECT * FROM audit_log ORDER BY id")
            .fetch_all(self.pool())
            .await
            .doing("reading the audit log")?;
        let head = sqlx::query("SELECT last_id, last_hash FROM audit_head WHERE singleton = 1")
            .fetch_optional(self.pool())
            .await
            .doing("reading the audit head")?;
        let mut prev = GENESIS_HASH.to_string();
        let mut expected_id = 1i64;
        let mut n = 0u64;
        let broken = |id: i64, reason: String, n: u64, prev: &str| AuditVerify {
            rows: n,
            head_hash: prev.to_string(),
            first_break: Some(AuditBreak { id, reason }),
        };
        for r in &rows {
            let e = audit_from_row(r);
            if e.id != expected_id {
                let reason = if e.id > expected_id {
                    format!(
                        "row {expected_id} is missing (deleted?): the next row found is {}",
                        e.id
                    )
                } else {
                    format!("row id {} appears out of order", e.id)
                };
                return Ok(broken(expected_id, reason, n, &prev));
            }
            if e.prev_hash != prev {
                return Ok(broken(
                    e.id,
                    format!(
                        "prev_hash does not match the hash of row {} (rows reordered, replaced or deleted)",
                        e.id - 1
                    ),
                    n,
                    &prev,
                ));
            }
            if e.expected_hash() != e.hash {
                return Ok(broken(
                    e.id,
                    "hash does not match the row's fields (row edited)".to_string(),
                    n,
                    &prev,
                ));
            }
            prev = e.hash;
            expected_id += 1;
            n += 1;
        }
        match head {
            Some(h) => {
                let last_id: i64 = h.get("last_id");
                let last_hash: String = h.get("last_hash");
                if last_id != expected_id - 1 || last_hash != prev {
                    return Ok(broken(
                        expected_id,
                        format!(
                            "the log ends at row {} but its head records row {last_id} (rows removed from the end, or the head edited)",
                            expected_id - 1
                        ),
                        n,
                        &prev,
                    ));
                }
            }
            None => {
                return Ok(broken(
                    expected_id,
                    "the audit head is missing".to_string(),
                    n,
                    &prev,
                ))
            }
        }
        Ok(AuditVerify {
            rows: n,
            head_hash: prev,
            first_break: None,
        })
    }

    async fn setting(&self, key: &str) -> Result<Option<String>> {
        sqlx::query_scalar("SELECT value FROM settings WHERE key = ?")
            .bind(key)
            .fetch_optional(self.pool())
            .await
            .doing("reading a setting")
    }

    async fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES (?, ?)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(self.pool())
        .await
        .doing("saving a setting")?;
        Ok(())
    }

    async fn milestones(&self) -> Result<Vec<Milestone>> {
        let rows = sqlx::query(
            "SELECT section, position, text FROM dashboard_items ORDER BY section, position, id",
        )
        .fetch_all(self.pool())
        .await
        .doing("reading dashboard items")?;
        Ok(rows
            .iter()
            .map(|r| Milestone {
                section: r.get("section"),
                position: r.get("position"),
                text: r.get("text"),
            })
            .collect())
    }

    async fn set_milestones(&self, section: &str, lines: &[String]) -> Result<()> {
        if section != "done" && section != "next" {
            return Err(StoreError::Corrupt(format!(
                "unknown dashboard section {section:?}"
            )));
        }
        let mut tx = self.pool().begin().await.doing("starting a transaction")?;
        sqlx::query("DELETE FROM dashboard_items WHERE section = ?")
            .bind(section)
            .execute(&mut *tx)
            .await
            .doing("clearing dashboard items")?;
        for (i, line) in lines.iter().enumerate() {
            sqlx::query("INSERT INTO dashboard_items (section, position, text) VALUES (?, ?, ?)")
                .bind(section)
                .bind(i as i64 + 1)
                .bind(line)
                .execute(&mut *tx)
                .await
                .doing("saving dashboard items")?;
        }
        tx.commit().await.doing("committing dashboard items")
    }

    async fn ingest_files(&self) -> Result<Vec<IngestFile>> {
        let rows = sqlx::query(
            "SELECT f.*, r.started_at, r.finished_at FROM source_files f
             JOIN ingest_runs r ON r.id = f.run_id
             WHERE r.finished_at IS NOT NULL
             ORDER BY f.run_id DESC, f.id",
        )
        .fetch_all(self.pool())
        .await
        .doing("reading ingest history")?;
        Ok(rows
            .iter()
            .map(|r| IngestFile {
                run_id: r.get("run_id"),
                started_at: r.get("started_at"),
                finished_at: r.get("finished_at"),
                file_id: r.get("id"),
                source: r.get("source"),
                path: r.get("path"),
                sha256: r.get("sha256"),
                bytes: r.get("bytes"),
                rows_read: r.get("rows_read"),
                accepted: r.get("accepted"),
                rejected: r.get("rejected"),
                duplicate: r.get("duplicate"),
            })
            .collect())
    }
}

/// SHA-256 (FIPS 180-4), for the audit chain. The store crate carries no hashing dependency;
/// this small implementation is checked against the standard's test vectors below (and against
/// the `sha2` crate in `familiar-web`'s tests).
mod sha256 {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    const H0: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];

    pub fn digest(data: &[u8]) -> [u8; 32] {
        let mut h = H0;
        let bit_len = (data.len() as u64).wrapping_mul(8);
        let mut msg = data.to_vec();
        msg.push(0x80);
        while msg.len() % 64 != 56 {
            msg.push(0);
        }
        msg.extend_from_slice(&bit_len.to_be_bytes());
        let mut w = [0u32; 64];
        for block in msg.chunks_exact(64) {
            for (i, word) in block.chunks_exact(4).enumerate() {
                w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
            }
            for i in 16..64 {
                let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
                let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
                w[i] = w[i - 16]
                    .wrapping_add(s0)
                    .wrapping_add(w[i - 7])
                    .wrapping_add(s1);
            }
            let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
            for i in 0..64 {
                let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
                let ch = (e & f) ^ (!e & g);
                let t1 = hh
                    .wrapping_add(s1)
                    .wrapping_add(ch)
                    .wrapping_add(K[i])
                    .wrapping_add(w[i]);
                let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
                let maj = (a & b) ^ (a & c) ^ (b & c);
                let t2 = s0.wrapping_add(maj);
                hh = g;
                g = f;
                f = e;
                e = d.wrapping_add(t1);
                d = c;
                c = b;
                b = a;
                a = t1.wrapping_add(t2);
            }
            for (x, y) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
                *x = x.wrapping_add(y);
            }
        }
        let mut out = [0u8; 32];
        for (i, x) in h.iter().enumerate() {
            out[i * 4..i * 4 + 4].copy_from_slice(&x.to_be_bytes());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(d: [u8; 32]) -> String {
        d.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn sha256_matches_fips_180_vectors() {
        assert_eq!(
            hex(sha256::digest(b"")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            hex(sha256::digest(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hex(sha256::digest(
                b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
            )),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        );
        assert_eq!(
            hex(sha256::digest(&vec![b'a'; 1_000_000])),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
        );
        // Lengths around the padding boundary.
        for n in 50..=70 {
            assert_eq!(sha256::digest(&vec![7u8; n]).len(), 32);
        }
    }

    #[test]
    fn chain_hash_separates_fields() {
        let a = chain_hash(GENESIS_HASH, &["ab", "c"]);
        let b = chain_hash(GENESIS_HASH, &["a", "bc"]);
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
    }

    #[test]
    fn roles_parse() {
        for r in UserRole::ALL {
            assert_eq!(r.as_str().parse::<UserRole>().unwrap(), r);
        }
        assert_eq!(
            "case-manager".parse::<UserRole>().unwrap(),
            UserRole::CaseManager
        );
        assert!("root".parse::<UserRole>().is_err());
    }

    async fn store() -> (SqliteStore, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStore::open_key_file_only(&dir.path().join("a.db"))
            .await
            .unwrap();
        (s, dir)
    }

    fn ev(i: usize) -> NewAudit {
        NewAudit {
            actor: format!("user{}", i % 3),
            action: "person.view".into(),
            target: format!("P{i:07}"),
            source: "127.0.0.1".into(),
            outcome: "ok".into(),
            detail: format!("{{\"n\":{i}}}"),
        }
    }

    async fn filled(n: usize) -> (SqliteStore, tempfile::TempDir) {
        let (s, d) = store().await;
        for i in 0..n {
            s.append_audit(&ev(i)).await.unwrap();
        }
        (s, d)
    }

    async fn drop_triggers(s: &SqliteStore) {
        sqlx::query("DROP TRIGGER audit_log_no_update")
            .execute(s.pool())
            .await
            .unwrap();
        sqlx::query("DROP TRIGGER audit_log_no_delete")
            .execute(s.pool())
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn empty_and_intact_chains_verify() {
        let (s, _d) = store().await;
        let v = s.verify_audit().await.unwrap();
        assert!(v.intact());
        assert_eq!(v.rows, 0);
        assert_eq!(v.head_hash, GENESIS_HASH);
        let (s, _d) = filled(10).await;
        let v = s.verify_audit().await.unwrap();
        assert!(v.intact(), "{v:?}");
        assert_eq!(v.rows, 10);
        let all = s.audit_entries(&AuditQuery::default()).await.unwrap();
        assert_eq!(all.len(), 10);
        assert_eq!(all[0].prev_hash, GENESIS_HASH);
        assert_eq!(all[1].prev_hash, all[0].hash);
        assert_eq!(v.head_hash, all[9].hash);
    }

    #[tokio::test]
    async fn triggers_refuse_update_and_delete() {
        let (s, _d) = filled(3).await;
        let u = sqlx::query("UPDATE audit_log SET detail = 'x' WHERE id = 2")
            .execute(s.pool())
            .await;
        assert!(u.is_err());
        let d = sqlx::query("DELETE FROM audit_log WHERE id = 2")
            .execute(s.pool())
            .await;
        assert!(d.is_err());
        assert!(s.verify_audit().await.unwrap().intact());
    }

    #[tokio::test]
    async fn altering_a_rows_detail_via_raw_sql_makes_verify_fail() {
        let (s, _d) = filled(6).await;
        drop_triggers(&s).await;
        sqlx::query("UPDATE audit_log SET detail = '{\"n\":99}' WHERE id = 4")
            .execute(s.pool())
            .await
            .unwrap();
        let v = s.verify_audit().await.unwrap();
        let b = v.first_break.expect("broken");
        assert_eq!(b.id, 4);
        assert!(b.reason.contains("edited"), "{}", b.reason);
        assert_eq!(v.rows, 3);
    }

    #[tokio::test]
    async fn altering_a_row_and_rehashing_it_breaks_the_next_row() {
        let (s, _d) = filled(6).await;
        drop_triggers(&s).await;
        let mut e = s.audit_entries(&AuditQuery::default()).await.unwrap()[2].clone();
        e.outcome = "denied".into();
        e.hash = e.expected_hash();
        sqlx::query("UPDATE audit_log SET outcome = ?, hash = ? WHERE id = ?")
            .bind(&e.outcome)
            .bind(&e.hash)
            .bind(e.id)
            .execute(s.pool())
            .await
            .unwrap();
        let b = s.verify_audit().await.unwrap().first_break.expect("broken");
        assert_eq!(b.id, 4);
    }

    #[tokio::test]
    async fn deleting_a_row_makes_verify_fail() {
        let (s, _d) = filled(6).await;
        drop_triggers(&s).await;
        sqlx::query("DELETE FROM audit_log WHERE id = 3")
            .execute(s.pool())
            .await
            .unwrap();
        let b = s.verify_audit().await.unwrap().first_break.expect("broken");
        assert_eq!(b.id, 3);
        assert!(b.reason.contains("missing"), "{}", b.reason);
    }

    #[tokio::test]
    async fn deleting_and_renumbering_rows_makes_verify_fail() {
        let (s, _d) = filled(6).await;
        drop_triggers(&s).await;
        sqlx::query("DELETE FROM audit_log WHERE id = 3")
            .execute(s.pool())
            .await
            .unwrap();
        sqlx::query("UPDATE audit_log SET id = id - 1 WHERE id > 3")
            .execute(s.pool())
            .await
            .unwrap();
        let b = s.verify_audit().await.unwrap().first_break.expect("broken");
        assert_eq!(b.id, 3);
    }

    #[tokio::test]
    async fn deleting_the_tail_makes_verify_fail() {
        let (s, _d) = filled(6).await;
        drop_triggers(&s).await;
        sqlx::query("DELETE FROM audit_log WHERE id >= 5")
            .execute(s.pool())
            .await
            .unwrap();
        let b = s.verify_audit().await.unwrap().first_break.expect("broken");
        assert_eq!(b.id, 5);
    }

    #[tokio::test]
    async fn reordering_rows_makes_verify_fail() {
        let (s, _d) = filled(6).await;
        drop_triggers(&s).await;
        // Swap rows 2 and 5 wholesale (ids stay contiguous).
        for (from, to) in [(2, -2), (5, 2), (-2, 5)] {
            sqlx::query("UPDATE audit_log SET id = ? WHERE id = ?")
                .bind(to)
                .bind(from)
                .execute(s.pool())
                .await
                .unwrap();
        }
        let b = s.verify_audit().await.unwrap().first_break.expect("broken");
        assert_eq!(b.id, 2);
    }

    #[tokio::test]
    async fn concurrent_appends_keep_one_chain() {
        let (s, _d) = store().await;
        let s = std::sync::Arc::new(s);
        let mut hs = Vec::new();
        for t in 0..4 {
            let s = s.clone();
            hs.push(tokio::spawn(async move {
                for i in 0..10 {
                    s.append_audit(&ev(t * 100 + i)).await.unwrap();
                }
            }));
        }
        for h in hs {
            h.await.unwrap();
        }
        let v = s.verify_audit().await.unwrap();
        assert!(v.intact(), "{v:?}");
        assert_eq!(v.rows, 40);
    }

    #[tokio::test]
    async fn audit_query_filters_and_pages() {
        let (s, _d) = filled(9).await;
        let newest = s
            .audit_entries(&AuditQuery {
                limit: 2,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(newest.iter().map(|e| e.id).collect::<Vec<_>>(), vec![9, 8]);
        let older = s
            .audit_entries(&AuditQuery {
                limit: 2,
                before_id: Some(8),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(older[0].id, 7);
        let u1 = s
            .audit_entries(&AuditQuery {
                actor: Some("user1".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(u1.len(), 3);
        let none = s
            .audit_entries(&AuditQuery {
                action_prefix: Some("login".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert!(none.is_empty());
    }

    /// TOTP secrets are sealed in the database and read back in the clear; one stored before
    /// sealing existed is sealed by `seal_plain_secrets`; a store never takes a second key.
    #[tokio::test]
    async fn totp_secrets_are_sealed_at_rest() {
        let (s, dir) = store().await;
        let db = dir.path().join("a.db");
        let key_file = dir.path().join("a.db.key");
        assert!(!key_file.exists(), "opening a store makes no key");
        s.create_user(&NewUser {
            username: "ana".into(),
            password_hash: "$argon2id$x".into(),
            role: Some(UserRole::Viewer),
            totp_secret: "JBSWY3DPEHPK3PXP".into(),
            ..Default::default()
        })
        .await
        .unwrap();
        assert!(key_file.exists(), "the first sealed secret makes the key");
        let column = |s: &SqliteStore| {
            let pool = s.pool().clone();
            async move {
                sqlx::query_scalar::<_, String>("SELECT totp_secret FROM users")
                    .fetch_one(&pool)
                    .await
                    .unwrap()
            }
        };
        let stored = column(&s).await;
        assert!(stored.starts_with("aes256gcm:"), "{stored}");
        assert!(!stored.contains("JBSWY3DPEHPK3PXP"));
        let u = s.user_by_name("ana").await.unwrap().unwrap();
        assert_eq!(u.totp_sealed, stored);
        assert_eq!(s.totp_secret(&u).await.unwrap(), "JBSWY3DPEHPK3PXP");
        s.reset_credentials("ana", "$argon2id$y", "NEWSECRET")
            .await
            .unwrap();
        let u = s.user_by_name("ana").await.unwrap().unwrap();
        assert_eq!(s.totp_secret(&u).await.unwrap(), "NEWSECRET");

        // a secret written in the clear (an older build) still reads, and is sealed on request
        sqlx::query("UPDATE users SET totp_secret = 'PLAINOLD'")
            .execute(s.pool())
            .await
            .unwrap();
        let u = s.user_by_name("ana").await.unwrap().unwrap();
        assert_eq!(s.totp_secret(&u).await.unwrap(), "PLAINOLD");
        assert_eq!(s.seal_plain_secrets().await.unwrap().0, 1);
        assert_eq!(s.seal_plain_secrets().await.unwrap().0, 0);
        assert!(column(&s).await.starts_with("aes256gcm:"));
        let u = s.user_by_name("ana").await.unwrap().unwrap();
        assert_eq!(s.totp_secret(&u).await.unwrap(), "PLAINOLD");

        // without its key the store reads users but not their secret, and never makes a new key
        drop(s);
        std::fs::rename(&key_file, dir.path().join("elsewhere")).unwrap();
        let s = SqliteStore::open_key_file_only(&db).await.unwrap();
        let u = s.user_by_name("ana").await.unwrap().unwrap();
        assert_eq!(
            s.users().await.unwrap().len(),
            1,
            "listing users needs no key"
        );
        let e = s.totp_secret(&u).await.unwrap_err().to_string();
        assert!(e.contains("no key") && e.contains("a.db.key"), "{e}");
        let e = s
            .reset_credentials("ana", "$argon2id$z", "OTHER")
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("no key"), "{e}");
        assert!(!key_file.exists(), "no second key");
        // another key is refused too
        drop(s);
        let s = SqliteStore::open_key_file_only(&db).await.unwrap();
        let other = crate::seal::Sealer::key_file_only(&db).create().unwrap();
        assert!(key_file.exists());
        let _ = other;
        let e = s.totp_secret(&u).await.unwrap_err().to_string();
        assert!(
            e.contains("not the one this store's rows and secrets were sealed with"),
            "{e}"
        );
        assert!(s.verify_key().await.is_err(), "serve would stop at start");
        // the right key back: all is well
        drop(s);
        std::fs::rename(dir.path().join("elsewhere"), &key_file).unwrap();
        let s = SqliteStore::open_key_file_only(&db).await.unwrap();
        assert_eq!(s.totp_secret(&u).await.unwrap(), "PLAINOLD");
        s.verify_key().await.unwrap();

        // a lost key: start a new one; the old file is kept aside, accounts are reset one by one
        drop(s);
        std::fs::remove_file(&key_file).unwrap();
        let s = SqliteStore::open_key_file_only(&db).await.unwrap();
        assert!(s
            .reset_credentials("ana", "$argon2id$z", "X")
            .await
            .is_err());
        let (n, moved) = s.start_new_key().await.unwrap();
        assert_eq!((n, moved), (1, None));
        assert!(s
            .reset_credentials("ana", "$argon2id$z", "FRESH")
            .await
            .unwrap());
        let u = s.user_by_name("ana").await.unwrap().unwrap();
        assert_eq!(s.totp_secret(&u).await.unwrap(), "FRESH");
        assert!(key_file.exists(), "the reset made the new key");
        let (_, moved) = s.start_new_key().await.unwrap();
        assert!(
            moved.is_some_and(|p| p.exists()),
            "an existing key file is kept aside"
        );
    }

    #[tokio::test]
    async fn users_sessions_and_lockout_counters() {
        let (s, _d) = store().await;
        let id = s
            .create_user(&NewUser {
                username: "ana".into(),
                password_hash: "$argon2id$x".into(),
                role: Some(UserRole::CaseManager),
                totp_secret: "JBSWY3DPEHPK3PXP".into(),
                agency: None,
                assignments: vec!["P0000002".into(), "P0000001".into()],
            })
            .await
            .unwrap();
        let u = s.user_by_name("ana").await.unwrap().unwrap();
        assert_eq!(u.id, id);
        assert_eq!(u.role, UserRole::CaseManager);
        assert_eq!(u.assignments, vec!["P0000001", "P0000002"]);
        assert!(s
            .create_user(&NewUser {
                username: "ana".into(),
                role: Some(UserRole::Viewer),
                ..Default::default()
            })
            .await
            .is_err());

        assert!(s.accept_totp_step(id, 100).await.unwrap());
        assert!(!s.accept_totp_step(id, 100).await.unwrap(), "replayed step");
        assert!(!s.accept_totp_step(id, 99).await.unwrap());
        assert!(s.accept_totp_step(id, 101).await.unwrap());

        for t in [10, 20, 30] {
            s.record_login_failure("ana", t).await.unwrap();
        }
        assert_eq!(s.login_failures_since("ana", 15).await.unwrap(), 2);
        assert_eq!(s.login_failures_since("bob", 0).await.unwrap(), 0);
        s.clear_login_failures("ana").await.unwrap();
        assert_eq!(s.login_failures_since("ana", 0).await.unwrap(), 0);
        // by address, apart from user names; old entries are forgotten as new ones come
        for t in [10, 20, 30] {
            s.record_address_failure("10.0.0.7", t, 0).await.unwrap();
        }
        assert_eq!(s.address_failures_since("10.0.0.7", 15).await.unwrap(), 2);
        assert_eq!(s.address_failures_since("10.0.0.8", 0).await.unwrap(), 0);
        assert_eq!(s.login_failures_since("10.0.0.7", 0).await.unwrap(), 0);
        s.record_address_failure("10.0.0.8", 40, 25).await.unwrap();
        assert_eq!(s.address_failures_since("10.0.0.7", 0).await.unwrap(), 1);

        let sess = Session {
            token_hash: "h1".into(),
            user_id: id,
            csrf: "c".into(),
            created_at: 1000,
            last_seen: 1000,
            ip: "127.0.0.1".into(),
        };
        s.create_session(&sess).await.unwrap();
        assert_eq!(s.session("h1").await.unwrap().unwrap(), sess);
        s.touch_session("h1", 1500).await.unwrap();
        assert_eq!(s.session("h1").await.unwrap().unwrap().last_seen, 1500);
        assert_eq!(s.purge_sessions(1400, 0).await.unwrap(), 0);
        assert_eq!(s.purge_sessions(1600, 0).await.unwrap(), 1);
        assert!(s.session("h1").await.unwrap().is_none());

        s.create_session(&sess).await.unwrap();
        assert!(s.set_user_disabled("ana", true).await.unwrap());
        assert!(
            s.session("h1").await.unwrap().is_none(),
            "disable ends sessions"
        );
        assert!(s.user_by_id(id).await.unwrap().unwrap().disabled);
        assert!(!s.set_user_disabled("nobody", true).await.unwrap());

        assert!(s
            .reset_credentials("ana", "$argon2id$y", "NEW")
            .await
            .unwrap());
        let u = s.user_by_name("ana").await.unwrap().unwrap();
        assert_eq!(s.totp_secret(&u).await.unwrap(), "NEW");
        assert_eq!(u.totp_last_step, 0);

        assert!(s
            .set_scope("ana", Some("DPD"), &["P9".to_string()])
            .await
            .unwrap());
        let u = s.user_by_name("ana").await.unwrap().unwrap();
        assert_eq!(u.agency.as_deref(), Some("DPD"));
        assert_eq!(u.assignments, vec!["P9"]);
        assert_eq!(s.users().await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn dashboard_settings_and_milestones() {
        let (s, _d) = store().await;
        assert_eq!(
            s.setting("dashboard.status").await.unwrap().as_deref(),
            Some("in_progress")
        );
        s.set_setting("dashboard.status", "on_hold").await.unwrap();
        assert_eq!(
            s.setting("dashboard.status").await.unwrap().as_deref(),
            Some("on_hold")
        );
        assert!(s.setting("nope").await.unwrap().is_none());
        let m = s.milestones().await.unwrap();
        assert!(m.iter().any(|m| m.section == "done"));
        s.set_milestones("next", &["a".into(), "b".into()])
            .await
            .unwrap();
        let next: Vec<_> = s
            .milestones()
            .await
            .unwrap()
            .into_iter()
            .filter(|m| m.section == "next")
            .map(|m| m.text)
            .collect();
        assert_eq!(next, vec!["a", "b"]);
        assert!(s.set_milestones("bogus", &[]).await.is_err());
        assert!(s.ingest_files().await.unwrap().is_empty());
    }
}
