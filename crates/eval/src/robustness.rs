//! `candor bench robustness`: generated clips attacked with the ffmpeg CLI (re-encodes, resizes,
//! crops, frame drops, colour changes, noise, blur, flips), then looked for by the detector at the
//! operating false-positive rate; also counts false tamper alarms (no attack here edits a region).

use std::fmt::Write;
use std::path::PathBuf;

use candor_diffusion::data::{Motion, BACKGROUNDS, COLOURS, COLOURS_BEFORE_V4, SHAPES};
use candor_generate::{generate, world, GenerateOptions, PromptReader};
use candor_verify::{check_file, content_match, read_frames, store_payloads, WatermarkOptions};
use candor_watermark::OPERATING_FPR;
use serde::{Deserialize, Serialize};
use serde_json::json;

use candor_manifest::{read_manifest, TrustAnchors};
use candor_media::fingerprint::{ClipFingerprint, FingerprintMatch};

use crate::attacks::{apply, Attack, ATTACKS};
use crate::{median, progress};
use crate::{BenchSetup, DetectorConfig};
use crate::{EvalError, Report, Result};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RobustnessConfig {
    /// Clips to generate; every attack is applied to each.
    pub clips: usize,
    /// Only these attacks (comma-separated names; see the list printed with --list).
    pub attacks: Vec<String>,
    pub detector: DetectorConfig,
    /// Keep the clips and attacked copies in this directory (default: a temporary one, removed).
    pub keep: Option<PathBuf>,
    /// Write every fingerprint comparison here as JSON lines (`kind` "copy": an attacked copy
    /// against its own clip; `kind` "other": a pair of different clips).
    pub matches: Option<PathBuf>,
}

#[derive(Default)]
struct Tally {
    detected: usize,
    exact: usize,
    /// Payloads picked from the store's soft bindings (too faint to decode on their own).
    from_store: usize,
    log10_p: Vec<f64>,
    ber: f64,
    errors: usize,
    /// Detected clips whose tamper map flagged a region. No attack here edits a region, so
    /// every one is a false alarm.
    region_flagged: usize,
    /// Detected clips with frame edits reported (true for the attacks that drop or repeat
    /// frames, false alarms for the rest).
    frame_edits: usize,
    /// Detected copies whose content matches the fingerprint signed into the clip's manifest
    /// (what recovery requires before it attaches stored credentials).
    content_bound: usize,
    /// The lowest motion correlation of a detected copy against its own clip's fingerprint
    /// (where the clip moves): how much room the motion bar leaves genuine copies.
    lowest_motion: Option<f32>,
    /// Every attacked copy, detected or not, against its own clip's fingerprint: detected ones
    /// as recovery compares them, the others frame for frame where they kept the clip's frame
    /// count (a copy the mark was lost from is never offered for binding, but this is how far
    /// the fingerprint alone carries).
    every_copy: EveryCopy,
}

#[derive(Default)]
struct EveryCopy {
    compared: usize,
    accepted: usize,
    /// Copies that could not be compared: undetected, with another frame count than the clip's.
    not_compared: usize,
    /// The compared copy with the lowest layout correlation.
    weakest: Option<FingerprintMatch>,
}

impl EveryCopy {
    fn add(&mut self, m: Option<FingerprintMatch>) {
        let Some(m) = m else {
            self.not_compared += 1;
            return;
        };
        self.compared += 1;
        self.accepted += usize::from(m.same_content());
        if self
            .weakest
            .is_none_or(|w| m.layout_correlation < w.layout_correlation)
        {
            self.weakest = Some(m);
        }
    }
}

/// An attacked copy the mark was not found in, against the clip's fingerprint frame for frame
/// (the only alignment there is without the mark); `None` when it cannot be read or kept another
/// number of frames.
fn frame_for_frame(
    recorded: &ClipFingerprint,
    copy: &std::path::Path,
    native: usize,
) -> Option<FingerprintMatch> {
    let n = recorded.frames.len();
    let (frames, _) = read_frames(copy, native, Some(n + 1), false).ok()?;
    let seen = ClipFingerprint::of_frames(&frames, native)?;
    (seen.frames.len() == n)
        .then(|| recorded.compare(&seen, &(0..n).map(|i| (i, i)).collect::<Vec<_>>()))
}

