//! `candor bench`: the flags of each suite in `candor-eval`, and printing its report. Suites
//! print ratios and rates, never pass/fail timings.

use std::path::{Path, PathBuf};

use candor_eval as eval;
use clap::Subcommand;

use super::defaults::{identity_dir, model_dir};
use super::{print_json, CliResult, Outcome};

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Statistical checks of the latent watermark on simulated channels: distribution, false
    /// positives, noise, frame drops, tampering, speed.
    Watermark(WatermarkBenchArgs),
    /// Prompt adherence on held-out pairs, the watermark round trip through MP4, and stage timings.
    Generate(GenerateBenchArgs),
    /// Time to sign and verify a large MP4, next to sha256sum of the same file in the same run.
    Manifest(ManifestBenchArgs),
    /// Detection rate and payload exactness of generated clips under ffmpeg attacks.
    Robustness(RobustnessBenchArgs),
    /// False detections on clean video windows (test sources, real footage, other keys' clips).
    Fpr(FprBenchArgs),
    /// Time to verify one default clip, by stage, next to plain `ffmpeg -f null` decode.
    Verify(VerifyBenchArgs),
    /// Whole-file verify of long 1080p footage, clean and with a Candor clip inserted at 40 s:
    /// time next to `ffmpeg -f null` of the same file, peak memory, the segment found.
    Scan(ScanBenchArgs),
    /// Attacks without the key: transplant of one clip's mark, averaging forgery and removal with
    /// n clips, swept over strength, with the PSNR and the verdict of each.
    Attacks(AttacksBenchArgs),
    /// Lookups by soft binding among many stored manifests (p50, p99), SQLite or PostgreSQL.
    Store(StoreBenchArgs),
    /// Long clips and storyboards: time and memory against duration, the object's colour over a
    /// 30 s clip, jumps at chunk seams, excerpts placed by verify, a storyboard's shots listed.
    Long(LongBenchArgs),
}

pub fn run(command: BenchCommand) -> CliResult<Outcome> {
    let (report, json) = match command {
        BenchCommand::Watermark(args) => (eval::watermark::run(&args.config()?), args.json),
        BenchCommand::Generate(args) => (eval::generate::run(&args.config()?), args.json),
        BenchCommand::Manifest(args) => (eval::manifest::run(&args.config()?), args.json),
        BenchCommand::Robustness(args) if args.list => {
            for a in eval::attacks::ATTACKS {
                println!(
                    "{:<22} ffmpeg -i IN {} OUT.{}",
                    a.name,
                    a.args().join(" "),
                    a.ext
                );
            }
            return Ok(Outcome::Success);
        }
        BenchCommand::Robustness(args) => (eval::robustness::run(&args.config()?), args.json),
        BenchCommand::Fpr(args) => (eval::fpr::run(&args.config()?), args.json),
        BenchCommand::Verify(args) => (eval::verify::run(&args.config()?), args.json),
        BenchCommand::Attacks(args) => (eval::forgery::run(&args.config()?), args.json),
        BenchCommand::Scan(args) => (eval::scan::run(&args.config()?), args.json),
        BenchCommand::Store(args) => (eval::store::run(&args.config()), args.json),
        BenchCommand::Long(args) => (eval::long::run(&args.config()?), args.json),
    };
    let report = report?;
    if json {
        print_json(&report)?;
    } else {
        print!("{}", report.text);
    }
    Ok(if report.passed {
        Outcome::Success
    } else {
        Outcome::Failed
    })
}

/// The model and detector settings every generating benchmark takes.
#[derive(Debug, clap::Args)]
pub struct DetectorArgs {
    /// Model directory (default: the shipped model).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// DDIM inversion steps (model evaluations; 0 reads the latent itself). Default: the
    /// model's, chosen from its measured robustness curve (see docs/BENCHMARKS.md).
    #[arg(long)]
    pub inversion_steps: Option<usize>,
}

impl DetectorArgs {
    /// The identity is `$CANDOR_IDENTITY`, else the public test one.
    fn config(&self) -> CliResult<eval::DetectorConfig> {
        Ok(eval::DetectorConfig {
            model: model_dir(self.model.as_deref()),
            inversion_steps: self.inversion_steps,
            identity: identity_dir(),
        })
    }
}

