//! Secrets sealed at rest: the TOTP secrets of web accounts.
//!
//! A TOTP secret is what a second factor proves; stored in the clear, a copy of the database (a
//! backup, a laptop) would be enough to produce every user's codes. Each secret is sealed with
//! AES-256-GCM (what the CJIS Security Policy asks for data at rest) under a deployment key and
//! stored as `sealed1:` + hex(nonce ‖ ciphertext ‖ tag).
//!
//! The key is `FAMILIAR_SECRET_KEY` (64 hex digits) when set, else the file `<db>.key` beside
//! the store (64 hex digits), created with mode 0600 the first time a secret is sealed. Keep the
//! key file out of the store's backups, or set the variable from a secrets manager. A store
//! opened without the key it was sealed with refuses to read sealed secrets (the error says
//! where the key is looked for); `familiar user reset` issues new ones.
//!
//! Values without the prefix are secrets stored before sealing: they read as they are, and
//! [`crate::SqliteStore::open`] seals them.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::Aes256Gcm;

use crate::{Result, StoreError};

const PREFIX: &str = "sealed1:";
/// Binds a sealed value to its use: a sealed TOTP secret cannot be passed off as anything else.
const CONTEXT: &[u8] = b"familiar/totp-secret/v1";
/// The environment variable holding the key.
pub const KEY_VAR: &str = "FAMILIAR_SECRET_KEY";

/// Where the key comes from, and the key once loaded.
pub(crate) struct Sealer {
    /// `<db>.key`; None for an in-memory store (its key lives in memory only).
    file: Option<PathBuf>,
    key: Mutex<Option<[u8; 32]>>,
}

impl Sealer {
    pub fn for_database(db: &Path) -> Self {
        let mut name = db.as_os_str().to_owned();
        name.push(".key");
        Sealer {
            file: Some(PathBuf::from(name)),
            key: Mutex::new(None),
        }
    }

    /// A key that exists only in this process (in-memory stores, tests).
    pub fn ephemeral() -> Self {
        let key: [u8; 32] = Aes256Gcm::generate_key(&mut OsRng).into();
        Sealer {
            file: None,
            key: Mutex::new(Some(key)),
        }
    }

    fn where_looked(&self) -> String {
        match &self.file {
            Some(f) => format!("${KEY_VAR} or {}", f.display()),
            None => format!("${KEY_VAR}"),
        }
    }

    /// The key: loaded once; created (in the key file) only when `create`.
    fn key(&self, create: bool) -> Result<Option<[u8; 32]>> {
        let mut slot = self.key.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(k) = *slot {
            return Ok(Some(k));
        }
        let bad = |what: String| StoreError::Corrupt(format!("the secret key {what}"));
        if let Ok(v) = std::env::var(KEY_VAR) {
            let k =
                parse_key(&v).ok_or_else(|| bad(format!("in ${KEY_VAR} is not 64 hex digits")))?;
            *slot = Some(k);
            return Ok(Some(k));
        }
        let Some(file) = &self.file else {
            return Ok(None);
        };
        match std::fs::read_to_string(file) {
            Ok(text) => {
                let k = parse_key(&text)
                    .ok_or_else(|| bad(format!("file {} is not 64 hex digits", file.display())))?;
                *slot = Some(k);
                Ok(Some(k))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
                let k: [u8; 32] = Aes256Gcm::generate_key(&mut OsRng).into();
                write_key_file(file, &k)
                    .map_err(|e| bad(format!("file {} cannot be written: {e}", file.display())))?;
                *slot = Some(k);
                Ok(Some(k))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(bad(format!("file {} cannot be read: {e}", file.display()))),
        }
    }

    /// Seal `plain` (creating the key if there is none yet).
    pub fn seal(&self, plain: &str) -> Result<String> {
        let key = self.key(true)?.ok_or_else(|| {
            StoreError::Corrupt(format!("no secret key: set {}", self.where_looked()))
        })?;
        let cipher = Aes256Gcm::new(&key.into());
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let sealed = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plain.as_bytes(),
                    aad: CONTEXT,
                },
            )
            .map_err(|_| StoreError::Corrupt("sealing a secret failed".into()))?;
        let mut out = String::with_capacity(PREFIX.len() + 2 * (nonce.len() + sealed.len()));
        out.push_str(PREFIX);
        for b in nonce.iter().chain(&sealed) {
            out.push_str(&format!("{b:02x}"));
        }
        Ok(out)
    }

    /// The secret a stored value holds: a sealed one opened, an older plain one as it is.
    pub fn open(&self, stored: &str) -> Result<String> {
        let Some(hex) = stored.strip_prefix(PREFIX) else {
            return Ok(stored.to_string());
        };
        let refuse = |why: &str| {
            StoreError::Corrupt(format!(
                "a sealed TOTP secret {why} (the key is read from {}); `familiar user reset` \
                 issues a new one",
                self.where_looked()
            ))
        };
        let key = self
            .key(false)?
            .ok_or_else(|| refuse("cannot be opened: no key"))?;
        let bytes = decode_hex(hex)
            .filter(|b| b.len() > 12)
            .ok_or_else(|| refuse("is damaged"))?;
        let (nonce, sealed) = bytes.split_at(12);
        let plain = Aes256Gcm::new(&key.into())
            .decrypt(
                nonce.into(),
                Payload {
                    msg: sealed,
                    aad: CONTEXT,
                },
            )
            .map_err(|_| refuse("does not open with this key"))?;
        String::from_utf8(plain).map_err(|_| refuse("is damaged"))
    }
}

/// True for a value sealed by [`Sealer::seal`].
pub(crate) fn is_sealed(stored: &str) -> bool {
    stored.starts_with(PREFIX)
}

fn parse_key(text: &str) -> Option<[u8; 32]> {
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

fn write_key_file(path: &Path, key: &[u8; 32]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    writeln!(f, "{hex}")?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_with_their_key_only() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("f.db");
        let s = Sealer::for_database(&db);
        // nothing sealed yet: no key file
        assert!(!dir.path().join("f.db.key").exists());
        let sealed = s.seal("JBSWY3DPEHPK3PXP").unwrap();
        assert!(is_sealed(&sealed) && !sealed.contains("JBSWY3DPEHPK3PXP"));
        assert_ne!(
            sealed,
            s.seal("JBSWY3DPEHPK3PXP").unwrap(),
            "a fresh nonce each time"
        );
        assert_eq!(s.open(&sealed).unwrap(), "JBSWY3DPEHPK3PXP");
        // a plain value from before sealing reads as it is
        assert_eq!(s.open("OLDSECRET").unwrap(), "OLDSECRET");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("f.db.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // the same key file opens it again; another key, or none, does not
        assert_eq!(
            Sealer::for_database(&db).open(&sealed).unwrap(),
            "JBSWY3DPEHPK3PXP"
        );
        let e = Sealer::ephemeral().open(&sealed).unwrap_err().to_string();
        assert!(e.contains("does not open with this key"), "{e}");
        let other = Sealer::for_database(&dir.path().join("g.db"));
        let e = other.open(&sealed).unwrap_err().to_string();
        assert!(e.contains("no key") && e.contains("g.db.key"), "{e}");
        assert!(
            !dir.path().join("g.db.key").exists(),
            "opening never creates a key"
        );
        // a damaged value is refused
        let mut bad = sealed.clone();
        bad.pop();
        bad.push(if sealed.ends_with('0') { '1' } else { '0' });
        assert!(s.open(&bad).is_err());
    }
}
