//! The payload: soft decoding of the code bits, and identification among candidate payloads
//! when the mark is too faint to decode on its own.

use serde::{Deserialize, Serialize};

use super::observe::{position_weights, ObservedFrame};
use super::thresholds::{PAYLOAD_MATCH_THRESHOLD, SOFT_CLIP};
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
        let detector = Detector::new(&key, n, 8);
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
