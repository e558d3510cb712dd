//! `candor sign`: add signed Content Credentials to a video.

use std::path::PathBuf;

use candor_manifest::{parse_source_type, sign_file, sign_fragmented, ManifestSpec, SOURCE_TYPES};
use clap::Args;
use serde_json::json;

use super::identity::load_identity;
use super::{print_json, CliResult, Outcome};

#[derive(Debug, Args)]
#[command(
    after_help = "Source types (IPTC): digitalCapture, computationalCapture, trainedAlgorithmicMedia, \
compositeWithTrainedAlgorithmicMedia, algorithmicMedia, algorithmicallyEnhanced, digitalCreation, humanEdits, \
screenCapture, negativeFilm, positiveFilm, print, dataDrivenMedia.\n\n\
A file that already carries Content Credentials is signed as an edit: its manifest becomes the parent ingredient."
)]
pub struct SignArgs {
    /// The video to sign (MP4 or MOV; for fragmented MP4, the init segment).
    input: PathBuf,
    /// Where to write the signed video (for --fragments: a directory).
    #[arg(short, long)]
    output: PathBuf,
    /// Identity directory (from `candor keys init`). Default: $CANDOR_IDENTITY, else the public test identity keys/dev.
    #[arg(long)]
    identity: Option<PathBuf>,
    /// How the content was made (IPTC digital source type) when the file has no credentials yet.
    #[arg(long, default_value = "digitalCapture")]
    source_type: String,
    /// Title recorded in the manifest (default: the output file name).
    #[arg(long)]
    title: Option<String>,
    /// Fragmented MP4: glob of the fragments, relative to the init segment's directory (e.g. 'seg_*.m4s').
    #[arg(long)]
    fragments: Option<String>,
    /// RFC 3161 time-stamp authority (http://host[:port]/path): the claim signature is
    /// counter-signed with its time, so verifiers see when it was signed from a third party, not
    /// from the signer's own clock. Signing fails (exit 2, no output) when the TSA fails.
    #[arg(long, value_name = "URL")]
    tsa: Option<String>,
    /// Replace the output file if it exists.
    #[arg(long)]
    force: bool,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: SignArgs) -> CliResult<Outcome> {
    let source_type = parse_source_type(&args.source_type).ok_or_else(|| {
        let names: Vec<&str> = SOURCE_TYPES.iter().map(|(n, _)| *n).collect();
        format!(
            "unknown --source-type '{}'; one of: {}",
            args.source_type,
            names.join(", ")
        )
    })?;
    if !args.input.is_file() {
        return Err(format!("{}: no such file", args.input.display()).into());
    }
    if let Some(url) = &args.tsa {
        candor_manifest::check_tsa_url(url)?;
    }
    let identity = load_identity(args.identity.as_deref())?;
    let mut spec = ManifestSpec::new(source_type);
    spec.title = args.title.clone();
    spec.time_stamp_authority = args.tsa.clone();

    if let Some(glob) = &args.fragments {
        sign_fragmented(&identity, &args.input, glob, &args.output, &spec)?;
        if args.json {
            print_json(
                &json!({ "input": args.input, "output_dir": args.output, "fragments": glob }),
            )?;
        } else {
            println!(
                "Signed {} and fragments '{}' into {}",
                args.input.display(),
                glob,
                args.output.display()
            );
        }
        return Ok(Outcome::Success);
    }

    let outcome = sign_file(&identity, &args.input, &args.output, &spec, args.force)?;
    let info = identity.info();
    if args.json {
        print_json(&json!({
            "input": args.input,
            "output": outcome.output,
            "edited_existing_manifest": outcome.edited_existing,
            "manifest_bytes": outcome.manifest_bytes,
            "signer": { "organization": info.organization, "common_name": info.common_name },
            "time_stamp_authority": args.tsa,
            "public_test_identity": identity.is_public_test_identity(),
        }))?;
    } else {
        let kind = if outcome.edited_existing {
            "edit of a file with existing credentials (kept as parent ingredient)".to_string()
        } else {
            format!("new creation, {}", args.source_type)
        };
        println!(
            "Signed {} -> {}\n  as:       CN={}, O={}\n  manifest: {}, {} bytes",
            args.input.display(),
            outcome.output.display(),
            info.common_name,
            info.organization,
            kind,
            outcome.manifest_bytes
        );
        if let Some(url) = &args.tsa {
            println!("  time:     RFC 3161 time-stamp from {url}");
        }
        if identity.has_root() {
            println!(
                "  check it: candor verify {} --trust {}",
                outcome.output.display(),
                identity.root_path().display()
            );
        }
    }
    Ok(Outcome::Success)
}
