//! `candor verify`: check videos' Content Credentials and say what they show.
//!
//! Every file gets a [`FileReport`]: the manifest half now, the watermark half beside it later.

use std::path::{Path, PathBuf};

use candor_manifest::{
    read_manifest, CredentialState, ManifestError, ManifestReport, TrustAnchors,
};
use clap::Args;
use serde::Serialize;

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
    /// Videos to check.
    #[arg(required = true)]
    files: Vec<PathBuf>,
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
    /// The watermark half; `null` until watermark detection is run on the file.
    pub watermark: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

pub fn run(args: VerifyArgs) -> CliResult<Outcome> {
    existing(&args.trust)?;
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

    let mut worst = Outcome::Success;
    let mut counts = [0usize; 5]; // trusted, valid, invalid, none, error
    for file in &args.files {
        let report = verify_file(file, fragments.as_deref(), &anchors);
        let outcome = match (&report.manifest, report.status) {
            (_, "error") => Outcome::InputError,
            (Some(m), _) => judge(m, &args),
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

fn judge(m: &ManifestReport, args: &VerifyArgs) -> Outcome {
    match m.state {
        CredentialState::Invalid => Outcome::Failed,
        CredentialState::None if args.require_credentials => Outcome::Failed,
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
        error: None,
    }
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
    println!("  Watermark:   not checked (manifest verification only)");
    println!();
}
