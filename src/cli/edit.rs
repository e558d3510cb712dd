//! `candor edit`: redraw one region of a Candor clip over a span of its seconds, signed as an edit.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use candle_core::Device;
use candor_diffusion::{DiffusionModel, Sampler};
use candor_generate::edit::{edit, EditOptions, EditRequest, ParentClip};
use candor_generate::{GenerateError, PromptReader};
use candor_manifest::{read_manifest, CredentialState, TrustAnchors};
use candor_store::{ManifestStore, StoreLocation};
use candor_verify::{Verifier, VerifierConfig};
use clap::Args;

use super::defaults::{identity_dir, model_dir};
use super::generate::{parse_hex_id, parse_sampler, usage_error};
use super::identity::load_identity;
use super::verify::{build_watermark_setup, SetupParts};
use super::{print_json, CliError, CliResult, Outcome};

#[derive(Debug, Args)]
#[command(
    after_help = "Redraws only the region (x,y,w,h in the clip's pixels) over the span (--from/--to, \
seconds; default the whole clip) from the new prompt, keeping every other pixel: the model denoises \
the region's latent cells beside the clip's own, from new watermarked noise (the region carries a \
new content id). The edit is signed with your identity as c2pa.edited (region and span described), \
the original as its parentOf ingredient with its own manifest, and recorded in the manifest store. \
`candor verify` then says \"edited with Candor as declared\" for a change inside the declared region, \
and \"Tampered\" for a change anywhere else.\n\n\
The clip must be a Candor clip whose credentials are embedded, or recoverable from the store through \
its watermark, and made with the loaded model.\n\n\
Example:\n  candor edit clip.mp4 --region 0,0,64,64 --from 0.5 --to 1.5 \"a blue star\" -o edited.mp4"
)]
pub struct EditArgs {
    /// The Candor clip to edit.
    clip: PathBuf,
    /// What to draw in the region.
    prompt: String,
    /// The region to redraw: x,y,w,h in pixels of the clip's frames.
    #[arg(long, value_parser = parse_region, allow_hyphen_values = true)]
    region: [u32; 4],
    /// First second of the span to redraw (default: the start).
    #[arg(long, allow_negative_numbers = true)]
    from: Option<f64>,
    /// Last second of the span, exclusive (default: the end).
    #[arg(long, allow_negative_numbers = true)]
    to: Option<f64>,
    /// Output MP4.
    #[arg(short, long)]
    output: PathBuf,
    /// Sampling steps per chunk.
    #[arg(long, default_value_t = candor_generate::DEFAULT_STEPS)]
    steps: usize,
    /// Sampler: dpm-solver-2m or ddim.
    #[arg(long, default_value = "dpm-solver-2m", value_parser = parse_sampler)]
    sampler: Sampler,
    /// Classifier-free guidance scale.
    #[arg(long, default_value_t = 3.0)]
    guidance: f64,
    /// Content id the redrawn region carries (16 hex digits); default: a fresh random id.
    #[arg(long, value_parser = parse_hex_id)]
    content_id: Option<u64>,
    /// Model directory (must be the clip's model).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Signing identity directory (its watermark key marks the region).
    #[arg(long)]
    identity: Option<PathBuf>,
    /// Manifest store: where stripped clips' credentials are recovered from and the edit is recorded.
    #[arg(long, value_name = "PATH|URL")]
    store: Option<StoreLocation>,
    /// Replace the output if it exists.
    #[arg(long)]
    force: bool,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

fn parse_region(s: &str) -> Result<[u32; 4], String> {
    let parts: Vec<u32> = s
        .split(',')
        .map(|p| p.trim().parse::<u32>())
        .collect::<Result<_, _>>()
        .map_err(|_| format!("{s:?}: expected x,y,w,h in whole pixels, e.g. 0,0,64,64"))?;
    match parts.as_slice() {
        [x, y, w, h] if *w > 0 && *h > 0 => Ok([*x, *y, *w, *h]),
        _ => Err(format!(
            "{s:?}: expected x,y,w,h with a width and height of at least 1"
        )),
    }
}

/// The clip's credentials: embedded (and intact), else recovered through its watermark.
fn parent_clip(
    clip: &Path,
    model: Option<&Path>,
    identity: &Path,
    store: &Arc<ManifestStore>,
) -> CliResult<ParentClip> {
    let not_candor = |why: &str| -> CliError {
        GenerateError::Edit {
            reason: format!(
                "{} is not a Candor clip whose parameters can be recovered: {why}",
                clip.display()
            ),
        }
        .into()
    };
    let embedded = read_manifest(clip, None, &TrustAnchors::none())?;
    let from =
        |m: &candor_manifest::ManifestReport, credentials: String| -> CliResult<ParentClip> {
            match (&m.generation, &m.soft_binding) {
                (Some(g), Some(b)) => Ok(ParentClip {
                    path: clip.to_path_buf(),
                    generation: g.clone(),
                    soft_binding: b.clone(),
                    credentials,
                }),
                _ => Err(not_candor("its credentials record no Candor generation")),
            }
        };
    match embedded.state {
        CredentialState::Trusted | CredentialState::Valid => {
            return from(&embedded, "embedded".into())
        }
        CredentialState::Invalid => {
            return Err(not_candor(&format!(
                "its credentials do not verify ({})",
                embedded.summary
            )))
        }
        CredentialState::None => {}
    }
    // Stripped: the watermark names the clip, the store holds its credentials.
    let setup = build_watermark_setup(&SetupParts {
        model,
        keys: &[identity.to_path_buf()],
        store: Some(store.clone()),
        resolvers: Vec::new(),
        inversion_steps: None,
        geometry_search: false,
    })?;
    let verifier = Verifier::new(VerifierConfig {
        anchors: TrustAnchors::none(),
        watermark: Some(setup),
        watermark_note: None,
    });
    let report = verifier.verify(clip);
    match report.watermark.as_ref().and_then(|w| w.recovered.as_ref()) {
        Some(r) if r.accepted => from(
            &r.manifest,
            format!("recovered through its watermark from {}", r.origin()),
        ),
        _ => Err(not_candor(
            "no credentials, and no Candor watermark whose credentials this store holds",
        )),
    }
}

pub fn run(args: EditArgs) -> CliResult<Outcome> {
    if args.output.exists() && !args.force {
        return Err(format!(
            "{}: file exists (pass --force to replace it)",
            args.output.display()
        )
        .into());
    }
    if args.clip.is_dir() {
        return Err(format!("{}: is a directory, not a clip", args.clip.display()).into());
    }
    if !args.clip.is_file() {
        return Err(format!("{}: no such file", args.clip.display()).into());
    }
    let identity_path = args.identity.clone().unwrap_or_else(identity_dir);
    let identity = load_identity(Some(&identity_path))?;
    let store = Arc::new(ManifestStore::connect(
        &args.store.clone().unwrap_or_default(),
    )?);
    let parent = parent_clip(&args.clip, args.model.as_deref(), &identity_path, &store)?;
    let model = DiffusionModel::load(&model_dir(args.model.as_deref()), &Device::Cpu)?;
    let models_dir = model_dir(args.model.as_deref())
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let reader = PromptReader::open_default(candor_generate::world_of(&model.config), &models_dir)
        .map_err(GenerateError::from)?;
    let request = EditRequest {
        prompt: args.prompt.clone(),
        region: args.region,
        from_s: args.from,
        to_s: args.to,
    };
    let options = EditOptions {
        sampler: args.sampler,
        steps: args.steps,
        guidance: args.guidance,
        content_id: args.content_id,
        ..EditOptions::default()
    };
    let bar = super::progress(args.steps as u64, "redrawing");
    let edited = edit(
        &model,
        &reader,
        &identity,
        &store,
        &parent,
        &request,
        &args.output,
        &options,
        |done, total| {
            bar.set_length(total as u64);
            bar.set_position(done as u64)
        },
    )
    .map_err(usage_error)?;
    bar.finish_and_clear();
    if args.json {
        print_json(&edited)?;
        return Ok(Outcome::Success);
    }
    let [x, y, w, h] = edited.region;
    println!(
        "Edited {} → {}",
        edited.parent.display(),
        edited.output.display()
    );
    println!(
        "  region:      x {x}, y {y}, {w}×{h} px, frames {}–{} ({:.2}–{:.2} s)",
        edited.first_frame,
        edited.first_frame + edited.frames - 1,
        edited.start_s,
        edited.end_s
    );
    println!(
        "  redrawn as:  {} (drawing {})",
        edited.understood, edited.caption
    );
    println!(
        "  watermark:   the region carries content id {}; the rest keeps the clip's {}",
        edited.content_id, edited.parent_content_id
    );
    println!(
        "  credentials: signed as c2pa.edited, the original as its parentOf ingredient ({}); recorded in the store",
        parent.credentials
    );
    Ok(Outcome::Success)
}
