//! The manifest store: every manifest this installation signed, keyed by its soft binding (the
//! watermark payload), so that credentials stripped from a copy can be recovered from the
//! watermark the copy still carries.
//!
//! SQLite in WAL mode with synchronous=FULL: a record is on disk when `record` returns, and a
//! crash never leaves a half-written one. Lookups mirror the C2PA soft-binding resolution API
//! (`matches/byBinding` → manifest ids, `manifests/{id}` → manifest bytes), so a server can expose
//! the same store later.
//!
//! ```
//! use candor_store::{ManifestStore, NewRecord};
//! let dir = tempfile::tempdir().unwrap();
//! let store = ManifestStore::open(&dir.path().join("m.db")).unwrap();
//! let id = store.record(&NewRecord {
//!     manifest_label: "urn:c2pa:1".into(), alg: "org.candor.latent-watermark.v1".into(),
//!     binding: vec![1, 2, 3], manifest: vec![0u8; 10], asset: "clip.mp4".into(),
//!     metadata: serde_json::json!({"prompt": "a red circle"}),
//! }).unwrap();
//! assert_eq!(store.by_binding("org.candor.latent-watermark.v1", &[1, 2, 3]).unwrap()[0].id, id);
//! ```
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

/// Store errors.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("manifest store {path}: {source}")]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("manifest store {path}: {reason}")]
    Io { path: PathBuf, reason: String },
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// What `record` stores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewRecord {
    /// The manifest's label (its URN).
    pub manifest_label: String,
    /// Soft-binding algorithm name.
    pub alg: String,
    /// Soft-binding value (the watermark payload bytes).
    pub binding: Vec<u8>,
    /// The signed C2PA manifest store bytes (JUMBF).
    pub manifest: Vec<u8>,
    /// Where the asset was written.
    pub asset: String,
    /// Free-form facts (model, prompt, seed, frames…).
    pub metadata: serde_json::Value,
}

/// A stored manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredManifest {
    pub id: i64,
    pub manifest_label: String,
    pub alg: String,
    /// Soft-binding value, hex.
    pub binding_hex: String,
    pub asset: String,
    pub created: String,
    pub metadata: serde_json::Value,
    #[serde(skip)]
    pub manifest: Vec<u8>,
    pub manifest_bytes: usize,
}

/// The store.
#[derive(Debug)]
pub struct ManifestStore {
    path: PathBuf,
    conn: Connection,
}

/// Default location: `$CANDOR_STORE`, else `$XDG_DATA_HOME/candor/manifests.db`, else
/// `~/.local/share/candor/manifests.db`.
pub fn default_path() -> PathBuf {
    if let Some(p) = std::env::var_os("CANDOR_STORE") {
        return PathBuf::from(p);
    }
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("candor/manifests.db")
}

