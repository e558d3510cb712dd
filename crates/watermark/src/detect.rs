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

use serde::{Deserialize, Serialize};

use crate::code;
use crate::embed::data_bits;
use crate::key::{KeyRing, WatermarkKey};
use crate::keystream::{agreement, bit, template_bits, Layout};
use crate::payload::{Payload, INFO_BITS};
use crate::shape::{LatentShape, WatermarkError};
use crate::stats::ln_binomial_upper_tail;

/// The false-positive rate per clip (over the whole key ring) at which Candor calls a watermark present.
pub const OPERATING_FPR: f64 = 1e-9;

/// A frame that fails its re-test but agrees with its expected template at least this well
/// (standard score) is unreadable rather than foreign. A foreign frame reaches it by chance 0.13 %
/// of the time (z ≥ 1.5, used before, let 6.7 % of inserted frames pass as unreadable).
const UNREADABLE_MIN_Z: f32 = 3.0;

/// In a clip this faint (its median frame's best standard score below this), its own frames
/// scatter down to z ≈ 2 (measured on the default model after VP9 CRF 40 and half size at
/// H.264 CRF 30: placed frames at a median z of 5–6, unplaced ones at 2.0–3.0, and with the
/// bar at 3 a quarter of such clips were said to have frames replaced). There a frame needs only
/// z ≥ [`UNREADABLE_MIN_Z_FAINT`] to be unreadable rather than foreign.
const FAINT_CLIP_Z: f32 = 10.0;
/// A foreign frame reaches it by chance 2.3 % of the time.
const UNREADABLE_MIN_Z_FAINT: f32 = 2.0;

/// In a clip that is not faint, a frame is a blend of its neighbour's and its own template only
/// when its own agrees at least this well. A real blend there scores far higher (a 30 % share of
/// the frame gives z ≈ 19); at the unreadable bar of 3, the frame after a dropped one agreed with
/// the dropped template by chance often enough to hide 3 drops in 1 000 (`bench watermark`).
const BLEND_MIN_Z: f32 = 5.0;

/// Latent values are clipped to ±this before soft decoding, so a few outliers cannot outvote many
/// consistent elements.
const SOFT_CLIP: f32 = 3.0;

/// How to detect.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DetectOptions {
    /// Largest template index searched is `max_templates - 1`; `None` searches
    /// `max(64, 2 × observed frames)`.
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
}

impl Default for DetectOptions {
    fn default() -> Self {
        Self {
            max_templates: None,
            threshold: OPERATING_FPR,
            block: None,
            channel_weights: None,
            observed_area: None,
        }
    }
}

/// Which original frame an observed frame carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrameMatch {
    /// Position in the observed latent.
    pub observed: usize,
    /// Template (original frame index) found, or `None` when no template matches (foreign frame).
    pub template: Option<usize>,
    /// Fraction of compared signs that agree with that template (0.5 = chance).
    pub agreement: f32,
    /// Standard score of the agreement.
    pub z: f32,
    /// Too weak to say: no template matched, yet the frame agrees with the template its
    /// neighbours expect clearly more than chance would (z ≥ 3). Such frames are not called
    /// inserted.
    #[serde(default)]
    pub unreadable: bool,
}

/// One temporal edit found by comparing the frame order with the templates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TemporalEvent {
    /// Original frames `first..=last` are missing; they belonged just before observed frame `before`
    /// (`before` = number of observed frames when they were at the end).
    Dropped {
        first: usize,
        last: usize,
        before: usize,
    },
    /// Observed frame carries no template of this clip.
    Inserted { observed: usize },
    /// Observed frame is out of order (it carries `template`).
    Reordered { observed: usize, template: usize },
    /// Observed frame repeats a template already seen.
    Duplicated { observed: usize, template: usize },
}

/// Agreement per spatial block: where the watermark still holds and where it was replaced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpatialMap {
    /// Block size in latent pixels.
    pub block: usize,
    pub grid_height: usize,
    pub grid_width: usize,
    /// Agreement per block over all matched frames, row-major (0.5 = chance, NaN = no data).
    pub agreement: Vec<f32>,
    /// Blocks judged replaced: at chance (foreign content), or pilots agreeing while the codeword
    /// does not (pasted from another clip made with the same key).
    pub tampered: Vec<bool>,
    /// Agreement per block for each observed frame (empty rows for unmatched frames).
    pub per_frame: Vec<Vec<f32>>,
}

/// The outcome of a detection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    /// True when the ring-adjusted p-value is at most the threshold.
    pub present: bool,
    /// p-value of the presence test, multiplied by the number of keys tried (capped at 1).
    pub p_value: f64,
    /// log10 of `p_value` (stays finite where `p_value` underflows to 0).
    pub log10_p_value: f64,
    /// The false-positive rate of this check per clip: the threshold, over the whole key ring.
    pub false_positive_rate: f64,
    /// Keys tried.
    pub keys_tried: usize,
    /// Index in the ring and fingerprint of the best-matching key.
    pub key_index: usize,
    pub key_id: String,
    /// Decoded payload, when the CRC checks.
    pub payload: Option<Payload>,
    /// Fraction of element signs that disagree with the expected watermark on matched frames
    /// (all elements when the payload decoded, pilots otherwise).
    pub bit_error_rate: f32,
    /// Pilot-B agreements and comparisons behind the p-value.
    pub pilot_agreements: u64,
    pub pilot_comparisons: u64,
    pub frames: Vec<FrameMatch>,
    pub temporal: Vec<TemporalEvent>,
    pub spatial: Option<SpatialMap>,
    /// True when the clip-wide test found the watermark: the mark was too weak to place single
    /// frames, so frame edits cannot be told from weak frames and none are reported.
    #[serde(default)]
    pub clip_wide: bool,
    /// The (observed frame, template) pairs the presence test counted.
    #[serde(default)]
    pub alignment: Vec<(usize, usize)>,
}

