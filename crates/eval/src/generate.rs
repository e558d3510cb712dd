//! `candor bench generate`: prompts a person would type (a committed set written blind, with
//! each prompt's intended objects), read by the prompt reader, generated, and judged by plain
//! image analysis of the decoded MP4 — colour, motion, objectness, two- and three-object
//! prompts, refusal of what cannot be drawn —, the watermark round trip, and the time per clip
//! against a reference configuration measured in the same run.

use std::collections::HashMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use candor_diffusion::data::{Motion, COLOURS, COLOURS_BEFORE_V4};
use candor_diffusion::DiffusionModel;
use candor_generate::{generate, world_of, GenerateError, GenerateOptions, PromptReader, Reading};
use candor_manifest::{read_manifest, TrustAnchors};
use candor_media::{DecodeOptions, FrameReader};
use candor_verify::{check_file, WatermarkOptions};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{peak_rss_mib, progress};
use crate::{BenchSetup, DetectorConfig};
use crate::{EvalError, Report, Result};

/// The committed prompt set.
pub const DEFAULT_PROMPTS: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/data/freeform-prompts.json");

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GenerateConfig {
    /// Prompt set (JSON: `drawable` prompts with intended objects, `undrawable` ones).
    pub prompts: PathBuf,
    /// Generate only the first N drawable prompts (all are read; all undrawable ones are read).
    pub limit: Option<usize>,
    /// Sampling steps per clip.
    pub steps: usize,
    pub sampler: candor_diffusion::Sampler,
    /// Classifier-free guidance scale.
    pub guidance: f64,
    pub detector: DetectorConfig,
    /// The configuration the time per clip is compared with, on the same prompts in the same run.
    pub reference: Option<ReferenceConfig>,
    /// Keep the clips in this directory (default: a temporary one, removed).
    pub keep: Option<PathBuf>,
}

/// A reference generation configuration (the previous default: candor-shapes-v2, DDIM, 25 steps).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReferenceConfig {
    pub model: PathBuf,
    pub sampler: candor_diffusion::Sampler,
    pub steps: usize,
    /// Prompts timed in both configurations, interleaved.
    pub clips: usize,
}

/// One object a prompt asks for (`null`: the prompt does not say).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntendedObject {
    pub colour: Option<String>,
    pub shape: Option<String>,
    pub motion: Option<Motion>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DrawablePrompt {
    pub prompt: String,
    pub objects: Vec<IntendedObject>,
    pub background: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UndrawablePrompt {
    pub prompt: String,
    pub why: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PromptSet {
    pub drawable: Vec<DrawablePrompt>,
    pub undrawable: Vec<UndrawablePrompt>,
}

impl PromptSet {
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| EvalError::Config(format!("{}: {e}", path.display())))?;
        serde_json::from_str(&text)
            .map_err(|e| EvalError::Config(format!("{}: not a prompt set: {e}", path.display())))
    }
}

/// What the analysis of one decoded clip found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ClipAnalysis {
    /// Share of frames with a compact object (not noise, not nothing).
    pub objectness: f32,
    /// Nearest palette colour of the largest object over the clip.
    pub dominant_colour: Option<&'static str>,
    /// Per intended object: share of frames where pixels of its colour form a visible object
    /// (`None` when the prompt gives no colour).
    pub visible: Vec<Option<f32>>,
    /// Per intended object: whether it moved as asked (`None` when no motion was asked).
    pub motion_right: Vec<Option<bool>>,
}

const FOREGROUND: f32 = 90.0;

/// Foreground of a frame: pixels far from their row's median colour (the backgrounds are
/// vertical gradients; objects cover well under half a row), so objects that stay in place
/// (growing, shrinking) are found as well as moving ones.
pub(crate) fn foreground(frame: &[u8], size: usize) -> Vec<bool> {
    let mut mask = vec![false; size * size];
    for y in 0..size {
        let mut median = [0f32; 3];
        for (c, m) in median.iter_mut().enumerate() {
            let mut v: Vec<u8> = (0..size).map(|x| frame[(y * size + x) * 3 + c]).collect();
            v.sort_unstable();
            *m = f32::from(v[size / 2]);
        }
        for x in 0..size {
            let p = y * size + x;
            let d: f32 = (0..3)
                .map(|c| (f32::from(frame[p * 3 + c]) - median[c]).abs())
                .sum();
            mask[p] = d > FOREGROUND;
        }
    }
    mask
}

pub(crate) fn rgb_at(frame: &[u8], p: usize) -> [f32; 3] {
    [0, 1, 2].map(|c| f32::from(frame[p * 3 + c]) / 255.0)
}

