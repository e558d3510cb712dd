//! Candor's evaluation suites as libraries: the watermark's statistics, generation quality,
//! signing cost, robustness under the attack catalogue, false positives on clean video,
//! verification cost, and forgery, transplant and removal attacks. Each suite is `run(&Config) -> Report`: the figures as a JSON document
//! (what `candor bench … --json` prints) and as text for people. Nothing here is on the path of
//! a user's generate or verify; everything may be used from here.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod attacks;
pub mod forgery;
pub mod fpr;
pub mod generate;
pub mod long;
pub mod manifest;
pub mod robustness;
pub mod scan;
pub mod store;
pub mod verify;
pub mod watermark;

use std::path::{Path, PathBuf};

use candle_core::Device;
use candor_diffusion::DiffusionModel;
use candor_manifest::Identity;
use candor_store::ManifestStore;
use candor_watermark::{KeyRing, WatermarkKey};
use serde::{Deserialize, Serialize};

/// Errors of a benchmark run.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("invalid benchmark settings: {0}")]
    Config(String),
    #[error("{tool} could not be run ({source}); it is needed for this benchmark")]
    ToolMissing {
        tool: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("{tool} failed: {detail}")]
    Tool { tool: &'static str, detail: String },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A step of the benchmark did not give what it measures (a clip without its payload…).
    #[error("{0}")]
    Measurement(String),
    #[error(transparent)]
    Verify(#[from] candor_verify::VerifyError),
    #[error(transparent)]
    Generate(#[from] candor_generate::GenerateError),
    #[error(transparent)]
    Model(#[from] candor_diffusion::DiffusionError),
    #[error(transparent)]
    Media(#[from] candor_media::MediaError),
    #[error(transparent)]
    Manifest(#[from] candor_manifest::ManifestError),
    #[error(transparent)]
    Store(#[from] candor_store::StoreError),
    #[error(transparent)]
    Watermark(#[from] candor_watermark::WatermarkError),
    #[error(transparent)]
    Tensor(#[from] candle_core::Error),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
}

pub type Result<T> = std::result::Result<T, EvalError>;

/// What a suite measured.
#[derive(Debug, Clone, Serialize)]
#[serde(transparent)]
pub struct Report {
    /// The figures, as `--json` prints them.
    pub doc: serde_json::Value,
    /// The same for people.
    #[serde(skip)]
    pub text: String,
    /// False when the suite found what it must not (a false detection, say): the CLI exits 1.
    #[serde(skip)]
    pub passed: bool,
}

impl Report {
    pub fn new(doc: serde_json::Value, text: String) -> Self {
        Self {
            doc,
            text,
            passed: true,
        }
    }
}

/// Runs the ffmpeg CLI quietly (`-nostdin -loglevel error -y`) with `args`; `what` names the
/// step in the error when it fails.
pub fn ffmpeg<S: AsRef<std::ffi::OsStr>>(args: &[S], what: &str) -> Result<()> {
    let status = std::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-loglevel", "error", "-y"])
        .args(args)
        .status()
        .map_err(|source| EvalError::ToolMissing {
            tool: "ffmpeg",
            source,
        })?;
    if status.success() {
        Ok(())
    } else {
        Err(EvalError::Tool {
            tool: "ffmpeg",
            detail: format!("{what} ({status})"),
        })
    }
}

/// Seconds `ffmpeg -i path -f null -` takes (decode only), the baseline the cost benchmarks
/// compare with; `threads` pins FFmpeg's decoding threads (`None`: FFmpeg's own choice).
pub fn ffmpeg_null_seconds(path: &Path, threads: Option<u32>) -> Result<f64> {
    let mut cmd = std::process::Command::new("ffmpeg");
    cmd.args(["-nostdin", "-loglevel", "error"]);
    if let Some(n) = threads {
        cmd.args(["-threads", &n.to_string()]);
    }
    let t = std::time::Instant::now();
    let status = cmd
        .arg("-i")
        .arg(path)
        .args(["-f", "null", "-"])
        .status()
        .map_err(|source| EvalError::ToolMissing {
            tool: "ffmpeg",
            source,
        })?;
    if !status.success() {
        return Err(EvalError::Tool {
            tool: "ffmpeg",
            detail: format!("decoding {}", path.display()),
        });
    }
    Ok(t.elapsed().as_secs_f64())
}

/// Median of a list of measurements.
pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

/// This process's peak resident memory in MiB (Linux `VmHWM`; `None` elsewhere).
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// A progress bar on stderr (hidden when stderr is not a terminal).
pub fn progress(len: u64, what: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(len);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{msg:28} [{bar:30}] {pos}/{len} {elapsed}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_string());
    bar
}

/// The model and detector settings every generating benchmark takes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DetectorConfig {
    /// Model directory.
    pub model: PathBuf,
    /// DDIM inversion steps (model evaluations; 0 reads the latent itself); `None`: the model's.
    pub inversion_steps: Option<usize>,
    /// Identity directory whose watermark key and signing key the clips are made with.
    pub identity: PathBuf,
}

/// Loads an identity, printing the public-test warning to stderr when it applies.
pub fn load_identity(dir: &Path) -> Result<Identity> {
    let identity = Identity::load(dir)?;
    if let Some(warning) = identity.public_test_warning() {
        eprintln!("{warning}");
    }
    Ok(identity)
}

/// What the benchmarks that generate and detect share: the model, the detector's inversion steps
/// (the model's default unless given), the identity with its key ring, and a work directory
/// holding a manifest store.
pub struct BenchSetup {
    pub model: DiffusionModel,
    pub inversion_steps: usize,
    pub identity: Identity,
    pub ring: KeyRing,
    pub dir: PathBuf,
    pub store: ManifestStore,
}

impl BenchSetup {
    /// `keep`: the work directory to use (kept); `None` makes `candor-bench-NAME-PID` in the
    /// temporary directory, for the caller to remove.
    pub fn open(detector: &DetectorConfig, keep: Option<&Path>, name: &str) -> Result<Self> {
        let model = DiffusionModel::load(&detector.model, &Device::Cpu)?;
        let inversion_steps = detector
            .inversion_steps
            .unwrap_or_else(|| model.config.default_inversion_steps());
        let identity = load_identity(&detector.identity)?;
        let ring = KeyRing::single(WatermarkKey::new(identity.watermark_secret()));
        let dir = keep.map(Path::to_path_buf).unwrap_or_else(|| {
            std::env::temp_dir().join(format!("candor-bench-{name}-{}", std::process::id()))
        });
        std::fs::create_dir_all(&dir).map_err(|source| EvalError::Io {
            path: dir.clone(),
            source,
        })?;
        let store = ManifestStore::open(&dir.join("store.db"))?;
        Ok(Self {
            model,
            inversion_steps,
            identity,
            ring,
            dir,
            store,
        })
    }
}
