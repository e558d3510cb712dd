//! Verification of any video: the Content Credentials (C2PA) half, the latent-watermark half
//! (decode → latents → DDIM inversion → detection over a key ring), recovery of stripped
//! credentials from a manifest store, and one verdict per file.
//!
//! The public face is small: a [`Verifier`] built from a [`VerifierConfig`] checks files into
//! [`FileReport`]s, whose [`Status`] and verdict come from [`decide`], a pure function of the
//! evidence; [`report`] renders them as text or HTML.
//!
//! ```no_run
//! use candor_manifest::TrustAnchors;
//! use candor_verify::{Policy, Verifier, VerifierConfig};
//! // Credentials only: no model or watermark key is loaded.
//! let verifier = Verifier::new(VerifierConfig::credentials_only(TrustAnchors::none()));
//! let report = verifier.verify(std::path::Path::new("clip.mp4"));
//! println!("{}: {}", report.status, report.verdict);
//! println!("{:?}", report.outcome(Policy::default()));
//! ```
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod batch;
pub mod edits;
mod error;
mod geometry;
mod recovery;
pub mod report;
pub mod scan;
mod sources;
pub mod timeline;
mod verdict;
mod watermark;

pub use batch::for_each_in_order;
pub use error::{Result, VerifyError};
pub use geometry::{candidate_placements, place, place_frames, Placement};
pub use recovery::{content_match, recover_manifests, store_payloads, RecoveredManifest};
pub use report::{FileReport, Outcome, Policy, WatermarkHalf};
pub use sources::{ContentMatch, ManifestSource, SourcedManifest};
pub use verdict::{
    decide, describe_region, describe_segments, describe_temporal, CredentialEvidence, Evidence,
    OtherKeys, Recovery, Status, Verdict, WatermarkEvidence,
};
pub use watermark::{
    check_file, check_frames, detect_in_noise, estimate_noise, read_frames, Forgery, ForgeryKind,
    Frames, GeometryReport, StageTimes, WatermarkOptions, WatermarkReport,
};

use std::path::{Path, PathBuf};
use std::sync::Arc;

use candor_diffusion::DiffusionModel;
use candor_manifest::{
    read_manifest, CredentialState, ManifestError, ManifestReport, TrustAnchors,
};
use candor_watermark::KeyRing;

/// What the watermark half needs, loaded once and shared by the workers of a batch.
pub struct WatermarkSetup {
    pub model: DiffusionModel,
    pub ring: KeyRing,
    /// Where stripped credentials are looked up, in order (the local store first, then remote
    /// resolvers); empty skips recovery. Whatever a source returns is checked here.
    pub sources: Vec<Arc<dyn ManifestSource>>,
    pub options: WatermarkOptions,
}

/// How to verify.
pub struct VerifierConfig {
    /// Roots whose signers are trusted; nothing is trusted without them.
    pub anchors: TrustAnchors,
    /// The watermark half; `None` checks credentials only.
    pub watermark: Option<WatermarkSetup>,
    /// Why the watermark is not checked, when `watermark` is `None` (reported per file).
    pub watermark_note: Option<String>,
}

impl VerifierConfig {
    /// Credentials only, under these trust anchors.
    pub fn credentials_only(anchors: TrustAnchors) -> Self {
        Self {
            anchors,
            watermark: None,
            watermark_note: None,
        }
    }
}

/// Checks videos: credentials, watermark, recovery, verdict.
pub struct Verifier {
    config: VerifierConfig,
}

impl Verifier {
    pub fn new(config: VerifierConfig) -> Self {
        Self { config }
    }

    /// The trust anchors this verifier uses.
    pub fn anchors(&self) -> &TrustAnchors {
        &self.config.anchors
    }

    /// Verifies one file.
    pub fn verify(&self, file: &Path) -> FileReport {
        self.verify_fragmented(file, None)
    }

    /// Verifies one file asking only this installation's own sources (no remote resolver): what
    /// a resolver answers others with, so that resolvers configured with each other never
    /// forward a query in a circle.
    pub fn verify_local_only(&self, file: &Path) -> FileReport {
        self.check(file, None, false)
    }

    /// Verifies a fragmented MP4: `file` is the init segment, `fragments` its media segments.
    pub fn verify_fragmented(&self, file: &Path, fragments: Option<&[PathBuf]>) -> FileReport {
        self.check(file, fragments, true)
    }

