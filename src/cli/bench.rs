//! `candor bench`: measurements that print ratios and rates, never pass/fail timings.

mod fpr;
mod generate;
mod manifest;
mod robustness;
mod verify;
mod watermark;

use clap::Subcommand;

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
