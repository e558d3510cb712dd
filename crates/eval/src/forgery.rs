//! `candor bench attacks`: what an attacker without the key can do with public clips of one
//! identity, end to end through pixels and `candor verify` (with the manifest store at hand):
//! - **transplant**: one clip's high-pass residual (the clip minus a Gaussian blur of it) added
//!   to other footage;
//! - **averaging forgery**: the mean residual of n clips (their pilots agree, their codewords
//!   cancel) added to other footage;
//! - **removal**: the mean residual of n other clips subtracted from a marked clip.
//!
//! Each is swept over strength; every row gives the PSNR of the attacked video against what it was
//! made from and the verdict's class. Hosts are footage Candor did not make: ffmpeg sources and,
//! when given, real videos and a slow pan over their first frame.

use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use candor_generate::{generate, world, GenerateOptions, PromptReader};
use candor_manifest::TrustAnchors;
use candor_verify::{
    store_payloads, FileReport, Status, Verifier, VerifierConfig, WatermarkOptions, WatermarkSetup,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{progress, BenchSetup, DetectorConfig, EvalError, Report, Result};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AttacksConfig {
    /// Marked clips the attacker holds (the averaging forgery uses up to all but one).
    pub clips: usize,
    /// Residual strengths tried (multiples of the residual as lifted).
    pub strengths: Vec<f64>,
    /// Real footage to use as hosts, besides the ffmpeg sources.
    pub footage: Vec<PathBuf>,
    pub detector: DetectorConfig,
}

/// What a verdict said about the attacked video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Stored credentials attached: the video is called this clip.
    Recovered,
    /// A Candor mark reported on the video (credentials not checkable).
    CandorMark,
    /// Reported as a copied mark or a forged pattern.
    Rejected,
    /// No mark found.
    NotFound,
}

fn outcome(r: &FileReport) -> Outcome {
    let Some(w) = &r.watermark else {
        return Outcome::NotFound;
    };
    if w.report.forgery.is_some() {
        Outcome::Rejected
    } else if w.recovered.as_ref().is_some_and(|m| m.accepted) {
        Outcome::Recovered
    } else if w.report.present {
        Outcome::CandorMark
    } else {
        Outcome::NotFound
    }
}

fn ffmpeg(args: &[&str]) -> Result<()> {
    crate::ffmpeg(args, "an attack step")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap_or_default()
}

/// PSNR (dB) of `a` against `b`, by ffmpeg's psnr filter.
fn psnr(a: &Path, b: &Path) -> Result<f64> {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-i", s(a), "-i", s(b)])
        .args([
            "-lavfi",
            "[0][1]scale2ref[x][y];[x][y]psnr",
            "-f",
            "null",
            "-",
        ])
        .output()
        .map_err(|source| EvalError::ToolMissing {
            tool: "ffmpeg",
            source,
        })?;
    let text = String::from_utf8_lossy(&out.stderr);
    text.split("average:")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|v| {
            if v == "inf" {
                Some(f64::INFINITY)
            } else {
                v.parse().ok()
            }
        })
        .ok_or_else(|| EvalError::Tool {
            tool: "ffmpeg",
            detail: format!("no PSNR for {}", a.display()),
        })
}

/// The residual of `clip` (clip − blur + 128), lossless.
fn residual(clip: &Path, out: &Path) -> Result<()> {
    ffmpeg(&[
        "-i",
        s(clip),
        "-filter_complex",
        "[0]format=yuv444p,split[a][b];[b]gblur=sigma=4[blur];[a][blur]blend=all_mode=grainextract",
        "-c:v",
        "libx264",
        "-qp",
        "0",
        "-pix_fmt",
        "yuv444p",
        s(out),
    ])
}

/// The mean of residual files.
fn mean(residuals: &[PathBuf], out: &Path) -> Result<()> {
    let mut args: Vec<String> = Vec::new();
    for r in residuals {
        args.extend(["-i".into(), s(r).to_string()]);
    }
    args.extend([
        "-filter_complex".into(),
        format!("mix=inputs={}:duration=shortest", residuals.len()),
        "-c:v".into(),
        "libx264".into(),
        "-qp".into(),
        "0".into(),
        "-pix_fmt".into(),
        "yuv444p".into(),
        s(out).to_string(),
    ]);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    ffmpeg(&refs)
}

