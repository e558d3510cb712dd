//! `candor bench verify`: the cost of verifying one default clip, split by stage (decode, latent
//! encode, DDIM inversion, detection, C2PA), next to plain `ffmpeg -f null` decode of the same
//! file measured in the same run.

use std::fmt::Write;
use std::path::Path;
use std::time::Instant;

use candor_diffusion::DiffusionModel;
use candor_generate::{generate, world, GenerateOptions, PromptReader};
use candor_manifest::TrustAnchors;
use candor_verify::{check_file, Status, Verifier, VerifierConfig, WatermarkOptions};
use candor_watermark::KeyRing;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{ffmpeg_null_seconds, median};
use crate::{BenchSetup, DetectorConfig};
use crate::{EvalError, Report, Result};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VerifyConfig {
    /// Repetitions (the median is reported).
    pub runs: usize,
    pub detector: DetectorConfig,
}

pub fn run(args: &VerifyConfig) -> Result<Report> {
    if args.runs == 0 {
        return Err(EvalError::Config("runs must be at least 1".into()));
    }
    let BenchSetup {
        model,
        inversion_steps,
        identity,
        ring,
        dir,
        store,
    } = BenchSetup::open(&args.detector, None, "verify")?;
    let clip = dir.join("clip.mp4");
    let options = GenerateOptions::for_native_size(model.config.size);
    let made = generate(
        &model,
        &PromptReader::keywords(world()),
        &identity,
        &store,
        "a red circle moving right over the sky",
        &clip,
        &options,
        |_, _| {},
    );
    let clean = dir.join("clean.mp4");
    let search = make_clean_clip(&clean)
        .and_then(|()| search_cost(args, inversion_steps, &model, &ring, &clean));
    let result = made
        .map_err(EvalError::from)
        .and_then(|_| measure(args, inversion_steps, &model, &ring, &clip));
    let _ = std::fs::remove_dir_all(&dir);
    let (mut stages, mut baseline) = result?;
    let (with_search, without_search) = search?;
    let names = [
        "c2pa",
        "decode",
        "encode",
        "inversion",
        "detection",
        "total",
    ];
    let medians: Vec<f64> = stages.iter_mut().map(|s| median(s)).collect();
    let baseline = median(&mut baseline);
    let doc = json!({
        "benchmark": "verify",
        "model": model.config.name,
        "clip": format!("{} frames, {}x{}, H.264 CRF {}", options.frames, options.size, options.size, options.crf),
        "runs": args.runs,
        "inversion_steps": inversion_steps,
        "seconds": names.iter().zip(&medians).map(|(n, v)| (n.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
        "ffmpeg_null_decode_seconds": baseline,
        "decode_vs_ffmpeg": medians[1] / baseline,
        "total_vs_ffmpeg": medians[5] / baseline,
        "clean_clip_seconds_with_geometry_search": with_search,
        "clean_clip_seconds_without_geometry_search": without_search,
    });
    let mut text = String::new();
    let _ = writeln!(
        text,
        "Verify one default clip ({}), median of {} runs, {} inversion steps:",
        doc["clip"].as_str().unwrap_or(""),
        args.runs,
        inversion_steps
    );
    for (n, v) in names.iter().zip(&medians) {
        let _ = writeln!(text, "  {n:<10} {:8.1} ms", v * 1e3);
    }
    let _ = writeln!(
        text,
        "  ffmpeg -f null decode of the same file: {:.1} ms",
        baseline * 1e3
    );
    let _ = writeln!(
        text,
        "  total / ffmpeg decode: {:.1}x",
        medians[5] / baseline
    );
    let _ =
        writeln!(text,
        "Unmarked clip (ffmpeg testsrc2, same size): watermark half {:.1} ms with the geometry \
         search, {:.1} ms without ({:.1}x)",
        with_search * 1e3,
        without_search * 1e3,
        with_search / without_search
    );
    Ok(Report::new(doc, text))
}

/// Per-stage times of each run ([c2pa, decode, encode, inversion, detection, total]) and the
/// ffmpeg baseline of each run.
fn measure(
    args: &VerifyConfig,
    inversion_steps: usize,
    model: &DiffusionModel,
    ring: &KeyRing,
    clip: &Path,
) -> Result<([Vec<f64>; 6], Vec<f64>)> {
    let options = WatermarkOptions {
        inversion_steps,
        ..WatermarkOptions::for_model(&model.config)
    };
    let credentials = Verifier::new(VerifierConfig::credentials_only(TrustAnchors::none()));
    let mut stages: [Vec<f64>; 6] = Default::default();
    let mut baseline = Vec::new();
    for _ in 0..args.runs {
        baseline.push(ffmpeg_null_seconds(clip, Some(1))?);
        let t = Instant::now();
        let report = credentials.verify(clip);
        if report.status == Status::Error {
            return Err(EvalError::Measurement(report.verdict));
        }
        let c2pa = t.elapsed().as_secs_f64();
        let w = check_file(clip, model, ring, &options)?;
        let total = t.elapsed().as_secs_f64();
        for (slot, v) in stages.iter_mut().zip([
            c2pa,
            w.times.decode,
            w.times.encode,
            w.times.inversion,
            w.times.detection,
            total,
        ]) {
            slot.push(v);
        }
    }
    Ok((stages, baseline))
}

/// An unmarked 16-frame 128×128 clip: the search only runs when nothing is found as is.
fn make_clean_clip(out: &Path) -> Result<()> {
    let mut args: Vec<&std::ffi::OsStr> = [
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=128x128:rate=8",
        "-frames:v",
        "16",
        "-c:v",
        "libx264",
        "-crf",
        "18",
    ]
    .map(std::ffi::OsStr::new)
    .to_vec();
    args.push(out.as_os_str());
    crate::ffmpeg(&args, "making the unmarked clip")
}

/// Median seconds of the watermark half on an unmarked clip, with and without the search.
fn search_cost(
    args: &VerifyConfig,
    inversion_steps: usize,
    model: &DiffusionModel,
    ring: &KeyRing,
    clip: &Path,
) -> Result<(f64, f64)> {
    let mut times = [Vec::new(), Vec::new()];
    for _ in 0..args.runs {
        for (slot, search) in times.iter_mut().zip([true, false]) {
            let options = WatermarkOptions {
                inversion_steps,
                geometry_search: search,
                ..WatermarkOptions::for_model(&model.config)
            };
            let t = Instant::now();
            check_file(clip, model, ring, &options)?;
            slot.push(t.elapsed().as_secs_f64());
        }
    }
    let [mut with, mut without] = times;
    Ok((median(&mut with), median(&mut without)))
}
