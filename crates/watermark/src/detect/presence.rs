//! The presence tests, each with a p-value that holds under "no watermark of this key":
//! frame by frame (exact binomial on pilot B), clip-wide (Hoeffding over weighted pilots, for
//! marks too faint to place a single frame) and candidate-assisted (every element, when the clip
//! may carry one of a store's payloads).

use serde::{Deserialize, Serialize};

use super::observe::{element_weights, weighted_frames, Alignment, ObservedFrame};
use super::thresholds::{CHANNEL_KEPT_MIN_Z, CHOOSE_FRAME_MIN_Z};
use super::{DetectOptions, Detector};
use crate::code;
use crate::embed::data_bits;
use crate::key::KeyRing;
use crate::keystream::bit;
use crate::payload::{Payload, INFO_BITS};
use crate::shape::{LatentShape, WatermarkError};
use crate::stats::{ln_binomial_upper_tail, ln_hoeffding_bound, standard_score};

/// The outcome of one presence test.
pub(super) struct Presence {
    pub(super) chosen: Vec<(usize, usize)>,
    pub(super) selected: Vec<bool>,
    pub(super) agreements: u64,
    pub(super) comparisons: u64,
    pub(super) ln_p: f64,
}

impl Detector {
    /// The pilot-B presence test over the frames `chosen` (pairs of observed frame, template).
    /// Channels that still carry the watermark are judged on pilot A alone: compression erases
    /// fine latent bands first, and counting them would only dilute the evidence. Because the
    /// choice never looks at pilot B, the B count stays exactly binomial under no watermark.
    pub(super) fn frame_by_frame_presence(
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
            let picked: Vec<bool> = reliability
                .iter()
                .map(|r| r.z > CHANNEL_KEPT_MIN_Z)
                .collect();
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
    pub(super) fn clip_wide_presence(
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
        // The weights are quantised to 8 bits per frame (the bound holds for any weights fixed
        // by the observation, and these are), so that every (frame, template) pair is summed with
        // 8 popcounts per 64 elements: with a 256-frame timeline that pair table is most of the
        // detector's work.
        let scaled: Vec<QuantisedWeights> = frames
            .iter()
            .map(|f| QuantisedWeights::new(&element_weights(f, &w)))
            .collect();
        let frame_square: Vec<f64> = scaled.iter().map(|q| q.square).collect();
        // Weighted agreement of every (frame, template) pair, and its plain count:
        // S = 2·Σ(agreeing c) − Σc.
        let pair = |o: usize, t: usize| scaled[o].agreement(&frames[o].signs, &self.templates[t]);
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
}

/// Template steps per observed frame tried by the clip-wide test: the clip as it was, and
/// frame-rate conversions that repeat (0.5, 0.8) or skip (1.25, 2) frames.
pub(super) const SEQUENCE_RATES: [f64; 5] = [1.0, 0.8, 1.25, 0.5, 2.0];

/// The run of templates (every offset, every rate in [`SEQUENCE_RATES`], covering at least half the
/// frames) whose summed score `score(o, t)` has the smallest Hoeffding bound
/// `ln p = −S² / 2Σ square[o]`. Returns that ln p (not yet corrected), the run's pairs and the
/// number of runs tried.
pub(super) fn best_run(
    frames: usize,
    templates: usize,
    score: &dyn Fn(usize, usize) -> f64,
    square: &[f64],
) -> Option<(f64, Alignment, usize)> {
    // (ln p, starts early, the run's pairs) of every run tried.
    let mut tried: Vec<(f64, bool, Alignment)> = Vec::new();
    for rate in SEQUENCE_RATES {
        for offset in 0..templates {
            let pairs = template_run(frames, templates, offset, rate);
            if pairs.is_empty() || 2 * pairs.len() < frames.min(templates) {
                continue;
            }
            let sum: f64 = pairs.iter().map(|&(o, t)| score(o, t)).sum();
            let q: f64 = pairs.iter().map(|&(o, _)| square[o]).sum();
            tried.push((ln_hoeffding_bound(sum, q), offset <= EARLY_OFFSET, pairs));
        }
    }
    let runs = tried.len();
    let early = tried.iter().filter(|t| t.1).count();
    // Weighted union bound: half of the test's rate shared by the runs that start at the clip's
    // beginning (most files show a clip from its first frames), half by all runs. A run's p-value
    // divided by its weight is its corrected p-value; the weights sum to at most 1. Returned less
    // ln(runs), which the callers add back (as for an even split).
    let weight = |is_early: bool| {
        0.5 / runs.max(1) as f64
            + if is_early {
                0.5 / early.max(1) as f64
            } else {
                0.0
            }
    };
    tried
        .into_iter()
        .map(|(ln_p, is_early, pairs)| (ln_p - weight(is_early).ln(), pairs))
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(corrected, pairs)| (corrected - (runs.max(1) as f64).ln(), pairs, runs))
}

/// Runs starting at or before this template are the clip from (nearly) its first frame.
const EARLY_OFFSET: usize = 8;

/// Element weights quantised to 8 bits (`c ≈ q·step`), stored as bit planes, so that the
/// weighted agreement of two packed sign vectors is 8 popcounts a word.
pub(super) struct QuantisedWeights {
    step: f64,
    /// `planes[k][w]`: bit `j % 64` set when bit `k` of element `j`'s level is.
    planes: [Vec<u64>; 8],
    len: usize,
    /// Σc and Σc² of the quantised weights.
    total: f64,
    pub(super) square: f64,
}

impl QuantisedWeights {
    pub(super) fn new(c: &[f64]) -> Self {
        let max = c.iter().copied().fold(0.0f64, f64::max);
        let step = if max > 0.0 && max.is_finite() {
            max / 255.0
        } else {
            1.0
        };
        let words = c.len().div_ceil(64);
        let mut planes: [Vec<u64>; 8] = std::array::from_fn(|_| vec![0u64; words]);
        let (mut total, mut square) = (0f64, 0f64);
        for (j, &x) in c.iter().enumerate() {
            let level = if x.is_finite() && x > 0.0 {
                (x / step + 0.5).min(255.0) as u64
            } else {
                0
            };
            let (word, bit) = (j / 64, j % 64);
            for (k, plane) in planes.iter_mut().enumerate() {
                plane[word] |= ((level >> k) & 1) << bit;
            }
            let q = level as f64 * step;
            total += q;
            square += q * q;
        }
        Self {
            step,
            planes,
            len: c.len(),
            total,
            square,
        }
    }