    fn check(&self, file: &Path, fragments: Option<&[PathBuf]>, remote: bool) -> FileReport {
        let mut report = credentials_half(file, fragments, &self.config.anchors);
        if report.status != Status::Error {
            match &self.config.watermark {
                Some(setup) => add_watermark(&mut report, setup, &self.config.anchors, remote),
                None => report.watermark_note = self.config.watermark_note.clone(),
            }
        }
        report
    }

    /// Verifies `files` on up to `jobs` threads; `emit` receives the reports in input order, each
    /// as soon as it and every report before it are done.
    pub fn verify_batch(&self, files: &[PathBuf], jobs: usize, emit: impl FnMut(FileReport)) {
        for_each_in_order(files, jobs, |f| self.verify(f), emit);
    }
}

/// The credentials half of verification for one file.
fn credentials_half(
    file: &Path,
    fragments: Option<&[PathBuf]>,
    anchors: &TrustAnchors,
) -> FileReport {
    if !file.is_file() {
        return FileReport::unreadable(
            file.to_path_buf(),
            format!("{}: no such file", file.display()),
        );
    }
    // A file built to make container parsers slow is refused before any of them sees it.
    if let Some(n) =
        candor_media::boxes::top_level_boxes(file, candor_media::boxes::MAX_TOP_LEVEL_BOXES)
            .filter(|&n| n > candor_media::boxes::MAX_TOP_LEVEL_BOXES)
    {
        return FileReport::unreadable(
            file.to_path_buf(),
            format!(
                "{}: more than {} top-level ISO-BMFF boxes ({n} counted so far): not a plausible video, refused unparsed",
                file.display(),
                candor_media::boxes::MAX_TOP_LEVEL_BOXES
            ),
        );
    }
    let manifest = match read_manifest(file, fragments, anchors) {
        Ok(m) => m,
        Err(ManifestError::UnsupportedFormat { reason, .. }) => {
            // Containers that cannot embed credentials simply carry none; they must still be video.
            if let Err(e) = candor_media::probe(file) {
                return FileReport::unreadable(file.to_path_buf(), e.to_string());
            }
            let mut none = ManifestReport::none(anchors.is_configured());
            none.summary = format!("No Content Credentials ({reason})");
            none
        }
        // Credentials that are there but cannot be parsed (a damaged or altered claim) in a video
        // that plays: invalid credentials, and the watermark is still checked.
        Err(e @ ManifestError::C2pa { .. }) if candor_media::probe(file).is_ok() => {
            let mut broken = ManifestReport::none(anchors.is_configured());
            broken.state = CredentialState::Invalid;
            broken.summary = format!(
                "Content Credentials INVALID: present but unreadable ({e}): the manifest was damaged or altered"
            );
            broken
        }
        Err(e) => return FileReport::unreadable(file.to_path_buf(), e.to_string()),
    };
    // Every verdict is a claim about a video: a file FFmpeg cannot open as one (a truncated MP4
    // without its moov box, say) is unreadable input, not a clean upload, and not a video whose
    // credentials failed either. What its surviving manifest said is kept for the record. (A
    // fragmented stream's init segment carries no samples: its fragments are checked with it.)
    if fragments.is_none() || manifest.state == CredentialState::None {
        if let Err(e) = candor_media::probe(file) {
            let mut report = FileReport::unreadable(file.to_path_buf(), e.to_string());
            if manifest.state != CredentialState::None {
                report.verdict = format!(
                    "Could not check: {e}. A Content Credentials manifest was found in it ({}), but \
                     credentials cannot vouch for a video that does not play",
                    manifest.summary
                );
                report.manifest = Some(manifest);
            }
            return report;
        }
    }
    FileReport {
        file: file.to_path_buf(),
        status: Status::of_credentials(manifest.state),
        verdict: manifest.summary.clone(),
        manifest: Some(manifest),
        watermark: None,
        watermark_note: None,
        error: None,
    }
}

