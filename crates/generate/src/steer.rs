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

/// How far the coarse colour of an object drawn through a stand-in ([`crate::STAND_INS`]) is held
/// to the asked colour, on every step: the model is told another colour, so what it would draw
/// is not what was asked until the end. Its cells inside [`CENTRE`] also have their detail held
/// to none (a flat colour). Chosen on the 17 grey prompts of set 4 and of a set of our own
/// (`docs/BENCHMARKS.md`): without the detail held the grey is filled with coloured speckle.
pub const HELD_PULL: f32 = 0.9;
/// Cells within this share of a held object's radius have their colour held: its whole body but
/// the rim, which the model draws.
const HELD_CENTRE: f32 = 0.9;

/// The colour pull for frames `first..first + len` of a shot planned as `plan`, over `steps`
/// sampler steps; `None` when no object has a known colour or the model's codec is not the Haar
/// codec (whose block means this pulls). An object drawn through a stand-in colour is held to the
/// colour asked ([`PlannedObject::held_colour`]) over more of its body and on every step.
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
    let coloured: Vec<(&PlannedObject, Vec<f32>, bool)> = plan
        .iter()
        .filter_map(|p| {
            let held = p.held_colour.as_deref();
            let colour = held.or(p.object.colour.as_deref())?;
            Some((p, flat_block(model, colour)?, held.is_some()))
        })
        .collect();
    if coloured.is_empty() {
        return Ok(None);
    }
    let (f, c, h, w) = model.config.latent_shape(len);
    if c < 3 * BANDS || coloured.iter().any(|(_, block, _)| block.len() < 3 * BANDS) {
        return Ok(None);
    }
    let mut target = vec![0f32; f * c * h * w];
    let mut weight = vec![0f32; f * c * h * w];
    let mut late = vec![0f32; f * c * h * w];
    let cell = HAAR_BLOCK as f32;
    for i in 0..f {
        for (p, block, held) in &coloured {
            let Some(&(cx, cy, r)) = p.track.positions.get(first + i) else {
                continue;
            };
            let (reach, pull) = if *held {
                (HELD_CENTRE, HELD_PULL)
            } else {
                (CENTRE, COLOUR_PULL)
            };
            for gy in 0..h {
                for gx in 0..w {
                    let (x, y) = ((gx as f32 + 0.5) * cell, (gy as f32 + 0.5) * cell);
                    if (x - cx).powi(2) + (y - cy).powi(2) > (reach * r).powi(2) {
                        continue;
                    }
                    for k in 0..3 {
                        let at = ((i * c + k * BANDS) * h + gy) * w + gx;
                        target[at] = block[k * BANDS];
                        weight[at] = pull;
                        if *held {
                            late[at] = pull;
                        }
                    }
                    // Inside the body a flat colour has no detail: told another colour, the
                    // model fills it with coloured speckle unless its detail is held to none.
                    let inside = (x - cx).powi(2) + (y - cy).powi(2) <= (CENTRE * r).powi(2);
                    if *held && inside {
                        for k in 0..3 {
                            for b in 1..BANDS {
                                let at = ((i * c + k * BANDS + b) * h + gy) * w + gx;
                                target[at] = block[k * BANDS + b];
                                weight[at] = HELD_PULL;
                                late[at] = HELD_PULL;
                            }
                        }
                    }
                }
            }
        }
    }
    let device = &model.device;
    let any_held = coloured.iter().any(|(_, _, held)| *held);
    Ok(Some(Steer {
        target: Tensor::from_vec(target, (f, c, h, w), device)?,
        weight: Tensor::from_vec(weight, (f, c, h, w), device)?,
        steps: ((steps as f32 * PULLED_STEPS).round() as usize).max(1),
        held: if any_held {
            Some(Tensor::from_vec(late, (f, c, h, w), device)?)
        } else {
            None
        },
    }))
}

