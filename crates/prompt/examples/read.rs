//! Reads prompts given as arguments (or one per line on stdin) and prints each reading.
//! `cargo run -p candor-prompt --example read -- "a crimson ball drifting left at dusk"`
use std::io::BufRead;
use std::path::Path;
use std::time::Instant;

use candor_prompt::{PromptReader, World};

include!("../tests/common/world.rs");

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models");
    let t = Instant::now();
    let reader = PromptReader::open_default(world(), &models)?;
    eprintln!("{} loaded in {:.0?}", reader.encoder(), t.elapsed());
    if let Some(f) = reader.fallback() {
        eprintln!("{f}");
    }
    let mut prompts: Vec<String> = std::env::args().skip(1).collect();
    if prompts.is_empty() {
        prompts = std::io::stdin().lock().lines().collect::<Result<_, _>>()?;
    }
    if prompts.first().map(String::as_str) == Some("--explain") {
        for p in &prompts[1..] {
            println!("{p}");
            for (kind, values) in ["colour", "shape", "motion", "background", "undrawable"]
                .iter()
                .zip(reader.explain(p)?)
            {
                let top: Vec<String> = values
                    .iter()
                    .take(4)
                    .map(|(v, s)| format!("{v} {s:.2}"))
                    .collect();
                println!("  {kind:<10} {}", top.join(", "));
            }
        }
        return Ok(());
    }
    for p in prompts {
        let t = Instant::now();
        let r = reader.read(&p)?;
        println!(
            "{p}\n  {}\n  caption: {}  ({:.0?})",
            r.describe(),
            r.caption(),
            t.elapsed()
        );
    }
    Ok(())
}
