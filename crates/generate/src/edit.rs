//! Granular edits: one region of a Candor clip, over a span of its frames, redrawn from a new
//! prompt while everything else stays as it was.
//!
//! The clip's frames are brought back to the model's size and encoded to latents (the Haar codec
//! is exact and block-local, so a latent cell is a 4×4-pixel block and nothing else). Over the
//! span, the cells the region touches are denoised afresh from new watermarked noise (a new
//! content id: the region is re-marked) with the new prompt's objects placed in the region, while
//! every other cell is held to the clip's own latent ([`candor_diffusion::ddim::Known`]). Outside
//! the region and the span, the output keeps the clip's own pixels. The edited clip is signed as
//! an edit: `c2pa.edited` with the region and span, the original as its `parentOf` ingredient
//! (carrying its manifest), the parent's soft binding kept and a block for the re-marked region,
//! and the edit listed in the generation record, which `candor verify` reconciles with the
//! watermark's tamper map.

use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::Tensor;
use candor_diffusion::data::colour_rgb;
use candor_diffusion::data::Motion;
use candor_diffusion::ddim::Known;
use candor_diffusion::layout::{LayoutObject, PlannedObject, MIN_PLANNED_RADIUS};
use candor_diffusion::pixels::{rgb_to_tensor, tensor_to_rgb};
use candor_diffusion::{DiffusionModel, LatentCodec, Sampler};
use candor_manifest::{
    sign_file, DigitalSourceType, EditInfo, EditOf, GenerationInfo, Identity, ManifestSpec,
    MiningPermission, RegionBinding, SoftBinding, Timespan,
};
use candor_media::fingerprint::{frame_fingerprint, ClipFingerprint};
use candor_media::pixels::{resize_area, resize_bilinear};
use candor_media::{DecodeOptions, EncodeOptions, FrameReader, Mp4Writer};
use candor_store::ManifestStore;
use candor_watermark::{Payload, WatermarkKey, SOFT_BINDING_ALG};
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::steer::colour_steer;
use crate::{
    chunks, told_object, understand, watermark_noise, GenerateError, PromptReader, Result,
    CHUNK_OVERLAP,
};

/// The clip an edit starts from: its file and what its credentials (embedded, or recovered
/// through its watermark) say about it.
#[derive(Debug, Clone)]
pub struct ParentClip {
    pub path: PathBuf,
    pub generation: GenerationInfo,
    /// Its soft binding: the payload its watermark carries, and the blocks of earlier edits.
    pub soft_binding: SoftBinding,
    /// Where the credentials came from ("embedded", "store record 5").
    pub credentials: String,
}

/// What to redraw, where and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EditRequest {
    pub prompt: String,
    /// x, y, width, height in pixels of the clip's frames.
    pub region: [u32; 4],
    /// Seconds of the clip; `None`: from its start, to its end.
    pub from_s: Option<f64>,
    pub to_s: Option<f64>,
}

/// How to sample the redrawn region.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EditOptions {
    pub sampler: Sampler,
    pub steps: usize,
    pub guidance: f64,
    pub crf: u8,
    /// Content id of the re-marked region; `None` draws a fresh one.
    pub content_id: Option<u64>,
}

impl Default for EditOptions {
    fn default() -> Self {
        Self {
            sampler: Sampler::DpmSolver2M,
            steps: crate::DEFAULT_STEPS,
            guidance: 3.0,
            crf: 18,
            content_id: None,
        }
    }
}

/// What was edited.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Edited {
    pub output: PathBuf,
    pub parent: PathBuf,
    pub parent_content_id: String,
    /// The re-marked region's content id.
    pub content_id: String,
    pub region: [u32; 4],
    pub first_frame: usize,
    pub frames: usize,
    pub start_s: f64,
    pub end_s: f64,
    pub understood: String,
    pub caption: String,
    pub manifest_label: Option<String>,
    pub store_id: i64,
    pub seconds: f64,
}

