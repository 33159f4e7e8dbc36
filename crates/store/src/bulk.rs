//! The ingest hot path: prepared single-row INSERTs stepped straight through SQLite's C API on
//! the connection sqlx holds for the ingest transaction.
//!
//! Why: sqlx builds an argument vector and round-trips a worker thread per statement; at a
//! million rows that overhead, not SQLite, was the bottleneck (≈28k rows/s). Prepared statements
//! bound in place run at SQLite's own speed. Everything here runs inside the caller's open
//! transaction, so atomicity is unchanged.

use std::ffi::{c_int, CStr, CString};
use std::ptr::{null_mut, NonNull};

use libsqlite3_sys as ffi;

use crate::row_seal::{RowSealer, SealedFields, Slot};
use crate::{NewRecord, Result, StoreError};

struct Stmt {
    db: *mut ffi::sqlite3,
    raw: *mut ffi::sqlite3_stmt,
}

fn sqlite_error(db: *mut ffi::sqlite3, doing: &str) -> StoreError {
    // SAFETY: db is a live connection; sqlite3_errmsg returns a NUL-terminated string it owns.
    let msg = unsafe { CStr::from_ptr(ffi::sqlite3_errmsg(db)) }
        .to_string_lossy()
        .into_owned();
    StoreError::Corrupt(format!("{doing}: {msg}"))
}

impl Stmt {
    fn prepare(db: *mut ffi::sqlite3, sql: &str) -> Result<Stmt> {
        let c = CString::new(sql).expect("SQL has no NUL");
        let mut raw = null_mut();
        // SAFETY: db is live; c is NUL-terminated; raw receives the statement.
        let rc = unsafe { ffi::sqlite3_prepare_v2(db, c.as_ptr(), -1, &mut raw, null_mut()) };
        if rc != ffi::SQLITE_OK {
            return Err(sqlite_error(db, "preparing an insert"));
        }
        Ok(Stmt { db, raw })
    }

    fn i64(&self, i: c_int, v: i64) {
        // SAFETY: raw is a prepared statement; the index is within its parameters.
        unsafe { ffi::sqlite3_bind_int64(self.raw, i, v) };
    }

    fn opt_i64(&self, i: c_int, v: Option<i64>) {
        match v {
            Some(v) => self.i64(i, v),
            None => self.null(i),
        }
    }

    fn null(&self, i: c_int) {
        // SAFETY: as above.
        unsafe { ffi::sqlite3_bind_null(self.raw, i) };
    }

    /// Binds borrowed text. SQLITE_STATIC is sound because every caller steps the statement
    /// before the borrowed row goes out of scope, and rebinds before the next step.
    fn text(&self, i: c_int, v: &str) {
        // SAFETY: v outlives the step that reads it (see above).
        unsafe {
            ffi::sqlite3_bind_text(
                self.raw,
                i,
                v.as_ptr().cast(),
                v.len() as c_int,
                ffi::SQLITE_STATIC(),
            )
        };
    }

    fn opt_text(&self, i: c_int, v: Option<&str>) {
        match v {
            Some(v) => self.text(i, v),
            None => self.null(i),
        }
    }

    fn blob(&self, i: c_int, v: &[u8]) {
        // SAFETY: as for text.
        unsafe {
            ffi::sqlite3_bind_blob(
                self.raw,
                i,
                v.as_ptr().cast(),
                v.len() as c_int,
                ffi::SQLITE_STATIC(),
            )
        };
    }

    fn run(&self, doing: &str) -> Result<()> {
        // SAFETY: raw is a prepared statement with all parameters bound.
        let rc = unsafe { ffi::sqlite3_step(self.raw) };
        // SAFETY: resetting a stepped statement is always allowed.
        unsafe { ffi::sqlite3_reset(self.raw) };
        if rc != ffi::SQLITE_DONE {
            return Err(sqlite_error(self.db, doing));
        }
        Ok(())
    }
}

impl Drop for Stmt {
    fn drop(&mut self) {
        // SAFETY: raw was returned by sqlite3_prepare_v2 and is finalized once.
        unsafe { ffi::sqlite3_finalize(self.raw) };
    }
}

