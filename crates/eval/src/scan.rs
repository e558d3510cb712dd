//! `candor bench scan`: whole-file verification of long footage. For each duration, a clean
//! 1080p H.264 file and the same file with a 2 s Candor clip inserted at 40 s (upscaled and
//! converted to the footage's frame rate, as an editor would): `candor verify` run as its own
//! process under `/usr/bin/time -v` (wall time and peak memory), next to `ffmpeg -i FILE -f null -`
//! of the same file in the same run, with the segment found and the false detections.
//!
//! The footage is made with ffmpeg (`testsrc2` with light temporal noise, x264 veryfast CRF 23,
//! about 5 Mbit/s) in pieces of identical encoder settings and joined without re-encoding, so a
//! 180 s file costs one 180 s encode. `--keep DIR` keeps (and reuses) it.

use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use candor_generate::{generate, world, GenerateOptions, PromptReader};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{ffmpeg, ffmpeg_null_seconds, BenchSetup, DetectorConfig, EvalError, Report, Result};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScanConfig {
    /// Durations of the footage, seconds (each at least 44).
    pub durations: Vec<u32>,
    /// Picture size and rate of the footage.
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub detector: DetectorConfig,
    /// Keep the footage here and reuse it on the next run.
    pub keep: Option<PathBuf>,
}

/// Where the Candor clip goes, seconds.
const INSERT_AT: u32 = 40;
const INSERT_SECONDS: u32 = 2;

/// One `candor verify` run as measured from outside.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Measured {
    pub wall_s: f64,
    pub peak_rss_mib: f64,
    pub report: serde_json::Value,
}

