//! Recovery of stripped credentials: the manifests a store holds for the decoded payload.

use std::path::Path;
use std::sync::Mutex;

use candor_manifest::{read_detached_manifest, ManifestReport, TrustAnchors};
use candor_store::{ManifestStore, StoredManifest};
use candor_watermark::{Payload, SOFT_BINDING_ALG};
use serde::Serialize;

use crate::watermark::WatermarkReport;
use crate::Result;

/// The payloads of every Candor soft binding in the store: the candidates a faint mark is
/// compared with ([`WatermarkOptions::candidate_payloads`]).
pub fn store_payloads(store: &ManifestStore) -> Result<Vec<Payload>> {
    Ok(store
        .bindings(SOFT_BINDING_ALG)?
        .iter()
        .filter_map(|b| Payload::from_bytes(b))
        .collect())
}

/// Manifests in the store whose soft binding is this payload (`matches/byBinding`).
pub fn recover_manifests(
    store: &ManifestStore,
    report: &WatermarkReport,
) -> Result<Vec<StoredManifest>> {
    match report.detection.payload() {
        Some(p) if report.present => Ok(store.by_binding(SOFT_BINDING_ALG, &p.to_bytes())?),
        _ => Ok(Vec::new()),
    }
}

/// A manifest found in the store through the watermark.
#[derive(Debug, Serialize)]
pub struct RecoveredManifest {
    pub store_id: i64,
    /// True when its signature verifies and its soft binding equals the decoded payload.
    pub accepted: bool,
    pub manifest: ManifestReport,
}

/// The first stored manifest for `payload` whose signature verifies against `file` and whose soft
/// binding is `payload`; else the last one found (rejected); `None` when the store has none.
pub(crate) fn recover(
    store: &Mutex<ManifestStore>,
    report: &WatermarkReport,
    payload: &[u8],
    file: &Path,
    anchors: &TrustAnchors,
) -> Option<RecoveredManifest> {
    let found = match store.lock() {
        Ok(store) => recover_manifests(&store, report).unwrap_or_default(),
        Err(_) => Vec::new(), // a worker panicked while holding it: skip recovery
    };
    let mut recovered = None;
    for stored in found {
        if let Ok((m, signature_ok)) = read_detached_manifest(&stored.manifest, file, anchors) {
            let binding_ok = m.soft_binding.as_ref().is_some_and(|b| b.value == payload);
            recovered = Some(RecoveredManifest {
                store_id: stored.id,
                accepted: signature_ok && binding_ok,
                manifest: m,
            });
            if signature_ok && binding_ok {
                break;
            }
        }
    }
    recovered
}