fn bad(reason: impl Into<String>) -> GenerateError {
    GenerateError::Edit {
        reason: reason.into(),
    }
}

/// Redraws `request.region` of `parent` over `request`'s span as `request.prompt`, into `output`
/// (MP4), signed by `identity` as an edit of `parent` and recorded in `store` under the parent's
/// payload (so a stripped copy of the edit recovers the edit's credentials). Every check happens
/// before anything is written: a clip that is not the one its credentials describe, another
/// model, a region outside the frame, a span outside the clip, a refused prompt.
#[allow(clippy::too_many_arguments)]
pub fn edit(
    model: &DiffusionModel,
    reader: &PromptReader,
    identity: &Identity,
    store: &ManifestStore,
    parent: &ParentClip,
    request: &EditRequest,
    output: &Path,
    options: &EditOptions,
    mut progress: impl FnMut(usize, usize),
) -> Result<Edited> {
    let started = Instant::now();
    if output.is_dir() {
        return Err(GenerateError::OutputIsDirectory(output.to_path_buf()));
    }
    let g = &parent.generation;
    if !g.model_sha256.is_empty() && g.model_sha256 != model.weights_sha256 {
        return Err(bad(format!(
            "the clip was made with model {} (weights sha256 {}…), not the one loaded ({}): load it with --model",
            g.model_name,
            &g.model_sha256[..16.min(g.model_sha256.len())],
            model.config.name
        )));
    }
    let parent_payload = Payload::from_bytes(&parent.soft_binding.value)
        .ok_or_else(|| bad("its credentials carry no Candor watermark payload"))?;
    let frames: Vec<candor_media::RgbFrame> =
        FrameReader::open(&parent.path, DecodeOptions::default())?
            .collect::<std::result::Result<_, _>>()?;
    let (width, height) = match frames.first() {
        Some(f) => (f.width as usize, f.height as usize),
        None => return Err(bad("it has no frames")),
    };
    if let Some(n) = g.frames.filter(|&n| n as usize != frames.len()) {
        return Err(bad(format!(
            "it has {} frames, its credentials say the clip had {n}: edit the clip as it was made",
            frames.len()
        )));
    }
    let native = model.config.size;
    let cells = native / candor_diffusion::codec::HAAR_BLOCK;
    if width != height || width < native {
        return Err(bad(format!(
            "its frames are {width}×{height}; a Candor clip's are square and at least {native}×{native}"
        )));
    }
    let [x, y, w, h] = request.region;
    if w == 0 || h == 0 || x as usize + w as usize > width || y as usize + h as usize > height {
        return Err(GenerateError::InvalidOption {
            option: "region",
            expected: "a rectangle x,y,w,h inside the frame",
            got: format!("{x},{y},{w},{h} in a {width}×{height} frame"),
        });
    }
    let fps = f64::from(g.fps.unwrap_or(candor_diffusion::CLIP_FPS));
    let total = frames.len();
    let duration = total as f64 / fps;
    let f0 = request.from_s.map_or(0, |s| (s * fps).round() as i64);
    let f1 = request
        .to_s
        .map_or(total as i64, |s| (s * fps).round() as i64);
    if request.from_s.is_some_and(|s| !s.is_finite() || s < 0.0)
        || request.to_s.is_some_and(|s| !s.is_finite())
        || f0 < 0
        || f1 > total as i64
        || f0 >= f1
    {
        return Err(GenerateError::InvalidOption {
            option: "from/--to",
            expected: "a span inside the clip, at least one frame long",
            got: format!(
                "{}–{} s of a {duration:.2} s clip",
                request.from_s.unwrap_or(0.0),
                request.to_s.unwrap_or(duration)
            ),
        });
    }
    let (f0, f1) = (f0 as usize, f1 as usize);

    // What to draw: the new prompt's objects in the region, over the clip's own background when
    // the prompt names none.
    let mut understanding = understand(reader, &request.prompt)?;
    if understanding.reading.background.is_none() {
        let first_prompt = g
            .shots
            .first()
            .map_or(g.prompt.as_str(), |s| s.prompt.as_str());
        if let Ok(p) = understand(reader, first_prompt) {
            understanding.reading.background = p.reading.background;
            understanding.caption = understanding.reading.caption();
        }
    }

    // The latent cells the region touches (a cell is `width / cells` output pixels).
    let cell_px = width as f64 / cells as f64;
    let touches = |i: usize, lo: u32, len: u32| {
        let (a, b) = (i as f64 * cell_px, (i + 1) as f64 * cell_px);
        a < f64::from(lo + len) && b > f64::from(lo)
    };
    let free: Vec<bool> = (0..cells * cells)
        .map(|k| touches(k % cells, x, w) && touches(k / cells, y, h))
        .collect();
    // An edit redraws part of a clip, and what it keeps carries the clip's mark (which is how
    // its verification finds the clip): more than half of the picture is a new clip.
    if 2 * free.iter().filter(|&&f| f).count() > cells * cells {
        return Err(GenerateError::InvalidOption {
            option: "region",
            expected: "at most half of the frame (to redraw more, generate a new clip)",
            got: format!(
                "{x},{y},{w},{h}, which touches more than half of a {width}×{height} frame"
            ),
        });
    }
    let keep: Vec<f32> = free.iter().map(|&f| if f { 0.0 } else { 1.0 }).collect();
    let keep_cells = Tensor::from_vec(keep, (1, 1, cells, cells), &model.device)?;

    // The objects, still, in the region (native pixels).
    let scale = native as f32 / width as f32;
    let (rx, ry, rw, rh) = (
        x as f32 * scale,
        y as f32 * scale,
        w as f32 * scale,
        h as f32 * scale,
    );
    // A colour the model was not trained on is told its stand-in and held to what was asked
    // while it is drawn, as in `generate` ([`crate::STAND_INS`]).
    let plan: Vec<PlannedObject> = understanding
        .objects
        .iter()
        .enumerate()
        .take(model.config.unet.layout.map_or(0, |l| l.slots))
        .map(|(i, o)| {
            let n = understanding.objects.len().max(1) as f32;
            let cx = rx + rw * (i as f32 + 0.5) / n;
            let r = (0.45 * (rw / n).min(rh)).max(MIN_PLANNED_RADIUS * native as f32 * 0.75);
            let (object, held_colour) = told_object(&model.config, o);
            let track = candor_diffusion::data::Track {
                colour: object
                    .colour
                    .as_deref()
                    .and_then(colour_rgb)
                    .unwrap_or([1.0, 1.0, 1.0]),
                shape: o.shape.clone().unwrap_or_else(|| "circle".into()),
                positions: vec![(cx, ry + rh / 2.0, r); f1 - f0],
            };
            PlannedObject {
                motion: o.motion.unwrap_or(Motion::Right),
                motion_from_prompt: o.motion.is_some(),
                colour_from_prompt: o.colour.is_some(),
                held_colour,
                object,
                track,
            }
        })
        .collect();
    if plan.iter().any(|p| p.held_colour.is_some()) {
        let mut reading = understanding.reading.clone();
        for (o, p) in reading.objects.iter_mut().zip(&plan) {
            if let (Some(m), Some(told)) = (o.colour.as_mut(), &p.object.colour) {
                m.value = told.clone();
            }
        }
        understanding.caption = reading.caption();
    }
    let tokens = model.tokenize(&understanding.caption);
    // Only held colours are steered: an edit's trained colours are the model's own, as before.
    let held: Vec<PlannedObject> = plan
        .iter()
        .filter(|p| p.held_colour.is_some())
        .cloned()
        .collect();
    let layout_objects: Vec<LayoutObject> = plan.iter().map(|p| p.layout_object()).collect();
    let layout = model.layout_maps(&layout_objects, f1 - f0)?;

    // The clip's latents, and the noise: the parent's where it is kept, a new mark's where it is
    // redrawn.
    let native_frames: Vec<Vec<u8>> = frames[f0..f1]
        .iter()
        .map(|f| f.resized_area(native, native))
        .collect();
    let key = WatermarkKey::new(identity.watermark_secret());
    let new_id = options
        .content_id
        .unwrap_or_else(|| rand::rngs::OsRng.next_u64());
    let parent_noise = watermark_noise(model, &key, parent_payload.content_id, g.seed, total)?;
    let new_noise = watermark_noise(model, &key, new_id, g.seed ^ new_id, total)?;

    let cut = chunks(
        f1 - f0,
        model.config.frames.max(CHUNK_OVERLAP + 1),
        CHUNK_OVERLAP,
    );
    let total_steps = cut.len() * options.steps;
    let mut redrawn: Vec<Vec<u8>> = Vec::with_capacity(f1 - f0);
    let mut previous: Option<(usize, Tensor)> = None;
    for (k, c) in cut.iter().enumerate() {
        let (a, n) = (f0 + c.start, c.len);
        let x0_parent = model.codec.encode(&rgb_to_tensor(
            &native_frames[c.start..c.start + n],
            native,
            &model.device,
        )?)?;
        let keep = keep_cells.broadcast_as(x0_parent.shape())?.contiguous()?;
        let drop = (keep.ones_like()? - &keep)?;
        let noise =
            ((parent_noise.narrow(0, a, n)? * &keep)? + (new_noise.narrow(0, a, n)? * &drop)?)?;
        // Frames the chunk before already redrew are held whole to what it drew.
        let (x0, mask) = match &previous {
            Some((p_start, p_latents)) if c.known > 0 => {
                let held = p_latents.narrow(0, c.start - p_start, c.known)?;
                let rest = x0_parent.narrow(0, c.known, n - c.known)?;
                let whole = keep.narrow(0, 0, c.known)?.ones_like()?;
                (
                    Tensor::cat(&[&held, &rest], 0)?,
                    Tensor::cat(&[&whole, &keep.narrow(0, c.known, n - c.known)?], 0)?,
                )
            }
            _ => (x0_parent.clone(), keep.clone()),
        };
        let known = Known {
            x0,
            noise: noise.clone(),
            mask,
            path: None,
        };
        let chunk_layout = match &layout {
            Some(l) => Some(l.narrow(1, c.start, n)?),
            None => None,
        };
        let base = k * options.steps;
        let steer = colour_steer(model, &held, c.start, n, options.steps)?;
        let latents = model.sample_known(
            options.sampler,
            &noise,
            Some(&known),
            None,
            steer.as_ref(),
            &tokens,
            chunk_layout.as_ref(),
            options.steps,
            options.guidance,
            |d, _| progress(base + d, total_steps),
        )?;
        redrawn.extend(
            tensor_to_rgb(&model.codec.decode(&latents)?)?
                .into_iter()
                .skip(c.known),
        );
        previous = Some((c.start, latents));
    }

    // The output: the clip's own frames, with the redrawn cells pasted in over the span.
    let in_region: Vec<bool> = (0..width * height)
        .map(|p| {
            let (px, py) = (p % width, p / width);
            let (cx, cy) = (
                ((px as f64 / cell_px) as usize).min(cells - 1),
                ((py as f64 / cell_px) as usize).min(cells - 1),
            );
            free[cy * cells + cx]
        })
        .collect();
    let dir = output
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let unsigned = dir.join(format!(
        ".candor-unsigned-edit-{}-{new_id:016x}.mp4",
        std::process::id()
    ));
    let mut fingerprints = Vec::with_capacity(total);
    let encoded = (|| -> Result<()> {
        let mut enc = EncodeOptions::new(width as u32, height as u32, fps.round() as i32);
        enc.crf = options.crf;
        let mut writer = Mp4Writer::create(&unsigned, enc)?;
        for (i, frame) in frames.iter().enumerate() {
            let out = if (f0..f1).contains(&i) {
                let big = resize_bilinear(&redrawn[i - f0], native, native, width, height);
                let mut out = frame.data.clone();
                for (p, _) in in_region.iter().enumerate().filter(|(_, r)| **r) {
                    out[p * 3..p * 3 + 3].copy_from_slice(&big[p * 3..p * 3 + 3]);
                }
                out
            } else {
                frame.data.clone()
            };
            fingerprints.push(frame_fingerprint(
                &resize_area(&out, width, height, native, native),
                native,
            ));
            writer.write_rgb(&out)?;
        }
        writer.finish()?;
        Ok(())
    })();
    if let Err(e) = encoded {
        let _ = std::fs::remove_file(&unsigned);
        return Err(e);
    }

    let timespan = Timespan {
        start: (f0 as f64 / fps * 1000.0).round() as u64,
        end: (f1 as f64 / fps * 1000.0).round() as u64,
    };
    let new_payload = Payload::new(new_id);
    let mut binding = parent.soft_binding.clone();
    binding.alg = SOFT_BINDING_ALG.to_string();
    binding.regions.push(RegionBinding {
        value: new_payload.to_bytes().to_vec(),
        region: request.region,
        timespan,
    });
    let mut generation = g.clone();
    generation.content_fingerprint = fingerprints
        .into_iter()
        .collect::<Option<Vec<_>>>()
        .map(|frames| ClipFingerprint { frames }.encode());
    generation.edits.push(EditInfo {
        prompt: request.prompt.clone(),
        region: request.region,
        frame_size: [width as u32, height as u32],
        first_frame: f0 as u32,
        frames: (f1 - f0) as u32,
        content_id: new_payload.hex(),
    });
    let description = format!(
        "Region x {x}, y {y}, {w}×{h} px of frames {f0}–{} ({:.2}–{:.2} s) redrawn by Candor as \"{}\"",
        f1 - 1,
        f0 as f64 / fps,
        f1 as f64 / fps,
        request.prompt
    );
    let mut spec = ManifestSpec::new(DigitalSourceType::TrainedAlgorithmicMedia);
    spec.title = Some(format!("{} (edited: {})", g.prompt, request.prompt));
    spec.soft_binding = Some(binding);
    spec.watermarked = true;
    spec.training_mining = Some(MiningPermission::NotAllowed);
    spec.generation = Some(generation);
    spec.edit_of = Some(EditOf {
        parent: parent.path.clone(),
        description: description.clone(),
        region: request.region,
        timespan,
    });
    let signed = sign_file(identity, &unsigned, output, &spec, true);
    let _ = std::fs::remove_file(&unsigned);
    let signed = signed?;
    // Under the parent's payload: what a stripped copy of the edit shows outside the region.
    let (manifest_label, store_id) = crate::record_signed(
        store,
        output,
        parent_payload,
        signed.manifest,
        serde_json::json!({
            "edit_of": parent.path.display().to_string(),
            "parent_credentials": parent.credentials,
            "prompt": request.prompt,
            "caption": understanding.caption,
            "region": request.region,
            "first_frame": f0,
            "frames": f1 - f0,
            "content_id": new_payload.hex(),
            "parent_content_id": parent_payload.hex(),
            "watermark_key_id": key.id(),
        }),
    )?;
    Ok(Edited {
        output: output.to_path_buf(),
        parent: parent.path.clone(),
        parent_content_id: parent_payload.hex(),
        content_id: new_payload.hex(),
        region: request.region,
        first_frame: f0,
        frames: f1 - f0,
        start_s: f0 as f64 / fps,
        end_s: f1 as f64 / fps,
        understood: understanding.reading.describe(),
        caption: understanding.caption,
        manifest_label,
        store_id,
        seconds: started.elapsed().as_secs_f64(),
    })
}
