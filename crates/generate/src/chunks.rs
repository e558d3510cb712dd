//! Clips longer than the model's trained length, and clips of several shots: drawn chunk by chunk.
//!
//! The model denoises clips of its trained length (16 frames). A longer clip is drawn in chunks of
//! that length along one watermark timeline (frame `f` of the clip carries template `f`, whichever
//! chunk draws it). Each chunk after the first starts [`CHUNK_OVERLAP`] frames before the end of
//! what is already made, and those frames are held to what they were while the rest is denoised
//! beside them ([`candor_diffusion::ddim::Known`]): the temporal layers carry the scene and each
//! object on across the seam. The layout planner plans each shot's paths for its whole duration.
//! Only one chunk's latents are alive at a time, and frames leave through a sink as they are
//! decoded, so memory does not grow with the clip's length.

use candle_core::Tensor;
use candor_diffusion::ddim::Known;
use candor_diffusion::layout::PlannedObject;
use candor_diffusion::pixels::tensor_to_rgb;
use candor_diffusion::{DiffusionModel, LatentCodec, Tokens};

use crate::steer::colour_steer;
use crate::{check, told_object, GenerateOptions, Match, Result, Understanding};

/// Frames each chunk shares with what was drawn before it. Two keep the seam continuous (the
/// temporal convolution spans three frames); more would cost time per second of video (with 16-
/// frame chunks, 2 frames of overlap cost 14 % more per second than a single chunk; 4 cost 33 %).
pub const CHUNK_OVERLAP: usize = 2;

/// A chunk: its first frame in the shot and its length; the first `known` frames were drawn by
/// the chunk before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chunk {
    pub start: usize,
    pub len: usize,
    pub known: usize,
}

/// How a shot of `frames` frames is cut into chunks of at most `chunk` frames, each after the
/// first overlapping what came before by `overlap` frames (the last one only as long as what is
/// left needs: its cost follows its length, so time per second of video stays flat).
pub fn chunks(frames: usize, chunk: usize, overlap: usize) -> Vec<Chunk> {
    let chunk = chunk.max(overlap + 1).max(1);
    let mut out = Vec::new();
    let mut made = 0;
    while made < frames {
        let start = made.saturating_sub(overlap);
        let len = chunk.min(frames - start);
        out.push(Chunk {
            start,
            len,
            known: made - start,
        });
        made = start + len;
    }
    out
}

/// A shot to draw: what its prompt was read as, and its frames.
pub struct ShotToDraw<'a> {
    pub understanding: &'a Understanding,
    pub frames: usize,
}

/// What [`draw_shots`] made besides the frames.
#[derive(Debug, Clone, Default)]
pub struct Drawing {
    /// Each shot's plan.
    pub plans: Vec<Vec<PlannedObject>>,
    /// Each shot's caption as the model was conditioned on it ([`planned_caption`]).
    pub captions: Vec<String>,
    /// Frames of the clip (timeline indices) drawn a second time because a planned object had
    /// faded in them ([`crate::check`]), and visible after.
    pub redrawn_frames: Vec<usize>,
}

/// Chunks drawn again at most this many times when a planned object faded (or two ran together)
/// in some of their frames. With one redraw `bench generate`'s set takes 1.17× the time of clips
/// that need none; a second one took it to 1.30× for the same figures.
pub const MAX_REDRAWS: usize = 1;

/// Held frames on either side of the missing ones in a redraw's window: the temporal layers see
/// the object on its way in and out of the redrawn frames.
const REDRAW_CONTEXT: usize = 3;

