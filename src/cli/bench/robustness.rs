//! `candor bench robustness`: generated clips attacked with the ffmpeg CLI (re-encodes, resizes,
//! crops, frame drops, colour changes, noise, blur, flips), then looked for by the detector at the
//! operating false-positive rate; also counts false tamper alarms (no attack here edits a region).

use std::path::{Path, PathBuf};
use std::process::Command;

use candor_detect::{check_file, store_payloads, WatermarkOptions};
use candor_diffusion::data::{Motion, BACKGROUNDS, COLOURS, SHAPES};
use candor_generate::{generate, GenerateOptions};
use candor_watermark::OPERATING_FPR;
use clap::Args;
use serde_json::json;

use super::super::{print_json, CliResult, Outcome};
use super::{median, progress};
use super::{BenchSetup, DetectorArgs};

#[derive(Debug, Args)]
pub struct RobustnessBenchArgs {
    /// Clips to generate; every attack is applied to each.
    #[arg(long, default_value_t = 30)]
    clips: usize,
    /// Only these attacks (comma-separated names; see the list printed with --list).
    #[arg(long, value_delimiter = ',')]
    attacks: Vec<String>,
    /// Print the attacks and the ffmpeg arguments of each, and exit.
    #[arg(long)]
    list: bool,
    #[command(flatten)]
    detector: DetectorArgs,
    /// Keep the clips and attacked copies in this directory (default: a temporary one, removed).
    #[arg(long)]
    keep: Option<PathBuf>,
    /// Print the figures as JSON.
    #[arg(long)]
    json: bool,
}

/// An attack: a name, the output extension and the ffmpeg arguments between input and output.
pub struct Attack {
    pub name: &'static str,
    pub ext: &'static str,
    /// Video filter graph (`-vf`), if the attack is a filter.
    pub filter: Option<&'static str>,
    /// Output (encoder) arguments.
    pub output: &'static [&'static str],
}

/// Filters re-encode with x264 CRF 18, so the filter is the attack, not the codec.
const X264_CRF18: &[&str] = &["-c:v", "libx264", "-crf", "18"];

impl Attack {
    /// A re-encode to `ext` with these encoder arguments.
    const fn encode(
        name: &'static str,
        ext: &'static str,
        output: &'static [&'static str],
    ) -> Self {
        Self {
            name,
            ext,
            filter: None,
            output,
        }
    }

    /// A video filter, then x264 CRF 18.
    const fn filter(name: &'static str, filter: &'static str) -> Self {
        Self {
            name,
            ext: "mp4",
            filter: Some(filter),
            output: X264_CRF18,
        }
    }

    /// The ffmpeg arguments between input and output.
    pub fn args(&self) -> Vec<&'static str> {
        let mut args = Vec::new();
        if let Some(f) = self.filter {
            args.extend(["-vf", f]);
        }
        args.extend(self.output);
        args
    }
}

pub const ATTACKS: &[Attack] = &[
    Attack::encode("none", "mp4", &["-c", "copy"]),
    Attack::encode("h264-crf23", "mp4", &["-c:v", "libx264", "-crf", "23"]),
    Attack::encode("h264-crf30", "mp4", &["-c:v", "libx264", "-crf", "30"]),
    Attack::encode("h264-crf40", "mp4", &["-c:v", "libx264", "-crf", "40"]),
    Attack::encode(
        "hevc-crf28",
        "mp4",
        &[
            "-c:v",
            "libx265",
            "-crf",
            "28",
            "-x265-params",
            "log-level=error",
            "-tag:v",
            "hvc1",
        ],
    ),
    Attack::encode(
        "vp9-crf40",
        "webm",
        &[
            "-c:v",
            "libvpx-vp9",
            "-b:v",
            "0",
            "-crf",
            "40",
            "-deadline",
            "realtime",
            "-cpu-used",
            "8",
        ],
    ),
    Attack {
        output: &["-c:v", "libx264", "-crf", "30"],
        ..Attack::filter("half-size-crf30", "scale=iw/2:-2")
    },
    Attack::filter("resize-0.5-and-back", "scale=iw/2:-2,scale=iw*2:-2"),
    Attack::filter(
        "crop-0.8-resize",
        "crop=iw*0.8:ih*0.8,scale='trunc(iw*1.25/2+0.5)*2':-2",
    ),
    Attack::filter("letterbox-4:3", "scale=iw:ih*3/4,pad=iw:ih*4/3:0:(oh-ih)/2"),
    Attack::filter("fps-8-to-12", "fps=12"),
    Attack {
        output: &["-r", "8", "-c:v", "libx264", "-crf", "18"],
        ..Attack::filter(
            "drop-25pct-frames",
            "select='not(eq(mod(n\\,4)\\,3))',setpts=N/8/TB",
        )
    },
    Attack::filter("brightness+20pct", "lutrgb=r=val*1.2:g=val*1.2:b=val*1.2"),
    Attack::filter("brightness-20pct", "lutrgb=r=val*0.8:g=val*0.8:b=val*0.8"),
    Attack::filter("contrast-1.3", "eq=contrast=1.3"),
    Attack::filter("gaussian-noise", "noise=alls=12:allf=t"),
    Attack::filter("blur-1.5", "gblur=sigma=1.5"),
    Attack::filter("hflip", "hflip"),
];

