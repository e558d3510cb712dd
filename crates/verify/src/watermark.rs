//! The watermark half of verification: video → frames at the model's size → latents → DDIM
//! inversion → watermark detection over a key ring, with a geometry search and the store's
//! candidate tests, all paid for in one false-positive budget.

use std::path::Path;
use std::time::Instant;

use candle_core::Tensor;
use candor_diffusion::pixels::rgb_to_tensor;
use candor_diffusion::{DiffusionModel, LatentCodec, WORK_SCALE};
use candor_media::fingerprint::ClipFingerprint;
use candor_media::{DecodeOptions, FrameReader};
use candor_watermark::{
    conclude_search, detect, detect_among_candidates, detect_by_decoding, identify_payload,
    payload_coherence, Coherence, DetectOptions, Detection, KeyRing, LatentShape, Payload,
    PayloadMatch, Refinement, TestBudget, WatermarkKey,
};
use serde::{Deserialize, Serialize};

use crate::geometry::{candidate_placements, place_frames, Placement};
use crate::scan::{scan_file, ScanOptions, ScanReport, Segment};
use crate::{Result, VerifyError};

/// How to look for the watermark.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WatermarkOptions {
    /// DDIM inversion steps (model evaluations; 0 reads the latent itself). Callers take the
    /// model's measured default, [`candor_diffusion::ModelConfig::default_inversion_steps`].
    pub inversion_steps: usize,
    /// When the frame as it is shows no watermark, try undoing crops, zooms and letterboxes
    /// ([`candidate_placements`]); the p-value is corrected for the placements tried.
    pub geometry_search: bool,
    /// At most this many frames are read (the watermark needs few).
    pub max_frames: usize,
    pub detect: DetectOptions,
    /// Payloads a faint mark may be compared with when it cannot be decoded on its own: the soft
    /// bindings of the manifest store ([`candor_store::ManifestStore::bindings`]).
    #[serde(skip)]
    pub candidate_payloads: Vec<Payload>,
    /// How a file longer than `max_frames` frames is scanned whole.
    #[serde(default)]
    pub scan: ScanOptions,
}

impl Default for WatermarkOptions {
    fn default() -> Self {
        Self {
            inversion_steps: 10,
            geometry_search: true,
            max_frames: 32,
            detect: DetectOptions::default(),
            candidate_payloads: Vec::new(),
            scan: ScanOptions::default(),
        }
    }
}

impl WatermarkOptions {
    /// The defaults measured for `model`: its inversion steps and calibrated channel weights.
    pub fn for_model(model: &candor_diffusion::ModelConfig) -> Self {
        let mut options = Self {
            inversion_steps: model.default_inversion_steps(),
            ..Self::default()
        };
        options.detect.channel_weights = model.detector_channel_weights.clone();
        options
    }
}

/// Seconds spent per stage.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StageTimes {
    pub decode: f64,
    pub encode: f64,
    pub inversion: f64,
    pub detection: f64,
    /// Ranking and testing the placements of the geometry search (0 when it did not run).
    pub geometry_search: f64,
}

/// What the geometry search found.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GeometryReport {
    /// Tests in the false-positive budget: the frame as it is, each candidate placement, and the
    /// candidate-assisted test when a store's payloads were given.
    pub placements_tested: usize,
    /// The placement the watermark was found under (`as is` when no search was needed).
    pub placement: Placement,
}

