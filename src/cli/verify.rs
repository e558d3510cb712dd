//! `candor verify`: check videos' Content Credentials and say what they show.
//!
//! Every file gets a [`FileReport`]: the manifest half (C2PA), the watermark half (latent
//! watermark, manifest recovery from the store) and one verdict combining both.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex};

use candle_core::Device;
use candor_detect::{
    add_watermark, store_payloads, verify_file, FileReport, WatermarkOptions, WatermarkSetup,
};
use candor_diffusion::DiffusionModel;
use candor_manifest::{CredentialState, Identity, ManifestReport, TrustAnchors};
use candor_store::ManifestStore;
use candor_watermark::{KeyRing, WatermarkKey};
use clap::Args;

use super::generate::model_dir;
use super::identity::default_identity_dir;
use super::{existing, CliResult, Outcome};

#[derive(Debug, Args)]
#[command(
    after_help = "States: Trusted (intact, signer chains to a --trust anchor); Valid (intact, signer not \
trusted); Invalid (content or manifest changed after signing, or the signature fails); None (no credentials).\n\
Without --trust no signer is ever trusted.\n\n\
Examples:\n  candor verify clip.mp4 --trust identity/root.pem\n  candor verify a.mp4 b.mov --json\n  \
candor verify init.mp4 --fragments 'seg_*.m4s'\n  candor verify uploads/ --recursive --jobs 2 --json > verdicts.jsonl"
)]
pub struct VerifyArgs {
    /// Videos to check (directories with --recursive).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Check every video file under the directories given.
    #[arg(short, long)]
    recursive: bool,
    /// PEM file of root certificates to trust (repeatable). Nothing is trusted by default.
    #[arg(long = "trust", value_name = "PEM")]
    trust: Vec<PathBuf>,
    /// Fragmented MP4 / DASH: glob of the fragments that go with the (single) init segment given.
    #[arg(long, value_name = "GLOB")]
    fragments: Option<String>,
    /// Exit 1 when a file carries no Content Credentials.
    #[arg(long)]
    require_credentials: bool,
    /// Exit 1 when credentials are intact but the signer is not trusted.
    #[arg(long)]
    require_trusted: bool,
    /// One JSON object per file (JSON Lines) instead of text.
    #[arg(long)]
    json: bool,
    /// Check Content Credentials only; skip the watermark (faster).
    #[arg(long)]
    no_watermark: bool,
    /// Identity directory whose watermark key to look for (repeatable). Default: $CANDOR_IDENTITY,
    /// else the public test identity keys/dev. Each extra key multiplies the false-positive rate.
    #[arg(long = "watermark-key", value_name = "DIR")]
    watermark_keys: Vec<PathBuf>,
    /// Model whose DDIM inversion estimates the initial noise (default: the shipped model).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Manifest store used to recover stripped credentials. Default: $CANDOR_STORE, else ~/.local/share/candor/manifests.db.
    #[arg(long)]
    store: Option<PathBuf>,
    /// Also write a self-contained HTML report (verdicts, signer, watermark plots, tamper maps).
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// DDIM inversion steps (model evaluations; 0 reads the latent itself). Default: the
    /// model's, chosen from its measured robustness curve (see docs/BENCHMARKS.md).
    #[arg(long)]
    inversion_steps: Option<usize>,
    /// Do not try undoing crops, zooms and letterboxes when the frame as it is shows no watermark
    /// (faster on clean video; the stated false-positive rate is the same either way).
    #[arg(long)]
    no_geometry_search: bool,
    /// Files checked at once (default: one per CPU core). Results still come out in input order.
    #[arg(short, long, value_name = "N")]
    jobs: Option<usize>,
}