#[derive(Debug, clap::Args)]
pub struct WatermarkBenchArgs {
    /// Trials per robustness and tamper scenario.
    #[arg(long, default_value_t = 1000)]
    trials: usize,
    /// Unwatermarked latents for the false-positive test.
    #[arg(long, default_value_t = 100_000)]
    fp_trials: usize,
    /// Seed of the whole run (results are reproducible).
    #[arg(long, default_value_t = 2026)]
    seed: u64,
    /// Print the figures as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub struct GenerateBenchArgs {
    /// Prompt set: JSON with `drawable` prompts (each with its intended objects and background)
    /// and `undrawable` ones. Default: the committed free-form set.
    #[arg(long)]
    prompts: Option<PathBuf>,
    /// Generate only the first N drawable prompts (every prompt is still read).
    #[arg(long)]
    limit: Option<usize>,
    /// Sampling steps per clip.
    #[arg(long, default_value_t = candor_generate::DEFAULT_STEPS)]
    steps: usize,
    /// Sampler: dpm-solver-2m or ddim.
    #[arg(long, default_value = "dpm-solver-2m", value_parser = super::generate::parse_sampler)]
    sampler: candor_diffusion::Sampler,
    /// Classifier-free guidance scale.
    #[arg(long, default_value_t = 3.0)]
    guidance: f64,
    #[command(flatten)]
    detector: DetectorArgs,
    /// Reference model the time per clip is compared with, in the same run (the previous
    /// default, with DDIM at 25 steps). `none` skips the comparison.
    #[arg(long, default_value = "models/candor-shapes-v2")]
    reference_model: PathBuf,
    /// Prompts timed in both configurations.
    #[arg(long, default_value_t = 6)]
    reference_clips: usize,
    /// Keep the clips in this directory (default: a temporary one, removed).
    #[arg(long)]
    keep: Option<PathBuf>,
    /// Print the figures as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub struct ManifestBenchArgs {
    /// Approximate size of the test MP4 in MB.
    #[arg(long, default_value_t = 100)]
    size_mb: u64,
    /// Repetitions of each measurement (the median is reported).
    #[arg(long, default_value_t = 3)]
    repeat: usize,
    /// Directory for the test files (default: a temporary directory).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Print the figures as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub struct RobustnessBenchArgs {
    /// Clips to generate; every attack is applied to each.
    #[arg(long, default_value_t = 30)]
    clips: usize,
    /// Only these attacks (comma-separated names; see the list printed with --list).
    #[arg(long, value_delimiter = ',')]
    attacks: Vec<String>,
    /// Print the attacks and the ffmpeg arguments of each, and exit.
    #[arg(long)]
    list: bool,
    #[command(flatten)]
    detector: DetectorArgs,
    /// Keep the clips and attacked copies in this directory (default: a temporary one, removed).
    #[arg(long)]
    keep: Option<PathBuf>,
    /// Write every fingerprint comparison (each attacked copy against its own clip, each pair of
    /// different clips) to this file as JSON lines: the data the content check's bars are set on.
    #[arg(long, value_name = "FILE")]
    matches: Option<PathBuf>,
    /// Print the figures as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub struct FprBenchArgs {
    /// Clean windows to test in all (spread over the sources).
    #[arg(long, default_value_t = 1000)]
    windows: usize,
    /// Real footage to add (repeatable): the video itself, looped, and a slow pan over its first
    /// frame as a still photograph.
    #[arg(long, value_name = "VIDEO")]
    footage: Vec<PathBuf>,
    /// Clips generated by this model under a throw-away key (3 windows each).
    #[arg(long, default_value_t = 10)]
    other_key_clips: usize,
    /// Run every window through the whole detector, geometry search included (about 20× slower
    /// on clean video); without it, windows are tested as they are.
    #[arg(long)]
    geometry_search: bool,
    /// Random payloads standing in for a manifest store's soft bindings: windows the other tests
    /// clear are also put to the candidate-assisted test against them (0: no store).
    #[arg(long, default_value_t = 100)]
    store_payloads: usize,
    #[command(flatten)]
    detector: DetectorArgs,
    /// Print the figures as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub struct VerifyBenchArgs {
    /// Repetitions (the median is reported).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    #[command(flatten)]
    detector: DetectorArgs,
    /// Print the figures as JSON.
    #[arg(long)]
    json: bool,
}

