//! Holding each object to its colour while it is drawn.
//!
//! The default model draws the right object in a neighbouring colour in about one clip in five
//! (`bench generate`: yellow over a sunset comes out orange, blue over a sunset purple, white on
//! grey pink): the scene's colour bleeds into the object. The layout planner knows where each
//! object is and which colour it should be, so on the sampler's first steps the predicted clean
//! latent's coarse colour (the Haar codec's block means) in the cells at each object's centre is
//! pulled part of the way towards that colour ([`candor_diffusion::Steer`]). The later steps are
//! the model's own. Only the block means of a few cells move; the object's edges, its shape and
//! everything else come from the model, and the watermark, drawn into the initial noise, is read
//! from the latent as before (`bench generate` re-measures the round trip).

use candle_core::Tensor;
use candor_diffusion::codec::HAAR_BLOCK;
use candor_diffusion::data::colour_rgb;
use candor_diffusion::layout::PlannedObject;
use candor_diffusion::pixels::rgb_to_tensor;
use candor_diffusion::{DiffusionModel, LatentCodec, Steer};

use crate::Result;

/// How far the coarse colour at an object's centre is pulled towards its colour (0–1).
pub const COLOUR_PULL: f32 = 0.5;
/// On this share of the sampler's steps (the first ones).
const PULLED_STEPS: f32 = 0.6;
/// Cells whose centre lies within this share of the object's radius from its centre are its
/// centre: one to four cells for the smallest objects, all of them inside the object.
const CENTRE: f32 = 0.6;
/// Haar bands per colour channel; band 0 of each is the block mean.
const BANDS: usize = 16;

/// The colour pull for frames `first..first + len` of a shot planned as `plan`, over `steps`
/// sampler steps; `None` when no object has a known colour or the model's codec is not the Haar
/// codec (whose block means this pulls).
pub fn colour_steer(
    model: &DiffusionModel,
    plan: &[PlannedObject],
    first: usize,
    len: usize,
    steps: usize,
) -> Result<Option<Steer>> {
    if model.config.codec != "haar" || len == 0 {
        return Ok(None);
    }
    let coloured: Vec<(&PlannedObject, [f32; 3])> = plan
        .iter()
        .filter_map(|p| Some((p, block_means(model, p.object.colour.as_deref()?)?)))
        .collect();
    if coloured.is_empty() {
        return Ok(None);
    }
    let (f, c, h, w) = model.config.latent_shape(len);
    if c < 3 * BANDS {
        return Ok(None);
    }
    let mut target = vec![0f32; f * c * h * w];
    let mut weight = vec![0f32; f * c * h * w];
    let cell = HAAR_BLOCK as f32;
    for i in 0..f {
        for (p, means) in &coloured {
            let Some(&(cx, cy, r)) = p.track.positions.get(first + i) else {
                continue;
            };
            for gy in 0..h {
                for gx in 0..w {
                    let (x, y) = ((gx as f32 + 0.5) * cell, (gy as f32 + 0.5) * cell);
                    if (x - cx).powi(2) + (y - cy).powi(2) > (CENTRE * r).powi(2) {
                        continue;
                    }
                    for (k, &mean) in means.iter().enumerate() {
                        let at = ((i * c + k * BANDS) * h + gy) * w + gx;
                        target[at] = mean;
                        weight[at] = COLOUR_PULL;
                    }
                }
            }
        }
    }
    let device = &model.device;
    Ok(Some(Steer {
        target: Tensor::from_vec(target, (f, c, h, w), device)?,
        weight: Tensor::from_vec(weight, (f, c, h, w), device)?,
        steps: ((steps as f32 * PULLED_STEPS).round() as usize).max(1),
    }))
}

/// The latent block means (band 0 of each colour channel) of a block of the palette colour
/// `name`, as the codec encodes it.
fn block_means(model: &DiffusionModel, name: &str) -> Option<[f32; 3]> {
    let rgb = colour_rgb(name)?;
    let px = rgb.map(|v| (v * 255.0).round().clamp(0.0, 255.0) as u8);
    let block: Vec<u8> = (0..HAAR_BLOCK * HAAR_BLOCK).flat_map(|_| px).collect();
    let frames = rgb_to_tensor(&[block], HAAR_BLOCK, &model.device).ok()?;
    let latent: Vec<f32> = model
        .codec
        .encode(&frames)
        .ok()?
        .flatten_all()
        .ok()?
        .to_vec1()
        .ok()?;
    Some([0, 1, 2].map(|k| latent.get(k * BANDS).copied().unwrap_or(0.0)))
}
