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
/// are those `payload` is marked with under `key` (its variant for the payload).
///
/// With `versus`, only the elements where `payload` and `versus` put opposite signs are counted:
/// there a region marked with one disagrees with the other, so the count tells which of the two
/// the region carries (above half: `payload`; below: `versus`; about half: neither). Without it,
/// another payload's mark agrees with `payload` on more than half of the elements (every element
/// the two put the same sign on: their shared pilots, and the codeword bits they share), so a
/// plain count cannot tell one payload from another.
pub fn region_agreement(
    key: &WatermarkKey,
    payload: Payload,
    versus: Option<Payload>,
    latent: &[f32],
    shape: LatentShape,
    pairs: &[(usize, usize)],
    in_region: &dyn Fn(usize, usize) -> bool,
) -> Result<RegionAgreement, WatermarkError> {
    shape.check(Some(latent.len()))?;
    let n = shape.frame_len();
    let hw = (shape.height * shape.width).max(1);
    let signs = |p: Payload| {
        let variant = key.for_payload(p);
        let layout = Layout::new(&variant, n, code::CODE_BITS);
        let codeword = code::encode(&p.to_bits());
        (variant, layout, codeword)
    };
    let (variant, layout, codeword) = signs(payload);
    let other = versus.map(signs);
    let mut region = vec![false; n];
    for (e, r) in region.iter_mut().enumerate() {
        let s = e % hw;
        *r = in_region(s / shape.width.max(1), s % shape.width.max(1));
    }
    // The sign each payload puts on each element of template `t`, indexed by element.
    let expected = |variant: &WatermarkKey, layout: &Layout, codeword: &[bool], t: usize| {
        let template = template_bits(variant, n, t as u64);
        let data = data_bits(layout, codeword, t);
        let mut negative = vec![false; n];
        for (j, &element) in layout.order.iter().enumerate() {
            negative[element as usize] = bit(&template, j) ^ bit(&data, j);
        }
        negative
    };
    let (mut agreeing, mut compared) = (0u64, 0u64);
    for &(o, t) in pairs {
        if o >= shape.frames {
            continue;
        }
        let mine = expected(&variant, &layout, &codeword, t);
        let theirs = other.as_ref().map(|(v, l, c)| expected(v, l, c, t));
        let frame = &latent[o * n..(o + 1) * n];
        for e in 0..n {
            if !region[e] || !frame[e].is_finite() {
                continue;
            }
            if theirs.as_ref().is_some_and(|th| th[e] == mine[e]) {
                continue;
            }
            // A zero counts as positive: a coin flip against the keyed signs (a region
            // flattened to nothing carries no mark; it is not left out).
            compared += 1;
            agreeing += u64::from((frame[e] < 0.0) == mine[e]);
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
    use rand::{RngCore, SeedableRng};

    #[test]
    fn against_another_payload_a_region_tells_which_of_the_two_it_carries() {
        let key = WatermarkKey::new(&[7u8; 32]);
        let shape = LatentShape::new(4, 3, 8, 8);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let (a, b) = (Payload::new(rng.next_u64()), Payload::new(rng.next_u64()));
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
        let none = RegionAgreement {
            agreeing: 0,
            compared: 0,
            log10_p_value: 0.0,
        };
        let check = |p: Payload, q: Payload, frames: &[usize]| {
            let pairs: Vec<(usize, usize)> = frames.iter().map(|&f| (f, f)).collect();
            region_agreement(&key, p, Some(q), &latent, shape, &pairs, &left_top).unwrap_or(none)
        };
        // The re-marked cells over the edited frames carry b, not a: all of the contrasted
        // elements agree with b, none with a.
        let edited = check(b, a, &[1, 2]);
        assert_eq!(edited.rate(), 1.0);
        assert!(edited.log10_p_value < -5.0, "{}", edited.log10_p_value);
        assert_eq!(check(a, b, &[1, 2]).rate(), 0.0);
        // The same cells in the other frames carry a.
        assert_eq!(check(a, b, &[0, 3]).rate(), 1.0);
        // Nothing compared: p = 1.
        let empty = region_agreement(&key, a, Some(b), &latent, shape, &[(0, 0)], &|_, _| false)
            .unwrap_or(none);
        assert_eq!((empty.compared, empty.log10_p_value), (0, 0.0));
        // A latent of the wrong length is an error, not a panic.
        assert!(
            region_agreement(&key, a, None, &latent[..10], shape, &[(0, 0)], &left_top).is_err()
        );
    }

    #[test]
    fn no_other_payload_passes_for_the_one_a_region_carries() {
        // A strongly marked region, and 300 other payloads each contrasted with the one it
        // carries: none comes near confirmation (without the contrast, some reach p = 10^-9).
        let key = WatermarkKey::new(&[9u8; 32]);
        let shape = LatentShape::new(16, 48, 8, 8);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let a = Payload::new(rng.next_u64());
        let latent = embed(&key, a, shape, &mut rng).unwrap_or_default();
        let pairs: Vec<(usize, usize)> = (0..16).map(|f| (f, f)).collect();
        let region = |y: usize, x: usize| y >= 4 && x >= 4;
        for _ in 0..300 {
            let b = Payload::new(rng.next_u64());
            let r = region_agreement(&key, b, Some(a), &latent, shape, &pairs, &region);
            let r = r.unwrap_or(RegionAgreement {
                agreeing: 1,
                compared: 1,
                log10_p_value: -99.0,
            });
            assert!(r.rate() < 0.05 && r.log10_p_value > -1.0, "{}", r.rate());
        }
    }
}
