//! A region's own mark: how well the latent cells of a region, over some frames, agree with the
//! signs a given payload puts there. An edit re-marks the region it redraws with a payload of its
//! own, and leaves the rest of the clip with the clip's: checking both, with the key, tells an
//! edit that was made from a change someone else made and then claimed.

use crate::code;
use crate::embed::data_bits;
use crate::key::WatermarkKey;
use crate::keystream::{bit, template_bits, Layout};
use crate::payload::Payload;
use crate::shape::{LatentShape, WatermarkError};
use crate::stats::ln_binomial_upper_tail;

/// Agreement of a region's elements with a payload's signs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RegionAgreement {
    pub agreeing: u64,
    pub compared: u64,
    /// log10 of P(at least `agreeing` of `compared` by chance): exact binomial, one test.
    pub log10_p_value: f64,
}

impl RegionAgreement {
    /// Share of agreeing signs (0.5: chance).
    pub fn rate(&self) -> f64 {
        if self.compared == 0 {
            0.5
        } else {
            self.agreeing as f64 / self.compared as f64
        }
    }
}

/// Counts, over the (observed frame, template) `pairs` and the latent cells `(y, x)` for which
/// `in_region` holds, the elements of `latent` (an initial-noise estimate of `shape`) whose signs
/// are those `payload` is marked with under `key` (its variant for the payload). A zero counts as
/// positive (so as a coin flip against the keyed signs: a region flattened to nothing carries no
/// mark, it is not left out); non-finite values and pairs outside the latent are skipped.
pub fn region_agreement(
    key: &WatermarkKey,
    payload: Payload,
    latent: &[f32],
    shape: LatentShape,
    pairs: &[(usize, usize)],
    in_region: &dyn Fn(usize, usize) -> bool,
) -> Result<RegionAgreement, WatermarkError> {
    shape.check(Some(latent.len()))?;
    let variant = key.for_payload(payload);
    let n = shape.frame_len();
    let hw = (shape.height * shape.width).max(1);
    let layout = Layout::new(&variant, n, code::CODE_BITS);
    let codeword = code::encode(&payload.to_bits());
    let mut region = vec![false; n];
    for (e, r) in region.iter_mut().enumerate() {
        let s = e % hw;
        *r = in_region(s / shape.width.max(1), s % shape.width.max(1));
    }
    let (mut agreeing, mut compared) = (0u64, 0u64);
    for &(o, t) in pairs {
        if o >= shape.frames {
            continue;
        }
        let template = template_bits(&variant, n, t as u64);
        let data = data_bits(&layout, &codeword, t);
        let frame = &latent[o * n..(o + 1) * n];
        for (j, &element) in layout.order.iter().enumerate() {
            let e = element as usize;
            if !region[e] || !frame[e].is_finite() {
                continue;
            }
            let negative = bit(&template, j) ^ bit(&data, j);
            compared += 1;
            agreeing += u64::from((frame[e] < 0.0) == negative);
        }
    }
    Ok(RegionAgreement {
        agreeing,
        compared,
        log10_p_value: if compared == 0 {
            0.0
        } else {
            ln_binomial_upper_tail(compared, agreeing) / std::f64::consts::LN_10
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed;
    use rand::SeedableRng;

    #[test]
    fn a_region_agrees_with_the_payload_it_was_marked_with_and_not_another() {
        let key = WatermarkKey::new(&[7u8; 32]);
        let shape = LatentShape::new(4, 3, 8, 8);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let (a, b) = (Payload::new(11), Payload::new(22));
        let mut latent = embed(&key, a, shape, &mut rng).unwrap_or_default();
        let other = embed(&key, b, shape, &mut rng).unwrap_or_default();
        // The top-left quarter of frames 1 and 2 re-marked with b.
        let n = shape.frame_len();
        let left_top = |y: usize, x: usize| y < 4 && x < 4;
        for f in 1..3 {
            for e in 0..n {
                let s = e % 64;
                if left_top(s / 8, s % 8) {
                    latent[f * n + e] = other[f * n + e];
                }
            }
        }
        let pairs: Vec<(usize, usize)> = (0..4).map(|f| (f, f)).collect();
        let check = |p: Payload, frames: &[usize], region: &dyn Fn(usize, usize) -> bool| {
            let pairs: Vec<(usize, usize)> = frames.iter().map(|&f| pairs[f]).collect();
            region_agreement(&key, p, &latent, shape, &pairs, region).unwrap_or(RegionAgreement {
                agreeing: 0,
                compared: 0,
                log10_p_value: 0.0,
            })
        };
        // The re-marked cells over the edited frames carry b, not a.
        let edited_b = check(b, &[1, 2], &left_top);
        assert_eq!(edited_b.rate(), 1.0);
        assert!(edited_b.log10_p_value < -25.0, "{}", edited_b.log10_p_value);
        let edited_a = check(a, &[1, 2], &left_top);
        assert!((edited_a.rate() - 0.5).abs() < 0.1, "{}", edited_a.rate());
        // The same cells in the other frames carry a.
        assert_eq!(check(a, &[0, 3], &left_top).rate(), 1.0);
        // Nothing compared: p = 1.
        let none = check(a, &[0], &|_, _| false);
        assert_eq!((none.compared, none.log10_p_value), (0, 0.0));
        // A latent of the wrong length is an error, not a panic.
        assert!(region_agreement(&key, a, &latent[..10], shape, &pairs, &left_top).is_err());
    }
}
