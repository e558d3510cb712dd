//! One verdict per file from the manifest half (C2PA) and the watermark half.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use candor_diffusion::DiffusionModel;
use candor_manifest::{
    read_detached_manifest, read_manifest, CredentialState, ManifestError, ManifestReport,
    TrustAnchors,
};
use candor_store::ManifestStore;
use candor_watermark::KeyRing;
use serde::Serialize;

use crate::{check_file, recover_manifests, WatermarkOptions, WatermarkReport};

/// What the watermark half needs, loaded once per run and shared by the workers of a batch.
pub struct WatermarkSetup {
    pub model: DiffusionModel,
    pub ring: KeyRing,
    /// Where stripped credentials are looked up; `None` skips recovery. One SQLite connection,
    /// so lookups from parallel workers take turns (they are rare and fast).
    pub store: Option<Mutex<ManifestStore>>,
    pub options: WatermarkOptions,
}

/// A manifest found in the store through the watermark.
#[derive(Debug, Serialize)]
pub struct RecoveredManifest {
    pub store_id: i64,
    /// True when its signature verifies and its soft binding equals the decoded payload.
    pub accepted: bool,
    pub manifest: ManifestReport,
}

/// The watermark half of a file's report.
#[derive(Debug, Serialize)]
pub struct WatermarkHalf {
    #[serde(flatten)]
    pub report: WatermarkReport,
    pub recovered: Option<RecoveredManifest>,
}

