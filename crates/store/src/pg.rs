//! PostgreSQL backend: one store shared by several `serve` workers and `generate` machines.

use std::collections::HashMap;

use postgres::{Client, NoTls, Row, Statement};

use crate::{
    join_scopes, split_scopes, Backend, NewRecord, NewToken, Result, StoreError, StoreLocation,
    StoredManifest, TokenRecord,
};

/// Key of the advisory lock migrations run under ("candor" in ASCII).
const MIGRATION_LOCK: i64 = 0x0000_6361_6e64_6f72;

/// Schema migrations, in order; `candor_schema.version` is the number applied.
const MIGRATIONS: &[&str] = &["CREATE TABLE IF NOT EXISTS manifests (
        id BIGSERIAL PRIMARY KEY,
        manifest_label TEXT NOT NULL UNIQUE,
        alg TEXT NOT NULL,
        binding BYTEA NOT NULL,
        manifest BYTEA NOT NULL,
        asset TEXT NOT NULL,
        created TIMESTAMPTZ NOT NULL DEFAULT now(),
        metadata JSONB NOT NULL
    );
    CREATE INDEX IF NOT EXISTS manifests_by_binding ON manifests (alg, binding);
    CREATE TABLE IF NOT EXISTS tokens (
        id BIGSERIAL PRIMARY KEY,
        name TEXT NOT NULL,
        hash BYTEA NOT NULL UNIQUE,
        scopes TEXT NOT NULL,
        rate_per_minute INTEGER NOT NULL,
        created TIMESTAMPTZ NOT NULL DEFAULT now(),
        revoked BOOLEAN NOT NULL DEFAULT false
    );"];

const TIME: &str = "to_char(created AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')";

pub(crate) struct Postgres {
    url: String,
    location: String,
    client: Client,
    /// Prepared statements of the hot lookups, by query text (one round trip per lookup instead
    /// of two); cleared when the connection is replaced.
    prepared: HashMap<String, Statement>,
}

fn columns() -> String {
    format!("id, manifest_label, alg, binding, manifest, asset, {TIME}, metadata")
}

fn token_columns() -> String {
    format!("id, name, scopes, rate_per_minute, {TIME}, revoked")
}

impl Postgres {
    pub(crate) fn connect(url: &str, location: &StoreLocation) -> Result<Self> {
        let location = location.to_string();
        let err = |e: postgres::Error| StoreError::Postgres {
            location: location.clone(),
            reason: describe(&e),
        };
        let mut client = Client::connect(url, NoTls).map_err(err)?;
        migrate(&mut client).map_err(err)?;
        Ok(Self {
            url: url.to_string(),
            location,
            client,
            prepared: HashMap::new(),
        })
    }

    fn err(&self, e: postgres::Error) -> StoreError {
        StoreError::Postgres {
            location: self.location.clone(),
            reason: describe(&e),
        }
    }

    /// Runs `f`; when the connection was lost (the server restarted), reconnects once and
    /// runs it again.
    fn run<T>(
        &mut self,
        f: impl Fn(&mut Client) -> std::result::Result<T, postgres::Error>,
    ) -> Result<T> {
        match f(&mut self.client) {
            Ok(v) => Ok(v),
            Err(_) if self.client.is_closed() => {
                self.client = Client::connect(&self.url, NoTls).map_err(|e| self.err(e))?;
                self.prepared.clear();
                f(&mut self.client).map_err(|e| self.err(e))
            }
            Err(e) => Err(self.err(e)),
        }
    }
}

