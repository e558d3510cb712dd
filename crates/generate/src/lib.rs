//! Generation through the provenance layer: every clip leaves already disclosed.
//!
//! `prompt → content id → watermarked initial noise → DDIM → Haar decode → upscale → H.264 MP4
//! → C2PA manifest (c2pa.created trainedAlgorithmicMedia, c2pa.watermarked, model, prompt, seed,
//! soft binding = payload; optionally an RFC 3161 time-stamp)
//! → manifest store`. There is no entry point that skips the watermark or the manifest.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::time::Instant;

use candle_core::Tensor;
use candor_diffusion::data::{Motion, BACKGROUNDS, COLOURS, SHAPES};
use candor_diffusion::layout::NamedObject;
use candor_diffusion::{DiffusionModel, ModelConfig, Sampler, WORK_SCALE};
use candor_manifest::{
    sign_file, DigitalSourceType, GenerationInfo, Identity, ManifestSpec, MiningPermission,
    ShotInfo, SoftBinding, Timespan,
};
use candor_media::fingerprint::{frame_fingerprint, ClipFingerprint, FrameFingerprint};
use candor_media::pixels::resize_bilinear;
use candor_media::{EncodeOptions, Mp4Writer};
pub use candor_prompt::{Match, PromptReader, Reading, World};
use candor_store::{ManifestStore, NewRecord};
use candor_watermark::{embed, LatentShape, Payload, WatermarkKey, SOFT_BINDING_ALG};
use rand::{RngCore, SeedableRng};
use serde::{Deserialize, Serialize};