/// Judges one clip (frames at native size) against the objects its prompt asked for.
/// Pixels are named by the nearest colour of `palette`: the colours the judged model draws (a
/// model that draws grey is judged with grey among them, which names the mixed and faded pixels
/// of other colours grey: a harsher judge than for a model without it).
pub fn analyse_clip(
    frames: &[Vec<u8>],
    size: usize,
    intended: &[IntendedObject],
    palette: &[&'static str],
) -> ClipAnalysis {
    let n = frames.len().max(1) as f32;
    let mut with_object = 0usize;
    // Votes of the largest blob's pixels for their nearest palette colour, over the clip: a
    // mean colour would mix an object's edge with the background (pink on grass averages to
    // grey), a vote keeps the object's own colour.
    let mut votes: HashMap<&'static str, usize> = HashMap::new();
    let mut largest_track: Track = Vec::new();
    let mut largest_area: Vec<Option<f32>> = Vec::new();
    // Per object: per-frame (centroid, area) of the pixels of its colour.
    let mut tracks: Vec<Vec<Option<(f32, f32, f32)>>> = vec![Vec::new(); intended.len()];
    for frame in frames {
        let mask = foreground(frame, size);
        let blob = largest_blob(&mask, size);
        // An object: a blob of at least 6 pixels, at most 40 % of the frame, filling a third of
        // its box, in a frame that is mostly background (noise is foreground everywhere).
        let share = mask.iter().filter(|&&m| m).count() as f32 / (size * size) as f32;
        let compact =
            if blob.len() >= 6 && blob.len() as f32 <= 0.4 * (size * size) as f32 && share <= 0.5 {
                let xs = blob.iter().map(|p| p % size);
                let ys = blob.iter().map(|p| p / size);
                let (x0, x1) = (xs.clone().min().unwrap_or(0), xs.max().unwrap_or(0));
                let (y0, y1) = (ys.clone().min().unwrap_or(0), ys.max().unwrap_or(0));
                let bbox = ((x1 - x0 + 1) * (y1 - y0 + 1)) as f32;
                blob.len() as f32 / bbox >= 0.35
            } else {
                false
            };
        with_object += usize::from(compact);
        if blob.len() >= 6 {
            let (mut sx, mut sy) = (0f32, 0f32);
            for &p in &blob {
                *votes
                    .entry(nearest_colour_in(rgb_at(frame, p), palette))
                    .or_default() += 1;
                sx += (p % size) as f32;
                sy += (p / size) as f32;
            }
            let k = blob.len() as f32;
            largest_track.push(Some((sx / k, sy / k)));
            largest_area.push(Some(k));
        } else {
            largest_track.push(None);
            largest_area.push(None);
        }
        for (j, o) in intended.iter().enumerate() {
            let Some(colour) = o.colour.as_deref() else {
                tracks[j].push(None);
                continue;
            };
            let own: Vec<bool> = (0..size * size)
                .map(|p| mask[p] && nearest_colour_in(rgb_at(frame, p), palette) == colour)
                .collect();
            let blob = largest_blob(&own, size);
            if blob.len() >= 4 {
                let k = blob.len() as f32;
                let sx: f32 = blob.iter().map(|p| (p % size) as f32).sum();
                let sy: f32 = blob.iter().map(|p| (p / size) as f32).sum();
                tracks[j].push(Some((sx / k, sy / k, k)));
            } else {
                tracks[j].push(None);
            }
        }
    }
    // Ties go to the palette's order, so the verdict does not depend on the map's.
    let dominant_colour = COLOURS
        .iter()
        .map(|(c, _)| *c)
        .filter_map(|c| votes.get(c).map(|&n| (c, n)))
        .rev()
        .max_by_key(|&(_, n)| n)
        .map(|(c, _)| c);
    let visible = intended
        .iter()
        .zip(&tracks)
        .map(|(o, t)| {
            o.colour
                .as_ref()
                .map(|_| t.iter().filter(|c| c.is_some()).count() as f32 / n)
        })
        .collect();
    let motion_right = intended
        .iter()
        .zip(&tracks)
        .map(|(o, t)| {
            let motion = o.motion?;
            // The object's own pixels when its colour is known (several objects), else the
            // largest object.
            let (track, area): (Track, Vec<Option<f32>>) =
                if o.colour.is_some() && intended.len() > 1 {
                    (
                        t.iter().map(|c| c.map(|(x, y, _)| (x, y))).collect(),
                        t.iter().map(|c| c.map(|(_, _, a)| a)).collect(),
                    )
                } else {
                    (largest_track.clone(), largest_area.clone())
                };
            Some(moved_as(motion, &track, &area))
        })
        .collect();
    ClipAnalysis {
        objectness: with_object as f32 / n,
        dominant_colour,
        visible,
        motion_right,
    }
}

/// Whether a track shows `motion`: a direction within 45° over at least 2 pixels; growing or
/// shrinking by a third in area from the first to the last quarter; bouncing as a vertical
/// swing of 3 pixels or more that turns back at least once.
fn moved_as(motion: Motion, track: &Track, area: &[Option<f32>]) -> bool {
    // The mean area over the first and the last quarter of the frames (where it was seen).
    let quarters = || -> Option<(f32, f32)> {
        let mean = |v: &[Option<f32>]| -> Option<f32> {
            let got: Vec<f32> = v.iter().flatten().copied().collect();
            (!got.is_empty()).then(|| got.iter().sum::<f32>() / got.len() as f32)
        };
        let q = (area.len() / 4).max(1);
        Some((
            mean(&area[..q.min(area.len())])?,
            mean(&area[area.len().saturating_sub(q)..])?,
        ))
    };
    match motion {
        Motion::Growing | Motion::Shrinking => {
            let Some((first, last)) = quarters() else {
                return false;
            };
            if motion == Motion::Growing {
                last > first * 1.33
            } else {
                last * 1.33 < first
            }
        }
        // Still: neither travels 2 pixels, nor swings 3 (one stray frame at either end aside),
        // nor changes area by a third.
        Motion::Still => {
            let spread = |sel: fn(&(f32, f32)) -> f32| -> f32 {
                let mut v: Vec<f32> = track.iter().flatten().map(sel).collect();
                v.sort_by(f32::total_cmp);
                let trim = usize::from(v.len() >= 8);
                v.get(v.len().saturating_sub(1 + trim))
                    .zip(v.get(trim))
                    .map_or(f32::INFINITY, |(hi, lo)| hi - lo)
            };
            if spread(|c| c.0) > 3.0 || spread(|c| c.1) > 3.0 {
                return false;
            }
            let (Some((first, last)), Some((dx, dy))) = (quarters(), displacement(track)) else {
                return false;
            };
            (dx * dx + dy * dy).sqrt() <= 2.0 && last < first * 1.33 && first < last * 1.33
        }
        Motion::Bouncing => {
            let ys: Vec<f32> = track.iter().flatten().map(|c| c.1).collect();
            if ys.len() < 4 {
                return false;
            }
            let (lo, hi) = ys
                .iter()
                .fold((f32::MAX, f32::MIN), |(l, h), &y| (l.min(y), h.max(y)));
            let steps: Vec<f32> = ys
                .windows(2)
                .map(|w| w[1] - w[0])
                .filter(|d| d.abs() >= 0.5)
                .collect();
            let turns = steps.windows(2).filter(|w| w[0] * w[1] < 0.0).count();
            hi - lo >= 3.0 && turns >= 1
        }
        _ => {
            let Some((dx, dy)) = displacement(track) else {
                return false;
            };
            let (ex, ey) = motion.direction();
            let moved = (dx * dx + dy * dy).sqrt();
            moved > 2.0 && (dx * ex + dy * ey) / moved > std::f32::consts::FRAC_1_SQRT_2
        }
    }
}

/// Whether the reader's objects and background match what the prompt intended, slot by slot:
/// (right, asked) counts for colour, shape, motion, background.
fn reading_score(reading: &Reading, want: &DrawablePrompt) -> [(usize, usize); 4] {
    let mut score = [(0, 0); 4];
    for (j, o) in want.objects.iter().enumerate() {
        let got = reading.objects.get(j);
        let value = |m: Option<&candor_generate::Match>| m.map(|m| m.value.clone());
        if let Some(c) = &o.colour {
            score[0].1 += 1;
            score[0].0 +=
                usize::from(value(got.and_then(|g| g.colour.as_ref())).as_ref() == Some(c));
        }
        if let Some(s) = &o.shape {
            score[1].1 += 1;
            score[1].0 +=
                usize::from(value(got.and_then(|g| g.shape.as_ref())).as_ref() == Some(s));
        }
        if let Some(m) = o.motion {
            score[2].1 += 1;
            let phrase = m.phrase().to_string();
            score[2].0 +=
                usize::from(value(got.and_then(|g| g.motion.as_ref())).as_ref() == Some(&phrase));
        }
    }
    if let Some(b) = &want.background {
        score[3].1 += 1;
        score[3].0 += usize::from(reading.background.as_ref().map(|m| &m.value) == Some(b));
    }
    score
}

fn ratio(right: usize, asked: usize) -> serde_json::Value {
    if asked == 0 {
        serde_json::Value::Null
    } else {
        json!(right as f64 / asked as f64)
    }
}

/// Frames of an MP4 brought back to the model's native size.
pub(crate) fn native_frames(path: &Path, size: usize) -> Result<Vec<Vec<u8>>> {
    Ok(FrameReader::open(path, DecodeOptions::default())?
        .map(|f| f.map(|f| f.resized_area(size, size)))
        .collect::<std::result::Result<_, _>>()?)
}

/// The canonical caption of an intended prompt (for the reference configuration, which reads
/// prompts by keywords).
fn canonical(want: &DrawablePrompt) -> String {
    let objects: Vec<String> = want
        .objects
        .iter()
        .map(|o| {
            let words: Vec<&str> = [
                o.colour.as_deref(),
                o.shape.as_deref(),
                o.motion.map(|m| m.phrase()),
            ]
            .into_iter()
            .flatten()
            .collect();
            format!("a {}", words.join(" "))
        })
        .collect();
    let mut c = objects.join(" and ");
    if let Some(b) = &want.background {
        c.push_str(&format!(" over the {b}"));
    }
    c
}

/// Per-frame centroid of the foreground, when there is one.
type Track = Vec<Option<(f32, f32)>>;

/// Pixel indices of the largest 4-connected `true` region of a `size×size` mask.
pub(crate) fn largest_blob(mask: &[bool], size: usize) -> Vec<usize> {
    let mut seen = vec![false; mask.len()];
    let mut best = Vec::new();
    for start in 0..mask.len() {
        if !mask[start] || seen[start] {
            continue;
        }
        let mut blob = vec![start];
        seen[start] = true;
        let mut i = 0;
        while let Some(&p) = blob.get(i) {
            i += 1;
            let (x, y) = (p % size, p / size);
            let mut visit = |q: usize| {
                if mask[q] && !seen[q] {
                    seen[q] = true;
                    blob.push(q);
                }
            };
            if x > 0 {
                visit(p - 1);
            }
            if x + 1 < size {
                visit(p + 1);
            }
            if y > 0 {
                visit(p - size);
            }
            if y + 1 < size {
                visit(p + size);
            }
        }
        if blob.len() > best.len() {
            best = blob;
        }
    }
    best
}

/// Displacement over the clip from a least-squares line through the object's track (robust to
/// one frame where the blob jumps), or `None` with fewer than 4 tracked frames.
fn displacement(track: &Track) -> Option<(f32, f32)> {
    let points: Vec<(f32, f32, f32)> = track
        .iter()
        .enumerate()
        .filter_map(|(i, c)| c.map(|(x, y)| (i as f32, x, y)))
        .collect();
    if points.len() < 4 {
        return None;
    }
    let k = points.len() as f32;
    let mean_t = points.iter().map(|p| p.0).sum::<f32>() / k;
    let var_t: f32 = points.iter().map(|p| (p.0 - mean_t).powi(2)).sum();
    let slope = |sel: fn(&(f32, f32, f32)) -> f32| {
        let mean = points.iter().map(sel).sum::<f32>() / k;
        points
            .iter()
            .map(|p| (p.0 - mean_t) * (sel(p) - mean))
            .sum::<f32>()
            / var_t.max(1e-6)
    };
    let span = (track.len().max(1) - 1) as f32;
    Some((slope(|p| p.1) * span, slope(|p| p.2) * span))
}

/// The nearest of the nine colours every shipped model draws.
pub(crate) fn nearest_colour(rgb: [f32; 3]) -> &'static str {
    nearest_of(rgb, COLOURS.iter().take(COLOURS_BEFORE_V4))
}