    /// S = 2·Σ(c over agreeing positions) − Σc for packed signs `a`, `b`, and the number of
    /// agreeing positions.
    pub(super) fn agreement(&self, a: &[u64], b: &[u64]) -> (f64, u64) {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("popcnt") {
                // SAFETY: the CPU has the one feature `agreement_popcnt` is compiled for; the
                // function itself is the safe `agreement_words`, only compiled with it.
                return unsafe { self.agreement_popcnt(a, b) };
            }
        }
        self.agreement_words(a, b)
    }

    /// [`Self::agreement_words`] compiled with the popcount instruction (x86-64's baseline has
    /// none, and nine popcounts a word are this detector's inner loop).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "popcnt")]
    unsafe fn agreement_popcnt(&self, a: &[u64], b: &[u64]) -> (f64, u64) {
        self.agreement_words(a, b)
    }

    #[inline(always)]
    fn agreement_words(&self, a: &[u64], b: &[u64]) -> (f64, u64) {
        let (mut levels, mut count) = (0u64, 0u64);
        for w in 0..self.len.div_ceil(64) {
            let mut bits = !(a[w] ^ b[w]);
            let used = self.len - 64 * w;
            if used < 64 {
                bits &= (1u64 << used) - 1;
            }
            count += u64::from(bits.count_ones());
            for (k, plane) in self.planes.iter().enumerate() {
                levels += u64::from((bits & plane[w]).count_ones()) << k;
            }
        }
        (2.0 * levels as f64 * self.step - self.total, count)
    }
}

/// S = 2·Σ(c over agreeing positions) − Σc for packed signs `a`, `b` over positions `0..c.len()`,
/// walking only the agreeing bits; also returns the number of agreeing positions. The exact sum
/// [`QuantisedWeights`] is checked against.
#[cfg(test)]
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
pub(super) fn template_run(
    frames: usize,
    templates: usize,
    offset: usize,
    rate: f64,
) -> Vec<(usize, usize)> {
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
pub(super) struct ChannelReliability {
    pub(super) rate: f32,
    pub(super) z: f32,
}

pub(super) fn channel_reliability(
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
            let n = n.max(1);
            ChannelReliability {
                rate: a as f32 / n as f32,
                z: standard_score(a as usize, n as usize),
            }
        })
        .collect()
}