impl Detection {
    /// True when the clip's frames or regions were edited.
    pub fn tampered(&self) -> bool {
        !self.temporal.is_empty()
            || self
                .spatial
                .as_ref()
                .is_some_and(|m| m.tampered.iter().any(|&t| t))
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
                (t, (2.0 * a as f32 - na as f32) / sd_a)
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
        let clip_wide = self.clip_wide_presence(&frames, &clip_weights, &channel_of);
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
            spatial: None,
            clip_wide: found_clip_wide,
            alignment: chosen.clone(),
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

        // 4. Frame matching on every element whose expected sign is known, then tamper maps.
        let codeword = payload.map(|p| code::encode(&p.to_bits()));
        let expected_len = if codeword.is_some() { n } else { na + nb };
        let expected: Vec<Vec<u64>> = self
            .templates
            .iter()
            .enumerate()
            .map(|(t, tmpl)| match &codeword {
                Some(c) => {
                    let data = data_bits(&self.layout, c, t);
                    tmpl.iter().zip(&data).map(|(a, b)| a ^ b).collect()
                }
                None => tmpl.clone(),
            })
            .collect();
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
        let temporal = temporal_events(&matches);
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
        detection.bit_error_rate = bit_error_rate;
        detection.frames = matches;
        detection.temporal = temporal;
        detection.spatial = spatial;
        detection
    }

    /// The pilot-B presence test over the frames `chosen` (pairs of observed frame, template).
    /// Channels that still carry the watermark are judged on pilot A alone: compression erases
    /// fine latent bands first, and counting them would only dilute the evidence. Because the
    /// choice never looks at pilot B, the B count stays exactly binomial under no watermark.
    fn frame_by_frame_presence(
        &self,
        frames: &[ObservedFrame],
        chosen: Vec<(usize, usize)>,
        channels: usize,
        channel_of: &dyn Fn(usize) -> usize,
    ) -> Presence {
        let (na, nb) = (self.layout.pilot_a, self.layout.pilot_b);
        let reliability = channel_reliability(
            frames,
            &chosen,
            &self.templates,
            0..na,
            channels,
            channel_of,
        );
        let selected: Vec<bool> = {
            let picked: Vec<bool> = reliability.iter().map(|r| r.z > 1.0).collect();
            if picked.iter().any(|&p| p) {
                picked
            } else {
                vec![true; channels]
            }
        };
        let (mut agreements, mut comparisons) = (0u64, 0u64);
        for &(o, t) in &chosen {
            for j in na..na + nb {
                if selected[channel_of(j)] {
                    comparisons += 1;
                    agreements += u64::from(bit(&frames[o].signs, j) == bit(&self.templates[t], j));
                }
            }
        }
        Presence {
            ln_p: ln_binomial_upper_tail(comparisons, agreements),
            chosen,
            selected,
            agreements,
            comparisons,
        }
    }

    /// The clip-wide test: for every run of templates `offset + round(o × rate)` covering at least
    /// half the observed frames, the weighted sum S of ±1 pilot agreements (A and B). Under no
    /// watermark each term is an independent fair ±w, so P(S ≥ s) ≤ exp(−s² / 2Σw²) (Hoeffding);
    /// the best run's bound is multiplied by the number of runs tried.
    fn clip_wide_presence(
        &self,
        frames: &[ObservedFrame],
        weights: &[f64],
        channel_of: &dyn Fn(usize) -> usize,
    ) -> Option<Presence> {
        let pilots = self.layout.code_start();
        let templates = self.templates.len();
        if frames.is_empty() || pilots == 0 || templates == 0 {
            return None;
        }
        let w: Vec<f64> = (0..pilots).map(|j| weights[channel_of(j)]).collect();
        // Each element counts by its channel's weight times its clipped magnitude: a value near
        // zero says little about its sign. Given the observation these are fixed numbers, so the
        // bound holds conditionally, and so unconditionally.
        let scaled: Vec<Vec<f64>> = frames.iter().map(|f| element_weights(f, &w)).collect();
        let frame_square: Vec<f64> = scaled
            .iter()
            .map(|c| c.iter().map(|x| x * x).sum())
            .collect();
        // Weighted agreement of every (frame, template) pair, and its plain count:
        // S = 2·Σ(agreeing c) − Σc, walking only the agreeing bits of each 64-bit word.
        let totals: Vec<f64> = scaled.iter().map(|c| c.iter().sum()).collect();
        let pair = |o: usize, t: usize| {
            weighted_agreement(&frames[o].signs, &self.templates[t], &scaled[o], totals[o])
        };
        let table: Vec<Vec<(f64, u64)>> = (0..frames.len())
            .map(|o| (0..templates).map(|t| pair(o, t)).collect())
            .collect();
        let (ln_p, chosen, runs) = best_run(
            frames.len(),
            templates,
            &|o, t| table[o][t].0,
            &frame_square,
        )?;
        let agreements = chosen.iter().map(|&(o, t)| table[o][t].1).sum();
        Some(Presence {
            ln_p: (ln_p + (runs as f64).ln()).min(0.0),
            comparisons: (chosen.len() * pilots) as u64,
            agreements,
            chosen,
            selected: weights.iter().map(|&x| x > 0.0).collect(),
        })
    }

    /// Soft decoding; `weight(j)` scales layout position `j` by how reliable its channel is.
    fn decode_payload(
        &self,
        frames: &[ObservedFrame],
        chosen: &[(usize, usize)],
        weight: &dyn Fn(usize) -> f32,
    ) -> Option<Payload> {
        if self.layout.code_start() >= self.layout.frame_len || chosen.is_empty() {
            return None;
        }
        let soft = self.soft_code_bits(frames, chosen, weight);
        Payload::from_bits(&code::decode(&soft, INFO_BITS))
    }

    /// Evidence per code bit: the sum of its elements' clipped, weighted values, signed by the
    /// keystream (positive = the bit is 0).
    fn soft_code_bits(
        &self,
        frames: &[ObservedFrame],
        chosen: &[(usize, usize)],
        weight: &dyn Fn(usize) -> f32,
    ) -> Vec<f32> {
        let start = self.layout.code_start();
        let mut soft = vec![0f32; code::CODE_BITS];
        for &(o, t) in chosen {
            let tmpl = &self.templates[t];
            let values = &frames[o].values;
            for j in start..self.layout.frame_len {
                let v = values[j].clamp(-SOFT_CLIP, SOFT_CLIP) * weight(j);
                soft[self.layout.code_bit(j, t)] += if bit(tmpl, j) { -v } else { v };
            }
        }
        soft
    }
}

/// One observed frame in layout order: packed sign bits (1 = negative) and values.
struct ObservedFrame {
    signs: Vec<u64>,
    values: Vec<f32>,
}