/// `host` + `sign` × `strength` × (residual − 128), re-encoded at x264 CRF 18.
fn apply(host: &Path, residual: &Path, strength: f64, sign: f64, out: &Path) -> Result<()> {
    let k = sign * strength;
    let graph = format!(
        "[1]lutyuv=y=(val-128)*{k}+128:u=(val-128)*{k}+128:v=(val-128)*{k}+128[r];\
         [0]format=yuv444p[h];[r][h]scale2ref[r2][h2];[h2][r2]blend=all_mode=grainmerge:shortest=1,format=yuv420p"
    );
    ffmpeg(&[
        "-i",
        s(host),
        "-i",
        s(residual),
        "-filter_complex",
        &graph,
        "-c:v",
        "libx264",
        "-crf",
        "18",
        s(out),
    ])
}

pub fn run(args: &AttacksConfig) -> Result<Report> {
    if args.clips < 2 || args.strengths.is_empty() {
        return Err(EvalError::Config(
            "clips must be at least 2 and strengths not empty".into(),
        ));
    }
    let BenchSetup {
        model,
        inversion_steps,
        identity,
        ring,
        dir,
        store,
    } = BenchSetup::open(&args.detector, None, "attacks")?;
    // The attacker's clips, with content ids as Candor draws them (random; seeded here).
    let bar = progress(args.clips as u64, "clips the attacker holds");
    let mut clips = Vec::new();
    let mut residuals = Vec::new();
    let mut state = 0x5eed_0fa7_7acc_u64;
    for i in 0..args.clips {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let clip = dir.join(format!("clip-{i:02}.mp4"));
        let mut o = GenerateOptions::for_native_size(model.config.size);
        o.seed = 7000 + i as u64;
        o.content_id = Some(state >> 1);
        generate(
            &model,
            &PromptReader::keywords(world()),
            &identity,
            &store,
            &crate::robustness::prompt(i * 5 + 1),
            &clip,
            &o,
            |_, _| {},
        )?;
        let r = dir.join(format!("residual-{i:02}.mkv"));
        residual(&clip, &r)?;
        clips.push(clip);
        residuals.push(r);
        bar.inc(1);
    }
    bar.finish_and_clear();
    // Hosts the attacker wants called Candor's.
    let mut hosts = Vec::new();
    for (name, graph) in [
        ("mandelbrot", "mandelbrot=size=128x128:rate=8"),
        ("testsrc2", "testsrc2=size=128x128:rate=8"),
    ] {
        let h = dir.join(format!("host-{name}.mp4"));
        ffmpeg(&[
            "-f",
            "lavfi",
            "-i",
            graph,
            "-t",
            "2",
            "-pix_fmt",
            "yuv420p",
            s(&h),
        ])?;
        hosts.push((name.to_string(), h));
    }
    for (k, f) in args.footage.iter().enumerate() {
        let h = dir.join(format!("host-footage-{k}.mp4"));
        ffmpeg(&[
            "-i",
            s(f),
            "-t",
            "2",
            "-vf",
            "scale=128:128,fps=8",
            "-pix_fmt",
            "yuv420p",
            s(&h),
        ])?;
        hosts.push((format!("footage {}", f.display()), h.clone()));
        let pan = dir.join(format!("host-pan-{k}.mp4"));
        ffmpeg(&[
            "-i",
            s(f),
            "-vf",
            "select=eq(n\\,0),scale=512:-2,zoompan=z=1.4:x='iw/4+on*2':y='ih/4':d=16:s=128x128:fps=8",
            "-frames:v",
            "16",
            "-pix_fmt",
            "yuv420p",
            s(&pan),
        ])?;
        hosts.push((format!("pan over {}", f.display()), pan));
    }
    let options = WatermarkOptions {
        inversion_steps,
        candidate_payloads: store_payloads(&store)?,
        ..WatermarkOptions::for_model(&model.config)
    };
    let verifier = Verifier::new(VerifierConfig {
        anchors: TrustAnchors::none(),
        watermark: Some(WatermarkSetup {
            model,
            ring,
            sources: vec![std::sync::Arc::new(store)],
            options,
        }),
        watermark_note: None,
    });
    let mut rows = Vec::new();
    let mut attempt = |attack: &str,
                       n: usize,
                       host: &str,
                       strength: f64,
                       file: &Path,
                       reference: &Path|
     -> Result<()> {
        let report = verifier.verify(file);
        if report.status == Status::Error {
            return Err(EvalError::Measurement(report.verdict));
        }
        rows.push(json!({
            "attack": attack, "clips": n, "host": host, "strength": strength,
            "psnr_db": psnr(file, reference)?, "outcome": outcome(&report),
            "verdict": report.verdict,
        }));
        Ok(())
    };
    // Transplant: one clip's residual.
    for (name, host) in &hosts {
        for &a in &args.strengths {
            let out = dir.join("attacked.mp4");
            apply(host, &residuals[0], a, 1.0, &out)?;
            attempt("transplant", 1, name, a, &out, host)?;
        }
    }
    // Averaging forgery: the mean of n residuals.
    let mut n = 2;
    let mut sizes = Vec::new();
    while n < args.clips {
        sizes.push(n);
        n *= 2;
    }
    sizes.push(args.clips - 1);
    sizes.dedup();
    for &n in &sizes {
        let avg = dir.join(format!("mean-{n}.mkv"));
        mean(&residuals[..n], &avg)?;
        for (name, host) in &hosts {
            for &a in &args.strengths {
                let out = dir.join("attacked.mp4");
                apply(host, &avg, a, 1.0, &out)?;
                attempt("averaging forgery", n, name, a, &out, host)?;
            }
        }
        // Removal: the same estimate subtracted from a clip that was not among them.
        let target = &clips[args.clips - 1];
        for &a in &args.strengths {
            let out = dir.join("attacked.mp4");
            apply(target, &avg, a, -1.0, &out)?;
            attempt("removal", n, "held-out clip", a, &out, target)?;
        }
    }
    let _ = std::fs::remove_dir_all(&dir);

    let mut text = String::new();
    let _ = writeln!(
        text,
        "Attacks without the key: {} clips of one identity, the manifest store at hand",
        args.clips
    );
    let _ = writeln!(
        text,
        "  {:<18} {:>5} {:<26} {:>8} {:>8}  outcome",
        "attack", "clips", "host", "strength", "PSNR dB"
    );
    for r in &rows {
        let _ = writeln!(
            text,
            "  {:<18} {:>5} {:<26} {:>8} {:>8.1}  {}",
            r["attack"].as_str().unwrap_or(""),
            r["clips"],
            r["host"]
                .as_str()
                .unwrap_or("")
                .chars()
                .take(26)
                .collect::<String>(),
            r["strength"],
            r["psnr_db"].as_f64().unwrap_or(f64::NAN),
            r["outcome"].as_str().unwrap_or(""),
        );
    }
    // What counts as an attack's success: a forgery or transplant called Candor's, a removal
    // that hides the mark, each at the PSNR given.
    let success = |r: &serde_json::Value| match r["attack"].as_str() {
        Some("removal") => r["outcome"] == "not_found",
        _ => r["outcome"] == "recovered" || r["outcome"] == "candor_mark",
    };
    let successes: Vec<&serde_json::Value> = rows.iter().filter(|r| success(r)).collect();
    let _ = writeln!(
        text,
        "  {} of {} attacked videos fooled the verdict",
        successes.len(),
        rows.len()
    );
    let doc = json!({
        "benchmark": "attacks",
        "clips": args.clips,
        "strengths": args.strengths,
        "rows": rows,
        "fooled": successes.len(),
    });
    Ok(Report::new(doc, text))
}