impl Postgres {
    /// Runs a prepared (cached) query returning rows; reconnects once like [`Postgres::run`].
    fn query_prepared(
        &mut self,
        query: &str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<Vec<Row>> {
        let mut last = None;
        for attempt in 0..2 {
            let statement = match self.prepared.get(query) {
                Some(st) => st.clone(),
                None => match self.client.prepare(query) {
                    Ok(st) => {
                        self.prepared.insert(query.to_string(), st.clone());
                        st
                    }
                    Err(e) => {
                        last = Some(self.reconnect_or(e, attempt)?);
                        continue;
                    }
                },
            };
            match self.client.query(&statement, params) {
                Ok(rows) => return Ok(rows),
                Err(e) => last = Some(self.reconnect_or(e, attempt)?),
            }
        }
        Err(last.unwrap_or_else(|| StoreError::Postgres {
            location: self.location.clone(),
            reason: "query failed".into(),
        }))
    }

    /// After a failed query: when the connection was lost (first attempt), reconnects and returns
    /// the error (to retry); otherwise fails with it.
    fn reconnect_or(&mut self, e: postgres::Error, attempt: usize) -> Result<StoreError> {
        if attempt == 0 && self.client.is_closed() {
            self.client = Client::connect(&self.url, NoTls).map_err(|e| self.err(e))?;
            self.prepared.clear();
            return Ok(self.err(e));
        }
        Err(self.err(e))
    }
}

/// A PostgreSQL error in words, with the server's message when there is one (never the URL).
fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => e.to_string(),
    }
}

fn migrate(client: &mut Client) -> std::result::Result<(), postgres::Error> {
    client.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])?;
    let outcome = (|| {
        client
            .batch_execute("CREATE TABLE IF NOT EXISTS candor_schema (version INTEGER NOT NULL)")?;
        let version: i32 = match client.query_opt("SELECT version FROM candor_schema", &[])? {
            Some(row) => row.get(0),
            None => {
                client.execute("INSERT INTO candor_schema (version) VALUES (0)", &[])?;
                0
            }
        };
        for (i, step) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
            let mut tx = client.transaction()?;
            tx.batch_execute(step)?;
            tx.execute(
                "UPDATE candor_schema SET version = $1",
                &[&((i + 1) as i32)],
            )?;
            tx.commit()?;
        }
        Ok(())
    })();
    client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])?;
    outcome
}

/// A value in COPY's text format: backslash, tab, newline and carriage return escaped.
fn copy_text(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('\t', "\\t")
        .replace('\n', "\\n")
        .replace('\r', "\\r")
}

fn manifest_row(row: &Row) -> StoredManifest {
    let binding: Vec<u8> = row.get(3);
    let manifest: Vec<u8> = row.get(4);
    StoredManifest {
        id: row.get(0),
        manifest_label: row.get(1),
        alg: row.get(2),
        binding_hex: hex::encode(&binding),
        manifest_bytes: manifest.len(),
        manifest,
        asset: row.get(5),
        created: row.get(6),
        metadata: row.get(7),
    }
}

fn token_row(row: &Row) -> TokenRecord {
    let scopes: String = row.get(2);
    let rate: i32 = row.get(3);
    TokenRecord {
        id: row.get(0),
        name: row.get(1),
        scopes: split_scopes(&scopes),
        rate_per_minute: rate.max(0) as u32,
        created: row.get(4),
        revoked: row.get(5),
    }
}

impl Backend for Postgres {
    fn record(&mut self, record: &NewRecord) -> Result<i64> {
        self.run(|c| {
            let inserted = c.query_opt(
                "INSERT INTO manifests (manifest_label, alg, binding, manifest, asset, metadata)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (manifest_label) DO NOTHING
                 RETURNING id",
                &[
                    &record.manifest_label,
                    &record.alg,
                    &record.binding,
                    &record.manifest,
                    &record.asset,
                    &record.metadata,
                ],
            )?;
            match inserted {
                Some(row) => Ok(row.get(0)),
                None => Ok(c
                    .query_one(
                        "SELECT id FROM manifests WHERE manifest_label = $1",
                        &[&record.manifest_label],
                    )?
                    .get(0)),
            }
        })
    }

    fn by_binding(&mut self, alg: &str, value: &[u8]) -> Result<Vec<StoredManifest>> {
        let q = format!(
            "SELECT {} FROM manifests WHERE alg = $1 AND binding = $2 ORDER BY id DESC",
            columns()
        );
        Ok(self
            .query_prepared(&q, &[&alg, &value])?
            .iter()
            .map(manifest_row)
            .collect())
    }

