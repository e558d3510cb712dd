//! `candor bench generate`: prompt adherence on held-out colour–shape pairs, the watermark round
//! trip through MP4, and the cost of each stage (provenance stages included).

use std::fmt::Write;
use std::path::PathBuf;
use std::time::Instant;

use candor_diffusion::data::{colour_rgb, Motion, COLOURS, HELD_OUT};
use candor_generate::{generate, GenerateOptions};
use candor_manifest::{read_manifest, TrustAnchors};
use candor_media::{DecodeOptions, FrameReader};
use candor_verify::{check_file, WatermarkOptions};
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{peak_rss_mib, progress};
use crate::{BenchSetup, DetectorConfig};
use crate::{EvalError, Report, Result};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GenerateConfig {
    /// Clips to generate (held-out colour–shape pairs × directions × backgrounds, cycled).
    pub clips: usize,
    /// DDIM steps per clip.
    pub steps: usize,
    /// Classifier-free guidance scale.
    pub guidance: f64,
    pub detector: DetectorConfig,
    /// Keep the clips in this directory (default: a temporary one, removed).
    pub keep: Option<PathBuf>,
}

const DIRECTIONS: [Motion; 4] = [Motion::Left, Motion::Right, Motion::Up, Motion::Down];
const BACKDROPS: [&str; 4] = ["sky", "grass", "gray", "night"];

/// Per-frame centroid of the foreground, when there is one.
type Track = Vec<Option<(f32, f32)>>;

/// Foreground = pixels far from the clip's per-pixel temporal median; the object in a frame is
/// the largest 4-connected foreground blob (stray pixels and isolated noise blocks are not the
/// object). Returns per-frame blob centroids and the blobs' mean colour.
fn analyse(frames: &[Vec<u8>], size: usize) -> (Track, Option<[f32; 3]>) {
    let n = size * size;
    let mut median = vec![[0f32; 3]; n];
    for (p, m) in median.iter_mut().enumerate() {
        for (c, slot) in m.iter_mut().enumerate() {
            let mut v: Vec<u8> = frames.iter().map(|f| f[p * 3 + c]).collect();
            v.sort_unstable();
            *slot = f32::from(v[v.len() / 2]);
        }
    }
    let mut colour = [0f32; 3];
    let mut count = 0f32;
    let centroids = frames
        .iter()
        .map(|f| {
            let foreground: Vec<bool> = (0..n)
                .map(|p| {
                    (0..3)
                        .map(|c| (f32::from(f[p * 3 + c]) - median[p][c]).abs())
                        .sum::<f32>()
                        > 90.0
                })
                .collect();
            let blob = largest_blob(&foreground, size);
            if blob.len() < 6 {
                return None;
            }
            let (mut sx, mut sy) = (0f32, 0f32);
            for &p in &blob {
                sx += (p % size) as f32;
                sy += (p / size) as f32;
                for c in 0..3 {
                    colour[c] += f32::from(f[p * 3 + c]);
                }
                count += 1.0;
            }
            let k = blob.len() as f32;
            Some((sx / k, sy / k))
        })
        .collect();
    let colour = (count > 0.0).then(|| colour.map(|v| v / count / 255.0));
    (centroids, colour)
}

/// Pixel indices of the largest 4-connected `true` region of a `size×size` mask.
fn largest_blob(mask: &[bool], size: usize) -> Vec<usize> {
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

fn nearest_colour(rgb: [f32; 3]) -> &'static str {
    COLOURS
        .iter()
        .min_by(|a, b| {
            let d = |c: &[f32; 3]| (0..3).map(|i| (c[i] - rgb[i]).powi(2)).sum::<f32>();
            d(&a.1).total_cmp(&d(&b.1))
        })
        .map(|c| c.0)
        .unwrap_or("?")
}