/// The watermark half of a verification report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WatermarkReport {
    pub present: bool,
    /// One sentence for people; "not found" always states the false-positive rate.
    pub summary: String,
    pub detection: Detection,
    /// Content id (hex) when the payload decoded.
    pub content_id: Option<String>,
    pub frames_read: usize,
    pub model: String,
    pub times: StageTimes,
    /// Present when the geometry search was on (see [`WatermarkOptions::geometry_search`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub geometry: Option<GeometryReport>,
    /// Present when the payload was too faint to decode and was picked from the candidates
    /// instead ([`WatermarkOptions::candidate_payloads`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload_match: Option<PayloadMatch>,
    /// The code bits' coherence against what the pilots predict, measured when a mark was found
    /// without a payload (see [`candor_watermark::Coherence`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coherence: Option<Coherence>,
    /// The key's pilots were found, but no payload could be read or matched: not reported as a
    /// mark (`present` is false), since a payload-less pattern is what averaging forges.
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub trace: bool,
    /// Set when the pattern found is judged forged or copied: `present` is then false.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forgery: Option<Forgery>,
    /// The fingerprint of the frames the mark was read from (under the placement it was found
    /// at), for checking a recovered manifest against this content.
    #[serde(skip)]
    pub observed: Option<ClipFingerprint>,
    /// What [`WatermarkReport::observed_under_placements`] needs: the working-scale frames and
    /// the geometry search's placements (empty when the search was off).
    #[serde(skip)]
    pub(crate) placements: (Frames, Vec<Placement>, usize),
    /// The tests this check's false-positive rate was split between.
    #[serde(skip)]
    pub(crate) tests: usize,
    /// Which seconds of the file carry which Candor clip (a file longer than one clip is
    /// scanned whole; see [`crate::scan`]). Empty for a file checked as one clip.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub segments: Vec<Segment>,
    /// What the whole-file scan looked at, when the file was scanned.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub scan: Option<ScanReport>,
    /// What a platform did to the clip, named from the evidence ("frame rate converted 8 → 25
    /// fps", "resized: shown at 1280×720 (made at 128×128)", "centre crop 80 % undone"):
    /// transforms, not edits.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub transforms: Vec<String>,
    /// Set when the video stops decoding part-way (truncated or corrupt): what decoded was
    /// checked, and this says how much that was.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub damaged: Option<String>,
    /// The file's frame rate, and every how many frames one was read (fast video is read at no
    /// more than [`crate::scan::ScanOptions::max_fps`]).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub fps: Option<f64>,
    #[serde(default = "one")]
    pub read_every: usize,
    /// Where the marked frames sit in their clip: an excerpt's place, a storyboard's shots.
    /// Set by the verifier once the credentials (embedded or recovered) are known.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub placement: Option<crate::timeline::ClipPlacement>,
    /// Edits the credentials declare with frames in this file, each checked against the mark.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub edits: Vec<crate::edits::DeclaredEdit>,
    /// The initial-noise estimate the mark was read from (under its placement) and the key
    /// variant that found it: what checks an edit's own mark in its region
    /// ([`crate::edits`]). `None` when no mark was found.
    #[serde(skip)]
    pub(crate) latent: Option<(Vec<f32>, LatentShape, WatermarkKey)>,
    /// Each segment's own check, in the order of `segments` (for recovering its credentials).
    #[serde(skip)]
    pub(crate) segment_reports: Vec<WatermarkReport>,
}

impl WatermarkReport {
    /// The (observed frame, original frame) pairs the mark was aligned on: the presence test's,
    /// else every placed frame's, else frame for frame.
    pub fn alignment_pairs(&self) -> Vec<(usize, usize)> {
        let aligned = self.detection.alignment();
        if !aligned.is_empty() {
            return aligned.to_vec();
        }
        let placed: Vec<(usize, usize)> = self
            .detection
            .frames()
            .iter()
            .filter_map(|m| m.template.map(|t| (m.observed, t)))
            .collect();
        if !placed.is_empty() {
            return placed;
        }
        (0..self.frames_read).map(|i| (i, i)).collect()
    }
}

impl WatermarkReport {
    /// Fingerprints of the working-scale frames under each of the geometry search's placements:
    /// a crop the mark survives as it is still moves the picture. Computed on demand (recovery
    /// needs them only when the placement found does not match).
    pub fn observed_under_placements(&self) -> Vec<(Placement, ClipFingerprint)> {
        let (work, placements, native) = &self.placements;
        let side = native * WORK_SCALE;
        placements
            .iter()
            .filter_map(|p| {
                let placed = place_frames(work, side, side, p, *native);
                Some((p.clone(), ClipFingerprint::of_frames(&placed, *native)?))
            })
            .collect()
    }
}

fn one() -> usize {
    1
}

/// A Candor pattern that is not an authentic mark of this content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Forgery {
    pub kind: ForgeryKind,
    /// What showed it, in words.
    pub evidence: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ForgeryKind {
    /// An authentic clip's mark on other content: its payload resolves to credentials made for a
    /// different picture.
    Copied,
    /// The key's pilot pattern without a payload behind it (an average of many clips' marks).
    ForgedPattern,
}

