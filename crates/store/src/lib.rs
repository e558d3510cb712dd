//! The manifest store: every manifest this installation signed, keyed by its soft binding (the
//! watermark payload), so that credentials stripped from a copy can be recovered from the
//! watermark the copy still carries; and the API tokens of `candor serve`, stored hashed.
//!
//! One handle, [`ManifestStore`], over one trait, [`Backend`], with two implementations:
//! - **SQLite** (`--store path/to/manifests.db`, the embedded default for one machine): WAL mode
//!   with synchronous=FULL, a record is on disk when `record` returns;
//! - **PostgreSQL** (`--store postgres://user:pass@host/db`): several `serve` workers and several
//!   `generate` machines share one store. Migrations run under an advisory lock, so workers that
//!   start together migrate once.
//!
//! Both index lookups by `(alg, binding)` and make writes idempotent: recording a manifest whose
//! label (its URN) is already stored returns the stored record's id and changes nothing.
//! Lookups mirror the C2PA Soft Binding Resolution API (`matches/byBinding` → manifest ids,
//! `manifests/{id}` → manifest bytes), which `candor serve` exposes.
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

mod pg;
mod sqlite;

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// Store errors. They name the store by [`StoreLocation`]'s display, which never shows a password.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("manifest store {location}: {source}")]
    Sqlite {
        location: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("manifest store {location}: {reason}")]
    Postgres { location: String, reason: String },
    #[error("manifest store {location}: {reason}")]
    Io { location: String, reason: String },
    #[error("manifest store: {0}")]
    BadLocation(String),
    #[error("manifest store {location}: a worker panicked while holding the connection")]
    Poisoned { location: String },
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// What `record` stores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewRecord {
    /// The manifest's label (its URN): the manifest id of the resolution API, unique.
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

/// An API token to store: only its SHA-256 hash is kept.
#[derive(Debug, Clone, PartialEq)]
pub struct NewToken {
    /// A name for people ("platform-x ingest").
    pub name: String,
    /// SHA-256 of the token.
    pub hash: [u8; 32],
    /// Scopes granted (`verify`, `fetch:manifests`, `admin`).
    pub scopes: Vec<String>,
    /// Requests per minute this token may make.
    pub rate_per_minute: u32,
}

/// A stored API token (never the token itself).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenRecord {
    pub id: i64,
    pub name: String,
    pub scopes: Vec<String>,
    pub rate_per_minute: u32,
    pub created: String,
    pub revoked: bool,
}

/// Where a store lives.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// An SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL (`postgres://…` or `postgresql://…`).
    Postgres(String),
}

impl FromStr for StoreLocation {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self> {
        if s.is_empty() {
            return Err(StoreError::BadLocation("empty store location".into()));
        }
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            Ok(Self::Postgres(s.to_string()))
        } else if s.contains("://") {
            Err(StoreError::BadLocation(format!(
                "{}: not a file path nor a postgres:// URL",
                redact(s)
            )))
        } else {
            Ok(Self::Sqlite(PathBuf::from(s)))
        }
    }
}

impl Default for StoreLocation {
    /// `$CANDOR_STORE` (a path or a `postgres://` URL), else
    /// `$XDG_DATA_HOME/candor/manifests.db`, else `~/.local/share/candor/manifests.db`.
    fn default() -> Self {
        std::env::var("CANDOR_STORE")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| Self::Sqlite(default_path()))
    }
}

/// A URL with its password (and any `password=` parameter) replaced by `***`.
fn redact(url: &str) -> String {
    let mut out = url.to_string();
    if let Some(scheme_end) = out.find("://") {
        let rest_start = scheme_end + 3;
        let authority_end = out[rest_start..]
            .find('/')
            .map_or(out.len(), |i| rest_start + i);
        if let Some(at) = out[rest_start..authority_end].rfind('@') {
            let userinfo = &out[rest_start..rest_start + at];
            if let Some(colon) = userinfo.find(':') {
                out.replace_range(rest_start + colon + 1..rest_start + at, "***");
            }
        }
    }
    if let Some(i) = out.find("password=") {
        let end = out[i..].find('&').map_or(out.len(), |j| i + j);
        out.replace_range(i + "password=".len()..end, "***");
    }
    out
}

impl fmt::Display for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(p) => write!(f, "{}", p.display()),
            Self::Postgres(url) => f.write_str(&redact(url)),
        }
    }
}

impl fmt::Debug for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StoreLocation({self})")
    }
}

impl StoreLocation {
    /// Whether a store is already there (an SQLite file exists; a server is always "there").
    pub fn exists(&self) -> bool {
        match self {
            Self::Sqlite(p) => p.is_file(),
            Self::Postgres(_) => true,
        }
    }
}

