//! Sealed backups: a consistent copy of the store, sealed whole under the store's key.
//!
//! The rows that name people are sealed inside the store already ([`crate::row_seal`]); a
//! backup seals the rest too (interactions, places, persons, the audit log), so a backup file
//! says nothing without the key. The copy is SQLite's `VACUUM INTO` (consistent while other
//! processes read, and without the free pages that may hold values from before sealing),
//! written to a private temporary file beside the database (on its protected disk, not the
//! backup's) and sealed from there.
//!
//! **Format**: `FAMBAK1\n`, a random 8-byte file id, then chunks of at most [`CHUNK`] bytes,
//! each `u32 length ‖ ciphertext ‖ tag`, sealed with AES-256-GCM under nonce `file id ‖ u32
//! chunk number` and bound to the header, the chunk number and whether it is the last: a
//! reordered, dropped, truncated or altered chunk, or a file cut short, does not open.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

use aes_gcm::aead::rand_core::RngCore;
use aes_gcm::aead::{AeadInPlace, KeyInit, OsRng};
use aes_gcm::{Aes256Gcm, Nonce, Tag};

use crate::seal::Key;
use crate::{Result, StoreError};

const MAGIC: &[u8; 8] = b"FAMBAK1\n";
/// Plaintext bytes per chunk.
pub(crate) const CHUNK: usize = if cfg!(test) { 4096 } else { 1 << 20 };
const TAG: usize = 16;

fn io_err(what: &str, path: &Path, e: std::io::Error) -> StoreError {
    StoreError::Backup(format!("{what} {}: {e}", path.display()))
}

fn aad(file_id: &[u8; 8], n: u32, last: bool) -> [u8; 21] {
    let mut a = [0u8; 21];
    a[..8].copy_from_slice(MAGIC);
    a[8..16].copy_from_slice(file_id);
    a[16..20].copy_from_slice(&n.to_be_bytes());
    a[20] = u8::from(last);
    a
}

fn nonce(file_id: &[u8; 8], n: u32) -> [u8; 12] {
    let mut v = [0u8; 12];
    v[..8].copy_from_slice(file_id);
    v[8..].copy_from_slice(&n.to_be_bytes());
    v
}

/// A file created for the owner only (0600), never over an existing one.
pub(crate) fn create_private(path: &Path) -> Result<File> {
    crate::files::create_private(path).map_err(|e| io_err("cannot create", path, e))
}

/// Read up to `buf.len()` bytes (fewer only at the end of the input).
fn fill(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Seal the file `plain` into `out` (a new, empty file); returns the bytes written.
pub(crate) fn seal_file(key: &Key, plain: &Path, out: File) -> Result<u64> {
    let cipher = Aes256Gcm::new(key.into());
    let mut file_id = [0u8; 8];
    OsRng.fill_bytes(&mut file_id);
    let mut r = BufReader::new(File::open(plain).map_err(|e| io_err("cannot read", plain, e))?);
    let mut w = BufWriter::new(out);
    let werr = |e: std::io::Error| StoreError::Backup(format!("cannot write the backup: {e}"));
    w.write_all(MAGIC).map_err(werr)?;
    w.write_all(&file_id).map_err(werr)?;
    let mut written = (MAGIC.len() + file_id.len()) as u64;
    // one chunk read ahead, so the last one is known when it is sealed
    let (mut cur, mut next) = (vec![0u8; CHUNK], vec![0u8; CHUNK]);
    let mut cur_len = fill(&mut r, &mut cur).map_err(|e| io_err("cannot read", plain, e))?;
    let mut n: u32 = 0;
    loop {
        let next_len = if cur_len == CHUNK {
            fill(&mut r, &mut next).map_err(|e| io_err("cannot read", plain, e))?
        } else {
            0
        };
        let last = next_len == 0;
        let body = &mut cur[..cur_len];
        let tag = cipher
            .encrypt_in_place_detached(
                Nonce::from_slice(&nonce(&file_id, n)),
                &aad(&file_id, n, last),
                body,
            )
            .map_err(|_| StoreError::Backup("sealing a chunk failed".into()))?;
        w.write_all(&(cur_len as u32).to_le_bytes()).map_err(werr)?;
        w.write_all(body).map_err(werr)?;
        w.write_all(&tag).map_err(werr)?;
        written += (4 + cur_len + TAG) as u64;
        if last {
            break;
        }
        n = n
            .checked_add(1)
            .ok_or_else(|| StoreError::Backup("the store is too large to back up".into()))?;
        std::mem::swap(&mut cur, &mut next);
        cur_len = next_len;
    }
    let f = w.into_inner().map_err(|e| werr(e.into_error()))?;
    f.sync_all().map_err(werr)?;
    Ok(written)
}

/// Open the sealed backup `sealed` into `out` (created, 0600). Any chunk that does not open,
/// or a file that ends early, is an error (and `out` is removed).
pub(crate) fn open_file(key: &Key, sealed: &Path, out: &Path) -> Result<()> {
    let result = open_file_inner(key, sealed, out);
    if result.is_err() {
        let _ = std::fs::remove_file(out);
    }
    result
}

fn open_file_inner(key: &Key, sealed: &Path, out: &Path) -> Result<()> {
    let cipher = Aes256Gcm::new(key.into());
    let mut r = BufReader::new(File::open(sealed).map_err(|e| io_err("cannot read", sealed, e))?);
    let rerr = |e| io_err("cannot read", sealed, e);
    let not_ours = |why: &str| {
        StoreError::Backup(format!(
            "{} does not open with this key: {why} (another store's key, or the file was \
             altered or cut short)",
            sealed.display()
        ))
    };
    let mut head = [0u8; 16];
    if fill(&mut r, &mut head).map_err(rerr)? != head.len() || &head[..8] != MAGIC {
        return Err(StoreError::Backup(format!(
            "{} is not a Familiar backup",
            sealed.display()
        )));
    }
    let file_id: [u8; 8] = head[8..].try_into().expect("8 bytes");
    let mut w = BufWriter::new(create_private(out)?);
    let werr = |e| io_err("cannot write", out, e);
    let mut buf = vec![0u8; CHUNK + TAG];
    let mut n: u32 = 0;
    let mut len = [0u8; 4];
    if fill(&mut r, &mut len).map_err(rerr)? != 4 {
        return Err(not_ours("it holds no chunk"));
    }
    loop {
        let size = u32::from_le_bytes(len) as usize;
        if size > CHUNK {
            return Err(not_ours("a chunk's length is out of range"));
        }
        if fill(&mut r, &mut buf[..size + TAG]).map_err(rerr)? != size + TAG {
            return Err(not_ours("it ends inside a chunk"));
        }
        // the last chunk is the one the file ends after
        let ahead = fill(&mut r, &mut len).map_err(rerr)?;
        if ahead != 0 && ahead != 4 {
            return Err(not_ours("it ends inside a chunk's length"));
        }
        let last = ahead == 0;
        let (body, tag) = buf[..size + TAG].split_at_mut(size);
        cipher
            .decrypt_in_place_detached(
                Nonce::from_slice(&nonce(&file_id, n)),
                &aad(&file_id, n, last),
                body,
                Tag::from_slice(tag),
            )
            .map_err(|_| not_ours(&format!("chunk {n} does not open")))?;
        w.write_all(body).map_err(werr)?;
        if last {
            break;
        }
        n = n
            .checked_add(1)
            .ok_or_else(|| not_ours("too many chunks"))?;
    }
    let f = w.into_inner().map_err(|e| werr(e.into_error()))?;
    f.sync_all().map_err(werr)?;
    Ok(())
}
