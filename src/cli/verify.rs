//! `candor verify`: check videos' Content Credentials and say what they show.
//!
//! Every file gets a [`FileReport`]: the manifest half (C2PA), the watermark half (latent
//! watermark, manifest recovery from the store) and one verdict combining both.

use std::path::{Path, PathBuf};

use candle_core::Device;
use candor_detect::{check_file, WatermarkOptions, WatermarkReport};
use candor_diffusion::DiffusionModel;
use candor_manifest::{
    read_detached_manifest, read_manifest, CredentialState, Identity, ManifestError,
    ManifestReport, TrustAnchors,
};
use candor_store::ManifestStore;
use candor_watermark::{KeyRing, WatermarkKey};
use clap::Args;
use serde::Serialize;

use super::generate::model_dir;
use super::identity::default_identity_dir;
use super::{existing, CliResult, Outcome};

#[derive(Debug, Args)]
#[command(
    after_help = "States: Trusted (intact, signer chains to a --trust anchor); Valid (intact, signer not \
trusted); Invalid (content or manifest changed after signing, or the signature fails); None (no credentials).\n\
Without --trust no signer is ever trusted.\n\n\
Examples:\n  candor verify clip.mp4 --trust identity/root.pem\n  candor verify a.mp4 b.mov --json\n  \
candor verify init.mp4 --fragments 'seg_*.m4s'"
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
    /// DDIM inversion steps (more is slower and more robust).
    #[arg(long, default_value_t = 10)]
    inversion_steps: usize,
}

/// What the watermark half needs, loaded once per run.
struct WatermarkSetup {
    model: DiffusionModel,
    ring: KeyRing,
    store: Option<ManifestStore>,
    options: WatermarkOptions,
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
    let options = WatermarkOptions {
        inversion_steps: args.inversion_steps,
        ..WatermarkOptions::default()
    };
    Ok(WatermarkSetup {
        model,
        ring: KeyRing::new(keys),
        store,
        options,
    })
}

/// A manifest found in the store through the watermark.
#[derive(Debug, Serialize)]
pub struct RecoveredManifest {
    pub store_id: i64,
    /// True when its signature verifies and its soft binding equals the decoded payload.
    pub accepted: bool,
    pub manifest: ManifestReport,
}

/// The watermark half of a file's report.
#[derive(Debug, Serialize)]
pub struct WatermarkHalf {
    #[serde(flatten)]
    pub report: WatermarkReport,
    pub recovered: Option<RecoveredManifest>,
}

