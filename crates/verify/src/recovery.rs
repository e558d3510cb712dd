//! Recovery of stripped credentials: the manifests the sources (the local store, remote
//! resolvers) hold for the decoded payload — or, for a mark this installation holds no key for,
//! that a resolver found by running its own detection — each checked here before it is reported.

use std::path::Path;
use std::sync::Arc;

use candor_manifest::{
    read_detached_manifest, read_detached_manifest_unbound, ManifestReport, TrustAnchors,
};
use candor_media::fingerprint::{ClipFingerprint, FingerprintMatch};
use candor_store::{ManifestStore, StoredManifest};
use candor_watermark::{Payload, SOFT_BINDING_ALG};
use serde::Serialize;

use crate::sources::{ManifestSource, SourcedManifest};
use crate::watermark::{read_frames, WatermarkReport};
use crate::{Placement, Result};

/// Files larger than this are not hashed against a recovered manifest's hard binding.
const HASH_ASSET_MAX_BYTES: u64 = 16 << 20;

/// Frames read to compare a video with a fingerprint when no local mark aligned them.
const CONTENT_FRAMES: usize = 64;

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

/// A manifest found through the watermark.
#[derive(Debug, Serialize)]
pub struct RecoveredManifest {
    /// Where it came from: "the manifest store" or a resolver's URL.
    pub source: String,
    /// Its id at the source (the manifest's URN).
    pub manifest_id: String,
    /// The local store's record id (manifests of the local store only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store_id: Option<i64>,
    /// The resolver found the mark with its own key (this installation holds none for it): the
    /// payload is the resolver's reading; signature and content were checked here.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub found_by_resolver: bool,
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

impl RecoveredManifest {
    /// "store record 5" or "manifest urn:… from https://resolver".
    pub fn origin(&self) -> String {
        match self.store_id {
            Some(id) => format!("store record {id}"),
            None => format!("manifest {} from {}", self.manifest_id, self.source),
        }
    }
}

/// What the sources gave for a payload.
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

/// Reads a sourced manifest against `file`: (report, signature holds).
fn read_sourced(
    sourced: &SourcedManifest,
    file: &Path,
    anchors: &TrustAnchors,
) -> Option<(ManifestReport, bool)> {
    // c2pa holds the asset in memory to hash it: a file this large is not a Candor original
    // byte for byte (clips are kilobytes to a few megabytes), so its signature is checked
    // without hashing it, and its bytes are reported as not the original's.
    let large = std::fs::metadata(file).is_ok_and(|m| m.len() > HASH_ASSET_MAX_BYTES);
    let read = if large {
        read_detached_manifest_unbound(&sourced.manifest, anchors)
    } else {
        read_detached_manifest(&sourced.manifest, file, anchors)
    };
    read.ok()
}

/// Looks up `payload` in each source in turn and checks each manifest: signature (against
/// `file`), soft binding, and the content fingerprint against `observed` on the watermark's frame
/// alignment `pairs`. Of the accepted ones from the first source that has any, the one whose
/// content matches best wins (a clip and its edits share a payload: the edit's manifest records
/// the edited content, the original's the original); a verified one made for other content means
/// a copied mark. What each source answered goes to `lookups`.
pub(crate) fn recover(
    sources: &[Arc<dyn ManifestSource>],
    report: &WatermarkReport,
    payload: &[u8],
    file: &Path,
    anchors: &TrustAnchors,
    lookups: &mut Vec<String>,
) -> Recovered {
    let mut outcome = Recovered::Nothing;
    for source in sources {
        let name = source.name();
        let found = match source.by_binding(SOFT_BINDING_ALG, payload) {
            Ok(found) => found,
            Err(e) => {
                lookups.push(format!("{name}: not asked successfully ({e})"));
                continue;
            }
        };
        if found.is_empty() {
            lookups.push(format!(
                "{name}: nothing for payload {}",
                hex::encode(payload)
            ));
            continue;
        }
        lookups.push(format!(
            "{name}: {} manifest(s) for payload {}",
            found.len(),
            hex::encode(payload)
        ));
        type Score = ((usize, isize, isize), f32);
        let mut best: Option<(Score, RecoveredManifest)> = None;
        for sourced in found {
            let Some((m, signature_ok)) = read_sourced(&sourced, file, anchors) else {
                lookups.push(format!(
                    "{name}: manifest {} REJECTED: not a readable C2PA manifest",
                    sourced.manifest_id
                ));
                continue;
            };
            let binding_ok = m.soft_binding.as_ref().is_some_and(|b| b.value == payload);
            let recorded = recorded_fingerprint(&m);
            let compared = recorded.as_ref().and_then(|f| compare_content(f, report));
            let content_match = compared
                .as_ref()
                .map(|(first, moved)| best_match(*first, moved));
            // Copied only when no placement even resembles the signed content: a genuine copy
            // that was moved more than the check follows, or degraded past the check's bars, is
            // left unbound, not called copied.
            let resembles = compared.as_ref().is_some_and(|(first, moved)| {
                first.resembles() || moved.iter().any(FingerprintMatch::resembles)
            });
            let (candidate, copied) = judge(
                &name,
                sourced,
                m,
                Judged {
                    signature_ok,
                    binding_ok,
                    content_match,
                    resembles,
                    found_by_resolver: false,
                },
            );
            if candidate.accepted {
                // The edits it declares, checked against the mark: one contradicted rules it out;
                // otherwise the manifest whose claims the video bears out best wins, then the
                // better content match.
                let declared = candidate
                    .manifest
                    .generation
                    .as_ref()
                    .map(|g| g.edits.clone())
                    .unwrap_or_default();
                let checks = crate::edits::check(report, &declared)
                    .unwrap_or_else(|| vec![crate::edits::EditCheck::Unconfirmed; declared.len()]);
                let Some(fit) = crate::edits::fit(&checks) else {
                    lookups.push(format!(
                        "{name}: manifest {} REJECTED: it declares an edit this video's watermark contradicts",
                        candidate.manifest_id
                    ));
                    continue;
                };
                let score = (
                    fit,
                    candidate
                        .content_match
                        .map_or(f32::MIN, |m| m.layout_correlation),
                );
                if best.as_ref().is_none_or(|(s, _)| score > *s) {
                    best = Some((score, candidate));
                }
                continue;
            }
            outcome = merge(outcome, candidate, copied);
        }
        if let Some((_, chosen)) = best {
            return Recovered::Manifest(chosen);
        }
    }
    outcome
}

/// For a file where no mark was found here: asks each source that can be asked by content to run
/// its own detection (its keys), and checks what comes back — signature, soft binding equal to
/// the payload the resolver read, and the manifest's content fingerprint against this video.
pub(crate) fn recover_by_content(
    sources: &[Arc<dyn ManifestSource>],
    file: &Path,
    native: usize,
    anchors: &TrustAnchors,
    lookups: &mut Vec<String>,
) -> (Recovered, (usize, usize)) {
    let mut observed: Option<Option<ClipFingerprint>> = None;
    let mut outcome = Recovered::Nothing;
    let (mut answered, mut failed) = (0, 0);
    for source in sources {
        let name = source.name();
        let Some(answer) = source.by_content(file) else {
            continue;
        };
        let matches = match answer {
            Ok(m) => m,
            Err(e) => {
                lookups.push(format!("{name} (by content): not asked successfully ({e})"));
                failed += 1;
                continue;
            }
        };
        answered += 1;
        lookups.push(format!(
            "{name} (by content, its own keys): {} match(es)",
            matches.len()
        ));
        for found in matches {
            let Some((m, signature_ok)) = read_sourced(&found.manifest, file, anchors) else {
                lookups.push(format!(
                    "{name}: manifest {} REJECTED: not a readable C2PA manifest",
                    found.manifest.manifest_id
                ));
                continue;
            };
            let binding_ok = m
                .soft_binding
                .as_ref()
                .is_some_and(|b| b.value == found.payload);
            let seen = observed.get_or_insert_with(|| {
                read_frames(file, native, Some(CONTENT_FRAMES), false)
                    .ok()
                    .and_then(|(frames, _)| ClipFingerprint::of_frames(&frames, native))
            });
            let content_match = match (recorded_fingerprint(&m), seen.as_ref()) {
                (Some(recorded), Some(seen)) => {
                    let frames = seen.frames.len();
                    let valid = !found.alignment.is_empty()
                        && found.alignment.iter().all(|&(o, _)| o < frames);
                    let pairs: Vec<(usize, usize)> = if valid {
                        found.alignment.clone()
                    } else {
                        (0..frames).map(|i| (i, i)).collect()
                    };
                    Some(recorded.compare_outside(seen, &pairs, &[]))
                }
                _ => None,
            };
            let resembles = content_match.is_some_and(|c| c.resembles());
            let (candidate, copied) = judge(
                &name,
                found.manifest,
                m,
                Judged {
                    signature_ok,
                    binding_ok,
                    content_match,
                    resembles,
                    found_by_resolver: true,
                },
            );
            if candidate.accepted {
                return (Recovered::Manifest(candidate), (answered, failed));
            }
            outcome = merge(outcome, candidate, copied);
        }
    }
    (outcome, (answered, failed))
}

fn recorded_fingerprint(m: &ManifestReport) -> Option<ClipFingerprint> {
    m.generation
        .as_ref()
        .and_then(|g| g.content_fingerprint.as_deref())
        .and_then(ClipFingerprint::decode)
}

/// The checks one manifest went through, before judgement.
struct Judged {
    signature_ok: bool,
    binding_ok: bool,
    content_match: Option<FingerprintMatch>,
    resembles: bool,
    found_by_resolver: bool,
}

/// One checked manifest as a candidate, and whether it shows a copied mark.
fn judge(
    source: &str,
    sourced: SourcedManifest,
    m: ManifestReport,
    j: Judged,
) -> (RecoveredManifest, bool) {
    let same_content = j.content_match.is_some_and(|c| c.same_content());
    let accepted = j.signature_ok && j.binding_ok && same_content;
    // Nothing compared (too little of the picture left to compare) is no evidence of other
    // content: the credentials are left unbound, never called copied.
    let compared_any = j.content_match.is_some_and(|c| c.pairs > 0);
    let copied = j.signature_ok && j.binding_ok && compared_any && !same_content && !j.resembles;
    let bytes_match = !m.failures.iter().any(|f| is_content_code(&f.code));
    let summary = describe(&Checks {
        signature_ok: j.signature_ok,
        binding_ok: j.binding_ok,
        content: j
            .content_match
            .filter(|c| c.pairs > 0)
            .map(|c| c.same_content()),
        bytes_match,
    });
    (
        RecoveredManifest {
            source: source.to_string(),
            // The label of the manifest that was checked, whatever id the source listed it under.
            manifest_id: m.manifest_label.clone().unwrap_or(sourced.manifest_id),
            store_id: sourced.store_id,
            found_by_resolver: j.found_by_resolver,
            accepted,
            signature_valid: j.signature_ok,
            soft_binding_matches: j.binding_ok,
            bytes_match,
            summary,
            content_match: j.content_match,
            manifest: m,
        },
        copied,
    )
}

/// A copied mark outranks an unbound manifest; otherwise the latest candidate is kept.
fn merge(outcome: Recovered, candidate: RecoveredManifest, copied: bool) -> Recovered {
    if copied {
        Recovered::Copied(candidate)
    } else if matches!(outcome, Recovered::Copied(_)) {
        outcome
    } else {
        Recovered::Manifest(candidate)
    }
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
    let found_at = report
        .geometry
        .as_ref()
        .map_or(Placement::IDENTITY, |g| g.placement.clone());
    let first = recorded.compare_outside(
        report.observed.as_ref()?,
        &pairs,
        &either(&edited, &outside_cells(&found_at)),
    );
    let moved = if first.same_content() {
        Vec::new()
    } else {
        report
            .observed_under_placements()
            .iter()
            .map(|(p, seen)| {
                recorded.compare_outside(seen, &pairs, &either(&edited, &outside_cells(p)))
            })
            .collect()
    };
    Some((first, moved))
}

/// The found placement's match when it is the same content, else the closest other placement's
/// that clears the stricter bars (each placement tried is one more chance for unrelated content),
/// else the found placement's.
fn best_match(first: FingerprintMatch, moved: &[FingerprintMatch]) -> FingerprintMatch {
    if first.same_content() {
        return first;
    }
    moved
        .iter()
        .copied()
        .filter(|m| m.same_content_moved())
        .max_by(|a, b| a.layout_correlation.total_cmp(&b.layout_correlation))
        .unwrap_or(first)
}

/// The fingerprint cells a placement does not wholly cover: the observed picture fills only part
/// of them (the rest is the border a crop cut away, filled in), so they are not the picture.
fn outside_cells(p: &Placement) -> Vec<bool> {
    use candor_media::fingerprint::GRID;
    let g = GRID as f64;
    let eps = 1e-6;
    (0..GRID * GRID)
        .map(|i| {
            let (cx, cy) = ((i % GRID) as f64, (i / GRID) as f64);
            let inside = cx / g >= p.x - eps
                && (cx + 1.0) / g <= p.x + p.w + eps
                && cy / g >= p.y - eps
                && (cy + 1.0) / g <= p.y + p.h + eps;
            !inside
        })
        .collect()
}

/// Cells either list marks.
fn either(a: &[bool], b: &[bool]) -> Vec<bool> {
    (0..a.len().max(b.len()))
        .map(|i| a.get(i).copied().unwrap_or(false) || b.get(i).copied().unwrap_or(false))
        .collect()
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