/// Runs the watermark half, recovers stripped credentials, and decides the verdict.
fn add_watermark(
    report: &mut FileReport,
    setup: &WatermarkSetup,
    anchors: &TrustAnchors,
    remote: bool,
) {
    let mut wm = match check_file(&report.file, &setup.model, &setup.ring, &setup.options) {
        Ok(w) => w,
        Err(e) => {
            report.watermark_note = Some(format!("not checked: {e}"));
            return;
        }
    };
    let payload = wm.detection.payload().map(|p| p.to_bytes().to_vec());
    let manifest = report.manifest.as_ref();
    let state = manifest.map(|m| m.state).unwrap_or(CredentialState::None);
    let mut recovered = None;
    let mut recovery = Recovery::NotFound;
    let mut lookups = Vec::new();
    let sources: Vec<Arc<dyn ManifestSource>> = setup
        .sources
        .iter()
        .filter(|s| remote || !s.is_remote())
        .cloned()
        .collect();
    let sources = &sources;
    if wm.present && state == CredentialState::None && !sources.is_empty() {
        if let Some(bytes) = &payload {
            let found = recovery::recover(sources, &wm, bytes, &report.file, anchors, &mut lookups);
            match found {
                recovery::Recovered::Nothing => {}
                recovery::Recovered::Manifest(r) => {
                    recovery = if r.accepted {
                        Recovery::Accepted
                    } else {
                        Recovery::Rejected
                    };
                    recovered = Some(r);
                }
                recovery::Recovered::Copied(r) => {
                    // The credentials belong to another picture: they are not attached, and the
                    // mark is not an authentic mark of this video.
                    recovery = Recovery::Copied;
                    wm.present = false;
                    wm.forgery = Some(Forgery {
                        kind: ForgeryKind::Copied,
                        evidence: copied_evidence(&r),
                    });
                }
            }
        }
    }
    // No mark under this installation's keys, no credentials: resolvers that hold other keys are
    // asked to look (by content), and what they find is checked here.
    let mut other_keys = OtherKeys::NotAsked;
    if !wm.present && wm.forgery.is_none() && state == CredentialState::None {
        let native = setup.model.config.size;
        let (found, asked) =
            recovery::recover_by_content(sources, &report.file, native, anchors, &mut lookups);
        if asked.0 + asked.1 > 0 {
            other_keys = OtherKeys::Asked {
                answered: asked.0,
                failed: asked.1,
            };
        }
        match found {
            recovery::Recovered::Nothing => {}
            recovery::Recovered::Manifest(r) => {
                recovery = if r.accepted {
                    Recovery::AcceptedByResolver
                } else {
                    Recovery::NotFound
                };
                recovered = Some(r);
            }
            // A copied mark is an accusation only on evidence checked here: a resolver's claim
            // that it read a payload cannot be checked without its key, so a manifest for other
            // content is rejected, never attached, and never turned into a verdict of forgery.
            recovery::Recovered::Copied(r) => {
                lookups.push(format!(
                    "{}: its match {} REJECTED: signed for other content",
                    r.source, r.manifest_id
                ));
                recovered = Some(r);
            }
        }
    }
    // Every segment of a longer file gets its own clip's credentials, checked the same way.
    if state == CredentialState::None && !sources.is_empty() {
        let segment_reports = std::mem::take(&mut wm.segment_reports);
        for (seg, own) in wm.segments.iter_mut().zip(&segment_reports) {
            let Some(bytes) = own.detection.payload().map(|p| p.to_bytes().to_vec()) else {
                continue;
            };
            if !own.present {
                continue;
            }
            let mut seg_lookups = Vec::new();
            seg.credentials = match recovery::recover(
                sources,
                own,
                &bytes,
                &report.file,
                anchors,
                &mut seg_lookups,
            ) {
                recovery::Recovered::Nothing => None,
                recovery::Recovered::Manifest(r) => Some(segment_credentials(&r, false)),
                recovery::Recovered::Copied(r) => Some(segment_credentials(&r, true)),
            };
        }
    }
    // The timeline against what the credentials say the clip was made as.
    let generation = match (state, &recovered) {
        (CredentialState::Trusted | CredentialState::Valid, _) => {
            manifest.and_then(|m| m.generation.as_ref())
        }
        (_, Some(r)) if r.accepted => r.manifest.generation.as_ref(),
        _ => None,
    };
    let made = timeline::MadeAs {
        frames: generation.and_then(|g| g.frames),
        fps: generation.and_then(|g| g.fps),
    };
    let last_template = wm
        .segments
        .iter()
        .find(|s| s.content_id.is_some() && s.content_id == wm.content_id)
        .map(|s| s.template_range[1]);
    let reading = timeline::read(&wm, made, last_template);
    // In a file scanned whole: frames of the clip cut from inside a segment, and parts of the
    // clip shown out of their order (a later part before an earlier one, not overlapping: the
    // same clip shown twice overlaps itself and is not an edit).
    let mut timeline_edits = reading.edits.clone();
    let own_segments: Vec<&scan::Segment> = wm
        .segments
        .iter()
        .filter(|s| s.content_id.is_some() && s.content_id == wm.content_id)
        .collect();
    // (A cut the clip's own detection already names is not named twice.)
    let named: Vec<(usize, usize)> = wm
        .detection
        .temporal()
        .iter()
        .filter_map(|e| match e {
            candor_watermark::TemporalEvent::Dropped { first, last, .. } => Some((*first, *last)),
            _ => None,
        })
        .collect();
    for seg in &own_segments {
        for [a, b] in &seg.removed {
            if named.iter().any(|&(f, l)| f <= *b && l >= *a) {
                continue;
            }
            let which = if a == b {
                format!("frame {a}")
            } else {
                format!("frames {a}-{b}")
            };
            timeline_edits.push(format!(
                "{which} of the clip removed (inside seconds {:.1}–{:.1} of this file)",
                seg.start_s, seg.end_s
            ));
        }
    }
    for (i, before) in own_segments.iter().enumerate() {
        for after in &own_segments[i + 1..] {
            let ([a0, a1], [b0, b1]) = (before.template_range, after.template_range);
            // The same stretch again: the whole of it shown twice is two showings, not an edit;
            // part of it again inside the clip's run is.
            let overlap = a0.max(b0) <= a1.min(b1);
            let same = a0.abs_diff(b0) <= 1 && a1.abs_diff(b1) <= 1;
            if overlap && !same {
                timeline_edits.push(format!(
                    "repeated: the clip's frames {}–{} are shown again",
                    a0.max(b0),
                    a1.min(b1)
                ));
            }
        }
    }
    for pair in own_segments.windows(2) {
        let (before, after) = (pair[0], pair[1]);
        if after.template_range[1] < before.template_range[0] {
            timeline_edits.push(format!(
                "reordered: the clip's frames {}–{} are shown after its frames {}–{}",
                after.template_range[0],
                after.template_range[1],
                before.template_range[0],
                before.template_range[1]
            ));
        }
    }
    let mut transforms = reading.transforms;
    transforms.append(&mut wm.transforms);
    wm.transforms = transforms;
    // Where the file's frames sit in their clip: an excerpt is placed, not called an edit, and
    // a storyboard's shots are listed.
    wm.placement = placement(&wm, made, generation, reading.end_cut.is_some());
    // A shot whose frames were all cut out is not shown.
    let removed: Vec<[usize; 2]> = wm
        .segments
        .iter()
        .filter(|s| s.content_id.is_some() && s.content_id == wm.content_id)
        .flat_map(|s| s.removed.iter().copied())
        .collect();
    if let Some(p) = wm.placement.as_mut() {
        p.shots.retain(|s| {
            !removed
                .iter()
                .any(|[a, b]| s.first_frame >= *a && s.last_frame <= *b)
        });
    }
    // Frames missing before the first one shown are the excerpt's start, not a removal.
    let first_observed = wm
        .detection
        .frames()
        .iter()
        .find(|m| m.template.is_some())
        .map(|m| m.observed);
    let temporal: Vec<candor_watermark::TemporalEvent> = wm
        .detection
        .temporal()
        .iter()
        .filter(|e| {
            !matches!(e, candor_watermark::TemporalEvent::Dropped { first: 0, before, .. }
                if Some(*before) <= first_observed)
        })
        .cloned()
        .collect();
    let excerpt = wm.placement.as_ref().and_then(|p| p.describe_excerpt());
    // Edits the credentials declare, checked against the watermark (each edit re-marks its
    // region over its span) and the tamper map (a change outside every declared region is not
    // one of them). Only edits with frames in this file are spoken of.
    let edits = generation.map(|g| g.edits.as_slice()).unwrap_or_default();
    let checks = if wm.present {
        edits::check(&wm, edits).unwrap_or_else(|| vec![edits::EditCheck::Unconfirmed; edits.len()])
    } else {
        Vec::new()
    };
    let in_view: Vec<(&candor_manifest::EditInfo, edits::EditCheck)> = edits
        .iter()
        .zip(checks.iter().copied())
        .filter(|(_, c)| *c != edits::EditCheck::NotInView)
        .collect();
    wm.edits = in_view
        .iter()
        .map(|(e, c)| edits::DeclaredEdit {
            edit: (*e).clone(),
            check: *c,
        })
        .collect();
    let confirmed: Vec<candor_manifest::EditInfo> = in_view
        .iter()
        .filter(|(_, c)| *c == edits::EditCheck::Confirmed)
        .map(|(e, _)| (*e).clone())
        .collect();
    let explained = declared_edits(&confirmed, wm.detection.spatial());
    let spatial = match &explained {
        Some((_, true)) => None,
        _ => wm.detection.spatial(),
    };
    let mut declared_parts: Vec<String> = Vec::new();
    if let Some((phrase, _)) = &explained {
        declared_parts.push(format!("Edited with Candor as declared: {phrase}"));
    }
    for (e, c) in &in_view {
        let what = describe_edit(e);
        match c {
            edits::EditCheck::Contradicted => declared_parts.push(format!(
                "Tampered: its credentials declare an edit ({what}) that its watermark contradicts: the region does not carry that edit's mark, or not the clip's outside the edit's frames"
            )),
            edits::EditCheck::Unconfirmed => declared_parts.push(format!(
                "Its credentials declare an edit ({what}) the watermark is too faint to confirm"
            )),
            _ => {}
        }
    }
    let contradicted = in_view
        .iter()
        .any(|(_, c)| *c == edits::EditCheck::Contradicted);
    let declared_phrase = (!declared_parts.is_empty()).then(|| declared_parts.join(". "));
    // A copy that is not the signed original byte for byte was re-encoded or re-packaged.
    if recovered
        .as_ref()
        .is_some_and(|r| r.accepted && !r.bytes_match)
    {
        wm.transforms
            .push("re-encoded or re-packaged: its bytes are not the signed original's".into());
    }
    let spans: Vec<(f64, f64)> = wm.segments.iter().map(|s| (s.start_s, s.end_s)).collect();
    let verdict = decide(&Evidence {
        credentials: CredentialEvidence {
            state,
            summary: &report.verdict,
            // The block the payload read names (an edit's region carries its own), else the
            // first: a payload none of them names is a mismatch.
            soft_binding: manifest.and_then(|m| m.soft_binding.as_ref()).map(|b| {
                b.regions
                    .iter()
                    .map(|r| r.value.as_slice())
                    .find(|v| payload.as_deref() == Some(*v))
                    .unwrap_or(b.value.as_slice())
            }),
        },
        watermark: Some(WatermarkEvidence {
            present: wm.present,
            payload: payload.as_deref(),
            false_positive_rate: wm.detection.false_positive_rate(),
            temporal: &temporal,
            spatial,
            forgery: wm.forgery.as_ref().map(|f| f.kind),
            trace: wm.trace,
            segments: &spans,
            duration_s: wm.scan.as_ref().map(|s| s.duration_s),
            transforms: &wm.transforms,
            damaged: wm.damaged.as_deref(),
            edits: &timeline_edits,
            excerpt: excerpt.as_deref(),
            declared_edits: declared_phrase.as_deref(),
        }),
        recovery,
        recovered_from: recovered
            .as_ref()
            .filter(|r| r.accepted)
            .map(|r| r.source.as_str()),
        other_keys,
    });
    report.status = if contradicted {
        Status::Failed
    } else {
        verdict.status
    };
    report.verdict = verdict.sentence;
    report.watermark = Some(WatermarkHalf {
        report: wm,
        recovered,
        lookups,
    });
}

