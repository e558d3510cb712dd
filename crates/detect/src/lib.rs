//! The watermark half of verification: video → frames at the model's resolution → latents →
//! DDIM inversion (empty prompt) → watermark detection over a key ring → manifest recovery from
//! the store when the file's own credentials are gone.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod geometry;
mod html;
mod verdict;

pub use geometry::{candidate_placements, place, Placement};
pub use html::{escape, render_html};

pub use verdict::{
    add_watermark, describe_region, verify_file, FileReport, RecoveredManifest, WatermarkHalf,
    WatermarkSetup,
};

use std::path::Path;
use std::time::Instant;

use candle_core::Tensor;
use candor_diffusion::{DiffusionModel, LatentCodec};
use candor_media::{DecodeOptions, FrameReader, RgbFrame};
use candor_store::{ManifestStore, StoredManifest};
use candor_watermark::{
    detect, detect_among_candidates, identify_payload, DetectOptions, Detection, KeyRing,
    LatentShape, Payload, PayloadMatch, SOFT_BINDING_ALG,
};
use serde::{Deserialize, Serialize};

/// Errors of detection.
#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    #[error(transparent)]
    Media(#[from] candor_media::MediaError),
    #[error(transparent)]
    Model(#[from] candor_diffusion::DiffusionError),
    #[error(transparent)]
    Tensor(#[from] candle_core::Error),
    #[error(transparent)]
    Watermark(#[from] candor_watermark::WatermarkError),
    #[error(transparent)]
    Store(#[from] candor_store::StoreError),
    #[error("{0}")]
    Input(String),
}

pub type Result<T> = std::result::Result<T, DetectError>;

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
}

impl Default for WatermarkOptions {
    fn default() -> Self {
        Self {
            inversion_steps: 10,
            geometry_search: true,
            max_frames: 32,
            detect: DetectOptions::default(),
            candidate_payloads: Vec::new(),
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
}

/// Area-average (or bilinear, for non-integer factors) resize of an RGB24 frame to `size×size`.
pub fn resize_to(frame: &RgbFrame, size: u32) -> Vec<u8> {
    let (w, h, s) = (frame.width as usize, frame.height as usize, size as usize);
    let mut out = vec![0u8; s * s * 3];
    for oy in 0..s {
        let (y0, y1) = (oy * h / s, ((oy + 1) * h / s).max(oy * h / s + 1).min(h));
        for ox in 0..s {
            let (x0, x1) = (ox * w / s, ((ox + 1) * w / s).max(ox * w / s + 1).min(w));
            for c in 0..3 {
                let mut sum = 0u32;
                for y in y0..y1 {
                    for x in x0..x1 {
                        sum += u32::from(frame.data[(y * w + x) * 3 + c]);
                    }
                }
                let n = ((y1 - y0) * (x1 - x0)).max(1) as u32;
                out[(oy * s + ox) * 3 + c] = ((sum + n / 2) / n) as u8;
            }
        }
    }
    out
}

/// RGB24 frames at native size → `[F, 3, s, s]` in [-1, 1].
pub fn frames_tensor(
    frames: &[Vec<u8>],
    size: usize,
    device: &candle_core::Device,
) -> Result<Tensor> {
    let plane = size * size;
    let mut data = vec![0f32; frames.len() * 3 * plane];
    for (f, rgb) in frames.iter().enumerate() {
        for p in 0..plane {
            for c in 0..3 {
                data[(f * 3 + c) * plane + p] = f32::from(rgb[p * 3 + c]) / 127.5 - 1.0;
            }
        }
    }
    Ok(Tensor::from_vec(
        data,
        (frames.len(), 3, size, size),
        device,
    )?)
}

/// Estimates the initial noise of frames already at the model's size.
pub fn estimate_noise(model: &DiffusionModel, frames: &[Vec<u8>], steps: usize) -> Result<Tensor> {
    let x = frames_tensor(frames, model.config.size, &model.device)?;
    let latents = model.codec.encode(&x)?;
    Ok(model.invert(&latents, steps, |_, _| {})?)
}

/// Detects the watermark in a noise estimate `[F, C, h, w]`.
pub fn detect_in_noise(
    noise: &Tensor,
    ring: &KeyRing,
    options: &DetectOptions,
) -> Result<Detection> {
    let (f, c, h, w) = noise.dims4()?;
    let values: Vec<f32> = noise.flatten_all()?.to_vec1()?;
    Ok(detect(
        ring,
        &values,
        LatentShape::new(f, c, h, w),
        options,
    )?)
}

/// The candidate-assisted test runs only when the other tests' p-value is at most 10^this.
const ASSISTED_HINT_LOG10_P: f64 = -2.0;

/// Frames read by the geometry search's ranking pass, and at most this many inversion steps: it
/// only has to tell the right placement from the wrong ones.
const SEARCH_FRAMES: usize = 8;
const SEARCH_INVERSION_STEPS: usize = 2;

/// Looks for the watermark in a video file.
pub fn check_file(
    path: &Path,
    model: &DiffusionModel,
    ring: &KeyRing,
    options: &WatermarkOptions,
) -> Result<WatermarkReport> {
    let mut times = StageTimes::default();
    let t = Instant::now();
    let native = model.config.size as u32;
    // The geometry search works on frames kept at 4× the model's size (any aspect is stretched to
    // square here; placements are in fractions of the frame, so the stretch does not matter).
    let work_size = native * 4;
    let reader = FrameReader::open(
        path,
        DecodeOptions {
            stride: 1,
            max_frames: Some(options.max_frames.max(1)),
            size: None,
        },
    )?;
    let mut frames = Vec::new();
    let mut work = Vec::new();
    for frame in reader {
        let frame = frame?;
        frames.push(resize_to(&frame, native));
        if options.geometry_search {
            work.push(resize_to(&frame, work_size));
        }
    }
    times.decode = t.elapsed().as_secs_f64();
    if frames.is_empty() {
        return Err(DetectError::Input(format!("{}: no frames", path.display())));
    }
    check_frames(&frames, &work, model, ring, options, times)
}

/// Looks for the watermark in decoded frames: `native` at the model's size, `work` at 4× it (the
/// geometry search's input; may be empty when the search is off). `times` carries the decode time.
pub fn check_frames(
    frames: &[Vec<u8>],
    work: &[Vec<u8>],
    model: &DiffusionModel,
    ring: &KeyRing,
    options: &WatermarkOptions,
    mut times: StageTimes,
) -> Result<WatermarkReport> {
    if frames.is_empty() {
        return Err(DetectError::Input("no frames".into()));
    }
    let t = Instant::now();
    let x = frames_tensor(frames, model.config.size, &model.device)?;
    let latents = model.codec.encode(&x)?;
    times.encode = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let noise = model.invert(&latents, options.inversion_steps, |_, _| {})?;
    times.inversion = t.elapsed().as_secs_f64();
    let t = Instant::now();
    // Every placement that can produce a detection is one test: split the false-positive rate
    // evenly between them (Bonferroni), and report p-values multiplied back.
    let candidates = if options.geometry_search && !work.is_empty() {
        candidate_placements()
    } else {
        Vec::new()
    };
    // With payloads to compare against, the candidate-assisted test is one more.
    let assisted = !options.candidate_payloads.is_empty();
    let tests = candidates.len() + 1 + usize::from(assisted);
    let mut per_test = options.detect.clone();
    per_test.threshold = options.detect.threshold / tests as f64;
    let mut detection = detect_in_noise(&noise, ring, &per_test)?;
    times.detection = t.elapsed().as_secs_f64();
    let mut placement = Placement::IDENTITY;
    let mut noise = noise;
    // A mark found as is but too faint to read may be a moved grid seen at its edges: search too.
    let faint = detection.present && detection.payload.is_none();
    if (!detection.present || faint) && !candidates.is_empty() && !work.is_empty() {
        let t = Instant::now();
        if let Some((found, best, moved)) =
            search_geometry(model, ring, &per_test, options, work, &candidates)?
        {
            if found.log10_p_value < detection.log10_p_value {
                detection = found;
                placement = best;
                noise = moved;
            }
        }
        times.geometry_search = t.elapsed().as_secs_f64();
    }
    // Still nothing: if the clip carries one of the store's payloads, every element's sign is
    // known, and counting all of them may find a mark too faint for the pilots alone.
    // It costs a pass over the whole store, so it runs only where the pilots already hint at a
    // mark (p ≤ 0.01 before corrections; about 1 % of clean clips). The union bound over all tests
    // holds whatever decides which of them run.
    let mut payload_match = None;
    if !detection.present && assisted && detection.log10_p_value <= ASSISTED_HINT_LOG10_P {
        let t = Instant::now();
        let (f, c, h, w) = noise.dims4()?;
        let values: Vec<f32> = noise.flatten_all()?.to_vec1()?;
        if let Some(found) = detect_among_candidates(
            ring,
            &values,
            LatentShape::new(f, c, h, w),
            &options.candidate_payloads,
            &per_test,
        )? {
            detection.present = true;
            detection.log10_p_value = found.log10_p_value;
            detection.payload = Some(found.payload);
            detection.key_index = found.key_index;
            if let Some(key) = ring.keys().get(found.key_index) {
                detection.key_id = key.id().to_string();
            }
            detection.bit_error_rate = found.bit_error_rate;
            detection.clip_wide = true;
            detection.alignment = found.alignment;
            for m in &mut detection.frames {
                m.template = None;
                m.unreadable = true;
            }
            payload_match = Some(PayloadMatch {
                payload: found.payload,
                log10_p_value: found.log10_p_value,
                candidates: options.candidate_payloads.len(),
                bit_error_rate: found.bit_error_rate,
            });
        }
        times.detection += t.elapsed().as_secs_f64();
    }
    // A mark too faint to decode may still single out one of the payloads the store knows.
    if detection.present
        && payload_match.is_none()
        && detection.payload.is_none()
        && !options.candidate_payloads.is_empty()
    {
        let (f, c, h, w) = noise.dims4()?;
        let values: Vec<f32> = noise.flatten_all()?.to_vec1()?;
        payload_match = identify_payload(
            ring,
            &detection,
            &values,
            LatentShape::new(f, c, h, w),
            &options.candidate_payloads,
            &options.detect,
        )?;
        if let Some(m) = &payload_match {
            detection.payload = Some(m.payload);
            detection.bit_error_rate = m.bit_error_rate;
        }
    }
    let adjust = (tests as f64).log10();
    detection.log10_p_value = (detection.log10_p_value + adjust).min(0.0);
    detection.p_value = 10f64.powf(detection.log10_p_value);
    detection.false_positive_rate = options.detect.threshold;
    let geometry = options.geometry_search.then(|| GeometryReport {
        placements_tested: tests,
        placement: placement.clone(),
    });
    let content_id = detection.payload.map(|p| p.hex());
    let undone = if placement == Placement::IDENTITY {
        String::new()
    } else {
        format!(", after undoing a {}", placement.name)
    };
    let summary = if detection.present {
        match (&content_id, &payload_match) {
            (Some(id), Some(m)) => format!(
                "Candor watermark found (p = 10^{:.0}{undone}); too faint to decode, it matches content id {id} of the {} in the store (p = 10^{:.0})",
                detection.log10_p_value, m.candidates, m.log10_p_value
            ),
            (Some(id), None) => format!(
                "Candor watermark found: content id {id} (p = 10^{:.0}{undone})",
                detection.log10_p_value
            ),
            (None, _) => format!(
                "Candor watermark found (p = 10^{:.0}{undone}); payload not readable",
                detection.log10_p_value
            ),
        }
    } else {
        format!(
            "No Candor watermark found (false-positive rate of this check: {:.0e} per clip, {} key(s){})",
            detection.false_positive_rate,
            detection.keys_tried,
            if options.geometry_search {
                format!(", {tests} tests")
            } else {
                String::new()
            }
        )
    };
    Ok(WatermarkReport {
        present: detection.present,
        summary,
        content_id,
        frames_read: frames.len(),
        model: model.config.name.clone(),
        detection,
        times,
        geometry,
        payload_match,
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
) -> Result<Option<(Detection, Placement, Tensor)>> {
    let native = model.config.size;
    let side = native * 4;
    let render = |frames: &[Vec<u8>], p: &Placement| -> Vec<Vec<u8>> {
        frames
            .iter()
            .map(|f| place(f, side, side, p, native))
            .collect()
    };
    let head = &work[..work.len().min(SEARCH_FRAMES)];
    let mut best: Option<(f64, &Placement)> = None;
    for p in candidates {
        let steps = options.inversion_steps.min(SEARCH_INVERSION_STEPS);
        let noise = estimate_noise(model, &render(head, p), steps)?;
        let score = detect_in_noise(&noise, ring, per_test)?.log10_p_value;
        if best.is_none_or(|(s, _)| score < s) {
            best = Some((score, p));
        }
    }
    let Some((_, p)) = best else {
        return Ok(None);
    };
    let noise = estimate_noise(model, &render(work, p), options.inversion_steps)?;
    let (_, _, h, w) = noise.dims4()?;
    let within = DetectOptions {
        observed_area: p.observed_area(h, w),
        ..per_test.clone()
    };
    let detection = detect_in_noise(&noise, ring, &within)?;
    Ok(detection.present.then(|| (detection, p.clone(), noise)))
}

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
    match report.detection.payload {
        Some(p) if report.present => Ok(store.by_binding(SOFT_BINDING_ALG, &p.to_bytes())?),
        _ => Ok(Vec::new()),
    }
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
