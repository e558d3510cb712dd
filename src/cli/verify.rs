//! `candor verify`: check videos' Content Credentials and say what they show.
//!
//! Every file gets a [`FileReport`]: the manifest half (C2PA), the watermark half (latent
//! watermark, manifest recovery from the store) and one verdict combining both.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use candle_core::Device;
use candor_diffusion::DiffusionModel;
use candor_manifest::{CredentialState, Identity, TrustAnchors};
use candor_resolver::{RemoteResolver, ResolverError, ResolverOptions};
use candor_store::{ManifestStore, StoreLocation};
use candor_verify::report::{render_html, render_text};
use candor_verify::{
    store_payloads, ManifestSource, Outcome as FileOutcome, Policy, Verifier, VerifierConfig,
    WatermarkOptions, WatermarkSetup,
};
use candor_watermark::{KeyRing, WatermarkKey};
use clap::Args;

use super::defaults::{default_identity_dir, model_dir};
use super::{existing, CliError, CliResult, Outcome};

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
    #[command(flatten)]
    trust: TrustArgs,
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
    /// Manifest store used to recover stripped credentials: an SQLite file or a postgres:// URL.
    /// Default: $CANDOR_STORE, else ~/.local/share/candor/manifests.db.
    #[arg(long, value_name = "PATH|URL")]
    store: Option<StoreLocation>,
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
    #[command(flatten)]
    resolvers: ResolverArgs,
}

/// Other organisations' resolvers to ask: `verify` and `serve` alike.
#[derive(Debug, Args)]
pub(super) struct ResolverArgs {
    /// A C2PA Soft Binding Resolution API service (another organisation's manifest store) to ask
    /// for stripped credentials after the local store (repeatable; asked in the order given). Its
    /// API base URL: https://resolver.example means https://resolver.example/v1.
    ///
    /// What is sent: for a file without credentials whose watermark was found here, the decoded
    /// payload (a few bytes; POST matches/byBinding), then a request for each manifest it names;
    /// for a file where no watermark is found under this installation's keys, the WHOLE FILE is
    /// uploaded (POST matches/byContent) to each resolver that lists
    /// org.candor.latent-watermark.v1 in its services/supportedAlgorithms, so it can look with
    /// keys of its own. Whatever comes back is checked here as if it came from the local store:
    /// the signature (and --trust), the soft binding against the payload, the content
    /// fingerprint against this video; a resolver is never trusted for a verdict. Matches that
    /// name another resolver's endpoint, and redirects, are not followed.
    ///
    /// Example: --resolver https://resolver.example --resolver http://127.0.0.1:8080
    #[arg(long = "resolver", value_name = "URL")]
    urls: Vec<String>,
    /// Bearer token sent to every --resolver (Authorization: Bearer ...; the resolver wants the
    /// scope fetch:manifests). Default: $CANDOR_RESOLVER_TOKEN, which is better: a command line
    /// is visible to other users of this machine. Never printed.
    #[arg(long, value_name = "TOKEN")]
    resolver_token: Option<Secret>,
    /// Extra CA certificates (PEM) trusted for https:// resolvers besides the public web roots:
    /// a resolver behind a reverse proxy with a private CA.
    #[arg(long, value_name = "PEM")]
    resolver_ca: Option<PathBuf>,
}

impl ResolverArgs {
    /// The resolvers as sources, in order: checked (URL, token, CA file) before any work.
    pub(super) fn sources(&self) -> CliResult<Vec<Arc<dyn ManifestSource>>> {
        resolver_sources(
            &self.urls,
            self.resolver_token.as_ref(),
            self.resolver_ca.as_deref(),
        )
    }
}