/// Insert accepted rows (ids `first_id..`) into source_records and locations on `db`, which
/// must be inside an open transaction.
pub(crate) fn insert_records(
    db: NonNull<ffi::sqlite3>,
    rows: &[NewRecord<'_>],
    first_id: i64,
    seen_locations: &mut rustc_hash::FxHashSet<String>,
    sealer: &mut RowSealer,
) -> Result<()> {
    let db = db.as_ptr();
    let rec = Stmt::prepare(
        db,
        "INSERT INTO source_records (id, source, record_key, version, current, file_id, row_number, raw,
            agency, event_key, kind, start_utc, local_date, end_utc, location_key, location_raw, location_kind,
            call_type, disposition, units, role, needs, transported, part2,
            has_identity, first_name, middle_name, last_name, suffix, aliases, dob, sex, race, ethnicity, phone,
            address_key, address_raw, address_kind, agency_person_id, ssn_last4, incident_ref,
            sealed, identity_sealed)
         VALUES (?1, ?2, ?3, ?4, 1, ?5, ?6, ?7,
            ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23,
            ?24, NULL, NULL, NULL, NULL, NULL, NULL, ?25, ?26, ?27, NULL, NULL, NULL, ?28, NULL, NULL,
            ?29, 1, ?30)",
    )?;
    let supersede_id = Stmt::prepare(db, "UPDATE source_records SET current = 0 WHERE id = ?1")?;
    // Only for a row changed twice within one run (no id known yet): a scan, but rare.
    let supersede_key = Stmt::prepare(
        db,
        "UPDATE source_records SET current = 0 WHERE source = ?1 AND record_key = ?2 AND version < ?3",
    )?;
    let loc = Stmt::prepare(
        db,
        "INSERT INTO locations (key, number, street, city, zip, kind, example) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT(key) DO NOTHING",
    )?;
    let mut date = String::with_capacity(10);
    // sealed values, bound until the row is stepped (see `Stmt::blob`)
    let (mut raw, mut fields, mut identity) = (Vec::new(), Vec::new(), Vec::new());
    let mut scratch = String::new();
    for (i, r) in rows.iter().enumerate() {
        let id = first_id + i as i64;
        let n = r.record;
        rec.i64(1, id);
        rec.text(2, &n.source);
        rec.text(3, &n.record_key);
        rec.i64(4, r.version);
        rec.i64(5, r.file_id);
        rec.i64(6, r.row_number as i64);
        sealer.seal_into(r.raw, Slot::Raw(id), &mut raw);
        rec.blob(7, &raw);
        if r.version > 1 {
            match r.supersedes {
                Some(old) => {
                    supersede_id.i64(1, old);
                    supersede_id.run("superseding an earlier version")?;
                }
                None => {
                    supersede_key.text(1, &n.source);
                    supersede_key.text(2, &n.record_key);
                    supersede_key.i64(3, r.version);
                    supersede_key.run("superseding an earlier version")?;
                }
            }
        }

        date.clear();
        push_iso_date(n.local_date, &mut date);
        rec.text(8, &n.agency);
        // Most sources key rows by their event: stored once, the view fills it back in.
        rec.opt_text(
            9,
            (n.event_key != n.record_key).then_some(n.event_key.as_str()),
        );
        rec.text(10, n.kind.as_str());
        rec.i64(11, n.start.timestamp());
        rec.text(12, &date);
        rec.opt_i64(13, n.end.map(|e| e.timestamp()));
        rec.opt_text(14, n.location.as_ref().map(|l| l.key.as_str()));
        rec.opt_text(15, n.location.as_ref().map(|l| l.raw.as_str()));
        rec.opt_text(16, n.location.as_ref().map(|l| l.kind.as_str()));
        rec.opt_text(17, n.call_type.as_deref());
        rec.opt_text(18, n.disposition.as_deref());
        rec.opt_text(19, n.units.as_deref());
        rec.text(20, n.role.as_str());
        rec.i64(21, i64::from(n.needs.bits()));
        rec.opt_i64(22, n.transported.map(i64::from));
        rec.i64(23, i64::from(n.part2));
        let none = familiar_model::SourceIdentity::default();
        let p = n.identity.as_ref().unwrap_or(&none);
        rec.i64(24, i64::from(n.identity.is_some()));
        rec.opt_text(25, p.sex.as_deref());
        rec.opt_text(26, p.race.as_deref());
        rec.opt_text(27, p.ethnicity.as_deref());
        rec.opt_text(28, p.address.as_ref().map(|a| a.kind.as_str()));
        rec.opt_text(29, n.incident_ref.as_deref());
        match &n.identity {
            Some(p) => {
                SealedFields::encode_identity(p, &mut fields, &mut scratch);
                sealer.seal_into(&fields, Slot::Identity(id), &mut identity);
                rec.blob(30, &identity);
            }
            None => rec.null(30),
        }
        rec.run("saving a source record")?;

        if let Some(l) = &n.location {
            // Each location is upserted once per run, not once per row that names it.
            if !l.key.is_empty() && !seen_locations.contains(l.key.as_str()) {
                seen_locations.insert(l.key.clone());
                loc.text(1, &l.key);
                loc.opt_text(2, l.number.as_deref());
                loc.opt_text(3, l.street.as_deref());
                loc.opt_text(4, l.city.as_deref());
                loc.opt_text(5, l.zip.as_deref());
                loc.text(6, l.kind.as_str());
                loc.text(7, &l.raw);
                loc.run("saving a location")?;
            }
        }
    }
    Ok(())
}

