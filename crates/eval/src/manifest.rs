//! Signing and verification speed on a large MP4, next to `sha256sum` of the same file.

use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use candor_manifest::{read_manifest, sign_file, DigitalSourceType, ManifestSpec, TrustAnchors};
use candor_media::{EncodeOptions, Mp4Writer};
use rand::{RngCore, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::Digest;

use crate::{load_identity, EvalError, Report, Result};
use crate::{median, progress};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ManifestConfig {
    /// Approximate size of the test MP4 in MB.
    pub size_mb: u64,
    /// Repetitions of each measurement (the median is reported).
    pub repeat: usize,
    /// Directory for the test files (default: a temporary directory).
    pub dir: Option<PathBuf>,
    /// Identity directory to sign with.
    pub identity: PathBuf,
}

pub fn run(args: &ManifestConfig) -> Result<Report> {
    if args.size_mb == 0 || args.repeat == 0 {
        return Err(EvalError::Config(
            "size_mb and repeat must be at least 1".into(),
        ));
    }
    let temp = std::env::temp_dir().join(format!("candor-bench-{}", std::process::id()));
    let dir = args.dir.clone().unwrap_or(temp);
    std::fs::create_dir_all(&dir).map_err(|source| EvalError::Io {
        path: dir.clone(),
        source,
    })?;
    let source = dir.join("bench-source.mp4");
    let bytes = make_clip(&source, args.size_mb)?;

    let identity = load_identity(&args.identity)?;
    let anchors = TrustAnchors::from_files(&[identity.root_path()])?;
    let spec = ManifestSpec::new(DigitalSourceType::DigitalCapture);
    let signed = dir.join("bench-signed.mp4");

    let (mut sha_cli, mut sha_lib, mut sign, mut verify) = (vec![], vec![], vec![], vec![]);
    for _ in 0..args.repeat {
        sha_cli.push(time(|| sha256sum(&source))?);
        sha_lib.push(time(|| sha256_in_process(&source))?);
        sign.push(time(|| {
            sign_file(&identity, &source, &signed, &spec, true)
                .map(|_| ())
                .map_err(EvalError::from)
        })?);
        verify.push(time(|| {
            let report = read_manifest(&signed, None, &anchors)?;
            match report.state {
                candor_manifest::CredentialState::Trusted => Ok(()),
                other => Err(EvalError::Measurement(format!(
                    "benchmark file verified as {other:?}"
                ))),
            }
        })?);
    }
    let (sha_cli, sha_lib, sign, verify) = (
        median(&mut sha_cli),
        median(&mut sha_lib),
        median(&mut sign),
        median(&mut verify),
    );
    let mb = bytes as f64 / 1e6;
    let doc = json!({
        "benchmark": "manifest",
        "file_bytes": bytes,
        "repeat": args.repeat,
        "sha256sum_s": sha_cli,
        "sha256_in_process_s": sha_lib,
        "sign_s": sign,
        "verify_s": verify,
        "sign_over_sha256sum": sign / sha_cli,
        "verify_over_sha256sum": verify / sha_cli,
        "sign_mb_per_s": mb / sign,
        "verify_mb_per_s": mb / verify,
    });
    let mut text = String::new();
    let _ = writeln!(
        text,
        "Manifest benchmark: {:.1} MB H.264 MP4, median of {}",
        mb, args.repeat
    );
    let _ = writeln!(text, "  sha256sum (CLI)        {sha_cli:8.3} s   1.00x");
    let _ = writeln!(
        text,
        "  sha256 (in process)    {sha_lib:8.3} s   {:.2}x",
        sha_lib / sha_cli
    );
    let _ = writeln!(
        text,
        "  candor sign            {sign:8.3} s   {:.2}x   ({:.0} MB/s)",
        sign / sha_cli,
        mb / sign
    );
    let _ = writeln!(
        text,
        "  candor verify          {verify:8.3} s   {:.2}x   ({:.0} MB/s)",
        verify / sha_cli,
        mb / verify
    );
    if args.dir.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(Report::new(doc, text))
}

fn time(f: impl FnOnce() -> Result<()>) -> Result<f64> {
    let t = Instant::now();
    f()?;
    Ok(t.elapsed().as_secs_f64())
}

/// A lossless H.264 MP4 of noise, grown until it reaches `size_mb`.
fn make_clip(path: &Path, size_mb: u64) -> Result<u64> {
    let (w, h) = (1280u32, 720u32);
    let mut options = EncodeOptions::new(w, h, 30);
    options.crf = 0;
    options.preset = "ultrafast".into();
    let mut writer = Mp4Writer::create(path, options)?;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let mut frame = vec![0u8; (w * h * 3) as usize];
    // Lossless noise costs about 1.8 MB per 720p frame; stop once the file reaches the target.
    let target = size_mb * 1_000_000;
    let bar = progress(target.div_ceil(1_800_000), "making the test MP4");
    while std::fs::metadata(path).map(|m| m.len()).unwrap_or(0) < target {
        rng.fill_bytes(&mut frame);
        writer.write_rgb(&frame)?;
        bar.inc(1);
    }
    writer.finish()?;
    bar.finish_and_clear();
    std::fs::metadata(path)
        .map(|m| m.len())
        .map_err(|source| EvalError::Io {
            path: path.to_path_buf(),
            source,
        })
}

fn sha256sum(path: &Path) -> Result<()> {
    let status = Command::new("sha256sum")
        .arg(path)
        .stdout(std::process::Stdio::null())
        .status()
        .map_err(|source| EvalError::ToolMissing {
            tool: "sha256sum",
            source,
        })?;
    status.success().then_some(()).ok_or(EvalError::Tool {
        tool: "sha256sum",
        detail: status.to_string(),
    })
}

fn sha256_in_process(path: &Path) -> Result<()> {
    let io = |source| EvalError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut hasher = sha2::Sha256::new();
    std::io::copy(&mut file, &mut hasher).map_err(io)?;
    let _ = hasher.finalize();
    Ok(())
}
