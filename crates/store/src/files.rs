//! Files beside the store (key files, backup and snapshot working copies, exports): made
//! private, never over an existing file, named and synced one way.

use std::fs::File;
use std::path::{Path, PathBuf};

use aes_gcm::aead::rand_core::RngCore;
use aes_gcm::aead::OsRng;

/// `<path><suffix>` (`f.db` + `.key` → `f.db.key`).
pub(crate) fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// `n` random bytes as lower-case hex.
pub(crate) fn random_hex(n: usize) -> String {
    let mut tag = vec![0u8; n];
    OsRng.fill_bytes(&mut tag);
    tag.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new file for the owner only (0600); an existing file (or a planted link) is an error.
pub fn create_private(path: &Path) -> std::io::Result<File> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o.open(path)
}

/// Sync the folder holding `path`, so a file just linked or renamed there stays after a crash.
pub(crate) fn sync_dir(path: &Path) {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
}

/// A temporary path beside `beside` (the same folder: the same disk and protection, and a
/// link into place stays on one file system): `<name>.tmp-<random>`.
pub fn temp_beside(beside: &Path) -> PathBuf {
    with_suffix(beside, &format!(".tmp-{}", random_hex(8)))
}

/// Temporary copies of `beside` (see [`temp_beside`]) that a process which died left next to
/// it: of the store by a backup or restore, of its snapshot folder by a snapshot write.
pub fn leftover_copies(beside: &Path) -> Vec<PathBuf> {
    let (Some(dir), Some(name)) = (beside.parent(), beside.file_name()) else {
        return Vec::new();
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let prefix = format!("{}.tmp-", name.to_string_lossy());
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .map(|e| e.path())
        .collect()
}