/// Draws `shots` one after the other from `noise` (`[frames, C, h, w]` for all shots together,
/// the watermark's timeline): each shot planned for its own duration (shot `k` with seed
/// `options.seed + k`), cut into [`chunks`], a hard cut between shots. Every frame, at the
/// model's size, goes to `sink` in order, after the chunk's frames that lost a planned object
/// were drawn again ([`crate::check`]). Returns each shot's plan and the frames redrawn.
pub fn draw_shots(
    model: &DiffusionModel,
    shots: &[ShotToDraw],
    noise: &Tensor,
    options: &GenerateOptions,
    progress: &mut dyn FnMut(usize, usize),
    sink: &mut dyn FnMut(Vec<u8>) -> Result<()>,
) -> Result<Drawing> {
    let chunk_len = model.config.frames.max(CHUNK_OVERLAP + 1);
    let cuts: Vec<Vec<Chunk>> = shots
        .iter()
        .map(|s| chunks(s.frames, chunk_len, CHUNK_OVERLAP))
        .collect();
    let total_steps = cuts.iter().map(Vec::len).sum::<usize>() * options.steps;
    let mut steps_done = 0;
    let mut plans = Vec::with_capacity(shots.len());
    let mut redrawn_frames = Vec::new();
    let mut captions = Vec::with_capacity(shots.len());
    let mut shot_start = 0;
    for (k, (shot, cut)) in shots.iter().zip(&cuts).enumerate() {
        let seed = options.seed.wrapping_add(k as u64);
        let background = shot
            .understanding
            .reading
            .background
            .as_ref()
            .map(|m| m.value.as_str());
        let plan = plan_shot(model, shot.understanding, shot.frames, background, seed);
        let caption = planned_caption(shot.understanding, &plan);
        let tokens = model.tokenize(&caption);
        let layout = model.layout_maps(
            &plan.iter().map(|p| p.layout_object()).collect::<Vec<_>>(),
            shot.frames,
        )?;
        // The chunk before: its first frame in the shot, its latents and their path.
        let mut previous: Option<(usize, Tensor, Vec<Tensor>)> = None;
        for c in cut {
            let chunk_noise = noise.narrow(0, shot_start + c.start, c.len)?;
            let chunk_layout = match &layout {
                Some(l) => Some(l.narrow(1, c.start, c.len)?),
                None => None,
            };
            let known = match (&previous, c.known) {
                (Some((p_start, p_latents, p_path)), n) if n > 0 => {
                    // The held frames as the chunk before drew them, and on the path it drew
                    // them along: to the free frames they are what the model itself would show.
                    let held = |t: &Tensor| -> Result<Tensor> {
                        let decided = t.narrow(0, c.start - p_start, n)?;
                        let free = chunk_noise.narrow(0, n, c.len - n)?.zeros_like()?;
                        Ok(Tensor::cat(&[&decided, &free], 0)?)
                    };
                    let mut mask = vec![0f32; c.len];
                    mask[..n].fill(1.0);
                    let mask = Tensor::from_vec(mask, (c.len, 1, 1, 1), &model.device)?;
                    Some(Known {
                        x0: held(p_latents)?,
                        noise: chunk_noise.clone(),
                        mask,
                        path: Some(p_path.iter().map(held).collect::<Result<Vec<_>>>()?),
                    })
                }
                _ => None,
            };
            let base = steps_done;
            let mut path = Vec::new();
            let steer = colour_steer(model, &plan, c.start, c.len, options.steps)?;
            let latents = model.sample_known(
                options.sampler,
                &chunk_noise,
                known.as_ref(),
                Some(&mut path),
                steer.as_ref(),
                &tokens,
                chunk_layout.as_ref(),
                options.steps,
                options.guidance,
                |done, _| progress(base + done, total_steps),
            )?;
            steps_done += options.steps;
            let frames = tensor_to_rgb(&model.codec.decode(&latents)?)?;
            let mut drawn = DrawnChunk {
                latents,
                frames,
                path,
                noise: chunk_noise,
            };
            let again = redraw_faded(
                model,
                options,
                &plan,
                &tokens,
                chunk_layout.as_ref(),
                *c,
                k,
                &mut drawn,
            )?;
            redrawn_frames.extend(again.into_iter().map(|f| shot_start + c.start + f));
            let DrawnChunk {
                latents,
                frames,
                path,
                ..
            } = drawn;
            for frame in frames.into_iter().skip(c.known) {
                sink(frame)?;
            }
            previous = Some((c.start, latents, path));
        }
        shot_start += shot.frames;
        plans.push(plan);
        captions.push(caption);
    }
    redrawn_frames.sort_unstable();
    Ok(Drawing {
        plans,
        captions,
        redrawn_frames,
    })
}

/// A chunk as drawn: its latents, its frames, the path its latents took and the noise they came
/// from.
struct DrawnChunk {
    latents: Tensor,
    frames: Vec<Vec<u8>>,
    path: Vec<Tensor>,
    noise: Tensor,
}

