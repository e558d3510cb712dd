//! `candor storyboard`: several shots, each with its own prompt, made into one disclosed MP4.

use std::path::PathBuf;

use candor_diffusion::Sampler;
use candor_generate::storyboard::Storyboard;
use candor_store::StoreLocation;
use clap::Args;

use super::generate::{make, parse_hex_id, parse_sampler, Setting};
use super::{CliResult, Outcome};

#[derive(Debug, Args)]
#[command(
    after_help = "The storyboard is a YAML file listing shots in order:\n\n  \
fps: 8                      # optional\n  \
shots:\n    \
- prompt: \"a red circle drifting left over the grass\"\n      \
duration: 2s              # or frames: 16\n    \
- prompt: \"a blue star rising into the night sky\"\n      \
duration: 3s\n      \
transition: cut           # the only transition: each shot starts on a cut\n\n\
The shots are drawn one after the other on one watermark timeline with one content id, so any \
excerpt is found and placed in the film. The manifest lists every shot with its prompt and span, \
and its soft binding has one block per shot scoped to the shot's timespan; `candor verify` lists \
the shots it finds. Every prompt is read first: if any is refused, nothing is written (exit 2). \
At most 256 frames in all (32 s at 8 fps).\n\nExample:\n  candor storyboard shots.yaml -o film.mp4"
)]
pub struct StoryboardArgs {
    /// The storyboard (YAML): `shots: [{prompt: "…", duration: 2s}, …]`.
    storyboard: PathBuf,
    /// Output MP4.
    #[arg(short, long)]
    output: PathBuf,
    /// Frames per second (default: the storyboard's `fps`, else 8).
    #[arg(long)]
    fps: Option<u32>,
    /// Output size in pixels (even); frames are made at the model's native size and upscaled.
    #[arg(long)]
    size: Option<u32>,
    /// Seed of the noise magnitudes (shot k plans its layout with seed + k).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Sampling steps per chunk.
    #[arg(long, default_value_t = candor_generate::DEFAULT_STEPS)]
    steps: usize,
    /// Sampler: dpm-solver-2m or ddim.
    #[arg(long, default_value = "dpm-solver-2m", value_parser = parse_sampler)]
    sampler: Sampler,
    /// Classifier-free guidance scale.
    #[arg(long, default_value_t = 3.0)]
    guidance: f64,
    /// Content id to embed (16 hex digits); default: a fresh random id.
    #[arg(long, value_parser = parse_hex_id)]
    content_id: Option<u64>,
    /// Model directory.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Signing identity directory (default: $CANDOR_IDENTITY, else the public test identity).
    #[arg(long)]
    identity: Option<PathBuf>,
    /// Manifest store: an SQLite file or a postgres:// URL.
    #[arg(long, value_name = "PATH|URL")]
    store: Option<StoreLocation>,
    /// RFC 3161 time-stamp authority.
    #[arg(long, value_name = "URL")]
    tsa: Option<String>,
    /// Replace the output if it exists.
    #[arg(long)]
    force: bool,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: StoryboardArgs) -> CliResult<Outcome> {
    if args.storyboard.is_dir() {
        return Err(format!(
            "{}: is a directory, not a storyboard file",
            args.storyboard.display()
        )
        .into());
    }
    if !args.storyboard.is_file() {
        return Err(format!("{}: no such file", args.storyboard.display()).into());
    }
    let board = Storyboard::read(&args.storyboard, args.fps)?;
    let fps = board.fps.unwrap_or(candor_diffusion::CLIP_FPS);
    let setting = Setting {
        output: args.output,
        fps,
        size: args.size,
        seed: args.seed,
        steps: args.steps,
        sampler: args.sampler,
        guidance: args.guidance,
        content_id: args.content_id,
        model: args.model,
        identity: args.identity,
        store: args.store,
        tsa: args.tsa,
        force: args.force,
        json: args.json,
    };
    make(&setting, &board.shots)
}
