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
//!
//! The same format, under its own magic (`FAMCCH1\n`), seals the working files Familiar keeps
//! beside the store (the analysis snapshot): [`write_sealed_file`], [`read_sealed_file`]. The
//! magic is bound into every chunk, so neither kind opens as the other.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

use aes_gcm::aead::rand_core::RngCore;
use aes_gcm::aead::{AeadInPlace, KeyInit, OsRng};
use aes_gcm::{Aes256Gcm, Nonce, Tag};

use crate::seal::Key;
use crate::{Result, StoreError};

/// What a sealed file holds: the magic it starts with (bound into every chunk) and the word
/// its errors use.
#[derive(Clone, Copy)]
pub(crate) struct Kind {
    magic: &'static [u8; 8],
    noun: &'static str,
}

pub(crate) const BACKUP: Kind = Kind {
    magic: b"FAMBAK1\n",
    noun: "backup",
};
const CACHE: Kind = Kind {
    magic: b"FAMCCH1\n",
    noun: "sealed working file",
};
/// Plaintext bytes per chunk.
pub(crate) const CHUNK: usize = if cfg!(test) { 4096 } else { 1 << 20 };
const TAG: usize = 16;

fn io_err(what: &str, path: &Path, e: std::io::Error) -> StoreError {
    StoreError::Backup(format!("{what} {}: {e}", path.display()))
}

fn aad(kind: Kind, file_id: &[u8; 8], n: u32, last: bool) -> [u8; 21] {
    let mut a = [0u8; 21];
    a[..8].copy_from_slice(kind.magic);
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
    let mut r = BufReader::new(File::open(plain).map_err(|e| io_err("cannot read", plain, e))?);
    let (w, written) = seal_stream(BACKUP, key, &mut r, plain, BufWriter::new(out))?;
    let f = w
        .into_inner()
        .map_err(|e| StoreError::Backup(format!("cannot write the backup: {}", e.error())))?;
    f.sync_all()
        .map_err(|e| StoreError::Backup(format!("cannot write the backup: {e}")))?;
    Ok(written)
}