impl ObservedFrame {
    fn new(frame: &[f32], layout: &Layout) -> Self {
        let mut signs = vec![0u64; layout.frame_len.div_ceil(64)];
        let mut values = Vec::with_capacity(layout.frame_len);
        for (j, &e) in layout.order.iter().enumerate() {
            let v = frame[e as usize];
            // NaN and exact zeros count as "positive": under no watermark that only lowers agreement
            // with half the templates, so the test stays valid.
            let v = if v.is_finite() { v } else { 0.0 };
            if v < 0.0 {
                signs[j / 64] |= 1 << (j % 64);
            }
            values.push(v);
        }
        Self { signs, values }
    }
}

/// Each element's say in the weighted tests: `weights[j]` (its channel's) × its value clipped to
/// ±[`SOFT_CLIP`] — a value near zero says little about its sign. Positions `0..weights.len()`.
fn element_weights(frame: &ObservedFrame, weights: &[f64]) -> Vec<f64> {
    weights
        .iter()
        .zip(&frame.values)
        .map(|(w, v)| w * f64::from(v.abs().min(SOFT_CLIP)))
        .collect()
}

/// The calibrated weight of each layout position's channel (1 for all without calibration).
fn position_weights(layout: &Layout, shape: LatentShape, options: &DetectOptions) -> Vec<f64> {
    let hw = (shape.height * shape.width).max(1);
    layout
        .order
        .iter()
        .map(|&e| match &options.channel_weights {
            Some(w) if w.len() == shape.channels => f64::from(w[e as usize / hw].max(0.0)),
            _ => 1.0,
        })
        .collect()
}

/// (observed frame, template) pairs.
type Alignment = Vec<(usize, usize)>;

/// The outcome of one presence test.
struct Presence {
    chosen: Vec<(usize, usize)>,
    selected: Vec<bool>,
    agreements: u64,
    comparisons: u64,
    ln_p: f64,
}

/// Template steps per observed frame tried by the clip-wide test: the clip as it was, and
/// frame-rate conversions that repeat (0.5, 0.8) or skip (1.25, 2) frames.
const SEQUENCE_RATES: [f64; 5] = [1.0, 0.8, 1.25, 0.5, 2.0];

/// The run of templates (every offset, every rate in [`SEQUENCE_RATES`], covering at least half the
/// frames) whose summed score `score(o, t)` has the smallest Hoeffding bound
/// `ln p = −S² / 2Σ square[o]`. Returns that ln p (not yet corrected), the run's pairs and the
/// number of runs tried.
fn best_run(
    frames: usize,
    templates: usize,
    score: &dyn Fn(usize, usize) -> f64,
    square: &[f64],
) -> Option<(f64, Alignment, usize)> {
    let mut runs = 0usize;
    let mut best: Option<(f64, Vec<(usize, usize)>)> = None;
    for rate in SEQUENCE_RATES {
        for offset in 0..templates {
            let pairs = template_run(frames, templates, offset, rate);
            if pairs.is_empty() || 2 * pairs.len() < frames.min(templates) {
                continue;
            }
            runs += 1;
            let sum: f64 = pairs.iter().map(|&(o, t)| score(o, t)).sum();
            let q: f64 = pairs.iter().map(|&(o, _)| square[o]).sum();
            let ln_p = if sum > 0.0 && q > 0.0 {
                -(sum * sum) / (2.0 * q)
            } else {
                0.0
            };
            if best.as_ref().is_none_or(|(b, _)| ln_p < *b) {
                best = Some((ln_p, pairs));
            }
        }
    }
    best.map(|(ln_p, pairs)| (ln_p, pairs, runs))
}

/// S = 2·Σ(c over agreeing positions) − Σc for packed signs `a`, `b` over positions `0..c.len()`,
/// walking only the agreeing bits; also returns the number of agreeing positions.
fn weighted_agreement(a: &[u64], b: &[u64], c: &[f64], total: f64) -> (f64, u64) {
    let (mut agreeing, mut count) = (0f64, 0u64);
    for (w, chunk) in c.chunks(64).enumerate() {
        let mut bits = !(a[w] ^ b[w]);
        if chunk.len() < 64 {
            bits &= (1u64 << chunk.len()) - 1;
        }
        count += u64::from(bits.count_ones());
        while bits != 0 {
            agreeing += chunk[bits.trailing_zeros() as usize];
            bits &= bits - 1;
        }
    }
    (2.0 * agreeing - total, count)
}

/// The (observed frame, template) pairs of the run `offset + round(o × rate)`, one frame per
/// template, stopping at the last template.
fn template_run(frames: usize, templates: usize, offset: usize, rate: f64) -> Vec<(usize, usize)> {
    let mut seen = vec![false; templates];
    let mut pairs = Vec::with_capacity(frames);
    for o in 0..frames {
        let t = offset + (o as f64 * rate).round() as usize;
        if t >= templates {
            break;
        }
        if !std::mem::replace(&mut seen[t], true) {
            pairs.push((o, t));
        }
    }
    pairs
}

/// Pilot agreement of each latent channel over the chosen frames, counted on the layout
/// `positions` given.
struct ChannelReliability {
    rate: f32,
    z: f32,
}

fn channel_reliability(
    frames: &[ObservedFrame],
    chosen: &[(usize, usize)],
    templates: &[Vec<u64>],
    positions: std::ops::Range<usize>,
    channels: usize,
    channel_of: &dyn Fn(usize) -> usize,
) -> Vec<ChannelReliability> {
    let mut agree = vec![0u32; channels];
    let mut total = vec![0u32; channels];
    for &(o, t) in chosen {
        for j in positions.clone() {
            let c = channel_of(j);
            total[c] += 1;
            agree[c] += u32::from(bit(&frames[o].signs, j) == bit(&templates[t], j));
        }
    }
    agree
        .iter()
        .zip(&total)
        .map(|(&a, &n)| {
            let n = n.max(1) as f32;
            ChannelReliability {
                rate: a as f32 / n,
                z: (2.0 * a as f32 - n) / n.sqrt(),
            }
        })
        .collect()
}