impl ManifestStore {
    /// Opens (creating if needed) the store at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Io {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?;
        }
        let sql = |source| StoreError::Sqlite {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open(path).map_err(sql)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(sql)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(sql)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(sql)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS manifests (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                manifest_label TEXT NOT NULL,
                alg TEXT NOT NULL,
                binding BLOB NOT NULL,
                manifest BLOB NOT NULL,
                asset TEXT NOT NULL,
                created TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
                metadata TEXT NOT NULL
            );
            CREATE INDEX IF NOT EXISTS manifests_by_binding ON manifests (alg, binding);",
        )
        .map_err(sql)?;
        Ok(Self {
            path: path.to_path_buf(),
            conn,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn sql(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    /// Records a signed manifest; durable when this returns. Returns its id.
    pub fn record(&self, record: &NewRecord) -> Result<i64> {
        self.conn
            .execute(
                "INSERT INTO manifests (manifest_label, alg, binding, manifest, asset, metadata)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    record.manifest_label,
                    record.alg,
                    record.binding,
                    record.manifest,
                    record.asset,
                    record.metadata.to_string()
                ],
            )
            .map_err(|e| self.sql(e))?;
        Ok(self.conn.last_insert_rowid())
    }

    fn row(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredManifest> {
        let binding: Vec<u8> = row.get(3)?;
        let manifest: Vec<u8> = row.get(4)?;
        let metadata: String = row.get(7)?;
        Ok(StoredManifest {
            id: row.get(0)?,
            manifest_label: row.get(1)?,
            alg: row.get(2)?,
            binding_hex: hex::encode(&binding),
            manifest_bytes: manifest.len(),
            manifest,
            asset: row.get(5)?,
            created: row.get(6)?,
            metadata: serde_json::from_str(&metadata).unwrap_or(serde_json::Value::Null),
        })
    }

    const COLUMNS: &'static str =
        "id, manifest_label, alg, binding, manifest, asset, created, metadata";

    /// `matches/byBinding`: manifests whose soft binding is `(alg, value)`, newest first.
    pub fn by_binding(&self, alg: &str, value: &[u8]) -> Result<Vec<StoredManifest>> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {} FROM manifests WHERE alg = ?1 AND binding = ?2 ORDER BY id DESC",
                Self::COLUMNS
            ))
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map(params![alg, value], Self::row)
            .map_err(|e| self.sql(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.sql(e))
    }

    /// Every distinct soft-binding value recorded under `alg`: the candidates a faint watermark,
    /// too weak to decode its payload on its own, is compared with.
    pub fn bindings(&self, alg: &str) -> Result<Vec<Vec<u8>>> {
        let mut stmt = self
            .conn
            .prepare("SELECT DISTINCT binding FROM manifests WHERE alg = ?1")
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map(params![alg], |row| row.get::<_, Vec<u8>>(0))
            .map_err(|e| self.sql(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.sql(e))
    }

    /// `manifests/{id}`.
    pub fn manifest(&self, id: i64) -> Result<Option<StoredManifest>> {
        self.conn
            .query_row(
                &format!("SELECT {} FROM manifests WHERE id = ?1", Self::COLUMNS),
                params![id],
                Self::row,
            )
            .optional()
            .map_err(|e| self.sql(e))
    }

    /// The most recent `limit` manifests.
    pub fn list(&self, limit: usize) -> Result<Vec<StoredManifest>> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {} FROM manifests ORDER BY id DESC LIMIT ?1",
                Self::COLUMNS
            ))
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map(params![limit as i64], Self::row)
            .map_err(|e| self.sql(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.sql(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(binding: &[u8]) -> NewRecord {
        NewRecord {
            manifest_label: "urn:c2pa:test".into(),
            alg: "alg".into(),
            binding: binding.to_vec(),
            manifest: vec![7u8; 100],
            asset: "a.mp4".into(),
            metadata: serde_json::json!({"prompt": "p"}),
        }
    }

    #[test]
    fn records_survive_reopening_and_are_found_by_binding() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| StoreError::Io {
            path: ".".into(),
            reason: e.to_string(),
        })?;
        let path = dir.path().join("sub/m.db");
        let id = {
            let store = ManifestStore::open(&path)?;
            store.record(&record(&[1, 2]))?;
            store.record(&record(&[3, 4]))?
        };
        let store = ManifestStore::open(&path)?;
        let found = store.by_binding("alg", &[3, 4])?;
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].id, id);
        assert_eq!(found[0].binding_hex, "0304");
        assert_eq!(found[0].manifest, vec![7u8; 100]);
        assert!(store.by_binding("alg", &[9])?.is_empty());
        assert!(store.by_binding("other", &[3, 4])?.is_empty());
        assert_eq!(
            store.manifest(id)?.map(|m| m.metadata["prompt"].clone()),
            Some(serde_json::json!("p"))
        );
        assert!(store.manifest(999)?.is_none());
        assert_eq!(store.list(10)?.len(), 2);
        store.record(&record(&[3, 4]))?;
        let mut bindings = store.bindings("alg")?;
        bindings.sort();
        assert_eq!(bindings, vec![vec![1, 2], vec![3, 4]]);
        assert!(store.bindings("other")?.is_empty());
        Ok(())
    }

    #[test]
    fn a_corrupt_file_is_an_error() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| StoreError::Io {
            path: ".".into(),
            reason: e.to_string(),
        })?;
        let path = dir.path().join("bad.db");
        std::fs::write(
            &path,
            b"this is not a database, just text padding it out to a page",
        )
        .map_err(|e| StoreError::Io {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        assert!(ManifestStore::open(&path).is_err());
        Ok(())
    }
}