    fn bindings(&mut self, alg: &str) -> Result<Vec<Vec<u8>>> {
        self.run(|c| {
            Ok(c.query(
                "SELECT DISTINCT binding FROM manifests WHERE alg = $1",
                &[&alg],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect())
        })
    }

    fn manifest(&mut self, id: i64) -> Result<Option<StoredManifest>> {
        let q = format!("SELECT {} FROM manifests WHERE id = $1", columns());
        self.run(|c| Ok(c.query_opt(&q, &[&id])?.as_ref().map(manifest_row)))
    }

    fn by_label(&mut self, label: &str) -> Result<Option<StoredManifest>> {
        let q = format!(
            "SELECT {} FROM manifests WHERE manifest_label = $1",
            columns()
        );
        self.run(|c| Ok(c.query_opt(&q, &[&label])?.as_ref().map(manifest_row)))
    }

    fn list(&mut self, limit: usize) -> Result<Vec<StoredManifest>> {
        let q = format!(
            "SELECT {} FROM manifests ORDER BY id DESC LIMIT $1",
            columns()
        );
        let limit = limit.min(i64::MAX as usize) as i64;
        self.run(|c| Ok(c.query(&q, &[&limit])?.iter().map(manifest_row).collect()))
    }

    fn add_token(&mut self, token: &NewToken) -> Result<i64> {
        let scopes = join_scopes(&token.scopes);
        let rate = token.rate_per_minute.min(i32::MAX as u32) as i32;
        self.run(|c| {
            Ok(c.query_one(
                "INSERT INTO tokens (name, hash, scopes, rate_per_minute) VALUES ($1, $2, $3, $4)
                 RETURNING id",
                &[&token.name, &token.hash.as_slice(), &scopes, &rate],
            )?
            .get(0))
        })
    }

    fn token_by_hash(&mut self, hash: &[u8; 32]) -> Result<Option<TokenRecord>> {
        let q = format!(
            "SELECT {} FROM tokens WHERE hash = $1 AND NOT revoked",
            token_columns()
        );
        Ok(self
            .query_prepared(&q, &[&hash.as_slice()])?
            .first()
            .map(token_row))
    }

    fn tokens(&mut self) -> Result<Vec<TokenRecord>> {
        let q = format!("SELECT {} FROM tokens ORDER BY id", token_columns());
        self.run(|c| Ok(c.query(&q, &[])?.iter().map(token_row).collect()))
    }

    fn bulk_load(&mut self, records: &mut dyn Iterator<Item = NewRecord>) -> Result<u64> {
        use std::io::Write;
        // COPY into a staging table, then one INSERT … ON CONFLICT DO NOTHING: PostgreSQL's
        // fast path, and still idempotent by label.
        let err = |e: postgres::Error| StoreError::Postgres {
            location: self.location.clone(),
            reason: describe(&e),
        };
        let io = |e: std::io::Error| StoreError::Postgres {
            location: self.location.clone(),
            reason: e.to_string(),
        };
        let mut tx = self.client.transaction().map_err(err)?;
        tx.batch_execute(
            "CREATE TEMP TABLE candor_load (manifest_label TEXT, alg TEXT, binding BYTEA,
             manifest BYTEA, asset TEXT, metadata JSONB) ON COMMIT DROP",
        )
        .map_err(err)?;
        {
            let mut w = tx.copy_in("COPY candor_load FROM STDIN").map_err(err)?;
            let mut line = String::new();
            for r in records {
                line.clear();
                for (i, text) in [&r.manifest_label, &r.alg].iter().enumerate() {
                    if i > 0 {
                        line.push('\t');
                    }
                    line.push_str(&copy_text(text));
                }
                line.push_str("\t\\\\x");
                line.push_str(&hex::encode(&r.binding));
                line.push_str("\t\\\\x");
                line.push_str(&hex::encode(&r.manifest));
                line.push('\t');
                line.push_str(&copy_text(&r.asset));
                line.push('\t');
                line.push_str(&copy_text(&r.metadata.to_string()));
                line.push('\n');
                w.write_all(line.as_bytes()).map_err(io)?;
            }
            w.finish().map_err(err)?;
        }
        let added = tx
            .execute(
                "INSERT INTO manifests (manifest_label, alg, binding, manifest, asset, metadata)
                 SELECT * FROM candor_load ON CONFLICT (manifest_label) DO NOTHING",
                &[],
            )
            .map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(added)
    }

    fn revoke_token(&mut self, id: i64) -> Result<bool> {
        self.run(|c| Ok(c.execute("UPDATE tokens SET revoked = true WHERE id = $1", &[&id])? == 1))
    }
}