/// Draws again, beside the rest, the frames of chunk `c` (of shot `shot`) where a planned object
/// faded or two ran together ([`check::faded_frames`]): from fresh magnitudes under the same
/// watermark signs, in a window of the missing frames and up to [`REDRAW_CONTEXT`] held frames
/// either side of them (its cost follows its length). A redraw is kept only when fewer frames
/// miss an object; a chunk that misses one in most of its frames is left as it is (the model
/// cannot draw that object there; drawing again would not help). Returns the chunk's frames
/// redrawn and now right.
#[allow(clippy::too_many_arguments)]
fn redraw_faded(
    model: &DiffusionModel,
    options: &GenerateOptions,
    plan: &[PlannedObject],
    tokens: &Tokens,
    layout: Option<&Tensor>,
    c: Chunk,
    shot: usize,
    chunk: &mut DrawnChunk,
) -> Result<Vec<usize>> {
    let faded = |frames: &[Vec<u8>]| -> Vec<usize> {
        check::faded_frames(
            &frames[c.known..],
            model.config.size,
            plan,
            c.start + c.known,
        )
        .into_iter()
        .map(|i| i + c.known)
        .collect()
    };
    let mut redrawn = Vec::new();
    let mut missing = faded(&chunk.frames);
    for attempt in 0..MAX_REDRAWS {
        if missing.is_empty() || 2 * missing.len() > c.len - c.known {
            break;
        }
        let seed = redraw_seed(options.seed, shot, c.start, attempt);
        let again = check::redraw_noise(&chunk.noise, &missing, seed)?;
        let lo = missing[0].saturating_sub(REDRAW_CONTEXT);
        let hi = (missing[missing.len() - 1] + 1 + REDRAW_CONTEXT).min(c.len);
        let n = hi - lo;
        let window = |t: &Tensor| -> Result<Tensor> { Ok(t.narrow(0, lo, n)?) };
        let mut mask = vec![1f32; n];
        for &f in &missing {
            mask[f - lo] = 0.0;
        }
        let keep = Known {
            x0: window(&chunk.latents)?,
            noise: window(&chunk.noise)?,
            mask: Tensor::from_vec(mask, (n, 1, 1, 1), &model.device)?,
            path: Some(chunk.path.iter().map(window).collect::<Result<Vec<_>>>()?),
        };
        let window_layout = match layout {
            Some(l) => Some(l.narrow(1, lo, n)?),
            None => None,
        };
        let window_steer = colour_steer(model, plan, c.start + lo, n, options.steps)?;
        let mut window_path = Vec::new();
        let drawn = model.sample_known(
            options.sampler,
            &window(&again)?,
            Some(&keep),
            Some(&mut window_path),
            window_steer.as_ref(),
            tokens,
            window_layout.as_ref(),
            options.steps,
            options.guidance,
            |_, _| {},
        )?;
        // The window back in its place, in the latents and along their path.
        let splice = |whole: &Tensor, part: &Tensor| -> Result<Tensor> {
            let mut parts = Vec::with_capacity(3);
            if lo > 0 {
                parts.push(whole.narrow(0, 0, lo)?);
            }
            parts.push(part.clone());
            if hi < c.len {
                parts.push(whole.narrow(0, hi, c.len - hi)?);
            }
            Ok(Tensor::cat(&parts, 0)?)
        };
        let mut frames = chunk.frames.clone();
        for (i, frame) in tensor_to_rgb(&model.codec.decode(&drawn)?)?
            .into_iter()
            .enumerate()
        {
            frames[lo + i] = frame;
        }
        let still = faded(&frames);
        if still.len() < missing.len() {
            redrawn.extend(missing.iter().filter(|f| !still.contains(f)).copied());
            *chunk = DrawnChunk {
                latents: splice(&chunk.latents, &drawn)?,
                path: chunk
                    .path
                    .iter()
                    .zip(&window_path)
                    .map(|(whole, part)| splice(whole, part))
                    .collect::<Result<Vec<_>>>()?,
                frames,
                noise: again,
            };
            missing = still;
        }
    }
    Ok(redrawn)
}

/// The layout planner's paths for a shot's objects, an object asked in a colour the model was
/// not trained on told its stand-in and held to the asked colour ([`crate::STAND_INS`]).
pub fn plan_shot(
    model: &DiffusionModel,
    understanding: &Understanding,
    frames: usize,
    background: Option<&str>,
    seed: u64,
) -> Vec<PlannedObject> {
    let (objects, held): (Vec<_>, Vec<_>) = understanding
        .objects
        .iter()
        .map(|o| told_object(&model.config, o))
        .unzip();
    let mut plan = model.layout_plan_objects(objects, frames, background, seed);
    for (p, h) in plan.iter_mut().zip(held) {
        p.held_colour = h;
    }
    plan
}