fn watermark_setup(args: &VerifyArgs) -> Result<WatermarkSetup, String> {
    let model = DiffusionModel::load(&model_dir(args.model.as_deref()), &Device::Cpu)
        .map_err(|e| e.to_string())?;
    let dirs = if args.watermark_keys.is_empty() {
        vec![std::env::var_os("CANDOR_IDENTITY")
            .map(PathBuf::from)
            .unwrap_or_else(default_identity_dir)]
    } else {
        args.watermark_keys.clone()
    };
    let keys = dirs
        .iter()
        .map(|d| {
            Identity::load(d)
                .map(|i| WatermarkKey::new(i.watermark_secret()))
                .map_err(|e| e.to_string())
        })
        .collect::<Result<Vec<_>, _>>()?;
    let store_path = args
        .store
        .clone()
        .unwrap_or_else(candor_store::default_path);
    let store = if store_path.is_file() {
        Some(ManifestStore::open(&store_path).map_err(|e| e.to_string())?)
    } else {
        None
    };
    // The store's soft bindings: a mark too faint to decode is compared with each.
    let candidate_payloads = match &store {
        Some(store) => store_payloads(store).map_err(|e| e.to_string())?,
        None => Vec::new(),
    };
    let defaults = WatermarkOptions::for_model(&model.config);
    let options = WatermarkOptions {
        inversion_steps: args.inversion_steps.unwrap_or(defaults.inversion_steps),
        geometry_search: !args.no_geometry_search,
        candidate_payloads,
        ..defaults
    };
    Ok(WatermarkSetup {
        model,
        ring: KeyRing::new(keys),
        store: store.map(Mutex::new),
        options,
    })
}

const VIDEO_EXTENSIONS: &[&str] = &["mp4", "m4v", "mov", "mkv", "webm", "avi", "m4s"];

/// Files under `dir`, sorted, with video extensions.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        out.push(dir.to_path_buf()); // reported as unreadable
        return;
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            walk(&p, out);
        } else if p
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| VIDEO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        {
            out.push(p);
        }
    }
}

