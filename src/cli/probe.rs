//! `candor probe`: what a video file holds.

use std::path::PathBuf;

use candor_manifest::{read_manifest, CredentialState, ManifestError, TrustAnchors};
use clap::Args;
use serde::Serialize;

use super::{print_json, CliResult, Outcome};

#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// The video to inspect.
    video: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct ProbeReport {
    file: PathBuf,
    #[serde(flatten)]
    media: candor_media::MediaInfo,
    /// True when the file carries a C2PA manifest store (valid or not).
    c2pa_manifest: bool,
}

pub fn run(args: ProbeArgs) -> CliResult<Outcome> {
    let media = candor_media::probe(&args.video)?;
    let c2pa_manifest = match read_manifest(&args.video, None, &TrustAnchors::none()) {
        Ok(report) => report.state != CredentialState::None,
        Err(ManifestError::UnsupportedFormat { .. }) => false,
        // A store that exists but cannot be parsed is still a manifest present.
        Err(ManifestError::C2pa { .. }) => true,
        Err(e) => return Err(e.into()),
    };
    let report = ProbeReport {
        file: args.video,
        media,
        c2pa_manifest,
    };
    if args.json {
        print_json(&report)?;
    } else {
        let m = &report.media;
        println!("{}", report.file.display());
        println!("  container:  {}", m.container);
        println!(
            "  video:      {} {}x{} {}",
            m.codec, m.width, m.height, m.pixel_format
        );
        println!("  frame rate: {:.3} fps ({})", m.fps, m.fps_rational);
        println!(
            "  duration:   {:.3} s, {} frames",
            m.duration_seconds, m.frame_count
        );
        println!("  audio:      {}", if m.has_audio { "yes" } else { "no" });
        println!(
            "  C2PA:       {}",
            if report.c2pa_manifest {
                "manifest present (run `candor verify`)"
            } else {
                "none"
            }
        );
    }
    Ok(Outcome::Success)
}
