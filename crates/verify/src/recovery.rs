//! Recovery of stripped credentials: the manifests a store holds for the decoded payload.

use std::path::Path;
use std::sync::Mutex;

use candor_manifest::{
    read_detached_manifest, read_detached_manifest_unbound, ManifestReport, TrustAnchors,
};
use candor_media::fingerprint::{ClipFingerprint, FingerprintMatch, MIN_LAYOUT_CORRELATION_MOVED};
use candor_store::{ManifestStore, StoredManifest};
use candor_watermark::{Payload, SOFT_BINDING_ALG};
use serde::Serialize;

use crate::watermark::WatermarkReport;
use crate::Result;

/// Files larger than this are not hashed against a recovered manifest's hard binding.
const HASH_ASSET_MAX_BYTES: u64 = 16 << 20;

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
    /// True when its signature verifies, its soft binding equals the decoded payload, and the
    /// content fingerprint it was signed with matches this video.
    pub accepted: bool,
    /// The stored manifest's signature (and, with anchors, its chain) holds.
    pub signature_valid: bool,
    /// Its soft binding is the payload the watermark carries.
    pub soft_binding_matches: bool,
    /// Its hard binding (the content hash) matches this file's bytes: the file is the signed
    /// original, not a re-encoded copy of it. Expected false for a copy a platform re-encoded.
    pub bytes_match: bool,
    /// What the recovered credentials say about this file, in words a reader can repeat.
    pub summary: String,
    /// How this video compares with the fingerprint in the manifest (`None`: the manifest has
    /// none, or no frames could be compared).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_match: Option<FingerprintMatch>,
    pub manifest: ManifestReport,
}

/// What the store gave for a payload.
#[derive(Debug)]
pub(crate) enum Recovered {
    /// Nothing for this payload.
    Nothing,
    /// A manifest for this payload, accepted or not (see [`RecoveredManifest::accepted`]).
    Manifest(RecoveredManifest),
    /// A manifest that verifies and names this payload, but was made for other content: the
    /// mark was copied from that clip onto this video.
    Copied(RecoveredManifest),
}

/// Looks up `payload` and checks each stored manifest: signature (against `file`), soft binding,
/// and the content fingerprint against `observed` on the watermark's frame alignment `pairs`.
/// The first accepted one wins; a verified one made for other content means a copied mark.
pub(crate) fn recover(
    store: &Mutex<ManifestStore>,
    report: &WatermarkReport,
    payload: &[u8],
    file: &Path,
    anchors: &TrustAnchors,
) -> Recovered {
    let found = match store.lock() {
        Ok(store) => recover_manifests(&store, report).unwrap_or_default(),
        Err(_) => Vec::new(), // a worker panicked while holding it: skip recovery
    };
    let mut outcome = Recovered::Nothing;
    for stored in found {
        // c2pa holds the asset in memory to hash it: a file this large is not a Candor original
        // byte for byte (clips are kilobytes to a few megabytes), so its signature is checked
        // without hashing it, and its bytes are reported as not the original's.
        let large = std::fs::metadata(file).is_ok_and(|m| m.len() > HASH_ASSET_MAX_BYTES);
        let read = if large {
            read_detached_manifest_unbound(&stored.manifest, anchors)
        } else {
            read_detached_manifest(&stored.manifest, file, anchors)
        };
        let Ok((m, signature_ok)) = read else {
            continue;
        };
        let binding_ok = m.soft_binding.as_ref().is_some_and(|b| b.value == payload);
        let recorded = m
            .generation
            .as_ref()
            .and_then(|g| g.content_fingerprint.as_deref())
            .and_then(ClipFingerprint::decode);
        let compared = recorded.as_ref().and_then(|f| compare_content(f, report));
        let content_match = compared
            .as_ref()
            .map(|(first, moved)| best_match(*first, moved));
        let same_content = content_match.is_some_and(|c| c.same_content());
        let accepted = signature_ok && binding_ok && same_content;
        // Copied only when no placement even resembles the signed content: a genuine copy that
        // was moved more than the check follows is left unbound, not called copied.
        let resembles = compared.as_ref().is_some_and(|(first, moved)| {
            first.same_content() || moved.iter().any(FingerprintMatch::same_content)
        });
        // Nothing compared (too little of the picture left to compare) is no evidence of other
        // content: the credentials are left unbound, never called copied.
        let compared_any = content_match.is_some_and(|c| c.pairs > 0);
        let copied = signature_ok && binding_ok && compared_any && !same_content && !resembles;
        let bytes_match = !m.failures.iter().any(|f| is_content_code(&f.code));
        let summary = describe(&Checks {
            signature_ok,
            binding_ok,
            content: content_match
                .filter(|c| c.pairs > 0)
                .map(|c| c.same_content()),
            bytes_match,
        });
        let candidate = RecoveredManifest {
            store_id: stored.id,
            accepted,
            signature_valid: signature_ok,
            soft_binding_matches: binding_ok,
            bytes_match,
            summary,
            content_match,
            manifest: m,
        };
        if accepted {
            return Recovered::Manifest(candidate);
        }
        outcome = if copied {
            Recovered::Copied(candidate)
        } else if matches!(outcome, Recovered::Copied(_)) {
            outcome
        } else {
            Recovered::Manifest(candidate)
        };
    }
    outcome
}

