//! Detection: from an estimate of the initial noise back to the payload, with an exact p-value.
//!
//! 1. **Alignment** (pilot A): every observed frame is compared with every candidate template
//!    index; the best match says which frame of the original clip it was.
//! 2. **Presence** (pilot B): given that alignment, the B-pilot signs of the aligned templates are
//!    compared with the observation. Under "no watermark with this key" each comparison is a fair
//!    coin, independent of everything used to choose the alignment (the B keystream is), so the
//!    number of agreements is exactly Binomial(N, 1/2) and its tail is the p-value. Only one frame
//!    per template is counted, so repeated frames cannot inflate the count.
//! 3. **Payload**: soft values (sums of signed latent values) per code bit → Viterbi → CRC.
//! 4. **Tamper maps**: with the payload known, every element's expected sign is known: frames are
//!    re-matched on all elements (dropped / inserted / reordered frames) and agreement is mapped per
//!    spatial block (regions whose watermark was replaced).
//!
//! A key ring of K keys is K chances of a false match: p-values are multiplied by K.

mod decode;
mod observe;
mod outcome;
mod presence;
mod region;
mod spatial;
mod temporal;
mod thresholds;

use serde::{Deserialize, Serialize};

use crate::code;
use crate::key::{KeyRing, WatermarkKey};
use crate::keystream::{agreement, template_bits, Layout};
use crate::shape::{LatentShape, WatermarkError};
use crate::stats::standard_score;

pub use decode::{identify_payload, payload_coherence, Coherence, PayloadMatch};
pub use outcome::{
    conclude_search, Detection, FrameMatch, Refinement, SpatialMap, TemporalEvent, TestBudget,
};
pub use presence::{detect_among_candidates, detect_by_decoding, CandidateDetection};
pub use thresholds::{OPERATING_FPR, PAYLOAD_MATCH_THRESHOLD};

use observe::{expected_signs, ObservedFrame};
use outcome::conclude;
use presence::{channel_reliability, choose_frames, Presence};
pub use region::{region_agreement, RegionAgreement};
use spatial::{spatial_map, BlockGrid};
pub use temporal::Retiming;
use temporal::{mark_other_clips, match_frames, retiming, temporal_events_retimed};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DetectOptions {
    /// Largest template index searched is `max_templates - 1`; `None` searches
    /// [`default_templates`]: every frame of the longest clip's timeline.
    pub max_templates: Option<usize>,
    /// Call the watermark present when the ring-adjusted p-value is at most this.
    pub threshold: f64,
    /// Spatial block size (latent pixels) for the tamper map; `None` picks `min(h, w) / 8`.
    pub block: Option<usize>,
    /// Weight of each latent channel in the clip-wide test, calibrated on attacked clips (how
    /// well each channel keeps its signs); `None` weighs all channels equally.
    #[serde(default)]
    pub channel_weights: Option<Vec<f32>>,
    /// The latent rectangle `[y0, y1, x0, x1)` that holds observed picture. Where a geometry
    /// search filled in a cropped-away border, the positions outside carry nothing to compare and
    /// are left off the tamper map (they would read as replaced). `None`: the whole latent.
    #[serde(default)]
    pub observed_area: Option<[usize; 4]>,
    /// Run the clip-wide presence test too (for a mark too faint to place single frames). A
    /// caller that only ranks candidates against each other may leave it off: it is the costly
    /// half of presence.
    #[serde(default = "yes")]
    pub clip_wide: bool,
}

fn yes() -> bool {
    true
}

impl Default for DetectOptions {
    fn default() -> Self {
        Self {
            max_templates: None,
            threshold: OPERATING_FPR,
            block: None,
            channel_weights: None,
            observed_area: None,
            clip_wide: true,
        }
    }
}

/// Precomputed state for one key and frame size: the layout and the sign templates.
/// Reuse it to verify many latents of the same shape.
pub struct Detector {
    key: WatermarkKey,
    layout: Layout,
    templates: Vec<Vec<u64>>,
}

impl std::fmt::Debug for Detector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Detector")
            .field("key", &self.key.id())
            .field("frame_len", &self.layout.frame_len)
            .field("templates", &self.templates.len())
            .finish()
    }
}

impl Detector {
    pub fn new(key: &WatermarkKey, frame_len: usize, templates: usize) -> Self {
        let layout = Layout::new(key, frame_len, code::CODE_BITS);
        let templates = (0..templates as u64)
            .map(|t| template_bits(key, frame_len, t))
            .collect();
        Self {
            key: key.clone(),
            layout,
            templates,
        }
    }