/// Frames whose pilot-A match is at least weakly significant (z ≥ [`CHOOSE_FRAME_MIN_Z`]), one per template (the
/// strongest); all frames' best templates when none qualifies.
pub(super) fn choose_frames(best: &[(usize, f32)], templates: usize) -> Vec<(usize, usize)> {
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
    let strong = pick(CHOOSE_FRAME_MIN_Z);
    if strong.is_empty() {
        pick(f32::NEG_INFINITY)
    } else {
        strong
    }
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
        .unwrap_or_else(|| super::default_templates(shape.frames))
        .max(1);
    let mut tests = 0usize;
    let mut best: Option<(f64, usize, Payload, Alignment)> = None;
    for (key_index, key) in ring.keys().iter().enumerate() {
        // A candidate is marked with the variant its payload chooses: only that variant's
        // templates are compared with it.
        let mine: Vec<Payload> = candidates
            .iter()
            .copied()
            .filter(|&c| key.variant().is_none_or(|v| key.variant_for(c) == v))
            .collect();
        if mine.is_empty() {
            continue;
        }
        let detector = Detector::new(key, n, templates);
        let layout = &detector.layout;
        let (frames, scaled) = weighted_frames(latent, n, layout, shape, options);
        let code_start = layout.code_start().min(n);
        let code_len = layout.code_len.max(1);
        // Every element, then the codeword's elements alone: the pilots are what every clip of a
        // variant shares, so an attacker who averages the clips of the target's variant and
        // subtracts the mean can cancel them (or push them negative, dragging the sum over every
        // element down with them); the code bits belong to this clip's payload and survive that.
        // Under no mark of the key a code element's expected sign is still a fair coin, so the
        // bound holds with the pilots' weights left out. Both tests count.
        let square_all: Vec<f64> = scaled
            .iter()
            .map(|c| c.iter().map(|x| x * x).sum())
            .collect();
        let square_code: Vec<f64> = scaled
            .iter()
            .map(|c| c[code_start..].iter().map(|x| x * x).sum())
            .collect();
        // For each (frame, template): the pilots' signed agreement, and the code region's summed
        // per code bit. A candidate's agreement is then the pilots' plus each code bit's sum with
        // the sign its codeword gives it: one pass over the elements for all candidates.
        let mut pilots = vec![vec![0f64; templates]; frames.len()];
        let mut per_bit = vec![vec![vec![0f64; code_len]; templates]; frames.len()];
        for (o, frame) in frames.iter().enumerate() {
            for (t, template) in detector.templates.iter().enumerate() {
                let sums = &mut per_bit[o][t];
                let mut pilot = 0f64;
                for (j, &c) in scaled[o].iter().enumerate() {
                    let agree = bit(&frame.signs, j) == bit(template, j);
                    let v = if agree { c } else { -c };
                    if j < code_start {
                        pilot += v;
                    } else {
                        sums[layout.code_bit(j, t)] += v;
                    }
                }
                pilots[o][t] = pilot;
            }
        }
        for candidate in mine {
            let codeword = code::encode(&candidate.to_bits());
            let code: Vec<Vec<f64>> = per_bit
                .iter()
                .map(|row| {
                    row.iter()
                        .map(|sums| {
                            sums.iter()
                                .zip(&codeword)
                                .map(|(&v, &one)| if one { -v } else { v })
                                .sum()
                        })
                        .collect()
                })
                .collect();
            for (with_pilots, square) in [(true, &square_all), (false, &square_code)] {
                let score =
                    |o: usize, t: usize| code[o][t] + if with_pilots { pilots[o][t] } else { 0.0 };
                let Some((ln_p, pairs, runs)) = best_run(frames.len(), templates, &score, square)
                else {
                    continue;
                };
                tests += runs;
                if best.as_ref().is_none_or(|(b, ..)| ln_p < *b) {
                    best = Some((ln_p, key_index, candidate, pairs));
                }
            }
        }
    }
    Ok(best.and_then(|(ln_p, key_index, payload, alignment)| {
        conclude_candidate(
            ring, latent, n, options, ln_p, tests, key_index, payload, alignment,
        )
    }))
}

/// Content ids are 64-bit: a payload read from the clip itself is one of 2^64 codewords, each a
/// test in the union bound.
const LN_PAYLOADS: f64 = 64.0 * std::f64::consts::LN_2;