/// The nearest colour of `palette` (names in the palette of `data::COLOURS`).
pub(crate) fn nearest_colour_in(rgb: [f32; 3], palette: &[&'static str]) -> &'static str {
    nearest_of(rgb, COLOURS.iter().filter(|(c, _)| palette.contains(c)))
}

fn nearest_of<'a>(
    rgb: [f32; 3],
    candidates: impl Iterator<Item = &'a (&'static str, [f32; 3])>,
) -> &'static str {
    candidates
        .min_by(|a, b| {
            let d = |c: &[f32; 3]| (0..3).map(|i| (c[i] - rgb[i]).powi(2)).sum::<f32>();
            d(&a.1).total_cmp(&d(&b.1))
        })
        .map(|c| c.0)
        .unwrap_or("?")
}

pub fn run(args: &GenerateConfig) -> Result<Report> {
    let set = PromptSet::load(&args.prompts)?;
    if set.drawable.is_empty() {
        return Err(EvalError::Config(
            "the prompt set has no drawable prompt".into(),
        ));
    }
    let BenchSetup {
        model,
        inversion_steps,
        identity,
        ring,
        dir,
        store,
    } = BenchSetup::open(&args.detector, args.keep.as_deref(), "gen")?;
    let size = model.config.size;
    let palette = candor_generate::drawable_colours(&model.config);
    let models_dir = args
        .detector
        .model
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("models"));
    let t = Instant::now();
    let reader = PromptReader::open_default(world_of(&model.config), &models_dir)
        .map_err(GenerateError::from)?;
    // Paid once per process (a `candor generate` run pays it once per clip).
    let reader_load_s = t.elapsed().as_secs_f64();

    // Undrawable prompts: read only (a refused prompt writes nothing).
    let mut refused_undrawable = 0;
    let mut undrawable_rows = Vec::new();
    for u in &set.undrawable {
        let reading = reader.read(&u.prompt).map_err(GenerateError::from)?;
        let refused = reading.refusal.is_some();
        refused_undrawable += usize::from(refused);
        undrawable_rows.push(json!({
            "prompt": u.prompt, "why": u.why, "refused": refused,
            "reading": reading.describe(),
        }));
    }

    // Every drawable prompt is read (and scored as read); only the first `limit` are generated.
    let limit = args.limit.unwrap_or(usize::MAX);
    let mut read = [(0usize, 0usize); 4];
    let mut refused_drawable = 0;
    let (mut colour, mut motion, mut objectness_ok) = ((0, 0), (0, 0), 0);
    let (mut multi, mut multi_both, mut multi_motion) = (0, 0, (0, 0));
    let (mut generated, mut detected, mut exact, mut binding_ok) = (0, 0, 0, 0);
    let (mut total_s, mut per_step, mut read_s) = (0.0, 0.0, 0.0);
    let mut min_objectness = f32::MAX;
    let (mut redrawn_clips, mut redrawn_frames) = (0, 0);
    let mut rows = Vec::new();
    let bar = progress(set.drawable.len().min(limit) as u64, "generate + verify");
    for (i, want) in set.drawable.iter().enumerate() {
        if i < limit {
            bar.inc(1);
        }
        let t = Instant::now();
        let reading = reader.read(&want.prompt).map_err(GenerateError::from)?;
        read_s += t.elapsed().as_secs_f64();
        for (k, (r, a)) in reading_score(&reading, want).into_iter().enumerate() {
            read[k].0 += r;
            read[k].1 += a;
        }
        if reading.refusal.is_some() {
            refused_drawable += 1;
            rows.push(
                json!({"prompt": want.prompt, "refused": true, "reading": reading.describe()}),
            );
            continue;
        }
        if i >= limit {
            continue;
        }
        let out = dir.join(format!("clip-{i:03}.mp4"));
        let mut options = GenerateOptions::for_native_size(size);
        options.steps = args.steps;
        options.sampler = args.sampler;
        options.guidance = args.guidance;
        options.seed = i as u64;
        // Fixed content ids too: the whole run is the same run after run.
        options.content_id = Some(0x6765_6e00_0000 + i as u64);
        let g = generate(
            &model,
            &reader,
            &identity,
            &store,
            &want.prompt,
            &out,
            &options,
            |_, _| {},
        )?;
        generated += 1;
        redrawn_clips += usize::from(!g.redrawn_frames.is_empty());
        redrawn_frames += g.redrawn_frames.len();
        total_s += g.timings.total;
        per_step += g.timings.per_step;
        let frames = native_frames(&out, size)?;
        let a = analyse_clip(&frames, size, &want.objects, &palette);
        min_objectness = min_objectness.min(a.objectness);
        objectness_ok += usize::from(a.objectness >= 0.95);
        let mut colour_right = None;
        if want.objects.len() == 1 {
            if let Some(c) = &want.objects[0].colour {
                let right = a.dominant_colour == Some(c.as_str());
                colour.1 += 1;
                colour.0 += usize::from(right);
                colour_right = Some(right);
            }
            if let Some(Some(right)) = a.motion_right.first() {
                motion.1 += 1;
                motion.0 += usize::from(*right);
            }
        } else {
            multi += 1;
            let both = a.visible.iter().all(|v| v.is_none_or(|share| share >= 0.5));
            multi_both += usize::from(both);
            for right in a.motion_right.iter().flatten() {
                multi_motion.1 += 1;
                multi_motion.0 += usize::from(*right);
            }
        }

        let options = WatermarkOptions {
            inversion_steps,
            ..WatermarkOptions::for_model(&model.config)
        };
        let report = check_file(&out, &model, &ring, &options)?;
        let manifest = read_manifest(&out, None, &TrustAnchors::none())?;
        let binding = manifest.soft_binding.map(|b| b.value);
        let payload = report.detection.payload().map(|p| p.to_bytes().to_vec());
        let payload_exact = report.content_id.as_deref() == Some(g.content_id.as_str());
        detected += usize::from(report.present);
        exact += usize::from(payload_exact);
        binding_ok += usize::from(payload.is_some() && payload == binding);
        rows.push(json!({
            "prompt": want.prompt, "reading": g.understood, "caption": g.caption,
            "objectness": a.objectness, "dominant_colour": a.dominant_colour,
            "colour_right": colour_right, "visible": a.visible, "motion_right": a.motion_right,
            "watermark": report.present, "log10_p": report.detection.log10_p_value(),
            "payload_exact": payload_exact, "seconds": g.timings.total,
            "redrawn_frames": g.redrawn_frames,
        }));
    }
    bar.finish_and_clear();

    // Time per clip against the reference configuration, interleaved on the same prompts.
    let n = generated.max(1) as f64;
    let timing = match &args.reference {
        Some(r) if generated > 0 => {
            let chosen: Vec<&DrawablePrompt> = set.drawable.iter().take(limit).collect();
            let mut t =
                time_against_reference(r, args, &model, &reader, &identity, &store, &dir, &chosen)?;
            // The interleaved pairs may hold no redrawn clip: the whole set's mean (redraws
            // included, measured in this run) against the same reference mean as well.
            if let Some(reference) = t["reference_seconds"].as_f64() {
                t["set_mean_ratio"] = json!(total_s / n / reference.max(1e-9));
            }
            Some(t)
        }
        _ => None,
    };

    let doc = json!({
        "benchmark": "generate",
        "model": model.config.name,
        "prompt_set": args.prompts.display().to_string(),
        "prompt_reader": reader.encoder(),
        "prompt_reader_fallback": reader.fallback(),
        "sampler": args.sampler.name(),
        "steps": args.steps,
        "guidance": args.guidance,
        "inversion_steps": inversion_steps,
        "drawable_prompts": set.drawable.len(),
        "generated_prompts": set.drawable.len().min(limit),
        "undrawable_prompts": set.undrawable.len(),
        "read_colour_right": ratio(read[0].0, read[0].1),
        "read_shape_right": ratio(read[1].0, read[1].1),
        "read_motion_right": ratio(read[2].0, read[2].1),
        "read_background_right": ratio(read[3].0, read[3].1),
        "drawable_refused": ratio(refused_drawable, set.drawable.len()),
        "undrawable_refused": ratio(refused_undrawable, set.undrawable.len()),
        "colour_right": ratio(colour.0, colour.1),
        "motion_right": ratio(motion.0, motion.1),
        "clips_with_object_in_95pct_of_frames": ratio(objectness_ok, generated),
        "min_objectness": if generated > 0 { json!(min_objectness) } else { json!(null) },
        "clips_with_redrawn_frames": ratio(redrawn_clips, generated),
        "redrawn_frames": redrawn_frames,
        "multi_object_prompts": multi,
        "multi_object_all_visible_in_own_colour": ratio(multi_both, multi),
        "multi_object_motion_right": ratio(multi_motion.0, multi_motion.1),
        "watermark_detected": ratio(detected, generated),
        "payload_exact": ratio(exact, generated),
        "payload_equals_soft_binding": ratio(binding_ok, generated),
        "mean_clip_seconds": total_s / n,
        "mean_step_ms": per_step / n * 1e3,
        "mean_read_seconds": read_s / set.drawable.len().max(1) as f64,
        "reader_load_seconds": reader_load_s,
        "timing": timing,
        "peak_rss_mib": peak_rss_mib(),
        "per_clip": rows,
        "undrawable": undrawable_rows,
    });
    let mut text = String::new();
    let _ = writeln!(
        text,
        "Generation benchmark: {} free-form prompts ({} generated, {} multi-object), {} undrawable; \
         reader {}, {} × {} steps",
        set.drawable.len(),
        generated,
        multi,
        set.undrawable.len(),
        reader.encoder(),
        args.sampler.name(),
        args.steps
    );
    if let Some(f) = reader.fallback() {
        let _ = writeln!(text, "  NOTE: {f}");
    }
    for k in [
        "read_colour_right",
        "read_shape_right",
        "read_motion_right",
        "read_background_right",
        "colour_right",
        "motion_right",
        "clips_with_object_in_95pct_of_frames",
        "min_objectness",
        "clips_with_redrawn_frames",
        "multi_object_all_visible_in_own_colour",
        "multi_object_motion_right",
        "undrawable_refused",
        "drawable_refused",
        "watermark_detected",
        "payload_exact",
        "payload_equals_soft_binding",
        "mean_clip_seconds",
        "mean_step_ms",
        "mean_read_seconds",
        "reader_load_seconds",
        "peak_rss_mib",
    ] {
        let _ = writeln!(text, "  {k:<40} {}", doc[k]);
    }
    if let Some(t) = &doc["timing"].as_object() {
        let _ = writeln!(
            text,
            "  time per clip vs reference ({}, {} × {} steps): {:.2} s vs {:.2} s = {:.2}×",
            t["reference_model"],
            t["reference_sampler"],
            t["reference_steps"],
            t["default_seconds"].as_f64().unwrap_or(f64::NAN),
            t["reference_seconds"].as_f64().unwrap_or(f64::NAN),
            t["ratio"].as_f64().unwrap_or(f64::NAN)
        );
        let _ = writeln!(
            text,
            "  the whole set's mean clip time (redraws included) vs that reference: {:.2}×",
            t["set_mean_ratio"].as_f64().unwrap_or(f64::NAN)
        );
    }
    if args.keep.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(Report::new(doc, text))
}

