//! `bench store`: lookups by soft binding among many stored manifests, on either backend.
//!
//! Loads `rows` synthetic records (small manifests: 64 random bytes; the figures say so) with
//! bindings derived from their index, then times `lookups` single lookups one after another —
//! half of bindings that are stored (at random indices), half of bindings that are not — and
//! reports p50, p99 and the maximum. Loading is batched (one transaction per batch; COPY on
//! PostgreSQL) and is timed too.

use std::time::Instant;

use candor_store::{ManifestStore, NewRecord, StoreLocation};
use candor_watermark::SOFT_BINDING_ALG;
use rand::{Rng, SeedableRng};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::{EvalError, Report, Result};

/// What to run.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    pub location: StoreLocation,
    pub rows: u64,
    pub lookups: usize,
    pub batch: u64,
    /// Use the records already loaded (a store this bench filled before) instead of loading.
    pub reuse: bool,
}

/// The binding of synthetic record `i`: 8 bytes, as a Candor payload.
fn binding(i: u64) -> Vec<u8> {
    Sha256::digest(i.to_le_bytes())[..8].to_vec()
}

fn record(i: u64, manifest: &[u8]) -> NewRecord {
    NewRecord {
        manifest_label: format!("urn:candor:bench:{i}"),
        alg: SOFT_BINDING_ALG.to_string(),
        binding: binding(i),
        manifest: manifest.to_vec(),
        asset: "bench".into(),
        metadata: json!({"bench": i}),
    }
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let idx = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

pub fn run(cfg: &StoreConfig) -> Result<Report> {
    let store = ManifestStore::connect(&cfg.location)?;
    let present = store.list(1)?;
    let mut load_s = None;
    if !cfg.reuse {
        if !present.is_empty() {
            return Err(EvalError::Config(format!(
                "{}: the store is not empty; give a fresh one (or --reuse one this bench loaded)",
                cfg.location
            )));
        }
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let manifest: Vec<u8> = (0..64).map(|_| rng.gen()).collect();
        let start = Instant::now();
        let mut done = 0u64;
        let bar = crate::progress(cfg.rows, "loading");
        while done < cfg.rows {
            let n = cfg.batch.min(cfg.rows - done);
            let mut rows = (done..done + n).map(|i| record(i, &manifest));
            store.bulk_load(&mut rows)?;
            done += n;
            bar.set_position(done);
        }
        bar.finish_and_clear();
        load_s = Some(start.elapsed().as_secs_f64());
    }
    let rows = if cfg.reuse {
        // The records this bench loaded are numbered from 0: find how many by probing.
        let (mut lo, mut hi) = (0u64, 1u64 << 40);
        while lo + 1 < hi {
            let mid = lo + (hi - lo) / 2;
            if store
                .by_label(&format!("urn:candor:bench:{mid}"))?
                .is_some()
            {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        lo + 1
    } else {
        cfg.rows
    };
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let mut hit = Vec::with_capacity(cfg.lookups);
    let mut miss = Vec::with_capacity(cfg.lookups);
    for k in 0..cfg.lookups {
        let stored = k % 2 == 0;
        let i = if stored {
            rng.gen_range(0..rows)
        } else {
            rows + rng.gen_range(0..u64::MAX / 2)
        };
        let value = binding(i);
        let t = Instant::now();
        let found = store.by_binding(SOFT_BINDING_ALG, &value)?;
        let ms = t.elapsed().as_secs_f64() * 1e3;
        if stored && found.is_empty() {
            return Err(EvalError::Measurement(format!("record {i} was not found")));
        }
        if stored {
            hit.push(ms);
        } else {
            miss.push(ms);
        }
    }
    let mut all: Vec<f64> = hit.iter().chain(&miss).copied().collect();
    for v in [&mut hit, &mut miss, &mut all] {
        v.sort_by(f64::total_cmp);
    }
    let backend = match cfg.location {
        StoreLocation::Sqlite(_) => "sqlite",
        StoreLocation::Postgres(_) => "postgres",
    };
    let doc = json!({
        "backend": backend,
        "rows": rows,
        "manifest_bytes": 64,
        "load_s": load_s,
        "lookups": all.len(),
        "p50_ms": percentile(&all, 0.5),
        "p99_ms": percentile(&all, 0.99),
        "max_ms": all.last(),
        "stored_p99_ms": percentile(&hit, 0.99),
        "absent_p99_ms": percentile(&miss, 0.99),
    });
    let text = format!(
        "store bench ({backend}, {rows} records with 64-byte synthetic manifests{})\n  lookups by binding: {} (half stored, half absent), one at a time\n  p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms (stored p99 {:.3} ms, absent p99 {:.3} ms)\n  goal: p99 <= 5 ms: {}\n",
        load_s.map(|s| format!(", loaded in {s:.0} s")).unwrap_or_default(),
        all.len(),
        percentile(&all, 0.5),
        percentile(&all, 0.99),
        all.last().copied().unwrap_or(f64::NAN),
        percentile(&hit, 0.99),
        percentile(&miss, 0.99),
        if percentile(&all, 0.99) <= 5.0 { "met" } else { "NOT met" },
    );
    let mut report = Report::new(doc, text);
    report.passed = percentile(&all, 0.99) <= 5.0;
    Ok(report)
}