/// Frames whose pilot-A match is at least weakly significant (z ≥ 2), one per template (the
/// strongest); all frames' best templates when none qualifies.
fn choose_frames(best: &[(usize, f32)], templates: usize) -> Vec<(usize, usize)> {
    let pick = |min_z: f32| {
        let mut per_template: Vec<Option<(usize, f32)>> = vec![None; templates];
        for (o, &(t, z)) in best.iter().enumerate() {
            if z >= min_z && per_template[t].is_none_or(|(_, bz)| z > bz) {
                per_template[t] = Some((o, z));
            }
        }
        per_template
            .iter()
            .enumerate()
            .filter_map(|(t, e)| e.map(|(o, _)| (o, t)))
            .collect::<Vec<_>>()
    };
    let strong = pick(2.0);
    if strong.is_empty() {
        pick(f32::NEG_INFINITY)
    } else {
        strong
    }
}

/// Standard score of `agree` agreements among `len` signs against chance (0 = chance).
fn standard_score(agree: usize, len: usize) -> f32 {
    (2.0 * agree as f32 - len as f32) / (len as f32).sqrt().max(1.0)
}

/// Best template for every observed frame, judged on `len` known positions. A frame counts as
/// matched when its agreement would arise by chance with probability below 1e-6 after accounting
/// for every (frame, template) pair tried. `hint` (observed frame, template) pairs, when given,
/// are the clip-wide alignment that found the watermark: frames too weak to match on their own are
/// re-tested against their template from it rather than from their neighbours.
fn match_frames(
    frames: &[ObservedFrame],
    expected: &[Vec<u64>],
    len: usize,
    hint: Option<&[(usize, usize)]>,
) -> Vec<FrameMatch> {
    let tries = (frames.len() * expected.len()).max(1) as f64;
    let ln_alpha = (1e-6f64 / tries).ln();
    let score = |o: usize, t: usize| agreement(&frames[o].signs, &expected[t], 0, len);
    let mut matches: Vec<FrameMatch> = (0..frames.len())
        .map(|o| {
            let mut best = (0usize, 0usize);
            for t in 0..expected.len() {
                let a = score(o, t);
                if a > best.1 {
                    best = (t, a);
                }
            }
            let matched = len > 0 && ln_binomial_upper_tail(len as u64, best.1 as u64) < ln_alpha;
            FrameMatch {
                observed: o,
                template: matched.then_some(best.0),
                agreement: best.1 as f32 / len.max(1) as f32,
                z: standard_score(best.1, len),
                unreadable: false,
            }
        })
        .collect();
    // A frame that compression left too weak for the open search is tested once more, against
    // the one template its matched neighbours say belongs there: one test per frame needs far less
    // evidence. Only frames that fail this too are called foreign.
    let ln_alpha_neighbour = (1e-3f64 / frames.len().max(1) as f64).ln();
    // How strong the clip is: the median frame's best score in the open search.
    let mut best_z: Vec<f32> = matches.iter().map(|m| m.z).collect();
    best_z.sort_by(f32::total_cmp);
    let faint = best_z
        .get(best_z.len() / 2)
        .is_some_and(|&z| z < FAINT_CLIP_Z);
    let unreadable_min_z = if faint {
        UNREADABLE_MIN_Z_FAINT
    } else {
        UNREADABLE_MIN_Z
    };
    // The nearest matched frame before (else after) says which template belongs at `o`.
    let mut last_matched: Option<(usize, usize)> = None;
    for o in 0..matches.len() {
        if let Some(t) = matches[o].template {
            last_matched = Some((o, t));
            continue;
        }
        if len == 0 {
            continue;
        }
        let from_previous = last_matched.map(|(mo, t)| t + (o - mo));
        let from_next = || {
            matches[o + 1..]
                .iter()
                .find_map(|m| m.template.map(|t| (m.observed, t)))
                .and_then(|(mo, t)| t.checked_sub(mo - o))
        };
        let from_hint =
            hint.and_then(|pairs| pairs.iter().find(|&&(ho, _)| ho == o).map(|&(_, t)| t));
        let Some(t) = from_hint
            .or(from_previous)
            .or_else(from_next)
            .filter(|&t| t < expected.len())
        else {
            continue;
        };
        let a = score(o, t);
        let z = standard_score(a, len);
        let matched = ln_binomial_upper_tail(len as u64, a as u64) < ln_alpha_neighbour;
        matches[o] = FrameMatch {
            observed: o,
            template: matched.then_some(t),
            agreement: a as f32 / len as f32,
            z,
            unreadable: !matched && z >= unreadable_min_z,
        };
    }
    let blend_min_z = if faint {
        UNREADABLE_MIN_Z_FAINT
    } else {
        BLEND_MIN_Z
    };
    unmix_blends(&mut matches, expected.len(), len, blend_min_z, &score);
    matches
}

/// A frame that carries a neighbour's template where its own is missing may be a blend of the two
/// (a codec carrying most blocks over from the previous frame — VP9 in real-time mode at CRF 40
/// does — or frame blending). When it also agrees with the template that belongs at its place
/// (z ≥ `min_z`), it is unreadable rather than a repeat: a frame really repeated by an edit, or
/// the frame after a dropped one, agrees with that template only by chance.
fn unmix_blends(
    matches: &mut [FrameMatch],
    templates: usize,
    len: usize,
    min_z: f32,
    score: &dyn Fn(usize, usize) -> usize,
) {
    let held: std::collections::HashSet<usize> =
        matches.iter().filter_map(|m| m.template).collect();
    for o in 0..matches.len() {
        let Some(t) = matches[o].template else {
            continue;
        };
        let before = matches[..o]
            .iter()
            .rev()
            .find_map(|m| m.template.map(|t| t + (o - m.observed)));
        let after = || {
            matches[o + 1..]
                .iter()
                .find_map(|m| m.template.and_then(|t| t.checked_sub(m.observed - o)))
        };
        let Some(own) = before.or_else(after) else {
            continue;
        };
        if own == t || own >= templates || held.contains(&own) || own.abs_diff(t) != 1 {
            continue;
        }
        let a = score(o, own);
        let z = standard_score(a, len);
        if z >= min_z {
            matches[o] = FrameMatch {
                observed: o,
                template: None,
                agreement: a as f32 / len.max(1) as f32,
                z,
                unreadable: true,
            };
        }
    }
}