pub fn run(mut args: VerifyArgs) -> CliResult<Outcome> {
    existing(&args.trust)?;
    if args.recursive {
        let mut files = Vec::new();
        for f in &args.files {
            if f.is_dir() {
                walk(f, &mut files);
            } else {
                files.push(f.clone());
            }
        }
        if files.is_empty() {
            return Err("no video files found".into());
        }
        args.files = files;
    } else if let Some(dir) = args.files.iter().find(|f| f.is_dir()) {
        return Err(format!(
            "{} is a directory (pass --recursive to check the videos in it)",
            dir.display()
        ));
    }
    let anchors = TrustAnchors::from_files(&args.trust).map_err(|e| e.to_string())?;
    let fragments = match &args.fragments {
        Some(pattern) => {
            if args.files.len() != 1 {
                return Err("--fragments goes with exactly one init segment".into());
            }
            Some(expand_fragments(&args.files[0], pattern)?)
        }
        None => None,
    };

    let (setup, setup_note) = if args.no_watermark {
        (None, Some("not checked (--no-watermark)".to_string()))
    } else {
        match watermark_setup(&args) {
            Ok(s) => (Some(s), None),
            Err(e) => (None, Some(format!("not checked: {e}"))),
        }
    };
    let mut worst = Outcome::Success;
    let mut counts = [0usize; 5]; // trusted, valid, invalid, none, error
    let mut reports = Vec::new();
    let bar = super::bench::progress(args.files.len() as u64, "verifying");
    if args.files.len() < 2 {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let check = |file: &PathBuf| {
        let mut report = verify_file(file, fragments.as_deref(), &anchors);
        if report.status != "error" {
            match &setup {
                Some(s) => add_watermark(&mut report, s, &anchors),
                None => report.watermark_note = setup_note.clone(),
            }
        }
        report
    };
    let jobs = args.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    let mut print_error = None;
    for_each_in_order(&args.files, jobs, check, |report| {
        let outcome = match (&report.manifest, report.status) {
            (_, "error") => Outcome::InputError,
            (_, "failed") => Outcome::Failed,
            (Some(m), _) => judge(m, &report, &args),
            (None, _) => Outcome::InputError,
        };
        let slot = match report.manifest.as_ref().map(|m| m.state) {
            Some(CredentialState::Trusted) => 0,
            Some(CredentialState::Valid) => 1,
            Some(CredentialState::Invalid) => 2,
            Some(CredentialState::None) => 3,
            None => 4,
        };
        counts[slot] += 1;
        worst = worst.max(outcome);
        if args.json {
            match serde_json::to_string(&report) {
                Ok(line) => println!("{line}"),
                Err(e) => print_error = Some(e.to_string()),
            }
        } else {
            print_text(&report, &anchors);
        }
        bar.inc(1);
        if args.html.is_some() {
            reports.push(report);
        }
    });
    if let Some(e) = print_error {
        return Err(e);
    }
    bar.finish_and_clear();
    if let Some(path) = &args.html {
        let html =
            candor_detect::render_html(&reports, concat!("candor ", env!("CARGO_PKG_VERSION")));
        std::fs::write(path, html).map_err(|e| format!("{}: {e}", path.display()))?;
        if !args.json {
            println!("HTML report written to {}", path.display());
        }
    }
    if !args.json && args.files.len() > 1 {
        println!(
            "{} files: {} trusted, {} valid (signer not trusted), {} invalid, {} without credentials, {} unreadable",
            args.files.len(),
            counts[0],
            counts[1],
            counts[2],
            counts[3],
            counts[4]
        );
    }
    Ok(worst)
}

/// Runs `work` over `items` on up to `jobs` threads and hands the results to `emit` in input
/// order, each as soon as it and everything before it are done.
fn for_each_in_order<T: Sync, R: Send>(
    items: &[T],
    jobs: usize,
    work: impl Fn(&T) -> R + Sync,
    mut emit: impl FnMut(R),
) {
    let jobs = jobs.clamp(1, items.len().max(1));
    if jobs == 1 {
        items.iter().for_each(|item| emit(work(item)));
        return;
    }
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel();
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            let tx = tx.clone();
            let (next, work) = (&next, &work);
            scope.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                if tx.send((i, work(item))).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        let mut pending = BTreeMap::new();
        let mut due = 0;
        for (i, result) in rx {
            pending.insert(i, result);
            while let Some(result) = pending.remove(&due) {
                emit(result);
                due += 1;
            }
        }
    });
}

fn judge(m: &ManifestReport, report: &FileReport, args: &VerifyArgs) -> Outcome {
    let recovered = report
        .watermark
        .as_ref()
        .and_then(|w| w.recovered.as_ref())
        .is_some_and(|r| r.accepted);
    match m.state {
        CredentialState::Invalid => Outcome::Failed,
        CredentialState::None if args.require_credentials && !recovered => Outcome::Failed,
        CredentialState::Valid if args.require_trusted => Outcome::Failed,
        _ => Outcome::Success,
    }
}

fn expand_fragments(init: &Path, pattern: &str) -> CliResult<Vec<PathBuf>> {
    let base = init
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let full = base.join(pattern);
    let full = full.to_str().ok_or("fragment pattern is not valid UTF-8")?;
    let paths: Vec<PathBuf> = glob::glob(full)
        .map_err(|e| format!("--fragments '{pattern}': {e}"))?
        .filter_map(Result::ok)
        .collect();
    if paths.is_empty() {
        return Err(format!(
            "--fragments '{pattern}': no file matches next to {}",
            init.display()
        ));
    }
    Ok(paths)
}