/// The decoded-codeword test, for a mark whose pilots are gone but whose codeword is not: an
/// attacker who sorted public clips by template variant and subtracted the mean of the target's
/// variant cancels the pilots every clip of that variant shares, while the clip's own codeword
/// (its payload is in no other clip) survives — and without a store there is no candidate to
/// compare with. For each key and each run of templates from the clip's first frames (offsets up
/// to [`EARLY_OFFSET`] at the clip's rate, offset 0 at the other rates in [`SEQUENCE_RATES`]),
/// the code elements' soft values are
/// decoded (Viterbi, CRC-32, the key's variant check) and the payload read is then scored as the
/// candidate test scores one: S = Σ c·(±1) over the code elements alone. Under no mark of the
/// key, each codeword's expected signs are fair coins independent of the observation, so
/// `P(S ≥ s) ≤ exp(−s²/2Σc²)` for each of the 2^64 payloads, and the best is multiplied by
/// 2^64 × keys × runs (the decoder picks the payload; the union bound covers every payload it
/// could pick). Returns the best when it reaches `options.threshold`.
pub fn detect_by_decoding(
    ring: &KeyRing,
    latent: &[f32],
    shape: LatentShape,
    options: &DetectOptions,
) -> Result<Option<CandidateDetection>, WatermarkError> {
    shape.check(Some(latent.len()))?;
    if ring.is_empty() {
        return Err(WatermarkError::NoKeys);
    }
    let n = shape.frame_len();
    let templates = options
        .max_templates
        .unwrap_or_else(|| super::default_templates(shape.frames))
        .max(1);
    // The clip from its first frames at its own rate, or a few frames in; and from its first
    // frame at each frame-rate conversion. (Each run tried costs a decode and a share of the
    // rate: the other tests search every start.)
    let offsets = EARLY_OFFSET.min(templates - 1);
    let runs: Vec<Alignment> = (0..=offsets)
        .map(|offset| (offset, 1.0))
        .chain(SEQUENCE_RATES.iter().skip(1).map(|&rate| (0, rate)))
        .map(|(offset, rate)| template_run(shape.frames, templates, offset, rate))
        .filter(|pairs| !pairs.is_empty() && 2 * pairs.len() >= shape.frames.min(templates))
        .collect();
    let needed = runs
        .iter()
        .flatten()
        .map(|&(_, t)| t + 1)
        .max()
        .unwrap_or(0);
    if runs.is_empty() || needed == 0 {
        return Ok(None);
    }
    let mut tests = 0usize;
    let mut best: Option<(f64, usize, Payload, Alignment)> = None;
    for (key_index, key) in ring.keys().iter().enumerate() {
        let detector = Detector::new(key, n, needed);
        let layout = &detector.layout;
        let code_start = layout.code_start().min(n);
        let code_len = layout.code_len.max(1);
        if code_start >= n {
            continue;
        }
        let (frames, scaled) = weighted_frames(latent, n, layout, shape, options);
        let square_code: Vec<f64> = scaled
            .iter()
            .map(|c| c[code_start..].iter().map(|x| x * x).sum())
            .collect();
        // Each (frame, template) pair's evidence per code bit (positive: the bit is 0), computed
        // once: the runs share most of their pairs.
        let mut per_pair: std::collections::HashMap<(usize, usize), Vec<f64>> =
            std::collections::HashMap::new();
        for run in &runs {
            tests += 1;
            let mut soft = vec![0f64; code_len];
            for &(o, t) in run {
                let sums = per_pair.entry((o, t)).or_insert_with(|| {
                    let mut sums = vec![0f64; code_len];
                    // Consecutive code elements carry consecutive code bits (`Layout::code_bit`).
                    let mut b = layout.code_bit(code_start, t);
                    for (j, &c) in scaled[o].iter().enumerate().skip(code_start) {
                        let agree = bit(&frames[o].signs, j) == bit(&detector.templates[t], j);
                        sums[b] += if agree { c } else { -c };
                        b += 1;
                        if b == code_len {
                            b = 0;
                        }
                    }
                    sums
                });
                for (s, v) in soft.iter_mut().zip(sums.iter()) {
                    *s += v;
                }
            }
            let soft32: Vec<f32> = soft.iter().map(|&v| v as f32).collect();
            let Some(payload) = Payload::from_bits(&code::decode(&soft32, INFO_BITS)) else {
                continue;
            };
            // The key's holder marks every clip with the variant its payload chooses.
            if key.variant().is_some_and(|v| key.variant_for(payload) != v) {
                continue;
            }
            let codeword = code::encode(&payload.to_bits());
            let score: f64 = soft
                .iter()
                .zip(&codeword)
                .map(|(&v, &one)| if one { -v } else { v })
                .sum();
            let square: f64 = run.iter().map(|&(o, _)| square_code[o]).sum();
            let ln_p = ln_hoeffding_bound(score, square) + LN_PAYLOADS;
            if best.as_ref().is_none_or(|(b, ..)| ln_p < *b) {
                best = Some((ln_p, key_index, payload, run.clone()));
            }
        }
    }
    Ok(best.and_then(|(ln_p, key_index, payload, alignment)| {
        conclude_candidate(
            ring, latent, n, options, ln_p, tests, key_index, payload, alignment,
        )
    }))
}