impl WatermarkBenchArgs {
    fn config(&self) -> CliResult<eval::watermark::WatermarkConfig> {
        Ok(eval::watermark::WatermarkConfig {
            trials: self.trials,
            fp_trials: self.fp_trials,
            seed: self.seed,
        })
    }
}

impl GenerateBenchArgs {
    fn config(&self) -> CliResult<eval::generate::GenerateConfig> {
        Ok(eval::generate::GenerateConfig {
            prompts: self
                .prompts
                .clone()
                .unwrap_or_else(|| PathBuf::from(eval::generate::DEFAULT_PROMPTS)),
            limit: self.limit,
            steps: self.steps,
            sampler: self.sampler,
            guidance: self.guidance,
            detector: self.detector.config()?,
            reference: (self.reference_model != Path::new("none") && self.reference_clips > 0)
                .then(|| eval::generate::ReferenceConfig {
                    model: self.reference_model.clone(),
                    sampler: candor_diffusion::Sampler::Ddim,
                    steps: 25,
                    clips: self.reference_clips,
                }),
            keep: self.keep.clone(),
        })
    }
}

impl ManifestBenchArgs {
    fn config(&self) -> CliResult<eval::manifest::ManifestConfig> {
        Ok(eval::manifest::ManifestConfig {
            size_mb: self.size_mb,
            repeat: self.repeat,
            dir: self.dir.clone(),
            identity: identity_dir(),
        })
    }
}

impl RobustnessBenchArgs {
    fn config(&self) -> CliResult<eval::robustness::RobustnessConfig> {
        Ok(eval::robustness::RobustnessConfig {
            clips: self.clips,
            attacks: self.attacks.clone(),
            detector: self.detector.config()?,
            keep: self.keep.clone(),
            matches: self.matches.clone(),
        })
    }
}

impl FprBenchArgs {
    fn config(&self) -> CliResult<eval::fpr::FprConfig> {
        Ok(eval::fpr::FprConfig {
            windows: self.windows,
            footage: self.footage.clone(),
            other_key_clips: self.other_key_clips,
            geometry_search: self.geometry_search,
            store_payloads: self.store_payloads,
            detector: self.detector.config()?,
        })
    }
}

impl VerifyBenchArgs {
    fn config(&self) -> CliResult<eval::verify::VerifyConfig> {
        Ok(eval::verify::VerifyConfig {
            runs: self.runs,
            detector: self.detector.config()?,
        })
    }
}

#[derive(Debug, clap::Args)]
pub struct ScanBenchArgs {
    /// Durations of the footage in seconds (comma-separated; each at least 44).
    #[arg(long, value_delimiter = ',', default_values_t = [60, 180])]
    durations: Vec<u32>,
    /// Footage size, WIDTHxHEIGHT.
    #[arg(long, default_value = "1920x1080")]
    size: String,
    /// Footage frame rate.
    #[arg(long, default_value_t = 30)]
    fps: u32,
    #[command(flatten)]
    detector: DetectorArgs,
    /// Keep the footage in this directory and reuse it next time (making 180 s of 1080p takes
    /// minutes).
    #[arg(long)]
    keep: Option<PathBuf>,
    /// Print the figures as JSON.
    #[arg(long)]
    json: bool,
}