/// Estimates the initial noise of frames already at the model's size.
pub fn estimate_noise(model: &DiffusionModel, frames: &[Vec<u8>], steps: usize) -> Result<Tensor> {
    let x = rgb_to_tensor(frames, model.config.size, &model.device)?;
    let latents = model.codec.encode(&x)?;
    Ok(model.invert(&latents, steps, |_, _| {})?)
}

/// Detects the watermark in a noise estimate `[F, C, h, w]`.
pub fn detect_in_noise(
    noise: &Tensor,
    ring: &KeyRing,
    options: &DetectOptions,
) -> Result<Detection> {
    let (values, shape) = latent_values(noise)?;
    Ok(detect(ring, &values, shape, options)?)
}

/// A noise estimate `[F, C, h, w]` as the flat values and shape the watermark crate reads.
fn latent_values(noise: &Tensor) -> Result<(Vec<f32>, LatentShape)> {
    let (f, c, h, w) = noise.dims4()?;
    Ok((
        noise.flatten_all()?.to_vec1()?,
        LatentShape::new(f, c, h, w),
    ))
}

/// The candidate-assisted test runs when the other tests' p-value is at most 10^this…
const ASSISTED_HINT_LOG10_P: f64 = -2.0;
/// …and, without any hint, whenever the store offers at most this many payloads: a mark whose
/// pilots were cancelled (the mean of many clips of its template variant subtracted) leaves no
/// hint in them, and only its codeword, compared with the store's, finds it. Above this many the
/// pass over the whole store costs more than a verify should (about a millisecond a payload).
const ALWAYS_ASSISTED_CANDIDATES: usize = 2048;

/// Frames read by the geometry search's ranking pass, and at most this many inversion steps: it
/// only has to tell the right placement from the wrong ones.
const SEARCH_FRAMES: usize = 8;
/// The same in each window of a whole-file scan.
const SCAN_SEARCH_FRAMES: usize = 8;
/// In a scan window, the best-ranked placement is tested in full only when its ranking p-value
/// (four frames, before corrections) is at most 10^this. Clean windows reach it about once in
/// 300 (the best of 29 rankings); a clip covering half a window ranks below 10^-10.
const SCAN_RANK_HINT_LOG10_P: f64 = -3.0;
const SEARCH_INVERSION_STEPS: usize = 2;

/// Looks for the watermark in a video file: a clip as it is, a longer file scanned whole
/// ([`crate::scan`]): its report then lists the segments found and describes the strongest.
pub fn check_file(
    path: &Path,
    model: &DiffusionModel,
    ring: &KeyRing,
    options: &WatermarkOptions,
) -> Result<WatermarkReport> {
    let scanned = scan_file(path, model, ring, options)?;
    let mut report = scanned.report;
    report.segments = scanned.segments;
    report.segment_reports = scanned.segment_reports;
    report.scan = scanned.scan;
    Ok(report)
}

/// Packed RGB24 frames, one `Vec` each.
pub type Frames = Vec<Vec<u8>>;

/// Decodes up to `max_frames` frames of a video (all with `None`) as the detector reads them:
/// area-averaged to `native`×`native` (the model's size) and, with `work`, also to
/// [`WORK_SCALE`] × that (the geometry search's input; empty otherwise). Any aspect is stretched
/// to square: placements are in fractions of the frame, so the stretch does not matter.
pub fn read_frames(
    path: &Path,
    native: usize,
    max_frames: Option<usize>,
    work: bool,
) -> Result<(Frames, Frames)> {
    let work_size = native * WORK_SCALE;
    let reader = FrameReader::open(
        path,
        DecodeOptions {
            stride: 1,
            max_frames,
            size: None,
            ..DecodeOptions::default()
        },
    )?;
    let (mut frames, mut large) = (Vec::new(), Vec::new());
    for frame in reader {
        let frame = frame?;
        frames.push(frame.resized_area(native, native));
        if work {
            large.push(frame.resized_area(work_size, work_size));
        }
    }
    Ok((frames, large))
}

/// Looks for the watermark in decoded frames: `native` at the model's size, `work` at 4× it (the
/// geometry search's input; may be empty when the search is off). `times` carries the decode time.
pub fn check_frames(
    frames: &[Vec<u8>],
    work: &[Vec<u8>],
    model: &DiffusionModel,
    ring: &KeyRing,
    options: &WatermarkOptions,
    times: StageTimes,
) -> Result<WatermarkReport> {
    check_frames_in(frames, work, model, ring, options, times, Scope::CLIP)
}