/// The caption the model is conditioned on: the reading's, with the colour and motion the
/// planner drew for an object the prompt gave none (training captions always name both, and the
/// layout already tells the model what was drawn), and the stand-in of a colour the model was not
/// trained on ([`plan_shot`]).
pub fn planned_caption(understanding: &Understanding, plan: &[PlannedObject]) -> String {
    if plan.is_empty() {
        return understanding.caption.clone();
    }
    let mut reading = understanding.reading.clone();
    let drawn = |value: String| Match {
        words: String::new(),
        value,
        similarity: 1.0,
    };
    for (o, p) in reading.objects.iter_mut().zip(plan) {
        if o.colour.is_none() || p.held_colour.is_some() {
            o.colour = p.object.colour.clone().map(drawn);
        }
        if o.motion.is_none() {
            o.motion = Some(drawn(p.motion.phrase().to_string()));
        }
    }
    reading.caption()
}

/// The seed of a redraw's magnitudes: one per shot, chunk and attempt, all from the clip's seed.
fn redraw_seed(seed: u64, shot: usize, chunk_start: usize, attempt: usize) -> u64 {
    let mut h = seed ^ 0x7265_6472_6177_u64; // "redraw"
    for v in [shot, chunk_start, attempt] {
        h = (h ^ v as u64)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .rotate_left(29);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_caption_names_the_colour_and_motion_the_planner_drew_and_nothing_else_changes(
    ) -> Result<()> {
        use candor_diffusion::data::{Motion, Track};
        let reader = crate::PromptReader::keywords(crate::world());
        let u = crate::understand(
            &reader,
            "a triangle and a red circle moving left over the sky",
        )?;
        assert_eq!(
            u.caption,
            "a triangle and a red circle moving left over the sky"
        );
        let placed = |colour: &str, motion: Motion, from_prompt: bool| PlannedObject {
            object: candor_diffusion::layout::NamedObject {
                colour: Some(colour.into()),
                shape: None,
                motion: from_prompt.then_some(motion),
            },
            motion,
            motion_from_prompt: from_prompt,
            colour_from_prompt: from_prompt,
            held_colour: None,
            track: Track {
                colour: [1.0, 1.0, 1.0],
                shape: "circle".into(),
                positions: Vec::new(),
            },
        };
        let plan = [
            placed("orange", Motion::Bouncing, false),
            placed("red", Motion::Left, true),
        ];
        assert_eq!(
            planned_caption(&u, &plan),
            "a orange triangle bouncing and a red circle moving left over the sky"
        );
        // No plan (a model without a layout input): the reading's caption as it was.
        assert_eq!(planned_caption(&u, &[]), u.caption);
        Ok(())
    }

    #[test]
    fn chunks_cover_every_frame_once_with_the_overlap_before_them() {
        assert_eq!(
            chunks(16, 16, 2),
            vec![Chunk {
                start: 0,
                len: 16,
                known: 0
            }]
        );
        assert_eq!(
            chunks(5, 16, 2),
            vec![Chunk {
                start: 0,
                len: 5,
                known: 0
            }]
        );
        for frames in [1usize, 15, 16, 17, 30, 31, 100, 240, 256] {
            let cut = chunks(frames, 16, 2);
            let mut made = 0;
            for (i, c) in cut.iter().enumerate() {
                assert_eq!(
                    c.start + c.known,
                    made,
                    "{frames}: chunk {i} starts at what is made"
                );
                assert!(c.len <= 16 && c.known < c.len);
                if i > 0 {
                    assert_eq!(c.known, 2, "{frames}: chunk {i} overlaps: {c:?}");
                }
                if i + 1 < cut.len() {
                    assert_eq!(c.len, 16.min(frames), "{frames}: only the last is shorter");
                }
                made = c.start + c.len;
            }
            assert_eq!(made, frames);
            // Time per frame: the frames drawn, overlaps included, are at most 1/7 more than
            // the clip's (2 of every 14 new frames after the first chunk).
            let drawn: usize = cut.iter().map(|c| c.len).sum();
            let overlaps = 2 * frames.saturating_sub(16).div_ceil(14);
            assert!(drawn <= frames + overlaps, "{frames}: {drawn}");
        }
        assert_eq!(chunks(0, 16, 2), vec![]);
    }
}