/// One declared edit in words: "region x 0, y 0, 64×64 px of frames 4–11 redrawn as "a blue star"".
fn describe_edit(e: &candor_manifest::EditInfo) -> String {
    let [x, y, w, h] = e.region;
    format!(
        "region x {x}, y {y}, {w}×{h} px of frames {}–{} redrawn as \"{}\"",
        e.first_frame,
        (e.first_frame + e.frames).saturating_sub(1),
        e.prompt
    )
}

/// The edits `edits` declare, in words, and whether every block the tamper map `map` found
/// changed lies inside (or one block beside) a declared region. `None` when nothing is declared.
fn declared_edits(
    edits: &[candor_manifest::EditInfo],
    map: Option<&candor_watermark::SpatialMap>,
) -> Option<(String, bool)> {
    if edits.is_empty() {
        return None;
    }
    let phrase = edits
        .iter()
        .map(describe_edit)
        .collect::<Vec<_>>()
        .join("; ");
    let Some(map) = map.filter(|m| m.grid_width > 0 && m.grid_height > 0) else {
        return Some((phrase, true));
    };
    let (gw, gh) = (map.grid_width, map.grid_height);
    let declared = |row: usize, col: usize| {
        edits.iter().any(|e| {
            let [x, y, w, h] = e.region.map(f64::from);
            let [fw, fh] = e.frame_size.map(|v| f64::from(v.max(1)));
            let (cw, ch) = (fw / gw as f64, fh / gh as f64);
            // The block's rectangle, grown by one block each way.
            let (bx0, bx1) = ((col as f64 - 1.0) * cw, (col as f64 + 2.0) * cw);
            let (by0, by1) = ((row as f64 - 1.0) * ch, (row as f64 + 2.0) * ch);
            bx0 < x + w && bx1 > x && by0 < y + h && by1 > y
        })
    };
    let explained = map
        .tampered
        .iter()
        .enumerate()
        .filter(|(_, t)| **t)
        .all(|(i, _)| declared(i / gw, i % gw));
    Some((phrase, explained))
}