/// A candidate or decoded payload's detection: its bound corrected for the `tests` run, kept
/// when it reaches the threshold, with how far the matched frames are from the expected signs.
#[allow(clippy::too_many_arguments)]
fn conclude_candidate(
    ring: &KeyRing,
    latent: &[f32],
    n: usize,
    options: &DetectOptions,
    ln_p: f64,
    tests: usize,
    key_index: usize,
    payload: Payload,
    alignment: Alignment,
) -> Option<CandidateDetection> {
    let log10_p_value = (ln_p / std::f64::consts::LN_10 + (tests.max(1) as f64).log10()).min(0.0);
    if log10_p_value > options.threshold.log10() {
        return None;
    }
    let key = ring.keys().get(key_index)?;
    let templates = alignment.iter().map(|&(_, t)| t + 1).max().unwrap_or(0);
    let detector = Detector::new(key, n, templates);
    let codeword = code::encode(&payload.to_bits());
    let (mut wrong, mut total) = (0usize, 0usize);
    for &(o, t) in &alignment {
        let Some(values) = latent.get(o * n..(o + 1) * n) else {
            continue;
        };
        let obs = ObservedFrame::new(values, &detector.layout);
        let data = data_bits(&detector.layout, &codeword, t);
        for j in 0..n {
            total += 1;
            wrong +=
                usize::from(bit(&obs.signs, j) != (bit(&detector.templates[t], j) ^ bit(&data, j)));
        }
    }
    Some(CandidateDetection {
        key_index,
        payload,
        log10_p_value,
        alignment,
        bit_error_rate: wrong as f32 / total.max(1) as f32,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::panic)]
    use super::*;

    #[test]
    fn a_template_run_takes_each_template_once_and_stops_at_the_last() {
        assert_eq!(
            template_run(4, 10, 2, 1.0),
            vec![(0, 2), (1, 3), (2, 4), (3, 5)]
        );
        // Half rate: frames repeat templates; only the first of each counts.
        assert_eq!(template_run(4, 10, 0, 0.5), vec![(0, 0), (1, 1), (3, 2)]);
        assert_eq!(template_run(5, 3, 1, 1.0), vec![(0, 1), (1, 2)]);
        assert!(template_run(3, 3, 5, 1.0).is_empty());
    }

    #[test]
    fn quantised_weights_agree_with_the_exact_sum_to_within_a_level() {
        let a = vec![0b1011_0110u64, u64::MAX, 0x0123_4567_89ab_cdef];
        let b = vec![0b1001_0011u64, 0, 0xfedc_ba98_7654_3210];
        let c: Vec<f64> = (0..150)
            .map(|i| (i as f64 * 0.37).sin().abs() * 2.5)
            .collect();
        let total: f64 = c.iter().sum();
        let (exact, n) = weighted_agreement(&a, &b, &c, total);
        let q = QuantisedWeights::new(&c);
        let (s, count) = q.agreement(&a, &b);
        assert_eq!(count, n);
        let step = 2.5 / 255.0;
        assert!((s - exact).abs() <= 150.0 * step, "{s} vs {exact}");
        let exact_square: f64 = c.iter().map(|x| x * x).sum();
        assert!((q.square - exact_square).abs() / exact_square < 0.01);
        // All agreeing: S is the quantised total; none: minus it.
        let (all, _) = q.agreement(&a, &a);
        assert!((all - q.total).abs() < 1e-9);
        let not_a: Vec<u64> = a.iter().map(|w| !w).collect();
        let (none, zero) = q.agreement(&a, &not_a);
        assert!((none + q.total).abs() < 1e-9 && zero == 0);
        // Degenerate weights quantise to nothing rather than to garbage.
        let flat = QuantisedWeights::new(&[0.0, f64::NAN, -1.0]);
        assert_eq!(flat.agreement(&[0], &[0]).0, 0.0);
    }

    #[test]
    fn weighted_agreement_matches_a_plain_count() {
        let a = vec![0b1011_0110u64, u64::MAX];
        let b = vec![0b1001_0011u64, 0];
        let c: Vec<f64> = (0..70).map(|i| 0.5 + i as f64 / 10.0).collect();
        let total: f64 = c.iter().sum();
        let (s, count) = weighted_agreement(&a, &b, &c, total);
        let (mut agree, mut n) = (0.0, 0u64);
        for (j, &w) in c.iter().enumerate() {
            let same = (a[j / 64] >> (j % 64)) & 1 == (b[j / 64] >> (j % 64)) & 1;
            if same {
                agree += w;
                n += 1;
            }
        }
        assert_eq!(count, n);
        assert!((s - (2.0 * agree - total)).abs() < 1e-9);
    }

    #[test]
    fn the_best_run_is_the_planted_one_and_runs_are_counted() {
        // 8 frames, 20 templates: only frame o at template 5 + o scores.
        let score = |o: usize, t: usize| if t == 5 + o { 3.0 } else { 0.0 };
        let square = vec![1.0; 8];
        let Some((ln_p, pairs, runs)) = best_run(8, 20, &score, &square) else {
            panic!("no run")
        };
        assert_eq!(pairs, (0..8).map(|o| (o, 5 + o)).collect::<Vec<_>>());
        assert!(runs >= 13 && runs <= SEQUENCE_RATES.len() * 20, "{runs}");
        // With the callers' ln(runs) added back: the Hoeffding bound divided by the run's weight,
        // between the bound itself and the bound times 2·runs (a late run's correction).
        let raw = -24.0f64.powi(2) / 16.0;
        let corrected = ln_p + (runs as f64).ln();
        assert!(corrected >= raw - 1e-9, "{corrected} {raw}");
        assert!(corrected <= raw + (2.0 * runs as f64).ln() + 1e-9);
        assert!(best_run(0, 20, &score, &[]).is_none());
    }

    #[test]
    fn a_run_from_the_clips_start_pays_less_for_the_runs_tried() {
        // The same evidence planted at template 2 (a clip from its start) and at template 40 (an
        // excerpt from later in a long clip): the first is corrected less, the second no more than
        // twice what an even split over all runs would charge.
        let square = vec![1.0; 8];
        let at = |start: usize| {
            let score = move |o: usize, t: usize| if t == start + o { 2.0 } else { 0.0 };
            best_run(8, 64, &score, &square)
                .map(|(ln_p, _, runs)| (ln_p, runs))
                .unwrap_or((0.0, 1))
        };
        let ((early, runs), (late, _)) = (at(2), at(40));
        assert!(early < late - 1.0, "{early} vs {late}");
        let raw = -16.0f64.powi(2) / 16.0;
        assert!(late + (runs as f64).ln() <= raw + (2.0 * runs as f64).ln() + 1e-9);
    }

    #[test]
    fn frames_are_chosen_once_per_template_strongest_first() {
        let best = [(3, 4.0), (3, 6.0), (1, 2.5), (2, 0.5)];
        assert_eq!(choose_frames(&best, 5), vec![(2, 1), (1, 3)]);
        // None significant: every frame's best template, still one frame per template.
        let weak = [(0, 0.1), (0, 0.3), (4, -1.0)];
        assert_eq!(choose_frames(&weak, 5), vec![(1, 0), (2, 4)]);
    }

    #[test]
    fn channel_reliability_scores_each_channel_on_its_positions() {
        let frames = vec![ObservedFrame {
            signs: vec![0b1111],
            values: vec![1.0; 8],
        }];
        let templates = vec![vec![0b0011u64]];
        // Positions 0..4 in channel 0, 4..8 in channel 1.
        let r = channel_reliability(&frames, &[(0, 0)], &templates, 0..8, 2, &|j| j / 4);
        assert_eq!((r[0].rate, r[1].rate), (0.5, 1.0));
        assert_eq!(r[1].z, 2.0);
    }
}
