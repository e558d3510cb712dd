//! `candor bench long`: long clips and storyboards, from outside. Every clip is made by
//! `candor generate --duration` (or `candor storyboard`) in its own process under
//! `/usr/bin/time -v`, and judged by plain image analysis of the decoded MP4 and by
//! `candor verify --json` of re-encoded excerpts:
//!
//! - **time and memory against duration**: generation seconds per second of video and peak
//!   memory at each duration (2 s is the one-chunk baseline measured in the same run);
//! - **identity over the clip**: the share of frames of the longest clip where the object shows
//!   in the prompt's colour;
//! - **seams**: the object's largest jump across a chunk boundary against its typical per-frame
//!   motion away from boundaries;
//! - **excerpts**: 2 s cut from across the longest clip at frame offsets that are not whole
//!   seconds, re-encoded without metadata (and one converted to 25 fps): found, content id
//!   exact, placed within ±1 frame;
//! - **storyboard**: three shots, each judged for its colour and motion, and `verify` listing
//!   three shots with spans within ±1 frame and each shot's prompt.

use std::ffi::OsString;
use std::fmt::Write;
use std::path::{Path, PathBuf};

use candor_diffusion::data::Motion;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::generate::{
    analyse_clip, foreground, largest_blob, native_frames, nearest_colour, rgb_at, IntendedObject,
};
use crate::scan::candor_process;
use crate::{ffmpeg, median, BenchSetup, DetectorConfig, EvalError, Report, Result};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LongConfig {
    /// Clip lengths in seconds, ascending; the first is the baseline (one chunk at 2 s).
    pub durations: Vec<f64>,
    pub fps: u32,
    /// Excerpts cut from the longest clip.
    pub excerpts: usize,
    pub detector: DetectorConfig,
    /// Keep the clips here.
    pub keep: Option<PathBuf>,
}

/// The long clip's prompt and what it asks for.
const PROMPT: &str = "a red circle moving left over the grass";
const COLOUR: &str = "red";

/// The storyboard: prompt, seconds, colour and motion of each shot.
const SHOTS: [(&str, f64, &str, Motion); 3] = [
    (
        "a red circle drifting left over the grass",
        2.0,
        "red",
        Motion::Left,
    ),
    (
        "a blue star rising into the night sky",
        3.0,
        "blue",
        Motion::Up,
    ),
    (
        "a yellow square growing on the beach",
        2.0,
        "yellow",
        Motion::Growing,
    ),
];

/// Excerpt length, seconds.
const EXCERPT_SECONDS: f64 = 2.0;

fn os(s: impl Into<OsString>) -> OsString {
    s.into()
}

/// Per frame, the centroid of the largest blob of `colour` in the foreground (at least 4 pixels).
fn colour_track(frames: &[Vec<u8>], size: usize, colour: &str) -> Vec<Option<(f32, f32)>> {
    frames
        .iter()
        .map(|frame| {
            let mask = foreground(frame, size);
            let own: Vec<bool> = (0..size * size)
                .map(|p| mask[p] && nearest_colour(rgb_at(frame, p)) == colour)
                .collect();
            let blob = largest_blob(&own, size);
            (blob.len() >= 4).then(|| {
                let k = blob.len() as f32;
                (
                    blob.iter().map(|p| (p % size) as f32).sum::<f32>() / k,
                    blob.iter().map(|p| (p / size) as f32).sum::<f32>() / k,
                )
            })
        })
        .collect()
}

pub fn run(cfg: &LongConfig) -> Result<Report> {
    if cfg.durations.is_empty()
        || cfg.durations.iter().any(|d| !(d.is_finite() && *d >= 1.0))
        || cfg.durations.windows(2).any(|w| w[1] < w[0])
    {
        return Err(EvalError::Config(
            "durations must be given, ascending, each at least 1 s".into(),
        ));
    }
    let longest = cfg.durations[cfg.durations.len() - 1];
    if (longest * f64::from(cfg.fps)).round() as usize > candor_generate::MAX_FRAMES {
        return Err(EvalError::Config(format!(
            "{longest} s at {} fps is more than {} frames",
            cfg.fps,
            candor_generate::MAX_FRAMES
        )));
    }
    let setup = BenchSetup::open(&cfg.detector, cfg.keep.as_deref(), "long")?;
    let dir = setup.dir.clone();
    let result = measure(cfg, &setup, &dir);
    if cfg.keep.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    result
}

