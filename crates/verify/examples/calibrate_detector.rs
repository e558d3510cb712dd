//! Calibrates the detector's channel weights for a model: how well each latent channel keeps the
//! watermark's signs after heavy re-encoding.
//!
//! `cargo run -p candor-verify --example calibrate_detector -- MODEL_DIR IDENTITY_DIR [--write] CLEAN ATTACKED [CLEAN ATTACKED ...]`
//!
//! For each pair, the payload is read from the clean clip, and the attacked clip's latent (read
//! as the detector reads it) is compared element by element with the signs the watermark gave
//! the initial noise. The weight of a channel is `2 × agreement − 1` over all pairs (0 when it
//! keeps nothing): the matched filter for the clip-wide test. `--write` stores the weights in the
//! model's `config.json` (`detector_channel_weights`). Use clips that no benchmark uses
//! (`scripts/calibrate-detector.sh` makes them).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use candle_core::Device;
use candor_diffusion::DiffusionModel;
use candor_manifest::Identity;
use candor_media::{DecodeOptions, FrameReader};
use candor_verify::{check_file, estimate_noise, WatermarkOptions};
use candor_watermark::{embed, KeyRing, LatentShape, WatermarkKey};
use rand::SeedableRng;

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let write = args.iter().any(|a| a == "--write");
    args.retain(|a| a != "--write");
    if args.len() < 4 || !args.len().is_multiple_of(2) {
        eprintln!("usage: calibrate_detector MODEL_DIR IDENTITY_DIR [--write] CLEAN ATTACKED ...");
        std::process::exit(2);
    }
    let model_dir = Path::new(&args[0]);
    let model = DiffusionModel::load(model_dir, &Device::Cpu).unwrap();
    let key = WatermarkKey::new(
        Identity::load(Path::new(&args[1]))
            .unwrap()
            .watermark_secret(),
    );
    let ring = KeyRing::single(key.clone());
    let steps = model.config.default_inversion_steps();
    let options = WatermarkOptions {
        geometry_search: false,
        ..WatermarkOptions::for_model(&model.config)
    };
    let mut agree: Vec<u64> = Vec::new();
    let mut total: Vec<u64> = Vec::new();
    for pair in args[2..].chunks_exact(2) {
        let clean = check_file(Path::new(&pair[0]), &model, &ring, &options).unwrap();
        let Some(payload) = clean.detection.payload() else {
            eprintln!("{}: no payload, skipped", pair[0]);
            continue;
        };
        let frames: Vec<Vec<u8>> = FrameReader::open(Path::new(&pair[1]), DecodeOptions::default())
            .unwrap()
            .map(|f| {
                f.unwrap()
                    .resized_area(model.config.size, model.config.size)
            })
            .collect();
        let noise = estimate_noise(&model, &frames, steps).unwrap();
        let (f, c, h, w) = noise.dims4().unwrap();
        let values: Vec<f32> = noise.flatten_all().unwrap().to_vec1().unwrap();
        let mut rng = rand::rngs::StdRng::seed_from_u64(0);
        let expected = embed(&key, payload, LatentShape::new(f, c, h, w), &mut rng).unwrap();
        agree.resize(c, 0);
        total.resize(c, 0);
        for (i, (v, e)) in values.iter().zip(&expected).enumerate() {
            let channel = (i / (h * w)) % c;
            total[channel] += 1;
            agree[channel] += u64::from((*v > 0.0) == (*e > 0.0));
        }
        let overall = agree.iter().sum::<u64>() as f64 / total.iter().sum::<u64>().max(1) as f64;
        eprintln!("{}: running agreement {overall:.4}", pair[1]);
    }
    let weights: Vec<f32> = agree
        .iter()
        .zip(&total)
        .map(|(&a, &n)| {
            let rate = a as f64 / n.max(1) as f64;
            ((2.0 * rate - 1.0).max(0.0) * 1000.0).round() as f32 / 1000.0
        })
        .collect();
    println!("{}", serde_json::to_string(&weights).unwrap());
    if write {
        let path = model_dir.join("config.json");
        let mut config: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        config["detector_channel_weights"] = serde_json::json!(weights);
        std::fs::write(&path, serde_json::to_string_pretty(&config).unwrap() + "\n").unwrap();
        eprintln!("wrote {}", path.display());
    }
}