/// A matched frame whose pilots agree clearly (z ≥ 3) while its codeword falls more than 5 sd
/// behind them and less than half as far above chance ([`PilotsVsCodeword`]) comes from another
/// clip made with the same key: it is unmatched (reported as inserted).
fn mark_other_clips(
    matches: &mut [FrameMatch],
    frames: &[ObservedFrame],
    expected: &[Vec<u64>],
    data_start: usize,
    len: usize,
) {
    if len <= data_start || data_start == 0 {
        return;
    }
    for m in matches.iter_mut() {
        let Some(t) = m.template else { continue };
        let signs = &frames[m.observed].signs;
        let split = PilotsVsCodeword {
            pilot_agree: agreement(signs, &expected[t], 0, data_start),
            pilot_count: data_start,
            data_agree: agreement(signs, &expected[t], data_start, len),
            data_count: len - data_start,
        };
        let pilots_z = standard_score(split.pilot_agree, split.pilot_count);
        if pilots_z >= 3.0 && split.looks_like_another_clip(5.0) {
            m.template = None;
            m.unreadable = false;
        }
    }
}

/// Pilot and codeword elements of one frame or region compared: the evidence that it comes from
/// another clip made with the same key. In this clip's own frames both parts agree with their
/// expected signs equally well, whatever the content (the layout interleaves them at random);
/// another clip carries the same pilots (they come from the key and the frame index) but another
/// payload, so its codeword agrees at chance (the payloads differ in about half the code bits, and
/// each differing bit flips its elements).
#[derive(Debug, Clone, Copy, Default)]
struct PilotsVsCodeword {
    pilot_agree: usize,
    pilot_count: usize,
    data_agree: usize,
    data_count: usize,
}

impl PilotsVsCodeword {
    fn add(&mut self, other: &PilotsVsCodeword) {
        self.pilot_agree += other.pilot_agree;
        self.pilot_count += other.pilot_count;
        self.data_agree += other.data_agree;
        self.data_count += other.data_count;
    }

    /// Standard score of "pilots agree better than the codeword" (two-proportion test).
    fn gap_z(&self) -> f64 {
        if self.pilot_count == 0 || self.data_count == 0 {
            return 0.0;
        }
        let (n1, n2) = (self.pilot_count as f64, self.data_count as f64);
        let (a1, a2) = (self.pilot_agree as f64, self.data_agree as f64);
        let pooled = (a1 + a2) / (n1 + n2);
        let sd = (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2))
            .sqrt()
            .max(1e-12);
        (a1 / n1 - a2 / n2) / sd
    }

    /// The pilots ahead of the codeword by at least `min_z`, and the codeword less than half as
    /// far above chance as the pilots. The second condition keeps out what only moves the score:
    /// a frame with a region pasted from another clip keeps most of its codeword agreement (it
    /// belongs on the tamper map), and where the mark is strong in one part of a region and weak
    /// in another, pilots and codeword can sample the parts in different proportions.
    fn looks_like_another_clip(&self, min_z: f64) -> bool {
        if self.pilot_count == 0 || self.data_count == 0 {
            return false;
        }
        let pilots = self.pilot_agree as f64 / self.pilot_count as f64 - 0.5;
        let data = self.data_agree as f64 / self.data_count as f64 - 0.5;
        self.gap_z() >= min_z && data < 0.5 * pilots
    }
}

/// Dropped, inserted, reordered and duplicated frames from the matched template sequence.
fn temporal_events(matches: &[FrameMatch]) -> Vec<TemporalEvent> {
    let mut events = Vec::new();
    if matches.iter().all(|m| m.template.is_none()) {
        return events;
    }
    let mut seen = std::collections::HashSet::new();
    let mut sequence: Vec<(usize, usize)> = Vec::new(); // (observed, template), first occurrences
    for m in matches.iter().filter(|m| !m.unreadable) {
        match m.template {
            None => events.push(TemporalEvent::Inserted {
                observed: m.observed,
            }),
            Some(t) if !seen.insert(t) => events.push(TemporalEvent::Duplicated {
                observed: m.observed,
                template: t,
            }),
            Some(t) => sequence.push((m.observed, t)),
        }
    }
    // Frames outside a longest increasing run of templates are the ones that moved.
    let keep = longest_increasing(&sequence.iter().map(|&(_, t)| t).collect::<Vec<_>>());
    let mut in_order = Vec::new();
    for (i, &(o, t)) in sequence.iter().enumerate() {
        if keep.contains(&i) {
            in_order.push((o, t));
        } else {
            events.push(TemporalEvent::Reordered {
                observed: o,
                template: t,
            });
        }
    }
    // Gaps in the in-order run that no moved frame fills are drops.
    // An unreadable frame is taken to hold the next template in line, not to hide a drop.
    let unreadable: Vec<usize> = matches
        .iter()
        .filter(|m| m.unreadable)
        .map(|m| m.observed)
        .collect();
    let mut expected_next = 0usize;
    let mut previous_observed: Option<usize> = None;
    for &(o, t) in &in_order {
        let between = unreadable
            .iter()
            .filter(|&&u| u < o && previous_observed.is_none_or(|p| u > p))
            .count();
        previous_observed = Some(o);
        if t > expected_next {
            let missing: Vec<usize> = (expected_next..t)
                .filter(|x| !seen.contains(x))
                .skip(between)
                .collect();
            for run in runs(&missing) {
                events.push(TemporalEvent::Dropped {
                    first: run.0,
                    last: run.1,
                    before: o,
                });
            }
        }
        expected_next = expected_next.max(t + 1);
    }
    events.sort_by_key(|e| match e {
        TemporalEvent::Dropped { before, .. } => (*before, 0),
        TemporalEvent::Inserted { observed } => (*observed, 1),
        TemporalEvent::Reordered { observed, .. } => (*observed, 1),
        TemporalEvent::Duplicated { observed, .. } => (*observed, 1),
    });
    events
}

/// Indices of one longest strictly increasing subsequence (patience sorting, O(n log n)).
fn longest_increasing(values: &[usize]) -> std::collections::HashSet<usize> {
    let mut tails: Vec<usize> = Vec::new(); // index into values of the tail of each length
    let mut parent: Vec<Option<usize>> = vec![None; values.len()];
    for (i, &v) in values.iter().enumerate() {
        let pos = tails.partition_point(|&j| values[j] < v);
        parent[i] = pos.checked_sub(1).map(|p| tails[p]);
        if pos == tails.len() {
            tails.push(i);
        } else {
            tails[pos] = i;
        }
    }
    let mut out = std::collections::HashSet::new();
    let mut cursor = tails.last().copied();
    while let Some(i) = cursor {
        out.insert(i);
        cursor = parent[i];
    }
    out
}