/// Whom to trust: `verify` and `serve` alike. Nothing is trusted without one of these.
#[derive(Debug, Args)]
pub(super) struct TrustArgs {
    /// PEM file of root certificates to trust (repeatable). Nothing is trusted by default.
    #[arg(long = "trust", value_name = "PEM")]
    trust: Vec<PathBuf>,
    /// A C2PA trust list (PEM bundle of claim-signing CAs, e.g. C2PA-TRUST-LIST.pem from
    /// c2pa-org/conformance-public; repeatable): signers chaining to one are Trusted. Example:
    /// --trust-list C2PA-TRUST-LIST.pem --tsa-trust-list C2PA-TSA-TRUST-LIST.pem
    #[arg(long = "trust-list", value_name = "PEM")]
    trust_list: Vec<PathBuf>,
    /// A time-stamp authority trust list (PEM bundle, e.g. C2PA-TSA-TRUST-LIST.pem; repeatable):
    /// RFC 3161 time-stamps from a TSA chaining to one are trusted. It never trusts a claim signer.
    #[arg(long = "tsa-trust-list", value_name = "PEM")]
    tsa_trust_list: Vec<PathBuf>,
}

impl TrustArgs {
    /// The anchors these files give (each file checked to exist and to hold certificates).
    pub(super) fn anchors(&self) -> CliResult<TrustAnchors> {
        existing(&self.trust)?;
        Ok(TrustAnchors::from_files(&self.trust)?
            .with_trust_list(&self.trust_list)?
            .with_tsa_trust_list(&self.tsa_trust_list)?)
    }
}

/// A token on the command line: kept out of `Debug` output.
#[derive(Clone)]
struct Secret(String);

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_string()))
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[hidden]")
    }
}

/// The --resolver sources, in order: checked (URL, token, CA file) before any work, nothing sent.
fn resolver_sources(
    urls: &[String],
    token: Option<&Secret>,
    ca: Option<&Path>,
) -> CliResult<Vec<Arc<dyn ManifestSource>>> {
    let token = token
        .map(|t| t.0.clone())
        .or_else(|| std::env::var("CANDOR_RESOLVER_TOKEN").ok())
        .filter(|t| !t.trim().is_empty());
    let options = ResolverOptions {
        token,
        extra_ca_pem: ca.map(Path::to_path_buf),
        ..ResolverOptions::default()
    };
    urls.iter()
        .map(|url| {
            RemoteResolver::new(url, options.clone())
                .map(|r| Arc::new(r) as Arc<dyn ManifestSource>)
                .map_err(|e| {
                    let flag = match e {
                        ResolverError::Url { .. } => "--resolver",
                        ResolverError::Ca { .. } => "--resolver-ca",
                        ResolverError::Token(_) => "--resolver-token (or CANDOR_RESOLVER_TOKEN)",
                        ResolverError::Tls(_) => "--resolver",
                    };
                    CliError::Usage(format!("{flag}: {e}"))
                })
        })
        .collect()
}

fn watermark_setup(
    args: &VerifyArgs,
    resolvers: Vec<Arc<dyn ManifestSource>>,
) -> CliResult<WatermarkSetup> {
    let location = args.store.clone().unwrap_or_default();
    let store = if location.exists() {
        Some(Arc::new(ManifestStore::connect(&location)?))
    } else {
        None
    };
    build_watermark_setup(&SetupParts {
        model: args.model.as_deref(),
        keys: &args.watermark_keys,
        store,
        resolvers,
        inversion_steps: args.inversion_steps,
        geometry_search: !args.no_geometry_search,
    })
}

/// What the watermark half is made of (`verify` and `serve` alike).
pub(super) struct SetupParts<'a> {
    /// Model directory (default: the shipped model).
    pub model: Option<&'a Path>,
    /// Identity directories whose watermark keys to look for (default: $CANDOR_IDENTITY, else
    /// keys/dev).
    pub keys: &'a [PathBuf],
    /// The local manifest store, first of the sources.
    pub store: Option<Arc<ManifestStore>>,
    /// Remote resolvers, asked after the local store, in order.
    pub resolvers: Vec<Arc<dyn ManifestSource>>,
    pub inversion_steps: Option<usize>,
    pub geometry_search: bool,
}

