//! Embedding: the payload decides the signs of the initial noise, chance decides the magnitudes.
//!
//! Element sign = code bit XOR keystream bit (keystream bit alone for pilots); magnitude = |N(0,1)|.
//! Because the keystream bit is uniform and independent of the magnitude, every element is exactly
//! N(0,1): the sampler starts from noise with the distribution it was trained on.

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::code;
use crate::key::WatermarkKey;
use crate::keystream::{bit, template_bits, Layout};
use crate::payload::Payload;
use crate::shape::{LatentShape, WatermarkError};

/// The payload's code bits for one template in layout order, packed (zero on pilot positions).
pub(crate) fn data_bits(layout: &Layout, codeword: &[bool], template: usize) -> Vec<u64> {
    let mut bits = vec![0u64; layout.frame_len.div_ceil(64)];
    let start = layout.code_start();
    for j in start..layout.frame_len {
        if codeword[layout.code_bit(j, template)] {
            bits[j / 64] |= 1 << (j % 64);
        }
    }
    bits
}

/// Draws watermarked initial noise of `shape` for `payload`. Frame `f` of the latent carries
/// template `f` of the key's variant for this payload ([`WatermarkKey::for_payload`]; a key that
/// already is a variant embeds with that variant).
pub fn embed<R: Rng + ?Sized>(
    key: &WatermarkKey,
    payload: Payload,
    shape: LatentShape,
    rng: &mut R,
) -> Result<Vec<f32>, WatermarkError> {
    shape.check(None)?;
    let variant;
    let key = if key.variant().is_some() {
        key
    } else {
        variant = key.for_payload(payload);
        &variant
    };
    let n = shape.frame_len();
    let layout = Layout::new(key, n, code::CODE_BITS);
    let codeword = code::encode(&payload.to_bits());
    let mut out = vec![0f32; shape.len()];
    for (f, frame) in out.chunks_exact_mut(n).enumerate() {
        let template = template_bits(key, n, f as u64);
        let data = data_bits(&layout, &codeword, f);
        for (j, &element) in layout.order.iter().enumerate() {
            let magnitude: f32 = StandardNormal.sample(rng);
            let negative = bit(&template, j) ^ bit(&data, j);
            frame[element as usize] = if negative {
                -magnitude.abs()
            } else {
                magnitude.abs()
            };
        }
    }
    Ok(out)
}