/// Where a clip check sits in a file: how many windows share the file's false-positive rate,
/// and whether its frames are kept for recovery (a scan's windows are not recovered from).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Scope {
    pub windows: usize,
    pub keep_frames: bool,
}

impl Scope {
    /// A file checked as one clip.
    pub const CLIP: Scope = Scope {
        windows: 1,
        keep_frames: true,
    };
}

/// [`check_frames`] on one of `windows` windows of a file: every p-value is corrected for the
/// tests of all of them.
pub(crate) fn check_frames_in(
    frames: &[Vec<u8>],
    work: &[Vec<u8>],
    model: &DiffusionModel,
    ring: &KeyRing,
    options: &WatermarkOptions,
    mut times: StageTimes,
    scope: Scope,
) -> Result<WatermarkReport> {
    let Scope {
        windows,
        keep_frames,
    } = scope;
    if frames.is_empty() {
        return Err(VerifyError::NoFrames {
            path: std::path::PathBuf::new(),
        });
    }
    let t = Instant::now();
    let x = rgb_to_tensor(frames, model.config.size, &model.device)?;
    let latents = model.codec.encode(&x)?;
    times.encode = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let noise = model.invert(&latents, options.inversion_steps, |_, _| {})?;
    times.inversion = t.elapsed().as_secs_f64();
    let t = Instant::now();
    // Every placement that can produce a detection is one test, and with payloads to compare
    // against the candidate-assisted test is one more: the watermark crate splits the
    // false-positive rate between them and corrects the p-value once, at the end.
    let candidates = if options.geometry_search && !work.is_empty() {
        candidate_placements()
    } else {
        Vec::new()
    };
    let assisted = !options.candidate_payloads.is_empty();
    let budget = TestBudget {
        placements: candidates.len() + 1,
        candidate_test: assisted,
        // Runs of templates from the first frames are what the decoded test reads: a clip
        // checked whole starts where its clip starts, a scan's window almost never does (and the
        // scan would pay its 0.1 s in every clean window).
        decoded_test: windows <= 1,
        windows,
    };
    let tests = budget.tests();
    let per_test = budget.per_test(&options.detect);
    let mut detection = detect_in_noise(&noise, ring, &per_test)?;
    times.detection = t.elapsed().as_secs_f64();
    let mut placement = Placement::IDENTITY;
    let mut noise = noise;
    // A mark found as is but too faint to read, or with regions that lost it, may be a moved
    // grid (a slight turn, a small crop) seen where it still lines up: search too, and keep the
    // placement that explains the picture better.
    let faint = detection.present() && detection.payload().is_none();
    let patchy = detection.present()
        && detection
            .spatial()
            .is_some_and(|m| m.tampered.iter().any(|&t| t));
    if (!detection.present() || faint || patchy) && !candidates.is_empty() && !work.is_empty() {
        let t = Instant::now();
        if let Some((found, best, moved)) =
            search_geometry(model, ring, &per_test, options, work, &candidates, windows)?
        {
            if found.log10_p_value() < detection.log10_p_value() {
                detection = found;
                placement = best;
                noise = moved;
            }
        }
        times.geometry_search = t.elapsed().as_secs_f64();
    }
    // Still nothing: if the clip carries one of the store's payloads, every element's sign is
    // known, and counting all of them may find a mark too faint for the pilots alone.
    // It costs a pass over the whole store, so with a large store it runs only where the pilots
    // already hint at a mark (p ≤ 0.01 before corrections; about 1 % of clean clips); with a
    // small one it always runs (pilots cancelled by an attacker hint at nothing). The union bound
    // over all tests holds whatever decides which of them run.
    let mut refinement = Refinement::None;
    if !detection.present()
        && assisted
        && (detection.log10_p_value() <= ASSISTED_HINT_LOG10_P
            || options.candidate_payloads.len() <= ALWAYS_ASSISTED_CANDIDATES)
    {
        let t = Instant::now();
        let (values, shape) = latent_values(&noise)?;
        if let Some(found) =
            detect_among_candidates(ring, &values, shape, &options.candidate_payloads, &per_test)?
        {
            refinement = Refinement::Assisted {
                found,
                candidates: options.candidate_payloads.len(),
            };
        }
        times.detection += t.elapsed().as_secs_f64();
    }
    // Still nothing: a mark whose pilots were cancelled (by subtracting the mean of public clips
    // of its template variant) still carries its own codeword, which decodes without a store.
    if budget.decoded_test && !detection.present() && refinement == Refinement::None {
        let t = Instant::now();
        let (values, shape) = latent_values(&noise)?;
        if let Some(found) = detect_by_decoding(ring, &values, shape, &per_test)? {
            refinement = Refinement::Decoded(found);
        }
        times.detection += t.elapsed().as_secs_f64();
    }
    // A mark too faint to decode may still single out one of the payloads the store knows.
    if detection.present()
        && refinement == Refinement::None
        && detection.payload().is_none()
        && !options.candidate_payloads.is_empty()
    {
        let (values, shape) = latent_values(&noise)?;
        if let Some(m) = identify_payload(
            ring,
            &detection,
            &values,
            shape,
            &options.candidate_payloads,
            &options.detect,
        )? {
            refinement = Refinement::Identified(m);
        }
    }
    let (detection, payload_match) =
        conclude_search(detection, refinement, ring, budget, &options.detect);
    // A mark found without a payload: do its code bits carry it as its pilots do? A pattern made
    // by averaging many clips' marks has the pilots and no codeword.
    let mut coherence = None;
    if detection.present() && detection.payload().is_none() {
        let (values, shape) = latent_values(&noise)?;
        coherence = payload_coherence(ring, &detection, &values, shape)?;
    }
    let forgery = if detection.foreign_variant() {
        // Every clip is marked with the template variant its payload chooses; a payload read
        // under another variant's pilots is a pattern the key's holder never embeds.
        Some(Forgery {
            kind: ForgeryKind::ForgedPattern,
            evidence: format!(
                "the key's pilots are there (p = 10^{:.0}), and a payload decodes, but one this key never marks with these pilots (another template variant)",
                detection.log10_p_value()
            ),
        })
    } else {
        coherence.filter(|c| c.looks_forged()).map(|c| Forgery {
            kind: ForgeryKind::ForgedPattern,
            evidence: format!(
                "the key's pilots are there (p = 10^{:.0}) but the code bits are not: they show {:.1} sd of the coherence every authentic mark carries, where the pilots predict {:.1} sd",
                detection.log10_p_value(),
                c.observed_z,
                c.predicted_z
            ),
        })
    };
    let geometry = options.geometry_search.then(|| GeometryReport {
        placements_tested: tests,
        placement: placement.clone(),
    });
    let content_id = detection.payload().map(|p| p.hex());
    let undone = if placement == Placement::IDENTITY {
        String::new()
    } else {
        format!(", after undoing a {}", placement.name)
    };
    let summary = if let Some(f) = &forgery {
        format!("Forged Candor pattern, not a mark: {}", f.evidence)
    } else if detection.present() {
        match (&content_id, &payload_match) {
            (Some(id), Some(m)) => format!(
                "Candor watermark found (p = 10^{:.0}{undone}); too faint to decode, it matches content id {id} of the {} in the store (p = 10^{:.0})",
                detection.log10_p_value(), m.candidates, m.log10_p_value
            ),
            (Some(id), None) => format!(
                "Candor watermark found: content id {id} (p = 10^{:.0}{undone})",
                detection.log10_p_value()
            ),
            (None, _) => format!(
                "A trace of the key's pattern (p = 10^{:.0}{undone}) with no payload read or matched: every authentic mark carries one, and a trace alone can be forged from public clips, so it is not reported as a mark",
                detection.log10_p_value()
            ),
        }
    } else {
        format!(
            "No Candor watermark found (false-positive rate of this check: {:.0e} per clip, {} key(s){})",
            detection.false_positive_rate(),
            detection.keys_tried(),
            if options.geometry_search {
                format!(", {tests} tests")
            } else {
                String::new()
            }
        )
    };
    // What the mark was read from, as the recovery check compares it with a stored fingerprint.
    // Only a found mark is ever compared with a signed fingerprint.
    let observed = if !detection.present() {
        None
    } else if placement == Placement::IDENTITY || work.is_empty() {
        ClipFingerprint::of_frames(frames, model.config.size)
    } else {
        let (native, side) = (model.config.size, model.config.size * WORK_SCALE);
        ClipFingerprint::of_frames(&place_frames(work, side, side, &placement, native), native)
    };
    // A mark is reported only with the payload it carries: the pilots alone are what averaging
    // many public clips reproduces.
    let trace = detection.present() && forgery.is_none() && content_id.is_none();
    let latent = match (detection.present(), ring.keys().get(detection.key_index())) {
        (true, Some(key)) => {
            let (values, shape) = latent_values(&noise)?;
            Some((values, shape, key.clone()))
        }
        _ => None,
    };
    Ok(WatermarkReport {
        present: detection.present() && forgery.is_none() && content_id.is_some(),
        trace,
        summary,
        content_id,
        frames_read: frames.len(),
        model: model.config.name.clone(),
        detection,
        times,
        geometry,
        payload_match,
        coherence,
        forgery,
        observed,
        // A scan's windows are not recovered from: they keep no copy of their frames.
        placements: (
            if keep_frames {
                work.to_vec()
            } else {
                Vec::new()
            },
            candidates,
            model.config.size,
        ),
        tests,
        segments: Vec::new(),
        scan: None,
        transforms: Vec::new(),
        damaged: None,
        fps: None,
        read_every: 1,
        placement: None,
        edits: Vec::new(),
        latent,
        segment_reports: Vec::new(),
    })
}