fn runs(sorted: &[usize]) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    for &x in sorted {
        match out.last_mut() {
            Some(last) if last.1 + 1 == x => last.1 = x,
            _ => out.push((x, x)),
        }
    }
    out
}

/// The tamper map's blocks, and the block of each counted layout position.
struct BlockGrid {
    block: usize,
    height: usize,
    width: usize,
    /// Block of layout position `j`, `None` where it is not counted.
    of: Vec<Option<usize>>,
    /// First layout position of pilot B.
    pilot_b_start: usize,
}

impl BlockGrid {
    fn new(
        layout: &Layout,
        len: usize,
        shape: LatentShape,
        options: &DetectOptions,
        counted: &dyn Fn(usize) -> bool,
    ) -> Self {
        let (h, w) = (shape.height, shape.width);
        let block = options.block.unwrap_or((h.min(w) / 8).max(1)).max(1);
        let (height, width) = (h.div_ceil(block), w.div_ceil(block));
        let [y0, y1, x0, x1] = options.observed_area.unwrap_or([0, h, 0, w]);
        let of = layout.order[..len]
            .iter()
            .enumerate()
            .map(|(j, &e)| {
                let e = e as usize;
                let (y, x) = ((e / w) % h, e % w);
                let observed = (y0..y1).contains(&y) && (x0..x1).contains(&x);
                (observed && counted(j)).then_some((y / block) * width + x / block)
            })
            .collect();
        Self {
            block,
            height,
            width,
            of,
            pilot_b_start: layout.pilot_a,
        }
    }
}

/// Agreement counts of one block or window.
#[derive(Debug, Clone, Copy, Default)]
struct Tally {
    /// All counted elements.
    agree: u32,
    count: u32,
    /// Pilot B elements (never used to choose frames or channels, so free of selection bias)
    /// against codeword elements (only when the payload was decoded).
    split: PilotsVsCodeword,
}

impl Tally {
    fn add(&mut self, other: &Tally) {
        self.agree += other.agree;
        self.count += other.count;
        self.split.add(&other.split);
    }

    fn agreement(&self) -> f32 {
        if self.count == 0 {
            f32::NAN
        } else {
            self.agree as f32 / self.count as f32
        }
    }
}

/// A window's splice score at or above this calls it pasted from another clip of the same key.
/// Under no edit the score is centred on 0 whatever the content, but wider than a standard
/// normal because an element's sign is correlated across frames: measured on 36 untouched
/// clips of the default model (1 764 windows), sd 1.22 and maximum 3.7. 6 is 4.9 of those sd
/// (49 windows reach it about once in 40 000 clips); 48×48-pixel patches pasted from another
/// clip scored 6.8 to 8.6 in the windows they cover.
const SPLICE_WINDOW_Z: f64 = 6.0;
/// The same for a single block judged on its own evidence (a quarter of a window's elements).
const SPLICE_BLOCK_Z: f64 = 7.0;

/// The tamper map. A region is called edited only when it carries no mark of this clip: its
/// agreement is at chance (foreign content), or its pilots agree while its codeword does not
/// (another clip made with the same key). Agreement that is merely lower than elsewhere is not
/// evidence: how well the mark survives depends on the content (measured on the default model:
/// blocks of untouched clips range from 0.57 to 0.79 around a median of 0.71, with whole regions
/// lower where the picture is smooth), so a threshold relative to the clip's level flagged 2 of
/// 27 untouched clips.
fn spatial_map(
    frames: &[ObservedFrame],
    matches: &[FrameMatch],
    expected: &[Vec<u64>],
    grid: &BlockGrid,
    data_start: usize,
) -> Option<SpatialMap> {
    let (block, gh, gw) = (grid.block, grid.height, grid.width);
    let cells = gh * gw;
    let mut total = vec![Tally::default(); cells];
    let mut per_frame = Vec::with_capacity(frames.len());
    for (obs, m) in frames.iter().zip(matches) {
        let Some(t) = m.template else {
            per_frame.push(Vec::new());
            continue;
        };
        let mut tally = vec![Tally::default(); cells];
        for (j, b) in grid.of.iter().enumerate() {
            let Some(b) = *b else { continue };
            let agrees = u32::from(bit(&obs.signs, j) == bit(&expected[t], j));
            let cell = &mut tally[b];
            cell.count += 1;
            cell.agree += agrees;
            if j >= data_start {
                cell.split.data_count += 1;
                cell.split.data_agree += agrees as usize;
            } else if j >= grid.pilot_b_start {
                cell.split.pilot_count += 1;
                cell.split.pilot_agree += agrees as usize;
            }
        }
        per_frame.push(tally.iter().map(Tally::agreement).collect());
        for (sum, cell) in total.iter_mut().zip(&tally) {
            sum.add(cell);
        }
    }
    if total.iter().all(|c| c.count == 0) {
        return None;
    }
    let agreement: Vec<f32> = total.iter().map(Tally::agreement).collect();
    // The clip's own agreement level: the median block (robust to the edited minority).
    let mut sorted: Vec<f32> = agreement
        .iter()
        .copied()
        .filter(|a| a.is_finite())
        .collect();
    sorted.sort_by(f32::total_cmp);
    let level = sorted.get(sorted.len() / 2).copied().unwrap_or(0.5);
    // At chance: within 3 sd of 0.5 (a foreign region stays below 99.87 % of the time) and within
    // a quarter of the way from chance to the clip's level; and the clip itself clearly marked.
    let at_chance = |t: &Tally, sigmas: f32| -> bool {
        if t.count == 0 {
            return false;
        }
        let sd = 0.5 / (t.count as f32).sqrt();
        let a = t.agreement();
        level > 0.5 + 8.0 * sd && a < 0.5 + sigmas * sd && a < 0.5 + (level - 0.5) / 4.0
    };
    // 2×2 windows of blocks pool four blocks' evidence: an edited region that covers a window
    // shows clearly there, while one block's noise does not.
    let window = |wy: usize, wx: usize| -> Tally {
        let mut sum = Tally::default();
        for y in wy..(wy + 2).min(gh) {
            for x in wx..(wx + 2).min(gw) {
                sum.add(&total[y * gw + x]);
            }
        }
        sum
    };
    let (wh, ww) = (gh.saturating_sub(1).max(1), gw.saturating_sub(1).max(1));
    let windows: Vec<(bool, bool)> = (0..wh * ww)
        .map(|i| {
            let w = window(i / ww, i % ww);
            (
                at_chance(&w, 3.0),
                w.split.looks_like_another_clip(SPLICE_WINDOW_Z),
            )
        })
        .collect();
    let cut = 0.5 + (level - 0.5) / 2.0;
    // A block leans towards "replaced": nearer chance than the clip's level, or its pilots
    // clearly ahead of its codeword. Alone that is no evidence (smooth content does the first).
    let leans = |cell: &Tally, chance: bool, spliced: bool| {
        chance && cell.agreement() < cut || spliced && cell.split.gap_z() >= 2.0
    };
    let seeds: Vec<bool> = (0..cells)
        .map(|b| {
            let cell = &total[b];
            if cell.count == 0 {
                return false;
            }
            // One block replaced on its own evidence…
            if at_chance(cell, 2.0) && cell.agreement() < 0.5 + (level - 0.5) / 8.0
                || cell.split.looks_like_another_clip(SPLICE_BLOCK_Z)
            {
                return true;
            }
            // …or a block that leans the same way inside a window edited as a whole.
            let (y, x) = (b / gw, b % gw);
            (y.saturating_sub(1)..=y.min(wh - 1)).any(|wy| {
                (x.saturating_sub(1)..=x.min(ww - 1)).any(|wx| {
                    let (chance, spliced) = windows[wy * ww + wx];
                    leans(cell, chance, spliced)
                })
            })
        })
        .collect();
    // An edit rarely follows the block grid: the blocks it only partly covers are mixed, so no
    // window through them is judged. One ring around the judged blocks takes those that lean.
    let tampered = (0..cells)
        .map(|b| {
            let (y, x) = (b / gw, b % gw);
            seeds[b]
                || total[b].count > 0
                    && leans(&total[b], true, true)
                    && (y.saturating_sub(1)..=(y + 1).min(gh - 1)).any(|ny| {
                        (x.saturating_sub(1)..=(x + 1).min(gw - 1)).any(|nx| seeds[ny * gw + nx])
                    })
        })
        .collect();
    Some(SpatialMap {
        block,
        grid_height: gh,
        grid_width: gw,
        agreement,
        tampered,
        per_frame,
    })
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
        .unwrap_or((2 * shape.frames).max(64))
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
    d.keys_tried = ring.len();
    d.log10_p_value = (d.log10_p_value + (ring.len() as f64).log10()).min(0.0);
    Ok(conclude(d, options.threshold))
}

