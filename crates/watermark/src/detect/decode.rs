//! The payload: soft decoding of the code bits, and identification among candidate payloads
//! when the mark is too faint to decode on its own.

use serde::{Deserialize, Serialize};

use super::observe::{position_weights, ObservedFrame};
use super::thresholds::{
    FORGERY_MAX_OBSERVED_SHARE, FORGERY_MIN_PREDICTED_Z, PAYLOAD_MATCH_THRESHOLD, SOFT_CLIP,
};
use super::{DetectOptions, Detection, Detector};
use crate::code;
use crate::embed::data_bits;
use crate::key::KeyRing;
use crate::keystream::bit;
use crate::payload::{Payload, INFO_BITS};
use crate::shape::{LatentShape, WatermarkError};
use crate::stats::ln_hoeffding_bound;

impl Detector {
    /// Soft decoding; `weight(j)` scales layout position `j` by how reliable its channel is.
    pub(super) fn decode_payload(
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
    pub(super) fn soft_code_bits(
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

/// A detector for `key` holding the templates up to the last one a detection's alignment names.
fn aligned_detector(
    key: &crate::key::WatermarkKey,
    detection: &Detection,
    frame_len: usize,
) -> Detector {
    let templates = detection
        .alignment
        .iter()
        .map(|&(_, t)| t + 1)
        .max()
        .unwrap_or(0);
    Detector::new(key, frame_len, templates)
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
    let detector = aligned_detector(key, detection, n);
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
    // A clip's variant is a function of its payload: candidates marked with another variant
    // cannot be this mark's payload, and are not counted in the correction.
    let candidates: Vec<Payload> = candidates
        .iter()
        .copied()
        .filter(|&c| key.variant().is_none_or(|v| key.variant_for(c) == v))
        .collect();
    let mut best: Option<(f64, Payload)> = None;
    for &candidate in &candidates {
        let sum: f64 = code::encode(&candidate.to_bits())
            .iter()
            .zip(&evidence)
            .map(|(&one, &e)| if one { -f64::from(e) } else { f64::from(e) })
            .sum();
        let ln_p = ln_hoeffding_bound(sum, square);
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

/// Whether the codeword elements of a found mark carry it as strongly as its pilots do.
///
/// In an authentic mark every element agrees with its expected sign equally well, pilot or code
/// (the layout interleaves them at random), so the elements of one code bit agree with each other
/// and their soft sum s_b stands out: E[Σ s_b²] = Σ_b Σ_j v_j² + Σ_b (Σ_j μ)², where μ is the
/// mean signed value an element carries — measured on the pilots. A pattern that copies the
/// pilots without a payload behind it (the average of many clips' marks: their codewords differ
/// and cancel) has the pilots' agreement but code bits at chance: Σ s_b² stays at its null mean.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Coherence {
    /// The code bits' excess coherence the pilots predict, in null standard deviations.
    pub predicted_z: f64,
    /// The excess coherence observed, in the same units.
    pub observed_z: f64,
}

impl Coherence {
    /// The pilots promise a clearly visible codeword (≥ [`FORGERY_MIN_PREDICTED_Z`] sd), and the
    /// code bits show less than [`FORGERY_MAX_OBSERVED_SHARE`] of it.
    pub fn looks_forged(&self) -> bool {
        self.predicted_z >= FORGERY_MIN_PREDICTED_Z
            && self.observed_z < FORGERY_MAX_OBSERVED_SHARE * self.predicted_z
    }
}

/// Measures [`Coherence`] on the frames a present detection aligned; `None` when it has no
/// alignment or the key is not in `ring`.
pub fn payload_coherence(
    ring: &KeyRing,
    detection: &Detection,
    latent: &[f32],
    shape: LatentShape,
) -> Result<Option<Coherence>, WatermarkError> {
    shape.check(Some(latent.len()))?;
    let Some(key) = ring.keys().get(detection.key_index) else {
        return Ok(None);
    };
    if !detection.present || detection.alignment.is_empty() {
        return Ok(None);
    }
    let n = shape.frame_len();
    let detector = aligned_detector(key, detection, n);
    let layout = &detector.layout;
    let start = layout.code_start();
    if start == 0 || start >= n {
        return Ok(None);
    }
    // Each element weighs by how strongly its channel carries the mark, measured on pilot B (which
    // chose nothing, so it is unbiased; compression erases some channels): the matched filter for
    // both sums.
    let hw = (shape.height * shape.width).max(1);
    let channel = |j: usize| (layout.order[j] as usize / hw).min(shape.channels.saturating_sub(1));
    let frames: Vec<(ObservedFrame, usize)> = detection
        .alignment
        .iter()
        .filter_map(|&(o, t)| {
            let frame = latent.get(o * n..(o + 1) * n)?;
            Some((ObservedFrame::new(frame, layout), t))
        })
        .collect();
    let signed = |obs: &ObservedFrame, t: usize, j: usize| {
        let v = f64::from(obs.values[j].clamp(-SOFT_CLIP, SOFT_CLIP));
        (
            v,
            if bit(&detector.templates[t], j) {
                -v
            } else {
                v
            },
        )
    };
    let (mut pilot_sum, mut pilot_count) = (vec![0f64; shape.channels], vec![0f64; shape.channels]);
    for (obs, t) in &frames {
        for j in layout.pilot_a..start {
            let c = channel(j);
            pilot_sum[c] += signed(obs, *t, j).1;
            pilot_count[c] += 1.0;
        }
    }
    if pilot_count.iter().sum::<f64>() == 0.0 {
        return Ok(None);
    }
    let mu: Vec<f64> = pilot_sum
        .iter()
        .zip(&pilot_count)
        .map(|(s, n)| if *n > 0.0 { (s / n).max(0.0) } else { 0.0 })
        .collect();
    let mut soft = vec![0f64; code::CODE_BITS];
    let mut null = vec![0f64; code::CODE_BITS];
    let mut expected = vec![0f64; code::CODE_BITS];
    for (obs, t) in &frames {
        for j in start..n {
            let w = mu[channel(j)];
            let (v, s) = signed(obs, *t, j);
            let b = layout.code_bit(j, *t);
            soft[b] += w * s;
            null[b] += w * w * v * v;
            expected[b] += w * mu[channel(j)];
        }
    }
    let null_mean: f64 = null.iter().sum();
    let null_sd = (2.0 * null.iter().map(|x| x * x).sum::<f64>())
        .sqrt()
        .max(1e-12);
    let observed: f64 = soft.iter().map(|s| s * s).sum::<f64>() - null_mean;
    let predicted: f64 = expected.iter().map(|e| e * e).sum();
    Ok(Some(Coherence {
        predicted_z: predicted / null_sd,
        observed_z: observed / null_sd,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::embed;
    use crate::key::WatermarkKey;
    use rand::SeedableRng;

    #[test]
    fn soft_decoding_reads_back_the_embedded_payload() -> Result<(), WatermarkError> {
        let key = WatermarkKey::new(&[5; 32]);
        let shape = LatentShape::new(4, 4, 16, 16);
        let payload = Payload::new(0xfeed);
        let noise = embed(
            &key,
            payload,
            shape,
            &mut rand::rngs::StdRng::seed_from_u64(2),
        )?;
        let n = shape.frame_len();
        let detector = Detector::new(&key.for_payload(payload), n, 8);
        let frames: Vec<ObservedFrame> = noise
            .chunks_exact(n)
            .map(|f| ObservedFrame::new(f, &detector.layout))
            .collect();
        let chosen: Vec<(usize, usize)> = (0..4).map(|o| (o, o)).collect();
        assert_eq!(
            detector.decode_payload(&frames, &chosen, &|_| 1.0),
            Some(payload)
        );
        // Aligned to the wrong templates, the code bits are noise: the CRC rejects them.
        let wrong: Vec<(usize, usize)> = (0..4).map(|o| (o, o + 4)).collect();
        assert_eq!(detector.decode_payload(&frames, &wrong, &|_| 1.0), None);
        assert_eq!(detector.decode_payload(&frames, &[], &|_| 1.0), None);
        // Positive evidence means a 0 bit: the soft values agree with the codeword's signs.
        let soft = detector.soft_code_bits(&frames, &chosen, &|_| 1.0);
        let codeword = code::encode(&payload.to_bits());
        let agree = soft
            .iter()
            .zip(&codeword)
            .filter(|(&s, &one)| (s < 0.0) == one)
            .count();
        assert_eq!(agree, codeword.len());
        Ok(())
    }
}