pub fn run(args: &GenerateConfig) -> Result<Report> {
    if args.clips == 0 {
        return Err(EvalError::Config("clips must be at least 1".into()));
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

    let (mut colour_ok, mut motion_ok, mut detected, mut exact, mut binding_ok) = (0, 0, 0, 0, 0);
    let (mut total_s, mut sampling_s, mut provenance_s, mut per_step) = (0.0, 0.0, 0.0, 0.0);
    let mut plain_noise_s = 0.0;
    let mut rows = Vec::new();
    let bar = progress(args.clips as u64, "generate + verify");
    for i in 0..args.clips {
        let (colour, shape) = HELD_OUT[i % HELD_OUT.len()];
        let motion = DIRECTIONS[(i / HELD_OUT.len()) % DIRECTIONS.len()];
        let bg = BACKDROPS[i % BACKDROPS.len()];
        let prompt = format!("a {colour} {shape} {} over the {bg}", motion.phrase());
        let out = dir.join(format!("clip-{i:03}.mp4"));
        let mut options = GenerateOptions::for_native_size(size);
        options.steps = args.steps;
        options.guidance = args.guidance;
        options.seed = i as u64;
        // Fixed content ids too: the whole run is the same run after run.
        options.content_id = Some(0x6765_6e00_0000 + i as u64);
        let g = generate(
            &model,
            &identity,
            &store,
            &prompt,
            &out,
            &options,
            |_, _| {},
        )?;
        total_s += g.timings.total;
        sampling_s += g.timings.sampling;
        per_step += g.timings.per_step;
        provenance_s += g.timings.watermark_noise + g.timings.sign + g.timings.store;
        // The same noise without a watermark: plain N(0,1) of the same shape, for the overhead ratio.
        let t = Instant::now();
        let (f, c, h, w) = model.config.latent_shape(options.frames);
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(i as u64);
        let _plain = candor_watermark::channel::gaussian(f * c * h * w, &mut rng);
        plain_noise_s += t.elapsed().as_secs_f64();

        // Adherence, on the decoded MP4 brought back to native size.
        let frames: Vec<Vec<u8>> = FrameReader::open(&out, DecodeOptions::default())?
            .map(|f| f.map(|f| f.resized_area(size, size)))
            .collect::<std::result::Result<_, _>>()?;
        let (centroids, rgb) = analyse(&frames, size);
        let seen_colour = rgb.map(nearest_colour).unwrap_or("none");
        let colour_right = seen_colour == colour;
        let (dx, dy) = displacement(&centroids).unwrap_or((0.0, 0.0));
        let (ex, ey) = motion.direction();
        let moved = (dx * dx + dy * dy).sqrt();
        let motion_right =
            moved > 2.0 && (dx * ex + dy * ey) / moved > std::f32::consts::FRAC_1_SQRT_2;
        colour_ok += usize::from(colour_right);
        motion_ok += usize::from(motion_right);

        // Watermark round trip through the MP4, and the manifest's soft binding.
        let options = WatermarkOptions {
            inversion_steps,
            ..WatermarkOptions::for_model(&model.config)
        };
        let report = check_file(&out, &model, &ring, &options)?;
        let manifest = read_manifest(&out, None, &TrustAnchors::none())?;
        let binding = manifest.soft_binding.map(|b| b.value);
        let payload = report.detection.payload().map(|p| p.to_bytes().to_vec());
        detected += usize::from(report.present);
        exact += usize::from(report.content_id.as_deref() == Some(g.content_id.as_str()));
        binding_ok += usize::from(payload.is_some() && payload == binding);
        let _ = colour_rgb(colour);
        rows.push(json!({
            "prompt": prompt, "colour_seen": seen_colour, "colour_right": colour_right,
            "displacement": [dx, dy], "motion_right": motion_right,
            "watermark": report.present, "log10_p": report.detection.log10_p_value(),
            "bit_error_rate": report.detection.bit_error_rate(), "payload_exact": report.content_id.as_deref() == Some(g.content_id.as_str()),
        }));
        bar.inc(1);
    }
    bar.finish_and_clear();
    let n = args.clips as f64;
    let doc = json!({
        "benchmark": "generate",
        "model": model.config.name,
        "clips": args.clips,
        "steps": args.steps,
        "guidance": args.guidance,
        "inversion_steps": inversion_steps,
        "colour_right": colour_ok as f64 / n,
        "motion_right": motion_ok as f64 / n,
        "watermark_detected": detected as f64 / n,
        "payload_exact": exact as f64 / n,
        "payload_equals_soft_binding": binding_ok as f64 / n,
        "mean_clip_seconds": total_s / n,
        "mean_sampling_seconds": sampling_s / n,
        "mean_step_ms": per_step / n * 1e3,
        "provenance_seconds": provenance_s / n,
        "provenance_overhead": (provenance_s - plain_noise_s) / (total_s - provenance_s + plain_noise_s),
        // Over the whole run (every clip generated, decoded and verified in this process).
        "peak_rss_mib": peak_rss_mib(),
        "per_clip": rows,
    });
    let mut text = String::new();
    let _ = writeln!(
        text,
        "Generation benchmark: {} clips of held-out colour-shape pairs, {} steps",
        args.clips, args.steps
    );
    for k in [
        "colour_right",
        "motion_right",
        "watermark_detected",
        "payload_exact",
        "payload_equals_soft_binding",
        "mean_clip_seconds",
        "mean_step_ms",
        "provenance_overhead",
        "peak_rss_mib",
    ] {
        let _ = writeln!(text, "  {k:<30} {}", doc[k]);
    }
    if args.keep.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(Report::new(doc, text))
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