pub fn run(args: &RobustnessConfig) -> Result<Report> {
    if args.clips == 0 {
        return Err(EvalError::Config("clips must be at least 1".into()));
    }
    let attacks: Vec<&Attack> = if args.attacks.is_empty() {
        ATTACKS.iter().collect()
    } else {
        args.attacks
            .iter()
            .map(|n| {
                ATTACKS.iter().find(|a| a.name == n).ok_or_else(|| {
                    EvalError::Config(format!(
                        "unknown attack '{n}' (candor bench robustness --list shows them)"
                    ))
                })
            })
            .collect::<std::result::Result<_, _>>()?
    };
    let BenchSetup {
        model,
        inversion_steps,
        identity,
        ring,
        dir,
        store,
    } = BenchSetup::open(&args.detector, args.keep.as_deref(), "robust")?;
    let mut options = WatermarkOptions {
        inversion_steps,
        ..WatermarkOptions::for_model(&model.config)
    };

    let mut tallies: Vec<Tally> = attacks.iter().map(|_| Tally::default()).collect();
    let bar = progress(
        (args.clips * (attacks.len() + 1)) as u64,
        "generate + attack + detect",
    );
    let mut fingerprints = Vec::with_capacity(args.clips);
    let mut seen = Vec::with_capacity(args.clips);
    let mut unbound: Vec<serde_json::Value> = Vec::new();
    // Every comparison, kept only for `matches`.
    let keep_lines = args.matches.is_some();
    let mut lines: Vec<serde_json::Value> = Vec::new();
    for i in 0..args.clips {
        let clip = dir.join(format!("clip-{i:03}.mp4"));
        let mut gen_options = GenerateOptions::for_native_size(model.config.size);
        gen_options.seed = 1000 + i as u64;
        // Fixed content ids too: the whole run is the same run after run.
        gen_options.content_id = Some(0x726f_6200_0000 + i as u64);
        let g = generate(
            &model,
            &PromptReader::keywords(world()),
            &identity,
            &store,
            &prompt(i),
            &clip,
            &gen_options,
            |_, _| {},
        )?;
        // As `candor verify` does: a faint payload is compared with every binding in the store.
        options.candidate_payloads = store_payloads(&store)?;
        let recorded = read_manifest(&clip, None, &TrustAnchors::none())?
            .generation
            .and_then(|g| g.content_fingerprint)
            .and_then(|f| ClipFingerprint::decode(&f));
        let Some(recorded) = recorded else {
            return Err(EvalError::Measurement(format!(
                "{}: no content fingerprint in its manifest",
                clip.display()
            )));
        };
        bar.inc(1);
        for (attack, tally) in attacks.iter().zip(&mut tallies) {
            let out = dir.join(format!("clip-{i:03}-{}.{}", attack.name, attack.ext));
            let result = apply(attack, &clip, &out)
                .and_then(|()| check_file(&out, &model, &ring, &options).map_err(EvalError::from));
            match result {
                Ok(r) => {
                    tally.detected += usize::from(r.present);
                    tally.exact +=
                        usize::from(r.content_id.as_deref() == Some(g.content_id.as_str()));
                    tally.from_store += usize::from(r.payload_match.is_some());
                    tally.log10_p.push(r.detection.log10_p_value());
                    tally.ber += f64::from(r.detection.bit_error_rate());
                    let d = &r.detection;
                    tally.region_flagged += usize::from(
                        r.present && d.spatial().is_some_and(|m| m.tampered.contains(&true)),
                    );
                    tally.frame_edits += usize::from(r.present && !d.temporal().is_empty());
                    let m = r.present.then(|| content_match(&recorded, &r)).flatten();
                    if let Some(mc) = m.and_then(|m| m.motion_correlation) {
                        tally.lowest_motion =
                            Some(tally.lowest_motion.map_or(mc, |low: f32| low.min(mc)));
                    }
                    tally.content_bound += usize::from(m.is_some_and(|m| m.same_content()));
                    if let Some(m) = m.filter(|m| !m.same_content()) {
                        unbound.push(json!({"clip": i, "attack": attack.name, "match": m}));
                    }
                    let compared = if r.present {
                        m
                    } else {
                        frame_for_frame(&recorded, &out, model.config.size)
                    };
                    if let Some(c) = compared.filter(|_| keep_lines) {
                        lines.push(json!({"kind": "copy", "clip": i, "attack": attack.name,
                            "detected": r.present, "same_content": c.same_content(), "match": c}));
                    }
                    tally.every_copy.add(compared);
                }
                Err(e) => {
                    tally.errors += 1;
                    bar.println(format!("{}: {e}", out.display()));
                }
            }
            bar.inc(1);
        }
        // The clip as the detector reads it, to hold against every other clip's fingerprint.
        seen.push(check_file(&clip, &model, &ring, &options)?);
        fingerprints.push(recorded);
    }
    bar.finish_and_clear();
    // Every ordered pair of different clips, through the same check recovery makes (alignment,
    // placements, edited cells): the fingerprint must tell them apart.
    let (mut pairs, mut false_matches, mut highest) = (0usize, 0usize, f32::NEG_INFINITY);
    // Pairs that agree in everything but motion: the motion bar alone keeps them apart, so the
    // highest motion correlation among them is the other side of the bar's margin; pairs that
    // agree in everything and have no motion to compare are matched by layout and colour alone.
    let (mut motion_only, mut highest_motion, mut static_agreeing) =
        (0usize, f32::NEG_INFINITY, 0usize);
    let mut closest = Vec::new();
    for (i, recorded) in fingerprints.iter().enumerate() {
        for (j, report) in seen.iter().enumerate() {
            if i == j {
                continue;
            }
            let Some(m) = content_match(recorded, report) else {
                continue;
            };
            pairs += 1;
            false_matches += usize::from(m.same_content());
            let still = FingerprintMatch {
                motion_correlation: None,
                ..m
            };
            if still.same_content() {
                match m.motion_correlation {
                    Some(mc) => {
                        motion_only += 1;
                        highest_motion = highest_motion.max(mc);
                    }
                    None => static_agreeing += 1,
                }
            }
            highest = highest.max(m.layout_correlation);
            if keep_lines {
                lines.push(json!({"kind": "other", "fingerprint_of": i, "observed": j,
                    "same_content": m.same_content(), "match": m}));
            }
            closest.push((i, j, m));
        }
    }
    closest.sort_by(|a, b| b.2.layout_correlation.total_cmp(&a.2.layout_correlation));
    let closest_pairs: Vec<serde_json::Value> = closest
        .iter()
        .take(10)
        .map(|(i, j, m)| json!({"fingerprint_of": i, "observed": j, "prompts": [prompt(*i), prompt(*j)], "match": m}))
        .collect();
    if let Some(path) = &args.matches {
        let mut text = String::new();
        for line in &lines {
            let _ = writeln!(text, "{line}");
        }
        std::fs::write(path, text).map_err(|source| EvalError::Io {
            path: path.clone(),
            source,
        })?;
    }
    let n = args.clips as f64;
    let rows: Vec<serde_json::Value> = attacks
        .iter()
        .zip(&mut tallies)
        .map(|(a, t)| {
            json!({
                "attack": a.name,
                "ffmpeg": a.args().join(" "),
                "detected": t.detected as f64 / n,
                "payload_exact": t.exact as f64 / n,
                "payload_from_store": t.from_store as f64 / n,
                "median_log10_p": median(&mut t.log10_p),
                "mean_bit_error_rate": t.ber / (n - t.errors as f64).max(1.0),
                "errors": t.errors,
                "region_flagged": t.region_flagged as f64 / n,
                "frame_edits_reported": t.frame_edits as f64 / n,
                "content_bound": t.content_bound as f64 / t.detected.max(1) as f64,
                "lowest_motion_correlation": t.lowest_motion,
                "fingerprint_every_copy": {
                    "compared": t.every_copy.compared,
                    "accepted": t.every_copy.accepted,
                    "not_compared": t.every_copy.not_compared,
                    "weakest": t.every_copy.weakest,
                },
            })
        })
        .collect();
    let doc = json!({
        "benchmark": "robustness",
        "model": model.config.name,
        "clips": args.clips,
        "inversion_steps": inversion_steps,
        "operating_false_positive_rate": OPERATING_FPR,
        "attacks": rows,
        "fingerprint_other_clips": {
            "pairs": pairs,
            "false_matches": false_matches,
            "highest_layout_correlation": highest,
            "agreeing_but_for_motion": motion_only,
            "highest_motion_correlation_of_those": (motion_only > 0).then_some(highest_motion),
            "agreeing_without_motion_to_compare": static_agreeing,
            // The ten pairs closest to matching (by layout correlation), with every figure the
            // check uses, and every genuine copy the check did not bind: where the thresholds sit.
            "closest_pairs": closest_pairs,
            "unbound_copies": unbound,
        },
    });
    let mut text = String::new();
    let _ =
        writeln!(text,
        "Robustness: {} generated clips per attack, {} inversion steps, detection at FPR {:.0e}",
        args.clips, inversion_steps, OPERATING_FPR
    );
    let _ = writeln!(
        text,
        "  {:<22} {:>9} {:>9} {:>11} {:>14} {:>8} {:>15} {:>12} {:>8} {:>11} {:>12}",
        "attack",
        "detected",
        "exact",
        "from store",
        "median log10 p",
        "BER",
        "region flagged",
        "frame edits",
        "bound",
        "min motion",
        "every copy"
    );
    for r in &rows {
        let _ = writeln!(
            text,
            "  {:<22} {:>8.0}% {:>8.0}% {:>10.0}% {:>14.1} {:>8.3} {:>14.0}% {:>11.0}% {:>7.0}% {:>11} {:>12}",
            r["attack"].as_str().unwrap_or(""),
            r["detected"].as_f64().unwrap_or(0.0) * 100.0,
            r["payload_exact"].as_f64().unwrap_or(0.0) * 100.0,
            r["payload_from_store"].as_f64().unwrap_or(0.0) * 100.0,
            r["median_log10_p"].as_f64().unwrap_or(0.0),
            r["mean_bit_error_rate"].as_f64().unwrap_or(0.0),
            r["region_flagged"].as_f64().unwrap_or(0.0) * 100.0,
            r["frame_edits_reported"].as_f64().unwrap_or(0.0) * 100.0,
            r["content_bound"].as_f64().unwrap_or(0.0) * 100.0,
            r["lowest_motion_correlation"]
                .as_f64()
                .map_or("–".to_string(), |m| format!("{m:.2}")),
            {
                let e = &r["fingerprint_every_copy"];
                format!(
                    "{}/{}",
                    e["accepted"].as_u64().unwrap_or(0),
                    e["compared"].as_u64().unwrap_or(0)
                )
            },
        );
    }
    let _ =
        writeln!(
        text,
        "  bound: detected copies whose content matches the fingerprint signed into their clip's \
         manifest; every copy: all attacked copies that match it, of those compared (undetected \
         ones frame for frame).\n  Different clips: {false_matches} of {pairs} pairs matched (highest layout \
         correlation {highest:.2}; same content needs {:.2}).\n  Pairs agreeing in all but \
         motion: {motion_only} (highest motion correlation {}; the bar is {:.2}); agreeing with no \
         motion to compare: {static_agreeing}",
        candor_media::fingerprint::MIN_LAYOUT_CORRELATION,
        if motion_only > 0 { format!("{highest_motion:.2}") } else { "–".into() },
        candor_media::fingerprint::MIN_MOTION_CORRELATION,
    );
    if args.keep.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(Report::new(doc, text))
}

/// A varied prompt for clip `i`: every colour, shape, background and motion comes round. The
/// colours are the nine every shipped model draws (grey came with candor-shapes-v4), so a run
/// draws the same prompts whichever model it measures.
pub(crate) fn prompt(i: usize) -> String {
    let colour = COLOURS[i % COLOURS_BEFORE_V4].0;
    let shape = SHAPES[(i / 2) % SHAPES.len()];
    let bg = BACKGROUNDS[(i / 3) % BACKGROUNDS.len()];
    let motion = Motion::ALL[i % Motion::ALL.len()];
    format!("a {colour} {shape} {} over the {bg}", motion.phrase())
}