/// Seal everything `r` (read from `from`, for errors) yields into `w`; returns `w` and the
/// bytes written.
fn seal_stream<W: Write>(
    kind: Kind,
    key: &Key,
    r: &mut impl Read,
    from: &Path,
    mut w: W,
) -> Result<(W, u64)> {
    let cipher = Aes256Gcm::new(key.into());
    let mut file_id = [0u8; 8];
    OsRng.fill_bytes(&mut file_id);
    let werr =
        |e: std::io::Error| StoreError::Backup(format!("cannot write the {}: {e}", kind.noun));
    w.write_all(kind.magic).map_err(werr)?;
    w.write_all(&file_id).map_err(werr)?;
    let mut written = (kind.magic.len() + file_id.len()) as u64;
    // one chunk read ahead, so the last one is known when it is sealed
    let (mut cur, mut next) = (vec![0u8; CHUNK], vec![0u8; CHUNK]);
    let mut cur_len = fill(r, &mut cur).map_err(|e| io_err("cannot read", from, e))?;
    let mut n: u32 = 0;
    loop {
        let next_len = if cur_len == CHUNK {
            fill(r, &mut next).map_err(|e| io_err("cannot read", from, e))?
        } else {
            0
        };
        let last = next_len == 0;
        let body = &mut cur[..cur_len];
        let tag = cipher
            .encrypt_in_place_detached(
                Nonce::from_slice(&nonce(&file_id, n)),
                &aad(kind, &file_id, n, last),
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
        n = n.checked_add(1).ok_or_else(|| {
            StoreError::Backup(format!("{} is too large to seal", from.display()))
        })?;
        std::mem::swap(&mut cur, &mut next);
        cur_len = next_len;
    }
    Ok((w, written))
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
    let mut r = BufReader::new(File::open(sealed).map_err(|e| io_err("cannot read", sealed, e))?);
    let mut w = BufWriter::new(create_private(out)?);
    open_stream(BACKUP, key, &mut r, sealed, &mut w, out)?;
    let werr = |e| io_err("cannot write", out, e);
    let f = w.into_inner().map_err(|e| werr(e.into_error()))?;
    f.sync_all().map_err(werr)?;
    Ok(())
}

/// Open what `r` (the sealed file `sealed`) holds into `w` (`out`, for errors). Any chunk that
/// does not open, or an input that ends early, is an error.
fn open_stream(
    kind: Kind,
    key: &Key,
    r: &mut impl Read,
    sealed: &Path,
    w: &mut impl Write,
    out: &Path,
) -> Result<()> {
    let cipher = Aes256Gcm::new(key.into());
    let rerr = |e| io_err("cannot read", sealed, e);
    let not_ours = |why: &str| {
        StoreError::Backup(format!(
            "{} does not open with this key: {why} (another store's key, or the file was \
             altered or cut short)",
            sealed.display()
        ))
    };
    let mut head = [0u8; 16];
    if fill(r, &mut head).map_err(rerr)? != head.len() || &head[..8] != kind.magic {
        return Err(StoreError::Backup(format!(
            "{} is not a Familiar {}",
            sealed.display(),
            kind.noun
        )));
    }
    let file_id: [u8; 8] = head[8..].try_into().expect("8 bytes");
    let werr = |e| io_err("cannot write", out, e);
    let mut buf = vec![0u8; CHUNK + TAG];
    let mut n: u32 = 0;
    let mut len = [0u8; 4];
    if fill(r, &mut len).map_err(rerr)? != 4 {
        return Err(not_ours("it holds no chunk"));
    }
    loop {
        let size = u32::from_le_bytes(len) as usize;
        if size > CHUNK {
            return Err(not_ours("a chunk's length is out of range"));
        }
        if fill(r, &mut buf[..size + TAG]).map_err(rerr)? != size + TAG {
            return Err(not_ours("it ends inside a chunk"));
        }
        // the last chunk is the one the file ends after
        let ahead = fill(r, &mut len).map_err(rerr)?;
        if ahead != 0 && ahead != 4 {
            return Err(not_ours("it ends inside a chunk's length"));
        }
        let last = ahead == 0;
        let (body, tag) = buf[..size + TAG].split_at_mut(size);
        cipher
            .decrypt_in_place_detached(
                Nonce::from_slice(&nonce(&file_id, n)),
                &aad(kind, &file_id, n, last),
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
    Ok(())
}

/// Seal `parts`, one after the other, under `key` into a new file at `path` (created 0600,
/// never over an existing one, synced): a working file kept beside the store that names
/// people.
pub fn write_sealed_file(key: &Key, path: &Path, parts: &[&[u8]]) -> Result<u64> {
    let out = create_private(path)?;
    let mut r = parts
        .iter()
        .fold(Box::new(std::io::empty()) as Box<dyn Read + '_>, |r, p| {
            Box::new(r.chain(*p))
        });
    let (w, written) = seal_stream(CACHE, key, &mut r, path, BufWriter::new(out))?;
    let werr = |e| io_err("cannot write", path, e);
    let f = w.into_inner().map_err(|e| werr(e.into_error()))?;
    f.sync_all().map_err(werr)?;
    Ok(written)
}

/// The bytes a file written by [`write_sealed_file`] holds; an error when it does not open
/// with `key` whole.
pub fn read_sealed_file(key: &Key, path: &Path) -> Result<Vec<u8>> {
    let mut r = BufReader::new(File::open(path).map_err(|e| io_err("cannot read", path, e))?);
    let mut out = Vec::new();
    open_stream(CACHE, key, &mut r, path, &mut out, Path::new("memory"))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_working_file_round_trips_and_is_no_backup() {
        let dir = tempfile::tempdir().unwrap();
        let key = [3u8; 32];
        // several chunks (CHUNK is 4096 in tests), the last one short
        let plain: Vec<u8> = (0..3 * CHUNK + 17).map(|i| (i % 251) as u8).collect();
        let path = dir.path().join("t.sealed");
        let (a, b) = plain.split_at(CHUNK - 5);
        write_sealed_file(&key, &path, &[a, b]).unwrap();
        assert_eq!(read_sealed_file(&key, &path).unwrap(), plain);
        // never over an existing file
        assert!(write_sealed_file(&key, &path, &[b"x"]).is_err());
        // another key, a cut file, or the backup format: refused
        assert!(read_sealed_file(&[4u8; 32], &path).is_err());
        let sealed = std::fs::read(&path).unwrap();
        let cut = dir.path().join("cut.sealed");
        std::fs::write(&cut, &sealed[..sealed.len() - (4 + 17 + TAG)]).unwrap();
        assert!(read_sealed_file(&key, &cut).is_err());
        let restored = dir.path().join("restored.db");
        let e = open_file(&key, &path, &restored).unwrap_err().to_string();
        assert!(e.contains("is not a Familiar backup"), "{e}");
        assert!(!restored.exists());
        // and a backup does not open as a working file
        let bak = dir.path().join("b.fambak");
        let src = dir.path().join("plain.bin");
        std::fs::write(&src, &plain).unwrap();
        seal_file(&key, &src, create_private(&bak).unwrap()).unwrap();
        let e = read_sealed_file(&key, &bak).unwrap_err().to_string();
        assert!(e.contains("is not a Familiar sealed working file"), "{e}");
        open_file(&key, &bak, &restored).unwrap();
        assert_eq!(std::fs::read(&restored).unwrap(), plain);
    }
}
