//! Accuracy per slot on tests/data/calibration.json, and (with `--grid`) a coordinate search of
//! the thresholds. `cargo run -p candor-prompt --release --example calibrate [-- --grid] [--mistakes] [--set other.json]`
#[path = "../tests/common/calibration.rs"]
mod calibration;

use std::path::Path;

use candor_prompt::{PromptReader, Thresholds, World};

include!("../tests/common/world.rs");

/// `t` with threshold number `field` (colour, shape, motion, background, undrawable, margin) set
/// to `v`.
fn with_field(mut t: Thresholds, field: usize, v: f32) -> Thresholds {
    match field {
        0 => t.colour = v,
        1 => t.shape = v,
        2 => t.motion = v,
        3 => t.background = v,
        4 => t.undrawable = v,
        _ => t.margin = v,
    }
    t
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = std::env::var_os("CANDOR_TEXT_ENCODER").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/text-encoder"),
        Into::into,
    );
    let mut reader = PromptReader::open(&dir, world())?;
    let set = match args.iter().position(|a| a == "--set") {
        Some(i) => calibration::load_from(&args[i + 1]),
        None => calibration::load(),
    };
    if args.iter().any(|a| a == "--grid") {
        let mut best = reader.thresholds();
        let mut best_score = calibration::score(&reader, &set).objective();
        for _round in 0..2 {
            for field in 0..6 {
                for step in 0..=12 {
                    let v = if field == 5 {
                        0.005 * step as f32
                    } else {
                        0.35 + 0.025 * step as f32
                    };
                    let t = with_field(best, field, v);
                    reader.set_thresholds(t);
                    let s = calibration::score(&reader, &set).objective();
                    if s > best_score + 1e-9 {
                        best_score = s;
                        best = t;
                    }
                }
            }
            println!("after a round: {best:?} objective {best_score:.4}");
        }
        // How wide the plateau is around the chosen values: one field at a time.
        let names = [
            "colour",
            "shape",
            "motion",
            "background",
            "undrawable",
            "margin",
        ];
        for (field, name) in names.iter().enumerate() {
            let mut same = Vec::new();
            for step in 0..=16 {
                let v = if field == 5 {
                    0.01 * step as f32
                } else {
                    0.3 + 0.025 * step as f32
                };
                let t = with_field(best, field, v);
                reader.set_thresholds(t);
                if calibration::score(&reader, &set).objective() >= best_score - 1e-9 {
                    same.push(format!("{v:.3}"));
                }
            }
            println!("{name}: best objective at {}", same.join(" "));
        }
        reader.set_thresholds(best);
    }
    let t: Thresholds = reader.thresholds();
    let s = calibration::score(&reader, &set);
    println!("thresholds: {t:?}");
    print!("{}", s.table());
    for f in &s.false_refusals {
        println!("FALSE REFUSAL: {f}");
    }
    if args.iter().any(|a| a == "--mistakes") {
        for m in &s.mistakes {
            println!("{m}");
        }
    }
    Ok(())
}