/// Loads the model and keys and builds the watermark half, the local store its first source.
pub(super) fn build_watermark_setup(parts: &SetupParts<'_>) -> CliResult<WatermarkSetup> {
    let model = DiffusionModel::load(&model_dir(parts.model), &Device::Cpu)?;
    let dirs = if parts.keys.is_empty() {
        vec![std::env::var_os("CANDOR_IDENTITY")
            .map(PathBuf::from)
            .unwrap_or_else(default_identity_dir)]
    } else {
        parts.keys.to_vec()
    };
    let keys = dirs
        .iter()
        .map(|d| Identity::load(d).map(|i| WatermarkKey::new(i.watermark_secret())))
        .collect::<Result<Vec<_>, _>>()?;
    // The store's soft bindings: a mark too faint to decode is compared with each.
    let candidate_payloads = match &parts.store {
        Some(store) => store_payloads(store)?,
        None => Vec::new(),
    };
    let defaults = WatermarkOptions::for_model(&model.config);
    let options = WatermarkOptions {
        inversion_steps: parts.inversion_steps.unwrap_or(defaults.inversion_steps),
        geometry_search: parts.geometry_search,
        candidate_payloads,
        ..defaults
    };
    Ok(WatermarkSetup {
        model,
        ring: KeyRing::new(keys),
        // The local store first, then the resolvers in the order given.
        sources: parts
            .store
            .clone()
            .map(|s| s as Arc<dyn ManifestSource>)
            .into_iter()
            .chain(parts.resolvers.iter().cloned())
            .collect(),
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
    let resolvers = args.resolvers.sources()?;
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
        )
        .into());
    }
    let anchors = args.trust.anchors()?;
    let fragments = match &args.fragments {
        Some(pattern) => {
            if args.files.len() != 1 {
                return Err("--fragments goes with exactly one init segment".into());
            }
            Some(expand_fragments(&args.files[0], pattern)?)
        }
        None => None,
    };

    let (watermark, watermark_note) = if args.no_watermark {
        (None, Some("not checked (--no-watermark)".to_string()))
    } else {
        match watermark_setup(&args, resolvers) {
            Ok(s) => (Some(s), None),
            Err(e) => (None, Some(format!("not checked: {e}"))),
        }
    };
    let verifier = Verifier::new(VerifierConfig {
        anchors,
        watermark,
        watermark_note,
    });
    let policy = Policy {
        require_credentials: args.require_credentials,
        require_trusted: args.require_trusted,
    };
    let trust_configured = verifier.anchors().is_configured();
    let mut worst = Outcome::Success;
    let mut counts = [0usize; 5]; // trusted, valid, invalid, none, error
    let mut reports = Vec::new();
    let bar = super::progress(args.files.len() as u64, "verifying");
    if args.files.len() < 2 {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let jobs = args.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    let mut print_error = None;
    let mut emit = |report: candor_verify::FileReport| {
        let outcome = match report.outcome(policy) {
            FileOutcome::Pass => Outcome::Success,
            FileOutcome::Fail => Outcome::Failed,
            FileOutcome::Unreadable => Outcome::InputError,
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
            print!("{}", render_text(&report, trust_configured));
        }
        bar.inc(1);
        if args.html.is_some() {
            reports.push(report);
        }
    };
    match &fragments {
        Some(fragments) => emit(verifier.verify_fragmented(&args.files[0], Some(fragments))),
        None => verifier.verify_batch(&args.files, jobs, emit),
    }
    if let Some(e) = print_error {
        return Err(e.into());
    }
    bar.finish_and_clear();
    if let Some(path) = &args.html {
        let html = render_html(&reports, concat!("candor ", env!("CARGO_PKG_VERSION")));
        std::fs::write(path, html).map_err(|source| CliError::Io {
            path: path.clone(),
            source,
        })?;
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
        )
        .into());
    }
    Ok(paths)
}
