//! `candor bench`: measurements that print ratios and rates, never pass/fail timings.

mod fpr;
mod generate;
mod manifest;
mod robustness;
mod verify;
mod watermark;

use std::path::{Path, PathBuf};

use candle_core::Device;
use candor_diffusion::DiffusionModel;
use candor_manifest::Identity;
use candor_store::ManifestStore;
use candor_watermark::{KeyRing, WatermarkKey};
use clap::Subcommand;

use super::generate::model_dir;
use super::identity::load_identity;
use super::{CliResult, Outcome};

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Statistical checks of the latent watermark on simulated channels: distribution, false
    /// positives, noise, frame drops, tampering, speed.
    Watermark(watermark::WatermarkBenchArgs),
    /// Prompt adherence on held-out pairs, the watermark round trip through MP4, and stage timings.
    Generate(generate::GenerateBenchArgs),
    /// Time to sign and verify a large MP4, next to sha256sum of the same file in the same run.
    Manifest(manifest::ManifestBenchArgs),
    /// Detection rate and payload exactness of generated clips under ffmpeg attacks.
    Robustness(robustness::RobustnessBenchArgs),
    /// False detections on clean video windows (test sources, real footage, other keys' clips).
    Fpr(fpr::FprBenchArgs),
    /// Time to verify one default clip, by stage, next to plain `ffmpeg -f null` decode.
    Verify(verify::VerifyBenchArgs),
}

pub fn run(command: BenchCommand) -> CliResult<Outcome> {
    match command {
        BenchCommand::Watermark(args) => watermark::run(args),
        BenchCommand::Manifest(args) => manifest::run(args),
        BenchCommand::Generate(args) => generate::run(args),
        BenchCommand::Robustness(args) => robustness::run(args),
        BenchCommand::Fpr(args) => fpr::run(args),
        BenchCommand::Verify(args) => verify::run(args),
    }
}

/// Median of a list of measurements.
pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

/// This process's peak resident memory in MiB (Linux `VmHWM`; `None` elsewhere).
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// A progress bar on stderr (hidden when stderr is not a terminal).
pub fn progress(len: u64, what: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(len);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{msg:28} [{bar:30}] {pos}/{len} {elapsed}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_string());
    bar
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

/// What the benchmarks that generate and detect share: the model, the detector's inversion steps
/// (the model's default unless given), the identity (the public test one unless
/// `$CANDOR_IDENTITY` says otherwise) with its key ring, and a work directory holding a manifest
/// store.
pub struct BenchSetup {
    pub model: DiffusionModel,
    pub inversion_steps: usize,
    pub identity: Identity,
    pub ring: KeyRing,
    pub dir: PathBuf,
    pub store: ManifestStore,
}

impl BenchSetup {
    /// `keep`: the work directory to use (kept); `None` makes `candor-bench-NAME-PID` in the
    /// temporary directory, for the caller to remove.
    pub fn open(detector: &DetectorArgs, keep: Option<&Path>, name: &str) -> CliResult<Self> {
        let model = DiffusionModel::load(&model_dir(detector.model.as_deref()), &Device::Cpu)
            .map_err(|e| e.to_string())?;
        let inversion_steps = detector
            .inversion_steps
            .unwrap_or_else(|| model.config.default_inversion_steps());
        let identity = load_identity(None)?;
        let ring = KeyRing::single(WatermarkKey::new(identity.watermark_secret()));
        let dir = keep.map(Path::to_path_buf).unwrap_or_else(|| {
            std::env::temp_dir().join(format!("candor-bench-{name}-{}", std::process::id()))
        });
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let store = ManifestStore::open(&dir.join("store.db")).map_err(|e| e.to_string())?;
        Ok(Self {
            model,
            inversion_steps,
            identity,
            ring,
            dir,
            store,
        })
    }
}