/// `YYYY-MM-DD` (as chrono's `%Y-%m-%d`) without the formatting machinery: once per row on
/// the writer thread.
fn push_iso_date(d: chrono::NaiveDate, out: &mut String) {
    use chrono::Datelike;
    let (y, m, day) = (d.year(), d.month(), d.day());
    if !(0..=9999).contains(&y) {
        use std::fmt::Write;
        let _ = write!(out, "{}", d.format("%Y-%m-%d"));
        return;
    }
    let digits = [
        b'0' + (y / 1000) as u8,
        b'0' + (y / 100 % 10) as u8,
        b'0' + (y / 10 % 10) as u8,
        b'0' + (y % 10) as u8,
        b'-',
        b'0' + (m / 10) as u8,
        b'0' + (m % 10) as u8,
        b'-',
        b'0' + (day / 10) as u8,
        b'0' + (day % 10) as u8,
    ];
    out.push_str(std::str::from_utf8(&digits).expect("ASCII digits"));
}

/// The newest version and content hash of every current row key of `source` among rows with
/// ids in each of `ranges` (`[from, to)`), read with one prepared range scan per range (a
/// million keys through sqlx's row decoding took seconds). The hash is not stored: it is the
/// SHA-256 of the stored bytes, computed here.
pub(crate) fn known_versions(
    db: NonNull<ffi::sqlite3>,
    source: &str,
    ranges: &[(i64, i64)],
    sealer: &mut RowSealer,
) -> Result<crate::KnownKeys> {
    let db = db.as_ptr();
    let st = Stmt::prepare(
        db,
        "SELECT record_key, version, raw, id, sealed FROM source_records
         WHERE id >= ?2 AND id < ?3 AND source = ?1 AND current = 1",
    )?;
    let mut out = crate::KnownKeys::default();
    for &(from, to) in ranges {
        st.text(1, source);
        st.i64(2, from);
        st.i64(3, to);
        read_known(&st, &mut out, sealer)?;
    }
    Ok(out)
}

fn read_known(st: &Stmt, out: &mut crate::KnownKeys, sealer: &mut RowSealer) -> Result<()> {
    let db = st.db;
    loop {
        // SAFETY: st is prepared and bound; column accessors are valid while the row is current.
        let rc = unsafe { ffi::sqlite3_step(st.raw) };
        if rc == ffi::SQLITE_DONE {
            break;
        }
        if rc != ffi::SQLITE_ROW {
            unsafe { ffi::sqlite3_reset(st.raw) };
            return Err(sqlite_error(db, "reading known row keys"));
        }
        let (key, version, hash, id) = unsafe {
            let kp = ffi::sqlite3_column_text(st.raw, 0);
            let kn = ffi::sqlite3_column_bytes(st.raw, 0) as usize;
            let key = std::str::from_utf8(std::slice::from_raw_parts(kp, kn))
                .map_err(|_| StoreError::Corrupt("a record key is not UTF-8".into()))?
                .to_string();
            let version = ffi::sqlite3_column_int64(st.raw, 1);
            let rp = ffi::sqlite3_column_blob(st.raw, 2) as *const u8;
            let rn = ffi::sqlite3_column_bytes(st.raw, 2) as usize;
            let stored: &[u8] = if rp.is_null() {
                &[]
            } else {
                std::slice::from_raw_parts(rp, rn)
            };
            let id = ffi::sqlite3_column_int64(st.raw, 3);
            // the hash is of the row as read, so a sealed row is opened first
            let hash = if ffi::sqlite3_column_int64(st.raw, 4) == 1 {
                let plain = sealer.open(stored, Slot::Raw(id)).ok_or_else(|| {
                    ffi::sqlite3_reset(st.raw);
                    crate::row_seal::does_not_open(id)
                })?;
                familiar_model::raw::content_hash(&plain)
            } else {
                familiar_model::raw::content_hash(stored)
            };
            (key, version, hash, id)
        };
        out.insert(
            key,
            crate::KnownVersion {
                version,
                content_hash: hash,
                record_id: Some(id),
            },
        );
    }
    // SAFETY: done stepping.
    unsafe { ffi::sqlite3_reset(st.raw) };
    Ok(())
}

