//! `candor generate`: a prompt in, a watermarked and signed MP4 out.

use std::path::PathBuf;

use candle_core::Device;
use candor_diffusion::{DiffusionModel, Sampler};
use candor_generate::{generate_shots, GenerateError, GenerateOptions, PromptReader, Shot};
use candor_store::{ManifestStore, StoreLocation};
use clap::Args;

use super::defaults::model_dir;
use super::identity::load_identity;
use super::{print_json, CliError, CliResult, Outcome};

#[derive(Debug, Args)]
#[command(
    after_help = "Every clip is watermarked from its initial noise and carries signed Content Credentials \
(trainedAlgorithmicMedia, model, prompt, seed, soft binding to the watermark); the manifest is also recorded in \
the local manifest store so stripped copies can be matched back. There is no option to skip either.\n\n\
Prompts are free text, read by a sentence encoder (all-MiniLM-L6-v2, installed by scripts/install-text-encoder.sh; \
without it, by keywords only) into what the default model can draw: up to three objects, each a shape (circle \
square triangle star diamond) in a colour (red orange yellow green cyan blue purple pink white) with a motion \
(left right up down and diagonals, bouncing, growing, shrinking), over a background (sky sunset night grass gray \
sand). Synonyms are understood (\"crimson ball drifting west at dusk\"); what was read is printed with its \
similarity, and words that map to nothing are named. A prompt asking for what cannot be drawn (people, animals, \
vehicles, text, real places) is refused with exit code 2 and nothing is written.\n\n\
Examples:\n  candor generate \"a crimson ball drifting slowly to the left above the ocean at dusk\" -o clip.mp4\n  \
candor generate \"a teal cube sliding right and a golden star sinking, starry night\" -o two.mp4 --seed 7\n  \
candor generate \"a yellow star drifting left under a night sky\" --duration 30s -o long.mp4   # drawn in chunks, one timeline\n\n\
Several shots in one clip: candor storyboard shots.yaml -o film.mp4"
)]
pub struct GenerateArgs {
    /// What the clip shows.
    prompt: String,
    /// Output MP4.
    #[arg(short, long)]
    output: PathBuf,
    /// Number of frames (up to 256). A clip longer than the model's 16 is drawn in chunks that
    /// continue each other on one watermark timeline.
    #[arg(long, default_value_t = 16, conflicts_with = "duration")]
    frames: usize,
    /// Length in seconds instead of frames ("30s", "2.5s", "1500ms"): frames = duration × fps, at
    /// most 256 (32 s at 8 fps).
    #[arg(long, value_parser = parse_duration)]
    duration: Option<f64>,
    /// Frames per second of the output.
    #[arg(long, default_value_t = 8)]
    fps: u32,
    /// Output size in pixels (even); frames are made at the model's native size and upscaled (default 4×).
    #[arg(long)]
    size: Option<u32>,
    /// Seed of the noise magnitudes: same prompt, seed, key and content id give identical frames.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Sampling steps (model evaluations, each a batched pair with and without the prompt).
    #[arg(long, default_value_t = candor_generate::DEFAULT_STEPS)]
    steps: usize,
    /// Sampler: dpm-solver-2m (second order, the default) or ddim (first order; needs about
    /// twice the steps for the same clip quality).
    #[arg(long, default_value = "dpm-solver-2m", value_parser = parse_sampler)]
    sampler: Sampler,
    /// Classifier-free guidance scale (1 = none).
    #[arg(long, default_value_t = 3.0)]
    guidance: f64,
    /// Content id to embed (16 hex digits); default: a fresh random id.
    #[arg(long, value_parser = parse_hex_id)]
    content_id: Option<u64>,
    /// Model directory (config.json + model.safetensors).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Signing identity directory. Default: $CANDOR_IDENTITY, else the public test identity keys/dev.
    #[arg(long)]
    identity: Option<PathBuf>,
    /// Manifest store: an SQLite file or a postgres:// URL shared by several machines.
    /// Default: $CANDOR_STORE, else ~/.local/share/candor/manifests.db.
    #[arg(long, value_name = "PATH|URL")]
    store: Option<StoreLocation>,
    /// RFC 3161 time-stamp authority (http://host[:port]/path): the claim signature is
    /// counter-signed with its time, so verifiers see when it was signed from a third party,
    /// not from the signer's own clock. Generation fails (exit 2) when the TSA fails.
    #[arg(long, value_name = "URL")]
    tsa: Option<String>,
    /// Replace the output if it exists.
    #[arg(long)]
    force: bool,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// A generation error in the CLI's words: the generator names its options, the user typed flags.
pub(super) fn usage_error(e: GenerateError) -> CliError {
    match e {
        GenerateError::InvalidOption {
            option: "prompt",
            expected,
            got,
        } => CliError::Usage(format!("the prompt must be {expected}, got {got}")),
        GenerateError::InvalidOption {
            option,
            expected,
            got,
        } => CliError::Usage(format!("--{option} must be {expected}, got {got}")),
        other => other.into(),
    }
}

pub(super) fn parse_sampler(s: &str) -> Result<Sampler, String> {
    Sampler::from_name(s).ok_or_else(|| {
        let names: Vec<&str> = Sampler::ALL.iter().map(|s| s.name()).collect();
        format!("unknown sampler {s:?} (known: {})", names.join(", "))
    })
}

fn parse_duration(s: &str) -> Result<f64, String> {
    candor_generate::storyboard::parse_duration(s)
        .ok_or_else(|| format!("{s:?} is not a positive length such as 30s, 2.5s or 1500ms"))
}

/// Frames for `--duration` at `fps` (at least one).
pub(super) fn frames_for(duration: f64, fps: u32) -> usize {
    ((duration * f64::from(fps)).round() as usize).max(1)
}

pub(super) fn parse_hex_id(s: &str) -> Result<u64, String> {
    u64::from_str_radix(s.trim_start_matches("0x"), 16)
        .map_err(|e| format!("not a hex content id: {e}"))
}

pub fn run(args: GenerateArgs) -> CliResult<Outcome> {
    let frames = match args.duration {
        Some(d) => frames_for(d, args.fps),
        None => args.frames,
    };
    if let Some(d) = args
        .duration
        .filter(|_| frames > candor_generate::MAX_FRAMES)
    {
        return Err(CliError::Usage(format!(
            "--duration {d}s is {frames} frames at {} fps; a clip has at most {} ({:.1} s at that rate)",
            args.fps,
            candor_generate::MAX_FRAMES,
            candor_generate::MAX_FRAMES as f64 / f64::from(args.fps.max(1))
        )));
    }
    let setting = Setting {
        output: args.output.clone(),
        fps: args.fps,
        size: args.size,
        seed: args.seed,
        steps: args.steps,
        sampler: args.sampler,
        guidance: args.guidance,
        content_id: args.content_id,
        model: args.model.clone(),
        identity: args.identity.clone(),
        store: args.store.clone(),
        tsa: args.tsa.clone(),
        force: args.force,
        json: args.json,
    };
    let shot = Shot {
        prompt: args.prompt.clone(),
        frames,
    };
    make(&setting, std::slice::from_ref(&shot))
}

/// What `generate` and `storyboard` share: where the clip goes and how it is made.
pub(super) struct Setting {
    pub output: PathBuf,
    pub fps: u32,
    pub size: Option<u32>,
    pub seed: u64,
    pub steps: usize,
    pub sampler: Sampler,
    pub guidance: f64,
    pub content_id: Option<u64>,
    pub model: Option<PathBuf>,
    pub identity: Option<PathBuf>,
    pub store: Option<StoreLocation>,
    pub tsa: Option<String>,
    pub force: bool,
    pub json: bool,
}

/// Makes `shots` into one clip at `setting.output` and prints what was made.
pub(super) fn make(setting: &Setting, shots: &[Shot]) -> CliResult<Outcome> {
    if setting.output.exists() && !setting.force {
        return Err(format!(
            "{}: file exists (pass --force to replace it)",
            setting.output.display()
        )
        .into());
    }
    if let Some(url) = &setting.tsa {
        candor_manifest::check_tsa_url(url)?;
    }
    let model = DiffusionModel::load(&model_dir(setting.model.as_deref()), &Device::Cpu)?;
    let identity = load_identity(setting.identity.as_deref())?;
    let store = ManifestStore::connect(&setting.store.clone().unwrap_or_default())?;
    let mut options = GenerateOptions::for_native_size(model.config.size);
    options.frames = shots.iter().map(|s| s.frames).sum();
    options.fps = setting.fps;
    options.size = setting.size.unwrap_or(options.size);
    options.seed = setting.seed;
    options.steps = setting.steps;
    options.sampler = setting.sampler;
    options.guidance = setting.guidance;
    options.content_id = setting.content_id;
    options.time_stamp_authority = setting.tsa.clone();

    let models_dir = model_dir(setting.model.as_deref())
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    let reader = PromptReader::open_default(candor_generate::world_of(&model.config), &models_dir)
        .map_err(GenerateError::from)?;
    if let Some(notice) = reader.fallback() {
        eprintln!("note: {notice}");
    }
    // Every prompt is read before anything is made: a refused prompt writes nothing.
    let bar = super::progress(setting.steps as u64, "denoising");
    let result = generate_shots(
        &model,
        &reader,
        &identity,
        &store,
        shots,
        &setting.output,
        &options,
        |done, total| {
            bar.set_length(total as u64);
            bar.set_position(done as u64)
        },
    )
    .map_err(usage_error)?;
    bar.finish_and_clear();
    if setting.json {
        print_json(&result)?;
        return Ok(Outcome::Success);
    }
    println!(
        "Generated {} ({} frames, {:.1} s, {}x{}, {} fps)",
        result.output.display(),
        result.frames,
        result.frames as f64 / f64::from(setting.fps),
        result.size,
        result.size,
        setting.fps
    );
    println!(
        "  model:       {} (weights sha256 {})",
        result.model,
        &result.model_sha256[..16.min(result.model_sha256.len())]
    );
    println!(
        "  content id:  {} (watermark key {})",
        result.content_id, result.watermark_key_id
    );
    println!(
        "  credentials: signed, AI-generated (trainedAlgorithmicMedia), watermarked{}; recorded in {}",
        if setting.tsa.is_some() { ", time-stamped" } else { "" },
        result.store_location
    );
    if result.shots.is_empty() {
        println!(
            "  prompt:      {} ({})",
            result.understood, result.prompt_reader
        );
        println!("  drawing:     {}", result.caption);
        for placed in &result.layout {
            println!("  layout:      {placed}");
        }
        if !result.not_understood.is_empty() {
            println!(
                "  not understood (left out): {}",
                result.not_understood.join(", ")
            );
        }
        if !result.ignored.is_empty() {
            println!("  ignored (style words): {}", result.ignored.join(", "));
        }
    } else {
        println!(
            "  shots ({}, read by {}):",
            result.shots.len(),
            result.prompt_reader
        );
        for (i, shot) in result.shots.iter().enumerate() {
            println!(
                "    {}. {:.2}–{:.2} s (frames {}–{}): \"{}\"",
                i + 1,
                shot.start_s,
                shot.end_s,
                shot.first_frame,
                shot.first_frame + shot.frames - 1,
                shot.prompt
            );
            println!(
                "       read as {}; drawing {}",
                shot.understood, shot.caption
            );
        }
    }
    if !result.redrawn_frames.is_empty() {
        let frames: Vec<String> = result
            .redrawn_frames
            .iter()
            .map(|f| f.to_string())
            .collect();
        println!(
            "  redrawn:     frame{} {} (a planned object had faded; drawn again beside the rest)",
            if frames.len() == 1 { "" } else { "s" },
            frames.join(", ")
        );
    }
    println!(
        "  time:        {:.1} s ({:.0} ms per denoising step)",
        result.timings.total,
        result.timings.per_step * 1e3
    );
    Ok(Outcome::Success)
}