    /// Runs the detection for this key (p-value not yet adjusted for a ring). When the p-value is
    /// above `ln_cutoff` the watermark is absent and the payload and maps are not computed.
    fn detect(
        &self,
        latent: &[f32],
        shape: LatentShape,
        options: &DetectOptions,
        ln_cutoff: f64,
    ) -> Detection {
        let n = self.layout.frame_len;
        let (na, nb) = (self.layout.pilot_a, self.layout.pilot_b);
        let frames: Vec<ObservedFrame> = latent
            .chunks_exact(n)
            .map(|frame| ObservedFrame::new(frame, &self.layout))
            .collect();
        let t_count = self.templates.len();

        // 1. Alignment on pilot A: every (observed frame, template) pair is scored once.
        let sd_a = (na as f32).sqrt().max(1.0);
        let scores: Vec<Vec<u32>> = frames
            .iter()
            .map(|obs| {
                self.templates
                    .iter()
                    .map(|tmpl| agreement(&obs.signs, tmpl, 0, na) as u32)
                    .collect()
            })
            .collect();
        let best_a: Vec<(usize, f32)> = scores
            .iter()
            .map(|row| {
                let (t, &a) = row
                    .iter()
                    .enumerate()
                    .max_by_key(|&(t, &a)| (a, std::cmp::Reverse(t)))
                    .unwrap_or((0, &0));
                (t, standard_score(a as usize, na))
            })
            .collect();

        // 2. Presence. Two tests, the better reported with its p-value doubled (Bonferroni):
        // - frame by frame: each frame placed on its own by pilot A, pilot B counted (exact
        //   binomial); survives dropped, inserted and reordered frames;
        // - clip-wide: the clip as one run of templates (every start, a few frame-rate steps),
        //   all pilots counted with the calibrated channel weights (Hoeffding bound, corrected for
        //   the runs tried); finds a mark too weak to place any single frame, as after heavy
        //   compression.
        let hw = (shape.height * shape.width).max(1);
        let channel_of = |j: usize| self.layout.order[j] as usize / hw;
        let mut presence = self.frame_by_frame_presence(
            &frames,
            choose_frames(&best_a, t_count),
            shape.channels,
            &channel_of,
        );
        let clip_weights: Vec<f64> = match &options.channel_weights {
            Some(w) if w.len() == shape.channels => {
                w.iter().map(|&x| f64::from(x.max(0.0))).collect()
            }
            _ => vec![1.0; shape.channels],
        };
        let clip_wide = options
            .clip_wide
            .then(|| self.clip_wide_presence(&frames, &clip_weights, &channel_of))
            .flatten();
        let mut found_clip_wide = false;
        if let Some(clip_wide) = clip_wide {
            if clip_wide.ln_p < presence.ln_p {
                presence = clip_wide;
                found_clip_wide = true;
            }
        }
        presence.ln_p = (presence.ln_p + std::f64::consts::LN_2).min(0.0);
        let Presence {
            chosen,
            selected,
            agreements: k,
            comparisons,
            ln_p,
        } = presence;
        let mut detection = Detection {
            present: false,
            p_value: ln_p.exp(),
            log10_p_value: ln_p / std::f64::consts::LN_10,
            false_positive_rate: options.threshold,
            keys_tried: 1,
            key_index: 0,
            key_id: self.key.id().to_string(),
            payload: None,
            bit_error_rate: 0.5,
            pilot_agreements: k,
            pilot_comparisons: comparisons,
            frames: best_a
                .iter()
                .enumerate()
                .map(|(o, &(_, z))| FrameMatch {
                    observed: o,
                    template: None,
                    agreement: 0.5 + z / (2.0 * sd_a),
                    z,
                    unreadable: false,
                })
                .collect(),
            temporal: Vec::new(),
            retiming: None,
            spatial: None,
            clip_wide: found_clip_wide,
            alignment: chosen.clone(),
            foreign_variant: false,
        };
        if ln_p > ln_cutoff {
            return detection;
        }

        // 3. Payload from the soft values of the chosen frames, each channel weighted by how well
        // both pilots agree in it (the p-value is settled, so pilot B may be used now).
        let weights: Vec<f32> = {
            let reliability = channel_reliability(
                &frames,
                &chosen,
                &self.templates,
                0..na + nb,
                shape.channels,
                &channel_of,
            );
            let w: Vec<f32> = reliability
                .iter()
                .map(|r| (2.0 * r.rate - 1.0).max(0.0))
                .collect();
            if w.iter().any(|&x| x > 0.0) {
                w
            } else {
                vec![1.0; shape.channels]
            }
        };
        // Where the pilots are too few to say (a faint mark), the calibrated weights may.
        let payload = self
            .decode_payload(&frames, &chosen, &|j| weights[channel_of(j)])
            .or_else(|| {
                let calibrated = options.channel_weights.as_ref()?;
                self.decode_payload(&frames, &chosen, &|j| calibrated[channel_of(j)])
            });
        // Every clip is marked with the variant its payload chooses: a payload read under another
        // variant's templates was not put there by the key's holder.
        let (payload, foreign_variant) = match (payload, self.key.variant()) {
            (Some(p), Some(v)) if self.key.variant_for(p) != v => (None, true),
            (p, _) => (p, false),
        };

        // 4. Frame matching on every element whose expected sign is known, then tamper maps.
        let codeword = payload.map(|p| code::encode(&p.to_bits()));
        let expected_len = if codeword.is_some() { n } else { na + nb };
        let expected = expected_signs(&self.layout, &self.templates, codeword.as_deref());
        let hint = found_clip_wide.then_some(chosen.as_slice());
        let mut matches = match_frames(&frames, &expected, expected_len, hint);
        if codeword.is_some() {
            mark_other_clips(&mut matches, &frames, &expected, na + nb, n);
        }
        let placed = matches.iter().filter(|m| m.template.is_some()).count();
        if found_clip_wide && 2 * placed < matches.len() {
            // Most frames are too faint to place on their own: a foreign frame cannot be told
            // from a faint one, so nothing is called inserted.
            for m in matches.iter_mut().filter(|m| m.template.is_none()) {
                m.unreadable = true;
            }
        }
        let retimed = retiming(&matches);
        let temporal = temporal_events_retimed(&matches, retimed);
        // The map counts only the channels that still carry the mark (as the presence test does):
        // erased fine bands would pull every block towards chance and hide the edited ones.
        let grid = BlockGrid::new(&self.layout, expected_len, shape, options, &|j| {
            selected[channel_of(j)]
        });
        let spatial = spatial_map(&frames, &matches, &expected, &grid, na + nb);
        let (agree, total) =
            matches
                .iter()
                .filter(|m| m.template.is_some())
                .fold((0f64, 0f64), |(a, t), m| {
                    (
                        a + f64::from(m.agreement) * expected_len as f64,
                        t + expected_len as f64,
                    )
                });
        let bit_error_rate = if total > 0.0 {
            (1.0 - agree / total) as f32
        } else {
            0.5
        };

        detection.payload = payload;
        detection.foreign_variant = foreign_variant;
        detection.bit_error_rate = bit_error_rate;
        detection.frames = matches;
        detection.temporal = temporal;
        detection.retiming = retimed;
        detection.spatial = spatial;
        detection
    }
}