/// Validation codes that concern the content's bytes (the hard binding), not the signature.
fn is_content_code(code: &str) -> bool {
    code.starts_with("assertion.bmffHash.") || code.starts_with("assertion.dataHash.")
}

/// The checks a recovered manifest went through.
#[derive(Debug, Clone, Copy)]
struct Checks {
    signature_ok: bool,
    binding_ok: bool,
    /// `None`: no fingerprint to compare with.
    content: Option<bool>,
    bytes_match: bool,
}

/// Recovered credentials in words: a manifest recovered for a re-encoded copy is expected not to
/// match its bytes; the signature, the soft binding and the content are what count.
fn describe(c: &Checks) -> String {
    if !c.signature_ok {
        return "REJECTED: the stored manifest's signature does not verify".into();
    }
    if !c.binding_ok {
        return "REJECTED: the stored manifest's soft binding is not this watermark's payload"
            .into();
    }
    match c.content {
        None => "REJECTED: signature valid and watermark payload matches, but this video could not be compared with the content fingerprint the manifest records (none recorded, or too little of the picture left)".into(),
        Some(false) => "REJECTED: signature valid and watermark payload matches, but the manifest was signed for other content".into(),
        Some(true) if c.bytes_match => "Signed credentials of this clip (signature valid, watermark payload matches, content matches, and the bytes are the signed original's)".into(),
        Some(true) => "Signed credentials of the original clip (signature valid, watermark payload matches, content matches); this file is a re-encoded or re-packaged copy, so its bytes differ from the signed original".into(),
    }
}

/// How the video a watermark report was read from compares with a signed fingerprint: frame by
/// frame on the mark's alignment, leaving out the cells its tamper map found replaced or could
/// not see. `None` when the report kept no observed fingerprint. Recovery accepts stored
/// credentials only when this is the same content.
pub fn content_match(
    recorded: &ClipFingerprint,
    report: &WatermarkReport,
) -> Option<FingerprintMatch> {
    let (first, moved) = compare_content(recorded, report)?;
    Some(best_match(first, &moved))
}

/// The comparison under the placement the mark was found at, and — only when that does not
/// match — under each of the geometry search's placements (a crop the mark survives as it is
/// still moves the picture).
fn compare_content(
    recorded: &ClipFingerprint,
    report: &WatermarkReport,
) -> Option<(FingerprintMatch, Vec<FingerprintMatch>)> {
    let pairs = report.alignment_pairs();
    let edited = edited_cells(report);
    let first = recorded.compare_outside(report.observed.as_ref()?, &pairs, &edited);
    let moved = if first.same_content() {
        Vec::new()
    } else {
        report
            .observed_under_placements()
            .iter()
            .map(|seen| recorded.compare_outside(seen, &pairs, &edited))
            .collect()
    };
    Some((first, moved))
}

/// The found placement's match when it is the same content, else the closest other placement's
/// that clears the stricter bar (each placement tried is one more chance for unrelated content),
/// else the found placement's.
fn best_match(first: FingerprintMatch, moved: &[FingerprintMatch]) -> FingerprintMatch {
    if first.same_content() {
        return first;
    }
    moved
        .iter()
        .copied()
        .filter(|m| m.same_content() && m.layout_correlation >= MIN_LAYOUT_CORRELATION_MOVED)
        .max_by(|a, b| a.layout_correlation.total_cmp(&b.layout_correlation))
        .unwrap_or(first)
}

/// The fingerprint cells a present mark's tamper map found replaced or could not see (outside a
/// cropped picture): an edit changes the picture there on purpose, and the rest must still be the
/// signed content. Only when the map's grid is the fingerprint's.
fn edited_cells(report: &WatermarkReport) -> Vec<bool> {
    match report.detection.spatial() {
        Some(map)
            if map.grid_height == candor_media::fingerprint::GRID
                && map.grid_width == candor_media::fingerprint::GRID =>
        {
            map.tampered
                .iter()
                .zip(&map.agreement)
                .map(|(&t, a)| t || !a.is_finite())
                .collect()
        }
        _ => Vec::new(),
    }
}