fn measure(cfg: &LongConfig, setup: &BenchSetup, dir: &Path) -> Result<Report> {
    let store = dir.join("store.db");
    let common = |out: &Path| -> Vec<OsString> {
        vec![
            os("--fps"),
            os(cfg.fps.to_string()),
            os("--model"),
            os(&cfg.detector.model),
            os("--identity"),
            os(&cfg.detector.identity),
            os("--store"),
            os(&store),
            os("-o"),
            os(out),
            os("--force"),
            os("--json"),
        ]
    };
    let size = setup.model.config.size;
    let mut text = String::new();
    let _ = writeln!(
        text,
        "Long clips (\"{PROMPT}\"), each made by `candor generate --duration` in its own process:"
    );
    let _ = writeln!(
        text,
        "  {:>9} {:>7} {:>10} {:>12} {:>10} {:>10}",
        "duration", "frames", "made in s", "s per s", "vs first", "peak MiB"
    );
    let mut rows = Vec::new();
    let mut baseline: Option<(f64, f64)> = None;
    let mut longest_clip = None;
    for &d in &cfg.durations {
        let out = dir.join(format!("long-{d}s.mp4"));
        // A fixed content id per duration: the suite gives the same clips every run.
        let id = format!("{:016x}", 0x10c0_0000_0000_0000u64 + (d * 1000.0) as u64);
        let mut args = vec![
            os("generate"),
            os(PROMPT),
            os("--duration"),
            os(format!("{d}s")),
            os("--content-id"),
            os(id),
        ];
        args.extend(common(&out));
        let m = candor_process(&args)?;
        let total = m.report["timings"]["total"].as_f64().unwrap_or(f64::NAN);
        let frames = m.report["frames"].as_u64().unwrap_or(0) as usize;
        let seconds = frames as f64 / f64::from(cfg.fps);
        let per_second = total / seconds;
        let (base_rate, base_rss) = *baseline.get_or_insert((per_second, m.peak_rss_mib));
        let _ = writeln!(
            text,
            "  {:>8.1}s {:>7} {:>10.1} {:>12.2} {:>9.2}× {:>10.0} ({:+.1} %)",
            d,
            frames,
            total,
            per_second,
            per_second / base_rate,
            m.peak_rss_mib,
            100.0 * (m.peak_rss_mib / base_rss - 1.0)
        );
        rows.push(json!({
            "duration_s": d, "frames": frames, "generation_s": total, "wall_s": m.wall_s,
            "seconds_per_second": per_second, "ratio_to_first": per_second / base_rate,
            "peak_rss_mib": m.peak_rss_mib,
            "content_id": m.report["content_id"],
        }));
        longest_clip = Some((
            out,
            frames,
            m.report["content_id"].as_str().unwrap_or("").to_string(),
        ));
    }
    let (clip, frames_total, content_id) =
        longest_clip.ok_or_else(|| EvalError::Measurement("no clip was made".into()))?;

    // Identity and seams over the longest clip.
    let frames = native_frames(&clip, size)?;
    let track = colour_track(&frames, size, COLOUR);
    let kept = track.iter().filter(|c| c.is_some()).count() as f64 / frames.len().max(1) as f64;
    let chunk_len = setup.model.config.frames;
    let boundaries: Vec<usize> =
        candor_generate::chunks(frames.len(), chunk_len, candor_generate::CHUNK_OVERLAP)
            .iter()
            .skip(1)
            .map(|c| c.start + c.known)
            .collect();
    let step = |f: usize| -> Option<f64> {
        let (a, b) = (
            track.get(f - 1).copied().flatten()?,
            track.get(f).copied().flatten()?,
        );
        Some(f64::from(
            ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt(),
        ))
    };
    let mut inner: Vec<f64> = (1..frames.len())
        .filter(|f| !boundaries.contains(f))
        .filter_map(step)
        .collect();
    let typical = median(&mut inner);
    let at_seams: Vec<f64> = boundaries.iter().filter_map(|&f| step(f)).collect();
    let worst_seam = at_seams.iter().copied().fold(0.0, f64::max);
    let worst_inner = inner.iter().copied().fold(0.0, f64::max);
    let inner_p95 = {
        let mut v = inner.clone();
        v.sort_by(f64::total_cmp);
        v.get(v.len() * 95 / 100).copied().unwrap_or(f64::NAN)
    };
    let seam_median = median(&mut at_seams.clone());
    let _ = writeln!(
        text,
        "\nThe {longest:.0} s clip ({} frames): the object shows in {COLOUR} in {:.1} % of frames; typical motion {typical:.2} px/frame (native {size} px); at the {} chunk seams: median {seam_median:.2} px, largest {worst_seam:.2} px = {:.2}× typical; elsewhere: 95th percentile {inner_p95:.2} px, largest {worst_inner:.2} px = {:.2}×",
        frames.len(),
        100.0 * kept,
        at_seams.len(),
        worst_seam / typical.max(1e-6),
        worst_inner / typical.max(1e-6),
        longest = frames_total as f64 / f64::from(cfg.fps),
    );

    // Excerpts: placed within ±1 frame, content id exact.
    let fps = f64::from(cfg.fps);
    let ex_frames = (EXCERPT_SECONDS * fps).round() as usize;
    let last_start = frames_total.saturating_sub(ex_frames);
    let n = cfg.excerpts.max(1);
    let mut excerpt_rows = Vec::new();
    let mut placed_right = 0usize;
    let mut called_tampered = 0usize;
    let _ = writeln!(text, "\nExcerpts of {EXCERPT_SECONDS:.0} s, re-encoded (x264 CRF 23), metadata stripped, verified:");
    for i in 0..=n {
        // Offsets spread over the clip, not on whole seconds; the last one converted to 25 fps.
        let start = if i == n {
            last_start / 3 + 1
        } else {
            (last_start * i / n.max(1) + i % 3).min(last_start)
        };
        let convert = i == n;
        let out = dir.join(format!("excerpt-{i}.mp4"));
        let mut args: Vec<String> = vec![
            "-i".into(),
            clip.display().to_string(),
            "-vf".into(),
            format!(
                "trim=start_frame={start}:end_frame={},setpts=PTS-STARTPTS{}",
                start + ex_frames,
                if convert { ",fps=25" } else { "" }
            ),
            "-map_metadata".into(),
            "-1".into(),
            "-c:v".into(),
            "libx264".into(),
            "-crf".into(),
            "23".into(),
        ];
        args.push(out.display().to_string());
        ffmpeg(&args, "cutting an excerpt")?;
        let m = candor_process(&[
            os("verify"),
            os(&out),
            os("--store"),
            os(&store),
            os("--json"),
        ])?;
        let wm = &m.report["watermark"];
        let found = wm["present"].as_bool().unwrap_or(false);
        let id_exact = wm["content_id"].as_str() == Some(content_id.as_str());
        let first = wm["placement"]["first_frame"].as_u64().map(|v| v as usize);
        let off = first.map(|f| f as i64 - start as i64);
        let right = found && id_exact && off.is_some_and(|o| o.abs() <= 1);
        placed_right += usize::from(right);
        let accused = m.report["verdict"]
            .as_str()
            .is_some_and(|v| v.contains("Tampered"));
        called_tampered += usize::from(accused);
        let _ = writeln!(
            text,
            "  frames {start:>3}–{:<3}{} found {:<5} id exact {:<5} placed at {:<4} ({})",
            start + ex_frames - 1,
            if convert { " at 25 fps" } else { "          " },
            found,
            id_exact,
            first.map_or("-".into(), |f| f.to_string()),
            off.map_or("not placed".into(), |o| format!("{o:+} frames")),
        );
        excerpt_rows.push(json!({
            "start_frame": start, "frames": ex_frames, "converted_to_25fps": convert,
            "found": found, "content_id_exact": id_exact, "placed_first_frame": first,
            "offset_frames": off, "right": right, "verdict": m.report["verdict"],
        }));
    }
    let _ = writeln!(
        text,
        "  placed within ±1 frame with the exact content id: {placed_right} of {}; called tampered (none is): {called_tampered}",
        n + 1
    );

    // Storyboard.
    let board = dir.join("shots.yaml");
    let mut yaml = String::from("shots:\n");
    for (prompt, seconds, _, _) in SHOTS {
        let _ = writeln!(yaml, "  - prompt: \"{prompt}\"\n    duration: {seconds}s");
    }
    std::fs::write(&board, yaml).map_err(|source| EvalError::Io {
        path: board.clone(),
        source,
    })?;
    let film = dir.join("film.mp4");
    let mut args = vec![
        os("storyboard"),
        os(&board),
        os("--content-id"),
        os("10c0000000f11a00"),
    ];
    args.extend(common(&film));
    candor_process(&args)?;
    let film_frames = native_frames(&film, size)?;
    let m = candor_process(&[
        os("verify"),
        os(&film),
        os("--store"),
        os(&store),
        os("--json"),
    ])?;
    let listed = m.report["watermark"]["placement"]["shots"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let _ = writeln!(
        text,
        "\nStoryboard of {} shots ({} frames); verify lists {}:",
        SHOTS.len(),
        film_frames.len(),
        listed.len()
    );
    let mut first = 0usize;
    let mut shot_rows = Vec::new();
    let (mut attributes_right, mut spans_right) = (0usize, 0usize);
    for (i, (prompt, seconds, colour, motion)) in SHOTS.iter().enumerate() {
        let n = (seconds * fps).round() as usize;
        let span = film_frames
            .get(first..(first + n).min(film_frames.len()))
            .unwrap_or(&[]);
        let a = analyse_clip(
            span,
            size,
            &[IntendedObject {
                colour: Some(colour.to_string()),
                shape: None,
                motion: Some(*motion),
            }],
            &candor_generate::drawable_colours(&setup.model.config),
        );
        let visible = a.visible.first().copied().flatten().unwrap_or(0.0);
        let moved = a.motion_right.first().copied().flatten().unwrap_or(false);
        let attr = visible >= 0.5 && moved;
        attributes_right += usize::from(attr);
        let seen = listed
            .iter()
            .find(|s| s["number"].as_u64() == Some(i as u64 + 1));
        let (lo, hi) = (
            seen.and_then(|s| s["first_frame"].as_u64())
                .map(|v| v as i64),
            seen.and_then(|s| s["last_frame"].as_u64())
                .map(|v| v as i64),
        );
        let span_ok = lo.is_some_and(|l| (l - first as i64).abs() <= 1)
            && hi.is_some_and(|h| (h - (first + n - 1) as i64).abs() <= 1)
            && seen.and_then(|s| s["prompt"].as_str()) == Some(*prompt);
        spans_right += usize::from(span_ok);
        let _ = writeln!(
            text,
            "  {}. frames {first}–{}: {colour} seen in {:.0} % of frames, {} {}; listed {} ({})",
            i + 1,
            first + n - 1,
            100.0 * visible,
            motion.phrase(),
            if moved { "right" } else { "WRONG" },
            match (lo, hi) {
                (Some(l), Some(h)) => format!("frames {l}–{h}"),
                _ => "not listed".into(),
            },
            if span_ok {
                "span and prompt right"
            } else {
                "WRONG"
            },
        );
        shot_rows.push(json!({
            "prompt": prompt, "first_frame": first, "frames": n, "colour": colour,
            "visible": visible, "motion": motion.phrase(), "motion_right": moved,
            "listed_first_frame": lo, "listed_last_frame": hi, "span_and_prompt_right": span_ok,
        }));
        first += n;
    }
    let _ = writeln!(
        text,
        "  attributes right {attributes_right} of {}; spans within ±1 frame with the prompt {spans_right} of {}",
        SHOTS.len(),
        SHOTS.len()
    );

    // Edit locality: the first (shortest) clip, its top-left quarter redrawn over the middle
    // half of its frames as a blue star.
    let parent = dir.join(format!("long-{}s.mp4", cfg.durations[0]));
    let edited = dir.join("edited.mp4");
    let parent_full: Vec<candor_media::RgbFrame> =
        candor_media::FrameReader::open(&parent, candor_media::DecodeOptions::default())?
            .collect::<std::result::Result<_, _>>()?;
    let n_parent = parent_full.len();
    let side = parent_full.first().map_or(0, |f| f.width as usize);
    let half = side / 2;
    let (e0, e1) = (n_parent / 4, n_parent * 3 / 4);
    let mut args = vec![
        os("edit"),
        os(&parent),
        os("a blue star"),
        os("--content-id"),
        os("10c0000000ed1700"),
        os("--region"),
        os(format!("0,0,{half},{half}")),
        os("--from"),
        os(format!("{}", e0 as f64 / fps)),
        os("--to"),
        os(format!("{}", e1 as f64 / fps)),
    ];
    args.extend(common(&edited).into_iter().skip(2)); // no --fps
    let made = candor_process(&args)?;
    let edited_full: Vec<candor_media::RgbFrame> =
        candor_media::FrameReader::open(&edited, candor_media::DecodeOptions::default())?
            .collect::<std::result::Result<_, _>>()?;
    let (mut se, mut count, mut blue, mut inside_px) = (0f64, 0usize, 0usize, 0usize);
    for (f, (a, b)) in parent_full.iter().zip(&edited_full).enumerate() {
        for p in 0..side * side {
            let inside = p % side < half && p / side < half && (e0..e1).contains(&f);
            if inside {
                let c = rgb_at(&b.data, p);
                blue += usize::from(nearest_colour(c) == "blue");
                inside_px += 1;
            } else {
                for c in 0..3 {
                    se += (f64::from(a.data[p * 3 + c]) - f64::from(b.data[p * 3 + c])).powi(2);
                    count += 1;
                }
            }
        }
    }
    let psnr_outside = 10.0 * (255.0f64.powi(2) / (se / count.max(1) as f64).max(1e-9)).log10();
    let v = candor_process(&[
        os("verify"),
        os(&edited),
        os("--store"),
        os(&store),
        os("--json"),
    ])?;
    let declared = v.report["verdict"]
        .as_str()
        .unwrap_or("")
        .contains("Edited with Candor as declared");
    let boxed = dir.join("edited-boxed.mp4");
    ffmpeg(
        &[
            "-i".to_string(),
            edited.display().to_string(),
            "-vf".into(),
            format!(
                "drawbox=x={}:y={}:w={}:h={}:color=white:t=fill",
                half + half / 8,
                half + half / 8,
                half * 3 / 4,
                half * 3 / 4
            ),
            "-c:v".into(),
            "libx264".into(),
            "-crf".into(),
            "18".into(),
            boxed.display().to_string(),
        ],
        "changing another region",
    )?;
    let vb = candor_process(&[
        os("verify"),
        os(&boxed),
        os("--store"),
        os(&store),
        os("--json"),
    ])?;
    let tampered = vb.report["verdict"]
        .as_str()
        .unwrap_or("")
        .contains("Tampered");
    let _ = writeln!(
        text,
        "
Edit of the {:.0} s clip (top-left {half}×{half} px, frames {e0}–{}, \"a blue star\", {:.1} s): PSNR outside the region and span {psnr_outside:.1} dB; blue in {:.0} % of the region's pixels over the span; verify says edited as declared: {declared}; another region changed with ffmpeg: tampered {tampered}",
        cfg.durations[0],
        e1 - 1,
        made.report["seconds"].as_f64().unwrap_or(f64::NAN),
        100.0 * blue as f64 / inside_px.max(1) as f64,
    );
    let edit_doc = json!({
        "region": [0, 0, half, half], "first_frame": e0, "frames": e1 - e0,
        "psnr_outside_db": psnr_outside, "blue_share_inside": blue as f64 / inside_px.max(1) as f64,
        "verified_as_declared": declared, "other_region_changed_is_tampered": tampered,
        "verdict": v.report["verdict"], "verdict_other_region": vb.report["verdict"],
    });

    let doc = json!({
        "edit": edit_doc,
        "prompt": PROMPT,
        "durations": rows,
        "longest": {
            "frames": frames.len(), "colour_kept": kept, "typical_motion_px": typical,
            "seams": at_seams.len(), "worst_seam_px": worst_seam,
            "worst_seam_ratio": worst_seam / typical.max(1e-6),
            "worst_elsewhere_px": worst_inner, "seam_median_px": seam_median,
            "elsewhere_p95_px": inner_p95, "seam_jumps_px": at_seams,
        },
        "excerpts": excerpt_rows,
        "excerpts_placed_right": placed_right,
        "excerpts_called_tampered": called_tampered,
        "storyboard": { "shots": shot_rows, "listed": listed.len(),
            "attributes_right": attributes_right, "spans_right": spans_right },
        "command": format!("candor bench long --durations {}", cfg.durations.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(",")),
    });
    Ok(Report::new(doc, text))
}