/// What `candor verify` says about one file.
#[derive(Debug, Serialize)]
pub struct FileReport {
    pub file: PathBuf,
    /// `verified`, `failed`, `no_credentials` or `error`.
    pub status: &'static str,
    /// One sentence for people.
    pub verdict: String,
    /// The Content Credentials half; absent when the file could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest: Option<ManifestReport>,
    /// The watermark half; `null` when not checked (`--no-watermark`, or no model or key).
    pub watermark: Option<WatermarkHalf>,
    /// Why the watermark was not checked, when it was not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub watermark_note: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The manifest half of verification for one file.
pub fn verify_file(
    file: &Path,
    fragments: Option<&[PathBuf]>,
    anchors: &TrustAnchors,
) -> FileReport {
    let error = |message: String| FileReport {
        file: file.to_path_buf(),
        status: "error",
        verdict: format!("Could not check: {message}"),
        manifest: None,
        watermark: None,
        watermark_note: None,
        error: Some(message),
    };
    if !file.is_file() {
        return error(format!("{}: no such file", file.display()));
    }
    let manifest = match read_manifest(file, fragments, anchors) {
        Ok(m) => m,
        Err(ManifestError::UnsupportedFormat { reason, .. }) => {
            // Containers that cannot embed credentials simply carry none; they must still be video.
            if let Err(e) = candor_media::probe(file) {
                return error(e.to_string());
            }
            let mut none = ManifestReport::none(anchors.is_configured());
            none.summary = format!("No Content Credentials ({reason})");
            none
        }
        Err(e) => return error(e.to_string()),
    };
    let status = match manifest.state {
        CredentialState::Trusted | CredentialState::Valid => "verified",
        CredentialState::Invalid => "failed",
        CredentialState::None => "no_credentials",
    };
    FileReport {
        file: file.to_path_buf(),
        status,
        verdict: manifest.summary.clone(),
        manifest: Some(manifest),
        watermark: None,
        watermark_note: None,
        error: None,
    }
}

/// Runs the watermark half and combines both halves into one verdict.
pub fn add_watermark(report: &mut FileReport, setup: &WatermarkSetup, anchors: &TrustAnchors) {
    let wm = match check_file(&report.file, &setup.model, &setup.ring, &setup.options) {
        Ok(w) => w,
        Err(e) => {
            report.watermark_note = Some(format!("not checked: {e}"));
            return;
        }
    };
    let payload = wm.detection.payload.map(|p| p.to_bytes().to_vec());
    let mut recovered = None;
    let manifest_state = report
        .manifest
        .as_ref()
        .map(|m| m.state)
        .unwrap_or(CredentialState::None);
    if wm.present && manifest_state == CredentialState::None {
        if let (Some(store), Some(bytes)) = (&setup.store, &payload) {
            let found = match store.lock() {
                Ok(store) => recover_manifests(&store, &wm).unwrap_or_default(),
                Err(_) => Vec::new(), // a worker panicked while holding it: skip recovery
            };
            for stored in found {
                if let Ok((m, signature_ok)) =
                    read_detached_manifest(&stored.manifest, &report.file, anchors)
                {
                    let binding_ok = m.soft_binding.as_ref().is_some_and(|b| &b.value == bytes);
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
        }
    }
    let binding = report
        .manifest
        .as_ref()
        .and_then(|m| m.soft_binding.as_ref())
        .map(|b| b.value.clone());
    let fpr = format!("{:.0e}", wm.detection.false_positive_rate);
    report.verdict = match (manifest_state, wm.present) {
        (CredentialState::Invalid, _) => report.verdict.clone(),
        (_, true) if binding.is_some() && payload.is_some() && binding != payload => {
            report.status = "failed";
            "Credentials do not match the watermark: the manifest's soft binding names another clip".into()
        }
        (CredentialState::Trusted | CredentialState::Valid, true) => {
            "AI-generated by Candor: credentials valid and watermark matches".into()
        }
        (CredentialState::None, true) => match &recovered {
            Some(r) if r.accepted => {
                "AI-generated: watermark found, credentials stripped - recovered from the manifest store".into()
            }
            Some(_) => "AI-generated: watermark found, credentials stripped; the stored manifest did not verify".into(),
            None => "AI-generated: Candor watermark found, credentials stripped and not in this store".into(),
        },
        (CredentialState::Trusted | CredentialState::Valid, false) => {
            format!("Content Credentials valid, no Candor watermark (false-positive rate of this check: {fpr})")
        }
        (CredentialState::None, false) => {
            format!("No provenance found (false-positive rate of this check: {fpr} per clip)")
        }
    };
    // Edits found by the watermark lead the verdict: they matter more than anything after them.
    if wm.present {
        let mut edits = Vec::new();
        if !wm.detection.temporal.is_empty() {
            edits.push(describe_temporal(&wm.detection.temporal));
        }
        if let Some(region) = wm.detection.spatial.as_ref().and_then(describe_region) {
            edits.push(format!("region edited: {region}"));
        }
        if !edits.is_empty() {
            report.verdict = format!("Tampered: {}. {}", edits.join("; "), report.verdict);
        }
    }
    report.watermark = Some(WatermarkHalf {
        report: wm,
        recovered,
    });
}

/// Frame edits in words: "frames 5-7 removed (before frame 5), frame 9 inserted".
pub(crate) fn describe_temporal(events: &[candor_watermark::TemporalEvent]) -> String {
    use candor_watermark::TemporalEvent as E;
    events
        .iter()
        .map(|e| match e {
            E::Dropped {
                first,
                last,
                before,
            } if first == last => format!("frame {first} removed (before frame {before})"),
            E::Dropped {
                first,
                last,
                before,
            } => format!("frames {first}-{last} removed (before frame {before})"),
            E::Inserted { observed } => format!("frame {observed} inserted"),
            E::Reordered { observed, template } => {
                format!("frame {observed} out of order (was {template})")
            }
            E::Duplicated { observed, template } => format!("frame {observed} repeats {template}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Where the tampered blocks of a spatial map sit, in words ("top-left, 4 of 64 blocks").
pub fn describe_region(map: &candor_watermark::SpatialMap) -> Option<String> {
    let (gh, gw) = (map.grid_height, map.grid_width);
    let cells: Vec<(usize, usize)> = (0..gh * gw)
        .filter(|&i| map.tampered.get(i).copied().unwrap_or(false))
        .map(|i| (i / gw, i % gw))
        .collect();
    if cells.is_empty() || gh == 0 || gw == 0 {
        return None;
    }
    let (rows, cols): (Vec<usize>, Vec<usize>) = cells.iter().copied().unzip();
    let third = |v: &[usize], n: usize| {
        let centre = (v.iter().sum::<usize>() as f64 + 0.5 * v.len() as f64) / v.len() as f64;
        ((centre * 3.0 / n as f64) as usize).min(2)
    };
    let vertical = ["top", "middle", "bottom"][third(&rows, gh)];
    let horizontal = ["left", "centre", "right"][third(&cols, gw)];
    let place = match (vertical, horizontal) {
        ("middle", "centre") => "centre".to_string(),
        (v, h) => format!("{v}-{h}"),
    };
    Some(format!("{place}, {} of {} blocks", cells.len(), gh * gw))
}

#[cfg(test)]
mod tests {
    use super::describe_region;
    use candor_watermark::SpatialMap;

    fn map(tampered: &[usize]) -> SpatialMap {
        let mut flags = vec![false; 64];
        for &i in tampered {
            flags[i] = true;
        }
        SpatialMap {
            block: 1,
            grid_height: 8,
            grid_width: 8,
            agreement: vec![0.6; 64],
            tampered: flags,
            per_frame: Vec::new(),
        }
    }

    #[test]
    fn regions_are_named_by_where_their_blocks_sit() {
        assert_eq!(describe_region(&map(&[])), None);
        assert_eq!(
            describe_region(&map(&[0, 1, 8, 9])).as_deref(),
            Some("top-left, 4 of 64 blocks")
        );
        assert_eq!(
            describe_region(&map(&[63])).as_deref(),
            Some("bottom-right, 1 of 64 blocks")
        );
        assert_eq!(
            describe_region(&map(&[27, 28, 35, 36])).as_deref(),
            Some("centre, 4 of 64 blocks")
        );
    }
}