/// Errors of generation, by the part that failed.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// A generation option outside what the generator accepts (named as in [`GenerateOptions`]).
    #[error("{option} must be {expected}, got {got}")]
    InvalidOption {
        option: &'static str,
        expected: &'static str,
        got: String,
    },
    #[error("{} is a directory", .0.display())]
    OutputIsDirectory(PathBuf),
    /// An edit that cannot be made from this clip: nothing is written.
    #[error("cannot edit this clip: {reason}")]
    Edit { reason: String },
    /// A storyboard file that cannot be used as it is: nothing is drawn or written.
    #[error("storyboard {}: {reason}", path.display())]
    Storyboard { path: PathBuf, reason: String },
    /// The prompt asks for something the model cannot draw: nothing is written.
    #[error("cannot draw this prompt: {reason}.\nThe model draws {can_draw}.\nRead as: {reading}")]
    Refused {
        reason: String,
        can_draw: String,
        reading: String,
    },
    #[error(transparent)]
    Prompt(#[from] candor_prompt::PromptError),
    #[error(transparent)]
    Model(#[from] candor_diffusion::DiffusionError),
    #[error(transparent)]
    Tensor(#[from] candle_core::Error),
    #[error(transparent)]
    Watermark(#[from] candor_watermark::WatermarkError),
    #[error(transparent)]
    Media(#[from] candor_media::MediaError),
    #[error(transparent)]
    Manifest(#[from] candor_manifest::ManifestError),
    #[error(transparent)]
    Store(#[from] candor_store::StoreError),
}

pub type Result<T> = std::result::Result<T, GenerateError>;

pub mod check;
mod chunks;
pub mod edit;
pub mod steer;
pub mod storyboard;
pub use chunks::{chunks, draw_shots, Chunk, Drawing, ShotToDraw, CHUNK_OVERLAP, MAX_REDRAWS};

/// The longest clip, in frames: the watermark's timeline has a template for every frame up to
/// here, and the detector searches them all (32 s at the default 8 fps).
pub const MAX_FRAMES: usize = candor_watermark::TIMELINE_FRAMES;

/// Default sampling steps: DPM-Solver++ (2M) at 10 steps matches DDIM at 25 (see
/// `docs/BENCHMARKS.md`, `bench generate`).
pub const DEFAULT_STEPS: usize = 10;

/// What to generate.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GenerateOptions {
    pub frames: usize,
    pub fps: u32,
    /// Output size in pixels (square, even); frames are made at the model's size and upscaled.
    pub size: u32,
    /// Seed of the noise magnitudes (the signs come from the watermark).
    pub seed: u64,
    /// The ODE solver that turns the initial noise into the clip.
    #[serde(default = "ddim")]
    pub sampler: Sampler,
    /// Model evaluations (each one batched pair: with and without the prompt).
    pub steps: usize,
    pub guidance: f64,
    /// Content id to embed; `None` draws a fresh random one.
    pub content_id: Option<u64>,
    /// x264 CRF of the output.
    pub crf: u8,
    /// RFC 3161 time-stamp authority (`http://…`) for the claim signature; generation fails
    /// when it cannot be reached rather than leave the clip unstamped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_stamp_authority: Option<String>,
}

impl GenerateOptions {
    /// Defaults for a model of native size `native`: 16 frames at 8 fps, upscaled by
    /// [`WORK_SCALE`].
    pub fn for_native_size(native: usize) -> Self {
        Self {
            frames: 16,
            fps: candor_diffusion::CLIP_FPS,
            size: (native * WORK_SCALE) as u32,
            seed: 0,
            sampler: Sampler::DpmSolver2M,
            steps: DEFAULT_STEPS,
            guidance: 3.0,
            content_id: None,
            crf: 18,
            time_stamp_authority: None,
        }
    }

    fn check(&self) -> Result<()> {
        let bad = |option: &'static str, expected: &'static str, got: String| {
            Err(GenerateError::InvalidOption {
                option,
                expected,
                got,
            })
        };
        if self.frames == 0 || self.frames > MAX_FRAMES {
            return bad("frames", "between 1 and 256", self.frames.to_string());
        }
        if self.fps == 0 || self.fps > 240 {
            return bad("fps", "between 1 and 240", self.fps.to_string());
        }
        if self.size < 16 || self.size > 4096 || self.size % 2 == 1 {
            return bad(
                "size",
                "an even number of pixels between 16 and 4096",
                self.size.to_string(),
            );
        }
        if self.steps == 0 || self.steps > 1000 {
            return bad("steps", "between 1 and 1000", self.steps.to_string());
        }
        if !(self.guidance.is_finite() && (0.0..=30.0).contains(&self.guidance)) {
            return bad("guidance", "between 0 and 30", self.guidance.to_string());
        }
        if self.crf > 51 {
            return bad("crf", "at most 51", self.crf.to_string());
        }
        Ok(())
    }
}

fn ddim() -> Sampler {
    Sampler::Ddim
}

/// Wall time of each stage, in seconds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Timings {
    pub watermark_noise: f64,
    pub sampling: f64,
    pub per_step: f64,
    pub decode: f64,
    pub encode: f64,
    pub sign: f64,
    pub store: f64,
    pub total: f64,
}

/// What was made.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Generated {
    pub output: PathBuf,
    pub content_id: String,
    /// Soft-binding value (hex of the payload bytes).
    pub payload_hex: String,
    pub watermark_key_id: String,
    pub prompt: String,
    /// What the prompt reader understood, with similarities ("crimson → red 0.81, …").
    pub understood: String,
    /// Content words that mapped to nothing the model can draw.
    pub not_understood: Vec<String>,
    /// Style and filler words that were not used ("cinematic", "slowly").
    pub ignored: Vec<String>,
    /// The caption the model was conditioned on.
    pub caption: String,
    /// Which reader read the prompt ("all-MiniLM-L6-v2", or "keywords" without the encoder).
    pub prompt_reader: String,
    /// How the layout planner placed the prompt's objects ("red circle: moving left").
    pub layout: Vec<String>,
    pub model: String,
    pub model_sha256: String,
    pub manifest_label: Option<String>,
    pub store_id: i64,
    /// Where the manifest was recorded (a path, or a PostgreSQL URL without its password).
    pub store_location: String,
    pub frames: usize,
    pub size: u32,
    /// A storyboard's shots (empty for a one-prompt clip).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shots: Vec<GeneratedShot>,
    /// Frames drawn a second time because an object the planner placed had faded in them (the
    /// generator checks every frame before it is written; see `check`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redrawn_frames: Vec<usize>,
    pub timings: Timings,
}

/// What the default model family can draw, for the prompt reader: the whole palette.
pub fn world() -> World {
    world_with(COLOURS.iter().map(|(c, _)| c.to_string()).collect())
}

/// What `config`'s model can draw, for the prompt reader: its trained colours and those the
/// generator draws through one of them ([`STAND_INS`]).
pub fn world_of(config: &ModelConfig) -> World {
    world_with(
        drawable_colours(config)
            .iter()
            .map(|c| c.to_string())
            .collect(),
    )
}

/// Colours a model may not have been trained on, each with the trained colour it is drawn as:
/// the model is told the stand-in (caption and layout) and the generator holds the object's
/// coarse colour to the asked one on every step ([`steer::colour_steer`]). Grey through white:
/// the same shading, only darker.
pub const STAND_INS: &[(&str, &str)] = &[("gray", "white")];

/// The object colours the generator draws with `config`'s model, in palette order: the colours
/// it was trained on, and each [`STAND_INS`] colour whose stand-in it was trained on.
pub fn drawable_colours(config: &ModelConfig) -> Vec<&'static str> {
    let trained = config.colours();
    COLOURS
        .iter()
        .map(|(c, _)| *c)
        .filter(|c| trained.contains(c) || stand_in(config, c).is_some())
        .collect()
}

/// The colour `config`'s model is told for an object asked in `colour`: the colour itself when
/// the model was trained on it, else its stand-in ([`STAND_INS`]) when it has one.
pub fn stand_in(config: &ModelConfig, colour: &str) -> Option<&'static str> {
    let trained = config.colours();
    if trained.contains(&colour) {
        return None;
    }
    STAND_INS
        .iter()
        .find(|(asked, drawn)| *asked == colour && trained.contains(drawn))
        .map(|(_, drawn)| *drawn)
}

/// `object` as `config`'s model is told it — its colour replaced by the stand-in when it has one
/// ([`stand_in`]) — and the colour asked when it was replaced (what the generator holds it to).
pub fn told_object(config: &ModelConfig, object: &NamedObject) -> (NamedObject, Option<String>) {
    let mut told = object.clone();
    let Some(drawn) = object.colour.as_deref().and_then(|c| stand_in(config, c)) else {
        return (told, None);
    };
    told.colour = Some(drawn.to_string());
    (told, object.colour.clone())
}

fn world_with(colours: Vec<String>) -> World {
    World {
        colours,
        shapes: SHAPES.iter().map(|s| s.to_string()).collect(),
        motions: Motion::askable().map(|m| m.phrase().to_string()).collect(),
        backgrounds: BACKGROUNDS.iter().map(|b| b.to_string()).collect(),
    }
}

/// A prompt as the model will draw it.
#[derive(Debug, Clone, Serialize)]
pub struct Understanding {
    pub reading: Reading,
    /// The prompt in the training captions' words, which conditions the model.
    pub caption: String,
    /// The objects for the layout planner, in prompt order.
    #[serde(skip)]
    pub objects: Vec<NamedObject>,
}

/// Characters that change how text is shown without being seen: bidirectional overrides and
/// isolates, zero-width characters, the byte-order mark. In a prompt they would let a signed
/// manifest's prompt read differently on screen from what it says.
pub fn invisible(c: char) -> bool {
    matches!(
        u32::from(c),
        0x061C | 0x180E | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2064 | 0x2066..=0x2069
            | 0xFEFF
    )
}

/// Reads `prompt` for the model; a prompt the reader refuses is [`GenerateError::Refused`].
pub fn understand(reader: &PromptReader, prompt: &str) -> Result<Understanding> {
    // A prompt is words: control characters would travel into manifests and onto the terminals
    // of everyone who verifies the clip.
    if let Some(c) = prompt.chars().find(|&c| c.is_control() || invisible(c)) {
        return Err(GenerateError::InvalidOption {
            option: "prompt",
            expected: "text without control or invisible formatting characters",
            got: format!("a prompt holding U+{:04X}", u32::from(c)),
        });
    }
    let reading = reader.read(prompt)?;
    if let Some(r) = &reading.refusal {
        return Err(GenerateError::Refused {
            reason: r.reason.clone(),
            can_draw: r.can_draw.clone(),
            reading: reading.describe(),
        });
    }
    let objects = reading
        .objects
        .iter()
        .map(|o| NamedObject {
            colour: o.colour.as_ref().map(|m| m.value.clone()),
            shape: o.shape.as_ref().map(|m| m.value.clone()),
            motion: o
                .motion
                .as_ref()
                .and_then(|m| Motion::askable().find(|x| x.phrase() == m.value)),
        })
        .collect();
    Ok(Understanding {
        caption: reading.caption(),
        reading,
        objects,
    })
}

/// Records the manifest signed into `output` in `store` under `binding`'s soft binding, with its
/// label as read back from the file; returns the label and the record's id.
pub(crate) fn record_signed(
    store: &ManifestStore,
    output: &Path,
    binding: Payload,
    manifest: Vec<u8>,
    metadata: serde_json::Value,
) -> Result<(Option<String>, i64)> {
    let manifest_label =
        candor_manifest::read_manifest(output, None, &candor_manifest::TrustAnchors::none())
            .ok()
            .and_then(|r| r.manifest_label);
    let id = store.record(&NewRecord {
        manifest_label: manifest_label.clone().unwrap_or_default(),
        alg: SOFT_BINDING_ALG.to_string(),
        binding: binding.to_bytes().to_vec(),
        manifest,
        asset: output.display().to_string(),
        metadata,
    })?;
    Ok((manifest_label, id))
}

/// The watermarked initial noise for a clip: the only way this crate makes noise.
pub fn watermark_noise(
    model: &DiffusionModel,
    key: &WatermarkKey,
    content_id: u64,
    seed: u64,
    frames: usize,
) -> Result<Tensor> {
    let (f, c, h, w) = model.config.latent_shape(frames);
    let shape = LatentShape::new(f, c, h, w);
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
    let noise = embed(key, Payload::new(content_id), shape, &mut rng)?;
    Ok(Tensor::from_vec(noise, (f, c, h, w), &model.device)?)
}

/// Draws a clip from initial `noise` (`[frames, C, h, w]`) for what a prompt was read as: the
/// layout planner places its objects (planned once, with `options.seed`), the model denoises with
/// `options`' sampler, steps and guidance (in chunks of its trained length when the clip is
/// longer, see [`chunks`]), and the codec decodes. Returns the plan and the frames (RGB24 at the
/// model's size). Decoding is inside the sampling time a caller measures around it.
pub fn draw(
    model: &DiffusionModel,
    understanding: &Understanding,
    noise: &Tensor,
    options: &GenerateOptions,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<(Vec<candor_diffusion::layout::PlannedObject>, Vec<Vec<u8>>)> {
    let frames = noise.dims().first().copied().unwrap_or(options.frames);
    let mut made = Vec::with_capacity(frames);
    let drawing = draw_shots(
        model,
        &[ShotToDraw {
            understanding,
            frames,
        }],
        noise,
        options,
        progress,
        &mut |frame| {
            made.push(frame);
            Ok(())
        },
    )?;
    Ok((drawing.plans.into_iter().next().unwrap_or_default(), made))
}

/// One shot of a clip: its prompt and how many frames it lasts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shot {
    pub prompt: String,
    pub frames: usize,
}

/// What was made of one shot of a storyboard.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GeneratedShot {
    pub prompt: String,
    pub first_frame: usize,
    pub frames: usize,
    pub start_s: f64,
    pub end_s: f64,
    pub understood: String,
    pub caption: String,
    pub layout: Vec<String>,
}