fn encode_args(cfg: &ScanConfig) -> Vec<String> {
    [
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p", "-g",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([(2 * cfg.fps).to_string(), "-r".into(), cfg.fps.to_string()])
    .collect()
}

/// `seconds` of footage starting at `offset` seconds of the test source.
fn footage(cfg: &ScanConfig, offset: u32, seconds: u32, out: &Path) -> Result<()> {
    if out.is_file() {
        return Ok(());
    }
    let source = format!(
        "testsrc2=size={}x{}:rate={},noise=alls=3:allf=t,trim=start={offset},setpts=PTS-STARTPTS",
        cfg.width, cfg.height, cfg.fps
    );
    let mut args: Vec<String> = vec!["-f".into(), "lavfi".into(), "-i".into(), source];
    args.extend(["-t".into(), seconds.to_string()]);
    args.extend(encode_args(cfg));
    args.push(out.display().to_string());
    ffmpeg(&args, "making footage")
}

/// The Candor clip as an editor puts it into the footage: upscaled, at the footage's rate.
fn insert(cfg: &ScanConfig, clip: &Path, out: &Path) -> Result<()> {
    let mut args: Vec<String> = vec!["-i".into(), clip.display().to_string()];
    args.extend([
        "-vf".into(),
        format!(
            "scale={}:{},fps={},setsar=1",
            cfg.width, cfg.height, cfg.fps
        ),
    ]);
    args.extend(encode_args(cfg));
    args.push(out.display().to_string());
    ffmpeg(&args, "upscaling the clip")
}

/// Joins pieces of identical encoding without re-encoding (the concat demuxer).
fn join(pieces: &[&Path], list: &Path, out: &Path) -> Result<()> {
    let body: String = pieces
        .iter()
        .map(|p| format!("file '{}'\n", p.display()))
        .collect();
    std::fs::write(list, body).map_err(|source| EvalError::Io {
        path: list.to_path_buf(),
        source,
    })?;
    let args: Vec<String> = vec![
        "-f".into(),
        "concat".into(),
        "-safe".into(),
        "0".into(),
        "-i".into(),
        list.display().to_string(),
        "-c".into(),
        "copy".into(),
        out.display().to_string(),
    ];
    ffmpeg(&args, "joining footage")
}

/// `candor verify FILE --json` in its own process under `/usr/bin/time -v`.
fn verify_process(path: &Path, store: &Path) -> Result<Measured> {
    let args: Vec<std::ffi::OsString> = vec![
        "verify".into(),
        path.into(),
        "--store".into(),
        store.into(),
        "--json".into(),
    ];
    candor_process(&args)
}

/// This binary run with `args` as its own process under `/usr/bin/time -v`: wall time, peak
/// memory and the first JSON object it prints.
pub(crate) fn candor_process(args: &[std::ffi::OsString]) -> Result<Measured> {
    let exe = std::env::current_exe().map_err(|source| EvalError::Io {
        path: PathBuf::from("candor"),
        source,
    })?;
    let t = Instant::now();
    let out = Command::new("/usr/bin/time")
        .arg("-v")
        .arg(&exe)
        .args(args)
        .output()
        .map_err(|source| EvalError::ToolMissing {
            tool: "/usr/bin/time (Debian package `time`)",
            source,
        })?;
    let wall_s = t.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let peak_kib: f64 = stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix("Maximum resident set size (kbytes):"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| {
            EvalError::Measurement(format!("no peak memory from /usr/bin/time: {stderr}"))
        })?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    // One pretty-printed object (generate), or one object per line (verify).
    let report: serde_json::Value = match serde_json::from_str(stdout.trim()) {
        Ok(v) => v,
        Err(_) => stdout
            .lines()
            .find(|l| l.starts_with('{'))
            .map(serde_json::from_str)
            .transpose()?
            .ok_or_else(|| EvalError::Measurement(format!("candor printed no JSON: {stderr}")))?,
    };
    Ok(Measured {
        wall_s,
        peak_rss_mib: peak_kib / 1024.0,
        report,
    })
}

pub fn run(cfg: &ScanConfig) -> Result<Report> {
    if cfg.durations.is_empty()
        || cfg
            .durations
            .iter()
            .any(|&d| d < INSERT_AT + INSERT_SECONDS + 2)
    {
        return Err(EvalError::Config(format!(
            "durations must be given and each at least {} s",
            INSERT_AT + INSERT_SECONDS + 2
        )));
    }
    let setup = BenchSetup::open(&cfg.detector, cfg.keep.as_deref(), "scan")?;
    let dir = setup.dir.clone();
    let result = measure(cfg, &setup, &dir);
    if cfg.keep.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    result
}

fn measure(cfg: &ScanConfig, setup: &BenchSetup, dir: &Path) -> Result<Report> {
    let clip = dir.join("clip.mp4");
    let made = generate(
        &setup.model,
        &PromptReader::keywords(world()),
        &setup.identity,
        &setup.store,
        "a yellow star moving right over the night",
        &clip,
        &GenerateOptions {
            seed: 11,
            content_id: Some(0x5ca7_0000_0000_0011),
            ..GenerateOptions::for_native_size(setup.model.config.size)
        },
        |_, _| {},
    )?;
    let content_id = made.content_id;
    let store = dir.join("store.db");
    let up = dir.join("insert.mp4");
    insert(cfg, &clip, &up)?;
    let head = dir.join(format!("head-{INSERT_AT}.mp4"));
    footage(cfg, 0, INSERT_AT, &head)?;
    let filler = dir.join("filler.mp4");
    footage(cfg, INSERT_AT, INSERT_SECONDS, &filler)?;
    let mut rows = Vec::new();
    let mut text = String::new();
    let _ = writeln!(
        text,
        "Whole-file verify, {}x{} {} fps H.264 footage (testsrc2 + noise), a {INSERT_SECONDS} s Candor clip inserted at {INSERT_AT} s\n\
         {:>6} {:>8} {:>9} {:>9} {:>7} {:>9} {:>8} {:>10} {:>22}",
        cfg.width, cfg.height, cfg.fps,
        "secs", "file", "ffmpeg s", "verify s", "ratio", "peak MiB", "windows", "false det", "segment found"
    );
    let mut passed = true;
    for &duration in &cfg.durations {
        let rest = duration - INSERT_AT - INSERT_SECONDS;
        let tail = dir.join(format!("tail-{rest}.mp4"));
        footage(cfg, INSERT_AT + INSERT_SECONDS, rest, &tail)?;
        let clean = dir.join(format!("clean-{duration}.mp4"));
        let marked = dir.join(format!("marked-{duration}.mp4"));
        if !clean.is_file() {
            join(&[&head, &filler, &tail], &dir.join("clean.txt"), &clean)?;
        }
        if !marked.is_file() {
            join(&[&head, &up, &tail], &dir.join("marked.txt"), &marked)?;
        }
        for (kind, file) in [("clean", &clean), ("marked", &marked)] {
            let baseline = ffmpeg_null_seconds(file, None)?;
            let m = verify_process(file, &store)?;
            let wm = &m.report["watermark"];
            let segments = wm["segments"].as_array().cloned().unwrap_or_default();
            let windows = wm["scan"]["windows"].as_u64().unwrap_or(0);
            let false_detections = match kind {
                "clean" => segments.len(),
                _ => segments
                    .iter()
                    .filter(|s| s["content_id"].as_str() != Some(content_id.as_str()))
                    .count(),
            };
            let found = segments
                .iter()
                .find(|s| s["content_id"].as_str() == Some(content_id.as_str()));
            let (start, end) = found
                .map(|s| (s["start_s"].as_f64(), s["end_s"].as_f64()))
                .unwrap_or((None, None));
            let located = match (start, end) {
                (Some(a), Some(b)) => {
                    (a - f64::from(INSERT_AT)).abs() <= 0.5
                        && (b - f64::from(INSERT_AT + INSERT_SECONDS)).abs() <= 0.5
                }
                _ => false,
            };
            if false_detections > 0 || (kind == "marked" && !located) {
                passed = false;
            }
            let ratio = m.wall_s / baseline;
            let _ = writeln!(
                text,
                "{:>6} {:>8} {:>9.2} {:>9.2} {:>6.2}x {:>9.0} {:>8} {:>10} {:>22}",
                duration,
                kind,
                baseline,
                m.wall_s,
                ratio,
                m.peak_rss_mib,
                windows,
                false_detections,
                match (kind, start, end) {
                    ("clean", ..) => "-".to_string(),
                    (_, Some(a), Some(b)) => format!("{a:.2}-{b:.2} s"),
                    _ => "NOT FOUND".to_string(),
                }
            );
            rows.push(json!({
                "duration_s": duration,
                "file": kind,
                "bytes": std::fs::metadata(file).map(|m| m.len()).unwrap_or(0),
                "ffmpeg_null_s": baseline,
                "verify_s": m.wall_s,
                "ratio": ratio,
                "peak_rss_mib": m.peak_rss_mib,
                "windows": windows,
                "tests": wm["scan"]["tests"],
                "false_detections": false_detections,
                "segment": found,
                "located_within_0_5_s": located,
                "verdict": m.report["verdict"],
            }));
        }
    }
    let _ = writeln!(
        text,
        "ratio = candor verify wall time / ffmpeg -i FILE -f null - (same file, same run); peak = /usr/bin/time -v\n\
         false det = segments on clean footage, or of another clip; the clip must be placed within 0.5 s"
    );
    let doc = json!({
        "suite": "scan",
        "footage": format!("testsrc2+noise {}x{} {} fps, x264 veryfast crf 23", cfg.width, cfg.height, cfg.fps),
        "insert_at_s": INSERT_AT,
        "insert_seconds": INSERT_SECONDS,
        "content_id": content_id,
        "rows": rows,
    });
    Ok(Report { doc, text, passed })
}
