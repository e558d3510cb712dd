//! SQLite backend: the embedded default for one machine.

use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension};

use crate::{
    join_scopes, split_scopes, Backend, NewRecord, NewToken, Result, StoreError, StoredManifest,
    TokenRecord,
};

/// Schema migrations, in order; `PRAGMA user_version` is the number applied.
const MIGRATIONS: &[&str] = &[
    // 1: the manifests table (stores made before versioning already have it).
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
    // 2: idempotent writes (one record per manifest label; exact re-records collapse to the
    // first) and the service's tokens.
    "DELETE FROM manifests WHERE id NOT IN (SELECT MIN(id) FROM manifests GROUP BY manifest_label);
    CREATE UNIQUE INDEX IF NOT EXISTS manifests_by_label ON manifests (manifest_label);
    CREATE TABLE IF NOT EXISTS tokens (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        hash BLOB NOT NULL UNIQUE,
        scopes TEXT NOT NULL,
        rate_per_minute INTEGER NOT NULL,
        created TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        revoked INTEGER NOT NULL DEFAULT 0
    );",
];

pub(crate) struct Sqlite {
    path: PathBuf,
    conn: Connection,
}

const COLUMNS: &str = "id, manifest_label, alg, binding, manifest, asset, created, metadata";
const TOKEN_COLUMNS: &str = "id, name, scopes, rate_per_minute, created, revoked";

impl Sqlite {
    pub(crate) fn open(path: &Path) -> Result<Self> {
        let location = path.display().to_string();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Io {
                location: location.clone(),
                reason: e.to_string(),
            })?;
        }
        let sql = |source| StoreError::Sqlite {
            location: location.clone(),
            source,
        };
        let mut conn = Connection::open(path).map_err(sql)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(sql)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(sql)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(sql)?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(sql)?;
        for (i, step) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
            let tx = conn.transaction().map_err(sql)?;
            tx.execute_batch(step).map_err(sql)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)
                .map_err(sql)?;
            tx.commit().map_err(sql)?;
        }
        Ok(Self {
            path: path.to_path_buf(),
            conn,
        })
    }

    fn sql(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite {
            location: self.path.display().to_string(),
            source,
        }
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

    fn token_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<TokenRecord> {
        let scopes: String = row.get(2)?;
        let rate: i64 = row.get(3)?;
        Ok(TokenRecord {
            id: row.get(0)?,
            name: row.get(1)?,
            scopes: split_scopes(&scopes),
            rate_per_minute: rate.clamp(0, u32::MAX as i64) as u32,
            created: row.get(4)?,
            revoked: row.get::<_, i64>(5)? != 0,
        })
    }

    fn many<T, P: rusqlite::Params>(
        &self,
        query: &str,
        params: P,
        f: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>> {
        let mut stmt = self.conn.prepare(query).map_err(|e| self.sql(e))?;
        let rows = stmt.query_map(params, f).map_err(|e| self.sql(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.sql(e))
    }
}

impl Backend for Sqlite {
    fn record(&mut self, record: &NewRecord) -> Result<i64> {
        let inserted = self
            .conn
            .execute(
                "INSERT INTO manifests (manifest_label, alg, binding, manifest, asset, metadata)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (manifest_label) DO NOTHING",
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
        if inserted == 1 {
            return Ok(self.conn.last_insert_rowid());
        }
        self.conn
            .query_row(
                "SELECT id FROM manifests WHERE manifest_label = ?1",
                params![record.manifest_label],
                |r| r.get(0),
            )
            .map_err(|e| self.sql(e))
    }

    fn by_binding(&mut self, alg: &str, value: &[u8]) -> Result<Vec<StoredManifest>> {
        self.many(
            &format!(
                "SELECT {COLUMNS} FROM manifests WHERE alg = ?1 AND binding = ?2 ORDER BY id DESC"
            ),
            params![alg, value],
            Self::row,
        )
    }

    fn bindings(&mut self, alg: &str) -> Result<Vec<Vec<u8>>> {
        self.many(
            "SELECT DISTINCT binding FROM manifests WHERE alg = ?1",
            params![alg],
            |row| row.get::<_, Vec<u8>>(0),
        )
    }

    fn manifest(&mut self, id: i64) -> Result<Option<StoredManifest>> {
        self.conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM manifests WHERE id = ?1"),
                params![id],
                Self::row,
            )
            .optional()
            .map_err(|e| self.sql(e))
    }

    fn by_label(&mut self, label: &str) -> Result<Option<StoredManifest>> {
        self.conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM manifests WHERE manifest_label = ?1"),
                params![label],
                Self::row,
            )
            .optional()
            .map_err(|e| self.sql(e))
    }

    fn list(&mut self, limit: usize) -> Result<Vec<StoredManifest>> {
        self.many(
            &format!("SELECT {COLUMNS} FROM manifests ORDER BY id DESC LIMIT ?1"),
            params![limit.min(i64::MAX as usize) as i64],
            Self::row,
        )
    }

    fn add_token(&mut self, token: &NewToken) -> Result<i64> {
        self.conn
            .execute(
                "INSERT INTO tokens (name, hash, scopes, rate_per_minute) VALUES (?1, ?2, ?3, ?4)",
                params![
                    token.name,
                    token.hash.as_slice(),
                    join_scopes(&token.scopes),
                    token.rate_per_minute as i64
                ],
            )
            .map_err(|e| self.sql(e))?;
        Ok(self.conn.last_insert_rowid())
    }

    fn token_by_hash(&mut self, hash: &[u8; 32]) -> Result<Option<TokenRecord>> {
        self.conn
            .query_row(
                &format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE hash = ?1 AND revoked = 0"),
                params![hash.as_slice()],
                Self::token_row,
            )
            .optional()
            .map_err(|e| self.sql(e))
    }

    fn tokens(&mut self) -> Result<Vec<TokenRecord>> {
        self.many(
            &format!("SELECT {TOKEN_COLUMNS} FROM tokens ORDER BY id"),
            [],
            Self::token_row,
        )
    }

    fn bulk_load(&mut self, records: &mut dyn Iterator<Item = NewRecord>) -> Result<u64> {
        let location = self.path.display().to_string();
        let sql = |source| StoreError::Sqlite {
            location: location.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(sql)?;
        let mut added = 0u64;
        {
            let mut stmt = tx
                .prepare(
                    "INSERT INTO manifests (manifest_label, alg, binding, manifest, asset, metadata)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (manifest_label) DO NOTHING",
                )
                .map_err(sql)?;
            for r in records {
                added += stmt
                    .execute(params![
                        r.manifest_label,
                        r.alg,
                        r.binding,
                        r.manifest,
                        r.asset,
                        r.metadata.to_string()
                    ])
                    .map_err(sql)? as u64;
            }
        }
        tx.commit().map_err(sql)?;
        Ok(added)
    }

    fn revoke_token(&mut self, id: i64) -> Result<bool> {
        let n = self
            .conn
            .execute("UPDATE tokens SET revoked = 1 WHERE id = ?1", params![id])
            .map_err(|e| self.sql(e))?;
        Ok(n == 1)
    }
}