/// Generates one clip into `output` (MP4), signed by `identity` and recorded in `store`; the
/// prompt is read by `reader` first, and a prompt it refuses writes nothing.
#[allow(clippy::too_many_arguments)]
pub fn generate(
    model: &DiffusionModel,
    reader: &PromptReader,
    identity: &Identity,
    store: &ManifestStore,
    prompt: &str,
    output: &Path,
    options: &GenerateOptions,
    progress: impl FnMut(usize, usize),
) -> Result<Generated> {
    let shot = Shot {
        prompt: prompt.to_string(),
        frames: options.frames,
    };
    generate_shots(
        model,
        reader,
        identity,
        store,
        std::slice::from_ref(&shot),
        output,
        options,
        progress,
    )
}

/// Generates a clip of several shots, one after the other with a cut between them, into one MP4
/// on one watermark timeline with one content id (`options.frames` is ignored: the shots say
/// how long). Every prompt is read first: if any is refused, nothing is written. The manifest
/// lists the shots with their prompts and spans, and its soft binding has one block per shot
/// scoped to the shot's timespan.
#[allow(clippy::too_many_arguments)]
pub fn generate_shots(
    model: &DiffusionModel,
    reader: &PromptReader,
    identity: &Identity,
    store: &ManifestStore,
    shots: &[Shot],
    output: &Path,
    options: &GenerateOptions,
    mut progress: impl FnMut(usize, usize),
) -> Result<Generated> {
    if shots.is_empty() {
        return Err(GenerateError::InvalidOption {
            option: "shots",
            expected: "at least one shot",
            got: "none".into(),
        });
    }
    if let Some(s) = shots.iter().find(|s| s.frames == 0) {
        return Err(GenerateError::InvalidOption {
            option: "frames",
            expected: "at least 1 per shot",
            got: format!("0 for \"{}\"", s.prompt),
        });
    }
    let total: usize = shots.iter().map(|s| s.frames).sum();
    let mut options = options.clone();
    options.frames = total;
    let options = &options;
    options.check()?;
    let started = Instant::now();
    let mut timings = Timings::default();
    if output.is_dir() {
        return Err(GenerateError::OutputIsDirectory(output.to_path_buf()));
    }
    // Every prompt is read before anything is drawn or written.
    let understandings = shots
        .iter()
        .enumerate()
        .map(|(i, s)| {
            // In a storyboard, say which shot.
            understand(reader, &s.prompt).map_err(|e| match e {
                GenerateError::Refused {
                    reason,
                    can_draw,
                    reading,
                } if shots.len() > 1 => GenerateError::Refused {
                    reason: format!("shot {} (\"{}\"): {reason}", i + 1, s.prompt),
                    can_draw,
                    reading,
                },
                GenerateError::InvalidOption {
                    option,
                    expected,
                    got,
                } if shots.len() > 1 => GenerateError::InvalidOption {
                    option,
                    expected,
                    got: format!("{got} (shot {})", i + 1),
                },
                other => other,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let storyboard = shots.len() > 1;
    let title = shots
        .iter()
        .map(|s| s.prompt.as_str())
        .collect::<Vec<_>>()
        .join(" | ");
    let content_id = options
        .content_id
        .unwrap_or_else(|| rand::rngs::OsRng.next_u64());
    let key = WatermarkKey::new(identity.watermark_secret());

    let t = Instant::now();
    let noise = watermark_noise(model, &key, content_id, options.seed, total)?;
    timings.watermark_noise = t.elapsed().as_secs_f64();

    // Encode beside the output while drawing, sign into the output, remove the unsigned
    // intermediate.
    let dir = output
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let unsigned = dir.join(format!(
        ".candor-unsigned-{}-{content_id:016x}.mp4",
        std::process::id()
    ));
    let (native, out) = (model.config.size, options.size as usize);
    let t = Instant::now();
    let mut fingerprints: Vec<Option<FrameFingerprint>> = Vec::with_capacity(total);
    let drawn = (|| -> Result<Drawing> {
        let mut enc = EncodeOptions::new(options.size, options.size, options.fps as i32);
        enc.crf = options.crf;
        let mut writer = Mp4Writer::create(&unsigned, enc)?;
        let to_draw: Vec<ShotToDraw> = understandings
            .iter()
            .zip(shots)
            .map(|(understanding, s)| ShotToDraw {
                understanding,
                frames: s.frames,
            })
            .collect();
        let mut encode_time = 0f64;
        let drawing = draw_shots(
            model,
            &to_draw,
            &noise,
            options,
            &mut progress,
            &mut |frame| {
                let t = Instant::now();
                // The content as made, at the scale the detector reads it: what the
                // credentials are bound to.
                fingerprints.push(frame_fingerprint(&frame, native));
                writer.write_rgb(&resize_bilinear(&frame, native, native, out, out))?;
                encode_time += t.elapsed().as_secs_f64();
                Ok(())
            },
        )?;
        let t = Instant::now();
        writer.finish()?;
        timings.encode = encode_time + t.elapsed().as_secs_f64();
        Ok(drawing)
    })();
    timings.sampling = t.elapsed().as_secs_f64() - timings.encode;
    timings.per_step = timings.sampling / (options.steps as f64);
    let Drawing {
        plans,
        captions,
        redrawn_frames,
    } = match drawn {
        Ok(d) => d,
        Err(e) => {
            let _ = std::fs::remove_file(&unsigned);
            return Err(e);
        }
    };
    let fingerprint = fingerprints
        .into_iter()
        .collect::<Option<Vec<_>>>()
        .filter(|f| !f.is_empty())
        .map(|frames| ClipFingerprint { frames }.encode());

    let payload = Payload::new(content_id);
    let fps = f64::from(options.fps);
    let mut first = 0usize;
    let generated_shots: Vec<GeneratedShot> = shots
        .iter()
        .zip(&understandings)
        .zip(plans.iter().zip(&captions))
        .map(|((s, u), (plan, caption))| {
            let shot = GeneratedShot {
                prompt: s.prompt.clone(),
                first_frame: first,
                frames: s.frames,
                start_s: first as f64 / fps,
                end_s: (first + s.frames) as f64 / fps,
                understood: u.reading.describe(),
                caption: caption.clone(),
                layout: plan.iter().map(|p| p.describe()).collect(),
            };
            first += s.frames;
            shot
        })
        .collect();
    let mut spec = ManifestSpec::new(DigitalSourceType::TrainedAlgorithmicMedia);
    spec.title = Some(title.clone());
    spec.soft_binding = Some(SoftBinding {
        alg: SOFT_BINDING_ALG.to_string(),
        value: payload.to_bytes().to_vec(),
        // One block per shot, scoped to its span of the timeline (milliseconds).
        timespans: if storyboard {
            generated_shots
                .iter()
                .map(|s| Timespan {
                    start: (s.start_s * 1000.0).round() as u64,
                    end: (s.end_s * 1000.0).round() as u64,
                })
                .collect()
        } else {
            Vec::new()
        },
        regions: Vec::new(),
    });
    spec.watermarked = true;
    spec.time_stamp_authority = options.time_stamp_authority.clone();
    spec.training_mining = Some(MiningPermission::NotAllowed);
    spec.generation = Some(GenerationInfo {
        model_name: model.config.name.clone(),
        model_sha256: model.weights_sha256.clone(),
        prompt: title.clone(),
        seed: options.seed,
        steps: Some(options.steps as u32),
        guidance: Some(options.guidance as f32),
        content_fingerprint: fingerprint,
        frames: u32::try_from(total).ok(),
        fps: Some(options.fps),
        shots: if storyboard {
            generated_shots
                .iter()
                .map(|s| ShotInfo {
                    prompt: s.prompt.clone(),
                    first_frame: s.first_frame as u32,
                    frames: s.frames as u32,
                })
                .collect()
        } else {
            Vec::new()
        },
        edits: Vec::new(),
    });
    let t = Instant::now();
    let signed = sign_file(identity, &unsigned, output, &spec, true);
    let _ = std::fs::remove_file(&unsigned);
    let signed = signed?;
    timings.sign = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let (manifest_label, store_id) = record_signed(
        store,
        output,
        payload,
        signed.manifest,
        serde_json::json!({
            "prompt": title,
            "caption": captions.join(" | "),
            "prompt_reader": understandings[0].reading.encoder,
            "seed": options.seed,
            "content_id": payload.hex(),
            "model": model.config.name,
            "model_sha256": model.weights_sha256,
            "frames": total,
            "fps": options.fps,
            "size": options.size,
            "sampler": options.sampler.name(),
            "steps": options.steps,
            "guidance": options.guidance,
            "watermark_key_id": key.id(),
            "shots": if storyboard { serde_json::to_value(&generated_shots).unwrap_or_default() } else { serde_json::Value::Null },
        }),
    )?;
    timings.store = t.elapsed().as_secs_f64();
    timings.total = started.elapsed().as_secs_f64();

    let first_understanding = &understandings[0];
    Ok(Generated {
        output: output.to_path_buf(),
        content_id: payload.hex(),
        payload_hex: payload.hex(),
        watermark_key_id: key.id().to_string(),
        prompt: title,
        layout: plans
            .first()
            .map(|p| p.iter().map(|p| p.describe()).collect())
            .unwrap_or_default(),
        understood: first_understanding.reading.describe(),
        not_understood: first_understanding.reading.not_understood.clone(),
        ignored: first_understanding.reading.ignored.clone(),
        caption: captions.first().cloned().unwrap_or_default(),
        prompt_reader: first_understanding.reading.encoder.clone(),
        model: model.config.name.clone(),
        model_sha256: model.weights_sha256.clone(),
        manifest_label,
        store_id,
        store_location: store.location().to_string(),
        frames: total,
        size: options.size,
        shots: if storyboard {
            generated_shots
        } else {
            Vec::new()
        },
        redrawn_frames,
        timings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_with(colours: &[&str]) -> ModelConfig {
        let mut config = ModelConfig::tiny("t");
        config.colours = Some(colours.iter().map(|c| c.to_string()).collect());
        config
    }

    #[test]
    fn a_colour_is_drawable_when_trained_or_through_a_trained_stand_in() {
        let nine: Vec<&str> = COLOURS[..9].iter().map(|(c, _)| *c).collect();
        assert!(!nine.contains(&"gray"));
        let v3 = config_with(&nine);
        assert!(drawable_colours(&v3).contains(&"gray"));
        assert_eq!(drawable_colours(&v3).len(), 10);
        assert_eq!(stand_in(&v3, "gray"), Some("white"));
        assert_eq!(stand_in(&v3, "red"), None);
        assert!(world_of(&v3).colours.iter().any(|c| c == "gray"));
        // No white to draw it through: no grey.
        let no_white = config_with(&["red", "blue"]);
        assert_eq!(drawable_colours(&no_white), vec!["red", "blue"]);
        assert_eq!(stand_in(&no_white, "gray"), None);
        // Trained on grey: grey is itself.
        let v4 = ModelConfig::tiny("t");
        assert_eq!(stand_in(&v4, "gray"), None);
        assert!(drawable_colours(&v4).contains(&"gray"));
    }
}