/// Runs `ffmpeg -i input ARGS output`.
pub fn apply(attack: &Attack, input: &Path, output: &Path) -> Result<(), String> {
    let status = Command::new("ffmpeg")
        .args(["-nostdin", "-loglevel", "error", "-y", "-i"])
        .arg(input)
        .args(attack.args())
        .arg(output)
        .status()
        .map_err(|e| format!("ffmpeg could not be run ({e}); it is needed for this benchmark"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "ffmpeg failed on attack {} ({status})",
            attack.name
        ))
    }
}

/// A varied prompt for clip `i`: every colour, shape, background and motion comes round.
pub(super) fn prompt(i: usize) -> String {
    let colour = COLOURS[i % COLOURS.len()].0;
    let shape = SHAPES[(i / 2) % SHAPES.len()];
    let bg = BACKGROUNDS[(i / 3) % BACKGROUNDS.len()];
    let motion = Motion::ALL[i % Motion::ALL.len()];
    format!("a {colour} {shape} {} over the {bg}", motion.phrase())
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
}

pub fn run(args: RobustnessBenchArgs) -> CliResult<Outcome> {
    if args.list {
        for a in ATTACKS {
            println!(
                "{:<22} ffmpeg -i IN {} OUT.{}",
                a.name,
                a.args().join(" "),
                a.ext
            );
        }
        return Ok(Outcome::Success);
    }
    if args.clips == 0 {
        return Err("--clips must be at least 1".into());
    }
    let attacks: Vec<&Attack> = if args.attacks.is_empty() {
        ATTACKS.iter().collect()
    } else {
        args.attacks
            .iter()
            .map(|n| {
                ATTACKS.iter().find(|a| a.name == n).ok_or_else(|| {
                    format!("unknown attack '{n}' (candor bench robustness --list shows them)")
                })
            })
            .collect::<Result<_, _>>()?
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
    for i in 0..args.clips {
        let clip = dir.join(format!("clip-{i:03}.mp4"));
        let mut gen_options = GenerateOptions::for_native_size(model.config.size);
        gen_options.seed = 1000 + i as u64;
        let g = generate(
            &model,
            &identity,
            &store,
            &prompt(i),
            &clip,
            &gen_options,
            |_, _| {},
        )
        .map_err(|e| e.to_string())?;
        // As `candor verify` does: a faint payload is compared with every binding in the store.
        options.candidate_payloads = store_payloads(&store).map_err(|e| e.to_string())?;
        bar.inc(1);
        for (attack, tally) in attacks.iter().zip(&mut tallies) {
            let out = dir.join(format!("clip-{i:03}-{}.{}", attack.name, attack.ext));
            let result = apply(attack, &clip, &out).and_then(|()| {
                check_file(&out, &model, &ring, &options).map_err(|e| e.to_string())
            });
            match result {
                Ok(r) => {
                    tally.detected += usize::from(r.present);
                    tally.exact +=
                        usize::from(r.content_id.as_deref() == Some(g.content_id.as_str()));
                    tally.from_store += usize::from(r.payload_match.is_some());
                    tally.log10_p.push(r.detection.log10_p_value);
                    tally.ber += f64::from(r.detection.bit_error_rate);
                    let d = &r.detection;
                    tally.region_flagged += usize::from(
                        r.present
                            && d.spatial
                                .as_ref()
                                .is_some_and(|m| m.tampered.contains(&true)),
                    );
                    tally.frame_edits += usize::from(r.present && !d.temporal.is_empty());
                }
                Err(e) => {
                    tally.errors += 1;
                    bar.println(format!("{}: {e}", out.display()));
                }
            }
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
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
    });
    if args.json {
        print_json(&doc)?;
    } else {
        println!(
            "Robustness: {} generated clips per attack, {} inversion steps, detection at FPR {:.0e}",
            args.clips, inversion_steps, OPERATING_FPR
        );
        println!(
            "  {:<22} {:>9} {:>9} {:>11} {:>14} {:>8} {:>15} {:>12}",
            "attack",
            "detected",
            "exact",
            "from store",
            "median log10 p",
            "BER",
            "region flagged",
            "frame edits"
        );
        for r in &rows {
            println!(
                "  {:<22} {:>8.0}% {:>8.0}% {:>10.0}% {:>14.1} {:>8.3} {:>14.0}% {:>11.0}%",
                r["attack"].as_str().unwrap_or(""),
                r["detected"].as_f64().unwrap_or(0.0) * 100.0,
                r["payload_exact"].as_f64().unwrap_or(0.0) * 100.0,
                r["payload_from_store"].as_f64().unwrap_or(0.0) * 100.0,
                r["median_log10_p"].as_f64().unwrap_or(0.0),
                r["mean_bit_error_rate"].as_f64().unwrap_or(0.0),
                r["region_flagged"].as_f64().unwrap_or(0.0) * 100.0,
                r["frame_edits_reported"].as_f64().unwrap_or(0.0) * 100.0,
            );
        }
    }
    if args.keep.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(Outcome::Success)
}