fn print_text(report: &FileReport, anchors: &TrustAnchors) {
    println!("{}", report.file.display());
    let Some(m) = &report.manifest else {
        println!(
            "  ERROR: {}",
            report.error.as_deref().unwrap_or("unreadable")
        );
        println!();
        return;
    };
    println!("  Content Credentials: {} - {}", m.state.name(), m.summary);
    if let Some(s) = &m.signer {
        let time = s.signing_time.as_deref().unwrap_or("unknown time");
        let stamp = if s.time_stamped {
            "time-stamped"
        } else {
            "no time-stamp: the time is the signer's own claim"
        };
        println!(
            "  Signer:      {} (issued by {}), {}",
            s.common_name.as_deref().unwrap_or("?"),
            s.issuer.as_deref().unwrap_or("?"),
            s.algorithm.as_deref().unwrap_or("?")
        );
        println!("  Signed:      {time} ({stamp})");
    }
    if let Some(words) = &m.source_type {
        println!("  Made as:     {words}");
    }
    if let Some(g) = &m.claim_generator {
        println!("  Made with:   {g}");
    }
    if let Some(gen) = &m.generation {
        println!(
            "  Model:       {} (weights sha256 {})",
            gen.model_name, gen.model_sha256
        );
        println!("  Prompt:      \"{}\" (seed {})", gen.prompt, gen.seed);
    }
    if !m.actions.is_empty() {
        let list: Vec<String> = m
            .actions
            .iter()
            .map(|a| match &a.source_type_words {
                Some(w) => format!("{} ({w})", a.action),
                None => a.action.clone(),
            })
            .collect();
        println!("  Actions:     {}", list.join(", "));
    }
    for i in &m.ingredients {
        println!(
            "  Ingredient:  {} [{}]{}",
            i.title.as_deref().unwrap_or("untitled"),
            i.relationship,
            if i.manifest.is_some() {
                ", with its own credentials"
            } else {
                ""
            }
        );
    }
    if !m.failures.is_empty() {
        println!("  Findings:");
        for f in &m.failures {
            println!("    {} - {}", f.code, f.explanation);
        }
    }
    if !m.ingredient_failures.is_empty() {
        println!("  Findings in ingredients' own credentials:");
        for f in &m.ingredient_failures {
            println!("    {} - {}", f.code, f.explanation);
        }
    }
    if m.state != CredentialState::None && !anchors.is_configured() {
        println!("  Trust:       no --trust anchors given, so no signer can be trusted");
    }
    match (&report.watermark, &report.watermark_note) {
        (Some(w), _) => {
            println!("  Watermark:   {}", w.report.summary);
            if w.report.present {
                println!(
                    "               bit error rate {:.2}, {} frames read, model {}",
                    w.report.detection.bit_error_rate, w.report.frames_read, w.report.model
                );
            }
            if let Some(r) = &w.recovered {
                println!(
                    "  Recovered:   store record {}: {} ({})",
                    r.store_id,
                    r.manifest.summary,
                    if r.accepted {
                        "signature verifies, soft binding matches"
                    } else {
                        "REJECTED"
                    }
                );
                if let Some(g) = &r.manifest.generation {
                    println!(
                        "               model {}, prompt \"{}\", seed {}",
                        g.model_name, g.prompt, g.seed
                    );
                }
            }
        }
        (None, Some(note)) => println!("  Watermark:   {note}"),
        (None, None) => {}
    }
    println!("  Verdict:     {}", report.verdict);
    println!();
}

#[cfg(test)]
mod tests {
    use super::for_each_in_order;

    #[test]
    fn parallel_results_come_out_in_input_order() {
        let items: Vec<u64> = (0..40).collect();
        for jobs in [1, 3, 100] {
            let mut seen = Vec::new();
            for_each_in_order(
                &items,
                jobs,
                |&i| {
                    // Later items finish first.
                    std::thread::sleep(std::time::Duration::from_millis((40 - i) % 7));
                    i * 2
                },
                |r| seen.push(r),
            );
            assert_eq!(seen, items.iter().map(|i| i * 2).collect::<Vec<_>>());
        }
        let mut none = Vec::new();
        for_each_in_order(&[] as &[u8], 4, |&b| b, |r| none.push(r));
        assert!(none.is_empty());
    }
}