/// Ranks the placements by a one-step inversion of the first frames, then runs the full
/// detection under the best one. Returns it when the watermark is found there.
fn search_geometry(
    model: &DiffusionModel,
    ring: &KeyRing,
    per_test: &DetectOptions,
    options: &WatermarkOptions,
    work: &[Vec<u8>],
    candidates: &[Placement],
    windows: usize,
) -> Result<Option<(Detection, Placement, Tensor)>> {
    let native = model.config.size;
    let side = native * WORK_SCALE;
    let render = |frames: &[Vec<u8>], p: &Placement| -> Vec<Vec<u8>> {
        place_frames(frames, side, side, p, native)
    };
    // A clip checked whole is ranked on its first frames; a window of a longer file on frames
    // spread over it (a clip may fill only part of the window), and fewer of them: the scan runs
    // the search on every window.
    let head: Vec<Vec<u8>> = if windows <= 1 {
        work[..work.len().min(SEARCH_FRAMES)].to_vec()
    } else {
        let k = work.len().clamp(1, SCAN_SEARCH_FRAMES);
        (0..k).map(|i| work[i * work.len() / k].clone()).collect()
    };
    let head = &head[..];
    // Ranking compares placements with each other. A scan's windows rank on the frame-by-frame
    // test alone (the clip-wide test is the costly half, run on every clean window); a clip
    // checked whole keeps it: a faint mark (a crop to 55 %) is placed only by it.
    let ranking = DetectOptions {
        clip_wide: windows <= 1,
        ..per_test.clone()
    };
    let mut best: Option<(f64, &Placement)> = None;
    for p in candidates {
        let steps = options.inversion_steps.min(SEARCH_INVERSION_STEPS);
        let noise = estimate_noise(model, &render(head, p), steps)?;
        let score = detect_in_noise(&noise, ring, &ranking)?.log10_p_value();
        if best.is_none_or(|(s, _)| score < s) {
            best = Some((score, p));
        }
    }
    let Some((score, p)) = best else {
        return Ok(None);
    };
    // In a scan, most windows hold no mark at all: the full test under the best placement runs
    // only where the ranking already points at one (a skipped test cannot raise the rate).
    if windows > 1 && score > SCAN_RANK_HINT_LOG10_P {
        return Ok(None);
    }
    let noise = estimate_noise(model, &render(work, p), options.inversion_steps)?;
    let (_, _, h, w) = noise.dims4()?;
    let within = DetectOptions {
        observed_area: p.observed_area(h, w),
        ..per_test.clone()
    };
    let detection = detect_in_noise(&noise, ring, &within)?;
    Ok(detection.present().then(|| (detection, p.clone(), noise)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_for_a_model_take_its_measured_settings() {
        let mut config = candor_diffusion::ModelConfig::tiny("t");
        let plain = WatermarkOptions::for_model(&config);
        assert_eq!(plain.inversion_steps, 10);
        assert_eq!(plain.detect.channel_weights, None);
        config.detector_inversion_steps = Some(0);
        config.detector_channel_weights = Some(vec![0.5; 48]);
        let measured = WatermarkOptions::for_model(&config);
        assert_eq!(measured.inversion_steps, 0);
        assert_eq!(measured.detect.channel_weights, Some(vec![0.5; 48]));
        assert!(measured.candidate_payloads.is_empty());
    }
}
