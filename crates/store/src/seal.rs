//! The deployment key, and the TOTP secrets of web accounts sealed under it. Source rows are
//! sealed under the same key ([`crate::row_seal`]).
//!
//! A TOTP secret is what a second factor proves; stored in the clear, a copy of the database (a
//! backup, a laptop) would be enough to produce every user's codes. Each secret is sealed with
//! AES-256-GCM (what the CJIS Security Policy asks for data at rest) under a deployment key,
//! bound to its user name, and stored as `aes256gcm:` + hex(nonce ‖ ciphertext ‖ tag).
//!
//! **The key** is `FAMILIAR_SECRET_KEY` (64 hex digits) when set, else the file `<db>.key` beside
//! the store (64 hex digits, mode 0600). The store keeps a *key check* (a constant sealed under
//! the key, in `settings`), so a key that is not the store's is refused instead of silently
//! sealing new secrets under a second key:
//! - the first value sealed creates the key file if there is no key and no check yet (the first
//!   ingest, or the first account: `familiar ingest`, `user`, `serve`, `demo`);
//! - once a check exists, a missing key is an error naming where it was looked for, never a new
//!   key; so is a key that does not open the check;
//! - moving to the environment variable means setting it to the key file's contents.
//!
//! Keep the key out of the store's backups, and back it up apart from them: a lost key cannot be
//! recovered, and the source rows sealed under it are lost with it. While no source row is
//! sealed, `familiar user new-key` starts a new key (every account's secret becomes unusable
//! and the old key file is kept aside), then `familiar user reset NAME` gives each account a
//! new secret; once rows are sealed it is refused. Values without
//! a prefix are secrets stored before sealing: they still read, and
//! [`crate::SqliteStore::seal_plain_secrets`] seals them.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::Aes256Gcm;

use crate::{Result, StoreError};

pub(crate) const PREFIX: &str = "aes256gcm:";
/// Sealed by a development build of session 5 that never shipped: refused with advice.
const DEV_PREFIX: &str = "sealed1:";
/// The environment variable holding the key.
pub const KEY_VAR: &str = "FAMILIAR_SECRET_KEY";
/// The `settings` key of the key check.
pub(crate) const CHECK_SETTING: &str = "secret_key.check";
const CHECK_PLAIN: &str = "familiar key check";
const CHECK_CONTEXT: &str = "familiar/key-check/v1";

/// A deployment key (AES-256).
pub type Key = [u8; 32];

/// Where the key comes from, and the key once checked against the store.
pub(crate) struct Sealer {
    /// `<db>.key`; None for an in-memory store (its key lives in memory only).
    file: Option<PathBuf>,
    checked: Mutex<Option<Key>>,
    /// In-memory stores: the key, with no file behind it.
    ephemeral: Option<Key>,
    /// Whether `FAMILIAR_SECRET_KEY` is read (off only in tests of the key file, which must not
    /// depend on the environment they run in).
    from_env: bool,
    /// Held while the key is looked up, made or checked, so two tasks of one process never
    /// make two keys.
    pub(crate) deciding: tokio::sync::Mutex<()>,
}

fn key_error(what: String) -> StoreError {
    StoreError::Key(what)
}

impl Sealer {
    pub fn for_database(db: &Path) -> Self {
        Sealer {
            file: Some(key_file_for(db)),
            checked: Mutex::new(None),
            ephemeral: None,
            from_env: true,
            deciding: tokio::sync::Mutex::new(()),
        }
    }

    /// As [`Sealer::for_database`], with the key file only.
    #[cfg(test)]
    pub(crate) fn key_file_only(db: &Path) -> Self {
        Sealer {
            from_env: false,
            ..Self::for_database(db)
        }
    }

    /// A key that exists only in this process (in-memory stores, tests).
    pub fn ephemeral() -> Self {
        Sealer {
            file: None,
            checked: Mutex::new(None),
            ephemeral: Some(Aes256Gcm::generate_key(&mut OsRng).into()),
            from_env: false,
            deciding: tokio::sync::Mutex::new(()),
        }
    }

    /// Where the key is looked for, for messages.
    pub fn where_looked(&self) -> String {
        match &self.file {
            Some(f) => format!("${KEY_VAR} or {}", f.display()),
            None => format!("${KEY_VAR}"),
        }
    }