/// What `candor verify` says about one file.
#[derive(Debug, Serialize)]
pub struct FileReport {
    pub file: PathBuf,
    /// `verified`, `failed`, `no_credentials` or `error`.
    pub status: &'static str,
    /// One sentence for people.
    pub verdict: String,
    /// The Content Credentials half; absent when the file could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest: Option<ManifestReport>,
    /// The watermark half; `null` when not checked (`--no-watermark`, or no model or key).
    pub watermark: Option<WatermarkHalf>,
    /// Why the watermark was not checked, when it was not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub watermark_note: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
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
    for file in &args.files {
        let mut report = verify_file(file, fragments.as_deref(), &anchors);
        if report.status != "error" {
            match &setup {
                Some(s) => add_watermark(&mut report, s, &anchors),
                None => report.watermark_note = setup_note.clone(),
            }
        }
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
            println!(
                "{}",
                serde_json::to_string(&report).map_err(|e| e.to_string())?
            );
        } else {
            print_text(&report, &anchors);
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

/// The manifest half of verification for one file.
pub fn verify_file(
    file: &Path,
    fragments: Option<&[PathBuf]>,
    anchors: &TrustAnchors,
) -> FileReport {
    let error = |message: String| FileReport {
        file: file.to_path_buf(),
        status: "error",
        verdict: format!("Could not check: {message}"),
        manifest: None,
        watermark: None,
        watermark_note: None,
        error: Some(message),
    };
    if !file.is_file() {
        return error(format!("{}: no such file", file.display()));
    }
    let manifest = match read_manifest(file, fragments, anchors) {
        Ok(m) => m,
        Err(ManifestError::UnsupportedFormat { reason, .. }) => {
            // Containers that cannot embed credentials simply carry none; they must still be video.
            if let Err(e) = candor_media::probe(file) {
                return error(e.to_string());
            }
            let mut none = read_none(anchors);
            none.summary = format!("No Content Credentials ({reason})");
            none
        }
        Err(e) => return error(e.to_string()),
    };
    let status = match manifest.state {
        CredentialState::Trusted | CredentialState::Valid => "verified",
        CredentialState::Invalid => "failed",
        CredentialState::None => "no_credentials",
    };
    FileReport {
        file: file.to_path_buf(),
        status,
        verdict: manifest.summary.clone(),
        manifest: Some(manifest),
        watermark: None,
        watermark_note: None,
        error: None,
    }
}

/// Runs the watermark half and combines both halves into one verdict.
fn add_watermark(report: &mut FileReport, setup: &WatermarkSetup, anchors: &TrustAnchors) {
    let wm = match check_file(&report.file, &setup.model, &setup.ring, &setup.options) {
        Ok(w) => w,
        Err(e) => {
            report.watermark_note = Some(format!("not checked: {e}"));
            return;
        }
    };
    let payload = wm.detection.payload.map(|p| p.to_bytes().to_vec());
    let mut recovered = None;
    let manifest_state = report
        .manifest
        .as_ref()
        .map(|m| m.state)
        .unwrap_or(CredentialState::None);
    if wm.present && manifest_state == CredentialState::None {
        if let (Some(store), Some(bytes)) = (&setup.store, &payload) {
            let found = candor_detect::recover_manifests(store, &wm).unwrap_or_default();
            for stored in found {
                if let Ok((m, signature_ok)) =
                    read_detached_manifest(&stored.manifest, &report.file, anchors)
                {
                    let binding_ok = m.soft_binding.as_ref().is_some_and(|b| &b.value == bytes);
                    recovered = Some(RecoveredManifest {
                        store_id: stored.id,
                        accepted: signature_ok && binding_ok,
                        manifest: m,
                    });
                    if signature_ok && binding_ok {
                        break;
                    }
                }
            }
        }
    }
    let binding = report
        .manifest
        .as_ref()
        .and_then(|m| m.soft_binding.as_ref())
        .map(|b| b.value.clone());
    let fpr = format!("{:.0e}", wm.detection.false_positive_rate);
    report.verdict = match (manifest_state, wm.present) {
        (CredentialState::Invalid, _) => report.verdict.clone(),
        (_, true) if binding.is_some() && payload.is_some() && binding != payload => {
            report.status = "failed";
            "Credentials do not match the watermark: the manifest's soft binding names another clip".into()
        }
        (CredentialState::Trusted | CredentialState::Valid, true) => {
            "AI-generated by Candor: credentials valid and watermark matches".into()
        }
        (CredentialState::None, true) => match &recovered {
            Some(r) if r.accepted => {
                "AI-generated: watermark found, credentials stripped - recovered from the manifest store".into()
            }
            Some(_) => "AI-generated: watermark found, credentials stripped; the stored manifest did not verify".into(),
            None => "AI-generated: Candor watermark found, credentials stripped and not in this store".into(),
        },
        (CredentialState::Trusted | CredentialState::Valid, false) => {
            format!("Content Credentials valid, no Candor watermark (false-positive rate of this check: {fpr})")
        }
        (CredentialState::None, false) => {
            format!("No provenance found (false-positive rate of this check: {fpr} per clip)")
        }
    };
    if !wm.detection.temporal.is_empty() && wm.present {
        report
            .verdict
            .push_str(&format!("; frame edits found: {}", describe_temporal(&wm)));
    }
    report.watermark = Some(WatermarkHalf {
        report: wm,
        recovered,
    });
}

fn describe_temporal(wm: &WatermarkReport) -> String {
    use candor_watermark::TemporalEvent as E;
    wm.detection
        .temporal
        .iter()
        .map(|e| match e {
            E::Dropped {
                first,
                last,
                before,
            } if first == last => format!("frame {first} removed (before frame {before})"),
            E::Dropped {
                first,
                last,
                before,
            } => format!("frames {first}-{last} removed (before frame {before})"),
            E::Inserted { observed } => format!("frame {observed} inserted"),
            E::Reordered { observed, template } => {
                format!("frame {observed} out of order (was {template})")
            }
            E::Duplicated { observed, template } => format!("frame {observed} repeats {template}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn read_none(anchors: &TrustAnchors) -> ManifestReport {
    ManifestReport {
        state: CredentialState::None,
        summary: "No Content Credentials".into(),
        trust_configured: anchors.is_configured(),
        manifest_label: None,
        title: None,
        claim_generator: None,
        signer: None,
        actions: Vec::new(),
        source_type: None,
        ingredients: Vec::new(),
        failures: Vec::new(),
        ingredient_failures: Vec::new(),
        soft_binding: None,
        generation: None,
    }
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