/// Where a present mark's frames sit in their clip (see [`timeline::ClipPlacement`]).
fn placement(
    wm: &WatermarkReport,
    made: timeline::MadeAs,
    generation: Option<&candor_manifest::GenerationInfo>,
    end_cut: bool,
) -> Option<timeline::ClipPlacement> {
    if !wm.present {
        return None;
    }
    let segment = wm
        .segments
        .iter()
        .find(|s| s.content_id.is_some() && s.content_id == wm.content_id);
    let (first, last, start_s) = match segment {
        Some(s) => (s.template_range[0], s.template_range[1], s.start_s),
        None => {
            let mut placed: Vec<(usize, usize)> = wm
                .detection
                .frames()
                .iter()
                .filter_map(|m| m.template.map(|t| (m.observed, t)))
                .collect();
            // A mark found clip-wide was found on one run of templates over the frames (one
            // offset, one rate): its frames sit where the run puts them even where compression
            // left too little of one to place it alone (a faint clip letterboxed kept 5 of 16
            // frames placeable, 3 to 13, and was called an excerpt).
            if wm.detection.clip_wide() {
                placed.extend_from_slice(wm.detection.alignment());
            }
            if let Some(n) = made.frames.map(|n| n as usize) {
                placed.retain(|p| p.1 < n);
            }
            let first = placed.iter().map(|p| p.1).min()?;
            let last = placed.iter().map(|p| p.1).max()?;
            // The file time of the frame that shows the first original frame.
            let observed = placed.iter().find(|p| p.1 == first).map_or(0, |p| p.0);
            let fps = wm
                .fps
                .filter(|f| *f > 0.0)
                .unwrap_or(f64::from(candor_diffusion::CLIP_FPS));
            (first, last, (observed * wm.read_every.max(1)) as f64 / fps)
        }
    };
    let shots = generation.map(|g| g.shots.as_slice()).unwrap_or_default();
    Some(timeline::ClipPlacement::new(
        first, last, made, shots, start_s, end_cut,
    ))
}