/// The latent of one block of the palette colour `name` as the codec encodes it, band by band
/// (band 0 of each colour channel is the block mean; the others, a flat block's detail, are not
/// 0 once standardised).
fn flat_block(model: &DiffusionModel, name: &str) -> Option<Vec<f32>> {
    let rgb = colour_rgb(name)?;
    let px = rgb.map(|v| (v * 255.0).round().clamp(0.0, 255.0) as u8);
    let block: Vec<u8> = (0..HAAR_BLOCK * HAAR_BLOCK).flat_map(|_| px).collect();
    let frames = rgb_to_tensor(&[block], HAAR_BLOCK, &model.device).ok()?;
    model
        .codec
        .encode(&frames)
        .ok()?
        .flatten_all()
        .ok()?
        .to_vec1()
        .ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::chunks::{plan_shot, planned_caption};
    use crate::{understand, world_of, PromptReader};
    use candle_core::Device;
    use candor_diffusion::data::COLOURS_BEFORE_V4;
    use candor_diffusion::ModelConfig;

    /// A tiny random model trained, as candor-shapes-v3, on every colour but grey.
    fn nine_colour_model() -> DiffusionModel {
        let mut config = ModelConfig::tiny("nine");
        config.colours = Some(
            candor_diffusion::data::COLOURS[..COLOURS_BEFORE_V4]
                .iter()
                .map(|(c, _)| c.to_string())
                .collect(),
        );
        DiffusionModel::new_random(config, &Device::Cpu).unwrap()
    }

    /// `prompt` as read, its first object asked in grey (the keyword reader, which these tests
    /// use, reads a lone "gray" as the grey background; the encoder reads "a gray circle" as a
    /// grey circle, `bench generate`).
    fn first_in_grey(model: &DiffusionModel, prompt: &str) -> crate::Understanding {
        let reader = PromptReader::keywords(world_of(&model.config));
        let mut u = understand(&reader, prompt).unwrap();
        u.objects[0].colour = Some("gray".into());
        if let Some(m) = u.reading.objects[0].colour.as_mut() {
            m.value = "gray".into();
        }
        u
    }

    fn at(shape: (usize, usize, usize, usize), f: usize, ch: usize, y: usize, x: usize) -> usize {
        ((f * shape.1 + ch) * shape.2 + y) * shape.3 + x
    }

    #[test]
    fn grey_is_drawn_white_held_grey_on_every_step_with_its_body_flat() -> Result<()> {
        let model = nine_colour_model();
        let u = first_in_grey(&model, "a white circle and a red square moving left");
        let plan = plan_shot(&model, &u, 4, None, 7);
        assert_eq!(plan[0].object.colour.as_deref(), Some("white"));
        assert_eq!(plan[0].held_colour.as_deref(), Some("gray"));
        assert_eq!(plan[1].object.colour.as_deref(), Some("red"));
        assert_eq!(plan[1].held_colour, None);
        // The model is told white; the user is told grey, and how.
        assert!(planned_caption(&u, &plan).starts_with("a white circle"));
        assert!(
            plan[0]
                .describe()
                .starts_with("gray circle (drawn white, held gray): "),
            "{}",
            plan[0].describe()
        );

        let steer = colour_steer(&model, &plan, 0, 4, 10)?.expect("a steer");
        let shape = model.config.latent_shape(4);
        let target: Vec<f32> = steer.target.flatten_all()?.to_vec1()?;
        let weight: Vec<f32> = steer.weight.flatten_all()?.to_vec1()?;
        let held: Vec<f32> = steer.held.expect("held weights").flatten_all()?.to_vec1()?;
        let grey = flat_block(&model, "gray").unwrap();
        let red = flat_block(&model, "red").unwrap();
        let cell = |(cx, cy): (f32, f32)| {
            let c = HAAR_BLOCK as f32;
            ((cy / c) as usize, (cx / c) as usize)
        };
        for f in 0..4 {
            let (cx, cy, _) = plan[0].track.positions[f];
            let (y, x) = cell((cx, cy));
            for k in 0..3 {
                for b in 0..BANDS {
                    let i = at(shape, f, k * BANDS + b, y, x);
                    // Every band of the grey body: its mean and its (flat) detail, early and late.
                    assert_eq!(target[i], grey[k * BANDS + b]);
                    assert_eq!((weight[i], held[i]), (HELD_PULL, HELD_PULL));
                }
            }
            let (cx, cy, _) = plan[1].track.positions[f];
            let (y, x) = cell((cx, cy));
            for k in 0..3 {
                // A trained colour: its block mean pulled on the first steps only, its detail
                // left to the model.
                let mean = at(shape, f, k * BANDS, y, x);
                assert_eq!(target[mean], red[k * BANDS]);
                assert_eq!((weight[mean], held[mean]), (COLOUR_PULL, 0.0));
                let detail = at(shape, f, k * BANDS + 1, y, x);
                assert_eq!((weight[detail], held[detail]), (0.0, 0.0));
            }
        }
        Ok(())
    }

    #[test]
    fn a_trained_colour_is_never_held_after_the_first_steps() -> Result<()> {
        let model = nine_colour_model();
        let reader = PromptReader::keywords(world_of(&model.config));
        let u = understand(&reader, "a white circle moving left")?;
        let plan = plan_shot(&model, &u, 4, None, 7);
        assert_eq!(plan[0].held_colour, None);
        let steer = colour_steer(&model, &plan, 0, 4, 10)?.expect("a steer");
        assert!(steer.held.is_none());
        assert_eq!(steer.steps, 6);
        // A model trained on grey draws it as itself.
        let all = DiffusionModel::new_random(ModelConfig::tiny("ten"), &Device::Cpu)?;
        let u = first_in_grey(&all, "a white circle");
        let plan = plan_shot(&all, &u, 4, None, 7);
        assert_eq!(plan[0].object.colour.as_deref(), Some("gray"));
        assert_eq!(plan[0].held_colour, None);
        Ok(())
    }
}