/// Every current interaction row with its person, in record order: the snapshot's input,
/// read through the C API for the reason above (sqlx decoded a county's 1.2M rows in ≈ 13 s;
/// SQLite itself reads them in ≈ 1.5 s).
pub(crate) fn interaction_rows(db: NonNull<ffi::sqlite3>) -> Result<Vec<crate::InteractionRow>> {
    let db = db.as_ptr();
    let st = Stmt::prepare(
        db,
        "SELECT i.record_id, i.agency, i.source, i.event_key, i.kind, i.start_utc,
                i.local_date, i.end_utc, i.location_key, i.location_raw, i.location_kind,
                i.call_type, i.disposition, i.role, i.needs, i.transported, i.part2,
                pl.person_id, i.incident_ref
         FROM interactions i
         LEFT JOIN person_links pl ON pl.record_id = i.record_id
         WHERE i.current = 1
         ORDER BY i.record_id",
    )?;
    let raw = st.raw;
    // SAFETY (all three): raw has a current row; column indexes are within the select list;
    // the text pointer is valid until the next step and is copied here.
    let text = |c: c_int| -> Result<Option<String>> {
        unsafe {
            if ffi::sqlite3_column_type(raw, c) == ffi::SQLITE_NULL {
                return Ok(None);
            }
            let p = ffi::sqlite3_column_text(raw, c);
            let n = ffi::sqlite3_column_bytes(raw, c) as usize;
            if p.is_null() {
                return Ok(Some(String::new()));
            }
            std::str::from_utf8(std::slice::from_raw_parts(p, n))
                .map(|s| Some(s.to_string()))
                .map_err(|_| {
                    StoreError::Corrupt(format!("column {c} of an interaction is not UTF-8"))
                })
        }
    };
    let int = |c: c_int| -> Option<i64> {
        unsafe {
            (ffi::sqlite3_column_type(raw, c) != ffi::SQLITE_NULL)
                .then(|| ffi::sqlite3_column_int64(raw, c))
        }
    };
    let need = |v: Option<String>, what: &str| {
        v.ok_or_else(|| StoreError::Corrupt(format!("an interaction has no {what}")))
    };
    let mut out = Vec::new();
    loop {
        // SAFETY: raw is prepared (no parameters).
        let rc = unsafe { ffi::sqlite3_step(raw) };
        if rc == ffi::SQLITE_DONE {
            break;
        }
        if rc != ffi::SQLITE_ROW {
            return Err(sqlite_error(db, "reading interactions"));
        }
        let d = need(text(6)?, "local_date")?;
        let local_date = chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d")
            .map_err(|_| StoreError::Corrupt(format!("bad local_date {d:?}")))?;
        out.push(crate::InteractionRow {
            record_id: int(0).unwrap_or_default(),
            agency: need(text(1)?, "agency")?,
            source: need(text(2)?, "source")?,
            event_key: need(text(3)?, "event_key")?,
            kind: need(text(4)?, "kind")?,
            start_utc: int(5).unwrap_or_default(),
            local_date,
            end_utc: int(7),
            location_key: text(8)?,
            location_raw: text(9)?,
            location_kind: text(10)?,
            call_type: text(11)?,
            disposition: text(12)?,
            role: need(text(13)?, "role")?,
            needs: int(14).unwrap_or_default() as u8,
            transported: int(15).map(|t| t != 0),
            part2: int(16).unwrap_or_default() != 0,
            person_id: text(17)?,
            incident_ref: text(18)?,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::push_iso_date;
    use chrono::NaiveDate;

    #[test]
    fn iso_dates_match_chrono() {
        for (y, m, d) in [
            (2025, 1, 9),
            (1999, 12, 31),
            (7, 3, 4),
            (0, 1, 1),
            (9999, 12, 31),
        ] {
            let date = NaiveDate::from_ymd_opt(y, m, d).unwrap();
            let mut s = String::new();
            push_iso_date(date, &mut s);
            assert_eq!(s, date.format("%Y-%m-%d").to_string());
        }
        for y in [-1, 10000, 262000] {
            let date = NaiveDate::from_ymd_opt(y, 6, 1).unwrap();
            let mut s = String::new();
            push_iso_date(date, &mut s);
            assert_eq!(s, date.format("%Y-%m-%d").to_string());
        }
    }
}