impl ScanBenchArgs {
    fn config(&self) -> CliResult<eval::scan::ScanConfig> {
        let (w, h) = self
            .size
            .split_once('x')
            .and_then(|(w, h)| Some((w.parse::<u32>().ok()?, h.parse::<u32>().ok()?)))
            .filter(|&(w, h)| w >= 16 && h >= 16 && w % 2 == 0 && h % 2 == 0)
            .ok_or_else(|| {
                super::CliError::Usage(format!(
                    "--size {}: expected WIDTHxHEIGHT, even and at least 16x16",
                    self.size
                ))
            })?;
        Ok(eval::scan::ScanConfig {
            durations: self.durations.clone(),
            width: w,
            height: h,
            fps: self.fps,
            detector: self.detector.config()?,
            keep: self.keep.clone(),
        })
    }
}

#[derive(Debug, clap::Args)]
pub struct LongBenchArgs {
    /// Clip lengths in seconds, ascending (comma-separated); the first is the baseline the
    /// others' time per second is compared with.
    #[arg(long, value_delimiter = ',', default_values_t = [2.0, 8.0, 16.0, 30.0])]
    durations: Vec<f64>,
    /// Frame rate of the clips.
    #[arg(long, default_value_t = 8)]
    fps: u32,
    /// Excerpts cut from the longest clip (plus one converted to 25 fps).
    #[arg(long, default_value_t = 8)]
    excerpts: usize,
    #[command(flatten)]
    detector: DetectorArgs,
    /// Keep the clips in this directory.
    #[arg(long)]
    keep: Option<PathBuf>,
    /// Print the figures as JSON.
    #[arg(long)]
    json: bool,
}

impl LongBenchArgs {
    fn config(&self) -> CliResult<eval::long::LongConfig> {
        Ok(eval::long::LongConfig {
            durations: self.durations.clone(),
            fps: self.fps,
            excerpts: self.excerpts,
            detector: self.detector.config()?,
            keep: self.keep.clone(),
        })
    }
}

#[derive(Debug, clap::Args)]
pub struct AttacksBenchArgs {
    /// Marked clips the attacker holds (the averaging forgery uses 2, 4, … and all but one; the
    /// last is the removal's target). 257 gives the 256.
    #[arg(long, default_value_t = 17)]
    clips: usize,
    /// PSNRs (dB, comma-separated) every attack is swept over: the pattern is scaled so that the
    /// attacked video lands there.
    #[arg(long = "psnr", value_delimiter = ',', default_values_t = [48.0, 45.0, 42.0, 39.0, 36.0, 33.0, 30.0])]
    psnr_targets: Vec<f64>,
    /// Real footage to use as hosts too (repeatable): the video, and a pan over its first frame.
    #[arg(long, value_name = "VIDEO")]
    footage: Vec<PathBuf>,
    #[command(flatten)]
    detector: DetectorArgs,
    /// Print the figures as JSON.
    #[arg(long)]
    json: bool,
}

impl AttacksBenchArgs {
    fn config(&self) -> CliResult<eval::forgery::AttacksConfig> {
        Ok(eval::forgery::AttacksConfig {
            clips: self.clips,
            psnr_targets: self.psnr_targets.clone(),
            footage: self.footage.clone(),
            detector: self.detector.config()?,
        })
    }
}

#[derive(Debug, clap::Args)]
pub struct StoreBenchArgs {
    /// A fresh store to fill (an SQLite path or a postgres:// URL); it is left filled.
    #[arg(long, value_name = "PATH|URL")]
    store: candor_store::StoreLocation,
    /// Records to load (synthetic: 64-byte manifests, bindings from their index).
    #[arg(long, default_value_t = 10_000_000)]
    rows: u64,
    /// Lookups to time (half stored bindings, half absent ones).
    #[arg(long, default_value_t = 20_000)]
    lookups: usize,
    /// Records per load transaction.
    #[arg(long, default_value_t = 200_000)]
    batch: u64,
    /// Time lookups on a store this bench filled before, without loading.
    #[arg(long)]
    reuse: bool,
    /// Print the figures as JSON.
    #[arg(long)]
    json: bool,
}

impl StoreBenchArgs {
    fn config(&self) -> eval::store::StoreConfig {
        eval::store::StoreConfig {
            location: self.store.clone(),
            rows: self.rows,
            lookups: self.lookups.max(2),
            batch: self.batch.max(1),
            reuse: self.reuse,
        }
    }
}