/// What a store backend does. Methods take `&mut self`: [`ManifestStore`] serialises access.
pub trait Backend: Send {
    /// Records a signed manifest; durable when this returns. Idempotent by manifest label.
    fn record(&mut self, record: &NewRecord) -> Result<i64>;
    /// Manifests whose soft binding is `(alg, value)`, newest first.
    fn by_binding(&mut self, alg: &str, value: &[u8]) -> Result<Vec<StoredManifest>>;
    /// Every distinct soft-binding value recorded under `alg`.
    fn bindings(&mut self, alg: &str) -> Result<Vec<Vec<u8>>>;
    /// One manifest by store id.
    fn manifest(&mut self, id: i64) -> Result<Option<StoredManifest>>;
    /// One manifest by label (URN).
    fn by_label(&mut self, label: &str) -> Result<Option<StoredManifest>>;
    /// The most recent `limit` manifests.
    fn list(&mut self, limit: usize) -> Result<Vec<StoredManifest>>;
    /// Stores a token's hash; returns its id.
    fn add_token(&mut self, token: &NewToken) -> Result<i64>;
    /// The unrevoked token with this hash.
    fn token_by_hash(&mut self, hash: &[u8; 32]) -> Result<Option<TokenRecord>>;
    /// Every token, revoked ones too.
    fn tokens(&mut self) -> Result<Vec<TokenRecord>>;
    /// Revokes a token; false when there is no such token.
    fn revoke_token(&mut self, id: i64) -> Result<bool>;
    /// Loads many records in one transaction (labels already stored are skipped); returns how
    /// many were new. For imports and benchmarks.
    fn bulk_load(&mut self, records: &mut dyn Iterator<Item = NewRecord>) -> Result<u64>;
}

/// The store: one backend behind a lock, shareable between threads.
pub struct ManifestStore {
    location: StoreLocation,
    backend: Mutex<Box<dyn Backend>>,
}

impl fmt::Debug for ManifestStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManifestStore")
            .field("location", &self.location)
            .finish()
    }
}

/// Default SQLite location: `$XDG_DATA_HOME/candor/manifests.db`, else
/// `~/.local/share/candor/manifests.db` (a path in `$CANDOR_STORE` wins).
pub fn default_path() -> PathBuf {
    if let Some(p) = std::env::var_os("CANDOR_STORE") {
        let s = p.to_string_lossy();
        if !s.contains("://") {
            return PathBuf::from(p);
        }
    }
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("candor/manifests.db")
}

impl ManifestStore {
    /// Opens (creating if needed) the SQLite store at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        Self::connect(&StoreLocation::Sqlite(path.to_path_buf()))
    }

    /// Opens the store at `location`, creating and migrating its schema if needed.
    pub fn connect(location: &StoreLocation) -> Result<Self> {
        let backend: Box<dyn Backend> = match location {
            StoreLocation::Sqlite(path) => Box::new(sqlite::Sqlite::open(path)?),
            StoreLocation::Postgres(url) => Box::new(pg::Postgres::connect(url, location)?),
        };
        Ok(Self {
            location: location.clone(),
            backend: Mutex::new(backend),
        })
    }

    /// Where this store lives (displays without a password).
    pub fn location(&self) -> &StoreLocation {
        &self.location
    }

    fn with<T>(&self, f: impl FnOnce(&mut dyn Backend) -> Result<T>) -> Result<T> {
        let mut backend = self.backend.lock().map_err(|_| StoreError::Poisoned {
            location: self.location.to_string(),
        })?;
        f(backend.as_mut())
    }

    /// Records a signed manifest; durable when this returns. Recording a label already stored
    /// returns that record's id and changes nothing.
    pub fn record(&self, record: &NewRecord) -> Result<i64> {
        self.with(|b| b.record(record))
    }

    /// `matches/byBinding`: manifests whose soft binding is `(alg, value)`, newest first.
    pub fn by_binding(&self, alg: &str, value: &[u8]) -> Result<Vec<StoredManifest>> {
        self.with(|b| b.by_binding(alg, value))
    }

    /// Every distinct soft-binding value recorded under `alg`: the candidates a faint watermark,
    /// too weak to decode its payload on its own, is compared with.
    pub fn bindings(&self, alg: &str) -> Result<Vec<Vec<u8>>> {
        self.with(|b| b.bindings(alg))
    }

    /// One record by store id.
    pub fn manifest(&self, id: i64) -> Result<Option<StoredManifest>> {
        self.with(|b| b.manifest(id))
    }

    /// `manifests/{manifestId}`: one record by manifest label (URN).
    pub fn by_label(&self, label: &str) -> Result<Option<StoredManifest>> {
        self.with(|b| b.by_label(label))
    }

    /// The most recent `limit` manifests.
    pub fn list(&self, limit: usize) -> Result<Vec<StoredManifest>> {
        self.with(|b| b.list(limit))
    }

    /// Stores a token's hash and what it may do.
    pub fn add_token(&self, token: &NewToken) -> Result<i64> {
        self.with(|b| b.add_token(token))
    }

    /// The unrevoked token whose SHA-256 is `hash`.
    pub fn token_by_hash(&self, hash: &[u8; 32]) -> Result<Option<TokenRecord>> {
        self.with(|b| b.token_by_hash(hash))
    }

    /// Every token (hashes are never returned).
    pub fn tokens(&self) -> Result<Vec<TokenRecord>> {
        self.with(|b| b.tokens())
    }

    /// Revokes token `id`; false when there is none.
    pub fn revoke_token(&self, id: i64) -> Result<bool> {
        self.with(|b| b.revoke_token(id))
    }

    /// Loads many records in one transaction; returns how many were new.
    pub fn bulk_load(&self, records: &mut dyn Iterator<Item = NewRecord>) -> Result<u64> {
        self.with(|b| b.bulk_load(records))
    }
}

/// Scopes as stored: comma-separated.
fn join_scopes(scopes: &[String]) -> String {
    scopes.join(",")
}

fn split_scopes(s: &str) -> Vec<String> {
    s.split(',')
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests;