/// Frames on the longest clip's watermark timeline: frame `f` of a clip carries template `f`, so an
/// excerpt from anywhere in a clip of up to this many frames (32 s at 8 fps) is found and placed.
pub const TIMELINE_FRAMES: usize = 256;

/// Templates searched by default for `observed` frames: the whole timeline, or twice the frames
/// seen when more (a clip slowed down shows each of its frames twice).
pub fn default_templates(observed: usize) -> usize {
    (2 * observed).max(TIMELINE_FRAMES)
}

/// Detects the watermark of any key in `ring` in `latent` (an estimate of the initial noise).
pub fn detect(
    ring: &KeyRing,
    latent: &[f32],
    shape: LatentShape,
    options: &DetectOptions,
) -> Result<Detection, WatermarkError> {
    shape.check(Some(latent.len()))?;
    if ring.is_empty() {
        return Err(WatermarkError::NoKeys);
    }
    if !(options.threshold > 0.0 && options.threshold < 1.0) {
        return Err(WatermarkError::InvalidOption(format!(
            "threshold {} must lie in (0, 1)",
            options.threshold
        )));
    }
    if let Some(w) = &options.channel_weights {
        if w.len() != shape.channels || w.iter().any(|x| !(x.is_finite() && *x >= 0.0)) {
            return Err(WatermarkError::InvalidOption(format!(
                "channel weights must be {} finite values ≥ 0, got {}",
                shape.channels,
                w.len()
            )));
        }
    }
    let templates = options
        .max_templates
        .unwrap_or_else(|| default_templates(shape.frames))
        .max(1);
    let mut best: Option<Detection> = None;
    for (index, key) in ring.keys().iter().enumerate() {
        let detector = Detector::new(key, shape.frame_len(), templates);
        let ln_cutoff = (options.threshold / ring.len() as f64).ln();
        let mut d = detector.detect(latent, shape, options, ln_cutoff);
        d.key_index = index;
        if best
            .as_ref()
            .is_none_or(|b| d.log10_p_value < b.log10_p_value)
        {
            best = Some(d);
        }
    }
    let mut d = best.ok_or(WatermarkError::NoKeys)?;
    d.keys_tried = ring.identities();
    d.log10_p_value = (d.log10_p_value + (ring.len() as f64).log10()).min(0.0);
    Ok(conclude(d, options.threshold))
}

/// Detection with a reusable [`Detector`] (one key): for bulk work on latents of one shape.
pub fn detect_with(
    detector: &Detector,
    latent: &[f32],
    shape: LatentShape,
    options: &DetectOptions,
) -> Result<Detection, WatermarkError> {
    shape.check(Some(latent.len()))?;
    if shape.frame_len() != detector.layout.frame_len {
        return Err(WatermarkError::InvalidOption(format!(
            "detector was built for frames of {} values, latent frames have {}",
            detector.layout.frame_len,
            shape.frame_len()
        )));
    }
    let ln_cutoff = options.threshold.ln();
    Ok(conclude(
        detector.detect(latent, shape, options, ln_cutoff),
        options.threshold,
    ))
}