/// Applies the threshold; without a significant watermark, alignment, payload and maps describe
/// noise and are not reported.
fn conclude(mut d: Detection, threshold: f64) -> Detection {
    d.p_value = 10f64.powf(d.log10_p_value);
    d.false_positive_rate = threshold;
    d.present = d.log10_p_value <= threshold.log10();
    if !d.present {
        d.temporal.clear();
        d.spatial = None;
        d.payload = None;
        d.clip_wide = false;
        d.alignment.clear();
        for m in &mut d.frames {
            m.template = None;
        }
    }
    d
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

/// A payload picked from a list of candidates (the soft bindings in a manifest store) for a mark
/// found too faint to decode on its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PayloadMatch {
    pub payload: Payload,
    /// log10 of the bound on the chance that a wrong candidate scores this well, multiplied by
    /// the number of candidates compared (Bonferroni).
    pub log10_p_value: f64,
    pub candidates: usize,
    /// Fraction of code-element signs of the aligned frames that disagree with this payload.
    pub bit_error_rate: f32,
}

/// Candidates are accepted only at this corrected significance or better.
pub const PAYLOAD_MATCH_THRESHOLD: f64 = 1e-6;

/// Compares the code elements of `latent` (under the detection's key and frame alignment) with
/// each candidate's codeword and returns the best candidate when it stands out at
/// [`PAYLOAD_MATCH_THRESHOLD`] after correcting for the number of candidates.
///
/// The evidence for each code bit is the soft sum the decoder uses (channel weight × clipped
/// value, signed by the keystream); a candidate's score is the sum of that evidence signed by its
/// codeword. Content ids are random, so a wrong candidate's code bits behave like coins
/// independent of the clip's own, each bit's term is a fair ±|evidence|, and
/// P(score ≥ s) ≤ exp(−s² / 2Σ evidence²) (Hoeffding). The code bit, not the element, is the
/// unit: every element of one code bit moves together.
pub fn identify_payload(
    ring: &KeyRing,
    detection: &Detection,
    latent: &[f32],
    shape: LatentShape,
    candidates: &[Payload],
    options: &DetectOptions,
) -> Result<Option<PayloadMatch>, WatermarkError> {
    shape.check(Some(latent.len()))?;
    let key = ring
        .keys()
        .get(detection.key_index)
        .ok_or(WatermarkError::NoKeys)?;
    if !detection.present || detection.alignment.is_empty() || candidates.is_empty() {
        return Ok(None);
    }
    let n = shape.frame_len();
    let templates = detection
        .alignment
        .iter()
        .map(|&(_, t)| t + 1)
        .max()
        .unwrap_or(0);
    let detector = Detector::new(key, n, templates);
    let layout = &detector.layout;
    let positions = position_weights(layout, shape, options);
    let weight = |j: usize| positions[j] as f32;
    let frames: Vec<ObservedFrame> = detection
        .alignment
        .iter()
        .filter(|&&(o, _)| (o + 1) * n <= latent.len())
        .map(|&(o, _)| ObservedFrame::new(&latent[o * n..(o + 1) * n], layout))
        .collect();
    let chosen: Vec<(usize, usize)> = detection
        .alignment
        .iter()
        .filter(|&&(o, _)| (o + 1) * n <= latent.len())
        .enumerate()
        .map(|(i, &(_, t))| (i, t))
        .collect();
    let evidence = detector.soft_code_bits(&frames, &chosen, &weight);
    let square: f64 = evidence.iter().map(|&e| f64::from(e) * f64::from(e)).sum();
    if square <= 0.0 {
        return Ok(None);
    }
    let mut best: Option<(f64, Payload)> = None;
    for &candidate in candidates {
        let sum: f64 = code::encode(&candidate.to_bits())
            .iter()
            .zip(&evidence)
            .map(|(&one, &e)| if one { -f64::from(e) } else { f64::from(e) })
            .sum();
        let ln_p = if sum > 0.0 {
            -(sum * sum) / (2.0 * square)
        } else {
            0.0
        };
        if best.as_ref().is_none_or(|(b, _)| ln_p < *b) {
            best = Some((ln_p, candidate));
        }
    }
    let Some((ln_p, payload)) = best else {
        return Ok(None);
    };
    let log10_p_value =
        (ln_p / std::f64::consts::LN_10 + (candidates.len() as f64).log10()).min(0.0);
    if log10_p_value > PAYLOAD_MATCH_THRESHOLD.log10() {
        return Ok(None);
    }
    let codeword = code::encode(&payload.to_bits());
    let start = layout.code_start();
    let (mut wrong, mut total) = (0usize, 0usize);
    for &(i, t) in &chosen {
        let data = data_bits(layout, &codeword, t);
        let tmpl = &detector.templates[t];
        for j in start..n {
            total += 1;
            wrong += usize::from(bit(&frames[i].signs, j) != (bit(tmpl, j) ^ bit(&data, j)));
        }
    }
    Ok(Some(PayloadMatch {
        payload,
        log10_p_value,
        candidates: candidates.len(),
        bit_error_rate: wrong as f32 / total.max(1) as f32,
    }))
}