/// A segment's recovered credentials, in short.
fn segment_credentials(r: &RecoveredManifest, copied: bool) -> scan::SegmentCredentials {
    scan::SegmentCredentials {
        origin: r.origin(),
        accepted: r.accepted && !copied,
        copied,
        summary: if copied {
            format!("copied mark: {}", copied_evidence(r))
        } else {
            r.summary.clone()
        },
        prompt: r.manifest.generation.as_ref().map(|g| g.prompt.clone()),
        model: r.manifest.generation.as_ref().map(|g| g.model_name.clone()),
    }
}

/// Why a verified stored manifest was judged made for other content.
fn copied_evidence(r: &RecoveredManifest) -> String {
    let prompt = r
        .manifest
        .generation
        .as_ref()
        .map(|g| format!(" (\"{}\")", g.prompt))
        .unwrap_or_default();
    match &r.content_match {
        Some(m) => format!(
            "the payload resolves to {}{prompt}, signed for other content: layout correlation {:.2} (same content: >= {:.2}), colour distance {:.1} (<= {:.1}), structure {:.2} of the original's (>= {:.2}) over {} frames",
            r.origin(),
            m.layout_correlation,
            candor_media::fingerprint::MIN_LAYOUT_CORRELATION,
            m.chroma_distance,
            candor_media::fingerprint::MAX_CHROMA_DISTANCE,
            m.structure_ratio,
            candor_media::fingerprint::MIN_STRUCTURE_RATIO,
            m.pairs
        ),
        None => format!("the payload resolves to {}{prompt}, signed for other content", r.origin()),
    }
}