    /// The key already checked against this store, if any.
    pub fn checked(&self) -> Option<Key> {
        *self.checked.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn remember(&self, key: Key) {
        *self.checked.lock().unwrap_or_else(|e| e.into_inner()) = Some(key);
    }

    /// The key from the environment or the key file, if there is one (not yet checked).
    pub fn load(&self) -> Result<Option<Key>> {
        if let Some(k) = self.ephemeral {
            return Ok(Some(k));
        }
        if let Some(v) = self.from_env.then(|| std::env::var(KEY_VAR).ok()).flatten() {
            return parse_key(&v)
                .map(Some)
                .ok_or_else(|| key_error(format!("${KEY_VAR} is not 64 hex digits")));
        }
        let Some(file) = &self.file else {
            return Ok(None);
        };
        match std::fs::read_to_string(file) {
            Ok(text) => {
                check_mode(file)?;
                parse_key(&text).map(Some).ok_or_else(|| {
                    key_error(format!(
                        "the key file {} is not 64 hex digits",
                        file.display()
                    ))
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(key_error(format!(
                "the key file {} cannot be read: {e}",
                file.display()
            ))),
        }
    }

    /// Create the key file with a new key (0600). Two processes racing get the same key: the
    /// file appears whole (a hard link of a synced temporary file) or not at all, and the loser
    /// reads the winner's.
    pub fn create(&self) -> Result<Key> {
        let Some(file) = &self.file else {
            return self
                .ephemeral
                .ok_or_else(|| key_error("no key and nowhere to keep one".into()));
        };
        let key: Key = Aes256Gcm::generate_key(&mut OsRng).into();
        let cant = |e: std::io::Error| {
            key_error(format!(
                "the key file {} cannot be written: {e}",
                file.display()
            ))
        };
        // a fresh temporary name (create_new: never an existing file or a planted link)
        let tmp = loop {
            let path = crate::files::temp_beside(file);
            match write_private(&path, &key) {
                Ok(()) => break path,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => {
                    let _ = std::fs::remove_file(&path);
                    return Err(cant(e));
                }
            }
        };
        let linked = std::fs::hard_link(&tmp, file);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => {
                crate::files::sync_dir(file);
                Ok(key)
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => self
                .load()?
                .ok_or_else(|| key_error(format!("the key file {} vanished", file.display()))),
            Err(e) => Err(cant(e)),
        }
    }
    /// `<db>.key.next`: where a key rotation keeps the new key until the store is re-sealed
    /// under it. None for an in-memory store.
    pub fn next_file(&self) -> Option<PathBuf> {
        self.file
            .as_ref()
            .map(|f| crate::files::with_suffix(f, ".next"))
    }

    /// Whether the key in use comes from `FAMILIAR_SECRET_KEY`.
    pub fn key_in_env(&self) -> bool {
        self.ephemeral.is_none() && self.from_env && std::env::var_os(KEY_VAR).is_some()
    }

    /// Write a new key to [`Sealer::next_file`] (0600; never over an existing file).
    pub fn write_next(&self, key: &Key) -> Result<PathBuf> {
        let next = self
            .next_file()
            .ok_or_else(|| key_error("an in-memory store's key cannot be rotated".into()))?;
        write_private(&next, key).map_err(|e| {
            if e.kind() != std::io::ErrorKind::AlreadyExists {
                // a partly written file is no unfinished rotation
                let _ = std::fs::remove_file(&next);
            }
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                key_error(format!(
                    "{} exists: an earlier key rotation did not finish. If the store opens with \
                     that key, it is the store's key now: keep the old key aside, then move it \
                     to {}; otherwise delete it",
                    next.display(),
                    self.where_looked()
                ))
            } else {
                key_error(format!(
                    "the key file {} cannot be written: {e}",
                    next.display()
                ))
            }
        })?;
        crate::files::sync_dir(&next);
        Ok(next)
    }

    /// Make `next` the key file: the old one is kept as `<db>.key.retired-<time>-<random>` (a
    /// hard link, never over a file), then `next` replaces it in one rename, so there is
    /// always a key file. Returns (the key file, where the old key is, if there was one).
    pub fn install_next(&self, next: &Path) -> Result<(PathBuf, Option<PathBuf>)> {
        *self.checked.lock().unwrap_or_else(|e| e.into_inner()) = None;
        let file = self
            .file
            .as_ref()
            .ok_or_else(|| key_error("an in-memory store has no key file".into()))?;
        let retired = retired_name(file);
        let stuck = |what: String| {
            key_error(format!(
                "the store is sealed under the new key in {}, but {what}: keep the old {} \
                 aside first (backups taken before open with it only), then move the new key \
                 there by hand",
                next.display(),
                file.display()
            ))
        };
        let retired = match std::fs::hard_link(file, &retired) {
            Ok(()) => Some(retired),
            // no old key file (removed while the rotation ran): nothing to keep
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(stuck(format!("the old key cannot be kept aside ({e})"))),
        };
        std::fs::rename(next, file)
            .map_err(|e| stuck(format!("it cannot be moved into place ({e})")))?;
        crate::files::sync_dir(file);
        Ok((file.clone(), retired))
    }

    /// Move the key file aside (`<db>.key.retired-<unix time>`, kept, not deleted), so that the
    /// next secret sealed makes a new one; returns where it went.
    pub fn retire_file(&self) -> Result<Option<PathBuf>> {
        *self.checked.lock().unwrap_or_else(|e| e.into_inner()) = None;
        let Some(file) = &self.file else {
            return Ok(None);
        };
        if !file.exists() {
            return Ok(None);
        }
        let to = retired_name(file);
        std::fs::rename(file, &to).map_err(|e| {
            key_error(format!(
                "the key file {} cannot be moved aside: {e}",
                file.display()
            ))
        })?;
        Ok(Some(to))
    }
}

/// `<db>.key`: the key file of the store at `db`, when the key is not in the environment.
pub fn key_file_for(db: &Path) -> PathBuf {
    crate::files::with_suffix(db, ".key")
}

/// `<key file>.retired-<unix time>-<random>`: where an old key is kept (never over a file).
fn retired_name(file: &Path) -> PathBuf {
    crate::files::with_suffix(
        file,
        &format!(
            ".retired-{}-{}",
            chrono::Utc::now().timestamp(),
            crate::files::random_hex(4)
        ),
    )
}

/// The key in a key file (64 hex digits; the file must be the owner's only).
pub fn read_key_file(file: &Path) -> Result<Key> {
    let text = std::fs::read_to_string(file).map_err(|e| {
        key_error(format!(
            "the key file {} cannot be read: {e}",
            file.display()
        ))
    })?;
    check_mode(file)?;
    parse_key(&text).ok_or_else(|| {
        key_error(format!(
            "the key file {} is not 64 hex digits",
            file.display()
        ))
    })
}

/// The key in `FAMILIAR_SECRET_KEY`, if set.
pub fn key_from_env() -> Result<Option<Key>> {
    match std::env::var(KEY_VAR) {
        Ok(v) => parse_key(&v)
            .map(Some)
            .ok_or_else(|| key_error(format!("${KEY_VAR} is not 64 hex digits"))),
        Err(_) => Ok(None),
    }
}

/// Write `key` to `file` (0600), never over an existing file.
pub fn write_key_file(file: &Path, key: &Key) -> Result<()> {
    write_private(file, key).map_err(|e| {
        key_error(format!(
            "the key file {} cannot be written: {e}",
            file.display()
        ))
    })
}

/// Seal `plain` for `user` under `key`.
pub(crate) fn seal(key: &Key, plain: &str, user: &str) -> Result<String> {
    Ok(format!("{PREFIX}{}", seal_raw(key, plain, &aad(user))?))
}

/// The key check for `key`.
pub(crate) fn key_check(key: &Key) -> Result<String> {
    seal_raw(key, CHECK_PLAIN, CHECK_CONTEXT.as_bytes())
}

/// True when `key` is the one `check` was made with.
pub(crate) fn key_matches(key: &Key, check: &str) -> bool {
    open_raw(key, check, CHECK_CONTEXT.as_bytes()).as_deref() == Some(CHECK_PLAIN)
}

/// The secret a stored value holds for `user`: a sealed one opened with `key` (asked for only
/// when needed), an older plain one as it is.
pub(crate) fn open(
    stored: &str,
    user: &str,
    key: impl FnOnce() -> Result<Key>,
    where_looked: &str,
) -> Result<String> {
    if stored.starts_with(DEV_PREFIX) {
        return Err(key_error(format!(
            "the TOTP secret of {user:?} was sealed by a development build; `familiar user reset \
             {user}` issues a new one"
        )));
    }
    let Some(hex) = stored.strip_prefix(PREFIX) else {
        return Ok(stored.to_string());
    };
    let key = key()?;
    open_raw(&key, hex, &aad(user)).ok_or_else(|| {
        key_error(format!(
            "the TOTP secret of {user:?} does not open with the key from {where_looked} (damaged, \
             or copied from another account); `familiar user reset {user}` issues a new one"
        ))
    })
}

/// True for a value sealed by [`seal`].
pub(crate) fn is_sealed(stored: &str) -> bool {
    stored.starts_with(PREFIX) || stored.starts_with(DEV_PREFIX)
}

fn aad(user: &str) -> Vec<u8> {
    let mut a = b"familiar/totp-secret/v1/".to_vec();
    a.extend_from_slice(user.as_bytes());
    a
}

fn seal_raw(key: &Key, plain: &str, aad: &[u8]) -> Result<String> {
    let cipher = Aes256Gcm::new(key.into());
    let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
    let sealed = cipher
        .encrypt(
            &nonce,
            Payload {
                msg: plain.as_bytes(),
                aad,
            },
        )
        .map_err(|_| key_error("sealing a secret failed".into()))?;
    Ok(nonce
        .iter()
        .chain(&sealed)
        .map(|b| format!("{b:02x}"))
        .collect())
}

fn open_raw(key: &Key, hex: &str, aad: &[u8]) -> Option<String> {
    let bytes = decode_hex(hex).filter(|b| b.len() > 12)?;
    let (nonce, sealed) = bytes.split_at(12);
    let plain = Aes256Gcm::new(key.into())
        .decrypt(nonce.into(), Payload { msg: sealed, aad })
        .ok()?;
    String::from_utf8(plain).ok()
}

fn parse_key(text: &str) -> Option<Key> {
    decode_hex(text.trim())?.try_into().ok()
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

fn write_private(path: &Path, key: &Key) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = crate::files::create_private(path)?;
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    writeln!(f, "{hex}")?;
    f.sync_all()
}

/// A key file others can read is refused (`chmod 600` it).
fn check_mode(file: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(file)
            .map_err(|e| key_error(format!("the key file {}: {e}", file.display())))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(key_error(format!(
                "the key file {} can be read by others (mode {:o}): chmod 600 it",
                file.display(),
                mode & 0o777
            )));
        }
    }
    let _ = file;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_with_their_key_and_user_only() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("f.db");
        let s = Sealer::key_file_only(&db);
        assert_eq!(s.load().unwrap(), None, "no key until one is made");
        let key = s.create().unwrap();
        assert_eq!(s.load().unwrap(), Some(key));
        // a second creation (another process racing) gets the same key
        assert_eq!(Sealer::key_file_only(&db).create().unwrap(), key);
        let sealed = seal(&key, "JBSWY3DPEHPK3PXP", "ana").unwrap();
        assert!(is_sealed(&sealed) && !sealed.contains("JBSWY3DPEHPK3PXP"));
        assert_ne!(
            sealed,
            seal(&key, "JBSWY3DPEHPK3PXP", "ana").unwrap(),
            "fresh nonces"
        );
        let open_as = |user: &str, k: Key| open(&sealed, user, || Ok(k), "here");
        assert_eq!(open_as("ana", key).unwrap(), "JBSWY3DPEHPK3PXP");
        // copied to another account, or opened with another key: refused
        assert!(open_as("bob", key).is_err());
        let other: Key = Aes256Gcm::generate_key(&mut OsRng).into();
        let e = open_as("ana", other).unwrap_err().to_string();
        assert!(
            e.contains("does not open") && e.contains("familiar user reset ana"),
            "{e}"
        );
        // a plain value from before sealing reads as it is, without asking for the key
        let plain = open("OLDSECRET", "ana", || panic!("no key needed"), "here").unwrap();
        assert_eq!(plain, "OLDSECRET");
        // the key check tells the store's key from another
        let check = key_check(&key).unwrap();
        assert!(key_matches(&key, &check) && !key_matches(&other, &check));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let f = dir.path().join("f.db.key");
            assert_eq!(
                std::fs::metadata(&f).unwrap().permissions().mode() & 0o777,
                0o600
            );
            std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
            let e = s.load().unwrap_err().to_string();
            assert!(e.contains("chmod 600"), "{e}");
        }
    }
}