/// A watermark found by [`detect_among_candidates`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CandidateDetection {
    pub key_index: usize,
    pub payload: Payload,
    /// log10 of the bound, multiplied by keys × candidates × runs tried.
    pub log10_p_value: f64,
    /// The (observed frame, template) pairs of the run that matched.
    pub alignment: Vec<(usize, usize)>,
    /// Fraction of all element signs of those frames that disagree with the expected ones.
    pub bit_error_rate: f32,
}

/// The candidate-assisted test, for a mark too faint for [`detect`]: if the clip carries one of
/// `candidates` (a manifest store's soft bindings), every element's expected sign is known, not
/// just the pilots', so the clip-wide test can count all of them — twice the evidence. For each
/// key, candidate and run of templates, S = Σ c·(±1) over every element (c = calibrated channel
/// weight × clipped value). Under no watermark of the key every expected sign is a fair coin
/// independent of the observation, so `P(S ≥ s) ≤ exp(−s²/2Σc²)` for each, and the best is
/// multiplied by keys × candidates × runs. Returns the best when it reaches `options.threshold`.
pub fn detect_among_candidates(
    ring: &KeyRing,
    latent: &[f32],
    shape: LatentShape,
    candidates: &[Payload],
    options: &DetectOptions,
) -> Result<Option<CandidateDetection>, WatermarkError> {
    shape.check(Some(latent.len()))?;
    if ring.is_empty() {
        return Err(WatermarkError::NoKeys);
    }
    if candidates.is_empty() {
        return Ok(None);
    }
    let n = shape.frame_len();
    let templates = options
        .max_templates
        .unwrap_or((2 * shape.frames).max(64))
        .max(1);
    let mut tests = 0usize;
    let mut best: Option<(f64, usize, Payload, Alignment)> = None;
    for (key_index, key) in ring.keys().iter().enumerate() {
        let detector = Detector::new(key, n, templates);
        let layout = &detector.layout;
        let weights = position_weights(layout, shape, options);
        let frames: Vec<ObservedFrame> = latent
            .chunks_exact(n)
            .map(|f| ObservedFrame::new(f, layout))
            .collect();
        let scaled: Vec<Vec<f64>> = frames
            .iter()
            .map(|f| element_weights(f, &weights))
            .collect();
        let totals: Vec<f64> = scaled.iter().map(|c| c.iter().sum()).collect();
        let square: Vec<f64> = scaled
            .iter()
            .map(|c| c.iter().map(|x| x * x).sum())
            .collect();
        for &candidate in candidates {
            let codeword = code::encode(&candidate.to_bits());
            let expected: Vec<Vec<u64>> = detector
                .templates
                .iter()
                .enumerate()
                .map(|(t, tmpl)| {
                    let data = data_bits(layout, &codeword, t);
                    tmpl.iter().zip(&data).map(|(a, b)| a ^ b).collect()
                })
                .collect();
            let table: Vec<Vec<f64>> = (0..frames.len())
                .map(|o| {
                    (0..templates)
                        .map(|t| {
                            weighted_agreement(
                                &frames[o].signs,
                                &expected[t],
                                &scaled[o],
                                totals[o],
                            )
                            .0
                        })
                        .collect()
                })
                .collect();
            let Some((ln_p, pairs, runs)) =
                best_run(frames.len(), templates, &|o, t| table[o][t], &square)
            else {
                continue;
            };
            tests += runs;
            if best.as_ref().is_none_or(|(b, ..)| ln_p < *b) {
                best = Some((ln_p, key_index, candidate, pairs));
            }
        }
    }
    let Some((ln_p, key_index, payload, alignment)) = best else {
        return Ok(None);
    };
    let log10_p_value = (ln_p / std::f64::consts::LN_10 + (tests.max(1) as f64).log10()).min(0.0);
    if log10_p_value > options.threshold.log10() {
        return Ok(None);
    }
    // How far the matched frames are from the expected signs, for the report.
    let key = &ring.keys()[key_index];
    let detector = Detector::new(key, n, templates);
    let codeword = code::encode(&payload.to_bits());
    let (mut wrong, mut total) = (0usize, 0usize);
    for &(o, t) in &alignment {
        let obs = ObservedFrame::new(&latent[o * n..(o + 1) * n], &detector.layout);
        let data = data_bits(&detector.layout, &codeword, t);
        for j in 0..n {
            total += 1;
            wrong +=
                usize::from(bit(&obs.signs, j) != (bit(&detector.templates[t], j) ^ bit(&data, j)));
        }
    }
    Ok(Some(CandidateDetection {
        key_index,
        payload,
        log10_p_value,
        alignment,
        bit_error_rate: wrong as f32 / total.max(1) as f32,
    }))
}
