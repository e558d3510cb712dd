//! The watermark's statistical benchmark (issue: keyed latent watermark, acceptance 1–5).

use std::fmt::Write;
use std::time::Instant;

use candor_watermark::channel::{
    add_noise, drop_and_shuffle, gaussian, insert_foreign, replace_region, select_frames,
    sigma_for_flip_rate,
};
use candor_watermark::stats::{ks_normal, normal_cdf};
use candor_watermark::{
    detect, detect_with, embed, DetectOptions, Detector, KeyRing, LatentShape, Payload,
    TemporalEvent, WatermarkKey, OPERATING_FPR,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::{median, progress};
use crate::{EvalError, Report, Result};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WatermarkConfig {
    /// Trials per robustness and tamper scenario.
    pub trials: usize,
    /// Unwatermarked latents for the false-positive test.
    pub fp_trials: usize,
    /// Seed of the whole run (results are reproducible).
    pub seed: u64,
}

const SHAPE: LatentShape = LatentShape {
    frames: 16,
    channels: 4,
    height: 32,
    width: 32,
};
const LOOSE: f64 = 1e-3;

fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

fn random_key<R: Rng>(rng: &mut R) -> WatermarkKey {
    let mut secret = [0u8; 32];
    rng.fill(&mut secret);
    WatermarkKey::new(&secret)
}

pub fn run(args: &WatermarkConfig) -> Result<Report> {
    if args.trials == 0 || args.fp_trials == 0 {
        return Err(EvalError::Config(
            "trials and fp_trials must be at least 1".into(),
        ));
    }
    let mut figures = Map::new();
    let mut rows: Vec<(String, String, String)> = Vec::new();
    let mut put =
        |name: &str, value: Value, target: &str, rows: &mut Vec<(String, String, String)>| {
            rows.push((name.to_string(), fmt(&value), target.to_string()));
            figures.insert(name.to_string(), value);
        };

    // 1. Distribution.
    let (ks_p, ks_d, ks_n) = distribution(args.seed)?;
    put(
        "ks_p_value",
        json!(ks_p),
        "> 0.01 (N(0,1) not rejected)",
        &mut rows,
    );
    put("ks_statistic", json!(ks_d), "", &mut rows);
    put("ks_elements", json!(ks_n), ">= 1e6", &mut rows);
    let mean_p = position_means(args.seed)?;
    put(
        "position_mean_p_value",
        json!(mean_p),
        "> 0.01 (no per-position bias without the key)",
        &mut rows,
    );

    // 2. False positives.
    let fp = false_positives(args.fp_trials, args.seed)?;
    put("fp_trials_operating", json!(fp.trials), ">= 1e5", &mut rows);
    put(
        "fp_detections_operating",
        json!(fp.operating),
        "0 at FPR 1e-9",
        &mut rows,
    );
    put("fp_detections_loose", json!(fp.loose), "", &mut rows);
    let rate = fp.loose as f64 / fp.trials as f64;
    let (lo, hi) = wilson(fp.loose, fp.trials);
    put("fp_rate_loose", json!(rate), "about 1e-3", &mut rows);
    put(
        "fp_rate_loose_ci95",
        json!([lo, hi]),
        "contains 1e-3",
        &mut rows,
    );
    put(
        "fp_rate_loose_over_nominal",
        json!(rate / LOOSE),
        "about 1",
        &mut rows,
    );
    put(
        "fp_loose_nominal_in_ci95",
        json!(lo <= LOOSE && LOOSE <= hi),
        "true",
        &mut rows,
    );

    // 3. Channel robustness.
    for flip in [0.25, 0.30, 0.35] {
        let (exact, found) = noise_trials(args.trials, flip, args.seed)?;
        put(
            &format!("payload_exact_flip_{flip:.2}"),
            json!(exact),
            if flip == 0.25 { ">= 0.99" } else { "measured" },
            &mut rows,
        );
        put(
            &format!("detected_flip_{flip:.2}"),
            json!(found),
            "",
            &mut rows,
        );
    }
    let recovered = drop_trials(args.trials, args.seed)?;
    put(
        "frames_recovered_drop_0.25",
        json!(recovered),
        "1.0 (payload and every frame index)",
        &mut rows,
    );

    // 4. Tamper.
    let (swap, insert, drop) = temporal_trials(args.trials, args.seed)?;
    put("temporal_swap_localised", json!(swap), ">= 0.99", &mut rows);
    put(
        "temporal_insert_localised",
        json!(insert),
        ">= 0.99",
        &mut rows,
    );
    put("temporal_drop_localised", json!(drop), ">= 0.99", &mut rows);
    put(
        "temporal_tamper_localised",
        json!(swap.min(insert).min(drop)),
        ">= 0.99 (worst of the three)",
        &mut rows,
    );
    let (iou_mean, iou_min) = spatial_trials(args.trials, args.seed, RegionEdit::Foreign)?;
    put(
        "spatial_tamper_iou",
        json!(iou_mean),
        ">= 0.7 (mean)",
        &mut rows,
    );
    put("spatial_tamper_iou_min", json!(iou_min), "", &mut rows);
    let (iou_mean, iou_min) = spatial_trials(args.trials, args.seed, RegionEdit::Splice)?;
    put(
        "spatial_splice_iou",
        json!(iou_mean),
        ">= 0.7 (mean; region from another clip of the same key)",
        &mut rows,
    );
    put("spatial_splice_iou_min", json!(iou_min), "", &mut rows);
    let (false_alarms, _) = spatial_trials(args.trials, args.seed, RegionEdit::WeakerOnly)?;
    put(
        "spatial_false_alarm_weaker_region",
        json!(false_alarms),
        "<= 0.001 (untouched, mark weaker in a quarter of the frame)",
        &mut rows,
    );

    // 5. Speed.
    let (embed_ms, detect_ms) = speed(args.seed)?;
    put(
        "embed_ms",
        json!(embed_ms),
        "< 5 ms (16x4x32x32)",
        &mut rows,
    );
    put(
        "detect_ms",
        json!(detect_ms),
        "< 5 ms (16x4x32x32)",
        &mut rows,
    );

    let doc = json!({
            "benchmark": "watermark",
            "latent_shape": SHAPE,
            "trials": args.trials,
            "seed": args.seed,
            "operating_fpr": OPERATING_FPR,
            "figures": Value::Object(figures),
    });
    let mut text = String::new();
    let _ = writeln!(
        text,
        "Watermark benchmark: latent {SHAPE}, {} trials per scenario, seed {}",
        args.trials, args.seed
    );
    let _ = writeln!(text, "{:<34} {:>22}  target", "figure", "value");
    for (name, value, target) in rows {
        let _ = writeln!(text, "{name:<34} {value:>22}  {target}");
    }
    Ok(Report::new(doc, text))
}

fn fmt(v: &Value) -> String {
    match v {
        Value::Number(n) => match n.as_f64() {
            Some(x) if n.is_f64() => {
                if x != 0.0 && (x.abs() < 1e-3 || x.abs() >= 1e6) {
                    format!("{x:.3e}")
                } else {
                    format!("{x:.4}")
                }
            }
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

/// KS test over >= 10^6 elements from 16 keys and payloads.
fn distribution(seed: u64) -> Result<(f64, f64, usize)> {
    let mut r = rng(seed);
    let mut samples = Vec::with_capacity(16 * SHAPE.len());
    for _ in 0..16 {
        let key = random_key(&mut r);
        let payload = Payload::new(r.gen());
        let noise = embed(&key, payload, SHAPE, &mut r)?;
        samples.extend(noise.iter().map(|&v| f64::from(v)));
    }
    let n = samples.len();
    let (d, p) = ks_normal(&mut samples);
    Ok((p, d, n))
}

/// Mean of every position over 400 latents with fresh keys, payloads and seeds: each should be
/// N(0, 1/400). Returns the p-value of the chi-square statistic sum(z²) over positions.
fn position_means(seed: u64) -> Result<f64> {
    let shape = LatentShape::new(2, 4, 16, 16);
    let clips = 400;
    let mut r = rng(seed ^ 0x5eed);
    let mut sums = vec![0f64; shape.len()];
    for _ in 0..clips {
        let key = random_key(&mut r);
        let noise = embed(&key, Payload::new(r.gen()), shape, &mut r)?;
        for (s, v) in sums.iter_mut().zip(noise) {
            *s += f64::from(v);
        }
    }
    let chi2: f64 = sums
        .iter()
        .map(|s| (s / (clips as f64).sqrt()).powi(2))
        .sum();
    // Wilson–Hilferty: chi-square with k degrees of freedom to a standard normal.
    let k = shape.len() as f64;
    let z = ((chi2 / k).cbrt() - (1.0 - 2.0 / (9.0 * k))) / (2.0 / (9.0 * k)).sqrt();
    Ok(2.0 * (1.0 - normal_cdf(z.abs())))
}

struct FalsePositives {
    trials: usize,
    operating: usize,
    loose: usize,
}

/// Unwatermarked N(0,1) latents through the detector, on both cores.
fn false_positives(trials: usize, seed: u64) -> Result<FalsePositives> {
    let key = WatermarkKey::new(&[0x42; 32]);
    let detector = Detector::new(&key, SHAPE.frame_len(), 64);
    let loose = DetectOptions {
        threshold: LOOSE,
        ..DetectOptions::default()
    };
    let bar = progress(trials as u64, "false positives");
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(8);
    let results: Vec<Result<(usize, usize)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                let detector = &detector;
                let loose = &loose;
                let bar = &bar;
                scope.spawn(move || -> Result<(usize, usize)> {
                    let mut r = rng(seed ^ (0xf9 + w as u64));
                    let (mut operating, mut loose_hits) = (0, 0);
                    for _ in (w..trials).step_by(workers) {
                        let latent = gaussian(SHAPE.len(), &mut r);
                        let d = detect_with(detector, &latent, SHAPE, loose)?;
                        if d.present() {
                            loose_hits += 1;
                        }
                        if d.log10_p_value() <= OPERATING_FPR.log10() {
                            operating += 1;
                        }
                        bar.inc(1);
                    }
                    Ok((operating, loose_hits))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(EvalError::Measurement("worker failed".into())))
            })
            .collect()
    });
    bar.finish_and_clear();
    let mut out = FalsePositives {
        trials,
        operating: 0,
        loose: 0,
    };
    for r in results {
        let (o, l) = r?;
        out.operating += o;
        out.loose += l;
    }
    Ok(out)
}

/// Wilson score interval (95 %) for k successes in n trials.
fn wilson(k: usize, n: usize) -> (f64, f64) {
    let (k, n) = (k as f64, n as f64);
    let z = 1.959_964;
    let p = k / n;
    let denom = 1.0 + z * z / n;
    let centre = (p + z * z / (2.0 * n)) / denom;
    let half = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / denom;
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

fn noise_trials(trials: usize, flip: f64, seed: u64) -> Result<(f64, f64)> {
    let sigma = sigma_for_flip_rate(flip);
    let mut r = rng(seed ^ (flip * 1000.0) as u64);
    let (mut exact, mut found) = (0usize, 0usize);
    let bar = progress(
        trials as u64,
        &format!("noise, {:.0} % flips", flip * 100.0),
    );
    for _ in 0..trials {
        let key = random_key(&mut r);
        let payload = Payload::new(r.gen());
        let mut latent = embed(&key, payload, SHAPE, &mut r)?;
        add_noise(&mut latent, sigma, &mut r);
        let d = detect(
            &KeyRing::single(key),
            &latent,
            SHAPE,
            &DetectOptions::default(),
        )?;
        found += usize::from(d.present());
        exact += usize::from(d.payload() == Some(payload));
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok((exact as f64 / trials as f64, found as f64 / trials as f64))
}

fn drop_trials(trials: usize, seed: u64) -> Result<f64> {
    let mut r = rng(seed ^ 0xd209);
    let mut ok = 0usize;
    let bar = progress(trials as u64, "25 % frames dropped");
    for _ in 0..trials {
        let key = random_key(&mut r);
        let payload = Payload::new(r.gen());
        let latent = embed(&key, payload, SHAPE, &mut r)?;
        let (cut, shape, kept) = drop_and_shuffle(&latent, SHAPE, 0.25, &mut r);
        let d = detect(
            &KeyRing::single(key),
            &cut,
            shape,
            &DetectOptions::default(),
        )?;
        let frames_ok = d
            .frames()
            .iter()
            .zip(&kept)
            .all(|(f, &k)| f.template == Some(k));
        ok += usize::from(d.payload() == Some(payload) && frames_ok);
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(ok as f64 / trials as f64)
}

fn temporal_trials(trials: usize, seed: u64) -> Result<(f64, f64, f64)> {
    let mut r = rng(seed ^ 0x7e3);
    let (mut swap_ok, mut insert_ok, mut drop_ok) = (0usize, 0usize, 0usize);
    let opts = DetectOptions::default();
    let bar = progress(trials as u64, "temporal tamper");
    for _ in 0..trials {
        let key = random_key(&mut r);
        let ring = KeyRing::single(key.clone());
        let latent = embed(&key, Payload::new(r.gen()), SHAPE, &mut r)?;

        let at = r.gen_range(0..SHAPE.frames - 1);
        let mut order: Vec<usize> = (0..SHAPE.frames).collect();
        order.swap(at, at + 1);
        let d = detect(&ring, &select_frames(&latent, SHAPE, &order), SHAPE, &opts)?;
        swap_ok += usize::from(
            !d.temporal().is_empty()
                && d.temporal().iter().all(|e| matches!(e, TemporalEvent::Reordered { observed, .. } if *observed == at || *observed == at + 1)),
        );

        let at = r.gen_range(0..=SHAPE.frames);
        let (inserted, shape) = insert_foreign(&latent, SHAPE, at, &mut r);
        let d = detect(&ring, &inserted, shape, &opts)?;
        insert_ok += usize::from(d.temporal() == vec![TemporalEvent::Inserted { observed: at }]);

        // Drop an inner frame (a dropped last frame leaves no trace without the original length).
        let gone = r.gen_range(0..SHAPE.frames - 1);
        let order: Vec<usize> = (0..SHAPE.frames).filter(|&f| f != gone).collect();
        let shape = LatentShape {
            frames: SHAPE.frames - 1,
            ..SHAPE
        };
        let d = detect(&ring, &select_frames(&latent, SHAPE, &order), shape, &opts)?;
        drop_ok += usize::from(
            d.temporal()
                == vec![TemporalEvent::Dropped {
                    first: gone,
                    last: gone,
                    before: gone,
                }],
        );
        bar.inc(1);
    }
    bar.finish_and_clear();
    let n = trials as f64;
    Ok((swap_ok as f64 / n, insert_ok as f64 / n, drop_ok as f64 / n))
}

/// What the spatial trials do to a quarter of the frame (a 16×16 region of the 32×32 latent at a
/// random position, every frame).
#[derive(Clone, Copy)]
enum RegionEdit {
    /// Replaced by fresh noise (foreign content).
    Foreign,
    /// Pasted from another clip made with the same key (same pilots, other payload).
    Splice,
    /// Not edited, but the mark is weaker there (sign flips 35 % against 10 % elsewhere), as in
    /// the smooth areas of a real clip: any flagged block is a false alarm.
    WeakerOnly,
}

/// Mean and worst IoU of the flagged blocks against the region (latent pixels) for an edit; for
/// `WeakerOnly`, the fraction of trials with any block flagged (and 0).
fn spatial_trials(trials: usize, seed: u64, edit: RegionEdit) -> Result<(f64, f64)> {
    let mut r = rng(seed ^ 0x59a7 ^ edit as u64);
    let mut scores = Vec::with_capacity(trials);
    let bar = progress(trials as u64, "spatial tamper");
    let plane = SHAPE.height * SHAPE.width;
    for _ in 0..trials {
        let key = random_key(&mut r);
        let mut latent = embed(&key, Payload::new(r.gen()), SHAPE, &mut r)?;
        let (y0, x0) = (r.gen_range(0..=16), r.gen_range(0..=16));
        let inside = |i: usize| {
            let (y, x) = ((i % plane) / SHAPE.width, i % SHAPE.width);
            (y0..y0 + 16).contains(&y) && (x0..x0 + 16).contains(&x)
        };
        match edit {
            RegionEdit::Foreign => replace_region(&mut latent, SHAPE, (y0, x0, 16, 16), &mut r),
            RegionEdit::Splice => {
                let other = embed(&key, Payload::new(r.gen()), SHAPE, &mut r)?;
                for (i, v) in latent.iter_mut().enumerate() {
                    if inside(i) {
                        *v = other[i];
                    }
                }
            }
            RegionEdit::WeakerOnly => {
                let (weak, strong) = (sigma_for_flip_rate(0.35), sigma_for_flip_rate(0.10));
                let jitter = gaussian(latent.len(), &mut r);
                for (i, (v, j)) in latent.iter_mut().zip(&jitter).enumerate() {
                    *v += *j * if inside(i) { weak } else { strong } as f32;
                }
            }
        }
        let d = detect(
            &KeyRing::single(key),
            &latent,
            SHAPE,
            &DetectOptions::default(),
        )?;
        let Some(map) = d.spatial() else {
            scores.push(0.0);
            continue;
        };
        if let RegionEdit::WeakerOnly = edit {
            scores.push(f64::from(u8::from(map.tampered.contains(&true))));
            bar.inc(1);
            continue;
        }
        let (mut inter, mut union) = (0usize, 0usize);
        for y in 0..SHAPE.height {
            for x in 0..SHAPE.width {
                let truth = (y0..y0 + 16).contains(&y) && (x0..x0 + 16).contains(&x);
                let flagged = map.tampered[(y / map.block) * map.grid_width + x / map.block];
                inter += usize::from(truth && flagged);
                union += usize::from(truth || flagged);
            }
        }
        scores.push(inter as f64 / union.max(1) as f64);
        bar.inc(1);
    }
    bar.finish_and_clear();
    let mean = scores.iter().sum::<f64>() / scores.len().max(1) as f64;
    let min = match edit {
        RegionEdit::WeakerOnly => 0.0,
        _ => scores.iter().copied().fold(f64::INFINITY, f64::min),
    };
    Ok((mean, min))
}

/// Median wall time of the one-shot API (key derivation and templates included) on one core.
fn speed(seed: u64) -> Result<(f64, f64)> {
    let mut r = rng(seed ^ 0x5eed5);
    let key = random_key(&mut r);
    let ring = KeyRing::single(key.clone());
    let mut embed_ms = Vec::new();
    let mut detect_ms = Vec::new();
    for i in 0..200 {
        let t = Instant::now();
        let latent = embed(&key, Payload::new(i), SHAPE, &mut r)?;
        embed_ms.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        let d = detect(&ring, &latent, SHAPE, &DetectOptions::default())?;
        detect_ms.push(t.elapsed().as_secs_f64() * 1e3);
        if d.payload() != Some(Payload::new(i)) {
            return Err(EvalError::Measurement(
                "speed run: payload not recovered".into(),
            ));
        }
    }
    Ok((median(&mut embed_ms), median(&mut detect_ms)))
}