/// Mean seconds per clip of the default and the reference configuration, one after the other
/// on each of the first `reference.clips` drawable prompts (the reference reads the prompt's
/// intended caption by keywords, as the old default did with prompts in its own words).
#[allow(clippy::too_many_arguments)]
fn time_against_reference(
    reference: &ReferenceConfig,
    args: &GenerateConfig,
    model: &DiffusionModel,
    reader: &PromptReader,
    identity: &candor_manifest::Identity,
    store: &candor_store::ManifestStore,
    dir: &Path,
    prompts: &[&DrawablePrompt],
) -> Result<serde_json::Value> {
    let old = DiffusionModel::load(&reference.model, &candle_core::Device::Cpu)?;
    let keywords = PromptReader::keywords(world_of(&old.config));
    let (mut new_s, mut old_s, mut clips) = (0.0, 0.0, 0);
    let bar = progress(reference.clips as u64, "time vs reference");
    for (i, want) in prompts.iter().take(reference.clips).enumerate() {
        let out = dir.join(format!("timing-{i:03}.mp4"));
        let mut o = GenerateOptions::for_native_size(model.config.size);
        o.seed = 1000 + i as u64;
        o.content_id = Some(0x7469_6d00_0000 + i as u64);
        o.steps = args.steps;
        o.sampler = args.sampler;
        o.guidance = args.guidance;
        let t = Instant::now();
        generate(
            model,
            reader,
            identity,
            store,
            &want.prompt,
            &out,
            &o,
            |_, _| {},
        )?;
        new_s += t.elapsed().as_secs_f64();
        let _ = std::fs::remove_file(&out);
        o.steps = reference.steps;
        o.sampler = reference.sampler;
        o.content_id = Some(0x7265_6600_0000 + i as u64);
        let t = Instant::now();
        generate(
            &old,
            &keywords,
            identity,
            store,
            &canonical(want),
            &out,
            &o,
            |_, _| {},
        )?;
        old_s += t.elapsed().as_secs_f64();
        let _ = std::fs::remove_file(&out);
        clips += 1;
        bar.inc(1);
    }
    bar.finish_and_clear();
    let k = clips.max(1) as f64;
    Ok(json!({
        "clips": clips,
        "reference_model": old.config.name,
        "reference_sampler": reference.sampler.name(),
        "reference_steps": reference.steps,
        "default_seconds": new_s / k,
        "reference_seconds": old_s / k,
        "ratio": new_s / old_s.max(1e-9),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The colours of candor-shapes-v1 to v3.
    fn nine() -> Vec<&'static str> {
        COLOURS
            .iter()
            .take(COLOURS_BEFORE_V4)
            .map(|(c, _)| *c)
            .collect()
    }

    #[test]
    fn the_largest_blob_wins_over_stray_pixels() {
        let mut mask = vec![false; 64];
        for p in [0, 7, 63] {
            mask[p] = true; // strays
        }
        for y in 3..6 {
            for x in 2..5 {
                mask[y * 8 + x] = true;
            }
        }
        let blob = largest_blob(&mask, 8);
        assert_eq!(blob.len(), 9);
        assert!(blob.contains(&(4 * 8 + 3)));
    }

    #[test]
    fn displacement_follows_the_track_and_shrugs_off_one_jump() {
        let mut track: Track = (0..16).map(|i| Some((2.0 + i as f32, 10.0))).collect();
        track[7] = Some((30.0, 30.0));
        track[3] = None;
        let (dx, dy) = displacement(&track).unwrap_or_default();
        assert!(dx > 12.0 && dx < 18.0, "{dx}");
        assert!(dy.abs() < 3.0, "{dy}");
        assert_eq!(displacement(&vec![None; 16]), None);
    }

    type Disc = ((f32, f32, f32), [u8; 3]);

    fn frame_with(size: usize, bg: [u8; 3], discs: &[Disc]) -> Vec<u8> {
        let mut f = Vec::with_capacity(size * size * 3);
        for y in 0..size {
            for x in 0..size {
                let mut c = bg;
                for &((cx, cy, r), colour) in discs {
                    if (x as f32 - cx).powi(2) + (y as f32 - cy).powi(2) <= r * r {
                        c = colour;
                    }
                }
                f.extend_from_slice(&c);
            }
        }
        f
    }

    fn object(colour: &str, motion: Motion) -> IntendedObject {
        IntendedObject {
            colour: Some(colour.into()),
            shape: None,
            motion: Some(motion),
        }
    }

    #[test]
    fn the_analysis_sees_each_object_its_colour_and_its_motion() {
        let (red, blue, sky) = ([230, 30, 30], [40, 60, 240], [120, 180, 240]);
        let frames: Vec<Vec<u8>> = (0..16)
            .map(|i| {
                let t = i as f32;
                frame_with(
                    32,
                    sky,
                    &[((4.0 + t, 8.0, 4.0), red), ((16.0, 28.0 - t, 4.0), blue)],
                )
            })
            .collect();
        let want = [object("red", Motion::Right), object("blue", Motion::Up)];
        let a = analyse_clip(&frames, 32, &want, &nine());
        assert_eq!(a.objectness, 1.0);
        assert_eq!(a.visible, vec![Some(1.0), Some(1.0)]);
        assert_eq!(a.motion_right, vec![Some(true), Some(true)]);
        // Asked the other way round, both motions are wrong; a missing colour is not visible.
        let wrong = [object("red", Motion::Left), object("green", Motion::Down)];
        let b = analyse_clip(&frames, 32, &wrong, &nine());
        assert_eq!(b.motion_right[0], Some(false));
        assert_eq!(b.visible[1], Some(0.0));
    }

    #[test]
    fn growing_bouncing_and_noise_are_told_apart() {
        let (pink, grass) = ([250, 128, 190], [40, 140, 40]);
        let growing: Vec<Vec<u8>> = (0..16)
            .map(|i| frame_with(32, grass, &[((16.0, 16.0, 3.0 + i as f32 * 0.5), pink)]))
            .collect();
        let a = analyse_clip(&growing, 32, &[object("pink", Motion::Growing)], &nine());
        assert_eq!(a.motion_right, vec![Some(true)]);
        assert_eq!(a.dominant_colour, Some("pink"));
        let b = analyse_clip(&growing, 32, &[object("pink", Motion::Shrinking)], &nine());
        // A palette with grey names the pink object's edge on grass grey, not the object.
        let all: Vec<&str> = COLOURS.iter().map(|(c, _)| *c).collect();
        let with_grey = analyse_clip(&growing, 32, &[object("pink", Motion::Growing)], &all);
        assert_eq!(with_grey.dominant_colour, Some("pink"));
        assert_eq!(b.motion_right, vec![Some(false)]);
        let bouncing: Vec<Vec<u8>> = (0..16)
            .map(|i| {
                let y = 24.0 - ((i as f32) * 0.55).sin().abs() * 10.0;
                frame_with(32, grass, &[((16.0, y, 4.0), pink)])
            })
            .collect();
        let c = analyse_clip(&bouncing, 32, &[object("pink", Motion::Bouncing)], &nine());
        assert_eq!(c.motion_right, vec![Some(true)]);
        // Still: an object that stays put is, one that grows or bounces is not.
        let still: Vec<Vec<u8>> = (0..16)
            .map(|i| frame_with(32, grass, &[((16.0 + (i % 2) as f32, 16.0, 5.0), pink)]))
            .collect();
        let s = analyse_clip(&still, 32, &[object("pink", Motion::Still)], &nine());
        assert_eq!(s.motion_right, vec![Some(true)]);
        for moving in [&growing, &bouncing] {
            let m = analyse_clip(moving, 32, &[object("pink", Motion::Still)], &nine());
            assert_eq!(m.motion_right, vec![Some(false)]);
        }
        // Salt-and-pepper noise is not an object.
        let mut state = 7u32;
        let noise: Vec<Vec<u8>> = (0..16)
            .map(|_| {
                (0..32 * 32 * 3)
                    .map(|_| {
                        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                        if (state >> 24).is_multiple_of(2) {
                            20
                        } else {
                            235
                        }
                    })
                    .collect()
            })
            .collect();
        let d = analyse_clip(&noise, 32, &[object("pink", Motion::Left)], &nine());
        assert!(d.objectness < 0.5, "{}", d.objectness);
    }

    #[test]
    fn a_grey_object_is_grey_and_a_coloured_one_keeps_its_colour_at_its_edges() {
        let (sky, grey, white) = ([90, 150, 235], [163, 163, 168], [247, 247, 247]);
        let clip = |c: [u8; 3]| -> Vec<Vec<u8>> {
            (0..16)
                .map(|i| frame_with(32, sky, &[((8.0 + i as f32, 16.0, 3.5), c)]))
                .collect()
        };
        let all: Vec<&str> = COLOURS.iter().map(|(c, _)| *c).collect();
        let g = analyse_clip(&clip(grey), 32, &[object("gray", Motion::Right)], &all);
        assert_eq!(g.dominant_colour, Some("gray"));
        assert_eq!(g.visible, vec![Some(1.0)]);
        let w = analyse_clip(&clip(white), 32, &[object("white", Motion::Right)], &all);
        assert_eq!(w.dominant_colour, Some("white"));
    }

    #[test]
    fn the_committed_prompt_set_loads_and_covers_the_world() -> Result<()> {
        let set = PromptSet::load(Path::new(DEFAULT_PROMPTS))?;
        assert!(set.drawable.len() >= 60);
        assert!(set.undrawable.len() >= 25);
        assert!(set.drawable.iter().filter(|d| d.objects.len() >= 2).count() >= 20);
        // The first set was written before grey was drawn; the later sets ask for it.
        let later: Vec<PromptSet> = ["freeform-prompts-3.json", "freeform-prompts-4.json"]
            .iter()
            .map(|f| PromptSet::load(&Path::new(DEFAULT_PROMPTS).with_file_name(f)))
            .collect::<Result<_>>()?;
        let asks = |set: &PromptSet, c: &str| {
            set.drawable
                .iter()
                .any(|d| d.objects.iter().any(|o| o.colour.as_deref() == Some(c)))
        };
        for (i, (c, _)) in COLOURS.iter().enumerate() {
            if i < COLOURS_BEFORE_V4 {
                assert!(asks(&set, c), "{c}");
            }
            assert!(later.iter().all(|s| asks(s, c)), "{c}");
        }
        assert!(PromptSet::load(Path::new("/nonexistent.json")).is_err());
        Ok(())
    }
}
